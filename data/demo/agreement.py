"""Minimal pairs of the demo corpus: agreement in English and French, in BLiMP's JSON-lines format.

    from data.demo import agreement
    pairs = agreement.build_pairs(n_per_phenomenon=400, seed=0, training_text={"en": set(), "fr": set()})
    agreement.write_pairs("data/demo/minimal_pairs", pairs, seed=0)

Each pair is a sentence of the generator's own structures (a clause of the lexicon's verb frames,
with an opener half of the time) and the same sentence with one word changed: the word that
agrees. The sentences come from a random stream of their own (seeded by the corpus seed, apart from
the corpus's streams, so the corpus is the same with or without them), and a pair whose grammatical
sentence occurs in the training text is dropped: every pair is held out.

Phenomena (the UID of each row), and the word that changes:
  en  subject_verb_agreement_across_pp   the verb after a subject whose prepositional phrase holds a
                                          noun of the other number ("the report on the farmers is/are")
  fr  determiner_gender_agreement        le/la, un/une, ce/cette before the subject noun
  fr  determiner_number_agreement        le/les, un/des, ce/ces ...
  fr  adjective_gender_agreement         the adjective after the subject noun (commun/commune)
  fr  adjective_number_agreement         (commune/communes)
  fr  participle_gender_agreement_etre   the past participle after être (est adopté/adoptée)
  fr  participle_number_agreement_etre   (est adoptée/adoptées)
Gender pairs never have a noun of a person as controller (la ministre, la juge are French too).

Files: minimal_pairs/{en,fr}.jsonl, one pair per line with sentence_good, sentence_bad, UID, field,
linguistics_term, language, pairID, one_prefix_prefix / one_prefix_word_good / one_prefix_word_bad
(when the changed word follows a shared prefix), and what the tests check the agreement with:
controller (the noun the word agrees with, as written), gender and number (the controller's),
lemma (of the agreeing word) and feature (the one the bad word gets wrong). minimal_pairs/index.json
says what was written.
"""

from __future__ import annotations

import copy
import json
import os
import random
from collections.abc import Callable
from typing import NamedTuple

from . import french
from .clauses import CLASS_SLOTS, COMPLEMENT_TEMPLATES, VERBS, Gen
from .generate import write_atomic
from .phrases import NP, Lit, Token, sentence
from .structures import OPENERS

OPENER_P = 0.5
ATTEMPTS_PER_PAIR = 200  # a phenomenon that yields fewer pairs than asked for after this is a bug
PERSON_CLASSES = ("people", "role")
EN_SWAP = {"is": "are", "are": "is", "was": "were", "were": "was", "has": "have", "have": "has"}


class MinimalPair(NamedTuple):
    uid: str
    language: str
    good: str
    bad: str
    prefix: str  # the words before the changed one ("" when it is the first word)
    word_good: str
    word_bad: str
    controller: str
    gender: str
    number: str
    lemma: str
    feature: str  # "number" or "gender"


class Draft(NamedTuple):
    """A sentence's tokens, the index of the agreeing token, its wrong form, and the agreement."""

    tokens: list[Token]
    index: int
    bad: str
    controller: str
    gender: str
    number: str
    lemma: str


# ---------------------------------------------------------------------------------------------
# English: subject-verb agreement across a prepositional phrase

PP_TEMPLATES = {  # head class -> complements holding one noun phrase ("on {issue}", "for {people}")
    cls: [
        t for t in templates if len(t.slots) == 1 and next(iter(t.slots)).rstrip("0123456789") in CLASS_SLOTS
    ]
    for cls, templates in COMPLEMENT_TEMPLATES.items()
}
PP_TEMPLATES = {cls: templates for cls, templates in PP_TEMPLATES.items() if templates}


def _subject_with_attractor(gen: Gen, classes: tuple[str, ...]) -> tuple[NP, NP] | None:
    """A subject noun phrase with a complement whose noun has the other English number."""
    candidates = [c for c in classes if c in PP_TEMPLATES]
    if not candidates:
        return None
    cls = gen.choice(candidates)
    head = gen.np(cls, det=gen.choice(("def", "def", "dem", "indef")), complement_p=0.0)
    template = gen.choice(PP_TEMPLATES[cls])
    slot = next(iter(template.slots))
    other = "pl" if head.en_number == "sg" else "sg"
    attractor = gen.np(slot.rstrip("0123456789"), number=other, complement_p=0.0, adjective_p=0.0)
    if attractor.en_number != other or attractor.noun.en_number != "c":
        return None
    en, fr = template.render(gen, {slot: attractor, "head": head})
    head.complement = Lit(en, fr)
    return head, attractor


