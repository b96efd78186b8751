"""
The prepared-data format, defined here once: what the prepare scripts write under
<data_root>/<dataset>/ (data/parallel_corpus.py writes it, data/corpora.py says which datasets
exist), how it is read back, and the batches train.py draws from it.

    {lang}_{split}.bin         token ids (meta.json's dtype), each line followed by <|endoftext|>
    {lang}_{split}.txt         the held-out lines (val and test splits), one per line, line i of
                               each language the translation of line i of the others
    {split}_line_numbers.txt   the 0-based raw line number of each held-out line
    meta.json                  tokenizer identity, vocab size, dtype, languages, counts, sources;
                               written last: its presence means a complete dataset

A line starts after an end-of-text token: the .bin files hold every line followed by EOT, so a
model reads each line after the EOT that ends the one before it, and whatever scores or continues
a line puts one EOT before its first token (as_line_start, tokenize_lines).

    data = PreparedData('data', ['demo'])
    x, y = data.get_batch('train', batch_size=8, block_size=256, seed=1337, step=0)
    lines = read_heldout_lines('data', 'demo', 'en', 'test')

Batches are a pure function of (seed, split, step, micro-step): a run on one process and a run
on eight, or a run and its resumed continuation, draw the same sequences.
"""

from __future__ import annotations

import difflib
import json
import os
from collections.abc import Iterable
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from common.errors import UserError
from data.corpora import is_registered, prepare_command

if TYPE_CHECKING:
    import torch

    from common.tokenizer import Tokenizer

SPLITS = ('train', 'val', 'test')
HELD_OUT_SPLITS = ('val', 'test')  # also kept as text, for the evaluations
STREAMS = ('train', 'eval')
META_FILE = 'meta.json'
META_REQUIRED_KEYS = ('vocab_size', 'dtype', 'languages', 'tokenizer')
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def token_dtype(vocab_size: int) -> np.dtype:
    """uint16 while every id fits, uint32 beyond (vocab_size > 65,535)."""
    return np.dtype(np.uint16) if vocab_size <= 65535 else np.dtype(np.uint32)


def token_file(lang: str, split: str) -> str:
    return f'{lang}_{split}.bin'


def heldout_file(lang: str, split: str) -> str:
    return f'{lang}_{split}.txt'


def line_numbers_file(split: str) -> str:
    return f'{split}_line_numbers.txt'


def token_path(data_root: str, dataset: str, lang: str, split: str) -> str:
    return os.path.join(data_root, dataset, token_file(lang, split))


def heldout_path(data_root: str, dataset: str, lang: str, split: str) -> str:
    return os.path.join(data_root, dataset, heldout_file(lang, split))


def resolve_data_root(data_root: str) -> str:
    """A relative data_root is looked up from the current folder, then from the repository."""
    if os.path.isabs(data_root) or os.path.isdir(data_root):
        return os.path.abspath(data_root)
    return os.path.join(REPO_ROOT, data_root)


def prepared_datasets(data_root: str) -> list[str]:
    """The names of the prepared datasets under data_root (folders holding a meta.json)."""
    if not os.path.isdir(data_root):
        return []
    return sorted(d for d in os.listdir(data_root) if os.path.isfile(os.path.join(data_root, d, META_FILE)))


# -----------------------------------------------------------------------------
# meta.json


def dataset_meta(
    dataset: str,
    tokenizer: dict,
    vocab_size: int,
    eot_token: int,
    languages: list[str],
    splits: dict[str, dict[str, dict[str, int]]],
    dtype: str | None = None,
) -> dict:
    """What every meta.json begins with: the dataset's name, its vocabulary and token dtype
    (token_dtype(vocab_size) unless given), the end-of-text id, the languages, the tokenizer's
    identity ({"name", "sha256", "path"}) and the counts of each language and split."""
    return {
        'dataset': dataset,
        'vocab_size': vocab_size,
        'dtype': dtype or token_dtype(vocab_size).name,
        'eot_token': eot_token,
        'languages': list(languages),
        'tokenizer': dict(tokenizer),
        'splits': splits,
    }


