"""
Reading prepared datasets (data/<dataset>/{lang}_{split}.bin and meta.json, written by the
prepare scripts under data/) and drawing training and evaluation batches from them.

Batches are a pure function of (seed, split, step, micro-step): a run on one process and a run
on eight, or a run and its resumed continuation, draw the same sequences.
"""

import difflib
import json
import os

import numpy as np
import torch
from common.errors import UserError

SPLITS = ('train', 'val', 'test')
STREAMS = ('train', 'eval')
REPO_ROOT = os.path.dirname(os.path.abspath(__file__))

PREPARE_COMMANDS = {
    'demo': 'python data/demo/prepare.py',
    'europarl': 'bash data/get_data.sh europarl && python data/europarl/prepare.py',
    'multiun': 'bash data/get_data.sh multiun && python data/multiun/prepare.py',
}


def prepare_command(dataset):
    return PREPARE_COMMANDS.get(dataset, f'python data/{dataset}/prepare.py')


def resolve_data_root(data_root):
    """A relative data_root is looked up from the current folder, then from the repository."""
    if os.path.isabs(data_root) or os.path.isdir(data_root):
        return os.path.abspath(data_root)
    return os.path.join(REPO_ROOT, data_root)


def prepared_datasets(data_root):
    """The names of the prepared datasets under data_root (folders holding a meta.json)."""
    if not os.path.isdir(data_root):
        return []
    return sorted(d for d in os.listdir(data_root) if os.path.isfile(os.path.join(data_root, d, 'meta.json')))


def read_meta(data_root, dataset):
    path = os.path.join(data_root, dataset, 'meta.json')
    if not os.path.isfile(path):
        known = prepared_datasets(data_root)
        close = difflib.get_close_matches(dataset, known, n=1, cutoff=0.6)
        if close and dataset not in PREPARE_COMMANDS:  # a typo, more likely than a dataset to prepare
            raise UserError(f"no dataset '{dataset}' under {data_root}: did you mean '{close[0]}'? "
                            f"(prepared there: {', '.join(known)})")
        raise UserError(f"dataset '{dataset}' is not prepared: {path} does not exist. "
                        f"Prepare it with: {prepare_command(dataset)}"
                        + (f" (prepared under {data_root}: {', '.join(known)})" if known else ''))
    try:
        with open(path) as f:
            meta = json.load(f)
    except (OSError, json.JSONDecodeError) as e:
        raise UserError(f"{path} is not readable JSON ({e}). Prepare the dataset again with: "
                        f"{prepare_command(dataset)}")
    missing = [k for k in ('vocab_size', 'dtype', 'languages', 'tokenizer') if k not in meta]
    if missing:
        raise UserError(f"{path} lacks {', '.join(missing)}: it was written by another version "
                        f"of the prepare scripts. Prepare it again with: {prepare_command(dataset)}")
    if meta['dtype'] not in ('uint16', 'uint32'):
        raise UserError(f"{path}: dtype must be uint16 or uint32, not {meta['dtype']!r}")
    return meta


def check_token_file(path, meta, dataset, chunk=2**26):
    """The number of tokens of a .bin file, after checking that it is whole and that every id
    is below meta.json's vocab_size (ids beyond it would index past the embedding table)."""
    itemsize = np.dtype(meta['dtype']).itemsize
    size = os.path.getsize(path)
    if size % itemsize:
        raise UserError(f"{path} is {size:,} bytes, not a whole number of {meta['dtype']} tokens: "
                        f"it is truncated. Prepare the dataset again with: {prepare_command(dataset)}")
    tokens = np.memmap(path, mode='r', dtype=meta['dtype']) if size else np.zeros(0, meta['dtype'])
    for start in range(0, len(tokens), chunk):
        largest = int(tokens[start:start + chunk].max())
        if largest >= meta['vocab_size']:
            position = start + int(np.argmax(tokens[start:start + chunk] >= meta['vocab_size']))
            raise UserError(f"{path} holds token id {largest} (first bad id at token {position:,}) but "
                            f"meta.json says the vocabulary has {meta['vocab_size']} ids: the .bin "
                            f"and meta.json come from different preparations. Prepare the dataset "
                            f"again with: {prepare_command(dataset)}")
    return size // itemsize


def tokenizer_label(identity):
    return f"{identity.get('name')} (sha256 {str(identity.get('sha256'))[:12]}...)"


