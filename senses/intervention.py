"""
Interventions on a Backpack's senses, the Backpack paper's control mechanism: scale or remove
chosen senses of chosen words while the model predicts or generates, and measure the change.

    from senses.intervention import sense_scale_from_spec, generate_with_suppressed_senses
    scale, scaled = sense_scale_from_spec(model, tokenizer, "bank:3,7;vol:*=0.5")
    out = generate_with_suppressed_senses(model, idx, scale, max_new_tokens=50)

A spec is a ';'-separated list of WORD:SENSES[=FACTOR]: SENSES is a ','-separated list of sense
indices (0..K-1) or '*' for all of them; FACTOR multiplies those senses (default 0: removed;
1 leaves them as they are). Scaling sense k of a token scales its weight alpha_kij in every
prediction i that reads it. A word is every single-token surface form of it (' bank', 'bank',
' Bank', 'Bank'); a word that is no single token is refused (scaling a piece of it would change
every word made with that piece), and 'id:N' names token N itself ('id:275:3').

The analysis (intervention_study, run): if a sense carries one meaning of a polysemous word,
zeroing it should lower what that meaning predicts -- its translations and context words --
more than what the word's other meaning predicts (zeroing any sense shifts probability between
all words, so the specific effect is that difference). The senses are chosen on one held-out
split and the effect measured on the other, so that the measured words do not choose them.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field, fields
from typing import NamedTuple, TypedDict

import numpy as np
import torch

from common.errors import UserError
from common.languages import language_name
from common.reporting import grouped_bar_chart, markdown_table, write_csv
from common.tokenizer import Tokenizer, check_rows
from evaluation.statistics import bootstrap_mean_ci
from senses import Skipped
from senses.analysis_inputs import AnalysisInputs
from senses.gold import polysemous_words
from senses.report import format_ci
from senses.vectors import (
    is_backpack,
    locate_occurrences,
    occurrence_batches,
    occurrence_sense_weights,
    output_embedding,
)
from senses.word_tokens import surface_variant_tokens, translation_candidates, word_tokens

TITLE = 'Interventions'
NEEDS = ('senses', 'gold', 'heldout')


SPEC_HELP = "expected WORD:SENSES[=FACTOR];... e.g. 'bank:3,7' or 'bank:*=0.5;vol:2'"


def parse_senses(text: str) -> list[int] | None:
    """'3,7' -> [3, 7]; '*' or 'all' -> None (every sense)."""
    text = text.strip()
    if text in ('*', 'all'):
        return None
    try:
        senses = [int(s) for s in text.split(',') if s.strip()]
    except ValueError:
        raise UserError(f"senses {text!r} are not integers or '*'")
    if not senses:
        raise UserError("no senses given")
    return senses


def parse_factor(text: str) -> float:
    """'0.5' -> 0.5: the factor the chosen senses are multiplied by (a finite number)."""
    try:
        factor = float(text)
    except ValueError:
        raise UserError(f"factor {text!r} is not a number")
    if not math.isfinite(factor):
        raise UserError(f"factor {text!r} is not a finite number")
    return factor


def parse_sense_scale_spec(spec: str) -> list[tuple[str, list[int] | None, float]]:
    """'bank:3,7;vol:*=0.5' -> [('bank', [3, 7], 0.0), ('vol', None, 0.5)] (None: all senses)."""
    entries = []
    for part in spec.split(';'):
        part = part.strip()
        if not part:
            continue
        if ':' not in part:
            raise UserError(f"sense scale {part!r}: no ':' ({SPEC_HELP})")
        word, rest = part.rsplit(':', 1)
        try:
            factor = 0.0
            if '=' in rest:
                rest, factor_text = rest.split('=', 1)
                factor = parse_factor(factor_text)
            senses = parse_senses(rest)
        except UserError as e:
            raise UserError(f"sense scale {part!r}: {e} ({SPEC_HELP})")
        if not word.strip():
            raise UserError(f"sense scale {part!r}: no word given ({SPEC_HELP})")
        entries.append((word.strip(), senses, factor))
    if not entries and spec.strip():
        raise UserError(f"sense scale {spec!r} names no word ({SPEC_HELP})")
    return entries


def sense_scale(
    model: torch.nn.Module, scaled: list[tuple[list[int], list[int] | None, float]]
) -> torch.Tensor:
    """(V, K) factors for model(..., token_sense_scale=...): scaled is a list of
    (token ids, senses or None for all, factor); every other entry is 1."""
    K = model.config.n_sense_vector
    scale = torch.ones(model.config.vocab_size, K, device=model.lm_head.weight.device)
    for token_ids, senses, factor in scaled:
        for k in senses if senses is not None else range(K):
            if not 0 <= k < K:
                raise UserError(f"sense {k} does not exist: this model has {K} senses per token (0..{K - 1})")
            scale[list(token_ids), k] = factor
    return scale


def word_scale_tokens(tokenizer: Tokenizer, word: str, vocab_size: int) -> list[int]:
    """The token ids an intervention on a word acts on: every single-token surface form of it,
    or the one token 'id:N' names. A word that is no single token is refused: scaling one of its
    pieces (' b' of 'banana') would change every word made with that piece."""
    token_id = re.fullmatch(r'id:(\d+)', word.strip())
    if token_id:
        token_id = int(token_id.group(1))
        if token_id >= vocab_size:
            raise UserError(f"sense scale for {word!r}: this model's token ids are 0..{vocab_size - 1}")
        return [token_id]
    ids = surface_variant_tokens(tokenizer, word)
    if ids:
        return ids
    pieces = tokenizer.encode(' ' + word.strip())
    if not pieces:
        raise UserError(f"sense scale for {word!r}: the word has no tokens")
    named = ', '.join(f"{tokenizer.token_str(i)!r} (id:{i})" for i in pieces)
    example = next((i for i in pieces if tokenizer.token_str(i).strip()), pieces[0])
    raise UserError(
        f"sense scale for {word!r}: the word is no single token of this model's "
        f"vocabulary but {len(pieces)} tokens, {named}; scaling one of them would change every "
        f"word made with it. "
        f"Name a word that is one token, or one token as id:N (e.g. "
        f"id:{example} for {tokenizer.token_str(example)!r})."
    )


def sense_scale_from_spec(
    model: torch.nn.Module, tokenizer: Tokenizer, spec: str
) -> tuple[torch.Tensor, list[dict]]:
    """(V, K) factors from a spec (see the module docstring) and a description of what is
    scaled: [{'word', 'token_ids', 'tokens', 'senses', 'factor'}]."""
    return sense_scale_for_words(model, tokenizer, parse_sense_scale_spec(spec))


def sense_scale_for_words(
    model: torch.nn.Module, tokenizer: Tokenizer, entries: list[tuple[str, list[int] | None, float]]
) -> tuple[torch.Tensor, list[dict]]:
    """sense_scale_from_spec for parsed entries [(word, senses or None for all, factor)]."""
    if not is_backpack(model):
        raise UserError(
            "sense scales need a Backpack checkpoint (model_name='backpack-lm'): a GPT-2 has no senses"
        )
    scaled, described = [], []
    for word, senses, factor in entries:
        ids = word_scale_tokens(tokenizer, word, model.config.vocab_size)
        check_rows(tokenizer, ids, model.config.vocab_size, f"sense scale for {word!r}")
        scaled.append((ids, senses, factor))
        described.append(
            {
                'word': word,
                'token_ids': ids,
                'tokens': [tokenizer.token_str(i) for i in ids],
                'senses': senses if senses is not None else 'all',
                'factor': factor,
            }
        )
    return sense_scale(model, scaled), described


@torch.no_grad()
def generate_with_suppressed_senses(
    model: torch.nn.Module,
    idx: torch.Tensor,
    token_sense_scale: torch.Tensor,
    max_new_tokens: int,
    temperature: float = 1.0,
    top_k: int | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """model.generate with the senses scaled by token_sense_scale (V, K), e.g. from
    sense_scale_from_spec: the continuation of idx (B, T) by max_new_tokens tokens."""
    if not is_backpack(model):
        raise UserError("suppressing senses needs a Backpack checkpoint: a GPT-2 has no senses")
    return model.generate(
        idx,
        max_new_tokens,
        temperature=temperature,
        top_k=top_k,
        generator=generator,
        token_sense_scale=token_sense_scale,
    )


# --- measuring an intervention -------------------------------------------------------------


@torch.no_grad()
def senses_for_meaning(
    model: torch.nn.Module, token_id: int, meaning_ids: list[int], other_ids: list[int], n_senses: int = 1
) -> tuple[list[int], list[float]]:
    """The senses of a token that vote most for one meaning's words over the other meanings':
    ranked by C(w)_k . (mean E[meaning words] - mean E[other words]). Returns (senses, scores)."""
    E = output_embedding(model)
    senses = model.sense_table()[token_id].float()  # (K, d)
    direction = E[list(meaning_ids)].mean(0) - E[list(other_ids)].mean(0)
    scores = senses @ direction
    order = scores.argsort(descending=True)[:n_senses]
    return order.tolist(), scores.tolist()


def sense_weights_by_meaning(
    model: torch.nn.Module,
    tokenizer: Tokenizer,
    occurrences: list[dict],
    word: str,
    language: str,
    n_meanings: int,
    batch_size: int = 32,
    autocast: AbstractContextManager | None = None,
) -> np.ndarray | None:
    """(n_meanings, K): the mean over a word's annotated occurrences of each meaning of
    occurrence_sense_weights (how much the predictions after the word use each of its senses);
    None when some meaning has no occurrence."""
    mine = [o for o in occurrences if (o['word'], o['language']) == (word, language)]
    sequences, positions, located = locate_occurrences(
        tokenizer, mine, model.config.block_size, model.config.vocab_size
    )
    meanings = np.array([mine[i]['sense_index'] for i in located])
    if any(not (meanings == m).any() for m in range(n_meanings)):
        return None
    weights = occurrence_sense_weights(model, sequences, positions, batch_size, autocast).numpy()
    return np.stack([weights[meanings == m].mean(0) for m in range(n_meanings)])


def senses_used_in_context(weights_by_meaning: np.ndarray, meaning: int, n_senses: int = 1) -> list[int]:
    """The n_senses senses whose weight rises most from the other meanings' lines to this
    meaning's lines (weights_by_meaning from sense_weights_by_meaning)."""
    others = np.delete(weights_by_meaning, meaning, axis=0).mean(0)
    rise = weights_by_meaning[meaning] - others
    return [int(k) for k in np.argsort(-rise, kind='stable')[:n_senses]]


