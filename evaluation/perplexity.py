"""
Perplexity of held-out text, per language: how well a model predicts text it has not seen, the
number language models are compared by. It is one deterministic pass, not a mean over random
batches (what the original project reported: a different number every run, and a mean of
exp(batch loss) is not the exp of the mean loss), and it is normalised three ways, because token
perplexity alone cannot compare English with French, or two tokenizers (used by
perplexity_per_lang.py).

The stream is the held-out text of one language, each line's tokens followed by the
end-of-text (EOT) token, as in the prepared .bin files. One more EOT is put in front of the first
line, so that its first token is predicted from "start of a line" as in training, and every token
of the stream, the EOTs included, is scored exactly once:

    x = [EOT] + stream                     targets: x[1..N] = stream[0..N-1]
    window w: input x[s : s + T], T = min(block_size, N); it predicts x[s+1 : s+T+1]
    the first window scores its T targets; each later one the next `stride` targets (its last
    ones), so every token has at least block_size - stride + 1 tokens of context (or all of
    them, near the start).

Metrics (NLL in nats, summed over the tokens of the lines):
    token perplexity = exp(NLL / tokens)
    word perplexity  = exp(NLL / whitespace-separated words)
    bits per byte    = NLL / ln 2 / UTF-8 bytes of the text (newlines not counted)
The EOT closing each line is a token like any other: predicting where a line ends is part of
predicting the text. Words and bytes do not depend on the tokenizer, so these two compare
languages, and models with different tokenizers; token perplexity does not.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F

from evaluation.statistics import bootstrap_ratio_ci


def window_plan(n_tokens: int, block_size: int, stride: int) -> list[tuple[int, int]]:
    """[(start, n_scored)]: window inputs x[start : start + T] with T = min(block_size, n_tokens),
    each scoring its last n_scored targets; together they score targets 1..n_tokens once each."""
    if block_size < 1 or not 1 <= stride <= block_size:
        raise ValueError(f"stride must be between 1 and block_size ({block_size}), not {stride}")
    if n_tokens <= 0:
        return []
    T = min(block_size, n_tokens)
    windows, end = [(0, T)], T  # targets 1..end are scored
    while end < n_tokens:
        new_end = min(end + stride, n_tokens)
        windows.append((new_end - T, new_end - end))
        end = new_end
    return windows


@torch.no_grad()
def token_nll(
    model: torch.nn.Module,
    stream: Sequence[int] | np.ndarray,
    eot_token: int,
    block_size: int,
    stride: int,
    batch_size: int = 8,
    device: str = 'cpu',
    autocast: AbstractContextManager | None = None,
    progress: Callable | None = None,
) -> np.ndarray:
    """Negative log-likelihood (nats, float64) of every token of stream (1-D ints), in order.
    model follows the call convention logits, _ = model(idx, all_logits=True) with logits
    (B, T, V). autocast: a context manager for mixed precision (None: none). progress: a tqdm-like
    callable wrapped around the batches, or None."""
    stream = torch.as_tensor(np.asarray(stream, dtype=np.int64))
    n = len(stream)
    x = torch.cat([torch.tensor([eot_token], dtype=torch.long), stream])
    windows = window_plan(n, block_size, stride)
    T = min(block_size, n)
    nll = np.full(n, np.nan)
    batches = [windows[i : i + batch_size] for i in range(0, len(windows), batch_size)]
    for batch in progress(batches) if progress else batches:
        starts = torch.tensor([s for s, _ in batch])
        offsets = starts[:, None] + torch.arange(T)[None, :]
        idx, targets = x[offsets].to(device), x[offsets + 1].to(device)
        if autocast is not None:
            with autocast:
                logits, _ = model(idx, all_logits=True)
        else:
            logits, _ = model(idx, all_logits=True)
        losses = (
            F.cross_entropy(
                logits.float().reshape(-1, logits.size(-1)), targets.reshape(-1), reduction='none'
            )
            .view(len(batch), T)
            .double()
            .cpu()
            .numpy()
        )
        for (s, n_scored), row in zip(batch, losses):
            # target x[j] is stream[j - 1]: this window's targets are stream[s : s + T]
            nll[s + T - n_scored : s + T] = row[T - n_scored :]
    assert not np.isnan(nll).any(), "a token was left unscored"
    return nll


def line_sums(values: Sequence[float] | np.ndarray, line_lengths: Sequence[int] | np.ndarray) -> np.ndarray:
    """Per-line sums of per-token values (line_lengths tokens per line, each >= 1)."""
    starts = np.concatenate(([0], np.cumsum(line_lengths)[:-1]))
    return np.add.reduceat(np.asarray(values, dtype=np.float64), starts)


def text_counts(lines: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """(words, UTF-8 bytes) of each line: whitespace-separated words, newline not counted."""
    words = np.array([len(line.split()) for line in lines], dtype=np.int64)
    n_bytes = np.array([len(line.encode('utf-8')) for line in lines], dtype=np.int64)
    return words, n_bytes


@dataclass
class PerplexityMetrics:
    """The perplexity of one language's lines, as perplexity.json records it (in this order):
    each metric with its 95% bootstrap confidence interval over lines, [low, high]; NLL in nats."""

    token_perplexity: float
    token_perplexity_ci95: list
    word_perplexity: float
    word_perplexity_ci95: list
    bits_per_byte: float
    bits_per_byte_ci95: list
    nll_per_token: float
    nll_total: float
    tokens: int
    words: int
    bytes: int
    lines: int

    def as_dict(self) -> dict[str, float | int | list[float]]:
        """{metric: value}, in the order of the fields."""
        return asdict(self)


def perplexity_metrics(
    line_nll: Sequence[float] | np.ndarray,
    line_tokens: Sequence[int] | np.ndarray,
    line_words: Sequence[int] | np.ndarray,
    line_bytes: Sequence[int] | np.ndarray,
    n_resamples: int = 1000,
    seed: int = 0,
) -> PerplexityMetrics:
    """Token perplexity, word perplexity and bits per byte of lines, each with its 95% bootstrap
    confidence interval over lines (the same seed for all, so two runs agree), and the counts."""
    line_nll = np.asarray(line_nll, dtype=np.float64)
    total = float(line_nll.sum())
    tokens, words, n_bytes = (int(np.sum(c)) for c in (line_tokens, line_words, line_bytes))
    ln2 = math.log(2)

    def ci(denominators, transform):
        low, high = bootstrap_ratio_ci(
            line_nll, denominators, transform=transform, n_resamples=n_resamples, level=0.95, seed=seed
        )
        return [low, high]

    return PerplexityMetrics(
        token_perplexity=math.exp(total / tokens) if tokens else math.nan,
        token_perplexity_ci95=ci(line_tokens, np.exp),
        word_perplexity=math.exp(total / words) if words else math.nan,
        word_perplexity_ci95=ci(line_words, np.exp),
        bits_per_byte=total / ln2 / n_bytes if n_bytes else math.nan,
        bits_per_byte_ci95=ci(line_bytes, lambda r: r / ln2),
        nll_per_token=total / tokens if tokens else math.nan,
        nll_total=total,
        tokens=tokens,
        words=words,
        bytes=n_bytes,
        lines=len(line_nll),
    )
