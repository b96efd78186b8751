#!/usr/bin/env bash
# Create (or update) the project's Python environment in .venv at the repository root:
#   bash bkp_install/python_env.sh
# Python 3.10+ is needed. PyTorch is installed first, pinned, so that pip does not pick a
# multi-GB build on its own; set TORCH_SPEC to choose another, e.g.
#   TORCH_SPEC="torch==2.5.1 --index-url https://download.pytorch.org/whl/cu124" bash bkp_install/python_env.sh
# An existing PyTorch >= 2.1 in the environment is kept. Safe to run again: it only installs
# what is missing. Set VENV to use another folder. With --test it also installs what the tests
# need (requirements-test.txt, and pyvene's copy of the published Backpack-GPT2 code):
#   bash bkp_install/python_env.sh --test
set -euo pipefail
cd "$(dirname "$0")/.."
with_tests=0
for arg in "$@"; do
  case "$arg" in
    --test) with_tests=1 ;;
    *) echo "error: unknown argument '$arg' (the only option is --test)" >&2; exit 2 ;;
  esac
done
VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}

if [ ! -x "$VENV/bin/python" ]; then
  if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
    echo "error: this project needs Python 3.10 or newer; '$PYTHON' is $("$PYTHON" --version 2>&1 || echo missing)." >&2
    echo "Install a newer Python, or point PYTHON at one: PYTHON=python3.11 bash bkp_install/python_env.sh" >&2
    exit 1
  fi
  echo "creating the virtual environment $VENV"
  "$PYTHON" -m venv "$VENV"
fi
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check -q)

if ! "$VENV/bin/python" -c 'import torch, sys; sys.exit(tuple(map(int, torch.__version__.split("+")[0].split(".")[:2])) < (2, 1))' 2>/dev/null; then
  spec=${TORCH_SPEC:-torch==2.13.0}
  echo "installing PyTorch ($spec)"
  # shellcheck disable=SC2086  # TORCH_SPEC may hold several pip arguments
  if ! "${PIP[@]}" install $spec; then
    echo "could not install '$spec'; trying the newest PyTorch that pip finds for this Python"
    "${PIP[@]}" install "torch>=2.1"
  fi
fi
echo "installing the other requirements"
"${PIP[@]}" install -r requirements.txt
if [ "$with_tests" = 1 ]; then
  echo "installing the test requirements"
  "${PIP[@]}" install -r requirements-test.txt
  # only its backpack_gpt2 modeling file is used (it imports torch and transformers alone)
  "${PIP[@]}" install --no-deps "pyvene>=0.1.2"
fi
echo "environment ready: $VENV (activate it with: source $VENV/bin/activate)"
