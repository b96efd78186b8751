"""
Line-aligned raw text (line i of every language file is a translation of line i of the others)
read the way prepare reads it: a scan of each file (line count, sha256, where each chunk of lines
starts), chunks of lines cleaned and assigned to a split, and the kept lines streamed.

Lines are stripped of surrounding whitespace; a pair is dropped when a side is empty or only
markup (Europarl's <CHAPTER ID=1>, <SPEAKER ID=..>, <P>); invalid UTF-8 becomes U+FFFD (counted);
characters other readers would take for line breaks (\\r, \\u2028...) become spaces. Which split a
raw line goes to depends only on its line number and the split seed (split_of_line).
"""

from __future__ import annotations

import collections
import hashlib
import itertools
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from typing import NamedTuple

import numpy as np

from common.errors import UserError
from data.prepared import SPLITS

DEFAULT_SPLIT_FRACTIONS = (0.98, 0.01, 0.01)
DEFAULT_SPLIT_SEED = 1337
DEFAULT_CHUNK_LINES = 20_000  # lines per task of the process pool: a few MB of text

MARKUP_ONLY = re.compile(r"(?:<[^<>]*>\s*)+")  # fullmatch on a stripped line: <P>, <SPEAKER ID=1 NAME="...">
# every character str.splitlines() or text-mode files split on, except '\n' itself
INLINE_LINE_BREAKS = "\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
INLINE_LINE_BREAK = re.compile(f"[{INLINE_LINE_BREAKS}]")


def check_split_fractions(split_fractions: Sequence[float]) -> list[float]:
    fractions = [float(f) for f in split_fractions]
    if len(fractions) != len(SPLITS) or min(fractions) < 0 or abs(sum(fractions) - 1.0) > 1e-9:
        raise UserError(
            f"split_fractions={tuple(split_fractions)}: need 3 non-negative fractions "
            f"(train, val, test) summing to 1, e.g. {DEFAULT_SPLIT_FRACTIONS}"
        )
    return fractions


def split_of_lines(
    line_numbers: Iterable[int] | np.ndarray,
    split_fractions: Sequence[float] = DEFAULT_SPLIT_FRACTIONS,
    split_seed: int = DEFAULT_SPLIT_SEED,
) -> np.ndarray:
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


def split_of_line(
    line_number: int,
    split_fractions: Sequence[float] = DEFAULT_SPLIT_FRACTIONS,
    split_seed: int = DEFAULT_SPLIT_SEED,
) -> str:
    """'train', 'val' or 'test': where the raw line `line_number` (0-based) goes."""
    return SPLITS[int(split_of_lines([line_number], split_fractions, split_seed)[0])]


# -----------------------------------------------------------------------------
# one pass for line counts, sha256 and chunk offsets; then chunks read one at a time


class RawScan(NamedTuple):
    """What one streaming pass over a raw file learns (scan_file)."""

    lines: int
    sha256: str
    chunk_offsets: list[int]  # the byte where each chunk of lines starts, then the file's size


class ChunkJob(NamedTuple):
    """One chunk of line-aligned files: its first raw line, its line count, and its bytes
    [start, end) in each language's file."""

    first_line: int
    n_lines: int
    offsets: dict[str, tuple[int, int]]


class Cleaning(NamedTuple):
    """The files a chunk is read from and the rule that assigns its lines to splits."""

    raw_files: dict[str, str]  # {lang: path}
    split_fractions: Sequence[float]
    split_seed: int

    @property
    def languages(self) -> list[str]:
        return list(self.raw_files)


class CleanChunk(NamedTuple):
    """What a chunk keeps, and what it dropped or repaired."""

    lines: dict[str, list[str]]  # {lang: kept lines}
    line_numbers: np.ndarray  # the raw line number of each kept line
    splits: np.ndarray  # the index into SPLITS of each kept line
    dropped: collections.Counter  # pairs dropped, by reason: "empty", "markup"
    invalid_utf8: dict[str, int]  # {lang: invalid UTF-8 sequences replaced by U+FFFD}


def scan_file(path: str, chunk_lines: int = DEFAULT_CHUNK_LINES, block_bytes: int = 1 << 24) -> RawScan:
    """Line count, sha256 and where each chunk of `chunk_lines` lines starts, streaming.
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
    return RawScan(lines, digest.hexdigest(), starts + [position])


def aligned_scans(
    raw_files: dict[str, str], chunk_lines: int = DEFAULT_CHUNK_LINES, verbose: bool = False
) -> dict[str, RawScan]:
    """{lang: scan_file(path)} of line-aligned raw files, or an error naming each file's line count."""
    scans = {}
    for lang, path in raw_files.items():
        if verbose:
            print(f"scanning {path} ({os.path.getsize(path) / 1e6:,.1f} MB)")
        scans[lang] = scan_file(path, chunk_lines)
    counts = {lang: scan.lines for lang, scan in scans.items()}
    if len(set(counts.values())) > 1:
        raise UserError(
            "the raw files are not line-aligned: "
            + ", ".join(f"{raw_files[lang]} has {n:,} lines" for lang, n in counts.items())
            + ". Each line must be the translation of the same line in the other file; "
            "re-download them (bash data/get_data.sh) or fix the files."
        )
    return scans


