"""
The results of an evaluation of one or several checkpoints, and the four files every evaluation
script writes from them: <name>.md and <name>.csv (one row per checkpoint, dataset and language,
the language's name beside its code), <name>.json (the same metrics, nested, for machines) and
<name>.png (a panel of horizontal bars per dataset, a row per language, named, one bar per
checkpoint and metric, with its confidence interval: legible with ten languages). Written once,
so that the evaluations report alike and name their confidence intervals one way:

    JSON   <metric>_ci95: [low, high]                     e.g. bits_per_byte_ci95
    CSV    <metric>_ci95_low, <metric>_ci95_high
    tables "value [low, high]"

    results = CheckpointResults(out_dirs)                 # hashes each checkpoint file
    results.add(out_dir, dataset, language, metrics)      # for every checkpoint, dataset, language
    results.write(report_dir, 'perplexity', header, table_columns, csv_columns, BarChart(...))
"""

from __future__ import annotations

import math
import os
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from common.atomic_files import written_together
from common.checkpoint import checkpoint_path
from common.file_hash import file_sha256
from common.languages import language_name
from common.reporting import BarPanel, bar_chart_panels, markdown_table, write_csv, write_json, write_text

CI_SUFFIX = '_ci95'  # a metric's 95% confidence interval: <metric>_ci95 = [low, high]


def with_ci95(row: Mapping[str, Any], metric: str, fmt: str) -> str:
    """A metric and its 95% interval as one table cell: 'value [low, high]', each in format fmt."""
    low, high = row[metric + CI_SUFFIX]
    return f"{row[metric]:{fmt}} [{low:{fmt}}, {high:{fmt}}]"


def skip_summary(kinds: Counter) -> str:
    """'kind (count), ...' of a Counter of why items or lines were not scored, most frequent first:
    what an evaluation says when nothing was, instead of guessing."""
    return ', '.join(f"{kind} ({n:,})" for kind, n in kinds.most_common())


@dataclass
class BarChart:
    """The chart of an evaluation: for each dataset/language, one bar per checkpoint and metric
    (metrics: {metric: its label in the legend}), each value times scale, with its interval;
    ylabel names the value axis (horizontal: the bars are)."""

    metrics: dict
    ylabel: str
    title: str
    value_format: str
    scale: float = 1


