"""French morphology for the demo corpus: plurals, adjective agreement, verb conjugation
(present, passé composé, future, conditional), determiners with contraction, and the final
elision pass (l', d', qu', n', s', j', c').

Everything here works on plain strings; phrases.py decides which form a sentence needs.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .phrases import Token

VOWEL_LETTERS = "aeiouàâäéèêëîïôöùûüœæ"
# Words starting with an 'h' that blocks elision and liaison ("la hausse", "le hareng").
H_ASPIRE_PREFIXES = (
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
    "hublot",
    "houill",
    "hache",
)
NO_ELISION = ("onze", "oui", "ouate")


def starts_with_vowel(word: str) -> bool:
    """True when a preceding le/la/de/que/ne... elides before `word` (vowel or mute h)."""
    w = word.lower()
    if not w:
        return False
    if w == "y":
        return True
    if w[0] in VOWEL_LETTERS:
        return not w.startswith(NO_ELISION)
    if w[0] == "h":
        return not w.startswith(H_ASPIRE_PREFIXES)
    return False


# ---------------------------------------------------------------------------------------------
# Nouns and adjectives

NOUN_PLURAL_EXCEPTIONS = {
    "travail": "travaux",
    "festival": "festivals",
    "pneu": "pneus",
    "bleu": "bleus",
    "œil": "yeux",
    "carnaval": "carnavals",
    "détail": "détails",
    "bal": "bals",
    "récital": "récitals",
    "chacal": "chacals",
    "émail": "émaux",
    "vitrail": "vitraux",
    "corail": "coraux",
    "bail": "baux",
}


def plural_word(word: str) -> str:
    if word in NOUN_PLURAL_EXCEPTIONS:
        return NOUN_PLURAL_EXCEPTIONS[word]
    if word.endswith(("s", "x", "z")):
        return word
    if word.endswith(("eau", "au", "eu")):
        return word + "x"
    if word.endswith("al"):
        return word[:-2] + "aux"
    return word + "s"


def noun_plural(noun: str) -> str:
    """Plural of a (possibly multi-word) noun: the head only before a preposition
    ("projets de loi", "taux d'intérêt"), every word otherwise ("États membres", "pays tiers")."""
    words = noun.split(" ")
    if len(words) == 1:
        return plural_word(noun)
    for i, w in enumerate(words):
        if w in ("de", "d'", "du", "des", "à", "au", "aux", "en", "pour", "sur", "contre") or w.startswith(
            "d'"
        ):
            return " ".join([plural_word(x) for x in words[:i]] + words[i:])
    return " ".join(plural_word(w) for w in words)


ADJECTIVE_FEMININE_EXCEPTIONS = {
    "public": "publique",
    "grec": "grecque",
    "turc": "turque",
    "long": "longue",
    "frais": "fraîche",
    "sec": "sèche",
    "blanc": "blanche",
    "franc": "franche",
    "gentil": "gentille",
    "doux": "douce",
    "faux": "fausse",
    "bas": "basse",
    "gros": "grosse",
    "épais": "épaisse",
    "las": "lasse",
    "nul": "nulle",
    "net": "nette",
    "muet": "muette",
    "favori": "favorite",
    "malin": "maligne",
    "bénin": "bénigne",
    "vieux": "vieille",
    "nouveau": "nouvelle",
    "beau": "belle",
    "fou": "folle",
    "mou": "molle",
    "roux": "rousse",
    "jaloux": "jalouse",
    "exprès": "expresse",
    "tiers": "tierce",
    "caduc": "caduque",
    "laïc": "laïque",
    "ammoniac": "ammoniaque",
}
ADJECTIVE_MASC_PLURAL_EXCEPTIONS = {
    "final": "finals",
    "naval": "navals",
    "banal": "banals",
    "fatal": "fatals",
    "natal": "natals",
    "bancal": "bancals",
}


def adjective_forms(masc: str) -> tuple[str, str, str, str]:
    """(masc sg, fem sg, masc pl, fem pl) of a regular French adjective."""
    if masc in ADJECTIVE_FEMININE_EXCEPTIONS:
        fem = ADJECTIVE_FEMININE_EXCEPTIONS[masc]
    elif masc.endswith("e"):
        fem = masc
    elif masc.endswith("eux"):
        fem = masc[:-1] + "se"
    elif masc.endswith("if"):
        fem = masc[:-1] + "ve"
    elif masc.endswith(("el", "eil")):
        fem = masc + "le"
    elif masc.endswith(("en", "on")):
        fem = masc + "ne"
    elif masc.endswith("er"):
        fem = masc[:-2] + "ère"
    elif masc.endswith("et") and masc not in ("net", "muet"):
        fem = masc[:-2] + "ète"
    else:
        fem = masc + "e"
    if masc in ADJECTIVE_MASC_PLURAL_EXCEPTIONS:
        masc_pl = ADJECTIVE_MASC_PLURAL_EXCEPTIONS[masc]
    elif masc.endswith(("s", "x")):
        masc_pl = masc
    elif masc.endswith("eau"):
        masc_pl = masc + "x"
    elif masc.endswith("al"):
        masc_pl = masc[:-2] + "aux"
    else:
        masc_pl = masc + "s"
    return masc, fem, masc_pl, fem + "s"


def inflect(forms: Sequence[str], gender: str, number: str) -> str:
    """Pick from (masc sg, fem sg, masc pl, fem pl)."""
    return forms[(number == "pl") * 2 + (gender == "f")]


# Prenominal adjectives with a special masculine singular form before a vowel.
BEFORE_VOWEL_MASC = {"nouveau": "nouvel", "beau": "bel", "vieux": "vieil"}


def participle_forms(pp: str) -> tuple[str, str, str, str]:
    """(masc sg, fem sg, masc pl, fem pl) of a past participle: adopté -> adoptée, adoptés..."""
    if pp == "dû":
        return "dû", "due", "dus", "dues"
    masc_pl = pp if pp.endswith("s") else pp + "s"
    return pp, pp + "e", masc_pl, pp + "es"


# ---------------------------------------------------------------------------------------------
# Determiners

ARTICLE_DEF = {("m", "sg"): "le", ("f", "sg"): "la", ("m", "pl"): "les", ("f", "pl"): "les"}


def definite_article(gender: str, number: str, next_word: str, prep: str | None = None) -> list[str]:
    """The definite article with its preposition, contracted: (de, m, sg) -> ["du"];
    (à, f, sg, 'usine') -> ["à", "la"], which elide() turns into "à l'usine"."""
    if number == "pl":
        return {None: ["les"], "de": ["des"], "à": ["aux"]}.get(prep, [prep, "les"])
    art = "le" if gender == "m" else "la"  # elided to l' by elide() before a vowel
    if art == "le" and prep in ("de", "à") and not starts_with_vowel(next_word):
        return ["du" if prep == "de" else "au"]
    return [art] if prep is None else [prep, art]


DEMONSTRATIVE = {("m", "sg"): "ce", ("f", "sg"): "cette", ("m", "pl"): "ces", ("f", "pl"): "ces"}


def demonstrative(gender: str, number: str, next_word: str) -> str:
    if gender == "m" and number == "sg" and starts_with_vowel(next_word):
        return "cet"
    return DEMONSTRATIVE[(gender, number)]


POSSESSIVES = {  # owner -> (masc sg, fem sg, plural)
    "3sg": ("son", "sa", "ses"),
    "3pl": ("leur", "leur", "leurs"),
    "1pl": ("notre", "notre", "nos"),
    "2pl": ("votre", "votre", "vos"),
    "1sg": ("mon", "ma", "mes"),
}


def possessive(owner: str, gender: str, number: str, next_word: str) -> str:
    masc, fem, plural = POSSESSIVES[owner]
    if number == "pl":
        return plural
    if gender == "f" and not starts_with_vowel(next_word):  # "sa politique" but "son action"
        return fem
    return masc


# ---------------------------------------------------------------------------------------------
# Verbs

PERSONS = ("1sg", "2sg", "3sg", "1pl", "2pl", "3pl")
AVOIR_FORMS = {"sg": "a", "pl": "ont"}  # third person, for inversions written by hand
SUBJECT_PRONOUNS = {"1sg": "je", "2sg": "tu", "3sg": "il", "1pl": "nous", "2pl": "vous", "3pl": "ils"}
REFLEXIVE = {"1sg": "me", "2sg": "te", "3sg": "se", "1pl": "nous", "2pl": "vous", "3pl": "se"}

# Irregular verbs: six present forms, past participle, future stem. Keys ending a longer verb are
# used as models for it (soutenir = sou + tenir, permettre = per + mettre).
IRREGULAR = {
    "être": ("suis es est sommes êtes sont", "été", "ser"),
    "avoir": ("ai as a avons avez ont", "eu", "aur"),
    "aller": ("vais vas va allons allez vont", "allé", "ir"),
    "faire": ("fais fais fait faisons faites font", "fait", "fer"),
    "pouvoir": ("peux peux peut pouvons pouvez peuvent", "pu", "pourr"),
    "vouloir": ("veux veux veut voulons voulez veulent", "voulu", "voudr"),
    "devoir": ("dois dois doit devons devez doivent", "dû", "devr"),
    "savoir": ("sais sais sait savons savez savent", "su", "saur"),
    "falloir": ("faut faut faut faut faut faut", "fallu", "faudr"),
    "dire": ("dis dis dit disons dites disent", "dit", "dir"),
    "croire": ("crois crois croit croyons croyez croient", "cru", "croir"),
    "voir": ("vois vois voit voyons voyez voient", "vu", "verr"),
    "prévoir": ("prévois prévois prévoit prévoyons prévoyez prévoient", "prévu", "prévoir"),
    "envoyer": ("envoie envoies envoie envoyons envoyez envoient", "envoyé", "enverr"),
    "mourir": ("meurs meurs meurt mourons mourez meurent", "mort", "mourr"),
    "partir": ("pars pars part partons partez partent", "parti", "partir"),
    "sortir": ("sors sors sort sortons sortez sortent", "sorti", "sortir"),
    "servir": ("sers sers sert servons servez servent", "servi", "servir"),
    "sentir": ("sens sens sent sentons sentez sentent", "senti", "sentir"),
    "convaincre": (
        "convaincs convaincs convainc convainquons convainquez convainquent",
        "convaincu",
        "convaincr",
    ),
    "suffire": ("suffis suffis suffit suffisons suffisez suffisent", "suffi", "suffir"),
    "inclure": ("inclus inclus inclut incluons incluez incluent", "inclus", "inclur"),
    "vivre": ("vis vis vit vivons vivez vivent", "vécu", "vivr"),
    "suivre": ("suis suis suit suivons suivez suivent", "suivi", "suivr"),
    "naître": ("nais nais naît naissons naissez naissent", "né", "naîtr"),
    "promouvoir": ("promeus promeus promeut promouvons promouvez promeuvent", "promu", "promouvr"),
}
IRREGULAR_SUFFIXES = {  # suffix -> (present endings, participle ending, future ending)
    "prendre": ("prends prends prend prenons prenez prennent", "pris", "prendr"),
    "mettre": ("mets mets met mettons mettez mettent", "mis", "mettr"),
    "tenir": ("tiens tiens tient tenons tenez tiennent", "tenu", "tiendr"),
    "venir": ("viens viens vient venons venez viennent", "venu", "viendr"),
    "cevoir": ("çois çois çoit cevons cevez çoivent", "çu", "cevr"),
    "uire": ("uis uis uit uisons uisez uisent", "uit", "uir"),
    "aître": ("ais ais aît aissons aissez aissent", "u", "aîtr"),
    "crire": ("cris cris crit crivons crivez crivent", "crit", "crir"),
    "dire": ("dis dis dit disons disez disent", "dit", "dir"),
    "lire": ("lis lis lit lisons lisez lisent", "lu", "lir"),
    "eindre": ("eins eins eint eignons eignez eignent", "eint", "eindr"),
    "aindre": ("ains ains aint aignons aignez aignent", "aint", "aindr"),
    "oindre": ("oins oins oint oignons oignez oignent", "oint", "oindr"),
    "vrir": ("vre vres vre vrons vrez vrent", "vert", "vrir"),
    "frir": ("fre fres fre frons frez frent", "fert", "frir"),
    "soudre": ("sous sous sout solvons solvez solvent", "solu", "soudr"),
    "clure": ("clus clus clut cluons cluez cluent", "clu", "clur"),
    "battre": ("bats bats bat battons battez battent", "battu", "battr"),
    "rompre": ("romps romps rompt rompons rompez rompent", "rompu", "rompr"),
    "courir": ("cours cours court courons courez courent", "couru", "courr"),
    "cueillir": ("cueille cueilles cueille cueillons cueillez cueillent", "cueilli", "cueillir"),
    "suivre": ("suis suis suit suivons suivez suivent", "suivi", "suivr"),
}
# -re verbs conjugated like vendre (vends, vendons, vendu, vendr-).
RE_REGULAR = ("endre", "ondre", "erdre", "andre", "ordre")
ELER_ETER_DOUBLING = (
    "appeler",
    "rappeler",
    "renouveler",
    "jeter",
    "rejeter",
    "projeter",
    "interpeler",
    "épeler",
    "feuilleter",
    "étiqueter",
)
CONSONANT = r"(?:[bcdfgjklmnpqrstvwxz]|gu|qu)"


class FrenchVerb:
    """A conjugated French verb: present forms, past participle, future stem, auxiliary."""

    __slots__ = (
        "infinitive",
        "present",
        "participle",
        "future_stem",
        "aux",
        "pronominal",
        "participle_forms",
    )

    def __init__(self, infinitive, aux="avoir", pronominal=False):
        self.infinitive = infinitive
        self.aux = "être" if pronominal else aux
        self.pronominal = pronominal
        self.present, self.participle, self.future_stem = _conjugation(infinitive)
        self.participle_forms = participle_forms(self.participle)

    def form(self, tense: str, person: str) -> str:
        """Simple tenses: 'present', 'future', 'conditional' for a person in PERSONS."""
        i = PERSONS.index(person)
        if tense == "present":
            return self.present[i]
        endings = {
            "future": ("ai", "as", "a", "ons", "ez", "ont"),
            "conditional": ("ais", "ais", "ait", "ions", "iez", "aient"),
        }[tense]
        return self.future_stem + endings[i]

    def agreed_participle(self, gender: str, number: str) -> str:
        return inflect(self.participle_forms, gender, number)


def _conjugation(inf):
    if inf in IRREGULAR:
        present, pp, fut = IRREGULAR[inf]
        return present.split(), pp, fut
    for suffix in sorted(IRREGULAR_SUFFIXES, key=len, reverse=True):
        if inf.endswith(suffix):  # the table spells what replaces the suffix
            prefix = inf[: -len(suffix)]
            present, pp, fut = IRREGULAR_SUFFIXES[suffix]
            return [prefix + f for f in present.split()], prefix + pp, prefix + fut
    if inf.endswith("er"):
        return _first_group(inf)
    if inf.endswith("ir"):
        stem = inf[:-2]
        return ([stem + e for e in ("is", "is", "it", "issons", "issez", "issent")], stem + "i", inf)
    if inf.endswith(RE_REGULAR):
        stem = inf[:-2]
        return ([stem + e for e in ("s", "s", "", "ons", "ez", "ent")], stem + "u", inf[:-1])
    raise ValueError(f"no conjugation model for French verb {inf!r}")


def _first_group(inf):
    stem = inf[:-2]
    strong = stem  # stem of the forms with a mute ending (1sg, 2sg, 3sg, 3pl) and of the future
    future_stem = inf
    if inf in ELER_ETER_DOUBLING:
        strong = stem + stem[-1]
        future_stem = strong + "er"
    elif re.search("é(" + CONSONANT + "+)$", stem):
        strong = re.sub("é(" + CONSONANT + "+)$", r"è\1", stem)
    elif re.search("e(" + CONSONANT + ")$", stem) and not re.search("e(" + CONSONANT + "){2}$", stem):
        strong = re.sub("e(" + CONSONANT + ")$", r"è\1", stem)
        future_stem = strong + "er"
    elif stem.endswith(("oy", "uy", "ay")):
        strong = stem[:-1] + "i"
        future_stem = strong + "er"
    nous = stem + "ons"
    if stem.endswith("c"):
        nous = stem[:-1] + "çons"
    elif stem.endswith("g"):
        nous = stem + "eons"
    present = [strong + "e", strong + "es", strong + "e", nous, stem + "ez", strong + "ent"]
    return present, stem + "é", future_stem


# ---------------------------------------------------------------------------------------------
# The final pass: elision and sentence assembly

ELIDABLE = {
    "le": "l'",
    "la": "l'",
    "de": "d'",
    "que": "qu'",
    "ne": "n'",
    "je": "j'",
    "me": "m'",
    "te": "t'",
    "se": "s'",
    "ce": "c'",
    "jusque": "jusqu'",
    "lorsque": "lorsqu'",
    "puisque": "puisqu'",
    "quelque": "quelqu'",
}
ELIDABLE_BEFORE_PRONOUN_ONLY = {"lorsque", "puisque", "quelque"}  # lorsqu'il, not lorsqu'en
CE_ELIDES_BEFORE = ("est", "était", "étaient", "en")


def elide(tokens: list[Token]) -> list[Token]:
    """Merge elidable function words into the next word: [('de', None), ('Europe', None)] ->
    [("d'Europe", None)]; 'si il' -> "s'il". Tokens are (text, sense) pairs; the merged token keeps
    the sense of the word it ends with. A merged word starts with a consonant, so one pass from
    the left is enough ("je ne ai" -> "je n'ai")."""
    out = []
    for text, sense in tokens:
        if out:
            prev = out[-1][0]
            low = prev.lower()
            merge = None
            if low in ELIDABLE and starts_with_vowel(text):
                if low == "ce":
                    if text.lower() in CE_ELIDES_BEFORE:
                        merge = ELIDABLE[low]
                elif low in ELIDABLE_BEFORE_PRONOUN_ONLY:
                    if text.lower() in ("il", "ils", "elle", "elles", "on", "un", "une"):
                        merge = ELIDABLE[low]
                else:
                    merge = ELIDABLE[low]
            elif low == "si" and text.lower() in ("il", "ils"):
                merge = "s'"
            if merge is not None:
                if prev[0].isupper():
                    merge = merge[0].upper() + merge[1:]
                out[-1] = (merge + text, sense)
                continue
        out.append((text, sense))
    return out
