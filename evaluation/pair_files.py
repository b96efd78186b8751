"""
Minimal-pair files (used by minimal_pairs.py): a grammatical and an ungrammatical sentence that
differ in one place. Each file is read by what its rows hold, never by a guess that could be wrong
silently:

    JSON-lines with sentence_good and sentence_bad     BLiMP (group: linguistics_term, else UID;
                                                       one_prefix_prefix, one_prefix_word_good,
                                                       one_prefix_word_bad where given)
    TSV with sen and wrong_sen                         MultiBLiMP (group: phenomenon; language: lang,
                                                       ISO 639-3 codes such as 'fra' made 'fr')
    lines 'True<TAB>sentence' / 'False<TAB>sentence'   CLAMS: a True line and the False line after
                                                       it make a pair (group: the file's name)
    any CSV, TSV or JSON-lines file with --columns     good:COL,bad:COL[,group:COL][,language:COL],
                                                       or a:COL,b:COL,label:COL and --good_label=V
                                                       (a row whose label is V has a grammatical a)

UTF-8, and a name ending in .gz is read through gzip. A malformed row is skipped and listed
(SkippedRow: file, line, reason), or, strict, refuses the file. A pair's language comes from its
row, else --language, else the file's name when one of its parts ('fr' in fr_agreement.tsv) is one
of the model's languages; pairs left without one keep language ''.
"""

from __future__ import annotations

import csv
import glob
import gzip
import io
import json
import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from common.errors import UserError
from common.text_input import read_text

COLUMN_ROLES = ('good', 'bad', 'group', 'language', 'a', 'b', 'label')
# ISO 639-3 codes (MultiBLiMP's) of the languages whose two-letter codes the project uses
ISO_639_3 = {
    'bul': 'bg', 'ces': 'cs', 'dan': 'da', 'deu': 'de', 'ell': 'el', 'eng': 'en', 'spa': 'es',
    'est': 'et', 'fin': 'fi', 'fra': 'fr', 'hun': 'hu', 'ita': 'it', 'lit': 'lt', 'lav': 'lv',
    'nld': 'nl', 'pol': 'pl', 'por': 'pt', 'ron': 'ro', 'slk': 'sk', 'slv': 'sl', 'swe': 'sv',
    'heb': 'he', 'rus': 'ru', 'cym': 'cy', 'tur': 'tr', 'ara': 'ar', 'zho': 'zh', 'jpn': 'ja',
}  # fmt: skip


@dataclass
class MinimalPair:
    """One pair, where it comes from (file, line from 1: the good sentence's line), its language
    ('' when unknown) and group (the phenomenon), and, where the file gives them, the one-prefix
    fields: the shared prefix and the critical word of each sentence."""

    file: str
    line: int
    language: str
    group: str
    good: str
    bad: str
    prefix: str | None = None
    word_good: str | None = None
    word_bad: str | None = None
    extra: dict = field(default_factory=dict)

    @property
    def has_one_prefix(self) -> bool:
        return self.prefix is not None and self.word_good is not None and self.word_bad is not None


@dataclass
class SkippedRow:
    """A row (or pair) left out, where and why (kind: a short phrase counted in summaries)."""

    file: str
    line: int
    kind: str
    reason: str
    out_dir: str = ''  # the checkpoint that could not read it, when it is about one

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items() if v != '' or k != 'out_dir'}


MALFORMED = 'malformed row'


def parse_columns(text: str | Sequence[str]) -> dict[str, str]:
    """{role: column} of --columns ('good:sen,bad:wrong_sen,group:phenomenon'); UserError for an
    unknown role, a role given twice, or a set of roles that names no pair."""
    items = text.split(',') if isinstance(text, str) else list(text)
    columns = {}
    for item in (i.strip() for i in items if i.strip()):
        role, sep, column = item.partition(':')
        if not sep or not column or role not in COLUMN_ROLES or role in columns:
            raise UserError(
                f"--columns: {item!r} is not ROLE:COLUMN with a role of {', '.join(COLUMN_ROLES)} "
                f"given once (e.g. --columns=good:sen,bad:wrong_sen,group:phenomenon)"
            )
        columns[role] = column
    if columns and not ({'good', 'bad'} <= set(columns) or {'a', 'b', 'label'} <= set(columns)):
        raise UserError(
            f"--columns={','.join(f'{r}:{c}' for r, c in columns.items())} names no pair: give "
            f"good:COL,bad:COL, or a:COL,b:COL,label:COL with --good_label=VALUE"
        )
    if {'good', 'bad'} & set(columns) and {'a', 'b', 'label'} & set(columns):
        raise UserError("--columns: give good:/bad: or a:/b:/label:, not both")
    return columns


