"""The shared results writer of the evaluation scripts: one checkpoint's JSON keyed by dataset,
several keyed by out_dir, every confidence interval <metric>_ci95 in the JSON and
<metric>_ci95_low/_high in the CSV, computed table cells."""

import csv
import hashlib
import json
import math
import os

import pytest

from evaluation.results import BarChart, CheckpointResults, with_ci95


@pytest.fixture(autouse=True)
def checkpoint_files(tmp_path, monkeypatch):
    """out-a/ckpt.pt and out-b/ckpt.pt (different bytes) in the working folder: the results
    record the sha256 of the checkpoint file each row was computed from."""
    folder = tmp_path / 'checkpoints'
    for name in ('out-a', 'out-b'):
        os.makedirs(folder / name)
        (folder / name / 'ckpt.pt').write_bytes(name.encode())
    monkeypatch.chdir(folder)


def sha256_of(out_dir):
    return hashlib.sha256(out_dir.encode()).hexdigest()  # the bytes checkpoint_files wrote


def metrics(value, low, high, out_dir):
    return {'score': value, 'score_ci95': [low, high], 'items': 10, 'out_dir': out_dir}


def recorded(value, low, high, out_dir):
    return {**metrics(value, low, high, out_dir), 'checkpoint_sha256': sha256_of(out_dir)}


def write(results, report_dir, **kwargs):
    return results.write(
        report_dir,
        'scores',
        header='Scores.\n\n',
        table_columns=[
            'dataset',
            'language',
            'items',
            ('score [95% CI]', lambda row: with_ci95(row, 'score', '.2f')),
        ],
        csv_columns=['model', 'dataset', 'language', 'score', 'score_ci95_low', 'score_ci95_high'],
        chart=BarChart({'score': 'score'}, ylabel='score', title='Scores', value_format='.1f'),
        **kwargs,
    )


def test_one_checkpoint_is_keyed_by_dataset_and_its_intervals_are_flattened_in_the_csv(tmp_path, capsys):
    results = CheckpointResults(['out-a'])
    results.add_dataset('out-a', 'empty')  # evaluated, nothing scored: still listed
    results.add('out-a', 'demo', 'en', metrics(0.5, 0.25, 0.75, 'out-a'))
    results.add('out-a', 'demo', 'fr', metrics(math.nan, math.nan, math.nan, 'out-a'))
    paths = write(results, tmp_path, json_extra={'skipped_items': [{'id': 'x'}]}, also=', and more')
    assert json.loads((tmp_path / 'scores.json').read_text()) == {
        'empty': {},
        'demo': {'en': recorded(0.5, 0.25, 0.75, 'out-a'), 'fr': recorded(None, None, None, 'out-a')},
        'skipped_items': [{'id': 'x'}],
    }
    with open(paths['csv'], newline='') as f:
        rows = list(csv.DictReader(f))
    assert [(r['language'], r['score_ci95_low'], r['score_ci95_high']) for r in rows] == [
        ('en', '0.25', '0.75'),
        ('fr', '', ''),
    ]
    table = (tmp_path / 'scores.md').read_text()
    assert table.startswith('Scores.\n\n| dataset | language | language name | items | score [95% CI] |')
    assert '| demo | en | English | 10 | 0.50 [0.25, 0.75] |' in table and 'model' not in table
    assert (tmp_path / 'scores.png').stat().st_size > 0
    out = capsys.readouterr().out
    assert table.split('\n\n', 1)[1] in out and out.rstrip().endswith(f"{paths['png']}, and more")


def test_several_checkpoints_are_keyed_by_out_dir_with_a_model_column(tmp_path):
    results = CheckpointResults(['out-a', 'out-b'])
    results.add('out-b', 'demo', 'en', metrics(2.0, 1.0, 3.0, 'out-b'))
    results.add('out-a', 'demo', 'en', metrics(1.0, 0.5, 1.5, 'out-a'))
    write(results, tmp_path)
    both = json.loads((tmp_path / 'scores.json').read_text())
    assert list(both) == ['out-a', 'out-b']  # in the order of the checkpoints, not of the scores
    assert both['out-b']['demo']['en']['score_ci95'] == [1.0, 3.0]
    table = (tmp_path / 'scores.md').read_text()
    assert (
        '| model | dataset |' in table and '| out-b | demo | en | English | 10 | 2.00 [1.00, 3.00] |' in table
    )


