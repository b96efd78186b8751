"""Faults and misuses that must never lose work or end in a traceback: a new run over a trained
one, two runs in one out_dir, values out of range in every script, a full disk, a read-only or
impossible output folder, SIGTERM during an evaluation."""

import collections
import errno
import os
import shlex
import signal
import subprocess
import sys
import time

import pytest
import torch
from in_process import run_in_process
from synthetic_data import write_synthetic_dataset
from test_train import REPO, TINY, train

from common.atomic_files import temporary_path, write_failure
from common.checkpoint import load_checkpoint_file, save_checkpoint
from common.errors import UserError
from common.reporting import write_text
from common.run_folder import LOCK_NAME, lock_out_dir, prepare_out_dir


@pytest.fixture(scope='module')
def data_root(tmp_path_factory):
    root = tmp_path_factory.mktemp('data with a space')  # the printed resume command must quote it
    write_synthetic_dataset(str(root), 'synth')
    return str(root)


def train_command(data_root, out_dir, *args):
    return [
        sys.executable,
        'train.py',
        f'--data_root={data_root}',
        '--list_of_datasets=synth',
        f'--out_dir={out_dir}',
        *TINY,
        *args,
    ]


def files(folder):
    return {
        name: (folder / name).read_bytes()
        for name in os.listdir(folder)
        if (folder / name).is_file() and name != LOCK_NAME
    }


# --- 1. a new run into a folder that holds a trained one ------------------------------------


def test_a_run_from_scratch_never_replaces_a_previous_run(data_root, tmp_path):
    out = tmp_path / 'run'
    train(data_root, out, '--max_iters=2', '--eval_interval=2')
    before = files(out)
    assert {'ckpt.pt', 'metrics.csv', 'train_log.csv'} <= set(before)
    refused = train(data_root, out, '--max_iters=2', check=False)
    assert refused.returncode != 0 and 'Traceback' not in refused.stderr
    assert 'holds a previous run' in refused.stderr and '--overwrite=True' in refused.stderr
    assert '--init_from=resume' in refused.stderr
    assert files(out) == before  # logs not truncated, checkpoint untouched
    # on purpose: the previous run's files are moved aside, not deleted
    train(data_root, out, '--max_iters=3', '--eval_interval=3', '--overwrite=True')
    assert load_checkpoint_file(str(out))['iter_num'] == 3
    [aside] = [p for p in out.iterdir() if p.name.startswith('replaced-')]
    assert files(aside) == before


# --- init_from, out_dir and overwrite that would lose or misuse a run ------------------------


def test_fine_tuning_a_run_into_its_own_out_dir_is_refused_before_anything_moves(data_root, tmp_path):
    out = tmp_path / 'run'
    train(data_root, out, '--max_iters=2', '--eval_interval=2')
    before = files(out)
    for overwrite in ('--overwrite=True', '--overwrite=False'):
        refused = train(data_root, out, f'--init_from={out}', overwrite, '--max_iters=4', check=False)
        assert refused.returncode != 0 and 'Traceback' not in refused.stderr
        assert f'init_from={out} is the checkpoint of out_dir={out} itself' in refused.stderr
        assert '--init_from=resume' in refused.stderr and 'choose another --out_dir' in refused.stderr
        assert files(out) == before and not [p for p in out.iterdir() if p.name.startswith('replaced-')]


def test_fine_tuning_a_gpt2_as_a_backpack_is_refused_before_any_work(data_root, tmp_path):
    gpt2 = tmp_path / 'gpt2'
    train(data_root, gpt2, '--model_name=gpt2', '--max_iters=2', '--eval_interval=2')
    refused = train(
        data_root, tmp_path / 'tuned', f'--init_from={gpt2}', '--model_name=backpack-lm', check=False
    )
    assert refused.returncode != 0 and 'Traceback' not in refused.stderr
    assert f"init_from={gpt2} holds a 'gpt2' model but model_name=backpack-lm" in refused.stderr
    assert '--model_name=gpt2' in refused.stderr
    assert not (tmp_path / 'tuned').exists()


