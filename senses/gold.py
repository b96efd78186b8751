"""
The demo corpus's gold sense annotation and the held-out lines it annotates (read with
data/prepared.py).

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

from __future__ import annotations

import csv
import json
import os
from collections.abc import Sequence

from common.errors import UserError
from data.prepared import dataset_languages, heldout_path, read_heldout_lines


def gold_dir(data_root: str, dataset: str) -> str:
    return os.path.join(data_root, dataset, 'gold')


def has_gold(data_root: str, dataset: str) -> bool:
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


def read_sense_lexicon(directory: str) -> dict[tuple[str, str], dict]:
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

    def __init__(self, data_root: str, dataset: str) -> None:
        self.data_root, self.dataset = data_root, dataset
        self.directory = gold_dir(data_root, dataset)
        self.lexicon = read_sense_lexicon(self.directory)
        self._occurrences = {}

    def occurrences(self, split: str, limit: int | None = None) -> list[dict] | None:
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


def polysemous_words(lexicon: dict[tuple[str, str], dict]) -> dict[tuple[str, str], dict]:
    """The entries of the lexicon with at least two senses."""
    return {key: entry for key, entry in lexicon.items() if len(entry['senses']) >= 2}


def read_sense_annotations(directory: str, split: str) -> list[dict]:
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


def collect_occurrences(
    annotations: list[dict],
    lines_by_language: dict[str, list[str]],
    lexicon: dict[tuple[str, str], dict],
    max_sentences: int | None = None,
) -> list[dict]:
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


# --- held-out parallel text ---------------------------------------------------------------


def heldout_languages(data_root: str, dataset: str, split: str) -> list[str]:
    """The languages of a prepared dataset (meta.json order) whose held-out text of `split` is
    there."""
    return [
        lang
        for lang in dataset_languages(data_root, dataset)
        if os.path.isfile(heldout_path(data_root, dataset, lang, split))
    ]


def has_heldout_text(
    data_root: str, dataset: str, split: str, languages: Sequence[str] | None = None
) -> bool:
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
