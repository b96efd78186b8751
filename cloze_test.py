"""
Cloze test: how often a checkpoint guesses the masked last word of a sentence, per dataset and
language: top-1 and top-k accuracy with counts and 95% Wilson intervals (see evaluation/cloze.py
for how items are built, how words are searched for and what counts as a hit).

Items built from the held-out text of the checkpoint's datasets (the test split by default):
$ python cloze_test.py --model_name=backpack-lm --out_dir=out-bkp-small-16 --device=cuda
Items from files in the original project's JSON-lines format:
$ python cloze_test.py --out_dir=out-bkp-small-16 --cloze_files=cloze_en.jsonl,cloze_fr.jsonl
Several checkpoints compared, 500 items per dataset and language:
$ python cloze_test.py --out_dirs=out-gpt2-mini,out-bkp-mini-16 --max_items=500 --report_dir=out-compare

The model, its datasets, data root and tokenizer come from the checkpoint (--data_root and
--list_of_datasets override the last ones); a training config file may be given first. The same
checkpoint given twice in --out_dirs (a,./a or a,a/ckpt.pt) is refused; two files of the same
weights (a copy) are scored both, with a note. A --k above --beam_width is noted on screen and
in cloze.md: the beam then holds fewer candidates than the top-k asks for (a lower bound).

Writes to --report_dir (default: the out_dir of the (first) checkpoint):
  cloze.md, cloze.csv      one row per checkpoint, dataset and language (code and name)
  cloze.png                top-1 and top-k accuracy: a panel per dataset, a row of bars per
                           language, one bar per checkpoint and metric (95% CI)
  cloze_predictions.jsonl  (several checkpoints: cloze_predictions_<out_dir>.jsonl) one line per
                           item: id, dataset, language, context, answer, predictions (the k best
                           words, best first), logprobs, top1_hit, topk_hit
  cloze.json               one checkpoint:  {dataset: {language: {metric: value}}}
                           several:         {out_dir: {dataset: {language: {metric: value}}}}
  where the metrics of one dataset and language are
    items, top1_hits, top1_accuracy, top1_accuracy_ci95: [low, high], topk_hits, topk_accuracy,
    topk_accuracy_ci95,
    skipped_lines (held-out lines that gave no item, and items skipped) and skipped_lines_by_reason,
    and what produced them: out_dir, checkpoint_sha256 (of its ckpt.pt: which weights), model_name,
    iter_num, source ('<split> split' or the cloze file), k, beam_width, case_sensitive,
    min_context_words;
  and, when items were skipped, skipped_items: [{file, line, id, kind, reason}] (the cloze file or
  held-out file and its line; malformed, an answer that can never be a hit, a language the model
  lacks (with out_dir), a context or answer that needs tokens the model has no row for (with
  out_dir); --strict=True refuses the
  first three instead). When no item at all is scored, the script ends by counting these reasons.
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
from common.reporting import write_text
from configurator import at_least, configure, distinct, one_of
from data.prepared import dataset_languages, heldout_path, read_heldout_lines
from evaluation.checkpoints import (
    checkpoint_datasets,
    checkpoint_out_dirs,
    checkpoint_tokenizer,
    default_report_dir,
    file_label,
    one_text_per_dataset,
    untrained_languages_note,
)
from evaluation.cloze import (
    NO_ROW,
    ItemGroup,
    accuracy,
    check_cloze_file_names,
    context_ids,
    file_item_groups,
    is_hit,
    items_from_lines,
    items_with_rows,
    predict_items,
    read_cloze_file,
    skip_hints,
    tokenizer_classes,
)
from evaluation.results import BarChart, CheckpointResults, skip_summary, with_ci95

# -----------------------------------------------------------------------------
out_dir = 'out'  # the checkpoint to evaluate (out_dir/ckpt.pt)
out_dirs = []  # several checkpoints to compare, e.g. --out_dirs=out-gpt2-mini,out-bkp-mini-16
model_name = ''  # optional: when given, must be the checkpoint's ('gpt2' or 'backpack-lm')
split = 'test'  # held-out split the items are built from: 'test' or 'val'
cloze_files = []  # JSON-lines files in the original format; [] -> items from the held-out text
strict = False  # False: malformed items of cloze_files are skipped (listed on screen and in cloze.json); True: refused
min_context_words = 5  # lines with fewer words before the masked one give no item
max_items = 0  # at most this many items per dataset and language (0: all)
beam_width = 10  # beams kept per item at each token step
k = 5  # top-k accuracy: a hit when the answer is among the k best words
max_word_tokens = 12  # a word is at most this many tokens long
case_sensitive = False  # False: 'Europe' matches 'europe'
batch_size = 16  # items per forward pass (each with beam_width beams)
data_root = ''  # '' -> the checkpoint's
list_of_datasets = []  # [] -> the checkpoint's
report_dir = ''  # '' -> the (first) checkpoint's out_dir
device = default_device()
dtype = 'auto'  # 'auto' (float32 on CPU, bfloat16 or float16 on GPU), 'float32', 'bfloat16', 'float16'
ranges = dict(
    split=one_of('test', 'val'),
    min_context_words=at_least(1),
    max_items=at_least(0),
    beam_width=at_least(1),
    k=at_least(1),
    max_word_tokens=at_least(1),
    batch_size=at_least(1),
    list_of_datasets=distinct(),
)
# -----------------------------------------------------------------------------
config = configure(globals(), sys.argv[1:], ranges, strict_files=False)
# -----------------------------------------------------------------------------
# the checkpoints, where the report goes, and the items of the cloze files: all read before any
# model, so that a bad file fails early
_, dtype = resolve_device(device, dtype)
checkpoints = checkpoint_out_dirs(out_dir, out_dirs)
report_dir = default_report_dir(report_dir, checkpoints)
if not cloze_files:
    one_text_per_dataset(checkpoints, data_root, list_of_datasets, split)
autocast = autocast_context(device, dtype)
# a top-k wider than the beam is noted, not refused: a quick run with a narrow beam stays possible
beam_note = (
    (
        f"--k={k} is above --beam_width={beam_width}: the search keeps {beam_width} candidates per "
        f"token step, so the top-{k} holds only the words they lead to and top-{k} accuracy is a "
        f"lower bound (--beam_width={k} or more gives a full top-{k})"
    )
    if k > beam_width
    else ''
)
if beam_note:
    print(f"note: {beam_note}")
skipped_items = []  # every item left out, where it comes from and why (cloze.skipped_item)
skipped_lines = Counter()  # why held-out lines gave no item, over every checkpoint
check_cloze_file_names(cloze_files)
file_items = {path: read_cloze_file(path, skipped=None if strict else skipped_items) for path in cloze_files}


def report_skipped(problems, at_most=20):
    for p in problems[:at_most]:
        print(
            f"  skipped {p['file']}, line {p['line']}"
            + (f" (id {p['id']})" if p['id'] else '')
            + f": {p['reason']}"
        )
    if len(problems) > at_most:
        print(f"  ... and {len(problems) - at_most:,} more (all in cloze.json: skipped_items)")


if skipped_items:
    print(f"{len(skipped_items)} malformed item(s) in the cloze files, skipped (--strict=True refuses them):")
    report_skipped(skipped_items)

# -----------------------------------------------------------------------------
# every checkpoint: its items per dataset and language, the beam search over them, the hits
results = CheckpointResults(checkpoints)
predictions_files = {}
for ckpt_dir in checkpoints:
    model, checkpoint = load_model(ckpt_dir, device, model_name if len(checkpoints) == 1 else None)
    if model.config.block_size <= max_word_tokens + 1:
        raise SystemExit(
            f"--max_word_tokens={max_word_tokens} leaves no room for a context in "
            f"{ckpt_dir}'s block of {model.config.block_size} tokens: lower it"
        )
    root, datasets = checkpoint_datasets(checkpoint, data_root, list_of_datasets)
    tok = checkpoint_tokenizer(checkpoint, root, model)
    classes = tokenizer_classes(tok, model.config.padded_vocab_size, device)
    languages = (checkpoint.get('data') or {}).get('languages') or []
    if cloze_files:  # {(dataset, language): ItemGroup}
        groups, lacking = file_item_groups(file_items, languages, max_items)
        if lacking and strict:
            raise SystemExit(
                f"{len(lacking)} cloze item(s) in a language the model lacks "
                f"({lacking[0]['reason']}); without --strict=True they are skipped"
            )
        if lacking:
            print(f"{len(lacking)} item(s) in a language the model lacks, skipped:")
            report_skipped(lacking)
            skipped_items.extend({**p, 'out_dir': ckpt_dir} for p in lacking)
    else:  # items from the held-out text, tokenized with the model's tokenizer
        groups = {}
        for dataset in datasets:
            note = untrained_languages_note(checkpoint, dataset, dataset_languages(root, dataset))
            if note:
                print(note)
            for lang in dataset_languages(root, dataset):
                lines = read_heldout_lines(root, dataset, lang, split)
                items, skipped = items_from_lines(
                    lines,
                    dataset,
                    lang,
                    split,
                    min_context_words,
                    max_items,
                    path=heldout_path(root, dataset, lang, split),
                )
                groups[(dataset, lang)] = ItemGroup(items, f'{split} split', skipped)
                skipped_lines.update(skipped)
    print(
        f"{ckpt_dir}: {checkpoint['model_name']} at iteration {checkpoint.get('iter_num')}; "
        f"{sum(len(group.items) for group in groups.values()):,} items from "
        f"{', '.join(cloze_files) if cloze_files else f'the {split} split of ' + ', '.join(datasets)}; "
        f"beam width {beam_width}, k {k}; {device}, {dtype}"
    )
    records = []
    for (dataset, lang), group in groups.items():
        items, source, skipped = group.items, group.source, group.skipped
        t0 = time.time()
        if not items and not cloze_files:
            # listed with 0 items all the same: the language was evaluated and gave nothing
            print(
                f"  {dataset}/{lang}: none of its {sum(skipped.values()):,} {split} lines gives an "
                f"item (a last word of letters after a space and at least {min_context_words} words "
                f"before it): {skip_summary(skipped) or 'the file is empty'}"
                + ''.join(f"; {hint}" for hint in skip_hints(skipped))
            )
        contexts = [context_ids(tok, item, model.config.block_size - max_word_tokens) for item in items]
        items, contexts, unreadable = items_with_rows(tok, items, contexts, model.config.vocab_size)
        unreadable = [{**p, 'out_dir': ckpt_dir} for p in unreadable]
        if unreadable:  # a tokenizer with more tokens than the model has rows
            print(
                f"  {dataset}/{lang}: {len(unreadable):,} items skipped: their context or answer "
                f"needs tokens the model has no row for"
            )
            report_skipped(unreadable)
            skipped_items.extend(unreadable)
        progress = lambda batches: tqdm(
            batches, desc=f"{dataset}/{lang}", unit='batch', leave=False, disable=None
        )
        predictions = predict_items(
            model,
            contexts,
            classes,
            beam_width,
            k,
            max_word_tokens,
            batch_size,
            use_cache=True,
            autocast=autocast,
            progress=progress,
        )
        top1, topk = [], []
        for item, words in zip(items, predictions):
            hits = [is_hit(word, item.answer, case_sensitive) for word, _ in words]
            top1.append(bool(hits[:1] and hits[0]))
            topk.append(any(hits))
            records.append(
                {
                    'id': item.id,
                    'dataset': dataset,
                    'language': lang,
                    'context': item.context,
                    'answer': item.answer,
                    'predictions': [w for w, _ in words],
                    'logprobs': [round(s, 4) for _, s in words],
                    'top1_hit': top1[-1],
                    'topk_hit': topk[-1],
                }
            )
        metrics = accuracy(top1, topk)
        by_reason = skipped + Counter({NO_ROW: len(unreadable)})  # Counter's + drops a count of 0
        details = dict(
            skipped_lines=sum(by_reason.values()),
            skipped_lines_by_reason=dict(by_reason),
            out_dir=ckpt_dir,
            model_name=checkpoint['model_name'],
            iter_num=checkpoint.get('iter_num'),
            source=source,
            k=k,
            beam_width=beam_width,
            case_sensitive=case_sensitive,
            min_context_words=min_context_words,
        )
        results.add(ckpt_dir, dataset, lang, {**metrics.as_dict(), **details})
        print(
            f"  {dataset}/{lang}: "
            + (
                "0 items"
                if not metrics.items
                else f"{metrics.items:,} items: top-1 {metrics.top1_accuracy:.1%} "
                f"({metrics.top1_hits}), top-{k} {metrics.topk_accuracy:.1%} "
                f"({metrics.topk_hits}) ({time.time() - t0:.1f}s)"
            )
        )
    name = (
        'cloze_predictions.jsonl'
        if len(checkpoints) == 1
        else f'cloze_predictions_{file_label(ckpt_dir)}.jsonl'
    )
    predictions_files[name] = records  # written with the results, when there are any
    del model
    if torch.cuda.is_available():
        torch.cuda.empty_cache()

# -----------------------------------------------------------------------------
# the outputs: the predictions, cloze.md, .csv, .json and .png in report_dir
if not any(row['items'] for row in results.rows):
    # the reasons recorded above, counted: not a guess at what usually goes wrong
    why = skip_summary(skipped_lines + Counter(p['kind'] for p in skipped_items))
    raise SystemExit(
        f"no cloze item was scored; skipped, and why: "
        f"{why or 'nothing: the held-out files or the cloze files are empty'}"
        + ''.join(f"; {hint}" for hint in skip_hints(skipped_lines))
        + (" (the skipped items are listed above)" if skipped_items else '')
    )
for name, records in predictions_files.items():
    write_text(
        os.path.join(report_dir, name), ''.join(json.dumps(r, ensure_ascii=False) + '\n' for r in records)
    )


def accuracy_cell(name):
    """'accuracy [95% CI] (hits)' of top1 or topk; '-' without items."""
    return lambda row: (
        '-' if row['items'] == 0 else f"{with_ci95(row, f'{name}_accuracy', '.1%')} ({row[f'{name}_hits']})"
    )


results.write(
    report_dir,
    'cloze',
    header=(
        f"Cloze test ({', '.join(checkpoints)}): the masked last word guessed by beam search "
        f"(beam width {beam_width}); a hit is an exact whole-word match"
        f"{'' if case_sensitive else ' (case-insensitive)'}; 95% Wilson intervals."
        f"{f' Note: {beam_note}.' if beam_note else ''}\n\n"
    ),
    table_columns=[
        'model_name',
        'dataset',
        'language',
        'items',
        ('top-1 [95% CI] (hits)', accuracy_cell('top1')),
        (f'top-{k} [95% CI] (hits)', accuracy_cell('topk')),
    ],
    csv_columns=[
        'model',
        'checkpoint_sha256',
        'model_name',
        'iter_num',
        'dataset',
        'language',
        'language_name',
        'source',
        'items',
        'skipped_lines',
        'top1_hits',
        'top1_accuracy',
        'top1_accuracy_ci95_low',
        'top1_accuracy_ci95_high',
        'topk_hits',
        'topk_accuracy',
        'topk_accuracy_ci95_low',
        'topk_accuracy_ci95_high',
        'k',
        'beam_width',
        'case_sensitive',
        'min_context_words',
    ],
    chart=BarChart(
        {'top1_accuracy': 'top-1', 'topk_accuracy': f'top-{k}'},
        ylabel='accuracy (%)',
        title=f"Cloze test: top-1 and top-{k} accuracy (95% CI)",
        value_format='.1f',
        scale=100,
    ),
    json_extra={'skipped_items': skipped_items} if skipped_items else None,
    also=f", and the predictions per item "
    f"({'cloze_predictions.jsonl' if len(checkpoints) == 1 else 'cloze_predictions_*.jsonl'})",
)
