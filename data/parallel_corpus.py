"""
Line-aligned parallel text (line i of every language file is a translation of line i of the
others, as Europarl and MultiUN are distributed) -> the prepared-data layout train.py reads
(data/prepared.py: {lang}_{split}.bin token ids, {lang}_{val,test}.txt held-out lines,
{split}_line_numbers.txt, meta.json).

Lines are stripped of surrounding whitespace; a pair is dropped when a side is empty or only
markup (Europarl's <CHAPTER ID=1>, <SPEAKER ID=..>, <P>); invalid UTF-8 becomes U+FFFD (counted);
characters other readers would take for line breaks (\\r, \\u2028...) become spaces. Which split a
raw line goes to depends only on its line number and the split seed (split_of_line). Files are
read in chunks of lines by a pool of processes, so memory stays bounded whatever the input size,
and the outputs replace the old ones only once they are complete.

data/demo/prepare.py calls prepare_parallel_corpus() on its generated text; data/europarl/prepare.py
and data/multiun/prepare.py are thin wrappers around prepare_dataset() at the bottom, which
prepares a corpus of data/corpora.py with the tokenizer Europarl and MultiUN share.
"""

import collections
import contextlib
import difflib
import hashlib
import itertools
import json
import multiprocessing
import os
import re
import time

import numpy as np
from tqdm import tqdm

from common import tokenizer as tokenizer_lib
from common.atomic_files import written_together
from common.errors import UserError
from configurator import at_least, configure
from data.bpe import DEFAULT_VOCAB_SIZE, train_bpe_tokenizer
from data.corpora import SHARED_TOKENIZER_CORPORA, default_tokenizer_name, download_command, raw_files_of
from data.preparation_lock import preparing
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

DEFAULT_SPLIT_FRACTIONS = (0.98, 0.01, 0.01)
DEFAULT_SPLIT_SEED = 1337
DEFAULT_CHUNK_LINES = 20_000  # lines per task of the process pool: a few MB of text

MARKUP_ONLY = re.compile(r"(?:<[^<>]*>\s*)+")  # fullmatch on a stripped line: <P>, <SPEAKER ID=1 NAME="...">
# every character str.splitlines() or text-mode files split on, except '\n' itself
INLINE_LINE_BREAKS = "\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
INLINE_LINE_BREAK = re.compile(f"[{INLINE_LINE_BREAKS}]")


def check_split_fractions(split_fractions):
    fractions = [float(f) for f in split_fractions]
    if len(fractions) != len(SPLITS) or min(fractions) < 0 or abs(sum(fractions) - 1.0) > 1e-9:
        raise UserError(
            f"split_fractions={tuple(split_fractions)}: need 3 non-negative fractions "
            f"(train, val, test) summing to 1, e.g. {DEFAULT_SPLIT_FRACTIONS}"
        )
    return fractions


def split_of_lines(line_numbers, split_fractions=DEFAULT_SPLIT_FRACTIONS, split_seed=DEFAULT_SPLIT_SEED):
    """Index into SPLITS of each 0-based raw line number: a splitmix64 hash of (seed, line number)
    mapped to [0, 1) and compared with the cumulative fractions. Depends on nothing else, so the
    same raw line lands in the same split for every language, every run and every chunking."""
    fractions = check_split_fractions(split_fractions)
    mask = (1 << 64) - 1
    golden = 0x9E3779B97F4A7C15
    offset = np.uint64(((int(split_seed) + 1) * golden) & mask)
    z = np.asarray(line_numbers, dtype=np.uint64) * np.uint64(golden) + offset  # wraps around mod 2**64
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    uniform = (z >> np.uint64(11)).astype(np.float64) / float(1 << 53)
    bounds = np.cumsum(fractions)
    bounds[-1] = 1.0
    return np.minimum(np.searchsorted(bounds, uniform, side="right"), len(SPLITS) - 1).astype(np.int8)


def split_of_line(line_number, split_fractions=DEFAULT_SPLIT_FRACTIONS, split_seed=DEFAULT_SPLIT_SEED):
    """'train', 'val' or 'test': where the raw line `line_number` (0-based) goes."""
    return SPLITS[int(split_of_lines([line_number], split_fractions, split_seed)[0])]


# -----------------------------------------------------------------------------
# reading: one pass for line counts, sha256 and chunk offsets; then chunks read by the workers


