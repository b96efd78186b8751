"""
Writing a file so that nothing is lost when writing fails: the data goes to a temporary file next
to the target, unique to this writer (pid and a random suffix, so two processes never share one),
and replaces the target only once it is complete. When writing fails (a full disk, a read-only
folder, Ctrl-C) the temporary file is removed, the previous file is left as it was, and the error
says what could not be written, where, and why. A writer killed outright (kill -9, a power cut)
cannot remove its temporary file: remove_stale_temporaries does, once nothing else can be writing.

    with written_atomically('out/ckpt.pt') as tmp:
        torch.save(checkpoint, tmp)
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import shutil
from collections.abc import Callable, Iterator

from common.errors import UserError

TEMPORARY_NAME = re.compile(r'(?P<target>.+)\.(?P<pid>\d+)-[0-9a-f]{8}\.tmp')
READ_ONLY_ERRNOS = (errno.EROFS, errno.EACCES, errno.EPERM)
DISK_FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT)


files_written = []  # every file this process replaced, in order: an interrupted run names them


def _written(path):
    if path not in files_written:
        files_written.append(path)


def temporary_path(path: str | os.PathLike) -> str:
    return f"{path}.{os.getpid()}-{secrets.token_hex(4)}.tmp"


def write_failure(path: str | os.PathLike, error: BaseException) -> UserError:
    """A UserError for path that says why writing failed, in words (a full disk reads as one even
    when the library that wrote the file hid the errno, as torch.save does)."""
    folder = os.path.dirname(os.path.abspath(path))
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        free = None
    code = getattr(error, 'errno', None)
    # a small free space explains an error without an errno, never a read-only folder's
    if code in DISK_FULL_ERRNOS or (code not in READ_ONLY_ERRNOS and free is not None and free < 2**20):
        reason = "the disk is full (no space left on device)"
    elif isinstance(error, OSError) and error.strerror:
        reason = error.strerror
    else:
        reason = f"{type(error).__name__}: {str(error)[:200]}"
    space = f"; {free / 2**20:,.0f} MiB free in {folder}" if free is not None else ""
    return UserError(
        f"could not write {path}: {reason}{space}. Nothing was left half-written: "
        f"the previous {os.path.basename(path)}, if there was one, is unchanged."
    )


@contextlib.contextmanager
def written_atomically(path: str | os.PathLike) -> Iterator[str]:
    """Yields a temporary path; when the block ends without error, that file replaces path."""
    tmp = temporary_path(path)
    try:
        yield tmp
        fsync(tmp)
        os.replace(tmp, path)
        _written(path)
    except BaseException as e:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        if isinstance(e, (OSError, RuntimeError)):
            raise write_failure(path, e) from e
        raise


@contextlib.contextmanager
def written_together(paths: dict[str, str], folder: str) -> Iterator[dict[str, str]]:
    """Several files that only make sense together (the languages of a corpus, a dataset and its
    meta.json). paths: {key: target path}. Yields {key: temporary path}; when the block ends
    without error, each temporary file replaces its target, in the order of `paths` (put last
    the file whose presence says the others are complete). Whatever happens, no temporary file
    is left behind; an OSError becomes write_failure, naming its file or else `folder`."""
    tmp = {key: temporary_path(path) for key, path in paths.items()}
    try:
        yield tmp
        for key, path in paths.items():
            os.replace(tmp[key], path)
            _written(path)
    except OSError as e:
        raise write_failure(e.filename or folder, e) from e
    finally:
        for path in tmp.values():
            with contextlib.suppress(OSError):
                os.remove(path)


def remove_stale_temporaries(folder: str, is_target: Callable[[str], bool]) -> list[tuple[str, int]]:
    """Remove the temporary files in folder (`<name>.<pid>-<hex>.tmp`, for the names that
    is_target accepts) whose writer is gone: no process has that pid, or the process that has it
    now started after the file was last written (the pid was reused, as in a new container).
    Returns [(name, size in bytes)] of the files removed."""
    removed = []
    for name in sorted(os.listdir(folder)):
        match = TEMPORARY_NAME.fullmatch(name)
        path = os.path.join(folder, name)
        if not match or not is_target(match['target']) or not os.path.isfile(path):
            continue
        stat = os.stat(path)
        if writer_alive(int(match['pid']), stat.st_mtime):
            continue
        with contextlib.suppress(FileNotFoundError):
            os.remove(path)
            removed.append((name, stat.st_size))
    return removed


def writer_alive(pid: int, written_at: float) -> bool:
    """Whether process pid may still be writing a file last written at time written_at."""
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):
        return False
    except PermissionError:  # another user's process: alive
        pass
    started = process_start_time(pid)
    return started is None or written_at > started - 2  # /proc's times: to the second


def process_start_time(pid: int) -> float | None:
    """When process pid started (seconds since the epoch), from Linux's /proc; None elsewhere."""
    try:
        with open(f'/proc/{pid}/stat') as f:
            ticks = int(f.read().rsplit(')', 1)[1].split()[19])  # field 22: starttime
        with open('/proc/stat') as f:
            boot = next(int(line.split()[1]) for line in f if line.startswith('btime '))
    except (OSError, ValueError, IndexError, StopIteration):
        return None
    return boot + ticks / os.sysconf('SC_CLK_TCK')


def fsync(path: str | os.PathLike) -> None:
    """Flush a written file to the disk, so that the rename never publishes an empty file."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
