"""The GPU path, on a CUDA machine: every test here except the first is skipped without one
(bkp_install/gpu_check.sh runs them, then bench.py). What they prove:
- the Backpack's sense sum runs on PyTorch's fused memory-efficient attention kernel, not the math
  fallback that would keep (B, K, T, T) weights, in float32, bfloat16 and float16 and for the head
  widths of the configs (n_embd / n_sense_vector = 128/16, 384/16, 768/16), forward and backward,
  and agrees with the explicit sum;
- a model whose n_embd / n_sense_vector is not a multiple of 8 is warned about when it is built for
  half precision (this one needs no GPU);
- bfloat16 autocast training follows float32 training: every step's loss within 0.05 nats, the
  last within 2%;
- torch.compile gives the eager model's loss and gradients, for both models;
- cached and uncached greedy generation give the same tokens on the GPU;
- DDP over NCCL (train.py under torchrun, on min(2, GPUs) processes) equals one process.
"""

import csv
import math
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch
from synthetic_data import markov_tokens, write_synthetic_dataset

from common.device_setup import warn_slow_sense_sum
from model import build_model, sense_sum

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason='needs a CUDA GPU')
MODELS = ('gpt2', 'backpack-lm')
CONFIG_WIDTHS = [(128, 16), (384, 16), (768, 16)]  # (n_embd, n_sense_vector): demo, Mini, Small
DTYPES = {'float32': torch.float32, 'bfloat16': torch.bfloat16, 'float16': torch.float16}
# largest error allowed against the float32 reference, relative to the reference's largest value
TOLERANCE = {'float32': 1e-4, 'bfloat16': 3e-2, 'float16': 5e-3}


@pytest.fixture(autouse=True)
def exact_float32():
    """TF32 matrix multiplies would blur the float32 comparisons."""
    if not torch.cuda.is_available():
        yield
        return
    matmul, cudnn = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    yield
    torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = matmul, cudnn


def test_unaligned_sense_width_is_warned_about_at_build_time():
    unaligned = build_model(
        'backpack-lm', n_layer=1, n_head=2, n_embd=96, n_sense_vector=8, block_size=16, vocab_size=64
    )  # 96 / 8 = 12 wide
    with pytest.warns(UserWarning, match='multiple of 8'):
        assert 'slow' in warn_slow_sense_sum(unaligned, 'cuda', 'bfloat16')
    with pytest.warns(UserWarning, match='multiple of 8'):
        warn_slow_sense_sum(unaligned, 'cuda:0', 'float16')
    aligned = build_model(
        'backpack-lm', n_layer=1, n_head=2, n_embd=128, n_sense_vector=16, block_size=16, vocab_size=64
    )  # 8 wide
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        assert warn_slow_sense_sum(unaligned, 'cuda', 'float32') is None  # 12 is a multiple of 4
        assert warn_slow_sense_sum(unaligned, 'cpu', 'bfloat16') is None  # CPU: CausalSenseSum
        assert warn_slow_sense_sum(aligned, 'cuda', 'bfloat16') is None
        assert (
            warn_slow_sense_sum(
                build_model('gpt2', n_layer=1, n_head=2, n_embd=96, block_size=16, vocab_size=64),
                'cuda',
                'float16',
            )
            is None
        )


def reference_sense_sum(q, k, senses):
    """o (B, T, d) with alpha (B, K, T, T) written out, in float32."""
    q, k, senses = q.float(), k.float(), senses.float()
    T = q.size(2)
    scores = q @ k.transpose(-1, -2) / math.sqrt(q.size(-1))
    causal = torch.ones(T, T, dtype=torch.bool, device=q.device).tril()
    alpha = torch.softmax(scores.masked_fill(~causal, float('-inf')), dim=-1)
    return torch.einsum('bkij,bjkd->bid', alpha, senses)


