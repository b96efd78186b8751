"""bench.py runs end to end on a tiny preset and writes what the README quotes (shape only: no
timing is asserted in tests)."""

import json
import os

from tiny_text_corpus import DATASET, run_script, tiny_data_root


def test_bench_writes_the_ratios(tmp_path_factory, tmp_path):
    data_root = tiny_data_root(tmp_path_factory)
    result = run_script('bench.py', f'--data_root={data_root}', f'--list_of_datasets={DATASET}',
                        '--n_layer=1', '--n_head=2', '--n_embd=32', '--n_sense_vector=4',
                        '--block_size=32', '--batch_size=4', '--warmup_steps=1', '--timed_steps=2',
                        '--eval_steps=2', '--prompt_tokens=8', '--new_tokens=12', '--memory_steps=1',
                        '--tokenize_megabytes=0.2', '--device=cpu', f'--report_dir={tmp_path}')
    bench = json.loads((tmp_path / 'bench.json').read_text())
    for key in ('train_step_time_ratio', 'peak_memory_ratio', 'eval_forward_time_ratio',
                'tokenize_speedup', 'flop_ratio', 'eval_flop_ratio'):
        assert isinstance(bench[key], float) and bench[key] > 0, key
    assert set(bench['generation_cache_speedup']) == {'gpt2', 'backpack-lm'}
    assert bench['generation_tokens_identical'] == {'gpt2': True, 'backpack-lm': True}
    assert bench['flop_ratio'] > 1 and bench['eval_flop_ratio'] > 1
    assert bench['measurements']['tokenization']['identical'] is True
    assert len(bench['measurements']['train_step_seconds']['gpt2']) == 2
    assert bench['config']['n_embd'] == 32 and 'Machine:' in bench['machine']
    table = (tmp_path / 'bench.md').read_text()
    assert '| training step (tokens/s) |' in table and 'Tokenization of held-out text' in table
    assert 'training step (tokens/s)' in result.stdout and os.path.isfile(tmp_path / 'bench.md')
