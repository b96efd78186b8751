"""The offline demo corpus (data/demo): determinism, French and English grammar checked by rules
that do not reuse the generator's code, the size of its lexicon and of its set of structures, gold
sense labels consistent with the text, and a small prepare run into a temporary data root."""

import hashlib
import json
import os
import re
import subprocess
import sys

import pytest

from data.demo import french, generate, senses, structures
from data.demo.generate import bare_word
from data.demo.lexicon import POLYSEMOUS

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def sample():
    return generate.generate_corpus(6000, seed=11)


@pytest.fixture(scope="module")
def records():
    return generate.generate_with_records(2500, seed=5)


# --- determinism ------------------------------------------------------------------------------


def _digest(pairs):
    return hashlib.sha256("".join(p.en + "\t" + p.fr + "\n" for p in pairs).encode()).hexdigest()


def test_same_seed_same_corpus_and_smaller_is_prefix(monkeypatch):
    monkeypatch.setattr(generate, "CHUNK_SENTENCES", 150)
    one = generate.generate_corpus(500, seed=7)
    again = generate.generate_corpus(500, seed=7)
    assert [(p.en, p.fr, p.en_senses, p.fr_senses) for p in one] == [
        (p.en, p.fr, p.en_senses, p.fr_senses) for p in again
    ]
    assert _digest(generate.generate_corpus(320, seed=7)) == _digest(one[:320])
    assert _digest(generate.generate_corpus(500, seed=8)) != _digest(one)


