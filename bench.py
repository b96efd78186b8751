"""
Measure what a Backpack costs next to the GPT-2 it is built on, in one run, alternating the two
models: a training step (tokens/s, peak memory), an evaluation forward pass, generation with and
without the key/value cache, and tokenization of the held-out text.

$ python bench.py config/train_mini_16.py --list_of_datasets="['demo']" --block_size=512 --batch_size=8
$ python bench.py config/train_small_16.py --device=cuda --dtype=bfloat16 --compile=True

Both models share n_layer, n_head, n_embd, block_size and the datasets' vocabulary, and see the
same batches of real token ids from the prepared datasets (random ids would hide the effect of
repeated tokens on the Backpack's sense network). Prints a table of the ratios and writes
bench.json (and bench.md) to report_dir. Peak memory: CUDA max allocated per model; on CPU the
peak resident set of a child process per model (which includes PyTorch itself: see
peak_memory_above_start_ratio for the part the models add).
"""

import json
import multiprocessing
import os
import platform
import resource
import statistics
import sys
import time

import torch

from configurator import at_least, configure, format_config
from device_setup import (autocast_context, check_device, check_dtype, default_device,
                          default_dtype, device_peak_flops, reuse_freed_memory)
from model import build_model
from prepared_data import PreparedData
from reporting import markdown_table, write_json, write_text

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
ranges = dict(block_size=at_least(1), batch_size=at_least(1), n_layer=at_least(1), n_head=at_least(1),
              n_embd=at_least(1), n_sense_vector=at_least(1), sense_intermediate_scale=at_least(1),
              warmup_steps=at_least(0), timed_steps=at_least(1), eval_steps=at_least(1),
              prompt_tokens=at_least(1), new_tokens=at_least(1), generation_repeats=at_least(1),
              tokenize_megabytes=at_least(0), tokenize_processes=at_least(1), memory_steps=at_least(1),
              peak_flops=at_least(0), seed=at_least(0))
# -----------------------------------------------------------------------------
config = configure(globals(), sys.argv[1:], ranges, strict_files=False)
# -----------------------------------------------------------------------------
MODELS = ('gpt2', 'backpack-lm')


def model_args(vocab_size):
    shared = dict(n_layer=n_layer, n_head=n_head, n_embd=n_embd, block_size=block_size, bias=bias,
                  vocab_size=vocab_size, dropout=0.0)
    return {'gpt2': shared,
            'backpack-lm': dict(shared, n_sense_vector=n_sense_vector,
                                sense_intermediate_scale=sense_intermediate_scale,
                                sense_dedup=sense_dedup)}


def synchronize():
    if torch.device(device).type == 'cuda':
        torch.cuda.synchronize()


def training_batches(data, n):
    return [data.get_batch('train', batch_size, block_size, seed, step, 0, 1.0, None, device)
            for step in range(n)]


def build(name, args):
    torch.manual_seed(seed)
    model = build_model(name, **args[name]).to(device)
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
    try:
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith('VmHWM:'):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    scale = 1 if sys.platform == 'darwin' else 1024  # bytes on macOS, KiB elsewhere
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


def peak_rss_child(name, args, batches, resolved_dtype, queue):
    """Child process: the peak resident set (bytes) of training one model for a few steps."""
    global dtype
    dtype = resolved_dtype
    if torch.device(device).type == 'cpu':
        reuse_freed_memory()  # as train.py does
    start_rss = peak_rss()
    model, runner, optimizer = build(name, args)
    ctx = autocast_context(device, dtype)
    scaler = torch.amp.GradScaler(torch.device(device).type, enabled=(dtype == 'float16'))
    for batch in batches:
        train_step(runner, optimizer, batch, ctx, scaler)
    queue.put((start_rss, peak_rss()))


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
            mp = multiprocessing.get_context('spawn')
            queue = mp.Queue()
            cpu_batches = [(x.cpu(), y.cpu()) for x, y in batches]
            child = mp.Process(target=peak_rss_child, args=(name, args, cpu_batches, dtype, queue))
            child.start()
            starts[name], peaks[name] = queue.get()
            child.join()
    return peaks, starts


