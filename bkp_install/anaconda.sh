#!/usr/bin/env bash
# Install Miniconda and create the project's conda environment (named bkp) on a GPU machine:
#   bash bkp_install/anaconda.sh                   Miniconda in ~/miniconda3, environment bkp, Python 3.11
#   PREFIX=/opt/miniconda3 ENV_NAME=bkp PYTHON_VERSION=3.10 bash bkp_install/anaconda.sh
# The environment gets PyTorch from PyPI (on Linux its wheels carry the CUDA runtime, so only the
# driver is needed: bkp_install/bkp_nvidia.sh) and requirements.txt. Safe to run again: an
# existing Miniconda and environment are kept and only missing packages are installed.
# Then: conda activate bkp (after `source ~/miniconda3/bin/activate`, or a new shell).
set -euo pipefail
cd "$(dirname "$0")/.."

case "${1:-}" in
  -h|--help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  "") ;;
  *) echo "unknown option: $1 (settings go in environment variables, see --help)" >&2; exit 2 ;;
esac

PREFIX=${PREFIX:-$HOME/miniconda3}
ENV_NAME=${ENV_NAME:-bkp}
PYTHON_VERSION=${PYTHON_VERSION:-3.11}
TORCH_SPEC=${TORCH_SPEC:-torch>=2.1}

if [ ! -x "$PREFIX/bin/conda" ]; then
  case "$(uname -s)-$(uname -m)" in
    Linux-x86_64) installer=Miniconda3-latest-Linux-x86_64.sh ;;
    Linux-aarch64) installer=Miniconda3-latest-Linux-aarch64.sh ;;
    Darwin-arm64) installer=Miniconda3-latest-MacOSX-arm64.sh ;;
    Darwin-x86_64) installer=Miniconda3-latest-MacOSX-x86_64.sh ;;
    *) echo "No Miniconda installer known for $(uname -s) $(uname -m)." >&2; exit 1 ;;
  esac
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  echo "downloading $installer"
  if ! curl -fsSL --retry 3 -o "$tmp/$installer" "https://repo.anaconda.com/miniconda/$installer"; then
    echo "Could not download https://repo.anaconda.com/miniconda/$installer: check the internet connection." >&2
    exit 1
  fi
  bash "$tmp/$installer" -b -p "$PREFIX"
else
  echo "Miniconda is already in $PREFIX"
fi
CONDA="$PREFIX/bin/conda"

if "$CONDA" env list | awk '{print $1}' | grep -qx "$ENV_NAME"; then
  echo "the conda environment $ENV_NAME exists"
else
  "$CONDA" create -y -n "$ENV_NAME" "python=$PYTHON_VERSION"
fi
ENV_PYTHON="$PREFIX/envs/$ENV_NAME/bin/python"
# shellcheck disable=SC2086  # TORCH_SPEC may hold several pip arguments
"$ENV_PYTHON" -m pip install --upgrade $TORCH_SPEC
"$ENV_PYTHON" -m pip install -r requirements.txt pytest
"$ENV_PYTHON" -c 'import torch; print(f"PyTorch {torch.__version__}, CUDA available: {torch.cuda.is_available()}")'
echo "Done. Activate the environment with: source $PREFIX/bin/activate $ENV_NAME"
