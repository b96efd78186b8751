"""
The explorer's page (explore.py): the HTML of each view of senses/explorer.py (token chips,
tables, heatmaps), the message line, the page's actions from what was typed to (message, HTML
parts), and the page's CSS. A view that fails puts its message in the page instead.
"""

from __future__ import annotations

import html
import logging
import math
from contextlib import AbstractContextManager
from typing import Callable, NamedTuple

from common.errors import UserError
from common.tokenizer import Tokenizer
from model import LanguageModel
from senses.explorer import (
    InContext,
    SenseCosines,
    WordSenses,
    in_context_view,
    sense_cosine_view,
    steer_view,
    word_senses_view,
)

log = logging.getLogger(__name__)


def answer(view: Callable, *args: object, **kwargs: object) -> tuple[object | None, str | None]:
    """(result, None) from a view, or (None, message) when it failed: the message of an
    UserError, or, for a bug, its type and message (the traceback goes to the server's log, never to the page)."""
    try:
        return view(*args, **kwargs), None
    except UserError as e:
        return None, str(e)
    except Exception as e:  # the server keeps serving; the log has the traceback
        log.exception("explorer view %s failed", getattr(view, '__name__', view))
        return None, (
            f"Internal error ({type(e).__name__}: {str(e)[:300]}). The server's console has the details."
        )


# --- HTML of the views ---------------------------------------------------------------------


def _token_html(token: str, token_id: int) -> str:
    return (
        f'<code class="token" data-token-id="{token_id}" title="token {token_id}">{html.escape(token)}</code>'
    )


def _color(value: float, scale: float) -> str:
    """Diverging colours: red for positive, blue for negative, white at 0."""
    if not scale or not math.isfinite(value):
        return 'transparent'
    t = max(-1.0, min(1.0, value / scale))
    rgb = (220, 50, 47) if t > 0 else (38, 110, 200)
    return f"rgba({rgb[0]},{rgb[1]},{rgb[2]},{abs(t):.3f})"


def heatmap_html(
    matrix: list[list[float]],
    row_labels: list[str],
    column_labels: list[str],
    elem_class: str,
    numbers: bool = True,
    corner: str = '',
    highlight_row: int | None = None,
    scale: float | None = None,
) -> str:
    """A table whose cells are coloured by value (the page's heatmap): each cell carries its
    value in data-value and its title."""
    finite = [abs(v) for row in matrix for v in row if math.isfinite(v)]
    scale = scale or (max(finite) if finite else 0)
    head = ''.join(f'<th>{label}</th>' for label in column_labels)
    rows = []
    for r, (label, row) in enumerate(zip(row_labels, matrix)):
        cells = ''.join(
            f'<td data-value="{v:.6g}" title="{v:.4f}" style="background:{_color(v, scale)}">'
            f'{f"{v:.2f}" if numbers and math.isfinite(v) else ""}</td>'
            for v in row
        )
        mark = ' class="highlight"' if r == highlight_row else ''
        rows.append(f'<tr{mark}><th>{label}</th>{cells}</tr>')
    return (
        f'<div class="heatmap-scroll"><table class="heatmap {elem_class}"><thead><tr>'
        f'<th>{corner}</th>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table></div>'
    )


def word_senses_html(view: WordSenses) -> str:
    rows = []
    for s in view.senses:
        high = ' '.join(_token_html(t.token, t.token_id) for t in s.highest)
        low = ' '.join(_token_html(t.token, t.token_id) for t in s.lowest)
        rows.append(
            f'<tr class="sense-row" data-sense="{s.sense}"><th>{s.sense}</th>'
            f'<td class="highest">{high}</td><td class="lowest">{low}</td></tr>'
        )
    pieces = ' + '.join(_token_html(t, i) for t, i in zip(view.tokens, view.token_ids))
    return (
        f'<div class="word-senses"><p><b>{html.escape(view.word)}</b> = {pieces}</p>'
        f'<table class="senses"><thead><tr><th>sense</th><th>ranks highest</th>'
        f'<th>ranks lowest</th></tr></thead><tbody>{"".join(rows)}</tbody></table></div>'
    )


