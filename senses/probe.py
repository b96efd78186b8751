"""
The polysemy probe: do a Backpack's senses tell the meanings of an ambiguous word apart, in
context? Against the demo corpus's gold senses (each annotated occurrence of 'bank' or 'vol'
says which meaning it has), a probe vector read at the occurrence scores each meaning's target
words through the output embedding: its translations (the other language; a monolingual line
cannot see them, so only a cross-lingual model that files meanings by sense can get them right)
or its same-language context words. The Backpack's own senses of the word, weighted as the later
predictions weigh them, are compared with its output vectors and with a GPT-2's token embedding
and final hidden states as baselines. Accuracy per word and pooled, with Wilson intervals, chance
(1 / number of senses), the majority-sense rate and a binomial test against chance; each probe
is also decided 'centred' (minus its mean over the word's occurrences), which discounts a target
favoured in every context. Statically, the best rank any sense vector gives each meaning's
targets, against the rank expected by chance.
"""

from __future__ import annotations

import math
import os
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import NotRequired, TypedDict

import numpy as np
import torch

from common.languages import language_name
from common.reporting import grouped_bar_chart, markdown_table, write_csv
from common.tokenizer import Tokenizer, token_rows
from evaluation.statistics import wilson_interval
from senses import Skipped
from senses.analysis_inputs import AnalysisInputs
from senses.gold import polysemous_words
from senses.report import format_ci, format_p
from senses.vectors import (
    is_backpack,
    locate_occurrences,
    occurrence_vectors,
    output_embedding,
    word_embeddings,
    word_sense_vectors,
)
from senses.word_tokens import translation_candidates, word_tokens

TITLE = 'Polysemy probe'
NEEDS = ('gold', 'heldout')


PROBES = {
    'word_senses': "the word's own senses, sum over senses k of alpha_kij C(x_j)_k, averaged over "
    "the predictions i >= j (Backpack)",
    'output': "the vectors the predictions i >= j are read from, averaged (Backpack o_i, GPT-2 "
    "final hidden state)",
    'token_embedding': "the word's token embedding E[x_j], the same in every context",
}


def token_ranks(logits: torch.Tensor, token_ids: list[int]) -> torch.Tensor:
    """Rank (1 = highest) of each of token_ids in logits (..., V) -> (..., len(token_ids))."""
    chosen = logits[..., token_ids]
    return 1 + (logits.unsqueeze(-2) > chosen.unsqueeze(-1)).sum(-1)


def center_by_word(vectors: torch.Tensor, of_word: dict[tuple[str, str], np.ndarray]) -> torch.Tensor:
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


def probe_predictions(
    vectors: torch.Tensor, E: torch.Tensor, candidates: list[list[list[int]]], gold: np.ndarray
) -> np.ndarray:
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


class Accuracy(TypedDict):
    """accuracy_summary's result, part of each row of the probe."""

    n: int
    correct: int
    accuracy: float
    accuracy_ci95: list[float]  # Wilson
    chance: float
    p_value: float  # one-sided binomial, against chance


def accuracy_summary(correct: np.ndarray, chance: np.ndarray | float, level: float = 0.95) -> Accuracy:
    """Accuracy with its Wilson interval and the one-sided binomial p-value against chance
    (the mean chance level when words have different numbers of senses)."""
    from scipy.stats import binomtest

    n, k = len(correct), int(np.sum(correct))
    chance = float(np.mean(chance)) if n else math.nan
    p_value = binomtest(k, n, chance, alternative='greater').pvalue if n else math.nan
    low, high = wilson_interval(k, n, level)
    return Accuracy(
        n=n,
        correct=k,
        accuracy=k / n if n else math.nan,
        accuracy_ci95=[low, high],
        chance=chance,
        p_value=float(p_value),
    )


def static_sense_ranks(logits: torch.Tensor, candidates: list[list[int]]) -> list[dict | None]:
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
        result.append(
            {
                'best_rank': int(ranks.min()),
                'best_sense': k,
                'best_token': ids[t],
                'chance_rank': (V + 1) / (ranks.numel() + 1),
            }
        )
    return result


PROBE_TARGETS = {
    'translations': "the sense's translations (other language)",
    'context_words': "the sense's typical context words (same language)",
}


