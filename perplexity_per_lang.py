"""
Per-language perplexity of trained checkpoints on the held-out text of their datasets: token
perplexity, word-level perplexity and bits per byte, with 95% bootstrap confidence intervals over
lines. Deterministic: every token of data_root/<dataset>/{lang}_{split}.txt is scored exactly once
with sliding windows (see evaluation/perplexity.py), so two runs give the same numbers.

One checkpoint (a training config file may be given; its other keys are ignored):
$ python perplexity_per_lang.py config/train_mini_16.py --model_name=backpack-lm --out_dir=out-bkp-mini-16 --device=cuda
Several checkpoints compared in one table and chart:
$ python perplexity_per_lang.py --out_dirs=out-gpt2-mini,out-bkp-mini-16 --report_dir=out-compare
A quick look (the first 200 lines per language, validation split):
$ python perplexity_per_lang.py --out_dir=out/demo/backpack --split=val --max_lines=200

The model, its datasets, data root and tokenizer come from the checkpoint (--data_root and
--list_of_datasets override the last ones). Word-level perplexity and bits per byte are
normalised by the text, not by the tokens: they are what compares languages (English with
French, German with Finnish), and models with different tokenizers. Every language of every
dataset is scored (the languages meta.json lists), whatever they are.

Writes to --report_dir (default: the out_dir of the (first) checkpoint):
  perplexity.md, perplexity.csv   one row per checkpoint, dataset and language (code and name)
  perplexity.png                  bits per byte: a panel per dataset, a row of bars per language,
                                  one bar per checkpoint, with 95% confidence intervals
  perplexity.json                 one checkpoint:  {dataset: {language: {metric: value}}}
                                  several:         {out_dir: {dataset: {language: {metric: value}}}}
  where the metrics of one dataset and language are
    token_perplexity, word_perplexity, bits_per_byte, each with <metric>_ci95: [low, high],
    nll_per_token (nats), nll_total, tokens, words, bytes, lines,
    and what produced them: out_dir, checkpoint_sha256 (of its ckpt.pt: which weights, since an
    out_dir may be trained into again), model_name, iter_num, split, block_size, stride.
The same checkpoint given twice in --out_dirs (a,./a or a,a/ckpt.pt) is refused; two files of the
same weights (a copy) are scored both, with a note.
"""

import sys
import time
from collections import Counter

import torch
from tqdm import tqdm

from common.checkpoint import load_model
from common.device_setup import autocast_context, default_device, resolve_device
from configurator import at_least, configure, distinct, one_of
from data.prepared import bin_mismatch, dataset_languages, prepared_with, read_heldout_lines, tokenize_lines
from evaluation.checkpoints import (
    checkpoint_datasets,
    checkpoint_out_dirs,
    checkpoint_reader,
    checkpoint_tokenizer,
    default_report_dir,
    lines_read_by_all,
    one_text_per_dataset,
    untrained_languages_note,
)
from evaluation.perplexity import line_sums, perplexity_metrics, text_counts, token_nll
from evaluation.results import BarChart, CheckpointResults, skip_summary, with_ci95

# -----------------------------------------------------------------------------
out_dir = 'out'  # the checkpoint to evaluate (out_dir/ckpt.pt)
out_dirs = []  # several checkpoints to compare, e.g. --out_dirs=out-gpt2-mini,out-bkp-mini-16
model_name = ''  # optional: when given, must be the checkpoint's ('gpt2' or 'backpack-lm')
split = 'test'  # 'test' or 'val'
stride = 0  # new tokens scored per window; 0 -> block_size // 2
batch_size = 8  # windows per forward pass
max_lines = 0  # score only the first max_lines lines per language (0: all)
data_root = ''  # '' -> the checkpoint's
list_of_datasets = []  # [] -> the checkpoint's
report_dir = ''  # '' -> the (first) checkpoint's out_dir
bootstrap_resamples = 1000
device = default_device()
dtype = 'auto'  # 'auto' (float32 on CPU, bfloat16 or float16 on GPU), 'float32', 'bfloat16', 'float16'
ranges = dict(
    split=one_of('test', 'val'),
    stride=at_least(0),
    batch_size=at_least(1),
    max_lines=at_least(0),
    bootstrap_resamples=at_least(1),
    list_of_datasets=distinct(),
)
# -----------------------------------------------------------------------------
config = configure(globals(), sys.argv[1:], ranges, strict_files=False)
# -----------------------------------------------------------------------------
# the checkpoints, where the report goes, and which lines every model can read (checked before
# the first checkpoint is scored)
_, dtype = resolve_device(device, dtype)
checkpoints = checkpoint_out_dirs(out_dir, out_dirs)
report_dir = default_report_dir(report_dir, checkpoints)
one_text_per_dataset(checkpoints, data_root, list_of_datasets, split)
autocast = autocast_context(device, dtype)
# several checkpoints are scored on the same lines: those that every one of their tokenizers
# turns into tokens its model has rows for
readers = (
    [checkpoint_reader(d, data_root, list_of_datasets) for d in checkpoints] if len(checkpoints) > 1 else None
)

