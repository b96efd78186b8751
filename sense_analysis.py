"""
What a Backpack's sense vectors mean, measured (sense_visualisation.py runs these and writes the
reports; sense_intervention.py holds the interventions):

1. sense projections: the tokens each sense vector C(w)_k ranks highest through the output
   embedding E, i.e. what the sense "votes for";
2. cross-lingual alignment: the K x K matrix of mean cosine similarity between the senses of an
   English word and those of its French translation, with a permutation test (shuffling pairs);
3. sense usage per language: each sense's share of the predictions on held-out parallel text,
   compared between the languages with the Jensen-Shannon divergence and a permutation test
   (permuting which side of each sentence pair is called English);
4. a polysemy probe against gold sense annotation, with GPT-2 baselines;
5. lexical similarity: Spearman correlation of cosine similarities with human scores.

Notation (see model.py): alpha[b, k, i, j] is the weight of sense k of token j in the prediction
at position i; the prediction reads o_i = sum_k c_ik with c_ik = sum_j alpha_kij C(x_j)_k, and
logits_i = E o_i. Every analysis over the vocabulary uses the cached sense table (V, K, d).
"""

import math
from contextlib import nullcontext

import numpy as np
import torch
import torch.nn.functional as F

from evaluation.statistics import (bootstrap_mean_ci, bootstrap_ratio_ci, jensen_shannon_divergence,
                        permutation_test, wilson_interval)
from sense_data import occurrence_token_index, polysemous_words, word_tokens


def is_backpack(model):
    return hasattr(model, 'sense_table')


def output_embedding(model):
    """E (V, d) in float32, the rows of the real vocabulary (padding rows left out)."""
    return model.lm_head.weight[:model.config.vocab_size].float()


# --- words as vectors ----------------------------------------------------------------------

def _token_rows(table, token_id_lists, multi_token):
    if multi_token not in ('first', 'average'):
        raise ValueError(f"multi_token={multi_token!r}: choose 'first' or 'average'")
    rows = [table[ids].float().mean(0) if multi_token == 'average' else table[ids[0]].float()
            for ids in token_id_lists]
    return torch.stack(rows)


@torch.no_grad()
def word_sense_vectors(model, token_id_lists, multi_token='first'):
    """(n, K, d): the senses of each word, read from the cached sense table. A word of several
    tokens is represented by its first token's senses, or (multi_token='average') their mean."""
    return _token_rows(model.sense_table(), token_id_lists, multi_token)


@torch.no_grad()
def word_embeddings(model, token_id_lists, multi_token='first'):
    """(n, d): each word's token embedding (the GPT-2 baseline, or the Backpack's own E)."""
    return _token_rows(output_embedding(model), token_id_lists, multi_token)


# --- 1. sense projections ------------------------------------------------------------------

@torch.no_grad()
def sense_projection(model, senses, top_k=10, allowed=None, chunk=16):
    """The top_k tokens of each sense through the output embedding: senses (n, K, d) ->
    (token ids (n, K, top_k), logits (n, K, top_k)). allowed: optional bool (V,) mask of the
    tokens that may appear (e.g. whole words)."""
    E = output_embedding(model)
    top_k = min(top_k, E.size(0) if allowed is None else int(allowed.sum()))
    ids, values = [], []
    for start in range(0, senses.size(0), chunk):  # bounded memory for long word lists
        logits = senses[start:start + chunk].to(E.device).float() @ E.T
        if allowed is not None:
            logits = logits.masked_fill(~allowed.to(E.device), float('-inf'))
        v, i = logits.topk(top_k, dim=-1)
        ids.append(i.cpu())
        values.append(v.cpu())
    return torch.cat(ids), torch.cat(values)


def token_ranks(logits, token_ids):
    """Rank (1 = highest) of each of token_ids in logits (..., V) -> (..., len(token_ids))."""
    chosen = logits[..., token_ids]
    return 1 + (logits.unsqueeze(-2) > chosen.unsqueeze(-1)).sum(-1)


