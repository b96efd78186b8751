"""The quick start's python demo.py, end to end on a small demo corpus and a few iterations: every
step runs, the report has its sections and its figures exist, and a second run reuses what is
done; --fresh=True removes only what the demo wrote, and an interrupted training is saved and
resumed."""

import os
import re
import signal
import subprocess
import sys
import time

import pytest
from tiny_text_corpus import REPO_ROOT, run_script

from common.checkpoint import load_checkpoint_file, model_from_checkpoint
from common.run_folder import LOCK_NAME


@pytest.mark.slow
def test_demo_writes_the_report_and_reuses_finished_steps(tmp_path, start_demo):
    args = [
        f'--out_root={tmp_path / "out"}',
        f'--data_root={tmp_path / "data"}',
        '--demo_sentences=3000',
        '--max_iters=4',
        '--cloze_items=10',
        '--sense_sentences=20',
        '--device=cpu',
    ]
    first = run_script('demo.py', *args, timeout=600)
    report_path = tmp_path / 'out' / 'report.md'
    assert f"the report is {report_path}" in first.stdout
    assert f"python explore.py --out_dir={tmp_path / 'out' / 'backpack'}" in first.stdout
    report = report_path.read_text()
    for heading in (
        '## Summary',
        '## Data',
        '## Models',
        '## Perplexity on the held-out test text',
        '## Cloze test',
        '## Sense analysis of',
        '### Sense projections',
        '### Cross-lingual sense alignment',
        '### Polysemy probe',
        '### Interventions',
    ):
        assert heading in report, heading
    for row in ('bits per byte (en)', 'bits per byte (fr)', 'cloze top-1 (fr)'):
        assert re.search(rf'\| {re.escape(row)} \|( [0-9.]+%? \[[^|]*\|){{3}}$', report, re.M), row
    assert_the_matched_gpt2_is_in_every_table(report, tmp_path / 'out')
    images = re.findall(r'!\[[^\]]*\]\(([^)]+)\)', report)
    assert len(images) >= 7
    for image in images:
        assert (tmp_path / 'out' / image).is_file(), image
    second = run_script('demo.py', *args, timeout=600)
    assert 'already prepared' in second.stdout
    assert second.stdout.count('a finished checkpoint is in') == 3
    assert os.path.getsize(report_path) > 1000
    # another seed is another run: the models are trained again, with that seed (seen once the
    # second training starts; the rest of that run is the first one's)
    third = start_demo(*args, '--seed=7')
    output = read_until(third, '$ python train.py config/train_demo_backpack.py')
    os.killpg(third.pid, signal.SIGKILL)
    third.wait()
    trainings = [line for line in output.splitlines() if line.startswith('$ python train.py')]
    assert 'a finished checkpoint is in' not in output
    assert len(trainings) == 2 and all('--seed=7' in line for line in trainings), output


def assert_the_matched_gpt2_is_in_every_table(report, out):
    """The third model, a GPT-2 of the Backpack's size: a column of the summary, a row of the models
    table within 1% of the Backpack's parameters, rows of the perplexity and cloze tables in both
    languages, and its training curve."""
    assert "| measure | GPT-2 | Backpack | GPT-2, Backpack's size |" in report
    counts = {}
    for name in ('gpt2', 'backpack', 'gpt2_matched'):
        row = re.search(rf'^\| {name} \| [a-z2-]+ \| ([0-9,]+) \| ([+-][0-9.]+%) \|', report, re.M)
        assert row, name
        counts[name] = int(row.group(1).replace(',', ''))
        checkpoint = load_checkpoint_file(str(out / name))
        assert model_from_checkpoint(checkpoint).get_num_params() == counts[name]
    assert counts['gpt2'] < 0.7 * counts['backpack']
    assert abs(counts['gpt2_matched'] / counts['backpack'] - 1) < 0.01
    assert '4 layers, 4 heads, 184 wide' in report
    for section in ('## Perplexity on the held-out test text', '## Cloze test'):
        table = report.split(section)[1].split('\n## ')[0]
        for lang in ('en', 'fr'):
            assert re.search(
                rf'^\| {re.escape(str(out / "gpt2_matched"))} \| gpt2 \| demo \| {lang} \|', table, re.M
            )
    assert "![GPT-2, Backpack's size training](gpt2_matched/loss.png)" in report