def read_file_text(path: str) -> str:
    """The text of a UTF-8 file, through gzip when its name ends in .gz."""
    if not path.endswith('.gz'):
        return read_text(path, 'pair file')
    if not os.path.isfile(path):
        raise UserError(f"pair file {path}: no such file")
    try:
        with gzip.open(path, 'rb') as f:
            data = f.read()
    except (OSError, EOFError) as e:
        raise UserError(f"pair file {path} is not a readable gzip file: {e}")
    try:
        return data.decode('utf-8-sig').replace('\r\n', '\n').replace('\r', '\n')
    except UnicodeDecodeError as e:
        raise UserError(f"pair file {path}: byte {e.start} is not UTF-8; convert the file to UTF-8")


def file_name_language(path: str, languages: Iterable[str]) -> str:
    """The one code of languages among the parts of the file's name ('fr' in fr_agreement.tsv,
    blimp.en.jsonl), else ''."""
    name = os.path.basename(path).lower()
    parts = set(re.split(r'[^a-z0-9]+', name))
    found = [lang for lang in languages if lang.lower() in parts]
    return found[0] if len(found) == 1 else ''


def row_language(value: Any) -> str:
    """A language code as the project writes it: ISO 639-3 codes it knows made two-letter."""
    code = str(value or '').strip()
    return ISO_639_3.get(code.lower(), code)


# --- rows --------------------------------------------------------------------------------

BLIMP_ROLES = {'good': 'sentence_good', 'bad': 'sentence_bad', 'group': 'linguistics_term'}
MULTIBLIMP_ROLES = {'good': 'sen', 'bad': 'wrong_sen', 'group': 'phenomenon', 'language': 'lang'}
ONE_PREFIX_KEYS = ('one_prefix_prefix', 'one_prefix_word_good', 'one_prefix_word_bad')


def json_records(lines: Sequence[str]) -> Iterator[tuple[int, dict | None, str]]:
    """(line from 1, object or None, why not) of each non-empty line of a JSON-lines file."""
    for number, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as e:
            yield number, None, f"not valid JSON ({e.msg} at column {e.colno})"
            continue
        if not isinstance(obj, dict):
            yield number, None, f"expected a JSON object, got {type(obj).__name__}"
        else:
            yield number, obj, ''


def delimited_records(path: str, text: str) -> tuple[list[str], Iterator[tuple[int, dict | None, str]]]:
    """(header, records) of a CSV or TSV file with a header row: tab-separated when the name ends
    in .tsv(.gz), comma-separated when it ends in .csv(.gz), else by what the header holds."""
    name = path[:-3] if path.endswith('.gz') else path
    first = text.split('\n', 1)[0]
    delimiter = (
        '\t' if name.endswith('.tsv') else ',' if name.endswith('.csv') else '\t' if '\t' in first else ','
    )
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = [h.strip() for h in next(reader, [])]

    def records():
        line = 1
        for row in reader:
            start, line = line + 1, reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                yield start, None, f"{len(row)} fields where the header has {len(header)}"
            else:
                yield start, dict(zip(header, row)), ''

    return header, records()


def text_field(record: Mapping[str, Any], column: str) -> str | None:
    value = record.get(column)
    return value.strip() if isinstance(value, str) else None


