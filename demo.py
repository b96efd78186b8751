"""
The quick start: from nothing to a report comparing GPT-2 and a Backpack on English and French,
on the offline demo corpus, in under ten minutes on a laptop CPU.

$ python demo.py
writes out/demo/report.md (with its figures beside it). Steps, each a script you can also run alone:
  1. python data/demo/prepare.py                       the demo corpus and its tokenizer (~1 min)
  2. python train.py config/train_demo_gpt2.py         a small GPT-2 ...
     python train.py config/train_demo_backpack.py     ... a Backpack with the same Transformer ...
     python train.py config/train_demo_gpt2_matched.py ... and a wider GPT-2 with as many
                                                       parameters as the Backpack, all three
                                                       trained on the same tokens
  3. python perplexity_per_lang.py --out_dirs=...      per-language perplexity, bits per byte
  4. python cloze_test.py --out_dirs=...               masked last word, top-1 / top-k accuracy
  5. python sense_visualisation.py --out_dir=...       sense tables, alignment, usage, probe,
                                                       interventions (baseline: the GPT-2 of
                                                       the same Transformer)
  6. the report: out/demo/report.md

A step whose output is already there is skipped (a finished checkpoint, a prepared corpus). Ctrl-C
stops the demo after the training it interrupts has saved its checkpoint; python demo.py again
resumes that training (same seed, corpus and settings), and starts over only a model trained
otherwise, whose files train.py moves aside. Run with --fresh=True to redo everything: it removes
what the demo writes in out_root (gpt2/, backpack/, gpt2_matched/, perplexity/, cloze/, senses/,
report.md) and nothing else; other files there are left as they are, and named. Other options:
--out_root=DIR, --max_iters=N (every model, for a quicker or longer run), --seed=N (another
initialisation and order of batches), --device=cuda.
"""

import csv
import os
import re
import signal
import subprocess
import sys
import time

import torch

from common.checkpoint import load_checkpoint_file, model_from_checkpoint
from common.device_setup import default_device
from common.reporting import markdown_table, read_json, write_text
from common.run_folder import prepare_out_dir, remove_outputs, run_progress
from configurator import at_least, configure
from data.prepared import SPLITS, prepared_datasets, read_meta
from senses import alignment, intervention, probe

# -----------------------------------------------------------------------------
out_root = 'out/demo'
data_root = 'data'
fresh = False  # redo every step, even those whose output exists
max_iters = 0  # 0: the iterations of config/train_demo_*.py
demo_sentences = 0  # sentence pairs of the demo corpus; 0: data/demo/prepare.py's default
device = default_device()
seed = 1337  # train.py's seed for every model (initialisation and batches)
cloze_items = 300  # cloze items per language
sense_sentences = 200  # held-out sentences for the sense usage and probe analyses
ranges = dict(
    max_iters=at_least(0), demo_sentences=at_least(0), cloze_items=at_least(1), sense_sentences=at_least(1)
)
# -----------------------------------------------------------------------------
config = configure(globals(), sys.argv[1:], ranges)
# -----------------------------------------------------------------------------
REPO = os.path.dirname(os.path.abspath(__file__))
# trained and shown in this order; the sense analyses compare the Backpack with 'gpt2'
MODELS = {
    'gpt2': 'config/train_demo_gpt2.py',
    'backpack': 'config/train_demo_backpack.py',
    'gpt2_matched': 'config/train_demo_gpt2_matched.py',  # as many parameters as the Backpack
}
LABELS = {'gpt2': 'GPT-2', 'backpack': 'Backpack', 'gpt2_matched': "GPT-2, Backpack's size"}
REPORT_STEPS = ('perplexity', 'cloze', 'senses')
REPORT_NAME = 'report.md'
DEMO_OUTPUTS = (*MODELS, *REPORT_STEPS, REPORT_NAME)  # all it writes in out_root: what --fresh removes
out_dirs = {name: os.path.join(out_root, name) for name in MODELS}
report_dirs = {step: os.path.join(out_root, step) for step in REPORT_STEPS}
timings = []