def scan_file(path, chunk_lines=DEFAULT_CHUNK_LINES, block_bytes=1 << 24):
    """(line count, sha256, byte offset where each chunk of `chunk_lines` lines starts), streaming.
    Lines end with b'\\n'; a last line without one still counts. A file whose lines end with
    b'\\r' alone (classic Mac OS) is refused: it would read as one line."""
    digest = hashlib.sha256()
    starts, newlines, returns, position, last_byte = [0], 0, 0, 0, b"\n"
    with open(path, "rb") as f:
        while block := f.read(block_bytes):
            digest.update(block)
            codes = np.frombuffer(block, dtype=np.uint8)
            returns += int(np.count_nonzero(codes == 13))
            ends = np.flatnonzero(codes == 10)
            # the line after newline number g (global, 0-based) starts a chunk when (g + 1) % chunk_lines == 0
            first = (-(newlines + 1)) % chunk_lines
            starts.extend((position + ends[first::chunk_lines] + 1).tolist())
            newlines += len(ends)
            position += len(block)
            last_byte = block[-1:]
    if returns > 2 * newlines + 1:
        raise UserError(
            f"{path} has {returns:,} carriage returns (\\r) but {newlines:,} line feeds "
            f"(\\n): its lines end with \\r alone and would read as one line. Convert "
            f"it first, e.g. with: tr '\\r' '\\n' < {path} > {path}.lf && mv {path}.lf {path}"
        )
    lines = newlines + (last_byte != b"\n")
    starts = [s for s in starts if s < position] if lines else []
    return lines, digest.hexdigest(), starts + [position]


def _read_chunk(path, start, end, expected_lines):
    """The raw lines of bytes [start, end) of `path` as text, and how many invalid UTF-8
    sequences were replaced by U+FFFD."""
    with open(path, "rb") as f:
        f.seek(start)
        data = f.read(end - start)
    if data.endswith(b"\n"):
        data = data[:-1]
    try:
        text, replaced = data.decode("utf-8"), 0
    except UnicodeDecodeError:
        text = data.decode("utf-8", errors="replace")  # '\n' is never part of a bad sequence
        replaced = text.count("\ufffd") - data.count("\ufffd".encode("utf-8"))
    if any(c in text for c in INLINE_LINE_BREAKS):
        text = INLINE_LINE_BREAK.sub(" ", text)
    lines = text.split("\n")
    if len(lines) != expected_lines:
        raise RuntimeError(
            f"{path} changed while it was being prepared (bytes {start}-{end} now hold "
            f"{len(lines)} lines, not {expected_lines}); run the prepare script again"
        )
    return lines, replaced


def _is_markup(line):
    return line[:1] == "<" and line[-1:] == ">" and MARKUP_ONLY.fullmatch(line) is not None


def _clean_chunk(job, config):
    """Read chunk `job` of every language, strip, drop pairs, assign splits.
    Returns (kept lines per lang, their raw line numbers, their split ids, counters)."""
    first_line, n_lines, offsets = job
    langs = config["languages"]
    texts, invalid = {}, {}
    for lang in langs:
        start, end = offsets[lang]
        lines, invalid[lang] = _read_chunk(config["raw_files"][lang], start, end, n_lines)
        if first_line == 0 and lines:
            lines[0] = lines[0].lstrip("\ufeff")  # a byte order mark is not text
        texts[lang] = [line.strip() for line in lines]
    # a pair goes when any side is empty, or else when any side is only markup
    empty, markup = set(), set()
    for lang in langs:
        empty.update(i for i, line in enumerate(texts[lang]) if not line)
        markup.update(i for i, line in enumerate(texts[lang]) if _is_markup(line))
    markup -= empty
    dropped = collections.Counter({"empty": len(empty), "markup": len(markup)})
    if empty or markup:
        keep = [i not in empty and i not in markup for i in range(n_lines)]
        texts = {lang: list(itertools.compress(texts[lang], keep)) for lang in langs}
        line_numbers = first_line + np.flatnonzero(keep)
    else:
        line_numbers = first_line + np.arange(n_lines)
    splits = split_of_lines(line_numbers, config["split_fractions"], config["split_seed"])
    return texts, line_numbers, splits, {"dropped": dropped, "invalid_utf8": invalid}


def _process_chunk(job):
    """Worker task: clean one chunk and tokenize it. Returns everything the writer appends."""
    config = _WORKER["config"]
    tok = _WORKER["tokenizer"]
    kept, line_numbers, splits, counters = _clean_chunk(job, config)
    dtype = token_dtype(tok.n_vocab)
    result = {"ids": {}, "stats": {}, "text": {}, "line_numbers": {}, "counters": counters}
    for s, split in enumerate(SPLITS):
        in_split = splits == s
        if split in HELD_OUT_SPLITS:
            result["line_numbers"][split] = line_numbers[in_split]
        in_split = in_split.tolist()
        for lang in config["languages"]:
            lines = list(itertools.compress(kept[lang], in_split))
            ids = tok.encode_lines_with_eot(lines).astype(dtype)
            joined = "\n".join(lines)
            result["ids"][lang, split] = ids
            result["stats"][lang, split] = {
                "lines": len(lines),
                "tokens": len(ids),
                "words": len(joined.split()),
                "bytes": len(joined.encode("utf-8")) - max(len(lines) - 1, 0),
            }
            if split in HELD_OUT_SPLITS:
                result["text"][lang, split] = joined + "\n" if lines else ""
    return result


_WORKER = {}  # per-process state of the pool workers


def _init_worker(tok, config):
    _WORKER["tokenizer"] = tok
    _WORKER["config"] = config


@contextlib.contextmanager
def _process_pool(num_proc, tok, config):
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


