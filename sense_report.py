"""
The sense analyses as people read them: senses.md (Markdown tables with links to the PNG
figures beside it), senses.tex (the sense tables as LaTeX, as the original project produced) and
the grid figure of sense tables. Everything here renders the result dicts of senses.json, so the
report can be rebuilt from the JSON alone.
"""

import math
import re

from common.reporting import markdown_table, save_figure

ANALYSES = ('projection', 'alignment', 'usage', 'probe', 'similarity', 'intervention')

TITLES = {
    'projection': 'Sense projections',
    'alignment': 'Cross-lingual sense alignment',
    'usage': 'Sense usage per language',
    'probe': 'Polysemy probe',
    'similarity': 'Lexical similarity',
    'intervention': 'Interventions',
}


def token_label(text):
    """A token for a table: without its leading space; a piece inside a word (no leading space)
    is shown as '-piece'."""
    if text.startswith(' '):
        return text[1:] or '␣'
    return '-' + text if text else text


def format_p(value, n_permutations=None):
    """A p-value for a table; at the floor of a permutation test (1 / (n + 1)), '<= floor'."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return '-'
    if n_permutations and value <= 1 / (n_permutations + 1) + 1e-12:
        return f"<= {1 / (n_permutations + 1):.2g}"
    return f"{value:.3g}" if value >= 0.001 else f"{value:.1e}"


def _ci(ci, fmt='.3f'):
    if not ci or ci[0] is None or (isinstance(ci[0], float) and math.isnan(ci[0])):
        return '-'
    return f"[{format(ci[0], fmt)}, {format(ci[1], fmt)}]"


def report_words(projection, n_words):
    return projection['words'][:n_words]


# --- senses.md -----------------------------------------------------------------------------

def markdown_report(header, results, skipped, n_table_words=8, heading_level=1, link_prefix=''):
    """The whole of senses.md: header (dict with 'title' and 'lines'), the result of each
    analysis run (senses.json's 'analyses'), and {analysis: reason} for those skipped.
    To embed it in another report: heading_level=2 makes the title a '##' heading (and every
    heading below one level deeper); link_prefix is put before each figure's file name (e.g.
    'senses/' when the other report sits one folder up)."""
    parts = [f"# {header['title']}\n", *(line + '\n' for line in header.get('lines', [])), '\n']
    for name in ANALYSES:
        if name in results:
            render = SECTIONS[name]
            parts.append(f"## {TITLES[name]}\n\n")
            parts.append(render(results[name], n_table_words) if name == 'projection'
                         else render(results[name]))
            parts.append('\n')
    if skipped:
        parts.append("## Skipped\n\n")
        parts.extend(f"- {TITLES.get(name, name)}: {reason}\n" for name, reason in skipped.items())
    text = ''.join(parts)
    if heading_level > 1:
        text = re.sub(r'^(#+) ', lambda m: '#' * (len(m.group(1)) + heading_level - 1) + ' ', text,
                      flags=re.MULTILINE)
    if link_prefix:
        text = re.sub(r'(!\[[^\]]*\]\()', lambda m: m.group(1) + link_prefix, text)
    return text


def projection_markdown(result, n_words=8):
    lines = [f"The {result['top_k']} tokens each sense vector C(w)_k ranks highest through the "
             f"output embedding (what the sense votes for). "]
    whole = result['whole_words']
    if whole['applied']:
        lines.append(f"Only whole words are shown ({whole['source']}; "
                     f"{whole['n_allowed_tokens']} tokens kept). ")
    elif whole.get('note'):
        lines.append(whole['note'] + ' ')
    lines.append("A token inside a word is shown as -piece. ")
    split = [w for w in result['words'] if w['split']]
    if split:
        how = 'the first token' if result['multi_token'] == 'first' else 'the mean over its tokens'
        lines.append(f"{len(split)} word(s) are split into several tokens and represented by "
                     f"{how}: " + ', '.join(f"{w['word']} ({' + '.join(map(repr, w['tokens']))})"
                                            for w in split[:12]) + ('...' if len(split) > 12 else '') + '. ')
    shown = report_words(result, n_words)
    lines.append(f"Tables for {len(shown)} of {len(result['words'])} words; all of them are in "
                 f"{result['files']['csv']} and senses.json.\n\n")
    if result['files'].get('figure'):
        lines.append(f"![sense tables]({result['files']['figure']})\n\n")
    for word in shown:
        lines.append(f"### {word['word']} ({word['language'] or '?'})"
                     + (f", token {word['tokens'][0]!r}" if word['split'] else '') + "\n\n")
        rows = [{'sense': s['sense'], 'tokens': ', '.join(token_label(t) for t in s['tokens'])}
                for s in word['senses']]
        lines.append(markdown_table(rows, ['sense', 'tokens'],
                                    headers={'tokens': f"top {result['top_k']} tokens"}) + '\n')
    return ''.join(lines)


def alignment_markdown(result):
    text = [f"Mean cosine similarity between sense k of an English word and sense k' of its French "
            f"translation, over {result['n_pairs']} translation pairs ({result['source']}; "
            f"{result['n_identical_token']} pairs left out because both words are the same token, "
            f"{result['n_split']} because a word is split into several tokens"
            + ('' if result['skip_split_words'] else
               ", split words represented by their first token" if result['multi_token'] == 'first'
               else ", split words represented by the mean over their tokens")
            + "). If sense k means the same thing in both languages, the diagonal stands out. "
            f"The statistic is the mean diagonal minus the mean off-diagonal; its p-value comes "
            f"from {result['n_permutations']} shuffles of which French word goes with which "
            f"English word (a sense that is alike in every word does not count).\n\n"]
    rows = [{'quantity': 'mean diagonal', 'value': result['diagonal_mean']},
            {'quantity': 'mean off-diagonal', 'value': result['off_diagonal_mean']},
            {'quantity': 'diagonal - off-diagonal', 'value': result['statistic'],
             'ci95': _ci(result['ci95']), 'p': format_p(result['p_value'], result['n_permutations'])},
            {'quantity': 'same, pairs shuffled (null mean)', 'value': result['null_mean']},
            {'quantity': 'excess over shuffled pairs', 'value': result['statistic'] - result['null_mean']}]
    text.append(markdown_table(rows, ['quantity', 'value', 'ci95', 'p'],
                               formats={'value': '.4f'},
                               headers={'ci95': '95% CI (pairs)', 'p': 'permutation p'}))
    significant = [s['sense'] for s in result['per_sense'] if s['p_value'] < 0.05]
    text.append(f"\nSenses whose diagonal entry beats shuffled pairs (p < 0.05, uncorrected): "
                f"{', '.join(map(str, significant)) or 'none'} of {result['n_senses']}.\n\n")
    text.append(f"![alignment]({result['files']['figure']})\n")
    return ''.join(text)


def usage_markdown(result):
    text = [f"On {result['n_sentence_pairs']} held-out sentence pairs of {result['dataset']} "
            f"({result['split']}; {result['positions']['en']} English and "
            f"{result['positions']['fr']} French token positions). At each position i, sense k "
            f"contributes c_ik = sum_j alpha_kij C(x_j)_k to the prediction. Norm share: "
            f"||c_ik|| / sum_k' ||c_ik'||; logit share: the sense's share of the absolute "
            f"contributions to the logit of the token that comes next; self weight: alpha_kii, "
            f"the weight the sense keeps on the current token. Intervals: bootstrap over "
            f"sentences. Differences between the languages: Jensen-Shannon divergence (bits) of the "
            f"share distributions, mean absolute difference of the self weights, each with the "
            f"p-value of {result['metrics']['norm_share']['n_permutations']} permutations of which "
            f"side of each pair is called English. The divergence is the size of the "
            f"difference: over hundreds of sentences, a tiny one can have a small p.\n\n"]
    rows = []
    for metric, m in result['metrics'].items():
        if metric not in USAGE_LABELS:
            continue
        rows.append({'measure': USAGE_LABELS[metric],
                     'difference': f"{'JSD' if m['statistic'] == 'jsd' else 'mean |en - fr|'} = {m['value']:.4g}",
                     'p': format_p(m['p_value'], m['n_permutations'])})
    text.append(markdown_table(rows, ['measure', 'difference', 'p'],
                               headers={'p': 'permutation p'}) + '\n')
    K = len(result['metrics']['norm_share']['en']['values'])
    per_sense = []
    for k in range(K):
        row = {'sense': k}
        for metric in ('norm_share', 'logit_share', 'self_weight'):
            for lang in ('en', 'fr'):
                row[f'{metric}_{lang}'] = result['metrics'][metric][lang]['values'][k]
        per_sense.append(row)
    columns = ['sense'] + [f'{m}_{l}' for m in ('norm_share', 'logit_share', 'self_weight') for l in ('en', 'fr')]
    text.append(markdown_table(per_sense, columns, formats={c: '.3f' for c in columns[1:]},
                               headers={f'{m}_{l}': f"{USAGE_LABELS[m]} {l}" for m in USAGE_LABELS
                                        for l in ('en', 'fr')}) + '\n')
    for metric, path in result['files']['figures'].items():
        text.append(f"![{USAGE_LABELS.get(metric, metric)}]({path})\n")
    return ''.join(text)


USAGE_LABELS = {'norm_share': 'norm share', 'logit_share': 'logit share', 'self_weight': 'self weight'}


def probe_markdown(result):
    text = [f"Gold senses of the demo corpus ({result['split']} split, {result['n_occurrences']} "
            f"annotated occurrences in the first {result['max_sentences']} annotated lines). "
            f"For each occurrence of a polysemous word, does a probe vector, read through the "
            f"output embedding, score the correct sense's target words (their mean logit) above "
            f"the other sense's? Targets: "
            + '; '.join(f"*{name}*: {desc}" for name, desc in result['targets'].items())
            + ". Probes: " + '; '.join(f"*{name}*: {desc}" for name, desc in result['probes'].items())
            + ". Decided on the *raw* logits, or *centred*: the probe vectors minus their mean over "
              "the occurrences of the word (no labels used), so that a target wins where the "
              "context raises it more than usual rather than because it is favoured everywhere. "
              "Chance is 1 / number of senses; majority is always answering the word's most "
              "frequent sense; intervals are Wilson 95%; p is the one-sided binomial test against "
              "chance.\n\n"]
    overall = result['overall']
    if overall:
        columns = list(dict.fromkeys(f"{r['target']}, {r['decision']}" for r in overall))
        rows = {}
        for r in overall:
            row = rows.setdefault((r['model'], r['probe']), {
                'model': r['model'], 'probe': r['probe'], 'n': r['n'], 'chance': r['chance'],
                'majority': r['majority']})
            row[f"{r['target']}, {r['decision']}"] = (
                f"{r['accuracy']:.3f} {_ci(r['ci95'])} p={format_p(r['p_value'])}"
                + (f" (n={r['n']})" if r['n'] != row['n'] else ''))
        text.append(markdown_table(list(rows.values()), ['model', 'probe', 'n', 'chance', 'majority',
                                                         *columns],
                                   formats={'chance': '.2f', 'majority': '.2f'}) + '\n')
    if result['files'].get('figure'):
        text.append(f"![probe accuracy]({result['files']['figure']})\n\n")
    main = [r for r in result['in_context'] if r['target'] == 'translations']
    if main:
        text.append("Accuracy per word, translations as targets (every target and interval in "
                    f"{result['files']['csv']}):\n\n")
        by_word, columns = {}, []
        for r in main:
            column = f"{r['model']}: {r['probe']}, {r['decision']}"
            columns.append(column)
            row = by_word.setdefault((r['word'], r['language']), {
                'word': r['word'], 'language': r['language'], 'n': r['n'], 'majority': r['majority']})
            row[column] = r['accuracy']
        columns = list(dict.fromkeys(columns))
        text.append(markdown_table(list(by_word.values()), ['word', 'language', 'n', 'majority', *columns],
                                   formats={c: '.2f' for c in ['majority', *columns]}) + '\n')
    if result['static']:
        text.append("Static: the best rank (1 = top of "
                    f"{result['vocab_size']} tokens) that any sense vector of the word (GPT-2: its "
                    "token embedding) gives any target word of each gold sense, and the best rank "
                    "expected by chance for that many draws if ranks were uniform (frequent target "
                    "words rank high in most vectors, so compare the senses of a word with each "
                    f"other too; all rows in {result['files']['static_csv']}):\n\n")
        by_sense, columns = {}, []
        for r in result['static']:
            column = f"{r['model']}: {r['target']}"
            columns.append(column)
            row = by_sense.setdefault(r['sense_id'], {'sense_id': r['sense_id']})
            row[column] = f"{r['best_rank']} / {r['chance_rank']:.0f}"
        columns = list(dict.fromkeys(columns))
        text.append(markdown_table(list(by_sense.values()), ['sense_id', *columns],
                                   headers={c: f"{c} (best rank / chance)" for c in columns}) + '\n')
    for note in result.get('notes', []):
        text.append(f"- {note}\n")
    return ''.join(text)


def similarity_markdown(result):
    text = [f"Spearman correlation between human similarity scores ({result['source']}) and "
            f"cosine similarities. A pair whose word is no single token of the model's vocabulary "
            f"is out of vocabulary: "
            + ("counted and left out" if result['skip_split_words'] else
               "counted, and represented by its first token" if result['multi_token'] == 'first'
               else "counted, and represented by the mean over its tokens")
            + ". 'best sense' is chosen on the same pairs, so it is optimistic. Per-sense "
              "correlations are in lexical_similarity.csv.\n\n"]
    rows = [r for r in result['rows'] if not r['representation'].startswith('sense ')]
    text.append(markdown_table(rows, ['model', 'pair_type', 'representation', 'n_pairs', 'n_oov',
                                      'n_missing', 'n_scored', 'spearman', 'p_value'],
                               formats={'spearman': '.3f', 'p_value': '.2g'},
                               headers={'pair_type': 'pairs', 'n_oov': 'OOV', 'n_missing': 'missing',
                                        'n_scored': 'scored', 'p_value': 'p'}) + '\n')
    for label, summary in result['summaries'].items():
        if summary['oov_words']:
            text.append(f"- {label}: out-of-vocabulary words (most frequent first): "
                        f"{', '.join(summary['oov_words'][:20])}\n")
    if result['files'].get('figure'):
        text.append(f"\n![similarity]({result['files']['figure']})\n")
    return ''.join(text)


def intervention_markdown(result):
    selection = result.get('selection', [])
    how = (f"the {result['n_senses_suppressed']} sense(s) of the word whose weight in the "
           f"predictions after it rises most from the other meaning's lines to this meaning's "
           f"lines, on the {result.get('selection_split', 'other')} split (chosen without looking "
           f"at the words measured)")
    if 'projection' in selection:
        how += (" -- or, where marked 'projection', the sense(s) that vote most for the meaning's "
                "words through the output embedding (circular: the measured words choose them)")
    text = [f"For each polysemous word and each of its gold meanings, {how}, are set to 0 on "
            f"every surface form of the word. On {result.get('split', 'held-out')} lines that use "
            f"the word in that meaning (at most {result['max_prompts']} each), the mean "
            f"log-probability, over the predictions from the word to the end of the line, that "
            f"the next word is one of the meaning's translations or context words, or one of the "
            f"other meaning's: the change is intervened - baseline (nats; negative = lowered), "
            f"with bootstrap 95% intervals over prompts. Zeroing any sense shifts probability "
            f"between all words, so the specific effect is the difference 'own - other's' "
            f"(negative: the meaning's words lost more than the other meaning's). The same switch "
            f"is available to generation: `generate_with_suppressed_senses` in "
            f"sense_intervention.py.\n\n"]
    rows = []
    for name, label in INTERVENTION_SETS.items():
        o = result['overall'].get(name)
        if o and o['n']:
            rows.append({'words': label, 'n': o['n'], 'change': o['mean'], 'ci95': _ci(o['ci95'], '.3g'),
                         'lowered': o['fraction_lowered']})
    pooled = result.get('pooled_selection', 'context')
    text.append(f"All words and senses pooled"
                + (" (the meanings whose senses were chosen on the other split; the 'projection' "
                   "ones are left out)" if pooled == 'context' and 'projection' in result['selection']
                   else '') + ":\n\n")
    text.append(markdown_table(rows, ['words', 'n', 'change', 'ci95', 'lowered'],
                               formats={'change': '.3g', 'lowered': '.2f'},
                               headers={'change': 'mean change in log p', 'ci95': '95% CI',
                                        'lowered': 'fraction of prompts lowered'}) + '\n')
    rows = []
    for r in result['rows']:
        row = {'sense_id': r['sense_id'], 'n': r['n_prompts'],
               'suppressed': ', '.join(map(str, r['suppressed_senses']))
               + (' (projection)' if r.get('selection') == 'projection' else '')}
        for name in INTERVENTION_SETS:
            if isinstance(r.get(name), dict) and r[name]['mean'] is not None:
                row[name] = f"{r[name]['mean']:+.3g} {_ci(r[name]['ci95'], '.2g')}"
        rows.append(row)
    shown = ['translation', 'context', 'translation_vs_other', 'context_vs_other']
    text.append("Per word and meaning (all columns in sense_intervention.csv):\n\n")
    text.append(markdown_table(rows, ['sense_id', 'suppressed', 'n', *shown],
                               headers={'suppressed': 'senses zeroed', 'n': 'prompts',
                                        **{n: INTERVENTION_SETS[n] for n in shown}}) + '\n')
    if result['files'].get('figure'):
        text.append(f"![interventions]({result['files']['figure']})\n\n")
    for example in result['examples']:
        text.append(f"- {example['sense_id']}, senses {example['suppressed_senses']} zeroed. "
                    f"Prompt: \"{example['prompt']}\"; continuation: \"{example['baseline']}\"; "
                    f"with the senses zeroed: \"{example['suppressed']}\"\n")
    for note in result.get('notes', []):
        text.append(f"- {note}\n")
    return ''.join(text)


INTERVENTION_SETS = {'translation': 'its translations', 'context': 'its context words',
                     'other_translation': "other meaning's translations",
                     'other_context': "other meaning's context words",
                     'translation_vs_other': "translations: own - other's",
                     'context_vs_other': "context words: own - other's"}

SECTIONS = {'projection': projection_markdown, 'alignment': alignment_markdown,
            'usage': usage_markdown, 'probe': probe_markdown,
            'similarity': similarity_markdown, 'intervention': intervention_markdown}


# --- senses.tex ----------------------------------------------------------------------------

LATEX_SPECIAL = {'\\': r'\textbackslash{}', '&': r'\&', '%': r'\%', '$': r'\$', '#': r'\#',
                 '_': r'\_', '{': r'\{', '}': r'\}', '~': r'\textasciitilde{}',
                 '^': r'\textasciicircum{}'}


def latex_escape(text):
    return ''.join(LATEX_SPECIAL.get(c, c) for c in text)


def latex_sense_tables(projection, source, n_words=8, n_tokens=None):
    """One table per word: a row per sense with its top tokens (needs \\usepackage{booktabs})."""
    n_tokens = n_tokens or projection['top_k']
    out = [f"% Sense projection tables written by sense_visualisation.py for {latex_escape(source)}\n"
           f"% (the top {n_tokens} tokens of each sense vector through the output embedding).\n"
           f"% Needs \\usepackage{{booktabs}}.\n"]
    for word in report_words(projection, n_words):
        out.append("\\begin{table}[ht]\n\\centering\n\\small\n\\begin{tabular}{rl}\n\\toprule\n")
        out.append(f"Sense & Top tokens of \\textbf{{{latex_escape(word['word'])}}} "
                   f"({latex_escape(word['language'] or '?')}) \\\\\n\\midrule\n")
        for s in word['senses']:
            tokens = ', '.join(latex_escape(token_label(t)) for t in s['tokens'][:n_tokens])
            out.append(f"{s['sense']} & {tokens} \\\\\n")
        out.append("\\bottomrule\n\\end{tabular}\n")
        out.append(f"\\caption{{Sense vectors of ``{latex_escape(word['word'])}'': the tokens each "
                   f"sense ranks highest.}}\n\\end{{table}}\n\n")
    return ''.join(out)


# --- the grid figure of sense tables -------------------------------------------------------

def projection_figure(path, projection, n_words=6, n_tokens=5):
    """A grid of small tables: one per word, a row per sense with its top n_tokens tokens."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    words = report_words(projection, n_words)
    if not words:
        return None
    n_cols = min(3, len(words))
    n_rows = math.ceil(len(words) / n_cols)
    K = len(words[0]['senses'])
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(4.6 * n_cols, (0.24 * K + 0.6) * n_rows),
                             dpi=120, squeeze=False)
    for ax in axes.flat:
        ax.axis('off')
    for ax, word in zip(axes.flat, words):
        cells = [[str(s['sense']), ' '.join(token_label(t) for t in s['tokens'][:n_tokens])]
                 for s in word['senses']]
        table = ax.table(cellText=cells, colLabels=['k', f"top {n_tokens} tokens"],
                         colWidths=[0.08, 0.92], loc='upper center', cellLoc='left')
        table.auto_set_font_size(False)
        table.set_fontsize(7)
        ax.set_title(f"{word['word']} ({word['language'] or '?'})", fontsize=9)
    save_figure(fig, path)
    return path
