"""
Prepare a Hugging Face dataset for training, through the `datasets` library: its rows become
line-aligned raw text in data/<name>/raw/, then the same prepared layout as every corpus
(data/<name>/{lang}_{train,val,test}.bin, the held-out text, meta.json), with a tokenizer trained
on its languages (or one given).

$ python data/hf/prepare.py --hf_dataset=Helsinki-NLP/opus-100 --hf_config=de-en --languages=en,de
$ python data/hf/prepare.py --hf_dataset=FOLDER --languages=en,de,fr [--name=DATASET] [--split=train]
      [--streaming=True] [--columns=en:text_en,de:text_de] [--max_rows=N] [--vocab_size=10000]
      [--tokenizer=NAME|gpt2|PATH/tokenizer.json [--train_tokenizer=True]] [--allow_new_languages=True]
      [--data_root=data] [--num_proc=N] [--overwrite=True]

--hf_dataset: a hub name, or a local folder (written by Dataset.save_to_disk / DatasetDict.save_to_disk,
or holding parquet, JSON lines or CSV files), read offline. Rows: {'translation': {'en': ..., 'de': ...}},
or one text column per language (named by the code, or by --columns). The dataset is named
hf-<dataset>-<sorted codes> (hf-opus-100-de-en) unless --name says otherwise, its languages are
in --languages order, and its default tokenizer is hf-<dataset>-<sorted codes>-bpe10k: after --name,
<name>-bpe10k, and for --max_rows=N, <name>-rowsN-bpe10k (a tokenizer of a part never passes for the
whole dataset's). meta.json records the command (prepare_command), which error messages elsewhere
repeat. A --tokenizer name that no tokenizer has is refused (the closest are named) unless
--train_tokenizer=True asks to train it. A --name holding a dataset of another source or of other
languages is not replaced unless --overwrite=True (then the files of languages the new one lacks go
too). Files the datasets library cannot read are named with the line at fault before anything is
written. A dataset too small for a val or test line is prepared with a warning (meta.json:
empty_splits).
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
from data.hf.corpus import prepare_hf_dataset  # noqa: E402
from data.prepare_scripts import script_options  # noqa: E402

if __name__ == '__main__':
    options = script_options(
        sys.argv[1:],
        hf_dataset='',  # a hub name (Helsinki-NLP/opus-100) or a local folder
        hf_config='',  # the hub dataset's configuration (opus-100: de-en); '' for none
        languages='',  # the language codes to take, comma-separated: en,de
        name='',  # '': hf-<dataset>-<sorted codes>
        split='train',  # the split whose rows are read (prepare makes its own train/val/test of them)
        streaming=False,  # True: rows streamed (nothing downloaded whole, nothing cached)
        columns='',  # '': translation rows or columns named by the codes; en:COLUMN,de:COLUMN otherwise
        max_rows=0,  # 0: every row; N: the first N
    )
    prepare_hf_dataset(**options)
