"""
Cross-lingual sense alignment: does sense k of an English word mean what sense k of its French
translation means -- and so for every pair of the model's languages. The K x K matrix of mean
cosine similarity between the senses of words and those of their translations; if a shared
multilingual Backpack gives each sense index one role across languages, its diagonal stands out.
The statistic is the mean diagonal minus the mean off-diagonal, tested against shuffling which
translation goes with which word, so that a sense alike in all words (a shared bias, say) does
not count as alignment; each sense's diagonal entry gets its own p-value under the same shuffles.
The translation lexicon of each pair of languages comes from senses/lexicons.py.
"""

from __future__ import annotations

import os
from typing import NamedTuple, TypedDict

import numpy as np
import torch
import torch.nn.functional as F

from common.languages import language_name, pair_name
from common.reporting import heatmap, language_matrix, markdown_table, write_csv
from common.tokenizer import Tokenizer, ids_without_rows, missing_rows_message
from evaluation.statistics import bootstrap_mean_ci, permutation_test
from senses import Skipped
from senses.analysis_inputs import AnalysisInputs, AnalysisOptions
from senses.lexicons import language_pairs, lexicons_for, no_lexicon_message, pair_key
from senses.report import format_ci, format_p, p_text
from senses.vectors import word_sense_vectors
from senses.word_tokens import word_tokens

TITLE = 'Cross-lingual sense alignment'
NEEDS = ('senses',)


def alignment_matrix(first_senses: torch.Tensor, second_senses: torch.Tensor) -> torch.Tensor:
    """(K, K): mean over pairs p of cos(C(first_p)_k, C(second_p)_k')."""
    first = F.normalize(first_senses.float(), dim=-1)
    second = F.normalize(second_senses.float(), dim=-1)
    return torch.einsum('pkd,pld->kl', first, second) / first.size(0)


class SenseAlignment(TypedDict):
    """sense_alignment's result: the statistic, its interval and p-value, and per sense."""

    n_pairs: int
    n_senses: int
    matrix: list[list[float]]  # (K, K) mean cosine, sense k of the first word x sense k' of the second
    diagonal_mean: float
    off_diagonal_mean: float
    statistic: float  # diagonal_mean - off_diagonal_mean
    statistic_ci95: list[float]  # bootstrap over pairs
    p_value: float
    n_permutations: int
    null_mean: float
    null_95th_percentile: float
    per_sense: list[dict]  # sense, diagonal, null_mean, p_value


def sense_alignment(
    first_senses: torch.Tensor,
    second_senses: torch.Tensor,
    n_permutations: int = 1000,
    n_bootstrap: int = 1000,
    seed: int = 0,
) -> SenseAlignment:
    """Does sense k of a word mean what sense k of its translation means? first_senses and
    second_senses (P, K, d) are the senses of P translation pairs. The statistic is the mean
    diagonal minus the mean off-diagonal of the alignment matrix; its null distribution comes
    from shuffling which translation goes with which word (a sense that is alike in all
    words, e.g. a shared bias, does not count as alignment). Also, per sense, the diagonal
    entry and its own p-value under the same shuffles. K must be at least 2."""
    P, K = first_senses.shape[:2]
    if K < 2:
        raise ValueError("the alignment statistic needs at least 2 senses per token")
    if P < 3:
        raise ValueError(f"only {P} translation pairs: the permutation test needs at least 3")
    first = F.normalize(first_senses.float(), dim=-1).cpu()
    second = F.normalize(second_senses.float(), dim=-1).cpu()
    matrix = alignment_matrix(first, second)
    # same_sense[k, p, q] = cos(C(first_p)_k, C(second_q)_k); all_senses[p, q] = sum over k, k' of cosines
    same_sense = torch.einsum('pkd,qkd->kpq', first, second).numpy().astype(np.float64)
    all_senses = (first.sum(1) @ second.sum(1).T).numpy().astype(np.float64)
    diagonal_sum = same_sense.sum(0)
    rows = np.arange(P)

    def statistic(pairing):
        d = diagonal_sum[rows, pairing]
        return d.mean() / K - (all_senses[rows, pairing] - d).mean() / (K * K - K)

    pairings = []

    def shuffle_pairs(pairing, rng):
        permuted = rng.permutation(P)
        pairings.append(permuted)
        return permuted

    observed, p_value, null = permutation_test(statistic, rows, shuffle_pairs, n_permutations, seed)
    own = diagonal_sum[rows, rows]  # each pair with its true translation
    per_pair = own / K - (all_senses[rows, rows] - own) / (K * K - K)
    low, high = bootstrap_mean_ci(per_pair, n_resamples=n_bootstrap, seed=seed)
    off = (matrix.sum() - matrix.diagonal().sum()) / (K * K - K)
    return SenseAlignment(
        n_pairs=P,
        n_senses=K,
        matrix=matrix.numpy().tolist(),
        diagonal_mean=float(matrix.diagonal().mean()),
        off_diagonal_mean=float(off),
        statistic=float(observed),
        statistic_ci95=[low, high],
        p_value=float(p_value),
        n_permutations=n_permutations,
        null_mean=float(null.mean()),
        null_95th_percentile=float(np.quantile(null, 0.95)),
        per_sense=per_sense_alignment(matrix, same_sense, np.stack(pairings), n_permutations),
    )