def _ordered_results(jobs, num_proc, tok, config, max_in_flight=None):
    """_process_chunk(job) for each job, in order, with at most `max_in_flight` chunks alive at once
    (Pool.imap would read ahead without limit)."""
    if num_proc <= 1:
        _init_worker(tok, config)
        yield from map(_process_chunk, jobs)
        return
    max_in_flight = max_in_flight or 2 * num_proc
    with _process_pool(num_proc, tok, config) as pool:
        pending = collections.deque()
        for job in jobs:
            pending.append(pool.apply_async(_process_chunk, (job,)))
            if len(pending) >= max_in_flight:
                yield pending.popleft().get()
        while pending:
            yield pending.popleft().get()


# -----------------------------------------------------------------------------


def _relative_to(path, root):
    path, root = os.path.abspath(path), os.path.abspath(root)
    return os.path.relpath(path, root) if os.path.commonpath([path, root]) == root else path


def aligned_scans(raw_files, chunk_lines=DEFAULT_CHUNK_LINES, verbose=False):
    """{lang: scan_file(path)} of line-aligned raw files, or an error naming each file's line count."""
    scans = {}
    for lang, path in raw_files.items():
        if verbose:
            print(f"scanning {path} ({os.path.getsize(path) / 1e6:,.1f} MB)")
        scans[lang] = scan_file(path, chunk_lines)
    counts = {lang: scan[0] for lang, scan in scans.items()}
    if len(set(counts.values())) > 1:
        raise UserError(
            "the raw files are not line-aligned: "
            + ", ".join(f"{raw_files[lang]} has {n:,} lines" for lang, n in counts.items())
            + ". Each line must be the translation of the same line in the other file; "
            "re-download them (bash data/get_data.sh) or fix the files."
        )
    return scans


def prepare_parallel_corpus(
    dataset_dir,
    raw_files,
    tokenizer,
    data_root="data",
    split_fractions=DEFAULT_SPLIT_FRACTIONS,
    split_seed=DEFAULT_SPLIT_SEED,
    num_proc=None,
    extra_meta=None,
    chunk_lines=DEFAULT_CHUNK_LINES,
    verbose=True,
):
    """Write the prepared-data layout for the line-aligned `raw_files` ({"en": path, "fr": path})
    into `dataset_dir`, tokenized with `tokenizer`, and return meta.json as a dict."""
    split_fractions = check_split_fractions(split_fractions)
    languages = list(raw_files)
    for lang, path in raw_files.items():
        if not os.path.isfile(path):
            raise UserError(f"raw {lang} file not found: {path}")
    num_proc = max(
        1, num_proc or (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count())
    )

    # pass 1: line counts (must agree), sha256 and where each chunk starts in each file
    previous = prepared_meta(dataset_dir)
    scans = aligned_scans(raw_files, chunk_lines, verbose)
    n_lines = scans[languages[0]][0]
    if previous and verbose:
        print(
            replacement_text(
                dataset_dir, previous, {lang: scan[1] for lang, scan in scans.items()}, tokenizer
            )
        )
    jobs = [
        (
            c * chunk_lines,
            min(chunk_lines, n_lines - c * chunk_lines),
            {lang: (scans[lang][2][c], scans[lang][2][c + 1]) for lang in languages},
        )
        for c in range(len(scans[languages[0]][2]) - 1)
    ]
    config = {
        "languages": languages,
        "raw_files": {lang: os.path.abspath(p) for lang, p in raw_files.items()},
        "split_fractions": split_fractions,
        "split_seed": split_seed,
    }

    # pass 2: clean + tokenize in the pool, append to .tmp files in order
    os.makedirs(dataset_dir, exist_ok=True)
    outputs = [token_file(lang, split) for lang in languages for split in SPLITS]
    outputs += [heldout_file(lang, split) for lang in languages for split in HELD_OUT_SPLITS]
    outputs += [line_numbers_file(split) for split in HELD_OUT_SPLITS]
    stats = {
        lang: {split: {"lines": 0, "tokens": 0, "words": 0, "bytes": 0} for split in SPLITS}
        for lang in languages
    }
    dropped, invalid = collections.Counter(), collections.Counter()
    total_bytes = sum(os.path.getsize(p) for p in raw_files.values())
    results = _ordered_results(jobs, num_proc, tokenizer, config)
    started = time.time()
    # meta.json last: its presence means a complete dataset; temporary files of this writer only,
    # removed whatever happens (a full disk, Ctrl-C)
    targets = {name: os.path.join(dataset_dir, name) for name in outputs + [META_FILE]}
    try:
        with written_together(targets, dataset_dir) as tmp, contextlib.ExitStack() as open_files:
            files = {}
            for name in outputs:
                files[name] = open(tmp[name], "wb")
                open_files.callback(files[name].close)
            progress = tqdm(
                total=total_bytes,
                unit="B",
                unit_scale=True,
                disable=None if verbose else True,
                desc=f"tokenizing {os.path.basename(os.path.normpath(dataset_dir))} ({num_proc} processes)",
            )
            for job, result in zip(jobs, results):
                for (lang, split), ids in result["ids"].items():
                    ids.tofile(files[token_file(lang, split)])
                    for key, value in result["stats"][lang, split].items():
                        stats[lang][split][key] += value
                for (lang, split), text in result["text"].items():
                    files[heldout_file(lang, split)].write(text.encode("utf-8"))
                for split, numbers in result["line_numbers"].items():
                    files[line_numbers_file(split)].write(
                        "".join(f"{n}\n" for n in numbers.tolist()).encode()
                    )
                dropped.update(result["counters"]["dropped"])
                invalid.update(result["counters"]["invalid_utf8"])
                progress.update(sum(end - start for start, end in job[2].values()))
            progress.close()
            open_files.close()  # before the files replace the old ones
            seconds = time.time() - started

            kept = sum(stats[languages[0]][split]["lines"] for split in SPLITS)
            if kept == 0:
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
                stats,
            )
            meta.update(
                {
                    "sources": {
                        lang: {
                            "path": _relative_to(path, data_root),
                            "sha256": scans[lang][1],
                            "lines": n_lines,
                        }
                        for lang, path in raw_files.items()
                    },
                    "raw_lines": n_lines,
                    "dropped_pairs": sum(dropped.values()),
                    "dropped_pairs_by_reason": {"empty": dropped["empty"], "markup": dropped["markup"]},
                    "invalid_utf8_replaced": sum(invalid.values()),
                    "invalid_utf8_replaced_by_language": {lang: invalid[lang] for lang in languages},
                    "split_fractions": split_fractions,
                    "split_seed": split_seed,
                    # held-out splits left without a line although their fraction is not 0
                    "empty_splits": [
                        split
                        for split, fraction in zip(SPLITS, split_fractions)
                        if split in HELD_OUT_SPLITS
                        and fraction > 0
                        and stats[languages[0]][split]["lines"] == 0
                    ],
                }
            )
            meta.update(extra_meta or {})
            write_meta(tmp[META_FILE], meta)
    finally:
        results.close()  # stops the pool if we got here by an error

    if previous:
        _remove_dropped_languages(dataset_dir, previous, languages, verbose)
    if verbose:
        _print_summary(dataset_dir, meta, total_bytes, seconds)
    if meta["empty_splits"]:
        print(empty_splits_warning(dataset_dir, meta))
    return meta


