"""
Sense projections: the tokens each sense vector C(w)_k of a word ranks highest through the output
embedding E, i.e. what the sense "votes for" when a prediction reads it (logits = E o_i, and o_i
is a weighted sum of senses). This is the Backpack paper's first look inside a model: a sense
that ranks ' river', ' shore' and ' water' highest is readable without any probe, and the same
table for a word and its translation shows whether the senses mean alike across languages.
Written as senses.md's tables, senses.tex (LaTeX, as the original project produced), a grid
figure and a CSV of every rank.
"""

from __future__ import annotations

import itertools
import math
import os
from collections import Counter
from collections.abc import Collection, Sequence
from typing import NotRequired, TypedDict

import numpy as np
import torch

from common.languages import language_name
from common.reporting import markdown_table, save_figure, write_csv, write_text
from common.tokenizer import Tokenizer, ids_without_rows, missing_rows_message, token_rows
from data.prepared import HELD_OUT_SPLITS, heldout_path, read_heldout_lines
from senses import Skipped
from senses.analysis_inputs import AnalysisInputs
from senses.report import token_label
from senses.vectors import output_embedding, word_sense_vectors
from senses.word_lists import WORD_PATTERN, default_words, known_words
from senses.word_tokens import word_tokens

TITLE = 'Sense projections'
NEEDS = ('senses',)


