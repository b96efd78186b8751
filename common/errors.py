"""
The one error class for mistakes a user can fix: a path that does not exist, a value out of range,
a file in the wrong format, a checkpoint this code cannot read. Its message says what was wrong and
what to do. Library code raises UserError; every script ends with that message and exit status 1,
without a traceback (configurator.configure installs the hook, so a script needs no try block), and
code that shows messages to people instead of exiting (the explorer, demo.py) catches it by name.
Ctrl-C that no code catches ends the same way, in one line. Anything else that escapes is a bug,
and keeps its traceback.
"""

from __future__ import annotations

import os
import sys


class UserError(Exception):
    """A mistake in what the user gave us; str(error) is the whole message."""


def exit_on_user_error() -> None:
    """Make an uncaught UserError end the process with its message on stderr and status 1, as
    SystemExit(message) would, instead of a traceback; an uncaught KeyboardInterrupt (Ctrl-C) with
    one line naming the files the run had written (each complete: they are written atomically).
    Python still ends an uncaught KeyboardInterrupt as killed by SIGINT (status 130 in a shell),
    which tells a calling script the run did not finish. A script that catches KeyboardInterrupt
    itself (train.py saves first) never reaches the hook. Other exceptions are left to the
    previous hook."""
    previous = sys.excepthook
    if getattr(previous, 'reports_user_errors', False):
        return

    def hook(kind, value, traceback):
        if issubclass(kind, UserError):
            print(value, file=sys.stderr)
        elif issubclass(kind, KeyboardInterrupt):
            print(interrupted_message(), file=sys.stderr)
        else:
            previous(kind, value, traceback)

    hook.reports_user_errors = True
    sys.excepthook = hook


def interrupted_message() -> str:
    # looked up, not imported: atomic_files imports this module, a run that never loaded it wrote
    # nothing through it, and an import in the hook would make Python exit 1 instead of by SIGINT
    written = [
        path
        for path in getattr(sys.modules.get('common.atomic_files'), 'files_written', [])
        if os.path.exists(path)
    ]  # not the temporary files of a set written together
    if not written:
        return "\ninterrupted (Ctrl-C)"
    return f"\ninterrupted (Ctrl-C); written before it, each complete: {', '.join(written)}"