def replacement_text(dataset_dir, previous, sha256s, tokenizer):
    """What preparing dataset_dir again replaces: the same raw text (by sha256) or other text,
    tokenized the same way or not."""
    old_sources = {
        lang: (source or {}).get("sha256") for lang, source in (previous.get("sources") or {}).items()
    }
    same_text = old_sources == sha256s
    old_tokenizer = previous.get("tokenizer") or {}
    same_tokenizer = old_tokenizer.get("sha256") == tokenizer.sha256
    differing = [
        lang for lang in dict.fromkeys([*old_sources, *sha256s]) if old_sources.get(lang) != sha256s.get(lang)
    ]
    old_languages = [str(lang) for lang in previous["languages"]]
    text = (
        "the same raw text (the sources' sha256 are those recorded)"
        if same_text
        else f"other raw text (of {', '.join(sha256s)}, not {', '.join(old_languages)})"
        if sorted(old_languages) != sorted(sha256s)
        else f"other raw text (by sha256: {', '.join(differing)} differ)"
        if old_sources
        else "raw text that cannot be compared with it (its meta.json records no sources)"
    )
    return (
        f"{dataset_dir} holds a dataset of {', '.join(old_languages)} (tokenizer "
        f"'{old_tokenizer.get('name')}'): once complete it is replaced by {text}, tokenized with "
        f"{'the same tokenizer' if same_tokenizer else repr(tokenizer.name)}"
    )


def _remove_dropped_languages(dataset_dir, previous, languages, verbose):
    """The files of the languages the replaced dataset had and this one lacks: left, they would
    pass for part of the new dataset."""
    for lang in (str(lang) for lang in previous["languages"] if lang not in languages):
        names = [token_file(lang, split) for split in SPLITS] + [
            heldout_file(lang, split) for split in HELD_OUT_SPLITS
        ]
        removed = [name for name in names if os.path.isfile(os.path.join(dataset_dir, name))]
        for name in removed:
            os.remove(os.path.join(dataset_dir, name))
        if removed and verbose:
            print(
                f"removed {', '.join(removed)} from {dataset_dir}: the dataset it replaced had {lang}, this one has not"
            )


def empty_splits_warning(dataset_dir, meta):
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


def _print_summary(dataset_dir, meta, total_bytes, seconds):
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