@torch.no_grad()
def word_set_log_probability(
    model: torch.nn.Module,
    sequences: list[list[int]],
    positions: list[int],
    word_sets: list[list[int]],
    token_sense_scale: torch.Tensor | None = None,
    batch_size: int = 32,
    autocast: AbstractContextManager | None = None,
) -> np.ndarray:
    """(n, S): for each sequence (teacher forcing on the held-out text) and each word set (a
    list of token ids, the first tokens of its words), the mean over the predictions at
    positions i >= j (j = positions[n], to the end of the sequence) of log sum_{t in set} p_i(t):
    how likely the next word is one of the set's."""
    device = model.lm_head.weight.device
    out = np.zeros((len(sequences), len(word_sets)))
    set_ids = [torch.tensor(sorted(set(ids)), device=device) for ids in word_sets]
    kwargs = {} if token_sense_scale is None else {'token_sense_scale': token_sense_scale}
    for members, idx, js, later in occurrence_batches(model, sequences, positions, batch_size):
        with autocast or nullcontext():
            logits, _ = model(idx, all_logits=True, **kwargs)
        log_probs = torch.log_softmax(logits.float(), dim=-1)
        for s, ids in enumerate(set_ids):
            set_log_prob = torch.logsumexp(log_probs[..., ids], dim=-1)  # (B, T)
            out[members, s] = ((set_log_prob * later).sum(1) / later.sum(1)).cpu().numpy()
    return out