def meta_text(meta: dict) -> str:
    """meta.json's content: indented JSON, non-ASCII characters kept, a final newline."""
    return json.dumps(meta, indent=2, ensure_ascii=False) + "\n"


def write_meta(path: str, meta: dict) -> None:
    """Write meta.json (or the temporary file that will replace it) at path."""
    with open(path, "w", encoding="utf-8") as f:
        f.write(meta_text(meta))


def read_meta(data_root: str, dataset: str) -> dict:
    """The meta.json of a prepared dataset, checked: an error that names the command preparing
    it when it is missing, unreadable or written by another version of the prepare scripts."""
    path = os.path.join(data_root, dataset, META_FILE)
    if not os.path.isdir(data_root):  # a mistyped --data_root, before any advice about the dataset
        raise UserError(
            f"the data root {data_root} does not exist (--data_root): give the folder holding the "
            f"prepared datasets, or prepare '{dataset}' there with: {prepare_command(dataset, data_root)}"
        )
    if not os.path.isfile(path):
        known = prepared_datasets(data_root)
        close = difflib.get_close_matches(dataset, known, n=1, cutoff=0.6)
        if close and not is_registered(dataset):  # a typo, more likely than a dataset to prepare
            raise UserError(
                f"no dataset '{dataset}' under {data_root}: did you mean '{close[0]}'? "
                f"(prepared there: {', '.join(known)})"
            )
        raise UserError(
            f"dataset '{dataset}' is not prepared: {path} does not exist. "
            f"Prepare it with: {prepare_command(dataset, data_root)}"
            + (f" (prepared under {data_root}: {', '.join(known)})" if known else '')
        )
    try:
        with open(path) as f:
            meta = json.load(f)
    except (OSError, json.JSONDecodeError) as e:
        raise UserError(
            f"{path} is not readable JSON ({e}). Prepare the dataset again with: "
            f"{prepare_command(dataset, data_root)}"
        )
    missing = [k for k in META_REQUIRED_KEYS if k not in meta]
    if missing:
        raise UserError(
            f"{path} lacks {', '.join(missing)}: it was written by another version "
            f"of the prepare scripts. Prepare it again with: {prepare_command(dataset, data_root)}"
        )
    if meta['dtype'] not in ('uint16', 'uint32'):
        raise UserError(f"{path}: dtype must be uint16 or uint32, not {meta['dtype']!r}")
    return meta


def tokenizer_label(identity: dict) -> str:
    return f"{identity.get('name')} (sha256 {str(identity.get('sha256'))[:12]}...)"


def prepared_with(data_root: str, dataset: str, tok: Tokenizer) -> bool:
    """Whether the dataset's .bin files hold this tokenizer's ids."""
    return read_meta(data_root, dataset)['tokenizer'].get('sha256') == tok.sha256


def dataset_languages(data_root: str, dataset: str, tok: Tokenizer | None = None) -> list[str]:
    """The languages of a prepared dataset (meta.json); with a tokenizer, the dataset must have
    been prepared with it, or its token ids would mean other things."""
    meta = read_meta(data_root, dataset)
    if tok is not None and meta['tokenizer'].get('sha256') != tok.sha256:
        raise UserError(
            f"dataset '{dataset}' was prepared with tokenizer "
            f"{tokenizer_label(meta['tokenizer'])} but the model uses "
            f"{tokenizer_label(tok.identity())}: evaluate it on data prepared with its "
            f"own tokenizer (--list_of_datasets, --data_root)"
        )
    return list(meta['languages'])


# -----------------------------------------------------------------------------
# token ids: the .bin files, and the end-of-text line convention


