"""sense_visualisation.py end to end: tiny Backpack and GPT-2 checkpoints on a tiny prepared
parallel corpus with gold senses."""

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from importlib import import_module

import pytest
from in_process import run_in_process
from sense_fixtures import write_checkpoint, write_sense_dataset

from evaluation.checkpoints import default_report_dir
from senses.report import data_line, identity_changes, markdown_report, move_aside, result_files

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FAST = ['--n_permutations=100', '--n_bootstrap=100', '--device=cpu']


def run(*args, process=False):
    """sense_visualisation.py with FAST's settings, in this process (tests/in_process.py), or with
    process=True in a new one (the first run below, for the script's command line)."""
    if not process:
        return run_in_process('sense_visualisation.py', *args, *FAST, check=False)
    env = dict(os.environ, OMP_NUM_THREADS='1')
    return subprocess.run(
        [sys.executable, os.path.join(REPO, 'sense_visualisation.py'), *args, *FAST],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=300,
    )


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp('senses')
    meta, _ = write_sense_dataset(str(root / 'data'))
    write_checkpoint(str(root / 'bkp'), 'backpack-lm', str(root / 'data'), meta, train_steps=30)
    write_checkpoint(str(root / 'gpt'), 'gpt2', str(root / 'data'), meta)
    (root / 'sim.csv').write_text(
        'word1,word2,score,language1,language2\nbank,banque,5,en,fr\n'
        'bank,rive,2,en,fr\nvol,theft,4,fr,en\nbank,voiture,0.5,en,fr\n'
        'flight,vol,5,en,fr\n'
    )
    return root


