"""
What the sense analyses read: word lists, the demo corpus's gold sense
annotation and the held-out lines it annotates (read with data/prepared.py), word-similarity
datasets (Multi-SimLex or a plain CSV), and where a word sits among the tokens.

The gold annotation is written by data/demo/prepare.py into data/demo/gold/:
- lexicon.tsv: word, language, sense_id, gloss, translations, context_words (one row per
  polysemous word and sense; translations and context_words are '|'-separated);
- lexicon_all.tsv: lemma_en, lemma_fr, pos, gender_fr (the whole bilingual lexicon; any
  lemma_<code> columns, read by senses/lexicons.py);
- {split}.jsonl: one object per line of {lang}_{split}.txt, in the same order, a list of
  occurrences per language code:
  {"raw_line": 1234, "en": [{"word": "bank", "sense_id": "bank/finance", "word_index": 5}], "fr": [...]}
  where word_index indexes line.split(). The languages read are the dataset's (meta.json) whose
  held-out text is there.
Translation lexicons for the alignment are senses/lexicons.py's.
"""

import csv
import io
import itertools
import json
import os
import re

from common.errors import UserError
from common.languages import MULTISIMLEX_CODES, language_code
from common.text_input import read_text, read_text_lines
from data.prepared import dataset_languages, heldout_path, read_heldout_lines

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


# --- word lists --------------------------------------------------------------------------


def default_words(sense_lexicon=None, languages=('en', 'fr')):
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


def read_word_list(words='', words_file=''):
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


# --- the gold sense annotation of the demo corpus -----------------------------------------


def gold_dir(data_root, dataset):
    return os.path.join(data_root, dataset, 'gold')


def has_gold(data_root, dataset):
    return os.path.isfile(os.path.join(gold_dir(data_root, dataset), 'lexicon.tsv'))


def _read_tsv(path, required):
    if not os.path.isfile(path):
        raise UserError(
            f"{path} does not exist: prepare the demo corpus (python "
            f"data/demo/prepare.py), which writes the gold annotation"
        )
    with open(path, encoding='utf-8', newline='') as f:
        reader = csv.DictReader(f, delimiter='\t', quoting=csv.QUOTE_NONE)
        missing = [c for c in required if c not in (reader.fieldnames or [])]
        if missing:
            raise UserError(
                f"{path} lacks the column(s) {', '.join(missing)} (has "
                f"{reader.fieldnames}): prepare the demo corpus again"
            )
        return list(reader)


def _split_bar(text):
    return [t.strip() for t in (text or '').split('|') if t.strip()]


def read_sense_lexicon(directory):
    """lexicon.tsv -> {(word, language): {'word', 'language', 'senses': [{'sense_id', 'gloss',
    'translations', 'context_words'}]}}, in file order."""
    rows = _read_tsv(
        os.path.join(directory, 'lexicon.tsv'),
        ('word', 'language', 'sense_id', 'gloss', 'translations', 'context_words'),
    )
    lexicon = {}
    for row in rows:
        word, language = row['word'].strip().lower(), row['language'].strip()
        entry = lexicon.setdefault((word, language), {'word': word, 'language': language, 'senses': []})
        entry['senses'].append(
            {
                'sense_id': row['sense_id'].strip(),
                'gloss': row['gloss'].strip(),
                'translations': _split_bar(row['translations']),
                'context_words': _split_bar(row['context_words']),
            }
        )
    return lexicon


class GoldSenses:
    """The gold sense annotation of a prepared dataset: its lexicon of polysemous words
    (read_sense_lexicon) and, per held-out split, the annotated occurrences of those words
    (collect_occurrences), each split read once."""

    def __init__(self, data_root, dataset):
        self.data_root, self.dataset = data_root, dataset
        self.directory = gold_dir(data_root, dataset)
        self.lexicon = read_sense_lexicon(self.directory)
        self._occurrences = {}

    def occurrences(self, split, limit=None):
        """The annotated occurrences in a held-out split, from its first `limit` annotated
        lines (all of them: None); None when the split has no annotation."""
        if (split, limit) not in self._occurrences:
            if not os.path.isfile(os.path.join(self.directory, f'{split}.jsonl')):
                return None
            annotations = read_sense_annotations(self.directory, split)
            lines = {
                lang: read_heldout_lines(self.data_root, self.dataset, lang, split)
                for lang in heldout_languages(self.data_root, self.dataset, split)
            }
            self._occurrences[(split, limit)] = collect_occurrences(annotations, lines, self.lexicon, limit)
        return self._occurrences[(split, limit)]