def test_the_chart_has_a_panel_per_dataset_and_a_named_row_per_language(tmp_path, monkeypatch):
    import evaluation.results

    drawn = {}

    def draw(path, panels, **kwargs):
        drawn.update(panels=panels, **kwargs)
        open(path, 'wb').close()  # the report's four files are replaced together

    monkeypatch.setattr(evaluation.results, 'bar_chart_panels', draw)
    languages = ['de', 'en', 'fi', 'xx']  # xx: a code without a known name is shown as itself
    results = CheckpointResults(['out-a', 'out-b'])
    for out_dir in ('out-a', 'out-b'):
        for dataset, langs in (('europarl-multi', languages), ('multiun', ['en'])):
            for i, lang in enumerate(langs):
                results.add(
                    out_dir, dataset, lang, metrics(i + (out_dir == 'out-b'), i - 0.5, i + 2, out_dir)
                )
    write(results, tmp_path)
    (first, names, series, errors), (second, names_2, series_2, _) = drawn['panels']
    assert (first, names) == ('europarl-multi', ['German', 'English', 'Finnish', 'xx'])  # as added
    assert (second, names_2) == ('multiun', ['English'])
    assert series == {'out-a': [0, 1, 2, 3], 'out-b': [1, 2, 3, 4]} and series_2 == {
        'out-a': [0],
        'out-b': [1],
    }
    assert errors['out-a'][1] == (0.5, 3)
    assert drawn['xlabel'] == 'score' and drawn['value_format'] == '.1f'


def test_bar_chart_panels_draws_ten_languages_and_missing_values(tmp_path):
    from common.reporting import bar_chart_panels

    names = [f'language {i}' for i in range(10)]
    panels = [
        (
            f'dataset {d}',
            names,
            {'gpt2': [0.1 * i for i in range(10)], 'backpack': [None] + [1.0] * 9},
            {
                'gpt2': [(0.1 * i - 0.05, 0.1 * i + 0.05) for i in range(10)],
                'backpack': [(None, None)] + [(0.9, 1.1)] * 9,
            },
        )
        for d in range(4)
    ]
    bar_chart_panels(tmp_path / 'bars.png', panels, xlabel='bits per byte', title='ten', value_format='.2f')
    from PIL import Image

    width, height = Image.open(tmp_path / 'bars.png').size
    assert height > width  # three panels to a row, a second row, rows that grow with the languages


def test_results_name_the_weights_they_come_from_and_copies_are_noted(tmp_path, capsys):
    """An out_dir is a folder: retrained into, it holds other weights. Each row carries the sha256
    of the checkpoint file it was computed from; a copy under another name is legitimate, noted."""
    results = CheckpointResults(['out-a'])
    results.add('out-a', 'demo', 'en', metrics(1.0, 0.5, 1.5, 'out-a'))
    write(results, tmp_path)
    assert json.loads((tmp_path / 'scores.json').read_text())['demo']['en']['checkpoint_sha256'] == sha256_of(
        'out-a'
    )
    with open('out-a/ckpt.pt', 'wb') as f:  # retrained into the same out_dir
        f.write(b'new weights')
    results = CheckpointResults(['out-a'])
    results.add('out-a', 'demo', 'en', metrics(2.0, 1.5, 2.5, 'out-a'))
    write(results, tmp_path)
    assert (
        json.loads((tmp_path / 'scores.json').read_text())['demo']['en']['checkpoint_sha256']
        == hashlib.sha256(b'new weights').hexdigest()
    )
    assert 'same checkpoint file' not in capsys.readouterr().out
    os.makedirs('copy-of-a')
    with open('copy-of-a/ckpt.pt', 'wb') as f:
        f.write(b'new weights')
    CheckpointResults(['out-a', 'out-b', 'copy-of-a'])
    assert "note: out-a and copy-of-a hold the same checkpoint file" in capsys.readouterr().out


def test_an_interrupt_while_the_chart_is_drawn_leaves_the_earlier_report_whole(tmp_path, monkeypatch):
    results = CheckpointResults(['out-a'])
    results.add('out-a', 'demo', 'en', metrics(0.5, 0.25, 0.75, 'out-a'))
    report = tmp_path / 'report'
    write(results, report)
    before = {p.name: p.read_bytes() for p in report.iterdir()}

    def ctrl_c(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(CheckpointResults, '_chart', ctrl_c)
    results.add('out-a', 'demo', 'fr', metrics(0.7, 0.5, 0.9, 'out-a'))
    with pytest.raises(KeyboardInterrupt):
        write(results, report)
    assert {p.name: p.read_bytes() for p in report.iterdir()} == before  # no new table, no temporary file
