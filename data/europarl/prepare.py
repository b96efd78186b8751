"""
Prepare Europarl v7 for training: train the shared tokenizer if needed, then write
data/<dataset>/{en,xx}_{train,val,test}.bin, the held-out text and meta.json.

$ bash data/get_data.sh europarl        # once: raw fr-en text into data/europarl/raw/
$ python data/europarl/prepare.py [--num_proc=N] [--vocab_size=10000] [--tokenizer=NAME|gpt2|PATH/tokenizer.json]
      [--train_tokenizer=True] [--data_root=data] [--raw_dir=data/europarl/raw]

Other pairs (each XX-en; get_data.sh downloads them into data/europarl-XX-en/raw/):
$ bash data/get_data.sh europarl --pair=de-en,fi-en
$ python data/europarl/prepare.py --pair=de-en            # dataset europarl-de-en (en, de)
$ python data/europarl/prepare.py --pair=de-en,fr-en      # europarl-de-en and europarl, one tokenizer
$ python data/europarl/prepare.py --pair=de-en,fr-en --join=True   # europarl-de-en-fr: en, de, fr aligned
$ python data/europarl/prepare.py --pair=all              # every downloaded pair
  [--allow_new_languages=True]   reuse a --tokenizer that was not trained on all the data's languages
  [--overwrite=True]             replace a dataset of that name holding other languages (refused without it)

fr-en is the dataset europarl. Its default tokenizer, europarl-multiun-bpe10k, is trained on
Europarl and MultiUN together (on whichever of the two is downloaded) and shared by both datasets,
so they can be trained on together. Any other set of pairs gets one tokenizer trained on all their
languages and named for them (europarl-de-en-fr-bpe10k), shared by the datasets prepared in that
command. A dataset's languages (meta.json) are English first, then the others in --pair order.
--tokenizer=NAME reuses a tokenizer; a name that none has is refused, naming the closest, unless
--train_tokenizer=True asks to train one under it. Two preparations of one dataset (or tokenizer)
at once are refused (data/preparation_lock.py).
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
from data.europarl.pairs import europarl_script  # noqa: E402

if __name__ == '__main__':
    europarl_script(sys.argv[1:])