def subject_verb_across_pp(gen: Gen) -> Draft | None:
    verb = gen.choice(VERBS)
    passive = verb.passivable and gen.chance(0.4)
    found = _subject_with_attractor(gen, verb.object_classes if passive else verb.subject_classes)
    if found is None:
        return None
    subject, _ = found
    tense = gen.choice(("present", "perfect", "past") if passive else ("present", "present", "perfect"))
    obj = (
        None if passive or not verb.transitive else gen.np(gen.choice(verb.object_classes), complement_p=0.0)
    )
    extra = gen.time_adverbial(tense) if gen.chance(0.3) else None
    clause = gen.clause(subject, verb, obj, tense, passive=passive, extra=extra)
    index = len(subject.render("en"))
    good = clause.en[index][0]
    if good in EN_SWAP:
        bad, lemma = EN_SWAP[good], "have" if good in ("has", "have") else "be"
    elif good in (verb.en, verb.en_3sg):
        bad, lemma = verb.en if good == verb.en_3sg else verb.en_3sg, verb.en
    else:
        return None
    noun = subject.noun
    controller = noun.en if subject.en_number == "sg" else noun.en_pl
    return Draft(clause.en, index, bad, controller, subject.gender, subject.en_number, lemma)


# ---------------------------------------------------------------------------------------------
# French: determiners, adjectives and past participles agreeing with the subject


def _flipped(gender: str, number: str, feature: str) -> tuple[str, str]:
    if feature == "gender":
        return ("f" if gender == "m" else "m"), number
    return gender, ("sg" if number == "pl" else "pl")


def _french_subject(gen: Gen, classes: tuple[str, ...], feature: str, **np_args) -> NP | None:
    """A subject noun phrase whose agreement the feature can test: no person noun for gender
    (epicene nouns), a noun whose plural is written differently for number."""
    allowed = [c for c in classes if c != "place" and not (feature == "gender" and c in PERSON_CLASSES)]
    if not allowed:
        return None
    subject = gen.np(gen.choice(allowed), complement_p=0.0, **np_args)
    if not isinstance(subject, NP):  # a person's name
        return None
    if feature == "number" and subject.noun.fr == subject.noun.fr_pl:
        return None
    return subject


def _french_clause(gen: Gen, subject: NP, verb, passive: bool, tense: str) -> list[Token]:
    obj = (
        None if passive or not verb.transitive else gen.np(gen.choice(verb.object_classes), complement_p=0.0)
    )
    extra = gen.time_adverbial(tense) if gen.chance(0.3) else None
    return gen.clause(subject, verb, obj, tense, passive=passive, extra=extra).fr


def _controller(subject: NP) -> str:
    return subject.noun.fr_pl if subject.number == "pl" else subject.noun.fr


def determiner_agreement(gen: Gen, feature: str) -> Draft | None:
    verb = gen.choice(VERBS)
    det = gen.choice(("def", "def", "indef", "dem"))
    subject = _french_subject(gen, verb.subject_classes, feature, det=det, adjective_p=0.2)
    if subject is None:
        return None
    tokens = _french_clause(gen, subject, verb, False, gen.choice(("present", "perfect", "future")))
    first = subject.render("fr")
    pre = [a for a in subject.adjectives if a.pre]
    wrong = copy.copy(subject)
    wrong.gender, wrong.number = _flipped(subject.gender, subject.number, feature)
    bad = wrong._fr_determiner(first[1][0], bool(pre), None)
    good = subject._fr_determiner(first[1][0], bool(pre), None)
    if len(good) != 1 or len(bad) != 1 or bad[0][0] == good[0][0]:
        return None
    return Draft(tokens, 0, bad[0][0], _controller(subject), subject.gender, subject.number, good[0][0])