def chunk_jobs(scans: dict[str, RawScan], chunk_lines: int) -> list[ChunkJob]:
    """The chunks of the scanned line-aligned files, in order."""
    languages = list(scans)
    n_lines = scans[languages[0]].lines
    return [
        ChunkJob(
            c * chunk_lines,
            min(chunk_lines, n_lines - c * chunk_lines),
            {lang: (scans[lang].chunk_offsets[c], scans[lang].chunk_offsets[c + 1]) for lang in languages},
        )
        for c in range(len(scans[languages[0]].chunk_offsets) - 1)
    ]


def _read_chunk(path: str, start: int, end: int, expected_lines: int) -> tuple[list[str], int]:
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


def _is_markup(line: str) -> bool:
    return line[:1] == "<" and line[-1:] == ">" and MARKUP_ONLY.fullmatch(line) is not None


def clean_chunk(job: ChunkJob, cleaning: Cleaning) -> CleanChunk:
    """Read chunk `job` of every language, strip, drop pairs, assign splits."""
    langs = cleaning.languages
    texts, invalid = {}, {}
    for lang in langs:
        start, end = job.offsets[lang]
        lines, invalid[lang] = _read_chunk(cleaning.raw_files[lang], start, end, job.n_lines)
        if job.first_line == 0 and lines:
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
        keep = [i not in empty and i not in markup for i in range(job.n_lines)]
        texts = {lang: list(itertools.compress(texts[lang], keep)) for lang in langs}
        line_numbers = job.first_line + np.flatnonzero(keep)
    else:
        line_numbers = job.first_line + np.arange(job.n_lines)
    splits = split_of_lines(line_numbers, cleaning.split_fractions, cleaning.split_seed)
    return CleanChunk(texts, line_numbers, splits, dropped, invalid)


# -----------------------------------------------------------------------------
# streaming what prepare keeps, without a pool


def iter_clean_chunks(
    raw_files: dict[str, str],
    split_fractions: Sequence[float] = DEFAULT_SPLIT_FRACTIONS,
    split_seed: int = DEFAULT_SPLIT_SEED,
    chunk_lines: int = DEFAULT_CHUNK_LINES,
) -> Iterator[CleanChunk]:
    """What prepare_parallel_corpus keeps of line-aligned `raw_files`, chunk by chunk, streaming.
    Files are assumed line-aligned."""
    cleaning = Cleaning(raw_files, split_fractions, split_seed)
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
            job = ChunkJob(first_line, n_lines, {other: (offsets[other], ends[other]) for other in raw_files})
            yield clean_chunk(job, cleaning)
            offsets, first_line = ends, first_line + n_lines
    finally:
        for f in handles.values():
            f.close()


def iter_clean_lines(
    raw_files: dict[str, str],
    lang: str,
    split: str = "train",
    split_fractions: Sequence[float] = DEFAULT_SPLIT_FRACTIONS,
    split_seed: int = DEFAULT_SPLIT_SEED,
    chunk_lines: int = DEFAULT_CHUNK_LINES,
) -> Iterator[str]:
    """The lines of language `lang` that prepare_parallel_corpus puts in `split`, in raw order,
    streaming (used to train the tokenizer on training lines only). Files are assumed line-aligned."""
    wanted = SPLITS.index(split)
    for chunk in iter_clean_chunks(raw_files, split_fractions, split_seed, chunk_lines):
        yield from (line for line, s in zip(chunk.lines[lang], chunk.splits) if s == wanted)


def check_some_pair_kept(raw_files: dict[str, str]) -> None:
    """Refuse raw files of which the pipeline would keep no line pair; reads only up to the
    first chunk that keeps one."""
    if not any(len(chunk.line_numbers) for chunk in iter_clean_chunks(raw_files)):
        aligned_scans(raw_files)  # the reason may be lines that end with \r alone, or unequal files
        raise UserError(
            f"no line pairs to prepare in {', '.join(raw_files.values())}: every line has an empty "
            f"or markup-only side in some language (such pairs are dropped). Check the raw files."
        )