class ProbeRow(Accuracy):
    """A row of the contextual probe (senses.json's probe 'in_context' and 'overall', and
    polysemy_probe.csv): which model, probe, decision and target, the word (per-word rows
    only), the majority-sense rate and the Accuracy."""

    model: str
    probe: str  # a key of PROBES
    decision: str  # 'raw' or 'centred'
    target: str  # a key of PROBE_TARGETS
    word: NotRequired[str]
    language: NotRequired[str]
    majority: float


class StaticRow(TypedDict):
    """A row of the static probe (senses.json's probe 'static', polysemy_probe_static.csv)."""

    model: str
    representation: str  # 'senses' or 'token embedding'
    target: str
    word: str
    language: str
    sense_id: str
    word_tokens: int
    best_rank: int
    best_sense: int | None  # a GPT-2: None
    best_token: str
    chance_rank: float


@dataclass
class ModelProbe:
    """polysemy_probe's result for one model: rows of senses.json's probe (static, in_context,
    overall), notes, and how many occurrences were read, scored and not found in their line."""

    static: list[StaticRow]
    in_context: list[ProbeRow]
    overall: list[ProbeRow]
    notes: list[str]
    n_occurrences: int
    n_scored: int
    n_not_located: int


@torch.no_grad()
def polysemy_probe(
    model: torch.nn.Module,
    tokenizer: Tokenizer,
    lexicon: dict,
    occurrences: list[dict],
    probes: list[str],
    label: str,
    targets: tuple[str, ...] = tuple(PROBE_TARGETS),
    multi_token: str = 'first',
    batch_size: int = 32,
    autocast: AbstractContextManager | None = None,
) -> ModelProbe:
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
    candidates, notes = probe_candidates(tokenizer, lexicon, targets)
    static = static_rows(model, tokenizer, lexicon, candidates, label, multi_token)
    probed = [key for key in polysemous_words(lexicon) if any(key in c for c in candidates.values())]
    of_probed_words = [o for o in occurrences if (o['word'], o['language']) in set(probed)]
    sequences, positions, located = locate_occurrences(
        tokenizer, of_probed_words, model.config.block_size, model.config.vocab_size
    )
    usable = [of_probed_words[i] for i in located]
    of_word = {
        key: np.array([(o['word'], o['language']) == key for o in usable], dtype=bool) for key in probed
    }
    E, in_context, overall = output_embedding(model), [], []
    vectors_by_probe = occurrence_vectors(model, sequences, positions, probes, batch_size, autocast)
    for probe in probes:
        for decision in ('raw', 'centred'):
            if decision == 'centred' and probe == 'token_embedding':
                continue  # the same vector in every context: nothing is left once centred
            raw = vectors_by_probe[probe]
            vectors = raw if decision == 'raw' else center_by_word(raw, of_word)
            for target in targets:
                names = {'model': label, 'probe': probe, 'decision': decision, 'target': target}
                scored = score_probe(E, vectors, usable, of_word, candidates[target], names)
                if scored is not None:
                    per_word, all_words = scored
                    in_context.extend(per_word)
                    overall.append(all_words)
    return ModelProbe(
        static=static,
        in_context=in_context,
        overall=overall,
        notes=notes,
        n_occurrences=len(occurrences),
        n_scored=len(usable),
        n_not_located=len(of_probed_words) - len(usable),
    )


def probe_candidates(
    tokenizer: Tokenizer, lexicon: dict, targets: tuple[str, ...]
) -> tuple[dict[str, dict], list[str]]:
    """({target: {(word, language): a token-id list per gold sense}}, notes): the words whose
    every sense has target tokens of its own; the others are left out of that target's probe,
    and a note says so."""
    notes, candidates = [], {target: {} for target in targets}
    for key, entry in polysemous_words(lexicon).items():
        for target in targets:
            cands, shared = translation_candidates(tokenizer, entry, target)
            if all(cands):
                candidates[target][key] = cands
            else:
                notes.append(
                    f"{entry['word']} ({entry['language']}): no {target} token of its own "
                    f"for every sense (shared: {[tokenizer.token_str(t) for t in shared]}); "
                    f"left out of the {target} probe"
                )
    return candidates, notes


STATIC_COLUMNS = [
    'model',
    'representation',
    'target',
    'word',
    'language',
    'sense_id',
    'word_tokens',
    'best_rank',
    'best_sense',
    'best_token',
    'chance_rank',
]


