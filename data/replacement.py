"""
A dataset prepared where one was prepared before: what it replaces (said on screen), when that is
refused (another source or other languages, without --overwrite), and the files of languages the
old dataset had and the new one lacks (removed, or they would pass for part of it).
"""

from __future__ import annotations

import json
import os

from common.errors import UserError
from common.tokenizer import Tokenizer
from data.prepared import HELD_OUT_SPLITS, META_FILE, SPLITS, heldout_file, token_file


def prepared_meta(dataset_dir: str) -> dict | None:
    """The meta.json of the dataset prepared in dataset_dir, or None (nothing there, or what a
    failed run left)."""
    try:
        with open(os.path.join(dataset_dir, META_FILE)) as f:
            meta = json.load(f)
    except (OSError, ValueError):
        return None
    return meta if isinstance(meta, dict) and isinstance(meta.get("languages"), list) else None


def check_replacement(
    dataset_dir: str, languages: list[str], overwrite: bool = False, other_source: str | None = None
) -> None:
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


def replacement_text(dataset_dir: str, previous: dict, sha256s: dict[str, str], tokenizer: Tokenizer) -> str:
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


def remove_dropped_languages(dataset_dir: str, previous: dict, languages: list[str], verbose: bool) -> None:
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