class LabelSides:
    """Which of a and b is grammatical from a row's label: --good_label means a; the one other
    value the file uses means b; a third value is a malformed row, not a guess."""

    def __init__(self, good_label: str) -> None:
        self.good_label, self.other = good_label, None

    def a_is_good(self, label: str) -> bool | str:
        """True or False, or the reason the label decides nothing."""
        if label == self.good_label:
            return True
        if self.other is None and label:
            self.other = label
        if label and label == self.other:
            return False
        return (
            f"label {label!r} is neither --good_label={self.good_label!r} nor {self.other!r} (the "
            f"file's other label)"
        )


def pair_fields(record: Mapping[str, Any], roles: Mapping[str, str], sides: LabelSides | None) -> dict | str:
    """{good, bad, group, language} of a record, or the reason it is malformed."""
    needed = ['good', 'bad'] if 'good' in roles else ['a', 'b', 'label']
    missing = [roles[r] for r in needed if text_field(record, roles[r]) is None]
    if missing:
        return f"no text in column(s) {', '.join(missing)}"
    values = {role: text_field(record, roles[role]) for role in needed}
    if 'label' in values:
        a_is_good = sides.a_is_good(values['label'])
        if isinstance(a_is_good, str):
            return a_is_good
        values['good'], values['bad'] = (
            (values['a'], values['b']) if a_is_good else (values['b'], values['a'])
        )
    if not values['good'] or not values['bad']:
        return "an empty sentence"
    if values['good'] == values['bad']:
        return "the two sentences are the same"
    group = text_field(record, roles['group']) if 'group' in roles else None
    return {
        'good': values['good'],
        'bad': values['bad'],
        'group': group or text_field(record, 'UID') or '',
        'language': row_language(record.get(roles['language'])) if 'language' in roles else '',
    }


def one_prefix_fields(record: Mapping[str, Any]) -> dict:
    """BLiMP's one-prefix fields, where the row gives all three."""
    values = [text_field(record, key) for key in ONE_PREFIX_KEYS]
    if any(v is None for v in values):
        return {}
    return dict(zip(('prefix', 'word_good', 'word_bad'), values))


def clams_pairs(path: str, lines: Sequence[str]) -> tuple[list[dict], list[SkippedRow]]:
    """([{line, good, bad}], skipped) of a CLAMS file: a True line and the False line right after it."""
    pairs, skipped, pending = [], [], None  # pending: (line, sentence) of a True line
    for number, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        label, tab, sentence = raw.partition('\t')
        label, sentence = label.strip(), sentence.strip()
        if not tab or label not in ('True', 'False') or not sentence:
            skipped.append(
                SkippedRow(path, number, MALFORMED, "not 'True<TAB>sentence' or 'False<TAB>sentence'")
            )
        elif label == 'True':
            if pending:
                skipped.append(
                    SkippedRow(path, pending[0], MALFORMED, "a True line without a False line after it")
                )
            pending = (number, sentence)
        elif pending is None:
            skipped.append(SkippedRow(path, number, MALFORMED, "a False line without a True line before it"))
        else:
            pairs.append({'line': pending[0], 'good': pending[1], 'bad': sentence})
            pending = None
    if pending:
        skipped.append(SkippedRow(path, pending[0], MALFORMED, "a True line without a False line after it"))
    return pairs, skipped


def file_format(path: str, lines: Sequence[str], columns: Mapping[str, str]) -> str:
    """'blimp', 'multiblimp', 'clams', 'json columns' or 'delimited columns', from what the file
    holds; UserError when it holds none of these."""
    first = next((line for line in lines if line.strip()), '')
    if first.lstrip().startswith('{'):
        if columns:
            return 'json columns'
        obj = next((o for _, o, _ in json_records(lines) if o is not None), {})
        if 'sentence_good' in obj and 'sentence_bad' in obj:
            return 'blimp'
        raise UserError(
            f"pair file {path}: JSON-lines without sentence_good and sentence_bad (BLiMP's keys); "
            f"name its columns with --columns=good:KEY,bad:KEY "
            + (
                f"(keys of its first object: {', '.join(list(obj)[:12])})"
                if obj
                else "(no line of it is a whole JSON object: a JSON-lines file holds one object per line)"
            )
        )
    if columns:
        return 'delimited columns'
    if first.split('\t', 1)[0].strip() in ('True', 'False') and '\t' in first:
        return 'clams'
    header = set(re.split(r'[\t,]', first.strip()))
    if {'sen', 'wrong_sen'} <= header:
        return 'multiblimp'
    raise UserError(
        f"pair file {path} is none of the formats minimal_pairs.py reads by itself (BLiMP JSON-lines, "
        f"MultiBLiMP TSV, CLAMS True/False lines); its first line is {first[:80]!r}: name its "
        f"columns with --columns=good:COL,bad:COL[,group:COL][,language:COL] or "
        f"--columns=a:COL,b:COL,label:COL --good_label=VALUE"
    )