@torch.no_grad()
def sense_projection(
    model: torch.nn.Module,
    senses: torch.Tensor,
    top_k: int = 10,
    allowed: torch.Tensor | None = None,
    chunk: int = 16,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The top_k tokens of each sense through the output embedding: senses (n, K, d) ->
    (token ids (n, K, top_k), logits (n, K, top_k)). allowed: optional bool (V,) mask of the
    tokens that may appear: the rows that are tokens (token_rows), or whole words."""
    E = output_embedding(model)
    top_k = min(top_k, E.size(0) if allowed is None else int(allowed.sum()))
    ids, values = [], []
    for start in range(0, senses.size(0), chunk):  # bounded memory for long word lists
        logits = senses[start : start + chunk].to(E.device).float() @ E.T
        if allowed is not None:
            logits = logits.masked_fill(~allowed.to(E.device), float('-inf'))
        v, i = logits.topk(top_k, dim=-1)
        ids.append(i.cpu())
        values.append(v.cpu())
    return torch.cat(ids), torch.cat(values)


def whole_word_mask(tokenizer: Tokenizer, vocab_size: int, words: Collection[str]) -> torch.Tensor:
    """bool (V,): tokens whose text, without its leading space, is a known whole word."""
    mask = torch.zeros(vocab_size, dtype=torch.bool)
    for token_id in np.flatnonzero(token_rows(tokenizer, vocab_size)).tolist():
        if token_id == tokenizer.eot_token:
            continue
        text = tokenizer.token_bytes(token_id).decode('utf-8', errors='replace').strip()
        mask[token_id] = bool(text) and text.isalpha() and text.lower() in words
    return mask


def heldout_text(data_root: str, dataset: str, languages: Sequence[str]) -> dict[str, list[str]]:
    """{language: the lines of its held-out files (val, then test) that exist}."""
    return {
        lang: [
            line
            for s in HELD_OUT_SPLITS
            if os.path.isfile(heldout_path(data_root, dataset, lang, s))
            for line in read_heldout_lines(data_root, dataset, lang, s)
        ]
        for lang in languages
    }


def frequent_words(
    tokenizer: Tokenizer,
    lines: list[str],
    n_words: int = 10,
    min_letters: int = 4,
    leave_out: Collection[str] = (),
) -> list[str]:
    """The n_words most frequent words of the lines (counted regardless of case, shown in their
    most frequent spelling; at least min_letters letters, which leaves most function words out)
    that are one token of the vocabulary and not in leave_out (lowercased words), most frequent
    first; ties in order of first appearance."""
    spellings = {}
    for line in lines:
        for word in WORD_PATTERN.findall(line):
            if len(word) >= min_letters and word.lower() not in leave_out:
                spellings.setdefault(word.lower(), Counter())[word] += 1
    ranked = sorted(
        spellings.values(), key=lambda counts: -sum(counts.values())
    )  # stable: ties keep their order
    chosen = []
    for counts in ranked:
        if len(chosen) == n_words:
            break
        word = counts.most_common(1)[0][0]
        if len(word_tokens(tokenizer, word)) == 1:
            chosen.append(word)
    return chosen


def words_of_each_language(
    word_list: list[tuple[str, str]],
    tokenizer: Tokenizer,
    data_root: str,
    dataset: str,
    languages: Sequence[str],
    n_per_language: int = 10,
) -> list[tuple[str, str]]:
    """The default word list for a model of these languages: the words of word_list [(word,
    language)] in one of them, and, for each language that has none, its n_per_language most
    frequent words in the held-out text (frequent_words). When words were added, the list is
    taken language by language in turn (the i-th word of each language, then the next), so
    that the first tables of the report show every language; otherwise it is word_list as it
    is (its words of other languages left out)."""
    kept = [(word, lang) for word, lang in word_list if lang in languages]
    covered = {lang for _, lang in kept}
    missing = [lang for lang in languages if lang not in covered]
    if not missing:
        return kept
    text = heldout_text(data_root, dataset, missing)
    by_language = {lang: [w for w in kept if w[1] == lang] for lang in languages}
    listed = {word.lower() for word, _ in word_list}
    for lang in missing:  # a word spelt alike in another language has its table already
        chosen = frequent_words(tokenizer, text[lang], n_per_language, leave_out=listed)
        by_language[lang] = [(word, lang) for word in chosen]
        listed.update(word.lower() for word in chosen)
    return [w for turn in itertools.zip_longest(*by_language.values()) for w in turn if w]


def guess_languages(
    word_list: list[tuple[str, str]], lines_by_language: dict[str, list[str]]
) -> list[tuple[str, str]]:
    """[(word, language or '')] with each '' replaced by the one language whose lines have the
    word (regardless of case); a word in the lines of several languages, or of none, keeps ''."""
    vocabulary = {
        lang: {w.lower() for line in lines for w in WORD_PATTERN.findall(line)}
        for lang, lines in lines_by_language.items()
    }
    guessed = []
    for word, lang in word_list:
        if not lang:
            having = [code for code, words in vocabulary.items() if word.lower() in words]
            lang = having[0] if len(having) == 1 else ''
        guessed.append((word, lang))
    return guessed


def run(inputs: AnalysisInputs) -> dict:
    """The sense tables of the words of --words/--words_file (inputs.options.words), or of the
    default list (words_of_each_language): each word's tokens (one that is no single token is
    represented by --multi_token), the top_k tokens of each of its senses (only whole words when
    --whole_words and a word list is at hand: wordfreq, else the held-out text of the data's
    languages), written to sense_projections.csv, sense_projections.png (the first figure_words
    words) and senses.tex (the first report_words, titled with the checkpoint's label) in
    report_dir. A word listed without its language gets the one language whose held-out text has
    it, if only one has. The result (senses.json's 'projection'): top_k, multi_token,
    whole_words, words (each a ProjectedWord), files."""
    model, tokenizer, options = inputs.model, inputs.tokenizer, inputs.options
    word_list = list(options.words) or words_of_each_language(
        default_words(inputs.lexicon, inputs.languages),
        tokenizer,
        inputs.data_root,
        inputs.dataset,
        inputs.languages,
    )
    text = heldout_text(inputs.data_root, inputs.dataset, inputs.languages)
    words = resolve_words(model, tokenizer, guess_languages(word_list, text), options.multi_token)
    whole, allowed = allowed_tokens(
        tokenizer, model.config.vocab_size, text, options.whole_words, options.top_k
    )
    senses = word_sense_vectors(model, [w['token_ids'] for w in words], options.multi_token)
    ids, logits = sense_projection(model, senses, options.top_k, allowed)
    for word, word_ids, word_logits in zip(words, ids.tolist(), logits.tolist()):
        word['senses'] = [
            {
                'sense': k,
                'tokens': [tokenizer.token_str(i) for i in sense_ids],
                'token_ids': sense_ids,
                'logits': sense_logits,
            }
            for k, (sense_ids, sense_logits) in enumerate(zip(word_ids, word_logits))
        ]
    result = {
        'top_k': ids.size(-1),
        'multi_token': options.multi_token,
        'whole_words': whole,
        'words': words,
        'files': {'csv': 'sense_projections.csv', 'figure': 'sense_projections.png', 'latex': 'senses.tex'},
    }
    report_dir = inputs.report_dir
    write_csv(os.path.join(report_dir, 'sense_projections.csv'), csv_rows(words), CSV_COLUMNS)
    projection_figure(os.path.join(report_dir, 'sense_projections.png'), result, options.figure_words)
    write_text(
        os.path.join(report_dir, 'senses.tex'),
        latex_sense_tables(result, inputs.checkpoint_label, options.report_words),
    )
    return result


class ProjectedWord(TypedDict):
    """A word of the sense tables, as senses.json holds it."""

    word: str
    language: str  # its code, or '' when the word list did not say and the text could not tell
    token_ids: list[int]
    tokens: list[str]
    split: bool  # several tokens: represented by the first, or by their average (multi_token)
    senses: NotRequired[list[dict]]  # per sense: sense, tokens, token_ids, logits (top_k each)


def resolve_words(
    model: torch.nn.Module, tokenizer: Tokenizer, word_list: list[tuple[str, str]], multi_token: str
) -> list[ProjectedWord]:
    """The words of word_list [(word, language)] that have tokens the model has rows for, each
    with its tokens; what stands for a word of several tokens, and the words left out, are said.
    Skipped when no word is left."""
    resolved, unreadable = [], []
    for word, lang in word_list:
        ids = word_tokens(tokenizer, word)
        if not ids:
            print(f"  note: {word!r} has no tokens: left out of the sense tables")
            continue
        if ids_without_rows(ids, model.config.vocab_size):  # more tokens than the model has rows
            unreadable.append((word, ids))
            continue
        tokens = [tokenizer.token_str(i) for i in ids]
        resolved.append(
            ProjectedWord(word=word, language=lang, token_ids=ids, tokens=tokens, split=len(ids) > 1)
        )
        if len(ids) > 1:  # not a word of the vocabulary: say what stands for it
            shown = (
                f"its first token {tokens[0]!r}"
                if multi_token == 'first'
                else f"the average of its tokens {' + '.join(map(repr, tokens))}"
            )
            print(
                f"  note: {word!r} is not one token of the vocabulary ({len(ids)} tokens): its "
                f"senses are those of {shown} (--multi_token=average to change that)"
            )
    if unreadable:
        missing = [i for _, ids in unreadable for i in ids]
        print(
            f"  {len(unreadable)} word(s) skipped: "
            f"{', '.join(word for word, _ in unreadable[:10])}"
            f"{' ...' if len(unreadable) > 10 else ''}: they hold "
            f"{missing_rows_message(tokenizer, missing, model.config.vocab_size)}"
        )
    if not resolved:
        raise Skipped("no words to show: give some with --words=a,b or --words_file=FILE")
    return resolved


def allowed_tokens(
    tokenizer: Tokenizer, vocab_size: int, text: dict[str, list[str]], whole_words: bool, top_k: int
) -> tuple[dict, torch.Tensor]:
    """The tokens the tables may show, bool (V,): the rows that are tokens, or with whole_words
    only the known whole words (known_words of the held-out text) when at least top_k are; and
    what was done, senses.json's 'whole_words' (applied, source, n_allowed_tokens, note)."""
    whole = {'applied': False, 'source': None, 'n_allowed_tokens': None, 'note': ''}
    allowed = torch.from_numpy(token_rows(tokenizer, vocab_size))
    if not whole_words:
        return whole, allowed
    known, source = known_words(text)
    mask = whole_word_mask(tokenizer, vocab_size, known) if known else None
    if mask is not None and int(mask.sum()) >= top_k:
        allowed = mask
        whole.update(applied=True, source=source, n_allowed_tokens=int(mask.sum()))
    elif not known:
        whole['note'] = (
            "All tokens are shown: no offline word list to keep whole words with "
            "(no held-out text, and the optional wordfreq package is not installed)."
        )
    else:
        whole['note'] = (
            f"All tokens are shown: only {int(mask.sum())} tokens are known whole "
            f"words ({source}), fewer than top_k={top_k}."
        )
    return whole, allowed


CSV_COLUMNS = ['word', 'language', 'word_tokens', 'sense', 'rank', 'token', 'token_id', 'logit']


def csv_rows(words: list[ProjectedWord]) -> list[dict]:
    """sense_projections.csv: a row per word, sense and rank (CSV_COLUMNS)."""
    rows = []
    for word in words:
        for s in word['senses']:
            ranked = zip(s['token_ids'], s['tokens'], s['logits'])
            for rank, (token_id, token, logit) in enumerate(ranked, 1):
                rows.append(
                    {
                        'word': word['word'],
                        'language': word['language'],
                        'word_tokens': ' + '.join(word['tokens']),
                        'sense': s['sense'],
                        'rank': rank,
                        'token': token,
                        'token_id': token_id,
                        'logit': logit,
                    }
                )
    return rows


# --- senses.md, senses.tex and the grid figure ---------------------------------------------


def markdown(result: dict, n_words: int = 8) -> str:
    """The section of senses.md: the tables of the first n_words words."""
    lines = [
        f"The {result['top_k']} tokens each sense vector C(w)_k ranks highest through the "
        f"output embedding (what the sense votes for). "
    ]
    whole = result['whole_words']
    if whole['applied']:
        lines.append(
            f"Only whole words are shown ({whole['source']}; {whole['n_allowed_tokens']} tokens kept). "
        )
    elif whole.get('note'):
        lines.append(whole['note'] + ' ')
    lines.append("A token inside a word is shown as -piece. ")
    split = [w for w in result['words'] if w['split']]
    if split:
        how = 'the first token' if result['multi_token'] == 'first' else 'the mean over its tokens'
        lines.append(
            f"{len(split)} word(s) are split into several tokens and represented by "
            f"{how}: "
            + ', '.join(f"{w['word']} ({' + '.join(map(repr, w['tokens']))})" for w in split[:12])
            + ('...' if len(split) > 12 else '')
            + '. '
        )
    shown = result['words'][:n_words]
    lines.append(
        f"Tables for {len(shown)} of {len(result['words'])} words; all of them are in "
        f"{result['files']['csv']} and senses.json.\n\n"
    )
    if result['files'].get('figure'):
        lines.append(f"![sense tables]({result['files']['figure']})\n\n")
    for word in shown:
        lines.append(
            f"### {word['word']} ({language_label(word['language'])})"
            + (f", token {word['tokens'][0]!r}" if word['split'] else '')
            + "\n\n"
        )
        rows = [
            {'sense': s['sense'], 'tokens': ', '.join(token_label(t) for t in s['tokens'])}
            for s in word['senses']
        ]
        lines.append(
            markdown_table(rows, ['sense', 'tokens'], headers={'tokens': f"top {result['top_k']} tokens"})
            + '\n'
        )
    return ''.join(lines)


def language_label(code: str) -> str:
    """A word's language for its table: 'English'; '?' when the word list did not say."""
    return language_name(code) if code else '?'


LATEX_SPECIAL = {
    '\\': r'\textbackslash{}',
    '&': r'\&',
    '%': r'\%',
    '$': r'\$',
    '#': r'\#',
    '_': r'\_',
    '{': r'\{',
    '}': r'\}',
    '~': r'\textasciitilde{}',
    '^': r'\textasciicircum{}',
}


def latex_escape(text: str) -> str:
    return ''.join(LATEX_SPECIAL.get(c, c) for c in text)


def latex_sense_tables(projection: dict, source: str, n_words: int = 8, n_tokens: int | None = None) -> str:
    """One table per word: a row per sense with its top tokens (needs \\usepackage{booktabs})."""
    n_tokens = n_tokens or projection['top_k']
    out = [
        f"% Sense projection tables written by sense_visualisation.py for {latex_escape(source)}\n"
        f"% (the top {n_tokens} tokens of each sense vector through the output embedding).\n"
        f"% Needs \\usepackage{{booktabs}}.\n"
    ]
    for word in projection['words'][:n_words]:
        out.append("\\begin{table}[ht]\n\\centering\n\\small\n\\begin{tabular}{rl}\n\\toprule\n")
        out.append(
            f"Sense & Top tokens of \\textbf{{{latex_escape(word['word'])}}} "
            f"({latex_escape(language_label(word['language']))}) \\\\\n\\midrule\n"
        )
        for s in word['senses']:
            tokens = ', '.join(latex_escape(token_label(t)) for t in s['tokens'][:n_tokens])
            out.append(f"{s['sense']} & {tokens} \\\\\n")
        out.append("\\bottomrule\n\\end{tabular}\n")
        out.append(
            f"\\caption{{Sense vectors of ``{latex_escape(word['word'])}'': the tokens each "
            f"sense ranks highest.}}\n\\end{{table}}\n\n"
        )
    return ''.join(out)


def projection_figure(path: str, projection: dict, n_words: int = 6, n_tokens: int = 5) -> str | None:
    """A grid of small tables: one per word, a row per sense with its top n_tokens tokens."""
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    words = projection['words'][:n_words]
    if not words:
        return None
    n_cols = min(3, len(words))
    n_rows = math.ceil(len(words) / n_cols)
    K = len(words[0]['senses'])
    fig, axes = plt.subplots(
        n_rows, n_cols, figsize=(4.6 * n_cols, (0.24 * K + 0.6) * n_rows), dpi=120, squeeze=False
    )
    for ax in axes.flat:
        ax.axis('off')
    for ax, word in zip(axes.flat, words):
        cells = [
            [str(s['sense']), ' '.join(token_label(t) for t in s['tokens'][:n_tokens])]
            for s in word['senses']
        ]
        table = ax.table(
            cellText=cells,
            colLabels=['k', f"top {n_tokens} tokens"],
            colWidths=[0.08, 0.92],
            loc='upper center',
            cellLoc='left',
        )
        table.auto_set_font_size(False)
        table.set_fontsize(7)
        ax.set_title(f"{word['word']} ({language_label(word['language'])})", fontsize=9)
    save_figure(fig, path)
    return path
