"""
What the evaluation scripts read besides the weights: the tokenizer a checkpoint was trained
with, the datasets and languages it names, and their held-out text
(data_root/<dataset>/{lang}_{split}.txt, one line per line, line i of each language the
translation of line i of the others).

    model, checkpoint = checkpoint.load_model(out_dir, device)
    data_root, datasets = checkpoint_datasets(checkpoint, data_root='', list_of_datasets=[])
    tok = checkpoint_tokenizer(checkpoint, data_root, model)
    for dataset in datasets:
        for lang in dataset_languages(data_root, dataset, tok):
            lines = read_heldout_lines(data_root, dataset, lang, 'test')
            ids, line_lengths = tokenize_lines(tok, lines)  # the token stream of {lang}_test.bin
"""

import os

import numpy as np

from common.checkpoint import checkpoint_path, load_checkpoint_file
from prepared_data import prepare_command, read_meta, resolve_data_root, tokenizer_label
from common.run_folder import prepare_out_dir
from common.tokenizer import checkpoint_tokenizer_from_identity
from common.errors import UserError


def checkpoint_datasets(checkpoint, data_root='', list_of_datasets=()):
    """(absolute data root, [dataset names]): the checkpoint's own, unless overridden."""
    data = checkpoint.get('data') or {}
    if data_root:
        root = resolve_data_root(data_root)
    elif data.get('data_root'):
        root = data['data_root']
    else:
        raise UserError("the checkpoint does not record its data root: pass --data_root=DIR "
                        "(the folder holding the prepared dataset folders, data/ by default)")
    if not os.path.isdir(root):
        origin = (f"--data_root={data_root}" if data_root else
                  "the checkpoint was trained with data there")
        raise UserError(f"data root {root} does not exist here ({origin}): pass --data_root=DIR "
                        f"pointing at the folder that holds the prepared dataset folders")
    datasets = list(list_of_datasets) or list(data.get('list_of_datasets') or [])
    if not datasets:
        raise UserError("no dataset to evaluate on: the checkpoint names none; pass "
                        "--list_of_datasets=NAME[,NAME...]")
    return root, datasets


def checkpoint_tokenizer(checkpoint, data_root, model=None):
    """The checkpoint's tokenizer (its sha256 checked); with a model, its vocabulary must be the
    model's. A converted model's tokenizer (a tokenizer.json beside it) may have fewer tokens than
    the model has rows (GPT-2: 50,257 in 50,304), or more (the original project's 10,001 for 10,000
    rows): then the lines that need the others are skipped and counted (readable_lines)."""
    data = checkpoint.get('data') or {}
    if not data.get('tokenizer'):
        raise UserError("the checkpoint does not record its tokenizer: it was not written by this "
                        "project's train.py")
    tok = checkpoint_tokenizer_from_identity(data['tokenizer'], checkpoint.get('out_dir', '.'),
                                             data_root,
                                             data.get('list_of_datasets') or ())
    vocab_size = model.config.vocab_size if model is not None else data.get('vocab_size')
    if data['tokenizer'].get('format') == 'huggingface':
        if vocab_size is not None and tok.n_vocab > vocab_size:
            print(f"warning: tokenizer {tok.name} has {tok.n_vocab} tokens but the model only "
                  f"{vocab_size} rows: lines holding token ids >= {vocab_size} are skipped and counted")
        return tok
    if vocab_size is not None and tok.n_vocab != vocab_size:
        raise UserError(f"tokenizer {tok.name} has {tok.n_vocab} tokens but the model was built "
                        f"for {vocab_size}: the tokenizer files under {data_root} are not the ones "
                        f"it was trained with")
    return tok


def readable_lines(tok, lines, rows):
    """(the lines whose tokens all have a row in a model of `rows` rows, how many were left out)."""
    if tok.n_vocab <= rows:
        return lines, 0
    kept = [line for line, ids in zip(lines, tok.encode_batch(lines)) if not ids or max(ids) < rows]
    return kept, len(lines) - len(kept)


def checkpoint_reader(out_dir, data_root='', list_of_datasets=()):
    """(tokenizer, rows) of the checkpoint in out_dir, without building its model: what decides
    which lines of text the model can read."""
    checkpoint = load_checkpoint_file(out_dir)
    checkpoint['out_dir'] = os.path.dirname(checkpoint_path(out_dir)) or '.'
    root, _ = checkpoint_datasets(checkpoint, data_root, list_of_datasets)
    return checkpoint_tokenizer(checkpoint, root), checkpoint['model_args']['vocab_size']