def per_sense_alignment(
    matrix: torch.Tensor, same_sense: np.ndarray, pairings: np.ndarray, n_permutations: int
) -> list[dict]:
    """Each sense's diagonal entry of the alignment matrix and its p-value under the shuffles
    of the test (pairings (n_permutations, P), the translation each word got)."""
    rows = np.arange(pairings.shape[1])
    per_sense_null = same_sense[:, rows, pairings].mean(-1)  # (K, n_permutations)
    diagonal = np.diagonal(matrix.numpy()).astype(np.float64)
    per_sense_p = (1 + (per_sense_null >= diagonal[:, None] - 1e-12).sum(1)) / (n_permutations + 1)
    return [
        {
            'sense': k,
            'diagonal': float(diagonal[k]),
            'null_mean': float(per_sense_null[k].mean()),
            'p_value': float(per_sense_p[k]),
        }
        for k in range(len(diagonal))
    ]


def _article(name):
    return 'an' if name[:1].lower() in 'aeiou' else 'a'


class UsablePairs(NamedTuple):
    """The translation pairs an alignment reads, and how many were left out and why."""

    kept: list[tuple[str, str, list[int], list[int]]]  # (word of a, word of b, their token ids)
    n_identical: int  # both words the same token(s)
    n_split: int  # a word of several tokens, with skip_split_words


def usable_pairs(
    model: torch.nn.Module,
    tokenizer: Tokenizer,
    pairs: list[tuple[str, str]],
    options: AnalysisOptions,
    name: str,
) -> UsablePairs:
    """The pairs [(word of a, word of b)] whose words have tokens the model has rows for, once
    each: a pair whose words are the same token is left out, and one with a word of several
    tokens too when skip_split_words (else multi_token represents it). Pairs left out for
    tokens without rows are said, after the name of their languages ('en-fr')."""
    kept, seen, n_identical, n_split, without_rows = [], set(), 0, 0, []
    for word_a, word_b in pairs:
        ids_a, ids_b = word_tokens(tokenizer, word_a), word_tokens(tokenizer, word_b)
        if not ids_a or not ids_b:
            continue
        if ids_without_rows(ids_a + ids_b, model.config.vocab_size):
            without_rows += ids_without_rows(ids_a + ids_b, model.config.vocab_size)
            continue
        # what represents each word: its first token, or all its tokens (averaged)
        key = (tuple(ids_a), tuple(ids_b)) if options.multi_token == 'average' else (ids_a[0], ids_b[0])
        if key[0] == key[1]:
            n_identical += 1  # the same token(s): trivially aligned
            continue
        if options.skip_split_words and (len(ids_a) > 1 or len(ids_b) > 1):
            n_split += 1
            continue
        if key not in seen:
            seen.add(key)
            kept.append((word_a, word_b, ids_a, ids_b))
    if without_rows:
        print(
            f"  {name}: pairs left out, their words hold "
            f"{missing_rows_message(tokenizer, without_rows, model.config.vocab_size)}"
        )
    return UsablePairs(kept, n_identical, n_split)


class PairResult(SenseAlignment):
    """The alignment of one pair of languages, senses.json's 'language_pairs' entry."""

    languages: list[str]
    seed: int
    source: str  # the lexicon
    n_pairs_given: int
    n_identical_token: int
    n_split: int
    skip_split_words: bool
    multi_token: str
    pairs: list[tuple[str, str]]
    files: dict  # figure, csv


