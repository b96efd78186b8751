"""
One preparation at a time of each dataset folder and each tokenizer: two prepare commands writing
data/<dataset>/ at once, or training data/tokenizers/<name> at once, would mix their files (a
dataset tokenized with a tokenizer the other replaced). Every prepare script (Europarl, MultiUN,
Hugging Face, the demo) holds the lock of what it writes; the second one is refused at once,
naming the first's process id and command.

    with preparing(os.path.join(data_root, "europarl")):   # the lock file data/europarl.lock
        ...                                                  # (tokenizers: data/tokenizers/<name>.lock)

The lock is an flock on <path>.lock, which the kernel releases when its process ends however it
ends (Ctrl-C, kill -9, a crash): a lock file left behind by a killed process never blocks, the
next preparation takes it. The file holds the holder's pid and command, for the refusal; it is
removed when the preparation ends. A process may take a lock it already holds (the Hugging Face
script locks its dataset before writing the raw files, the pipeline again before tokenizing).
Folders the preparation created are removed again if it leaves them empty (a failed run leaves
no empty data/<dataset>/raw/ behind).
"""

import atexit
import contextlib
import os
import shlex
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

from common.errors import UserError

try:
    import fcntl
except ImportError:  # Windows: no flock; preparations there are not protected from each other
    fcntl = None


@dataclass
class _Held:
    """A lock this process holds: its open file, and how many nested preparing() blocks took it."""

    lock_file: IO
    times_taken: int


_HELD: dict[str, _Held] = {}  # lock path -> the locks this process holds


def _created_folders(folder):
    """The folders makedirs(folder) would create, outermost first."""
    missing = []
    while folder and not os.path.isdir(folder):
        missing.append(folder)
        parent = os.path.dirname(folder)
        if parent == folder:
            break
        folder = parent
    return missing[::-1]


def _remove_empty_tree(folder):
    """Remove `folder` if it holds nothing but empty folders (never a file)."""
    for root, dirs, files in os.walk(folder, topdown=False):
        if files:
            return
        for name in dirs:
            with contextlib.suppress(OSError):
                os.rmdir(os.path.join(root, name))
    with contextlib.suppress(OSError):
        os.rmdir(folder)


def _holder(lock_path):
    """What the lock file says of the process holding it: 'process 123 (python ..., since 23:40:12 UTC)'."""
    try:
        with open(lock_path) as f:
            pid, started, command = (f.read().split("\n", 2) + ["", ""])[:3]
        return f"process {int(pid)} ({command.strip()}, since {started.strip()})", int(pid)
    except (OSError, ValueError):  # written a moment after it was locked, or unreadable
        return "another process", None


def _acquire(lock_path, what):
    """An open file holding the flock of lock_path, or UserError naming the holder."""
    for _ in range(10):  # the holder may remove the file between our open and our flock: retry
        try:
            os.makedirs(os.path.dirname(lock_path), exist_ok=True)
            f = open(lock_path, "a+")
        except OSError as e:
            where = e.filename or lock_path
            problem = (
                "is a file, not a folder"
                if os.path.isfile(where) and where != lock_path
                else f"cannot be written ({e.strerror})"
            )
            raise UserError(
                f"cannot prepare {what}: {where} {problem}. Choose a --data_root you can write to."
            ) from None
        if fcntl is None:
            return f
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.close()
            holder, pid = _holder(lock_path)
            raise UserError(
                f"{what} is being prepared by {holder} right now; two preparations at once would "
                f"mix their files. Wait until it ends{f' (or stop it: kill {pid})' if pid else ''} "
                f"and run this again. (Its lock: {lock_path}; the lock of a process that has "
                f"ended never blocks.)"
            ) from None
        except OSError as e:  # a file system without flock
            print(
                f"note: {lock_path} cannot be locked ({e.strerror}); nothing stops another preparation "
                f"of {what} at the same time"
            )
            return f
        try:
            same_file = os.path.samestat(os.fstat(f.fileno()), os.stat(lock_path))
        except FileNotFoundError:
            same_file = False
        if same_file:
            with contextlib.suppress(OSError):  # a full disk: locked all the same, the refusal names no pid
                f.seek(0)
                f.truncate()
                f.write(
                    f"{os.getpid()}\n{time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}\n"
                    f"{shlex.join([os.path.basename(sys.executable)] + sys.argv)}\n"
                )
                f.flush()
            return f
        f.close()
    raise UserError(f"cannot take the lock {lock_path} of {what}: it keeps being replaced by other processes")


@contextlib.contextmanager
def preparing(path: str, what: str | None = None) -> Iterator[None]:
    """Hold the lock of `path` (a dataset folder, or a tokenizer's path without extension) while
    the block runs; `what` names it in the refusal ('dataset data/europarl' by default)."""
    what = what or f"dataset {path}"
    lock_path = os.path.abspath(path) + ".lock"
    new_folders = _created_folders(os.path.abspath(path))  # its data root's too, if that is new
    held = _HELD.get(lock_path)
    if held:
        held.times_taken += 1
    else:
        try:
            _HELD[lock_path] = _Held(_acquire(lock_path, what), 1)
        except BaseException:
            for folder in reversed(new_folders):
                _remove_empty_tree(folder)
            raise
    try:
        yield
    finally:
        held = _HELD[lock_path]
        held.times_taken -= 1
        if held.times_taken == 0:
            del _HELD[lock_path]
            with contextlib.suppress(OSError):
                os.remove(lock_path)  # while still locked: nobody else is writing it
        for folder in reversed(new_folders):
            _remove_empty_tree(folder)
        if held.times_taken == 0:
            held.lock_file.close()


def hold_until_exit(path: str, what: str | None = None) -> None:
    """preparing(path) for the rest of this process (a script's whole run)."""
    lock = preparing(path, what)
    lock.__enter__()
    atexit.register(lock.__exit__, None, None, None)
