"""
Which checkpoints an evaluation reads and what it reads with them: the out_dirs to score, the
datasets and data root a checkpoint names, the tokenizer it was trained with (and which lines of
text that tokenizer lets a model read), and where the report goes. The data itself is read with
data/prepared.py.

    model, checkpoint = checkpoint.load_model(out_dir, device)
    data_root, datasets = checkpoint_datasets(checkpoint, data_root='', list_of_datasets=[])
    tok = checkpoint_tokenizer(checkpoint, data_root, model)
    for dataset in datasets:
        for lang in dataset_languages(data_root, dataset, tok):       # data.prepared
            lines = read_heldout_lines(data_root, dataset, lang, 'test')
            ids, line_lengths = tokenize_lines(tok, lines)  # the token stream of {lang}_test.bin
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from common.checkpoint import checkpoint_path, load_checkpoint_file
from common.errors import UserError
from common.file_hash import file_sha256
from common.languages import language_name
from common.run_folder import prepare_out_dir
from common.tokenizer import (
    checkpoint_tokenizer_from_identity,
    missing_rows_message,
    tokens_without_rows,
)
from data.prepared import dataset_languages, heldout_path, resolve_data_root

if TYPE_CHECKING:
    from common.tokenizer import Tokenizer
    from model import LanguageModel


def checkpoint_data_root(checkpoint: dict[str, Any], data_root: str = '') -> str:
    """The data root where the checkpoint's tokenizer and data are: --data_root, else the one it
    records; '' for a converted model that records none (its tokenizer.json lies beside it)."""
    data = checkpoint.get('data') or {}
    if data_root:
        root = resolve_data_root(data_root)
    elif data.get('data_root'):
        root = data['data_root']
    elif (data.get('tokenizer') or {}).get('format') == 'huggingface':
        return ''
    else:
        raise UserError(
            "the checkpoint does not record its data root: pass --data_root=DIR "
            "(the folder holding the prepared dataset folders, data/ by default)"
        )
    if not os.path.isdir(root):
        origin = f"--data_root={data_root}" if data_root else "the checkpoint was trained with data there"
        raise UserError(
            f"data root {root} does not exist here ({origin}): pass --data_root=DIR "
            f"pointing at the folder that holds the prepared dataset folders"
        )
    return root


def checkpoint_datasets(
    checkpoint: dict[str, Any], data_root: str = '', list_of_datasets: Iterable[str] = ()
) -> tuple[str, list[str]]:
    """(absolute data root, [dataset names]): the checkpoint's own, unless overridden."""
    root = checkpoint_data_root(checkpoint, data_root)
    if not root:
        raise UserError(
            "the checkpoint (a converted model) records no data: pass --data_root=DIR "
            "(the folder holding the prepared dataset folders, data/ by default)"
        )
    data = checkpoint.get('data') or {}
    datasets = list(list_of_datasets) or list(data.get('list_of_datasets') or [])
    if not datasets:
        raise UserError(
            "no dataset to evaluate on: the checkpoint names none; pass --list_of_datasets=NAME[,NAME...]"
        )
    return root, datasets


def untrained_languages_note(
    checkpoint: dict[str, Any], dataset: str, languages: Iterable[str]
) -> str | None:
    """A line saying which of a dataset's languages the checkpoint was not trained on (its
    numbers there measure transfer, not learning), or None: all of them, or the checkpoint does
    not record its languages (a converted model)."""
    trained = (checkpoint.get('data') or {}).get('languages')
    unseen = [lang for lang in languages if trained and lang not in trained]
    if not unseen:
        return None
    return (
        f"  note: {dataset}: the model was not trained on "
        f"{', '.join(f'{language_name(lang)} ({lang})' for lang in unseen)}"
    )


def checkpoint_tokenizer(
    checkpoint: dict[str, Any], data_root: str, model: LanguageModel | None = None
) -> Tokenizer:
    """The checkpoint's tokenizer (its sha256 checked); with a model, its vocabulary must be the
    model's. A converted model's tokenizer (a tokenizer.json beside it) may have fewer tokens than
    the model has rows (GPT-2: 50,257 in 50,304), or more (the original project's 10,001 for 10,000
    rows): then the lines that need the others are skipped and counted (readable_lines)."""
    data = checkpoint.get('data') or {}
    if not data.get('tokenizer'):
        raise UserError(
            "the checkpoint does not record its tokenizer: it was not written by this project's train.py"
        )
    tok = checkpoint_tokenizer_from_identity(
        data['tokenizer'], checkpoint.get('out_dir', '.'), data_root, data.get('list_of_datasets') or ()
    )
    vocab_size = model.config.vocab_size if model is not None else data.get('vocab_size')
    if data['tokenizer'].get('format') == 'huggingface':
        missing = tokens_without_rows(tok, vocab_size) if vocab_size is not None else []
        if missing:
            print(
                f"warning: the tokenizer has {tok.n_vocab} ids, among them "
                f"{missing_rows_message(tok, missing, vocab_size)}: the evaluations skip and "
                f"count the text that needs them, the other tools refuse it"
            )
        return tok
    if vocab_size is not None and tok.n_vocab != vocab_size:
        raise UserError(
            f"tokenizer {tok.name} has {tok.n_vocab} tokens but the model was built "
            f"for {vocab_size}: the tokenizer files under {data_root} are not the ones "
            f"it was trained with"
        )
    return tok