def whole_word_mask(tokenizer, vocab_size, words):
    """bool (V,): tokens whose text, without its leading space, is a known whole word."""
    mask = torch.zeros(vocab_size, dtype=torch.bool)
    for token_id in range(vocab_size):
        if token_id == getattr(tokenizer, 'eot_token', None):
            continue
        text = tokenizer.token_bytes(token_id).decode('utf-8', errors='replace').strip()
        mask[token_id] = bool(text) and text.isalpha() and text.lower() in words
    return mask


# --- 2. cross-lingual sense alignment ------------------------------------------------------

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
        'statistic': float(observed), 'ci95': [low, high], 'p_value': float(p_value),
        'n_permutations': n_permutations, 'null_mean': float(null.mean()),
        'null_95th_percentile': float(np.quantile(null, 0.95)),
        'per_sense': [{'sense': k, 'diagonal': float(diagonal[k]),
                       'null_mean': float(per_sense_null[k].mean()), 'p_value': float(per_sense_p[k])}
                      for k in range(K)],
    }


# --- 3. sense usage per language -----------------------------------------------------------

USAGE_METRICS = ('norm_share', 'logit_share', 'self_weight', 'logit_contribution')


def padded_batch(token_lists, pad_id, device):
    """(B, T) int64 tensor of the sequences, right-padded (causal: padding never affects the
    positions before it), and their lengths."""
    lengths = [len(ids) for ids in token_lists]
    idx = torch.full((len(token_lists), max(lengths)), pad_id, dtype=torch.long)
    for b, ids in enumerate(token_lists):
        idx[b, :len(ids)] = torch.tensor(ids, dtype=torch.long)
    return idx.to(device), lengths


def sense_contributions(model, idx):
    """alpha (B, K, T, T) and c (B, K, T, d), c[b, k, i] = sum_j alpha[b, k, i, j] C(x_j)_k:
    what sense k contributes to the prediction at position i (float32)."""
    alpha = model.contextualization(idx)
    senses = model.sense_table()[idx].float()  # (B, T, K, d)
    return alpha, torch.einsum('bkij,bjkd->bkid', alpha, senses)


@torch.no_grad()
def logit_contributions(model, idx, position, token_id):
    """(position + 1, K): contribution[j, k] = alpha_k,i,j E[y] . C(x_j)_k, what sense k of token
    j adds to the logit of token y at prediction i = position of the sequence idx (1, T). They
    sum to that logit (E[y] . o_i, the output layer having no bias). Also alpha (K, T, T)."""
    alpha = model.contextualization(idx)[0].float()  # (K, T, T)
    senses = model.sense_table()[idx[0, :position + 1]].float()  # (j, K, d)
    votes = senses @ output_embedding(model)[token_id]  # (j, K): E[y] . C(x_j)_k
    return alpha[:, position, :position + 1].T * votes, alpha


def with_eot(token_ids, eot_token, block_size):
    """A held-out line as the model saw it in training: after an end-of-text token."""
    return [eot_token] + list(token_ids)[:block_size - 1]


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
        result[lang] = {'values': values.tolist(), 'ci95': [list(ci) for ci in cis]}
    return result


# --- 4. polysemy probe ---------------------------------------------------------------------

PROBES = {
    'word_senses': "the word's own senses, sum over senses k of alpha_kij C(x_j)_k, averaged over "
                   "the predictions i >= j (Backpack)",
    'output': "the vectors the predictions i >= j are read from, averaged (Backpack o_i, GPT-2 "
              "final hidden state)",
    'token_embedding': "the word's token embedding E[x_j], the same in every context",
}


def occurrence_batches(model, sequences, positions, batch_size):
    """Batches of occurrences: (members, idx (B, T), js (B,), later (B, T)), later[b, i] = 1
    for the positions i >= j of the sequence (the predictions that follow the word)."""
    device = model.lm_head.weight.device
    order = sorted(range(len(sequences)), key=lambda i: len(sequences[i]))
    for start in range(0, len(order), batch_size):
        members = order[start:start + batch_size]
        idx, lengths = padded_batch([sequences[i] for i in members], 0, device)
        js = torch.tensor([positions[i] for i in members], device=device)
        steps = torch.arange(idx.size(1), device=device)
        later = ((steps[None, :] >= js[:, None]) &
                 (steps[None, :] < torch.tensor(lengths, device=device)[:, None])).float()
        yield members, idx, js, later


