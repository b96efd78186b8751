"""
Sense usage per language: how much each sense serves the predictions on held-out parallel text,
in every language of a line-aligned dataset (English beside French, or ten languages). At
position i sense k contributes c_ik = sum_j alpha_kij C(x_j)_k to the prediction; its share of
the norms, its share of the next token's logit, and alpha_kii (the weight it keeps on the
current token) say whether a multilingual Backpack reserves senses for some languages. The
languages are compared on the same aligned sentences: for each pair, the Jensen-Shannon
divergence of the share distributions (or the mean absolute difference); across all of them,
the mean over the pairs, tested once by permuting which language each aligned sentence is
called (for two languages, which side of each pair is English); intervals are a bootstrap over
sentences, the unit of resampling.
"""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import TypedDict

import numpy as np
import torch

from common.errors import UserError
from common.languages import language_name, pair_name
from common.reporting import grouped_bar_chart, language_matrix, markdown_table, save_figure, write_csv
from common.tokenizer import Tokenizer
from data.prepared import heldout_path, read_heldout_lines
from evaluation.checkpoints import readable_lines
from evaluation.statistics import bootstrap_ratio_ci, jensen_shannon_divergence, permutation_test
from senses import Skipped
from senses.analysis_inputs import AnalysisInputs
from senses.gold import has_heldout_text
from senses.report import format_p, p_text
from senses.vectors import output_embedding, padded_batch, sense_contributions, with_eot

TITLE = 'Sense usage per language'
NEEDS = ('senses', 'heldout')

USAGE_METRICS = ('norm_share', 'logit_share', 'self_weight', 'logit_contribution')


@torch.no_grad()
def sentence_sense_usage(
    model: torch.nn.Module,
    token_lists: list[list[int]],
    eot_token: int,
    batch_size: int = 32,
    autocast: AbstractContextManager | None = None,
) -> dict[str, np.ndarray]:
    """How much each sense contributes to the predictions, summed per sentence (the unit of
    resampling). Each sentence is fed after an end-of-text token; the positions scored are its
    tokens (position 0, the end-of-text token, is left out), each predicting the next token (the
    last one predicts end-of-text). Per sentence: 'positions' (n,) and, per sense, sums over
    positions of
      norm_share: ||c_ik|| / sum_k' ||c_ik'||;
      logit_share: |E[y_i] . c_ik| / sum_k' |E[y_i] . c_ik'|, its share of the next token's logit
        (absolute values: contributions can be negative);
      logit_contribution: E[y_i] . c_ik, signed, in logits;
      self_weight: alpha_kii, the weight sense k keeps on the current token.
    Returns {name: array (n, K)} plus 'positions'."""
    K = model.config.n_sense_vector
    device = model.lm_head.weight.device
    E = output_embedding(model)
    n = len(token_lists)
    result = {'positions': np.zeros(n)}
    result.update({name: np.zeros((n, K)) for name in USAGE_METRICS})
    sequences = [with_eot(ids, eot_token, model.config.block_size) for ids in token_lists]
    order = sorted(range(n), key=lambda i: len(sequences[i]))
    for start in range(0, n, batch_size):
        members = order[start : start + batch_size]
        idx, lengths = padded_batch([sequences[i] for i in members], eot_token, device)
        with autocast or nullcontext():
            alpha, c = sense_contributions(model, idx)
        alpha, c = alpha.float(), c.float()
        # the padding is end-of-text, so the last token of each sentence predicts end-of-text
        targets = torch.cat([idx[:, 1:], torch.full_like(idx[:, :1], eot_token)], dim=1)
        lengths_t = torch.tensor(lengths, device=device)
        positions = torch.arange(idx.size(1), device=device)
        mask = ((positions >= 1) & (positions[None, :] < lengths_t[:, None])).float()  # (B, T)
        norms = c.norm(dim=-1)  # (B, K, T)
        contribution = torch.einsum('bkid,bid->bki', c, E[targets])
        shares = {
            'norm_share': norms / norms.sum(1, keepdim=True).clamp_min(1e-30),
            'logit_share': contribution.abs() / contribution.abs().sum(1, keepdim=True).clamp_min(1e-30),
            'logit_contribution': contribution,
            'self_weight': alpha.diagonal(dim1=-2, dim2=-1),
        }
        for name, values in shares.items():
            result[name][members] = (values * mask[:, None, :]).sum(-1).cpu().double().numpy()
        result['positions'][members] = mask.sum(-1).cpu().double().numpy()
    return result