def test_corpus_does_not_depend_on_hash_randomisation():
    code = (
        "import hashlib; from data.demo import generate; ps = generate.generate_corpus(300, seed=3); "
        "print(hashlib.sha256(''.join(p.en + p.fr for p in ps).encode()).hexdigest())"
    )
    digests = set()
    for hash_seed in ("1", "2"):
        env = dict(os.environ, PYTHONHASHSEED=hash_seed)
        out = subprocess.run(
            [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, check=True
        )
        digests.add(out.stdout.strip())
    assert len(digests) == 1


# --- size of the generator --------------------------------------------------------------------


def test_counts_of_structures_lemmas_and_polysemous_words(sample):
    assert len(structures.STRUCTURE_NAMES) >= 60
    assert len({p.structure for p in sample}) >= 60  # all of them are actually used
    lemmas = generate.lemma_counts()
    assert lemmas["en"] >= 800 and lemmas["fr"] >= 800
    by_word = {}
    for s in senses.SENSES:
        by_word.setdefault((s.language, s.word), []).append(s)
    assert sum(lang == "en" for lang, _ in by_word) >= 12
    assert sum(lang == "fr" for lang, _ in by_word) >= 8
    for (lang, word), word_senses in by_word.items():
        assert len(word_senses) >= 2, word
        # the senses translate differently: that is what makes the word interesting
        assert len({s.translations[0] for s in word_senses}) == len(word_senses), word  # État / état differ


def test_mean_length_and_distinct_sentences(sample):
    stats = generate.corpus_stats(sample)
    assert 15 <= stats["mean_words_en"] <= 25
    assert 15 <= stats["mean_words_fr"] <= 25
    assert stats["distinct_fraction_en"] >= 0.9 and stats["distinct_fraction_fr"] >= 0.9


def test_both_senses_of_every_word_are_frequent(sample):
    counts = generate.corpus_stats(sample)["sense_occurrences"]
    for s in senses.SENSES:
        assert counts.get(f"{s.language}:{s.sense_id}", 0) >= 25, s.sense_id  # >= ~500 at the default size


# --- French grammar ---------------------------------------------------------------------------

VOWEL_START = "aeiouyàâäéèêëîïôöùûüœæAEIOUYÀÂÉÈÊËÎÏÔÖÙÛÜŒÆ"
H_ASPIRE = (
    "hausse",
    "haut",
    "hasard",
    "handicap",
    "hareng",
    "hall",
    "hangar",
    "hongr",
    "hollande",
    "honte",
    "hiérarch",
    "héros",
    "huit",
    "hors",
    "hâte",
    "haine",
    "hameau",
    "harcèlement",
    "hockey",
    "homard",
)
NO_ELISION_BEFORE = ("onze", "oui", "y")


def _elision_errors(line):
    errors = []
    for m in re.finditer(
        r"(?<![\w'-])(le|la|de|que|ne|je|me|te|se|jusque|lorsque|puisque) ([\w'-]+)", line, re.IGNORECASE
    ):
        word = m.group(2)
        low = word.lower()
        if low[0] in VOWEL_START.lower() and not low.startswith(NO_ELISION_BEFORE):
            errors.append(m.group(0))
        if low[0] == "h" and not low.startswith(H_ASPIRE):
            errors.append(m.group(0))
    for m in re.finditer(r"(?<![\w'-])(de|à) (le|les)(?![\w'-])", line, re.IGNORECASE):
        errors.append(m.group(0))  # du, des, au, aux
    for m in re.finditer(r"(?<![\w'-])si ils?(?![\w'-])", line, re.IGNORECASE):
        errors.append(m.group(0))  # s'il
    for m in re.finditer(r"(?<![\w'-])ce ([\w'-]+)", line, re.IGNORECASE):
        if m.group(1)[0] in VOWEL_START:
            errors.append(m.group(0))  # cet, c'est
    for m in re.finditer(r"(?<![\w'-])(\w+') ", line):
        errors.append(m.group(0))  # an elided word must be glued to the next one
    return errors


def test_french_elision_and_contractions(sample):
    bad = [(p.fr, _elision_errors(p.fr)) for p in sample if _elision_errors(p.fr)]
    assert not bad, bad[:5]


def test_elision_rules_catch_mistakes():
    assert _elision_errors("le rapport de le Conseil")
    assert _elision_errors("la Commission pense que il faut agir")
    assert _elision_errors("le hôpital de Paris")
    assert _elision_errors("ce accord")
    assert not _elision_errors("l'hôpital du Conseil et la hausse des prix de huit pays")


DETERMINERS = {  # (determiner kind, gender, number) -> accepted determiners (first words of the NP)
    ("def", "m", "sg"): {"le", "l'", "du", "au", "de l'", "à l'"},
    ("def", "f", "sg"): {"la", "l'", "de la", "à la", "de l'", "à l'"},
    ("def", "m", "pl"): {"les", "des", "aux"},
    ("def", "f", "pl"): {"les", "des", "aux"},
    ("indef", "m", "sg"): {"un", "d'un", "à un", "du", "de l'", "de", "d'"},
    ("indef", "f", "sg"): {"une", "d'une", "à une", "de la", "de l'", "de", "d'"},
    ("indef", "m", "pl"): {"des", "de", "d'", "à des", "à de", "à d'"},
    ("indef", "f", "pl"): {"des", "de", "d'", "à des", "à de", "à d'"},
    ("dem", "m", "sg"): {"ce", "cet"},
    ("dem", "f", "sg"): {"cette"},
    ("dem", "m", "pl"): {"ces"},
    ("dem", "f", "pl"): {"ces"},
    ("which", "m", "sg"): {"quel"},
    ("which", "f", "sg"): {"quelle"},
    ("which", "m", "pl"): {"quels"},
    ("which", "f", "pl"): {"quelles"},
    ("many", "m", "pl"): {"de nombreux", "à de nombreux"},
    ("many", "f", "pl"): {"de nombreuses", "à de nombreuses"},
    ("all", "m", "sg"): {"tout le", "tout l'"},
    ("all", "f", "sg"): {"toute la", "toute l'"},
    ("all", "m", "pl"): {"tous les"},
    ("all", "f", "pl"): {"toutes les"},
}


def _np_text(record):
    _, gender, number, det, det_words, pre, post, noun_text, _, _ = record
    tokens = [(w, None) for w in det_words + pre + noun_text.split() + post]
    return " ".join(t for t, _ in french.elide(tokens))


def test_french_noun_phrase_agreement(records):
    _, recs = records
    nps = [r for rs in recs for r in rs if r[0] == "np"]
    checked = {key: 0 for key in DETERMINERS}
    for record in nps:
        _, gender, number, det, det_words, pre, post, noun_text, noun_lemma, adjective_forms = record
        text = _np_text(record)
        if (det, gender, number) in DETERMINERS:
            accepted = DETERMINERS[det, gender, number]
            # after a preposition: "sur les", "contre la"; de and à contract with le/les ("du", "aux")
            # and are listed above for def and indef
            prepositions = ("sur ", "contre ", "dans ", "par ") + (
                ("à ", "de ") if det not in ("def", "indef") else ()
            )
            accepted = accepted | {p + d for d in accepted for p in prepositions}
            assert any(
                text == d + " " + rest or text.startswith(d + " ") or (d.endswith("'") and text.startswith(d))
                for d in accepted
                for rest in [text[len(d) + 1 :]]
            ), (det, gender, number, text)
            checked[det, gender, number] += 1
        # cet / nouvel / bel / vieil only before a vowel, ce / nouveau / beau / vieux only before a consonant
        words = text.split()
        for i, w in enumerate(words[:-1]):
            nxt = words[i + 1]
            vowel = nxt[0].lower() in VOWEL_START.lower() or (
                nxt[0] == "h" and not nxt.lower().startswith(H_ASPIRE)
            )
            if w in ("cet", "nouvel", "bel", "vieil"):
                assert vowel, text
            if w in ("ce", "nouveau", "beau", "vieux") and number == "sg":
                assert not vowel, text
        for form in pre + post:
            if " " in form:
                continue  # invariable multi-word adjectives: "bon marché", "sans emploi"
            if gender == "f":
                assert form.endswith("e" if number == "sg" else "es"), (form, text)
            if number == "pl":
                assert form.endswith(("s", "x")), (form, text)
            if gender == "m" and number == "sg":
                assert form in [forms[0] for forms in adjective_forms] + ["nouvel", "bel", "vieil"], (
                    form,
                    text,
                )
    for key in [
        ("def", "m", "sg"),
        ("def", "f", "sg"),
        ("def", "m", "pl"),
        ("indef", "f", "sg"),
        ("dem", "m", "sg"),
        ("dem", "f", "sg"),
    ]:
        assert checked[key] > 5, key  # the rules above were exercised


def test_french_participles_agree_with_their_noun(records):
    _, recs = records
    participles = [r for rs in recs for r in rs if r[0] in ("participle", "agree")]
    seen = set()
    for _, gender, number, base, form in participles:
        if " " in base:
            continue
        seen.add((gender, number))
        if gender == "f":
            assert form.endswith("e" if number == "sg" else "es"), (base, form, gender, number)
        if number == "pl":
            assert form.endswith(("s", "x")), (base, form, gender, number)
        if (gender, number) == ("m", "sg"):
            assert form == base, (base, form)
    assert seen == {("m", "sg"), ("f", "sg"), ("m", "pl"), ("f", "pl")}


def test_passive_and_etre_participles_in_sentences(sample):
    """Rules on the text itself: 'a été' + participle, 'est/sont ... -e(s)' with feminine subjects."""
    checked = 0
    for p in sample:
        for m in re.finditer(
            r"(?:^|, |que |qu')(La|la|Une|une|Cette|cette) ([a-zéèêàâîôûç]+) (a été|sera|est) ([a-zéèêàâîôûç]+é[es]?)(?![\w])",
            p.fr,
        ):
            checked += 1
            assert m.group(4).endswith("ée"), (m.group(0), p.fr)
        for m in re.finditer(
            r"(?:^|, |que |qu')(Les|les) ([a-zéèêàâîôûç]+s) (ont été|seront|sont) ([a-zéèêàâîôûç]+é[es]*)(?![\w])",
            p.fr,
        ):
            checked += 1
            assert m.group(4).endswith(("és", "ées")), (m.group(0), p.fr)
    assert checked > 50


def test_french_conjugation_tables():
    expected = {  # infinitive: (il, nous, ils, past participle, il (future))
        "adopter": ("adopte", "adoptons", "adoptent", "adopté", "adoptera"),
        "financer": ("finance", "finançons", "financent", "financé", "financera"),
        "encourager": ("encourage", "encourageons", "encouragent", "encouragé", "encouragera"),
        "protéger": ("protège", "protégeons", "protègent", "protégé", "protégera"),
        "acheter": ("achète", "achetons", "achètent", "acheté", "achètera"),
        "rejeter": ("rejette", "rejetons", "rejettent", "rejeté", "rejettera"),
        "employer": ("emploie", "employons", "emploient", "employé", "emploiera"),
        "finir": ("finit", "finissons", "finissent", "fini", "finira"),
        "vendre": ("vend", "vendons", "vendent", "vendu", "vendra"),
        "soutenir": ("soutient", "soutenons", "soutiennent", "soutenu", "soutiendra"),
        "permettre": ("permet", "permettons", "permettent", "permis", "permettra"),
        "réduire": ("réduit", "réduisons", "réduisent", "réduit", "réduira"),
        "recevoir": ("reçoit", "recevons", "reçoivent", "reçu", "recevra"),
        "promouvoir": ("promeut", "promouvons", "promeuvent", "promu", "promouvra"),
        "résoudre": ("résout", "résolvons", "résolvent", "résolu", "résoudra"),
        "ouvrir": ("ouvre", "ouvrons", "ouvrent", "ouvert", "ouvrira"),
        "faire": ("fait", "faisons", "font", "fait", "fera"),
        "aller": ("va", "allons", "vont", "allé", "ira"),
        "disparaître": ("disparaît", "disparaissons", "disparaissent", "disparu", "disparaîtra"),
        "atteindre": ("atteint", "atteignons", "atteignent", "atteint", "atteindra"),
    }
    for inf, (il, nous, ils, pp, fut) in expected.items():
        v = french.FrenchVerb(inf)
        assert (
            v.form("present", "3sg"),
            v.form("present", "1pl"),
            v.form("present", "3pl"),
            v.participle,
            v.form("future", "3sg"),
        ) == (il, nous, ils, pp, fut), inf
    assert french.FrenchVerb("devoir").form("conditional", "3sg") == "devrait"


def test_questions_and_negation_are_present(sample):
    fr = [p.fr for p in sample]
    assert (
        sum(bool(re.search(r"\w-t-(il|elle|ils|elles)\b", line)) for line in fr) > 20
    )  # a-t-elle, adoptera-t-il
    assert (
        sum(
            bool(re.search(r"\bn'|\bne ", line)) and bool(re.search(r"\b(pas|plus|jamais)\b", line))
            for line in fr
        )
        > 100
    )
    assert sum(line.endswith(" ?") for line in fr) > 200
    en = [p.en for p in sample]
    assert sum(line.endswith("?") for line in en) > 200


# --- English grammar --------------------------------------------------------------------------

CONSONANT_SOUND = ("eu", "uni", "use", "usu", "one", "ura", "uti")


def test_english_articles(sample):
    for p in sample:
        for m in re.finditer(r"\b([Aa]n?) ([\w'-]+)", p.en):
            article, word = m.group(1).lower(), m.group(2).lower()
            vowel_sound = (word[0] in "aeiou" and not word.startswith(CONSONANT_SOUND)) or word.startswith(
                ("hour", "honest")
            )
            assert (article == "an") == vowel_sound, (m.group(0), p.en)


def test_english_third_person_and_plural_agreement(sample):
    for p in sample:
        assert not re.search(
            r"(?<!and )\b(The Commission|the Commission|The Council|the Council) (have|are|were|do) ", p.en
        ), p.en
        assert not re.search(r"(?<!and )\b(the Member States|The Member States) (has|is|was|does) ", p.en), (
            p.en
        )
        assert not re.search(
            r"\b(has|have|had) (been )?(taked|maked|buyed|builded|selled|costed|gived|drawed|fighted)\b", p.en
        ), p.en


# --- gold senses -------------------------------------------------------------------------------


def _normalised_words(line):
    return [bare_word(w).lower() for w in line.split()]


def _contains(words, phrase):
    target = [w.lower() for w in phrase.split()]
    return any(words[i : i + len(target)] == target for i in range(len(words) - len(target) + 1))


def test_gold_labels_match_the_text(sample):
    sense_by_id = senses.SENSE_BY_ID
    for p in sample:
        for lang, line, tags, other in (("en", p.en, p.en_senses, p.fr), ("fr", p.fr, p.fr_senses, p.en)):
            words = line.split()
            tagged = set()
            for index, word, sense_id in tags:
                assert bare_word(words[index]).lower() == word, (index, word, line)
                sense = sense_by_id[sense_id]
                assert sense.language == lang and POLYSEMOUS[lang][word] == sense.word, (word, sense_id)
                other_words = _normalised_words(other)
                assert any(_contains(other_words, t) for t in sense.translations), (sense_id, line, other)
                tagged.add(index)
            # completeness: every polysemous word of the line is annotated
            for i, w in enumerate(words):
                if bare_word(w).lower() in POLYSEMOUS[lang]:
                    assert i in tagged, (w, line)


def test_senses_are_signalled_by_their_context_words(sample):
    """Each occurrence has at least one context word of its own sense in its sentence, and mostly more
    context words of its own sense than of the word's other senses."""
    own_better = total = 0
    for p in sample:
        for lang, line, tags in (("en", p.en, p.en_senses), ("fr", p.fr, p.fr_senses)):
            words = set(_normalised_words(line))
            for _, _, sense_id in tags:
                sense = senses.SENSE_BY_ID[sense_id]
                own = len(words & {c.lower() for c in sense.context_words})
                others = [
                    len(words & {c.lower() for c in s.context_words})
                    for s in senses.SENSES
                    if s.word == sense.word and s.language == lang and s is not sense
                ]
                assert own >= 1, (sense_id, line)
                own_better += own > max(others)
                total += 1
    assert own_better / total > 0.85


def test_gold_lexicon_rows():
    rows = generate.sense_rows()
    assert len(rows) == len(senses.SENSES)
    for word, lang, sense_id, gloss, translations, context in rows:
        assert sense_id.startswith(word + "/") and lang in ("en", "fr") and gloss and translations and context
    all_rows = generate.lexicon_rows()
    assert all(r[0] and r[1] and r[2] in ("noun", "adj", "verb", "adv", "propn", "num") for r in all_rows)
    assert all(r[3] in ("m", "f", "") for r in all_rows)
    assert all(r[3] in ("m", "f") for r in all_rows if r[2] == "noun")


# --- the prepare script -------------------------------------------------------------------------


def test_prepare_writes_the_layout_and_aligned_gold(tmp_path):
    out = subprocess.run(
        [
            sys.executable,
            "data/demo/prepare.py",
            "--n_sentences=3000",
            "--seed=1",
            f"--data_root={tmp_path}",
            "--num_proc=1",
            "--vocab_size=1024",
            "--minimal_pairs=20",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    dataset = tmp_path / "demo"
    meta = json.loads((dataset / "meta.json").read_text())
    assert meta["dataset"] == "demo" and meta["languages"] == ["en", "fr"]
    assert meta["tokenizer"]["name"] == "demo-bpe1k"
    assert (tmp_path / meta["tokenizer"]["path"]).is_file()
    for lang in ("en", "fr"):
        for split in ("train", "val", "test"):
            assert (dataset / f"{lang}_{split}.bin").stat().st_size > 0
    for split in ("val", "test"):
        en_lines = (dataset / f"en_{split}.txt").read_text(encoding="utf-8").splitlines()
        fr_lines = (dataset / f"fr_{split}.txt").read_text(encoding="utf-8").splitlines()
        gold = [
            json.loads(line)
            for line in (dataset / "gold" / f"{split}.jsonl").read_text(encoding="utf-8").splitlines()
        ]
        numbers = [int(n) for n in (dataset / f"{split}_line_numbers.txt").read_text().split()]
        assert len(gold) == len(en_lines) == len(fr_lines) == len(numbers) > 0
        assert [g["raw_line"] for g in gold] == numbers
        annotated = 0
        for g, en, fr in zip(gold, en_lines, fr_lines):
            for lang, line in (("en", en), ("fr", fr)):
                for a in g[lang]:
                    assert bare_word(line.split()[a["word_index"]]).lower() == a["word"]
                    annotated += 1
        assert annotated > 0
    header = (dataset / "gold" / "lexicon.tsv").read_text(encoding="utf-8").splitlines()[0]
    assert header.split("\t") == ["word", "language", "sense_id", "gloss", "translations", "context_words"]
    header = (dataset / "gold" / "lexicon_all.tsv").read_text(encoding="utf-8").splitlines()[0]
    assert header.split("\t") == ["lemma_en", "lemma_fr", "pos", "gender_fr"]
    held_out = {
        int(n)
        for split in ("val", "test")
        for n in (dataset / f"{split}_line_numbers.txt").read_text().split()
    }
    for lang, n_phenomena in (("en", 1), ("fr", 6)):  # the minimal pairs: none from the training text
        raw = (dataset / "raw" / f"demo.{lang}").read_text(encoding="utf-8").splitlines()
        training = {line for n, line in enumerate(raw) if n not in held_out}
        rows = (dataset / "minimal_pairs" / f"{lang}.jsonl").read_text(encoding="utf-8").splitlines()
        assert len(rows) == 20 * n_phenomena
        assert not [r for r in map(json.loads, rows) if r["sentence_good"] in training]
    assert json.loads((dataset / "minimal_pairs" / "index.json").read_text())["seed"] == 1
