"""
Europarl v7's language pairs with English as datasets (data/europarl/prepare.py): one dataset per
pair (europarl-de-en; fr-en is the dataset europarl, as in the original project), several pairs
prepared with one shared tokenizer, or several pairs joined on their English side into one
line-aligned dataset of all their languages (europarl-de-en-fr: en, de, fr).

    python data/europarl/prepare.py --pair=de-en,fr-en              # europarl-de-en and europarl
    python data/europarl/prepare.py --pair=de-en,fr-en --join=True  # europarl-de-en-fr

The join keeps the English lines found in every pair (exact match of the line as the prepare
pipeline cleans it: stripped, pairs with an empty or markup-only side dropped) and, to be
deterministic, only those that occur once in each pair: an English line repeated within a pair
("(Applause)", "The debate is closed.") could be matched to several translations, so it is
dropped. Lines keep the order of the first pair. Memory stays bounded: one 64-bit hash per
English line (two different lines sharing a hash, odds about 1e-7 for two million lines, would
be taken for one), then each language is written through a scratch file in its own pair's order
and copied out in the joined order. For two pairs of 1.6M lines: about 1 minute, 220 MB.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from typing import NamedTuple

import numpy as np

from common.atomic_files import temporary_path, written_together
from common.errors import UserError
from common.languages import EUROPARL_PAIRS
from data.aligned_text import aligned_scans, iter_clean_chunks
from data.corpora import (
    EUROPARL_DEFAULT_PAIR,
    download_command,
    europarl_dataset,
    europarl_join_name,
    europarl_raw_files,
    shared_tokenizer_name,
)
from data.preparation_lock import preparing
from data.prepare_scripts import prepare_dataset, prepare_datasets, script_options
from data.replacement import check_replacement
from data.tokenizer_policy import check_tokenizer, corpora_languages, train_tokenizer_on

JOINED_RAW_FILE = "europarl-v7.joined.{lang}"  # in data/<joined dataset>/raw/


def parse_pairs(text: str) -> list[str]:
    """--pair's value -> the list of pairs ('' -> fr-en; 'all' -> every pair), unknown ones refused."""
    if text.strip() in ("", EUROPARL_DEFAULT_PAIR):
        return [EUROPARL_DEFAULT_PAIR]
    if text.strip() == "all":
        return list(EUROPARL_PAIRS)
    named = [p.strip() for p in text.split(",") if p.strip()]
    pairs = list(dict.fromkeys(named))
    unknown = [p for p in pairs if p not in EUROPARL_PAIRS]
    if unknown:
        hints = [f"{p} (write {_spelt_right(p)})" if _spelt_right(p) else p for p in unknown]
        raise UserError(
            f"--pair: {', '.join(hints)} {'is not a' if len(unknown) == 1 else 'are not'} Europarl v7 "
            f"pair{'s' if len(unknown) > 1 else ''}. Europarl pairs each language with English: "
            f"{', '.join(EUROPARL_PAIRS)} (several comma-separated, or --pair=all)"
        )
    if len(named) > len(pairs):
        print(
            f"note: --pair names {', '.join(p for p in pairs if named.count(p) > 1)} more than once; "
            f"each pair is prepared once"
        )
    return pairs


def _spelt_right(pair: str) -> str | None:
    """The Europarl pair a misspelt one means (en-de, DE-EN, de_en -> de-en), or None."""
    codes = pair.lower().replace("_", "-").split("-")
    if len(codes) == 2 and "en" in codes:
        guess = f"{codes[0] if codes[1] == 'en' else codes[1]}-en"
        return guess if guess in EUROPARL_PAIRS else None
    return None


def pair_raw_dir(pair: str, data_root: str) -> str:
    return os.path.join(data_root, europarl_dataset(pair), "raw")


def europarl_download_command(pairs: list[str], data_root: str) -> str:
    return download_command(f"europarl --pair={','.join(pairs)}", data_root)