def static_rows(
    model: torch.nn.Module,
    tokenizer: Tokenizer,
    lexicon: dict,
    candidates: dict[str, dict],
    label: str,
    multi_token: str,
) -> list[StaticRow]:
    """The static probe (STATIC_COLUMNS): per target, word and gold sense, the best rank any
    sense vector of the word (a GPT-2: its token embedding) gives the sense's target tokens."""
    E = output_embedding(model)
    # rows that are no token of the tokenizer rank nothing
    tokens_only = torch.from_numpy(token_rows(tokenizer, E.size(0))).to(E.device)
    representation = 'senses' if is_backpack(model) else 'token embedding'
    static = []
    for target, by_word in candidates.items():
        for (word, lang), cands in by_word.items():
            ids = word_tokens(tokenizer, word)
            if is_backpack(model):
                vectors = word_sense_vectors(model, [ids], multi_token)[0]
            else:
                vectors = word_embeddings(model, [ids], multi_token)
            logits = (vectors.to(E.device) @ E.T).masked_fill(~tokens_only, -math.inf)
            ranks = static_sense_ranks(logits, cands)
            for sense, rank in zip(lexicon[(word, lang)]['senses'], ranks):
                static.append(
                    {
                        'model': label,
                        'representation': representation,
                        'target': target,
                        'word': word,
                        'language': lang,
                        'sense_id': sense['sense_id'],
                        'word_tokens': len(ids),
                        'best_rank': rank['best_rank'],
                        'best_sense': rank['best_sense'] if is_backpack(model) else None,
                        'best_token': tokenizer.token_str(rank['best_token']),
                        'chance_rank': rank['chance_rank'],
                    }
                )
    return static


def score_probe(
    E: torch.Tensor,
    vectors: torch.Tensor,
    usable: list[dict],
    of_word: dict[tuple[str, str], np.ndarray],
    candidates: dict[tuple[str, str], list[list[int]]],
    names: dict[str, str],
) -> tuple[list[ProbeRow], ProbeRow] | None:
    """One probe, decision and target on the occurrences `usable` (vectors (n, d) read at
    them): (a row per word, the row of all words), each names + majority + accuracy_summary;
    None when no occurrence's word has candidates for the target."""
    scored = np.array([(o['word'], o['language']) in candidates for o in usable], dtype=bool)
    if not scored.any():
        return None
    gold = np.array([o['sense_index'] for o in usable], dtype=int)[scored]
    cands = [candidates[(o['word'], o['language'])] for o, s in zip(usable, scored) if s]
    correct = probe_predictions(vectors[torch.from_numpy(scored)], E, cands, gold)
    n_senses = np.array([len(c) for c in cands])
    per_word = []
    for (word, lang), mask in of_word.items():
        mask = mask[scored]
        if mask.any():
            per_word.append(
                {
                    **names,
                    'word': word,
                    'language': lang,
                    'majority': _majority_rate(gold[mask]),
                    **accuracy_summary(correct[mask], 1 / n_senses[mask]),
                }
            )
    overall = {
        **names,
        'majority': _pooled_majority([o for o, s in zip(usable, scored) if s]),
        **accuracy_summary(correct, 1 / n_senses),
    }
    return per_word, overall


def _majority_rate(gold):
    return float(np.bincount(gold).max() / len(gold)) if len(gold) else math.nan


def _pooled_majority(occurrences):
    """The accuracy of always answering each word's most frequent sense."""
    by_word = {}
    for o in occurrences:
        by_word.setdefault((o['word'], o['language']), []).append(o['sense_index'])
    return sum(np.bincount(g).max() for g in by_word.values()) / len(occurrences)


class ProbeResult(TypedDict):
    """The result of run, senses.json's 'probe'."""

    split: str
    max_sentences: int
    n_occurrences: int
    vocab_size: int
    probes: dict[str, str]  # the probes run (PROBES), with what each reads
    targets: dict[str, str]  # PROBE_TARGETS
    static: list[StaticRow]  # every model's
    in_context: list[ProbeRow]  # every model's per-word rows
    overall: list[ProbeRow]  # every model's all-words rows
    notes: list[str]
    scored: dict[str, dict]  # per model: n_scored, n_not_located
    files: NotRequired[dict]  # figure, csv, static_csv


