"""
Look inside a Backpack language model: what each sense vector votes for, whether sense k means
the same thing in English and French, how much each sense is used in each language, whether the
senses tell the meanings of polysemous words apart (against the demo corpus's gold senses), how
they track human word similarity, and what removing a sense does to the predictions.

$ python sense_visualisation.py --model_name=backpack-lm --out_dir=out-bkp-small-16 --device=cuda
With a GPT-2 checkpoint for the baselines, the report written elsewhere:
$ python sense_visualisation.py --out_dir=out/demo/backpack --baseline_out_dir=out/demo/gpt2 --report_dir=out/demo/senses
One or a few analyses (projection, alignment, usage, probe, similarity, intervention), other words:
$ python sense_visualisation.py --out_dir=out-bkp-small-16 --analyses=projection --words=bank,banque,right,droit
$ python sense_visualisation.py --out_dir=out-bkp-small-16 --analyses=similarity --simlex=data/multisimlex
A training config file may be passed too (keys this script does not have are ignored):
$ python sense_visualisation.py config/train_small_16.py --out_dir=out-bkp-small-16

Writes to --report_dir (default: out_dir): senses.md (tables, with links to the figures),
senses.tex (the sense tables in LaTeX), senses.json (every number), CSV files and PNG figures.
Running some analyses only keeps the others' results in senses.json and senses.md when they
describe the same checkpoint. With a GPT-2 checkpoint, the analyses that need sense vectors say
so and are skipped; the GPT-2 baselines (probe, similarity) still run.
"""

import os
import sys
import time

import numpy as np
import torch

from common.checkpoint import load_model
from configurator import at_least, configure, non_empty, one_of
from common.device_setup import autocast_context, default_device, resolve_device
from evaluation_data import (checkpoint_datasets, checkpoint_tokenizer, dataset_languages,
                             default_report_dir, heldout_path, read_heldout_lines, readable_lines)
from common.reporting import grouped_bar_chart, heatmap, read_json, write_csv, write_json, write_text
from sense_analysis import (PROBE_TARGETS, PROBES, USAGE_METRICS, compare_language_usage,
                            is_backpack, polysemy_probe, sense_alignment, sense_projection,
                            sentence_sense_usage, similarity_study, whole_word_mask,
                            word_sense_vectors)
from sense_data import (PARLIAMENTARY_WORD_PAIRS, collect_occurrences, default_words, gold_dir,
                        has_gold, has_heldout_text, known_words, read_bilingual_lexicon,
                        read_multisimlex, read_sense_annotations, read_sense_lexicon,
                        read_similarity_csv, read_translation_pairs, read_word_list, word_tokens)
from sense_intervention import SPECIFICITY, WORD_SETS, intervention_study
from sense_report import ANALYSES, format_p, latex_sense_tables, markdown_report, projection_figure

# -----------------------------------------------------------------------------
# what to analyse
out_dir = 'out'  # the checkpoint (out_dir/ckpt.pt)
model_name = ''  # optional: checked against the checkpoint ('gpt2' or 'backpack-lm')
baseline_out_dir = ''  # a GPT-2 checkpoint for the baselines of the probe and the similarity
report_dir = ''  # where the report goes; '' = out_dir
analyses = 'all'  # or some of: projection,alignment,usage,probe,similarity,intervention
# data: read from the checkpoint unless set
data_root = ''
heldout_dataset = ''  # held-out text and gold senses from here ('' = first dataset with held-out text)
split = 'test'  # held-out split: 'val' or 'test'
max_sentences = 300  # held-out sentence pairs for usage; annotated lines for the probe
# words
words = ''  # comma-separated, e.g. bank,banque; '' = parliamentary words + the gold polysemous words
words_file = ''  # one word per line (optionally word<TAB>language)
multi_token = 'first'  # a word of several tokens: 'first' token or 'average' of its tokens' vectors
skip_split_words = True  # alignment and similarity: leave out (and count) pairs with a split word
# 1. sense projections
top_k = 10
whole_words = True  # only whole words (offline list: wordfreq if installed, else the held-out text)
report_words = 8  # words whose tables go into senses.md and senses.tex (all of them in the CSV and JSON)
figure_words = 6  # words in the grid figure
# 2. alignment
translation_pairs = ''  # TSV of english<TAB>french; '' = the gold bilingual lexicon, or built-in pairs
max_pairs = 1000
# 5. similarity
simlex = ''  # folder of Multi-SimLex's translation.csv and scores.csv
similarity_csv = ''  # or a CSV with word1,word2,score (optionally language1,language2)
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
ranges = dict(analyses=non_empty(), split=one_of('val', 'test'), max_sentences=at_least(1),
              multi_token=one_of('first', 'average'), top_k=at_least(1), report_words=at_least(0),
              figure_words=at_least(0), max_pairs=at_least(1), intervention_senses=at_least(1),
              intervention_prompts=at_least(1), max_new_tokens=at_least(1), n_permutations=at_least(1),
              n_bootstrap=at_least(1), seed=at_least(0), batch_size=at_least(1))
