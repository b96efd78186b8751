"""
Lexical similarity: do a word's senses place it near the words people judge similar? The
Spearman correlation between human similarity scores (Multi-SimLex, or any CSV of scored word
pairs) and the cosine similarity of the two words under each representation a model has: its
token embedding (the GPT-2 baseline's only one), each sense k, the mean and the max over senses
-- within English, within French and across the languages (an English word beside a French
one). A pair with a word that is no single token is out of vocabulary and counted.
"""

import math
import os

import numpy as np
import torch.nn.functional as F

from common.reporting import grouped_bar_chart, markdown_table, write_csv
from senses import Skipped
from senses.inputs import read_multisimlex, read_similarity_csv, word_tokens
from senses.vectors import is_backpack, word_embeddings, word_sense_vectors

TITLE = 'Lexical similarity'
NEEDS = ()


def cosine_by_sense(a, b):
    """a, b (n, K, d) -> (n, K): cos(a_k, b_k) for each sense."""
    return F.cosine_similarity(a.float(), b.float(), dim=-1)


def spearman(human, model_scores):
    """Spearman's rho and its p-value (scipy.stats.spearmanr); NaN when undefined (fewer than 3
    pairs or a constant column)."""
    from scipy.stats import spearmanr
    human, model_scores = np.asarray(human, float), np.asarray(model_scores, float)
    if len(human) < 3 or np.ptp(human) == 0 or np.ptp(model_scores) == 0:
        return math.nan, math.nan
    rho, p = spearmanr(human, model_scores)
    return float(rho), float(p)


def similarity_representations(model, token_id_lists_1, token_id_lists_2, multi_token='first'):
    """Cosine similarity of each pair under each representation the model has:
    {'token embedding': (n,)} and, for a Backpack, 'sense k' for each k, 'mean over senses'
    and 'max over senses' (the most similar same-index senses)."""
    scores = {'token embedding': F.cosine_similarity(
        word_embeddings(model, token_id_lists_1, multi_token),
        word_embeddings(model, token_id_lists_2, multi_token), dim=-1).cpu().numpy()}
    if is_backpack(model):
        by_sense = cosine_by_sense(word_sense_vectors(model, token_id_lists_1, multi_token),
                                   word_sense_vectors(model, token_id_lists_2, multi_token)).cpu()
        scores['mean over senses'] = by_sense.mean(1).numpy()
        scores['max over senses'] = by_sense.max(1).values.numpy()
        for k in range(by_sense.size(1)):
            scores[f'sense {k}'] = by_sense[:, k].numpy()
    return scores


def similarity_study(pairs, model, tokenizer, label, multi_token='first', skip_split_words=True):
    """Spearman correlation between human similarity scores and the model's cosine
    similarities (see similarity_representations), per pair type (en-en, fr-fr, en-fr, and all
    of them together when there are several). A pair with a word that is no single token is
    out of vocabulary: counted and, with skip_split_words, left out (else represented by
    multi_token); a pair without a score or a word is counted as missing.
    Returns (rows, {'oov_words': [...], 'n_pairs', 'n_oov', 'n_missing', 'n_scored'})."""
    status, ids1, ids2, scored = [], [], [], []
    oov_words = {}
    for n, pair in enumerate(pairs):
        a, b = (word_tokens(tokenizer, pair['word1']) if pair['word1'] else [],
                word_tokens(tokenizer, pair['word2']) if pair['word2'] else [])
        if pair['score'] is None or not a or not b:
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
    status = np.array(status)
    scores = similarity_representations(model, ids1, ids2, multi_token) if scored else {}
    types = sorted({p['pair_type'] for p in pairs})
    groups = types + (['all'] if len(types) > 1 else [])
    rows = []
    for group in groups:
        in_group = np.array([group == 'all' or p['pair_type'] == group for p in pairs], dtype=bool)
        members = [i for i, n in enumerate(scored) if in_group[n]]
        human = [pairs[scored[i]]['score'] for i in members]
        counts = {'n_pairs': int(in_group.sum()),
                  'n_oov': int((in_group & np.isin(status, ['oov', 'oov scored'])).sum()),
                  'n_missing': int((in_group & (status == 'missing')).sum()),
                  'n_scored': len(members)}
        group_rows = []
        for representation, values in scores.items():
            rho, p = spearman(human, values[members])
            group_rows.append({'model': label, 'pair_type': group, 'representation': representation,
                               **counts, 'spearman': rho, 'p_value': p})
        per_sense = [r for r in group_rows if r['representation'].startswith('sense ')
                     and not math.isnan(r['spearman'])]
        if per_sense:
            best = max(per_sense, key=lambda r: r['spearman'])
            group_rows.append({**best, 'representation': f"best sense ({best['representation']}, "
                                                         f"chosen on these pairs)"})
        rows.extend(group_rows)
    summary = {'n_pairs': len(pairs), 'n_oov': int(np.isin(status, ['oov', 'oov scored']).sum()),
               'n_missing': int((status == 'missing').sum()), 'n_scored': len(scored),
               'oov_words': sorted(oov_words, key=lambda w: -oov_words[w])[:50]}
    return rows, summary