def adjective_agreement(gen: Gen, feature: str) -> Draft | None:
    verb = gen.choice(VERBS)
    subject = _french_subject(gen, verb.subject_classes, feature, adjective_p=1.0)
    if subject is None or not subject.adjectives or subject.adjectives[-1].pre:
        return None
    adjective = subject.adjectives[-1]  # after the noun: the last word of the noun phrase
    good = french.inflect(adjective.fr_forms, subject.gender, subject.number)
    bad = french.inflect(adjective.fr_forms, *_flipped(subject.gender, subject.number, feature))
    if bad == good or " " in good + bad:
        return None
    index = len(subject.render("fr")) - 1
    tokens = _french_clause(gen, subject, verb, False, gen.choice(("present", "perfect", "future")))
    gender, number = subject.gender, subject.number
    return Draft(tokens, index, bad, _controller(subject), gender, number, adjective.fr_forms[0])


def participle_agreement(gen: Gen, feature: str) -> Draft | None:
    verb = gen.choice(VERBS)
    passive = verb.passivable
    if not passive and verb.fr.aux != "être":
        return None
    classes = verb.object_classes if passive else verb.subject_classes
    subject = _french_subject(gen, classes, feature, adjective_p=0.2)
    if subject is None:
        return None
    tense = gen.choice(("present", "perfect", "future", "modal")) if passive else "perfect"
    tokens = gen.clause(
        subject, verb, None, tense, passive=passive, modal="must" if tense == "modal" else None
    ).fr
    good = verb.fr.agreed_participle(subject.gender, subject.number)
    bad = verb.fr.agreed_participle(*_flipped(subject.gender, subject.number, feature))
    start = len(subject.render("fr"))
    texts = [t for t, _ in tokens]
    if bad == good or good not in texts[start:]:
        return None
    index = texts.index(good, start)
    return Draft(tokens, index, bad, _controller(subject), subject.gender, subject.number, verb.fr.participle)


# ---------------------------------------------------------------------------------------------
# Phenomena, sentences and files


class Phenomenon(NamedTuple):
    uid: str
    language: str
    field: str
    linguistics_term: str
    feature: str
    draft: Callable[[Gen], Draft | None]


PHENOMENA = [
    Phenomenon(
        "subject_verb_agreement_across_pp",
        "en",
        "morphology",
        "subject-verb_agreement",
        "number",
        subject_verb_across_pp,
    ),
    Phenomenon(
        "determiner_gender_agreement",
        "fr",
        "morphology",
        "determiner-noun_agreement",
        "gender",
        lambda gen: determiner_agreement(gen, "gender"),
    ),
    Phenomenon(
        "determiner_number_agreement",
        "fr",
        "morphology",
        "determiner-noun_agreement",
        "number",
        lambda gen: determiner_agreement(gen, "number"),
    ),
    Phenomenon(
        "adjective_gender_agreement",
        "fr",
        "morphology",
        "adjective-noun_agreement",
        "gender",
        lambda gen: adjective_agreement(gen, "gender"),
    ),
    Phenomenon(
        "adjective_number_agreement",
        "fr",
        "morphology",
        "adjective-noun_agreement",
        "number",
        lambda gen: adjective_agreement(gen, "number"),
    ),
    Phenomenon(
        "participle_gender_agreement_etre",
        "fr",
        "morphology",
        "past_participle_agreement",
        "gender",
        lambda gen: participle_agreement(gen, "gender"),
    ),
    Phenomenon(
        "participle_number_agreement_etre",
        "fr",
        "morphology",
        "past_participle_agreement",
        "number",
        lambda gen: participle_agreement(gen, "number"),
    ),
]


def _line(tokens: list[Token], language: str) -> str:
    """The sentence as the corpus writes it (elision, a/an, capitals, punctuation)."""
    en, fr, _, _ = sentence(tokens, []) if language == "en" else sentence([], tokens)
    return en if language == "en" else fr


