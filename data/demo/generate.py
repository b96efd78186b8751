"""Generation of the demo corpus: line-aligned English/French sentence pairs, deterministic from a
seed, with the gold senses of every polysemous word; and the gold files written beside the corpus
(lexicon.tsv, lexicon_all.tsv, {split}.jsonl).

    from data.demo import generate
    pairs = generate.generate_corpus(n_sentences=1000, seed=0)   # list of SentencePair
"""

from __future__ import annotations

import bisect
import json
import os
import random
import re
from typing import TypedDict

from . import clauses, senses, structures
from .lexicon import POLYSEMOUS
from .phrases import Tag

CHUNK_SENTENCES = 5000  # sentences drawn from one random stream
EDGE_PUNCTUATION = ".,;:?!()\"«»"
ELIDED_PREFIX = re.compile(r"^(?:[a-zA-Z]|qu|Qu|jusqu|Jusqu|lorsqu|Lorsqu|puisqu|Puisqu|quelqu)'")


class SentencePair:
    __slots__ = ("en", "fr", "en_senses", "fr_senses", "structure")

    def __init__(self, en: str, fr: str, en_senses: list[Tag], fr_senses: list[Tag], structure: str) -> None:
        self.en, self.fr = en, fr
        self.en_senses, self.fr_senses = en_senses, fr_senses  # [(word_index, word, sense_id)]
        self.structure = structure

    def annotation(self, raw_line: int) -> dict:
        return {
            "raw_line": raw_line,
            "en": [{"word": w, "sense_id": s, "word_index": i} for i, w, s in self.en_senses],
            "fr": [{"word": w, "sense_id": s, "word_index": i} for i, w, s in self.fr_senses],
        }


def bare_word(word: str) -> str:
    """A word of line.split() without attached punctuation nor elided article: "l'usine," -> "usine"."""
    word = word.strip(EDGE_PUNCTUATION)
    return ELIDED_PREFIX.sub("", word)


_WEIGHTS = [w for _, w, _ in structures.STRUCTURES]
_CUMULATIVE = [sum(_WEIGHTS[: i + 1]) for i in range(len(_WEIGHTS))]


def generate_pair(gen: clauses.Gen) -> SentencePair:
    """One sentence pair from a random structure."""
    from .phrases import sentence

    i = bisect.bisect_right(_CUMULATIVE, gen.rng.random() * _CUMULATIVE[-1])
    name, _, build = structures.STRUCTURES[min(i, len(_CUMULATIVE) - 1)]
    en_tokens, fr_tokens = build(gen)
    en, fr, en_senses, fr_senses = sentence(en_tokens, fr_tokens)
    _check_annotated(en, en_senses, "en")
    _check_annotated(fr, fr_senses, "fr")
    return SentencePair(en, fr, en_senses, fr_senses, name)


def _check_annotated(line, tags, lang):
    """Every occurrence of a polysemous word carries a sense (an invariant of the generator)."""
    tagged = {i for i, _, _ in tags}
    forms = POLYSEMOUS[lang]
    for i, word in enumerate(line.split()):
        if i not in tagged and bare_word(word).lower() in forms:
            raise AssertionError(f"untagged polysemous {lang} word {word!r} (index {i}) in {line!r}")


def _generate_chunk(seed, chunk, n):
    gen = clauses.Gen(random.Random(f"demo-corpus-{seed}-{chunk}"))  # str seeds: no hash randomisation
    return [generate_pair(gen) for _ in range(n)]


def generate_corpus(n_sentences: int, seed: int = 0) -> list[SentencePair]:
    """n_sentences SentencePairs. Each chunk of CHUNK_SENTENCES sentences has its own random stream
    seeded by (seed, chunk), so a smaller corpus is a prefix of a larger one with the same seed.
    (One process: about 12,000 sentence pairs a second; a process pool is slower, the pairs cost
    more to send back than to make.)"""
    pairs = []
    for chunk, start in enumerate(range(0, n_sentences, CHUNK_SENTENCES)):
        pairs += _generate_chunk(seed, chunk, min(CHUNK_SENTENCES, n_sentences - start))
    return pairs


def generate_with_records(n_sentences: int, seed: int = 0) -> tuple[list[SentencePair], list[list[tuple]]]:
    """Sentence pairs and the agreement records of the French realisation (for the tests)."""
    gen = clauses.Gen(random.Random(f"demo-records-{seed}"), record=[])
    pairs = []
    records = []
    for _ in range(n_sentences):
        gen.record = []
        pairs.append(generate_pair(gen))
        records.append(gen.record)
    return pairs, records


# ---------------------------------------------------------------------------------------------
# Lexicon and statistics


