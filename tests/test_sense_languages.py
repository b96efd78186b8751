"""The sense analyses for any set of languages: sense usage compares every pair of languages
and tests all of them at once (and for two languages gives exactly the numbers of the
two-language test it replaces), the sense tables have words of each language, and
sense_visualisation.py runs end to end on an English-French-German corpus."""

import json
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest
from sense_fixtures import write_checkpoint, write_sense_dataset

from common.errors import UserError
from evaluation.statistics import bootstrap_ratio_ci, jensen_shannon_divergence, permutation_test
from model import build_model
from senses import Skipped, usage
from senses.explorer import describe_model
from senses.projection import frequent_words, guess_languages, words_of_each_language
from senses.usage import compare_language_usage

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FAST = ['--n_permutations=100', '--n_bootstrap=100', '--device=cpu']


def two_language_usage_test(
    en_usage, fr_usage, metric, statistic='jsd', n_permutations=1000, n_bootstrap=1000, seed=0
):
    """The two-language comparison as senses/usage.py computed it before it took any number of
    languages, copied here: the EN-FR demo's numbers must not change."""
    en_sums, fr_sums = en_usage[metric], fr_usage[metric]
    en_n, fr_n = en_usage['positions'], fr_usage['positions']
    P = len(en_n)

    def difference(data):
        a_sums, a_n, b_sums, b_n = data
        a, b = a_sums.sum(0) / max(a_n.sum(), 1), b_sums.sum(0) / max(b_n.sum(), 1)
        if statistic == 'jsd':
            return jensen_shannon_divergence(a, b)
        return float(np.abs(a - b).mean())

    def swap_sides(data, rng):
        a_sums, a_n, b_sums, b_n = data
        swap = rng.random(P) < 0.5
        return (
            np.where(swap[:, None], b_sums, a_sums),
            np.where(swap, b_n, a_n),
            np.where(swap[:, None], a_sums, b_sums),
            np.where(swap, a_n, b_n),
        )

    observed, p_value, null = permutation_test(
        difference, (en_sums, en_n, fr_sums, fr_n), swap_sides, n_permutations, seed
    )
    result = {'value': float(observed), 'p_value': float(p_value), 'null': null}
    for lang, sums, n in (('en', en_sums, en_n), ('fr', fr_sums, fr_n)):
        cis = [
            bootstrap_ratio_ci(sums[:, k], n, n_resamples=n_bootstrap, seed=seed)
            for k in range(sums.shape[1])
        ]
        result[lang] = {
            'values': (sums.sum(0) / max(n.sum(), 1)).tolist(),
            'values_ci95': [list(ci) for ci in cis],
        }
    return result


def random_usage(rng, P=30, K=4, lean=None):
    """sentence_sense_usage-like sums for P sentences; lean: a sense this language favours."""
    counts = rng.integers(3, 15, size=P).astype(float)
    shares = rng.dirichlet(np.ones(K), size=P)
    if lean is not None:
        shares[:, lean] += 1.5
        shares /= shares.sum(1, keepdims=True)
    return {'positions': counts, 'norm_share': shares * counts[:, None]}


@pytest.mark.parametrize('statistic', ['jsd', 'mean_abs_difference'])
def test_two_languages_give_exactly_the_numbers_of_the_two_language_test(statistic):
    rng = np.random.default_rng(3)
    en, fr = random_usage(rng), random_usage(rng, lean=1)
    old = two_language_usage_test(en, fr, 'norm_share', statistic, 200, 50, seed=5)
    new = compare_language_usage({'en': en, 'fr': fr}, 'norm_share', statistic, 200, 50, seed=5)
    assert new['value'] == old['value'] and new['p_value'] == old['p_value']  # exactly
    assert new['pairs'] == [{'languages': ['en', 'fr'], 'value': old['value']}]
    assert new['languages']['en'] == old['en'] and new['languages']['fr'] == old['fr']
    # the permutations themselves are the same draws: languages that differ only by chance keep
    # p off its floor, where every permuted value counts
    alike = random_usage(rng)
    old = two_language_usage_test(en, alike, 'norm_share', statistic, 200, 50, seed=5)
    new = compare_language_usage({'en': en, 'fr': alike}, 'norm_share', statistic, 200, 50, seed=5)
    assert 0.05 < old['p_value'] < 0.95 and new['p_value'] == old['p_value']