def iter_clean_chunks(
    raw_files,
    split_fractions=DEFAULT_SPLIT_FRACTIONS,
    split_seed=DEFAULT_SPLIT_SEED,
    chunk_lines=DEFAULT_CHUNK_LINES,
):
    """What prepare_parallel_corpus keeps of line-aligned `raw_files`, chunk by chunk, streaming:
    ({lang: kept lines}, their raw line numbers, their split ids). Files are assumed line-aligned."""
    config = {
        "languages": list(raw_files),
        "raw_files": raw_files,
        "split_fractions": split_fractions,
        "split_seed": split_seed,
    }
    offsets = {other: 0 for other in raw_files}
    handles = {other: open(path, "rb") for other, path in raw_files.items()}
    try:
        first_line = 0
        while True:
            blocks = {other: list(itertools.islice(f, chunk_lines)) for other, f in handles.items()}
            n_lines = min(len(b) for b in blocks.values())
            if n_lines == 0:
                return
            ends = {
                other: offsets[other] + sum(len(line) for line in blocks[other][:n_lines])
                for other in raw_files
            }
            job = (first_line, n_lines, {other: (offsets[other], ends[other]) for other in raw_files})
            kept, line_numbers, splits, _ = _clean_chunk(job, config)
            yield kept, line_numbers, splits
            offsets, first_line = ends, first_line + n_lines
    finally:
        for f in handles.values():
            f.close()


def iter_clean_lines(
    raw_files,
    lang,
    split="train",
    split_fractions=DEFAULT_SPLIT_FRACTIONS,
    split_seed=DEFAULT_SPLIT_SEED,
    chunk_lines=DEFAULT_CHUNK_LINES,
):
    """The lines of language `lang` that prepare_parallel_corpus puts in `split`, in raw order,
    streaming (used to train the tokenizer on training lines only). Files are assumed line-aligned."""
    wanted = SPLITS.index(split)
    for kept, _, splits in iter_clean_chunks(raw_files, split_fractions, split_seed, chunk_lines):
        yield from (line for line, s in zip(kept[lang], splits) if s == wanted)


# -----------------------------------------------------------------------------
# the shared tokenizer of the datasets prepared together, and prepare_dataset() for the corpora of
# data/corpora.py (data/europarl/prepare.py, data/multiun/prepare.py, data/hf/prepare.py)

HELDOUT_LINES_FOR_COMPRESSION = 2000


def _roundrobin(*iterables):
    iterators = [iter(it) for it in iterables]
    while iterators:
        for it in list(iterators):
            try:
                yield next(it)
            except StopIteration:
                iterators.remove(it)


def corpora_languages(corpora):
    """The languages of `corpora` ({dataset: {lang: raw path}}), in order of first appearance."""
    return list(dict.fromkeys(lang for files in corpora.values() for lang in files))


def train_tokenizer_on(name, vocab_size, corpora, data_root, max_bytes_per_language=64_000_000):
    """Train tokenizer `name` on the training lines of `corpora` ({dataset: {lang: raw path}}): every
    language any of them has, each language's lines interleaved across the corpora that have it,
    and the languages balanced by UTF-8 bytes (train_bpe_tokenizer: equal bytes per language, up to
    `max_bytes_per_language`). Compression is measured on their validation lines. Its .json
    records the corpora (`trained_on`) and the `languages`."""
    for files in corpora.values():
        aligned_scans(files)  # before the tokenizer is trained on them, not after
    languages = corpora_languages(corpora)

    def lines(lang, split):
        return _roundrobin(
            *(iter_clean_lines(files, lang, split) for files in corpora.values() if lang in files)
        )

    train = {lang: lines(lang, "train") for lang in languages}
    heldout = {
        lang: list(itertools.islice(lines(lang, "val"), HELDOUT_LINES_FOR_COMPRESSION)) for lang in languages
    }
    return train_bpe_tokenizer(
        train,
        vocab_size=vocab_size,
        name=name,
        data_root=data_root,
        max_bytes_per_language=max_bytes_per_language,
        heldout_by_lang=heldout,
        extra_info={"trained_on": list(corpora), "languages": languages},
    )


def train_shared_tokenizer(name, vocab_size, raw_dirs, data_root, max_bytes_per_language=64_000_000):
    """Train tokenizer `name` on the training lines of whichever of the corpora in `raw_dirs`
    ({dataset: raw dir}) are present, lines of the corpora interleaved; compression is measured on
    their validation lines."""
    present = {
        d: raw_files_of(d, raw_dir)
        for d, raw_dir in raw_dirs.items()
        if all(os.path.isfile(p) for p in raw_files_of(d, raw_dir).values())
    }
    missing = [d for d in raw_dirs if d not in present]
    if not present:
        raise UserError("no raw corpus to train the tokenizer on; run: bash data/get_data.sh europarl")
    if missing:
        print(
            f"tokenizer '{name}': raw {' and '.join(missing)} not found, training on {' and '.join(present)} only "
            f"(datasets prepared later reuse this tokenizer; to retrain it on all corpora, delete "
            f"{os.path.join(data_root, tokenizer_lib.TOKENIZERS_DIR, name)}.* and prepare them again)"
        )
    else:
        print(f"tokenizer '{name}': training on {' and '.join(present)}")
    return train_tokenizer_on(name, vocab_size, present, data_root, max_bytes_per_language)


