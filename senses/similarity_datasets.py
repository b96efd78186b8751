"""
Word-similarity datasets: Multi-SimLex (a folder of translation.csv and scores.csv) or a plain
CSV of scored word pairs, read into the pairs the similarity analysis scores; and the CSV
reading senses/lexicons.py shares for Multi-SimLex's translations.
"""

from __future__ import annotations

import csv
import io
import itertools
import os
from collections.abc import Sequence

from common.errors import UserError
from common.languages import MULTISIMLEX_CODES, language_code
from common.text_input import read_text


def read_csv_columns(path: str, delimiter: str = ',', what: str = 'file') -> dict[str, list[str]]:
    """A CSV (or TSV) file with a header -> {column name: [values as text]}, in file order; what
    names the file in messages (e.g. '--simlex')."""
    quoting = csv.QUOTE_NONE if delimiter == '\t' else csv.QUOTE_MINIMAL
    reader = csv.reader(io.StringIO(read_text(path, what), newline=''), delimiter=delimiter, quoting=quoting)
    header = [name.strip() for name in next(reader, [])]
    columns = {name: [] for name in header}
    for row in reader:
        if not any(cell.strip() for cell in row):
            continue
        for name, cell in itertools.zip_longest(header, row[: len(header)], fillvalue=''):
            columns[name].append(cell)
    return columns


def find_column(columns: dict[str, list[str]], name: str) -> list[str] | None:
    """The values of the column called `name`, whatever its case; None when there is none."""
    lookup = {key.lower(): key for key in columns}
    return columns[lookup[name.lower()]] if name.lower() in lookup else None


def multisimlex_files(directory: str) -> dict[str, str]:
    """{'translation': path, 'scores': path} of a Multi-SimLex folder, checked to exist."""
    paths = {name: os.path.join(directory, f'{name}.csv') for name in ('translation', 'scores')}
    for path in paths.values():
        if not os.path.isfile(path):
            raise UserError(
                f"--simlex={directory}: {path} does not exist (Multi-SimLex "
                f"comes as translation.csv and scores.csv)"
            )
    return paths


def read_multisimlex_tables(
    directory: str,
) -> tuple[dict[str, str], dict[str, list[str]], dict[str, list[str]]]:
    """(paths, translation.csv's columns, scores.csv's columns) of a Multi-SimLex folder."""
    paths = multisimlex_files(directory)
    return (paths, *(read_csv_columns(paths[name], what='--simlex') for name in ('translation', 'scores')))


def multisimlex_layout_error(
    directory: str,
    paths: dict[str, str],
    words: dict[str, list[str]],
    scores: dict[str, list[str]] | None = None,
) -> UserError:
    """The UserError for a --simlex folder whose files lack Multi-SimLex's columns: the files,
    the columns expected and those found (scores: None when only translation.csv is read)."""

    def found(columns):
        names = list(columns)
        more = f" and {len(names) - 12} more" if len(names) > 12 else ''
        return ', '.join(repr(n) for n in names[:12]) + more if names else 'no header'

    example = ', '.join(f"'{iso3} 1', '{iso3} 2'" for iso3 in ('ENG', 'FRA'))
    expected = (
        f"{paths['translation']} needs two columns per language, its ISO 639-3 code and 1 or 2 "
        f"({example}, ...; codes {', '.join(MULTISIMLEX_CODES)})"
    )
    if scores is not None:
        expected += f", and {paths['scores']} a column per language ('ENG', 'FRA', ...)"
    has = f"{paths['translation']} has {found(words)}" + (
        f"; {paths['scores']} has {found(scores)}" if scores is not None else ''
    )
    return UserError(f"--simlex={directory} is not laid out as Multi-SimLex: {expected}. {has}")


def multisimlex_languages(directory: str) -> list[str]:
    """The languages (common.languages codes, 'en' first) a Multi-SimLex folder has words and
    scores for: the XXX 1 and XXX 2 columns of translation.csv (ENG 1, ENG 2 for English) and
    the XXX column of scores.csv, looked up by name. A folder with none is an error naming the
    columns expected and found (not a language the model lacks)."""
    paths, words, scores = read_multisimlex_tables(directory)
    languages = [
        code
        for iso3, code in MULTISIMLEX_CODES.items()
        if find_column(words, f'{iso3} 1') is not None
        and find_column(words, f'{iso3} 2') is not None
        and find_column(scores, iso3) is not None
    ]
    if not languages:
        raise multisimlex_layout_error(directory, paths, words, scores)
    return languages


