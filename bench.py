"""
Measure what a Backpack costs next to the GPT-2 it is built on, in one run, alternating the two
models: a training step (tokens/s, peak memory), an evaluation forward pass, generation with and
without the key/value cache, perplexity scoring, the cloze beam search and minimal-pair scoring.

$ python bench.py config/train_mini_16.py --list_of_datasets="['demo']" --block_size=512 --batch_size=8
$ python bench.py config/train_small_16.py --device=cuda --dtype=bfloat16 --compile=True
$ python bench.py config/train_mini_16.py --list_of_datasets="['demo']" --sweep=block_size:256,512,1024,2048

With --sweep=name:v1,v2,... (block_size, n_sense_vector or batch_size) each point measures the
training step, its peak memory and the evaluation forward pass of both models, and the cost
curves go to bench.json (one entry per point), bench.md and bench_<name>.png (log-log). A point
that does not fit in memory is reported as such and the sweep goes on.

Both models share n_layer, n_head, n_embd, block_size and the datasets' vocabulary, and see the
same batches of real token ids from the prepared datasets (random ids would hide the effect of
repeated tokens on the Backpack's sense network). Prints a table of the ratios and writes
bench.json (and bench.md) to report_dir. Peak memory: CUDA max allocated per model; on CPU the
peak resident set of a child process per model (which includes PyTorch itself: see
peak_memory_above_start_ratio for the part the models add).

How fast text is prepared (tokenization, the prepare scripts against nanoGPT's) is measured by
data/bench_prepare.py.
"""

import importlib
import multiprocessing
import os
import queue as queue_module
import resource
import statistics
import sys
import time
from dataclasses import asdict, dataclass, fields, replace
from typing import NamedTuple

import torch

from common.device_setup import (
    autocast_context,
    default_device,
    device_peak_flops,
    resolve_device,
    reuse_freed_memory,
    warn_slow_sense_sum,
)
from common.errors import UserError
from common.machine import cpu_model
from common.reporting import log_log_chart, markdown_table, write_json, write_text
from configurator import at_least, configure, divisor_of, format_config
from data.prepared import PreparedData
from model import build_model

# -----------------------------------------------------------------------------
data_root = 'data'
list_of_datasets = ['europarl', 'multiun']
block_size = 256
batch_size = 32
n_layer = 12
n_head = 12
n_embd = 768
bias = False
n_sense_vector = 16
sense_intermediate_scale = 4
sense_dedup = True
device = default_device()
dtype = 'auto'
compile = False
warmup_steps = 2  # untimed steps per model before measuring (compilation happens there)
timed_steps = 10  # timed steps per model, interleaved: the medians are reported
eval_steps = 10
prompt_tokens = 32
new_tokens = 256
generation_repeats = 3  # generations per model and mode, alternated; medians reported
memory_steps = 2  # training steps in each memory-measuring child process
peak_flops = 0.0  # FLOP/s of the device for MFU; 0 looks the GPU up in a table
report_dir = ''  # default: bench/ under the current folder
seed = 1337
sweep = ''  # 'block_size:256,512,1024' (or n_sense_vector, batch_size): one entry per point
speed_items = 32  # cloze items and perplexity windows (4x as many minimal pairs) for the evaluation speeds (0 skips them)
ranges = dict(
    block_size=at_least(1),
    batch_size=at_least(1),
    n_layer=at_least(1),
    n_embd=at_least(1),
    # each head, and each sense, gets an equal share of n_embd (a swept n_sense_vector is
    # checked point by point in parse_sweep)
    n_head=at_least(1) & divisor_of('n_embd'),
    n_sense_vector=at_least(1)
    & divisor_of('n_embd').only_if(
        lambda c: not str(c['sweep']).startswith('n_sense_vector:'), "unless --sweep varies it"
    ),
    sense_intermediate_scale=at_least(1),
    warmup_steps=at_least(0),
    timed_steps=at_least(1),
    eval_steps=at_least(1),
    prompt_tokens=at_least(1),
    new_tokens=at_least(1),
    generation_repeats=at_least(1),
    memory_steps=at_least(1),
    peak_flops=at_least(0),
    seed=at_least(0),
    speed_items=at_least(0),
)
# -----------------------------------------------------------------------------
# the data-preparation comparison left bench.py for data/bench_prepare.py, and its options with it
_moved = [a for a in sys.argv[1:] if a.split('=')[0] in ('--tokenize_megabytes', '--tokenize_processes')]
if _moved:
    _shared = ('--data_root=', '--list_of_datasets=', '--report_dir=')  # and config files
    _kept = [a for a in sys.argv[1:] if not a.startswith('-') or a.startswith(_shared)]
    raise SystemExit(
        f"{' '.join(_moved)}: bench.py measures models only; the data-preparation comparison "
        f"(tokenization speed, the prepare scripts against nanoGPT's way) and its options "
        f"--tokenize_megabytes and --tokenize_processes moved to data/bench_prepare.py:\n"
        f"  python data/bench_prepare.py {' '.join(_kept + _moved)}"
    )
config = configure(globals(), sys.argv[1:], ranges, strict_files=False)
# -----------------------------------------------------------------------------
MODELS = ('gpt2', 'backpack-lm')
SWEEPABLE = ('block_size', 'n_sense_vector', 'batch_size')


