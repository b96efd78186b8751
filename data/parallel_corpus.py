"""
Line-aligned parallel text (line i of every language file is a translation of line i of the
others, as Europarl and MultiUN are distributed) -> the prepared-data layout train.py reads
(data/prepared.py: {lang}_{split}.bin token ids, {lang}_{val,test}.txt held-out lines,
{split}_line_numbers.txt, meta.json).

How lines are read, cleaned and assigned to splits is data/aligned_text.py's. Files are read in
chunks of lines by a pool of processes, so memory stays bounded whatever the input size, and the
outputs replace the old ones only once they are complete.

data/demo/prepare.py calls prepare_parallel_corpus() on its generated text; the prepare scripts
of the other corpora go through data/prepare_scripts.py, which picks the tokenizer
(data/tokenizer_policy.py) and calls it for each dataset.
"""

from __future__ import annotations

import collections
import contextlib
import itertools
import multiprocessing
import multiprocessing.pool
import os
import time
from collections.abc import Iterable, Iterator, Sequence
from typing import BinaryIO, NamedTuple

import numpy as np
from tqdm import tqdm

from common.atomic_files import written_together
from common.errors import UserError
from common.tokenizer import Tokenizer
from data.aligned_text import (
    DEFAULT_CHUNK_LINES,
    DEFAULT_SPLIT_FRACTIONS,
    DEFAULT_SPLIT_SEED,
    ChunkJob,
    Cleaning,
    RawScan,
    aligned_scans,
    check_split_fractions,
    chunk_jobs,
    clean_chunk,
)
from data.prepared import (
    HELD_OUT_SPLITS,
    META_FILE,
    SPLITS,
    dataset_meta,
    heldout_file,
    line_numbers_file,
    token_dtype,
    token_file,
    write_meta,
)
from data.replacement import prepared_meta, remove_dropped_languages, replacement_text


class ChunkResult(NamedTuple):
    """What a worker hands back for one chunk, for the writer to append."""

    ids: dict[tuple[str, str], np.ndarray]  # {(lang, split): token ids, EOT after each line}
    stats: dict[tuple[str, str], dict[str, int]]  # {(lang, split): lines, tokens, words, bytes}
    text: dict[tuple[str, str], str]  # {(lang, held-out split): its lines}
    line_numbers: dict[str, np.ndarray]  # {held-out split: raw line numbers of its lines}
    dropped: collections.Counter  # pairs dropped, by reason
    invalid_utf8: dict[str, int]  # {lang: invalid UTF-8 sequences replaced}


class Totals(NamedTuple):
    """What the chunks of a dataset add up to."""

    stats: dict[str, dict[str, dict[str, int]]]  # {lang: {split: {lines, tokens, words, bytes}}}
    dropped: collections.Counter
    invalid_utf8: collections.Counter


def _process_chunk(job: ChunkJob) -> ChunkResult:
    """Worker task: clean one chunk and tokenize it. Returns everything the writer appends."""
    cleaning = WORKER["config"]
    tok = WORKER["tokenizer"]
    chunk = clean_chunk(job, cleaning)
    dtype = token_dtype(tok.n_vocab)
    result = ChunkResult({}, {}, {}, {}, chunk.dropped, chunk.invalid_utf8)
    for s, split in enumerate(SPLITS):
        in_split = chunk.splits == s
        if split in HELD_OUT_SPLITS:
            result.line_numbers[split] = chunk.line_numbers[in_split]
        in_split = in_split.tolist()
        for lang in cleaning.languages:
            lines = list(itertools.compress(chunk.lines[lang], in_split))
            ids = tok.encode_lines_with_eot(lines).astype(dtype)
            joined = "\n".join(lines)
            result.ids[lang, split] = ids
            result.stats[lang, split] = {
                "lines": len(lines),
                "tokens": len(ids),
                "words": len(joined.split()),
                "bytes": len(joined.encode("utf-8")) - max(len(lines) - 1, 0),
            }
            if split in HELD_OUT_SPLITS:
                result.text[lang, split] = joined + "\n" if lines else ""
    return result


WORKER = {}  # per-process state of the pool workers: the tokenizer and the config of process_pool()