def downloaded_pairs(pairs: list[str], data_root: str, every_pair: bool) -> dict[str, dict[str, str]]:
    """{pair: raw files} of `pairs`. Asked for by name, a pair whose raw files are missing is an
    error (naming all of them and the download command); with --pair=all the downloaded ones are
    kept and the others named."""
    files = {pair: europarl_raw_files(pair, pair_raw_dir(pair, data_root)) for pair in pairs}
    missing = [p for p, f in files.items() if not all(os.path.isfile(path) for path in f.values())]
    if every_pair:
        present = {p: f for p, f in files.items() if p not in missing}
        if not present:
            raise UserError(
                f"--pair=all: no Europarl pair is downloaded under {data_root}. "
                f"Download some first, e.g.: {europarl_download_command(['de-en', 'fr-en'], data_root)} "
                f"(or all 20: {europarl_download_command(['all'], data_root)})"
            )
        if missing:
            print(
                f"--pair=all: preparing the {len(present)} downloaded pair(s) ({', '.join(present)}); "
                f"not downloaded: {', '.join(missing)}. To add them: {europarl_download_command(missing, data_root)}"
            )
        return present
    if missing:
        raise UserError(
            "raw Europarl text not found for "
            + "; ".join(
                f"{p} ({', '.join(path for path in files[p].values() if not os.path.isfile(path))})"
                for p in missing
            )
            + f".\nDownload it with: {europarl_download_command(missing, data_root)}"
        )
    return files


# -----------------------------------------------------------------------------
# joining pairs on their English side


def _english_hashes(raw_files):
    """A 64-bit hash of each English line that prepare would keep, in raw order."""
    return np.fromiter(
        (
            int.from_bytes(hashlib.blake2b(line.encode("utf-8"), digest_size=8).digest(), "little")
            for chunk in iter_clean_chunks(raw_files)
            for line in chunk.lines["en"]
        ),
        dtype=np.uint64,
    )


def _members(values, sorted_set):
    """values[i] in sorted_set, for each i (np.isin without its several copies of both arrays)."""
    if len(sorted_set) == 0:
        return np.zeros(len(values), bool)
    index = np.minimum(np.searchsorted(sorted_set, values), len(sorted_set) - 1)
    return sorted_set[index] == values


def _write_in_order(lines, positions, n_lines, scratch):
    """Write `lines` (an iterable, in any order) to `scratch`; return (starts, ends) of line
    position p (positions[i] is the position of the i-th line) so they can be copied out in order."""
    starts, ends = np.zeros(n_lines, np.int64), np.zeros(n_lines, np.int64)
    offset = 0
    with open(scratch, "wb") as f:
        for position, line in zip(positions, lines):
            data = line.encode("utf-8") + b"\n"
            f.write(data)
            starts[position], ends[position] = offset, offset + len(data)
            offset += len(data)
    return starts, ends


def _copy_in_order(scratch, starts, ends, destination, block=1 << 16):
    """The lines of `scratch` in position order into `destination` (pread: page cache, not this
    process's memory, holds the scratch file)."""
    fd = os.open(scratch, os.O_RDONLY)
    try:
        with open(destination, "wb") as out:
            for first in range(0, len(starts), block):
                for start, end in zip(
                    starts[first : first + block].tolist(), ends[first : first + block].tolist()
                ):
                    out.write(os.pread(fd, end - start, start))
    finally:
        os.close(fd)


class JoinOrder(NamedTuple):
    """Where the joined lines come from: the 64-bit hash of each pair's English lines, the sorted
    hashes kept (those occurring exactly once in every pair), and each kept hash's position in the
    joined files (rank[i]: the position of sorted_hashes[i])."""

    hashes: dict[str, np.ndarray]
    kept: np.ndarray
    sorted_hashes: np.ndarray
    rank: np.ndarray


