"""
Look inside a Backpack language model: what each sense vector votes for, whether sense k means
the same thing across languages, how much each sense is used in each language of the held-out
data (every pair of languages compared, one test across all), whether the
senses tell the meanings of polysemous words apart (against the demo corpus's gold senses), how
they track human word similarity, and what removing a sense does to the predictions.

$ python sense_visualisation.py --model_name=backpack-lm --out_dir=out-bkp-small-16 --device=cuda
With a GPT-2 checkpoint for the baselines, the report written elsewhere:
$ python sense_visualisation.py --out_dir=out/demo/backpack --baseline_out_dir=out/demo/gpt2 --report_dir=out/demo/senses
One or a few analyses (projection, alignment, usage, probe, similarity, intervention), other words:
$ python sense_visualisation.py --out_dir=out-bkp-small-16 --analyses=projection --words=bank,banque,right,droit
$ python sense_visualisation.py --out_dir=out-bkp-small-16 --analyses=similarity --simlex=data/multisimlex
A model of several languages (say en, fr, de): every analysis covers each language and each pair
of languages of the held-out dataset, one of the checkpoint's (--heldout_dataset picks which: one
line-aligned in all three languages compares all three; a two-language one, that pair):
$ python sense_visualisation.py --out_dir=out-bkp-en-fr-de --heldout_dataset=europarl-de-en
A training config file may be passed too (keys this script does not have are ignored):
$ python sense_visualisation.py config/train_small_16.py --out_dir=out-bkp-small-16

Writes to --report_dir (default: out_dir): senses.md (tables, with links to the figures),
senses.tex (the sense tables in LaTeX), senses.json (every number), CSV files and PNG figures.
Running some analyses only keeps the others' results in senses.json and senses.md when they
describe the same weights and data (the sha256 of ckpt.pt and of the baseline's, the data root,
the held-out dataset and its languages); else the earlier report is moved, whole, to
report_dir/senses-replaced-<time>/, and the run says why. With a GPT-2 checkpoint, the analyses
that need sense vectors say so and are skipped; the GPT-2 baselines (probe, similarity) still run.
When every analysis chosen is skipped, the run says why and stops (status 1), writing nothing.
"""

import difflib
import os
import sys
import time

import torch

from common.checkpoint import checkpoint_path, load_model
from common.device_setup import autocast_context, default_device, resolve_device
from common.errors import UserError
from common.file_hash import file_sha256
from common.languages import language_name
from common.reporting import read_json, write_json, write_text
from configurator import at_least, configure, non_empty, one_of
from data.prepared import dataset_languages
from evaluation.checkpoints import checkpoint_datasets, checkpoint_tokenizer, default_report_dir
from senses import Skipped, alignment, intervention, probe, projection, similarity, usage
from senses.analysis_inputs import AnalysisInputs, AnalysisOptions, LabelledModel
from senses.gold import GoldSenses, gold_dir, has_gold, has_heldout_text
from senses.lexicons import read_translation_files
from senses.report import (
    REPORT_FILES,
    ReportIdentity,
    data_line,
    identity_changes,
    markdown_report,
    move_aside,
    result_files,
)
from senses.similarity_datasets import multisimlex_languages, read_similarity_csv
from senses.vectors import is_backpack
from senses.word_lists import read_word_list