def realise(gen: Gen, phenomenon: Phenomenon, draft: Draft) -> MinimalPair | None:
    """The pair of sentences of a draft, with an opener half of the time; None when the two
    sentences do not differ in exactly one word (an elided determiner: l'usine)."""
    head = []
    if gen.chance(OPENER_P):
        en, fr = gen.choice(OPENERS).render(gen)
        head = en if phenomenon.language == "en" else fr
    good = head + draft.tokens + [(".", None)]
    index = len(head) + draft.index
    bad = good[:index] + [(draft.bad, None)] + good[index + 1 :]
    good_line, bad_line = _line(good, phenomenon.language), _line(bad, phenomenon.language)
    good_words, bad_words = good_line.split(), bad_line.split()
    changed = [i for i, (g, b) in enumerate(zip(good_words, bad_words)) if g != b]
    if len(good_words) != len(bad_words) or len(changed) != 1:
        return None
    i = changed[0]
    word_good, word_bad = good_words[i], bad_words[i]
    if not (word_good.isalpha() and word_bad.isalpha()):  # punctuation or elision attached
        return None
    return MinimalPair(
        phenomenon.uid, phenomenon.language, good_line, bad_line, " ".join(good_words[:i]), word_good,
        word_bad, draft.controller, draft.gender, draft.number, draft.lemma, phenomenon.feature,
    )  # fmt: skip


def build_pairs(n_per_phenomenon: int, seed: int, training_text: dict[str, set[str]]) -> list[MinimalPair]:
    """n_per_phenomenon pairs of each phenomenon, none with a grammatical sentence in
    training_text[language] nor twice the same, from the random stream 'demo-minimal-pairs-<seed>'."""
    pairs = []
    for phenomenon in PHENOMENA:
        gen = Gen(random.Random(f"demo-minimal-pairs-{seed}-{phenomenon.uid}"))
        seen = set(training_text.get(phenomenon.language, ()))
        found = 0
        for _ in range(ATTEMPTS_PER_PAIR * n_per_phenomenon):
            if found == n_per_phenomenon:
                break
            draft = phenomenon.draft(gen)
            pair = realise(gen, phenomenon, draft) if draft is not None else None
            if pair is None or pair.good in seen:
                continue
            seen.add(pair.good)
            pairs.append(pair)
            found += 1
        if found < n_per_phenomenon:
            raise RuntimeError(
                f"only {found} pairs of {phenomenon.uid} in {ATTEMPTS_PER_PAIR} tries per pair"
            )
    return pairs


def pair_row(pair: MinimalPair, pair_id: int) -> dict:
    """A row of BLiMP's format (and the agreement the tests check)."""
    phenomenon = next(p for p in PHENOMENA if p.uid == pair.uid)
    row = {
        "sentence_good": pair.good,
        "sentence_bad": pair.bad,
        "field": phenomenon.field,
        "linguistics_term": phenomenon.linguistics_term,
        "UID": pair.uid,
        "pairID": str(pair_id),
        "language": pair.language,
    }
    if pair.prefix:
        row.update(one_prefix_prefix=pair.prefix, one_prefix_word_good=pair.word_good,
                   one_prefix_word_bad=pair.word_bad)  # fmt: skip
    row.update(controller=pair.controller, gender=pair.gender, number=pair.number, lemma=pair.lemma,
               feature=pair.feature)  # fmt: skip
    return row


def write_pairs(out_dir: str, pairs: list[MinimalPair], seed: int) -> dict[str, int]:
    """{language}.jsonl and index.json under out_dir; returns the number of pairs per file."""
    os.makedirs(out_dir, exist_ok=True)
    counts = {}
    for language in sorted({p.language for p in pairs}):
        rows = [pair_row(p, i) for i, p in enumerate(p for p in pairs if p.language == language)]
        text = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
        write_atomic(os.path.join(out_dir, f"{language}.jsonl"), text)
        counts[f"{language}.jsonl"] = len(rows)
    index = {
        "written_by": "data/demo/prepare.py (data/demo/agreement.py)",
        "seed": seed,
        "held_out": "no grammatical sentence occurs in the training split",
        "files": counts,
        "phenomena": {
            p.uid: {
                "language": p.language,
                "linguistics_term": p.linguistics_term,
                "feature": p.feature,
                "pairs": sum(q.uid == p.uid for q in pairs),
            }  # fmt: skip
            for p in PHENOMENA
        },
    }
    write_atomic(os.path.join(out_dir, "index.json"), json.dumps(index, indent=1) + "\n")
    return counts
