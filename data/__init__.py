"""Data preparation beside the data.

    prepared.py          the prepared-data format: file names, meta.json, held-out text, batches
    corpora.py           which corpora exist: raw files, the command preparing each, tokenizer names
    parallel_corpus.py   line-aligned parallel text -> the prepared format (prepare_dataset())
    bpe.py               training the BPE tokenizer
    demo/ europarl/ multiun/   one prepare.py per dataset; the prepared files land beside it
"""