def lexicon_rows() -> list[tuple[str, str, str, str]]:
    """(lemma_en, lemma_fr, pos, gender_fr) of the whole bilingual lexicon, without duplicates."""
    rows = []
    for n in clauses.NOUNS:
        rows.append((n.en, n.fr, "noun", n.gender))
    for a in clauses.ADJECTIVES:
        rows.append((a.en, a.fr_forms[0], "adj", ""))
    for v in clauses.VERBS:
        fr = ("se " if v.fr.pronominal else "") + v.fr.infinitive + (" " + v.fr_tail if v.fr_tail else "")
        rows.append(
            (v.key, fr.replace("se a", "s'a").replace("se é", "s'é").replace("se o", "s'o"), "verb", "")
        )
    for en, fr in clauses.ADVERBS:
        rows.append((en, fr, "adv", ""))
    for a in clauses.NATIONALITIES:
        rows.append((a.en, a.fr_forms[0], "adj", ""))
    for p in clauses.COUNTRIES + clauses.REGIONS + clauses.CITIES + clauses.RIVERS:
        rows.append(
            (("the " if p.en_article else "") + p.en, p.fr, "propn", p.gender if p.kind != "city" else "")
        )
    for en, fr in clauses.NUMBERS:
        rows.append((en, fr, "num", ""))
    for en, fr in clauses.MONTHS + clauses.DAYS:
        rows.append((en, fr, "noun", "m"))
    for sense in senses.SENSES:  # the translation pairs of the senses
        main, gender = sense.translations[0], senses.FRENCH_GENDER[sense.sense_id]
        pos = "noun" if gender else "adj"
        rows.append(
            (sense.word, main, pos, gender) if sense.language == "en" else (main, sense.word, pos, gender)
        )
    seen, unique = set(), []
    for row in rows:
        if row[:3] not in seen:
            seen.add(row[:3])
            unique.append(row)
    return unique


def lemma_counts() -> dict[str, int]:
    rows = lexicon_rows()
    return {"en": len({r[0] for r in rows}), "fr": len({r[1] for r in rows})}


def sense_rows() -> list[tuple[str, str, str, str, str, str]]:
    """Rows of lexicon.tsv: one per (polysemous word, sense)."""
    return [
        (s.word, s.language, s.sense_id, s.gloss, "|".join(s.translations), "|".join(s.context_words))
        for s in senses.SENSES
    ]


# ---------------------------------------------------------------------------------------------
# Writing


def write_atomic(path: str, text: str) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def write_gold(gold_dir: str, pairs: list[SentencePair], heldout_line_numbers: dict[str, list[int]]) -> None:
    """lexicon.tsv, lexicon_all.tsv and one {split}.jsonl per held-out split, whose line i annotates
    line i of {lang}_{split}.txt (heldout_line_numbers[split] = the raw line numbers, in order)."""
    os.makedirs(gold_dir, exist_ok=True)
    header = "word\tlanguage\tsense_id\tgloss\ttranslations\tcontext_words\n"
    write_atomic(
        os.path.join(gold_dir, "lexicon.tsv"), header + "".join("\t".join(r) + "\n" for r in sense_rows())
    )
    header = "lemma_en\tlemma_fr\tpos\tgender_fr\n"
    write_atomic(
        os.path.join(gold_dir, "lexicon_all.tsv"),
        header + "".join("\t".join(r) + "\n" for r in lexicon_rows()),
    )
    for split, line_numbers in heldout_line_numbers.items():
        lines = [json.dumps(pairs[n].annotation(n), ensure_ascii=False) + "\n" for n in line_numbers]
        write_atomic(os.path.join(gold_dir, f"{split}.jsonl"), "".join(lines))


class CorpusStats(TypedDict):
    """What corpus_stats says of a corpus."""

    sentences: int
    mean_words_en: float
    mean_words_fr: float
    distinct_fraction_en: float
    distinct_fraction_fr: float
    structures_used: int
    sense_occurrences: dict[str, int]  # {"en:<sense id>": occurrences}


def corpus_stats(pairs: list[SentencePair]) -> CorpusStats:
    """Mean words per sentence, distinct fraction, occurrences per sense."""
    n = len(pairs)
    counts = {}
    for p in pairs:
        for _, _, s in p.en_senses:
            counts[("en", s)] = counts.get(("en", s), 0) + 1
        for _, _, s in p.fr_senses:
            counts[("fr", s)] = counts.get(("fr", s), 0) + 1
    return {
        "sentences": n,
        "mean_words_en": sum(len(p.en.split()) for p in pairs) / n,
        "mean_words_fr": sum(len(p.fr.split()) for p in pairs) / n,
        "distinct_fraction_en": len({p.en for p in pairs}) / n,
        "distinct_fraction_fr": len({p.fr for p in pairs}) / n,
        "structures_used": len({p.structure for p in pairs}),
        "sense_occurrences": {f"{lang}:{s}": c for (lang, s), c in sorted(counts.items())},
    }
