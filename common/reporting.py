"""
Writing what the evaluation scripts report: JSON for machines, Markdown and CSV tables for
people, PNG charts for those who would rather look than read. Every file is written to a
temporary name and renamed, so an interrupted script never leaves half a report.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from common.atomic_files import written_atomically

if TYPE_CHECKING:
    import numpy as np


def _atomic_write(path, data, mode='w'):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with written_atomically(path) as tmp:
        with open(tmp, mode, **({} if 'b' in mode else {'encoding': 'utf-8', 'newline': ''})) as f:
            f.write(data)


def write_text(path: str | os.PathLike, text: str) -> None:
    _atomic_write(path, text)


def _json_safe(x):
    if isinstance(x, float) and not math.isfinite(x):
        return None  # JSON has no NaN or infinity
    if isinstance(x, dict):
        return {str(k): _json_safe(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_json_safe(v) for v in x]
    if hasattr(x, 'item') and callable(x.item) and getattr(x, 'ndim', 1) == 0:
        return _json_safe(x.item())  # numpy and torch scalars
    if hasattr(x, 'tolist'):
        return _json_safe(x.tolist())
    return x


def write_json(path: str | os.PathLike, obj: Any) -> None:
    _atomic_write(path, json.dumps(_json_safe(obj), indent=2, ensure_ascii=False) + '\n')


def read_json(path: str | os.PathLike, default: Any = None) -> Any:
    if not os.path.isfile(path):
        return default
    with open(path, encoding='utf-8') as f:
        return json.load(f)


def format_value(value: Any, fmt: str | None = None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return '-'
    if fmt:
        return format(value, fmt)
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def markdown_table(
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[str],
    formats: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> str:
    """rows: list of dicts; columns: the keys to show, in order; formats: {column: format spec};
    headers: {column: header text}."""
    formats, headers = formats or {}, headers or {}
    head = [headers.get(c, c) for c in columns]
    lines = [
        '| ' + ' | '.join(head) + ' |',
        '|' + '|'.join('---:' if _is_numeric_column(rows, c) else '---' for c in columns) + '|',
    ]
    for row in rows:
        cells = [format_value(row.get(c), formats.get(c)).replace('|', '\\|') for c in columns]
        lines.append('| ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines) + '\n'


def _is_numeric_column(rows, column):
    values = [r.get(column) for r in rows if r.get(column) is not None]
    return bool(values) and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)


def write_csv(path: str | os.PathLike, rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction='ignore')
    writer.writeheader()
    for row in rows:
        writer.writerow({c: _json_safe(row.get(c)) for c in columns})
    _atomic_write(path, buffer.getvalue())


def _pyplot():
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig: Any, path: str | os.PathLike) -> None:
    plt = _pyplot()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with written_atomically(path) as tmp:
        fig.savefig(tmp, format='png', bbox_inches='tight')
    plt.close(fig)


def grouped_bar_chart(
    path: str | os.PathLike,
    groups: Sequence[str],
    series: Mapping[str, Sequence[float | None]],
    errors: Mapping[str, Sequence[tuple[float | None, float | None]]] | None = None,
    ylabel: str = '',
    title: str = '',
    value_format: str | None = None,
) -> None:
    """One group of bars per entry of groups, one bar per series in each group.
    series: {name: [value per group]}; errors: {name: [(low, high) per group]} (confidence
    intervals drawn as error bars), optional."""
    import numpy as np

    plt = _pyplot()
    n = len(series)
    width = 0.8 / max(n, 1)
    x = np.arange(len(groups))
    fig, ax = plt.subplots(figsize=(max(5.0, 1.1 * len(groups) * max(n, 1) * 0.6 + 2), 4), dpi=120)
    for i, (name, values) in enumerate(series.items()):
        values = [np.nan if v is None else v for v in values]
        yerr = None
        if errors and name in errors:
            # clamped at 0: a bound can sit a rounding error on the wrong side of its value
            yerr = np.array(
                [
                    [max(0.0, v - lo) if lo is not None else 0 for v, (lo, hi) in zip(values, errors[name])],
                    [max(0.0, hi - v) if hi is not None else 0 for v, (lo, hi) in zip(values, errors[name])],
                ]
            )
        bars = ax.bar(x + (i - (n - 1) / 2) * width, values, width, label=name, yerr=yerr, capsize=3)
        if value_format:
            ax.bar_label(
                bars,
                labels=[format(v, value_format) if np.isfinite(v) else '' for v in values],
                fontsize=7,
                padding=2,
            )
    ax.set_xticks(x)
    ax.set_xticklabels(
        groups, rotation=0 if len(groups) < 6 else 30, ha='center' if len(groups) < 6 else 'right'
    )
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.grid(axis='y', alpha=0.3)
    if n > 1:
        ax.legend(fontsize=8)
    save_figure(fig, path)


class BarPanel(NamedTuple):
    """One panel of bar_chart_panels: a row of bars per group, one bar per series."""

    title: str
    groups: list  # the labels of its rows, top to bottom
    series: dict  # {series name: [value per group]}; None: no bar
    errors: dict | None = None  # {series name: [(low, high) per group]}: intervals drawn as error bars


def bar_chart_panels(
    path: str | os.PathLike,
    panels: Sequence[BarPanel | tuple],
    xlabel: str = '',
    title: str = '',
    value_format: str | None = None,
    max_columns: int = 3,
) -> None:
    """Horizontal bars in panels, for many categories: panels [BarPanel] (or tuples in its order),
    the same series in every panel (one legend for all, below the panels), each group a row of
    bars, one bar per series (None: no bar), with its interval as an error bar and its value at
    the end. Panels are laid out max_columns to a row, and share the value axis; a panel's height
    grows with its groups, so ten languages x several checkpoints stay legible."""
    plt = _pyplot()
    panels = [BarPanel(*panel) for panel in panels]
    names = list(panels[0].series) if panels else []
    n = max(len(names), 1)
    columns = min(max_columns, max(len(panels), 1))
    rows = math.ceil(len(panels) / columns)
    most_groups = max((len(p.groups) for p in panels), default=1)
    panel_height = max(1.6, most_groups * (0.22 * n + 0.25) + 0.6)
    label_width = max((len(str(g)) for p in panels for g in p.groups), default=4)
    panel_width = max(4.5, 3.4 + 0.07 * label_width)
    fig, axes = plt.subplots(
        rows, columns, figsize=(columns * panel_width, rows * panel_height + 0.6), dpi=120, squeeze=False
    )
    colors = [plt.get_cmap('tab10' if n <= 10 else 'tab20')(i % (10 if n <= 10 else 20)) for i in range(n)]
    highest = 0.0
    for ax, panel in zip(axes.flat, panels):
        highest = max(highest, _draw_bar_panel(ax, panel, names, colors, value_format, most_groups))
    for ax in axes.flat[len(panels) :]:
        ax.set_visible(False)
    for i, ax in enumerate(axes.flat[: len(panels)]):
        ax.set_xlim(0, highest * (1.18 if value_format else 1.05) or 1)  # one scale; room for the values
        if i + columns >= len(panels):  # the lowest panel of its column
            ax.set_xlabel(xlabel)
    fig.tight_layout()
    if title:  # above the panels' titles (the saved figure is cropped to what it holds)
        fig.suptitle(title, fontsize=10, y=1.0, va='bottom')
    if len(names) > 1:
        # as many entries to a row as the figure's width holds (~13 characters an inch)
        per_row = int(columns * panel_width * 13 // (max(len(str(name)) for name in names) + 6))
        fig.legend(
            *axes[0][0].get_legend_handles_labels(),
            loc='upper center',
            fontsize=8,
            ncol=max(1, min(len(names), 4, per_row)),
            bbox_to_anchor=(0.5, 0.0),
            frameon=False,
        )
    save_figure(fig, path)


def _draw_bar_panel(ax, panel, names, colors, value_format, most_groups):
    """One panel of bar_chart_panels on ax; returns the right end of its longest bar or error bar
    (0.0 when it has none), for the scale all panels share."""
    import numpy as np

    y = np.arange(len(panel.groups))
    n = max(len(names), 1)
    bar = 0.8 / n
    highest = 0.0
    for i, name in enumerate(names):
        values = np.array([np.nan if v is None else v for v in panel.series[name]], dtype=float)
        bounds = (panel.errors or {}).get(name)
        xerr = _error_bar_lengths(values, bounds) if bounds else None
        positions = y + (i - (n - 1) / 2) * bar
        ax.barh(
            positions,
            values,
            bar,
            xerr=xerr,
            capsize=2,
            color=colors[i],
            label=name,
            error_kw={'lw': 0.8},
        )
        ends = values + (xerr[1] if xerr is not None else 0)
        highest = max([highest] + [e for e in ends if np.isfinite(e)])
        if value_format:
            for position, value, end in zip(positions, values, ends):
                if np.isfinite(value):
                    ax.text(end, position, ' ' + format(value, value_format), va='center', fontsize=6.5)
    ax.set_yticks(y)
    ax.set_yticklabels(panel.groups, fontsize=8)
    ax.set_ylim(most_groups - 0.5, -0.5)  # the first group on top; bars equally thick in all panels
    ax.set_title(panel.title, fontsize=9)
    ax.grid(axis='x', alpha=0.3)
    return highest


def _error_bar_lengths(values, bounds):
    """(2, groups) lengths below and above each value of its (low, high) interval; 0 where the
    value or the bound is missing."""
    import numpy as np

    # clamped at 0: a bound can sit a rounding error on the wrong side of its value
    return np.array(
        [
            [
                max(0.0, v - lo) if lo is not None and np.isfinite(v) else 0
                for v, (lo, hi) in zip(values, bounds)
            ],
            [
                max(0.0, hi - v) if hi is not None and np.isfinite(v) else 0
                for v, (lo, hi) in zip(values, bounds)
            ],
        ]
    )


def heatmap(
    path: str | os.PathLike,
    matrix: Any,
    row_labels: Sequence[str],
    column_labels: Sequence[str],
    title: str = '',
    colorbar_label: str = '',
    cmap: str = 'viridis',
    vmin: float | None = None,
    vmax: float | None = None,
    annotate: bool = False,
) -> None:
    import numpy as np

    plt = _pyplot()
    matrix = np.asarray(matrix, dtype=float)
    size = max(4.0, 0.35 * max(matrix.shape) + 2)
    fig, ax = plt.subplots(figsize=(size + 1, size), dpi=120)
    im = ax.imshow(matrix, cmap=cmap, vmin=vmin, vmax=vmax)
    ax.set_xticks(range(len(column_labels)))
    ax.set_xticklabels(column_labels, rotation=90 if len(column_labels) > 8 else 0, fontsize=8)
    ax.set_yticks(range(len(row_labels)))
    ax.set_yticklabels(row_labels, fontsize=8)
    if annotate:
        for i in range(matrix.shape[0]):
            for j in range(matrix.shape[1]):
                if not np.isfinite(matrix[i, j]):
                    continue  # a blank cell: no value
                light = sum(im.cmap(im.norm(matrix[i, j]))[:3]) > 1.5  # dark text on a light cell
                ax.text(
                    j,
                    i,
                    f"{matrix[i, j]:.2f}",
                    ha='center',
                    va='center',
                    fontsize=6,
                    color='k' if light else 'w',
                )
    if title:
        ax.set_title(title)
    fig.colorbar(im, ax=ax, label=colorbar_label, shrink=0.8)
    save_figure(fig, path)


def language_matrix(
    path: str | os.PathLike,
    languages: Sequence[str],
    value_of_pair: Mapping[tuple[str, str], float | None],
    title: str = '',
    colorbar_label: str = '',
    symmetric: bool = True,
    cmap: str = 'viridis',
    vmin: float | None = None,
    vmax: float | None = None,
) -> np.ndarray:
    """A language x language heatmap of one number per pair of languages, annotated, with the
    languages named (common.languages). value_of_pair: {(a, b): value} for codes a, b of
    `languages`; with symmetric=True a pair fills both (a, b) and (b, a). Cells without a value
    (the diagonal, untested pairs) are left blank. Readable up to ten or so languages."""
    import numpy as np

    from common.languages import language_name

    index = {lang: i for i, lang in enumerate(languages)}
    matrix = np.full((len(languages), len(languages)), np.nan)
    for (a, b), value in value_of_pair.items():
        if a in index and b in index and value is not None:
            matrix[index[a], index[b]] = value
            if symmetric:
                matrix[index[b], index[a]] = value
    names = [language_name(lang) for lang in languages]
    heatmap(
        path,
        matrix,
        names,
        names,
        title=title,
        colorbar_label=colorbar_label,
        cmap=cmap,
        vmin=vmin,
        vmax=vmax,
        annotate=True,
    )
    return matrix


def log_log_chart(
    path: str | os.PathLike,
    x: Sequence[float],
    panels: Sequence[tuple[str, Mapping[str, Sequence[float | None]]]],
    xlabel: str = '',
    title: str = '',
) -> None:
    """Side-by-side panels of lines against x on log-log axes. panels: [(ylabel, {name: [value
    per x]})]; None values are left out."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 4.2), dpi=120, squeeze=False)
    for ax, (ylabel, series) in zip(axes[0], panels):
        for name, values in series.items():
            pairs = [(a, v) for a, v in zip(x, values) if v is not None and v > 0]
            if pairs:
                ax.plot(*zip(*pairs), marker='o', label=name)
        ax.set_xscale('log', base=2)
        ax.set_yscale('log')
        ax.set_xticks(list(x))
        ax.set_xticklabels([str(v) for v in x])
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.grid(True, which='both', alpha=0.3)
        ax.legend(fontsize=8)
    if title:
        fig.suptitle(title, fontsize=8, wrap=True)
    save_figure(fig, path)