class CheckpointResults:
    """Metrics per checkpoint (its out_dir), dataset and language, in the order they are added.
    Each carries checkpoint_sha256, the sha256 of the checkpoint file it was computed from: an
    out_dir names a folder, not weights, and a retrain into it makes other numbers."""

    def __init__(self, checkpoints: Iterable[str]) -> None:
        self.checkpoints = list(checkpoints)
        self.sha256 = {out_dir: file_sha256(checkpoint_path(out_dir)) for out_dir in self.checkpoints}
        by_hash = {}
        for out_dir, digest in self.sha256.items():
            by_hash.setdefault(digest, []).append(out_dir)
        for copies in by_hash.values():
            if len(copies) > 1:  # legitimate (a copy kept elsewhere), but worth knowing
                print(
                    f"note: {' and '.join(copies)} hold the same checkpoint file (sha256 "
                    f"{self.sha256[copies[0]][:12]}...): their numbers will be the same"
                )
        self.metrics = {
            out_dir: {} for out_dir in self.checkpoints
        }  # out_dir -> dataset -> language -> metrics
        self.rows = []  # one per add(): model (the out_dir), dataset, language, the metrics, each interval also as _low, _high

    def add_dataset(self, out_dir: str, dataset: str) -> None:
        """The dataset is listed in the JSON even when none of its languages gives numbers."""
        self.metrics[out_dir].setdefault(dataset, {})

    def add(self, out_dir: str, dataset: str, language: str, metrics: Mapping[str, Any]) -> None:
        metrics = {**metrics, 'checkpoint_sha256': self.sha256[out_dir]}
        self.metrics[out_dir].setdefault(dataset, {})[language] = metrics
        row = {
            'model': out_dir,
            'dataset': dataset,
            'language': language,
            'language_name': language_name(language),
            **metrics,
        }
        for key, value in metrics.items():
            if key.endswith(CI_SUFFIX):
                row[f'{key}_low'], row[f'{key}_high'] = value
        self.rows.append(row)

    def write(
        self,
        report_dir: str,
        name: str,
        header: str,
        table_columns: Sequence[str | tuple[str, Callable[[dict], str]]],
        csv_columns: Sequence[str],
        chart: BarChart,
        table_formats: Mapping[str, str] | None = None,
        json_extra: Mapping[str, Any] | None = None,
        also: str = '',
    ) -> dict[str, str]:
        """Prints the table and writes report_dir/<name>.md, .csv, .json and .png.
        header: the text above the table in the .md. table_columns: row keys, or (heading,
        function of a row) pairs for computed cells; a 'model' column comes first when there are
        several checkpoints. csv_columns: row keys. json_extra: keys added at the top of the JSON.
        also: the end of the closing 'wrote ...' line, for what the script wrote besides."""
        several = len(self.checkpoints) > 1
        computed = {c[0]: c[1] for c in table_columns if not isinstance(c, str)}
        columns = (['model'] if several else []) + [c if isinstance(c, str) else c[0] for c in table_columns]
        if 'language' in columns:  # the language's name beside its code
            columns.insert(columns.index('language') + 1, 'language_name')
        table_rows = [
            {**row, **{heading: cell(row) for heading, cell in computed.items()}} for row in self.rows
        ]
        table = markdown_table(
            table_rows, columns, formats=table_formats, headers={'language_name': 'language name'}
        )
        print()
        print(table)
        groups = list(dict.fromkeys((r['dataset'], r['language']) for r in self.rows))  # as added
        series, errors = self._bars(groups, chart)

        paths = {ext: os.path.join(report_dir, f'{name}.{ext}') for ext in ('md', 'csv', 'json', 'png')}
        # the four replace the earlier report together: Ctrl-C while the chart is drawn leaves
        # that report whole, not a new table beside an old chart
        with written_together(paths, report_dir) as tmp:
            write_text(tmp['md'], header + table)
            write_csv(tmp['csv'], self.rows, csv_columns)
            write_json(
                tmp['json'],
                {**(self.metrics if several else self.metrics[self.checkpoints[0]]), **(json_extra or {})},
            )
            self._chart(tmp['png'], groups, series, errors, chart)
        print(f"wrote {', '.join(paths.values())}{also}")
        return paths

    @staticmethod
    def _chart(path, groups, series, errors, chart):
        """One panel per dataset, a row of bars per language (named), one bar per series."""
        panels = []
        for dataset in dict.fromkeys(d for d, _ in groups):
            index = [i for i, (d, _) in enumerate(groups) if d == dataset]
            panels.append(
                BarPanel(
                    title=dataset,
                    groups=[language_name(language) for d, language in groups if d == dataset],
                    series={name: [values[i] for i in index] for name, values in series.items()},
                    errors={name: [bounds[i] for i in index] for name, bounds in errors.items()},
                )
            )
        bar_chart_panels(
            path, panels, xlabel=chart.ylabel, title=chart.title, value_format=chart.value_format
        )

    def _bars(self, groups, chart):
        """{series: [value per group]} and {series: [(low, high) per group]}; a series is a
        checkpoint and a metric, named by what tells it apart from the others."""
        by_key = {(r['model'], r['dataset'], r['language']): r for r in self.rows}
        series, errors = {}, {}
        for out_dir in self.checkpoints:
            found = [by_key.get((out_dir, d, l)) for d, l in groups]
            for metric, label in chart.metrics.items():
                parts = ([out_dir] if len(self.checkpoints) > 1 else []) + (
                    [label] if len(chart.metrics) > 1 else []
                )
                key = ' '.join(parts) or out_dir
                series[key] = [
                    chart.scale * r[metric] if r and not math.isnan(r[metric]) else None for r in found
                ]
                # clamped around the value: a Wilson bound of 0 hits can be 1e-17 above the value 0
                errors[key] = [
                    (
                        min(chart.scale * r[metric + CI_SUFFIX][0], v),
                        max(chart.scale * r[metric + CI_SUFFIX][1], v),
                    )
                    if v is not None
                    else (None, None)
                    for r, v in zip(found, series[key])
                ]
        return series, errors