# -----------------------------------------------------------------------------
# what to analyse
out_dir = 'out'  # the checkpoint (out_dir/ckpt.pt)
model_name = ''  # optional: checked against the checkpoint ('gpt2' or 'backpack-lm')
baseline_out_dir = ''  # a GPT-2 checkpoint for the baselines of the probe and the similarity
report_dir = ''  # where the report goes; '' = out_dir
analyses = 'all'  # or some of: projection,alignment,usage,probe,similarity,intervention
# data: read from the checkpoint unless set
data_root = ''
heldout_dataset = ''  # held-out text and gold senses from here ('' = first dataset with held-out text
# in all of its languages); its languages (meta.json) are the languages the analyses compare
split = 'test'  # held-out split: 'val' or 'test'
max_sentences = 300  # held-out aligned sentences for usage; annotated lines for the probe
# words
words = ''  # comma-separated, e.g. bank,banque; '' = parliamentary words + the gold polysemous words
# (those of the data's languages), + frequent held-out words of each language that has none
words_file = ''  # one word per line (optionally word<TAB>language)
multi_token = 'first'  # a word of several tokens: 'first' token or 'average' of its tokens' vectors
skip_split_words = True  # alignment and similarity: leave out (and count) pairs with a split word
# 1. sense projections
top_k = 10
whole_words = True  # only whole words (offline list: wordfreq if installed, else the held-out text)
report_words = 8  # words whose tables go into senses.md and senses.tex (all of them in the CSV and JSON)
figure_words = 6  # words in the grid figure
# 2. alignment, for each pair of the held-out data's languages, with the first lexicon that has the pair:
translation_pairs = ''  # TSV file(s), comma-separated: word<TAB>translation lines, English<TAB>French
# unless a first line names the languages (en<TAB>de; en<TAB>fr<TAB>de: every pair of the columns);
# then the gold bilingual lexicon, Multi-SimLex's translations (--simlex), built-in en-fr pairs
max_pairs = 1000  # per pair of languages; the i-th pair's permutations draw from seed + i
# 5. similarity, for every language of the held-out data that Multi-SimLex has, and every pair of them
simlex = ''  # folder of Multi-SimLex's translation.csv and scores.csv
similarity_csv = ''  # or a CSV with word1,word2,score (optionally language1,language2: any codes)
# 6. interventions
intervention_words = ''  # comma-separated; '' = every polysemous word of the gold lexicon
intervention_senses = 1  # senses zeroed per meaning
intervention_prompts = 40  # held-out lines per meaning
max_new_tokens = 20  # for the example continuations
# statistics and system
n_permutations = 1000
n_bootstrap = 1000
seed = 0
batch_size = 32
device = default_device()
dtype = 'float32'  # 'float32', 'bfloat16', 'float16' or 'auto'
ranges = dict(
    analyses=non_empty(),
    split=one_of('val', 'test'),
    max_sentences=at_least(1),
    multi_token=one_of('first', 'average'),
    top_k=at_least(1),
    report_words=at_least(0),
    figure_words=at_least(0),
    max_pairs=at_least(3),
    intervention_senses=at_least(1),
    intervention_prompts=at_least(1),
    max_new_tokens=at_least(1),
    n_permutations=at_least(1),
    n_bootstrap=at_least(1),
    seed=at_least(0),
    batch_size=at_least(1),
)
# -----------------------------------------------------------------------------
config = configure(globals(), sys.argv[1:], ranges, strict_files=False)
# -----------------------------------------------------------------------------
# the analyses, in the order they run and senses.md shows them: name (as --analyses says it) ->
# its module, with run(inputs), NEEDS, TITLE and markdown(result) (see senses/__init__.py)
ANALYSES = {
    'projection': projection,
    'alignment': alignment,
    'usage': usage,
    'probe': probe,
    'similarity': similarity,
    'intervention': intervention,
}
requested = list(dict.fromkeys(a.strip().lower() for a in analyses.split(',') if a.strip()))
selected = list(ANALYSES) if requested == ['all'] else requested
unknown = [a for a in selected if a not in ANALYSES]
if unknown or not selected:
    hints = [
        f"{a!r}" + ''.join(f" (did you mean {close}?)" for close in difflib.get_close_matches(a, ANALYSES, 1))
        for a in unknown
    ]
    raise UserError(
        f"--analyses={analyses}: "
        + (
            "no analysis named"
            if not selected
            else "'all' runs every analysis: give it alone, or list the analyses"
            if unknown == ['all']
            else f"{', '.join(hints)} {'is' if len(unknown) == 1 else 'are'} not an analysis"
        )
        + f"; choose 'all' or some of {','.join(ANALYSES)}"
    )
