"""
How fast text becomes token ids, for data/bench_prepare.py: the batch path of the prepare scripts
(chunks of lines, one call into the tokenizer per chunk, in a pool of processes) against a plain
per-line loop, and nanoGPT's whole prepare (a Hugging Face `datasets` map, one encode per
document) to set against prepare_parallel_corpus.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from common.tokenizer import Tokenizer
from data.parallel_corpus import DEFAULT_CHUNK_LINES, WORKER, process_pool  # the pool measured
from data.prepared import token_dtype

# -----------------------------------------------------------------------------
# the prepare scripts' batch path against the plain per-line loop


@dataclass(frozen=True)
class TokenizationThroughput:
    """What tokenization_throughput measured: MB/s of UTF-8 text for each path (the medians of
    `repeats` runs), the speedup of the pool over the loop and whether both gave the same ids."""

    megabytes: float
    lines: int
    num_proc: int
    repeats: int
    per_line_mb_per_s: float
    batch_mb_per_s: float
    batch_one_process_mb_per_s: float
    tokenize_speedup: float
    identical: bool


def _encode_range(bounds: tuple[int, int]) -> np.ndarray:
    """Worker task of tokenization_throughput: lines [a, b) of the text the pool was made with."""
    a, b = bounds
    tok = WORKER["tokenizer"]
    return tok.encode_lines_with_eot(WORKER["config"]["lines"][a:b]).astype(token_dtype(tok.n_vocab))


def tokenization_throughput(
    lines: Sequence[str],
    tokenizer: Tokenizer,
    num_proc: int = 2,
    chunk_lines: int = DEFAULT_CHUNK_LINES,
    repeats: int = 3,
) -> TokenizationThroughput:
    """Tokenize `lines` (each followed by EOT) in one run: a plain loop of tokenizer.encode()
    calls, and the path prepare_parallel_corpus uses (chunks of lines, one batch call into
    tiktoken per chunk), in one process and in `num_proc` processes. As in prepare, where each
    worker reads its chunks from the raw files, the workers hold the text already (handed over
    when the pool starts) and only the token ids travel back. The three are timed `repeats`
    times in turn and the medians kept."""
    lines = list(lines)
    megabytes = sum(len(line.encode('utf-8')) for line in lines) / 1e6
    dtype = token_dtype(tokenizer.n_vocab)
    # at least 2 chunks per process: the work is shared evenly and the pool is rarely woken
    chunk_lines = max(1, min(chunk_lines, -(-len(lines) // (2 * num_proc))))
    bounds = [(a, min(a + chunk_lines, len(lines))) for a in range(0, len(lines), chunk_lines)]

    def loop():
        flat = []
        for line in lines:
            flat.extend(tokenizer.encode(line))
            flat.append(tokenizer.eot_token)
        return np.array(flat, dtype=dtype)

    def one_process():  # the batch calls in this process alone: what batching gains on one core
        for a, b in bounds:
            tokenizer.encode_lines_with_eot(lines[a:b])

    seconds = {'loop': [], 'one': [], 'pool': []}
    with process_pool(num_proc, tokenizer, {"lines": lines}) as pool:
        pool.map(_encode_range, [(0, min(100, len(lines)))] * num_proc)  # workers started and warm
        for _ in range(repeats):
            for path, run in (
                ('loop', loop),
                ('one', one_process),
                ('pool', lambda: pool.map(_encode_range, bounds, chunksize=1)),
            ):
                started = time.perf_counter()
                ids = run()
                seconds[path].append(time.perf_counter() - started)
                if path == 'loop':
                    loop_ids = ids
                elif path == 'pool':
                    batch_ids = np.concatenate(ids or [np.zeros(0, dtype)])
    median = {path: statistics.median(times) for path, times in seconds.items()}
    return TokenizationThroughput(
        megabytes=round(megabytes, 3),
        lines=len(lines),
        num_proc=num_proc,
        repeats=repeats,
        per_line_mb_per_s=round(megabytes / median['loop'], 2),
        batch_mb_per_s=round(megabytes / median['pool'], 2),
        batch_one_process_mb_per_s=round(megabytes / median['one'], 2),
        tokenize_speedup=round(median['loop'] / median['pool'], 2),
        identical=bool(np.array_equal(loop_ids, batch_ids)),
    )


# -----------------------------------------------------------------------------
# nanoGPT's prepare, to set ours against


def nanogpt_prepare(lines: Sequence[str], tok: Tokenizer, out_path: str) -> np.ndarray:
    """nanoGPT's way (data/openwebtext/prepare.py): a Hugging Face datasets map with one process
    per core and one encode_ordinary call per document (here a line) plus EOT, then the ids
    concatenated shard by shard into a .bin memmap."""
    from datasets import Dataset, disable_progress_bars

    disable_progress_bars()
    eot = tok.eot_token

    def process(example):
        ids = tok.encode(example['text'])  # tiktoken's encode_ordinary for ours, as nanoGPT
        ids.append(eot)
        return {'ids': ids, 'len': len(ids)}

    tokenized = Dataset.from_dict({'text': lines}).map(
        process, remove_columns=['text'], num_proc=os.cpu_count()
    )
    arr = np.memmap(out_path, dtype=np.uint32, mode='w+', shape=(int(np.sum(tokenized['len'])),))
    idx = 0
    total_batches = min(1024, len(tokenized))
    for batch_idx in range(total_batches):
        batch = tokenized.shard(num_shards=total_batches, index=batch_idx, contiguous=True).with_format(
            'numpy'
        )
        arr_batch = np.concatenate(batch['ids'])
        arr[idx : idx + len(arr_batch)] = arr_batch
        idx += len(arr_batch)
    arr.flush()
    return np.array(arr)