def sense_cosine_html(view: SenseCosines) -> str:
    K = len(view.matrix)
    a, b = (html.escape(w) for w in view.words)
    return f'<p>cos(sense k of <b>{a}</b>, sense l of <b>{b}</b>): rows k, columns l</p>' + heatmap_html(
        view.matrix,
        [str(k) for k in range(K)],
        [str(k) for k in range(K)],
        'cosines',
        corner=f'{a} \\ {b}',
        scale=1.0,
    )


def tokens_html(view: InContext) -> str:
    chips = []
    for i, (token, token_id) in enumerate(zip(view.tokens, view.token_ids)):
        mark = ' chosen' if i == view.position else ''
        chips.append(
            f'<span class="position{mark}" data-position="{i}"><sub>{i}</sub>'
            f'{_token_html(token, token_id)}</span>'
        )
    return f'<div class="sentence-tokens">{" ".join(chips)}</div>'


def predictions_html(view: InContext) -> str:
    rows = ''.join(
        f'<tr class="prediction" data-token-id="{p.token_id}"><td>{n}</td>'
        f'<td>{_token_html(p.token, p.token_id)}</td>'
        f'<td class="probability">{p.probability:.4f}</td><td>{p.logit:.3f}</td></tr>'
        for n, p in enumerate(view.predictions, 1)
    )
    after = html.escape(view.tokens[view.position])
    actual = (
        ''
        if view.actual_next is None
        else f' (in the sentence: <code>{html.escape(view.actual_next)}</code>)'
    )
    return (
        f'<p>After position {view.position} (<code>{after}</code>) the model predicts'
        f'{actual}:</p><table class="predictions"><thead><tr><th>#</th><th>next token</th>'
        f'<th>probability</th><th>logit</th></tr></thead><tbody>{rows}</tbody></table>'
    )


def contributions_html(view: InContext) -> str:
    if view.contributions is None:
        return f'<p class="absent">{html.escape(view.senses_absent)}</p>'
    target = _token_html(view.target.token, view.target.token_id)
    labels = [
        f'{j} {_token_html(t, i)}'
        for j, (t, i) in enumerate(zip(view.tokens, view.token_ids))
        if j <= view.position
    ]
    K = len(view.contributions[0])
    return (
        f'<p class="logit-sum">Logit of {target} after position {view.position}: the sum '
        f'of the contributions alpha<sub>kij</sub> E[y]·C(x<sub>j</sub>)<sub>k</sub> below is '
        f'<b class="contribution-sum">{view.contribution_sum:.4f}</b>; the model\'s '
        f'logit is <b class="model-logit">{view.logit:.4f}</b> (probability '
        f'{view.probability:.4f}).</p>'
        + heatmap_html(
            view.contributions, labels, [str(k) for k in range(K)], 'contributions', corner='word \\ sense'
        )
    )


def alpha_html(view: InContext) -> str:
    if view.alpha is None:
        return ''
    T = len(view.tokens)
    labels = [f'{i} {_token_html(t, ti)}' for i, (t, ti) in enumerate(zip(view.tokens, view.token_ids))]
    return (
        f'<p>alpha of sense {view.sense}: row i is the prediction after position i, '
        f'column j the word it reads (each row sums to 1; the chosen position is framed)</p>'
        + heatmap_html(
            view.alpha,
            labels,
            [str(j) for j in range(T)],
            'alpha',
            numbers=False,
            corner='i \\ j',
            highlight_row=view.position,
            scale=1.0,
        )
    )


def message_html(lines: list[str], error: bool = False) -> str:
    """The page's message line: notes, or what was wrong with the input."""
    lines = [line for line in lines if line]
    if not lines:
        return ''
    kind = 'error' if error else 'note'
    return ''.join(f'<p class="message {kind}">{html.escape(line, quote=False)}</p>' for line in lines)


# --- the page's actions: what typed in -> (message, HTML parts) ----------------------------


class WordPage(NamedTuple):
    """The word tab: the message line, the senses of the word and of the second word, their
    cosine heatmap ('' where absent)."""

    message: str
    word_senses: str
    other_senses: str
    cosines: str


class ContextPage(NamedTuple):
    """The in-context tab: the message line, the sentence's tokens, the predictions, the
    contributions heatmap, the alpha heatmap, the positions to choose from as (label, position)
    pairs and the position shown (None when the view failed)."""

    message: str
    tokens: str
    predictions: str
    contributions: str
    alpha: str
    choices: list[tuple[str, int]]
    position: int | None