# -----------------------------------------------------------------------------
config = configure(globals(), sys.argv[1:], ranges, strict_files=False)
# -----------------------------------------------------------------------------

selected = (list(ANALYSES) if analyses.strip() == 'all'
            else [a.strip() for a in analyses.split(',') if a.strip()])
unknown = [a for a in selected if a not in ANALYSES]
if unknown or not selected:
    raise SystemExit(f"--analyses={analyses}: {', '.join(unknown) or 'nothing'} is not an analysis; "
                     f"choose 'all' or some of {','.join(ANALYSES)}")
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
lexicon = read_sense_lexicon(gold_dir(root, dataset)) if has_gold(root, dataset) else None
print(f"{out_dir}: {label}, iteration {checkpoint.get('iter_num')}, "
      f"{model.get_num_params() / 1e6:.2f}M parameters"
      + (f", {model.config.n_sense_vector} senses per token" if is_backpack(model) else '')
      + f"; data {dataset} under {root}" + (", with gold senses" if lexicon else ''))

baseline = None  # (label, model, tokenizer) of a GPT-2 for the baselines
if baseline_out_dir:
    baseline_model, baseline_checkpoint = load_model(baseline_out_dir, device)
    baseline_tok = tok
    if baseline_checkpoint['data']['tokenizer'].get('sha256') != tok.sha256:
        baseline_root, _ = checkpoint_datasets(baseline_checkpoint, data_root)
        baseline_tok = checkpoint_tokenizer(baseline_checkpoint, baseline_root, baseline_model)
    baseline_label = f"{baseline_checkpoint['model_name']} (baseline)"
    baseline = (baseline_label, baseline_model, baseline_tok)
    print(f"baseline {baseline_out_dir}: {baseline_checkpoint['model_name']}, iteration "
          f"{baseline_checkpoint.get('iter_num')}")


LANGUAGE_NAMES = {'en': 'English', 'fr': 'French'}


class Skipped(Exception):
    """An analysis that does not apply to this checkpoint or data; the message says why."""


def needs_senses():
    if not is_backpack(model):
        raise Skipped(f"needs sense vectors, but {out_dir} holds a {label} model (use a "
                      f"backpack-lm checkpoint)")


def needs_gold():
    if lexicon is None:
        raise Skipped(f"needs gold sense annotation ({gold_dir(root, dataset)}/lexicon.tsv, "
                      f"written with the demo corpus by python data/demo/prepare.py); dataset "
                      f"'{dataset}' has none")


def p_text(p):
    text = format_p(p, n_permutations)
    return f"p {text}" if text.startswith('<') else f"p = {text}"


def report_path(name):
    return os.path.join(report_dir, name)


def models_for_baselines():
    """The models whose token embeddings and predictions the probe and similarity compare."""
    return [(label, model, tok)] + ([baseline] if baseline else [])


_gold_occurrences = {}


def gold_occurrences(split_name, limit=None):
    """The annotated occurrences of the polysemous words in a held-out split (None when the
    split has no annotation)."""
    if (split_name, limit) not in _gold_occurrences:
        directory = gold_dir(root, dataset)
        if not os.path.isfile(os.path.join(directory, f'{split_name}.jsonl')):
            return None
        annotations = read_sense_annotations(directory, split_name)
        lines = {lang: read_heldout_lines(root, dataset, lang, split_name) for lang in ('en', 'fr')}
        _gold_occurrences[(split_name, limit)] = collect_occurrences(annotations, lines, lexicon, limit)
    return _gold_occurrences[(split_name, limit)]


# --- 1. sense projections ------------------------------------------------------------------