def readable_lines(tok: Tokenizer, lines: list[str], rows: int) -> tuple[list[str], int]:
    """(the lines whose tokens all have a row in a model of `rows` rows, how many were left out)."""
    if tok.n_vocab <= rows:
        return lines, 0
    kept = [line for line, ids in zip(lines, tok.encode_batch(lines)) if not ids or max(ids) < rows]
    return kept, len(lines) - len(kept)


def checkpoint_reader(
    out_dir: str, data_root: str = '', list_of_datasets: Iterable[str] = ()
) -> tuple[Tokenizer, int]:
    """(tokenizer, rows) of the checkpoint in out_dir, without building its model: what decides
    which lines of text the model can read."""
    checkpoint = load_checkpoint_file(out_dir)
    checkpoint['out_dir'] = os.path.dirname(checkpoint_path(out_dir)) or '.'
    root, _ = checkpoint_datasets(checkpoint, data_root, list_of_datasets)
    return checkpoint_tokenizer(checkpoint, root), checkpoint['model_args']['vocab_size']


def lines_read_by_all(readers: Iterable[tuple[Tokenizer, int]], lines: list[str]) -> tuple[list[str], int]:
    """(the lines every (tokenizer, rows) reader can read, how many were left out): models
    compared in one table are scored on the same lines."""
    kept = lines
    for tok, rows in readers:
        kept, _ = readable_lines(tok, kept, rows)
    return kept, len(lines) - len(kept)


def default_report_dir(report_dir: str, out_dirs: Sequence[str]) -> str:
    """--report_dir, else the (first) checkpoint's out_dir (the folder holding it when given as
    its .pt file); checked writable before any work, but created only with the report (the
    writers make it), so a run stopped before its end leaves no empty folder behind."""
    report_dir = report_dir or os.path.dirname(checkpoint_path(out_dirs[0])) or '.'
    if os.path.exists(report_dir):
        prepare_out_dir(report_dir, key='report_dir')
        return report_dir
    parent = os.path.dirname(os.path.abspath(report_dir))
    while not os.path.exists(parent):
        parent = os.path.dirname(parent)
    if not os.path.isdir(parent) or not os.access(parent, os.W_OK | os.X_OK):
        raise UserError(
            f"cannot create report_dir={report_dir}: {parent} is "
            f"{'a file' if not os.path.isdir(parent) else 'not writable'}. Choose a "
            f"--report_dir in a folder you can write to."
        )
    return report_dir


def checkpoint_out_dirs(out_dir: str, out_dirs: Sequence[str]) -> list[str]:
    """The checkpoints to evaluate: --out_dirs when given, else --out_dir; every one must exist
    (found before the first is scored, not after)."""
    out_dirs = list(out_dirs) if out_dirs else [out_dir]
    missing = [d for d in out_dirs if not os.path.isfile(checkpoint_path(d))]
    if missing:
        raise UserError(
            f"no checkpoint at {', '.join(checkpoint_path(d) for d in missing)}: "
            f"check --out_dir/--out_dirs (train.py writes out_dir/ckpt.pt)"
        )
    seen = {}  # one file named twice (a, ./a, a/ckpt.pt) would be scored twice as two models
    for d in out_dirs:
        path = os.path.realpath(checkpoint_path(d))
        if path in seen:
            raise UserError(
                f"--out_dirs names the checkpoint {path} twice ({seen[path]} and {d}): "
                f"give each checkpoint once"
            )
        seen[path] = d
    return out_dirs


def one_text_per_dataset(
    out_dirs: Sequence[str], data_root: str, list_of_datasets: Iterable[str], split: str
) -> None:
    """Refuse, before any work, checkpoints that name one dataset in data roots whose held-out
    text differs: their rows would stand side by side in one table as numbers on the same lines.
    With --data_root every checkpoint reads the same folder."""
    if len(out_dirs) < 2 or data_root:
        return
    first = {}  # dataset -> (out_dir, root, {language: sha256 of its held-out file})
    for out_dir in out_dirs:
        root, datasets = checkpoint_datasets(load_checkpoint_file(out_dir), '', list_of_datasets)
        for dataset in datasets:
            if dataset in first and first[dataset][1] == root:
                continue
            path = lambda lang: heldout_path(root, dataset, lang, split)
            text = {
                lang: file_sha256(path(lang))
                for lang in dataset_languages(root, dataset)
                if os.path.isfile(path(lang))
            }
            other, other_root, other_text = first.setdefault(dataset, (out_dir, root, text))
            if text != other_text:
                raise UserError(
                    f"{other} and {out_dir} name the dataset {dataset}, but in data roots "
                    f"whose {split} text differs ({other_root} and {root}): their numbers "
                    f"would not be on the same lines. Pass --data_root=DIR to score every "
                    f"checkpoint on one copy, or evaluate them in separate runs"
                )


def file_label(label: str) -> str:
    """A model label (its out_dir) as a piece of a file name."""
    return ''.join(c if c.isalnum() or c in '-_.' else '_' for c in label.strip('/')) or 'model'