def main():
    global dtype
    if check_device(device).type == 'cpu':
        reuse_freed_memory()  # as train.py does: both models are measured the same way
    dtype = default_dtype(device) if dtype == 'auto' else dtype
    check_dtype(dtype, device)
    config['dtype'] = dtype
    out = report_dir or 'bench'
    os.makedirs(out, exist_ok=True)
    print(f"configuration:\n{format_config(config)}")
    data = PreparedData(data_root, list_of_datasets)
    args = model_args(data.vocab_size)
    ctx = autocast_context(device, dtype)
    dev_type = torch.device(device).type
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    tokens = batch_size * block_size
    batches = training_batches(data, warmup_steps + timed_steps)
    distinct = statistics.mean(x.unique().numel() / x.numel() for x, _ in batches)

    models = {name: build(name, args) for name in MODELS}
    scalers = {name: torch.amp.GradScaler(dev_type, enabled=(dtype == 'float16')) for name in MODELS}
    params = {name: models[name][0].get_num_params() for name in MODELS}
    print(f"models: " + ', '.join(f"{n} {p / 1e6:.2f}M parameters" for n, p in params.items())
          + f"; {tokens} tokens per step, {distinct:.1%} of them distinct")

    # training steps, interleaved so that both models meet the same machine conditions
    step_times = {name: [] for name in MODELS}
    for i, batch in enumerate(batches):
        for name in MODELS:
            model, runner, optimizer = models[name]
            model.train()
            t = timed(lambda: train_step(runner, optimizer, batch, ctx, scalers[name]))
            if i >= warmup_steps:
                step_times[name].append(t)
    pair_ratios = [b / g for g, b in zip(step_times['gpt2'], step_times['backpack-lm'])]
    print(f"training step: median {statistics.median(step_times['gpt2']) * 1000:.0f} ms (gpt2), "
          f"{statistics.median(step_times['backpack-lm']) * 1000:.0f} ms (backpack-lm)")

    # evaluation forward passes (the Backpack's sense table is computed once, in the warm-up)
    eval_times = {name: [] for name in MODELS}
    for i, (x, y) in enumerate(batches[:eval_steps + 1]):
        for name in MODELS:
            model, runner, _ = models[name]
            model.eval()
            with torch.no_grad():
                t = timed(lambda: runner(x, y))
            if i >= 1:
                eval_times[name].append(t)

    # generation, greedy, with and without the cache: the tokens must be identical. Repeats
    # alternate cache / no cache and the models, and the medians are kept (one run is noisy).
    prompt = batches[0][0][:1, :prompt_tokens]
    gen_times = {(name, use_cache): [] for name in MODELS for use_cache in (True, False)}
    results = {}
    for name in MODELS:
        models[name][0].eval()
        with ctx:
            for use_cache in (True, False):
                models[name][0].generate(prompt, 4, temperature=0, use_cache=use_cache)  # warm-up
    for _ in range(generation_repeats):
        for name in MODELS:
            for use_cache in (True, False):
                with ctx:
                    start = time.perf_counter()
                    results[(name, use_cache)] = models[name][0].generate(
                        prompt, new_tokens, temperature=0, use_cache=use_cache)
                    synchronize()
                gen_times[(name, use_cache)].append(time.perf_counter() - start)
    generation = {key: statistics.median(times) for key, times in gen_times.items()}
    identical = {name: bool(torch.equal(results[(name, True)], results[(name, False)])) for name in MODELS}
    print("generation: " + ', '.join(f"{n} {generation[(n, False)] / generation[(n, True)]:.1f}x "
                                     f"faster with the cache" for n in MODELS))
    del models

    peaks, starts = measure_peak_memory(args, batches[:memory_steps])

    # tokenization: the batch path of the prepare scripts against a per-line loop
    tokenization = None
    if tokenize_megabytes > 0:
        tokenization = measure_tokenization(data)

    # FLOPs of one training step on these batches (3x forward), and of an evaluation forward
    # pass with the sense table cached (its cost is paid once, not per batch)
    flops = {name: build_model(name, **args[name]).forward_flops_per_token(
        block_size, distinct if (name == 'backpack-lm' and sense_dedup) else 1.0) for name in MODELS}
    eval_flops = {name: build_model(name, **args[name]).forward_flops_per_token(block_size, 0.0)
                  for name in MODELS}
    peak = device_peak_flops(device, dtype, peak_flops)
    median_step = {n: statistics.median(step_times[n]) for n in MODELS}
    median_eval = {n: statistics.median(eval_times[n]) for n in MODELS}
    result = {
        'train_step_time_ratio': statistics.median(pair_ratios),
        'peak_memory_ratio': peaks['backpack-lm'] / peaks['gpt2'],
        'peak_memory_above_start_ratio': (peaks['backpack-lm'] - starts['backpack-lm'])
        / max(1, peaks['gpt2'] - starts['gpt2']),
        'eval_forward_time_ratio': median_eval['backpack-lm'] / median_eval['gpt2'],
        'generation_cache_speedup': {n: generation[(n, False)] / generation[(n, True)] for n in MODELS},
        'generation_tokens_identical': identical,
        'tokenize_speedup': tokenization['tokenize_speedup'] if tokenization else None,
        'flop_ratio': flops['backpack-lm'] / flops['gpt2'],
        'eval_flop_ratio': eval_flops['backpack-lm'] / eval_flops['gpt2'],
        'measurements': {
            'train_step_seconds': step_times,
            'train_tokens_per_s': {n: tokens / median_step[n] for n in MODELS},
            'eval_forward_seconds': eval_times,
            'eval_tokens_per_s': {n: tokens / median_eval[n] for n in MODELS},
            'generation_seconds': {n: {'cache': generation[(n, True)], 'no_cache': generation[(n, False)]}
                                   for n in MODELS},
            'generation_tokens_per_s_with_cache': {n: new_tokens / generation[(n, True)] for n in MODELS},
            'peak_memory_bytes': peaks,
            'memory_at_start_bytes': starts,
            'memory_kind': 'cuda_max_allocated' if dev_type == 'cuda' else 'child_process_peak_rss',
            'forward_flops_per_token': flops,
            'eval_forward_flops_per_token': eval_flops,
            'distinct_token_fraction': distinct,
            'mfu': {n: 3 * flops[n] * tokens / median_step[n] / peak for n in MODELS} if peak else None,
            'parameters': params,
            'tokenization': tokenization,
        },
        'config': config,
        'machine': machine_description(),
    }
    write_json(os.path.join(out, 'bench.json'), result)
    table = summary_table(result)
    write_text(os.path.join(out, 'bench.md'), f"{result['machine']}\n\n{table}")
    print('\n' + table)
    print(f"wrote {os.path.join(out, 'bench.json')} and bench.md")


