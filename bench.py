"""
Measure what a Backpack costs next to the GPT-2 it is built on, in one run, alternating the two
models: a training step (tokens/s, peak memory), an evaluation forward pass, generation with and
without the key/value cache, perplexity scoring, the cloze beam search, and preparing text.

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
"""

import importlib
import multiprocessing
import os
import platform
import queue as queue_module
import resource
import statistics
import sys
import tempfile
import time

import numpy as np
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
from common.reporting import log_log_chart, markdown_table, write_json, write_text
from configurator import at_least, configure, divisor_of, format_config
from data.prepared import HELD_OUT_SPLITS, PreparedData
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
tokenize_megabytes = 8.0  # held-out text for the tokenization measurement (0 to skip it)
tokenize_processes = 2
memory_steps = 2  # training steps in each memory-measuring child process
peak_flops = 0.0  # FLOP/s of the device for MFU; 0 looks the GPU up in a table
report_dir = ''  # default: bench/ under the current folder
seed = 1337
sweep = ''  # 'block_size:256,512,1024' (or n_sense_vector, batch_size): one entry per point
speed_items = 32  # cloze items and perplexity windows for the evaluation speeds (0 skips them)
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
    tokenize_megabytes=at_least(0),
    tokenize_processes=at_least(1),
    memory_steps=at_least(1),
    peak_flops=at_least(0),
    seed=at_least(0),
    speed_items=at_least(0),
)
# -----------------------------------------------------------------------------
config = configure(globals(), sys.argv[1:], ranges, strict_files=False)
# -----------------------------------------------------------------------------
MODELS = ('gpt2', 'backpack-lm')
SWEEPABLE = ('block_size', 'n_sense_vector', 'batch_size')


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