def join_on_english(
    pair_files: dict[str, dict[str, str]], raw_dir: str, verbose: bool = True
) -> tuple[dict[str, str], dict]:
    """Write the Europarl pairs `pair_files` ({pair: {"en": path, xx: path}}) joined on English
    into raw_dir/europarl-v7.joined.{en,xx,...}: line-aligned, one line per English line that
    occurs exactly once in every pair, in the first pair's order. The files are replaced only once
    all are complete. Returns ({lang: path}, join statistics for meta.json)."""
    order, stats = _join_order(pair_files, verbose)
    n_lines = len(order.sorted_hashes)
    if n_lines == 0:
        raise UserError(
            f"joining {', '.join(pair_files)} on English leaves no line: no English line occurs "
            f"exactly once in every pair"
        )
    paths = _write_joined(pair_files, order, raw_dir, verbose)
    summary = {
        "on": "en",
        "pairs": stats,
        "kept_lines": n_lines,
        "rule": "English lines (as cleaned by the prepare pipeline) present in every pair and occurring "
        "exactly once in each; in the order of the first pair",
    }
    if verbose:
        print(
            f"join: {n_lines:,} lines kept of "
            + ", ".join(
                f"{pair} {s['clean_lines']:,} ({s['repeated_english_lines']:,} with a repeated English line)"
                for pair, s in stats.items()
            )
        )
    return paths, summary


def _join_order(pair_files: dict[str, dict[str, str]], verbose: bool) -> tuple[JoinOrder, dict[str, dict]]:
    """The English lines kept and their order (JoinOrder), and each pair's statistics for meta.json."""
    scans = {pair: aligned_scans(files) for pair, files in pair_files.items()}
    stats, kept = {}, None
    hashes = {}
    for pair, files in pair_files.items():
        if verbose:
            print(f"join: hashing the English side of {pair}")
        hashes[pair] = _english_hashes(files)
        values, counts = np.unique(hashes[pair], return_counts=True)
        unique = values[counts == 1]
        stats[pair] = {
            "raw_lines": scans[pair]["en"].lines,
            "clean_lines": len(hashes[pair]),
            "repeated_english_lines": int(counts[counts > 1].sum()),
            "unique_english_lines": len(unique),
            "sources": {
                lang: {"path": path, "sha256": scans[pair][lang].sha256} for lang, path in files.items()
            },
        }
        kept = unique if kept is None else kept[_members(kept, unique)]  # sorted, like np.unique's
        del values, counts, unique
    first = next(iter(pair_files))
    in_order = hashes[first][_members(hashes[first], kept)]  # the joined lines, in the first pair's order
    sorted_hashes = np.sort(in_order)
    rank = np.argsort(in_order, kind="stable")  # sorted_hashes[i] == in_order[rank[i]]: its position
    return JoinOrder(hashes, kept, sorted_hashes, rank), stats


def _write_joined(
    pair_files: dict[str, dict[str, str]], order: JoinOrder, raw_dir: str, verbose: bool
) -> dict[str, str]:
    """Each language's kept lines, in the joined order, into raw_dir/europarl-v7.joined.<lang>
    (through a scratch file in its own pair's order); returns {lang: path}."""
    n_lines = len(order.sorted_hashes)
    languages = corpora_languages(pair_files)
    first = next(iter(pair_files))
    os.makedirs(raw_dir, exist_ok=True)
    paths = {lang: os.path.join(raw_dir, JOINED_RAW_FILE.format(lang=lang)) for lang in languages}
    scratch = temporary_path(os.path.join(raw_dir, "join-scratch"))
    try:
        with written_together(paths, raw_dir) as tmp:
            for pair, files in pair_files.items():
                wanted = [lang for lang in files if lang != "en" or pair == first]
                if verbose:
                    print(f"join: writing the {', '.join(wanted)} lines of {pair}")
                mask = _members(order.hashes[pair], order.kept)
                positions = order.rank[np.searchsorted(order.sorted_hashes, order.hashes[pair][mask])]
                mask = mask.tolist()
                for lang in wanted:
                    cleaned = (line for chunk in iter_clean_chunks(files) for line in chunk.lines[lang])
                    lines = (line for line, keep in zip(cleaned, mask) if keep)
                    starts, ends = _write_in_order(lines, positions, n_lines, scratch)
                    _copy_in_order(scratch, starts, ends, tmp[lang])
    finally:
        with contextlib.suppress(OSError):
            os.remove(scratch)
    return paths


# -----------------------------------------------------------------------------


