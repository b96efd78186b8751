"""Folders that several tests read (a prepared corpus, a trained tiny checkpoint), built once per
test run even when pytest-xdist runs the tests in several processes: the first process that asks
builds the folder under a lock in the run's shared temporary folder; the others wait, then read it.

    root = shared_folder(tmp_path_factory, 'tiny-data', lambda path: write_tiny_corpus(path))

A test must only read such a folder (copy it to change it)."""

import fcntl
import os
import shutil


def shared_root(tmp_path_factory):
    """The temporary folder common to every process of this run (pytest's basetemp, or, under
    xdist, the folder above each worker's own)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get('PYTEST_XDIST_WORKER') else base


def shared_folder(tmp_path_factory, name, build):
    """The path (str) of shared_root/name, made by build(path) once in this test run."""
    root = shared_root(tmp_path_factory)
    path = os.path.join(root, name)
    with open(os.path.join(root, f'{name}.lock'), 'a') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = os.path.join(root, f'{name}.built')  # beside the folder, so that nothing reads it
        if not os.path.exists(done):
            shutil.rmtree(path, ignore_errors=True)  # what a failed build left
            os.makedirs(path)
            build(path)
            open(done, 'w').close()
    return path
