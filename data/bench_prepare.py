"""
Measure how fast text is prepared: the prepare scripts' batch encoding (chunks of lines, one call
into the tokenizer per chunk, in a pool of processes) against a per-line loop, and the whole
prepare path (prepare_parallel_corpus: read, clean, split, tokenize, write the .bin files)
against nanoGPT's (a Hugging Face `datasets` map with one process per core and one encode per
document), on the held-out text of prepared datasets.

$ python data/bench_prepare.py --list_of_datasets="['demo']"
$ python data/bench_prepare.py config/train_mini_16.py --list_of_datasets="['demo']" --tokenize_megabytes=8

The held-out text is repeated up to tokenize_megabytes (0: once). Prints what it measured and
writes bench_prepare.json and bench_prepare.md to report_dir (bench.py measures the models and
writes bench.json beside them).
"""

import importlib
import os
import sys
import tempfile
import time
from dataclasses import asdict, dataclass

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from common.errors import UserError  # noqa: E402
from common.machine import cpu_model  # noqa: E402
from common.reporting import write_json, write_text  # noqa: E402
from common.tokenizer import Tokenizer, load_tokenizer  # noqa: E402
from configurator import at_least, configure, format_config  # noqa: E402
from data.parallel_corpus import prepare_parallel_corpus  # noqa: E402
from data.preparation_speed import TokenizationThroughput, nanogpt_prepare, tokenization_throughput  # noqa: E402
from data.prepared import HELD_OUT_SPLITS, PreparedData  # noqa: E402
from evaluation.checkpoints import default_report_dir  # noqa: E402

# -----------------------------------------------------------------------------
data_root = 'data'
list_of_datasets = ['europarl', 'multiun']
tokenize_megabytes = 8.0  # held-out text of each measurement, repeated up to this size (0: once)
tokenize_processes = 2
report_dir = ''  # default: bench/ under the current folder
ranges = dict(tokenize_megabytes=at_least(0), tokenize_processes=at_least(1))
# -----------------------------------------------------------------------------
config = configure(globals(), sys.argv[1:], ranges, strict_files=False)
# -----------------------------------------------------------------------------


@dataclass(frozen=True)
class PrepareSpeed:
    """prepare_parallel_corpus against nanoGPT's way on the same text: MB/s of each (the faster
    of two runs), and how many times faster ours is."""

    megabytes: float
    num_proc: int
    cpu_count: int
    ours_mb_per_s: float
    nanogpt_mb_per_s: float
    speedup_over_nanogpt: float


