"""The quick start's python demo.py, end to end on a small demo corpus and a few iterations: every
step runs, the report has its sections and its figures exist, and a second run reuses what is
done."""

import os
import re

from tiny_text_corpus import run_script


def test_demo_writes_the_report_and_reuses_finished_steps(tmp_path):
    args = [f'--out_root={tmp_path / "out"}', f'--data_root={tmp_path / "data"}', '--demo_sentences=3000',
            '--max_iters=4', '--cloze_items=10', '--sense_sentences=20', '--device=cpu']
    first = run_script('demo.py', *args, timeout=600)
    report_path = tmp_path / 'out' / 'report.md'
    assert f"the report is {report_path}" in first.stdout
    assert f"python explore.py --out_dir={tmp_path / 'out' / 'backpack'}" in first.stdout
    report = report_path.read_text()
    for heading in ('## Summary', '## Data', '## Models', '## Perplexity on the held-out test text',
                    '## Cloze test', '## Sense analysis of', '### Sense projections',
                    '### Cross-lingual sense alignment', '### Polysemy probe', '### Interventions'):
        assert heading in report, heading
    for row in ('bits per byte (en)', 'bits per byte (fr)', 'cloze top-1 (fr)'):
        assert re.search(rf'\| {re.escape(row)} \| [0-9.]+%? \[', report), row
    images = re.findall(r'!\[[^\]]*\]\(([^)]+)\)', report)
    assert len(images) >= 6
    for image in images:
        assert (tmp_path / 'out' / image).is_file(), image
    second = run_script('demo.py', *args, timeout=600)
    assert 'already prepared' in second.stdout
    assert second.stdout.count('a finished checkpoint is in') == 2
    assert os.path.getsize(report_path) > 1000
    # another seed is another run: both models are trained again, with that seed
    third = run_script('demo.py', *args, '--seed=7', timeout=600)
    assert 'a finished checkpoint is in' not in third.stdout and '--seed=7' in third.stdout