def run_projection():
    needs_senses()
    word_list = read_word_list(words, words_file) or default_words(lexicon)
    resolved, unreadable = [], []
    for word, lang in word_list:
        ids = word_tokens(tok, word)
        if not ids:
            print(f"  note: {word!r} has no tokens: left out of the sense tables")
            continue
        if max(ids) >= model.config.vocab_size:  # more tokens than the model has rows
            unreadable.append(word)
            continue
        resolved.append({'word': word, 'language': lang, 'token_ids': ids,
                         'tokens': [tok.token_str(i) for i in ids], 'split': len(ids) > 1})
        if len(ids) > 1:  # not a word of the vocabulary: say what stands for it
            shown = f"its first token {resolved[-1]['tokens'][0]!r}" if multi_token == 'first' else \
                f"the average of its tokens {' + '.join(map(repr, resolved[-1]['tokens']))}"
            print(f"  note: {word!r} is not one token of the vocabulary ({len(ids)} tokens): its "
                  f"senses are those of {shown} (--multi_token=average to change that)")
    if unreadable:
        print(f"  {len(unreadable)} word(s) skipped, their tokens have no row in the model: "
              f"{', '.join(unreadable[:10])}")
    if not resolved:
        raise Skipped("no words to show: give some with --words=a,b or --words_file=FILE")
    whole = {'applied': False, 'source': None, 'n_allowed_tokens': None, 'note': ''}
    allowed = None
    if whole_words:
        lines = {lang: [line for s in ('val', 'test')
                        if os.path.isfile(heldout_path(root, dataset, lang, s))
                        for line in read_heldout_lines(root, dataset, lang, s)]
                 for lang in ('en', 'fr')}
        known, source = known_words(lines)
        mask = whole_word_mask(tok, model.config.vocab_size, known) if known else None
        if mask is not None and int(mask.sum()) >= top_k:
            allowed = mask
            whole.update(applied=True, source=source, n_allowed_tokens=int(mask.sum()))
        elif not known:
            whole['note'] = ("All tokens are shown: no offline word list to keep whole words with "
                             "(no held-out text, and the optional wordfreq package is not installed).")
        else:
            whole['note'] = (f"All tokens are shown: only {int(mask.sum())} tokens are known whole "
                             f"words ({source}), fewer than top_k={top_k}.")
    senses = word_sense_vectors(model, [r['token_ids'] for r in resolved], multi_token)
    ids, logits = sense_projection(model, senses, top_k, allowed)
    csv_rows = []
    for r, word_ids, word_logits in zip(resolved, ids.tolist(), logits.tolist()):
        r['senses'] = [{'sense': k, 'tokens': [tok.token_str(i) for i in sense_ids],
                        'token_ids': sense_ids, 'logits': sense_logits}
                       for k, (sense_ids, sense_logits) in enumerate(zip(word_ids, word_logits))]
        for s in r['senses']:
            ranked = zip(s['token_ids'], s['tokens'], s['logits'])
            for rank, (token_id, token, logit) in enumerate(ranked, 1):
                csv_rows.append({'word': r['word'], 'language': r['language'],
                                 'word_tokens': ' + '.join(r['tokens']), 'sense': s['sense'],
                                 'rank': rank, 'token': token, 'token_id': token_id, 'logit': logit})
    result = {'top_k': ids.size(-1), 'multi_token': multi_token, 'whole_words': whole,
              'words': resolved,
              'files': {'csv': 'sense_projections.csv', 'figure': 'sense_projections.png',
                        'latex': 'senses.tex'}}
    write_csv(report_path('sense_projections.csv'), csv_rows,
              ['word', 'language', 'word_tokens', 'sense', 'rank', 'token', 'token_id', 'logit'])
    projection_figure(report_path('sense_projections.png'), result, figure_words)
    write_text(report_path('senses.tex'),
               latex_sense_tables(result, f"{out_dir} ({label})", report_words))
    return result


# --- 2. cross-lingual alignment ------------------------------------------------------------