def measure_tokenization(data: PreparedData, tok: Tokenizer) -> TokenizationThroughput | None:
    """MB/s of the prepare scripts' batch encoding against a per-line loop, on held-out text."""
    lines = [
        line for split in HELD_OUT_SPLITS for text in data.heldout_lines(split).values() for line in text
    ]
    if not lines:
        print("tokenization: no held-out text (.txt) in these datasets, skipped")
        return None
    size = sum(len(line.encode('utf-8')) for line in lines)
    repeat = max(1, int(tokenize_megabytes * 1e6 // max(size, 1)))
    result = tokenization_throughput(lines * repeat, tok, num_proc=tokenize_processes)
    print(
        f"tokenization: {result.batch_mb_per_s:.1f} MB/s in batches on {tokenize_processes} "
        f"processes ({result.batch_one_process_mb_per_s:.1f} MB/s on one), "
        f"{result.per_line_mb_per_s:.1f} MB/s line by line"
    )
    return result


def write_raw_files(folder: str, lines: dict[str, list[str]]) -> dict[str, str]:
    """Two languages' held-out lines, as many of each, repeated up to tokenize_megabytes per
    language, written as the raw files of a parallel corpus: {lang: path}."""
    languages = sorted(lines)[:2]
    n = min(len(lines[lang]) for lang in languages)
    size = sum(len(line.encode('utf-8')) for line in lines[languages[0]][:n])
    repeat = max(1, int(tokenize_megabytes * 1e6 // max(size, 1)))
    raw = {}
    for lang in languages:
        raw[lang] = os.path.join(folder, f'raw.{lang}')
        with open(raw[lang], 'w', encoding='utf-8') as f:
            f.write('\n'.join(lines[lang][:n] * repeat) + '\n')
    return raw


def prepare_both_ways(folder: str, raw: dict[str, str], tok: Tokenizer, attempt: int) -> dict[str, float]:
    """Seconds of one prepare of the raw files, ours and nanoGPT's, in turn."""
    seconds = {}
    for way in ('ours', 'nanogpt'):
        start = time.perf_counter()
        if way == 'ours':
            out = os.path.join(folder, f'ours{attempt}')
            prepare_parallel_corpus(
                out, raw, tok, data_root=folder, num_proc=tokenize_processes, verbose=False
            )
        else:
            for lang, path in raw.items():
                with open(path, encoding='utf-8') as f:
                    nanogpt_prepare(
                        f.read().splitlines(), tok, os.path.join(folder, f'nanogpt{attempt}_{lang}.bin')
                    )
        seconds[way] = time.perf_counter() - start
    return seconds


def measure_prepare(data: PreparedData, tok: Tokenizer) -> PrepareSpeed | None:
    """MB/s of our prepare path against nanoGPT's, on the same held-out text, each run twice in
    turn and the faster kept. nanoGPT's way does less (no cleaning, no splits), so the
    comparison favours it."""
    lines = data.heldout_lines('val')
    if len(lines) < 2:
        print("prepare: needs the held-out text of two languages, skipped")
        return None
    with tempfile.TemporaryDirectory() as tmp:
        raw = write_raw_files(tmp, lines)
        megabytes = sum(os.path.getsize(p) for p in raw.values()) / 1e6
        attempts = [prepare_both_ways(tmp, raw, tok, attempt) for attempt in range(2)]
    seconds = {way: min(attempt[way] for attempt in attempts) for way in ('ours', 'nanogpt')}
    result = PrepareSpeed(
        megabytes=round(megabytes, 3),
        num_proc=tokenize_processes,
        cpu_count=os.cpu_count(),
        ours_mb_per_s=megabytes / seconds['ours'],
        nanogpt_mb_per_s=megabytes / seconds['nanogpt'],
        speedup_over_nanogpt=seconds['nanogpt'] / seconds['ours'],
    )
    print(
        f"prepare ({megabytes:.1f} MB): {result.ours_mb_per_s:.1f} MB/s (ours, {tokenize_processes} "
        f"processes), {result.nanogpt_mb_per_s:.1f} MB/s (nanoGPT's datasets map, "
        f"{os.cpu_count()} processes): {result.speedup_over_nanogpt:.2f}x"
    )
    return result


def summary(tokenization: TokenizationThroughput | None, prepare: PrepareSpeed | None) -> str:
    text = ''
    if tokenization:
        t = tokenization
        text += (
            f"Tokenization of held-out text ({t.megabytes:.1f} MB): "
            f"{t.batch_mb_per_s:.1f} MB/s in batches on {t.num_proc} processes "
            f"({t.batch_one_process_mb_per_s:.1f} MB/s on one), "
            f"{t.per_line_mb_per_s:.1f} MB/s line by line: {t.tokenize_speedup:.1f}x.\n"
        )
    if prepare:
        p = prepare
        text += (
            f"Prepare ({p.megabytes:.1f} MB of parallel text, read, cleaned, split, tokenized, "
            f"written): {p.ours_mb_per_s:.1f} MB/s on {p.num_proc} processes; nanoGPT's "
            f"way (datasets map, {p.cpu_count} processes, one encode per line) "
            f"{p.nanogpt_mb_per_s:.1f} MB/s: {p.speedup_over_nanogpt:.2f}x.\n"
        )
    return text


def machine_description() -> str:
    return f"Machine: {cpu_model()}, {os.cpu_count()} CPU cores; datasets {list_of_datasets}."


def check_imports() -> None:
    """`datasets`, which nanoGPT's way needs minutes into the run, imported now: an environment
    installed before it was required is told at once."""
    try:
        importlib.import_module('datasets')
    except ImportError:
        raise UserError(
            "data/bench_prepare.py needs datasets, which is not installed here: pip install "
            "datasets (or: pip install -r requirements.txt)"
        )


def setup() -> tuple[str, PreparedData]:
    """Everything that can be wrong is found here, before any measuring: the report folder
    (checked writable, made only with the report), the packages, the data."""
    out = default_report_dir(report_dir, ['bench'])
    check_imports()
    print(f"configuration:\n{format_config(config)}")
    return out, PreparedData(data_root, list_of_datasets)


def main() -> None:
    out, data = setup()
    tok = load_tokenizer(data.tokenizer, data.data_root, data.datasets[0])
    tokenization = measure_tokenization(data, tok)
    prepare = measure_prepare(data, tok)
    report = {
        'tokenize_speedup': tokenization.tokenize_speedup if tokenization else None,
        'prepare_speedup_over_nanogpt': prepare.speedup_over_nanogpt if prepare else None,
        'measurements': {
            'tokenization': asdict(tokenization) if tokenization else None,
            'prepare': asdict(prepare) if prepare else None,
        },
        'config': config,
        'machine': machine_description(),
    }
    write_json(os.path.join(out, 'bench_prepare.json'), report)
    text = summary(tokenization, prepare)
    write_text(os.path.join(out, 'bench_prepare.md'), f"{report['machine']}\n\n{text}")
    print('\n' + text)
    print(f"wrote {os.path.join(out, 'bench_prepare.json')} and bench_prepare.md")


if __name__ == '__main__':
    main()