class LanguageComparison(TypedDict):
    """compare_language_usage's result for one metric (senses.json's usage 'metrics' entry)."""

    statistic: str  # 'jsd' or 'mean_abs_difference'
    value: float  # across all languages: the mean over the pairs
    p_value: float
    n_permutations: int
    n_sentences: int
    pairs: list[dict]  # per pair of languages: languages [a, b], value
    languages: dict[str, dict]  # per language: values (per sense), values_ci95


def compare_language_usage(
    usages: dict[str, dict[str, np.ndarray]],
    metric: str,
    statistic: str = 'jsd',
    n_permutations: int = 1000,
    n_bootstrap: int = 1000,
    seed: int = 0,
) -> LanguageComparison:
    """usages: {language: sentence_sense_usage} of the same aligned sentences, one dict per
    language (two or more; sentence p of each is a translation of the others' sentence p).
    Per language, the per-sense values with bootstrap 95% intervals (resampling sentences); per
    pair of languages (in the order of `usages`), the difference as the Jensen-Shannon divergence
    of the share distributions (statistic='jsd', in bits) or the mean absolute difference over
    senses ('mean_abs_difference'); across all languages, their mean over the pairs, with the
    permutation p-value of "the languages use the senses alike": each permutation reassigns, in
    every aligned sentence, its usages to the languages in a random order (shuffle_languages).
    With two languages that is a swap of the two sides of a random half of the pairs, and the
    across-all value is the pair's."""
    languages = list(usages)
    if len(languages) < 2:
        raise ValueError(f"compare_language_usage needs two or more languages, got {languages}")
    sums = np.stack([usages[lang][metric] for lang in languages])  # (L, P, K)
    counts = np.stack([usages[lang]['positions'] for lang in languages])  # (L, P)
    L, P = counts.shape
    pairs = list(itertools.combinations(range(L), 2))

    def pair_differences(data):
        sums, counts = data
        values = [sums[i].sum(0) / max(counts[i].sum(), 1) for i in range(L)]
        if statistic == 'jsd':
            return [jensen_shannon_divergence(values[a], values[b]) for a, b in pairs]
        return [float(np.abs(values[a] - values[b]).mean()) for a, b in pairs]

    def mean_difference(data):
        differences = pair_differences(data)
        return sum(differences) / len(differences)

    observed, p_value, _ = permutation_test(
        mean_difference, (sums, counts), shuffle_languages, n_permutations, seed
    )
    return LanguageComparison(
        statistic=statistic,
        value=float(observed),
        p_value=float(p_value),
        n_permutations=n_permutations,
        n_sentences=P,
        pairs=[
            {'languages': [languages[a], languages[b]], 'value': float(value)}
            for (a, b), value in zip(pairs, pair_differences((sums, counts)))
        ],
        languages={
            lang: values_with_intervals(lang_sums, n, n_bootstrap, seed)
            for lang, lang_sums, n in zip(languages, sums, counts)
        },
    )


