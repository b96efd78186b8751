"""
The out_dir of a training run, guarded so that no run loses another's work:
- one training at a time: train.py holds an exclusive lock on out_dir/train.lock while it runs
  (fcntl.flock: the operating system releases it when the process ends, however it ends, so a
  crashed or killed run never leaves it stuck); the file says which process holds it. Once it
  holds the lock, a run removes the temporary files of the saves of runs that were killed
  (`ckpt.pt.<pid>-<hex>.tmp`: no other writer of these files can be alive);
- no new run over a previous one: init_from='scratch' into an out_dir that holds a checkpoint or
  logs is refused, with the command that resumes it (when it has a checkpoint); overwrite=True
  starts over on purpose and moves the previous run's files into out_dir/replaced-<time>/
  (nothing is deleted);
- no start that contradicts itself: resuming with nothing to resume, resuming and overwriting at
  once, fine-tuning the checkpoint of out_dir itself (a new run there would first move it aside),
  overwriting for an evaluation alone, or evaluating an untrained model are refused before
  anything is written (check_start);
- how far a run got (run_progress), for a caller that resumes it rather than start over, and the
  removal of a tool's named outputs from a folder it shares with others (remove_outputs).
"""

from __future__ import annotations

import fcntl
import os
import shlex
import shutil
import socket
import time
from collections.abc import Collection, Mapping, Sequence
from typing import IO, Any

from common.atomic_files import remove_stale_temporaries
from common.checkpoint import CKPT_NAME, checkpoint_path, load_checkpoint_file, resume_checkpoint_path
from common.errors import UserError

LOCK_NAME = 'train.lock'
LOG_NAMES = ('metrics.csv', 'train_log.csv', 'loss.png')


def prepare_out_dir(out_dir: str, key: str = 'out_dir') -> None:
    """Create the output folder out_dir (and its parents), or say why it cannot be written; key:
    the configuration key that named it."""
    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        raise UserError(f"{key}={out_dir} is a file, not a folder: choose another --{key}")
    try:
        os.makedirs(out_dir, exist_ok=True)
    except OSError as e:
        raise UserError(
            f"cannot create {key}={out_dir}: {e.strerror} ({e.filename}). "
            f"Choose a --{key} in a folder you can write to."
        )
    if not os.access(out_dir, os.W_OK | os.X_OK):
        raise UserError(
            f"{key}={out_dir} cannot be written (read-only file system or no "
            f"permission): choose a --{key} you can write to"
        )


def lock_out_dir(out_dir: str) -> IO[str]:
    """Take the exclusive lock of out_dir, or refuse when another live process holds it. Returns
    the open lock file: keep it open for as long as the run lasts."""
    path = os.path.join(out_dir, LOCK_NAME)
    try:
        f = open(path, 'a+')
    except OSError as e:
        raise UserError(f"cannot create the lock file {path}: {e.strerror}")
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        f.seek(0)
        holder = f.read().strip() or 'another process'
        f.close()
        raise UserError(
            f"{out_dir} is in use by another training ({holder}): two runs in one out_dir would "
            f"overwrite each other's checkpoint and logs. Wait until it ends (or stop it), or "
            f"choose another --out_dir."
        )
    f.seek(0)
    f.truncate()
    f.write(f"pid {os.getpid()} on {socket.gethostname()}, since {time.strftime('%Y-%m-%d %H:%M:%S')}\n")
    f.flush()
    removed = remove_stale_temporaries(out_dir, is_run_file)
    if removed:
        print(
            f"removed from {out_dir} what the saves of a killed run left half-written: "
            + ', '.join(f"{name} ({size / 2**20:,.1f} MiB)" for name, size in removed)
        )
    return f


def is_run_file(name: str) -> bool:
    """Whether name is a checkpoint or a log of a training run (what the lock guards)."""
    return (name.startswith('ckpt') and name.endswith('.pt')) or name in LOG_NAMES


def previous_run_files(out_dir: str) -> list[str]:
    """The checkpoints and logs of a run in out_dir (names, sorted)."""
    return sorted(name for name in os.listdir(out_dir) if is_run_file(name))


def resume_command(argv: Sequence[str]) -> str:
    """The command line that resumes this run, quoted so that it pastes back into a shell."""
    args = [a for a in argv if not a.startswith(('--init_from=', '--overwrite='))]
    return shlex.join(['python'] + args + ['--init_from=resume'])