def tokenizer_info(name, data_root):
    """The .json of trained tokenizer `name`, with `languages` filled in for tokenizers saved before
    it was recorded (the languages of their training sample)."""
    with open(tokenizer_lib.tokenizer_paths(name, data_root)[1]) as f:
        info = json.load(f)
    info.setdefault("languages", list(info.get("training_sample", {})))
    return info


def trained_tokenizers(data_root):
    """The names of the tokenizers trained under <data_root>/tokenizers/, sorted."""
    try:
        files = os.listdir(os.path.join(data_root, tokenizer_lib.TOKENIZERS_DIR))
    except OSError:
        return []
    return sorted(name[: -len(".tiktoken")] for name in files if name.endswith(".tiktoken"))


def check_tokenizer(
    tokenizer,
    default_name,
    languages_of,
    data_root="data",
    allow_new_languages=False,
    retrain_hint=None,
    train_tokenizer=False,
):
    """--tokenizer checked before any work, by the rule every prepare script follows. Returns the
    name of the tokenizer to load, or None when `default_name` / a new name is to be trained.

    '' is the data's default tokenizer (`default_name`), trained when missing. A name given that
    no tokenizer has is refused, naming the closest ones (a typo must not quietly train a new
    tokenizer under the misspelt name), unless `train_tokenizer` asks for exactly that. 'gpt2'
    and a tokenizer.json path are loaded once here, so that a bad one fails now. An existing
    tokenizer not trained on a language of the data (`languages_of`: {dataset: languages}) is
    refused with how to fix it (retrain_hint(its languages): the command that prepares all the
    datasets together), unless `allow_new_languages`."""
    if tokenizer_lib.is_tokenizer_json_path(tokenizer):
        tokenizer_lib.HFTokenizer(tokenizer_lib.hf_tokenizer_file(tokenizer))
        return tokenizer
    name = tokenizer or default_name
    if name == "gpt2":
        tokenizer_lib.load_tokenizer("gpt2", data_root)
        return name
    tiktoken_path, _ = tokenizer_lib.tokenizer_paths(name, data_root)
    if not os.path.exists(tiktoken_path):
        if name == default_name or train_tokenizer:
            return None
        existing = trained_tokenizers(data_root)
        close = difflib.get_close_matches(name, existing + ["gpt2"], n=3, cutoff=0.6)
        raise UserError(
            f"--tokenizer={name}: no tokenizer of that name ({tiktoken_path} does not exist)."
            + (f" Did you mean {' or '.join(close)}?" if close else "")
            + (
                f" The tokenizers in {os.path.dirname(tiktoken_path)}: {', '.join(existing)}."
                if existing
                else f" No tokenizer is trained under {data_root} yet."
            )
            + f"\nTo train a new tokenizer named {name} on this data, add --train_tokenizer=True; to use "
            f"the data's own ({default_name}, trained if missing), leave --tokenizer out."
        )
    json_path = tokenizer_lib.tokenizer_paths(name, data_root)[1]
    if not os.path.exists(json_path):  # training stopped between its two files
        raise UserError(
            f"tokenizer '{name}' is incomplete: {tiktoken_path} has no {os.path.basename(json_path)} "
            f"beside it. Delete {os.path.splitext(tiktoken_path)[0]}.* and run this again"
            f"{' with --train_tokenizer=True' if tokenizer else ''} to train it anew (and prepare again "
            f"the datasets that used it)."
        )
    tokenizer_lib.load_tokenizer(name, data_root)  # a file it cannot read is refused now
    known = tokenizer_info(name, data_root)["languages"]
    unseen = [
        lang
        for lang in dict.fromkeys(lang for langs in languages_of.values() for lang in langs)
        if lang not in known
    ]
    if unseen and known and not allow_new_languages:
        raise UserError(
            f"{unseen_languages_problem(name, known, unseen, languages_of)}\nEither prepare all the "
            f"datasets you will train together in one command, so that one tokenizer is trained on "
            f"all their languages{' (' + retrain_hint(known) + ')' if retrain_hint else ''}; or "
            f"train a new tokenizer on this data's languages (--tokenizer=NEW_NAME "
            f"--train_tokenizer=True); or pass --allow_new_languages=True to use '{name}' anyway."
        )
    return name


def unseen_languages_problem(name, known, unseen, languages_of):
    return (
        f"tokenizer '{name}' was trained on {', '.join(known)}, not on {', '.join(unseen)} "
        f"(a language of {', '.join(d for d, langs in languages_of.items() if set(unseen) & set(langs))}): "
        f"it would cut {', '.join(unseen)} text into many more, shorter tokens than the others, "
        f"and the languages would not be comparable."
    )


