"""
Minimal pairs (used by minimal_pairs.py): does a model give a grammatical sentence a higher
probability than its ungrammatical twin? Perplexity and cloze say how well a model predicts; a
minimal pair asks whether it knows one rule of a language's grammar, the way BLiMP, MultiBLiMP
and CLAMS compare models.

Scoring, as BLiMP's "simple LM method": the log-probability of each whole sentence after
<|endoftext|> (the start of a line, as in training), with the model's own tokenizer:

    log P(s) = sum over the tokens t_1..t_n of s of log P(t_i | EOT t_1 .. t_{i-1})

A pair is correct when log P(good) > log P(bad); a tie is wrong, and counted. Where a file gives
BLiMP's one-prefix fields, the "one-prefix method" also compares log P(word_good | EOT prefix)
with log P(word_bad | EOT prefix), each word after a space. Both sentences of a pair go in one
batch; pairs are sorted by length so that a batch holds little padding (padding is on the right,
where a causal model's earlier positions never see it).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from common.checkpoint import checkpoint_path, load_checkpoint_file
from common.tokenizer import ids_without_rows, missing_rows_message
from evaluation.checkpoints import checkpoint_data_root, checkpoint_tokenizer
from evaluation.pair_files import MinimalPair, SkippedRow
from evaluation.statistics import wilson_interval

if TYPE_CHECKING:
    from common.tokenizer import Tokenizer

NO_ROW = 'tokens the model has no row for'
TOO_LONG = "longer than the model's block"
LACKED = 'a language the model lacks'


@dataclass
class PairReader:
    """What decides which pairs a checkpoint can score, read without building its model."""

    out_dir: str
    tokenizer: Tokenizer
    rows: int  # the model's vocabulary rows (the tokenizer may have more ids)
    block_size: int
    languages: list  # the languages it was trained on ([]: it does not say, a converted model)


def pair_reader(out_dir: str, data_root: str = '') -> PairReader:
    checkpoint = load_checkpoint_file(out_dir)
    checkpoint['out_dir'] = os.path.dirname(checkpoint_path(out_dir)) or '.'
    root = checkpoint_data_root(checkpoint, data_root)
    args = checkpoint['model_args']
    return PairReader(
        out_dir,
        checkpoint_tokenizer(checkpoint, root),
        args['vocab_size'],
        args['block_size'],
        list((checkpoint.get('data') or {}).get('languages') or []),
    )


@dataclass
class PairTokens:
    """The token sequences of a pair, each (ids, first scored target): EOT + the sentence,
    scored from its first token; with one-prefix fields, EOT + prefix + each critical word,
    scored on the word's tokens only."""

    good: tuple
    bad: tuple
    prefix_good: tuple | None = None
    prefix_bad: tuple | None = None

    def sequences(self) -> list[tuple[list[int], int]]:
        return [s for s in (self.good, self.bad, self.prefix_good, self.prefix_bad) if s is not None]


def pair_tokens(reader: PairReader, pair: MinimalPair) -> PairTokens | SkippedRow:
    """The PairTokens of a pair for a checkpoint, or why it cannot score it (SkippedRow): a
    language it lacks, a token it has no row for, a sentence longer than its block."""
    tok = reader.tokenizer
    if reader.languages and pair.language not in reader.languages:
        return SkippedRow(
            pair.file, pair.line, LACKED,
            f"language {pair.language!r}: the model was trained on {', '.join(reader.languages)}",
            reader.out_dir,
        )  # fmt: skip
    eot = tok.eot_token
    tokens = PairTokens(([eot] + tok.encode(pair.good), 1), ([eot] + tok.encode(pair.bad), 1))
    if pair.has_one_prefix:
        prefix = [eot] + tok.encode(pair.prefix)
        tokens.prefix_good = (prefix + tok.encode(' ' + pair.word_good), len(prefix))
        tokens.prefix_bad = (prefix + tok.encode(' ' + pair.word_bad), len(prefix))
    every_id = [i for ids, _ in tokens.sequences() for i in ids]
    if ids_without_rows(every_id, reader.rows):
        why = f"it holds {missing_rows_message(tok, every_id, reader.rows)}"
        return SkippedRow(pair.file, pair.line, NO_ROW, why, reader.out_dir)
    longest = max(len(ids) for ids, _ in tokens.sequences())
    if longest - 1 > reader.block_size:
        why = f"{longest - 1} tokens, above the block of {reader.block_size} the model reads at once"
        return SkippedRow(pair.file, pair.line, TOO_LONG, why, reader.out_dir)
    return tokens