def run(title, args, training=None):
    """Run one step as its own process (the scripts are what a user would run by hand). training:
    (out_dir, settings) of a training step, to say what an interruption saved."""
    print(f"\n=== {title}\n$ {' '.join(['python'] + args)}", flush=True)
    start = time.time()
    process = subprocess.Popen([sys.executable] + args, cwd=REPO)
    try:
        returncode = process.wait()
    except KeyboardInterrupt:
        # Ctrl-C reaches the whole foreground process group, the step too: it stops by itself
        # (train.py after saving its checkpoint), so wait for it instead of killing it mid-save
        print(f"\ndemo: Ctrl-C; waiting for {args[0]} to stop", file=sys.stderr, flush=True)
        returncode = wait_through_interrupts(process)
        stopped_by_interrupt(title, training)
    if returncode == 128 + signal.SIGINT:  # the step alone was interrupted
        stopped_by_interrupt(title, training)
    if returncode != 0:
        raise SystemExit(
            f"demo stopped: '{' '.join(args)}' failed (exit code {returncode}); "
            f"its messages are above. Fix what they say and run python demo.py "
            f"again: finished steps are not redone."
        )
    timings.append((title, time.time() - start))


def wait_through_interrupts(process):
    while True:
        try:
            return process.wait()
        except KeyboardInterrupt:  # a second Ctrl-C reaches the step too, which then stops at once
            pass


def stopped_by_interrupt(title, training):
    """End the demo after an interrupted step, saying what was kept and how to go on."""
    message = f"demo stopped by Ctrl-C during '{title}'."
    if training:
        out_dir, settings = training
        progress = run_progress(out_dir, settings, demo_tokenizer())
        if progress:
            message += (
                f" The training was saved in {out_dir} at iteration {progress} of "
                f"{settings['max_iters']}: python demo.py again resumes it."
            )
        else:
            message += " Nothing of that training was saved: python demo.py again starts it over."
    else:
        message += " Finished steps are kept: python demo.py again goes on from this step."
    print(message, file=sys.stderr)
    raise SystemExit(128 + signal.SIGINT)


def config_values(config_file):
    values = {}
    exec(open(os.path.join(REPO, config_file)).read(), {}, values)
    return values


