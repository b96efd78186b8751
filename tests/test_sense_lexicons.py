"""Translation lexicons and word-similarity data for any languages (senses/lexicons.py,
senses/similarity_datasets.py), and the alignment and similarity analyses on a tiny English-French-German
model: every pair of languages in the results, the report and the figures."""

import json
import re

import pytest
from in_process import run_in_process
from prepared_dataset import write_prepared_dataset
from sense_fixtures import analysis_inputs, write_checkpoint

from common.errors import UserError
from data.bpe import train_bpe_tokenizer
from data.prepared import HELD_OUT_SPLITS, SPLITS
from senses import Skipped, alignment, similarity
from senses.gold import GoldSenses, has_heldout_text, heldout_languages
from senses.lexicons import (
    language_pairs,
    lexicons_for,
    multisimlex_translations,
    read_lemma_lexicon,
    read_translation_files,
    read_translation_pairs,
)
from senses.similarity_datasets import multisimlex_languages, pair_type, read_multisimlex, read_similarity_csv
from senses.word_lists import default_words
from senses.word_tokens import word_tokens

LANGUAGES = ['en', 'fr', 'de']
# the same meaning in English, French and German
WORDS = [
    ('house', 'maison', 'haus'),
    ('water', 'eau', 'wasser'),
    ('dog', 'chien', 'hund'),
    ('cat', 'chat', 'katze'),
    ('tree', 'arbre', 'baum'),
    ('book', 'livre', 'buch'),
    ('city', 'ville', 'stadt'),
    ('bread', 'pain', 'brot'),
    ('night', 'nuit', 'nacht'),
    ('school', 'école', 'schule'),
]
FRAMES = {
    'en': 'the {} and the {} are here .',
    'fr': 'le {} et le {} sont ici .',
    'de': 'das {} und das {} sind hier .',
}


def write(path, text):
    path.write_text(text, encoding='utf-8')
    return str(path)


# --- readers -------------------------------------------------------------------------------


def test_a_tsv_without_header_is_english_french_as_before(tmp_path):
    path = write(tmp_path / 'pairs.tsv', '# a comment\nbank\tbanque\n\nriver\trive\textra\nbank\tbanque\n')
    assert read_translation_pairs(path) == {('en', 'fr'): [('bank', 'banque'), ('river', 'rive')]}
    for header in ('en\tfr', 'English\tFrench', 'EN\tFR', 'english\tfrançais', 'English\tFrançais'):
        path = write(tmp_path / 'header.tsv', f'{header}\nbank\tbanque\n')
        assert read_translation_pairs(path) == {('en', 'fr'): [('bank', 'banque')]}, header


def test_a_first_line_that_looks_like_a_header_but_names_no_languages_is_refused(tmp_path):
    for header, why in (
        ('word\ttranslation', "'word', 'translation' are no language we know"),
        ('English\tFench', "'Fench' is no language we know"),
        ('English\tEnglish', 'it names English twice'),
    ):
        path = write(tmp_path / 'header.tsv', f'{header}\nbank\tbanque\n')
        with pytest.raises(UserError) as error:
            read_translation_pairs(path)
        message = str(error.value)
        assert message.startswith(f"{path}, line 1:") and 'looks like a header' in message, message
        assert why in message and 'en<TAB>fr' in message, message
    # a file of no word pairs is no lexicon (it was quietly replaced by the next one)
    for text in ('', '# a comment\n\n', 'en\tde\n'):
        with pytest.raises(UserError, match='holds no word pairs'):
            read_translation_pairs(write(tmp_path / 'empty.tsv', text))