@torch.no_grad()
def occurrence_sense_weights(model, sequences, positions, batch_size=32, autocast=None):
    """(n, K): for each occurrence (the word's first token at position j of its sequence), the
    mean over the predictions i >= j of alpha_kij: how much the predictions that follow the word
    use each of its senses."""
    return occurrence_vectors(model, sequences, positions, ['sense_weights'], batch_size,
                              autocast)['sense_weights']


@torch.no_grad()
def occurrence_vectors(model, sequences, positions, probes, batch_size=32, autocast=None):
    """The vector each occurrence is probed with, {probe: (n, d)} for the probes asked for (keys
    of PROBES, or 'sense_weights' for occurrence_sense_weights): sequences are token lists
    (after an end-of-text token), positions the index j of the word's first token. One forward
    pass per batch serves every probe."""
    device = model.lm_head.weight.device
    word_ids = torch.tensor([seq[j] for seq, j in zip(sequences, positions)], device=device)
    out = {}
    if 'token_embedding' in probes:
        out['token_embedding'] = output_embedding(model)[word_ids].cpu()
    contextual = [p for p in probes if p != 'token_embedding']
    if not contextual:
        return out
    if not is_backpack(model) and set(contextual) - {'output'}:
        raise ValueError(f"probes {contextual} need a Backpack")
    for probe in contextual:
        width = model.config.n_sense_vector if probe == 'sense_weights' else model.config.n_embd
        out[probe] = torch.zeros(len(sequences), width)
    for members, idx, js, later in occurrence_batches(model, sequences, positions, batch_size):
        def mean_later(x):  # x (B, T, ...) averaged over the positions i >= j
            return (x * later[..., None]).sum(1) / later.sum(-1, keepdim=True)

        with autocast or nullcontext():
            if not is_backpack(model):
                out['output'][members] = mean_later(model.transformer(idx).float()).cpu()
                continue
            alpha = model.contextualization(idx).float()
            senses = model.sense_table()[idx].float()  # (B, T, K, d)
        rows = torch.arange(len(members), device=alpha.device)
        # weights[b, k]: the mean over i >= j of alpha_kij, the use of sense k of the word at j
        weights = mean_later(alpha[rows, :, :, js].transpose(1, 2))  # (B, K)
        if 'sense_weights' in out:
            out['sense_weights'][members] = weights.cpu()
        if 'word_senses' in out:
            out['word_senses'][members] = torch.einsum('bk,bkd->bd', weights, senses[rows, js]).cpu()
        if 'output' in out:
            out['output'][members] = mean_later(torch.einsum('bkij,bjkd->bid', alpha, senses)).cpu()
    return out


def locate_occurrences(tokenizer, occurrences, block_size):
    """Tokenize each occurrence's line (after an end-of-text token) and find its word:
    (sequences, positions j of the word's first token, indices of the occurrences located)."""
    sequences, positions, located = [], [], []
    for n, occurrence in enumerate(occurrences):
        ids = tokenizer.encode(occurrence['line'])
        j = occurrence_token_index(tokenizer, occurrence['line'], ids, occurrence['word_index'],
                                   occurrence.get('surface', occurrence['word']))
        if j is None or j + 1 >= block_size:
            continue
        sequences.append(with_eot(ids, tokenizer.eot_token, block_size))
        positions.append(j + 1)
        located.append(n)
    return sequences, positions, located


def translation_candidates(tokenizer, entry, field='translations'):
    """Per sense of a lexicon entry, the first tokens of its words in `field` (translations or
    context_words), tokens shared by two senses removed. Returns (candidates, shared)."""
    return candidate_tokens([[word_tokens(tokenizer, w) for w in sense[field]]
                             for sense in entry['senses']])


def candidate_tokens(sense_words):
    """Per sense, the first tokens of its words (a list of token-id lists), minus the tokens
    two senses share (they could not tell the senses apart). Returns (candidates, shared ids)."""
    firsts = [{ids[0] for ids in words if ids} for words in sense_words]
    shared = set()
    for a in range(len(firsts)):
        for b in range(a + 1, len(firsts)):
            shared |= firsts[a] & firsts[b]
    return [sorted(f - shared) for f in firsts], sorted(shared)


