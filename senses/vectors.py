"""
A Backpack's sense vectors and what the predictions read from them, shared by the analyses.

Notation (see model.py): C(w)_k is sense k of token w (the cached sense table, (V, K, d));
alpha[b, k, i, j] is the weight of sense k of token j in the prediction at position i; the
prediction reads o_i = sum_k c_ik with c_ik = sum_j alpha_kij C(x_j)_k, and logits_i = E o_i.
Here: a word's senses or embedding (a word of several tokens by its first token, or the mean of
its tokens), the contributions c_ik, and the vectors read at annotated occurrences of a word in
held-out lines (the polysemy probe and the interventions).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext

import torch

from common.errors import UserError
from common.tokenizer import Tokenizer, ids_without_rows, missing_rows_message
from senses.word_tokens import occurrence_token_index


def is_backpack(model: torch.nn.Module) -> bool:
    return hasattr(model, 'sense_table')


def output_embedding(model: torch.nn.Module) -> torch.Tensor:
    """E (V, d) in float32, the rows of the real vocabulary (padding rows left out)."""
    return model.lm_head.weight[: model.config.vocab_size].float()


# --- words as vectors ----------------------------------------------------------------------


def _token_rows(table, token_id_lists, multi_token):
    if multi_token not in ('first', 'average'):
        raise ValueError(f"multi_token={multi_token!r}: choose 'first' or 'average'")
    missing = ids_without_rows([i for ids in token_id_lists for i in ids], table.size(0))
    if missing:  # a tokenizer with more ids than the model has rows: never an index error
        raise UserError(
            f"token id(s) {', '.join(map(str, missing[:10]))} have no row in the model "
            f"({table.size(0):,} rows): leave out the words that need them"
        )
    rows = [
        table[ids].float().mean(0) if multi_token == 'average' else table[ids[0]].float()
        for ids in token_id_lists
    ]
    return torch.stack(rows)


@torch.no_grad()
def word_sense_vectors(
    model: torch.nn.Module, token_id_lists: list[list[int]], multi_token: str = 'first'
) -> torch.Tensor:
    """(n, K, d): the senses of each word, read from the cached sense table. A word of several
    tokens is represented by its first token's senses, or (multi_token='average') their mean."""
    return _token_rows(model.sense_table(), token_id_lists, multi_token)


@torch.no_grad()
def word_embeddings(
    model: torch.nn.Module, token_id_lists: list[list[int]], multi_token: str = 'first'
) -> torch.Tensor:
    """(n, d): each word's token embedding (the GPT-2 baseline, or the Backpack's own E)."""
    return _token_rows(output_embedding(model), token_id_lists, multi_token)


# --- what each sense contributes to a prediction ------------------------------------------


def padded_batch(
    token_lists: list[list[int]], pad_id: int, device: str | torch.device
) -> tuple[torch.Tensor, list[int]]:
    """(B, T) int64 tensor of the sequences, right-padded (causal: padding never affects the
    positions before it), and their lengths."""
    lengths = [len(ids) for ids in token_lists]
    idx = torch.full((len(token_lists), max(lengths)), pad_id, dtype=torch.long)
    for b, ids in enumerate(token_lists):
        idx[b, : len(ids)] = torch.tensor(ids, dtype=torch.long)
    return idx.to(device), lengths


