"""
The device and numeric precision a script runs with: checking --device and --dtype, the autocast
context for mixed precision, and the device's peak FLOP/s for model FLOPs utilisation (MFU).
"""

from __future__ import annotations

import ctypes
import sys
import warnings
from contextlib import AbstractContextManager, nullcontext

import torch

from common.errors import UserError

DTYPES = {'float32': torch.float32, 'bfloat16': torch.bfloat16, 'float16': torch.float16}

# Dense bfloat16/float16 tensor-core peak FLOP/s by GPU name (from the vendors' data sheets).
# float32 matrix multiplies run as TF32 on these (train.py enables it), at half the bf16 peak.
GPU_PEAK_FLOPS = [
    ('H200', 989e12),
    ('H100', 989e12),
    ('GH200', 989e12),
    ('A100', 312e12),
    ('A800', 312e12),
    ('L40S', 362e12),
    ('L40', 181e12),
    ('A6000', 155e12),
    ('A40', 150e12),
    ('A10', 125e12),
    ('L4', 121e12),
    ('V100', 125e12),
    ('T4', 65e12),
    ('RTX 4090', 165e12),
    ('RTX 3090', 71e12),
]


def default_device() -> str:
    return 'cuda' if torch.cuda.is_available() else 'cpu'


def default_dtype(device: str) -> str:
    if device.startswith('cuda'):
        return 'bfloat16' if torch.cuda.is_available() and torch.cuda.is_bf16_supported() else 'float16'
    return 'float32'


def check_device(device: str) -> torch.device:
    """Fail early, with a message, on a device this machine does not have."""
    try:
        dev = torch.device(device)
    except RuntimeError:
        raise UserError(f"--device={device} is not a device name: use cpu, cuda, cuda:N or mps")
    if dev.type == 'cuda' and not torch.cuda.is_available():
        raise UserError(
            f"--device={device} but PyTorch sees no CUDA GPU here "
            f"(torch {torch.__version__}): use --device=cpu, or install a CUDA build "
            f"of PyTorch on a machine with an NVIDIA GPU"
        )
    if dev.type == 'cuda' and dev.index is not None and dev.index >= torch.cuda.device_count():
        raise UserError(f"--device={device} but only {torch.cuda.device_count()} GPU(s) are visible")
    if dev.type == 'mps' and not torch.backends.mps.is_available():
        raise UserError(f"--device={device} but MPS is not available here: use --device=cpu")
    return dev


def check_dtype(dtype: str, device: str) -> torch.dtype:
    if dtype not in DTYPES:
        raise UserError(f"--dtype={dtype} is not supported: use one of {', '.join(DTYPES)}")
    dev_type = torch.device(device).type
    if dev_type == 'cpu' and dtype == 'float16':
        # every script asks, evaluations too: the message names no task
        raise UserError(
            "--dtype=float16 needs a GPU (CPUs have no fast float16 matrix units): on "
            "CPU use --dtype=bfloat16 or --dtype=float32"
        )
    if dev_type == 'cuda' and dtype == 'bfloat16' and not torch.cuda.is_bf16_supported():
        raise UserError("--dtype=bfloat16 is not supported by this GPU: use float16")
    return DTYPES[dtype]


def resolve_device(device: str, dtype: str) -> tuple[str, str]:
    """What every script does first with --device and --dtype: check that the device is here,
    turn dtype='auto' into the device's choice (bfloat16, or float16 on GPUs without it; float32
    on CPU) and check that the device supports the dtype. Returns (device_type, dtype name)."""
    device_type = check_device(device).type
    dtype = default_dtype(device) if dtype == 'auto' else dtype
    check_dtype(dtype, device)
    return device_type, dtype


def autocast_context(device: str, dtype: str) -> AbstractContextManager:
    """Mixed precision for the forward pass: torch.autocast in bfloat16/float16 (CUDA) or
    bfloat16 (CPU); float32 runs as it is."""
    if dtype == 'float32':
        return nullcontext()
    return torch.autocast(device_type=torch.device(device).type, dtype=DTYPES[dtype])


def device_peak_flops(device: str, dtype: str, override: float = 0.0) -> float | None:
    """Peak FLOP/s of the device at this dtype, or None where it is not known (then MFU is
    not reported). override > 0 wins: set peak_flops=... for a device not in the table."""
    if override and override > 0:
        return override
    if torch.device(device).type != 'cuda' or not torch.cuda.is_available():
        return None
    name = torch.cuda.get_device_name(torch.device(device))
    for key, flops in GPU_PEAK_FLOPS:
        if key in name:
            return flops if dtype in ('bfloat16', 'float16') else flops / 2
    return None


def reuse_freed_memory() -> bool:
    """On Linux with glibc, keep memory that large tensors free inside the process for the next
    ones instead of handing it back to the system: by default glibc maps every block above 32 MB
    afresh and unmaps it when freed, so each training step pays page faults and zero-filling
    for its activations (about 10% of a step on CPU here, more for the Backpack's sense tensors).
    PyTorch's CPU tuning guide suggests jemalloc or tcmalloc for the same reason. The peak memory
    stays what it is; it is simply not returned between steps. Returns whether it applied."""
    if not sys.platform.startswith('linux'):
        return False
    try:
        libc = ctypes.CDLL('libc.so.6')
        M_TRIM_THRESHOLD, M_MMAP_MAX = -1, -4
        return bool(libc.mallopt(M_MMAP_MAX, 0)) and bool(libc.mallopt(M_TRIM_THRESHOLD, 2**31 - 1))
    except (OSError, AttributeError):  # not glibc (musl, ...): nothing to tune
        return False


def warn_slow_sense_sum(model: torch.nn.Module, device: str, dtype: str) -> str | None:
    """Warn, when a model is built, if its sense sum cannot run on a fused attention kernel:
    PyTorch's memory-efficient kernel needs the query/key width (n_embd / n_sense_vector) and the
    value width (n_embd) to be multiples of 8 in half precision (of 4 in float32), and otherwise
    the sense sum falls back to the math kernel, which materialises the (B, K, T, T) weights.
    Only CUDA runs the sense sum as attention. Returns the warning, or None."""
    K = getattr(model.config, 'n_sense_vector', None)
    if K is None or torch.device(device).type != 'cuda':
        return None
    d, multiple = model.config.n_embd, 8 if dtype in ('bfloat16', 'float16') else 4
    if (d // K) % multiple == 0 and d % multiple == 0:
        return None
    message = (
        f"n_embd / n_sense_vector = {d} / {K} = {d // K} (and n_embd = {d}) must be multiples "
        f"of {multiple} for the Backpack's sense sum to run on a fused attention kernel in "
        f"{dtype}: it will fall back to the math kernel, which keeps (batch, {K}, block, block) "
        f"weights, so training will be slow and memory-hungry. Choose n_sense_vector so that "
        f"n_embd / n_sense_vector is a multiple of {multiple}."
    )
    warnings.warn(message, stacklevel=2)
    return message