def change_summary(delta: Sequence[float] | np.ndarray, n_bootstrap: int = 1000, seed: int = 0) -> dict:
    """Mean of the per-prompt changes (intervened - baseline) with a bootstrap 95% interval,
    and the fraction of prompts where it went down."""
    delta = np.asarray(delta, float)
    if len(delta) == 0:
        return {'mean': None, 'mean_ci95': [None, None], 'fraction_lowered': None, 'n': 0}
    low, high = bootstrap_mean_ci(delta, n_resamples=n_bootstrap, seed=seed)
    return {
        'mean': float(delta.mean()),
        'mean_ci95': [low, high],
        'fraction_lowered': float((delta < 0).mean()),
        'n': len(delta),
    }


WORD_SETS = ('translation', 'context', 'other_translation', 'other_context')
# how much more the meaning's words lose than the other meaning's: zeroing any sense shifts
# probability between all words, so the specific effect is the difference
SPECIFICITY = {
    'translation_vs_other': ('translation', 'other_translation'),
    'context_vs_other': ('context', 'other_context'),
}
MEASURES = WORD_SETS + tuple(SPECIFICITY)


@dataclass(frozen=True)
class InterventionOptions:
    """How intervention_study measures: which words (None: every polysemous word of the
    lexicon), how many senses it zeroes per meaning, on how many prompts per meaning, how many
    example continuations (of max_new_tokens), and the batches, bootstrap and autocast."""

    words: Sequence[str] | None = None
    n_senses: int = 1
    max_prompts: int = 40
    n_examples: int = 2
    max_new_tokens: int = 20
    batch_size: int = 32
    n_bootstrap: int = 1000
    seed: int = 0
    autocast: AbstractContextManager | None = None