def test_a_tsv_header_names_its_languages_and_three_columns_give_every_pair(tmp_path):
    path = write(tmp_path / 'de.tsv', 'en\tde\nhouse\thaus\n')
    assert read_translation_pairs(path) == {('en', 'de'): [('house', 'haus')]}
    path = write(tmp_path / 'names.tsv', 'German\tEnglish\nhaus\thouse\n')
    assert read_translation_pairs(path) == {('de', 'en'): [('haus', 'house')]}
    # a code common.languages does not know is a header when it is one of the model's languages
    path = write(tmp_path / 'eu.tsv', 'en\teu\nhouse\tetxe\n')
    assert read_translation_pairs(path, ['en', 'eu']) == {('en', 'eu'): [('house', 'etxe')]}
    path = write(tmp_path / 'three.tsv', 'en\tfr\tde\nhouse\tmaison\thaus\nwater\t\twasser\ndog\tchien\n')
    lexicon = read_translation_pairs(path)
    assert list(lexicon) == [('en', 'fr'), ('en', 'de'), ('fr', 'de')]
    assert lexicon[('en', 'fr')] == [('house', 'maison'), ('dog', 'chien')]  # no empty cells
    assert lexicon[('en', 'de')] == [('house', 'haus'), ('water', 'wasser')]
    assert lexicon[('fr', 'de')] == [('maison', 'haus')]
    # several files: merged, whichever way round they hold a pair of languages
    other = write(tmp_path / 'fr-en.tsv', 'fr\ten\nchat\tcat\nmaison\thouse\n')
    merged, files = read_translation_files(f'{path}, {other}')
    assert merged[('en', 'fr')] == [('house', 'maison'), ('dog', 'chien'), ('cat', 'chat')]
    assert files[('en', 'fr')] == [path, other] and files[('fr', 'de')] == [path]


def test_malformed_tsv_files_get_a_message_naming_the_line(tmp_path):
    with pytest.raises(UserError, match=r"line 2: expected 'english<TAB>french'"):
        read_translation_pairs(write(tmp_path / 'a.tsv', 'bank\tbanque\nriver\n'))
    with pytest.raises(UserError, match=r"line 2: expected 2 tab-separated words \(en<TAB>de\)"):
        read_translation_pairs(write(tmp_path / 'b.tsv', 'en\tde\nhouse\thaus\tmaison\n'))
    with pytest.raises(UserError, match='no such file'):
        read_translation_pairs(str(tmp_path / 'missing.tsv'))
    # a header naming a language twice is no header: its line is a pair like any other
    assert read_translation_pairs(write(tmp_path / 'c.tsv', 'en\ten\n')) == {('en', 'fr'): [('en', 'en')]}


def write_multisimlex(folder, rows=None):
    """A Multi-SimLex folder with English, Spanish, Finnish and French columns (and one more
    that readers must ignore), scores in another column order."""
    folder.mkdir(exist_ok=True)
    rows = rows or [
        ('old', 'new', 'viejo', 'nuevo', 'vanha', 'uusi', 'vieux', 'nouveau', 1.0, 2.0, 3.0, 4.0),
        ('cat', 'dog', 'gato', 'perro', 'kissa', 'koira', 'chat', 'chien', 5.0, '', 1.0, 2.0),
    ]
    write(
        folder / 'translation.csv',
        'ID,ENG 1,ENG 2,PoS,SPA 1,SPA 2,FIN 1,FIN 2,FRA 1,FRA 2,extra\n'
        + ''.join(
            f"{i},{r[0]},{r[1]},N,{r[2]},{r[3]},{r[4]},{r[5]},{r[6]},{r[7]},x\n" for i, r in enumerate(rows)
        ),
    )
    write(
        folder / 'scores.csv',
        'ID,ENG 1,ENG 2,PoS,FIN,ENG,SPA,FRA\n'
        + ''.join(f"{i},{r[0]},{r[1]},N,{r[10]},{r[8]},{r[9]},{r[11]}\n" for i, r in enumerate(rows)),
    )
    return str(folder)


