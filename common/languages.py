"""
Languages by code: the names reports show (a code that is not listed is shown as it is), the
codes Multi-SimLex uses for the same languages, the language pairs Europarl v7 publishes, and the
code of a language a user names in words (a header of a word list: 'French', 'français', 'FR').
"""

from __future__ import annotations

from collections.abc import Iterable

# ISO 639-1 codes: Europarl v7's 21 languages, and the other languages of Multi-SimLex
LANGUAGE_NAMES = {
    'bg': 'Bulgarian',
    'cs': 'Czech',
    'da': 'Danish',
    'de': 'German',
    'el': 'Greek',
    'en': 'English',
    'es': 'Spanish',
    'et': 'Estonian',
    'fi': 'Finnish',
    'fr': 'French',
    'hu': 'Hungarian',
    'it': 'Italian',
    'lt': 'Lithuanian',
    'lv': 'Latvian',
    'nl': 'Dutch',
    'pl': 'Polish',
    'pt': 'Portuguese',
    'ro': 'Romanian',
    'sk': 'Slovak',
    'sl': 'Slovenian',
    'sv': 'Swedish',
    'ar': 'Arabic',
    'cy': 'Welsh',
    'he': 'Hebrew',
    'ru': 'Russian',
    'sw': 'Swahili',
    'zh': 'Chinese (Mandarin)',
    'yue': 'Chinese (Cantonese)',
}

# each language's name in itself, for headers written by its speakers ('français', 'Deutsch')
NATIVE_NAMES = {
    'bg': 'български',
    'cs': 'čeština',
    'da': 'dansk',
    'de': 'deutsch',
    'el': 'ελληνικά',
    'en': 'english',
    'es': 'español',
    'et': 'eesti',
    'fi': 'suomi',
    'fr': 'français',
    'hu': 'magyar',
    'it': 'italiano',
    'lt': 'lietuvių',
    'lv': 'latviešu',
    'nl': 'nederlands',
    'pl': 'polski',
    'pt': 'português',
    'ro': 'română',
    'sk': 'slovenčina',
    'sl': 'slovenščina',
    'sv': 'svenska',
    'ar': 'العربية',
    'cy': 'cymraeg',
    'he': 'עברית',
    'ru': 'русский',
    'sw': 'kiswahili',
    'zh': '中文',
}

# Multi-SimLex names its languages by ISO 639-3 codes
MULTISIMLEX_CODES = {
    'ENG': 'en',
    'FRA': 'fr',
    'SPA': 'es',
    'FIN': 'fi',
    'POL': 'pl',
    'EST': 'et',
    'RUS': 'ru',
    'CMN': 'zh',
    'YUE': 'yue',
    'ARA': 'ar',
    'HEB': 'he',
    'CYM': 'cy',
    'SWA': 'sw',
}

# Europarl v7 pairs each language with English: statmt.org's <lang>-en.tgz holds
# europarl-v7.<lang>-en.<lang> and europarl-v7.<lang>-en.en, line-aligned
EUROPARL_LANGUAGES = (
    'bg',
    'cs',
    'da',
    'de',
    'el',
    'es',
    'et',
    'fi',
    'fr',
    'hu',
    'it',
    'lt',
    'lv',
    'nl',
    'pl',
    'pt',
    'ro',
    'sk',
    'sl',
    'sv',
)
EUROPARL_PAIRS = tuple(f'{lang}-en' for lang in EUROPARL_LANGUAGES)


def language_name(code: str) -> str:
    """'de' -> 'German'; a code we do not know is its own name."""
    return LANGUAGE_NAMES.get(code, code)


def pair_name(first: str, second: str) -> str:
    """('en', 'de') -> 'English-German'."""
    return f"{language_name(first)}-{language_name(second)}"


def language_code(name: str, codes: Iterable[str] = ()) -> str | None:
    """The code of a language named by its code, its English name or its own name, whatever the
    case ('FR', 'French', 'français' -> 'fr'); codes: more codes to recognise (a model's
    languages). None when the name is no language we know."""
    key = name.strip().lower()
    known = {code.lower(): code for code in [*LANGUAGE_NAMES, *codes]}
    known.update({english.lower(): code for code, english in LANGUAGE_NAMES.items()})
    known.update({native: code for code, native in NATIVE_NAMES.items()})
    return known.get(key)
