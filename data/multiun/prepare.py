"""
Prepare MultiUN en-fr for training: train the shared EN-FR tokenizer if needed, then write
data/multiun/{en,fr}_{train,val,test}.bin, the held-out text and meta.json. Streams the several GB
of text through a pool of processes; memory stays bounded.

$ bash data/get_data.sh multiun --max_lines 8030892   # once (the original project kept those lines)
$ python data/multiun/prepare.py [--num_proc=N] [--vocab_size=10000] [--tokenizer=NAME|gpt2|PATH/tokenizer.json]
      [--train_tokenizer=True] [--data_root=data] [--raw_dir=data/multiun/raw] [--overwrite=True]

Its default tokenizer is the one it shares with Europarl (see data/europarl/prepare.py).
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
from data.prepare_scripts import prepare_script  # noqa: E402

if __name__ == '__main__':
    prepare_script('multiun', sys.argv[1:])