def test_multisimlex_with_spanish_and_finnish(tmp_path):
    folder = write_multisimlex(tmp_path / 'msl')
    assert multisimlex_languages(folder) == ['en', 'fr', 'es', 'fi']
    pairs = read_multisimlex(folder, ['en', 'es', 'fi'])
    assert len(pairs) == 2 * (3 + 2 * 3)  # per row: 3 monolingual, 2 per pair of languages
    first_row = pairs[:9]
    assert [p['pair_type'] for p in first_row] == [
        'en-en',
        'es-es',
        'fi-fi',
        'en-es',
        'en-es',
        'en-fi',
        'en-fi',
        'es-fi',
        'es-fi',
    ]
    assert first_row[1] == {
        'word1': 'viejo',
        'language1': 'es',
        'word2': 'nuevo',
        'language2': 'es',
        'score': 2.0,
        'pair_type': 'es-es',
    }
    # across languages: XXX 1 with YYY 2 and YYY 1 with XXX 2, the mean of the two scores
    assert (first_row[3]['word1'], first_row[3]['word2'], first_row[3]['score']) == ('old', 'nuevo', 1.5)
    assert (first_row[4]['word1'], first_row[4]['word2'], first_row[4]['score']) == ('viejo', 'new', 1.5)
    assert (first_row[7]['word1'], first_row[7]['word2'], first_row[7]['score']) == ('viejo', 'uusi', 2.5)
    assert pairs[10]['score'] is None and pairs[12]['score'] is None  # no Spanish score for cat/dog
    # the translations pair word 1 with word 1 and word 2 with word 2 of the same row
    lexicon = multisimlex_translations(folder, ['en', 'fi', 'de'])
    assert lexicon == {('en', 'fi'): [('old', 'vanha'), ('new', 'uusi'), ('cat', 'kissa'), ('dog', 'koira')]}
    with pytest.raises(UserError, match='no language de'):
        read_multisimlex(folder, ['en', 'de'])
    write(tmp_path / 'msl' / 'scores.csv', 'ID,ENG 1,ENG 2,PoS,ENG\n1,old,new,A,1\n2,cat,dog,N,2\n')
    assert multisimlex_languages(folder) == ['en']  # words without scores are no language of it
    with pytest.raises(UserError, match="no column 'SPA'"):
        read_multisimlex(folder, ['en', 'es'])
    write(tmp_path / 'msl' / 'scores.csv', 'ID,ENG 1,ENG 2,PoS,ENG,SPA\n1,old,new,A,1,2\n')
    with pytest.raises(UserError, match='row-aligned'):
        read_multisimlex(folder, ['en', 'es'])


def test_similarity_csv_pair_types_for_any_codes(tmp_path):
    path = write(
        tmp_path / 'sim.csv',
        'word1,word2,score,language1,language2\nhaus,house,4,DE,en\n'
        'haus,baum,1,de,de\ncat,gato,5,en,es\ndog,hund,,en,\n'
        'Haus,maison,5,Deutsch,French\n',
    )
    pairs = read_similarity_csv(path, ['en', 'de'])
    assert [p['pair_type'] for p in pairs] == ['en-de', 'de-de', 'en-es', 'all', 'de-fr']
    assert pairs[0]['language1'] == 'de' and pairs[3]['score'] is None
    assert pair_type('fr', 'en') == 'en-fr' and pair_type('fr', 'en', ['fr', 'en']) == 'fr-en'


def test_gold_lexicon_of_any_languages_and_the_choice_of_a_lexicon_per_pair(tmp_path):
    gold = tmp_path / 'gold'
    gold.mkdir()
    write(
        gold / 'lexicon_all.tsv',
        'lemma_en\tlemma_fr\tlemma_de\tpos\n'
        'house\tmaison\thaus\tnoun\ndog\tchien\t\tnoun\nhouse\tmaison\thaus\tnoun\n',
    )
    lexicon = read_lemma_lexicon(str(gold))
    assert lexicon[('en', 'fr')] == [('house', 'maison'), ('dog', 'chien')]
    assert lexicon[('fr', 'de')] == [('maison', 'haus')]
    tsv = write(tmp_path / 'de-fr.tsv', 'de\tfr\nbaum\tarbre\n')
    chosen = lexicons_for(
        ['en', 'fr', 'de', 'fi'],
        translation_pairs=tsv,
        gold_directory=str(gold),
        simlex=write_multisimlex(tmp_path / 'msl'),
    )
    assert chosen[('fr', 'de')] == {'words': [('arbre', 'baum')], 'source': tsv}  # the TSV first
    assert chosen[('en', 'fr')]['source'] == 'the gold bilingual lexicon'
    assert chosen[('en', 'fi')]['source'].startswith('Multi-SimLex translations')
    assert chosen[('de', 'fi')] is None  # no source has German-Finnish
    builtin = lexicons_for(['fr', 'en'])[('fr', 'en')]
    assert builtin['source'] == 'built-in parliamentary word pairs' and builtin['words'][0] == (
        'parlement',
        'parliament',
    )
    write(gold / 'lexicon_all.tsv', 'lemma_en\tpos\nhouse\tnoun\n')
    with pytest.raises(UserError, match='lemma_<language>'):
        read_lemma_lexicon(str(gold))