def check_token_file(path: str, meta: dict, dataset: str, chunk: int = 2**26) -> int:
    """The number of tokens of a .bin file, after checking that it is whole and that every id
    is below meta.json's vocab_size (ids beyond it would index past the embedding table)."""
    itemsize = np.dtype(meta['dtype']).itemsize
    size = os.path.getsize(path)
    if size % itemsize:
        raise UserError(
            f"{path} is {size:,} bytes, not a whole number of {meta['dtype']} tokens: "
            f"it is truncated. Prepare the dataset again with: {prepare_command(dataset, os.path.dirname(os.path.dirname(path)))}"
        )
    tokens = np.memmap(path, mode='r', dtype=meta['dtype']) if size else np.zeros(0, meta['dtype'])
    for start in range(0, len(tokens), chunk):
        largest = int(tokens[start : start + chunk].max())
        if largest >= meta['vocab_size']:
            position = start + int(np.argmax(tokens[start : start + chunk] >= meta['vocab_size']))
            raise UserError(
                f"{path} holds token id {largest} (first bad id at token {position:,}) but "
                f"meta.json says the vocabulary has {meta['vocab_size']} ids: the .bin "
                f"and meta.json come from different preparations. Prepare the dataset "
                f"again with: {prepare_command(dataset, os.path.dirname(os.path.dirname(path)))}"
            )
    return size // itemsize


def as_line_start(token_ids: Iterable[int], eot_token: int) -> list[int]:
    """token_ids as they follow a line break in the .bin files: after the end-of-text token that
    ends the line before, which is how a model saw the start of every line in training."""
    return [eot_token] + list(token_ids)


