"""
Minimal pairs: how often a checkpoint gives a grammatical sentence a higher probability than its
ungrammatical twin, per file, per phenomenon and per language, with 95% Wilson intervals (see
evaluation/minimal_pairs.py for the scoring and evaluation/pair_files.py for the formats read).

BLiMP's files and a French set, on one checkpoint:
$ python minimal_pairs.py --out_dir=out-bkp-mini-16 --pair_files=blimp/*.jsonl,fr_agreement.tsv
Two checkpoints compared (each pair of models also by an exact McNemar test):
$ python minimal_pairs.py --out_dirs=out-gpt2-mini,out-bkp-mini-16 --pair_files=multiblimp/fra/data.tsv
Any CSV, TSV or JSON-lines file, by its columns:
$ python minimal_pairs.py --out_dir=DIR --pair_files=pairs.csv --columns=good:ok,bad:ko,group:kind --language=fr
$ python minimal_pairs.py --out_dir=DIR --pair_files=pairs.tsv --columns=a:s1,b:s2,label:gold --good_label=1

Formats, read by what their rows hold: BLiMP JSON-lines (sentence_good, sentence_bad), MultiBLiMP
TSV (sen, wrong_sen, phenomenon, lang), CLAMS lines (True<TAB>sentence, then False<TAB>sentence),
or --columns. UTF-8; .gz accepted. A pair's language: its row's, else --language, else a code of
the model's languages in the file's name; pairs without one, or in a language a model lacks, are
skipped and counted. With several checkpoints every one is scored on the pairs all of them can
read. Malformed rows are skipped and listed (--strict=True refuses the file).

Writes to --report_dir (default: the out_dir of the (first) checkpoint):
  minimal_pairs.md, .csv, .json, .png  one row per checkpoint, scope and language: scope is
      'file NAME', 'phenomenon NAME' or 'all'; metrics pairs, correct, accuracy,
      accuracy_ci95, ties (counted wrong), one_prefix_pairs, one_prefix_correct,
      one_prefix_accuracy, one_prefix_accuracy_ci95; the JSON adds skipped_pairs
      [{file, line, kind, reason[, out_dir]}] and, with several checkpoints, comparisons
      [{first, second, pairs, only_first_correct, only_second_correct, mcnemar_p}]
  minimal_pairs_predictions.jsonl  one line per pair and checkpoint: model, file, line,
      language, group, good, bad (as given), good_logprob, bad_logprob (nats), correct
      (and one_prefix_correct where the file gives the one-prefix fields)
"""

import json
import os
import sys
import time
from collections import Counter

import torch
from tqdm import tqdm

from common.checkpoint import load_model
from common.device_setup import autocast_context, default_device, resolve_device
from common.errors import UserError
from common.reporting import write_text
from configurator import at_least, configure, distinct, non_empty
from evaluation.checkpoints import checkpoint_out_dirs, default_report_dir
from evaluation.minimal_pairs import (
    PairTokens,
    disagreements,
    pair_accuracy,
    pair_reader,
    pair_tokens,
    score_pairs,
)
from evaluation.pair_files import SkippedRow, pair_file_paths, parse_columns, read_pair_file
from evaluation.results import BarChart, CheckpointResults, skip_summary, with_ci95
from evaluation.statistics import mcnemar_exact

# -----------------------------------------------------------------------------
out_dir = 'out'  # the checkpoint to evaluate (out_dir/ckpt.pt)
out_dirs = []  # several checkpoints to compare, e.g. --out_dirs=out-gpt2-mini,out-bkp-mini-16
pair_files = []  # the files of pairs, e.g. --pair_files=blimp/*.jsonl,fr_agreement.tsv (globs allowed)
columns = ''  # for other files: 'good:COL,bad:COL[,group:COL][,language:COL]' or 'a:COL,b:COL,label:COL'
good_label = ''  # with label:COL, the label value that means "a is the grammatical one"
language = ''  # the language of pairs whose row names none ('' -> from the file's name)
strict = False  # False: malformed rows are skipped (listed on screen and in the JSON); True: refused
batch_size = 32  # pairs per forward pass (both sentences of a pair in one)
data_root = ''  # where the checkpoints' tokenizers lie ('' -> the data root each records)
report_dir = ''  # '' -> the (first) checkpoint's out_dir
device = default_device()
dtype = 'auto'  # 'auto' (float32 on CPU, bfloat16 or float16 on GPU), 'float32', 'bfloat16', 'float16'
ranges = dict(pair_files=non_empty(), batch_size=at_least(1), out_dirs=distinct())
# -----------------------------------------------------------------------------
config = configure(globals(), sys.argv[1:], ranges, strict_files=False)
# -----------------------------------------------------------------------------
# everything checked and read before any model: the checkpoints, the files, which pairs each
# checkpoint can score
_, dtype = resolve_device(device, dtype)
role_columns = parse_columns(columns)
if good_label and 'label' not in role_columns:
    raise UserError("--good_label is for files with a label column: give --columns=a:COL,b:COL,label:COL")
