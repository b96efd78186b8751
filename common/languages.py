"""
Languages by code: the names reports show (a code that is not listed is shown as it is), the
codes Multi-SimLex uses for the same languages, and the language pairs Europarl v7 publishes.
"""

# ISO 639-1 codes: Europarl v7's 21 languages, and the other languages of Multi-SimLex
LANGUAGE_NAMES = {
    'bg': 'Bulgarian', 'cs': 'Czech', 'da': 'Danish', 'de': 'German', 'el': 'Greek',
    'en': 'English', 'es': 'Spanish', 'et': 'Estonian', 'fi': 'Finnish', 'fr': 'French',
    'hu': 'Hungarian', 'it': 'Italian', 'lt': 'Lithuanian', 'lv': 'Latvian', 'nl': 'Dutch',
    'pl': 'Polish', 'pt': 'Portuguese', 'ro': 'Romanian', 'sk': 'Slovak', 'sl': 'Slovenian',
    'sv': 'Swedish',
    'ar': 'Arabic', 'cy': 'Welsh', 'he': 'Hebrew', 'ru': 'Russian', 'sw': 'Swahili',
    'zh': 'Chinese (Mandarin)', 'yue': 'Chinese (Cantonese)',
}

# Multi-SimLex names its languages by ISO 639-3 codes
MULTISIMLEX_CODES = {
    'ENG': 'en', 'FRA': 'fr', 'SPA': 'es', 'FIN': 'fi', 'POL': 'pl', 'EST': 'et', 'RUS': 'ru',
    'CMN': 'zh', 'YUE': 'yue', 'ARA': 'ar', 'HEB': 'he', 'CYM': 'cy', 'SWA': 'sw',
}

# Europarl v7 pairs each language with English: statmt.org's <lang>-en.tgz holds
# europarl-v7.<lang>-en.<lang> and europarl-v7.<lang>-en.en, line-aligned
EUROPARL_LANGUAGES = ('bg', 'cs', 'da', 'de', 'el', 'es', 'et', 'fi', 'fr', 'hu', 'it', 'lt',
                      'lv', 'nl', 'pl', 'pt', 'ro', 'sk', 'sl', 'sv')
EUROPARL_PAIRS = tuple(f'{lang}-en' for lang in EUROPARL_LANGUAGES)


def language_name(code):
    """'de' -> 'German'; a code we do not know is its own name."""
    return LANGUAGE_NAMES.get(code, code)


def pair_name(first, second):
    """('en', 'de') -> 'English-German'."""
    return f"{language_name(first)}-{language_name(second)}"