@dataclass
class MeaningRow:
    """The intervention on one meaning of a word: the senses zeroed, how they were chosen, and
    per measure (MEASURES) the change_summary of the prompts, for the measures it has words for."""

    word: str
    language: str
    sense_id: str
    suppressed_senses: list[int]
    selection: str  # 'context' (chosen on the other split) or 'projection' (circular)
    tokens: list[str]  # the surface forms zeroed
    n_prompts: int
    changes: dict[str, dict] = field(default_factory=dict)
    deltas: dict[str, np.ndarray] = field(default_factory=dict, repr=False)  # per measure, per prompt

    def to_json(self) -> dict:
        """The row as senses.json holds it: the fields, then each measure's change."""
        row = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ('changes', 'deltas')}
        return {**row, **self.changes}


class Example(TypedDict):
    """A greedy continuation of a prompt with and without the senses zeroed."""

    sense_id: str
    suppressed_senses: list[int]
    line: str
    prompt: str
    baseline: str
    suppressed: str


@dataclass
class InterventionStudy:
    """intervention_study's result: a row per meaning, the changes pooled over the meanings
    (overall, and per language: {measure: change_summary}), examples and notes."""

    rows: list[MeaningRow]
    overall: dict[str, dict]
    by_language: dict[str, dict[str, dict]]
    examples: list[Example]
    notes: list[str]
    n_senses_suppressed: int
    max_prompts: int
    selection: list[str]  # how the senses of the rows were chosen
    pooled_selection: str  # the rows pooled: 'context' ones when there are some, else 'projection'

    def to_json(self) -> dict:
        """The study as senses.json's 'intervention' holds it (before split and files)."""
        study = {f.name: getattr(self, f.name) for f in fields(self)}
        return {**study, 'rows': [row.to_json() for row in self.rows]}


@torch.no_grad()
def intervention_study(
    model: torch.nn.Module,
    tokenizer: Tokenizer,
    lexicon: dict,
    occurrences: list[dict],
    selection_occurrences: list[dict] | None = None,
    options: InterventionOptions = InterventionOptions(),
) -> InterventionStudy:
    """Does suppressing the sense that carries one meaning of a polysemous word lower what that
    meaning predicts? For each word of the gold lexicon (or of options.words) and each of its
    senses s, n_senses senses of the word are set to 0 on every surface form of the word; on
    held-out lines (occurrences) where the word is used in sense s, the mean log-probability
    (teacher forcing, predictions from the word on) that the next word is one of: s's
    translations, s's context words, the other senses' translations, the other senses' context
    words, with and without the intervention (log_probability_changes). Reported as the change,
    intervened - baseline, with bootstrap intervals over prompts: per (word, sense), pooled, and
    pooled per language; and greedy continuations of a few prompts with and without it. Which
    senses carry meaning s is chosen on selection_occurrences (another held-out split) when
    given, else by projection, which is circular and said in the notes (choose_senses)."""
    rows, notes, examples = [], [], []
    for (word, lang), entry in polysemous_words(lexicon).items():
        if options.words and word not in options.words:
            continue
        setup = word_setup(model, tokenizer, (word, lang), entry, selection_occurrences, options, notes)
        for s, sense in enumerate(entry['senses'] if setup is not None else []):
            sets = meaning_word_sets(setup, s)
            if (
                not sets['translation'] + sets['context']
                or not sets['other_translation'] + sets['other_context']
            ):
                notes.append(
                    f"{sense['sense_id']}: no word of its own or of the other senses left to measure; skipped"
                )
                continue
            chosen, selection = choose_senses(model, setup, s, sets, options.n_senses)
            scale = sense_scale(model, [(setup.scale_tokens, chosen, 0.0)])
            prompts, sequences, positions = meaning_prompts(
                model, tokenizer, occurrences, (word, lang, s), options
            )
            tokens = [tokenizer.token_str(t) for t in setup.scale_tokens]
            row = MeaningRow(word, lang, sense['sense_id'], chosen, selection, tokens, len(sequences))
            rows.append(row)
            if not sequences:
                continue
            row.deltas = log_probability_changes(model, sequences, positions, sets, scale, options)
            row.changes = {
                name: change_summary(values, options.n_bootstrap, options.seed)
                for name, values in row.deltas.items()
            }
            if len(examples) < options.n_examples:
                continued = continuations(
                    model, tokenizer, sequences[0], positions[0], scale, options.max_new_tokens
                )
                line = prompts[0]['line']
                examples.append(
                    Example(sense_id=row.sense_id, suppressed_senses=chosen, line=line, **continued)
                )
    return pooled_study(rows, notes, examples, options)