def _init_worker(tok, config):
    WORKER["tokenizer"] = tok
    WORKER["config"] = config


@contextlib.contextmanager
def process_pool(num_proc: int, tok: Tokenizer, config: object) -> Iterator[multiprocessing.pool.Pool]:
    """A pool of `num_proc` workers holding `tok` and `config`. Forked where possible: workers start
    at once and scripts without a __main__ guard (bench.py) can use it."""
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    # a process forked after `tokenizers` trained in parallel prints a warning unless this is set;
    # the workers never use `tokenizers`
    previous = os.environ.get("TOKENIZERS_PARALLELISM")
    os.environ["TOKENIZERS_PARALLELISM"] = "false"
    try:
        pool = context.Pool(num_proc, initializer=_init_worker, initargs=(tok, config))
    finally:
        if previous is None:
            del os.environ["TOKENIZERS_PARALLELISM"]
        else:
            os.environ["TOKENIZERS_PARALLELISM"] = previous
    with pool:
        yield pool


def _ordered_results(
    jobs: list[ChunkJob], num_proc: int, tok: Tokenizer, cleaning: Cleaning, max_in_flight: int | None = None
) -> Iterator[ChunkResult]:
    """_process_chunk(job) for each job, in order, with at most `max_in_flight` chunks alive at once
    (Pool.imap would read ahead without limit)."""
    if num_proc <= 1:
        _init_worker(tok, cleaning)
        yield from map(_process_chunk, jobs)
        return
    max_in_flight = max_in_flight or 2 * num_proc
    with process_pool(num_proc, tok, cleaning) as pool:
        pending = collections.deque()
        for job in jobs:
            pending.append(pool.apply_async(_process_chunk, (job,)))
            if len(pending) >= max_in_flight:
                yield pending.popleft().get()
        while pending:
            yield pending.popleft().get()


# -----------------------------------------------------------------------------
# prepare: scan, then clean + tokenize in the pool and append to temporary files in order, then
# meta.json


def _relative_to(path: str, root: str) -> str:
    path, root = os.path.abspath(path), os.path.abspath(root)
    return os.path.relpath(path, root) if os.path.commonpath([path, root]) == root else path


def _usable_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def prepare_parallel_corpus(
    dataset_dir: str,
    raw_files: dict[str, str],
    tokenizer: Tokenizer,
    data_root: str = "data",
    split_fractions: Sequence[float] = DEFAULT_SPLIT_FRACTIONS,
    split_seed: int = DEFAULT_SPLIT_SEED,
    num_proc: int | None = None,
    extra_meta: dict | None = None,
    chunk_lines: int = DEFAULT_CHUNK_LINES,
    verbose: bool = True,
) -> dict:
    """Write the prepared-data layout for the line-aligned `raw_files` ({"en": path, "fr": path})
    into `dataset_dir`, tokenized with `tokenizer`, and return meta.json as a dict."""
    split_fractions = check_split_fractions(split_fractions)
    languages = list(raw_files)
    for lang, path in raw_files.items():
        if not os.path.isfile(path):
            raise UserError(f"raw {lang} file not found: {path}")
    num_proc = max(1, num_proc or _usable_cores())

    # pass 1: line counts (must agree), sha256 and where each chunk starts in each file
    previous = prepared_meta(dataset_dir)
    scans = aligned_scans(raw_files, chunk_lines, verbose)
    if previous and verbose:
        sha256s = {lang: scan.sha256 for lang, scan in scans.items()}
        print(replacement_text(dataset_dir, previous, sha256s, tokenizer))
    jobs = chunk_jobs(scans, chunk_lines)
    cleaning = Cleaning(
        {lang: os.path.abspath(p) for lang, p in raw_files.items()}, split_fractions, split_seed
    )

    # pass 2: clean + tokenize in the pool, append to .tmp files in order; meta.json last: its
    # presence means a complete dataset
    os.makedirs(dataset_dir, exist_ok=True)
    outputs = _output_names(languages)
    targets = {name: os.path.join(dataset_dir, name) for name in outputs + [META_FILE]}
    total_bytes = sum(os.path.getsize(p) for p in raw_files.values())
    results = _ordered_results(jobs, num_proc, tokenizer, cleaning)
    started = time.time()
    try:  # temporary files of this writer only, removed whatever happens (a full disk, Ctrl-C)
        with written_together(targets, dataset_dir) as tmp:
            progress = _progress_bar(dataset_dir, total_bytes, num_proc, verbose)
            totals = _write_chunks(tmp, outputs, languages, jobs, results, progress)
            seconds = time.time() - started
            meta = _corpus_meta(dataset_dir, raw_files, cleaning, tokenizer, scans, totals, data_root)
            meta.update(extra_meta or {})
            write_meta(tmp[META_FILE], meta)
    finally:
        results.close()  # stops the pool if we got here by an error

    if previous:
        remove_dropped_languages(dataset_dir, previous, languages, verbose)
    if verbose:
        _print_summary(dataset_dir, meta, total_bytes, seconds)
    if meta["empty_splits"]:
        print(empty_splits_warning(dataset_dir, meta))
    return meta


