"""The demo corpus's agreement minimal pairs (data/demo/agreement.py): one word changed, the word
that agrees, the grammatical sentence right by the generator's agreement rules checked against the
lexicon, no pair from the training text, BLiMP's format, the same files from the same seed."""

import json

import pytest

from data.demo import agreement, clauses, english, french, generate

N = 40  # pairs per phenomenon

# the French determiners the pairs use, by the (gender, number) they agree with
DETERMINERS = {
    ("m", "sg"): {"le", "un", "ce", "cet"},
    ("f", "sg"): {"la", "une", "cette"},
    ("m", "pl"): {"les", "des", "de", "ces"},  # de before an adjective: de jeunes infirmiers
    ("f", "pl"): {"les", "des", "de", "ces"},
}
ETRE_FORMS = {"est", "sont", "sera", "seront", "été", "être"}


@pytest.fixture(scope="module")
def corpus():
    return generate.generate_corpus(1500, seed=3)


@pytest.fixture(scope="module")
def pairs(corpus):
    training = {lang: {getattr(p, lang) for p in corpus} for lang in ("en", "fr")}
    return agreement.build_pairs(N, 3, training)


def _flip(gender, number, feature):
    if feature == "gender":
        return ("f" if gender == "m" else "m"), number
    return gender, ("sg" if number == "pl" else "pl")


def _changed(pair):
    good, bad = pair.good.split(), pair.bad.split()
    assert len(good) == len(bad), pair
    changed = [i for i, (g, b) in enumerate(zip(good, bad)) if g != b]
    assert len(changed) == 1, pair
    i = changed[0]
    return good[:i], good[i], bad[i]


def test_every_phenomenon_in_both_languages(pairs):
    counts = {}
    for p in pairs:
        counts[(p.language, p.uid)] = counts.get((p.language, p.uid), 0) + 1
    assert counts == {(ph.language, ph.uid): N for ph in agreement.PHENOMENA}
    assert {p.language for p in pairs} == {"en", "fr"}
    assert len({(p.good, p.bad) for p in pairs}) == len(pairs)


def test_english_pairs_change_the_verb_that_agrees_with_the_head(pairs):
    singular = {n.en for n in clauses.NOUNS}
    plural = {n.en_pl for n in clauses.NOUNS if n.en_number != "u"}
    for p in (p for p in pairs if p.language == "en"):
        prefix, good, bad = _changed(p)
        assert (prefix, good, bad) == (p.prefix.split(), p.word_good, p.word_bad)
        assert p.controller in (singular if p.number == "sg" else plural), p
        assert f" {p.controller} ".lower() in f" {' '.join(prefix)} ".lower(), p  # the head comes first
        by_lemma = {"be": [("is", "are"), ("was", "were")], "have": [("has", "have")]}
        options = by_lemma.get(p.lemma, [(english.third_person(p.lemma), p.lemma)])
        forms = next(f for f in options if good in f)  # (singular, plural)
        assert (good, bad) == (forms if p.number == "sg" else forms[::-1]), p


def _french_controller_features(p):
    nouns = [n for n in clauses.NOUNS if (n.fr if p.number == "sg" else n.fr_pl) == p.controller]
    assert nouns, p
    assert p.gender in {n.gender for n in nouns}, p
    if p.feature == "gender":  # never a noun of a person: la ministre is French too
        assert not any(set(n.classes) & {"people", "role"} for n in nouns), p
    else:
        assert all(n.fr != n.fr_pl for n in nouns), p


def test_french_pairs_change_the_word_that_agrees(pairs):
    adjectives = {a.fr_forms[0]: a.fr_forms for a in clauses.ADJECTIVES + clauses.NATIONALITIES}
    participles = {v.fr.participle for v in clauses.VERBS}
    kinds = set()
    for p in (p for p in pairs if p.language == "fr"):
        prefix, good, bad = _changed(p)
        _french_controller_features(p)
        wrong = _flip(p.gender, p.number, p.feature)
        if p.uid.startswith("determiner"):
            assert good.lower() in DETERMINERS[(p.gender, p.number)], p
            assert (
                bad.lower() in DETERMINERS[wrong] and bad.lower() not in DETERMINERS[(p.gender, p.number)]
            ), p
        elif p.uid.startswith("adjective"):
            forms = adjectives[p.lemma]
            assert " ".join(prefix).endswith(p.controller), p  # the adjective follows its noun
            assert (good, bad) == (
                french.inflect(forms, p.gender, p.number),
                french.inflect(forms, *wrong),
            ), p
        else:
            assert p.lemma in participles and prefix[-1] in ETRE_FORMS, p  # après être
            forms = french.participle_forms(p.lemma)
            assert (good, bad) == (
                french.inflect(forms, p.gender, p.number),
                french.inflect(forms, *wrong),
            ), p
        kinds.add((p.uid, p.gender, p.number))
    for uid in (ph.uid for ph in agreement.PHENOMENA if ph.language == "fr"):  # both genders and numbers
        assert {(g, n) for u, g, n in kinds if u == uid} >= {("m", "sg"), ("f", "sg")}, uid
        if uid != "determiner_gender_agreement":  # les, des, ces have no gender
            assert {n for u, g, n in kinds if u == uid} == {"sg", "pl"}, uid


def test_no_pair_comes_from_the_training_text(corpus, pairs):
    training = {lang: {getattr(p, lang) for p in corpus} for lang in ("en", "fr")}
    assert not [p for p in pairs if p.good in training[p.language] or p.bad in training[p.language]]
    unfiltered = agreement.build_pairs(5, 9, {})
    seen = {"en": {unfiltered[0].good}, "fr": {p.good for p in unfiltered[5:10]}}
    filtered = agreement.build_pairs(5, 9, seen)
    assert not [p for p in filtered if p.good in seen[p.language]]
    assert filtered[:4] == unfiltered[1:5]  # the next ones of the same stream take their place


def test_files_in_blimp_format_and_deterministic(tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    built = agreement.build_pairs(N, 3, {})
    counts = agreement.write_pairs(str(one), built, 3)
    agreement.write_pairs(str(two), agreement.build_pairs(N, 3, {}), 3)
    assert counts == {"en.jsonl": N, "fr.jsonl": 6 * N}
    for name in ("en.jsonl", "fr.jsonl", "index.json"):
        assert (one / name).read_bytes() == (two / name).read_bytes()
    assert agreement.build_pairs(3, 4, {}) != agreement.build_pairs(3, 3, {})
    index = json.loads((one / "index.json").read_text())
    assert sum(ph["pairs"] for ph in index["phenomena"].values()) == 7 * N
    for lang in ("en", "fr"):
        rows = [json.loads(line) for line in (one / f"{lang}.jsonl").read_text(encoding="utf-8").splitlines()]
        assert {r["language"] for r in rows} == {lang}
        for r in rows:
            assert {"sentence_good", "sentence_bad", "UID", "field", "linguistics_term", "pairID"} <= set(r)
            if "one_prefix_prefix" in r:
                prefix = r["one_prefix_prefix"]
                assert r["sentence_good"].startswith(f"{prefix} {r['one_prefix_word_good']} ")
                assert r["sentence_bad"].startswith(f"{prefix} {r['one_prefix_word_bad']} ")
        assert sum("one_prefix_prefix" in r for r in rows) > len(rows) / 2