def test_fine_tuning_a_backpack_as_a_gpt2_is_refused(tmp_path):
    from common.checkpoint import fine_tuning_checkpoint

    save_checkpoint({'model': {}, 'model_args': {}, 'model_name': 'backpack-lm'}, str(tmp_path / 'ckpt.pt'))
    with pytest.raises(
        UserError, match=r"holds a 'backpack-lm' model but model_name=gpt2.*--model_name=backpack-lm"
    ):
        fine_tuning_checkpoint(str(tmp_path), 'gpt2')
    assert fine_tuning_checkpoint(str(tmp_path / 'ckpt.pt'), 'backpack-lm')['model_name'] == 'backpack-lm'


def test_resume_with_nothing_to_resume_is_refused_before_anything_is_written(data_root, tmp_path):
    refused = train(data_root, tmp_path / 'typo', '--init_from=resume', check=False)
    assert refused.returncode != 0 and 'Traceback' not in refused.stderr
    assert 'holds no ckpt.pt to resume' in refused.stderr and '--init_from=scratch' in refused.stderr
    assert not (tmp_path / 'typo').exists()


def test_resuming_a_converted_model_is_refused_with_how_to_fine_tune_it(data_root, tmp_path):
    converted = tmp_path / 'converted'
    converted.mkdir()
    save_checkpoint(
        {
            'model': {},
            'model_args': {},
            'model_name': 'backpack-lm',
            'iter_num': 0,
            'config': {'converted_from': 'elsewhere'},
        },
        str(converted / 'ckpt.pt'),
    )
    refused = train(data_root, converted, '--init_from=resume', check=False)
    assert refused.returncode != 0 and 'Traceback' not in refused.stderr
    assert 'no training state to resume' in refused.stderr and f'--init_from={converted}' in refused.stderr


def test_contradictory_starts_are_refused_in_process(tmp_path):
    from common.run_folder import check_start

    argv = ['train.py', f'--out_dir={tmp_path}']
    save_checkpoint({'model': {}, 'model_args': {}, 'model_name': 'gpt2'}, str(tmp_path / 'ckpt.pt'))
    with pytest.raises(UserError, match="init_from='resume' continues the run .* overwrite=True starts"):
        check_start(str(tmp_path), 'resume', True, False, argv)
    check_start(str(tmp_path), 'resume', False, False, argv)
    check_start(str(tmp_path), str(tmp_path / 'replaced-1' / 'ckpt.pt'), True, False, argv)  # an older run's
    for init_from in (str(tmp_path), str(tmp_path / 'ckpt.pt'), str(tmp_path / 'ckpt_2.pt')):
        with pytest.raises(UserError, match='is the checkpoint of out_dir'):
            check_start(str(tmp_path), init_from, True, False, argv)
    logs_only = tmp_path / 'logs_only'
    logs_only.mkdir()
    (logs_only / 'metrics.csv').write_text('iter\n')
    with pytest.raises(UserError, match=r'logs of a run \(metrics.csv\) but no checkpoint.*--overwrite=True'):
        check_start(str(logs_only), 'resume', False, False, argv)
    other_run = str(tmp_path / 'replaced-1')
    with pytest.raises(
        UserError, match='eval_only=True trains and saves nothing.*--init_from=resume --eval_only=True'
    ):
        check_start(str(tmp_path), other_run, True, True, argv)
    check_start(str(tmp_path), 'scratch', True, False, argv)
    check_start(str(tmp_path / 'empty'), other_run, True, True, argv)  # nothing there to move aside
    # an evaluation of random weights, which wrote logs that then blocked a training
    for folder in (tmp_path, tmp_path / 'new'):
        with pytest.raises(
            UserError,
            match=r"eval_only=True evaluates a trained model, but init_from='scratch' "
            r"has none.*--init_from=resume.*--init_from=DIR",
        ):
            check_start(str(folder), 'scratch', False, True, argv)
    assert not (tmp_path / 'new').exists()


