"""Parallel phrases: noun phrases, clauses and templates realised in English and French at once.

A token is a (text, sense) pair; sense is a sense id such as 'bank/river' for an occurrence of a
polysemous word, else None. A phrase is a list of tokens per language. The French elision pass and
the English a/an pass run on whole sentences (sentence()).

Templates are parallel strings, parsed once:
  word            a literal word; 'word#name' tags a polysemous word with the sense word/name
  {slot}          a filler (noun phrase, place, number...), the same in both languages
  {prep slot}     the filler after a preposition: French 'de'/'à' contract with the article
                  ({de x} -> "du rapport", "de l'usine"), places take their own ({en x} -> "au
                  Portugal", {in x} -> "in the Netherlands")
  {slot:a|b}      'a' if the filler is singular, 'b' if plural ({x:is|are}, {x:a|ont})
  {slot:word}     French adjective or participle agreeing with the filler ({x:adopté})
  {slot:il}       subject pronoun of the filler (il/elle/ils/elles; English {x:it} -> it/they)
  (a|b|c)         alternatives; the k-th group of the English side and of the French side share
                  their choice, so write them in the same order in both
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from . import english, french
from .lexicon import POLYSEMOUS

if TYPE_CHECKING:
    from .clauses import Gen

Token = tuple[str, str | None]  # a word and the sense id it is tagged with (None: untagged)
Tag = tuple[int, str, str]  # (index of the word in line.split(), the word lowercased, sense id)

PUNCTUATION = {",", ".", "?", "!", ":", ";", ")"}
FRENCH_SPACED_PUNCTUATION = {"?", "!", ":", ";"}


# ---------------------------------------------------------------------------------------------
# Fillers: anything a template slot can hold


class Filler:
    """Base of slot fillers: features used by agreement tokens."""

    gender = "m"
    number = "sg"  # French number
    en_number = "sg"

    def render(self, lang: str, prep: str | None = None) -> list[Token]:
        raise NotImplementedError


class Lit(Filler):
    """Fixed parallel tokens (already realised), with agreement features if it is a noun phrase."""

    __slots__ = ("en", "fr", "gender", "number", "en_number")

    def __init__(self, en, fr, gender="m", number="sg", en_number=None):
        self.en, self.fr = en, fr
        self.gender, self.number = gender, number
        self.en_number = en_number or number

    def render(self, lang: str, prep: str | None = None) -> list[Token]:
        tokens = self.en if lang == "en" else self.fr
        return tokens if prep is None else [(prep, None)] + tokens


def words(text: str, sense: str | None = None) -> list[Token]:
    return [(w, sense) for w in text.split()]


class NP(Filler):
    """A noun phrase over a lexicon noun: determiner, adjectives, noun, complement."""

    __slots__ = (
        "noun",
        "det",
        "number",
        "en_number",
        "gender",
        "adjectives",
        "complement",
        "owner",
        "count",
        "record",
    )

    def __init__(
        self,
        noun,
        det="def",
        number="sg",
        adjectives=(),
        complement=None,
        owner=None,
        count=None,
        record=None,
    ):
        self.noun = noun
        self.det = det
        self.gender = noun.gender
        # number per language: mass nouns are singular, plural-only nouns plural
        chosen = number
        self.en_number = {"u": "sg", "p": "pl"}.get(noun.en_number, chosen)
        self.number = {"u": "sg", "p": "pl"}.get(noun.fr_number, chosen)
        if noun.en_number == "u" and noun.fr_number == "c":
            self.number = "sg"
        if noun.fr_number == "u" and noun.en_number == "c":
            self.en_number = "sg"
        self.adjectives = adjectives  # at most one before and one after the French noun
        self.complement = complement  # a Lit (a prepositional phrase) or None
        self.owner = owner  # for possessives: ('its', '3sg') ...
        self.count = count  # number words for det='num': ('three', 'trois')
        self.record = record

    # English -------------------------------------------------------------------------------
    def render(self, lang: str, prep: str | None = None) -> list[Token]:
        return self.render_en(prep) if lang == "en" else self.render_fr(prep)

    def render_en(self, prep: str | None = None) -> list[Token]:
        noun = self.noun
        plural = self.en_number == "pl"
        text = noun.en_pl if plural else noun.en
        tokens = [(w, noun.en_tags.get(i)) for i, w in enumerate(text.split(" "))]
        adjs = [(a.en, a.en_tags.get(0)) for a in self.adjectives]
        det = self.det
        mass_or_plural = plural or noun.en_number == "u"
        if det in ("def", "generic"):
            if noun.en_bare or (det == "generic" and mass_or_plural and not noun.en_the):
                d = []
            else:
                d = ["the"]
        elif det == "indef":
            d = [] if mass_or_plural else ["a"]
        elif det == "dem":
            d = ["these" if plural else "this"]
        elif det == "poss":
            d = [self.owner[0]]
        elif det == "each":
            d = ["each"]
        elif det == "all":
            d = ["all", "the"] if plural or noun.en_number == "u" else ["the", "whole"]
        elif det in ("several", "many", "some"):
            d = [det]
        elif det == "num":
            d = [self.count[0]]
        elif det == "which":
            d = ["which"]
        elif det == "other":
            d = ["other"] if plural else ["another"]
        else:  # bare
            d = []
        out = [] if prep is None else [(prep, None)]
        out += [(w, None) for w in d] + adjs + tokens
        if self.complement is not None:
            out += self.complement.render("en")
        return out

    # French --------------------------------------------------------------------------------
    def render_fr(self, prep: str | None = None) -> list[Token]:
        noun = self.noun
        gender, number = self.gender, self.number
        text = noun.fr_pl if number == "pl" else noun.fr
        noun_tokens = [(w, noun.fr_tags.get(i)) for i, w in enumerate(text.split(" "))]
        pre = [a for a in self.adjectives if a.pre]
        post = [a for a in self.adjectives if not a.pre]
        pre_tokens = []
        for a in pre:
            form = french.inflect(a.fr_forms, gender, number)
            if (
                gender == "m"
                and number == "sg"
                and a.fr_forms[0] in french.BEFORE_VOWEL_MASC
                and french.starts_with_vowel(noun_tokens[0][0])
            ):
                form = french.BEFORE_VOWEL_MASC[a.fr_forms[0]]
            pre_tokens.append((form, a.fr_tags.get(0)))
        post_tokens = [(french.inflect(a.fr_forms, gender, number), a.fr_tags.get(0)) for a in post]
        first = (pre_tokens or noun_tokens)[0][0]
        det_tokens = self._fr_determiner(first, bool(pre_tokens), prep)
        out = det_tokens + pre_tokens + noun_tokens + post_tokens
        if self.record is not None:
            self.record.append(
                (
                    "np",
                    gender,
                    number,
                    self.det,
                    [t for t, _ in det_tokens],
                    [t for t, _ in pre_tokens],
                    [t for t, _ in post_tokens],
                    " ".join(t for t, _ in noun_tokens),
                    noun.fr,
                    [a.fr_forms for a in self.adjectives],
                )
            )
        if self.complement is not None:
            out += self.complement.render("fr")
        return out

    def _fr_determiner(self, first, has_pre_adjective, prep):
        gender, number, det = self.gender, self.number, self.det
        mass = self.noun.fr_number == "u"
        if det in ("def", "generic"):
            words_ = french.definite_article(gender, number, first, prep)
            return [(w, None) for w in words_]
        p = [] if prep is None else [(prep, None)]
        if det == "indef":
            if number == "pl":
                art = "de" if has_pre_adjective else "des"
                if prep == "de":
                    return [("de", None)]
                return p + [(art, None)]
            if mass:  # partitive: du lait, de la viande, de l'eau
                if prep == "de":
                    return [("de", None)]
                return p + [(w, None) for w in french.definite_article(gender, "sg", first, "de")]
            return p + [("un" if gender == "m" else "une", None)]
        if det == "dem":
            return p + [(french.demonstrative(gender, number, first), None)]
        if det == "poss":
            return p + [(french.possessive(self.owner[1], gender, number, first), None)]
        if det == "each":
            return p + [("chaque", None)]
        if det == "all":
            tout = french.inflect(("tout", "toute", "tous", "toutes"), gender, number)
            return p + [(tout, None)] + [(w, None) for w in french.definite_article(gender, number, first)]
        if det == "several":
            return p + [("plusieurs", None)]
        if det == "many":
            many = "nombreux" if gender == "m" else "nombreuses"
            return ([("de", None)] if prep == "de" else p + [("de", None)]) + [(many, None)]
        if det == "some":
            return p + [("certains" if gender == "m" else "certaines", None)]
        if det == "num":
            return p + [(self.count[1], None)]
        if det == "which":
            return p + [(french.inflect(("quel", "quelle", "quels", "quelles"), gender, number), None)]
        if det == "other":
            if number == "pl":
                return [("d'autres", None)] if prep in (None, "de") else p + [("d'autres", None)]
            return p + [("un" if gender == "m" else "une", None), ("autre", None)]
        return p  # bare


class Place(Filler):
    """A country, region, city or river, with the French article and preposition rules."""

    __slots__ = ("en", "fr", "gender", "number", "en_number", "kind", "en_article", "fr_article")

    def __init__(self, en, fr, gender, kind, number="sg", fr_article=True):
        self.en_article = en.startswith("the ")
        self.en = en[4:] if self.en_article else en
        self.fr, self.gender, self.kind, self.number = fr, gender, kind, number
        self.en_number = "sg" if kind == "country" else number  # "the Netherlands is"
        self.fr_article = fr_article and kind != "city"

    def render(self, lang: str, prep: str | None = None) -> list[Token]:
        if lang == "en":
            out = [] if prep is None else [(prep, None)]
            if self.en_article or (self.kind == "river"):
                out.append(("the", None))
            return out + words(self.en)
        if prep in ("en", "à", "in"):  # "in/to France": en France, au Portugal, aux Pays-Bas, à Paris
            if self.kind == "city" or not self.fr_article:
                vowel_country = self.kind == "country" and french.starts_with_vowel(self.fr)
                return [("en" if vowel_country else "à", None)] + words(self.fr)
            if self.number == "pl":
                return (
                    [("dans" if self.kind == "region" else "aux", None)]
                    + ([("les", None)] if self.kind == "region" else [])
                    + words(self.fr)
                )
            if self.gender == "f" or french.starts_with_vowel(self.fr):
                return [("en", None)] + words(self.fr)
            if self.kind == "region":
                return [("dans", None), ("le", None)] + words(self.fr)
            return [("au", None)] + words(self.fr)
        if prep == "from":  # "from France": de France, du Portugal, des Pays-Bas, d'Italie
            if (
                self.kind == "city"
                or not self.fr_article
                or (
                    self.number == "sg"
                    and " " not in self.fr
                    and (self.gender == "f" or french.starts_with_vowel(self.fr))
                )
            ):
                return [("de", None)] + words(self.fr)
            prep = "de"
        if self.kind == "city" or not self.fr_article:
            return ([] if prep is None else [(prep, None)]) + words(self.fr)
        article = french.definite_article(self.gender, self.number, self.fr, prep)
        return [(w, None) for w in article] + words(self.fr)


class Person(Filler):
    """'Mr Müller' / 'M. Müller'."""

    __slots__ = ("name", "gender", "number", "en_number")

    def __init__(self, name, gender):
        self.name, self.gender = name, gender
        self.number = self.en_number = "sg"

    def render(self, lang: str, prep: str | None = None) -> list[Token]:
        if lang == "en":
            title = "Mr" if self.gender == "m" else "Mrs"
            return ([] if prep is None else [(prep, None)]) + [(title, None)] + words(self.name)
        title = "M." if self.gender == "m" else "Mme"
        return ([] if prep is None else [(prep, None)]) + [(title, None)] + words(self.name)


class Nationality(Filler):
    """'French' / 'français' (its other forms through {nat:fp}...)."""

    __slots__ = ("en", "fr_forms")

    def __init__(self, en, fr_forms):
        self.en, self.fr_forms = en, fr_forms

    def render(self, lang: str, prep: str | None = None) -> list[Token]:
        return [(self.en if lang == "en" else self.fr_forms[0], None)]


# ---------------------------------------------------------------------------------------------
# Templates

SLOT = re.compile(r"\{(?:(?P<prep>[^\s{}:]+) )?(?P<name>[A-Za-z_][A-Za-z_0-9]*)(?::(?P<agree>[^{}]*))?\}")


def _split_template(text):
    """Top-level pieces: words, {slots} and (a|b) groups (groups may hold slots, not groups)."""
    pieces, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
            continue
        if c in "{(":
            depth, j = 0, i
            while j < n:
                if text[j] in "{(":
                    depth += 1
                elif text[j] in "})":
                    depth -= 1
                    if depth == 0:
                        break
                j += 1
            pieces.append(text[i : j + 1])
            i = j + 1
            # punctuation glued after a slot or group
            while i < n and text[i] in ",.?!:;":
                pieces.append(text[i])
                i += 1
            continue
        j = i
        while j < n and not text[j].isspace() and text[j] not in "{(":
            j += 1
        word = text[i:j]
        trail = ""
        while word and word[-1] in ",.?!:;)" and len(word) > 1:
            trail = word[-1] + trail
            word = word[:-1]
        pieces.append(word)
        pieces.extend(trail)
        i = j
    return pieces


class Template:
    """A parallel English/French template (see the module docstring for the syntax)."""

    __slots__ = ("en", "fr", "n_groups", "slots", "source")

    def __init__(self, en, fr, polysemous=POLYSEMOUS):
        self.source = (en, fr)
        self.en = self._parse(en, "en", polysemous)
        self.fr = self._parse(fr, "fr", polysemous)
        en_groups = [len(p[1]) for p in self.en if p[0] == "group"]
        fr_groups = [len(p[1]) for p in self.fr if p[0] == "group"]
        if en_groups != fr_groups:
            raise ValueError(
                f"alternation groups differ between {en!r} and {fr!r}: {en_groups} vs {fr_groups}"
            )
        self.n_groups = en_groups
        en_slots = self._slot_names(self.en)
        fr_slots = self._slot_names(self.fr)
        if en_slots != fr_slots:
            raise ValueError(
                f"slots differ between {en!r} and {fr!r}: {sorted(en_slots)} vs {sorted(fr_slots)}"
            )
        self.slots = en_slots

    @staticmethod
    def _slot_names(parts):
        """Names of the slots rendered as words (agreement-only slots may differ)."""
        names = set()
        for p in parts:
            if p[0] == "slot" and (p[3] is None or p[3] in ("ms", "fs", "mp", "fp")):
                names.add(p[1])
            elif p[0] == "group":
                for option in p[1]:
                    names |= Template._slot_names(option)
        return names

    def _parse(self, text, lang, polysemous):
        parts = []
        for piece in _split_template(text):
            if piece.startswith("("):
                options = piece[1:-1].split("|")
                # '|' inside a slot ({x:is|are}) is not an alternative separator
                merged, buf = [], None
                for o in options:
                    if buf is not None:
                        buf += "|" + o
                        if buf.count("{") == buf.count("}"):
                            merged.append(buf)
                            buf = None
                    elif o.count("{") > o.count("}"):
                        buf = o
                    else:
                        merged.append(o)
                parts.append(("group", [self._parse(o, lang, polysemous) for o in merged]))
            elif piece.startswith("{"):
                m = SLOT.fullmatch(piece)
                if m is None:
                    raise ValueError(f"bad slot {piece!r} in {text!r}")
                parts.append(("slot", m.group("name"), m.group("prep"), m.group("agree")))
            else:
                sense = None
                base = piece.rsplit("'", 1)[-1] if lang == "fr" else piece  # l'avocat -> avocat
                if "#" in piece:
                    piece, name = piece.split("#")
                    base = base.split("#")[0]
                    lemma = polysemous[lang].get(base.lower()) if polysemous else None
                    if lemma is None:
                        raise ValueError(
                            f"{piece!r} is tagged in {text!r} but is not a polysemous {lang} word"
                        )
                    sense = f"{lemma}/{name}"
                elif polysemous and base.lower() in polysemous[lang]:
                    raise ValueError(
                        f"polysemous {lang} word {piece!r} in template {text!r} needs a #sense tag"
                    )
                parts.append(("word", piece, sense))
        return parts

    def render(self, gen: Gen, fillers: dict[str, Filler] | None = None) -> tuple[list[Token], list[Token]]:
        fillers = dict(fillers) if fillers else {}
        choices = [gen.rng.randrange(k) for k in self.n_groups]
        en = self._render(self.en, "en", gen, fillers, choices, [0])
        fr = self._render(self.fr, "fr", gen, fillers, choices, [0])
        return en, fr

    def _render(self, parts, lang, gen, fillers, choices, group_index):
        out = []
        for p in parts:
            kind = p[0]
            if kind == "word":
                out.append((p[1], p[2]))
            elif kind == "group":
                choice = choices[group_index[0]]
                group_index[0] += 1
                out += self._render(p[1][choice], lang, gen, fillers, choices, group_index)
            else:
                _, name, prep, agree = p
                filler = fillers.get(name)
                if filler is None:
                    filler = fillers[name] = gen.slot(name)
                if agree is None:
                    out += filler.render(lang, prep)
                else:
                    out.append((agreement(filler, agree, lang, gen), None))
        return out


def agreement(filler: Filler, agree: str, lang: str, gen: Gen | None = None) -> str:
    number = filler.en_number if lang == "en" else filler.number
    if "|" in agree:
        sg, pl = agree.split("|")
        return sg if number == "sg" else pl
    if "/" in agree:  # by gender: {person:his/her}
        masc, fem = agree.split("/")
        return masc if filler.gender == "m" else fem
    if agree in ("ms", "fs", "mp", "fp"):  # a nationality adjective in a given form
        return filler.fr_forms[("ms", "fs", "mp", "fp").index(agree)]
    if agree in ("il", "elle"):
        return french.inflect(("il", "elle", "ils", "elles"), filler.gender, number)
    if agree == "it":
        return "it" if number == "sg" else "they"
    forms = french.adjective_forms(agree)
    form = french.inflect(forms, filler.gender, number)
    if gen is not None and gen.record is not None:
        gen.record.append(("agree", filler.gender, number, agree, form))
    return form


# ---------------------------------------------------------------------------------------------
# Sentences


def sentence(en_tokens: list[Token], fr_tokens: list[Token]) -> tuple[str, str, list[Tag], list[Tag]]:
    """Final passes and assembly: returns (en_line, fr_line, en_tags, fr_tags) where tags are
    [(word_index, lowercased word, sense_id)] for the tagged words, word_index counting
    line.split()."""
    en_tokens = english.fix_articles(en_tokens)
    fr_tokens = french.elide(fr_tokens)
    en_line, en_tags = _assemble(en_tokens, "en")
    fr_line, fr_tags = _assemble(fr_tokens, "fr")
    return en_line, fr_line, en_tags, fr_tags


def _assemble(tokens, lang):
    words_, tags = [], []
    capitalize = True
    for text, sense in tokens:
        if not text:
            continue
        if text in PUNCTUATION and words_:
            if lang == "fr" and text in FRENCH_SPACED_PUNCTUATION:
                words_.append(text)
            else:
                words_[-1] += text
            if text in ".?!":
                capitalize = True
            continue
        if capitalize:
            text = text[0].upper() + text[1:]
            capitalize = False
        if text == "(":
            words_.append("(")
            continue
        if words_ and words_[-1] == "(":
            words_[-1] = "(" + text
        elif " " in text:  # a multi-word form ("sans emploi", "bon marché")
            assert sense is None, text
            words_.extend(text.split())
        else:
            words_.append(text)
        if sense is not None:
            word = text.lower()
            if "'" in word and lang == "fr":
                word = word.split("'", 1)[1]
            tags.append((len(words_) - 1, word, sense))
    return " ".join(words_), tags
