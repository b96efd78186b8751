"""
Lexical similarity: do a word's senses place it near the words people judge similar? The
Spearman correlation between human similarity scores (Multi-SimLex, or any CSV of scored word
pairs) and the cosine similarity of the two words under each representation a model has: its
token embedding (the GPT-2 baseline's only one), each sense k, the mean and the max over senses
-- within each language and across each pair of languages (an English word beside a French
one), for every language of the model that the word pairs have. A pair with a word that is no
single token is out of vocabulary and counted.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Collection, Sequence
from typing import NamedTuple, NotRequired, TypedDict

import numpy as np
import torch
import torch.nn.functional as F

from common.languages import language_name, pair_name
from common.reporting import grouped_bar_chart, language_matrix, markdown_table, write_csv
from common.tokenizer import Tokenizer, ids_without_rows, missing_rows_message
from senses import Skipped
from senses.analysis_inputs import AnalysisInputs
from senses.lexicons import language_pairs, pair_key
from senses.similarity_datasets import multisimlex_languages, read_multisimlex, read_similarity_csv
from senses.vectors import is_backpack, word_embeddings, word_sense_vectors
from senses.word_tokens import word_tokens

TITLE = 'Lexical similarity'
NEEDS = ()


def cosine_by_sense(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """a, b (n, K, d) -> (n, K): cos(a_k, b_k) for each sense."""
    return F.cosine_similarity(a.float(), b.float(), dim=-1)


def spearman(human: Sequence[float], model_scores: Sequence[float]) -> tuple[float, float]:
    """Spearman's rho and its p-value (scipy.stats.spearmanr); NaN when undefined (fewer than 3
    pairs or a constant column)."""
    from scipy.stats import spearmanr

    human, model_scores = np.asarray(human, float), np.asarray(model_scores, float)
    if len(human) < 3 or np.ptp(human) == 0 or np.ptp(model_scores) == 0:
        return math.nan, math.nan
    rho, p = spearmanr(human, model_scores)
    return float(rho), float(p)


def similarity_representations(
    model: torch.nn.Module,
    token_id_lists_1: list[list[int]],
    token_id_lists_2: list[list[int]],
    multi_token: str = 'first',
) -> dict[str, np.ndarray]:
    """Cosine similarity of each pair under each representation the model has:
    {'token embedding': (n,)} and, for a Backpack, 'sense k' for each k, 'mean over senses'
    and 'max over senses' (the most similar same-index senses)."""
    scores = {
        'token embedding': F.cosine_similarity(
            word_embeddings(model, token_id_lists_1, multi_token),
            word_embeddings(model, token_id_lists_2, multi_token),
            dim=-1,
        )
        .cpu()
        .numpy()
    }
    if is_backpack(model):
        by_sense = cosine_by_sense(
            word_sense_vectors(model, token_id_lists_1, multi_token),
            word_sense_vectors(model, token_id_lists_2, multi_token),
        ).cpu()
        scores['mean over senses'] = by_sense.mean(1).numpy()
        scores['max over senses'] = by_sense.max(1).values.numpy()
        for k in range(by_sense.size(1)):
            scores[f'sense {k}'] = by_sense[:, k].numpy()
    return scores


def pair_type_order(types: Collection[str], languages: Sequence[str] = ()) -> list[str]:
    """The pair types in the order of the tables: within each of `languages` ('en-en'), then
    across each pair of them ('en-fr', senses.lexicons.language_pairs order), then any others
    alphabetically, then 'all' (every pair together) when there are several types."""
    within = [pair_key(lang, lang) for lang in languages]
    across = [pair_key(a, b) for a, b in language_pairs(languages)]
    known = [t for t in within + across if t in types]
    ordered = known + sorted(set(types) - set(known) - {'all'})
    return ordered + ['all'] if len(ordered) > 1 or 'all' in types else ordered


def pair_type_name(pair_type_code: str, pairs: list[dict]) -> str:
    """'en-en' -> 'English', 'en-fr' -> 'English-French', 'all' -> 'all pairs', from the
    languages of the word pairs of that type."""
    if pair_type_code == 'all':
        return 'all pairs'
    for p in pairs:
        if p['pair_type'] == pair_type_code:
            a, b = p['language1'], p['language2']
            if a == b:
                return language_name(a)
            return pair_name(a, b) if pair_key(a, b) == pair_type_code else pair_name(b, a)
    return pair_type_code


class PairTokens(NamedTuple):
    """The word pairs a similarity study can score, and what happened to each pair."""

    status: np.ndarray  # per pair: 'scored', 'oov scored', 'oov' (left out) or 'missing'
    ids1: list[list[int]]  # the token ids of the first word of each pair scored
    ids2: list[list[int]]
    scored: list[int]  # the indices of the pairs scored
    oov_words: dict[str, int]  # the words of several tokens, with how many pairs hold each


def pair_tokens(
    pairs: list[dict], model: torch.nn.Module, tokenizer: Tokenizer, label: str, skip_split_words: bool
) -> PairTokens:
    """Each pair's words as tokens: a pair without a score or a word (or with a token the model
    has no row for) is missing; one with a word that is no single token is out of vocabulary,
    and left out with skip_split_words."""
    status, ids1, ids2, scored = [], [], [], []
    oov_words, without_rows = {}, []
    for n, pair in enumerate(pairs):
        a, b = (
            word_tokens(tokenizer, pair['word1']) if pair['word1'] else [],
            word_tokens(tokenizer, pair['word2']) if pair['word2'] else [],
        )
        unreadable = ids_without_rows(a + b, model.config.vocab_size)
        without_rows += unreadable
        if pair['score'] is None or not a or not b or unreadable:
            status.append('missing')
            continue
        split = [w for w, ids in ((pair['word1'], a), (pair['word2'], b)) if len(ids) != 1]
        for w in split:
            oov_words[w] = oov_words.get(w, 0) + 1
        if split and skip_split_words:
            status.append('oov')
            continue
        status.append('oov scored' if split else 'scored')
        ids1.append(a)
        ids2.append(b)
        scored.append(n)
    if without_rows:
        print(
            f"  {label}: pairs counted as missing, their words hold "
            f"{missing_rows_message(tokenizer, without_rows, model.config.vocab_size)}"
        )
    return PairTokens(np.array(status), ids1, ids2, scored, oov_words)


class SimilarityRow(TypedDict):
    """A row of the similarity (senses.json's similarity 'rows', lexical_similarity.csv)."""

    model: str
    pair_type: str  # 'en-en', 'en-fr', ..., 'all'
    pair_name: str  # 'English', 'English-French', 'all pairs'
    representation: str  # 'token embedding', 'sense k', 'mean over senses', ..., 'best sense (...)'
    n_pairs: int
    n_oov: int
    n_missing: int
    n_scored: int
    spearman: float
    p_value: float


def similarity_study(
    pairs: list[dict],
    model: torch.nn.Module,
    tokenizer: Tokenizer,
    label: str,
    multi_token: str = 'first',
    skip_split_words: bool = True,
    languages: tuple[str, ...] = (),
) -> tuple[list[SimilarityRow], dict]:
    """Spearman correlation between human similarity scores and the model's cosine
    similarities (see similarity_representations), per pair type in pair_type_order (en-en,
    fr-fr, en-fr, ..., and all of them together when there are several). A pair with a word that
    is no single token is out of vocabulary: counted and, with skip_split_words, left out (else
    represented by multi_token); a pair without a score or a word is counted as missing.
    Returns (rows, {'oov_words': [...], 'n_pairs', 'n_oov', 'n_missing', 'n_scored'})."""
    tokens = pair_tokens(pairs, model, tokenizer, label, skip_split_words)
    scores = similarity_representations(model, tokens.ids1, tokens.ids2, multi_token) if tokens.scored else {}
    rows = []
    for group in pair_type_order({p['pair_type'] for p in pairs}, languages):
        rows.extend(group_rows(group, pairs, tokens, scores, label))
    summary = {
        'n_pairs': len(pairs),
        'n_oov': int(np.isin(tokens.status, ['oov', 'oov scored']).sum()),
        'n_missing': int((tokens.status == 'missing').sum()),
        'n_scored': len(tokens.scored),
        'oov_words': sorted(tokens.oov_words, key=lambda w: -tokens.oov_words[w])[:50],
    }
    return rows, summary


def group_rows(
    group: str, pairs: list[dict], tokens: PairTokens, scores: dict[str, np.ndarray], label: str
) -> list[SimilarityRow]:
    """The rows of one pair type ('all': every pair): a row per representation with the counts
    and Spearman's rho, and for a Backpack the best sense (chosen on these pairs)."""
    in_group = np.array([group == 'all' or p['pair_type'] == group for p in pairs], dtype=bool)
    members = [i for i, n in enumerate(tokens.scored) if in_group[n]]
    human = [pairs[tokens.scored[i]]['score'] for i in members]
    counts = {
        'n_pairs': int(in_group.sum()),
        'n_oov': int((in_group & np.isin(tokens.status, ['oov', 'oov scored'])).sum()),
        'n_missing': int((in_group & (tokens.status == 'missing')).sum()),
        'n_scored': len(members),
    }
    rows = []
    for representation, values in scores.items():
        rho, p = spearman(human, values[members])
        rows.append(
            {
                'model': label,
                'pair_type': group,
                'pair_name': pair_type_name(group, pairs),
                'representation': representation,
                **counts,
                'spearman': rho,
                'p_value': p,
            }
        )
    per_sense = [
        r for r in rows if r['representation'].startswith('sense ') and not math.isnan(r['spearman'])
    ]
    if per_sense:
        best = max(per_sense, key=lambda r: r['spearman'])
        rows.append(
            {**best, 'representation': f"best sense ({best['representation']}, chosen on these pairs)"}
        )
    return rows


def matrix_representation(rows: list[SimilarityRow], label: str) -> str:
    """The representation a model's language x language figure shows: 'mean over senses' for a
    Backpack, its 'token embedding' otherwise."""
    have = {r['representation'] for r in rows if r['model'] == label}
    return 'mean over senses' if 'mean over senses' in have else 'token embedding'


def _file_label(label):
    return re.sub(r'[^a-z0-9]+', '_', label.lower()).strip('_')


def read_pairs(inputs: AnalysisInputs) -> tuple[list[dict], str, list[str]]:
    """(the scored word pairs, where they come from, the languages of the held-out data that
    Multi-SimLex lacks): Multi-SimLex's (--simlex: every language of the data that it has, and
    every pair of them), or --similarity_csv's. Skipped without either, or when Multi-SimLex
    has none of the languages."""
    simlex, languages = inputs.options.simlex, inputs.languages
    if simlex:
        held = multisimlex_languages(simlex)
        used = [lang for lang in languages if lang in held]
        if not used:
            raise Skipped(
                f"Multi-SimLex ({simlex}) has none of the model's languages "
                f"({', '.join(f'{language_name(l)} ({l})' for l in languages)}); it has "
                f"{', '.join(map(language_name, held))}: --similarity_csv=FILE gives other pairs"
            )
        absent = [lang for lang in languages if lang not in held]
        return read_multisimlex(simlex, used), f"Multi-SimLex, {simlex}", absent
    if inputs.options.similarity_csv:
        csv_file = inputs.options.similarity_csv
        return read_similarity_csv(csv_file, languages), csv_file, []
    raise Skipped(
        "needs word pairs with human similarity scores: --simlex=DIR (Multi-SimLex's "
        "translation.csv and scores.csv) or --similarity_csv=FILE (word1,word2,score)"
    )


CSV_COLUMNS = [
    'model',
    'pair_type',
    'pair_name',
    'representation',
    'n_pairs',
    'n_oov',
    'n_missing',
    'n_scored',
    'spearman',
    'p_value',
]


class SimilarityResult(TypedDict):
    """The result of run, senses.json's 'similarity'."""

    source: str
    multi_token: str
    skip_split_words: bool
    languages: list[str]
    absent_languages: list[str]  # languages of the data that Multi-SimLex lacks
    rows: list[SimilarityRow]  # every model's similarity_study rows
    summaries: dict[str, dict]  # per model: similarity_study's summary
    files: NotRequired[dict]  # csv, figure, matrices {model: png}


def run(inputs: AnalysisInputs) -> SimilarityResult:
    """similarity_study of each of inputs.models on the pairs of Multi-SimLex or of
    --similarity_csv (read_pairs). Writes lexical_similarity.csv, lexical_similarity.png and,
    with two languages or more, per model lexical_similarity_languages_<model>.png (Spearman per
    pair of languages, monolingual on the diagonal) to report_dir."""
    pairs, source, absent = read_pairs(inputs)
    options, languages, report_dir = inputs.options, inputs.languages, inputs.report_dir
    result = SimilarityResult(
        source=source,
        multi_token=options.multi_token,
        skip_split_words=options.skip_split_words,
        languages=list(languages),
        absent_languages=absent,
        rows=[],
        summaries={},
    )
    for model_label, m, t in inputs.models:
        rows, summary = similarity_study(
            pairs, m, t, model_label, options.multi_token, options.skip_split_words, languages
        )
        result['rows'].extend(rows)
        result['summaries'][model_label] = summary
    write_csv(os.path.join(report_dir, 'lexical_similarity.csv'), result['rows'], CSV_COLUMNS)
    shown = similarity_figure(result['rows'], report_dir)
    result['files'] = {
        'csv': 'lexical_similarity.csv',
        'figure': 'lexical_similarity.png' if shown else None,
        'matrices': {},
    }
    scored_languages = [
        lang for lang in languages if any(lang in (p['language1'], p['language2']) for p in pairs)
    ]
    if len(scored_languages) >= 2:
        for model_label, _, _ in inputs.models:
            result['files']['matrices'][model_label] = language_figure(
                result['rows'], model_label, scored_languages, report_dir
            )
    return result


def similarity_figure(rows: list[SimilarityRow], report_dir: str) -> bool:
    """lexical_similarity.png: Spearman's rho per pair type of the token embedding and the
    mean and max over senses of each model; False (no figure) when there are no such rows."""
    shown = [
        r for r in rows if r['representation'] in ('token embedding', 'mean over senses', 'max over senses')
    ]
    groups = list(dict.fromkeys(r['pair_type'] for r in shown))
    names = {r['pair_type']: r['pair_name'] for r in shown}
    series = {}
    for r in shown:
        series.setdefault(f"{r['model']}: {r['representation']}", {})[r['pair_type']] = r['spearman']
    if shown:
        grouped_bar_chart(
            os.path.join(report_dir, 'lexical_similarity.png'),
            [names[g] for g in groups],
            {name: [v.get(g) for g in groups] for name, v in series.items()},
            ylabel="Spearman's rho with human scores",
            title='Lexical similarity',
        )
    return bool(shown)


def language_figure(
    rows: list[SimilarityRow], model_label: str, languages: list[str], report_dir: str
) -> str:
    """A model's Spearman's rho per pair of languages (within a language on the diagonal), of
    matrix_representation; returns the file's name."""
    representation = matrix_representation(rows, model_label)
    of_type = {pair_key(a, b): (a, b) for a in languages for b in languages}
    values = {
        of_type[r['pair_type']]: r['spearman']
        for r in rows
        if r['model'] == model_label
        and r['representation'] == representation
        and r['pair_type'] in of_type
        and not math.isnan(r['spearman'])
    }
    name = f"lexical_similarity_languages_{_file_label(model_label)}.png"
    language_matrix(
        os.path.join(report_dir, name),
        languages,
        values,
        cmap='RdBu_r',
        vmin=-1,
        vmax=1,
        colorbar_label="Spearman's rho with human scores",
        title=f"Lexical similarity, {model_label} ({representation})\n"
        f"within a language (diagonal) and across languages",
    )
    return name


def markdown(result: dict) -> str:
    """The section of senses.md: the correlations per pair type (a table each), model and
    representation; the languages the word pairs lack; the figures."""
    text = [
        f"Spearman correlation between human similarity scores ({result['source']}) and "
        f"cosine similarities. A pair whose word is no single token of the model's vocabulary "
        f"is out of vocabulary: "
        + (
            "counted and left out"
            if result['skip_split_words']
            else "counted, and represented by its first token"
            if result['multi_token'] == 'first'
            else "counted, and represented by the mean over their tokens"
        )
        + ". 'best sense' is chosen on the same pairs, so it is optimistic. Per-sense "
        "correlations are in lexical_similarity.csv.\n\n"
    ]
    if result.get('absent_languages'):
        text.append(
            f"Multi-SimLex has no words for "
            f"{', '.join(f'{language_name(l)} ({l})' for l in result['absent_languages'])}, "
            f"a language of the model: no pairs within or across it.\n\n"
        )
    rows = [r for r in result['rows'] if not r['representation'].startswith('sense ')]
    for pair_type_code in dict.fromkeys(r['pair_type'] for r in rows):
        text.append(pair_type_table(pair_type_code, [r for r in rows if r['pair_type'] == pair_type_code]))
    for label, summary in result['summaries'].items():
        if summary['oov_words']:
            text.append(
                f"- {label}: out-of-vocabulary words (most frequent first): "
                f"{', '.join(summary['oov_words'][:20])}\n"
            )
    if result['files'].get('figure'):
        text.append(f"\n![similarity]({result['files']['figure']})\n")
    for label, name in result['files'].get('matrices', {}).items():
        text.append(f"\n![similarity per pair of languages, {label}]({name})\n")
    return ''.join(text)


def pair_type_table(pair_type_code: str, group: list[dict]) -> str:
    """The rows of one pair type ('en-en', 'en-fr', 'all') under its name: a row per model and
    representation."""
    half = len(pair_type_code) // 2
    within = pair_type_code[:half] == pair_type_code[half + 1 :]  # 'en-en'
    return (
        f"**{group[0].get('pair_name', pair_type_code)}**"
        + (" (within the language)" if within else '')
        + "\n\n"
        + markdown_table(
            group,
            ['model', 'representation', 'n_pairs', 'n_oov', 'n_missing', 'n_scored', 'spearman', 'p_value'],
            formats={'spearman': '.3f', 'p_value': '.2g'},
            headers={'n_oov': 'OOV', 'n_missing': 'missing', 'n_scored': 'scored', 'p_value': 'p'},
        )
        + '\n'
    )