def load_or_train_tokenizer(
    tokenizer,
    default_name,
    corpora,
    train,
    data_root="data",
    allow_new_languages=False,
    retrain_hint=None,
    train_tokenizer=False,
):
    """The one tokenizer of the datasets `corpora` ({dataset: {lang: raw path}}) prepared together:
    `tokenizer` ('' for `default_name`; 'gpt2'; or a name under <data_root>/tokenizers/), loaded
    when it exists, else trained by train(name) where check_tokenizer allows it. Which it is, is
    said on screen."""
    languages_of = {dataset: list(files) for dataset, files in corpora.items()}
    name = tokenizer or default_name
    if name == "gpt2":
        return tokenizer_lib.load_tokenizer("gpt2", data_root)
    tiktoken_path, _ = tokenizer_lib.tokenizer_paths(name, data_root)
    with preparing(os.path.splitext(tiktoken_path)[0], f"tokenizer '{name}'"):  # not trained twice at once
        if (
            check_tokenizer(
                tokenizer,
                default_name,
                languages_of,
                data_root,
                allow_new_languages,
                retrain_hint,
                train_tokenizer,
            )
            is None
        ):
            print(f"tokenizer '{name}' does not exist yet: training it on {', '.join(corpora)}")
            return train(name)
    tok = tokenizer_lib.load_tokenizer(name, data_root, dataset=next(iter(corpora)))
    info = tokenizer_info(name, data_root)
    known, trained_on = info["languages"], info.get("trained_on", [])
    print(
        f"using tokenizer '{name}' ({tiktoken_path}, {tok.n_vocab:,} tokens, "
        f"trained on {' and '.join(trained_on) or 'other text'}"
        f"{': ' + ', '.join(known) if known else ''})"
        f"{' (it exists: --train_tokenizer=True trains none)' if train_tokenizer else ''}"
    )
    stem = os.path.splitext(tiktoken_path)[0]
    unseen = [lang for lang in corpora_languages(corpora) if lang not in known]
    if unseen and known:
        print(
            f"warning: {unseen_languages_problem(name, known, unseen, languages_of)} (--allow_new_languages=True)"
        )
    elif trained_on:
        for dataset in corpora:
            if dataset not in trained_on:
                print(
                    f"  note: it was trained without {dataset}; to retrain it on all the corpora, delete "
                    f"{stem}.* and prepare the datasets together again"
                )
    return tok


def prepared_meta(dataset_dir):
    """The meta.json of the dataset prepared in dataset_dir, or None (nothing there, or what a
    failed run left)."""
    try:
        with open(os.path.join(dataset_dir, META_FILE)) as f:
            meta = json.load(f)
    except (OSError, ValueError):
        return None
    return meta if isinstance(meta, dict) and isinstance(meta.get("languages"), list) else None


def check_replacement(dataset_dir, languages, overwrite=False, other_source=None):
    """Refuse to replace the dataset prepared in dataset_dir by one of other `languages`, or of
    another source (`other_source`: what the caller found different, or None), unless `overwrite`:
    it is someone's data, and nothing but the name says they are the same."""
    meta = prepared_meta(dataset_dir)
    if meta is None or overwrite:
        return
    old = [str(lang) for lang in meta["languages"]]
    problems = (
        [f"its languages are {', '.join(old)}, not {', '.join(languages)}"]
        if sorted(old) != sorted(languages)
        else []
    ) + ([other_source] if other_source else [])
    if problems:
        if meta.get("prepare_command"):
            problems.append(f"made by {meta['prepare_command']}")
        raise UserError(
            f"{dataset_dir} already holds a dataset prepared from another source or of other languages "
            f"({'; '.join(problems)}): this would replace it. Choose another name for this one, or "
            f"pass --overwrite=True to replace it."
        )


def check_some_pair_kept(raw_files):
    """Refuse raw files of which the pipeline would keep no line pair; reads only up to the
    first chunk that keeps one."""
    if not any(len(line_numbers) for _, line_numbers, _ in iter_clean_chunks(raw_files)):
        aligned_scans(raw_files)  # the reason may be lines that end with \r alone, or unequal files
        raise UserError(
            f"no line pairs to prepare in {', '.join(raw_files.values())}: every line has an empty "
            f"or markup-only side in some language (such pairs are dropped). Check the raw files."
        )


