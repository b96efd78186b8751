"""bench.py and data/bench_prepare.py run end to end on a tiny preset and write what
docs/performance.md quotes (shape only: no timing is asserted in tests), and refuse what would
fail late before they measure anything."""

import json
import os
import runpy
import sys

import pytest
import torch
from in_process import run_in_process
from tiny_text_corpus import DATASET, REPO_ROOT, run_script, tiny_data_root

from common.errors import UserError
from data.prepared import PreparedData

TINY = [
    '--n_layer=1',
    '--n_head=2',
    '--n_embd=32',
    '--n_sense_vector=4',
    '--block_size=32',
    '--batch_size=4',
    '--warmup_steps=1',
    '--timed_steps=2',
    '--eval_steps=2',
    '--memory_steps=1',
    '--device=cpu',
]


def test_bench_writes_the_ratios(tmp_path_factory, tmp_path):
    data_root = tiny_data_root(tmp_path_factory)
    result = run_script(
        'bench.py',
        f'--data_root={data_root}',
        f'--list_of_datasets={DATASET}',
        *TINY,
        '--prompt_tokens=8',
        '--new_tokens=12',
        '--speed_items=3',
        f'--report_dir={tmp_path}',
    )
    bench = json.loads((tmp_path / 'bench.json').read_text())
    for key in (
        'train_step_time_ratio',
        'peak_memory_ratio',
        'eval_forward_time_ratio',
        'flop_ratio',
        'eval_flop_ratio',
    ):
        assert isinstance(bench[key], float) and bench[key] > 0, key
    assert set(bench['generation_cache_speedup']) == {'gpt2', 'backpack-lm'}
    assert bench['generation_tokens_identical'] == {'gpt2': True, 'backpack-lm': True}
    assert bench['flop_ratio'] > 1 and bench['eval_flop_ratio'] > 1
    m = bench['measurements']
    assert len(m['train_step_seconds']['gpt2']) == 2
    speeds = m['evaluation_speeds']
    assert speeds['cloze_items'] == 3 and speeds['perplexity_tokens'] == 32 + 16 * 2
    assert speeds['minimal_pairs'] == 4 * 3  # 4 x speed_items: consecutive held-out lines
    for key in (
        'perplexity_tokens_per_s',
        'cloze_items_per_s_with_cache',
        'cloze_items_per_s_without_cache',
        'minimal_pairs_per_s',
        'minimal_pair_tokens_per_s',
    ):
        assert set(speeds[key]) == {'gpt2', 'backpack-lm'} and min(speeds[key].values()) > 0, key
    assert bench['config']['n_embd'] == 32 and 'Machine:' in bench['machine']
    table = (tmp_path / 'bench.md').read_text()
    for row in (
        '| training step (tokens/s) |',
        '| perplexity scoring (tokens/s) |',
        '| cloze with cache (items/s) |',
        '| minimal pairs (pairs/s) |',
    ):
        assert row in table, row
    assert 'training step (tokens/s)' in result.stdout and os.path.isfile(tmp_path / 'bench.md')


def test_bench_prepare_writes_the_speeds(tmp_path_factory, tmp_path):
    data_root = tiny_data_root(tmp_path_factory)
    run_script(
        'data/bench_prepare.py',
        f'--data_root={data_root}',
        f'--list_of_datasets={DATASET}',
        '--tokenize_megabytes=0.2',
        f'--report_dir={tmp_path}',
    )
    bench = json.loads((tmp_path / 'bench_prepare.json').read_text())
    for key in ('tokenize_speedup', 'prepare_speedup_over_nanogpt'):
        assert isinstance(bench[key], float) and bench[key] > 0, key
    m = bench['measurements']
    assert m['tokenization']['identical'] is True
    assert m['prepare']['ours_mb_per_s'] > 0 and m['prepare']['nanogpt_mb_per_s'] > 0
    table = (tmp_path / 'bench_prepare.md').read_text()
    for row in ('Tokenization of held-out text', "nanoGPT's way"):
        assert row in table, row


def test_bench_names_the_script_its_data_preparation_options_went_to(tmp_path):
    result = run_script('bench.py', '--list_of_datasets=demo', '--tokenize_megabytes=0.2', check=False)
    assert result.returncode != 0 and 'moved to data/bench_prepare.py' in result.stderr
    assert 'python data/bench_prepare.py --list_of_datasets=demo --tokenize_megabytes=0.2' in result.stderr


