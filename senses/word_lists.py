"""
The words the sense analyses look at: the default words of the sense tables (the gold lexicon's
polysemous words, then common parliamentary words and their translations), the words a user
lists (--words, --words_file), and the whole words a sense table may keep (known_words).
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Sequence

from common.errors import UserError
from common.languages import language_code
from common.text_input import read_text_lines

# A balanced list of common parliamentary words, as translation pairs: the default words of the
# sense tables and, when no bilingual lexicon is at hand, the default pairs of the alignment.
PARLIAMENTARY_WORD_PAIRS = [
    ('parliament', 'parlement'),
    ('council', 'conseil'),
    ('commission', 'commission'),
    ('president', 'président'),
    ('member', 'membre'),
    ('report', 'rapport'),
    ('vote', 'vote'),
    ('debate', 'débat'),
    ('law', 'loi'),
    ('proposal', 'proposition'),
    ('amendment', 'amendement'),
    ('budget', 'budget'),
    ('country', 'pays'),
    ('government', 'gouvernement'),
    ('policy', 'politique'),
    ('agreement', 'accord'),
    ('market', 'marché'),
    ('security', 'sécurité'),
    ('citizen', 'citoyen'),
    ('work', 'travail'),
    ('year', 'année'),
    ('peace', 'paix'),
    ('money', 'argent'),
    ('health', 'santé'),
]

WORD_PATTERN = re.compile(r"[^\W\d_]+")  # runs of letters: the words of a line, for word lists


def default_words(
    sense_lexicon: dict | None = None, languages: Sequence[str] = ('en', 'fr')
) -> list[tuple[str, str]]:
    """The polysemous words of the gold lexicon (when there is one), one of each language in
    turn, then the parliamentary words of English and French (those of `languages`), each
    English word followed by its French translation; a word spelt alike in two languages once:
    [(word, language)]."""
    polysemous = [
        [(e['word'], e['language']) for e in (sense_lexicon or {}).values() if e['language'] == lang]
        for lang in languages
    ]
    words = [w for pair in itertools.zip_longest(*polysemous) for w in pair if w]
    words += [
        (word, lang)
        for pair in PARLIAMENTARY_WORD_PAIRS
        for word, lang in zip(pair, ('en', 'fr'))
        if lang in languages
    ]
    first = {}
    for word, lang in words:  # a word spelt alike in two languages has one table
        first.setdefault(word, lang)
    return list(first.items())


def read_word_list(words: str = '', words_file: str = '') -> list[tuple[str, str]]:
    """--words=a,b and/or --words_file=FILE (one word per line, or 'word<TAB>language', the
    language by code or name; '#' starts a comment) -> [(word, language code or '')]; [] when
    neither is given. Given but holding no word, either is an error (not a quiet fall back to
    the default words)."""
    result = [(w.strip(), '') for w in words.split(',') if w.strip()] if words else []
    if words and not result:
        raise UserError(
            f"--words={words!r} names no word: give comma-separated words "
            f"(--words=bank,banque), or leave --words out for the default words"
        )
    if words_file:
        if not os.path.exists(words_file):
            raise UserError(f"--words_file={words_file}: no such file (one word per line)")
        from_file = []
        for line in read_text_lines(words_file, '--words_file'):
            line = line.split('#', 1)[0].strip()
            if line:
                parts = line.split('\t')
                language = parts[1].strip() if len(parts) > 1 else ''
                from_file.append((parts[0].strip(), language_code(language) or language))
        if not from_file:
            raise UserError(
                f"--words_file={words_file} holds no word (it is empty, or only blank "
                f"and '#' comment lines): it should hold one word per line, optionally "
                f"word<TAB>language (e.g. bank<TAB>en); leave --words_file out for the "
                f"default words"
            )
        result += from_file
    return result


def known_words(lines_by_language: dict[str, list[str]]) -> tuple[set[str], str]:
    """The offline list of whole words a sense table may keep: the `wordfreq` package's lists
    when it is installed (optional), else every word of the given held-out text.
    Returns (set of lowercased words, source description)."""
    try:
        import wordfreq
    except ImportError:
        words = set()
        for lines in lines_by_language.values():
            for line in lines:
                words.update(WORD_PATTERN.findall(line.lower()))
        return words, 'the words of the held-out text'
    words = set()
    for lang in lines_by_language:
        words.update(w.lower() for w in wordfreq.top_n_list(lang, 200000))
    return words, 'wordfreq'