def polysemous_words(lexicon):
    """The entries of the lexicon with at least two senses."""
    return {key: entry for key, entry in lexicon.items() if len(entry['senses']) >= 2}


def read_sense_annotations(directory, split):
    """{split}.jsonl -> one dict per held-out line (a list of occurrences per language code)."""
    path = os.path.join(directory, f'{split}.jsonl')
    if not os.path.isfile(path):
        raise UserError(f"{path} does not exist: prepare the demo corpus again (python data/demo/prepare.py)")
    annotations = []
    with open(path, encoding='utf-8') as f:
        for line_number, line in enumerate(f, 1):
            try:
                annotations.append(json.loads(line))
            except json.JSONDecodeError as e:
                raise UserError(f"{path}, line {line_number}: not JSON ({e}); prepare the demo corpus again")
    return annotations


# --- held-out parallel text ---------------------------------------------------------------


def heldout_languages(data_root, dataset, split):
    """The languages of a prepared dataset (meta.json order) whose held-out text of `split` is
    there."""
    return [
        lang
        for lang in dataset_languages(data_root, dataset)
        if os.path.isfile(heldout_path(data_root, dataset, lang, split))
    ]


def has_heldout_text(data_root, dataset, split, languages=None):
    """Whether the held-out text of `split` is there in each of `languages` (None: every
    language of the dataset; a dataset that is not prepared has none)."""
    if languages is None:
        try:
            languages = dataset_languages(data_root, dataset)
        except UserError:
            return False
    return bool(languages) and all(
        os.path.isfile(heldout_path(data_root, dataset, lang, split)) for lang in languages
    )


def known_words(lines_by_language):
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


def collect_occurrences(annotations, lines_by_language, lexicon, max_sentences=None):
    """The annotated occurrences of the lexicon's polysemous words in the held-out lines, from
    the first max_sentences lines that have any: [{'language', 'word' (the lexicon's word),
    'surface' (the form in the line, e.g. a plural), 'sense_id', 'sense_index', 'line_number',
    'line', 'word_index'}]. Occurrences of unknown sense ids are left out."""
    for lang, lines in lines_by_language.items():
        if len(lines) != len(annotations):
            raise UserError(
                f"the gold annotation has {len(annotations)} lines but the "
                f"{lang} held-out text has {len(lines)}: they were written by "
                f"different runs; prepare the demo corpus again"
            )
    words = polysemous_words(lexicon)
    occurrences, n_lines = [], 0
    for line_number, annotation in enumerate(annotations):
        if max_sentences is not None and n_lines >= max_sentences:
            break
        found = []
        for lang in lines_by_language:
            for occurrence in annotation.get(lang, []):
                surface = str(occurrence.get('word', '')).lower()
                # the annotation gives the surface form ('banks'); the sense id names the word
                word = str(occurrence.get('sense_id', '')).split('/')[0].lower() or surface
                entry = words.get((word, lang)) or words.get((surface, lang))
                sense_ids = [s['sense_id'] for s in entry['senses']] if entry else []
                if occurrence.get('sense_id') not in sense_ids:
                    continue
                found.append(
                    {
                        'language': lang,
                        'word': word,
                        'surface': surface,
                        'sense_id': occurrence['sense_id'],
                        'sense_index': sense_ids.index(occurrence['sense_id']),
                        'line_number': line_number,
                        'line': lines_by_language[lang][line_number],
                        'word_index': int(occurrence['word_index']),
                    }
                )
        if found:
            occurrences.extend(found)
            n_lines += 1
    return occurrences


# --- word similarity datasets -------------------------------------------------------------


def read_csv_columns(path, delimiter=',', what='file'):
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


