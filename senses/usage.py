"""
Sense usage per language: how much each sense serves the predictions on held-out parallel text,
English beside French. At position i sense k contributes c_ik = sum_j alpha_kij C(x_j)_k to the
prediction; its share of the norms, its share of the next token's logit, and alpha_kii (the
weight it keeps on the current token) say whether a multilingual Backpack reserves senses for
one language. The languages are compared on the same sentence pairs with the Jensen-Shannon
divergence of the share distributions (or the mean absolute difference), tested by permuting
which side of each pair is called English; intervals are a bootstrap over sentences, the unit
of resampling.
"""

import os
from contextlib import nullcontext

import numpy as np
import torch

from common.errors import UserError
from common.reporting import grouped_bar_chart, markdown_table, write_csv
from evaluation.statistics import bootstrap_ratio_ci, jensen_shannon_divergence, permutation_test
from evaluation.checkpoints import readable_lines
from data.prepared import heldout_path, read_heldout_lines
from senses import Skipped
from senses.inputs import has_heldout_text
from senses.report import format_p, p_text
from senses.vectors import output_embedding, padded_batch, sense_contributions, with_eot

TITLE = 'Sense usage per language'
NEEDS = ('senses',)

USAGE_METRICS = ('norm_share', 'logit_share', 'self_weight', 'logit_contribution')


@torch.no_grad()
def sentence_sense_usage(model, token_lists, eot_token, batch_size=32, autocast=None):
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
        members = order[start:start + batch_size]
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


def compare_language_usage(en_usage, fr_usage, metric, statistic='jsd', n_permutations=1000,
                           n_bootstrap=1000, seed=0):
    """en_usage and fr_usage: sentence_sense_usage of the two sides of the same sentence pairs.
    Per language, the per-sense values with bootstrap 95% intervals (resampling sentences); the
    difference between languages as the Jensen-Shannon divergence of the share distributions
    (statistic='jsd', in bits) or the mean absolute difference over senses ('mean_abs_difference');
    and the permutation p-value of "the languages use the senses alike", each permutation
    swapping the two sides of a random half of the pairs."""
    en_sums, fr_sums = en_usage[metric], fr_usage[metric]
    en_n, fr_n = en_usage['positions'], fr_usage['positions']
    P = len(en_n)

    def difference(data):
        a_sums, a_n, b_sums, b_n = data
        a, b = a_sums.sum(0) / max(a_n.sum(), 1), b_sums.sum(0) / max(b_n.sum(), 1)
        if statistic == 'jsd':
            return jensen_shannon_divergence(a, b)
        return float(np.abs(a - b).mean())

    def swap_sides(data, rng):
        a_sums, a_n, b_sums, b_n = data
        swap = rng.random(P) < 0.5
        return (np.where(swap[:, None], b_sums, a_sums), np.where(swap, b_n, a_n),
                np.where(swap[:, None], a_sums, b_sums), np.where(swap, a_n, b_n))

    observed, p_value, _ = permutation_test(difference, (en_sums, en_n, fr_sums, fr_n), swap_sides,
                                            n_permutations, seed)
    result = {'statistic': statistic, 'value': float(observed), 'p_value': float(p_value),
              'n_permutations': n_permutations, 'n_sentence_pairs': P}
    for lang, sums, n in (('en', en_sums, en_n), ('fr', fr_sums, fr_n)):
        values = sums.sum(0) / max(n.sum(), 1)
        cis = [bootstrap_ratio_ci(sums[:, k], n, n_resamples=n_bootstrap, seed=seed)
               for k in range(sums.shape[1])]
        result[lang] = {'values': values.tolist(), 'values_ci95': [list(ci) for ci in cis]}
    return result


USAGE_STATISTICS = {'norm_share': 'jsd', 'logit_share': 'jsd', 'self_weight': 'mean_abs_difference',
                    'logit_contribution': 'mean_abs_difference'}
USAGE_AXES = {'norm_share': 'share of ||c_ik||', 'logit_share': "share of the next token's logit",
              'self_weight': 'mean alpha_kii (weight on the current token)'}