def test_a_run_without_a_checkpoint_is_offered_no_resume(tmp_path):
    """A run stopped before its first save has nothing to resume: the refusal of a new run over
    its logs names them and offers --overwrite=True only."""
    from common.run_folder import start_fresh

    argv = ['train.py', f'--out_dir={tmp_path}']
    (tmp_path / 'metrics.csv').write_text('iter\n')
    (tmp_path / 'train_log.csv').write_text('iter\n')
    with pytest.raises(UserError) as refused:
        start_fresh(str(tmp_path), False, argv)
    message = str(refused.value)
    assert 'metrics.csv, train_log.csv' in message and 'no ckpt.pt to resume' in message
    assert '--init_from=resume' not in message and '--overwrite=True' in message
    save_checkpoint({'model': {}, 'model_args': {}, 'model_name': 'gpt2'}, str(tmp_path / 'ckpt.pt'))
    with pytest.raises(UserError, match=r'(?s)holds a previous run .*To continue it:.*--init_from=resume'):
        start_fresh(str(tmp_path), False, argv)


# --- 2. two trainings in one out_dir ---------------------------------------------------------

LOCK_HOLDER = """
import fcntl, os, sys, time
f = open(os.path.join(sys.argv[1], 'train.lock'), 'a+')
fcntl.flock(f, fcntl.LOCK_EX)
f.truncate(0); f.write(f'pid {os.getpid()} on testhost'); f.flush()
print('locked', flush=True)
time.sleep(120)
"""


