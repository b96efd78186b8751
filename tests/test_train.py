"""train.py end to end, on small generated datasets: learning, exact resume, DDP, interruption,
divergence, logs, and the errors a user can meet."""

import csv
import math
import os
import signal
import subprocess
import sys
import time

import pytest
import torch
from in_process import run_in_process
from synthetic_data import markov_tokens, unigram_entropy, write_synthetic_dataset

from common.checkpoint import load_checkpoint_file, load_model, resume_changes_text
from common.errors import UserError
from common.languages import language_name
from common.training_log import (
    closing_text,
    evaluation_text,
    language_colors,
    plot_losses,
    sampling_text,
    validation_text,
)
from data.prepared import PreparedData

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = [
    '--n_layer=1',
    '--n_head=2',
    '--n_embd=32',
    '--n_sense_vector=4',
    '--block_size=32',
    '--batch_size=8',
    '--gradient_accumulation_steps=1',
    '--eval_iters=2',
    '--warmup_iters=5',
    '--log_interval=1',
]


@pytest.fixture(scope='module')
def data_root(tmp_path_factory):
    root = tmp_path_factory.mktemp('data')
    write_synthetic_dataset(str(root), 'synth')
    return str(root)


def train(data_root, out_dir, *args, check=True, env=None, launcher=None):
    """train.py on the synthetic data with the TINY model: in this process (tests/in_process.py),
    or, with a launcher (e.g. torchrun, or [sys.executable] for a process of its own) or an
    environment, in a new process."""
    train_args = [
        f'--data_root={data_root}',
        '--list_of_datasets=synth',
        f'--out_dir={out_dir}',
        *TINY,
        *args,
    ]
    if launcher is None and env is None:
        return run_in_process('train.py', *train_args, check=check)
    cmd = (launcher or [sys.executable]) + ['train.py', *train_args]
    result = subprocess.run(
        cmd, cwd=REPO, capture_output=True, text=True, timeout=300, env={**os.environ, **(env or {})}
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"train.py failed ({result.returncode}):\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )
    return result


def read_csv(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def iteration_losses(out_dir):
    return [float(r['loss']) for r in read_csv(os.path.join(out_dir, 'train_log.csv'))]


@pytest.mark.parametrize('model_name,lr', [('gpt2', '1e-2'), ('backpack-lm', '3e-2')])
def test_training_learns_far_below_the_unigram_entropy(data_root, tmp_path, model_name, lr):
    out = tmp_path / model_name
    train(
        data_root,
        out,
        f'--model_name={model_name}',
        '--max_iters=200',
        '--eval_interval=100',
        f'--learning_rate={lr}',
        '--lr_decay_iters=200',
        '--eval_iters=4',
    )
    tokens = markov_tokens(20000, 96, 3, __import__('numpy').random.default_rng(0))
    entropy = unigram_entropy(tokens, 96)
    rows = read_csv(out / 'metrics.csv')
    assert [int(r['iter']) for r in rows] == [0, 100, 200]
    assert float(rows[0]['val_loss']) > 0.95 * entropy  # starts near uniform
    assert float(rows[-1]['val_loss']) < 0.5 * entropy
    for lang in ('en', 'fr'):
        assert float(rows[-1][f'val_loss_{lang}']) < 0.6 * entropy
    assert (out / 'loss.png').stat().st_size > 1000
    model, ckpt = load_model(str(out))
    assert ckpt['model_name'] == model_name and ckpt['iter_num'] == 200
    assert ckpt['config']['learning_rate'] == float(lr)
    assert ckpt['data']['vocab_size'] == 96 and model.config.vocab_size == 96
    assert ckpt['data']['tokenizer']['name'] == 'synthetic'


@pytest.mark.parametrize('model_name', ['gpt2', 'backpack-lm'])
def test_resume_is_exact(data_root, tmp_path, model_name):
    """N iterations in one run equal N/2, then a resumed N/2 (float32 on CPU, dropout on)."""
    args = [
        f'--model_name={model_name}',
        '--eval_interval=10',
        '--lr_decay_iters=30',
        '--learning_rate=3e-3',
        '--dropout=0.1',
        '--gradient_accumulation_steps=2',
    ]
    train(data_root, tmp_path / 'whole', *args, '--max_iters=30')
    train(data_root, tmp_path / 'halves', *args, '--max_iters=15', '--eval_interval=5')
    resumed = train(data_root, tmp_path / 'halves', *args, '--max_iters=30', '--init_from=resume')
    assert 'resuming from' in resumed.stdout
    assert 'no longer an exact resume' not in resumed.stdout  # max_iters and eval_interval changed
    whole, halves = iteration_losses(tmp_path / 'whole'), iteration_losses(tmp_path / 'halves')
    assert len(whole) == len(halves) == 30
    for a, b in zip(whole, halves):
        assert abs(a - b) <= 1e-6
    # the resumed run's evaluations continue the same way too
    val = {r['iter']: float(r['val_loss']) for r in read_csv(tmp_path / 'whole' / 'metrics.csv')}
    val_halves = {r['iter']: float(r['val_loss']) for r in read_csv(tmp_path / 'halves' / 'metrics.csv')}
    for it in ('20', '30'):
        assert abs(val[it] - val_halves[it]) <= 1e-6


@pytest.mark.slow
def test_ddp_two_processes_match_one_process(data_root, tmp_path):
    """2 CPU processes (Gloo) with the same global batch see the same sequences as one process;
    losses agree within float tolerance (the gradient all-reduce sums in another order)."""
    args = [
        '--model_name=backpack-lm',
        '--gradient_accumulation_steps=4',
        '--max_iters=8',
        '--eval_interval=8',
        '--learning_rate=1e-3',
        '--lr_decay_iters=8',
    ]
    train(data_root, tmp_path / 'one', *args)
    torchrun = [sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node=2']
    train(data_root, tmp_path / 'two', *args, launcher=torchrun, env={'OMP_NUM_THREADS': '1'})
    one, two = iteration_losses(tmp_path / 'one'), iteration_losses(tmp_path / 'two')
    assert len(one) == len(two) == 8
    for a, b in zip(one, two):
        assert abs(a - b) < 1e-4 * abs(a)
    val_one = float(read_csv(tmp_path / 'one' / 'metrics.csv')[-1]['val_loss'])
    val_two = float(read_csv(tmp_path / 'two' / 'metrics.csv')[-1]['val_loss'])
    assert abs(val_one - val_two) < 1e-4 * val_one
    # a global number of micro-steps that the processes cannot share is refused
    bad = train(
        data_root,
        tmp_path / 'bad',
        '--gradient_accumulation_steps=3',
        '--max_iters=1',
        launcher=torchrun,
        check=False,
        env={'OMP_NUM_THREADS': '1'},
    )
    assert (
        bad.returncode != 0 and 'must be divisible by the number of processes (2)' in bad.stdout + bad.stderr
    )


@pytest.mark.slow
@pytest.mark.parametrize('signum,exit_code', [(signal.SIGTERM, 0), (signal.SIGINT, 130)])
def test_sigterm_or_ctrl_c_saves_a_resumable_checkpoint(data_root, tmp_path, signum, exit_code):
    """Both save; Ctrl-C then exits 130 (unfinished, so a chained evaluation does not go on), a
    scheduler's SIGTERM 0."""
    out = tmp_path / 'run'
    cmd = [
        sys.executable,
        'train.py',
        f'--data_root={data_root}',
        '--list_of_datasets=synth',
        f'--out_dir={out}',
        *TINY,
        '--max_iters=1000000',
        '--eval_interval=100000',
    ]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.time() + 120
    for line in proc.stdout:  # wait until training is under way
        if line.startswith('iter 3:') or time.time() > deadline:
            break
    proc.send_signal(signum)
    output, _ = proc.communicate(timeout=120)
    assert proc.returncode == exit_code, output
    assert f'{signal.Signals(signum).name} received' in output and '--init_from=resume' in output
    assert 'Traceback' not in output
    ckpt = load_checkpoint_file(str(out))
    done = len(iteration_losses(out))
    assert ckpt['iter_num'] == done >= 4
    resumed = train(data_root, out, f'--max_iters={done + 3}', '--eval_interval=100000', '--init_from=resume')
    assert 'resuming from' in resumed.stdout
    assert len(iteration_losses(out)) == done + 3


def test_diverging_loss_stops_the_run_and_keeps_the_last_good_checkpoint(data_root, tmp_path):
    out = tmp_path / 'run'
    train(data_root, out, '--max_iters=4', '--eval_interval=2')
    before = (out / 'ckpt.pt').read_bytes()
    result = train(
        data_root,
        out,
        '--max_iters=40',
        '--eval_interval=2',
        '--init_from=resume',
        '--learning_rate=1e12',
        '--grad_clip=0.0',
        '--warmup_iters=0',
        '--decay_lr=False',
        check=False,
    )
    assert result.returncode != 0
    assert 'diverged' in result.stderr and 'last good checkpoint' in result.stderr
    assert (
        'learning_rate 0.0006 -> 1000000000000.0' in result.stdout and 'grad_clip 1.0 -> 0.0' in result.stdout
    )
    assert 'no longer an exact resume' in result.stdout
    assert (out / 'ckpt.pt').read_bytes() == before


def test_truncated_checkpoint_is_a_clear_error(data_root, tmp_path):
    out = tmp_path / 'run'
    train(data_root, out, '--max_iters=2', '--eval_interval=2', '--backup_checkpoint_step=2')
    assert (out / 'ckpt_2.pt').exists()
    data = (out / 'ckpt.pt').read_bytes()
    (out / 'ckpt.pt').write_bytes(data[: len(data) // 2])
    with pytest.raises(UserError, match=r'not a readable checkpoint.*ckpt_2.pt'):
        load_checkpoint_file(str(out))
    result = train(data_root, out, '--max_iters=4', '--init_from=resume', check=False)
    assert result.returncode != 0 and 'not a readable checkpoint (truncated or corrupt?' in result.stderr
    assert 'Traceback' not in result.stderr
    with pytest.raises(UserError, match='no checkpoint at'):
        load_checkpoint_file(str(tmp_path / 'nowhere'))


def test_resume_with_another_shape_or_tokenizer_is_refused(data_root, tmp_path):
    out = tmp_path / 'run'
    train(data_root, out, '--max_iters=2', '--eval_interval=2')
    result = train(data_root, out, '--max_iters=4', '--init_from=resume', '--n_embd=64', check=False)
    assert result.returncode != 0 and 'n_embd=32 in the checkpoint but 64 now' in result.stderr
    other = tmp_path / 'other_data'
    write_synthetic_dataset(
        str(other),
        'synth',
        tokenizer={'name': 'another', 'sha256': '1' * 64, 'path': 'tokenizers/another.tiktoken'},
    )
    result = train(str(other), out, '--max_iters=4', '--init_from=resume', check=False)
    assert result.returncode != 0 and 'trained with tokenizer synthetic' in result.stderr
    result = train(data_root, out, '--max_iters=4', '--init_from=resume', '--model_name=gpt2', check=False)
    assert result.returncode != 0 and "holds a 'backpack-lm' model" in result.stderr


def test_a_resume_with_changed_training_keys_says_it_is_no_longer_exact():
    """docs/training.md promises exact resume; a changed key that draws other batches or makes
    other updates is named, old -> new. A longer max_iters is what a resume is for: no word."""
    saved = {
        'learning_rate': 6e-4,
        'seed': 1337,
        'xlm_alpha': 0.3,
        'batch_size': 12,
        'gradient_accumulation_steps': 40,
        'list_of_datasets': ['europarl'],
        'lr_decay_iters': 1000,
        'warmup_iters': 100,
        'max_iters': 1000,
        'eval_interval': 100,
        'device': 'cuda',
    }
    assert resume_changes_text(saved, dict(saved, max_iters=5000, eval_interval=50, device='cpu')) == ''
    changed = dict(
        saved,
        learning_rate=1e-2,
        seed=1,
        xlm_alpha=1.0,
        batch_size=6,
        gradient_accumulation_steps=80,
        list_of_datasets=['europarl', 'multiun'],
        lr_decay_iters=5000,
        warmup_iters=0,
    )
    text = resume_changes_text(saved, changed)
    for piece in (
        'learning_rate 0.0006 -> 0.01',
        'seed 1337 -> 1',
        'xlm_alpha 0.3 -> 1.0',
        'batch_size 12 -> 6',
        'gradient_accumulation_steps 40 -> 80',
        "list_of_datasets ['europarl'] -> ['europarl', 'multiun']",
        'lr_decay_iters 1000 -> 5000',
        'warmup_iters 100 -> 0',
        'no longer an exact resume',
    ):
        assert piece in text, text
    assert 'max_iters' not in text
    assert resume_changes_text({}, changed) == ''  # a checkpoint that saved no configuration


def test_languages_without_validation_data_are_named_before_training(tmp_path):
    """Data with no validation tokens in a language trained without a word that its
    validation loss would never be measured."""
    write_synthetic_dataset(str(tmp_path), 'en_val', languages=('en',))
    write_synthetic_dataset(str(tmp_path), 'fr_no_val', languages=('fr',), n_heldout=20, seed=1)
    assert validation_text(PreparedData(str(tmp_path), ['en_val']), 32) == ''
    text = validation_text(PreparedData(str(tmp_path), ['en_val', 'fr_no_val']), 32)
    assert 'French (fr)' in text and 'English' not in text and 'will not be measured' in text
    text = validation_text(PreparedData(str(tmp_path), ['fr_no_val']), 32)
    assert 'French (fr)' in text and 'no validation loss will be measured' in text


def test_the_last_line_claims_only_the_checkpoints_written():
    """An evaluation alone said 'done: checkpoint and logs in DIR' with no checkpoint there."""
    assert closing_text('out', []) == (
        'done: logs in out (metrics.csv, train_log.csv, loss.png); this run wrote no checkpoint'
    )
    assert closing_text('out', ['ckpt.pt', 'ckpt.pt', 'ckpt_4.pt']).startswith(
        'done: ckpt.pt, ckpt_4.pt and logs in out'
    )


def test_data_errors_name_the_fix(tmp_path):
    with pytest.raises(UserError, match=r'python data/demo/prepare.py'):
        PreparedData(str(tmp_path), ['demo'])
    with pytest.raises(UserError, match=r'get_data.sh europarl'):
        PreparedData(str(tmp_path), ['europarl'])
    write_synthetic_dataset(str(tmp_path), 'a')
    write_synthetic_dataset(str(tmp_path), 'b', tokenizer={'name': 'other', 'sha256': 'f' * 64, 'path': 'x'})
    with pytest.raises(UserError, match=r"'a' and 'b' were made with different tokenizers"):
        PreparedData(str(tmp_path), ['a', 'b'])


def test_batches_depend_on_seed_step_and_micro_step_only(tmp_path):
    write_synthetic_dataset(str(tmp_path), 'a', vocab_size=300, dtype='uint16', seed=1)
    write_synthetic_dataset(str(tmp_path), 'b', vocab_size=300, languages=('en',), n_train=60000, seed=2)
    data = PreparedData(str(tmp_path), ['a', 'b'])
    x1, y1 = data.get_batch('train', 8, 16, seed=5, step=3, micro_step=1, xlm_alpha=0.5)
    x2, y2 = PreparedData(str(tmp_path), ['a', 'b']).get_batch(
        'train', 8, 16, seed=5, step=3, micro_step=1, xlm_alpha=0.5
    )
    assert torch.equal(x1, x2) and torch.equal(y1[:, :-1], x1[:, 1:])
    x3, _ = data.get_batch('train', 8, 16, seed=5, step=3, micro_step=2, xlm_alpha=0.5)
    assert not torch.equal(x1, x3)
    # xlm_alpha smoothing: en has 80k training tokens (a: 20k, b: 60k), fr 20k
    q = data.language_probabilities(0.5)
    assert q['en'] == pytest.approx(math.sqrt(0.8) / (math.sqrt(0.8) + math.sqrt(0.2)))
    assert data.language_probabilities(0.0) == pytest.approx({'en': 0.5, 'fr': 0.5})
    assert data.language_probabilities(1.0) == pytest.approx({'en': 0.8, 'fr': 0.2})


TEN_LANGUAGES = ('bg', 'cs', 'da', 'de', 'el', 'en', 'es', 'fi', 'fr', 'xx')  # xx: no known name


def test_ten_languages_are_sampled_evaluated_and_plotted_readably(tmp_path):
    write_synthetic_dataset(str(tmp_path), 'many', languages=TEN_LANGUAGES, n_train=4000, n_heldout=400)
    write_synthetic_dataset(
        str(tmp_path), 'pair', languages=('en', 'fr'), n_train=12000, n_heldout=400, seed=1
    )
    data = PreparedData(str(tmp_path), ['many', 'pair'])
    sampling = sampling_text(data, 0.3).splitlines()
    assert sampling[0].startswith('languages sampled (xlm_alpha=0.3)') and len(sampling) == 11
    rows = {line.split('(')[0].strip(): line for line in sampling[1:]}
    assert sorted(rows) == sorted(language_name(lang) for lang in TEN_LANGUAGES)
    # English: 16k of the 64k training tokens; the token share, then the smoothed probability
    q = data.language_probabilities(0.3)
    assert rows['English'].endswith(f"{0.25:6.1%} -> {q['en']:6.1%}  (many, pair)")
    assert rows['xx'].endswith('(many)')
    losses = {
        'train_loss': 4.0,
        'val_loss': 4.1,
        **{f'val_loss_{lang}': 4.0 + i / 100 for i, lang in enumerate(TEN_LANGUAGES)},
    }
    text = evaluation_text(300, losses).splitlines()
    assert text[0] == 'step 300: train loss 4.0000, val loss 4.1000'
    assert text[1].startswith('  val loss by language: Bulgarian 4.0000,') and len(text) > 2
    assert all(len(line) <= 100 for line in text) and 'xx 4.0900' in text[-1]
    # loss.png: a curve per language, each named in the legend
    metrics = [{'iter': i, **losses} for i in (0, 100)]
    plot_losses(metrics, [{'iter': i, 'loss': 4.0} for i in range(100)], tmp_path / 'loss.png')
    assert (tmp_path / 'loss.png').stat().st_size > 1000
    assert len(set(language_colors(10))) == 10 and len(set(language_colors(20))) == 20


def test_wandb_offline_and_bfloat16(data_root, tmp_path):
    """wandb logging works without network (WANDB_MODE=offline), and bfloat16 autocast on CPU."""
    pytest.importorskip('wandb')
    out = tmp_path / 'run'
    train(
        data_root,
        out,
        '--max_iters=3',
        '--eval_interval=3',
        '--wandb_log=True',
        '--dtype=bfloat16',
        env={'WANDB_MODE': 'offline', 'WANDB_SILENT': 'true'},
    )
    assert any(p.name.startswith('offline-run') for p in (out / 'wandb').iterdir())
    assert math.isfinite(iteration_losses(out)[-1])


@pytest.mark.slow
@pytest.mark.parametrize('model_name', ['gpt2', 'backpack-lm'])
def test_torch_compile_with_bfloat16_autocast(data_root, tmp_path, model_name):
    """compile=True and bfloat16 autocast together (on CPU here): the run trains, evaluates and
    saves a checkpoint whose weights load into an uncompiled model."""
    out = tmp_path / model_name
    train(
        data_root,
        out,
        f'--model_name={model_name}',
        '--max_iters=4',
        '--eval_interval=4',
        '--compile=True',
        '--dtype=bfloat16',
        launcher=[sys.executable],  # compiled graphs stay out of the test's process
    )
    losses = iteration_losses(out)
    assert len(losses) == 4 and all(math.isfinite(loss) for loss in losses)
    rows = read_csv(out / 'metrics.csv')
    assert [int(r['iter']) for r in rows] == [0, 4] and math.isfinite(float(rows[-1]['val_loss']))
    model, ckpt = load_model(str(out))
    assert ckpt['config']['compile'] is True and ckpt['model_name'] == model_name
    assert not any(key.startswith('_orig_mod.') for key in ckpt['model'])


def test_user_mistakes_get_clear_messages(data_root, tmp_path):
    result = train(data_root, tmp_path / 'x', '--n_embd=30', '--max_iters=1', check=False)
    assert (
        result.returncode != 0 and '--n_sense_vector=4: must be >= 1 and a divisor of n_embd' in result.stderr
    )
    result = train(data_root, tmp_path / 'x', '--device=cuda', '--max_iters=1', check=False)
    if not torch.cuda.is_available():
        assert result.returncode != 0 and 'no CUDA GPU' in result.stderr
    result = train(data_root, tmp_path / 'x', '--dtype=float16', '--device=cpu', check=False)
    assert result.returncode != 0 and 'float16 needs a GPU' in result.stderr
    result = train(data_root, tmp_path / 'x', '--lerning_rate=1', check=False)
    assert result.returncode != 0 and 'Did you mean learning_rate' in result.stderr