def run(models, simlex='', similarity_csv='', multi_token='first', skip_split_words=True,
        report_dir='.'):
    """similarity_study of each of models [(label, model, tokenizer)] on the pairs of
    Multi-SimLex (the folder simlex) or of similarity_csv. Writes lexical_similarity.csv and
    lexical_similarity.png to report_dir."""
    if simlex:
        pairs, source = read_multisimlex(simlex), f"Multi-SimLex, {simlex}"
    elif similarity_csv:
        pairs, source = read_similarity_csv(similarity_csv), similarity_csv
    else:
        raise Skipped("needs word pairs with human similarity scores: --simlex=DIR (Multi-SimLex's "
                      "translation.csv and scores.csv) or --similarity_csv=FILE (word1,word2,score)")
    result = {'source': source, 'multi_token': multi_token, 'skip_split_words': skip_split_words,
              'rows': [], 'summaries': {}}
    for model_label, m, t in models:
        rows, summary = similarity_study(pairs, m, t, model_label, multi_token, skip_split_words)
        result['rows'].extend(rows)
        result['summaries'][model_label] = summary
    write_csv(os.path.join(report_dir, 'lexical_similarity.csv'), result['rows'],
              ['model', 'pair_type', 'representation', 'n_pairs', 'n_oov', 'n_missing', 'n_scored',
               'spearman', 'p_value'])
    shown = [r for r in result['rows'] if r['representation'] in
             ('token embedding', 'mean over senses', 'max over senses')]
    groups = list(dict.fromkeys(r['pair_type'] for r in shown))
    series = {}
    for r in shown:
        series.setdefault(f"{r['model']}: {r['representation']}", {})[r['pair_type']] = r['spearman']
    if shown:
        grouped_bar_chart(os.path.join(report_dir, 'lexical_similarity.png'), groups,
                          {name: [v.get(g) for g in groups] for name, v in series.items()},
                          ylabel="Spearman's rho with human scores", title='Lexical similarity')
    result['files'] = {'csv': 'lexical_similarity.csv',
                       'figure': 'lexical_similarity.png' if shown else None}
    return result


def markdown(result):
    """The section of senses.md: the correlations per model, pair type and representation."""
    text = [f"Spearman correlation between human similarity scores ({result['source']}) and "
            f"cosine similarities. A pair whose word is no single token of the model's vocabulary "
            f"is out of vocabulary: "
            + ("counted and left out" if result['skip_split_words'] else
               "counted, and represented by its first token" if result['multi_token'] == 'first'
               else "counted, and represented by the mean over its tokens")
            + ". 'best sense' is chosen on the same pairs, so it is optimistic. Per-sense "
              "correlations are in lexical_similarity.csv.\n\n"]
    rows = [r for r in result['rows'] if not r['representation'].startswith('sense ')]
    text.append(markdown_table(rows, ['model', 'pair_type', 'representation', 'n_pairs', 'n_oov',
                                      'n_missing', 'n_scored', 'spearman', 'p_value'],
                               formats={'spearman': '.3f', 'p_value': '.2g'},
                               headers={'pair_type': 'pairs', 'n_oov': 'OOV', 'n_missing': 'missing',
                                        'n_scored': 'scored', 'p_value': 'p'}) + '\n')
    for label, summary in result['summaries'].items():
        if summary['oov_words']:
            text.append(f"- {label}: out-of-vocabulary words (most frequent first): "
                        f"{', '.join(summary['oov_words'][:20])}\n")
    if result['files'].get('figure'):
        text.append(f"\n![similarity]({result['files']['figure']})\n")
    return ''.join(text)