class SteerPage(NamedTuple):
    """The steer tab: the message line, the text without the intervention and with it."""

    message: str
    baseline: str
    steered: str


def word_page(
    model: LanguageModel,
    tokenizer: Tokenizer,
    word: str,
    other_word: str = '',
    multi_token: str = 'first',
    top_k: int = 8,
) -> WordPage:
    """The senses of a word and, when a second word is given, its senses and their cosines."""
    view, error = answer(word_senses_view, model, tokenizer, word, multi_token, top_k)
    if error:
        return WordPage(message_html([error], error=True), '', '', '')
    notes, other_html, cosine_html = [view.note], '', ''
    if other_word and str(other_word).strip():
        other, error = answer(word_senses_view, model, tokenizer, other_word, multi_token, top_k)
        if error:
            return WordPage(message_html(notes + [error], error=True), word_senses_html(view), '', '')
        cosines, error = answer(sense_cosine_view, model, tokenizer, word, other_word, multi_token)
        if error:
            return WordPage(message_html(notes + [error], error=True), word_senses_html(view), '', '')
        notes.append(other.note)
        other_html, cosine_html = word_senses_html(other), sense_cosine_html(cosines)
    return WordPage(message_html(notes), word_senses_html(view), other_html, cosine_html)


def context_page(
    model: LanguageModel,
    tokenizer: Tokenizer,
    sentence: str,
    position: int | str | None = None,
    next_token: str = '',
    sense: int | str = 0,
    top_n: int = 10,
    autocast: AbstractContextManager | None = None,
) -> ContextPage:
    """A sentence in context: its tokens, the predictions after a position, the contributions to
    a next token's logit and the alpha of a sense."""
    view, error = answer(
        in_context_view, model, tokenizer, sentence, position, next_token, sense, top_n, autocast
    )
    if error:
        return ContextPage(message_html([error], error=True), '', '', '', '', [], None)
    return ContextPage(
        message=message_html(view.notes),
        tokens=tokens_html(view),
        predictions=predictions_html(view),
        contributions=contributions_html(view),
        alpha=alpha_html(view),
        choices=[(f"{i}: {token}", i) for i, token in enumerate(view.tokens)],
        position=view.position,
    )


def steer_page(
    model: LanguageModel,
    tokenizer: Tokenizer,
    prompt: str,
    word: str,
    senses: str,
    factor: str,
    seed: int | str,
    max_new_tokens: int | str = 20,
    temperature: float | str = 0.8,
    top_k: int | str = 200,
    autocast: AbstractContextManager | None = None,
) -> SteerPage:
    """A continuation without and with an intervention on some senses of a word, and what is scaled."""
    view, error = answer(
        steer_view,
        model,
        tokenizer,
        prompt,
        word,
        senses,
        factor,
        seed,
        max_new_tokens,
        temperature,
        top_k,
        autocast,
    )
    if error:
        return SteerPage(message_html([error], error=True), '', '')
    described = []
    for s in view.scaled:
        senses = 'all senses' if s['senses'] == 'all' else f"senses {s['senses']}"
        described.append(f"Scaling {senses} of {s['word']} (tokens {s['tokens']}) by {s['factor']:g}")
    return SteerPage(message_html(described + view.notes), view.baseline, view.steered or '')


PAGE_CSS = """
.token { white-space: pre; background: #f1f1f1; padding: 0 2px; border-radius: 3px; }
table.senses td, table.predictions td { padding: 2px 6px; }
.word-senses { overflow-x: auto; }
table.senses { width: 100%; table-layout: fixed; }
table.senses th:first-child { width: 4.5em; }
table.senses td { overflow-wrap: anywhere; }
table.heatmap { border-collapse: collapse; font-size: 11px; }
table.heatmap td { min-width: 14px; height: 16px; text-align: right; padding: 1px 3px; }
table.heatmap th { font-weight: normal; text-align: right; padding: 1px 4px; }
table.heatmap tr.highlight { outline: 2px solid #333; }
.heatmap-scroll { overflow: auto; max-height: 620px; }
.sentence-tokens .position { margin-right: 4px; }
.sentence-tokens .position.chosen .token { background: #ffd54f; }
.message.error { color: #b00020; font-weight: bold; }
.message.note { color: #555; }
"""