def _output_names(languages: list[str]) -> list[str]:
    """The files of a prepared dataset besides meta.json, in the order they are opened."""
    outputs = [token_file(lang, split) for lang in languages for split in SPLITS]
    outputs += [heldout_file(lang, split) for lang in languages for split in HELD_OUT_SPLITS]
    outputs += [line_numbers_file(split) for split in HELD_OUT_SPLITS]
    return outputs


def _progress_bar(dataset_dir: str, total_bytes: int, num_proc: int, verbose: bool) -> tqdm:
    return tqdm(
        total=total_bytes,
        unit="B",
        unit_scale=True,
        disable=None if verbose else True,
        desc=f"tokenizing {os.path.basename(os.path.normpath(dataset_dir))} ({num_proc} processes)",
    )


def _write_chunks(
    tmp: dict[str, str],
    outputs: list[str],
    languages: list[str],
    jobs: list[ChunkJob],
    results: Iterable[ChunkResult],
    progress: tqdm,
) -> Totals:
    """Append each chunk's result to the temporary files `tmp` of `outputs`, in order, and add up
    its counts. The files are closed on return, before they replace the old ones."""
    stats = {
        lang: {split: {"lines": 0, "tokens": 0, "words": 0, "bytes": 0} for split in SPLITS}
        for lang in languages
    }
    totals = Totals(stats, collections.Counter(), collections.Counter())
    with contextlib.ExitStack() as open_files:
        files = {}
        for name in outputs:
            files[name] = open(tmp[name], "wb")
            open_files.callback(files[name].close)
        for job, result in zip(jobs, results):
            _append_chunk(files, result, totals)
            progress.update(sum(end - start for start, end in job.offsets.values()))
        progress.close()
    return totals


def _append_chunk(files: dict[str, BinaryIO], result: ChunkResult, totals: Totals) -> None:
    for (lang, split), ids in result.ids.items():
        ids.tofile(files[token_file(lang, split)])
        for key, value in result.stats[lang, split].items():
            totals.stats[lang][split][key] += value
    for (lang, split), text in result.text.items():
        files[heldout_file(lang, split)].write(text.encode("utf-8"))
    for split, numbers in result.line_numbers.items():
        files[line_numbers_file(split)].write("".join(f"{n}\n" for n in numbers.tolist()).encode())
    totals.dropped.update(result.dropped)
    totals.invalid_utf8.update(result.invalid_utf8)