def test_three_languages_every_pair_and_one_test_across_all():
    rng = np.random.default_rng(0)
    en = random_usage(rng)
    de = random_usage(rng, lean=0)
    result = compare_language_usage({'en': en, 'fr': en, 'de': de}, 'norm_share', 'jsd', 200, 50)
    pairs = {tuple(p['languages']): p['value'] for p in result['pairs']}
    assert list(pairs) == [('en', 'fr'), ('en', 'de'), ('fr', 'de')]
    assert pairs[('en', 'fr')] == pytest.approx(0.0, abs=1e-12)
    assert pairs[('en', 'de')] == pytest.approx(pairs[('fr', 'de')]) and pairs[('en', 'de')] > 0.01
    assert result['value'] == pytest.approx(sum(pairs.values()) / 3)
    assert result['p_value'] < 0.01 and result['n_sentences'] == 30
    assert set(result['languages']) == {'en', 'fr', 'de'}
    alike = compare_language_usage({'en': en, 'fr': en, 'de': en}, 'norm_share', 'jsd', 200, 50)
    assert alike['value'] == pytest.approx(0.0, abs=1e-12) and alike['p_value'] == 1.0
    # languages that use the senses alike, sentence by sentence, are not told apart
    same = [random_usage(np.random.default_rng(7)) for _ in range(3)]
    mixed = compare_language_usage(dict(zip(('en', 'fr', 'de'), same)), 'norm_share', 'jsd', 200, 50)
    assert mixed['value'] == pytest.approx(0.0, abs=1e-12)
    independent = [random_usage(np.random.default_rng(s)) for s in (1, 2, 3)]
    for u in independent[1:]:
        u['positions'] = independent[0]['positions']
    noise = compare_language_usage(dict(zip(('en', 'fr', 'de'), independent)), 'norm_share', 'jsd', 200, 50)
    assert noise['p_value'] > 0.05


def test_matrix_values_are_shown_in_a_unit_two_decimals_can_show():
    label, values = usage.readable_unit('jsd', [0.0029, 0.0004])
    assert label == 'JSD (1e-3 bits)' and values == pytest.approx([2.9, 0.4])
    label, values = usage.readable_unit('jsd', [4e-9, 1e-9])
    assert label == 'JSD (1e-9 bits)' and values == pytest.approx([4.0, 1.0])
    assert usage.readable_unit('mean_abs_difference', [0.03]) == ('mean absolute difference (1e-3)', [30.0])
    assert usage.readable_unit('jsd', [1.5, 0.0]) == ('JSD (bits)', [1.5, 0.0])


def test_the_explorer_names_the_languages_of_the_model():
    model = build_model(
        'backpack-lm', n_layer=1, n_head=2, n_embd=16, block_size=8, vocab_size=32, n_sense_vector=2
    )
    line = describe_model(model, {'data': {'languages': ['en', 'fr', 'de', 'xx']}})
    assert 'languages English, French, German, xx' in line


class FakeTokenizer:
    """Of the words, only these are one token (senses.inputs.word_tokens asks encode(' ' + word))."""

    single = {'haus', 'stadt', 'bank', 'banque', 'parlement', 'parliament'}

    def encode(self, text):
        return [1] if text.strip() in self.single else [1, 2]

    def token_bytes(self, token_id):
        return b'piece'


def test_each_language_gets_words_of_its_own(tmp_path):
    folder = tmp_path / 'tri'
    folder.mkdir()
    (folder / 'de_val.txt').write_text(
        "das Haus der Stadt .\ndie Stadt und das Haus .\nStadt ohne Haus\n"
        "die Bank der Stadt\neine Gemeinschaft\n",
        encoding='utf-8',
    )
    lines = (folder / 'de_val.txt').read_text(encoding='utf-8').splitlines()
    # most frequent first, as spelt most often, only whole tokens, of four letters or more
    assert frequent_words(FakeTokenizer(), lines, 5) == ['Stadt', 'Haus', 'Bank']
    defaults = [('bank', 'en'), ('banque', 'fr'), ('parliament', 'en'), ('parlement', 'fr')]
    assert words_of_each_language(defaults, FakeTokenizer(), str(tmp_path), 'tri', ['en', 'fr']) == defaults
    words = words_of_each_language(defaults, FakeTokenizer(), str(tmp_path), 'tri', ['en', 'fr', 'de'])
    assert words == [
        ('bank', 'en'),
        ('banque', 'fr'),
        ('Stadt', 'de'),
        ('parliament', 'en'),
        ('parlement', 'fr'),
        ('Haus', 'de'),
    ]  # every language among the first tables
    assert words_of_each_language(defaults, FakeTokenizer(), str(tmp_path), 'tri', ['de', 'en']) == [
        ('Stadt', 'de'),
        ('bank', 'en'),
        ('Haus', 'de'),
        ('parliament', 'en'),
    ]


def test_a_word_listed_without_its_language_gets_the_one_whose_text_has_it():
    lines = {
        'en': ['the bank of the river', 'Parliament voted'],
        'fr': ['la banque', 'le vote'],
        'de': ['die Bank', 'das Parlament'],
    }
    words = [
        ('bank', ''),
        ('banque', ''),
        ('parliament', ''),
        ('Parlament', ''),
        ('vote', 'en'),
        ('zqxjw', ''),
    ]
    assert guess_languages(words, lines) == [
        ('bank', ''),
        ('banque', 'fr'),
        ('parliament', 'en'),
        ('Parlament', 'de'),
        ('vote', 'en'),
        ('zqxjw', ''),
    ]