# options that only some analyses read: given while none of those runs, said (not silently unused)
for key, readers in {
    'words': ('projection',),
    'words_file': ('projection',),
    'translation_pairs': ('alignment',),
    'simlex': ('alignment', 'similarity'),
    'similarity_csv': ('similarity',),
    'intervention_words': ('intervention',),
}.items():
    if globals()[key] and not set(readers) & set(selected):
        print(f"note: --{key} is read by {' and '.join(readers)}, which this run does not run: not used")
if simlex and similarity_csv and 'similarity' in selected:
    print(
        f"note: the similarity reads Multi-SimLex (--simlex={simlex}); --similarity_csv={similarity_csv} "
        f"is not used (leave out --simlex to use it)"
    )
_, dtype = resolve_device(device, dtype)
ctx = autocast_context(device, dtype)
torch.manual_seed(seed)
report_dir = default_report_dir(report_dir, [out_dir])  # writable, checked before any work

model, checkpoint = load_model(out_dir, device, model_name or None)
label = checkpoint['model_name']
# a converted model names no dataset: --data_root and --heldout_dataset say which text to read
root, datasets = checkpoint_datasets(checkpoint, data_root, [heldout_dataset] if heldout_dataset else [])
tok = checkpoint_tokenizer(checkpoint, root, model)
if heldout_dataset:
    dataset_languages(root, heldout_dataset)  # a typo is an error that names the prepared datasets
dataset = heldout_dataset or next((d for d in datasets if has_heldout_text(root, d, split)), datasets[0])
languages = dataset_languages(root, dataset)  # the codes in the held-out data (meta.json), in its order
gold = GoldSenses(root, dataset) if has_gold(root, dataset) else None  # the demo corpus's senses
about = f"{label}, iteration {checkpoint.get('iter_num')}, {model.get_num_params() / 1e6:.2f}M parameters" + (
    f", {model.config.n_sense_vector} senses per token" if is_backpack(model) else ''
)
print(
    f"{out_dir}: {about}; data {dataset} under {root}"
    + (", with gold senses" if gold and gold.lexicon else '')
)
# what the results describe: the weights (the sha256 of ckpt.pt, streamed: about a second per GB,
# read from the page cache torch.load has just filled; once per run) and the data
checkpoint_file = os.path.abspath(checkpoint_path(out_dir))
identity = ReportIdentity(
    checkpoint=checkpoint_file,
    sha256=file_sha256(checkpoint_file),
    model_name=label,
    iter_num=checkpoint.get('iter_num'),
    baseline=None,
    baseline_sha256=None,
    data_root=root,
    dataset=dataset,
    languages=list(languages),
)

baseline = None  # a GPT-2 for the baselines
if baseline_out_dir:
    baseline_file = os.path.abspath(checkpoint_path(baseline_out_dir))
    baseline_model, baseline_checkpoint = load_model(baseline_out_dir, device)
    identity.update(baseline=baseline_file, baseline_sha256=file_sha256(baseline_file))
    if identity['baseline_sha256'] == identity['sha256']:
        raise UserError(
            f"--baseline_out_dir={baseline_out_dir} holds the same weights as "
            f"--out_dir={out_dir} ({baseline_file}): the baseline would be the model itself. "
            f"Give another model's out_dir (a GPT-2 trained alike), or leave it out"
        )
    if is_backpack(baseline_model):
        print(
            f"note: the baseline {baseline_out_dir} is a {baseline_checkpoint['model_name']} model, "
            f"not a GPT-2: the probe reads its senses as it reads the analysed model's"
        )
    baseline_tok = tok
    if baseline_checkpoint['data']['tokenizer'].get('sha256') != tok.sha256:
        baseline_root, _ = checkpoint_datasets(baseline_checkpoint, data_root)
        baseline_tok = checkpoint_tokenizer(baseline_checkpoint, baseline_root, baseline_model)
    baseline = LabelledModel(f"{baseline_checkpoint['model_name']} (baseline)", baseline_model, baseline_tok)
    print(
        f"baseline {baseline_out_dir}: {baseline_checkpoint['model_name']}, iteration "
        f"{baseline_checkpoint.get('iter_num')}"
    )