class WordSetup(NamedTuple):
    """What the interventions on one polysemous word need, for each of its meanings."""

    scale_tokens: list[int]  # the surface forms of the word the senses are zeroed on
    translations: list[list[int]]  # per meaning, its translations' first tokens
    contexts: list[list[int]]  # per meaning, its context words' first tokens
    token: int  # the word's first token, whose senses the projection reads
    weights: np.ndarray | None  # sense_weights_by_meaning on the selection lines, or None


def word_setup(
    model: torch.nn.Module,
    tokenizer: Tokenizer,
    key: tuple[str, str],
    entry: dict,
    selection_occurrences: list[dict] | None,
    options: InterventionOptions,
    notes: list[str],
) -> WordSetup | None:
    """The WordSetup of the lexicon entry of key (word, language); None when the word is no
    single token (it cannot be intervened on). What is skipped, and a word whose senses will be
    chosen by projection, are added to notes."""
    word, lang = key
    try:
        scale_tokens = word_scale_tokens(tokenizer, word, model.config.vocab_size)
    except UserError as e:
        notes.append(f"{e}; skipped")
        return None
    weights = None
    if selection_occurrences is not None:
        weights = sense_weights_by_meaning(
            model,
            tokenizer,
            selection_occurrences,
            word,
            lang,
            len(entry['senses']),
            options.batch_size,
            options.autocast,
        )
        if weights is None:
            notes.append(
                f"{word} ({language_name(lang)}): the selection lines do not use every "
                f"meaning of it; its senses are chosen by projection (circular)"
            )
    translations, _ = translation_candidates(tokenizer, entry, 'translations')
    contexts, _ = translation_candidates(tokenizer, entry, 'context_words')
    return WordSetup(scale_tokens, translations, contexts, word_tokens(tokenizer, word)[0], weights)


def meaning_word_sets(setup: WordSetup, meaning: int) -> dict[str, list[int]]:
    """{WORD_SETS name: token ids}: the meaning's translations and context words, and the
    other meanings' (their union)."""
    others = [i for i in range(len(setup.translations)) if i != meaning]
    return {
        'translation': setup.translations[meaning],
        'context': setup.contexts[meaning],
        'other_translation': sorted({t for i in others for t in setup.translations[i]}),
        'other_context': sorted({t for i in others for t in setup.contexts[i]}),
    }


def meaning_prompts(
    model: torch.nn.Module,
    tokenizer: Tokenizer,
    occurrences: list[dict],
    meaning: tuple[str, str, int],
    options: InterventionOptions,
) -> tuple[list[dict], list[list[int]], list[int]]:
    """(the occurrences located, their token sequences, the positions of the word) of the first
    max_prompts occurrences of a meaning (word, language, index of the sense)."""
    prompts = [o for o in occurrences if (o['word'], o['language'], o['sense_index']) == meaning]
    sequences, positions, located = locate_occurrences(
        tokenizer, prompts[: options.max_prompts], model.config.block_size, model.config.vocab_size
    )
    return [prompts[i] for i in located], sequences, positions


def choose_senses(
    model: torch.nn.Module, setup: WordSetup, meaning: int, sets: dict[str, list[int]], n_senses: int
) -> tuple[list[int], str]:
    """(the n_senses senses to zero for a meaning, how they were chosen): 'context', the senses
    whose weight in the predictions after the word rises most from the other meanings' lines to
    this meaning's on the selection lines (senses_used_in_context); else 'projection', the
    senses that vote most for the meaning's words through the output embedding
    (senses_for_meaning), which is circular: the measured words choose the senses."""
    if setup.weights is not None:
        return senses_used_in_context(setup.weights, meaning, n_senses), 'context'
    meaning_ids = sets['translation'] + sets['context']
    other_ids = sets['other_translation'] + sets['other_context']
    chosen, _ = senses_for_meaning(model, setup.token, meaning_ids, other_ids, n_senses)
    return chosen, 'projection'