# --- a tiny English-French-German model -----------------------------------------------------


@pytest.fixture(scope='module')
def trio(tmp_path_factory):
    """A prepared English-French-German dataset whose words are single tokens, a tiny Backpack
    checkpoint on it, German gold senses, a three-column lexicon and a similarity CSV with every
    pair of languages."""
    root = tmp_path_factory.mktemp('trio')
    lines = {
        lang: [FRAMES[lang].format(WORDS[i % 10][li], WORDS[(3 * i + 1) % 10][li]) for i in range(200)]
        for li, lang in enumerate(LANGUAGES)
    }
    try:  # as many tokens as the text supports: every word is then one token
        tok = train_bpe_tokenizer(
            lines, vocab_size=1000, name='trio', data_root=str(root / 'data'), verbose=False
        )
    except UserError as e:
        supported = int(re.search(r'supports only ([\d,]+) tokens', str(e)).group(1).replace(',', ''))
        tok = train_bpe_tokenizer(
            lines, vocab_size=supported, name='trio', data_root=str(root / 'data'), verbose=False
        )
    by_split = {'train': slice(0, 160), 'val': slice(160, 180), 'test': slice(180, 200)}
    text = {lang: {split: lines[lang][part] for split, part in by_split.items()} for lang in LANGUAGES}
    ids = {
        lang: {split: tok.encode_lines_with_eot(text[lang][split]) for split in SPLITS} for lang in LANGUAGES
    }
    splits = {
        lang: {split: {'lines': len(text[lang][split]), 'tokens': len(ids[lang][split])} for split in SPLITS}
        for lang in LANGUAGES
    }
    heldout = {lang: {split: text[lang][split] for split in HELD_OUT_SPLITS} for lang in LANGUAGES}
    meta = write_prepared_dataset(
        str(root / 'data'), 'trio', ids, splits, tok.n_vocab, tok.eot_token, tok.identity(), heldout
    )
    model = write_checkpoint(str(root / 'bkp'), 'backpack-lm', str(root / 'data'), meta)
    gold = root / 'data' / 'trio' / 'gold'  # German gold senses: 'schule' has two made-up ones
    gold.mkdir()
    write(
        gold / 'lexicon.tsv',
        'word\tlanguage\tsense_id\tgloss\ttranslations\tcontext_words\n'
        'schule\tde\tschule/a\ta\tschool\t\nschule\tde\tschule/b\tb\tschool\t\n',
    )
    write(
        gold / 'lexicon_all.tsv',
        'lemma_en\tlemma_fr\tlemma_de\n' + ''.join('\t'.join(row) + '\n' for row in WORDS),
    )
    for split in HELD_OUT_SPLITS:
        write(
            gold / f'{split}.jsonl',
            ''.join(
                json.dumps(
                    {
                        'en': [],
                        'fr': [],
                        'de': [{'word': 'schule', 'sense_id': f"schule/{'ab'[i % 2]}", 'word_index': 1}]
                        if line.split()[1] == 'schule'
                        else [],
                    }
                )
                + '\n'
                for i, line in enumerate(text['de'][split])
            ),
        )
    assert all(len(word_tokens(tok, w)) == 1 for row in WORDS for w in row)
    write(root / 'words.tsv', 'en\tfr\tde\n' + ''.join('\t'.join(row) + '\n' for row in WORDS))
    sim = ['word1,word2,score,language1,language2']
    for i in range(len(WORDS)):
        j = (i + 1) % len(WORDS)
        for a, b in [(0, 0), (1, 1), (2, 2), (0, 1), (0, 2), (1, 2)]:
            sim.append(f"{WORDS[i][a]},{WORDS[j][b]},{(i * 7 + a + b) % 6},{LANGUAGES[a]},{LANGUAGES[b]}")
    write(root / 'sim.csv', '\n'.join(sim) + '\n')
    return root, tok, model