class PreparedData:
    """The token files of one or more prepared datasets that share a tokenizer."""

    def __init__(self, data_root, list_of_datasets):
        if isinstance(list_of_datasets, str):
            list_of_datasets = [list_of_datasets]
        if not list_of_datasets:
            raise UserError("list_of_datasets is empty: name at least one folder under data/, "
                            "e.g. --list_of_datasets=\"['demo']\"")
        self.data_root = resolve_data_root(data_root)
        self.datasets = list(list_of_datasets)
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
                    f"same tokenizer (the prepare scripts take --tokenizer=NAME).")
        self.vocab_size = self.metas[first]['vocab_size']
        self.languages = sorted({lang for m in self.metas.values() for lang in m['languages']})
        # (dataset, language, split) -> number of tokens, from the files themselves
        self.n_tokens = {}
        for ds, meta in self.metas.items():
            missing = [self.path(ds, lang, 'train') for lang in meta['languages']
                       if not os.path.isfile(self.path(ds, lang, 'train'))]
            if missing:
                raise UserError(f"dataset '{ds}' lacks {', '.join(missing)} (meta.json names the "
                                f"languages {', '.join(meta['languages'])}): training would see the "
                                f"other language(s) only. Prepare it again with: {prepare_command(ds)}")
            for lang in meta['languages']:
                for split in SPLITS:
                    path = self.path(ds, lang, split)
                    if os.path.isfile(path):
                        self.n_tokens[(ds, lang, split)] = check_token_file(path, meta, ds)
        if not any(s == 'train' for (_, _, s) in self.n_tokens):
            raise UserError(f"no training tokens found under {self.data_root} for "
                            f"{self.datasets}. Prepare them with: "
                            f"{' && '.join(prepare_command(d) for d in self.datasets)}")

    def path(self, dataset, lang, split):
        return os.path.join(self.data_root, dataset, f'{lang}_{split}.bin')

    def identity(self):
        """What a checkpoint records about its data."""
        return {'list_of_datasets': self.datasets, 'data_root': self.data_root,
                'tokenizer': self.tokenizer, 'vocab_size': self.vocab_size,
                'languages': self.languages}

    def language_probabilities(self, xlm_alpha, split='train'):
        """XLM's smoothed language sampling: q_lang proportional to p_lang ** xlm_alpha, with
        p_lang the language's share of the split's tokens (alpha 1: proportional, alpha 0:
        uniform over languages)."""
        totals = {lang: sum(n for (d, l, s), n in self.n_tokens.items() if l == lang and s == split)
                  for lang in self.languages}
        totals = {lang: n for lang, n in totals.items() if n > 0}
        p = np.array(list(totals.values()), dtype=np.float64)
        q = (p / p.sum()) ** xlm_alpha
        return dict(zip(totals, q / q.sum()))

    def sources(self, split, block_size, language=None):
        """[(dataset, language, n_tokens)] usable for sequences of block_size + 1 tokens."""
        return [(d, l, n) for (d, l, s), n in sorted(self.n_tokens.items())
                if s == split and n > block_size + 1 and (language is None or l == language)]

    def get_batch(self, split, batch_size, block_size, seed, step, micro_step=0, xlm_alpha=1.0,
                  language=None, device='cpu', stream='train'):
        """x, y (batch_size, block_size) int64 tensors. Each sequence draws a language (with
        xlm_alpha smoothing, or the given one), then a dataset of that language in proportion
        to its tokens, then a uniform start. The draw depends only on the arguments; stream
        ('train' or 'eval') keeps evaluation batches apart from training ones."""
        sources = self.sources(split, block_size, language)
        if not sources:
            raise UserError(f"no {split} data with more than {block_size + 1} tokens"
                            f"{' in language ' + language if language else ''} in "
                            f"{self.datasets} under {self.data_root}: use a smaller block_size "
                            f"or prepare more data")
        split_code = SPLITS.index(split)
        lang_code = 0 if language is None else 1 + self.languages.index(language)
        stream_code = STREAMS.index(stream)
        rng = np.random.default_rng([seed, stream_code, split_code, lang_code, step, micro_step])
        if language is None:
            q = self.language_probabilities(xlm_alpha, split)
            langs = [l for l in q if any(src[1] == l for src in sources)]
            weights = np.array([q[l] for l in langs])
            seq_langs = rng.choice(len(langs), size=batch_size, p=weights / weights.sum())
        else:
            langs, seq_langs = [language], np.zeros(batch_size, dtype=np.int64)
        x = np.empty((batch_size, block_size), dtype=np.int64)
        y = np.empty((batch_size, block_size), dtype=np.int64)
        # a fresh memmap per batch: an open one slowly grows the resident memory
        maps = {}
        for b in range(batch_size):
            candidates = [src for src in sources if src[1] == langs[seq_langs[b]]]
            sizes = np.array([n for _, _, n in candidates], dtype=np.float64)
            ds, lang, n = candidates[rng.choice(len(candidates), p=sizes / sizes.sum())]
            start = int(rng.integers(0, n - block_size - 1))
            if (ds, lang) not in maps:
                maps[(ds, lang)] = np.memmap(self.path(ds, lang, split), mode='r',
                                             dtype=self.metas[ds]['dtype'])
            chunk = maps[(ds, lang)][start:start + block_size + 1].astype(np.int64)
            x[b], y[b] = chunk[:-1], chunk[1:]
        del maps
        x, y = torch.from_numpy(x), torch.from_numpy(y)
        if torch.device(device).type == 'cuda':
            return x.pin_memory().to(device, non_blocking=True), y.pin_memory().to(device, non_blocking=True)
        return x.to(device), y.to(device)