@dataclass(frozen=True)
class Settings:
    """What the measurements read: the configuration of a run, or of one point of a sweep
    (replace(settings, block_size=512)), with the dtype resolved ('float32', never 'auto')."""

    device: str
    dtype: str
    compile: bool
    n_layer: int
    n_head: int
    n_embd: int
    block_size: int
    batch_size: int
    bias: bool
    n_sense_vector: int
    sense_intermediate_scale: int
    sense_dedup: bool
    warmup_steps: int
    timed_steps: int
    eval_steps: int
    memory_steps: int
    prompt_tokens: int
    new_tokens: int
    generation_repeats: int
    speed_items: int
    peak_flops: float
    seed: int
    list_of_datasets: tuple

    @classmethod
    def of(cls, config):
        values = {f.name: config[f.name] for f in fields(cls)}
        return cls(**dict(values, list_of_datasets=tuple(values['list_of_datasets'])))


class OutOfMemory(Exception):
    pass


def is_out_of_memory(error):
    return isinstance(error, (torch.OutOfMemoryError, MemoryError)) or (
        isinstance(error, RuntimeError) and "can't allocate memory" in str(error)
    )


def proc_bytes(path, field):
    """A Linux /proc file's 'field: N kB' line, in bytes; None where there is none."""
    try:
        with open(path) as f:
            for line in f:
                if line.startswith(f'{field}:'):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def available_memory():
    """Bytes the system can still give (Linux MemAvailable), or None where unknown."""
    return proc_bytes('/proc/meminfo', 'MemAvailable')