def log_probability_changes(
    model: torch.nn.Module,
    sequences: list[list[int]],
    positions: list[int],
    sets: dict[str, list[int]],
    scale: torch.Tensor,
    options: InterventionOptions,
) -> dict[str, np.ndarray]:
    """{measure: per-prompt change}: for each word set that has words, the change (intervened -
    baseline) of word_set_log_probability, and the SPECIFICITY differences of those present."""
    names = [name for name in WORD_SETS if sets[name]]
    word_sets = [sets[name] for name in names]
    before = word_set_log_probability(
        model, sequences, positions, word_sets, None, options.batch_size, options.autocast
    )
    after = word_set_log_probability(
        model, sequences, positions, word_sets, scale, options.batch_size, options.autocast
    )
    delta = {name: after[:, i] - before[:, i] for i, name in enumerate(names)}
    for name, (own, other) in SPECIFICITY.items():
        if own in delta and other in delta:
            delta[name] = delta[own] - delta[other]
    return delta


def pooled_study(
    rows: list[MeaningRow], notes: list[str], examples: list[Example], options: InterventionOptions
) -> InterventionStudy:
    """The study with the rows' changes pooled over the meanings whose senses were chosen
    without the measured words ('context'), if there are some, else over all of them."""

    def summary(deltas):
        return change_summary(np.concatenate(deltas) if deltas else [], options.n_bootstrap, options.seed)

    pooled = {}  # selection -> language -> measure -> per-prompt changes
    for row in rows:
        for name, values in row.deltas.items():
            pooled.setdefault(row.selection, {}).setdefault(row.language, {m: [] for m in MEASURES})[
                name
            ].append(values)
    pooled_selection = 'context' if 'context' in pooled else 'projection'
    by_lang = pooled.get(pooled_selection, {})
    overall = {name: summary([d for by_name in by_lang.values() for d in by_name[name]]) for name in MEASURES}
    by_language = {
        lang: {name: summary(by_name[name]) for name in MEASURES} for lang, by_name in by_lang.items()
    }
    return InterventionStudy(
        rows=rows,
        overall=overall,
        by_language=by_language,
        examples=examples,
        notes=notes,
        n_senses_suppressed=options.n_senses,
        max_prompts=options.max_prompts,
        selection=sorted({r.selection for r in rows}),
        pooled_selection=pooled_selection,
    )


def continuations(
    model: torch.nn.Module,
    tokenizer: Tokenizer,
    sequence: list[int],
    position: int,
    scale: torch.Tensor,
    max_new_tokens: int,
) -> dict[str, str]:
    """The prompt (the line up to the word at position) and its greedy continuations, as it is
    ('baseline') and with the senses scaled ('suppressed'), to the end of the line."""
    device = model.lm_head.weight.device
    prompt = torch.tensor([sequence[: position + 1]], device=device)
    baseline = model.generate(prompt, max_new_tokens, temperature=0)
    suppressed = generate_with_suppressed_senses(model, prompt, scale, max_new_tokens, temperature=0)

    def new(out):
        ids = out[0, prompt.size(1) :].tolist()
        if tokenizer.eot_token in ids:  # the line ends there
            ids = ids[: ids.index(tokenizer.eot_token)]
        text = tokenizer.decode(ids)
        return text if len(ids) == max_new_tokens else (text + ' ' if text else '') + '<end of line>'

    return {
        'prompt': tokenizer.decode(sequence[1 : position + 1]),
        'baseline': new(baseline),
        'suppressed': new(suppressed),
    }


# --- the analysis as sense_visualisation.py runs it ----------------------------------------


def chosen_words(lexicon: dict, words: str) -> list[str] | None:
    """--intervention_words=a,b -> the lowercased words (None: '' chooses every polysemous word
    of the gold lexicon); a word the lexicon has no senses for is an error naming the ones it has
    (else it would be measured on no line, and the message would blame the held-out text)."""
    chosen = [w.strip().lower() for w in words.split(',') if w.strip()]
    if words.strip() and not chosen:
        raise UserError(
            f"--intervention_words={words!r} names no word: give comma-separated words "
            f"of the gold lexicon, or leave it out for all of them"
        )
    known = list(dict.fromkeys(word for word, _ in polysemous_words(lexicon)))
    unknown = [w for w in chosen if w not in known]
    if unknown:
        raise UserError(
            f"--intervention_words: {', '.join(unknown)} {'is' if len(unknown) == 1 else 'are'} "
            f"no polysemous word of the gold lexicon (it has {', '.join(known) or 'none'})"
        )
    return chosen or None


