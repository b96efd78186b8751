"""sense_visualisation.py end to end: tiny Backpack and GPT-2 checkpoints on a tiny prepared
parallel corpus with gold senses."""

import json
import os
from importlib import import_module
import re
import subprocess
import sys

import pytest

from sense_fixtures import write_checkpoint, write_sense_dataset
from senses.report import markdown_report

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FAST = ['--n_permutations=100', '--n_bootstrap=100', '--device=cpu']


def run(*args):
    env = dict(os.environ, OMP_NUM_THREADS='1')
    return subprocess.run([sys.executable, os.path.join(REPO, 'sense_visualisation.py'), *args, *FAST],
                          capture_output=True, text=True, cwd=REPO, env=env, timeout=300)


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp('senses')
    meta, _ = write_sense_dataset(str(root / 'data'))
    write_checkpoint(str(root / 'bkp'), 'backpack-lm', str(root / 'data'), meta, train_steps=30)
    write_checkpoint(str(root / 'gpt'), 'gpt2', str(root / 'data'), meta)
    (root / 'sim.csv').write_text('word1,word2,score,language1,language2\nbank,banque,5,en,fr\n'
                                  'bank,rive,2,en,fr\nvol,theft,4,fr,en\nbank,voiture,0.5,en,fr\n'
                                  'flight,vol,5,en,fr\n')
    return root


def test_every_analysis_writes_its_report(setup):
    report = setup / 'report'
    result = run(f'--out_dir={setup / "bkp"}', f'--baseline_out_dir={setup / "gpt"}',
                 f'--report_dir={report}', f'--similarity_csv={setup / "sim.csv"}')
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads((report / 'senses.json').read_text())
    assert set(summary['analyses']) == {'projection', 'alignment', 'usage', 'probe', 'similarity',
                                        'intervention'}
    assert summary['skipped'] == {}
    analyses = summary['analyses']
    projection = analyses['projection']
    assert all(len(w['senses']) == 4 and all(len(s['tokens']) == 10 for s in w['senses'])
               for w in projection['words'])
    assert projection['words'][0]['word'] == 'bank'  # the gold polysemous words come first
    assert projection['whole_words']['applied']
    alignment = analyses['alignment']['language_pairs']['en-fr']
    assert 0 <= alignment['p_value'] <= 1 and len(alignment['matrix']) == 4
    usage = analyses['usage']['metrics']
    assert sum(usage['norm_share']['languages']['en']['values']) == pytest.approx(1.0)
    assert {'jsd', 'mean_abs_difference'} == {m['statistic'] for m in usage.values()}
    probe = analyses['probe']
    assert {(r['model'], r['probe'], r['decision']) for r in probe['overall']} == {
        ('backpack-lm', 'word_senses', 'raw'), ('backpack-lm', 'word_senses', 'centred'),
        ('backpack-lm', 'output', 'raw'), ('backpack-lm', 'output', 'centred'),
        ('gpt2 (baseline)', 'token_embedding', 'raw'), ('gpt2 (baseline)', 'output', 'raw'),
        ('gpt2 (baseline)', 'output', 'centred')}
    assert {r['target'] for r in probe['overall']} == {'translations', 'context_words'}
    similarity = analyses['similarity']
    assert similarity['summaries']['backpack-lm']['n_oov'] == 1  # 'flight' is several tokens
    assert {r['model'] for r in similarity['rows']} == {'backpack-lm', 'gpt2 (baseline)'}
    intervention = analyses['intervention']
    assert {r['sense_id'] for r in intervention['rows']} == {'bank/finance', 'bank/river',
                                                             'vol/flight', 'vol/theft'}
    assert intervention['overall']['translation']['n'] > 0
    # every confidence interval is named <metric>_ci95, [low, high], beside its metric
    intervals = set()

    def check_intervals(x):
        if isinstance(x, dict):
            for key, value in x.items():
                if re.search(r'(^|_)ci(95)?(_|$)', key):
                    intervals.add(key)
                    assert key.endswith('_ci95') and key[:-len('_ci95')] in x, key
                check_intervals(value)
        elif isinstance(x, list):
            for value in x:
                check_intervals(value)

    check_intervals(analyses)
    assert intervals == {'statistic_ci95', 'values_ci95', 'accuracy_ci95', 'mean_ci95'}
    low, high = alignment['statistic_ci95']
    assert low <= high
    # the sentences demo.py's report quotes, from the JSON
    line = import_module('senses.alignment').headline(analyses['alignment'], 100)
    assert line.startswith('- Cross-lingual alignment') and f"{alignment['statistic']:.3f}" in line
    line = import_module('senses.probe').headline(probe)
    accuracy = next(r['accuracy'] for r in probe['overall'] if (r['model'], r['probe'], r['decision'], r['target'])
                    == ('backpack-lm', 'word_senses', 'centred', 'translations'))
    assert line.startswith('- Polysemy probe') and f"{accuracy:.1%}" in line
    line = import_module('senses.intervention').headline(intervention)
    assert f"{intervention['overall']['translation_vs_other']['mean']:+.4f} nats" in line
    markdown = (report / 'senses.md').read_text()
    for title in ('Sense projections', 'Cross-lingual sense alignment', 'Sense usage per language',
                  'Polysemy probe', 'Lexical similarity', 'Interventions'):
        assert f'## {title}' in markdown
    for link in re.findall(r'!\[[^\]]*\]\(([^)]+)\)', markdown):
        assert (report / link).is_file(), link  # every figure the report shows is there
    for name in ('sense_projections.csv', 'sense_alignment.csv', 'sense_usage.csv',
                 'polysemy_probe.csv', 'polysemy_probe_static.csv', 'lexical_similarity.csv',
                 'sense_intervention.csv'):
        assert (report / name).is_file(), name
    tex = (report / 'senses.tex').read_text()
    assert tex.count('\\begin{tabular}') == 8 and 'bank' in tex
    # the section re-rendered for a report one folder up, under its own '#' title
    modules = {name: import_module(f'senses.{name}') for name in ('projection', 'alignment', 'usage',
                                                                 'probe', 'similarity', 'intervention')}
    embedded = markdown_report({'title': 'Senses'}, analyses, {}, modules, heading_level=2,
                               link_prefix='report/')
    assert embedded.startswith('## Senses') and '\n# ' not in embedded and '\n### Sense projections' in embedded
    for link in re.findall(r'!\[[^\]]*\]\(([^)]+)\)', embedded):
        assert (setup / link).is_file(), link

    # one analysis alone keeps the others' results for the same checkpoint
    result = run(f'--out_dir={setup / "bkp"}', f'--baseline_out_dir={setup / "gpt"}',
                 f'--report_dir={report}', '--analyses=projection', '--words=bank,banque,parliament,zqxjw',
                 '--top_k=3', '--whole_words=False')
    assert result.returncode == 0, result.stderr[-3000:]
    # a word that is not in the vocabulary is said on screen, with what stands for it
    assert "note: 'zqxjw' is not one token of the vocabulary" in result.stdout
    summary = json.loads((report / 'senses.json').read_text())
    assert [w['word'] for w in summary['analyses']['projection']['words']] == ['bank', 'banque', 'parliament', 'zqxjw']
    assert summary['analyses']['projection']['top_k'] == 3
    assert 'probe' in summary['analyses'] and '## Polysemy probe' in (report / 'senses.md').read_text()