def align_pair(inputs: AnalysisInputs, a: str, b: str, lexicon: dict, seed: int) -> PairResult:
    """sense_alignment of up to max_pairs translation pairs of the languages a, b from lexicon
    ({'words': [(word of a, word of b)], 'source'}; see usable_pairs for those left out). Writes
    sense_alignment_<a>-<b>.png (the matrix) and .csv to report_dir; Skipped when fewer than 3
    pairs are left."""
    model, options = inputs.model, inputs.options
    usable = usable_pairs(model, inputs.tokenizer, lexicon['words'], options, pair_key(a, b))
    kept = usable.kept[: options.max_pairs]
    if len(kept) < 3:
        raise Skipped(
            f"only {len(kept)} usable translation pairs from {lexicon['source']} ({usable.n_identical} are "
            f"the same token in both languages, {usable.n_split} have a word split into several "
            f"tokens: --skip_split_words=False keeps those)"
        )
    senses_a = word_sense_vectors(model, [k[2] for k in kept], options.multi_token)
    senses_b = word_sense_vectors(model, [k[3] for k in kept], options.multi_token)
    name = pair_key(a, b)
    result = PairResult(
        **sense_alignment(senses_a, senses_b, options.n_permutations, options.n_bootstrap, seed),
        languages=[a, b],
        seed=seed,
        source=lexicon['source'],
        n_pairs_given=len(lexicon['words']),
        n_identical_token=usable.n_identical,
        n_split=usable.n_split,
        skip_split_words=options.skip_split_words,
        multi_token=options.multi_token,
        pairs=[(x, y) for x, y, _, _ in kept],
        files={'figure': f'sense_alignment_{name}.png', 'csv': f'sense_alignment_{name}.csv'},
    )
    write_pair_files(result, inputs.report_dir)
    return result


def write_pair_files(result: PairResult, report_dir: str) -> None:
    """A pair's matrix as a heatmap (its 'figure') and as a CSV with each sense's p-value."""
    (a, b), K = result['languages'], result['n_senses']
    matrix = np.array(result['matrix'])
    limit = float(np.abs(matrix).max()) or 1.0
    heatmap(
        os.path.join(report_dir, result['files']['figure']),
        matrix,
        [f"{a} {k}" for k in range(K)],
        [f"{b} {k}" for k in range(K)],
        cmap='RdBu_r',
        vmin=-limit,
        vmax=limit,
        colorbar_label='mean cosine similarity',
        annotate=K <= 8,
        title=f"Sense k ({language_name(a)}) vs sense k' ({language_name(b)} translation), "
        f"{len(result['pairs'])} pairs\ndiagonal - off-diagonal = {result['statistic']:.3f}, permutation "
        f"{p_text(result['p_value'], result['n_permutations'])}",
    )
    rows = [
        {
            f'{a}_sense': k,
            **{f'{b}_{j}': matrix[k, j] for j in range(K)},
            'diagonal_p_value': result['per_sense'][k]['p_value'],
        }
        for k in range(K)
    ]
    write_csv(
        os.path.join(report_dir, result['files']['csv']),
        rows,
        [f'{a}_sense'] + [f'{b}_{j}' for j in range(K)] + ['diagonal_p_value'],
    )


def run(inputs: AnalysisInputs) -> dict:
    """align_pair for each pair of the held-out data's languages (meta.json order; pairs in
    senses.lexicons.language_pairs order) with its translation lexicon (senses.lexicons: the
    TSV files --translation_pairs, the gold bilingual lexicon, Multi-SimLex's translations in
    --simlex, or built-in English-French pairs). The i-th pair's permutations and bootstrap draw
    from seed + i, so the first pair draws what a single English-French test drew. Writes each
    pair's files, sense_alignment.csv (a row per pair) and, with three languages or more,
    sense_alignment_languages.png (the statistic per pair of languages). The result (senses.json's
    'alignment'): languages, language_pairs {'en-fr': PairResult}, not_aligned {'en-de':
    {languages, reason}}, files."""
    languages = inputs.languages
    if len(languages) < 2:
        raise Skipped(
            f"the held-out data has {len(languages)} language(s) "
            f"({', '.join(map(language_name, languages)) or 'none'}): nothing to align across"
        )
    if inputs.model.config.n_sense_vector < 2:
        raise Skipped("the model has a single sense per token: nothing to align")
    options = inputs.options
    gold_directory = inputs.gold.directory if inputs.gold is not None else None
    lexicons = lexicons_for(languages, options.translation_pairs, gold_directory, options.simlex)
    results, not_aligned = {}, {}
    for index, (a, b) in enumerate(language_pairs(languages)):
        try:
            if lexicons[(a, b)] is None:
                raise Skipped(no_lexicon_message(a, b))
            results[pair_key(a, b)] = align_pair(inputs, a, b, lexicons[(a, b)], options.seed + index)
        except Skipped as reason:
            not_aligned[pair_key(a, b)] = {'languages': [a, b], 'reason': str(reason)}
    if not results:
        if len(not_aligned) == 1:
            raise Skipped(next(iter(not_aligned.values()))['reason'])
        raise Skipped('; '.join(f"{pair_name(*n['languages'])}: {n['reason']}" for n in not_aligned.values()))
    result = {
        'languages': list(languages),
        'language_pairs': results,
        'not_aligned': not_aligned,
        'files': {
            'csv': 'sense_alignment.csv',
            'matrix_figure': 'sense_alignment_languages.png' if len(languages) > 2 else None,
        },
    }
    write_csv(os.path.join(inputs.report_dir, 'sense_alignment.csv'), summary_rows(results), SUMMARY_COLUMNS)
    if result['files']['matrix_figure']:
        statistics = {tuple(r['languages']): r['statistic'] for r in results.values()}
        limit = max(abs(v) for v in statistics.values()) or 1.0
        language_matrix(
            os.path.join(inputs.report_dir, result['files']['matrix_figure']),
            languages,
            statistics,
            cmap='RdBu_r',
            vmin=-limit,
            vmax=limit,
            colorbar_label='diagonal - off-diagonal (mean cosine)',
            title='Sense alignment per pair of languages\n(blank: not aligned)',
        )
    return result