def tokenize_lines(tok: Tokenizer, lines: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(ids, line_lengths): each line's token ids followed by the end-of-text token, one flat
    int64 array (the same stream as the .bin of that split), and the number of ids per line."""
    per_line = tok.encode_batch(lines)
    line_lengths = np.array([len(ids) + 1 for ids in per_line], dtype=np.int64)
    ids = np.empty(int(line_lengths.sum()), dtype=np.int64)
    position = 0
    for line_ids in per_line:
        ids[position : position + len(line_ids)] = line_ids
        position += len(line_ids)
        ids[position] = tok.eot_token
        position += 1
    return ids, line_lengths


def bin_mismatch(
    ids: np.ndarray, data_root: str, dataset: str, lang: str, split: str, whole: bool = True
) -> str | None:
    """None when the prepared .bin holds these ids (as its start when whole=False), else why
    not; None too when there is no .bin to compare with."""
    path = token_path(data_root, dataset, lang, split)
    if not os.path.isfile(path):
        return None
    stored = np.memmap(path, mode='r', dtype=read_meta(data_root, dataset)['dtype'])
    if whole and len(stored) != len(ids):
        return f"{path} holds {len(stored):,} tokens, the re-tokenized text {len(ids):,}"
    if len(stored) < len(ids) or not np.array_equal(stored[: len(ids)].astype(np.int64), ids):
        return f"{path} holds other token ids than the re-tokenized {heldout_file(lang, split)}"
    return None


# -----------------------------------------------------------------------------
# the held-out text


def read_heldout_lines(data_root: str, dataset: str, lang: str, split: str, max_lines: int = 0) -> list[str]:
    """The held-out lines (first max_lines of them when max_lines > 0), without their newline.
    Only '\\n' ends a line, as in the files the prepare scripts write."""
    path = heldout_path(data_root, dataset, lang, split)
    if not os.path.isfile(path):
        raise UserError(
            f"{path} does not exist: the held-out text is written by the prepare "
            f"script; prepare the dataset again with: {prepare_command(dataset, data_root)}"
        )
    lines = []
    with open(path, 'rb') as f:
        for line in f:
            if max_lines and len(lines) >= max_lines:
                break
            try:
                lines.append(line.decode('utf-8').removesuffix('\n'))
            except UnicodeDecodeError as e:
                raise UserError(
                    f"{path}, line {len(lines) + 1}, column {e.start + 1}: not UTF-8; the "
                    f"held-out text is written by the prepare script, prepare the dataset "
                    f"again with: {prepare_command(dataset, data_root)}"
                )
    return lines


def read_line_numbers(dataset_dir: str, split: str) -> list[int]:
    """The raw line number of each held-out line of `split`, in order."""
    with open(os.path.join(dataset_dir, line_numbers_file(split))) as f:
        return [int(line) for line in f]


# -----------------------------------------------------------------------------
# training and evaluation batches


class Source(NamedTuple):
    """The tokens of one language of one dataset in one split."""

    dataset: str
    language: str
    n_tokens: int


class PreparedData:
    """The token files of one or more prepared datasets that share a tokenizer."""

    def __init__(self, data_root: str, list_of_datasets: str | list[str]) -> None:
        if isinstance(list_of_datasets, str):
            list_of_datasets = [list_of_datasets]
        if not list_of_datasets:
            raise UserError(
                "list_of_datasets is empty: name at least one folder under data/, "
                "e.g. --list_of_datasets=\"['demo']\""
            )
        self.data_root = resolve_data_root(data_root)
        self.datasets = list(list_of_datasets)
        twice = sorted({ds for ds in self.datasets if self.datasets.count(ds) > 1})
        if twice:  # every dataset would be sampled and evaluated (and its results written) twice
            raise UserError(
                f"list_of_datasets names {', '.join(map(repr, twice))} more than once "
                f"({self.datasets}): name each dataset once, e.g. "
                f"--list_of_datasets=\"{list(dict.fromkeys(self.datasets))}\""
            )
        self.metas = {ds: read_meta(self.data_root, ds) for ds in self.datasets}
        first = self.datasets[0]
        self.tokenizer = self.metas[first]['tokenizer']
        for ds in self.datasets[1:]:
            other = self.metas[ds]['tokenizer']
            if other.get('sha256') != self.tokenizer.get('sha256'):
                raise UserError(
                    f"datasets '{first}' and '{ds}' were made with different tokenizers "
                    f"({tokenizer_label(self.tokenizer)} vs {tokenizer_label(other)}), so their "
                    f"token ids mean different things and cannot be mixed. Prepare both with the "
                    f"same tokenizer (the prepare scripts take --tokenizer=NAME)."
                )
        self.vocab_size = self.metas[first]['vocab_size']
        self.languages = sorted({lang for m in self.metas.values() for lang in m['languages']})
        # (dataset, language, split) -> number of tokens, from the files themselves
        self.n_tokens = {}
        for ds, meta in self.metas.items():
            missing = [
                self.path(ds, lang, 'train')
                for lang in meta['languages']
                if not os.path.isfile(self.path(ds, lang, 'train'))
            ]
            if missing:
                raise UserError(
                    f"dataset '{ds}' lacks {', '.join(missing)} (meta.json names the "
                    f"languages {', '.join(meta['languages'])}): training would see the "
                    f"other language(s) only. Prepare it again with: {prepare_command(ds, self.data_root)}"
                )
            for lang in meta['languages']:
                for split in SPLITS:
                    path = self.path(ds, lang, split)
                    if os.path.isfile(path):
                        self.n_tokens[(ds, lang, split)] = check_token_file(path, meta, ds)
        if not any(s == 'train' for (_, _, s) in self.n_tokens):
            raise UserError(
                f"no training tokens found under {self.data_root} for "
                f"{self.datasets}. Prepare them with: "
                f"{' && '.join(prepare_command(d, self.data_root) for d in self.datasets)}"
            )

    def path(self, dataset: str, lang: str, split: str) -> str:
        return token_path(self.data_root, dataset, lang, split)

    def heldout_lines(self, split: str) -> dict[str, list[str]]:
        """{language: lines} of the datasets' held-out text of `split`, where they have one."""
        lines = {}
        for ds in self.datasets:
            for lang in self.metas[ds]['languages']:
                if os.path.isfile(heldout_path(self.data_root, ds, lang, split)):
                    lines.setdefault(lang, []).extend(read_heldout_lines(self.data_root, ds, lang, split))
        return lines

    def identity(self) -> dict:
        """What a checkpoint records about its data."""
        return {
            'list_of_datasets': self.datasets,
            'data_root': self.data_root,
            'tokenizer': self.tokenizer,
            'vocab_size': self.vocab_size,
            'languages': self.languages,
        }

    def language_probabilities(self, xlm_alpha: float, split: str = 'train') -> dict[str, float]:
        """XLM's smoothed language sampling: q_lang proportional to p_lang ** xlm_alpha, with
        p_lang the language's share of the split's tokens (alpha 1: proportional, alpha 0:
        uniform over languages)."""
        totals = {
            lang: sum(n for (d, l, s), n in self.n_tokens.items() if l == lang and s == split)
            for lang in self.languages
        }
        totals = {lang: n for lang, n in totals.items() if n > 0}
        # in log space: p ** alpha underflows to 0 for every language once alpha is large (2000)
        log_q = xlm_alpha * np.log(np.array(list(totals.values()), dtype=np.float64))
        q = np.exp(log_q - log_q.max())
        return dict(zip(totals, q / q.sum()))

    def languages_without(self, split: str, block_size: int) -> list[str]:
        """The languages with no `split` sequence of block_size + 1 tokens in any dataset: no
        loss can be measured on them there (a dataset of a few lines has empty val and test)."""
        return [lang for lang in self.languages if not self.sources(split, block_size, lang)]

    def sources(self, split: str, block_size: int, language: str | None = None) -> list[Source]:
        """The (dataset, language, n_tokens) usable for sequences of block_size + 1 tokens."""
        return [
            Source(d, l, n)
            for (d, l, s), n in sorted(self.n_tokens.items())
            if s == split and n > block_size + 1 and (language is None or l == language)
        ]

    def get_batch(
        self,
        split: str,
        batch_size: int,
        block_size: int,
        seed: int,
        step: int,
        micro_step: int = 0,
        xlm_alpha: float = 1.0,
        language: str | None = None,
        device: str = 'cpu',
        stream: str = 'train',
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """x, y (batch_size, block_size) int64 tensors. Each sequence draws a language (with
        xlm_alpha smoothing, or the given one), then a dataset of that language in proportion
        to its tokens, then a uniform start. The draw depends only on the arguments; stream
        ('train' or 'eval') keeps evaluation batches apart from training ones."""
        sources = self.sources(split, block_size, language)
        if not sources:
            raise UserError(
                f"no {split} data with more than {block_size + 1} tokens"
                f"{' in language ' + language if language else ''} in "
                f"{self.datasets} under {self.data_root}: use a smaller block_size "
                f"or prepare more data"
            )
        split_code = SPLITS.index(split)
        lang_code = 0 if language is None else 1 + self.languages.index(language)
        stream_code = STREAMS.index(stream)
        rng = np.random.default_rng([seed, stream_code, split_code, lang_code, step, micro_step])
        if language is None:
            q = self.language_probabilities(xlm_alpha, split)
            langs = [l for l in q if any(src.language == l for src in sources)]
            weights = np.array([q[l] for l in langs])
            seq_langs = rng.choice(len(langs), size=batch_size, p=weights / weights.sum())
        else:
            langs, seq_langs = [language], np.zeros(batch_size, dtype=np.int64)
        x = np.empty((batch_size, block_size), dtype=np.int64)
        y = np.empty((batch_size, block_size), dtype=np.int64)
        # a fresh memmap per batch: an open one slowly grows the resident memory
        maps = {}
        for b in range(batch_size):
            candidates = [src for src in sources if src.language == langs[seq_langs[b]]]
            sizes = np.array([src.n_tokens for src in candidates], dtype=np.float64)
            ds, lang, n = candidates[rng.choice(len(candidates), p=sizes / sizes.sum())]
            start = int(rng.integers(0, n - block_size - 1))
            if (ds, lang) not in maps:
                maps[(ds, lang)] = np.memmap(
                    self.path(ds, lang, split), mode='r', dtype=self.metas[ds]['dtype']
                )
            chunk = maps[(ds, lang)][start : start + block_size + 1].astype(np.int64)
            x[b], y[b] = chunk[:-1], chunk[1:]
        del maps
        import torch  # imported here: the prepare scripts use this module and never need torch

        x, y = torch.from_numpy(x), torch.from_numpy(y)
        if torch.device(device).type == 'cuda':
            return x.pin_memory().to(device, non_blocking=True), y.pin_memory().to(device, non_blocking=True)
        return x.to(device), y.to(device)