def test_a_gpt2_checkpoint_skips_the_sense_analyses_and_runs_the_baselines(setup):
    report = setup / 'report_gpt'
    result = run(f'--out_dir={setup / "gpt"}', f'--report_dir={report}', '--model_name=gpt2',
                 '--analyses=projection,probe,similarity,intervention',
                 f'--similarity_csv={setup / "sim.csv"}')
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads((report / 'senses.json').read_text())
    assert set(summary['skipped']) == {'projection', 'intervention'}
    assert 'needs sense vectors' in summary['skipped']['projection']
    assert {(r['probe'], r['decision']) for r in summary['analyses']['probe']['overall']} == {
        ('token_embedding', 'raw'), ('output', 'raw'), ('output', 'centred')}
    assert {r['representation'] for r in summary['analyses']['similarity']['rows']} == {'token embedding'}
    assert '## Skipped' in (report / 'senses.md').read_text()


def test_user_mistakes_get_a_message(setup):
    result = run(f'--out_dir={setup / "bkp"}', f'--report_dir={setup / "r3"}', '--analyses=projektion')
    assert result.returncode != 0 and 'projektion' in result.stderr and 'Traceback' not in result.stderr
    result = run(f'--out_dir={setup / "bkp"}', '--model_name=gpt2')
    assert result.returncode != 0 and 'backpack-lm' in result.stderr and 'Traceback' not in result.stderr
    result = run(f'--out_dir={setup / "bkp"}', f'--report_dir={setup / "r3"}', '--analyses=similarity',
                 f'--simlex={setup / "missing"}')
    assert result.returncode != 0 and 'translation.csv' in result.stderr and 'Traceback' not in result.stderr
