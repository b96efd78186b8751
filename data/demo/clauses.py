"""Sampling and clause building: the generation context (Gen) draws nouns, noun phrases, places
and numbers from the lexicon, and builds clauses in both languages with tense, voice, negation and
question form (English do-support and auxiliaries; French conjugation, passé composé with avoir or
être and participle agreement, ne ... pas, complex inversion "la Commission a-t-elle adopté")."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import TypeVar

from . import french
from . import lexicon as lx
from .phrases import NP, Filler, Lit, Nationality, Person, Place, Template, words

T = TypeVar("T")

# ---------------------------------------------------------------------------------------------
# The lexicon, parsed once

NOUNS = lx.parse_nouns(lx.NOUNS, lx.POLYSEMOUS["en"], lx.POLYSEMOUS["fr"])
ADJECTIVES = lx.parse_adjectives(lx.ADJECTIVES)
VERBS = lx.parse_verbs(lx.VERBS)
ADVERBS = lx.parse_pairs(lx.ADVERBS)
NUMBERS = lx.parse_pairs(lx.NUMBERS)
MONTHS = lx.parse_pairs(lx.MONTHS)
DAYS = lx.parse_pairs(lx.DAYS)
SURNAMES = lx.SURNAMES.split()


def _places():
    countries, nationalities = [], []
    for en_adj, fr_adj, en, fr, gender in lx.parse_pairs(lx.NATIONALITIES):
        number = "pl" if "p" in gender else "sg"
        countries.append(Place(en, fr, gender[0], "country", number, fr_article="0" not in gender))
        nationalities.append(lx.Adjective(en_adj, french.adjective_forms(fr_adj), False, ("gov",)))
    regions = [
        Place(en, fr, g[0], "region", "pl" if "p" in g else "sg") for en, fr, g in lx.parse_pairs(lx.REGIONS)
    ]
    cities = [Place(en, fr, "f", "city") for en, fr in lx.parse_pairs(lx.CITIES)]
    rivers = [Place(en, fr, g, "river") for en, fr, g in lx.parse_pairs(lx.RIVERS)]
    return countries, nationalities, regions, cities, rivers


COUNTRIES, NATIONALITIES, REGIONS, CITIES, RIVERS = _places()
EU_COUNTRIES = COUNTRIES[:28]  # the first 28 lines of NATIONALITIES: the EU of 2013

NOUNS_BY_CLASS = {}
for _noun in NOUNS:
    for _cls in _noun.classes:
        NOUNS_BY_CLASS.setdefault(_cls, []).append(_noun)
ADJECTIVES_BY_CLASS = {}
for _adj in ADJECTIVES:
    for _cls in _adj.classes:
        ADJECTIVES_BY_CLASS.setdefault(_cls, []).append(_adj)


# ---------------------------------------------------------------------------------------------
# Complements of noun phrases, per class of the head noun

COMPLEMENTS = {
    "doc": [
        ("on {domain}", "sur {domain}"),
        ("on {issue}", "sur {issue}"),
        ("on the situation in {country}", "sur la situation {en country}"),
        ("on {goods}", "sur {goods}"),
        ("on {food}", "sur {food}"),
        ("concerning {people}", "concernant {people}"),
        ("on {measure}", "sur {measure}"),
    ],
    "measure": [
        ("to combat {issue}", "visant à lutter contre {issue}"),
        ("in favour of {people}", "en faveur {de people}"),
        ("in the field of {domain}", "dans le domaine {de domain}"),
        ("for {people}", "pour {people}"),
        ("on {goods}", "sur {goods}"),
        ("for {region}", "pour {region}"),
    ],
    "people": [
        ("in {country}", "{en country}"),
        ("in {region}", "{en region}"),
        ("from {country}", "{from country}"),
        ("in {city}", "à {city}"),
    ],
    "issue": [
        ("in {region}", "{en region}"),
        ("among {people}", "chez {people}"),
        ("in {country}", "{en country}"),
        ("in {city}", "à {city}"),
    ],
    "econ": [("of {food}", "{de food}"), ("of {goods}", "{de goods}"), ("in {country}", "{en country}")],
    "infra": [("in {city}", "à {city}"), ("in {region}", "{en region}"), ("near {city}", "près {de city}")],
    "goods": [("from {country}", "{from country}"), ("produced in {country}", "{head:produit} {en country}")],
    "food": [("from {country}", "{from country}"), ("from {region}", "{from region}")],
    "event": [("in {city}", "à {city}"), ("on {domain}", "sur {domain}")],
    "org": [("in {country}", "{en country}"), ("in {region}", "{en region}")],
}
COMPLEMENT_TEMPLATES = {cls: [Template(en, fr) for en, fr in pairs] for cls, pairs in COMPLEMENTS.items()}

# determiners used when a slot asks for a noun phrase of a class, with weights
DETERMINERS = {
    "inst": ["def"],
    "gov": ["def"] * 3 + ["all"],
    "org": ["def"] * 3 + ["indef", "many", "several", "dem", "all"],
    "people": ["generic"] * 4 + ["def"] * 2 + ["many", "num", "some", "all"],
    "doc": ["def"] * 4 + ["dem", "indef", "dem"],
    "measure": ["def"] * 3 + ["indef", "dem", "generic", "several"],
    "issue": ["generic"] * 4 + ["def", "indef"],
    "domain": ["generic"],
    "econ": ["def"] * 4 + ["generic", "indef"],
    "infra": ["def"] * 3 + ["indef", "dem", "several", "num", "many"],
    "place": ["def"] * 3 + ["all", "several", "many", "some"],
    "geo": ["def"] * 3 + ["indef", "dem", "several"],
    "goods": ["generic"] * 3 + ["def", "indef"],
    "food": ["generic"] * 3 + ["def", "indef"],
    "time": ["def"],
    "event": ["def"] * 3 + ["indef", "dem"],
    "abstract": ["def"] * 3 + ["generic", "indef"],
    "role": ["def"],
}

CLASS_SLOTS = set(DETERMINERS)

LANGUAGES = [
    ("English", "anglais"),
    ("French", "français"),
    ("German", "allemand"),
    ("Spanish", "espagnol"),
    ("Italian", "italien"),
    ("Portuguese", "portugais"),
    ("Dutch", "néerlandais"),
    ("Greek", "grec"),
    ("Polish", "polonais"),
    ("Swedish", "suédois"),
    ("Finnish", "finnois"),
    ("Danish", "danois"),
    ("Hungarian", "hongrois"),
    ("Czech", "tchèque"),
    ("Romanian", "roumain"),
]
POLITICAL_GROUPS = [
    Lit(words(en), words(fr))
    for en, fr in (
        ("Socialist Group", "groupe socialiste"),
        ("Group of the Greens", "groupe des Verts"),
        ("Liberal Group", "groupe libéral"),
        (
            "Confederal Group of the European United Left",
            "groupe confédéral de la Gauche unitaire européenne",
        ),
        ("Union for Europe of the Nations Group", "groupe Union pour l'Europe des nations"),
        (
            "Group for a Europe of Democracies and Diversities",
            "groupe pour l'Europe des démocraties et des différences",
        ),
        ("Technical Group of Independent Members", "groupe technique des députés indépendants"),
    )
]
POLITICAL_GROUPS.append(
    Lit(
        [
            ("Group", None),
            ("of", None),
            ("the", None),
            ("European", None),
            ("People's", None),
            ("Party", "party/political"),
        ],
        words("groupe du Parti populaire européen"),
    )
)

TIME_ADVERBIALS = {
    "past": [
        ("last year", "l'année dernière"),
        ("in {year}", "en {year}"),
        ("last week", "la semaine dernière"),
        ("last month", "le mois dernier"),
        ("in {month}", "en {month}"),
        ("yesterday", "hier"),
        ("two years ago", "il y a deux ans"),
        ("at the end of {year}", "à la fin de {year}"),
        ("at the end of the last century", "à la fin du siècle dernier"),
        ("on that date", "à cette date"),
        ("in the spring#season of {year}", "au printemps {year}"),
    ],
    "perfect": [
        ("already", "déjà"),
        ("recently", "récemment"),
        ("this year", "cette année"),
        ("since {year}", "depuis {year}"),
        ("in recent years", "ces dernières années"),
        ("this week", "cette semaine"),
        ("in the last decade", "au cours de la dernière décennie"),
        ("during this period", "pendant cette période"),
    ],
    "present": [
        ("today", "aujourd'hui"),
        ("every year", "chaque année"),
        ("at present", "à l'heure actuelle"),
        ("currently", "actuellement"),
        ("now", "maintenant"),
        ("in many regions", "dans de nombreuses régions"),
        ("at this moment", "en ce moment"),
        ("this evening", "ce soir"),
        ("in most Member States#polity", "dans la plupart des États membres"),
    ],
    "future": [
        ("next year", "l'année prochaine"),
        ("by {year}", "d'ici {year}"),
        ("next month", "le mois prochain"),
        ("in the coming years", "dans les années à venir"),
        ("tomorrow", "demain"),
        ("soon", "bientôt"),
        ("before the end of the year", "avant la fin de l'année"),
        ("in the spring#season", "au printemps"),
    ],
}
for _tense in ("modal",):
    TIME_ADVERBIALS[_tense] = TIME_ADVERBIALS["future"]


TIME_TEMPLATES = {t: [Template(en, fr) for en, fr in pairs] for t, pairs in TIME_ADVERBIALS.items()}
PLACE_TEMPLATES = [
    Template(en, fr)
    for en, fr in (
        ("in {country}", "{en country}"),
        ("in {region}", "{en region}"),
        ("in {city}", "à {city}"),
        ("in the {nat} regions", "dans les régions {nat:fp}"),
        ("in the rural areas of {country}", "dans les zones rurales {de country}"),
        ("throughout the Union", "dans toute l'Union"),
        ("at European level", "au niveau européen"),
        ("at national level", "au niveau national"),
        ("in the outermost regions", "dans les régions ultrapériphériques"),
    )
]

MODALS = {  # name -> (English, English negative, French verb, French tense)
    "must": ("must", "must not", "devoir", "present"),
    "should": ("should", "should not", "devoir", "conditional"),
    "can": ("can", "cannot", "pouvoir", "present"),
    "could": ("could", "could not", "pouvoir", "conditional"),
    "would like to": ("would like to", "would not like to", "vouloir", "conditional"),
}
MODAL_VERBS = {name: french.FrenchVerb(name) for name in ("devoir", "pouvoir", "vouloir", "avoir", "être")}
ETRE, AVOIR = MODAL_VERBS["être"], MODAL_VERBS["avoir"]


class Pronoun(Lit):
    """I / we / you as a subject."""

    def __init__(self, person):
        en, fr = {"1sg": ("I", "je"), "1pl": ("we", "nous"), "2pl": ("you", "vous")}[person]
        super().__init__(words(en), words(fr), "m", "pl" if person != "1sg" else "sg")
        self.person = person


def person_of(filler: Filler, lang: str) -> str:
    person = getattr(filler, "person", None)
    if person is not None:
        return person
    number = filler.en_number if lang == "en" else filler.number
    return "3sg" if number == "sg" else "3pl"


class Gen:
    """The generation context: a random source and the sampling of every kind of filler."""

    def __init__(self, rng: random.Random, record: list | None = None) -> None:
        self.rng = rng
        self.record = record  # a list collecting agreement records for the tests, or None
        self.depth = 0  # sense clauses nest at most one level

    # small helpers ---------------------------------------------------------------------------
    def choice(self, seq: Sequence[T]) -> T:
        return seq[int(self.rng.random() * len(seq))]

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    # fillers -----------------------------------------------------------------------------------
    def slot(self, name: str) -> Filler:
        kind = name.rstrip("0123456789_")
        if kind in CLASS_SLOTS:
            return self.np(kind, complement_p=0.0)
        if kind.startswith("bare_"):  # a noun phrase without determiner: "1,500 farmers"
            cls = kind[5:]
            noun_ = self.noun(cls)
            while noun_.en_number != "c" or noun_.fr_number != "c":
                noun_ = self.noun(cls)
            return self.np(cls, det="bare", number="pl", complement_p=0.0, noun_=noun_)
        maker = getattr(self, "slot_" + kind, None)
        if maker is None:
            raise KeyError(f"unknown slot type {name!r}")
        return maker()

    def slot_city(self) -> Filler:
        return self.choice(CITIES)

    def slot_country(self) -> Filler:
        return self.choice(EU_COUNTRIES if self.chance(0.7) else COUNTRIES)

    def slot_region(self) -> Filler:
        return self.choice(REGIONS)

    def slot_river(self) -> Filler:
        return self.choice(RIVERS)

    def slot_person(self) -> Filler:
        return Person(self.choice(SURNAMES), "m" if self.chance(0.5) else "f")

    def slot_n(self) -> Filler:
        en, fr = self.choice(NUMBERS[:11])
        return Lit(words(en), words(fr), number="pl")

    def slot_big(self) -> Filler:
        value = self.choice(
            (
                120,
                150,
                200,
                250,
                300,
                400,
                450,
                500,
                600,
                750,
                800,
                900,
                1200,
                1500,
                2000,
                2500,
                3000,
                4000,
                5000,
                8000,
                10000,
                12000,
                15000,
                20000,
                40000,
            )
        )
        return Lit(words(f"{value:,}"), words(f"{value:,}".replace(",", " ")), number="pl")

    def slot_votes(self) -> Filler:
        value = str(self.choice(range(240, 480)))
        return Lit([(value, None)], [(value, None)], number="pl")

    def slot_fewvotes(self) -> Filler:
        value = str(self.choice(range(12, 230)))
        return Lit([(value, None)], [(value, None)], number="pl")

    def slot_pct(self) -> Filler:
        value = self.choice(range(2, 61))
        return Lit([(f"{value}%", None)], [(str(value), None), ("%", None)], number="pl")

    def slot_money(self) -> Filler:
        value = self.choice(
            (2, 3, 5, 8, 10, 12, 15, 20, 25, 30, 40, 50, 60, 75, 80, 100, 120, 150, 200, 250, 300, 500, 800)
        )
        return Lit(words(f"{value} million euros"), words(f"{value} millions d'euros"), number="pl")

    def slot_year(self) -> Filler:
        year = str(self.choice(range(1995, 2013)))
        return Lit([(year, None)], [(year, None)])

    def slot_month(self) -> Filler:
        en, fr = self.choice(MONTHS)
        return Lit([(en, None)], [(fr, None)])

    def slot_day(self) -> Filler:
        en, fr = self.choice(DAYS)
        return Lit([(en, None)], [(fr, None)])

    def slot_date(self) -> Filler:
        day = self.choice(range(2, 29))
        en, fr = self.choice(MONTHS)
        return Lit(words(f"{day} {en}"), words(f"{day} {fr}"))

    def slot_clock(self) -> Filler:
        en, fr = self.choice(
            (
                ("noon", "midi"),
                ("3 p.m.", "15 heures"),
                ("5 p.m.", "17 heures"),
                ("9 a.m.", "9 heures"),
                ("6 p.m.", "18 heures"),
                ("11 a.m.", "11 heures"),
                ("10 a.m.", "10 heures"),
                ("9 p.m.", "21 heures"),
            )
        )
        return Lit(words(en), words(fr))

    def slot_nat(self) -> Filler:
        a = self.choice(NATIONALITIES[:28])
        return Nationality(a.en, a.fr_forms)

    def slot_digit(self) -> Filler:
        value = str(self.choice(range(2, 16)))
        return Lit([(value, None)], [(value, None)])

    def slot_language(self) -> Filler:
        en, fr = self.choice(LANGUAGES)
        return Lit([(en, None)], [(fr, None)])

    def slot_group(self) -> Filler:
        return self.choice(POLITICAL_GROUPS)

    def slot_clause(self) -> Filler:
        from .senses import sense_clause

        if self.depth == 0 and self.chance(SENSE_CLAUSE_P):
            self.depth += 1
            try:
                return sense_clause(self)
            finally:
                self.depth -= 1
        return self.generic_clause()

    def slot_when_past(self) -> Filler:
        return self.time_adverbial("past")

    def slot_when_fut(self) -> Filler:
        return self.time_adverbial("future")

    def slot_when_pres(self) -> Filler:
        return self.time_adverbial("present")

    def time_adverbial(self, tense: str) -> Lit:
        en, fr = self.choice(TIME_TEMPLATES[tense]).render(self)
        return Lit(en, fr)

    # nouns and noun phrases ----------------------------------------------------------------------
    def noun(self, cls: str) -> lx.Noun:
        return self.choice(NOUNS_BY_CLASS[cls])

    def adjectives_for(self, noun_: lx.Noun, cls: str) -> tuple[lx.Adjective, ...]:
        """One adjective, or two (one before and one after the French noun)."""
        candidates = ADJECTIVES_BY_CLASS.get(cls)
        if not candidates:
            return ()
        first = self.choice(candidates)
        if self.chance(0.2):
            second = self.choice(candidates)
            if second.pre != first.pre:
                return (first, second) if first.pre else (second, first)
        return (first,)

    def np(
        self,
        cls: str,
        det: str | None = None,
        number: str | None = None,
        adjective_p: float = 0.3,
        complement_p: float = 0.25,
        noun_: lx.Noun | None = None,
    ) -> Filler:
        if det is None and noun_ is None:  # a name instead of a common noun
            if cls == "place" and self.chance(0.4):
                return self.slot_country()
            if cls == "role" and self.chance(0.3):
                return self.slot_person()
        noun_ = noun_ or self.noun(cls)
        det = det or self.choice(DETERMINERS[cls])
        count = None
        if number is None:
            if det in ("many", "several", "num", "some") or (det == "all" and cls != "gov"):
                number = "pl"
            elif det == "each":
                number = "sg"
            elif cls in ("people",):
                number = "pl"
            elif cls in ("inst", "role", "domain", "time"):
                number = "sg"
            else:
                number = "pl" if self.chance(0.35) else "sg"
        if det == "num":
            count = self.choice(NUMBERS[:10])
        if det in ("many", "several", "num", "some", "other") and noun_.en_number == "u":
            det = "generic"
        if det == "indef" and noun_.en_number == "u" and cls not in ("goods", "food"):
            det = "generic"  # no partitive for abstract mass nouns ("de la coopération")
        if det in ("many", "several", "num", "some") and (
            noun_.fr_number == "u" or noun_.en_number == "p" or noun_.fr_number == "p"
        ):
            det = "def"
        if det == "each" and (noun_.en_number != "c" or noun_.fr_number != "c"):
            det = "def"
        if det == "all" and (noun_.en_number == "p") != (noun_.fr_number == "p"):
            det = "def"
        adjectives = ()
        if cls == "gov" and self.chance(0.6) and number == "sg":
            adjectives = (self.choice(NATIONALITIES),)
        elif self.chance(adjective_p):
            adjectives = self.adjectives_for(noun_, cls)
        np_ = NP(noun_, det, number, adjectives, None, count=count, record=self.record)
        if complement_p and cls in COMPLEMENT_TEMPLATES and self.chance(complement_p):
            en, fr = self.choice(COMPLEMENT_TEMPLATES[cls]).render(self, {"head": np_})
            np_.complement = Lit(en, fr)
        elif (
            det == "def"
            and noun_.en_number == "u"
            and cls in ("abstract", "issue", "domain", "econ", "measure")
        ):
            np_.det = "generic"  # "towards subsidiarity", not "towards the subsidiarity"
        return np_

    # clauses ---------------------------------------------------------------------------------------
    def generic_clause(
        self,
        tense: str | None = None,
        negative: bool | str | None = None,
        when_p: float = 0.5,
        where_p: float = 0.3,
    ) -> Lit:
        """Subject - verb - object from the verb frames of the lexicon, in a random tense and voice,
        with adverbials of time and place."""
        verb = self.choice(VERBS)
        subject = self.np(self.choice(verb.subject_classes), complement_p=0.3)
        obj = None
        if verb.transitive:
            obj_cls = self.choice(verb.object_classes)
            obj = self.np(obj_cls, complement_p=0.45)
            if getattr(obj, "det", None) == "generic" and obj_cls in ("goods", "food"):
                obj.det = "indef"  # "produce milk" -> "produire du lait"
        tense = tense or self.choice(("present", "perfect", "past", "future", "future", "perfect", "modal"))
        modal = self.choice(("must", "should", "can", "could")) if tense == "modal" else None
        if negative is None:
            negative = self.chance(0.15)
            if negative and tense in ("present", "future", "perfect") and self.chance(0.4):
                negative = self.choice(("never", "no longer") if tense != "perfect" else ("never", "not yet"))
        passive = verb.passivable and obj is not None and self.chance(0.25)
        agent = None
        if passive:
            subject, agent = obj, (subject if self.chance(0.5) else None)
            obj = None
        extra = None
        if self.chance(when_p) and negative != "not yet":
            extra = self.time_adverbial(tense)
        if self.chance(where_p):
            where = self.choice(PLACE_TEMPLATES).render(self)
            extra = Lit(where[0] + (extra.en if extra else []), where[1] + (extra.fr if extra else []))
        adverb = None
        if not negative and self.chance(0.2):
            adverb = self.choice(MID_ADVERBS)
        return self.clause(
            subject,
            verb,
            obj,
            tense,
            negative=negative,
            passive=passive,
            agent=agent,
            modal=modal,
            extra=extra,
            adverb=adverb,
        )

    def clause(
        self,
        subject: Filler,
        verb: lx.Verb,
        obj: Filler | None = None,
        tense: str = "present",
        negative: bool | str = False,
        passive: bool = False,
        agent: Filler | None = None,
        modal: str | None = None,
        extra: Filler | None = None,
        question: bool = False,
        wh: tuple[str, str] | None = None,
        adverb: tuple[str, str] | None = None,
    ) -> Lit:
        """A clause in both languages. question=True gives English auxiliary inversion and French
        complex inversion; wh is an optional (English, French) question word put first."""
        en = self._english(
            subject, verb, obj, tense, negative, passive, agent, modal, extra, question, wh, adverb
        )
        fr = self._french(
            subject, verb, obj, tense, negative, passive, agent, modal, extra, question, wh, adverb
        )
        return Lit(en, fr, subject.gender, subject.number, subject.en_number)

    def _english(
        self, subject, verb, obj, tense, negative, passive, agent, modal, extra, question, wh, adverb
    ):
        chain, main = self._english_verb(subject, verb, tense, negative, passive, modal, question)
        if negative:
            negation = NEGATIONS[negative][0]
            if not chain:  # "never supports", "no longer supports"
                main = negation + main
            elif chain[0] == "can" and negative is True:
                chain = ["cannot"] + chain[1:]
            else:
                chain = chain[:1] + negation + chain[1:]
        if adverb is not None and not question:
            if chain:
                chain = chain[:1] + [adverb[0]] + chain[1:]
            else:
                main = [adverb[0]] + main
        tail = verb.en_tail.split() if verb.en_tail else []
        out = [] if wh is None else words(wh[0])
        subject_tokens = subject.render("en")
        rest = (
            [(w, None) for w in chain[1:] + main + tail]
            if question
            else [(w, None) for w in chain + main + tail]
        )
        if question:
            if negative and chain[0] == "cannot":
                out += [("can", None)] + subject_tokens + [("not", None)]
                rest = [(w, None) for w in chain[1:] + main + tail]
            else:
                out += [(chain[0], None)] + subject_tokens
        else:
            out += subject_tokens
        out += rest
        if obj is not None:
            out += obj.render("en", verb.en_prep)
        if agent is not None:
            out += [("by", None)] + agent.render("en")
        if extra is not None:
            out += extra.render("en")
        return out

    @staticmethod
    def _english_verb(
        subject: Filler,
        verb: lx.Verb,
        tense: str,
        negative: bool | str,
        passive: bool,
        modal: str | None,
        question: bool,
    ) -> tuple[list[str], list[str]]:
        """(chain, main): the English verb words before negation and adverb; chain[0] is the
        auxiliary that questions front (chain is empty when there is none)."""
        third = person_of(subject, "en") == "3sg"
        plural_be = subject.en_number == "pl" or getattr(subject, "person", "3sg") in ("1pl", "2pl")
        chain = []
        if passive:
            be_present = "am" if getattr(subject, "person", None) == "1sg" else ("are" if plural_be else "is")
            if tense == "present":
                chain = [be_present]
            elif tense == "perfect":
                chain = ["has" if third else "have", "been"]
            elif tense == "past":
                chain = ["were" if plural_be else "was"]
            elif tense == "future":
                chain = ["will", "be"]
            else:
                chain = [MODALS[modal][0], "be"]
            return chain, [verb.en_pp]
        if tense == "present":
            if negative is True or question:
                return ["does" if third else "do"], [verb.en]
            return chain, [verb.en_3sg if third else verb.en]
        if tense == "perfect":
            return ["has" if third else "have"], [verb.en_pp]
        if tense == "past":
            if negative is True or question:
                return ["did"], [verb.en]
            return chain, [verb.en_past]
        if tense == "future":
            return ["will"], [verb.en]
        return MODALS[modal][0].split(), [verb.en]

    def _french(
        self, subject, verb, obj, tense, negative, passive, agent, modal, extra, question, wh, adverb
    ):
        person = person_of(subject, "fr")
        fv = verb.fr
        gender, number = subject.gender, subject.number
        reflexive = [french.REFLEXIVE[person]] if fv.pronominal and not passive else []
        after = []  # words after the conjugated verb (and after 'pas')
        if passive:
            if tense == "present":
                conj = ETRE.form("present", person)
            elif tense in ("perfect", "past"):
                conj, after = AVOIR.form("present", person), ["été"]
            elif tense == "future":
                conj = ETRE.form("future", person)
            else:
                conj, after = self._modal_french(modal, person), ["être"]
            after.append(self._participle(fv, gender, number))
        elif tense == "present":
            conj = fv.form("present", person)
        elif tense == "future":
            conj = fv.form("future", person)
        elif tense in ("perfect", "past"):
            aux = ETRE if fv.aux == "être" else AVOIR
            conj = aux.form("present", person)
            if fv.aux == "être":
                after = [self._participle(fv, gender, number)]
            else:
                after = [fv.participle]
        else:
            conj = self._modal_french(modal, person)
            after = reflexive + [fv.infinitive]
            reflexive = []
        tail = verb.fr_tail.split() if verb.fr_tail else []
        if question:
            pronoun = french.inflect(("il", "elle", "ils", "elles"), gender, number)
            link = "-t-" if conj[-1] in "ae" else "-"
            conj = conj + link + pronoun
        verb_words = reflexive + [conj]
        if negative:
            verb_words = ["ne"] + verb_words + NEGATIONS[negative][1].split()
        if adverb is not None and not question:
            verb_words.append(adverb[1])
        out = [] if wh is None else words(wh[1])
        out += subject.render("fr")
        out += [(w, None) for w in verb_words + after + tail]
        if obj is not None:
            if negative and getattr(obj, "det", None) == "indef" and verb.fr_prep is None and not passive:
                bare = NP(obj.noun, "bare", obj.number, obj.adjectives, obj.complement, record=self.record)
                out += bare.render("fr", "de")
            else:
                out += obj.render("fr", verb.fr_prep)
        if agent is not None:
            out += [("par", None)] + agent.render("fr")
        if extra is not None:
            out += extra.render("fr")
        return out

    def _modal_french(self, modal, person):
        _, _, verb, tense = MODALS[modal]
        return MODAL_VERBS[verb].form(tense, person)

    def _participle(self, fv, gender, number):
        form = fv.agreed_participle(gender, number)
        if self.record is not None:
            self.record.append(("participle", gender, number, fv.participle, form))
        return form


SENSE_CLAUSE_P = 0.5
SENTENCE_ADVERBS = (
    "unfortunately",
    "fortunately",
    "obviously",
    "however",
    "moreover",
    "nevertheless",
    "indeed",
    "above all",
    "together",
    "today",
    "tomorrow",
    "yesterday",
    "soon",
    "now",
    "currently",
)
# adverbs placed after the (first auxiliary) verb: "has clearly adopted" / "a clairement adopté"
MID_ADVERBS = [
    (en, fr)
    for en, fr in ADVERBS
    if " " not in fr
    and "'" not in fr
    and en not in SENTENCE_ADVERBS
    and en not in ("never", "very", "enough", "still", "rightly")
]
# negative= True (not), or one of these: (English words, French words after the verb)
NEGATIONS = {
    True: (["not"], "pas"),
    "not yet": (["not", "yet"], "pas encore"),
    "never": (["never"], "jamais"),
    "no longer": (["no", "longer"], "plus"),
}
