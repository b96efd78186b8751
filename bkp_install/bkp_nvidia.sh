#!/usr/bin/env bash
# Install the NVIDIA driver on an Ubuntu or Debian GPU machine, from NVIDIA's CUDA apt repository:
#   bash bkp_install/bkp_nvidia.sh             the driver (enough for PyTorch: its pip wheels carry the CUDA runtime)
#   bash bkp_install/bkp_nvidia.sh --toolkit   the driver and the CUDA toolkit (nvcc), for building CUDA code
# It checks first that the machine has an NVIDIA GPU and stops, saying so, when it has none; when
# nvidia-smi already works it changes nothing. Safe to run again. Needs root (or sudo) and internet.
set -euo pipefail

toolkit=0
for arg in "$@"; do
  case "$arg" in
    --toolkit) toolkit=1 ;;
    -h|--help) sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown option: $arg (use --toolkit or --help)" >&2; exit 2 ;;
  esac
done

if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
  echo "The NVIDIA driver is already installed and working:"
  nvidia-smi -L
  if [ "$toolkit" = 0 ] || command -v nvcc >/dev/null 2>&1; then
    exit 0
  fi
fi

has_nvidia_gpu() {
  # PCI vendor 10de is NVIDIA; display controllers are class 0300 (VGA) and 0302 (3D)
  local dev
  for dev in /sys/bus/pci/devices/*; do
    [ -r "$dev/vendor" ] || continue
    if [ "$(cat "$dev/vendor")" = "0x10de" ] && grep -qE '^0x030[02]' "$dev/class" 2>/dev/null; then
      return 0
    fi
  done
  command -v lspci >/dev/null 2>&1 && lspci 2>/dev/null | grep -qiE '(vga|3d).*nvidia'
}

if ! has_nvidia_gpu; then
  echo "No NVIDIA GPU was found on this machine, so there is no driver to install."
  echo "Everything in this project also runs on the CPU: see the README's quick start."
  exit 1
fi

if [ ! -r /etc/os-release ]; then
  echo "Cannot tell which Linux this is (/etc/os-release is missing): install the driver by hand," >&2
  echo "see https://docs.nvidia.com/datacenter/tesla/driver-installation-guide/" >&2
  exit 1
fi
# shellcheck disable=SC1091
. /etc/os-release
case "${ID:-}:${VERSION_ID:-}" in
  ubuntu:20.04) repo=ubuntu2004 ;;
  ubuntu:22.04) repo=ubuntu2204 ;;
  ubuntu:24.04) repo=ubuntu2404 ;;
  debian:11) repo=debian11 ;;
  debian:12) repo=debian12 ;;
  *)
    echo "This script knows Ubuntu 20.04/22.04/24.04 and Debian 11/12, not ${PRETTY_NAME:-this system}." >&2
    echo "Install the driver with your distribution's tools (e.g. ubuntu-drivers autoinstall)." >&2
    exit 1 ;;
esac
case "$(uname -m)" in
  x86_64) arch=x86_64 ;;
  aarch64) arch=sbsa ;;
  *) echo "Unsupported processor $(uname -m): install the driver by hand." >&2; exit 1 ;;
esac

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "Run this as root (sudo is not available)." >&2; exit 1; }
  SUDO=sudo
fi

if ! dpkg -s cuda-keyring >/dev/null 2>&1; then
  echo "adding NVIDIA's CUDA repository for $repo/$arch"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  curl -fsSL --retry 3 -o "$tmp/cuda-keyring.deb" \
    "https://developer.download.nvidia.com/compute/cuda/repos/$repo/$arch/cuda-keyring_1.1-1_all.deb"
  $SUDO dpkg -i "$tmp/cuda-keyring.deb"
fi
$SUDO apt-get update
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y cuda-drivers
if [ "$toolkit" = 1 ]; then
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y cuda-toolkit
fi
echo "Done. Reboot the machine, then check the driver with: nvidia-smi"
