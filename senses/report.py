"""
senses.md as a whole and the pieces of text every analysis's section uses: p-values, intervals,
tokens. Each analysis writes its own section (senses/<analysis>.py, `markdown`) from its result
dict in senses.json, so the report can be rebuilt from the JSON alone.

A report folder may keep the results of analyses not run again, but only those of the same
weights and data: senses.json records what its results describe (`checkpoint`: the sha256 of
ckpt.pt and of the baseline's, the data root, the held-out dataset and its languages), and a run
that describes anything else moves the earlier report aside (move_aside) instead of presenting
it as its own.
"""

from __future__ import annotations

import math
import os
import re
import time
from collections.abc import Iterable, Sequence
from types import ModuleType
from typing import TypedDict


def token_label(text: str) -> str:
    """A token for a table: without its leading space; a piece inside a word (no leading space)
    is shown as '-piece'."""
    if text.startswith(' '):
        return text[1:] or '␣'
    return '-' + text if text else text


def format_p(value: float | None, n_permutations: int | None = None) -> str:
    """A p-value for a table; at the floor of a permutation test (1 / (n + 1)), '<= floor'."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return '-'
    if n_permutations and value <= 1 / (n_permutations + 1) + 1e-12:
        return f"<= {1 / (n_permutations + 1):.2g}"
    return f"{value:.3g}" if value >= 0.001 else f"{value:.1e}"


def p_text(p: float | None, n_permutations: int | None) -> str:
    """'p = 0.03', or 'p <= 0.001' at the floor of a permutation test, for a figure's title."""
    text = format_p(p, n_permutations)
    return f"p {text}" if text.startswith('<') else f"p = {text}"


def format_ci(ci: Sequence[float | None] | None, fmt: str = '.3f') -> str:
    """An interval [low, high] for a table; '-' when there is none."""
    if not ci or ci[0] is None or (isinstance(ci[0], float) and math.isnan(ci[0])):
        return '-'
    return f"[{format(ci[0], fmt)}, {format(ci[1], fmt)}]"


# --- senses.md -----------------------------------------------------------------------------


def markdown_report(
    header: dict,
    results: dict[str, dict],
    skipped: dict[str, str],
    analyses: dict[str, ModuleType],
    section_options: dict[str, dict] | None = None,
    heading_level: int = 1,
    link_prefix: str = '',
) -> str:
    """The whole of senses.md: header (dict with 'title' and 'lines'), the result of each
    analysis run (senses.json's 'analyses') and {analysis: reason} for those skipped. analyses:
    {name: its module} in the order of the sections (each module has TITLE and markdown(result,
    **options)); section_options: {name: options} for a module's markdown, e.g.
    {'projection': {'n_words': 8}}.
    To embed it in another report: heading_level=2 makes the title a '##' heading (and every
    heading below one level deeper); link_prefix is put before each figure's file name (e.g.
    'senses/' when the other report sits one folder up)."""
    section_options = section_options or {}
    parts = [f"# {header['title']}\n", *(line + '\n' for line in header.get('lines', [])), '\n']
    for name, module in analyses.items():
        if name in results:
            parts.append(f"## {module.TITLE}\n\n")
            parts.append(module.markdown(results[name], **section_options.get(name, {})))
            parts.append('\n')
    if skipped:
        parts.append("## Skipped\n\n")
        parts.extend(
            f"- {analyses[name].TITLE if name in analyses else name}: {reason}\n"
            for name, reason in skipped.items()
        )
    text = ''.join(parts)
    if heading_level > 1:
        text = re.sub(
            r'^(#+) ', lambda m: '#' * (len(m.group(1)) + heading_level - 1) + ' ', text, flags=re.MULTILINE
        )
    if link_prefix:
        text = re.sub(r'(!\[[^\]]*\]\()', lambda m: m.group(1) + link_prefix, text)
    return text


# --- what results kept from an earlier run must share with this one ------------------------


class ReportIdentity(TypedDict):
    """What the results of a report describe, senses.json's 'checkpoint'."""

    checkpoint: str  # the absolute path of ckpt.pt
    sha256: str  # of ckpt.pt
    model_name: str
    iter_num: int | None
    baseline: str | None  # the baseline's ckpt.pt, or None
    baseline_sha256: str | None
    data_root: str
    dataset: str  # the held-out dataset
    languages: list[str]  # its languages