def lines_read_by_all(readers, lines):
    """(the lines every (tokenizer, rows) reader can read, how many were left out): models
    compared in one table are scored on the same lines."""
    kept = lines
    for tok, rows in readers:
        kept, _ = readable_lines(tok, kept, rows)
    return kept, len(lines) - len(kept)


def prepared_with(data_root, dataset, tok):
    """Whether the dataset's .bin files hold this tokenizer's ids."""
    return read_meta(data_root, dataset)['tokenizer'].get('sha256') == tok.sha256


def dataset_languages(data_root, dataset, tok=None):
    """The languages of a prepared dataset (meta.json); with a tokenizer, the dataset must have
    been prepared with it, or its token ids would mean other things."""
    meta = read_meta(data_root, dataset)
    if tok is not None and meta['tokenizer'].get('sha256') != tok.sha256:
        raise UserError(f"dataset '{dataset}' was prepared with tokenizer "
                        f"{tokenizer_label(meta['tokenizer'])} but the model uses "
                        f"{tokenizer_label(tok.identity())}: evaluate it on data prepared with its "
                        f"own tokenizer (--list_of_datasets, --data_root)")
    return list(meta['languages'])


def heldout_path(data_root, dataset, lang, split):
    return os.path.join(data_root, dataset, f'{lang}_{split}.txt')


def read_heldout_lines(data_root, dataset, lang, split, max_lines=0):
    """The held-out lines (first max_lines of them when max_lines > 0), without their newline.
    Only '\\n' ends a line, as in the files the prepare scripts write."""
    path = heldout_path(data_root, dataset, lang, split)
    if not os.path.isfile(path):
        raise UserError(f"{path} does not exist: the held-out text is written by the prepare "
                        f"script; prepare the dataset again with: {prepare_command(dataset)}")
    lines = []
    with open(path, 'rb') as f:
        for line in f:
            if max_lines and len(lines) >= max_lines:
                break
            try:
                lines.append(line.decode('utf-8').removesuffix('\n'))
            except UnicodeDecodeError as e:
                raise UserError(f"{path}, line {len(lines) + 1}, column {e.start + 1}: not UTF-8; the "
                                f"held-out text is written by the prepare script, prepare the dataset "
                                f"again with: {prepare_command(dataset)}")
    return lines


def tokenize_lines(tok, lines):
    """(ids, line_lengths): each line's token ids followed by the end-of-text token, one flat
    int64 array (the same stream as the .bin of that split), and the number of ids per line."""
    per_line = tok.encode_batch(lines)
    line_lengths = np.array([len(ids) + 1 for ids in per_line], dtype=np.int64)
    ids = np.empty(int(line_lengths.sum()), dtype=np.int64)
    position = 0
    for line_ids in per_line:
        ids[position:position + len(line_ids)] = line_ids
        position += len(line_ids)
        ids[position] = tok.eot_token
        position += 1
    return ids, line_lengths


def bin_mismatch(ids, data_root, dataset, lang, split, whole=True):
    """None when the prepared .bin holds these ids (as its start when whole=False), else why
    not; None too when there is no .bin to compare with."""
    path = os.path.join(data_root, dataset, f'{lang}_{split}.bin')
    if not os.path.isfile(path):
        return None
    stored = np.memmap(path, mode='r', dtype=read_meta(data_root, dataset)['dtype'])
    if whole and len(stored) != len(ids):
        return f"{path} holds {len(stored):,} tokens, the re-tokenized text {len(ids):,}"
    if len(stored) < len(ids) or not np.array_equal(stored[:len(ids)].astype(np.int64), ids):
        return f"{path} holds other token ids than the re-tokenized {os.path.basename(path)[:-4]}.txt"
    return None


def default_report_dir(report_dir, out_dirs):
    """--report_dir, else the (first) checkpoint's out_dir; checked writable before any work."""
    report_dir = report_dir or out_dirs[0]
    prepare_out_dir(report_dir, key='report_dir')
    return report_dir


def checkpoint_out_dirs(out_dir, out_dirs):
    """The checkpoints to evaluate: --out_dirs when given, else --out_dir; every one must exist
    (found before the first is scored, not after)."""
    out_dirs = list(out_dirs) if out_dirs else [out_dir]
    missing = [d for d in out_dirs if not os.path.isfile(checkpoint_path(d))]
    if missing:
        raise UserError(f"no checkpoint at {', '.join(checkpoint_path(d) for d in missing)}: "
                              f"check --out_dir/--out_dirs (train.py writes out_dir/ckpt.pt)")
    return out_dirs


def file_label(label):
    """A model label (its out_dir) as a piece of a file name."""
    return ''.join(c if c.isalnum() or c in '-_.' else '_' for c in label.strip('/')) or 'model'
