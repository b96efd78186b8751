"""English morphology for the demo corpus: plurals, verb forms (third person -s, past, past
participle, irregular verbs), and the a/an choice."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .phrases import Token

IRREGULAR_VERBS = {  # base -> (past, past participle)
    "be": ("was", "been"),
    "have": ("had", "had"),
    "do": ("did", "done"),
    "go": ("went", "gone"),
    "take": ("took", "taken"),
    "make": ("made", "made"),
    "give": ("gave", "given"),
    "build": ("built", "built"),
    "bring": ("brought", "brought"),
    "buy": ("bought", "bought"),
    "sell": ("sold", "sold"),
    "hold": ("held", "held"),
    "keep": ("kept", "kept"),
    "lead": ("led", "led"),
    "leave": ("left", "left"),
    "lose": ("lost", "lost"),
    "meet": ("met", "met"),
    "pay": ("paid", "paid"),
    "put": ("put", "put"),
    "rise": ("rose", "risen"),
    "fall": ("fell", "fallen"),
    "grow": ("grew", "grown"),
    "know": ("knew", "known"),
    "see": ("saw", "seen"),
    "say": ("said", "said"),
    "set": ("set", "set"),
    "spend": ("spent", "spent"),
    "tell": ("told", "told"),
    "think": ("thought", "thought"),
    "understand": ("understood", "understood"),
    "win": ("won", "won"),
    "begin": ("began", "begun"),
    "cut": ("cut", "cut"),
    "come": ("came", "come"),
    "become": ("became", "become"),
    "find": ("found", "found"),
    "feel": ("felt", "felt"),
    "get": ("got", "got"),
    "send": ("sent", "sent"),
    "speak": ("spoke", "spoken"),
    "write": ("wrote", "written"),
    "read": ("read", "read"),
    "run": ("ran", "run"),
    "draw": ("drew", "drawn"),
    "seek": ("sought", "sought"),
    "teach": ("taught", "taught"),
    "fight": ("fought", "fought"),
    "forbid": ("forbade", "forbidden"),
    "withdraw": ("withdrew", "withdrawn"),
    "undertake": ("undertook", "undertaken"),
    "overcome": ("overcame", "overcome"),
    "choose": ("chose", "chosen"),
    "show": ("showed", "shown"),
    "strike": ("struck", "struck"),
    "lend": ("lent", "lent"),
    "deal": ("dealt", "dealt"),
    "arise": ("arose", "arisen"),
    "freeze": ("froze", "frozen"),
    "steal": ("stole", "stolen"),
    "shut": ("shut", "shut"),
    "spread": ("spread", "spread"),
    "bear": ("bore", "borne"),
    "forget": ("forgot", "forgotten"),
    "hear": ("heard", "heard"),
    "mean": ("meant", "meant"),
    "break": ("broke", "broken"),
    "drive": ("drove", "driven"),
    "fly": ("flew", "flown"),
    "sink": ("sank", "sunk"),
    "shake": ("shook", "shaken"),
    "stand": ("stood", "stood"),
    "let": ("let", "let"),
    "sit": ("sat", "sat"),
    "hit": ("hit", "hit"),
    "light": ("lit", "lit"),
    "feed": ("fed", "fed"),
    "burn": ("burnt", "burnt"),
    "foresee": ("foresaw", "foreseen"),
    "rebuild": ("rebuilt", "rebuilt"),
    "uphold": ("upheld", "upheld"),
    "withhold": ("withheld", "withheld"),
    "slow": ("slowed", "slowed"),
}
DOUBLE_FINAL_CONSONANT = {
    "ban",
    "plan",
    "stop",
    "commit",
    "submit",
    "permit",
    "admit",
    "control",
    "transfer",
    "refer",
    "prefer",
    "occur",
    "regret",
    "drop",
    "cancel",
    "label",
    "travel",
    "fulfil",
    "equip",
    "ship",
    "fit",
    "shop",
    "tap",
    "compel",
    "expel",
    "propel",
    "rebel",
    "omit",
    "emit",
    "patrol",
    "dispel",
    "model",
    "signal",
    "channel",
    "level",
    "total",
    "fuel",
    "trap",
    "scrap",
    "rob",
    "dip",
    "chop",
    "step",
    "beg",
    "jam",
    "ship",
    "swap",
    "map",
}


def third_person(base: str) -> str:
    if base in ("have",):
        return "has"
    if base == "be":
        return "is"
    if base.endswith(("s", "sh", "ch", "x", "z", "o")):
        return base + "es"
    if base.endswith("y") and base[-2:-1] not in ("a", "e", "o", "u"):
        return base[:-1] + "ies"
    return base + "s"


def past_forms(base: str) -> tuple[str, str]:
    """(past, past participle)."""
    if base in IRREGULAR_VERBS:
        return IRREGULAR_VERBS[base]
    if base in DOUBLE_FINAL_CONSONANT:
        form = base + base[-1] + "ed"
    elif base.endswith("e"):
        form = base + "d"
    elif base.endswith("y") and base[-2:-1] not in ("a", "e", "o", "u"):
        form = base[:-1] + "ied"
    else:
        form = base + "ed"
    return form, form


IRREGULAR_PLURALS = {
    "child": "children",
    "woman": "women",
    "man": "men",
    "fisherman": "fishermen",
    "craftsman": "craftsmen",
    "person": "people",
    "criterion": "criteria",
    "crisis": "crises",
    "analysis": "analyses",
    "fish": "fish",
    "sheep": "sheep",
    "aircraft": "aircraft",
    "series": "series",
    "species": "species",
    "phenomenon": "phenomena",
    "thesis": "theses",
    "basis": "bases",
    "leaf": "leaves",
    "life": "lives",
    "shelf": "shelves",
    "half": "halves",
    "wife": "wives",
    "knife": "knives",
    "thief": "thieves",
    "foot": "feet",
    "tooth": "teeth",
    "mouse": "mice",
    "datum": "data",
    "medium": "media",
    "spokesman": "spokesmen",
    "chairman": "chairmen",
    "businessman": "businessmen",
    "potato": "potatoes",
    "tomato": "tomatoes",
    "hero": "heroes",
    "echo": "echoes",
}


def plural_word(word: str) -> str:
    low = word.lower()
    if low in IRREGULAR_PLURALS:
        plural = IRREGULAR_PLURALS[low]
        return word[0] + plural[1:] if word[0].isupper() else plural
    if low.endswith(("s", "sh", "ch", "x", "z")):
        return word + "es"
    if low.endswith("y") and low[-2:-1] not in ("a", "e", "o", "u"):
        return word[:-1] + "ies"
    return word + "s"


def noun_plural(noun: str) -> str:
    """'Member State' -> 'Member States'; 'head of state' -> 'heads of state'."""
    words = noun.split(" ")
    for i, w in enumerate(words):
        if w in ("of", "for", "in", "on", "to") and i > 0:
            return " ".join(words[: i - 1] + [plural_word(words[i - 1])] + words[i:])
    return " ".join(words[:-1] + [plural_word(words[-1])])


CONSONANT_SOUND_PREFIXES = ("eu", "uni", "use", "usu", "ura", "uti", "uk", "one", "once", "ubiq")
VOWEL_SOUND_PREFIXES = ("hour", "honest", "honour", "heir", "mep", "sme", "ngo", "rsi", "x-")


def starts_with_vowel_sound(word: str) -> bool:
    w = word.lower()
    if w.startswith(VOWEL_SOUND_PREFIXES):
        return True
    if w.startswith(CONSONANT_SOUND_PREFIXES):
        return False
    if w[:1].isdigit():
        return w.startswith(("8", "11", "18")) and not w.startswith(("80", "800"))
    return w[:1] in "aeiou"


def fix_articles(tokens: list[Token]) -> list[Token]:
    """a -> an before a vowel sound (tokens are (text, sense) pairs)."""
    out = list(tokens)
    for i in range(len(out) - 1):
        text = out[i][0]
        if text in ("a", "A") and starts_with_vowel_sound(out[i + 1][0]):
            out[i] = (text + "n", out[i][1])
    return out