def check_start(out_dir: str, init_from: str, overwrite: bool, eval_only: bool, argv: Sequence[str]) -> None:
    """Refuse, before anything is written, a start whose init_from, out_dir and overwrite would
    lose a run or fail after moving it: resume with no checkpoint in out_dir, resume together with
    overwrite=True, fine-tune (init_from=DIR) a checkpoint of out_dir itself, or move a run aside
    for an evaluation (eval_only=True), which trains and saves nothing, or evaluate
    (eval_only=True) the untrained model of init_from='scratch'."""
    if eval_only and init_from == 'scratch':
        raise UserError(
            "eval_only=True evaluates a trained model, but init_from='scratch' has none (it would "
            "score random weights). Evaluate the run in out_dir with --init_from=resume, or a "
            "checkpoint elsewhere with --init_from=DIR; perplexity_per_lang.py and cloze_test.py "
            "evaluate checkpoints too."
        )
    if eval_only and overwrite and os.path.isdir(out_dir) and previous_run_files(out_dir):
        raise UserError(
            f"eval_only=True trains and saves nothing, but overwrite=True would move the run in "
            f"out_dir={out_dir} aside for it. To evaluate that run, use --init_from=resume "
            f"--eval_only=True without --overwrite; to evaluate another model, choose another --out_dir."
        )
    if init_from == 'resume':
        if overwrite:
            raise UserError(
                f"init_from='resume' continues the run in out_dir={out_dir} but overwrite=True starts "
                f"a new one over it: drop --overwrite=True to resume, or drop --init_from=resume to "
                f"start over (the previous files are moved aside)"
            )
        if not os.path.isfile(resume_checkpoint_path(out_dir)):
            previous = previous_run_files(out_dir) if os.path.isdir(out_dir) else []
            if previous:
                raise UserError(
                    f"out_dir={out_dir} holds the logs of a run ({', '.join(previous)}) but no "
                    f"checkpoint to resume: it stopped before its first save. Start it over with "
                    f"--init_from=scratch --overwrite=True (the logs are moved aside)"
                )
            raise UserError(
                f"init_from='resume' but out_dir={out_dir} holds no {CKPT_NAME} to "
                f"resume: check --out_dir, or start a new run with --init_from=scratch"
            )
    elif init_from != 'scratch' and (
        os.path.dirname(os.path.realpath(checkpoint_path(init_from))) == os.path.realpath(out_dir)
    ):
        raise UserError(
            f"init_from={init_from} is the checkpoint of out_dir={out_dir} itself: a new run there "
            f"would first move it aside. To continue that run:\n  {resume_command(argv)}\n"
            f"To fine-tune its model into a new run, choose another --out_dir."
        )


def start_fresh(out_dir: str, overwrite: bool, argv: Sequence[str]) -> None:
    """Before a new run (from scratch, or fine-tuning another run's model): refuse when out_dir
    holds a previous run, unless overwrite, which moves that run's files aside into
    out_dir/replaced-<time>/. The refusal offers a resume only when there is a checkpoint."""
    previous = previous_run_files(out_dir)
    if not previous:
        return
    if not overwrite:
        if os.path.isfile(resume_checkpoint_path(out_dir)):
            held = (
                f"a previous run ({', '.join(previous)}) and a new run would replace it. "
                f"To continue it:\n  {resume_command(argv)}\n"
            )
        else:  # stopped before its first save: a resume would fail
            held = (
                f"a previous run ({', '.join(previous)}) with no {CKPT_NAME} to resume, and a "
                f"new run would replace it. "
            )
        raise UserError(
            f"out_dir={out_dir} holds {held}"
            f"To start over on purpose, add --overwrite=True (the previous files are moved to "
            f"{out_dir}/replaced-<time>/), or choose another --out_dir."
        )
    aside = os.path.join(out_dir, f"replaced-{time.strftime('%Y%m%d-%H%M%S')}")
    os.makedirs(aside, exist_ok=True)
    for name in previous:
        os.replace(os.path.join(out_dir, name), os.path.join(aside, name))
    print(
        f"overwrite=True: the previous run's files ({', '.join(previous)}) were moved to {aside}; "
        f"delete it when you no longer need them"
    )


def run_progress(out_dir: str, settings: Mapping[str, Any], tokenizer: Mapping[str, Any]) -> int | None:
    """The next iteration of the run in out_dir (its checkpoint's iter_num) when that run was
    trained with these settings (training configuration values, e.g. seed, max_iters) on data of
    this tokenizer (its identity); None when out_dir holds no readable checkpoint, or another run's."""
    path = resume_checkpoint_path(out_dir)
    if not os.path.isfile(path):
        return None
    try:
        checkpoint = load_checkpoint_file(path)
    except UserError:
        return None
    saved = checkpoint.get('config', {})
    if checkpoint.get('data', {}).get('tokenizer') != tokenizer or any(
        saved.get(key) != value for key, value in settings.items()
    ):
        return None
    return checkpoint['iter_num']


def remove_outputs(folder: str, outputs: Collection[str]) -> tuple[list[str], list[str]]:
    """Remove the outputs a tool wrote in folder (names of files or folders in it), and nothing
    else. Returns (removed, kept): the names removed, and the other names in folder, left as they
    were."""
    if not os.path.isdir(folder):
        return [], []
    removed, kept = [], []
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        if name not in outputs:
            kept.append(name)
        elif os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
            removed.append(name)
        else:
            os.remove(path)
            removed.append(name)
    return removed, kept
