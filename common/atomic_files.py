"""
Writing a file so that nothing is lost when writing fails: the data goes to a temporary file next
to the target, unique to this writer (pid and a random suffix, so two processes never share one),
and replaces the target only once it is complete. When writing fails (a full disk, a read-only
folder, Ctrl-C) the temporary file is removed, the previous file is left as it was, and the error
says what could not be written, where, and why.

    with written_atomically('out/ckpt.pt') as tmp:
        torch.save(checkpoint, tmp)
"""

import contextlib
import errno
import os
import secrets
import shutil
from common.errors import UserError

files_written = []  # every file this process replaced, in order: an interrupted run names them


def _written(path):
    if path not in files_written:
        files_written.append(path)


def temporary_path(path):
    return f"{path}.{os.getpid()}-{secrets.token_hex(4)}.tmp"


def write_failure(path, error):
    """A UserError for path that says why writing failed, in words (a full disk reads as one even
    when the library that wrote the file hid the errno, as torch.save does)."""
    folder = os.path.dirname(os.path.abspath(path))
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        free = None
    disk_full = getattr(error, 'errno', None) in (errno.ENOSPC, errno.EDQUOT) or (free is not None and free < 2**20)
    if disk_full:
        reason = "the disk is full (no space left on device)"
    elif isinstance(error, OSError) and error.strerror:
        reason = error.strerror
    else:
        reason = f"{type(error).__name__}: {str(error)[:200]}"
    space = f"; {free / 2**20:,.0f} MiB free in {folder}" if free is not None else ""
    return UserError(f"could not write {path}: {reason}{space}. Nothing was left half-written: "
                      f"the previous {os.path.basename(path)}, if there was one, is unchanged.")


@contextlib.contextmanager
def written_atomically(path):
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
def written_together(paths, folder):
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


def fsync(path):
    """Flush a written file to the disk, so that the rename never publishes an empty file."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