checkpoints = checkpoint_out_dirs(out_dir, out_dirs)
report_dir = default_report_dir(report_dir, checkpoints)
readers = [pair_reader(d, data_root) for d in checkpoints]
model_languages = list(dict.fromkeys(lang for r in readers for lang in r.languages))
paths = pair_file_paths(pair_files)
skipped = []  # every pair left out, where it comes from and why (SkippedRow)
pairs = []
for path in paths:
    pairs += read_pair_file(
        path, role_columns, good_label, language, model_languages, None if strict else skipped
    )
for p in pairs:
    if not p.language:
        why = "its row names no language, and neither --language nor the file's name gives one"
        skipped.append(SkippedRow(p.file, p.line, 'no language', why))
pairs = [p for p in pairs if p.language]
tokens = {r.out_dir: [pair_tokens(r, p) for p in pairs] for r in readers}  # PairTokens or SkippedRow
skipped += [t for found in tokens.values() for t in found if isinstance(t, SkippedRow)]
# several checkpoints: all scored on the pairs every one of them can read
keep = [i for i in range(len(pairs)) if all(isinstance(tokens[d][i], PairTokens) for d in checkpoints)]


def report_skipped(problems, at_most=20):
    for s in problems[:at_most]:
        print(f"  skipped {s.file}, line {s.line}{f' ({s.out_dir})' if s.out_dir else ''}: {s.reason}")
    if len(problems) > at_most:
        print(f"  ... and {len(problems) - at_most:,} more (all in minimal_pairs.json: skipped_pairs)")


if skipped:
    print(f"{len(skipped):,} row(s) or pair(s) skipped: {skip_summary(Counter(s.kind for s in skipped))}")
    report_skipped(skipped)
if not keep:
    raise SystemExit(
        f"no pair to score in {', '.join(paths)}; skipped, and why: "
        f"{skip_summary(Counter(s.kind for s in skipped)) or 'nothing: the files hold no pair'}"
    )
left_out = f", {len(pairs) - len(keep):,} left out as listed above" if len(keep) < len(pairs) else ''
print(f"{len(keep):,} pairs from {len(paths)} file(s){left_out}")

# -----------------------------------------------------------------------------
# every checkpoint: the log-probabilities of both sentences of each pair, accuracy per scope
autocast = autocast_context(device, dtype)
scored = [pairs[i] for i in keep]
scopes = {  # (scope, language) -> the indices of the scored pairs it holds
    'file': lambda p: f"file {p.file}",
    'phenomenon': lambda p: f"phenomenon {p.group or '(none)'}",
    'language': lambda p: 'all',
}
results = CheckpointResults(checkpoints)
correct = {}  # out_dir -> [correct] per scored pair
records = []  # the predictions, one per pair and checkpoint
for reader in readers:
    model, checkpoint = load_model(reader.out_dir, device)
    t0 = time.time()
    progress = lambda batches: tqdm(batches, desc=reader.out_dir, unit='batch', leave=False, disable=None)
    scores = score_pairs(
        model, [tokens[reader.out_dir][i] for i in keep], batch_size, device, autocast, progress
    )
    seconds = time.time() - t0
    print(
        f"{reader.out_dir}: {checkpoint['model_name']} at iteration {checkpoint.get('iter_num')}: "
        f"{len(scores):,} pairs in {seconds:.1f}s ({len(scores) / max(seconds, 1e-9):,.0f} pairs/s; "
        f"{device}, {dtype})"
    )
    correct[reader.out_dir] = [s.correct for s in scores]
    details = dict(
        out_dir=reader.out_dir, model_name=checkpoint['model_name'], iter_num=checkpoint.get('iter_num')
    )
    for scope, name in scopes.items():
        groups = {}
        for p, s in zip(scored, scores):
            groups.setdefault((name(p), p.language), []).append(s)
        for (label, lang), group in groups.items():
            results.add(
                reader.out_dir, label, lang, {**pair_accuracy(group).as_dict(), 'scope': scope, **details}
            )
    for p, s in zip(scored, scores):
        record = dict(model=reader.out_dir, file=p.file, line=p.line, language=p.language, group=p.group)
        record.update(good=p.good, bad=p.bad, good_logprob=s.good, bad_logprob=s.bad, correct=s.correct)
        if s.one_prefix_correct is not None:
            record.update(prefix_good_logprob=s.prefix_good, prefix_bad_logprob=s.prefix_bad)
            record['one_prefix_correct'] = s.one_prefix_correct
        records.append(record)
    del model
    if torch.cuda.is_available():
        torch.cuda.empty_cache()