def run_alignment():
    needs_senses()
    gold_pairs = read_bilingual_lexicon(gold_dir(root, dataset)) if lexicon is not None else []
    if translation_pairs:
        pairs, source = read_translation_pairs(translation_pairs), translation_pairs
    elif gold_pairs:
        pairs, source = gold_pairs, 'the gold bilingual lexicon'
    else:
        pairs, source = PARLIAMENTARY_WORD_PAIRS, 'built-in parliamentary word pairs'
    kept, seen, n_identical, n_split = [], set(), 0, 0
    for en, fr in pairs:
        en_ids, fr_ids = word_tokens(tok, en), word_tokens(tok, fr)
        if not en_ids or not fr_ids:
            continue
        # what represents each word: its first token, or all its tokens (averaged)
        key = (tuple(en_ids), tuple(fr_ids)) if multi_token == 'average' else (en_ids[0], fr_ids[0])
        if key[0] == key[1]:
            n_identical += 1  # the same token(s): trivially aligned
            continue
        if skip_split_words and (len(en_ids) > 1 or len(fr_ids) > 1):
            n_split += 1
            continue
        if key not in seen:
            seen.add(key)
            kept.append((en, fr, en_ids, fr_ids))
    kept = kept[:max_pairs]
    if len(kept) < 3:
        raise Skipped(f"only {len(kept)} usable translation pairs from {source} ({n_identical} are "
                      f"the same token in both languages, {n_split} have a word split into several "
                      f"tokens: --skip_split_words=False keeps those)")
    if model.config.n_sense_vector < 2:
        raise Skipped("the model has a single sense per token: nothing to align")
    en_senses = word_sense_vectors(model, [k[2] for k in kept], multi_token)
    fr_senses = word_sense_vectors(model, [k[3] for k in kept], multi_token)
    result = sense_alignment(en_senses, fr_senses, n_permutations, n_bootstrap, seed)
    K = result['n_senses']
    result.update(source=source, n_pairs_given=len(pairs), n_identical_token=n_identical,
                  n_split=n_split, skip_split_words=skip_split_words, multi_token=multi_token,
                  pairs=[(en, fr) for en, fr, _, _ in kept],
                  files={'figure': 'sense_alignment.png', 'csv': 'sense_alignment.csv'})
    matrix = np.array(result['matrix'])
    limit = float(np.abs(matrix).max()) or 1.0
    heatmap(report_path('sense_alignment.png'), matrix, [f"en {k}" for k in range(K)],
            [f"fr {k}" for k in range(K)], cmap='RdBu_r', vmin=-limit, vmax=limit,
            colorbar_label='mean cosine similarity', annotate=K <= 8,
            title=f"Sense k (English) vs sense k' (French translation), {len(kept)} pairs\n"
                  f"diagonal - off-diagonal = {result['statistic']:.3f}, permutation "
                  f"{p_text(result['p_value'])}")
    rows = [{'en_sense': k, **{f'fr_{j}': matrix[k, j] for j in range(K)},
             'diagonal_p_value': result['per_sense'][k]['p_value']} for k in range(K)]
    write_csv(report_path('sense_alignment.csv'), rows,
              ['en_sense'] + [f'fr_{j}' for j in range(K)] + ['diagonal_p_value'])
    return result


# --- 3. sense usage per language -----------------------------------------------------------

USAGE_STATISTICS = {'norm_share': 'jsd', 'logit_share': 'jsd', 'self_weight': 'mean_abs_difference',
                    'logit_contribution': 'mean_abs_difference'}
USAGE_AXES = {'norm_share': 'share of ||c_ik||', 'logit_share': "share of the next token's logit",
              'self_weight': 'mean alpha_kii (weight on the current token)'}


