"""
Cross-lingual sense alignment: does sense k of an English word mean what sense k of its French
translation means? The K x K matrix of mean cosine similarity between the senses of English
words and those of their translations; if a shared multilingual Backpack gives each sense index
one role across languages, its diagonal stands out. The statistic is the mean diagonal minus the
mean off-diagonal, tested against shuffling which French word goes with which English word, so
that a sense alike in all words (a shared bias, say) does not count as alignment; each sense's
diagonal entry gets its own p-value under the same shuffles.
"""

import os

import numpy as np
import torch
import torch.nn.functional as F

from common.reporting import heatmap, markdown_table, write_csv
from evaluation.statistics import bootstrap_mean_ci, permutation_test
from senses import Skipped
from senses.inputs import (PARLIAMENTARY_WORD_PAIRS, read_bilingual_lexicon, read_translation_pairs,
                           word_tokens)
from senses.report import format_ci, format_p, p_text
from senses.vectors import word_sense_vectors

TITLE = 'Cross-lingual sense alignment'
NEEDS = ('senses',)


def alignment_matrix(en_senses, fr_senses):
    """(K, K): mean over pairs p of cos(C(en_p)_k, C(fr_p)_k')."""
    en, fr = F.normalize(en_senses.float(), dim=-1), F.normalize(fr_senses.float(), dim=-1)
    return torch.einsum('pkd,pld->kl', en, fr) / en.size(0)


def sense_alignment(en_senses, fr_senses, n_permutations=1000, n_bootstrap=1000, seed=0):
    """Does sense k of a word mean what sense k of its translation means? en_senses and
    fr_senses (P, K, d) are the senses of P translation pairs. The statistic is the mean
    diagonal minus the mean off-diagonal of the alignment matrix; its null distribution comes
    from shuffling which French word goes with which English word (a sense that is alike in all
    words, e.g. a shared bias, does not count as alignment). Also, per sense, the diagonal
    entry and its own p-value under the same shuffles. K must be at least 2."""
    P, K = en_senses.shape[:2]
    if K < 2:
        raise ValueError("the alignment statistic needs at least 2 senses per token")
    if P < 3:
        raise ValueError(f"only {P} translation pairs: the permutation test needs at least 3")
    en = F.normalize(en_senses.float(), dim=-1).cpu()
    fr = F.normalize(fr_senses.float(), dim=-1).cpu()
    matrix = alignment_matrix(en, fr)
    # same_sense[k, p, q] = cos(C(en_p)_k, C(fr_q)_k); all_senses[p, q] = sum over k, k' of cosines
    same_sense = torch.einsum('pkd,qkd->kpq', en, fr).numpy().astype(np.float64)
    all_senses = (en.sum(1) @ fr.sum(1).T).numpy().astype(np.float64)
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
    pairings = np.stack(pairings)  # (n_permutations, P)
    per_sense_null = same_sense[:, rows, pairings].mean(-1)  # (K, n_permutations)
    diagonal = np.diagonal(matrix.numpy()).astype(np.float64)
    per_sense_p = (1 + (per_sense_null >= diagonal[:, None] - 1e-12).sum(1)) / (n_permutations + 1)
    own = diagonal_sum[rows, rows]  # each pair with its true translation
    per_pair = own / K - (all_senses[rows, rows] - own) / (K * K - K)
    low, high = bootstrap_mean_ci(per_pair, n_resamples=n_bootstrap, seed=seed)
    off = (matrix.sum() - matrix.diagonal().sum()) / (K * K - K)
    return {
        'n_pairs': P, 'n_senses': K, 'matrix': matrix.numpy().tolist(),
        'diagonal_mean': float(matrix.diagonal().mean()), 'off_diagonal_mean': float(off),
        'statistic': float(observed), 'statistic_ci95': [low, high], 'p_value': float(p_value),
        'n_permutations': n_permutations, 'null_mean': float(null.mean()),
        'null_95th_percentile': float(np.quantile(null, 0.95)),
        'per_sense': [{'sense': k, 'diagonal': float(diagonal[k]),
                       'null_mean': float(per_sense_null[k].mean()), 'p_value': float(per_sense_p[k])}
                      for k in range(K)],
    }