def run(inputs: AnalysisInputs) -> dict:
    """intervention_study of the gold polysemous words (--intervention_words: a comma-separated
    choice of them, '' for all), the senses chosen on the other held-out split and the effect
    measured on the split. Writes sense_intervention.csv and sense_intervention.png to
    report_dir. The result (senses.json's 'intervention'): InterventionStudy.to_json, then
    split, selection_split and files."""
    gold, split, options = inputs.gold, inputs.split, inputs.options
    chosen = chosen_words(gold.lexicon, options.intervention_words)
    # the senses to zero are chosen on the other held-out split, the effect measured on this one
    selection_split = 'val' if split == 'test' else 'test'
    if gold.occurrences(split) is None:
        raise Skipped(f"the gold annotation has no {split}.jsonl: prepare the demo corpus again")
    study = intervention_study(
        inputs.model,
        inputs.tokenizer,
        gold.lexicon,
        gold.occurrences(split),
        gold.occurrences(selection_split),
        InterventionOptions(
            words=chosen,
            n_senses=options.intervention_senses,
            max_prompts=options.intervention_prompts,
            max_new_tokens=options.max_new_tokens,
            batch_size=options.batch_size,
            n_bootstrap=options.n_bootstrap,
            seed=options.seed,
            autocast=inputs.autocast,
        ),
    )
    measured = [r for r in study.rows if r.n_prompts]
    if not measured:
        raise Skipped(
            f"no held-out line of {inputs.dataset}/{split} uses "
            f"{'these words' if chosen else 'a polysemous word of the lexicon'}"
        )
    result = {**study.to_json(), 'split': split, 'selection_split': selection_split}
    write_csv(os.path.join(inputs.report_dir, 'sense_intervention.csv'), csv_rows(study.rows), CSV_COLUMNS)
    intervention_figure(
        os.path.join(inputs.report_dir, 'sense_intervention.png'), study, sum(r.n_prompts for r in measured)
    )
    result['files'] = {'csv': 'sense_intervention.csv', 'figure': 'sense_intervention.png'}
    return result


CSV_COLUMNS = ['word', 'language', 'sense_id', 'suppressed_senses', 'selection', 'n_prompts'] + [
    f'{n}{s}' for n in MEASURES for s in ('', '_low', '_high')
]


def csv_rows(rows: list[MeaningRow]) -> list[dict]:
    """sense_intervention.csv: a row per meaning, each measure's mean change and interval."""
    table = []
    for r in rows:
        row = {
            'word': r.word,
            'language': r.language,
            'sense_id': r.sense_id,
            'suppressed_senses': ' '.join(map(str, r.suppressed_senses)),
            'selection': r.selection,
            'n_prompts': r.n_prompts,
        }
        for name in MEASURES:
            if name in r.changes:
                change = r.changes[name]
                row.update(
                    {
                        name: change['mean'],
                        f'{name}_low': change['mean_ci95'][0],
                        f'{name}_high': change['mean_ci95'][1],
                    }
                )
        table.append(row)
    return table


FIGURE_MEASURES = {
    'translation': "its translations",
    'context': "its context words",
    'other_translation': "other's translations",
    'other_context': "other's context words",
    'translation_vs_other': "translations:\nown - other's",
    'context_vs_other': "context words:\nown - other's",
}


def intervention_figure(path: str, study: InterventionStudy, n_prompts: int) -> None:
    """The mean change of each measure, pooled over all words and per language, with intervals."""
    pools = {
        'all words': study.overall,
        **{f"{language_name(lang)} words": v for lang, v in study.by_language.items()},
    }
    grouped_bar_chart(
        path,
        list(FIGURE_MEASURES.values()),
        {name: [pool[m]['mean'] for m in FIGURE_MEASURES] for name, pool in pools.items()},
        errors={name: [tuple(pool[m]['mean_ci95']) for m in FIGURE_MEASURES] for name, pool in pools.items()},
        ylabel='mean change in log p (nats)',
        title=f"Zeroing the sense that carries a meaning ({n_prompts} held-out prompts)",
    )


def markdown(result: dict) -> str:
    """The section of senses.md: the pooled changes, per word and meaning, and examples."""
    text = [method_text(result), pooled_table(result), per_meaning_table(result)]
    if result['files'].get('figure'):
        text.append(f"![interventions]({result['files']['figure']})\n\n")
    for example in result['examples']:
        text.append(
            f"- {example['sense_id']}, senses {example['suppressed_senses']} zeroed. "
            f"Prompt: \"{example['prompt']}\"; continuation: \"{example['baseline']}\"; "
            f"with the senses zeroed: \"{example['suppressed']}\"\n"
        )
    for note in result.get('notes', []):
        text.append(f"- {note}\n")
    return ''.join(text)