def run_usage():
    needs_senses()
    if not has_heldout_text(root, dataset, split):
        raise Skipped(f"needs held-out parallel text ({heldout_path(root, dataset, 'en', split)} and "
                      f"the fr one, written by the prepare script: python data/{dataset}/prepare.py)")
    en_lines = read_heldout_lines(root, dataset, 'en', split)
    fr_lines = read_heldout_lines(root, dataset, 'fr', split)
    if len(en_lines) != len(fr_lines):
        raise SystemExit(f"{heldout_path(root, dataset, 'en', split)} has {len(en_lines)} lines but the "
                         f"French one has {len(fr_lines)}: they must be translations line by line; "
                         f"prepare the dataset again (python data/{dataset}/prepare.py)")
    pairs = [(e, f) for e, f in zip(en_lines, fr_lines) if e.strip() and f.strip()]
    readable_en = set(readable_lines(tok, [e for e, _ in pairs], model.config.vocab_size)[0])
    readable_fr = set(readable_lines(tok, [f for _, f in pairs], model.config.vocab_size)[0])
    kept = [(e, f) for e, f in pairs if e in readable_en and f in readable_fr]
    if len(kept) < len(pairs):
        print(f"  {len(pairs) - len(kept)} sentence pairs skipped: they hold tokens the model has no row for")
    pairs = kept[:max_sentences]
    if len(pairs) < 2:
        raise Skipped(f"{len(pairs)} non-empty held-out sentence pairs in {dataset}/{split}: "
                      f"too few to compare the languages")
    usage = {lang: sentence_sense_usage(model, tok.encode_batch([p[i] for p in pairs]),
                                        tok.eot_token, batch_size, ctx)
             for i, lang in enumerate(('en', 'fr'))}
    metrics = {metric: compare_language_usage(usage['en'], usage['fr'], metric, USAGE_STATISTICS[metric],
                                              n_permutations, n_bootstrap, seed)
               for metric in USAGE_METRICS}
    K = model.config.n_sense_vector
    figures, rows = {}, []
    for metric, axis in USAGE_AXES.items():
        m = metrics[metric]
        path = f'sense_usage_{metric}.png'
        difference = (f"JSD {m['value']:.4f} bits" if m['statistic'] == 'jsd'
                      else f"mean |en - fr| {m['value']:.4f}")
        grouped_bar_chart(report_path(path), [str(k) for k in range(K)],
                          {'English': m['en']['values'], 'French': m['fr']['values']},
                          errors={'English': m['en']['ci95'], 'French': m['fr']['ci95']},
                          ylabel=axis, title=f"{axis} per sense; {difference}, permutation "
                                             f"{p_text(m['p_value'])}")
        figures[metric] = path
    for metric, m in metrics.items():
        for k in range(K):
            rows.append({'metric': metric, 'sense': k,
                         **{f'{lang}{suffix}': value for lang in ('en', 'fr')
                            for suffix, value in (('', m[lang]['values'][k]), ('_low', m[lang]['ci95'][k][0]),
                                                  ('_high', m[lang]['ci95'][k][1]))}})
    write_csv(report_path('sense_usage.csv'), rows,
              ['metric', 'sense', 'en', 'en_low', 'en_high', 'fr', 'fr_low', 'fr_high'])
    return {'dataset': dataset, 'split': split, 'n_sentence_pairs': len(pairs),
            'positions': {lang: int(u['positions'].sum()) for lang, u in usage.items()},
            'metrics': metrics, 'files': {'csv': 'sense_usage.csv', 'figures': figures}}


# --- 4. polysemy probe ---------------------------------------------------------------------

def run_probe():
    needs_gold()
    occurrences = gold_occurrences(split, max_sentences)
    if occurrences is None:
        raise Skipped(f"the gold annotation has no {split}.jsonl: prepare the demo corpus again")
    result = {'split': split, 'max_sentences': max_sentences, 'n_occurrences': len(occurrences),
              'vocab_size': model.config.vocab_size, 'probes': {}, 'targets': PROBE_TARGETS,
              'static': [], 'in_context': [], 'overall': [], 'notes': [], 'scored': {}}
    for model_label, m, t in models_for_baselines():
        probes = ['word_senses', 'output'] if is_backpack(m) else ['token_embedding', 'output']
        result['probes'].update({p: PROBES[p] for p in probes})
        r = polysemy_probe(m, t, lexicon, occurrences, probes, model_label,
                           multi_token=multi_token, batch_size=batch_size, autocast=ctx)
        for key in ('static', 'in_context', 'overall'):
            result[key].extend(r[key])
        result['notes'].extend(f"{model_label}: {note}" for note in r['notes'])
        result['scored'][model_label] = {'n_scored': r['n_scored'], 'n_not_located': r['n_not_located']}
    if not result['overall']:
        raise Skipped(f"no annotated occurrence of a polysemous word could be scored in "
                      f"{dataset}/{split} ({len(occurrences)} occurrences read)")
    # all words together, one group per target and decision (per word: the tables and CSV)
    groups = list(dict.fromkeys((r['target'], r['decision']) for r in result['overall']))
    by_probe = {}
    for r in result['overall']:
        by_probe.setdefault(f"{r['model']}: {r['probe']}", {})[(r['target'], r['decision'])] = r
    grouped_bar_chart(report_path('polysemy_probe.png'),
                      [f"{target.replace('_', ' ')},\n{decision}" for target, decision in groups],
                      {name: [rs[g]['accuracy'] if g in rs else None for g in groups]
                       for name, rs in by_probe.items()},
                      errors={name: [tuple(rs[g]['ci95']) if g in rs else (None, None) for g in groups]
                              for name, rs in by_probe.items()},
                      ylabel='accuracy (correct sense scored highest)',
                      title=f"Polysemy probe, all words; chance {result['overall'][0]['chance']:.2f}")
    rows = result['in_context'] + [{**r, 'word': 'all', 'language': ''} for r in result['overall']]
    write_csv(report_path('polysemy_probe.csv'),
              [{**r, 'ci_low': r['ci95'][0], 'ci_high': r['ci95'][1]} for r in rows],
              ['model', 'probe', 'decision', 'target', 'word', 'language', 'n', 'correct',
               'accuracy', 'ci_low', 'ci_high', 'chance', 'majority', 'p_value'])
    write_csv(report_path('polysemy_probe_static.csv'), result['static'],
              ['model', 'representation', 'target', 'word', 'language', 'sense_id', 'word_tokens',
               'best_rank', 'best_sense', 'best_token', 'chance_rank'])
    result['files'] = {'figure': 'polysemy_probe.png', 'csv': 'polysemy_probe.csv',
                       'static_csv': 'polysemy_probe_static.csv'}
    return result