def hold_lock(out_dir):
    proc = subprocess.Popen(
        [sys.executable, '-c', LOCK_HOLDER, str(out_dir)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline().strip() == 'locked'
    return proc


def test_a_second_training_is_refused_while_the_first_lives(data_root, tmp_path):
    out = tmp_path / 'run'
    out.mkdir()
    holder = hold_lock(out)
    try:
        refused = train(data_root, out, '--max_iters=1', check=False)
        assert refused.returncode != 0 and 'Traceback' not in refused.stderr
        assert f'in use by another training (pid {holder.pid} on testhost)' in refused.stderr
        assert not (out / 'metrics.csv').exists() and not (out / 'ckpt.pt').exists()
    finally:
        holder.kill()
        holder.wait()
    # the holder died without a word (kill -9): its lock went with it
    assert f'pid {holder.pid}' in (out / LOCK_NAME).read_text()
    train(data_root, out, '--max_iters=1', '--eval_interval=1')
    assert f'pid {holder.pid}' not in (out / LOCK_NAME).read_text()


def test_lock_in_process(tmp_path):
    (tmp_path / LOCK_NAME).write_text('pid 999999999 on a host that crashed\n')  # a dead holder
    lock = lock_out_dir(str(tmp_path))
    assert f'pid {os.getpid()}' in (tmp_path / LOCK_NAME).read_text()
    lock.close()  # released: another process may take it
    holder = hold_lock(tmp_path)
    try:
        with pytest.raises(UserError, match=rf'in use by another training \(pid {holder.pid}'):
            lock_out_dir(str(tmp_path))
    finally:
        holder.kill()
        holder.wait()
    lock_out_dir(str(tmp_path)).close()


def test_temporary_files_are_unique_per_writer(tmp_path):
    path = str(tmp_path / 'ckpt.pt')
    a, b = temporary_path(path), temporary_path(path)
    assert a != b and str(os.getpid()) in a and a.startswith(path)


def test_taking_the_lock_removes_what_killed_saves_left(tmp_path, capsys):
    """kill -9 during a save leaves ckpt.pt.<pid>-<hex>.tmp (GBs on real models): the next run
    removes it once it holds the lock, and says so. A live writer's file, a file of its
    pid written before the process started (a reused pid) and other tools' files are told apart."""
    dead = subprocess.run(
        [sys.executable, '-c', 'import os; print(os.getpid())'], capture_output=True, text=True
    ).stdout.strip()
    live = str(os.getpid())
    names = {
        'killed': f'ckpt.pt.{dead}-0e163291.tmp',
        'killed_log': f'metrics.csv.{dead}-00000000.tmp',
        'reused_pid': f'ckpt_last.pt.{live}-11111111.tmp',
        'writing': f'ckpt.pt.{live}-22222222.tmp',
        'other_tool': f'perplexity.md.{dead}-33333333.tmp',
        'not_temporary': f'notes.{dead}-x.tmp',
    }
    for name in names.values():
        (tmp_path / name).write_bytes(b'x' * 3 * 2**20)
    os.utime(tmp_path / names['reused_pid'], (1000, 1000))  # written long before this process began
    lock_out_dir(str(tmp_path)).close()
    kept = set(os.listdir(tmp_path)) - {LOCK_NAME}
    assert kept == {names['writing'], names['other_tool'], names['not_temporary']}
    said = capsys.readouterr().out
    for key in ('killed', 'killed_log', 'reused_pid'):
        assert names[key] in said
    assert '(3.0 MiB)' in said and 'killed run' in said
    lock_out_dir(str(tmp_path)).close()
    assert capsys.readouterr().out == ''  # nothing to remove, nothing said


# --- 3. and every other value out of range, in every script ----------------------------------

# script -> (bad arguments, pieces of the one message: each key with its valid range)
RANGE_TABLE = {
    'train.py': (
        [
            '--grad_clip=-1',
            '--eval_interval=0',
            '--log_interval=0',
            '--eval_iters=-3',
            '--batch_size=0',
            '--block_size=0',
            '--gradient_accumulation_steps=0',
            '--max_iters=0',
            '--learning_rate=-1e-3',
            '--warmup_iters=5000',
            '--lr_decay_iters=100',
            '--dropout=1.0',
            '--beta2=1.5',
            "--init_from=scratchy",
            '--weight_decay=1e999',
            '--n_head=5',
            '--n_sense_vector=5',
            '--out_dir=',
        ],
        [
            '--grad_clip=-1.0: must be >= 0',
            '--eval_interval=0: must be >= 1',
            '--log_interval=0: must be >= 1',
            '--eval_iters=-3: must be >= 1',
            '--batch_size=0: must be >= 1',
            '--block_size=0: must be >= 1',
            '--gradient_accumulation_steps=0: must be >= 1',
            '--max_iters=0: must be >= 1',
            '--learning_rate=-0.001: must be > 0',
            '--warmup_iters=5000: must be >= 0 and < lr_decay_iters (the value of --lr_decay_iters, 100)',
            '--dropout=1.0: must be 0 <= value < 1',
            '--beta2=1.5: must be 0 <= value < 1',
            "--init_from='scratchy': must be one of 'scratch', 'resume', or a folder holding a ckpt.pt "
            "to fine-tune",
            '--weight_decay=inf: must be >= 0',
            '--min_lr=6e-05: must be >= 0 and <= learning_rate (the value of --learning_rate, -0.001)',
            '--n_head=5: must be >= 1 and a divisor of n_embd (the value of --n_embd, 768)',
            '--n_sense_vector=5: must be >= 1 and a divisor of n_embd (the value of --n_embd, 768) in a backpack-lm',
            "--out_dir='': must be not empty",
        ],
    ),
    'sample.py': (
        ['--num_samples=0', '--max_new_tokens=0', '--top_k=-1', '--temperature=-0.5'],
        [
            '--num_samples=0: must be >= 1',
            '--max_new_tokens=0: must be >= 1',
            '--top_k=-1: must be >= 0, or None',
            '--temperature=-0.5: must be >= 0',
        ],
    ),
    'perplexity_per_lang.py': (
        ['--stride=-1', '--batch_size=0', '--max_lines=-5', '--bootstrap_resamples=0', '--split=train'],
        [
            '--stride=-1: must be >= 0',
            '--batch_size=0: must be >= 1',
            '--max_lines=-5: must be >= 0',
            '--bootstrap_resamples=0: must be >= 1',
            "--split='train': must be one of 'test', 'val'",
        ],
    ),
    'cloze_test.py': (
        [
            '--max_items=-1',
            '--k=0',
            '--beam_width=0',
            '--max_word_tokens=0',
            '--batch_size=0',
            '--min_context_words=0',
        ],
        [
            '--max_items=-1: must be >= 0',
            '--k=0: must be >= 1',
            '--beam_width=0: must be >= 1',
            '--max_word_tokens=0: must be >= 1',
            '--batch_size=0: must be >= 1',
            '--min_context_words=0: must be >= 1',
        ],
    ),
    'sense_visualisation.py': (
        [
            '--n_permutations=0',
            '--n_bootstrap=-1',
            '--max_sentences=0',
            '--top_k=0',
            '--analyses=',
            '--multi_token=last',
        ],
        [
            '--n_permutations=0: must be >= 1',
            '--n_bootstrap=-1: must be >= 1',
            '--max_sentences=0: must be >= 1',
            '--top_k=0: must be >= 1',
            "--analyses='': must be not empty",
            "--multi_token='last': must be one of 'first', 'average'",
        ],
    ),
    'bench.py': (
        ['--timed_steps=0', '--batch_size=0'],
        ['--timed_steps=0: must be >= 1', '--batch_size=0: must be >= 1'],
    ),
    'data/bench_prepare.py': (['--tokenize_megabytes=-1'], ['--tokenize_megabytes=-1.0: must be >= 0']),
    'explore.py': (
        ['--port=0', '--cpu_threads=-1', '--dtype=float64'],
        [
            '--port=0: must be 1 <= value <= 65535',
            '--cpu_threads=-1: must be >= 0',
            "--dtype='float64': must be one of 'auto', 'float32', 'bfloat16', 'float16'",
        ],
    ),
    'demo.py': (
        ['--cloze_items=0', '--max_iters=-1'],
        ['--cloze_items=0: must be >= 1', '--max_iters=-1: must be >= 0'],
    ),
    'data/demo/prepare.py': (
        ['--n_sentences=10', '--vocab_size=100'],
        ['--n_sentences=10: must be >= 100', '--vocab_size=100: must be >= 258'],
    ),
    'data/europarl/prepare.py': (
        ['--vocab_size=0', '--num_proc=-1'],
        ['--vocab_size=0: must be >= 258', '--num_proc=-1: must be >= 0'],
    ),
}


@pytest.mark.parametrize('script', sorted(RANGE_TABLE))
def test_values_out_of_range_are_all_reported_at_once(script, tmp_path):
    """In this process (tests/in_process.py): the message is what is pinned here; how a UserError
    ends a script's process (status 1, no traceback) is pinned by each script's own tests."""
    args, expected = RANGE_TABLE[script]
    takes_out_dir = script in (
        'train.py',
        'sample.py',
        'perplexity_per_lang.py',
        'cloze_test.py',
        'sense_visualisation.py',
        'explore.py',
    )
    result = run_in_process(script, *([f'--out_dir={tmp_path}'] if takes_out_dir else []), *args, check=False)
    assert result.returncode != 0 and 'Traceback' not in result.stderr, result.stderr
    assert f'{len(expected)} value(s) out of range' in result.stderr, result.stderr
    for piece in expected:
        assert piece in result.stderr, f"{piece!r} not in:\n{result.stderr}"
    assert not os.listdir(tmp_path)  # nothing was done


def test_an_imported_constant_is_not_a_configuration_key(tmp_path):
    result = run_in_process('train.py', '--CKPT_NAME=other.pt', f'--out_dir={tmp_path}', check=False)
    assert result.returncode != 0 and "unknown key 'CKPT_NAME'" in result.stderr


# --- file-system faults ---------------------------------------------------------------------


def test_full_disk_while_saving_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / 'ckpt.pt'
    save_checkpoint({'iter_num': 1}, str(path))
    before = path.read_bytes()

    def save_until_the_disk_is_full(obj, f):
        with open(f, 'wb') as out:
            out.write(b'x' * 1000)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(torch, 'save', save_until_the_disk_is_full)
    with pytest.raises(UserError, match=r'could not write .*ckpt.pt: the disk is full.*unchanged'):
        save_checkpoint({'iter_num': 2}, str(path))
    assert path.read_bytes() == before and os.listdir(tmp_path) == ['ckpt.pt']  # no partial .tmp


def test_full_disk_during_training_is_a_message_and_leaves_the_last_checkpoint(
    data_root, tmp_path, monkeypatch
):
    saves = []
    real_save = torch.save

    def save(obj, f, *args, **kwargs):
        saves.append(f)
        if len(saves) == 2:  # PyTorch hides the errno of a full disk in a RuntimeError
            with open(f, 'wb') as out:
                out.write(b'partial')
            raise RuntimeError(
                '[enforce fail at inline_container.cc:778] . PytorchStreamWriter failed writing '
                'file data/3: file write failed'
            )
        return real_save(obj, f, *args, **kwargs)

    usage = collections.namedtuple('usage', 'total used free')
    monkeypatch.setattr(torch, 'save', save)
    monkeypatch.setattr('shutil.disk_usage', lambda path: usage(10**9, 10**9, 1000))
    out = tmp_path / 'run'
    result = train(data_root, out, '--max_iters=4', '--eval_interval=2', check=False)
    monkeypatch.undo()
    assert result.returncode != 0 and 'Traceback' not in result.stderr, result.stderr
    assert 'could not write' in result.stderr and 'the disk is full' in result.stderr
    assert load_checkpoint_file(str(out))['iter_num'] == 2  # the first save is intact
    assert not [n for n in os.listdir(out) if n.endswith('.tmp')]


def test_read_only_missing_or_file_output_folders(tmp_path, monkeypatch):
    a_file = tmp_path / 'a_file'
    a_file.write_text('x')
    with pytest.raises(UserError, match='is a file, not a folder'):
        prepare_out_dir(str(a_file))
    with pytest.raises(UserError, match='cannot create out_dir'):
        prepare_out_dir(str(a_file / 'below'))
    prepare_out_dir(str(tmp_path / 'new' / 'nested'))  # missing folders are created
    assert (tmp_path / 'new' / 'nested').is_dir()
    monkeypatch.setattr(os, 'access', lambda path, mode: False)  # the tests may run as root
    with pytest.raises(UserError, match='cannot be written'):
        prepare_out_dir(str(tmp_path))
    monkeypatch.undo()

    real_open = open

    def read_only_open(path, mode='r', *args, **kwargs):
        if 'w' in mode or 'a' in mode:
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), path)
        return real_open(path, mode, *args, **kwargs)

    monkeypatch.setattr('builtins.open', read_only_open)
    with pytest.raises(UserError, match=r'could not write .*report.md: Read-only file system'):
        write_text(str(tmp_path / 'report.md'), 'text')