def run(inputs: AnalysisInputs) -> ProbeResult:
    """The polysemy probe of each of inputs.models (the checkpoint analysed first, then its
    baselines) on the occurrences of the gold polysemous words in the first max_sentences
    annotated lines of the split. Writes polysemy_probe.png, polysemy_probe.csv and
    polysemy_probe_static.csv to report_dir."""
    split, options = inputs.split, inputs.options
    occurrences = inputs.gold.occurrences(split, options.max_sentences)
    if occurrences is None:
        raise Skipped(f"the gold annotation has no {split}.jsonl: prepare the demo corpus again")
    result = ProbeResult(
        split=split,
        max_sentences=options.max_sentences,
        n_occurrences=len(occurrences),
        vocab_size=inputs.models[0].model.config.vocab_size,
        probes={},
        targets=PROBE_TARGETS,
        static=[],
        in_context=[],
        overall=[],
        notes=[],
        scored={},
    )
    for model_label, m, t in inputs.models:
        probes = ['word_senses', 'output'] if is_backpack(m) else ['token_embedding', 'output']
        result['probes'].update({p: PROBES[p] for p in probes})
        r = polysemy_probe(
            m,
            t,
            inputs.lexicon,
            occurrences,
            probes,
            model_label,
            multi_token=options.multi_token,
            batch_size=options.batch_size,
            autocast=inputs.autocast,
        )
        result['static'].extend(r.static)
        result['in_context'].extend(r.in_context)
        result['overall'].extend(r.overall)
        result['notes'].extend(f"{model_label}: {note}" for note in r.notes)
        result['scored'][model_label] = {'n_scored': r.n_scored, 'n_not_located': r.n_not_located}
    if not result['overall']:
        raise Skipped(
            f"no annotated occurrence of a polysemous word could be scored in "
            f"{inputs.dataset}/{split} ({len(occurrences)} occurrences read)"
        )
    write_probe_files(result, inputs.report_dir)
    result['files'] = {
        'figure': 'polysemy_probe.png',
        'csv': 'polysemy_probe.csv',
        'static_csv': 'polysemy_probe_static.csv',
    }
    return result


PROBE_COLUMNS = [
    'model',
    'probe',
    'decision',
    'target',
    'word',
    'language',
    'n',
    'correct',
    'accuracy',
    'ci_low',
    'ci_high',
    'chance',
    'majority',
    'p_value',
]


def write_probe_files(result: ProbeResult, report_dir: str) -> None:
    """polysemy_probe.png (all words together, one group per target and decision),
    polysemy_probe.csv (per word, then all words) and polysemy_probe_static.csv."""
    groups = list(dict.fromkeys((r['target'], r['decision']) for r in result['overall']))
    by_probe = {}
    for r in result['overall']:
        by_probe.setdefault(f"{r['model']}: {r['probe']}", {})[(r['target'], r['decision'])] = r
    grouped_bar_chart(
        os.path.join(report_dir, 'polysemy_probe.png'),
        [f"{target.replace('_', ' ')},\n{decision}" for target, decision in groups],
        {name: [rs[g]['accuracy'] if g in rs else None for g in groups] for name, rs in by_probe.items()},
        errors={
            name: [tuple(rs[g]['accuracy_ci95']) if g in rs else (None, None) for g in groups]
            for name, rs in by_probe.items()
        },
        ylabel='accuracy (correct sense scored highest)',
        title=f"Polysemy probe, all words; chance {result['overall'][0]['chance']:.2f}",
    )
    rows = result['in_context'] + [{**r, 'word': 'all', 'language': ''} for r in result['overall']]
    write_csv(
        os.path.join(report_dir, 'polysemy_probe.csv'),
        [{**r, 'ci_low': r['accuracy_ci95'][0], 'ci_high': r['accuracy_ci95'][1]} for r in rows],
        PROBE_COLUMNS,
    )
    write_csv(os.path.join(report_dir, 'polysemy_probe_static.csv'), result['static'], STATIC_COLUMNS)