def sense_contributions(model: torch.nn.Module, idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """alpha (B, K, T, T) and c (B, K, T, d), c[b, k, i] = sum_j alpha[b, k, i, j] C(x_j)_k:
    what sense k contributes to the prediction at position i (float32)."""
    alpha = model.contextualization(idx)
    senses = model.sense_table()[idx].float()  # (B, T, K, d)
    return alpha, torch.einsum('bkij,bjkd->bkid', alpha, senses)


@torch.no_grad()
def logit_contributions(
    model: torch.nn.Module, idx: torch.Tensor, position: int, token_id: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """(position + 1, K): contribution[j, k] = alpha_k,i,j E[y] . C(x_j)_k, what sense k of token
    j adds to the logit of token y at prediction i = position of the sequence idx (1, T). They
    sum to that logit (E[y] . o_i, the output layer having no bias). Also alpha (K, T, T)."""
    alpha = model.contextualization(idx)[0].float()  # (K, T, T)
    senses = model.sense_table()[idx[0, : position + 1]].float()  # (j, K, d)
    votes = senses @ output_embedding(model)[token_id]  # (j, K): E[y] . C(x_j)_k
    return alpha[:, position, : position + 1].T * votes, alpha


def with_eot(token_ids: Sequence[int], eot_token: int, block_size: int) -> list[int]:
    """A held-out line as the model saw it in training: after an end-of-text token."""
    return [eot_token] + list(token_ids)[: block_size - 1]


# --- annotated occurrences of a word in held-out lines ------------------------------------


def occurrence_batches(
    model: torch.nn.Module, sequences: list[list[int]], positions: list[int], batch_size: int
) -> Iterator[tuple[list[int], torch.Tensor, torch.Tensor, torch.Tensor]]:
    """Batches of occurrences: (members, idx (B, T), js (B,), later (B, T)), later[b, i] = 1
    for the positions i >= j of the sequence (the predictions that follow the word)."""
    device = model.lm_head.weight.device
    order = sorted(range(len(sequences)), key=lambda i: len(sequences[i]))
    for start in range(0, len(order), batch_size):
        members = order[start : start + batch_size]
        idx, lengths = padded_batch([sequences[i] for i in members], 0, device)
        js = torch.tensor([positions[i] for i in members], device=device)
        steps = torch.arange(idx.size(1), device=device)
        later = (
            (steps[None, :] >= js[:, None]) & (steps[None, :] < torch.tensor(lengths, device=device)[:, None])
        ).float()
        yield members, idx, js, later


@torch.no_grad()
def occurrence_sense_weights(
    model: torch.nn.Module,
    sequences: list[list[int]],
    positions: list[int],
    batch_size: int = 32,
    autocast: AbstractContextManager | None = None,
) -> torch.Tensor:
    """(n, K): for each occurrence (the word's first token at position j of its sequence), the
    mean over the predictions i >= j of alpha_kij: how much the predictions that follow the word
    use each of its senses."""
    return occurrence_vectors(model, sequences, positions, ['sense_weights'], batch_size, autocast)[
        'sense_weights'
    ]


@torch.no_grad()
def occurrence_vectors(
    model: torch.nn.Module,
    sequences: list[list[int]],
    positions: list[int],
    probes: Sequence[str],
    batch_size: int = 32,
    autocast: AbstractContextManager | None = None,
) -> dict[str, torch.Tensor]:
    """The vector each occurrence is probed with, {probe: (n, d)} for the probes asked for (keys
    of senses.probe.PROBES, or 'sense_weights' for occurrence_sense_weights): sequences are token
    lists (after an end-of-text token), positions the index j of the word's first token. One
    forward pass per batch serves every probe."""
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


def locate_occurrences(
    tokenizer: Tokenizer, occurrences: list[dict], block_size: int, rows: int | None = None
) -> tuple[list[list[int]], list[int], list[int]]:
    """Tokenize each occurrence's line (after an end-of-text token) and find its word:
    (sequences, positions j of the word's first token, indices of the occurrences located).
    With rows (the model's), an occurrence whose line holds a token the model has no row for is
    left out, and the count said."""
    sequences, positions, located = [], [], []
    unreadable, missing = 0, set()
    for n, occurrence in enumerate(occurrences):
        ids = tokenizer.encode(occurrence['line'])
        if rows is not None and ids_without_rows(ids, rows):
            unreadable += 1
            missing.update(ids_without_rows(ids, rows))
            continue
        j = occurrence_token_index(
            tokenizer,
            occurrence['line'],
            ids,
            occurrence['word_index'],
            occurrence.get('surface', occurrence['word']),
        )
        if j is None or j + 1 >= block_size:
            continue
        sequences.append(with_eot(ids, tokenizer.eot_token, block_size))
        positions.append(j + 1)
        located.append(n)
    if unreadable:
        print(
            f"  {unreadable} annotated occurrence(s) left out: their lines hold "
            f"{missing_rows_message(tokenizer, missing, rows)}"
        )
    return sequences, positions, located