SUMMARY_COLUMNS = [
    'pair',
    'language1',
    'language2',
    'source',
    'n_pairs',
    'n_senses',
    'diagonal_mean',
    'off_diagonal_mean',
    'statistic',
    'statistic_ci95_low',
    'statistic_ci95_high',
    'p_value',
    'null_mean',
    'excess_over_shuffled',
    'seed',
]


def summary_rows(results: dict[str, PairResult]) -> list[dict]:
    """sense_alignment.csv: a row per pair of languages (SUMMARY_COLUMNS)."""
    return [
        {
            'pair': key,
            'language1': r['languages'][0],
            'language2': r['languages'][1],
            'source': r['source'],
            'n_pairs': r['n_pairs'],
            'n_senses': r['n_senses'],
            'diagonal_mean': r['diagonal_mean'],
            'off_diagonal_mean': r['off_diagonal_mean'],
            'statistic': r['statistic'],
            'statistic_ci95_low': r['statistic_ci95'][0],
            'statistic_ci95_high': r['statistic_ci95'][1],
            'p_value': r['p_value'],
            'null_mean': r['null_mean'],
            'excess_over_shuffled': r['statistic'] - r['null_mean'],
            'seed': r['seed'],
        }
        for key, r in results.items()
    ]


def results_by_pair(result: dict) -> dict[str, dict]:
    """{'en-fr': the pair's result} of an alignment result; one written before results were
    kept per pair (a single English-French result) is read as its en-fr pair."""
    if 'language_pairs' in result:
        return result['language_pairs']
    return {
        'en-fr': {
            **result,
            'languages': ['en', 'fr'],
            'files': {
                'figure': 'sense_alignment.png',
                'csv': 'sense_alignment.csv',
                **result.get('files', {}),
            },
        }
    }


def pair_markdown(result: dict) -> str:
    """The alignment of one pair of languages: the statistic, its interval and p-value, the
    significant senses, the figure."""
    first, second = map(language_name, result['languages'])
    text = [
        f"Mean cosine similarity between sense k of {_article(first)} {first} word and sense k' of "
        f"its {second} translation, over {result['n_pairs']} translation pairs ({result['source']}; "
        f"{result['n_identical_token']} {'pair' if result['n_identical_token'] == 1 else 'pairs'} "
        f"left out because both words are the same token, "
        f"{result['n_split']} because a word is split into several tokens"
        + (
            ''
            if result['skip_split_words']
            else ", split words represented by their first token"
            if result['multi_token'] == 'first'
            else ", split words represented by the mean over their tokens"
        )
        + "). If sense k means the same thing in both languages, the diagonal stands out. "
        f"The statistic is the mean diagonal minus the mean off-diagonal; its p-value comes "
        f"from {result['n_permutations']} shuffles of which {second} word goes with which "
        f"{first} word (a sense that is alike in every word does not count).\n\n"
    ]
    rows = [
        {'quantity': 'mean diagonal', 'value': result['diagonal_mean']},
        {'quantity': 'mean off-diagonal', 'value': result['off_diagonal_mean']},
        {
            'quantity': 'diagonal - off-diagonal',
            'value': result['statistic'],
            'ci95': format_ci(result['statistic_ci95']),
            'p': format_p(result['p_value'], result['n_permutations']),
        },
        {'quantity': 'same, pairs shuffled (null mean)', 'value': result['null_mean']},
        {'quantity': 'excess over shuffled pairs', 'value': result['statistic'] - result['null_mean']},
    ]
    text.append(
        markdown_table(
            rows,
            ['quantity', 'value', 'ci95', 'p'],
            formats={'value': '.4f'},
            headers={'ci95': '95% CI (pairs)', 'p': 'permutation p'},
        )
    )
    significant = [s['sense'] for s in result['per_sense'] if s['p_value'] < 0.05]
    text.append(
        f"\nSenses whose diagonal entry beats shuffled pairs (p < 0.05, uncorrected): "
        f"{', '.join(map(str, significant)) or 'none'} of {result['n_senses']}.\n\n"
    )
    text.append(f"![alignment]({result['files']['figure']})\n")
    return ''.join(text)