# the keys of senses.json's 'checkpoint' that results kept from an earlier run must share, and
# what a difference in each is called, in the message that drops them (the paths may differ: a
# moved out_dir holds the same weights)
KEPT_IF_SAME = {
    'sha256': "the checkpoint's weights differ",
    'baseline_sha256': "the baseline's weights differ",
    'data_root': 'the data root differs',
    'dataset': 'the held-out dataset differs',
    'languages': 'the languages of the held-out data differ',
}
REPORT_FILES = ('senses.json', 'senses.md', 'senses.tex')  # beside those each result lists


def _identity_value(identity, key):
    value = identity.get(key)
    if key.endswith('sha256'):
        weights = 'checkpoint' if key == 'sha256' else 'baseline'
        where = identity.get(weights)
        iteration = f"iteration {identity.get('iter_num')}, " if key == 'sha256' else ''
        return (
            f"{where}, {iteration}sha256 {value[:12]}..."
            if value
            else 'none'
            if key == 'baseline_sha256' and key in identity
            else 'not recorded'
        )
    if key == 'languages' and value:
        return ', '.join(value)
    return str(value) if value is not None else 'not recorded'


def identity_changes(previous: dict, current: ReportIdentity) -> list[str]:
    """What differs between the identity of an earlier report (senses.json's 'checkpoint') and
    this run's: ["the checkpoint's weights differ (out/ckpt.pt, iteration 30, sha256 1a2b...
    then; ... now)", ...]; [] when results kept from it describe the same weights and data."""
    if not previous.get('sha256'):
        return ["senses.json does not record the weights its results describe (an older version wrote it)"]
    return [
        f"{what} ({_identity_value(previous, key)} then; {_identity_value(current, key)} now)"
        for key, what in KEPT_IF_SAME.items()
        if previous.get(key) != current.get(key)
    ]


def result_files(result: object) -> set[str]:
    """The names of the files (in the report folder) a result lists under its 'files' keys, at
    any depth (an alignment lists those of each pair of languages)."""
    names = set()

    def collect(x, listed):
        if isinstance(x, dict):
            for key, value in x.items():
                collect(value, listed or key == 'files')
        elif isinstance(x, (list, tuple)):
            for value in x:
                collect(value, listed)
        elif listed and isinstance(x, str) and x:
            names.add(x)

    collect(result, False)
    return names


def move_aside(report_dir: str, names: Iterable[str]) -> str | None:
    """Move those of the files `names` (plain names, no folders) that are in report_dir into
    report_dir/senses-replaced-<time>/ (nothing is deleted); returns that folder, or None when
    there was nothing to move."""
    present = sorted(
        n
        for n in set(names)
        if n == os.path.basename(n) and n not in ('.', '..') and os.path.isfile(os.path.join(report_dir, n))
    )
    if not present:
        return None
    aside = os.path.join(report_dir, f"senses-replaced-{time.strftime('%Y%m%d-%H%M%S')}")
    os.makedirs(aside, exist_ok=True)
    for name in present:
        os.replace(os.path.join(report_dir, name), os.path.join(aside, name))
    return aside


def data_line(dataset: str, data_root: str, results: dict[str, dict], analyses: dict[str, ModuleType]) -> str:
    """The header line naming the data: '- data: demo (test split) under data'; when the results
    shown read different held-out splits (one kept from an earlier run), each split with the
    sections that read it. analyses: {name: its module}, for the section titles."""
    splits = {}  # split -> the titles of the sections that read it, in the order of the sections
    for name, module in analyses.items():
        if isinstance(results.get(name), dict) and results[name].get('split'):
            splits.setdefault(results[name]['split'], []).append(module.TITLE)
    if len(splits) > 1:
        each = '; '.join(f"{split} split: {', '.join(titles)}" for split, titles in splits.items())
        return f"- data: {dataset} under {data_root}; held-out splits differ ({each})"
    split = f" ({next(iter(splits))} split)" if splits else ''
    return f"- data: {dataset}{split} under {data_root}"