@pytest.fixture
def start_demo():
    """Start demo.py in a process group of its own, as a terminal runs a command: a Ctrl-C there
    reaches demo.py and the step it runs. Whatever the test's end, none is left running."""
    started = []
    env = {**os.environ, 'OMP_NUM_THREADS': '1', 'MKL_NUM_THREADS': '1'}

    def start(*args):
        started.append(
            subprocess.Popen(
                [sys.executable, 'demo.py', *args],
                cwd=REPO_ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                start_new_session=True,
            )
        )
        return started[-1]

    yield start
    for process in started:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def read_until(process, prefix, timeout=180):
    """The output of process up to its first line starting with prefix."""
    lines, deadline = [], time.time() + timeout
    for line in process.stdout:
        lines.append(line)
        if line.startswith(prefix) or time.time() > deadline:
            break
    assert lines and lines[-1].startswith(prefix), ''.join(lines)
    return ''.join(lines)


def training_pid(out_dir):
    """The process training in out_dir, as its lock file names it."""
    return int(re.match(r'pid (\d+) ', (out_dir / LOCK_NAME).read_text()).group(1))


@pytest.mark.slow
def test_fresh_keeps_other_files_and_ctrl_c_in_training_saves_it_for_the_next_run_to_resume(
    tmp_path, start_demo
):
    """Real interruptions of a real process group (40-70 s on 2 busy cores): --fresh=True removes only the demo's outputs;
    Ctrl-C in a terminal during training stops the demo once train.py has saved, and the next
    demo resumes that training instead of starting it over; when train.py alone is stopped
    (SIGTERM, which it answers by saving and exiting 0), the demo does not evaluate the
    unfinished model."""
    out, data = tmp_path / 'out', tmp_path / 'data'
    (out / 'my_models').mkdir(parents=True)
    (out / 'my_models' / 'weights.bin').write_bytes(b'mine')
    (out / 'notes.txt').write_text('mine')
    (out / 'report.md').write_text('an earlier demo report')
    (out / 'perplexity').mkdir()
    (out / 'perplexity' / 'perplexity.json').write_text('{}')
    args = [
        f'--out_root={out}',
        f'--data_root={data}',
        '--demo_sentences=3000',
        '--max_iters=2000',
        '--device=cpu',
    ]
    first = start_demo(*args, '--fresh=True')
    output = read_until(first, 'iter 0:')
    assert "removed the demo's perplexity, report.md" in output
    assert 'left my_models, notes.txt' in output and 'as they were' in output
    assert (out / 'notes.txt').read_text() == 'mine' and (
        out / 'my_models' / 'weights.bin'
    ).read_bytes() == b'mine'
    assert not (out / 'report.md').exists() and not (out / 'perplexity').exists()
    os.killpg(first.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
    output += first.communicate(timeout=120)[0]
    assert first.returncode == 130 and 'Traceback' not in output, output
    saved = load_checkpoint_file(str(out / 'gpt2'))['iter_num']
    assert 0 < saved < 2000
    assert (
        f"The training was saved in {out / 'gpt2'} at iteration {saved} of 2000: python demo.py "
        f"again resumes it"
    ) in output
    assert '=== 3.' not in output and not (out / 'backpack').exists()

    second = start_demo(*args)
    output = read_until(second, 'iter ')
    assert '--init_from=resume' in output and '--overwrite=True' not in output
    assert f"resuming from {out / 'gpt2' / 'ckpt.pt'}" in output
    os.kill(training_pid(out / 'gpt2'), signal.SIGTERM)  # train.py alone
    output += second.communicate(timeout=120)[0]
    assert second.returncode != 0 and 'Traceback' not in output, output
    resumed = load_checkpoint_file(str(out / 'gpt2'))['iter_num']
    assert saved < resumed < 2000
    assert f'the training of gpt2 ended at iteration {resumed} of 2000' in output
    assert '=== 3.' not in output


def test_an_out_root_that_is_a_file_is_refused_before_any_work(tmp_path):
    (tmp_path / 'out').write_text('mine')
    refused = run_script(
        'demo.py',
        f'--out_root={tmp_path / "out"}',
        f'--data_root={tmp_path / "data"}',
        '--fresh=True',
        check=False,
    )
    assert refused.returncode != 0 and 'Traceback' not in refused.stderr
    assert 'out_root=' in refused.stderr and 'is a file, not a folder' in refused.stderr
    assert (tmp_path / 'out').read_text() == 'mine' and not (tmp_path / 'data').exists()