def test_a_read_only_folder_on_a_small_disk_is_not_called_full(tmp_path, monkeypatch):
    """write_failure looks at the errno before the free space (a 100 KiB read-only tmpfs
    read as a full disk); the free space explains only an error without one (torch.save's)."""
    usage = collections.namedtuple('usage', 'total used free')
    monkeypatch.setattr('shutil.disk_usage', lambda path: usage(100 * 2**10, 0, 100 * 2**10))
    path = str(tmp_path / 'bench.json')
    for code in (errno.EROFS, errno.EACCES, errno.EPERM):
        message = str(write_failure(path, OSError(code, os.strerror(code), path)))
        assert os.strerror(code) in message and 'disk is full' not in message
    for error in (
        OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)),
        OSError(errno.EDQUOT, 'quota'),
        RuntimeError('PytorchStreamWriter failed writing file data/3: file write failed'),
    ):
        assert 'the disk is full' in str(write_failure(path, error))


# --- SIGTERM during an evaluation -----------------------------------------------------------


@pytest.mark.slow
def test_sigterm_during_an_evaluation_stops_within_seconds_and_saves(data_root, tmp_path):
    out = tmp_path / 'run dir'
    train(data_root, out, '--max_iters=2', '--eval_interval=2')
    # resumed at iteration 2, it trains one iteration, then evaluates for a very long time
    cmd = train_command(
        data_root, out, '--max_iters=100', '--eval_interval=3', '--eval_iters=100000000', '--init_from=resume'
    )
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for line in proc.stdout:
        if line.startswith('iter 2:'):
            break
    time.sleep(1)  # inside the evaluation of iteration 3
    sent = time.time()
    proc.send_signal(signal.SIGTERM)
    output, _ = proc.communicate(timeout=60)
    assert time.time() - sent < 30 and proc.returncode == 0, output
    assert load_checkpoint_file(str(out))['iter_num'] == 3
    [resume] = [line for line in output.splitlines() if line.startswith('to resume: ')]
    args = shlex.split(resume[len('to resume: ') :])
    assert args[:2] == ['python', 'train.py'] and f'--out_dir={out}' in args
    assert f'--data_root={data_root}' in args and args[-1] == '--init_from=resume'