def read_pair_file(
    path: str,
    columns: Mapping[str, str] | None = None,
    good_label: str = '',
    language: str = '',
    languages: Iterable[str] = (),
    skipped: list[SkippedRow] | None = None,
) -> list[MinimalPair]:
    """The pairs of a file (see the module's docstring). A malformed row raises UserError naming
    the file, the line and why; when skipped is a list, it is appended there and left out.
    language: --language; languages: the model's, searched for in the file's name."""
    columns = dict(columns or {})
    if 'label' in columns and not good_label:
        raise UserError(
            "--columns names a label column: give --good_label=VALUE (the label of rows whose a is grammatical)"
        )
    lines = read_file_text(path).split('\n')
    fmt = file_format(path, lines, columns)
    default_language = language or file_name_language(path, languages)
    found, problems = [], []
    if fmt == 'clams':
        rows, problems = clams_pairs(path, lines)
        group = re.sub(r'\.(txt|tsv)$', '', os.path.basename(path[:-3] if path.endswith('.gz') else path))
        found = [MinimalPair(path, r['line'], default_language, group, r['good'], r['bad']) for r in rows]
    else:
        roles = {'blimp': BLIMP_ROLES, 'multiblimp': MULTIBLIMP_ROLES}.get(fmt, columns)
        if fmt in ('json columns', 'blimp'):
            records = json_records(lines)
        else:
            header, records = delimited_records(path, '\n'.join(lines))
            absent = [c for c in roles.values() if c not in header]
            if absent and fmt == 'delimited columns':
                raise UserError(f"pair file {path}: no column {', '.join(absent)} in its header {header}")
        sides = LabelSides(good_label) if 'label' in roles else None
        for number, record, why in records:
            fields = pair_fields(record, roles, sides) if record is not None else why
            if isinstance(fields, str):
                problems.append(SkippedRow(path, number, MALFORMED, fields))
                continue
            fields['language'] = fields['language'] or default_language
            extra = {k: record[k] for k in ('UID', 'field', 'linguistics_term', 'pairID') if k in record}
            found.append(MinimalPair(path, number, **fields, **one_prefix_fields(record), extra=extra))
    if problems and skipped is None:
        raise UserError(
            f"pair file {path}, line {problems[0].line}: {problems[0].reason} "
            f"({len(problems)} malformed row(s); without --strict=True they are skipped and listed)"
        )
    if skipped is not None:
        skipped.extend(problems)
    return found


def pair_file_paths(patterns: Iterable[str]) -> list[str]:
    """The files of --pair_files, each pattern a path or a glob (sorted matches); UserError for a
    pattern that names no file, and for a file named twice (its pairs would count twice)."""
    paths, seen = [], {}
    for pattern in patterns:
        matches = sorted(glob.glob(pattern)) if glob.has_magic(pattern) else [pattern]
        if not matches:
            raise UserError(f"--pair_files: {pattern!r} matches no file")
        for path in matches:
            if not os.path.isfile(path):
                raise UserError(f"--pair_files: {path} is {'a folder' if os.path.isdir(path) else 'no file'}")
            real = os.path.realpath(path)
            if real in seen:
                raise UserError(
                    f"--pair_files names {real} twice ({seen[real]} and {path}): give each file once"
                )
            seen[real] = path
            paths.append(path)
    return paths