def run(model, tokenizer, translation_pairs='', gold=None, multi_token='first',
        skip_split_words=True, max_pairs=1000, n_permutations=1000, n_bootstrap=1000, seed=0,
        report_dir='.'):
    """The alignment of the senses of up to max_pairs translation pairs: from the TSV file
    translation_pairs when given, else gold's bilingual lexicon (a GoldSenses), else built-in
    parliamentary pairs. A pair whose words are the same token is left out, and one with a word
    of several tokens too when skip_split_words (else multi_token represents it). Writes
    sense_alignment.png (the matrix) and sense_alignment.csv to report_dir."""
    gold_pairs = read_bilingual_lexicon(gold.directory) if gold is not None else []
    if translation_pairs:
        pairs, source = read_translation_pairs(translation_pairs), translation_pairs
    elif gold_pairs:
        pairs, source = gold_pairs, 'the gold bilingual lexicon'
    else:
        pairs, source = PARLIAMENTARY_WORD_PAIRS, 'built-in parliamentary word pairs'
    kept, seen, n_identical, n_split = [], set(), 0, 0
    for en, fr in pairs:
        en_ids, fr_ids = word_tokens(tokenizer, en), word_tokens(tokenizer, fr)
        if not en_ids or not fr_ids:
            continue
        # what represents each word: its first token, or all its tokens (averaged)
        key = (tuple(en_ids), tuple(fr_ids)) if multi_token == 'average' else (en_ids[0], fr_ids[0])
        if key[0] == key[1]:
            n_identical += 1  # the same token(s): trivially aligned
            continue
        if skip_split_words and (len(en_ids) > 1 or len(fr_ids) > 1):
            n_split += 1
            continue
        if key not in seen:
            seen.add(key)
            kept.append((en, fr, en_ids, fr_ids))
    kept = kept[:max_pairs]
    if len(kept) < 3:
        raise Skipped(f"only {len(kept)} usable translation pairs from {source} ({n_identical} are "
                      f"the same token in both languages, {n_split} have a word split into several "
                      f"tokens: --skip_split_words=False keeps those)")
    if model.config.n_sense_vector < 2:
        raise Skipped("the model has a single sense per token: nothing to align")
    en_senses = word_sense_vectors(model, [k[2] for k in kept], multi_token)
    fr_senses = word_sense_vectors(model, [k[3] for k in kept], multi_token)
    result = sense_alignment(en_senses, fr_senses, n_permutations, n_bootstrap, seed)
    K = result['n_senses']
    result.update(source=source, n_pairs_given=len(pairs), n_identical_token=n_identical,
                  n_split=n_split, skip_split_words=skip_split_words, multi_token=multi_token,
                  pairs=[(en, fr) for en, fr, _, _ in kept],
                  files={'figure': 'sense_alignment.png', 'csv': 'sense_alignment.csv'})
    matrix = np.array(result['matrix'])
    limit = float(np.abs(matrix).max()) or 1.0
    heatmap(os.path.join(report_dir, 'sense_alignment.png'), matrix, [f"en {k}" for k in range(K)],
            [f"fr {k}" for k in range(K)], cmap='RdBu_r', vmin=-limit, vmax=limit,
            colorbar_label='mean cosine similarity', annotate=K <= 8,
            title=f"Sense k (English) vs sense k' (French translation), {len(kept)} pairs\n"
                  f"diagonal - off-diagonal = {result['statistic']:.3f}, permutation "
                  f"{p_text(result['p_value'], n_permutations)}")
    rows = [{'en_sense': k, **{f'fr_{j}': matrix[k, j] for j in range(K)},
             'diagonal_p_value': result['per_sense'][k]['p_value']} for k in range(K)]
    write_csv(os.path.join(report_dir, 'sense_alignment.csv'), rows,
              ['en_sense'] + [f'fr_{j}' for j in range(K)] + ['diagonal_p_value'])
    return result


def markdown(result):
    """The section of senses.md: the statistic, its interval and p-value, the significant senses."""
    text = [f"Mean cosine similarity between sense k of an English word and sense k' of its French "
            f"translation, over {result['n_pairs']} translation pairs ({result['source']}; "
            f"{result['n_identical_token']} pairs left out because both words are the same token, "
            f"{result['n_split']} because a word is split into several tokens"
            + ('' if result['skip_split_words'] else
               ", split words represented by their first token" if result['multi_token'] == 'first'
               else ", split words represented by the mean over their tokens")
            + "). If sense k means the same thing in both languages, the diagonal stands out. "
            f"The statistic is the mean diagonal minus the mean off-diagonal; its p-value comes "
            f"from {result['n_permutations']} shuffles of which French word goes with which "
            f"English word (a sense that is alike in every word does not count).\n\n"]
    rows = [{'quantity': 'mean diagonal', 'value': result['diagonal_mean']},
            {'quantity': 'mean off-diagonal', 'value': result['off_diagonal_mean']},
            {'quantity': 'diagonal - off-diagonal', 'value': result['statistic'],
             'ci95': format_ci(result['statistic_ci95']), 'p': format_p(result['p_value'], result['n_permutations'])},
            {'quantity': 'same, pairs shuffled (null mean)', 'value': result['null_mean']},
            {'quantity': 'excess over shuffled pairs', 'value': result['statistic'] - result['null_mean']}]
    text.append(markdown_table(rows, ['quantity', 'value', 'ci95', 'p'],
                               formats={'value': '.4f'},
                               headers={'ci95': '95% CI (pairs)', 'p': 'permutation p'}))
    significant = [s['sense'] for s in result['per_sense'] if s['p_value'] < 0.05]
    text.append(f"\nSenses whose diagonal entry beats shuffled pairs (p < 0.05, uncorrected): "
                f"{', '.join(map(str, significant)) or 'none'} of {result['n_senses']}.\n\n")
    text.append(f"![alignment]({result['files']['figure']})\n")
    return ''.join(text)


def headline(result, n_permutations=None):
    """The alignment in one sentence (demo.py's report)."""
    return (f"- Cross-lingual alignment: sense k of an English word is closer (cosine) to sense "
            f"k of its French translation than to the translation's other senses: diagonal "
            f"minus off-diagonal {result['statistic']:.3f}, against {result['null_mean']:.3f} for "
            f"shuffled pairs (permutation p {format_p(result['p_value'], n_permutations)}, "
            f"{result['n_pairs']} pairs).")