def measure_tokenization(data):
    """MB/s of the prepare scripts' batch encoding against a per-line loop, on held-out text."""
    from parallel_corpus import tokenization_throughput
    from tokenizer import load_tokenizer
    lines, size = [], 0
    for ds in data.datasets:
        for lang in data.metas[ds]['languages']:
            for split in ('val', 'test'):
                path = os.path.join(data.data_root, ds, f'{lang}_{split}.txt')
                if os.path.isfile(path):
                    with open(path, encoding='utf-8') as f:
                        lines += f.read().splitlines()
    if not lines:
        print("tokenization: no held-out text (.txt) in these datasets, skipped")
        return None
    size = sum(len(line.encode('utf-8')) for line in lines)
    repeat = max(1, int(tokenize_megabytes * 1e6 // max(size, 1)))
    tok = load_tokenizer(data.tokenizer, data.data_root)
    result = tokenization_throughput(lines * repeat, tok, num_proc=tokenize_processes)
    print(f"tokenization: {result['batch_mb_per_s']:.1f} MB/s in batches on {tokenize_processes} "
          f"processes ({result['batch_one_process_mb_per_s']:.1f} MB/s on one), "
          f"{result['per_line_mb_per_s']:.1f} MB/s line by line")
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


def machine_description():
    if torch.device(device).type == 'cuda':
        what = torch.cuda.get_device_name(torch.device(device))
    else:
        what = f"{cpu_model()}, {os.cpu_count()} CPU cores, {torch.get_num_threads()} threads"
    return (f"Machine: {what}; PyTorch {torch.__version__}; device {device}, dtype {dtype}"
            f"{', torch.compile' if compile else ''}; {n_layer} layers, {n_head} heads, {n_embd} wide, "
            f"{n_sense_vector} senses, block {block_size}, batch {batch_size}, datasets {list_of_datasets}.")


def summary_table(result):
    m = result['measurements']
    rows = [
        {'measure': 'training step (tokens/s)', 'gpt2': m['train_tokens_per_s']['gpt2'],
         'backpack-lm': m['train_tokens_per_s']['backpack-lm'],
         'ratio': result['train_step_time_ratio'], 'FLOP ratio': result['flop_ratio']},
        {'measure': 'peak training memory (MB)', 'gpt2': m['peak_memory_bytes']['gpt2'] / 1e6,
         'backpack-lm': m['peak_memory_bytes']['backpack-lm'] / 1e6,
         'ratio': result['peak_memory_ratio']},
        {'measure': 'evaluation forward (tokens/s)', 'gpt2': m['eval_tokens_per_s']['gpt2'],
         'backpack-lm': m['eval_tokens_per_s']['backpack-lm'],
         'ratio': result['eval_forward_time_ratio'], 'FLOP ratio': result['eval_flop_ratio']},
        {'measure': 'generation with cache (tokens/s)',
         'gpt2': m['generation_tokens_per_s_with_cache']['gpt2'],
         'backpack-lm': m['generation_tokens_per_s_with_cache']['backpack-lm']},
        {'measure': 'cache speedup (x)', 'gpt2': result['generation_cache_speedup']['gpt2'],
         'backpack-lm': result['generation_cache_speedup']['backpack-lm']},
    ]
    if m['mfu']:
        rows.append({'measure': 'training MFU', 'gpt2': m['mfu']['gpt2'], 'backpack-lm': m['mfu']['backpack-lm']})
    formats = {'gpt2': ',.4g', 'backpack-lm': ',.4g', 'ratio': '.3f', 'FLOP ratio': '.3f'}
    headers = {'ratio': 'Backpack / GPT-2 (time, memory)', 'gpt2': 'GPT-2', 'backpack-lm': 'Backpack'}
    table = markdown_table(rows, ['measure', 'gpt2', 'backpack-lm', 'ratio', 'FLOP ratio'], formats, headers)
    t = m['tokenization']
    if t:
        table += (f"\nTokenization of held-out text ({t['megabytes']:.1f} MB): "
                  f"{t['batch_mb_per_s']:.1f} MB/s in batches on {t['num_proc']} processes "
                  f"({t['batch_one_process_mb_per_s']:.1f} MB/s on one), "
                  f"{t['per_line_mb_per_s']:.1f} MB/s line by line: {t['tokenize_speedup']:.1f}x.\n")
    return table


if __name__ == '__main__':  # the memory-measuring children import this file: run only once
    main()