def estimated_training_bytes(s, vocab_size):
    """A generous estimate of what training the larger model (the Backpack) at this point needs:
    weights, gradients and AdamW's two moments, and the float32 activations kept for the
    backward pass (about 34 n_embd per token and layer, the logits and their gradient twice,
    the sense vectors, queries and keys, and the sense network on every token). On CPU a point
    far above the memory available would be killed by the system rather than fail cleanly,
    so such a point is reported as not fitting without being run."""
    d, K, scale, layers = s.n_embd, s.n_sense_vector, s.sense_intermediate_scale, s.n_layer
    padded_vocab = -(-vocab_size // 64) * 64
    params = 12 * layers * d * d + padded_vocab * d + 2 * d * d + (3 * scale * d * d + scale * K * d * d)
    per_token = 34 * layers * d + 4 * padded_vocab + 3 * K * d + 2 * d + (3 * scale * d + 2 * K * d)
    return 4 * (4 * params + s.batch_size * s.block_size * per_token)


def parse_sweep(text, n_embd):
    """'block_size:256,512' -> ('block_size', [256, 512]), checked before any work starts."""
    name, _, values = text.partition(':')
    if name not in SWEEPABLE or not values:
        raise SystemExit(
            f"--sweep={text}: write --sweep=name:v1,v2,... with name one of "
            f"{', '.join(SWEEPABLE)}, e.g. --sweep=block_size:256,512,1024"
        )
    try:
        points = [int(v) for v in values.split(',')]
    except ValueError:
        raise SystemExit(f"--sweep={text}: the values must be whole numbers separated by commas")
    if any(v < 1 for v in points) or len(set(points)) != len(points):
        raise SystemExit(f"--sweep={text}: the values must be positive and distinct")
    if name == 'n_sense_vector' and any(n_embd % v for v in points):
        raise SystemExit(
            f"--sweep={text}: n_embd ({n_embd}) must be divisible by every "
            f"n_sense_vector; {[v for v in points if n_embd % v]} are not divisors"
        )
    return name, sorted(points)


def model_args(s, vocab_size):
    shared = dict(
        n_layer=s.n_layer,
        n_head=s.n_head,
        n_embd=s.n_embd,
        block_size=s.block_size,
        bias=s.bias,
        vocab_size=vocab_size,
        dropout=0.0,
    )
    return {
        'gpt2': shared,
        'backpack-lm': dict(
            shared,
            n_sense_vector=s.n_sense_vector,
            sense_intermediate_scale=s.sense_intermediate_scale,
            sense_dedup=s.sense_dedup,
        ),
    }


def synchronize(device):
    if torch.device(device).type == 'cuda':
        torch.cuda.synchronize()


class Batches(NamedTuple):
    training: list
    evaluation: list
    memory: list


def draw_batches(s, data):
    """The batches of one point, as many as each measurement asks for: warmup_steps + timed_steps
    training steps, eval_steps + 1 evaluation forward passes (the first one a warm-up) and
    memory_steps steps of the memory measurement (the first training batches). The evaluation
    batches come from the training split's evaluation stream: every dataset has a training split,
    and the models have not trained on them."""

    def draw(n, stream='train'):
        return [
            data.get_batch('train', s.batch_size, s.block_size, s.seed, step, 0, 1.0, None, s.device, stream)
            for step in range(n)
        ]

    return Batches(draw(s.warmup_steps + s.timed_steps), draw(s.eval_steps + 1, 'eval'), draw(s.memory_steps))


def build(s, name, args):
    torch.manual_seed(s.seed)
    model = build_model(name, **args[name]).to(s.device)
    warn_slow_sense_sum(model, s.device, s.dtype)
    optimizer = model.configure_optimizers(0.1, 1e-4, (0.9, 0.95), torch.device(s.device).type)
    runner = torch.compile(model) if s.compile else model
    return model, runner, optimizer


def train_step(runner, optimizer, batch, ctx, scaler):
    x, y = batch
    with ctx:
        _, loss = runner(x, y)
    scaler.scale(loss).backward()
    scaler.step(optimizer)
    scaler.update()
    optimizer.zero_grad(set_to_none=True)


def timed(fn, device):
    synchronize(device)
    start = time.perf_counter()
    fn()
    synchronize(device)
    return time.perf_counter() - start


# -----------------------------------------------------------------------------
# peak training memory


class MemoryUse(NamedTuple):
    start: int  # bytes before the model was built
    peak: int  # bytes at the peak of its training steps


def peak_rss():
    """This process's peak resident set in bytes. Linux: VmHWM, which starts afresh in a new
    program (getrusage's ru_maxrss keeps the parent's peak across fork and exec)."""
    peak = proc_bytes('/proc/self/status', 'VmHWM')
    if peak is not None:
        return peak
    scale = 1 if sys.platform == 'darwin' else 1024  # bytes on macOS, KiB elsewhere
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


def train_alone(s, name, args, batches):
    """A few training steps of one model, built afresh."""
    model, runner, optimizer = build(s, name, args)
    ctx = autocast_context(s.device, s.dtype)
    scaler = torch.amp.GradScaler(torch.device(s.device).type, enabled=(s.dtype == 'float16'))
    for batch in batches:
        train_step(runner, optimizer, batch, ctx, scaler)


def peak_rss_child(s, name, args, batches, queue):
    """Child process: the peak resident set (bytes) of training one model for a few steps."""
    if torch.device(s.device).type == 'cpu':
        reuse_freed_memory()  # as train.py does
    start_rss = peak_rss()
    try:
        train_alone(s, name, args, batches)
    except Exception as error:
        if not is_out_of_memory(error):
            raise
        queue.put(('out of memory', str(error)))
        return
    queue.put((start_rss, peak_rss()))


def memory_child(s, name, args, batches):
    """The resident set of a child process training one model; OutOfMemory when the child
    cannot allocate or is killed (the system's out-of-memory killer)."""
    mp = multiprocessing.get_context('spawn')
    queue = mp.Queue()
    cpu_batches = [(x.cpu(), y.cpu()) for x, y in batches]
    child = mp.Process(target=peak_rss_child, args=(s, name, args, cpu_batches, queue))
    child.start()
    while True:
        try:
            result = queue.get(timeout=1.0)
            break
        except queue_module.Empty:
            if not child.is_alive():
                raise OutOfMemory(
                    f"the process measuring {name}'s memory ended with exit code "
                    f"{child.exitcode} (killed: most likely out of memory)"
                )
    child.join()
    if result[0] == 'out of memory':
        raise OutOfMemory(f"{name}: {result[1]}")
    return MemoryUse(*result)


def measure_peak_memory(s, args, batches):
    """{model: MemoryUse}: CUDA max allocated, or the peak RSS of a child process (CPU)."""
    memory = {}
    for name in MODELS:
        if torch.device(s.device).type == 'cuda':
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats()
            start = torch.cuda.memory_allocated()
            train_alone(s, name, args, batches)
            memory[name] = MemoryUse(start, torch.cuda.max_memory_allocated())
        else:
            memory[name] = memory_child(s, name, args, batches)
    return memory


# -----------------------------------------------------------------------------
# the costs of one point: training step, evaluation forward, peak memory, FLOPs


@dataclass
class CostMeasurements:
    """What the ratios of Costs are computed from, per model ({model: value})."""

    train_step_seconds: dict
    train_tokens_per_s: dict
    eval_forward_seconds: dict
    eval_tokens_per_s: dict
    peak_memory_bytes: dict
    memory_at_start_bytes: dict
    memory_kind: str  # 'cuda_max_allocated' or 'child_process_peak_rss'
    forward_flops_per_token: dict
    eval_forward_flops_per_token: dict
    distinct_token_fraction: float
    mfu: dict | None  # None where the device's peak FLOP/s is unknown
    parameters: dict


@dataclass
class Costs:
    """The Backpack's costs over GPT-2's at one point (bench.json holds them as they are here)."""

    train_step_time_ratio: float  # the median of the paired steps' ratios
    peak_memory_ratio: float
    peak_memory_above_start_ratio: float
    eval_forward_time_ratio: float
    flop_ratio: float
    eval_flop_ratio: float
    measurements: CostMeasurements


class Measured(NamedTuple):
    costs: Costs
    models: dict  # {model name: the trained model}, for the measurements that follow
    batches: Batches


def time_training(s, models, batches, ctx):
    """{model: seconds of each timed training step}, the models interleaved step by step so
    that both meet the same machine conditions."""
    scalers = {
        name: torch.amp.GradScaler(torch.device(s.device).type, enabled=(s.dtype == 'float16'))
        for name in MODELS
    }
    step_times = {name: [] for name in MODELS}
    for i, batch in enumerate(batches):
        for name in MODELS:
            model, runner, optimizer = models[name]
            model.train()
            t = timed(lambda: train_step(runner, optimizer, batch, ctx, scalers[name]), s.device)
            if i >= s.warmup_steps:
                step_times[name].append(t)
    return step_times


def time_evaluation(s, models, batches, ctx):
    """{model: seconds of each evaluation forward pass} after the first (the Backpack's sense
    table is computed once, in that warm-up)."""
    eval_times = {name: [] for name in MODELS}
    for i, (x, y) in enumerate(batches):
        for name in MODELS:
            model, runner, _ = models[name]
            model.eval()
            with torch.no_grad(), ctx:
                t = timed(lambda: runner(x, y), s.device)
            if i >= 1:
                eval_times[name].append(t)
    return eval_times


def costs_of(s, trained, step_times, eval_times, memory, distinct):
    """The ratios and their measurements. FLOPs of one training step on these batches (3x
    forward), and of an evaluation forward pass with the sense table cached (its cost is paid
    once, not per batch)."""
    tokens = s.batch_size * s.block_size
    peaks = {name: memory[name].peak for name in MODELS}
    starts = {name: memory[name].start for name in MODELS}
    flops = {
        name: trained[name].forward_flops_per_token(
            s.block_size, distinct if (name == 'backpack-lm' and s.sense_dedup) else 1.0
        )
        for name in MODELS
    }
    eval_flops = {name: trained[name].forward_flops_per_token(s.block_size, 0.0) for name in MODELS}
    peak = device_peak_flops(s.device, s.dtype, s.peak_flops)
    median_step = {n: statistics.median(step_times[n]) for n in MODELS}
    median_eval = {n: statistics.median(eval_times[n]) for n in MODELS}
    return Costs(
        train_step_time_ratio=statistics.median(
            [b / g for g, b in zip(step_times['gpt2'], step_times['backpack-lm'])]
        ),
        peak_memory_ratio=peaks['backpack-lm'] / peaks['gpt2'],
        peak_memory_above_start_ratio=(peaks['backpack-lm'] - starts['backpack-lm'])
        / max(1, peaks['gpt2'] - starts['gpt2']),
        eval_forward_time_ratio=median_eval['backpack-lm'] / median_eval['gpt2'],
        flop_ratio=flops['backpack-lm'] / flops['gpt2'],
        eval_flop_ratio=eval_flops['backpack-lm'] / eval_flops['gpt2'],
        measurements=CostMeasurements(
            train_step_seconds=step_times,
            train_tokens_per_s={n: tokens / median_step[n] for n in MODELS},
            eval_forward_seconds=eval_times,
            eval_tokens_per_s={n: tokens / median_eval[n] for n in MODELS},
            peak_memory_bytes=peaks,
            memory_at_start_bytes=starts,
            memory_kind='cuda_max_allocated'
            if torch.device(s.device).type == 'cuda'
            else 'child_process_peak_rss',
            forward_flops_per_token=flops,
            eval_forward_flops_per_token=eval_flops,
            distinct_token_fraction=distinct,
            mfu={n: 3 * flops[n] * tokens / median_step[n] / peak for n in MODELS} if peak else None,
            parameters={name: trained[name].get_num_params() for name in MODELS},
        ),
    )


def measure_costs(s, data):
    """One point: training steps, evaluation forward passes, peak training memory and the FLOPs
    of both models. Returns the costs, the trained models and the batches, for the
    measurements that follow."""
    args = model_args(s, data.vocab_size)
    ctx = autocast_context(s.device, s.dtype)
    batches = draw_batches(s, data)
    distinct = statistics.mean(x.unique().numel() / x.numel() for x, _ in batches.training)
    models = {name: build(s, name, args) for name in MODELS}
    print(
        "models: "
        + ', '.join(f"{n} {models[n][0].get_num_params() / 1e6:.2f}M parameters" for n in MODELS)
        + f"; {s.batch_size * s.block_size} tokens per step, {distinct:.1%} of them distinct"
    )
    step_times = time_training(s, models, batches.training, ctx)
    print(
        f"training step: median {statistics.median(step_times['gpt2']) * 1000:.0f} ms (gpt2), "
        f"{statistics.median(step_times['backpack-lm']) * 1000:.0f} ms (backpack-lm)"
    )
    eval_times = time_evaluation(s, models, batches.evaluation, ctx)
    if (
        torch.device(s.device).type == 'cuda'
    ):  # the memory measurement builds the models afresh, alone on the GPU
        trained = {name: models[name][0].cpu() for name in MODELS}
        del models  # the optimizers' states too
        memory = measure_peak_memory(s, args, batches.memory)
        trained = {name: model.to(s.device) for name, model in trained.items()}
    else:
        memory = measure_peak_memory(s, args, batches.memory)
        trained = {name: models[name][0] for name in MODELS}
    return Measured(costs_of(s, trained, step_times, eval_times, memory, distinct), trained, batches)


# -----------------------------------------------------------------------------
# generation and the evaluation scripts' paths, on the trained models


@dataclass
class Generation:
    cache_speedup: dict  # {model: time without the cache over time with it}
    tokens_identical: dict  # {model: whether both gave the same tokens}
    seconds: dict  # {model: {'cache': s, 'no_cache': s}}
    tokens_per_s_with_cache: dict


def measure_generation(s, models, batches, ctx):
    """Greedy generation with and without the cache: the tokens must be identical. Repeats
    alternate cache / no cache and the models, and the medians are kept (one run is noisy)."""
    prompt = batches.training[0][0][:1, : s.prompt_tokens]
    gen_times = {(name, use_cache): [] for name in MODELS for use_cache in (True, False)}
    results = {}
    for name in MODELS:
        models[name].eval()
        with ctx:
            for use_cache in (True, False):
                models[name].generate(prompt, 4, temperature=0, use_cache=use_cache)  # warm-up
    for _ in range(s.generation_repeats):
        for name in MODELS:
            for use_cache in (True, False):
                with ctx:
                    start = time.perf_counter()
                    results[(name, use_cache)] = models[name].generate(
                        prompt, s.new_tokens, temperature=0, use_cache=use_cache
                    )
                    synchronize(s.device)
                gen_times[(name, use_cache)].append(time.perf_counter() - start)
    generation = {key: statistics.median(times) for key, times in gen_times.items()}
    speedup = {n: generation[(n, False)] / generation[(n, True)] for n in MODELS}
    print("generation: " + ', '.join(f"{n} {speedup[n]:.1f}x faster with the cache" for n in MODELS))
    return Generation(
        cache_speedup=speedup,
        tokens_identical={n: bool(torch.equal(results[(n, True)], results[(n, False)])) for n in MODELS},
        seconds={n: {'cache': generation[(n, True)], 'no_cache': generation[(n, False)]} for n in MODELS},
        tokens_per_s_with_cache={n: s.new_tokens / generation[(n, True)] for n in MODELS},
    )


class SpeedInputs(NamedTuple):
    """The held-out text of one language, as the evaluation scripts read it."""

    tokenizer: object
    language: str
    stream: object  # token ids, EOT after each line: perplexity_per_lang.py's input
    stride: int
    items: list  # cloze_test.py's items
    contexts: list  # their contexts' ids
    pairs: list  # minimal_pairs.py's PairTokens: consecutive held-out lines as the two sentences


MAX_WORD_TOKENS = 12  # of a cloze answer


def speed_inputs(s, data):
    """Perplexity windows, cloze items (speed_items of each) and minimal pairs (4 x speed_items:
    line i against line i + 1, sentences as long as real pairs' and scored the same way) of the
    first language's test text; None where the datasets have no held-out text."""
    from common.tokenizer import load_tokenizer
    from evaluation.cloze import context_ids, items_from_lines
    from evaluation.minimal_pairs import PairTokens

    lines = data.heldout_lines('test')
    if not lines:
        return None
    tok = load_tokenizer(data.tokenizer, data.data_root, data.datasets[0])
    lang = sorted(lines)[0]
    stride = max(1, s.block_size // 2)
    stream = tok.encode_lines_with_eot(lines[lang])[: s.block_size + stride * (s.speed_items - 1)]
    items, _ = items_from_lines(lines[lang], 'bench', lang, max_items=s.speed_items)
    contexts = [context_ids(tok, item, s.block_size - MAX_WORD_TOKENS) for item in items]
    sentences = [
        ([tok.eot_token] + tok.encode(line))[: s.block_size + 1]
        for line in lines[lang][: 4 * s.speed_items + 1]
    ]
    pairs = [PairTokens((a, 1), (b, 1)) for a, b in zip(sentences, sentences[1:])]
    return SpeedInputs(tok, lang, stream, stride, items, contexts, pairs)


def time_evaluation_paths(s, models, inputs, ctx):
    """{(path, model): seconds}: perplexity scoring and the cloze beam search with and without
    the cache, alternating the models, each timed twice and the faster kept."""
    from evaluation.cloze import predict_items, tokenizer_classes
    from evaluation.minimal_pairs import score_pairs
    from evaluation.perplexity import token_nll

    tok = inputs.tokenizer
    seconds = {}
    for _ in range(2):
        for name in MODELS:
            model = models[name]
            model.eval()

            def cloze(use_cache):
                classes = tokenizer_classes(tok, model.config.padded_vocab_size, s.device)
                kwargs = dict(max_word_tokens=MAX_WORD_TOKENS, use_cache=use_cache, autocast=ctx)
                return predict_items(model, inputs.contexts, classes, **kwargs)

            with torch.no_grad():
                for key, run in (
                    (
                        ('perplexity', name),
                        lambda: token_nll(
                            model, inputs.stream, tok.eot_token, s.block_size, inputs.stride, 8, s.device, ctx
                        ),
                    ),
                    (('cloze cache', name), lambda: cloze(True)),
                    (('cloze no cache', name), lambda: cloze(False)),
                    (('minimal pairs', name), lambda: score_pairs(model, inputs.pairs, 32, s.device, ctx)),
                ):
                    t = timed(run, s.device)
                    seconds[key] = min(t, seconds.get(key, t))
    return seconds


@dataclass
class EvaluationSpeeds:
    """Tokens/s of perplexity_per_lang.py's scoring path, items/s of cloze_test.py's beam
    search, and pairs/s (and tokens/s) of minimal_pairs.py's scoring, per model ({model: value}),
    on the held-out text of one language."""

    language: str
    perplexity_tokens: int
    perplexity_stride: int
    cloze_items: int
    perplexity_tokens_per_s: dict
    cloze_items_per_s_with_cache: dict
    cloze_items_per_s_without_cache: dict
    minimal_pairs: int
    minimal_pairs_per_s: dict
    minimal_pair_tokens_per_s: dict  # tokens scored (both sentences): beside perplexity's tokens/s


def measure_evaluation_speeds(s, models, data, ctx):
    """Tokens/s of perplexity_per_lang.py's scoring path (sliding windows, stride block/2) and
    items/s of cloze_test.py's batched beam search with and without the cache, on held-out
    text, alternating the models; each is timed twice and the faster kept."""
    inputs = speed_inputs(s, data)
    if inputs is None:
        print("evaluation speeds: no held-out text (.txt) in these datasets, skipped")
        return None
    seconds = time_evaluation_paths(s, models, inputs, ctx)
    tokens, items, pairs = len(inputs.stream), len(inputs.items), len(inputs.pairs)
    pair_tokens = sum(len(ids) - 1 for pair in inputs.pairs for ids, _ in pair.sequences())
    result = EvaluationSpeeds(
        language=inputs.language,
        perplexity_tokens=tokens,
        perplexity_stride=inputs.stride,
        cloze_items=items,
        perplexity_tokens_per_s={n: tokens / seconds[('perplexity', n)] for n in MODELS},
        cloze_items_per_s_with_cache={n: items / seconds[('cloze cache', n)] for n in MODELS},
        cloze_items_per_s_without_cache={n: items / seconds[('cloze no cache', n)] for n in MODELS},
        minimal_pairs=pairs,
        minimal_pairs_per_s={n: pairs / seconds[('minimal pairs', n)] for n in MODELS},
        minimal_pair_tokens_per_s={n: pair_tokens / seconds[('minimal pairs', n)] for n in MODELS},
    )
    print(
        "perplexity scoring: "
        + ', '.join(f"{n} {result.perplexity_tokens_per_s[n]:,.0f} tokens/s" for n in MODELS)
    )
    print(
        "cloze beam search: "
        + ', '.join(
            f"{n} {result.cloze_items_per_s_with_cache[n]:.2f} items/s with the cache, "
            f"{result.cloze_items_per_s_without_cache[n]:.2f} without"
            for n in MODELS
        )
    )
    print(
        "minimal pairs: "
        + ', '.join(
            f"{n} {result.minimal_pairs_per_s[n]:,.0f} pairs/s ({result.minimal_pair_tokens_per_s[n]:,.0f} tokens/s)"
            for n in MODELS
        )
    )
    return result


# -----------------------------------------------------------------------------
# a run at one point: bench.json and its table


def report_of(s, costs, generation, speeds):
    """bench.json of a run at one point."""
    report = asdict(costs)
    report['generation_cache_speedup'] = generation.cache_speedup
    report['generation_tokens_identical'] = generation.tokens_identical
    report['measurements'].update(
        {
            'generation_seconds': generation.seconds,
            'generation_tokens_per_s_with_cache': generation.tokens_per_s_with_cache,
            'evaluation_speeds': asdict(speeds) if speeds else None,
        }
    )
    report.update({'config': config, 'machine': machine_description(s)})
    return report


def cost_rows(costs, generation):
    m = costs.measurements
    return [
        {
            'measure': 'training step (tokens/s)',
            **m.train_tokens_per_s,
            'ratio': costs.train_step_time_ratio,
            'FLOP ratio': costs.flop_ratio,
        },
        {
            'measure': 'peak training memory (MB)',
            **{n: m.peak_memory_bytes[n] / 1e6 for n in MODELS},
            'ratio': costs.peak_memory_ratio,
        },
        {
            'measure': 'evaluation forward (tokens/s)',
            **m.eval_tokens_per_s,
            'ratio': costs.eval_forward_time_ratio,
            'FLOP ratio': costs.eval_flop_ratio,
        },
        {'measure': 'generation with cache (tokens/s)', **generation.tokens_per_s_with_cache},
        {'measure': 'cache speedup (x)', **generation.cache_speedup},
    ]


def speed_rows(speeds):
    rows = []
    for label, per_model in (
        ('perplexity scoring (tokens/s)', speeds.perplexity_tokens_per_s),
        ('cloze with cache (items/s)', speeds.cloze_items_per_s_with_cache),
        ('cloze without cache (items/s)', speeds.cloze_items_per_s_without_cache),
        ('minimal pairs (pairs/s)', speeds.minimal_pairs_per_s),
        ('minimal pairs (tokens/s)', speeds.minimal_pair_tokens_per_s),
    ):
        rows.append({'measure': label, **per_model, 'ratio': per_model['gpt2'] / per_model['backpack-lm']})
    return rows


def summary_table(costs, generation, speeds):
    rows = cost_rows(costs, generation) + (speed_rows(speeds) if speeds else [])
    mfu = costs.measurements.mfu
    if mfu:
        rows.append({'measure': 'training MFU', **mfu})
    formats = {'gpt2': ',.4g', 'backpack-lm': ',.4g', 'ratio': '.3f', 'FLOP ratio': '.3f'}
    headers = {'ratio': 'Backpack / GPT-2 (time, memory)', 'gpt2': 'GPT-2', 'backpack-lm': 'Backpack'}
    return markdown_table(rows, ['measure', 'gpt2', 'backpack-lm', 'ratio', 'FLOP ratio'], formats, headers)


# -----------------------------------------------------------------------------
# a sweep: one point after another


@dataclass
class SweepPoint:
    value: int  # of the swept setting
    costs: Costs | None  # None where the point does not fit in memory
    out_of_memory: str = ''  # why it does not

    def as_json(self, name):
        if self.costs is None:
            return {name: self.value, 'out_of_memory': self.out_of_memory}
        return {name: self.value, **asdict(self.costs)}


def measure_point(s, name, value, data):
    """The costs at one point of the sweep, or why it does not fit in memory."""
    needed, available = estimated_training_bytes(s, data.vocab_size), available_memory()
    try:
        if torch.device(s.device).type == 'cpu' and available and needed > available:
            raise OutOfMemory(
                f"training needs about {needed / 1e9:,.1f} GB and {available / 1e9:,.1f} GB are available"
            )
        return SweepPoint(value, measure_costs(s, data).costs)
    except (OutOfMemory, RuntimeError, MemoryError) as error:
        if not (isinstance(error, OutOfMemory) or is_out_of_memory(error)):
            raise
        print(f"{name} = {value} does not fit in memory here: {str(error).splitlines()[0]}")
        return SweepPoint(value, None, str(error).splitlines()[0])


def run_sweep(settings, out, data):
    """Each point in turn, both models alternating within it; bench.json is rewritten after
    every point, so a sweep stopped half-way keeps what it measured."""
    name, values = parse_sweep(sweep, settings.n_embd)
    points = []
    for value in values:
        print(f"\n=== {name} = {value}")
        points.append(measure_point(replace(settings, **{name: value}), name, value, data))
        if torch.device(settings.device).type == 'cuda':  # the point's models are gone: free their memory
            torch.cuda.empty_cache()
        summary = sweep_summary(settings, name, points)
        report = {
            'sweep': name,
            'points': [point.as_json(name) for point in points],
            'summary': summary,
            'config': config,
            'machine': machine_description(settings, swept=name),
        }
        write_json(os.path.join(out, 'bench.json'), report)
    plot_path = os.path.join(out, f'bench_{name}.png')
    plot_sweep(settings, plot_path, name, points)
    table = sweep_table(name, points, summary)
    write_text(
        os.path.join(out, 'bench.md'), f"{report['machine']}\n\n{table}\n![cost curves](bench_{name}.png)\n"
    )
    print('\n' + table)
    print(f"wrote {os.path.join(out, 'bench.json')}, bench.md and {plot_path}")


def sweep_summary(s, name, points):
    """What must hold along the sweep. time_over_flop_ratio: the Backpack's training time ratio
    over its FLOP ratio at each point (1.10 is the budget). memory_bytes_per_token: the growth
    of each model's peak training memory from one point to the next, per token of the batch;
    linear growth keeps it constant, a T x T term kept for the backward pass would make it
    grow with the block size."""
    fitted = [p for p in points if p.costs is not None]
    time_over_flops = [p.costs.train_step_time_ratio / p.costs.flop_ratio for p in fitted]
    summary = {
        'points_measured': [p.value for p in fitted],
        'points_out_of_memory': [p.value for p in points if p.costs is None],
        'time_over_flop_ratio': time_over_flops,
        'time_ratio_within_1.10_of_flop_ratio': all(r <= 1.10 for r in time_over_flops),
    }
    if name in ('block_size', 'batch_size') and len(fitted) >= 2:
        other = s.batch_size if name == 'block_size' else s.block_size
        peak = lambda p, model: p.costs.measurements.peak_memory_bytes[model]
        summary['memory_bytes_per_token'] = {
            model: [
                (peak(b, model) - peak(a, model)) / ((b.value - a.value) * other)
                for a, b in zip(fitted, fitted[1:])
            ]
            for model in MODELS
        }
    return summary


def plot_sweep(s, path, name, points):
    fitted = [p for p in points if p.costs is not None]
    if not fitted:
        return
    x = [p.value for p in fitted]
    labels = {'gpt2': 'GPT-2', 'backpack-lm': 'Backpack'}
    step = {
        f"{labels[m]} training step": [
            statistics.median(p.costs.measurements.train_step_seconds[m]) for p in fitted
        ]
        for m in MODELS
    }
    step.update(
        {
            f"{labels[m]} evaluation forward": [
                statistics.median(p.costs.measurements.eval_forward_seconds[m]) for p in fitted
            ]
            for m in MODELS
        }
    )
    memory = {
        f"{labels[m]} peak training memory": [p.costs.measurements.peak_memory_bytes[m] / 1e6 for p in fitted]
        for m in MODELS
    }
    log_log_chart(
        path, x, [('seconds', step), ('MB', memory)], xlabel=name, title=machine_description(s, swept=name)
    )


SWEEP_COLUMNS = (
    'GPT-2 step (ms)',
    'Backpack step (ms)',
    'time ratio',
    'FLOP ratio',
    'GPT-2 memory (MB)',
    'Backpack memory (MB)',
    'memory ratio',
    'eval time ratio',
)


def sweep_row(name, point):
    if point.costs is None:
        return {name: point.value, 'note': f"does not fit in memory: {point.out_of_memory}"}
    c, m = point.costs, point.costs.measurements
    values = (
        statistics.median(m.train_step_seconds['gpt2']) * 1000,
        statistics.median(m.train_step_seconds['backpack-lm']) * 1000,
        c.train_step_time_ratio,
        c.flop_ratio,
        m.peak_memory_bytes['gpt2'] / 1e6,
        m.peak_memory_bytes['backpack-lm'] / 1e6,
        c.peak_memory_ratio,
        c.eval_forward_time_ratio,
    )
    return {name: point.value, **dict(zip(SWEEP_COLUMNS, values))}


def sweep_table(name, points, summary):
    columns = [name, *SWEEP_COLUMNS] + (['note'] if summary['points_out_of_memory'] else [])
    formats = {c: ',.0f' for c in columns if c.endswith(')')}
    formats.update({c: '.3f' for c in ('time ratio', 'FLOP ratio', 'memory ratio', 'eval time ratio')})
    table = markdown_table([sweep_row(name, p) for p in points], columns, formats)
    within = summary['time_ratio_within_1.10_of_flop_ratio']
    table += (
        f"\nTime ratio over FLOP ratio: {', '.join(f'{r:.3f}' for r in summary['time_over_flop_ratio'])}"
        f" ({'within' if within else 'NOT within'} 1.10 at every point).\n"
    )
    if 'memory_bytes_per_token' in summary:
        table += (
            "Peak memory growth per token of the batch between consecutive points: "
            + '; '.join(
                f"{model} {', '.join(f'{g / 1e3:.1f}' for g in growth)} kB"
                for model, growth in summary['memory_bytes_per_token'].items()
            )
            + " (constant = linear).\n"
        )
    return table


# -----------------------------------------------------------------------------


def machine_description(s, swept=None):
    if torch.device(s.device).type == 'cuda':
        what = torch.cuda.get_device_name(torch.device(s.device))
    else:
        what = (
            f"{cpu_model()}, {os.cpu_count()} CPU cores, {torch.get_num_threads()} threads, "
            f"{torch.backends.cpu.get_cpu_capability()} kernels"
        )
    shape = {
        'n_sense_vector': f"{s.n_sense_vector} senses",
        'block_size': f"block {s.block_size}",
        'batch_size': f"batch {s.batch_size}",
    }
    if swept:
        shape[swept] = f"{swept} swept"
    return (
        f"Machine: {what}; PyTorch {torch.__version__}; device {s.device}, dtype {s.dtype}"
        f"{', torch.compile' if s.compile else ''}; {s.n_layer} layers, {s.n_head} heads, {s.n_embd} wide, "
        f"{', '.join(shape.values())}, datasets {list(s.list_of_datasets)}."
    )


def check_imports():
    """matplotlib, which a sweep imports only for its chart at the end, minutes into the run,
    imported now: an environment installed before it was required is told at once."""
    if not sweep:
        return
    try:
        importlib.import_module('matplotlib')
    except ImportError:
        raise UserError(
            "bench.py --sweep needs matplotlib, which is not installed here: pip install "
            "matplotlib (or: pip install -r requirements.txt)"
        )


class Run(NamedTuple):
    settings: Settings
    report_dir: str
    data: PreparedData


def setup():
    """Everything that can be wrong is found here, before any measuring: the sweep, the report
    folder (checked writable, made only with the report), the packages, the data."""
    # imported here, not by the memory-measuring children (which import this file)
    from evaluation.checkpoints import default_report_dir

    if sweep:
        parse_sweep(sweep, n_embd)
    out = default_report_dir(report_dir, ['bench'])
    check_imports()
    device_type, resolved_dtype = resolve_device(device, dtype)
    if device_type == 'cpu':
        reuse_freed_memory()  # as train.py does: both models are measured the same way
    config['dtype'] = resolved_dtype
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    print(f"configuration:\n{format_config(config)}")
    return Run(Settings.of(config), out, PreparedData(data_root, list_of_datasets))


def main():
    run = setup()
    settings, data = run.settings, run.data
    if sweep:
        return run_sweep(settings, run.report_dir, data)
    ctx = autocast_context(settings.device, settings.dtype)
    measured = measure_costs(settings, data)
    generation = measure_generation(settings, measured.models, measured.batches, ctx)
    speeds = (
        measure_evaluation_speeds(settings, measured.models, data, ctx) if settings.speed_items > 0 else None
    )
    costs = measured.costs
    path = os.path.join(run.report_dir, 'bench.json')
    write_json(path, report_of(settings, costs, generation, speeds))
    table = summary_table(costs, generation, speeds)
    write_text(os.path.join(run.report_dir, 'bench.md'), f"{machine_description(settings)}\n\n{table}")
    print('\n' + table)
    print(f"wrote {path} and bench.md")


if __name__ == '__main__':  # the memory-measuring children import this file: run only once
    main()