# --- text input -----------------------------------------------------------------------------


def test_text_files_other_encodings_and_line_ends(tmp_path):
    from common.text_input import read_text_lines

    path = tmp_path / 'words.txt'
    path.write_bytes(b'\xef\xbb\xbfbank\r\nbanque\rvol\n')  # a BOM, CRLF and a CR-only line end
    assert read_text_lines(str(path)) == ['bank', 'banque', 'vol']
    path.write_bytes('bank\ncaf\xe9 cr\xe8me\n'.encode('latin-1'))
    with pytest.raises(UserError, match=r'words.txt, line 2, column 4: byte 0xe9 is not UTF-8.*iconv'):
        read_text_lines(str(path), '--words_file')
    path.write_bytes('bank\n'.encode('utf-16'))
    with pytest.raises(UserError, match=r'is UTF-16, not UTF-8'):
        read_text_lines(str(path))
    with pytest.raises(UserError, match=r'--words_file .*nowhere.txt: no such file'):
        read_text_lines(str(tmp_path / 'nowhere.txt'), '--words_file')


# --- prepared data --------------------------------------------------------------------------


def test_prepared_data_is_checked_before_training(tmp_path):
    import numpy as np

    from data.prepared import PreparedData

    write_synthetic_dataset(str(tmp_path), 'synth', vocab_size=96)
    tokens = np.fromfile(tmp_path / 'synth' / 'fr_val.bin', dtype=np.uint16)
    tokens[1234] = 300  # an id beyond the vocabulary of meta.json
    tokens.tofile(tmp_path / 'synth' / 'fr_val.bin')
    with pytest.raises(
        UserError, match=r'fr_val.bin holds token id 300 \(first bad id at token 1,234\).*96 ids'
    ):
        PreparedData(str(tmp_path), ['synth'])
    (tmp_path / 'synth' / 'fr_val.bin').write_bytes(b'\x01\x00\x02')  # half a token at the end
    with pytest.raises(UserError, match=r'fr_val.bin is 3 bytes, not a whole number of uint16 tokens'):
        PreparedData(str(tmp_path), ['synth'])
    (tmp_path / 'synth' / 'fr_val.bin').unlink()
    (tmp_path / 'synth' / 'fr_train.bin').unlink()  # today: it would train on English only
    with pytest.raises(UserError, match=r"dataset 'synth' lacks .*fr_train.bin .*en, fr"):
        PreparedData(str(tmp_path), ['synth'])