def method_text(result: dict) -> str:
    """What was zeroed and measured, how the senses were chosen, what the change means."""
    how = (
        f"the {result['n_senses_suppressed']} sense(s) of the word whose weight in the "
        f"predictions after it rises most from the other meaning's lines to this meaning's "
        f"lines, on the {result.get('selection_split', 'other')} split (chosen without looking "
        f"at the words measured)"
    )
    if 'projection' in result.get('selection', []):
        how += (
            " -- or, where marked 'projection', the sense(s) that vote most for the meaning's "
            "words through the output embedding (circular: the measured words choose them)"
        )
    return (
        f"For each polysemous word and each of its gold meanings, {how}, are set to 0 on "
        f"every surface form of the word. On {result.get('split', 'held-out')} lines that use "
        f"the word in that meaning (at most {result['max_prompts']} each), the mean "
        f"log-probability, over the predictions from the word to the end of the line, that "
        f"the next word is one of the meaning's translations or context words, or one of the "
        f"other meaning's: the change is intervened - baseline (nats; negative = lowered), "
        f"with bootstrap 95% intervals over prompts. Zeroing any sense shifts probability "
        f"between all words, so the specific effect is the difference 'own - other's' "
        f"(negative: the meaning's words lost more than the other meaning's). The same switch "
        f"is available to generation: `generate_with_suppressed_senses` in "
        f"senses/intervention.py.\n\n"
    )


def pooled_table(result: dict) -> str:
    """All words and senses pooled: a row per measure."""
    rows = []
    for name, label in INTERVENTION_SETS.items():
        o = result['overall'].get(name)
        if o and o['n']:
            rows.append(
                {
                    'words': label,
                    'n': o['n'],
                    'change': o['mean'],
                    'ci95': format_ci(o['mean_ci95'], '.3g'),
                    'lowered': o['fraction_lowered'],
                }
            )
    pooled = result.get('pooled_selection', 'context')
    return (
        "All words and senses pooled"
        + (
            " (the meanings whose senses were chosen on the other split; the 'projection' ones are left out)"
            if pooled == 'context' and 'projection' in result['selection']
            else ''
        )
        + ":\n\n"
        + markdown_table(
            rows,
            ['words', 'n', 'change', 'ci95', 'lowered'],
            formats={'change': '.3g', 'lowered': '.2f'},
            headers={
                'change': 'mean change in log p',
                'ci95': '95% CI',
                'lowered': 'fraction of prompts lowered',
            },
        )
        + '\n'
    )


def per_meaning_table(result: dict) -> str:
    """A row per word and meaning: the senses zeroed, the prompts, the main changes."""
    rows = []
    for r in result['rows']:
        row = {
            'sense_id': r['sense_id'],
            'n': r['n_prompts'],
            'suppressed': ', '.join(map(str, r['suppressed_senses']))
            + (' (projection)' if r.get('selection') == 'projection' else ''),
        }
        for name in INTERVENTION_SETS:
            if isinstance(r.get(name), dict) and r[name]['mean'] is not None:
                row[name] = f"{r[name]['mean']:+.3g} {format_ci(r[name]['mean_ci95'], '.2g')}"
        rows.append(row)
    shown = ['translation', 'context', 'translation_vs_other', 'context_vs_other']
    return (
        "Per word and meaning (all columns in sense_intervention.csv):\n\n"
        + markdown_table(
            rows,
            ['sense_id', 'suppressed', 'n', *shown],
            headers={
                'suppressed': 'senses zeroed',
                'n': 'prompts',
                **{n: INTERVENTION_SETS[n] for n in shown},
            },
        )
        + '\n'
    )


INTERVENTION_SETS = {
    'translation': 'its translations',
    'context': 'its context words',
    'other_translation': "other meaning's translations",
    'other_context': "other meaning's context words",
    'translation_vs_other': "translations: own - other's",
    'context_vs_other': "context words: own - other's",
}


def headline(result: dict) -> str | None:
    """The specific effect of the interventions, pooled, in one sentence (demo.py's report);
    None when nothing was measured."""
    i = result.get('overall', {}).get('translation_vs_other')
    if not i or i.get('mean') is None:
        return None
    return (
        f"- Intervention: zeroing the sense chosen for a meaning changes the log-probability "
        f"of that meaning's translations, relative to the other meaning's, by "
        f"{i['mean']:+.4f} nats (95% CI {i['mean_ci95'][0]:+.4f} to "
        f"{i['mean_ci95'][1]:+.4f})."
    )