def markdown(result: dict) -> str:
    """The section of senses.md: accuracy per model and probe, per word, and the static ranks."""
    text = [
        f"Gold senses of the demo corpus ({result['split']} split, {result['n_occurrences']} "
        f"annotated occurrences in the first {result['max_sentences']} annotated lines). "
        f"For each occurrence of a polysemous word, does a probe vector, read through the "
        f"output embedding, score the correct sense's target words (their mean logit) above "
        f"the other sense's? Targets: "
        + '; '.join(f"*{name}*: {desc}" for name, desc in result['targets'].items())
        + ". Probes: "
        + '; '.join(f"*{name}*: {desc}" for name, desc in result['probes'].items())
        + ". Decided on the *raw* logits, or *centred*: the probe vectors minus their mean over "
        "the occurrences of the word (no labels used), so that a target wins where the "
        "context raises it more than usual rather than because it is favoured everywhere. "
        "Chance is 1 / number of senses; majority is always answering the word's most "
        "frequent sense; intervals are Wilson 95%; p is the one-sided binomial test against "
        "chance.\n\n"
    ]
    if result['overall']:
        text.append(overall_table(result['overall']))
    if result['files'].get('figure'):
        text.append(f"![probe accuracy]({result['files']['figure']})\n\n")
    main = [r for r in result['in_context'] if r['target'] == 'translations']
    if main:
        text.append(
            "Accuracy per word, translations as targets (every target and interval in "
            f"{result['files']['csv']}):\n\n"
        )
        text.append(per_word_table(main))
    if result['static']:
        text.append(
            "Static: the best rank (1 = top of "
            f"{result['vocab_size']} tokens) that any sense vector of the word (GPT-2: its "
            "token embedding) gives any target word of each gold sense, and the best rank "
            "expected by chance for that many draws if ranks were uniform (frequent target "
            "words rank high in most vectors, so compare the senses of a word with each "
            f"other too; all rows in {result['files']['static_csv']}):\n\n"
        )
        text.append(static_table(result['static']))
    for note in result.get('notes', []):
        text.append(f"- {note}\n")
    return ''.join(text)


def overall_table(overall: list[dict]) -> str:
    """All words: a row per model and probe, a column per target and decision."""
    columns = list(dict.fromkeys(f"{r['target']}, {r['decision']}" for r in overall))
    rows = {}
    for r in overall:
        row = rows.setdefault(
            (r['model'], r['probe']),
            {
                'model': r['model'],
                'probe': r['probe'],
                'n': r['n'],
                'chance': r['chance'],
                'majority': r['majority'],
            },
        )
        row[f"{r['target']}, {r['decision']}"] = (
            f"{r['accuracy']:.3f} {format_ci(r['accuracy_ci95'])} p={format_p(r['p_value'])}"
            + (f" (n={r['n']})" if r['n'] != row['n'] else '')
        )
    return (
        markdown_table(
            list(rows.values()),
            ['model', 'probe', 'n', 'chance', 'majority', *columns],
            formats={'chance': '.2f', 'majority': '.2f'},
        )
        + '\n'
    )


def per_word_table(rows: list[dict]) -> str:
    """The accuracy of each word (a row), a column per model, probe and decision."""
    by_word, columns = {}, []
    for r in rows:
        column = f"{r['model']}: {r['probe']}, {r['decision']}"
        columns.append(column)
        row = by_word.setdefault(
            (r['word'], r['language']),
            {
                'word': r['word'],
                'language': language_name(r['language']),
                'n': r['n'],
                'majority': r['majority'],
            },
        )
        row[column] = r['accuracy']
    columns = list(dict.fromkeys(columns))
    return (
        markdown_table(
            list(by_word.values()),
            ['word', 'language', 'n', 'majority', *columns],
            formats={c: '.2f' for c in ['majority', *columns]},
        )
        + '\n'
    )


def static_table(static: list[dict]) -> str:
    """The static ranks: a row per gold sense, a column per model and target."""
    by_sense, columns = {}, []
    for r in static:
        column = f"{r['model']}: {r['target']}"
        columns.append(column)
        row = by_sense.setdefault(r['sense_id'], {'sense_id': r['sense_id']})
        row[column] = f"{r['best_rank']} / {r['chance_rank']:.0f}"
    columns = list(dict.fromkeys(columns))
    return (
        markdown_table(
            list(by_sense.values()),
            ['sense_id', *columns],
            headers={c: f"{c} (best rank / chance)" for c in columns},
        )
        + '\n'
    )


def headline(result: dict) -> str | None:
    """The Backpack's centred word-senses probe with translations as targets in one sentence
    (demo.py's report); None when the result has no such row."""
    rows = {(r['model'], r['probe'], r['decision'], r['target']): r for r in result.get('overall', [])}
    r = rows.get(('backpack-lm', 'word_senses', 'centred', 'translations'))
    if not r:
        return None
    return (
        f"- Polysemy probe: in context, the senses of an ambiguous word point to the "
        f"translation of its gold meaning {r['accuracy']:.1%} of the time "
        f"(95% CI {r['accuracy_ci95'][0]:.1%}-{r['accuracy_ci95'][1]:.1%}, "
        f"chance {r['chance']:.0%}, n = {r['n']})."
    )
