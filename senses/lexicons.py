"""
Translation lexicons for every pair of a model's languages: what the cross-lingual alignment
compares. A lexicon of the languages (a, b) is a list of word pairs (a word of a, its
translation in b). For each pair of languages the first of these that has words for it is used:

1. --translation_pairs: TSV files, comma-separated. A line is `word<TAB>translation`; '#' starts
   a comment line. The first line may name the languages of the columns, by code, English name or
   the language's own name (`en<TAB>de`, `English<TAB>German`, `english<TAB>français`); a header
   of three or more columns (`en<TAB>fr<TAB>de`) makes each line one meaning in every column's
   language, and the file a lexicon of every pair of its columns (an empty cell: no word in that
   language). A file without a header is English<TAB>French (further columns ignored), as it
   always was; a first line that looks like a header (`word<TAB>translation`, `English<TAB>Fench`)
   but names no pair of languages is an error, not a word pair.
2. the gold lexicon of the held-out dataset (gold/lexicon_all.tsv, one lemma_<code> column per
   language, as data/demo/prepare.py writes it): every pair of its languages.
3. Multi-SimLex's translation.csv (--simlex): row i translates the English pair (ENG 1, ENG 2)
   into each of its languages (XXX 1, XXX 2), so any two of its languages pair word 1 with word 1
   and word 2 with word 2 of the same row.
4. the built-in parliamentary English-French pairs, for en-fr only.
A pair of languages none of these covers has no lexicon, and the alignment says so.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Sequence
from typing import TypeVar

from common.errors import UserError
from common.languages import MULTISIMLEX_CODES, language_code, language_name, pair_name
from common.text_input import read_text_lines
from senses.similarity_datasets import (
    find_column,
    multisimlex_files,
    multisimlex_layout_error,
    read_csv_columns,
)
from senses.word_lists import PARLIAMENTARY_WORD_PAIRS

T = TypeVar('T')


def language_pairs(languages: Sequence[T]) -> list[tuple[T, T]]:
    """Every pair of languages, in the order of `languages`: [en, fr, de] -> (en, fr), (en, de),
    (fr, de)."""
    return list(itertools.combinations(languages, 2))


def pair_key(a: str, b: str) -> str:
    """('en', 'fr') -> 'en-fr', the key of a pair of languages in senses.json and file names."""
    return f"{a}-{b}"


def _deduplicate(pairs):
    return list(dict.fromkeys((a, b) for a, b in pairs if a and b))


def oriented(lexicon: dict[tuple[str, str], list[tuple[str, str]]], a: str, b: str) -> list[tuple[str, str]]:
    """The word pairs (word of a, word of b) of a lexicon {(x, y): [(word of x, word of y)]},
    whichever way round it holds them; [] when it has none."""
    return _deduplicate(lexicon.get((a, b), []) + [(wb, wa) for wa, wb in lexicon.get((b, a), [])])


# --- user TSV files ------------------------------------------------------------------------

# column titles a first line may hold instead of languages: a header, not a word pair
COLUMN_TITLES = {
    'word',
    'words',
    'translation',
    'translations',
    'source',
    'target',
    'language',
    'languages',
    'lang',
    'term',
    'terms',
    'lemma',
    'src',
    'tgt',
}


def _header_codes(fields, languages):
    """The language codes a first line names, each field a language (its code, English name or
    own name, see common.languages.language_code; the model's codes too) and each language
    once; None when it is no such header."""
    codes = [language_code(f, languages) for f in fields]
    if len(codes) < 2 or None in codes or len(set(codes)) < len(codes):
        return None
    return codes


def _looks_like_a_header(fields):
    """Whether a first line that names no pair of languages still reads as a header: a field is
    a language named in words ('English', 'français') or a column title ('word', 'translation')."""
    return any(
        f.lower() in COLUMN_TITLES or f.lower().startswith('lemma_') or (len(f) > 3 and language_code(f))
        for f in fields
    )


def _not_a_header_message(path, line_number, fields, languages):
    unknown = [f for f in fields if language_code(f, languages) is None]
    named = [language_code(f, languages) for f in fields if f not in unknown]
    why = (
        f"{', '.join(map(repr, unknown))} {'is' if len(unknown) == 1 else 'are'} no language we know"
        if unknown
        else f"it names {language_name(max(named, key=named.count))} twice"
    )
    return (
        f"{path}, line {line_number}: {'<TAB>'.join(fields)!r} looks like a header but names no "
        f"pair of languages ({why}): name each column's language by its code or name (en<TAB>fr, "
        f"English<TAB>French, english<TAB>français), or, if the line is a word pair, put such a "
        f"header above it"
    )


def read_translation_pairs(
    path: str, languages: Sequence[str] = ()
) -> dict[tuple[str, str], list[tuple[str, str]]]:
    """A TSV lexicon (see the module's docstring) -> {(a, b): [(word of a, word of b)]} for every
    pair of its columns' languages; no header: {('en', 'fr'): [...]}. languages: the model's
    codes, recognised in a header beside the codes common.languages knows. A first line that
    looks like a header but names no pair of languages, and a file without word pairs, are
    errors that say what the file should hold."""
    if not os.path.exists(path):
        raise UserError(
            f"--translation_pairs={path}: no such file (a TSV of word<TAB>translation "
            f"lines, optionally under a header naming the languages, e.g. en<TAB>de)"
        )
    codes, rows = None, []
    for line_number, line in enumerate(read_text_lines(path, '--translation_pairs'), 1):
        if not line.strip() or line.startswith('#'):
            continue
        fields = [f.strip() for f in line.split('\t')]
        if codes is None and not rows:
            codes = _header_codes(fields, languages)
            if codes is not None:
                continue
            if _looks_like_a_header(fields):
                raise UserError(_not_a_header_message(path, line_number, fields, languages))
        expected = (
            f"{len(codes)} tab-separated words ({'<TAB>'.join(codes)})"
            if codes
            else "'english<TAB>french' (or a first line naming the languages, e.g. en<TAB>de)"
        )
        if len(fields) < 2 or (codes and len(fields) > len(codes)):
            raise UserError(f"{path}, line {line_number}: expected {expected}, got {line[:80]!r}")
        rows.append(fields)
    if not rows:
        raise UserError(
            f"--translation_pairs={path} holds no word pairs: expected lines "
            f"word<TAB>translation (English<TAB>French, or the languages a first "
            f"line names, e.g. en<TAB>de)"
        )
    codes = codes or ['en', 'fr']
    lexicon = {}
    for a, b in language_pairs(range(len(codes))):
        words = [(row[a], row[b]) for row in rows if len(row) > b]
        lexicon[(codes[a], codes[b])] = _deduplicate(words)
    return lexicon


def read_translation_files(
    paths: str, languages: Sequence[str] = ()
) -> tuple[dict[tuple[str, str], list[tuple[str, str]]], dict[tuple[str, str], list[str]]]:
    """--translation_pairs=FILE[,FILE...] -> ({(a, b): word pairs}, {(a, b): [the files giving
    them]}), the files' word pairs merged in the order given."""
    lexicon, files = {}, {}
    for path in [p.strip() for p in paths.split(',') if p.strip()]:
        for (a, b), words in read_translation_pairs(path, languages).items():
            if (b, a) in lexicon:  # one orientation per pair of languages
                a, b, words = b, a, [(y, x) for x, y in words]
            lexicon[(a, b)] = _deduplicate(lexicon.get((a, b), []) + words)
            if words:
                files.setdefault((a, b), []).append(path)
    return lexicon, files


# --- the gold lexicon and Multi-SimLex -----------------------------------------------------


def read_lemma_lexicon(directory: str) -> dict[tuple[str, str], list[tuple[str, str]]]:
    """gold/lexicon_all.tsv -> {(a, b): [(lemma of a, lemma of b)]} for every pair of its
    lemma_<code> columns, in column order, without repeats; {} when there is no such file."""
    path = os.path.join(directory, 'lexicon_all.tsv')
    if not os.path.isfile(path):
        return {}
    columns = read_csv_columns(path, delimiter='\t', what='the gold lexicon')
    codes = [name[len('lemma_') :] for name in columns if name.startswith('lemma_')]
    if len(codes) < 2:
        raise UserError(
            f"{path} has {len(codes)} lemma_<language> column(s) (columns: "
            f"{', '.join(columns)}): a lexicon needs two; prepare the corpus again"
        )
    return {
        (a, b): _deduplicate(zip(columns[f'lemma_{a}'], columns[f'lemma_{b}']))
        for a, b in language_pairs(codes)
    }


MULTISIMLEX_LANGUAGE = {code: iso3 for iso3, code in MULTISIMLEX_CODES.items()}  # 'en' -> 'ENG'


def multisimlex_translations(
    directory: str, languages: Sequence[str]
) -> dict[tuple[str, str], list[tuple[str, str]]]:
    """{(a, b): word pairs} from Multi-SimLex's translation.csv for every pair of those of
    `languages` it has: row i gives (a 1, b 1) and (a 2, b 2)."""
    paths = multisimlex_files(directory)
    columns = read_csv_columns(paths['translation'], what='--simlex')
    if not any(find_column(columns, f"{iso3} {i}") is not None for iso3 in MULTISIMLEX_CODES for i in (1, 2)):
        raise multisimlex_layout_error(directory, paths, columns)
    words = {
        lang: [find_column(columns, f"{MULTISIMLEX_LANGUAGE[lang]} {i}") for i in (1, 2)]
        for lang in languages
        if lang in MULTISIMLEX_LANGUAGE
    }
    present = [lang for lang, (first, second) in words.items() if first is not None and second is not None]
    lexicon = {}
    for a, b in language_pairs(present):
        pairs = [
            (row_a, row_b)
            for i in range(len(words[a][0]))
            for row_a, row_b in ((words[a][0][i], words[b][0][i]), (words[a][1][i], words[b][1][i]))
        ]
        lexicon[(a, b)] = _deduplicate((x.strip(), y.strip()) for x, y in pairs)
    return lexicon


# --- a lexicon for each pair of the model's languages --------------------------------------


def lexicons_for(
    languages: Sequence[str], translation_pairs: str = '', gold_directory: str | None = None, simlex: str = ''
) -> dict[tuple[str, str], dict | None]:
    """For each pair (a, b) of `languages` (language_pairs order): {'words': [(word of a, word of
    b)], 'source': where they come from}, or None when no source has words for the pair. The
    sources in order of preference are the module docstring's."""
    files_lexicon, files = (
        read_translation_files(translation_pairs, languages) if translation_pairs else ({}, {})
    )
    for (a, b), paths in files.items():
        if a not in languages or b not in languages:  # a file for other languages is not silently dropped
            print(
                f"  note: --translation_pairs: {', '.join(paths)} gives {pair_name(a, b)} pairs, but the "
                f"held-out data is in {', '.join(map(language_name, languages))}: not used"
            )
    sources = [(files_lexicon, lambda a, b: ', '.join(files.get((a, b)) or files.get((b, a)) or []))]
    if gold_directory:
        sources.append((read_lemma_lexicon(gold_directory), lambda a, b: 'the gold bilingual lexicon'))
    if simlex:
        sources.append(
            (multisimlex_translations(simlex, languages), lambda a, b: f"Multi-SimLex translations, {simlex}")
        )
    sources.append(
        ({('en', 'fr'): PARLIAMENTARY_WORD_PAIRS}, lambda a, b: 'built-in parliamentary word pairs')
    )
    chosen = {}
    for a, b in language_pairs(languages):
        chosen[(a, b)] = next(
            (
                {'words': oriented(lexicon, a, b), 'source': source(a, b)}
                for lexicon, source in sources
                if oriented(lexicon, a, b)
            ),
            None,
        )
    return chosen


def no_lexicon_message(a: str, b: str) -> str:
    return (
        f"no translation lexicon for {pair_name(a, b)} ({a}, {b}): give one with "
        f"--translation_pairs=FILE (a TSV under a header '{a}<TAB>{b}') or --simlex=DIR "
        f"(Multi-SimLex, when it has both languages)"
    )