def read_multisimlex(directory: str, languages: Sequence[str] = ('en', 'fr')) -> list[dict]:
    """Multi-SimLex (translation.csv + scores.csv, columns looked up by name) -> pairs
    [{'word1', 'language1', 'word2', 'language2', 'score', 'pair_type'}] of the given languages
    (common.languages codes, each one Multi-SimLex has), row by row: for each language its
    monolingual pair (XXX 1, XXX 2) with its score, then for each pair of languages (a, b) in
    that order the cross-lingual pairs (a 1, b 2) and (b 1, a 2) scored with the mean of the two
    languages' scores, as Multi-SimLex builds its cross-lingual sets. A pair with a missing word
    or score is kept with score None (counted, not scored)."""
    paths, words, scores = read_multisimlex_tables(directory)
    n_rows = {
        name: len(next(iter(columns.values()), []))
        for name, columns in (('translation', words), ('scores', scores))
    }
    if n_rows['translation'] != n_rows['scores']:
        raise UserError(
            f"{paths['translation']} has {n_rows['translation']} rows but "
            f"{paths['scores']} has {n_rows['scores']}: they must be row-aligned"
        )
    iso3 = {code: name for name, code in MULTISIMLEX_CODES.items()}

    def column(columns, name, path):
        values = find_column(columns, name)
        if values is None:
            raise UserError(
                f"{path} has no column '{name}' (columns: {', '.join(columns)}): "
                f"expected the Multi-SimLex layout"
            )
        return values

    unknown = [lang for lang in languages if lang not in iso3]
    if unknown:
        raise UserError(f"Multi-SimLex has no language {', '.join(unknown)} (it has {', '.join(iso3)})")
    first = {lang: column(words, f'{iso3[lang]} 1', paths['translation']) for lang in languages}
    second = {lang: column(words, f'{iso3[lang]} 2', paths['translation']) for lang in languages}
    score = {
        lang: [_float_or_none(v) for v in column(scores, iso3[lang], paths['scores'])] for lang in languages
    }
    pairs = []
    for i in range(n_rows['translation']):
        for lang in languages:
            pairs.append(_pair(first[lang][i], lang, second[lang][i], lang, score[lang][i], languages))
        for a, b in itertools.combinations(languages, 2):
            mean = None if score[a][i] is None or score[b][i] is None else (score[a][i] + score[b][i]) / 2
            pairs.append(_pair(first[a][i], a, second[b][i], b, mean, languages))
            pairs.append(_pair(first[b][i], b, second[a][i], a, mean, languages))
    return pairs


def read_similarity_csv(path: str, languages: Sequence[str] = ()) -> list[dict]:
    """A CSV with columns word1, word2, score (and optionally language1, language2: language
    codes or names) -> pairs as read_multisimlex returns them; pair_type 'en-en', 'en-fr' etc. when the
    languages are given (see pair_type), else 'all'."""
    if not os.path.exists(path):
        raise UserError(f"--similarity_csv={path}: no such file (columns word1,word2,score)")
    reader = csv.DictReader(io.StringIO(read_text(path, '--similarity_csv'), newline=''))
    fields = {(c or '').strip().lower(): c for c in reader.fieldnames or []}
    missing = [c for c in ('word1', 'word2', 'score') if c not in fields]
    if missing:
        raise UserError(
            f"{path} lacks the column(s) {', '.join(missing)}: expected a "
            f"header 'word1,word2,score' (optionally language1,language2)"
        )
    pairs = []
    for row in reader:
        if not any((value or '').strip() for value in row.values() if isinstance(value, str)):
            continue
        get = lambda c: (row.get(fields[c]) or '').strip() if c in fields else ''
        # a language by code, whatever its case, or by name ('French', 'français')
        language1, language2 = (
            language_code(get(c), languages) or get(c) for c in ('language1', 'language2')
        )
        pairs.append(
            _pair(get('word1'), language1, get('word2'), language2, _float_or_none(get('score')), languages)
        )
    if not pairs:
        raise UserError(
            f"--similarity_csv={path} holds no word pairs: under its header "
            f"word1,word2,score, one scored pair per line (e.g. bank,money,7.5)"
        )
    return pairs


def _float_or_none(text):
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return value if value == value else None  # NaN -> None


def pair_type(language1: str, language2: str, languages: Sequence[str] = ()) -> str:
    """The type of a scored word pair: 'en-en' within English, 'en-fr' across, the two codes in
    the order of `languages` (the model's) when both are in it, else alphabetical; 'all' when a
    language is not given."""
    if not language1 or not language2:
        return 'all'
    order = {lang: i for i, lang in enumerate(languages)}
    first, second = sorted(
        (language1, language2), key=lambda lang: (lang not in order, order.get(lang, 0), lang)
    )
    return f"{first}-{second}"


def _pair(word1, language1, word2, language2, score, languages=()):
    word1, word2 = str(word1).strip(), str(word2).strip()
    return {
        'word1': word1,
        'language1': language1,
        'word2': word2,
        'language2': language2,
        'score': score,
        'pair_type': pair_type(language1, language2, languages),
    }