def test_a_dataset_name_with_a_typo_names_the_prepared_ones(tmp_path):
    from data.prepared import PreparedData

    write_synthetic_dataset(str(tmp_path), 'synth')
    with pytest.raises(UserError, match=r"no dataset 'snyth' under .*did you mean 'synth'"):
        PreparedData(str(tmp_path), ['snyth'])
    with pytest.raises(UserError, match=r"'other' is not prepared.*prepared under .*: synth"):
        PreparedData(str(tmp_path), ['other'])


def test_full_disk_while_preparing_a_dataset_leaves_no_temporary_file(tmp_path, monkeypatch):
    from test_parallel_corpus import EN, FR

    from data import parallel_corpus
    from data.bpe import train_bpe_tokenizer

    tok = train_bpe_tokenizer(
        {'en': EN * 20, 'fr': FR * 20},
        vocab_size=300,
        name='full-disk',
        data_root=str(tmp_path),
        verbose=False,
    )
    raw = {'en': tmp_path / 'a.en', 'fr': tmp_path / 'a.fr'}
    raw['en'].write_text('\n'.join(EN * 50) + '\n')
    raw['fr'].write_text('\n'.join(FR * 50) + '\n')

    class FullDisk:  # the held-out text files fill the disk
        def __init__(self, f):
            self.f = f

        def write(self, data):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        def close(self):
            self.f.close()

    def open_on_a_full_disk(path, mode='r', *args, **kwargs):
        f = open(path, mode, *args, **kwargs)
        return FullDisk(f) if '_val.txt' in str(path) else f

    monkeypatch.setattr(parallel_corpus, 'open', open_on_a_full_disk, raising=False)
    out = tmp_path / 'out'
    with pytest.raises(UserError, match='the disk is full'):
        parallel_corpus.prepare_parallel_corpus(
            str(out),
            {k: str(v) for k, v in raw.items()},
            tok,
            data_root=str(tmp_path),
            num_proc=1,
            verbose=False,
        )
    assert os.listdir(out) == []
