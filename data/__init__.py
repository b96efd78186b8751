"""Data preparation beside the data.

prepared.py          the prepared-data format: file names, meta.json, held-out text, batches
corpora.py           which corpora exist: raw files, the command preparing each, tokenizer names
aligned_text.py      line-aligned raw text read as prepare reads it: scans, clean chunks, splits
parallel_corpus.py   line-aligned parallel text -> the prepared format (prepare_parallel_corpus())
replacement.py       preparing over an existing dataset: what it replaces, what is refused
tokenizer_policy.py  which tokenizer the datasets prepared together share: checked, loaded or trained
prepare_scripts.py   the command line the prepare scripts share; prepare_dataset(), prepare_datasets()
bpe.py               training the BPE tokenizer
preparation_lock.py  one preparation at a time of each dataset folder and tokenizer
demo/ europarl/ multiun/ hf/   one prepare.py per corpus; the prepared files land beside it
                     (europarl/pairs.py: Europarl's other pairs and their join on English;
                     hf/corpus.py: Hugging Face datasets -> raw files -> prepared data)
"""
