"""Three languages trained together, end to end: a synthetic English-French-German corpus
(tests/three_languages.py) and a second, German-English one that shares two of its languages go
through the preparation (data.parallel_corpus), one shared tokenizer (data.bpe), training of a
tiny GPT-2 and a tiny Backpack (train.py), perplexity and the cloze test; every output covers
every language of every dataset. The scripts run in the test's process (tests/in_process.py)."""

import csv
import json
import math
import os

import pytest
from in_process import run_in_process
from three_languages import LANGUAGES, write_lexicon, write_raw_files, write_similarity_csv

from data.aligned_text import iter_clean_lines
from data.bpe import train_bpe_tokenizer
from data.parallel_corpus import prepare_parallel_corpus
from data.prepared import PreparedData, read_heldout_lines, read_meta

SPLIT_FRACTIONS = (0.8, 0.1, 0.1)
# the three-language dataset, and a German-English one (other sentences) with two of its languages
DATASETS = {'tri': LANGUAGES, 'duo': ('de', 'en')}
MODELS = ('gpt2', 'backpack-lm')
MAX_ITERS = 40


def read_csv(path):
    with open(path, newline='', encoding='utf-8') as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope='module')
def three_languages(tmp_path_factory):
    """{'data_root', 'out_dirs': {model_name: out_dir}, 'train_output': {model_name: stdout},
    'tokenizer', 'lexicons': {(a, b): TSV path}}: the corpora prepared with one shared tokenizer,
    a GPT-2 and a Backpack trained on both datasets, and word<TAB>translation lexicons for the
    pairs (en, fr), (en, de), (fr, de). The checkpoints are what the analyses below (and the sense
    analyses, see sense_report) read."""
    root = str(tmp_path_factory.mktemp('three_languages'))
    raw = {
        'tri': write_raw_files(os.path.join(root, 'raw'), n_lines=2000, seed=0, prefix='tri'),
        'duo': write_raw_files(os.path.join(root, 'raw'), n_lines=600, seed=1, prefix='duo'),
    }
    raw['duo'] = {lang: raw['duo'][lang] for lang in DATASETS['duo']}
    # the shared tokenizer, on the training lines of every language that will be trained on
    training_lines = {
        lang: [
            line
            for files in raw.values()
            if lang in files
            for line in iter_clean_lines(files, lang, 'train', SPLIT_FRACTIONS)
        ]
        for lang in LANGUAGES
    }
    tok = train_bpe_tokenizer(
        training_lines, vocab_size=400, name='en-fr-de-bpe400', data_root=root, verbose=False
    )
    for dataset, files in raw.items():
        prepare_parallel_corpus(
            os.path.join(root, dataset),
            files,
            tok,
            data_root=root,
            split_fractions=SPLIT_FRACTIONS,
            num_proc=1,
            verbose=False,
        )
    out_dirs, outputs = {}, {}
    for model_name in MODELS:
        out_dirs[model_name] = os.path.join(root, f'out-{model_name}')
        outputs[model_name] = run_in_process(
            'train.py',
            f'--data_root={root}',
            f"--list_of_datasets={','.join(DATASETS)}",
            f'--out_dir={out_dirs[model_name]}',
            f'--model_name={model_name}',
            '--n_layer=2',
            '--n_head=2',
            '--n_embd=32',
            '--n_sense_vector=4',
            '--block_size=32',
            '--batch_size=8',
            '--gradient_accumulation_steps=1',
            f'--max_iters={MAX_ITERS}',
            f'--eval_interval={MAX_ITERS // 2}',
            '--eval_iters=2',
            '--warmup_iters=5',
            f'--lr_decay_iters={MAX_ITERS}',
            '--learning_rate=3e-3',
            '--device=cpu',
            '--dtype=float32',
            '--compile=False',
        ).stdout
    # translation lexicons of the word table for each pair, in meta.json's order of the languages
    lexicons = {
        (a, b): write_lexicon(os.path.join(root, f'lexicon_{a}_{b}.tsv'), a, b)
        for i, a in enumerate(LANGUAGES)
        for b in LANGUAGES[i + 1 :]
    }
    return {
        'data_root': root,
        'out_dirs': out_dirs,
        'train_output': outputs,
        'tokenizer': tok,
        'lexicons': lexicons,
    }


def test_prepared_datasets_hold_every_language_line_aligned(three_languages):
    root = three_languages['data_root']
    for dataset, languages in DATASETS.items():
        meta = read_meta(root, dataset)
        assert meta['languages'] == list(languages)
        assert meta['tokenizer']['sha256'] == three_languages['tokenizer'].sha256
        heldout = {lang: read_heldout_lines(root, dataset, lang, 'test') for lang in languages}
        assert len({len(lines) for lines in heldout.values()}) == 1 and heldout[languages[0]]
        assert all(
            meta['splits'][lang][split]['tokens'] > 0
            for lang in languages
            for split in ('train', 'val', 'test')
        )
    # translations line by line: the same structure (word count) in every language
    tri = {lang: read_heldout_lines(root, 'tri', lang, 'test') for lang in LANGUAGES}
    assert [len(line.split()) for line in tri['en']] == [len(line.split()) for line in tri['de']]