def estimated_training_bytes(vocab_size):
    """A generous estimate of what training the larger model (the Backpack) at this point needs:
    weights, gradients and AdamW's two moments, and the float32 activations kept for the
    backward pass (about 34 n_embd per token and layer, the logits and their gradient twice,
    the sense vectors, queries and keys, and the sense network on every token). On CPU a point
    far above the memory available would be killed by the system rather than fail cleanly,
    so such a point is reported as not fitting without being run."""
    d, K, s = n_embd, n_sense_vector, sense_intermediate_scale
    padded_vocab = -(-vocab_size // 64) * 64
    params = 12 * n_layer * d * d + padded_vocab * d + 2 * d * d + (3 * s * d * d + s * K * d * d)
    per_token = 34 * n_layer * d + 4 * padded_vocab + 3 * K * d + 2 * d + (3 * s * d + 2 * K * d)
    return 4 * (4 * params + batch_size * block_size * per_token)


def parse_sweep(text):
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


def model_args(vocab_size):
    shared = dict(
        n_layer=n_layer,
        n_head=n_head,
        n_embd=n_embd,
        block_size=block_size,
        bias=bias,
        vocab_size=vocab_size,
        dropout=0.0,
    )
    return {
        'gpt2': shared,
        'backpack-lm': dict(
            shared,
            n_sense_vector=n_sense_vector,
            sense_intermediate_scale=sense_intermediate_scale,
            sense_dedup=sense_dedup,
        ),
    }


def synchronize():
    if torch.device(device).type == 'cuda':
        torch.cuda.synchronize()


def draw_batches(data):
    """The batches of one point, as many as each measurement asks for: warmup_steps + timed_steps
    training steps, eval_steps + 1 evaluation forward passes (the first one a warm-up) and
    memory_steps steps of the memory measurement (the first training batches). The evaluation
    batches come from the training split's evaluation stream: every dataset has a training split,
    and the models have not trained on them."""

    def draw(n, stream='train'):
        return [
            data.get_batch('train', batch_size, block_size, seed, step, 0, 1.0, None, device, stream)
            for step in range(n)
        ]

    return draw(warmup_steps + timed_steps), draw(eval_steps + 1, 'eval'), draw(memory_steps)


def build(name, args):
    torch.manual_seed(seed)
    model = build_model(name, **args[name]).to(device)
    warn_slow_sense_sum(model, device, dtype)
    optimizer = model.configure_optimizers(0.1, 1e-4, (0.9, 0.95), torch.device(device).type)
    runner = torch.compile(model) if compile else model
    return model, runner, optimizer


def train_step(runner, optimizer, batch, ctx, scaler):
    x, y = batch
    with ctx:
        _, loss = runner(x, y)
    scaler.scale(loss).backward()
    scaler.step(optimizer)
    scaler.update()
    optimizer.zero_grad(set_to_none=True)


def timed(fn):
    synchronize()
    start = time.perf_counter()
    fn()
    synchronize()
    return time.perf_counter() - start


def peak_rss():
    """This process's peak resident set in bytes. Linux: VmHWM, which starts afresh in a new
    program (getrusage's ru_maxrss keeps the parent's peak across fork and exec)."""
    peak = proc_bytes('/proc/self/status', 'VmHWM')
    if peak is not None:
        return peak
    scale = 1 if sys.platform == 'darwin' else 1024  # bytes on macOS, KiB elsewhere
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


def peak_rss_child(name, args, batches, resolved_dtype, queue):
    """Child process: the peak resident set (bytes) of training one model for a few steps."""
    global dtype
    dtype = resolved_dtype
    if torch.device(device).type == 'cpu':
        reuse_freed_memory()  # as train.py does
    start_rss = peak_rss()
    try:
        model, runner, optimizer = build(name, args)
        ctx = autocast_context(device, dtype)
        scaler = torch.amp.GradScaler(torch.device(device).type, enabled=(dtype == 'float16'))
        for batch in batches:
            train_step(runner, optimizer, batch, ctx, scaler)
    except Exception as error:
        if not is_out_of_memory(error):
            raise
        queue.put(('out of memory', str(error)))
        return
    queue.put((start_rss, peak_rss()))


def memory_child(name, args, batches):
    """(start, peak) resident set of a child process training one model; OutOfMemory when the
    child cannot allocate or is killed (the system's out-of-memory killer)."""
    mp = multiprocessing.get_context('spawn')
    queue = mp.Queue()
    cpu_batches = [(x.cpu(), y.cpu()) for x, y in batches]
    child = mp.Process(target=peak_rss_child, args=(name, args, cpu_batches, dtype, queue))
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
    return result


def measure_peak_memory(args, batches):
    """bytes per model: CUDA max allocated, or the peak RSS of a child process (CPU)."""
    peaks, starts = {}, {}
    for name in MODELS:
        if torch.device(device).type == 'cuda':
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats()
            starts[name] = torch.cuda.memory_allocated()
            model, runner, optimizer = build(name, args)
            ctx = autocast_context(device, dtype)
            scaler = torch.amp.GradScaler('cuda', enabled=(dtype == 'float16'))
            for batch in batches:
                train_step(runner, optimizer, batch, ctx, scaler)
            peaks[name] = torch.cuda.max_memory_allocated()
            del model, runner, optimizer
        else:
            starts[name], peaks[name] = memory_child(name, args, batches)
    return peaks, starts


def measure_costs(data):
    """One point: training steps (interleaved so that both models meet the same machine
    conditions), evaluation forward passes, peak training memory and the FLOPs of both models.
    Returns (result, models) with the trained models for the measurements that follow."""
    args = model_args(data.vocab_size)
    ctx = autocast_context(device, dtype)
    dev_type = torch.device(device).type
    tokens = batch_size * block_size
    batches, eval_batches, memory_batches = draw_batches(data)
    distinct = statistics.mean(x.unique().numel() / x.numel() for x, _ in batches)

    models = {name: build(name, args) for name in MODELS}
    scalers = {name: torch.amp.GradScaler(dev_type, enabled=(dtype == 'float16')) for name in MODELS}
    params = {name: models[name][0].get_num_params() for name in MODELS}
    print(
        "models: "
        + ', '.join(f"{n} {p / 1e6:.2f}M parameters" for n, p in params.items())
        + f"; {tokens} tokens per step, {distinct:.1%} of them distinct"
    )

    step_times = {name: [] for name in MODELS}
    for i, batch in enumerate(batches):
        for name in MODELS:
            model, runner, optimizer = models[name]
            model.train()
            t = timed(lambda: train_step(runner, optimizer, batch, ctx, scalers[name]))
            if i >= warmup_steps:
                step_times[name].append(t)
    pair_ratios = [b / g for g, b in zip(step_times['gpt2'], step_times['backpack-lm'])]
    print(
        f"training step: median {statistics.median(step_times['gpt2']) * 1000:.0f} ms (gpt2), "
        f"{statistics.median(step_times['backpack-lm']) * 1000:.0f} ms (backpack-lm)"
    )

    # evaluation forward passes (the Backpack's sense table is computed once, in the warm-up)
    eval_times = {name: [] for name in MODELS}
    for i, (x, y) in enumerate(eval_batches):
        for name in MODELS:
            model, runner, _ = models[name]
            model.eval()
            with torch.no_grad(), ctx:
                t = timed(lambda: runner(x, y))
            if i >= 1:
                eval_times[name].append(t)

    if dev_type == 'cuda':  # the memory measurement builds the models afresh, alone on the GPU
        trained = {name: models[name][0].cpu() for name in MODELS}
        del models, model, runner, optimizer  # the optimizers' states too
        peaks, starts = measure_peak_memory(args, memory_batches)
        trained = {name: model.to(device) for name, model in trained.items()}
    else:
        peaks, starts = measure_peak_memory(args, memory_batches)
        trained = {name: models[name][0] for name in MODELS}

    # FLOPs of one training step on these batches (3x forward), and of an evaluation forward
    # pass with the sense table cached (its cost is paid once, not per batch)
    flops = {
        name: trained[name].forward_flops_per_token(
            block_size, distinct if (name == 'backpack-lm' and sense_dedup) else 1.0
        )
        for name in MODELS
    }
    eval_flops = {name: trained[name].forward_flops_per_token(block_size, 0.0) for name in MODELS}
    peak = device_peak_flops(device, dtype, peak_flops)
    median_step = {n: statistics.median(step_times[n]) for n in MODELS}
    median_eval = {n: statistics.median(eval_times[n]) for n in MODELS}
    result = {
        'train_step_time_ratio': statistics.median(pair_ratios),
        'peak_memory_ratio': peaks['backpack-lm'] / peaks['gpt2'],
        'peak_memory_above_start_ratio': (peaks['backpack-lm'] - starts['backpack-lm'])
        / max(1, peaks['gpt2'] - starts['gpt2']),
        'eval_forward_time_ratio': median_eval['backpack-lm'] / median_eval['gpt2'],
        'flop_ratio': flops['backpack-lm'] / flops['gpt2'],
        'eval_flop_ratio': eval_flops['backpack-lm'] / eval_flops['gpt2'],
        'measurements': {
            'train_step_seconds': step_times,
            'train_tokens_per_s': {n: tokens / median_step[n] for n in MODELS},
            'eval_forward_seconds': eval_times,
            'eval_tokens_per_s': {n: tokens / median_eval[n] for n in MODELS},
            'peak_memory_bytes': peaks,
            'memory_at_start_bytes': starts,
            'memory_kind': 'cuda_max_allocated' if dev_type == 'cuda' else 'child_process_peak_rss',
            'forward_flops_per_token': flops,
            'eval_forward_flops_per_token': eval_flops,
            'distinct_token_fraction': distinct,
            'mfu': {n: 3 * flops[n] * tokens / median_step[n] / peak for n in MODELS} if peak else None,
            'parameters': params,
        },
    }
    return result, trained, batches


def measure_generation(models, batches, ctx):
    """Greedy generation with and without the cache: the tokens must be identical. Repeats
    alternate cache / no cache and the models, and the medians are kept (one run is noisy)."""
    prompt = batches[0][0][:1, :prompt_tokens]
    gen_times = {(name, use_cache): [] for name in MODELS for use_cache in (True, False)}
    results = {}
    for name in MODELS:
        models[name].eval()
        with ctx:
            for use_cache in (True, False):
                models[name].generate(prompt, 4, temperature=0, use_cache=use_cache)  # warm-up
    for _ in range(generation_repeats):
        for name in MODELS:
            for use_cache in (True, False):
                with ctx:
                    start = time.perf_counter()
                    results[(name, use_cache)] = models[name].generate(
                        prompt, new_tokens, temperature=0, use_cache=use_cache
                    )
                    synchronize()
                gen_times[(name, use_cache)].append(time.perf_counter() - start)
    generation = {key: statistics.median(times) for key, times in gen_times.items()}
    identical = {name: bool(torch.equal(results[(name, True)], results[(name, False)])) for name in MODELS}
    print(
        "generation: "
        + ', '.join(
            f"{n} {generation[(n, False)] / generation[(n, True)]:.1f}x faster with the cache" for n in MODELS
        )
    )
    return {
        'generation_cache_speedup': {n: generation[(n, False)] / generation[(n, True)] for n in MODELS},
        'generation_tokens_identical': identical,
        'seconds': {n: {'cache': generation[(n, True)], 'no_cache': generation[(n, False)]} for n in MODELS},
        'tokens_per_s_with_cache': {n: new_tokens / generation[(n, True)] for n in MODELS},
    }


def measure_evaluation_speeds(models, data, ctx):
    """Tokens/s of perplexity_per_lang.py's scoring path (sliding windows, stride block/2) and
    items/s of cloze_test.py's batched beam search with and without the cache, on held-out
    text, alternating the models; each is timed twice and the faster kept."""
    from common.tokenizer import load_tokenizer
    from evaluation.cloze import context_ids, items_from_lines, predict_items, tokenizer_classes
    from evaluation.perplexity import token_nll

    lines = data.heldout_lines('test')
    if not lines:
        print("evaluation speeds: no held-out text (.txt) in these datasets, skipped")
        return None
    tok = load_tokenizer(data.tokenizer, data.data_root, data.datasets[0])
    lang = sorted(lines)[0]
    stride = max(1, block_size // 2)
    stream = tok.encode_lines_with_eot(lines[lang])[: block_size + stride * (speed_items - 1)]
    items, _ = items_from_lines(lines[lang], 'bench', lang, max_items=speed_items)
    max_word_tokens = 12
    contexts = [context_ids(tok, item, block_size - max_word_tokens) for item in items]
    seconds = {}
    for _ in range(2):
        for name in MODELS:
            model = models[name]
            model.eval()
            with torch.no_grad():
                for key, run in (
                    (
                        ('perplexity', name),
                        lambda: token_nll(model, stream, tok.eot_token, block_size, stride, 8, device, ctx),
                    ),
                    (
                        ('cloze cache', name),
                        lambda: predict_items(
                            model,
                            contexts,
                            tokenizer_classes(tok, model.config.padded_vocab_size, device),
                            max_word_tokens=max_word_tokens,
                            use_cache=True,
                            autocast=ctx,
                        ),
                    ),
                    (
                        ('cloze no cache', name),
                        lambda: predict_items(
                            model,
                            contexts,
                            tokenizer_classes(tok, model.config.padded_vocab_size, device),
                            max_word_tokens=max_word_tokens,
                            use_cache=False,
                            autocast=ctx,
                        ),
                    ),
                ):
                    t = timed(run)
                    seconds[key] = min(t, seconds.get(key, t))
    result = {
        'language': lang,
        'perplexity_tokens': len(stream),
        'perplexity_stride': stride,
        'cloze_items': len(items),
        'perplexity_tokens_per_s': {n: len(stream) / seconds[('perplexity', n)] for n in MODELS},
        'cloze_items_per_s_with_cache': {n: len(items) / seconds[('cloze cache', n)] for n in MODELS},
        'cloze_items_per_s_without_cache': {n: len(items) / seconds[('cloze no cache', n)] for n in MODELS},
    }
    print(
        "perplexity scoring: "
        + ', '.join(f"{n} {result['perplexity_tokens_per_s'][n]:,.0f} tokens/s" for n in MODELS)
    )
    print(
        "cloze beam search: "
        + ', '.join(
            f"{n} {result['cloze_items_per_s_with_cache'][n]:.2f} items/s with the cache, "
            f"{result['cloze_items_per_s_without_cache'][n]:.2f} without"
            for n in MODELS
        )
    )
    return result


def nanogpt_prepare(lines, tok, out_path):
    """nanoGPT's way (data/openwebtext/prepare.py): a Hugging Face datasets map with one process
    per core and one encode_ordinary call per document (here a line) plus EOT, then the ids
    concatenated shard by shard into a .bin memmap."""
    from datasets import Dataset, disable_progress_bars

    disable_progress_bars()
    eot = tok.eot_token

    def process(example):
        ids = tok.encode(example['text'])  # tiktoken's encode_ordinary for ours, as nanoGPT
        ids.append(eot)
        return {'ids': ids, 'len': len(ids)}

    tokenized = Dataset.from_dict({'text': lines}).map(
        process, remove_columns=['text'], num_proc=os.cpu_count()
    )
    arr = np.memmap(out_path, dtype=np.uint32, mode='w+', shape=(int(np.sum(tokenized['len'])),))
    idx = 0
    total_batches = min(1024, len(tokenized))
    for batch_idx in range(total_batches):
        batch = tokenized.shard(num_shards=total_batches, index=batch_idx, contiguous=True).with_format(
            'numpy'
        )
        arr_batch = np.concatenate(batch['ids'])
        arr[idx : idx + len(arr_batch)] = arr_batch
        idx += len(arr_batch)
    arr.flush()
    return np.array(arr)


def measure_prepare(data):
    """MB/s of our prepare path (prepare_parallel_corpus: read, clean, split, tokenize, write the
    .bin files) against nanoGPT's, on the same held-out text (repeated up to tokenize_megabytes
    per language), each run twice in turn and the faster kept. nanoGPT's way does less (no
    cleaning, no splits), so the comparison favours it."""
    from common.tokenizer import load_tokenizer
    from data.parallel_corpus import prepare_parallel_corpus

    lines = data.heldout_lines('val')
    if len(lines) < 2:
        print("prepare: needs the held-out text of two languages, skipped")
        return None
    languages = sorted(lines)[:2]
    n = min(len(lines[lang]) for lang in languages)
    size = sum(len(line.encode('utf-8')) for line in lines[languages[0]][:n])
    repeat = max(1, int(tokenize_megabytes * 1e6 // max(size, 1)))
    tok = load_tokenizer(data.tokenizer, data.data_root, data.datasets[0])
    seconds = {}
    with tempfile.TemporaryDirectory() as tmp:
        raw = {}
        for lang in languages:
            raw[lang] = os.path.join(tmp, f'raw.{lang}')
            with open(raw[lang], 'w', encoding='utf-8') as f:
                f.write('\n'.join(lines[lang][:n] * repeat) + '\n')
        megabytes = sum(os.path.getsize(p) for p in raw.values()) / 1e6
        for attempt in range(2):
            for way in ('ours', 'nanogpt'):
                start = time.perf_counter()
                if way == 'ours':
                    prepare_parallel_corpus(
                        os.path.join(tmp, f'ours{attempt}'),
                        raw,
                        tok,
                        data_root=tmp,
                        num_proc=tokenize_processes,
                        verbose=False,
                    )
                else:
                    for lang in languages:
                        with open(raw[lang], encoding='utf-8') as f:
                            nanogpt_prepare(
                                f.read().splitlines(), tok, os.path.join(tmp, f'nanogpt{attempt}_{lang}.bin')
                            )
                t = time.perf_counter() - start
                seconds[way] = min(t, seconds.get(way, t))
    result = {
        'megabytes': round(megabytes, 3),
        'num_proc': tokenize_processes,
        'cpu_count': os.cpu_count(),
        'ours_mb_per_s': megabytes / seconds['ours'],
        'nanogpt_mb_per_s': megabytes / seconds['nanogpt'],
        'speedup_over_nanogpt': seconds['nanogpt'] / seconds['ours'],
    }
    print(
        f"prepare ({megabytes:.1f} MB): {result['ours_mb_per_s']:.1f} MB/s (ours, {tokenize_processes} "
        f"processes), {result['nanogpt_mb_per_s']:.1f} MB/s (nanoGPT's datasets map, "
        f"{os.cpu_count()} processes): {result['speedup_over_nanogpt']:.2f}x"
    )
    return result


def check_imports():
    """The packages that the measurements import only when they reach them, minutes into the
    run, imported now: an environment installed before they were required is told at once."""
    needed = ['matplotlib'] if sweep else ['tqdm', 'datasets'] if tokenize_megabytes > 0 else []
    missing = []
    for name in needed:
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    if missing:
        skip = "" if sweep else "; or leave out the tokenization measures: --tokenize_megabytes=0"
        raise UserError(
            f"bench.py needs {', '.join(missing)}, which "
            f"{'is' if len(missing) == 1 else 'are'} not installed here: pip install "
            f"{' '.join(missing)} (or: pip install -r requirements.txt){skip}"
        )


def setup():
    """Everything that can be wrong is found here, before any measuring: the sweep, the report
    folder (checked writable, made only with the report), the packages, the data."""
    # imported here, not by the memory-measuring children (which import this file)
    from evaluation.checkpoints import default_report_dir

    global dtype
    if sweep:
        parse_sweep(sweep)
    out = default_report_dir(report_dir, ['bench'])
    check_imports()
    device_type, dtype = resolve_device(device, dtype)
    if device_type == 'cpu':
        reuse_freed_memory()  # as train.py does: both models are measured the same way
    config['dtype'] = dtype
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    print(f"configuration:\n{format_config(config)}")
    return out, PreparedData(data_root, list_of_datasets)


def main():
    out, data = setup()
    if sweep:
        return run_sweep(out, data)
    ctx = autocast_context(device, dtype)
    result, models, batches = measure_costs(data)
    generation = measure_generation(models, batches, ctx)
    speeds = measure_evaluation_speeds(models, data, ctx) if speed_items > 0 else None
    del models
    # tokenization: the batch path of the prepare scripts against a per-line loop, and the
    # whole prepare against nanoGPT's way
    tokenization = measure_tokenization(data) if tokenize_megabytes > 0 else None
    prepare = measure_prepare(data) if tokenize_megabytes > 0 else None
    result.update(
        {
            'generation_cache_speedup': generation['generation_cache_speedup'],
            'generation_tokens_identical': generation['generation_tokens_identical'],
            'tokenize_speedup': tokenization['tokenize_speedup'] if tokenization else None,
            'prepare_speedup_over_nanogpt': prepare['speedup_over_nanogpt'] if prepare else None,
        }
    )
    result['measurements'].update(
        {
            'generation_seconds': generation['seconds'],
            'generation_tokens_per_s_with_cache': generation['tokens_per_s_with_cache'],
            'evaluation_speeds': speeds,
            'tokenization': tokenization,
            'prepare': prepare,
        }
    )
    result.update({'config': config, 'machine': machine_description()})
    write_json(os.path.join(out, 'bench.json'), result)
    table = summary_table(result)
    write_text(os.path.join(out, 'bench.md'), f"{result['machine']}\n\n{table}")
    print('\n' + table)
    print(f"wrote {os.path.join(out, 'bench.json')} and bench.md")


def run_sweep(out, data):
    """Each point in turn, both models alternating within it; bench.json is rewritten after
    every point, so a sweep stopped half-way keeps what it measured."""
    global block_size, n_sense_vector, batch_size
    name, values = parse_sweep(sweep)
    points = []
    for value in values:
        globals()[name] = value
        print(f"\n=== {name} = {value}")
        needed, available = estimated_training_bytes(data.vocab_size), available_memory()
        try:
            if torch.device(device).type == 'cpu' and available and needed > available:
                raise OutOfMemory(
                    f"training needs about {needed / 1e9:,.1f} GB and {available / 1e9:,.1f} GB are available"
                )
            result, models, _ = measure_costs(data)
            point = {name: value, **result}
        except (OutOfMemory, RuntimeError, MemoryError) as error:
            if not (isinstance(error, OutOfMemory) or is_out_of_memory(error)):
                raise
            print(f"{name} = {value} does not fit in memory here: {str(error).splitlines()[0]}")
            point = {name: value, 'out_of_memory': str(error).splitlines()[0]}
        models = None  # noqa: F841 (the last reference: empty_cache can then free their memory)
        if torch.device(device).type == 'cuda':
            torch.cuda.empty_cache()
        points.append(point)
        report = {
            'sweep': name,
            'points': points,
            'summary': sweep_summary(name, points),
            'config': config,
            'machine': machine_description(swept=name),
        }
        write_json(os.path.join(out, 'bench.json'), report)
    plot_path = os.path.join(out, f'bench_{name}.png')
    plot_sweep(plot_path, name, points)
    table = sweep_table(name, points, report['summary'])
    write_text(
        os.path.join(out, 'bench.md'), f"{report['machine']}\n\n{table}\n![cost curves](bench_{name}.png)\n"
    )
    print('\n' + table)
    print(f"wrote {os.path.join(out, 'bench.json')}, bench.md and {plot_path}")


def sweep_summary(name, points):
    """What must hold along the sweep. time_over_flop_ratio: the Backpack's training time ratio
    over its FLOP ratio at each point (1.10 is the budget). memory_bytes_per_token: the growth
    of each model's peak training memory from one point to the next, per token of the batch;
    linear growth keeps it constant, a T x T term kept for the backward pass would make it
    grow with the block size."""
    fitted = [p for p in points if 'out_of_memory' not in p]
    time_over_flops = [p['train_step_time_ratio'] / p['flop_ratio'] for p in fitted]
    summary = {
        'points_measured': [p[name] for p in fitted],
        'points_out_of_memory': [p[name] for p in points if 'out_of_memory' in p],
        'time_over_flop_ratio': time_over_flops,
        'time_ratio_within_1.10_of_flop_ratio': all(r <= 1.10 for r in time_over_flops),
    }
    if name in ('block_size', 'batch_size') and len(fitted) >= 2:
        growth = {}
        for model in MODELS:
            growth[model] = [
                (
                    b['measurements']['peak_memory_bytes'][model]
                    - a['measurements']['peak_memory_bytes'][model]
                )
                / ((b[name] - a[name]) * (batch_size if name == 'block_size' else block_size))
                for a, b in zip(fitted, fitted[1:])
            ]
        summary['memory_bytes_per_token'] = growth
    return summary


def plot_sweep(path, name, points):
    fitted = [p for p in points if 'out_of_memory' not in p]
    if not fitted:
        return
    x = [p[name] for p in fitted]
    labels = {'gpt2': 'GPT-2', 'backpack-lm': 'Backpack'}
    step = {
        f"{labels[m]} training step": [
            statistics.median(p['measurements']['train_step_seconds'][m]) for p in fitted
        ]
        for m in MODELS
    }
    step.update(
        {
            f"{labels[m]} evaluation forward": [
                statistics.median(p['measurements']['eval_forward_seconds'][m]) for p in fitted
            ]
            for m in MODELS
        }
    )
    memory = {
        f"{labels[m]} peak training memory": [p['measurements']['peak_memory_bytes'][m] / 1e6 for p in fitted]
        for m in MODELS
    }
    log_log_chart(
        path, x, [('seconds', step), ('MB', memory)], xlabel=name, title=machine_description(swept=name)
    )


def sweep_table(name, points, summary):
    rows = []
    for p in points:
        if 'out_of_memory' in p:
            rows.append({name: p[name], 'note': f"does not fit in memory: {p['out_of_memory']}"})
            continue
        m = p['measurements']
        rows.append(
            {
                name: p[name],
                'GPT-2 step (ms)': statistics.median(m['train_step_seconds']['gpt2']) * 1000,
                'Backpack step (ms)': statistics.median(m['train_step_seconds']['backpack-lm']) * 1000,
                'time ratio': p['train_step_time_ratio'],
                'FLOP ratio': p['flop_ratio'],
                'GPT-2 memory (MB)': m['peak_memory_bytes']['gpt2'] / 1e6,
                'Backpack memory (MB)': m['peak_memory_bytes']['backpack-lm'] / 1e6,
                'memory ratio': p['peak_memory_ratio'],
                'eval time ratio': p['eval_forward_time_ratio'],
            }
        )
    columns = [
        name,
        'GPT-2 step (ms)',
        'Backpack step (ms)',
        'time ratio',
        'FLOP ratio',
        'GPT-2 memory (MB)',
        'Backpack memory (MB)',
        'memory ratio',
        'eval time ratio',
    ]
    columns += ['note'] if summary['points_out_of_memory'] else []
    formats = {c: ',.0f' for c in columns if c.endswith(')')}
    formats.update(
        {'time ratio': '.3f', 'FLOP ratio': '.3f', 'memory ratio': '.3f', 'eval time ratio': '.3f'}
    )
    table = markdown_table(rows, columns, formats)
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


def measure_tokenization(data):
    """MB/s of the prepare scripts' batch encoding against a per-line loop, on held-out text."""
    from common.tokenizer import load_tokenizer
    from data.parallel_corpus import tokenization_throughput

    lines = [
        line for split in HELD_OUT_SPLITS for text in data.heldout_lines(split).values() for line in text
    ]
    if not lines:
        print("tokenization: no held-out text (.txt) in these datasets, skipped")
        return None
    size = sum(len(line.encode('utf-8')) for line in lines)
    repeat = max(1, int(tokenize_megabytes * 1e6 // max(size, 1)))
    tok = load_tokenizer(data.tokenizer, data.data_root, data.datasets[0])
    result = tokenization_throughput(lines * repeat, tok, num_proc=tokenize_processes)
    print(
        f"tokenization: {result['batch_mb_per_s']:.1f} MB/s in batches on {tokenize_processes} "
        f"processes ({result['batch_one_process_mb_per_s']:.1f} MB/s on one), "
        f"{result['per_line_mb_per_s']:.1f} MB/s line by line"
    )
    return result


def cpu_model():
    """The processor's name ('AMD EPYC 7B13'), from /proc/cpuinfo where there is one."""
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_description(swept=None):
    if torch.device(device).type == 'cuda':
        what = torch.cuda.get_device_name(torch.device(device))
    else:
        what = (
            f"{cpu_model()}, {os.cpu_count()} CPU cores, {torch.get_num_threads()} threads, "
            f"{torch.backends.cpu.get_cpu_capability()} kernels"
        )
    shape = {
        'n_sense_vector': f"{n_sense_vector} senses",
        'block_size': f"block {block_size}",
        'batch_size': f"batch {batch_size}",
    }
    if swept:
        shape[swept] = f"{swept} swept"
    return (
        f"Machine: {what}; PyTorch {torch.__version__}; device {device}, dtype {dtype}"
        f"{', torch.compile' if compile else ''}; {n_layer} layers, {n_head} heads, {n_embd} wide, "
        f"{', '.join(shape.values())}, datasets {list_of_datasets}."
    )


def summary_table(result):
    m = result['measurements']
    rows = [
        {
            'measure': 'training step (tokens/s)',
            'gpt2': m['train_tokens_per_s']['gpt2'],
            'backpack-lm': m['train_tokens_per_s']['backpack-lm'],
            'ratio': result['train_step_time_ratio'],
            'FLOP ratio': result['flop_ratio'],
        },
        {
            'measure': 'peak training memory (MB)',
            'gpt2': m['peak_memory_bytes']['gpt2'] / 1e6,
            'backpack-lm': m['peak_memory_bytes']['backpack-lm'] / 1e6,
            'ratio': result['peak_memory_ratio'],
        },
        {
            'measure': 'evaluation forward (tokens/s)',
            'gpt2': m['eval_tokens_per_s']['gpt2'],
            'backpack-lm': m['eval_tokens_per_s']['backpack-lm'],
            'ratio': result['eval_forward_time_ratio'],
            'FLOP ratio': result['eval_flop_ratio'],
        },
        {
            'measure': 'generation with cache (tokens/s)',
            'gpt2': m['generation_tokens_per_s_with_cache']['gpt2'],
            'backpack-lm': m['generation_tokens_per_s_with_cache']['backpack-lm'],
        },
        {
            'measure': 'cache speedup (x)',
            'gpt2': result['generation_cache_speedup']['gpt2'],
            'backpack-lm': result['generation_cache_speedup']['backpack-lm'],
        },
    ]
    speeds = m.get('evaluation_speeds')
    if speeds:
        for label, key in (
            ('perplexity scoring (tokens/s)', 'perplexity_tokens_per_s'),
            ('cloze with cache (items/s)', 'cloze_items_per_s_with_cache'),
            ('cloze without cache (items/s)', 'cloze_items_per_s_without_cache'),
        ):
            rows.append(
                {
                    'measure': label,
                    'gpt2': speeds[key]['gpt2'],
                    'backpack-lm': speeds[key]['backpack-lm'],
                    'ratio': speeds[key]['gpt2'] / speeds[key]['backpack-lm'],
                }
            )
    if m['mfu']:
        rows.append(
            {'measure': 'training MFU', 'gpt2': m['mfu']['gpt2'], 'backpack-lm': m['mfu']['backpack-lm']}
        )
    formats = {'gpt2': ',.4g', 'backpack-lm': ',.4g', 'ratio': '.3f', 'FLOP ratio': '.3f'}
    headers = {'ratio': 'Backpack / GPT-2 (time, memory)', 'gpt2': 'GPT-2', 'backpack-lm': 'Backpack'}
    table = markdown_table(rows, ['measure', 'gpt2', 'backpack-lm', 'ratio', 'FLOP ratio'], formats, headers)
    t = m['tokenization']
    if t:
        table += (
            f"\nTokenization of held-out text ({t['megabytes']:.1f} MB): "
            f"{t['batch_mb_per_s']:.1f} MB/s in batches on {t['num_proc']} processes "
            f"({t['batch_one_process_mb_per_s']:.1f} MB/s on one), "
            f"{t['per_line_mb_per_s']:.1f} MB/s line by line: {t['tokenize_speedup']:.1f}x.\n"
        )
    p = m.get('prepare')
    if p:
        table += (
            f"Prepare ({p['megabytes']:.1f} MB of parallel text, read, cleaned, split, tokenized, "
            f"written): {p['ours_mb_per_s']:.1f} MB/s on {p['num_proc']} processes; nanoGPT's "
            f"way (datasets map, {p['cpu_count']} processes, one encode per line) "
            f"{p['nanogpt_mb_per_s']:.1f} MB/s: {p['speedup_over_nanogpt']:.2f}x.\n"
        )
    return table


if __name__ == '__main__':  # the memory-measuring children import this file: run only once
    main()
