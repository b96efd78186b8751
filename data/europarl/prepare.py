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
from data.parallel_corpus import prepare_dataset  # noqa: E402
from configurator import at_least, configure  # noqa: E402

num_proc = 0        # worker processes; 0: one per CPU core
vocab_size = 10000  # tokens of the trained tokenizer, <|endoftext|> included
tokenizer = ''       # '': the shared europarl-multiun tokenizer (trained if missing); else a name under <data_root>/tokenizers/, 'gpt2', or a tokenizer.json (a converted model's)
data_root = 'data'
raw_dir = ''         # '': <data_root>/europarl/raw
ranges = dict(num_proc=at_least(0), vocab_size=at_least(258))  # a byte-level BPE: 256 bytes, EOT and merges

if __name__ == '__main__':
    configure(globals(), sys.argv[1:], ranges)
    prepare_dataset('europarl', num_proc=num_proc, vocab_size=vocab_size, tokenizer=tokenizer, data_root=data_root,
                    raw_dir=raw_dir)