def markdown(result: dict) -> str:
    """The section of senses.md: with one pair of languages, its alignment (pair_markdown); with
    more, a table with a row per pair, the pairs not aligned and why, the language x language
    figure, then each pair's alignment."""
    pairs, not_aligned = results_by_pair(result), result.get('not_aligned', {})
    if len(pairs) == 1 and not not_aligned:
        return pair_markdown(next(iter(pairs.values())))
    names = {key: pair_name(*r['languages']) for key, r in pairs.items()}
    text = [
        f"Sense alignment for each pair of languages "
        f"({', '.join(map(language_name, result.get('languages', [])))}): the mean cosine "
        f"similarity of sense k of a word with sense k of its translation, minus that with the "
        f"translation's other senses, against shuffled translation pairs (each pair's section "
        f"below says more). The i-th pair of languages draws its shuffles from seed + i.\n\n"
    ]
    rows = [
        {
            'languages': names[key],
            'source': r['source'],
            'n_pairs': r['n_pairs'],
            'statistic': r['statistic'],
            'ci95': format_ci(r['statistic_ci95']),
            'p': format_p(r['p_value'], r['n_permutations']),
            'null_mean': r['null_mean'],
            'excess': r['statistic'] - r['null_mean'],
            'senses': f"{sum(s['p_value'] < 0.05 for s in r['per_sense'])} of {r['n_senses']}",
        }
        for key, r in pairs.items()
    ]
    text.append(
        markdown_table(
            rows,
            ['languages', 'source', 'n_pairs', 'statistic', 'ci95', 'p', 'null_mean', 'excess', 'senses'],
            formats={'statistic': '.4f', 'null_mean': '.4f', 'excess': '.4f'},
            headers={
                'source': 'lexicon',
                'n_pairs': 'pairs',
                'statistic': 'diagonal - off-diagonal',
                'ci95': '95% CI (pairs)',
                'p': 'permutation p',
                'null_mean': 'shuffled (null mean)',
                'excess': 'excess over shuffled',
                'senses': 'senses with p < 0.05',
            },
        )
    )
    for n in not_aligned.values():
        text.append(f"\n- not aligned, {pair_name(*n['languages'])}: {n['reason']}")
    text.append('\n\n')
    if result.get('files', {}).get('matrix_figure'):
        text.append(f"![alignment per pair of languages]({result['files']['matrix_figure']})\n\n")
    for key, r in pairs.items():
        text.append(f"### {names[key]}\n\n{pair_markdown(r)}\n")
    return ''.join(text)


def headline(result: dict, n_permutations: int | None = None) -> str:
    """The alignment in one sentence (demo.py's report). n_permutations: for a result that does
    not record its own (the floor of its p-values depends on it)."""
    pairs = results_by_pair(result)
    if len(pairs) == 1:
        one = next(iter(pairs.values()))
        first, second = map(language_name, one['languages'])
        return (
            f"- Cross-lingual alignment: sense k of {_article(first)} {first} word is closer (cosine) "
            f"to sense k of its {second} translation than to the translation's other senses: "
            f"diagonal minus off-diagonal {one['statistic']:.3f}, against {one['null_mean']:.3f} "
            f"for shuffled pairs (permutation p "
            f"{format_p(one['p_value'], one.get('n_permutations', n_permutations))}, "
            f"{one['n_pairs']} pairs)."
        )
    return (
        "- Cross-lingual alignment: sense k of a word against sense k of its translation, "
        "diagonal minus off-diagonal per pair of languages, against shuffled pairs: "
        + '; '.join(
            f"{pair_name(*r['languages'])} {r['statistic']:.3f} against "
            f"{r['null_mean']:.3f} (permutation p "
            f"{format_p(r['p_value'], r.get('n_permutations', n_permutations))}, "
            f"{r['n_pairs']} pairs)"
            for r in pairs.values()
        )
        + '.'
    )