def shuffle_languages(
    data: tuple[np.ndarray, np.ndarray], rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """(sums (L, P, K), counts (L, P)) with the languages of every aligned sentence p put in a
    random order: Fisher-Yates in every sentence at once, one uniform draw per step."""
    sums, counts = data
    L, P = counts.shape
    rows = np.arange(P)
    order = np.tile(np.arange(L), (P, 1))  # order[p, i]: whose usage language i gets
    draws = rng.random((P, L - 1))
    for step, i in enumerate(range(L - 1, 0, -1)):
        j = (draws[:, step] * (i + 1)).astype(int)
        order[rows, i], order[rows, j] = order[rows, j], order[rows, i]
    return sums[order.T, rows], counts[order.T, rows]


def values_with_intervals(sums: np.ndarray, counts: np.ndarray, n_bootstrap: int, seed: int) -> dict:
    """One language's values per sense (sums (P, K) over its positions counts (P,)) and their
    bootstrap 95% intervals over sentences: {'values', 'values_ci95'}."""
    values = sums.sum(0) / max(counts.sum(), 1)
    cis = [
        bootstrap_ratio_ci(sums[:, k], counts, n_resamples=n_bootstrap, seed=seed)
        for k in range(sums.shape[1])
    ]
    return {'values': values.tolist(), 'values_ci95': [list(ci) for ci in cis]}


USAGE_STATISTICS = {
    'norm_share': 'jsd',
    'logit_share': 'jsd',
    'self_weight': 'mean_abs_difference',
    'logit_contribution': 'mean_abs_difference',
}
USAGE_AXES = {
    'norm_share': 'share of ||c_ik||',
    'logit_share': "share of the next token's logit",
    'self_weight': 'mean alpha_kii (weight on the current token)',
}


class UsageResult(TypedDict):
    """The result of run, senses.json's 'usage'."""

    dataset: str
    split: str
    languages: list[str]
    n_sentences: int
    positions: dict[str, int]  # per language: the token positions scored
    metrics: dict[str, LanguageComparison]  # per USAGE_METRICS
    files: dict  # csv, figures {metric: png}, matrices {metric: png}


def run(inputs: AnalysisInputs) -> UsageResult:
    """Sense usage on the first max_sentences held-out aligned sentences of the dataset (split)
    that the model can read in every language of the held-out data (in the order of the pairs):
    per language and sense, norm share, logit share, self weight and signed logit contribution
    with bootstrap intervals; per pair of languages, their difference (USAGE_STATISTICS says
    which); across all languages, the mean difference with its permutation p-value. Writes
    sense_usage_<metric>.png (with three or more languages also sense_usage_<metric>_matrix.png,
    language x language) and sense_usage.csv to report_dir."""
    model, tokenizer, options = inputs.model, inputs.tokenizer, inputs.options
    languages = list(inputs.languages)
    aligned = aligned_sentences(inputs)
    usage = {
        lang: sentence_sense_usage(
            model,
            tokenizer.encode_batch([line[i] for line in aligned]),
            tokenizer.eot_token,
            options.batch_size,
            inputs.autocast,
        )
        for i, lang in enumerate(languages)
    }
    metrics = {
        metric: compare_language_usage(
            usage,
            metric,
            USAGE_STATISTICS[metric],
            options.n_permutations,
            options.n_bootstrap,
            options.seed,
        )
        for metric in USAGE_METRICS
    }
    figures, matrices = usage_figures(metrics, languages, model.config.n_sense_vector, inputs.report_dir)
    write_csv(
        os.path.join(inputs.report_dir, 'sense_usage.csv'),
        csv_rows(metrics, languages, model.config.n_sense_vector),
        ['metric', 'sense'] + [f'{lang}{suffix}' for lang in languages for suffix in ('', '_low', '_high')],
    )
    return UsageResult(
        dataset=inputs.dataset,
        split=inputs.split,
        languages=languages,
        n_sentences=len(aligned),
        positions={lang: int(u['positions'].sum()) for lang, u in usage.items()},
        metrics=metrics,
        files={'csv': 'sense_usage.csv', 'figures': figures, 'matrices': matrices},
    )


def aligned_sentences(inputs: AnalysisInputs) -> list[tuple[str, ...]]:
    """The first max_sentences held-out aligned sentences (a line per language, in the order of
    inputs.languages) that are non-empty and that the model can read in every language.
    Skipped with fewer than two languages or sentences, or without the held-out files; an
    error when the files differ in length (they are not translations line by line)."""
    data_root, dataset, split, languages = inputs.data_root, inputs.dataset, inputs.split, inputs.languages
    if len(languages) < 2:
        raise Skipped(
            f"needs held-out text in two or more languages; {dataset} has "
            f"{', '.join(map(language_name, languages)) or 'none'}"
        )
    if not has_heldout_text(data_root, dataset, split, languages):
        missing = [
            heldout_path(data_root, dataset, lang, split)
            for lang in languages
            if not os.path.isfile(heldout_path(data_root, dataset, lang, split))
        ]
        raise Skipped(
            f"needs held-out parallel text ({', '.join(missing)}, written by the prepare "
            f"script: python data/{dataset}/prepare.py)"
        )
    lines = {lang: read_heldout_lines(data_root, dataset, lang, split) for lang in languages}
    if len({len(text) for text in lines.values()}) > 1:
        counts = ', '.join(
            f"{heldout_path(data_root, dataset, lang, split)} has {len(text)}" for lang, text in lines.items()
        )
        raise UserError(
            f"the held-out {split} files of {dataset} differ in length ({counts} "
            f"lines): they must be translations line by line; prepare the dataset "
            f"again (python data/{dataset}/prepare.py)"
        )
    aligned = [line for line in zip(*lines.values()) if all(side.strip() for side in line)]
    aligned = readable_sentences(inputs.tokenizer, aligned, inputs.model.config.vocab_size)
    aligned = aligned[: inputs.options.max_sentences]
    if len(aligned) < 2:
        raise Skipped(
            f"{len(aligned)} non-empty held-out aligned sentences in {dataset}/{split}: "
            f"too few to compare the languages"
        )
    return aligned


def readable_sentences(
    tokenizer: Tokenizer, aligned: list[tuple[str, ...]], vocab_size: int
) -> list[tuple[str, ...]]:
    """The aligned sentences whose every side holds only tokens the model has rows for; how
    many were left out is said."""
    readable = [
        set(readable_lines(tokenizer, [line[i] for line in aligned], vocab_size)[0])
        for i in range(len(aligned[0]) if aligned else 0)
    ]
    kept = [line for line in aligned if all(side in ok for side, ok in zip(line, readable))]
    if len(kept) < len(aligned):
        print(
            f"  {len(aligned) - len(kept)} aligned sentences skipped: they hold tokens the model "
            f"has no row for"
        )
    return kept


def usage_figures(
    metrics: dict[str, LanguageComparison], languages: list[str], K: int, report_dir: str
) -> tuple[dict[str, str], dict[str, str]]:
    """The charts of USAGE_AXES' metrics, per sense and language, and with three languages or
    more their language x language matrices: ({metric: chart file}, {metric: matrix file})."""
    figures, matrices = {}, {}
    for metric, axis in USAGE_AXES.items():
        m = metrics[metric]
        n_permutations = m['n_permutations']
        path = f'sense_usage_{metric}.png'
        title = (
            f"{axis} per sense; {difference_text(m, languages)}, permutation "
            f"{p_text(m['p_value'], n_permutations)}"
        )
        usage_chart(os.path.join(report_dir, path), m, languages, K, axis, title)
        figures[metric] = path
        if len(languages) >= 3:
            matrices[metric] = f'sense_usage_{metric}_matrix.png'
            label, values = readable_unit(m['statistic'], [pair['value'] for pair in m['pairs']])
            language_matrix(
                os.path.join(report_dir, matrices[metric]),
                languages,
                {tuple(pair['languages']): value for pair, value in zip(m['pairs'], values)},
                title=f"{USAGE_LABELS[metric]}: {STATISTIC_NAMES[m['statistic']]} "
                f"per pair of languages; permutation "
                f"{p_text(m['p_value'], n_permutations)} across all",
                colorbar_label=label,
            )
    return figures, matrices


def csv_rows(metrics: dict[str, LanguageComparison], languages: list[str], K: int) -> list[dict]:
    """sense_usage.csv: a row per metric and sense, each language's value and interval."""
    rows = []
    for metric, m in metrics.items():
        for k in range(K):
            rows.append(
                {
                    'metric': metric,
                    'sense': k,
                    **{
                        f'{lang}{suffix}': value
                        for lang in languages
                        for suffix, value in (
                            ('', m['languages'][lang]['values'][k]),
                            ('_low', m['languages'][lang]['values_ci95'][k][0]),
                            ('_high', m['languages'][lang]['values_ci95'][k][1]),
                        )
                    },
                }
            )
    return rows


STATISTIC_NAMES = {'jsd': 'JSD (bits)', 'mean_abs_difference': 'mean absolute difference'}


def readable_unit(statistic: str, values: list[float | None]) -> tuple[str, list[float | None]]:
    """A matrix's values in a unit its two decimals can show, and the colour bar's label:
    ('JSD (bits)', values) when the largest is 1 or more (or 0), else ('JSD (1e-3 bits)', the
    values * 1000), and so on by powers of 1000."""
    largest = max((abs(v) for v in values if v is not None and math.isfinite(v)), default=0)
    exponent = 0 if largest == 0 or largest >= 1 else 3 * math.ceil(-math.floor(math.log10(largest)) / 3)
    unit = ' '.join(
        part for part in (f'1e-{exponent}' if exponent else '', 'bits' if statistic == 'jsd' else '') if part
    )
    name = 'JSD' if statistic == 'jsd' else 'mean absolute difference'
    return (f"{name} ({unit})" if unit else name, [None if v is None else v * 10**exponent for v in values])


def difference_text(m: LanguageComparison, languages: Sequence[str]) -> str:
    """'JSD 0.0123 bits' (two languages), 'mean pairwise JSD 0.0123 bits' (more), or the same
    with 'mean |en - fr|'."""
    if m['statistic'] == 'jsd':
        return f"{'JSD' if len(languages) == 2 else 'mean pairwise JSD'} {m['value']:.4f} bits"
    if len(languages) == 2:
        return f"mean |{languages[0]} - {languages[1]}| {m['value']:.4f}"
    return f"mean pairwise mean |a - b| {m['value']:.4f}"


def usage_chart(
    path: str, m: LanguageComparison, languages: Sequence[str], K: int, axis: str, title: str
) -> None:
    """The values per sense: bars grouped by sense, one per language, for two languages; with
    more, one panel per language (same axes), which stays readable with ten."""
    series = {language_name(lang): m['languages'][lang]['values'] for lang in languages}
    errors = {language_name(lang): m['languages'][lang]['values_ci95'] for lang in languages}
    if len(languages) <= 2:
        grouped_bar_chart(path, [str(k) for k in range(K)], series, errors=errors, ylabel=axis, title=title)
        return
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    n_cols = min(5, len(languages))
    n_rows = math.ceil(len(languages) / n_cols)
    fig, axes = plt.subplots(
        n_rows,
        n_cols,
        figsize=(max(2.6, 0.22 * K + 1.2) * n_cols, 2.4 * n_rows + 0.6),
        dpi=120,
        sharex=True,
        sharey=True,
        squeeze=False,
    )
    for ax in axes.flat[len(languages) :]:
        ax.axis('off')
    x = np.arange(K)
    for ax, (name, values) in zip(axes.flat, series.items()):
        values = np.array(values, dtype=float)
        low, high = np.array([[np.nan if v is None else v for v in ci] for ci in errors[name]]).T
        ax.bar(
            x,
            values,
            0.8,
            yerr=np.nan_to_num([np.maximum(0, values - low), np.maximum(0, high - values)]),
            capsize=2,
        )
        ax.set_title(name, fontsize=9)
        ax.set_xticks(x)
        ax.set_xticklabels([str(k) for k in range(K)], fontsize=7)
        ax.grid(axis='y', alpha=0.3)
    for ax in axes[:, 0]:
        ax.set_ylabel(axis, fontsize=8)
    for ax in axes[-1]:
        ax.set_xlabel('sense', fontsize=8)
    fig.suptitle(title, fontsize=9, wrap=True)
    save_figure(fig, path)


def markdown(result: dict) -> str:
    """The section of senses.md: the differences between the languages, the values per sense."""
    two = len(result['languages']) == 2
    text = [method_text(result), difference_table(result)]
    if not two:
        text.append(pair_table(result))
    text.extend(per_sense_tables(result))
    for metric, path in result['files']['figures'].items():
        text.append(f"![{USAGE_LABELS.get(metric, metric)}]({path})\n")
    return ''.join(text)


def method_text(result: dict) -> str:
    """What was measured on which sentences, and how the languages are compared."""
    languages = result['languages']
    names = [language_name(lang) for lang in languages]
    two = len(languages) == 2
    counts = [f"{result['positions'][lang]} {name}" for lang, name in zip(languages, names)]
    positions = ', '.join(counts[:-1]) + f" and {counts[-1]}"
    n_permutations = result['metrics']['norm_share']['n_permutations']
    return (
        f"On {result['n_sentences']} held-out {'sentence pairs' if two else 'aligned sentences'} "
        f"of {result['dataset']} ({result['split']} split; {positions} token positions). At each "
        f"position i, sense k contributes c_ik = sum_j alpha_kij C(x_j)_k to the prediction. "
        f"Norm share: ||c_ik|| / sum_k' ||c_ik'||; logit share: the sense's share of the "
        f"absolute contributions to the logit of the token that comes next; self weight: "
        f"alpha_kii, the weight the sense keeps on the current token. Intervals: bootstrap over "
        f"sentences. Differences between the languages: Jensen-Shannon divergence (bits) of the "
        f"share distributions, mean absolute difference of the self weights, "
        + (
            "each with the p-value of "
            f"{n_permutations} permutations of which side of each pair is called {names[0]}. "
            if two
            else f"for each pair of languages; across all {len(languages)} languages their mean over "
            f"the {len(languages) * (len(languages) - 1) // 2} pairs, with the p-value of "
            f"{n_permutations} permutations of which language each aligned sentence is called "
            f"(one test for all languages). "
        )
        + "The divergence is the size of the difference: over hundreds of sentences, a tiny "
        "one can have a small p.\n\n"
    )


def difference_table(result: dict) -> str:
    """A row per measure: the difference between the languages and its permutation p."""
    languages = result['languages']
    rows = []
    for metric, m in result['metrics'].items():
        if metric not in USAGE_LABELS:
            continue
        label = (
            ('JSD' if m['statistic'] == 'jsd' else f"mean |{languages[0]} - {languages[1]}|")
            if len(languages) == 2
            else ('mean pairwise JSD' if m['statistic'] == 'jsd' else 'mean pairwise mean |a - b|')
        )
        rows.append(
            {
                'measure': USAGE_LABELS[metric],
                'difference': f"{label} = {m['value']:.4g}",
                'p': format_p(m['p_value'], m['n_permutations']),
            }
        )
    return markdown_table(rows, ['measure', 'difference', 'p'], headers={'p': 'permutation p'}) + '\n'


def pair_table(result: dict) -> str:
    """Three languages or more: a row per pair of languages, a column per measure, and the
    language x language figures."""
    shown = [metric for metric in result['metrics'] if metric in USAGE_LABELS]
    text = [
        "Per pair of languages (JSD in bits for the shares, mean absolute difference "
        "for the self weight):\n\n"
    ]
    pair_rows = []
    for i, pair in enumerate(result['metrics']['norm_share']['pairs']):
        pair_rows.append(
            {
                'pair': pair_name(*pair['languages']),
                **{metric: result['metrics'][metric]['pairs'][i]['value'] for metric in shown},
            }
        )
    text.append(
        markdown_table(pair_rows, ['pair', *shown], formats={m: '.4g' for m in shown}, headers=USAGE_LABELS)
        + '\n'
    )
    for metric, path in result['files'].get('matrices', {}).items():
        text.append(f"![{USAGE_LABELS.get(metric, metric)} per pair]({path})\n")
    text.append('\n')
    return ''.join(text)


def per_sense_tables(result: dict) -> list[str]:
    """The values per sense: with two languages one table of every measure; with more, one
    table per measure, a column per language."""
    languages = result['languages']
    names = [language_name(lang) for lang in languages]
    two = len(languages) == 2
    shown = [metric for metric in result['metrics'] if metric in USAGE_LABELS]
    K = len(result['metrics']['norm_share']['languages'][languages[0]]['values'])
    text = []
    for measures in [shown] if two else [[metric] for metric in shown]:
        columns = ['sense'] + [f'{metric}_{lang}' for metric in measures for lang in languages]
        headers = {
            f'{metric}_{lang}': f"{USAGE_LABELS[metric]} {lang}" if two else name
            for metric in measures
            for lang, name in zip(languages, names)
        }
        per_sense = [
            {
                'sense': k,
                **{
                    f'{metric}_{lang}': result['metrics'][metric]['languages'][lang]['values'][k]
                    for metric in measures
                    for lang in languages
                },
            }
            for k in range(K)
        ]
        if not two:
            text.append(f"{USAGE_LABELS[measures[0]].capitalize()} per sense:\n\n")
        text.append(
            markdown_table(per_sense, columns, formats={c: '.3f' for c in columns[1:]}, headers=headers)
            + '\n'
        )
    return text


USAGE_LABELS = {'norm_share': 'norm share', 'logit_share': 'logit share', 'self_weight': 'self weight'}