def _corpus_meta(
    dataset_dir: str,
    raw_files: dict[str, str],
    cleaning: Cleaning,
    tokenizer: Tokenizer,
    scans: dict[str, RawScan],
    totals: Totals,
    data_root: str,
) -> dict:
    """meta.json but the caller's extra keys: what dataset_meta says, then the sources, what was
    dropped or repaired, and the split rule. Refuses a dataset that kept no line pair."""
    languages = list(raw_files)
    n_lines = scans[languages[0]].lines
    dropped, invalid = totals.dropped, totals.invalid_utf8
    if sum(totals.stats[languages[0]][split]["lines"] for split in SPLITS) == 0:
        raise UserError(
            f"no line pairs left in {', '.join(raw_files.values())} "
            f"({n_lines:,} lines, {sum(dropped.values()):,} dropped as empty or markup)"
        )
    meta = dataset_meta(
        os.path.basename(os.path.normpath(dataset_dir)),
        tokenizer.identity(),
        tokenizer.n_vocab,
        tokenizer.eot_token,
        languages,
        totals.stats,
    )
    meta["sources"] = {
        lang: {"path": _relative_to(path, data_root), "sha256": scans[lang].sha256, "lines": n_lines}
        for lang, path in raw_files.items()
    }
    meta["raw_lines"] = n_lines
    meta["dropped_pairs"] = sum(dropped.values())
    meta["dropped_pairs_by_reason"] = {"empty": dropped["empty"], "markup": dropped["markup"]}
    meta["invalid_utf8_replaced"] = sum(invalid.values())
    meta["invalid_utf8_replaced_by_language"] = {lang: invalid[lang] for lang in languages}
    meta["split_fractions"] = cleaning.split_fractions
    meta["split_seed"] = cleaning.split_seed
    meta["empty_splits"] = _empty_splits(cleaning.split_fractions, totals.stats[languages[0]])
    return meta


def _empty_splits(split_fractions: Sequence[float], stats: dict[str, dict[str, int]]) -> list[str]:
    """The held-out splits left without a line although their fraction is not 0 (`stats`: one
    language's counts by split)."""
    return [
        split
        for split, fraction in zip(SPLITS, split_fractions)
        if split in HELD_OUT_SPLITS and fraction > 0 and stats[split]["lines"] == 0
    ]


def empty_splits_warning(dataset_dir: str, meta: dict) -> str:
    """The warning for a dataset whose val or test split kept no line (too few lines for its
    split fraction): no validation loss, nothing for the evaluations to score."""
    fractions = dict(zip(SPLITS, meta["split_fractions"]))
    kept = sum(meta["splits"][meta["languages"][0]][split]["lines"] for split in SPLITS)
    by_fraction = {}
    for split in meta["empty_splits"]:
        by_fraction.setdefault(fractions[split], []).append(split)
    return (
        f"warning: {dataset_dir} has no line in its {' and '.join(meta['empty_splits'])} split"
        f"{'s' if len(meta['empty_splits']) > 1 else ''}: "
        + "; ".join(
            f"{' and '.join(splits)} {'each take' if len(splits) > 1 else 'takes'} {fraction:.1%} of the "
            f"lines, so about {round(1 / fraction):,} lines give {'each' if len(splits) > 1 else 'it'} "
            f"one line and {round(10 / fraction):,} about ten"
            for fraction, splits in by_fraction.items()
        )
        + f"; this data kept {kept:,}. Training on it measures no validation loss (on this dataset), and "
        f"the evaluations have no test lines of it to score. Prepare more lines (data/hf/prepare.py: a "
        f"larger --max_rows, or 0 for every row) unless this is only a trial."
    )


def _print_summary(dataset_dir: str, meta: dict, total_bytes: int, seconds: float) -> None:
    print(
        f"wrote {dataset_dir}: {meta['raw_lines']:,} raw line pairs, {meta['dropped_pairs']:,} dropped "
        f"({meta['dropped_pairs_by_reason']['empty']:,} with an empty side, "
        f"{meta['dropped_pairs_by_reason']['markup']:,} markup only), "
        f"{meta['invalid_utf8_replaced']:,} invalid UTF-8 sequences replaced"
    )
    for lang in meta["languages"]:
        counts = ", ".join(
            f"{split} {s['lines']:,} lines / {s['tokens']:,} tokens"
            for split, s in meta["splits"][lang].items()
        )
        print(f"  {lang}: {counts}")
    print(
        f"  {total_bytes / 1e6:,.1f} MB of raw text in {seconds:.1f} s ({total_bytes / 1e6 / max(seconds, 1e-9):.1f} MB/s), "
        f"dtype {meta['dtype']}, tokenizer {meta['tokenizer']['name']} (vocab {meta['vocab_size']:,})"
    )
