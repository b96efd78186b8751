"""Run a top-level script of the repository inside the test's own process, as `python SCRIPT ARGS`
runs it from the repository root, its output captured: for the tests whose subject is what the
script does, not how its process starts and ends. A new Python process spends 2-3 s of CPU
importing torch before it does anything; the suite starts too many to pay that each time.

    result = run_in_process('train.py', f'--out_dir={out}', '--max_iters=2', check=False)
    result.returncode, result.stdout, result.stderr      # as subprocess.run gives them

The script sees the same sys.argv (its name first), the repository root as its working
folder, and `__name__ == '__main__'`; a UserError that escapes it ends it with its message on
stderr and status 1, as the hook that configurator.configure installs does in a process of its
own. What the script changes for the whole process (argv, working folder, sys.path, environment,
signal handlers, the exception hook, warning filters, torch's gradient mode and threads) is put
back afterwards. Any other exception
is a bug and fails the test with its traceback. The tests that pin a script's command line as a
process (exit status, signals, no traceback) keep tiny_text_corpus.run_script."""

import contextlib
import gc
import io
import os
import runpy
import signal
import subprocess
import sys
import warnings

import torch

from common.errors import UserError

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextlib.contextmanager
def _as_a_script(script, args, env):
    saved = (sys.argv, sys.excepthook, os.getcwd(), list(sys.path), dict(os.environ))
    handlers = {signum: signal.getsignal(signum) for signum in SIGNALS}
    torch_state = (torch.is_grad_enabled(), torch.get_num_threads())
    sys.argv = [script, *args]
    os.chdir(REPO_ROOT)
    os.environ.update(env or {})
    try:
        with warnings.catch_warnings():
            yield
    finally:
        sys.argv, sys.excepthook, cwd, sys.path[:], environ = saved
        os.chdir(cwd)
        os.environ.clear()
        os.environ.update(environ)
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
        torch.set_grad_enabled(torch_state[0])  # convert_checkpoint.py turns gradients off
        torch.set_num_threads(torch_state[1])  # explore.py sets its own
        gc.collect()  # the script's globals (an out_dir lock, open files) are released now


def _exit_status(code):
    """The status of a process ended by SystemExit(code), printing its message as Python does."""
    if code is None or isinstance(code, int):
        return code or 0
    print(code, file=sys.stderr)
    return 1


def run_in_process(script, *args, check=True, env=None):
    """subprocess.CompletedProcess of SCRIPT ARGS (script relative to the repository root) run in
    this process, with the variables of env added to the environment while it runs; with check,
    fails the test, showing the output, when the script ends in error."""
    stdout, stderr = io.StringIO(), io.StringIO()
    with (
        _as_a_script(script, args, env),
        contextlib.redirect_stdout(stdout),
        contextlib.redirect_stderr(stderr),
    ):
        try:
            runpy.run_path(script, run_name='__main__')  # argv[0] is then script, as in a process
            returncode = 0
        except SystemExit as end:
            returncode = _exit_status(end.code)
        except UserError as error:
            print(error, file=sys.stderr)
            returncode = 1
    result = subprocess.CompletedProcess(
        [sys.executable, script, *args], returncode, stdout.getvalue(), stderr.getvalue()
    )
    if check and returncode != 0:
        raise AssertionError(
            f"{' '.join([script, *args])} exited with {returncode}:\n"
            f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )
    return result