# --- 5. lexical similarity -----------------------------------------------------------------

def run_similarity():
    if simlex:
        pairs, source = read_multisimlex(simlex), f"Multi-SimLex, {simlex}"
    elif similarity_csv:
        pairs, source = read_similarity_csv(similarity_csv), similarity_csv
    else:
        raise Skipped("needs word pairs with human similarity scores: --simlex=DIR (Multi-SimLex's "
                      "translation.csv and scores.csv) or --similarity_csv=FILE (word1,word2,score)")
    result = {'source': source, 'multi_token': multi_token, 'skip_split_words': skip_split_words,
              'rows': [], 'summaries': {}}
    for model_label, m, t in models_for_baselines():
        rows, summary = similarity_study(pairs, m, t, model_label, multi_token, skip_split_words)
        result['rows'].extend(rows)
        result['summaries'][model_label] = summary
    write_csv(report_path('lexical_similarity.csv'), result['rows'],
              ['model', 'pair_type', 'representation', 'n_pairs', 'n_oov', 'n_missing', 'n_scored',
               'spearman', 'p_value'])
    shown = [r for r in result['rows'] if r['representation'] in
             ('token embedding', 'mean over senses', 'max over senses')]
    groups = list(dict.fromkeys(r['pair_type'] for r in shown))
    series = {}
    for r in shown:
        series.setdefault(f"{r['model']}: {r['representation']}", {})[r['pair_type']] = r['spearman']
    if shown:
        grouped_bar_chart(report_path('lexical_similarity.png'), groups,
                          {name: [v.get(g) for g in groups] for name, v in series.items()},
                          ylabel="Spearman's rho with human scores", title='Lexical similarity')
    result['files'] = {'csv': 'lexical_similarity.csv',
                       'figure': 'lexical_similarity.png' if shown else None}
    return result


# --- 6. interventions ----------------------------------------------------------------------