def training_settings(config_file):
    """What train.py is given for one model (its config file, then the demo's overrides), out_dir
    and the machine aside: a checkpoint trained with these settings is this demo's, to resume."""
    settings = {k: v for k, v in config_values(config_file).items() if k != 'out_dir'}
    iterations = max_iters or settings['max_iters']
    # warmup < lr_decay_iters, for short runs too
    settings.update(
        max_iters=iterations,
        lr_decay_iters=iterations,
        warmup_iters=min(settings['warmup_iters'], iterations // 10),
        seed=seed,
    )
    return settings


def demo_tokenizer():
    return read_meta(data_root, 'demo')['tokenizer']


started = time.time()
if fresh:
    removed, kept = remove_outputs(out_root, DEMO_OUTPUTS)
    if removed:
        print(f"--fresh=True: removed the demo's {', '.join(removed)} from {out_root}")
    if kept:
        print(f"--fresh=True: left {', '.join(kept)} in {out_root} as they were (not the demo's)")
prepare_out_dir(out_root, key='out_root')  # or say why it cannot be written

# 1. data
if fresh or 'demo' not in prepared_datasets(data_root):
    run(
        '1. the demo corpus',
        ['data/demo/prepare.py', f'--data_root={data_root}']
        + ([f'--n_sentences={demo_sentences}'] if demo_sentences else []),
    )
else:
    print(f"=== 1. the demo corpus: already prepared in {data_root}/demo (--fresh=True redoes it)")

# 2. training, same tokens for every model
for name, config_file in MODELS.items():
    settings = training_settings(config_file)
    iterations = settings['max_iters']
    progress = run_progress(out_dirs[name], settings, demo_tokenizer())
    if progress is not None and progress >= iterations:
        print(f"=== 2. {name}: a finished checkpoint is in {out_dirs[name]} (--fresh=True retrains)")
        continue
    overrides = [
        f'--out_dir={out_dirs[name]}',
        f'--data_root={data_root}',
        f'--device={device}',
        *(f'--{key}={settings[key]}' for key in ('max_iters', 'lr_decay_iters', 'warmup_iters', 'seed')),
        # this demo's unfinished run goes on; any other run there is moved aside
        '--init_from=resume' if progress is not None else '--overwrite=True',
    ]
    run(f'2. training {name}', ['train.py', config_file] + overrides, (out_dirs[name], settings))
    progress = run_progress(out_dirs[name], settings, demo_tokenizer())
    if progress is None or progress < iterations:  # stopped early, e.g. by a SIGTERM of its own
        raise SystemExit(
            f"demo stopped: the training of {name} ended at iteration {progress or 0} of "
            f"{iterations}, and evaluating it beside a finished model would compare "
            f"unequal runs. python demo.py again " + ("resumes it." if progress else "trains it again.")
        )

# 3-5. evaluation
every_model = ','.join(out_dirs[name] for name in MODELS)
run(
    '3. perplexity',
    [
        'perplexity_per_lang.py',
        f'--out_dirs={every_model}',
        f'--device={device}',
        f"--report_dir={report_dirs['perplexity']}",
    ],
)
run(
    '4. cloze test',
    [
        'cloze_test.py',
        f'--out_dirs={every_model}',
        f'--device={device}',
        f'--max_items={cloze_items}',
        f"--report_dir={report_dirs['cloze']}",
    ],
)
run(
    '5. senses',
    [
        'sense_visualisation.py',
        f"--out_dir={out_dirs['backpack']}",
        f"--baseline_out_dir={out_dirs['gpt2']}",
        f'--device={device}',
        f'--max_sentences={sense_sentences}',
        f"--report_dir={report_dirs['senses']}",
    ],
)


# 6. the report
def relative_links(markdown, folder):
    """Links and images of a report written in a subfolder, made relative to out_root."""
    return re.sub(
        r'(!?\[[^\]]*\]\()(?!https?:|/|#)([^)]+)\)', lambda m: f"{m.group(1)}{folder}/{m.group(2)})", markdown
    )


def section_from(folder, file_name, demote=1):
    path = os.path.join(out_root, folder, file_name)
    if not os.path.isfile(path):
        return f"_{path} is missing: the step that writes it did not run._\n"
    with open(path, encoding='utf-8') as f:
        text = f.read()
    text = '\n'.join(('#' * demote + line) if line.startswith('#') else line for line in text.splitlines())
    return relative_links(text, folder) + '\n'


def model_rows():
    """One row per model; parameters also as a ratio to the Backpack's, the size the third model
    matches."""
    rows = []
    for name in MODELS:
        ckpt = load_checkpoint_file(out_dirs[name])
        args, cfg = ckpt['model_args'], ckpt['config']
        with open(os.path.join(out_dirs[name], 'metrics.csv')) as f:
            last = list(csv.DictReader(f))[-1]
        rows.append(
            {
                'run': name,
                'model': ckpt['model_name'],
                'parameters': model_from_checkpoint(ckpt).get_num_params(),
                'shape': f"{args['n_layer']} layers, {args['n_head']} heads, {args['n_embd']} wide"
                + (f", {args['n_sense_vector']} senses" if 'n_sense_vector' in args else ''),
                'iterations': ckpt['iter_num'],
                'tokens seen': ckpt['iter_num']
                * cfg['batch_size']
                * cfg['block_size']
                * cfg['gradient_accumulation_steps'],
                **{
                    f'val loss {lang}': float(last.get(f'val_loss_{lang}') or 'nan')
                    for lang in meta['languages']
                },
            }
        )
    backpack = rows[list(MODELS).index('backpack')]['parameters']
    for row in rows:
        row['vs Backpack'] = f"{row['parameters'] / backpack - 1:+.1%}"
    return rows


def data_rows(meta):
    rows = []
    for lang in meta['languages']:
        for split in SPLITS:
            s = meta['splits'][lang][split]
            rows.append(
                {
                    'language': lang,
                    'split': split,
                    'lines': s['lines'],
                    'words': s.get('words'),
                    'tokens': s['tokens'],
                }
            )
    return rows


def summary_rows():
    """The headline numbers: per language, bits per byte, word perplexity and cloze top-1."""
    perplexity = read_json(os.path.join(report_dirs['perplexity'], 'perplexity.json'), {})
    cloze = read_json(os.path.join(report_dirs['cloze'], 'cloze.json'), {})
    measures = [
        ('bits per byte', perplexity, 'bits_per_byte', '{:.3f}'),
        ('word perplexity', perplexity, 'word_perplexity', '{:.1f}'),
        ('cloze top-1', cloze, 'top1_accuracy', '{:.1%}'),
    ]
    rows = []
    for label, results, key, fmt in measures:
        for lang in meta['languages']:
            row = {'measure': f"{label} ({lang})"}
            for name in MODELS:
                m = results.get(out_dirs[name], {}).get('demo', {}).get(lang)
                if m is not None:
                    low, high = m[f"{key}_ci95"]
                    row[name] = f"{fmt.format(m[key])} [{fmt.format(low)}, {fmt.format(high)}]"
            rows.append(row)
    return rows


def training_curves():
    """A row of each model's loss figure, in MODELS's order."""
    figures = [
        f"![{LABELS[name]} training]({os.path.relpath(os.path.join(out_dirs[name], 'loss.png'), out_root)})"
        for name in MODELS
    ]
    return '\n'.join(
        [
            '| ' + ' | '.join(LABELS[name] for name in MODELS) + ' |',
            '|' + '---|' * len(MODELS),
            '| ' + ' | '.join(figures) + ' |',
        ]
    )


def sense_highlights():
    """Three numbers from the sense analysis, in words: each analysis's headline."""
    report = read_json(os.path.join(report_dirs['senses'], 'senses.json'), {})
    senses, n_permutations = report.get('analyses', {}), report.get('config', {}).get('n_permutations')
    lines = [
        alignment.headline(senses['alignment'], n_permutations) if senses.get('alignment') else None,
        probe.headline(senses['probe']) if senses.get('probe') else None,
        intervention.headline(senses['intervention']) if senses.get('intervention') else None,
    ]
    lines = [line for line in lines if line]
    return '\n'.join(lines) + '\n' if lines else '_No sense analysis results._\n'


meta = read_meta(data_root, 'demo')
val_loss_columns = [f'val loss {lang}' for lang in meta['languages']]
report = (
    f"""# Demo report: GPT-2 and a Backpack on English and French

A small GPT-2 and a Backpack language model with the same Transformer, and a wider GPT-2 with as
many parameters as the Backpack (so that the Backpack's design can be told from its size), trained
on the same tokens of the offline demo corpus (a generated miniature parliament whose English and
French sides are translations of each other, with known senses for its ambiguous words), then
compared on held-out text and looked inside. Everything here is regenerated by `python demo.py`.
These are minutes-old CPU models: the numbers show the tools at work, not the architectures'
merits (for those, train the configurations in config/ on Europarl and MultiUN).

## Summary

{markdown_table(summary_rows(), ['measure'] + list(MODELS), headers=LABELS)}
Lower is better for bits per byte and word perplexity, higher for cloze; 95% confidence intervals
in brackets (bootstrap over lines; Wilson for cloze).

{sense_highlights()}
## Data

Tokenizer `{meta['tokenizer']['name']}` ({meta['vocab_size']:,} tokens, shared by both languages).
The validation and test sides are translations of each other, line by line.

{
        markdown_table(
            data_rows(meta),
            ['language', 'split', 'lines', 'words', 'tokens'],
            {'lines': ',', 'words': ',', 'tokens': ','},
        )
    }
## Models

{
        markdown_table(
            model_rows(),
            ['run', 'model', 'parameters', 'vs Backpack', 'shape', 'iterations', 'tokens seen']
            + val_loss_columns,
            {'parameters': ',', 'tokens seen': ',', **{c: '.3f' for c in val_loss_columns}},
            {c: f'{c} (nats/token)' for c in val_loss_columns},
        )
    }
Parameters: position embeddings excluded, the token embedding (tied to the output layer) counted
once. `gpt2_matched` is the GPT-2 made wider, with the same depth and heads, to have as many
parameters as the Backpack (docs/models.md says why wider). Training curves (train loss, and
validation loss per language):

{training_curves()}

## Perplexity on the held-out test text

Word-level perplexity and bits per byte divide by the text (words, bytes) rather than by tokens:
they are the numbers that compare English with French, whose text takes more tokens.

{section_from('perplexity', 'perplexity.md')}
![perplexity](perplexity/perplexity.png)

## Cloze test

{section_from('cloze', 'cloze.md')}
![cloze](cloze/cloze.png)

The sense analyses below compare the Backpack with the GPT-2 of the same Transformer (`gpt2`).

{section_from('senses', 'senses.md')}
---
Steps and their wall time on this machine ({device}, {torch.get_num_threads()} threads):
"""
    + '\n'.join(f"- {title}: {seconds:.0f} s" for title, seconds in timings)
    + f"\n- total: {time.time() - started:.0f} s\n"
)
report_path = os.path.join(out_root, REPORT_NAME)
write_text(report_path, report)
print(f"\ndone in {time.time() - started:.0f} s: the report is {os.path.abspath(report_path)}")
print(f"explore the Backpack in the browser: python explore.py --out_dir={out_dirs['backpack']}")
