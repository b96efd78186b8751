"""The one writer of the prepared-data layout (data/prepared.py) for the tests' own datasets:
the fixtures choose the token ids, the held-out text and the counts; the file names, the token
dtype and meta.json are written as the prepare scripts write them."""

import os

import numpy as np

from data.prepared import META_FILE, dataset_meta, heldout_file, token_file, write_meta


def write_prepared_dataset(
    data_root, name, token_ids, splits, vocab_size, eot_token, tokenizer, heldout_lines=None, dtype='uint16'
):
    """data_root/name/{lang}_{split}.bin of token_ids[lang][split], {lang}_{split}.txt of
    heldout_lines[lang][split] (one line each), and meta.json with `splits` as its counts per
    language and split. Returns meta.json's content."""
    folder = os.path.join(data_root, name)
    os.makedirs(folder, exist_ok=True)
    for lang, by_split in token_ids.items():
        for split, ids in by_split.items():
            np.asarray(ids).astype(dtype).tofile(os.path.join(folder, token_file(lang, split)))
    for lang, by_split in (heldout_lines or {}).items():
        for split, lines in by_split.items():
            with open(os.path.join(folder, heldout_file(lang, split)), 'w', encoding='utf-8') as f:
                f.write(''.join(line + '\n' for line in lines))
    meta = dataset_meta(name, tokenizer, vocab_size, eot_token, token_ids, splits, dtype)
    write_meta(os.path.join(folder, META_FILE), meta)
    return meta