def prepare_datasets(
    corpora,
    tokenizer,
    default_tokenizer,
    train,
    data_root="data",
    num_proc=0,
    allow_new_languages=False,
    extra_meta=None,
    retrain_hint=None,
    train_tokenizer=False,
    overwrite=False,
):
    """Prepare each of `corpora` ({dataset: {lang: raw path}}) into <data_root>/<dataset>/, all with
    one tokenizer (load_or_train_tokenizer), or with a Hugging Face tokenizer.json when `tokenizer`
    is one (copied into each dataset folder, which meta.json names). `extra_meta` ({dataset: dict})
    is added to each meta.json. Each dataset's lock is held throughout (data/preparation_lock.py);
    a dataset of other languages is not replaced unless `overwrite`, and raw files that would keep
    no line pair are refused, first. Returns {dataset: meta}."""
    extra_meta = extra_meta or {}
    metas = {}
    with contextlib.ExitStack() as locks:
        for dataset in corpora:
            locks.enter_context(preparing(os.path.join(data_root, dataset)))
        for dataset, files in corpora.items():
            check_replacement(os.path.join(data_root, dataset), list(files), overwrite)
        for files in corpora.values():
            check_some_pair_kept(files)  # before a tokenizer is trained or a line tokenized
        if tokenizer_lib.is_tokenizer_json_path(tokenizer):
            for dataset, raw_files in corpora.items():
                dataset_dir = os.path.join(data_root, dataset)
                tok = tokenizer_lib.copy_hf_tokenizer(tokenizer, dataset_dir)
                print(f"using the Hugging Face tokenizer {tokenizer} ({tok.n_vocab:,} tokens)")
                metas[dataset] = prepare_parallel_corpus(
                    dataset_dir,
                    raw_files,
                    tok,
                    data_root=data_root,
                    num_proc=num_proc or None,
                    extra_meta=extra_meta.get(dataset),
                )
            return metas
        tok = load_or_train_tokenizer(
            tokenizer,
            default_tokenizer,
            corpora,
            train,
            data_root,
            allow_new_languages,
            retrain_hint,
            train_tokenizer,
        )
        for dataset, raw_files in corpora.items():
            metas[dataset] = prepare_parallel_corpus(
                os.path.join(data_root, dataset),
                raw_files,
                tok,
                data_root=data_root,
                num_proc=num_proc or None,
                extra_meta=extra_meta.get(dataset),
            )
    return metas


def missing_raw_message(script, dataset, raw_files, raw_dir, download):
    """What to say when the raw files of `dataset` are not all there, or None."""
    missing = [path for path in raw_files.values() if not os.path.isfile(path)]
    if not missing:
        return None
    return (
        f"{script}: raw {dataset} text not found ({', '.join(missing)}).\n"
        f"Download it with: {download}\n"
        f"(or place {' and '.join(os.path.basename(p) for p in raw_files.values())} in {raw_dir} yourself, "
        f"or point --raw_dir at them)"
    )


def prepare_dataset(
    dataset,
    num_proc=0,
    vocab_size=DEFAULT_VOCAB_SIZE,
    tokenizer="",
    data_root="data",
    raw_dir="",
    allow_new_languages=False,
    train_tokenizer=False,
    overwrite=False,
):
    """What data/<dataset>/prepare.py does for Europarl and MultiUN: find the raw files, load the
    tokenizer (training the shared one when it does not exist yet), prepare <data_root>/<dataset>/.
    tokenizer: '' for the shared europarl-multiun tokenizer of `vocab_size`, else a name under
    <data_root>/tokenizers/ (trained under that name when missing, with `train_tokenizer` only),
    'gpt2', or the path of a Hugging Face tokenizer.json (or of a folder holding one): a converted
    model's, so that the data can fine-tune it; it is copied into the dataset folder, which
    meta.json names."""
    raw_dirs = {d: os.path.join(data_root, d, "raw") for d in SHARED_TOKENIZER_CORPORA}
    if raw_dir:
        raw_dirs[dataset] = raw_dir
    raw_files = raw_files_of(dataset, raw_dirs[dataset])
    message = missing_raw_message(
        f"data/{dataset}/prepare.py",
        dataset,
        raw_files,
        raw_dirs[dataset],
        download_command(dataset, data_root),
    )
    if message:
        raise UserError(message)
    return prepare_datasets(
        {dataset: raw_files},
        tokenizer,
        default_tokenizer_name(vocab_size),
        lambda name: train_shared_tokenizer(name, vocab_size, raw_dirs, data_root),
        data_root,
        num_proc,
        allow_new_languages,
        train_tokenizer=train_tokenizer,
        overwrite=overwrite,
    )[dataset]


def script_options(argv, **options):
    """The keys every prepare script of data/corpora.py's corpora takes, then `options` (the
    script's own keys, with their defaults), set from argv and checked against their ranges."""
    options = dict(
        num_proc=0,  # worker processes; 0: one per CPU core
        vocab_size=DEFAULT_VOCAB_SIZE,  # tokens of the trained tokenizer, <|endoftext|> included
        tokenizer='',  # '': the shared tokenizer of the data's languages (trained if missing); else
        # a name under <data_root>/tokenizers/, 'gpt2', or a tokenizer.json (a
        # converted model's)
        train_tokenizer=False,  # True: train --tokenizer=NAME on this data when no tokenizer has that
        # name (without it, a name not found is refused as a likely typo)
        data_root='data',
        allow_new_languages=False,  # True: use an existing tokenizer on languages it was not trained on
        overwrite=False,  # True: replace a dataset of the same name prepared from another source or of
        # other languages (without it, that is refused)
        **options,
    )
    ranges = dict(num_proc=at_least(0), vocab_size=at_least(258))  # a byte-level BPE: 256 bytes, EOT, merges
    configure(options, argv, ranges)
    return options


def prepare_script(dataset, argv):
    """The command line of data/<dataset>/prepare.py for Europarl and MultiUN: its keys, checked
    against their ranges, then prepare_dataset()."""
    options = script_options(argv, raw_dir='')  # raw_dir '': <data_root>/<dataset>/raw
    return prepare_dataset(dataset, **options)