def find_column(columns, name):
    """The values of the column called `name`, whatever its case; None when there is none."""
    lookup = {key.lower(): key for key in columns}
    return columns[lookup[name.lower()]] if name.lower() in lookup else None


def multisimlex_files(directory):
    """{'translation': path, 'scores': path} of a Multi-SimLex folder, checked to exist."""
    paths = {name: os.path.join(directory, f'{name}.csv') for name in ('translation', 'scores')}
    for path in paths.values():
        if not os.path.isfile(path):
            raise UserError(
                f"--simlex={directory}: {path} does not exist (Multi-SimLex "
                f"comes as translation.csv and scores.csv)"
            )
    return paths


def read_multisimlex_tables(directory):
    """(paths, translation.csv's columns, scores.csv's columns) of a Multi-SimLex folder."""
    paths = multisimlex_files(directory)
    return (paths, *(read_csv_columns(paths[name], what='--simlex') for name in ('translation', 'scores')))


def multisimlex_layout_error(directory, paths, words, scores=None):
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


def multisimlex_languages(directory):
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


def read_multisimlex(directory, languages=('en', 'fr')):
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


def read_similarity_csv(path, languages=()):
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


def pair_type(language1, language2, languages=()):
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


# --- words and tokens ---------------------------------------------------------------------


def word_tokens(tokenizer, word):
    """The token ids of a word as it appears inside a sentence (after a space). A word that is
    split into several tokens while another casing of it is a single token ('council' ->
    ' Council', where the corpus capitalises institutions) is that single token. When the space
    is a token of its own, it is left out: a split word's first token is then its first piece."""
    word = word.strip()
    ids = tokenizer.encode(' ' + word)
    if len(ids) > 1:
        for variant in (word.lower(), word[:1].upper() + word[1:], word[:1].lower() + word[1:]):
            variant_ids = tokenizer.encode(' ' + variant)
            if len(variant_ids) == 1:
                return variant_ids
    while len(ids) > 1 and not tokenizer.token_bytes(ids[0]).strip():
        ids = ids[1:]
    return ids


def translation_candidates(tokenizer, entry, field='translations'):
    """Per sense of a lexicon entry, the first tokens of its words in `field` (translations or
    context_words), tokens shared by two senses removed. Returns (candidates, shared)."""
    return candidate_tokens([[word_tokens(tokenizer, w) for w in sense[field]] for sense in entry['senses']])


def candidate_tokens(sense_words):
    """Per sense, the first tokens of its words (a list of token-id lists), minus the tokens
    two senses share (they could not tell the senses apart). Returns (candidates, shared ids)."""
    firsts = [{ids[0] for ids in words if ids} for words in sense_words]
    shared = set()
    for a in range(len(firsts)):
        for b in range(a + 1, len(firsts)):
            shared |= firsts[a] & firsts[b]
    return [sorted(f - shared) for f in firsts], sorted(shared)


def surface_variant_tokens(tokenizer, word):
    """The single-token ids of a word's surface forms: ' word', 'word' (line start, after an
    apostrophe) and the capitalised forms. Empty when none of them is a single token."""
    word = word.strip()
    variants = dict.fromkeys(
        [' ' + word, word, ' ' + word[:1].upper() + word[1:], word[:1].upper() + word[1:]]
    )
    ids = []
    for text in variants:
        encoded = tokenizer.encode(text)
        if len(encoded) == 1 and encoded[0] not in ids:
            ids.append(encoded[0])
    return ids


def occurrence_token_index(tokenizer, line, ids, word_index, word):
    """The index in ids of the first token of `word`, the word_index-th whitespace word of the
    line (or the part of it that is `word`, e.g. 'assemblée' in "l'assemblée"); None if the
    line has no such word."""
    matches = list(re.finditer(r'\S+', line))
    if word_index < 0 or word_index >= len(matches):
        return None
    match = matches[word_index]
    inside = match.group().lower().find(word.lower()) if word else -1
    char_start = match.start() + max(inside, 0)
    byte_start = len(line[:char_start].encode('utf-8'))
    offset = 0
    for i, token_id in enumerate(ids):
        end = offset + len(tokenizer.token_bytes(token_id))
        if offset <= byte_start < end:
            return i
        offset = end
    return None