models = (LabelledModel(label, model, tok),) + ((baseline,) if baseline else ())  # probe and similarity

# the files and words the user gave, read (and checked) before any analysis runs: a mistake in
# the last one's is found before the first has spent its time
word_list = read_word_list(words, words_file) if 'projection' in selected else []
for word, lang in word_list:
    if lang and lang not in languages:
        print(
            f"note: --words_file lists {word!r} as {lang}, a language the held-out data "
            f"({', '.join(languages)}) does not have: its table is headed {lang}"
        )
if 'intervention' in selected and is_backpack(model) and intervention_senses >= model.config.n_sense_vector:
    raise UserError(
        f"--intervention_senses={intervention_senses} but the model has "
        f"{model.config.n_sense_vector} senses per token: choose at most "
        f"{model.config.n_sense_vector - 1} (all of them would zero the whole word, "
        f"whichever meaning it has)"
    )
if 'alignment' in selected and translation_pairs:
    read_translation_files(translation_pairs, languages)
if simlex and {'alignment', 'similarity'} & set(selected):
    multisimlex_languages(simlex)
elif similarity_csv and 'similarity' in selected:
    read_similarity_csv(similarity_csv, languages)
if intervention_words and 'intervention' in selected and gold is not None:
    intervention.chosen_words(gold.lexicon, intervention_words)

# what every analysis reads: module.run(inputs)
inputs = AnalysisInputs(
    model=model,
    tokenizer=tok,
    data_root=root,
    dataset=dataset,
    languages=tuple(languages),
    split=split,
    gold=gold,
    models=models,
    checkpoint_label=f"{out_dir} ({label})",
    autocast=ctx,
    report_dir=report_dir,
    options=AnalysisOptions(
        max_sentences=max_sentences,
        words=tuple(word_list),
        multi_token=multi_token,
        skip_split_words=skip_split_words,
        top_k=top_k,
        whole_words=whole_words,
        report_words=report_words,
        figure_words=figure_words,
        translation_pairs=translation_pairs,
        max_pairs=max_pairs,
        simlex=simlex,
        similarity_csv=similarity_csv,
        intervention_words=intervention_words,
        intervention_senses=intervention_senses,
        intervention_prompts=intervention_prompts,
        max_new_tokens=max_new_tokens,
        n_permutations=n_permutations,
        n_bootstrap=n_bootstrap,
        seed=seed,
        batch_size=batch_size,
    ),
)


def check_needs(needs: tuple[str, ...]) -> None:
    """Skipped, saying why, when an analysis needs what this checkpoint or data lacks."""
    if 'senses' in needs and not is_backpack(model):
        raise Skipped(
            f"needs sense vectors, but {out_dir} holds a {label} model (use a backpack-lm checkpoint)"
        )
    if 'gold' in needs and gold is None:
        raise Skipped(
            f"needs gold sense annotation ({gold_dir(root, dataset)}/lexicon.tsv, "
            f"written with the demo corpus by python data/demo/prepare.py); dataset "
            f"'{dataset}' has none"
        )
    if 'heldout' in needs and not has_heldout_text(root, dataset, split):
        other = 'test' if split == 'val' else 'val'
        has_other = f" (it has {other} text)" if has_heldout_text(root, dataset, other) else ''
        raise Skipped(
            f"needs the held-out {split} text of {dataset} ({', '.join(languages)}), which "
            f"is not there under {root}: prepare it (python data/{dataset}/prepare.py), "
            f"or choose --split={other}{has_other}"
        )