@torch.no_grad()
def sequence_logprobs(
    model: torch.nn.Module,
    sequences: Sequence[tuple[Sequence[int], int]],
    device: str = 'cpu',
    autocast: AbstractContextManager | None = None,
) -> list[float]:
    """sum of log P(ids[t] | ids[:t]) over t >= start, for each (ids, start), in one batch (padded
    on the right); float64 sums of float32 log-probabilities."""
    width = max(len(ids) for ids, _ in sequences) - 1
    idx = torch.zeros((len(sequences), width), dtype=torch.long)
    targets = torch.zeros_like(idx)
    scored = torch.zeros((len(sequences), width), dtype=torch.bool)
    for row, (ids, start) in enumerate(sequences):
        ids = torch.as_tensor(list(ids), dtype=torch.long)
        idx[row, : len(ids) - 1], targets[row, : len(ids) - 1] = ids[:-1], ids[1:]
        scored[row, start - 1 : len(ids) - 1] = True
    with autocast if autocast is not None else nullcontext():
        logits, _ = model(idx.to(device), all_logits=True)
    logprobs = torch.log_softmax(logits.float(), dim=-1)
    picked = logprobs.gather(-1, targets.to(device)[..., None])[..., 0].double().cpu()
    return (picked * scored).sum(dim=1).tolist()


@dataclass
class PairScore:
    """The log-probabilities (nats) of a pair's sentences, and, where given, of its one-prefix
    critical words."""

    good: float
    bad: float
    prefix_good: float | None = None
    prefix_bad: float | None = None

    @property
    def correct(self) -> bool:
        return self.good > self.bad  # a tie is wrong

    @property
    def tie(self) -> bool:
        return self.good == self.bad

    @property
    def one_prefix_correct(self) -> bool | None:
        return None if self.prefix_good is None else self.prefix_good > self.prefix_bad


def score_pairs(
    model: torch.nn.Module,
    tokens: Sequence[PairTokens],
    batch_size: int = 32,
    device: str = 'cpu',
    autocast: AbstractContextManager | None = None,
    progress: Callable | None = None,
) -> list[PairScore]:
    """The PairScore of each pair, in input order; batch_size pairs per forward pass (all the
    sequences of a pair in one), pairs sorted by their longest sequence."""
    order = sorted(range(len(tokens)), key=lambda i: max(len(ids) for ids, _ in tokens[i].sequences()))
    batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    scores = [None] * len(tokens)
    for batch in progress(batches) if progress else batches:
        sequences = [s for i in batch for s in tokens[i].sequences()]
        values = iter(sequence_logprobs(model, sequences, device, autocast))
        for i in batch:
            scores[i] = PairScore(*(next(values) for _ in tokens[i].sequences()))
    return scores


@dataclass
class PairAccuracy:
    """The pairs of one file, phenomenon or language, as minimal_pairs.json records them (in this
    order): accuracy with its 95% Wilson interval, ties (counted wrong), and the one-prefix
    comparison over the pairs that give it."""

    pairs: int
    correct: int
    accuracy: float
    accuracy_ci95: list
    ties: int
    one_prefix_pairs: int
    one_prefix_correct: int
    one_prefix_accuracy: float
    one_prefix_accuracy_ci95: list

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def pair_accuracy(scores: Sequence[PairScore]) -> PairAccuracy:
    n, correct = len(scores), sum(s.correct for s in scores)
    prefixed = [s.one_prefix_correct for s in scores if s.one_prefix_correct is not None]
    m, prefix_correct = len(prefixed), sum(prefixed)
    return PairAccuracy(
        pairs=n,
        correct=correct,
        accuracy=correct / n if n else math.nan,
        accuracy_ci95=list(wilson_interval(correct, n)),
        ties=sum(s.tie for s in scores),
        one_prefix_pairs=m,
        one_prefix_correct=prefix_correct,
        one_prefix_accuracy=prefix_correct / m if m else math.nan,
        one_prefix_accuracy_ci95=list(wilson_interval(prefix_correct, m)),
    )


def disagreements(first: Sequence[bool], second: Sequence[bool]) -> tuple[int, int]:
    """(pairs only the first model gets right, pairs only the second does), over the same pairs."""
    a, b = np.asarray(first, dtype=bool), np.asarray(second, dtype=bool)
    return int((a & ~b).sum()), int((~a & b).sum())