def test_alignment_and_similarity_cover_every_pair_of_three_languages(trio):
    root, _, _ = trio
    report = root / 'report'
    run_in_process(
        'sense_visualisation.py',
        f'--out_dir={root / "bkp"}',
        f'--report_dir={report}',
        '--analyses=alignment,similarity',
        f'--translation_pairs={root / "words.tsv"}',
        f'--similarity_csv={root / "sim.csv"}',
        '--n_permutations=50',
        '--n_bootstrap=50',
        '--device=cpu',
    )
    analyses = json.loads((report / 'senses.json').read_text())['analyses']
    aligned = analyses['alignment']
    assert aligned['languages'] == LANGUAGES and list(aligned['language_pairs']) == [
        'en-fr',
        'en-de',
        'fr-de',
    ]
    assert [r['seed'] for r in aligned['language_pairs'].values()] == [0, 1, 2]  # seed + the pair's index
    assert all(r['n_pairs'] == 10 and 0 < r['p_value'] <= 1 for r in aligned['language_pairs'].values())
    assert aligned['language_pairs']['fr-de']['pairs'][0] == ['maison', 'haus']
    rows = {(r['pair_type'], r['representation']): r for r in analyses['similarity']['rows']}
    for pair_type_code in ('en-en', 'fr-fr', 'de-de', 'en-fr', 'en-de', 'fr-de', 'all'):
        assert rows[(pair_type_code, 'mean over senses')]['n_scored'] == (
            60 if pair_type_code == 'all' else 10
        )
    markdown = (report / 'senses.md').read_text()
    for name in ('English-French', 'English-German', 'French-German'):
        assert f'### {name}' in markdown and f'**{name}**' in markdown
    assert (
        "sense k of a German word" not in markdown
        and "sense k of a French word and sense k' of its German" in markdown
    )
    for name in (
        'sense_alignment.csv',
        'sense_alignment_languages.png',
        'sense_alignment_en-fr.png',
        'sense_alignment_en-de.png',
        'sense_alignment_fr-de.png',
        'sense_alignment_fr-de.csv',
        'lexical_similarity_languages_backpack_lm.png',
    ):
        assert (report / name).is_file(), name
    assert (report / 'sense_alignment_fr-de.csv').read_text().startswith('fr_sense,de_0,de_1')
    summary = (report / 'sense_alignment.csv').read_text().splitlines()
    assert [line.split(',')[0] for line in summary[1:]] == ['en-fr', 'en-de', 'fr-de']
    line = alignment.headline(aligned, 50)
    assert all(name in line for name in ('English-French', 'English-German', 'French-German'))


def test_the_gold_annotation_of_any_languages_is_read(trio):
    root, _, _ = trio
    gold = GoldSenses(str(root / 'data'), 'trio')
    assert heldout_languages(str(root / 'data'), 'trio', 'test') == LANGUAGES
    assert has_heldout_text(str(root / 'data'), 'trio', 'test') and not has_heldout_text(
        str(root), 'trio', 'test'
    )
    occurrences = gold.occurrences('test')
    assert occurrences and {o['language'] for o in occurrences} == {'de'}
    assert all(o['line'].split()[o['word_index']] == 'schule' for o in occurrences)
    assert read_lemma_lexicon(gold.directory)[('fr', 'de')][0] == ('maison', 'haus')
    assert default_words(gold.lexicon, LANGUAGES)[:3] == [
        ('schule', 'de'),
        ('parliament', 'en'),
        ('parlement', 'fr'),
    ]


def test_pairs_without_a_lexicon_and_languages_multisimlex_lacks_are_named(trio, tmp_path):
    root, tok, model = trio
    folder = write_multisimlex(
        tmp_path / 'msl',
        [
            (
                en,
                WORDS[(i + 1) % 10][0],
                'x',
                'y',
                'z',
                'w',
                fr,
                WORDS[(i + 1) % 10][1],
                i % 6,
                1,
                1,
                (i * 5) % 6,
            )
            for i, (en, fr, _) in enumerate(WORDS)
        ],
    )
    result = alignment.run(
        analysis_inputs(
            model,
            tok,
            languages=LANGUAGES,
            simlex=folder,
            n_permutations=20,
            n_bootstrap=20,
            report_dir=str(tmp_path),
        )
    )
    assert list(result['language_pairs']) == ['en-fr']
    assert result['language_pairs']['en-fr']['source'].startswith('Multi-SimLex translations')
    assert set(result['not_aligned']) == {'en-de', 'fr-de'}
    assert 'no translation lexicon for English-German' in result['not_aligned']['en-de']['reason']
    text = alignment.markdown(result)
    assert 'not aligned, French-German: no translation lexicon' in text and '### English-French' in text
    with pytest.raises(Skipped, match='no translation lexicon for English-German'):
        alignment.run(
            analysis_inputs(
                model,
                tok,
                languages=['en', 'de'],
                n_permutations=20,
                n_bootstrap=20,
                report_dir=str(tmp_path),
            )
        )
    found = similarity.run(
        analysis_inputs(
            model,
            tok,
            languages=LANGUAGES,
            models=[('bkp', model, tok)],
            simlex=folder,
            report_dir=str(tmp_path),
        )
    )
    assert found['absent_languages'] == ['de']
    assert {r['pair_type'] for r in found['rows']} == {'en-en', 'fr-fr', 'en-fr', 'all'}
    assert 'Multi-SimLex has no words for German (de)' in similarity.markdown(found)
    with pytest.raises(Skipped, match='none of the model'):
        similarity.run(
            analysis_inputs(
                model,
                tok,
                languages=['de'],
                models=[('bkp', model, tok)],
                simlex=folder,
                report_dir=str(tmp_path),
            )
        )


