"""A small synthetic parallel corpus in three languages (English, French, German) that the tests
write themselves: a few sentence structures filled from one word table, translated word by word,
so that line i of each language file is the translation of line i of the others. Deterministic:
the lines are a function of (n_lines, seed).

    raw_files = write_raw_files(folder, n_lines=3000)          # {'en': path, 'fr': path, 'de': path}
    pairs = translation_pairs('en', 'de')                       # [('cat', 'Katze'), ...]
    write_lexicon(path, 'en', 'de')                             # the same, as en<TAB>de then word<TAB>translation lines
    write_similarity_csv(path)                                  # word pairs with scores, in and across the languages

The words carry accents and umlauts (élève, Bär, Käse) so that word splitting and UTF-8 are
exercised; every structure ends in a word after at least five others, so each held-out line gives
a cloze item."""

import os
import random

LANGUAGES = ('en', 'fr', 'de')

# one row per word: its English, French and German forms
NOUNS = [
    ('cat', 'chat', 'Katze'),
    ('dog', 'chien', 'Hund'),
    ('bear', 'ours', 'Bär'),
    ('pupil', 'élève', 'Schüler'),
    ('teacher', 'professeur', 'Lehrer'),
    ('farmer', 'paysan', 'Bauer'),
    ('baker', 'boulanger', 'Bäcker'),
    ('king', 'roi', 'König'),
    ('bird', 'oiseau', 'Vogel'),
    ('horse', 'cheval', 'Pferd'),
]
THINGS = [
    ('cheese', 'fromage', 'Käse'),
    ('bread', 'pain', 'Brot'),
    ('apple', 'pomme', 'Apfel'),
    ('book', 'livre', 'Buch'),
    ('letter', 'lettre', 'Brief'),
    ('key', 'clé', 'Schlüssel'),
    ('hat', 'chapeau', 'Hut'),
    ('ball', 'balle', 'Ball'),
]
VERBS = [
    ('sees', 'voit', 'sieht'),
    ('finds', 'trouve', 'findet'),
    ('wants', 'veut', 'will'),
    ('takes', 'prend', 'nimmt'),
    ('loves', 'aime', 'liebt'),
    ('buys', 'achète', 'kauft'),
]
ADJECTIVES = [
    ('old', 'vieux', 'alte'),
    ('young', 'jeune', 'junge'),
    ('small', 'petit', 'kleine'),
    ('happy', 'heureux', 'frohe'),
    ('tired', 'fatigué', 'müde'),
]
PLACES = [
    ('garden', 'jardin', 'Garten'),
    ('house', 'maison', 'Haus'),
    ('forest', 'forêt', 'Wald'),
    ('market', 'marché', 'Markt'),
    ('school', 'école', 'Schule'),
]
# the function words of each structure, per language
WORDS = {
    'the': ('the', 'le', 'der'),
    'in': ('in', 'dans', 'in'),
    'and': ('and', 'et', 'und'),
    'today': ('today', "aujourd'hui", 'heute'),
    'also': ('also', 'aussi', 'auch'),
}

# sentence structures: each slot is a table name, or a function word of WORDS
STRUCTURES = [
    ('the', 'ADJ', 'NOUN', 'VERB', 'the', 'ADJ', 'THING', '.'),
    ('today', 'the', 'NOUN', 'VERB', 'the', 'THING', 'in', 'the', 'PLACE', '.'),
    ('the', 'NOUN', 'and', 'the', 'NOUN', 'VERB', 'also', 'the', 'THING', '?'),
    ('the', 'ADJ', 'NOUN', 'VERB', 'the', 'NOUN', 'in', 'the', 'PLACE', '.'),
]
TABLES = {'NOUN': NOUNS, 'THING': THINGS, 'VERB': VERBS, 'ADJ': ADJECTIVES, 'PLACE': PLACES}


def parallel_lines(n_lines, seed=0):
    """{language: [line]} of n_lines lines, line i of each language the translation of line i of
    the others."""
    rng = random.Random(seed)
    lines = {lang: [] for lang in LANGUAGES}
    for _ in range(n_lines):
        structure = rng.choice(STRUCTURES)
        row = [
            WORDS[slot]
            if slot in WORDS
            else rng.choice(TABLES[slot])
            if slot in TABLES
            else (slot,) * len(LANGUAGES)
            for slot in structure
        ]
        for i, lang in enumerate(LANGUAGES):
            words = [word[i] for word in row]
            text = ' '.join(words[:-1])
            # French sets a space before '?' (as Europarl does), English and German do not
            final = f" {words[-1]}" if lang == 'fr' and words[-1] == '?' else words[-1]
            lines[lang].append(text[:1].upper() + text[1:] + final)
    return lines


def write_raw_files(folder, n_lines=3000, seed=0, prefix='tri'):
    """folder/<prefix>.{en,fr,de}, line-aligned; returns {language: path}."""
    os.makedirs(folder, exist_ok=True)
    paths = {}
    for lang, lines in parallel_lines(n_lines, seed).items():
        paths[lang] = os.path.join(folder, f'{prefix}.{lang}')
        with open(paths[lang], 'w', encoding='utf-8') as f:
            f.write(''.join(line + '\n' for line in lines))
    return paths


def translation_pairs(source, target):
    """[(word in source, its translation in target)] of every content word of the table, e.g.
    for a translation lexicon of the sense alignment."""
    i, j = LANGUAGES.index(source), LANGUAGES.index(target)
    return [(row[i], row[j]) for table in TABLES.values() for row in table]


def write_lexicon(path, source, target):
    """A translation lexicon of the table as TSV: a header line naming the two languages
    (`en<TAB>de`), then one `word<TAB>translation` line per content word (the format
    sense_visualisation.py's --translation_pairs reads); returns path."""
    with open(path, 'w', encoding='utf-8') as f:
        f.write(f"{source}\t{target}\n")
        f.write(
            ''.join(f"{word}\t{translation}\n" for word, translation in translation_pairs(source, target))
        )
    return path


def write_similarity_csv(path):
    """Word pairs with made-up similarity scores, within each language and across every pair of
    languages, as --similarity_csv reads them (word1,word2,score,language1,language2): two words
    of the same table (two animals, two things) score 4 to 5, words of different tables 0 to 1.
    Returns path."""
    rng = random.Random(0)
    words = [(table, row) for table in ('NOUN', 'THING', 'PLACE') for row in TABLES[table][:4]]
    lines = ['word1,word2,score,language1,language2']
    for a, first in enumerate(LANGUAGES):
        for second in LANGUAGES[a:]:
            for i, (table1, row1) in enumerate(words):
                for table2, row2 in words[i + 1 :]:
                    score = (4 if table1 == table2 else 0) + rng.random()
                    lines.append(f"{row1[a]},{row2[LANGUAGES.index(second)]},{score:.3f},{first},{second}")
    with open(path, 'w', encoding='utf-8') as f:
        f.write('\n'.join(lines) + '\n')
    return path