def run(model, tokenizer, data_root, dataset, split='test', max_sentences=300, batch_size=32,
        autocast=None, n_permutations=1000, n_bootstrap=1000, seed=0, report_dir='.'):
    """Sense usage on the first max_sentences held-out sentence pairs of data_root/dataset
    (split) that the model can read: per language and sense, norm share, logit share, self
    weight and signed logit contribution with bootstrap intervals, and the difference between
    the languages with its permutation p-value (USAGE_STATISTICS says which difference). Writes
    sense_usage_<metric>.png and sense_usage.csv to report_dir."""
    if not has_heldout_text(data_root, dataset, split):
        raise Skipped(f"needs held-out parallel text ({heldout_path(data_root, dataset, 'en', split)} "
                      f"and the fr one, written by the prepare script: python "
                      f"data/{dataset}/prepare.py)")
    en_lines = read_heldout_lines(data_root, dataset, 'en', split)
    fr_lines = read_heldout_lines(data_root, dataset, 'fr', split)
    if len(en_lines) != len(fr_lines):
        raise UserError(f"{heldout_path(data_root, dataset, 'en', split)} has {len(en_lines)} lines "
                        f"but the French one has {len(fr_lines)}: they must be translations line by "
                        f"line; prepare the dataset again (python data/{dataset}/prepare.py)")
    pairs = [(e, f) for e, f in zip(en_lines, fr_lines) if e.strip() and f.strip()]
    readable_en = set(readable_lines(tokenizer, [e for e, _ in pairs], model.config.vocab_size)[0])
    readable_fr = set(readable_lines(tokenizer, [f for _, f in pairs], model.config.vocab_size)[0])
    kept = [(e, f) for e, f in pairs if e in readable_en and f in readable_fr]
    if len(kept) < len(pairs):
        print(f"  {len(pairs) - len(kept)} sentence pairs skipped: they hold tokens the model has no row for")
    pairs = kept[:max_sentences]
    if len(pairs) < 2:
        raise Skipped(f"{len(pairs)} non-empty held-out sentence pairs in {dataset}/{split}: "
                      f"too few to compare the languages")
    usage = {lang: sentence_sense_usage(model, tokenizer.encode_batch([p[i] for p in pairs]),
                                        tokenizer.eot_token, batch_size, autocast)
             for i, lang in enumerate(('en', 'fr'))}
    metrics = {metric: compare_language_usage(usage['en'], usage['fr'], metric,
                                              USAGE_STATISTICS[metric], n_permutations, n_bootstrap,
                                              seed)
               for metric in USAGE_METRICS}
    K = model.config.n_sense_vector
    figures, rows = {}, []
    for metric, axis in USAGE_AXES.items():
        m = metrics[metric]
        path = f'sense_usage_{metric}.png'
        difference = (f"JSD {m['value']:.4f} bits" if m['statistic'] == 'jsd'
                      else f"mean |en - fr| {m['value']:.4f}")
        grouped_bar_chart(os.path.join(report_dir, path), [str(k) for k in range(K)],
                          {'English': m['en']['values'], 'French': m['fr']['values']},
                          errors={'English': m['en']['values_ci95'],
                                  'French': m['fr']['values_ci95']},
                          ylabel=axis, title=f"{axis} per sense; {difference}, permutation "
                                             f"{p_text(m['p_value'], n_permutations)}")
        figures[metric] = path
    for metric, m in metrics.items():
        for k in range(K):
            rows.append({'metric': metric, 'sense': k,
                         **{f'{lang}{suffix}': value for lang in ('en', 'fr')
                            for suffix, value in (('', m[lang]['values'][k]),
                                                  ('_low', m[lang]['values_ci95'][k][0]),
                                                  ('_high', m[lang]['values_ci95'][k][1]))}})
    write_csv(os.path.join(report_dir, 'sense_usage.csv'), rows,
              ['metric', 'sense', 'en', 'en_low', 'en_high', 'fr', 'fr_low', 'fr_high'])
    return {'dataset': dataset, 'split': split, 'n_sentence_pairs': len(pairs),
            'positions': {lang: int(u['positions'].sum()) for lang, u in usage.items()},
            'metrics': metrics, 'files': {'csv': 'sense_usage.csv', 'figures': figures}}


def markdown(result):
    """The section of senses.md: the differences between the languages, the values per sense."""
    text = [f"On {result['n_sentence_pairs']} held-out sentence pairs of {result['dataset']} "
            f"({result['split']}; {result['positions']['en']} English and "
            f"{result['positions']['fr']} French token positions). At each position i, sense k "
            f"contributes c_ik = sum_j alpha_kij C(x_j)_k to the prediction. Norm share: "
            f"||c_ik|| / sum_k' ||c_ik'||; logit share: the sense's share of the absolute "
            f"contributions to the logit of the token that comes next; self weight: alpha_kii, "
            f"the weight the sense keeps on the current token. Intervals: bootstrap over "
            f"sentences. Differences between the languages: Jensen-Shannon divergence (bits) of the "
            f"share distributions, mean absolute difference of the self weights, each with the "
            f"p-value of {result['metrics']['norm_share']['n_permutations']} permutations of which "
            f"side of each pair is called English. The divergence is the size of the "
            f"difference: over hundreds of sentences, a tiny one can have a small p.\n\n"]
    rows = []
    for metric, m in result['metrics'].items():
        if metric not in USAGE_LABELS:
            continue
        rows.append({'measure': USAGE_LABELS[metric],
                     'difference': f"{'JSD' if m['statistic'] == 'jsd' else 'mean |en - fr|'} = {m['value']:.4g}",
                     'p': format_p(m['p_value'], m['n_permutations'])})
    text.append(markdown_table(rows, ['measure', 'difference', 'p'],
                               headers={'p': 'permutation p'}) + '\n')
    K = len(result['metrics']['norm_share']['en']['values'])
    per_sense = []
    for k in range(K):
        row = {'sense': k}
        for metric in ('norm_share', 'logit_share', 'self_weight'):
            for lang in ('en', 'fr'):
                row[f'{metric}_{lang}'] = result['metrics'][metric][lang]['values'][k]
        per_sense.append(row)
    columns = ['sense'] + [f'{m}_{l}' for m in ('norm_share', 'logit_share', 'self_weight') for l in ('en', 'fr')]
    text.append(markdown_table(per_sense, columns, formats={c: '.3f' for c in columns[1:]},
                               headers={f'{m}_{l}': f"{USAGE_LABELS[m]} {l}" for m in USAGE_LABELS
                                        for l in ('en', 'fr')}) + '\n')
    for metric, path in result['files']['figures'].items():
        text.append(f"![{USAGE_LABELS.get(metric, metric)}]({path})\n")
    return ''.join(text)


USAGE_LABELS = {'norm_share': 'norm share', 'logit_share': 'logit share', 'self_weight': 'self weight'}