# -----------------------------------------------------------------------------
# the results of analyses not run now are kept from the earlier report in report_dir when they
# describe the same weights and data; else that report is moved aside, whole, and said so
os.makedirs(report_dir, exist_ok=True)
summary_path = os.path.join(report_dir, 'senses.json')
try:
    previous = read_json(summary_path, {}) or {}
    changes = identity_changes(previous.get('checkpoint') or {}, identity) if previous else []
except (ValueError, AttributeError) as e:  # not JSON, or not senses.json's
    previous, changes = {}, [f"senses.json cannot be read ({type(e).__name__}: {str(e)[:100]})"]
replaced = None  # (its files, why): moved aside when this run has a result to write instead
if changes:
    earlier = list(previous.get('analyses', {})) + list(previous.get('skipped', {}))
    replaced = (
        set(REPORT_FILES).union(*map(result_files, previous.get('analyses', {}).values())),
        f"the earlier results in {report_dir}"
        + (f" ({', '.join(earlier)})" if earlier else '')
        + " are not kept: "
        + '; '.join(changes),
    )
    previous = {}
results = dict(previous.get('analyses', {}))
skipped = dict(previous.get('skipped', {}))
timings = dict(previous.get('seconds', {}))


def write_report() -> None:
    """senses.json and senses.md of the results so far: after each analysis, so that a later
    one's failure (a fault, Ctrl-C) loses none of those done."""
    write_json(
        summary_path,
        {
            'checkpoint': identity,
            'config': config,
            'analyses': results,
            'skipped': skipped,
            'seconds': timings,
        },
    )
    header = {
        'title': f"Sense analysis of {out_dir}",
        'lines': [
            f"- checkpoint: {checkpoint_path(out_dir)} ({about}; sha256 {identity['sha256'][:12]}...)",
            data_line(dataset, root, results, ANALYSES),
            f"- languages: {', '.join(map(language_name, languages))}",
            *(
                [
                    f"- baseline: {baseline_out_dir} ({baseline_checkpoint['model_name']}, "
                    f"iteration {baseline_checkpoint.get('iter_num')})"
                ]
                if baseline
                else []
            ),
        ],
    }
    write_text(
        os.path.join(report_dir, 'senses.md'),
        markdown_report(
            header, results, skipped, ANALYSES, section_options={'projection': {'n_words': report_words}}
        ),
    )


stale = set()  # files of an earlier run of an analysis run now that this run does not write
done = []  # the analyses of this run that have a result
for name in selected:
    t0 = time.time()
    print(f"{name}...", flush=True)
    module = ANALYSES[name]
    before = result_files(results.get(name, {}))
    try:
        check_needs(module.NEEDS)
        results[name] = module.run(inputs)
        skipped.pop(name, None)
        done.append(name)
    except Skipped as reason:
        results.pop(name, None)
        skipped[name] = str(reason)
        print(f"  skipped: {reason}")
    stale |= before - result_files(results.get(name, {}))
    timings[name] = round(time.time() - t0, 2)
    print(f"  {timings[name]:.1f}s")
    if done:  # until then, the earlier report stays as it was (a run of skips only writes none)
        if replaced:
            aside = move_aside(report_dir, replaced[0])
            print(
                replaced[1] + (f". Moved, with their senses.md and senses.json, to {aside}" if aside else '')
            )
            replaced = None
        write_report()

if not done:
    raise UserError(
        "nothing to report: every analysis chosen was skipped ("
        + '; '.join(f"{name}: {skipped[name]}" for name in selected)
        + f"). {report_dir} is left as it was"
    )
aside = move_aside(report_dir, stale - set().union(*map(result_files, results.values())))
if aside:
    print(f"files of earlier runs that this run did not write again moved to {aside}")
print(
    f"wrote {os.path.join(report_dir, 'senses.md')} and senses.json"
    + (", senses.tex" if 'projection' in results else '')
    + f", CSV and PNG files in {report_dir}"
)
