"""What a user reads when a run stops early or cannot start: Ctrl-C in any script that goes
through configure(), a report folder that is not there yet, --dtype=float16 on a CPU."""

import os
import subprocess
import sys

import pytest

from common import atomic_files
from common.device_setup import check_dtype
from common.errors import UserError, exit_on_user_error
from common.reporting import write_text
from evaluation.checkpoints import default_report_dir

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_ctrl_c_ends_in_one_line_naming_the_complete_files(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sys, 'excepthook', sys.__excepthook__)
    monkeypatch.setattr(atomic_files, 'files_written', [])
    exit_on_user_error()
    try:
        raise KeyboardInterrupt
    except KeyboardInterrupt:
        sys.excepthook(*sys.exc_info())
    assert capsys.readouterr().err == "\ninterrupted (Ctrl-C)\n"
    report = str(tmp_path / 'perplexity.md')
    write_text(report, 'a table')
    write_text(report, 'the table again')  # named once
    with pytest.raises(KeyboardInterrupt):  # a file of a set written together that was never published
        with atomic_files.written_together({'csv': str(tmp_path / 'perplexity.csv')}, str(tmp_path)) as tmp:
            write_text(tmp['csv'], 'rows')
            raise KeyboardInterrupt
    try:
        raise KeyboardInterrupt
    except KeyboardInterrupt:
        sys.excepthook(*sys.exc_info())
    assert capsys.readouterr().err == f"\ninterrupted (Ctrl-C); written before it, each complete: {report}\n"


def test_ctrl_c_still_ends_the_process_as_stopped_by_sigint():
    """No traceback, and the status a shell reads as Ctrl-C (130: killed by SIGINT), so that a
    calling script (demo.py, a shell loop) knows the run did not finish."""
    result = subprocess.run(
        [
            sys.executable,
            '-c',
            'from common.errors import exit_on_user_error\nexit_on_user_error()\nraise KeyboardInterrupt',
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == -2 and result.stderr.strip() == "interrupted (Ctrl-C)"


def test_the_report_folder_is_checked_but_made_only_with_the_report(tmp_path, monkeypatch):
    report_dir = tmp_path / 'new' / 'report'
    assert default_report_dir(str(report_dir), ['out']) == str(report_dir)
    assert not (tmp_path / 'new').exists()  # an interrupted run leaves no empty folder behind
    write_text(str(report_dir / 'perplexity.md'), 'a table')  # the writers make it
    assert (report_dir / 'perplexity.md').read_text() == 'a table'
    a_file = tmp_path / 'a_file'
    a_file.write_text('x')
    with pytest.raises(UserError, match=r"cannot create report_dir=.*a_file is a file"):
        default_report_dir(str(a_file / 'report'), ['out'])
    monkeypatch.setattr(os, 'access', lambda path, mode: False)  # the tests may run as root
    with pytest.raises(UserError, match=r"cannot create report_dir=.* is not writable"):
        default_report_dir(str(tmp_path / 'other'), ['out'])


def test_float16_on_a_cpu_is_refused_in_words_that_fit_every_script():
    with pytest.raises(UserError) as e:
        check_dtype('float16', 'cpu')
    assert 'needs a GPU' in str(e.value) and 'training' not in str(e.value)