def center_by_word(vectors, of_word):
    """Each occurrence's vector minus the mean over the occurrences of the same word (of_word:
    {word: bool mask}). Then a translation wins where the context raises it more than it does on
    average for that word, which removes the pull of each token's own prior (a frequent
    translation outscoring a rare one everywhere). Uses no labels."""
    centred = vectors.clone()
    for mask in of_word.values():
        if mask.any():
            rows = torch.from_numpy(mask)
            centred[rows] = vectors[rows] - vectors[rows].mean(0, keepdim=True)
    return centred


def probe_predictions(vectors, E, candidates, gold):
    """vectors (n, d) through E (V, d); candidates[i] a list of token-id lists, one per sense of
    occurrence i's word; gold[i] the index of the correct sense. Each sense scores the mean
    logit of its tokens (a mean, so that a sense with more words has no edge); correct when the
    correct sense scores highest (ties count wrong). Returns a bool array (n,)."""
    logits = vectors.to(E.device).float() @ E.T
    correct = np.zeros(len(gold), dtype=bool)
    for i, (senses, g) in enumerate(zip(candidates, gold)):
        scores = [logits[i, ids].mean().item() for ids in senses]
        correct[i] = all(scores[g] > b for s, b in enumerate(scores) if s != g)
    return correct


def accuracy_summary(correct, chance, level=0.95):
    """Accuracy with its Wilson interval and the one-sided binomial p-value against chance
    (the mean chance level when words have different numbers of senses)."""
    from scipy.stats import binomtest
    n, k = len(correct), int(np.sum(correct))
    chance = float(np.mean(chance)) if n else math.nan
    p_value = binomtest(k, n, chance, alternative='greater').pvalue if n else math.nan
    low, high = wilson_interval(k, n, level)
    return {'n': n, 'correct': k, 'accuracy': k / n if n else math.nan, 'ci95': [low, high],
            'chance': chance, 'p_value': float(p_value)}


def static_sense_ranks(logits, candidates):
    """logits (K, V) of a word's senses (or (1, V) of its embedding); candidates: per gold
    sense, its token ids. Per gold sense: the best rank (1 = top) any sense gives any of its
    tokens, which sense and token, and the rank expected by chance for that many draws."""
    V = logits.size(-1)
    result = []
    for ids in candidates:
        if not ids:
            result.append(None)
            continue
        ranks = token_ranks(logits, ids)  # (K, m)
        best = int(ranks.argmin())
        k, t = divmod(best, ranks.size(1))
        result.append({'best_rank': int(ranks.min()), 'best_sense': k, 'best_token': ids[t],
                       'chance_rank': (V + 1) / (ranks.numel() + 1)})
    return result


PROBE_TARGETS = {
    'translations': "the sense's translations (other language)",
    'context_words': "the sense's typical context words (same language)",
}