@needs_cuda
@pytest.mark.parametrize('n_embd,n_sense_vector', CONFIG_WIDTHS, ids=lambda v: str(v))
@pytest.mark.parametrize('dtype', list(DTYPES))
def test_sense_sum_runs_on_the_memory_efficient_kernel(dtype, n_embd, n_sense_vector):
    from torch.nn.attention import SDPBackend, sdpa_kernel

    if dtype == 'bfloat16' and not torch.cuda.is_bf16_supported():
        pytest.skip('this GPU has no bfloat16')
    B, T, K, d = 2, 256, n_sense_vector, n_embd
    g = torch.Generator(device='cuda').manual_seed(0)
    inputs = [
        torch.randn(*shape, device='cuda', generator=g).to(DTYPES[dtype]).requires_grad_()
        for shape in ((B, K, T, d // K), (B, K, T, d // K), (B, T, K, d))
    ]
    grad_o = torch.randn(B, T, d, device='cuda', generator=g)
    # forced: PyTorch raises instead of falling back to the math kernel
    with sdpa_kernel(SDPBackend.EFFICIENT_ATTENTION):
        o = sense_sum(*inputs)
        (o.float() * grad_o).sum().backward()
    grads = [x.grad for x in inputs]
    reference = [x.detach().float().requires_grad_() for x in inputs]
    o_ref = reference_sense_sum(*reference)
    (o_ref * grad_o).sum().backward()
    for got, want in zip([o] + grads, [o_ref] + [x.grad for x in reference]):
        error = (got.float() - want).abs().max().item()
        assert error <= TOLERANCE[dtype] * want.abs().max().item(), (dtype, error)
    # and the default choice, unforced, is a fused kernel too
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        sense_sum(*[x.detach() for x in inputs])
    names = {e.name for e in prof.events()}
    assert any('efficient_attention' in n or 'flash_attention' in n for n in names), sorted(names)
    assert not any('_scaled_dot_product_attention_math' in n for n in names)


def tiny(model_name):
    args = dict(n_layer=2, n_head=4, n_embd=128, block_size=64, vocab_size=256, dropout=0.0, bias=False)
    return build_model(model_name, **args, **({'n_sense_vector': 16} if model_name != 'gpt2' else {}))


def markov_batches(n, batch_size=8, block_size=64, vocab_size=256):
    tokens = markov_tokens(n * batch_size * (block_size + 1), vocab_size, 7, np.random.default_rng(0))
    data = torch.from_numpy(tokens.astype(np.int64)).view(n, batch_size, block_size + 1)
    return [(x[:, :-1].cuda(), x[:, 1:].cuda()) for x in data]


def training_losses(model_name, batches, dtype):
    torch.manual_seed(0)
    model = tiny(model_name).cuda()
    optimizer = model.configure_optimizers(0.1, 1e-3, (0.9, 0.95), 'cuda')
    losses = []
    for x, y in batches:
        with torch.autocast('cuda', dtype=torch.bfloat16, enabled=(dtype == 'bfloat16')):
            _, loss = model(x, y)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        losses.append(loss.item())
    return losses


@needs_cuda
@pytest.mark.parametrize('model_name', MODELS)
def test_bfloat16_autocast_training_follows_float32(model_name):
    if not torch.cuda.is_bf16_supported():
        pytest.skip('this GPU has no bfloat16')
    batches = markov_batches(40)
    full = training_losses(model_name, batches, 'float32')
    half = training_losses(model_name, batches, 'bfloat16')
    assert full[-1] < full[0] - 1.0  # it learns, so the comparison means something
    assert max(abs(a - b) for a, b in zip(full, half)) < 0.05
    assert abs(full[-1] - half[-1]) < 0.02 * full[-1]


@needs_cuda
@pytest.mark.parametrize('model_name', MODELS)
def test_compile_gives_the_eager_loss_and_gradients(model_name):
    torch.manual_seed(0)
    model = tiny(model_name).cuda()
    x, y = markov_batches(1)[0]
    _, loss = model(x, y)
    loss.backward()
    eager = {n: p.grad.clone() for n, p in model.named_parameters()}
    model.zero_grad(set_to_none=True)
    _, compiled_loss = torch.compile(model)(x, y)
    compiled_loss.backward()
    assert abs(compiled_loss.item() - loss.item()) < 1e-4 * loss.item()
    for name, p in model.named_parameters():
        scale = eager[name].abs().max().item()
        assert (p.grad - eager[name]).abs().max().item() <= 1e-3 * scale + 1e-7, name


@needs_cuda
@pytest.mark.parametrize('model_name', MODELS)
def test_cached_generation_gives_the_uncached_tokens(model_name):
    torch.manual_seed(0)
    model = tiny(model_name).cuda().eval()
    prompt = markov_batches(1)[0][0][:2, :8]
    cached = model.generate(prompt, 40, temperature=0, use_cache=True)
    uncached = model.generate(prompt, 40, temperature=0, use_cache=False)
    assert torch.equal(cached, uncached)
    # past the block size the window slides: still the same tokens
    assert torch.equal(
        model.generate(prompt, 70, temperature=0, use_cache=True),
        model.generate(prompt, 70, temperature=0, use_cache=False),
    )


def train(data_root, out_dir, launcher, *args):
    cmd = launcher + [
        'train.py',
        f'--data_root={data_root}',
        '--list_of_datasets=synth',
        f'--out_dir={out_dir}',
        '--device=cuda',
        '--dtype=float32',
        '--model_name=backpack-lm',
        '--n_layer=2',
        '--n_head=4',
        '--n_embd=128',
        '--n_sense_vector=16',
        '--block_size=64',
        '--batch_size=8',
        '--gradient_accumulation_steps=4',
        '--max_iters=8',
        '--eval_interval=8',
        '--eval_iters=2',
        '--learning_rate=1e-3',
        '--warmup_iters=2',
        '--lr_decay_iters=8',
        '--log_interval=1',
        *args,
    ]
    result = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    with open(os.path.join(out_dir, 'train_log.csv')) as f:
        return [float(r['loss']) for r in csv.DictReader(f)]


@pytest.mark.slow
@needs_cuda
def test_ddp_over_nccl_equals_one_process(tmp_path):
    """With one GPU, one NCCL process (the wrapper, the all-reduce and the batch split still run);
    with two or more, two processes that share the global batch."""
    write_synthetic_dataset(str(tmp_path), 'synth')
    processes = min(2, torch.cuda.device_count())
    one = train(tmp_path, tmp_path / 'one', [sys.executable])
    torchrun = [
        sys.executable,
        '-m',
        'torch.distributed.run',
        '--standalone',
        f'--nproc_per_node={processes}',
    ]
    ddp = train(tmp_path, tmp_path / 'ddp', torchrun, '--backend=nccl')
    assert len(one) == len(ddp) == 8
    for a, b in zip(one, ddp):
        assert abs(a - b) < 1e-4 * abs(a)


def test_the_reference_sense_sum_equals_the_cpu_path():
    """The explicit reference the GPU kernels are compared with, against CausalSenseSum on CPU
    (so that a wrong reference cannot make the GPU tests pass or fail)."""
    g = torch.Generator().manual_seed(0)
    q, k = torch.randn(2, 4, 16, 8, generator=g), torch.randn(2, 4, 16, 8, generator=g)
    senses = torch.randn(2, 16, 4, 32, generator=g)
    assert torch.allclose(sense_sum(q, k, senses, block_size=4), reference_sense_sum(q, k, senses), atol=1e-5)