def europarl_script(argv: list[str]) -> dict[str, dict]:
    """data/europarl/prepare.py: its keys, then the datasets of the pairs asked for."""
    options = script_options(
        argv,
        pair='',  # '' or fr-en: the dataset europarl; de-en: europarl-de-en; de-en,fr-en: both,
        # with one tokenizer; all: every downloaded pair
        join=False,  # True: the pairs joined on their English side into one dataset (europarl-de-en-fr)
        raw_dir='',  # '': <data_root>/<dataset>/raw (one pair only)
    )
    pair_text, join, raw_dir = options.pop("pair"), options.pop("join"), options.pop("raw_dir")
    pairs = parse_pairs(pair_text)
    data_root = options["data_root"]
    if join and len(pairs) < 2:
        raise UserError(
            f"--join=True joins several pairs on English (e.g. --pair=de-en,fr-en); "
            f"--pair={pair_text or 'fr-en'} names only {pairs[0]}"
        )
    if raw_dir and len(pairs) > 1:
        raise UserError(
            "--raw_dir names the raw folder of one pair; with several, each pair is read from "
            "<data_root>/europarl-<pair>/raw (data/europarl/raw for fr-en)"
        )
    if pairs == [EUROPARL_DEFAULT_PAIR]:  # as always: the tokenizer shared with MultiUN
        return {"europarl": prepare_dataset("europarl", raw_dir=raw_dir, **options)}
    pair_files = (
        {pairs[0]: europarl_raw_files(pairs[0], raw_dir)}
        if raw_dir
        else downloaded_pairs(pairs, data_root, pair_text.strip() == "all")
    )
    if raw_dir:
        missing = [path for path in pair_files[pairs[0]].values() if not os.path.isfile(path)]
        if missing:
            raise UserError(f"raw Europarl text not found: {', '.join(missing)}")
    if join and len(pair_files) < 2:
        raise UserError(
            f"--join=True needs at least two downloaded pairs; only {next(iter(pair_files))} is. "
            f"Download more with: {europarl_download_command(['...'], data_root)}"
        )
    return _prepare_pairs(pair_files, join, **options)


def _prepare_pairs(
    pair_files: dict[str, dict[str, str]],
    join: bool,
    num_proc: int,
    vocab_size: int,
    tokenizer: str,
    train_tokenizer: bool,
    data_root: str,
    allow_new_languages: bool,
    overwrite: bool,
) -> dict[str, dict]:
    """The datasets of the pairs `pair_files` ({pair: raw files}), or of their join, with one tokenizer."""
    pairs = list(pair_files)
    languages = corpora_languages(pair_files)
    default_tokenizer = shared_tokenizer_name("europarl", languages, vocab_size)

    def retrain_hint(known):
        return "python data/europarl/prepare.py --pair=" + ",".join(
            dict.fromkeys([f"{lang}-en" for lang in known if lang != "en"] + pairs)
        )

    corpora = {europarl_dataset(pair): files for pair, files in pair_files.items()}
    extra_meta = {}
    with contextlib.ExitStack() as locks:
        if join:
            joined_name = europarl_join_name(languages)
            # checked before the join, which takes minutes
            check_tokenizer(
                tokenizer,
                default_tokenizer,
                {joined_name: languages},
                data_root,
                allow_new_languages,
                retrain_hint,
                train_tokenizer,
            )
            locks.enter_context(preparing(os.path.join(data_root, joined_name)))
            check_replacement(os.path.join(data_root, joined_name), languages, overwrite)
            joined, summary = join_on_english(pair_files, os.path.join(data_root, joined_name, "raw"))
            corpora = {joined_name: joined}
            extra_meta[joined_name] = {"join": summary}
        print(f"preparing {', '.join(corpora)} ({', '.join(languages)}) with one tokenizer")
        return prepare_datasets(
            corpora,
            tokenizer,
            default_tokenizer,
            lambda name: train_tokenizer_on(name, vocab_size, corpora, data_root),
            data_root,
            num_proc,
            allow_new_languages,
            extra_meta,
            retrain_hint,
            train_tokenizer,
            overwrite,
        )