@torch.no_grad()
def polysemy_probe(model, tokenizer, lexicon, occurrences, probes, label,
                   targets=tuple(PROBE_TARGETS), multi_token='first', batch_size=32, autocast=None):
    """The polysemy probe of one model against the gold senses, for each target word set of
    each gold sense (PROBE_TARGETS: its translations, which the issue's probe uses, and its
    same-language context words, which a monolingual line's later predictions can reach).
    static: for each polysemous word and gold sense, the best rank that any of the word's sense
      vectors (a GPT-2: its token embedding) gives any of the target tokens, through E;
    in context: for each annotated occurrence and each probe (see PROBES), whether the probe's
      vector scores the correct sense's targets above the other senses' (probe_predictions);
      accuracy per word and overall, with Wilson intervals, chance (1 / number of senses), the
      majority-sense rate and the binomial p-value against chance. Each contextual probe is
      decided twice: on the raw logits, and 'centred' (center_by_word), which discounts how
      much a target is favoured whatever the context.
    Rows carry model, probe, decision ('raw' or 'centred') and target."""
    E = output_embedding(model)
    notes, candidates = [], {target: {} for target in targets}
    for key, entry in polysemous_words(lexicon).items():
        for target in targets:
            cands, shared = translation_candidates(tokenizer, entry, target)
            if all(cands):
                candidates[target][key] = cands
            else:
                notes.append(f"{entry['word']} ({entry['language']}): no {target} token of its own "
                             f"for every sense (shared: {[tokenizer.token_str(t) for t in shared]}); "
                             f"left out of the {target} probe")
    representation = 'senses' if is_backpack(model) else 'token embedding'
    static = []
    for target in targets:
        for (word, lang), cands in candidates[target].items():
            ids = word_tokens(tokenizer, word)
            if is_backpack(model):
                vectors = word_sense_vectors(model, [ids], multi_token)[0]
            else:
                vectors = word_embeddings(model, [ids], multi_token)
            ranks = static_sense_ranks(vectors.to(E.device) @ E.T, cands)
            for sense, rank in zip(lexicon[(word, lang)]['senses'], ranks):
                static.append({'model': label, 'representation': representation, 'target': target,
                               'word': word, 'language': lang, 'sense_id': sense['sense_id'],
                               'word_tokens': len(ids), 'best_rank': rank['best_rank'],
                               'best_sense': rank['best_sense'] if is_backpack(model) else None,
                               'best_token': tokenizer.token_str(rank['best_token']),
                               'chance_rank': rank['chance_rank']})
    probed = [key for key in polysemous_words(lexicon) if any(key in c for c in candidates.values())]
    of_probed_words = [o for o in occurrences if (o['word'], o['language']) in set(probed)]
    sequences, positions, located = locate_occurrences(tokenizer, of_probed_words,
                                                       model.config.block_size)
    usable = [of_probed_words[i] for i in located]
    gold = np.array([o['sense_index'] for o in usable], dtype=int)
    of_word = {key: np.array([(o['word'], o['language']) == key for o in usable], dtype=bool)
               for key in probed}
    in_context, overall = [], []
    vectors_by_probe = occurrence_vectors(model, sequences, positions, probes, batch_size, autocast)
    for probe in probes:
        raw = vectors_by_probe[probe]
        for decision in ('raw', 'centred'):
            if decision == 'centred' and probe == 'token_embedding':
                continue  # the same vector in every context: nothing is left once centred
            vectors = raw if decision == 'raw' else center_by_word(raw, of_word)
            for target in targets:
                scored = np.array([(o['word'], o['language']) in candidates[target] for o in usable],
                                  dtype=bool)
                if not scored.any():
                    continue
                cands = [candidates[target][(o['word'], o['language'])]
                         for o, s in zip(usable, scored) if s]
                correct = probe_predictions(vectors[torch.from_numpy(scored)], E, cands, gold[scored])
                n_senses = np.array([len(c) for c in cands])
                names = {'model': label, 'probe': probe, 'decision': decision, 'target': target}
                for (word, lang), mask in of_word.items():
                    mask = mask[scored]
                    if mask.any():
                        in_context.append({**names, 'word': word, 'language': lang,
                                           'majority': _majority_rate(gold[scored][mask]),
                                           **accuracy_summary(correct[mask], 1 / n_senses[mask])})
                overall.append({**names, 'majority': _pooled_majority(
                                    [o for o, s in zip(usable, scored) if s]),
                                **accuracy_summary(correct, 1 / n_senses)})
    return {'static': static, 'in_context': in_context, 'overall': overall, 'notes': notes,
            'n_occurrences': len(occurrences), 'n_scored': len(usable),
            'n_not_located': len(of_probed_words) - len(usable)}


def _majority_rate(gold):
    return float(np.bincount(gold).max() / len(gold)) if len(gold) else math.nan


def _pooled_majority(occurrences):
    """The accuracy of always answering each word's most frequent sense."""
    by_word = {}
    for o in occurrences:
        by_word.setdefault((o['word'], o['language']), []).append(o['sense_index'])
    return sum(np.bincount(g).max() for g in by_word.values()) / len(occurrences)


# --- 5. lexical similarity -----------------------------------------------------------------

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
