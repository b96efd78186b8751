"""
Prepare Europarl v7 fr-en for training: train the shared EN-FR tokenizer if needed, then write
data/europarl/{en,fr}_{train,val,test}.bin, the held-out text and meta.json.

$ bash data/get_data.sh europarl        # once: raw text into data/europarl/raw/
$ python data/europarl/prepare.py [--num_proc=N] [--vocab_size=10000] [--tokenizer=NAME|gpt2|PATH/tokenizer.json] [--data_root=data] [--raw_dir=data/europarl/raw]

The default tokenizer, europarl-multiun-bpe10k, is trained on Europarl and MultiUN together (on
whichever of the two is downloaded) and shared by both datasets, so they can be trained on together.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
from data.parallel_corpus import prepare_script  # noqa: E402

if __name__ == '__main__':
    prepare_script('europarl', sys.argv[1:])