# -----------------------------------------------------------------------------
# each pair of models compared on the pairs they disagree on, and the outputs
comparisons = []
for i, first in enumerate(checkpoints):
    for second in checkpoints[i + 1 :]:
        only_first, only_second = disagreements(correct[first], correct[second])
        comparisons.append(
            dict(
                first=first,
                second=second,
                pairs=len(keep),
                only_first_correct=only_first,
                only_second_correct=only_second,
                mcnemar_p=mcnemar_exact(only_first, only_second),
            )
        )
comparison_text = ''.join(
    f"- {c['first']} against {c['second']}: on {c['pairs']:,} pairs, {c['only_first_correct']:,} right "
    f"for the first only, {c['only_second_correct']:,} for the second only; exact McNemar p = "
    f"{c['mcnemar_p']:.3g}\n"
    for c in comparisons
)
if comparison_text:
    print(comparison_text, end='')
write_text(
    os.path.join(report_dir, 'minimal_pairs_predictions.jsonl'),
    ''.join(json.dumps(r, ensure_ascii=False) + '\n' for r in records),
)


def accuracy_cell(prefix):
    return lambda row: (
        '-'
        if not row[f'{prefix}pairs']
        else f"{with_ci95(row, f'{prefix}accuracy', '.1%')} ({row[f'{prefix}correct']})"
    )


results.write(
    report_dir,
    'minimal_pairs',
    header=(
        f"Minimal pairs ({', '.join(checkpoints)}): a pair is correct when the grammatical sentence "
        f"has the higher log-probability after <|endoftext|> (ties are wrong); 95% Wilson intervals. "
        f"{len(keep):,} pairs scored by every checkpoint, {len(pairs) - len(keep):,} left out for "
        f"some checkpoint, {len(skipped):,} rows or pairs skipped in all"
        f"{f' ({skip_summary(Counter(s.kind for s in skipped))})' if skipped else ''}.\n\n"
        + (
            f"Exact McNemar tests on the pairs two models disagree on:\n\n{comparison_text}\n"
            if comparisons
            else ''
        )
    ),
    table_columns=[
        'model_name',
        ('scope', lambda row: row['dataset']),
        'language',
        'pairs',
        ('accuracy [95% CI] (correct)', accuracy_cell('')),
        'ties',
        ('one-prefix [95% CI] (correct)', accuracy_cell('one_prefix_')),
    ],
    csv_columns=[
        'model',
        'checkpoint_sha256',
        'model_name',
        'iter_num',
        'scope',
        'dataset',
        'language',
        'language_name',
        'pairs',
        'correct',
        'accuracy',
        'accuracy_ci95_low',
        'accuracy_ci95_high',
        'ties',
        'one_prefix_pairs',
        'one_prefix_correct',
        'one_prefix_accuracy',
        'one_prefix_accuracy_ci95_low',
        'one_prefix_accuracy_ci95_high',
    ],
    chart=BarChart(
        {'accuracy': 'accuracy'},
        ylabel='accuracy (%)',
        title='Minimal pairs: accuracy (95% CI)',
        value_format='.1f',
        scale=100,
    ),
    json_extra={
        'skipped_pairs': [s.as_dict() for s in skipped],
        **({'comparisons': comparisons} if comparisons else {}),
    },
    also=", and the predictions per pair and checkpoint (minimal_pairs_predictions.jsonl)",
)
