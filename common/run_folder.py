"""
The out_dir of a training run, guarded so that no run loses another's work:
- one training at a time: train.py holds an exclusive lock on out_dir/train.lock while it runs
  (fcntl.flock: the operating system releases it when the process ends, however it ends, so a
  crashed or killed run never leaves it stuck); the file says which process holds it;
- no new run over a previous one: init_from='scratch' into an out_dir that holds a checkpoint or
  logs is refused, with the command that resumes it; overwrite=True starts over on purpose and
  moves the previous run's files into out_dir/replaced-<time>/ (nothing is deleted).
"""

import fcntl
import os
import shlex
import socket
import time
from common.errors import UserError

LOCK_NAME = 'train.lock'
LOG_NAMES = ('metrics.csv', 'train_log.csv', 'loss.png')


def prepare_out_dir(out_dir, key='out_dir'):
    """Create the output folder out_dir (and its parents), or say why it cannot be written; key:
    the configuration key that named it."""
    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        raise UserError(f"{key}={out_dir} is a file, not a folder: choose another --{key}")
    try:
        os.makedirs(out_dir, exist_ok=True)
    except OSError as e:
        raise UserError(f"cannot create {key}={out_dir}: {e.strerror} ({e.filename}). "
                          f"Choose a --{key} in a folder you can write to.")
    if not os.access(out_dir, os.W_OK | os.X_OK):
        raise UserError(f"{key}={out_dir} cannot be written (read-only file system or no "
                          f"permission): choose a --{key} you can write to")


def lock_out_dir(out_dir):
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
            f"choose another --out_dir.")
    f.seek(0)
    f.truncate()
    f.write(f"pid {os.getpid()} on {socket.gethostname()}, since {time.strftime('%Y-%m-%d %H:%M:%S')}\n")
    f.flush()
    return f


def previous_run_files(out_dir):
    """The checkpoints and logs of a run in out_dir (names, sorted)."""
    return sorted(name for name in os.listdir(out_dir)
                  if (name.startswith('ckpt') and name.endswith('.pt')) or name in LOG_NAMES)


def resume_command(argv):
    """The command line that resumes this run, quoted so that it pastes back into a shell."""
    args = [a for a in argv if not a.startswith(('--init_from=', '--overwrite='))]
    return shlex.join(['python'] + args + ['--init_from=resume'])


def start_fresh(out_dir, overwrite, argv):
    """Before a new run (from scratch, or fine-tuning another run's model): refuse when out_dir holds a previous run, unless overwrite, which
    moves that run's files aside into out_dir/replaced-<time>/."""
    previous = previous_run_files(out_dir)
    if not previous:
        return
    if not overwrite:
        raise UserError(
            f"out_dir={out_dir} holds a previous run ({', '.join(previous)}) and a new run "
            f"would replace it. To continue it:\n  {resume_command(argv)}\n"
            f"To start over on purpose, add --overwrite=True (the previous files are moved to "
            f"{out_dir}/replaced-<time>/), or choose another --out_dir.")
    aside = os.path.join(out_dir, f"replaced-{time.strftime('%Y%m%d-%H%M%S')}")
    os.makedirs(aside, exist_ok=True)
    for name in previous:
        os.replace(os.path.join(out_dir, name), os.path.join(aside, name))
    print(f"overwrite=True: the previous run's files ({', '.join(previous)}) were moved to {aside}; "
          f"delete it when you no longer need them")