@pytest.fixture(scope='module')
def three(tmp_path_factory):
    root = tmp_path_factory.mktemp('three')
    meta, tok = write_sense_dataset(str(root / 'data'), 'tri', languages=('en', 'fr', 'de'))
    model = write_checkpoint(str(root / 'bkp'), 'backpack-lm', str(root / 'data'), meta, train_steps=30)
    return root, meta, tok, model


def test_the_three_language_fixture_is_line_aligned(three):
    root, meta, _, _ = three
    assert meta['languages'] == ['en', 'fr', 'de']
    lines = {
        lang: (root / 'data' / 'tri' / f'{lang}_test.txt').read_text(encoding='utf-8').splitlines()
        for lang in meta['languages']
    }
    assert len({len(v) for v in lines.values()}) == 1
    for en, de in zip(lines['en'], lines['de']):
        assert ('river' in en) == ('Flusses' in de) and ('budget' in en) == ('Haushalt' in de)
        assert ('bank' in en.lower()) == ('Bank' in de)


def test_usage_on_three_languages_and_a_clear_error_when_lines_do_not_align(three, tmp_path):
    root, _, tok, model = three
    result = usage.run(
        model,
        tok,
        str(root / 'data'),
        'tri',
        None,
        n_permutations=50,
        n_bootstrap=20,
        max_sentences=40,
        report_dir=str(tmp_path),
    )
    assert result['languages'] == ['en', 'fr', 'de'] and result['n_sentences'] == 40
    for m in result['metrics'].values():
        assert [p['languages'] for p in m['pairs']] == [['en', 'fr'], ['en', 'de'], ['fr', 'de']]
        assert m['value'] == pytest.approx(np.mean([p['value'] for p in m['pairs']]))
    header = (tmp_path / 'sense_usage.csv').read_text().splitlines()[0]
    assert header == 'metric,sense,en,en_low,en_high,fr,fr_low,fr_high,de,de_low,de_high'
    for name in ('norm_share', 'logit_share', 'self_weight'):
        assert (tmp_path / f'sense_usage_{name}_matrix.png').is_file()
    text = usage.markdown(result)
    assert re.search(r'\d+ English, \d+ French and \d+ German token positions', text)
    assert '| English-German |' in text and 'one test for all languages' in text
    with pytest.raises(Skipped, match='two or more languages'):
        usage.run(model, tok, str(root / 'data'), 'tri', ['de'], report_dir=str(tmp_path))
    # a German file one line short is an error that names the files and the fix
    data = tmp_path / 'data'
    shutil.copytree(root / 'data' / 'tri', data / 'tri')
    de = data / 'tri' / 'de_test.txt'
    de.write_text(''.join(de.read_text(encoding='utf-8').splitlines(keepends=True)[:-1]), encoding='utf-8')
    with pytest.raises(UserError, match=r'de_test\.txt has \d+.*translations line by line.*prepare'):
        usage.run(model, tok, str(data), 'tri', None, report_dir=str(tmp_path))


def test_sense_visualisation_on_three_languages(three):
    root, _, _, _ = three
    report = root / 'report'
    env = dict(os.environ, OMP_NUM_THREADS='1')
    result = subprocess.run(
        [
            sys.executable,
            os.path.join(REPO, 'sense_visualisation.py'),
            f'--out_dir={root / "bkp"}',
            f'--report_dir={report}',
            '--analyses=projection,alignment,usage,probe,intervention',
            '--max_sentences=60',
            '--intervention_prompts=10',
            *FAST,
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads((report / 'senses.json').read_text())
    assert summary['skipped'] == {}
    analyses = summary['analyses']
    words = analyses['projection']['words']
    assert {w['language'] for w in words} == {'en', 'fr', 'de'}
    assert {w['language'] for w in words[:6]} == {'en', 'fr', 'de'}  # the report's tables too
    assert analyses['usage']['languages'] == ['en', 'fr', 'de']
    assert len(analyses['usage']['metrics']['norm_share']['pairs']) == 3
    # the German gold senses are probed and intervened on beside the English and French ones
    assert {r['language'] for r in analyses['probe']['in_context']} == {'en', 'fr', 'de'}
    assert set(analyses['intervention']['by_language']) == {'en', 'fr', 'de'}
    # the lemma lexicon's three columns align every pair of languages
    assert set(analyses['alignment']['language_pairs']) == {'en-fr', 'en-de', 'fr-de'}
    markdown = (report / 'senses.md').read_text()
    assert '- languages: English, French, German' in markdown
    assert re.search(r'### \w+ \(German\)', markdown)
    for link in re.findall(r'!\[[^\]]*\]\(([^)]+)\)', markdown):
        assert (report / link).is_file(), link
    assert 'German' in (report / 'senses.tex').read_text()