def test_languages_are_sampled_over_all_datasets(three_languages):
    data = PreparedData(three_languages['data_root'], list(DATASETS))
    assert data.languages == sorted(LANGUAGES)
    tokens = {
        lang: sum(n for (d, l, s), n in data.n_tokens.items() if l == lang and s == 'train')
        for lang in data.languages
    }
    # English and German are in both datasets, French in one only
    assert tokens['en'] > tokens['fr'] and tokens['de'] > tokens['fr']
    proportional, uniform = data.language_probabilities(1.0), data.language_probabilities(0.0)
    total = sum(tokens.values())
    for lang in LANGUAGES:
        assert math.isclose(proportional[lang], tokens[lang] / total)
        assert math.isclose(uniform[lang], 1 / 3)
    # drawn batches of each language come from every dataset that has it
    x, _ = data.get_batch('val', 4, 32, seed=0, step=0, language='fr')
    assert x.shape == (4, 32)
    output = three_languages['train_output']['backpack-lm']
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith('languages sampled'))
    named = {line.split()[0]: line for line in lines[start + 1 : start + 4]}
    assert sorted(named) == ['English', 'French', 'German']
    assert named['English'].endswith('(tri, duo)') and named['French'].endswith('(tri)')


@pytest.mark.parametrize('model_name', MODELS)
def test_training_logs_the_validation_loss_of_every_language(three_languages, model_name):
    out_dir = three_languages['out_dirs'][model_name]
    rows = read_csv(os.path.join(out_dir, 'metrics.csv'))
    assert [int(r['iter']) for r in rows] == [0, MAX_ITERS // 2, MAX_ITERS]
    for lang in LANGUAGES:
        assert all(math.isfinite(float(r[f'val_loss_{lang}'])) for r in rows)
        # it learns each language: the loss falls from the start
        assert float(rows[-1][f'val_loss_{lang}']) < float(rows[0][f'val_loss_{lang}'])
    assert os.path.getsize(os.path.join(out_dir, 'loss.png')) > 1000
    output = three_languages['train_output'][model_name]
    lines = output.splitlines()
    last_eval = lines.index(next(line for line in lines if line.startswith(f'step {MAX_ITERS}:')))
    per_language = lines[last_eval + 1]
    assert per_language.startswith('  val loss by language:')
    for lang, name in (('en', 'English'), ('fr', 'French'), ('de', 'German')):
        assert f"{name} {float(rows[-1][f'val_loss_{lang}']):.4f}" in per_language


def test_perplexity_covers_every_dataset_and_language(three_languages, tmp_path):
    out_dirs = list(three_languages['out_dirs'].values())
    run_in_process(
        'perplexity_per_lang.py',
        f"--out_dirs={','.join(out_dirs)}",
        f'--report_dir={tmp_path}',
        '--device=cpu',
        '--bootstrap_resamples=100',
        '--max_lines=60',
    )
    results = json.loads((tmp_path / 'perplexity.json').read_text())
    for out_dir in out_dirs:
        assert {ds: sorted(by_lang) for ds, by_lang in results[out_dir].items()} == {
            ds: sorted(langs) for ds, langs in DATASETS.items()
        }
        for dataset, languages in DATASETS.items():
            for lang in languages:
                m = results[out_dir][dataset][lang]
                heldout = read_heldout_lines(three_languages['data_root'], dataset, lang, 'test')
                assert m['lines'] == min(60, len(heldout)) and math.isfinite(m['bits_per_byte'])
    rows = read_csv(tmp_path / 'perplexity.csv')
    expected = {(d, ds, lang) for d in out_dirs for ds, langs in DATASETS.items() for lang in langs}
    assert {(r['model'], r['dataset'], r['language']) for r in rows} == expected
    table = (tmp_path / 'perplexity.md').read_text(encoding='utf-8')
    assert all(name in table for name in ('English', 'French', 'German'))
    assert (tmp_path / 'perplexity.png').stat().st_size > 1000


def test_cloze_covers_every_dataset_and_language(three_languages, tmp_path):
    out_dirs = list(three_languages['out_dirs'].values())
    run_in_process(
        'cloze_test.py',
        f"--out_dirs={','.join(out_dirs)}",
        f'--report_dir={tmp_path}',
        '--device=cpu',
        '--max_items=8',
        '--beam_width=3',
        '--k=3',
    )
    results = json.loads((tmp_path / 'cloze.json').read_text())
    for out_dir in out_dirs:
        for dataset, languages in DATASETS.items():
            assert sorted(results[out_dir][dataset]) == sorted(languages)
            for lang in languages:
                m = results[out_dir][dataset][lang]
                assert m['items'] == 8 and 0 <= m['top1_hits'] <= m['topk_hits'] <= 8
    rows = read_csv(tmp_path / 'cloze.csv')
    expected = {(d, ds, lang) for d in out_dirs for ds, langs in DATASETS.items() for lang in langs}
    assert {(r['model'], r['dataset'], r['language']) for r in rows} == expected
    table = (tmp_path / 'cloze.md').read_text(encoding='utf-8')
    assert all(name in table for name in ('English', 'French', 'German'))
    # the answers are the words of each language, accents and umlauts included
    for out_dir in out_dirs:
        name = (
            'cloze_predictions_'
            + ''.join(c if c.isalnum() or c in '-_.' else '_' for c in out_dir.strip('/'))
            + '.jsonl'
        )
        records = [json.loads(line) for line in (tmp_path / name).read_text(encoding='utf-8').splitlines()]
        assert {r['language'] for r in records} == set(LANGUAGES)
        assert len(records) == 8 * sum(len(langs) for langs in DATASETS.values())


# -----------------------------------------------------------------------------
# the sense analyses on the same checkpoints

SENSE_WORDS = ('cat', 'chat', 'Katze', 'cheese', 'fromage', 'Käse')  # one noun per language, twice
PAIRS = [f'{a}-{b}' for i, a in enumerate(LANGUAGES) for b in LANGUAGES[i + 1 :]]  # en-fr, en-de, fr-de


@pytest.fixture(scope='module')
def sense_report(three_languages, tmp_path_factory):
    """(report_dir, senses.json) of sense_visualisation.py, every analysis, on the Backpack of
    three_languages with the GPT-2 as its baseline, on its first dataset, 'tri' (all three
    languages line-aligned), with a lexicon per pair and similarity scores in and across them.
    The corpus has no gold senses, so the probe and the interventions are skipped (they are
    tested in three languages on tests/sense_fixtures.py's corpus, test_sense_languages.py)."""
    root = three_languages['data_root']
    report_dir = str(tmp_path_factory.mktemp('senses'))
    lexicons = ','.join(three_languages['lexicons'].values())
    run_in_process(
        'sense_visualisation.py',
        f"--out_dir={three_languages['out_dirs']['backpack-lm']}",
        f"--baseline_out_dir={three_languages['out_dirs']['gpt2']}",
        f'--report_dir={report_dir}',
        '--device=cpu',
        f"--words={','.join(SENSE_WORDS)}",
        '--top_k=5',
        f'--translation_pairs={lexicons}',
        f"--similarity_csv={write_similarity_csv(os.path.join(root, 'similarity.csv'))}",
        '--max_sentences=40',
        '--n_permutations=50',
        '--n_bootstrap=50',
    )
    with open(os.path.join(report_dir, 'senses.json'), encoding='utf-8') as f:
        return report_dir, json.load(f)


def test_sense_projection_has_the_words_of_every_language(sense_report):
    _, report = sense_report
    words = report['analyses']['projection']['words']
    assert [w['word'] for w in words] == list(SENSE_WORDS)
    assert [w['language'] for w in words] == ['en', 'fr', 'de'] * 2
    assert all(len(w['senses']) == 4 and all(len(s['tokens']) == 5 for s in w['senses']) for w in words)


def test_sense_alignment_covers_every_pair(sense_report):
    report_dir, report = sense_report
    alignment = report['analyses']['alignment']
    assert alignment['languages'] == list(LANGUAGES)
    assert sorted(alignment['language_pairs']) == sorted(PAIRS) and not alignment['not_aligned']
    for pair in PAIRS:
        assert alignment['language_pairs'][pair]['n_pairs'] >= 3  # the others split into several tokens
        assert os.path.isfile(os.path.join(report_dir, f'sense_alignment_{pair}.png'))
    assert os.path.isfile(os.path.join(report_dir, 'sense_alignment_languages.png'))


def test_sense_usage_covers_every_language_and_pair(sense_report):
    _, report = sense_report
    usage = report['analyses']['usage']
    assert usage['languages'] == list(LANGUAGES)
    for metric in usage['metrics'].values():
        assert sorted(metric['languages']) == sorted(LANGUAGES)
        assert sorted('-'.join(p['languages']) for p in metric['pairs']) == sorted(PAIRS)
        assert 0 < metric['p_value'] <= 1


def test_sense_similarity_covers_every_language_and_pair(sense_report):
    _, report = sense_report
    types = {row['pair_type'] for row in report['analyses']['similarity']['rows']}
    assert {f'{lang}-{lang}' for lang in LANGUAGES} | set(PAIRS) <= types


def test_senses_report_names_every_language(sense_report):
    report_dir, report = sense_report
    assert set(report['skipped']) == {'probe', 'intervention'}  # no gold senses in this corpus
    with open(os.path.join(report_dir, 'senses.md'), encoding='utf-8') as f:
        markdown = f.read()
    for name in ('English', 'French', 'German', 'English-German', 'French-German'):
        assert name in markdown