def test_multisimlex_files_with_other_columns_are_named_not_blamed_on_the_languages(trio, tmp_path):
    root, tok, model = trio
    folder = tmp_path / 'other'
    folder.mkdir()
    write(folder / 'translation.csv', 'id,word_a,word_b\n1,house,home\n')
    write(folder / 'scores.csv', 'id,score\n1,9.5\n')
    for call in (
        lambda: similarity.run(
            analysis_inputs(
                model,
                tok,
                languages=LANGUAGES,
                models=[('bkp', model, tok)],
                simlex=str(folder),
                report_dir=str(tmp_path),
            )
        ),
        lambda: multisimlex_translations(str(folder), LANGUAGES),
    ):
        with pytest.raises(UserError) as error:
            call()
        message = str(error.value)
        assert f'--simlex={folder} is not laid out as Multi-SimLex' in message
        assert "'ENG 1', 'ENG 2'" in message  # what was expected
        assert f"{folder / 'translation.csv'} has 'id', 'word_a', 'word_b'" in message  # what was found
        assert 'language' not in message.split('is not laid out')[0]
    # the scores without Multi-SimLex's columns: named too
    write(folder / 'translation.csv', 'ENG 1,ENG 2,FRA 1,FRA 2\nold,new,vieux,nouveau\n')
    with pytest.raises(UserError, match=re.escape(f"{folder / 'scores.csv'} has 'id', 'score'")):
        multisimlex_languages(str(folder))


def test_a_single_english_french_result_written_before_pairs_is_still_read():
    old = {
        'n_pairs': 5,
        'n_senses': 2,
        'statistic': 0.1,
        'null_mean': 0.0,
        'p_value': 0.04,
        'statistic_ci95': [0.0, 0.2],
        'diagonal_mean': 0.3,
        'off_diagonal_mean': 0.2,
        'n_permutations': 100,
        'per_sense': [{'sense': 0, 'p_value': 0.01}, {'sense': 1, 'p_value': 0.5}],
        'source': 'x',
        'n_identical_token': 0,
        'n_split': 0,
        'skip_split_words': True,
        'multi_token': 'first',
        'pairs': [['a', 'b']],
        'files': {'figure': 'sense_alignment.png'},
    }
    assert alignment.headline(old, 100).startswith('- Cross-lingual alignment: sense k of an English word')
    assert '![alignment](sense_alignment.png)' in alignment.markdown(old)
    # a result kept from a run of other options states its own p-value floor, not this run's
    floor = dict(old, p_value=1 / 101)
    assert 'permutation p <= 0.0099' in alignment.headline(floor, n_permutations=1000)
    assert language_pairs(['en', 'fr', 'de']) == [('en', 'fr'), ('en', 'de'), ('fr', 'de')]


def test_a_lexicon_file_for_other_languages_is_named_not_silently_dropped(tmp_path, capsys):
    tsv = tmp_path / 'en_de.tsv'
    tsv.write_text('en\tde\nhouse\tHaus\ndog\tHund\n', encoding='utf-8')
    chosen = lexicons_for(['en', 'fr'], translation_pairs=str(tsv))
    assert chosen[('en', 'fr')]['source'] == 'built-in parliamentary word pairs'
    assert (
        f"{tsv} gives English-German pairs, but the held-out data is in English, French: not used"
        in capsys.readouterr().out
    )