# -----------------------------------------------------------------------------
# every checkpoint, dataset and language: the held-out text, scored once with sliding windows
results = CheckpointResults(checkpoints)
skipped = Counter()  # why held-out text was not scored, for the last word when nothing was
for ckpt_dir in checkpoints:
    model, checkpoint = load_model(ckpt_dir, device, model_name if len(checkpoints) == 1 else None)
    block_size = model.config.block_size
    window_stride = stride or max(1, block_size // 2)
    if not 1 <= window_stride <= block_size:
        raise SystemExit(
            f"--stride={stride}: choose 1..{block_size} (the block size), or 0 for block_size // 2"
        )
    root, datasets = checkpoint_datasets(checkpoint, data_root, list_of_datasets)
    tok = checkpoint_tokenizer(checkpoint, root, model)
    print(
        f"{ckpt_dir}: {checkpoint['model_name']} at iteration {checkpoint.get('iter_num')}, "
        f"block size {block_size}, stride {window_stride}; {split} split of "
        f"{', '.join(datasets)} under {root}; {device}, {dtype}"
    )
    for dataset in datasets:
        results.add_dataset(ckpt_dir, dataset)
        languages = dataset_languages(root, dataset)
        note = untrained_languages_note(checkpoint, dataset, languages)
        if note:
            print(note)
        # the held-out text is tokenized with the model's own tokenizer: any model, any dataset
        for lang in languages:
            t0 = time.time()
            lines = read_heldout_lines(root, dataset, lang, split, max_lines)
            if not lines:
                print(f"  {dataset}/{lang}: no {split} lines, skipped")
                skipped[f'an empty {split} file'] += 1
                continue
            lines, unreadable = lines_read_by_all(readers or [(tok, model.config.vocab_size)], lines)
            if unreadable:
                print(
                    f"  {dataset}/{lang}: {unreadable:,} lines skipped: they hold tokens "
                    f"{'one of the models' if readers else 'the model'} has no row for"
                )
                skipped['lines holding tokens a model has no row for'] += unreadable
                if not lines:
                    continue
            ids, line_lengths = tokenize_lines(tok, lines)
            same_ids = prepared_with(root, dataset, tok) and not unreadable
            mismatch = same_ids and bin_mismatch(ids, root, dataset, lang, split, whole=not max_lines)
            if mismatch:
                print(f"  warning: {mismatch}; the numbers are those of the .txt")
            progress = lambda batches: tqdm(
                batches, desc=f"{dataset}/{lang}", unit='batch', disable=None, leave=False
            )
            nll = token_nll(
                model, ids, tok.eot_token, block_size, window_stride, batch_size, device, autocast, progress
            )
            words, n_bytes = text_counts(lines)
            metrics = perplexity_metrics(
                line_sums(nll, line_lengths), line_lengths, words, n_bytes, n_resamples=bootstrap_resamples
            )
            provenance = dict(
                out_dir=ckpt_dir,
                model_name=checkpoint['model_name'],
                iter_num=checkpoint.get('iter_num'),
                split=split,
                block_size=block_size,
                stride=window_stride,
            )
            results.add(ckpt_dir, dataset, lang, {**metrics.as_dict(), **provenance})
            print(
                f"  {dataset}/{lang}: {metrics.lines:,} lines, {metrics.tokens:,} tokens: "
                f"token ppl {metrics.token_perplexity:.3f}, word ppl "
                f"{metrics.word_perplexity:.3f}, bits/byte {metrics.bits_per_byte:.4f} "
                f"({time.time() - t0:.1f}s)"
            )
    del model
    if torch.cuda.is_available():
        torch.cuda.empty_cache()

# -----------------------------------------------------------------------------
# the outputs: perplexity.md, .csv, .json and .png in report_dir
if not results.rows:
    raise SystemExit(f"nothing was scored; skipped, and why: {skip_summary(skipped) or 'no language'}")
results.write(
    report_dir,
    'perplexity',
    header=(
        f"Perplexity on the {split} split ({', '.join(checkpoints)}): every token scored once with "
        f"sliding windows; word ppl = exp(NLL / words), bits/byte = NLL / ln 2 / UTF-8 bytes; "
        f"95% bootstrap CIs over lines.\n\n"
    ),
    table_columns=[
        'model_name',
        'dataset',
        'language',
        'lines',
        'words',
        'bytes',
        'tokens',
        ('token ppl [95% CI]', lambda row: with_ci95(row, 'token_perplexity', '.3f')),
        ('word ppl [95% CI]', lambda row: with_ci95(row, 'word_perplexity', '.3f')),
        ('bits/byte [95% CI]', lambda row: with_ci95(row, 'bits_per_byte', '.4f')),
    ],
    table_formats={c: ',' for c in ('lines', 'words', 'bytes', 'tokens')},
    csv_columns=[
        'model',
        'checkpoint_sha256',
        'model_name',
        'iter_num',
        'dataset',
        'language',
        'language_name',
        'split',
        'block_size',
        'stride',
        'lines',
        'words',
        'bytes',
        'tokens',
        'nll_total',
        'nll_per_token',
        'token_perplexity',
        'token_perplexity_ci95_low',
        'token_perplexity_ci95_high',
        'word_perplexity',
        'word_perplexity_ci95_low',
        'word_perplexity_ci95_high',
        'bits_per_byte',
        'bits_per_byte_ci95_low',
        'bits_per_byte_ci95_high',
    ],
    chart=BarChart(
        {'bits_per_byte': 'bits per byte'},
        ylabel='bits per byte (lower is better)',
        title=f"Bits per byte on the {split} split (95% CI)",
        value_format='.3f',
    ),
)