def test_sweep_writes_one_entry_per_point_and_skips_what_does_not_fit(tmp_path_factory, tmp_path):
    data_root = tiny_data_root(tmp_path_factory)
    # 10^9 sequences cannot fit: reported as such before it runs, and the sweep goes on
    result = run_in_process(
        'bench.py',
        f'--data_root={data_root}',
        f'--list_of_datasets={DATASET}',
        *TINY,
        '--sweep=block_size:32,16,1000000000',
        f'--report_dir={tmp_path}',
    )
    bench = json.loads((tmp_path / 'bench.json').read_text())
    assert bench['sweep'] == 'block_size'
    assert [p['block_size'] for p in bench['points']] == [16, 32, 1000000000]
    small, large, too_big = bench['points']
    assert 'does not fit' not in small and set(too_big) == {'block_size', 'out_of_memory'}
    assert large['flop_ratio'] > 1 and large['measurements']['peak_memory_bytes']['gpt2'] > 0
    summary = bench['summary']
    assert summary['points_measured'] == [16, 32] and summary['points_out_of_memory'] == [1000000000]
    assert len(summary['time_over_flop_ratio']) == 2
    assert set(summary['memory_bytes_per_token']) == {'gpt2', 'backpack-lm'}
    assert (tmp_path / 'bench_block_size.png').stat().st_size > 1000
    assert 'does not fit in memory' in (tmp_path / 'bench.md').read_text()
    assert 'does not fit in memory' in result.stdout


def test_a_wrong_sweep_is_refused_before_any_work(tmp_path):
    result = run_in_process('bench.py', '--sweep=n_head:2,4', f'--report_dir={tmp_path}', check=False)
    assert result.returncode != 0 and 'block_size, n_sense_vector, batch_size' in result.stderr
    result = run_in_process('bench.py', '--n_embd=48', '--sweep=n_sense_vector:4,5', check=False)
    assert result.returncode != 0 and '[5] are not divisors' in result.stderr


def bench_functions(monkeypatch, *args, script='bench.py'):
    """bench.py (or script) configured with args, in this process and without running main: its
    functions and settings (the live module namespace)."""
    monkeypatch.setattr(sys, 'argv', [script, *args])
    monkeypatch.setattr(sys, 'excepthook', sys.excepthook)  # configure installs its own
    namespace = runpy.run_path(os.path.join(REPO_ROOT, script), run_name='bench_in_a_test')
    return namespace['setup'].__globals__


def test_sizes_that_do_not_divide_n_embd_are_refused_before_any_work(monkeypatch):
    with pytest.raises(UserError) as refused:
        bench_functions(monkeypatch, '--n_embd=32', '--n_head=5', '--n_sense_vector=5')
    assert '--n_head=5: must be >= 1 and a divisor of n_embd (the value of --n_embd, 32)' in str(
        refused.value
    )
    assert '--n_sense_vector=5: must be >= 1 and a divisor of n_embd' in str(refused.value)
    # a swept n_sense_vector is checked point by point, not the value the sweep replaces
    bench = bench_functions(monkeypatch, '--n_embd=48', '--n_sense_vector=5', '--sweep=n_sense_vector:4,8')
    assert bench['parse_sweep'](bench['sweep'], bench['n_embd']) == ('n_sense_vector', [4, 8])


def test_a_report_dir_that_cannot_be_written_is_refused_before_any_work(monkeypatch, tmp_path):
    a_file = tmp_path / 'a_file'
    a_file.write_text('mine')
    bench = bench_functions(monkeypatch, f'--report_dir={a_file}', '--data_root=/nonexistent')
    with pytest.raises(UserError, match='is a file, not a folder'):
        bench['setup']()  # before the data (which does not exist) is even looked at
    assert a_file.read_text() == 'mine'
    bench = bench_functions(monkeypatch, f'--report_dir={tmp_path}', '--data_root=/nonexistent')
    # read-only (the tests may run as root, who may write anywhere)
    monkeypatch.setattr(os, 'access', lambda path, mode: False)
    with pytest.raises(UserError, match='cannot be written'):
        bench['setup']()


def test_missing_packages_are_named_with_the_install_line_at_the_start(monkeypatch):
    monkeypatch.setitem(sys.modules, 'datasets', None)  # what an environment without it imports
    prepare = bench_functions(monkeypatch, '--tokenize_megabytes=1', script='data/bench_prepare.py')
    with pytest.raises(UserError, match=r'needs datasets, .*pip install datasets'):
        prepare['check_imports']()
    bench_functions(monkeypatch)['check_imports']()  # bench.py, which measures models only, needs it not


def test_each_measurement_gets_the_batches_it_asks_for(monkeypatch, tmp_path_factory):
    """--eval_steps was capped at warmup_steps + timed_steps - 1, and at 0 the run failed after
    all its measuring (no median of no times)."""
    data_root = tiny_data_root(tmp_path_factory)
    bench = bench_functions(
        monkeypatch, *TINY, '--warmup_steps=0', '--timed_steps=1', '--eval_steps=3', '--memory_steps=2'
    )
    settings = bench['Settings'].of(bench['config'])
    training, evaluation, memory = bench['draw_batches'](settings, PreparedData(data_root, [DATASET]))
    assert (len(training), len(evaluation), len(memory)) == (1, 4, 2)
    assert all(x.shape == (4, 32) for x, _ in training + evaluation + memory)
    assert torch.equal(memory[0][0], training[0][0])  # the memory steps train on the same batches
    assert not torch.equal(evaluation[0][0], training[0][0])  # the evaluation stream is apart