def run_intervention():
    needs_senses()
    needs_gold()
    chosen_words = [w.strip().lower() for w in intervention_words.split(',') if w.strip()] or None
    # the senses to zero are chosen on the other held-out split, the effect measured on this one
    selection_split = 'val' if split == 'test' else 'test'
    if gold_occurrences(split) is None:
        raise Skipped(f"the gold annotation has no {split}.jsonl: prepare the demo corpus again")
    result = intervention_study(model, tok, lexicon, gold_occurrences(split),
                                gold_occurrences(selection_split), chosen_words,
                                intervention_senses, intervention_prompts,
                                max_new_tokens=max_new_tokens, batch_size=batch_size,
                                n_bootstrap=n_bootstrap, seed=seed, autocast=ctx)
    result.update(split=split, selection_split=selection_split)
    measured = [r for r in result['rows'] if r['n_prompts']]
    if not measured:
        raise Skipped(f"no held-out line of {dataset}/{split} uses "
                      f"{'these words' if chosen_words else 'a polysemous word of the lexicon'}")
    rows = []
    for r in result['rows']:
        row = {'word': r['word'], 'language': r['language'], 'sense_id': r['sense_id'],
               'suppressed_senses': ' '.join(map(str, r['suppressed_senses'])),
               'selection': r['selection'], 'n_prompts': r['n_prompts']}
        for name in WORD_SETS + tuple(SPECIFICITY):
            if isinstance(r.get(name), dict):
                row.update({name: r[name]['mean'], f'{name}_low': r[name]['ci95'][0],
                            f'{name}_high': r[name]['ci95'][1]})
        rows.append(row)
    write_csv(report_path('sense_intervention.csv'), rows,
              ['word', 'language', 'sense_id', 'suppressed_senses', 'selection', 'n_prompts']
              + [f'{n}{s}' for n in WORD_SETS + tuple(SPECIFICITY) for s in ('', '_low', '_high')])
    measures = {'translation': "its translations", 'context': "its context words",
                'other_translation': "other's translations", 'other_context': "other's context words",
                'translation_vs_other': "translations:\nown - other's",
                'context_vs_other': "context words:\nown - other's"}
    pools = {'all words': result['overall'],
             **{f"{LANGUAGE_NAMES[lang]} words": v for lang, v in result['by_language'].items()}}
    grouped_bar_chart(report_path('sense_intervention.png'), list(measures.values()),
                      {name: [pool[m]['mean'] for m in measures] for name, pool in pools.items()},
                      errors={name: [tuple(pool[m]['ci95']) for m in measures]
                              for name, pool in pools.items()},
                      ylabel='mean change in log p (nats)',
                      title=f"Zeroing the sense that carries a meaning "
                            f"({sum(r['n_prompts'] for r in measured)} held-out prompts)")
    result['files'] = {'csv': 'sense_intervention.csv', 'figure': 'sense_intervention.png'}
    return result


RUNS = {'projection': run_projection, 'alignment': run_alignment, 'usage': run_usage,
        'probe': run_probe, 'similarity': run_similarity, 'intervention': run_intervention}

# -----------------------------------------------------------------------------
os.makedirs(report_dir, exist_ok=True)
identity = {'out_dir': os.path.abspath(out_dir), 'model_name': label,
            'iter_num': checkpoint.get('iter_num'),
            'baseline_out_dir': os.path.abspath(baseline_out_dir) if baseline_out_dir else None}
previous = read_json(report_path('senses.json'), {}) or {}
same = previous.get('checkpoint') == identity
results = dict(previous.get('analyses', {})) if same else {}
skipped = dict(previous.get('skipped', {})) if same else {}
timings = dict(previous.get('seconds', {})) if same else {}
for name in selected:
    t0 = time.time()
    print(f"{name}...", flush=True)
    try:
        results[name] = RUNS[name]()
        skipped.pop(name, None)
    except Skipped as reason:
        results.pop(name, None)
        skipped[name] = str(reason)
        print(f"  skipped: {reason}")
    timings[name] = round(time.time() - t0, 2)
    print(f"  {timings[name]:.1f}s")

write_json(report_path('senses.json'), {'checkpoint': identity, 'config': config,
                                        'analyses': results, 'skipped': skipped, 'seconds': timings})
header = {'title': f"Sense analysis of {out_dir}",
          'lines': [f"- checkpoint: {os.path.join(out_dir, 'ckpt.pt')} ({label}, iteration "
                    f"{checkpoint.get('iter_num')}, {model.get_num_params() / 1e6:.2f}M parameters"
                    + (f", {model.config.n_sense_vector} senses per token" if is_backpack(model) else '') + ")",
                    f"- data: {dataset} ({split} split) under {root}",
                    *([f"- baseline: {baseline_out_dir} ({baseline_checkpoint['model_name']}, "
                       f"iteration {baseline_checkpoint.get('iter_num')})"] if baseline else [])]}
write_text(report_path('senses.md'), markdown_report(header, results, skipped, report_words))
if 'projection' not in results and os.path.exists(report_path('senses.tex')) and not same:
    os.remove(report_path('senses.tex'))  # it described another checkpoint
print(f"wrote {report_path('senses.md')} and senses.json" + (", senses.tex" if 'projection' in results else '')
      + f", CSV and PNG files in {report_dir}")