def test_every_analysis_writes_its_report(setup):
    report = setup / 'report'
    result = run(
        f'--out_dir={setup / "bkp"}',
        f'--baseline_out_dir={setup / "gpt"}',
        f'--report_dir={report}',
        f'--similarity_csv={setup / "sim.csv"}',
        process=True,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads((report / 'senses.json').read_text())
    assert set(summary['analyses']) == {
        'projection',
        'alignment',
        'usage',
        'probe',
        'similarity',
        'intervention',
    }
    assert summary['skipped'] == {}
    analyses = summary['analyses']
    projection = analyses['projection']
    assert all(
        len(w['senses']) == 4 and all(len(s['tokens']) == 10 for s in w['senses'])
        for w in projection['words']
    )
    assert projection['words'][0]['word'] == 'bank'  # the gold polysemous words come first
    assert projection['whole_words']['applied']
    alignment = analyses['alignment']['language_pairs']['en-fr']
    assert 0 <= alignment['p_value'] <= 1 and len(alignment['matrix']) == 4
    usage = analyses['usage']['metrics']
    assert sum(usage['norm_share']['languages']['en']['values']) == pytest.approx(1.0)
    assert {'jsd', 'mean_abs_difference'} == {m['statistic'] for m in usage.values()}
    probe = analyses['probe']
    assert {(r['model'], r['probe'], r['decision']) for r in probe['overall']} == {
        ('backpack-lm', 'word_senses', 'raw'),
        ('backpack-lm', 'word_senses', 'centred'),
        ('backpack-lm', 'output', 'raw'),
        ('backpack-lm', 'output', 'centred'),
        ('gpt2 (baseline)', 'token_embedding', 'raw'),
        ('gpt2 (baseline)', 'output', 'raw'),
        ('gpt2 (baseline)', 'output', 'centred'),
    }
    assert {r['target'] for r in probe['overall']} == {'translations', 'context_words'}
    similarity = analyses['similarity']
    assert similarity['summaries']['backpack-lm']['n_oov'] == 1  # 'flight' is several tokens
    assert {r['model'] for r in similarity['rows']} == {'backpack-lm', 'gpt2 (baseline)'}
    intervention = analyses['intervention']
    assert {r['sense_id'] for r in intervention['rows']} == {
        'bank/finance',
        'bank/river',
        'vol/flight',
        'vol/theft',
    }
    assert intervention['overall']['translation']['n'] > 0
    # every confidence interval is named <metric>_ci95, [low, high], beside its metric
    intervals = set()

    def check_intervals(x):
        if isinstance(x, dict):
            for key, value in x.items():
                if re.search(r'(^|_)ci(95)?(_|$)', key):
                    intervals.add(key)
                    assert key.endswith('_ci95') and key[: -len('_ci95')] in x, key
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
    accuracy = next(
        r['accuracy']
        for r in probe['overall']
        if (r['model'], r['probe'], r['decision'], r['target'])
        == ('backpack-lm', 'word_senses', 'centred', 'translations')
    )
    assert line.startswith('- Polysemy probe') and f"{accuracy:.1%}" in line
    line = import_module('senses.intervention').headline(intervention)
    assert f"{intervention['overall']['translation_vs_other']['mean']:+.4f} nats" in line
    markdown = (report / 'senses.md').read_text()
    for title in (
        'Sense projections',
        'Cross-lingual sense alignment',
        'Sense usage per language',
        'Polysemy probe',
        'Lexical similarity',
        'Interventions',
    ):
        assert f'## {title}' in markdown
    for link in re.findall(r'!\[[^\]]*\]\(([^)]+)\)', markdown):
        assert (report / link).is_file(), link  # every figure the report shows is there
    for name in (
        'sense_projections.csv',
        'sense_alignment.csv',
        'sense_usage.csv',
        'polysemy_probe.csv',
        'polysemy_probe_static.csv',
        'lexical_similarity.csv',
        'sense_intervention.csv',
    ):
        assert (report / name).is_file(), name
    tex = (report / 'senses.tex').read_text()
    assert tex.count('\\begin{tabular}') == 8 and 'bank' in tex
    # the section re-rendered for a report one folder up, under its own '#' title
    modules = {
        name: import_module(f'senses.{name}')
        for name in ('projection', 'alignment', 'usage', 'probe', 'similarity', 'intervention')
    }
    embedded = markdown_report(
        {'title': 'Senses'}, analyses, {}, modules, heading_level=2, link_prefix='report/'
    )
    assert (
        embedded.startswith('## Senses') and '\n# ' not in embedded and '\n### Sense projections' in embedded
    )
    for link in re.findall(r'!\[[^\]]*\]\(([^)]+)\)', embedded):
        assert (setup / link).is_file(), link

    # one analysis alone keeps the others' results for the same checkpoint
    result = run(
        f'--out_dir={setup / "bkp"}',
        f'--baseline_out_dir={setup / "gpt"}',
        f'--report_dir={report}',
        '--analyses=projection',
        '--words=bank,banque,parliament,zqxjw',
        '--top_k=3',
        '--whole_words=False',
    )
    assert result.returncode == 0, result.stderr[-3000:]
    # a word that is not in the vocabulary is said on screen, with what stands for it
    assert "note: 'zqxjw' is not one token of the vocabulary" in result.stdout
    summary = json.loads((report / 'senses.json').read_text())
    assert [w['word'] for w in summary['analyses']['projection']['words']] == [
        'bank',
        'banque',
        'parliament',
        'zqxjw',
    ]
    assert summary['analyses']['projection']['top_k'] == 3
    assert 'probe' in summary['analyses'] and '## Polysemy probe' in (report / 'senses.md').read_text()

    # one analysis of another split: the header names each split with the sections that read it,
    # and each of those sections says its own
    result = run(
        f'--out_dir={setup / "bkp"}',
        f'--baseline_out_dir={setup / "gpt"}',
        f'--report_dir={report}',
        '--analyses=usage',
        '--split=val',
    )
    assert result.returncode == 0, result.stderr[-3000:]
    markdown = (report / 'senses.md').read_text()
    assert (
        '- data: sensefix under ' in markdown
        and '; held-out splits differ (val split: Sense usage '
        'per language; test split: Polysemy probe, Interventions)'
        in markdown
    ), markdown[:600]
    sections = dict(re.findall(r'^## (.+?)\n(.*?)(?=^## |\Z)', markdown, flags=re.MULTILINE | re.DOTALL))
    assert '(val split;' in sections['Sense usage per language']
    assert '(test split,' in sections['Polysemy probe']
    assert 'On test lines' in sections['Interventions']


def test_a_gpt2_checkpoint_skips_the_sense_analyses_and_runs_the_baselines(setup):
    report = setup / 'report_gpt'
    result = run(
        f'--out_dir={setup / "gpt"}',
        f'--report_dir={report}',
        '--model_name=gpt2',
        '--analyses=projection,probe,similarity,intervention',
        f'--similarity_csv={setup / "sim.csv"}',
    )
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads((report / 'senses.json').read_text())
    assert set(summary['skipped']) == {'projection', 'intervention'}
    assert 'needs sense vectors' in summary['skipped']['projection']
    assert {(r['probe'], r['decision']) for r in summary['analyses']['probe']['overall']} == {
        ('token_embedding', 'raw'),
        ('output', 'raw'),
        ('output', 'centred'),
    }
    assert {r['representation'] for r in summary['analyses']['similarity']['rows']} == {'token embedding'}
    # only analyses it skips: said, status 1, and the report of the same weights left as it was
    before = {p.name: p.read_bytes() for p in report.iterdir()}
    result = run(f'--out_dir={setup / "gpt"}', f'--report_dir={report}', '--analyses=projection')
    assert result.returncode == 1 and 'Traceback' not in result.stderr, result.stderr[-3000:]
    assert (
        'nothing to report: every analysis chosen was skipped (projection: needs sense vectors, '
        f'but {setup / "gpt"} holds a gpt2 model'
    ) in result.stderr
    assert {p.name: p.read_bytes() for p in report.iterdir()} == before
    assert '## Skipped' in (report / 'senses.md').read_text()


def test_user_mistakes_get_a_message(setup):
    result = run(f'--out_dir={setup / "bkp"}', f'--report_dir={setup / "r3"}', '--analyses=projektion')
    assert result.returncode != 0 and 'Traceback' not in result.stderr
    assert "'projektion' (did you mean projection?) is not an analysis" in result.stderr
    result = run(f'--out_dir={setup / "bkp"}', f'--report_dir={setup / "r3"}', '--analyses=all,usage')
    assert result.returncode != 0 and "'all' runs every analysis: give it alone" in result.stderr
    result = run(f'--out_dir={setup / "bkp"}', f'--report_dir={setup / "r3"}', '--analyses= , ')
    assert result.returncode != 0 and 'no analysis named' in result.stderr
    # the baseline is the model itself: refused, not compared with itself
    result = run(
        f'--out_dir={setup / "bkp"}',
        f'--baseline_out_dir={setup / "bkp"}',
        f'--report_dir={setup / "r3"}',
        '--analyses=probe',
    )
    assert result.returncode != 0 and 'Traceback' not in result.stderr
    assert 'holds the same weights as --out_dir' in result.stderr and 'probe...' not in result.stdout
    # a words file of no words: refused before the first analysis runs, not the default words
    (setup / 'no_words.txt').write_text('# bank\n\n')
    result = run(
        f'--out_dir={setup / "bkp"}',
        f'--report_dir={setup / "r3"}',
        '--analyses=alignment,projection',
        f'--words_file={setup / "no_words.txt"}',
    )
    assert result.returncode != 0 and 'Traceback' not in result.stderr
    assert 'no_words.txt holds no word' in result.stderr and 'alignment...' not in result.stdout
    result = run(
        f'--out_dir={setup / "bkp"}',
        f'--report_dir={setup / "r3"}',
        '--analyses=intervention',
        '--intervention_senses=4',
    )
    assert result.returncode != 0 and 'the model has 4 senses per token: choose at most 3' in result.stderr
    result = run(f'--out_dir={setup / "bkp"}', '--model_name=gpt2')
    assert result.returncode != 0 and 'backpack-lm' in result.stderr and 'Traceback' not in result.stderr
    result = run(
        f'--out_dir={setup / "bkp"}',
        f'--report_dir={setup / "r3"}',
        '--analyses=similarity',
        f'--simlex={setup / "missing"}',
    )
    assert result.returncode != 0 and 'translation.csv' in result.stderr and 'Traceback' not in result.stderr


def test_a_retrained_model_does_not_inherit_the_results_of_the_one_it_replaced(setup, tmp_path):
    """train.py --overwrite=True into the same out_dir, to the same iteration: the results of
    the analyses not run again describe other weights, so they leave the report (moved aside
    with the earlier senses.json and senses.md, said on screen), figures and senses.tex too."""
    out_dir, report = tmp_path / 'bkp', tmp_path / 'report'
    meta = json.loads((setup / 'data' / 'sensefix' / 'meta.json').read_text())
    write_checkpoint(str(out_dir), 'backpack-lm', str(setup / 'data'), meta, train_steps=2)
    result = run(f'--out_dir={out_dir}', f'--report_dir={report}', '--analyses=projection,alignment')
    assert result.returncode == 0, result.stderr[-3000:]
    old_alignment = json.loads((report / 'senses.json').read_text())['analyses']['alignment']
    write_checkpoint(str(out_dir), 'backpack-lm', str(setup / 'data'), meta, train_steps=2, seed=1)
    # a run of skips only moves nothing aside: the earlier report stays whole where it was
    before = {p.name: p.read_bytes() for p in report.iterdir()}
    result = run(f'--out_dir={out_dir}', f'--report_dir={report}', '--analyses=usage', '--max_sentences=1')
    assert result.returncode == 1 and 'every analysis chosen was skipped (usage: ' in result.stderr
    assert {p.name: p.read_bytes() for p in report.iterdir()} == before and 'not kept' not in result.stdout
    result = run(f'--out_dir={out_dir}', f'--report_dir={report}', '--analyses=usage', '--words=bank')
    assert result.returncode == 0, result.stderr[-3000:]
    assert 'note: --words is read by projection, which this run does not run: not used' in result.stdout
    assert (
        "earlier results in" in result.stdout
        and "(projection, alignment) are not kept: the checkpoint's weights differ" in result.stdout
    ), result.stdout
    summary = json.loads((report / 'senses.json').read_text())
    assert set(summary['analyses']) == {'usage'} and summary['skipped'] == {}
    assert summary['checkpoint']['sha256'] == hashlib.sha256((out_dir / 'ckpt.pt').read_bytes()).hexdigest()
    markdown = (report / 'senses.md').read_text()
    assert '## Sense usage' in markdown and '## Sense projections' not in markdown
    assert 'alignment' not in markdown.lower()
    left = {p.name for p in report.iterdir() if p.is_file()}
    assert not {'senses.tex', 'sense_projections.png', 'sense_alignment_en-fr.png'} & left, left
    # nothing is lost: the earlier report lies whole in a folder of its own
    [aside] = [p for p in report.iterdir() if p.is_dir()]
    assert aside.name.startswith('senses-replaced-') and str(aside) in result.stdout
    assert {
        'senses.json',
        'senses.md',
        'senses.tex',
        'sense_projections.png',
        'sense_alignment_en-fr.png',
    } <= {p.name for p in aside.iterdir()}
    assert json.loads((aside / 'senses.json').read_text())['analyses']['alignment'] == old_alignment
    # the same weights, the analysis run again and skipped now beside one that runs: its figures
    # leave the report too
    result = run(
        f'--out_dir={out_dir}',
        f'--report_dir={report}',
        '--analyses=usage,projection',
        '--words=bank',
        '--max_sentences=1',
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert 'are not kept' not in result.stdout and 'did not write again moved to' in result.stdout
    assert not [p for p in report.iterdir() if p.name.startswith('sense_usage')]
    assert 'usage' in json.loads((report / 'senses.json').read_text())['skipped']


def test_kept_results_must_share_the_weights_and_the_data():
    identity = {
        'checkpoint': '/o/ckpt.pt',
        'sha256': 'a' * 64,
        'iter_num': 30,
        'baseline': None,
        'baseline_sha256': None,
        'data_root': '/data',
        'dataset': 'demo',
        'languages': ['en', 'fr'],
    }
    assert identity_changes(identity, dict(identity, checkpoint='/moved/ckpt.pt')) == []  # same weights
    assert identity_changes(identity, dict(identity, sha256='b' * 64)) == [
        f"the checkpoint's weights differ (/o/ckpt.pt, iteration 30, sha256 {'a' * 12}... then; "
        f"/o/ckpt.pt, iteration 30, sha256 {'b' * 12}... now)"
    ]
    assert identity_changes(identity, dict(identity, baseline='/g/ckpt.pt', baseline_sha256='c' * 64)) == [
        f"the baseline's weights differ (none then; /g/ckpt.pt, sha256 {'c' * 12}... now)"
    ]
    changed = identity_changes(
        identity, dict(identity, data_root='/other', dataset='europarl', languages=['en', 'de'])
    )
    assert [c.split(' (')[0] for c in changed] == [
        'the data root differs',
        'the held-out dataset differs',
        'the languages of the held-out data differ',
    ]
    # a report written before the weights were recorded: its results are not kept
    old = {'out_dir': '/o', 'model_name': 'backpack-lm', 'iter_num': 30, 'baseline_out_dir': None}
    assert identity_changes(old, identity) == [
        'senses.json does not record the weights its results describe (an older version wrote it)'
    ]


def test_the_files_a_result_lists_and_moving_them_aside(tmp_path):
    result = {
        'language_pairs': {'en-fr': {'files': {'figure': 'a_en-fr.png', 'csv': 'a_en-fr.csv'}}},
        'files': {'csv': 'a.csv', 'matrices': {'m': 'm.png'}, 'matrix_figure': None},
        'pairs': [('bank', 'banque')],
    }
    assert result_files(result) == {'a_en-fr.png', 'a_en-fr.csv', 'a.csv', 'm.png'}
    (tmp_path / 'a.csv').write_text('x')
    (tmp_path / 'keep.txt').write_text('y')
    aside = move_aside(str(tmp_path), {'a.csv', 'm.png'})
    assert os.path.basename(aside).startswith('senses-replaced-')
    assert os.listdir(aside) == ['a.csv'] and (tmp_path / 'keep.txt').is_file()
    assert move_aside(str(tmp_path), {'m.png'}) is None


def test_the_header_names_the_split_of_the_results_shown():
    modules = {'usage': import_module('senses.usage'), 'probe': import_module('senses.probe')}
    one = {'usage': {'split': 'test'}, 'probe': {'split': 'test'}, 'alignment': {}}
    assert data_line('demo', '/data', one, modules) == '- data: demo (test split) under /data'
    assert data_line('demo', '/data', {'alignment': {}}, modules) == '- data: demo under /data'
    two = {'usage': {'split': 'val'}, 'probe': {'split': 'test'}}
    assert data_line('demo', '/data', two, modules) == (
        '- data: demo under /data; held-out splits differ (val split: Sense usage per language; '
        'test split: Polysemy probe)'
    )


def test_a_split_the_held_out_data_lacks_is_named_as_the_reason(setup, tmp_path):
    """Not 'no occurrence could be scored' or 'no line uses a polysemous word': the held-out
    text of the split is not there, and the other split is."""
    shutil.copytree(setup / 'data', tmp_path / 'data')
    for path in (tmp_path / 'data' / 'sensefix').glob('*_val.txt'):
        path.unlink()
    result = run(
        f'--out_dir={setup / "bkp"}',
        f'--data_root={tmp_path / "data"}',
        f'--report_dir={tmp_path / "r"}',
        '--split=val',
        '--analyses=usage,probe,intervention',
    )
    assert result.returncode == 1 and not (tmp_path / 'r' / 'senses.json').exists(), result.stderr[-3000:]
    for name in ('usage', 'probe', 'intervention'):
        assert (
            f"{name}: needs the held-out val text of sensefix (en, fr), which is not there under "
            f"{tmp_path / 'data'}: prepare it (python data/sensefix/prepare.py), or choose "
            f"--split=test (it has test text)"
        ) in result.stderr, result.stderr[-3000:]


def test_an_out_dir_given_as_its_checkpoint_file_reports_beside_it(setup, tmp_path):
    # every evaluation script's default report folder (not 'report_dir=.../ckpt.pt is a file')
    assert default_report_dir('', [str(tmp_path / 'ckpt.pt')]) == str(tmp_path)
    assert default_report_dir('', [str(tmp_path / 'run')]) == str(tmp_path / 'run')
    shutil.copy(setup / 'gpt' / 'ckpt.pt', tmp_path / 'ckpt.pt')
    (tmp_path / 'senses.json').write_text('{"cut short')  # an earlier report, broken: set aside, said
    result = run(
        f'--out_dir={tmp_path / "ckpt.pt"}', '--analyses=similarity', f'--similarity_csv={setup / "sim.csv"}'
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert 'are not kept: senses.json cannot be read (JSONDecodeError' in result.stdout
    [aside] = tmp_path.glob('senses-replaced-*')
    assert (aside / 'senses.json').read_text() == '{"cut short'
    assert (tmp_path / 'senses.json').is_file() and (tmp_path / 'lexical_similarity.csv').is_file()
    assert f"- checkpoint: {tmp_path / 'ckpt.pt'} (gpt2" in (tmp_path / 'senses.md').read_text()
