"""
The views of the sense explorer (explore.py serves them as a local web page): functions from a
model, its tokenizer and what a user typed to the numbers the page shows, and from those numbers to
the page's HTML. A user mistake raises UserError, whose message the page shows instead.

    view = word_senses_view(model, tok, 'bank', top_k=8)        # K senses, highest/lowest tokens
    cosines = sense_cosine_view(model, tok, 'bank', 'banque')   # K x K cosines between senses
    context = in_context_view(model, tok, 'The bank of the', next_token='river', sense=3)
    steered = steer_view(model, tok, 'The bank', 'bank', '3,7', '0', seed=1337)

The numbers are the model's, computed by the functions the scripts use: word vectors, sense
projections and alignment from senses/ (as sense_visualisation.py), alpha from
model.contextualization, interventions from senses/intervention.py and sampling from
common/sampling.py (as sample.py --sense_scale). A GPT-2 gets next-token predictions and generation; the sense views
say why they are absent.
"""

import html
import logging
import math
import unicodedata
from contextlib import nullcontext

import torch

from common.errors import UserError
from common.languages import language_name
from common.sampling import model_prompt_ids, predictable_tokens, sample_texts
from common.tokenizer import check_rows, token_rows
from senses.alignment import alignment_matrix
from senses.intervention import parse_factor, parse_senses, sense_scale_for_words
from senses.projection import sense_projection
from senses.vectors import is_backpack, logit_contributions, word_sense_vectors
from senses.word_tokens import word_tokens

MAX_TEXT_CHARACTERS = 4000  # more than any block size of this project holds
MAX_NEW_TOKENS = 200
NO_SENSES = (
    "This checkpoint is a GPT-2: it has no sense vectors (its predictions are not a sum "
    "over words and senses), so there are no senses to show, decompose or steer. Start "
    "the explorer on a backpack-lm checkpoint to see them."
)
NO_STEERING = (
    "This checkpoint is a GPT-2, which has no senses to steer: the continuation is "
    "shown without intervention."
)

log = logging.getLogger(__name__)


def describe_model(model, checkpoint=None, tokenizer=None):
    """One line about the model: its kind and shape, for the page's header."""
    cfg = model.config
    kind = f"Backpack, {cfg.n_sense_vector} senses per token" if is_backpack(model) else "GPT-2"
    vocabulary = (
        f"{cfg.vocab_size:,} rows for the {tokenizer.n_vocab:,} ids of its tokenizer"
        if tokenizer is not None and tokenizer.n_vocab != cfg.vocab_size
        else f"{cfg.vocab_size:,} tokens"
    )
    text = (
        f"{kind}; {cfg.n_layer} layers, {cfg.n_embd} wide, {vocabulary}, "
        f"block size {cfg.block_size}; {model.get_num_params() / 1e6:.2f}M parameters"
    )
    data = (checkpoint or {}).get('data') or {}
    if data.get('languages'):
        text += f"; languages {', '.join(map(language_name, data['languages']))}"
    if checkpoint and checkpoint.get('iter_num') is not None:
        text += f"; iteration {checkpoint['iter_num']:,}"
    return text


# --- checking what was typed ---------------------------------------------------------------


def checked_text(text, what, allow_empty=False):
    """The text a user typed, or an UserError saying why it cannot be used."""
    text = '' if text is None else str(text)
    if not allow_empty and not text.strip():
        raise UserError(f"The {what} is empty: type one.")
    if len(text) > MAX_TEXT_CHARACTERS:
        raise UserError(
            f"The {what} has {len(text):,} characters; at most "
            f"{MAX_TEXT_CHARACTERS:,} are read (the model sees far fewer tokens)."
        )
    odd = sorted({c for c in text if unicodedata.category(c) == 'Cs'})
    if odd:  # lone UTF-16 surrogates: no UTF-8 text holds them, the tokenizer cannot read them
        raise UserError(
            f"The {what} holds characters that are not valid text "
            f"({', '.join(f'U+{ord(c):04X}' for c in odd[:5])}): remove them."
        )
    return text


def checked_word(text, what='word'):
    word = checked_text(text, what).strip()
    if len(word.split()) > 1:
        raise UserError(
            f"The {what} {word!r} is several words: type one word (its senses are those of its tokens)."
        )
    return word


def checked_number(value, what, integer=False, low=None, high=None):
    """A number from the page (a text field or a number field), checked against its range."""
    try:
        number = float(str(value).strip()) if value is not None else math.nan
    except ValueError:
        raise UserError(f"The {what} {str(value)!r} is not a number.")
    if not math.isfinite(number) or (integer and number != int(number)):
        raise UserError(f"The {what} {value!r} is not {'a whole' if integer else 'a finite'} number.")
    number = int(number) if integer else number
    if (low is not None and number < low) or (high is not None and number > high):
        raise UserError(f"The {what} is {number}: choose one from {low} to {high}.")
    return number


def require_senses(model):
    if not is_backpack(model):
        raise UserError(NO_SENSES)


# --- 1. word senses ------------------------------------------------------------------------


def word_token_ids(model, tokenizer, word, multi_token):
    """The tokens a word is read as (senses.inputs.word_tokens, as the scripts do) and a note when
    it is several tokens; an UserError when the model has no row for one of them."""
    ids = word_tokens(tokenizer, word)
    if not ids:
        raise UserError(f"{word!r} has no tokens.")
    check_rows(tokenizer, ids, model.config.vocab_size, f"The word {word!r}")
    note = ''
    if len(ids) > 1:
        pieces = ' + '.join(repr(tokenizer.token_str(i)) for i in ids)
        shown = (
            "its first token" if multi_token == 'first' else f"the average of its {len(ids)} tokens' senses"
        )
        note = f"{word!r} is not one token of this model's vocabulary: it is {pieces}; shown: {shown}."
    return ids, note


@torch.no_grad()
def word_senses_view(model, tokenizer, word, multi_token='first', top_k=8):
    """The K senses of a word, each with the top_k tokens it ranks highest and lowest through
    the output embedding (senses.projection.sense_projection of the senses and of their negation).
    Returns {'word', 'token_ids', 'tokens', 'note', 'senses': [{'sense', 'highest', 'lowest'}]},
    each of highest and lowest a list of {'token_id', 'token', 'logit'}."""
    require_senses(model)
    word = checked_word(word)
    if multi_token not in ('first', 'average'):
        raise UserError(f"multi_token={multi_token!r}: choose 'first' or 'average'.")
    top_k = checked_number(top_k, 'number of tokens per sense', integer=True, low=1, high=100)
    ids, note = word_token_ids(model, tokenizer, word, multi_token)
    senses = word_sense_vectors(model, [ids], multi_token)  # (1, K, d)
    tokens_only = torch.from_numpy(token_rows(tokenizer, model.config.vocab_size))
    high_ids, high_logits = sense_projection(model, senses, top_k, tokens_only)
    low_ids, low_negated = sense_projection(model, -senses, top_k, tokens_only)  # the lowest first

    def tokens(token_ids, logits, sign=1):
        return [
            {'token_id': i, 'token': tokenizer.token_str(i), 'logit': sign * v}
            for i, v in zip(token_ids, logits)
        ]

    return {
        'word': word,
        'token_ids': ids,
        'tokens': [tokenizer.token_str(i) for i in ids],
        'multi_token': multi_token,
        'note': note,
        'senses': [
            {'sense': k, 'highest': tokens(hi, hv), 'lowest': tokens(lo, lv, -1)}
            for k, (hi, hv, lo, lv) in enumerate(
                zip(
                    high_ids[0].tolist(),
                    high_logits[0].tolist(),
                    low_ids[0].tolist(),
                    low_negated[0].tolist(),
                )
            )
        ],
    }


@torch.no_grad()
def sense_cosine_view(model, tokenizer, word, other_word, multi_token='first'):
    """The K x K cosines between the senses of two words (a word and its translation, say):
    matrix[k][l] = cos(C(word)_k, C(other_word)_l), senses.alignment.alignment_matrix of the one
    pair, as the cross-lingual alignment computes it over many pairs."""
    require_senses(model)
    words = [checked_word(word), checked_word(other_word, 'second word')]
    resolved = [word_token_ids(model, tokenizer, w, multi_token) for w in words]
    a, b = (word_sense_vectors(model, [ids], multi_token) for ids, _ in resolved)
    return {
        'words': words,
        'notes': [note for _, note in resolved if note],
        'matrix': alignment_matrix(a, b).tolist(),
    }


# --- 2. in context -------------------------------------------------------------------------


def sentence_token_ids(model, tokenizer, text, what='sentence'):
    """The ids the model reads for a sentence: end-of-text (the start of a line), then its
    tokens; an UserError when they do not fit in the block size or hold a token the model has
    no row for."""
    text = checked_text(text, what)
    ids = model_prompt_ids(model, tokenizer, text, f"The {what}")
    block_size = model.config.block_size
    if len(ids) > block_size:
        raise UserError(
            f"The {what} is {len(ids) - 1} tokens long; this model reads at most "
            f"{block_size - 1} after the start of the line (block size "
            f"{block_size}): shorten it."
        )
    return ids


def next_token_id(tokenizer, text, vocab_size):
    """The token a user asks about: '#123' is token 123; a text that is one token is that token
    (' river', '.'); else a word as it appears inside a sentence (senses.inputs.word_tokens), its
    first token when it is several. Returns (id, note); an UserError for an id that is no token
    of the tokenizer or has no row among the model's vocab_size."""
    text = checked_text(text, 'next token')
    if text.strip().startswith('#'):
        token_id = checked_number(text.strip()[1:], 'token id', integer=True, low=0, high=vocab_size - 1)
        if not token_rows(tokenizer, vocab_size)[token_id]:
            raise UserError(
                f"Token id {token_id} is a row of the model that no token of its "
                f"tokenizer ({tokenizer.n_vocab:,} ids) stands for: choose another."
            )
        return token_id, ''
    ids = tokenizer.encode(text)
    if len(ids) != 1:
        ids = word_tokens(tokenizer, text.strip())
    if not ids:
        raise UserError(f"The next token {text!r} has no tokens.")
    check_rows(tokenizer, ids[:1], vocab_size, f"The next token {text.strip()!r}")
    if len(ids) == 1:
        return ids[0], ''
    note = (
        ''
        if len(ids) == 1
        else (
            f"{text.strip()!r} is several tokens; its first, "
            f"{tokenizer.token_str(ids[0])!r}, is the next token shown."
        )
    )
    return ids[0], note


@torch.no_grad()
def in_context_view(model, tokenizer, text, position=None, next_token='', sense=0, top_n=10, autocast=None):
    """A sentence read by the model. position (default: the last) is the prediction looked at,
    which reads the tokens 0..position and predicts the token after them. Returns
    {'tokens', 'token_ids', 'position', 'predictions' (the top_n next tokens: token_id, token,
    probability, logit), 'target' (the next token decomposed: the one asked for, else the top
    prediction), 'logit' (its logit from the model's forward pass), 'probability', 'notes'},
    and for a Backpack: 'contributions' ((position + 1) x K: alpha_kij E[y] . C(x_j)_k for
    each earlier word j and sense k; they sum to the logit), 'contribution_sum', 'sense' and
    'alpha' (T x T: alpha of that sense, prediction i by word j)."""
    ids = sentence_token_ids(model, tokenizer, text)
    T, V = len(ids), model.config.vocab_size
    position = (
        T - 1
        if position in (None, '')
        else checked_number(position, 'position', integer=True, low=0, high=T - 1)
    )
    top_n = checked_number(top_n, 'number of predictions', integer=True, low=1, high=100)
    idx = torch.tensor([ids], dtype=torch.long, device=model.lm_head.weight.device)
    with autocast or nullcontext():
        logits, _ = model(idx, all_logits=True)
    # the distribution over the tokenizer's tokens, as sampling draws from it
    tokens_only = predictable_tokens(model, tokenizer)
    logits = logits[0, position].float().masked_fill(~tokens_only, -math.inf)[:V]
    probabilities = torch.softmax(logits, dim=-1)
    top = probabilities.topk(min(top_n, int(logits.isfinite().sum())))
    notes = []
    if next_token and str(next_token).strip():
        target, note = next_token_id(tokenizer, next_token, V)
        notes += [note] if note else []
    else:
        target = int(top.indices[0])
    view = {
        'tokens': [tokenizer.token_str(i) for i in ids],
        'token_ids': ids,
        'position': position,
        'predictions': [
            {
                'token_id': int(i),
                'token': tokenizer.token_str(int(i)),
                'probability': float(p),
                'logit': float(logits[i]),
            }
            for p, i in zip(top.values, top.indices)
        ],
        'target': {'token_id': target, 'token': tokenizer.token_str(target)},
        'logit': float(logits[target]),
        'probability': float(probabilities[target]),
        'actual_next': (tokenizer.token_str(ids[position + 1]) if position + 1 < T else None),
        'notes': notes,
    }
    if not is_backpack(model):
        view['senses_absent'] = NO_SENSES
        return view
    K = model.config.n_sense_vector
    sense = checked_number(sense, 'sense', integer=True, low=0, high=K - 1)
    with autocast or nullcontext():
        contributions, alpha = logit_contributions(model, idx, position, target)
    view.update(
        contributions=contributions.tolist(),
        contribution_sum=float(contributions.sum()),
        sense=sense,
        alpha=alpha[sense].tolist(),
    )
    return view


# --- 3. steer ------------------------------------------------------------------------------


def steer_view(
    model,
    tokenizer,
    prompt,
    word='',
    senses='',
    factor='0',
    seed=1337,
    max_new_tokens=20,
    temperature=0.8,
    top_k=200,
    autocast=None,
):
    """A continuation of the prompt without and with an intervention on the senses of a word,
    drawn with the same seed: what sample.py --start=PROMPT --sense_scale="WORD:SENSES=FACTOR"
    --seed=SEED --num_samples=1 prints (the same functions: sense_scale_for_words, sample_texts).
    senses: '3,7' or '*'. A GPT-2 gets the continuation without intervention and a note.
    Returns {'baseline', 'steered' (None for a GPT-2), 'scaled' (what is scaled), 'notes'}."""
    prompt = checked_text(prompt, 'prompt', allow_empty=True)
    seed = checked_number(seed, 'seed', integer=True, low=0, high=2**63 - 1)
    max_new_tokens = checked_number(
        max_new_tokens, 'number of new tokens', integer=True, low=1, high=MAX_NEW_TOKENS
    )
    temperature = checked_number(temperature, 'temperature', low=0, high=100)
    top_k = checked_number(top_k, 'top_k', integer=True, low=0, high=model.config.vocab_size)
    notes, scale = [], None
    n_prompt = len(model_prompt_ids(model, tokenizer, prompt, 'The prompt'))
    if n_prompt > model.config.block_size:
        notes.append(
            f"The prompt has {n_prompt} tokens; the model sees the last "
            f"{model.config.block_size} (its block size)."
        )
    scaled = []
    if is_backpack(model):
        entry = (
            checked_word(word, 'word to steer'),
            _parsed(parse_senses, senses, 'senses'),
            _parsed(parse_factor, factor, 'factor'),
        )
        scale, scaled = sense_scale_for_words(model, tokenizer, [entry])
    else:
        notes.append(NO_STEERING)

    def sample(**forward_kwargs):
        return next(
            sample_texts(
                model,
                tokenizer,
                prompt,
                1,
                max_new_tokens,
                temperature,
                top_k,
                seed,
                autocast,
                **forward_kwargs,
            )
        )

    return {
        'baseline': sample(),
        'steered': sample(token_sense_scale=scale) if scale is not None else None,
        'scaled': scaled,
        'notes': notes,
    }


def _parsed(parse, text, what):
    """senses.intervention's parsers, with their message for the page."""
    text = checked_text(text, what)
    try:
        return parse(text)
    except UserError as e:
        message = str(e)
        raise UserError(
            f"{message[:1].upper()}{message[1:]}. Senses are numbers like 3 or "
            f"3,7 (or * for all of them); the factor is a number (0 removes them)."
        )


# --- answering the page --------------------------------------------------------------------


def answer(view, *args, **kwargs):
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


def _token_html(token, token_id):
    return (
        f'<code class="token" data-token-id="{token_id}" title="token {token_id}">{html.escape(token)}</code>'
    )


def _color(value, scale):
    """Diverging colours: red for positive, blue for negative, white at 0."""
    if not scale or not math.isfinite(value):
        return 'transparent'
    t = max(-1.0, min(1.0, value / scale))
    rgb = (220, 50, 47) if t > 0 else (38, 110, 200)
    return f"rgba({rgb[0]},{rgb[1]},{rgb[2]},{abs(t):.3f})"


def heatmap_html(
    matrix, row_labels, column_labels, elem_class, numbers=True, corner='', highlight_row=None, scale=None
):
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


def word_senses_html(view):
    rows = []
    for s in view['senses']:
        high = ' '.join(_token_html(t['token'], t['token_id']) for t in s['highest'])
        low = ' '.join(_token_html(t['token'], t['token_id']) for t in s['lowest'])
        rows.append(
            f'<tr class="sense-row" data-sense="{s["sense"]}"><th>{s["sense"]}</th>'
            f'<td class="highest">{high}</td><td class="lowest">{low}</td></tr>'
        )
    pieces = ' + '.join(_token_html(t, i) for t, i in zip(view['tokens'], view['token_ids']))
    return (
        f'<div class="word-senses"><p><b>{html.escape(view["word"])}</b> = {pieces}</p>'
        f'<table class="senses"><thead><tr><th>sense</th><th>ranks highest</th>'
        f'<th>ranks lowest</th></tr></thead><tbody>{"".join(rows)}</tbody></table></div>'
    )


def sense_cosine_html(view):
    K = len(view['matrix'])
    a, b = (html.escape(w) for w in view['words'])
    return f'<p>cos(sense k of <b>{a}</b>, sense l of <b>{b}</b>): rows k, columns l</p>' + heatmap_html(
        view['matrix'],
        [str(k) for k in range(K)],
        [str(k) for k in range(K)],
        'cosines',
        corner=f'{a} \\ {b}',
        scale=1.0,
    )


def tokens_html(view):
    chips = []
    for i, (token, token_id) in enumerate(zip(view['tokens'], view['token_ids'])):
        mark = ' chosen' if i == view['position'] else ''
        chips.append(
            f'<span class="position{mark}" data-position="{i}"><sub>{i}</sub>'
            f'{_token_html(token, token_id)}</span>'
        )
    return f'<div class="sentence-tokens">{" ".join(chips)}</div>'


def predictions_html(view):
    rows = ''.join(
        f'<tr class="prediction" data-token-id="{p["token_id"]}"><td>{n}</td>'
        f'<td>{_token_html(p["token"], p["token_id"])}</td>'
        f'<td class="probability">{p["probability"]:.4f}</td><td>{p["logit"]:.3f}</td></tr>'
        for n, p in enumerate(view['predictions'], 1)
    )
    after = html.escape(view['tokens'][view['position']])
    actual = (
        ''
        if view['actual_next'] is None
        else f' (in the sentence: <code>{html.escape(view["actual_next"])}</code>)'
    )
    return (
        f'<p>After position {view["position"]} (<code>{after}</code>) the model predicts'
        f'{actual}:</p><table class="predictions"><thead><tr><th>#</th><th>next token</th>'
        f'<th>probability</th><th>logit</th></tr></thead><tbody>{rows}</tbody></table>'
    )


def contributions_html(view):
    if 'contributions' not in view:
        return f'<p class="absent">{html.escape(view["senses_absent"])}</p>'
    target = _token_html(view['target']['token'], view['target']['token_id'])
    labels = [
        f'{j} {_token_html(t, i)}'
        for j, (t, i) in enumerate(zip(view['tokens'], view['token_ids']))
        if j <= view['position']
    ]
    K = len(view['contributions'][0])
    return (
        f'<p class="logit-sum">Logit of {target} after position {view["position"]}: the sum '
        f'of the contributions alpha<sub>kij</sub> E[y]·C(x<sub>j</sub>)<sub>k</sub> below is '
        f'<b class="contribution-sum">{view["contribution_sum"]:.4f}</b>; the model\'s '
        f'logit is <b class="model-logit">{view["logit"]:.4f}</b> (probability '
        f'{view["probability"]:.4f}).</p>'
        + heatmap_html(
            view['contributions'], labels, [str(k) for k in range(K)], 'contributions', corner='word \\ sense'
        )
    )


def alpha_html(view):
    if 'alpha' not in view:
        return ''
    T = len(view['tokens'])
    labels = [f'{i} {_token_html(t, ti)}' for i, (t, ti) in enumerate(zip(view['tokens'], view['token_ids']))]
    return (
        f'<p>alpha of sense {view["sense"]}: row i is the prediction after position i, '
        f'column j the word it reads (each row sums to 1; the chosen position is framed)</p>'
        + heatmap_html(
            view['alpha'],
            labels,
            [str(j) for j in range(T)],
            'alpha',
            numbers=False,
            corner='i \\ j',
            highlight_row=view['position'],
            scale=1.0,
        )
    )


def message_html(lines, error=False):
    """The page's message line: notes, or what was wrong with the input."""
    lines = [line for line in lines if line]
    if not lines:
        return ''
    kind = 'error' if error else 'note'
    return ''.join(f'<p class="message {kind}">{html.escape(line, quote=False)}</p>' for line in lines)


# --- the page's actions: what typed in -> (message, HTML parts) ----------------------------


def word_page(model, tokenizer, word, other_word='', multi_token='first', top_k=8):
    """(message, senses of the word, senses of the second word, their cosine heatmap)."""
    view, error = answer(word_senses_view, model, tokenizer, word, multi_token, top_k)
    if error:
        return message_html([error], error=True), '', '', ''
    notes, other_html, cosine_html = [view['note']], '', ''
    if other_word and str(other_word).strip():
        other, error = answer(word_senses_view, model, tokenizer, other_word, multi_token, top_k)
        if error:
            return message_html(notes + [error], error=True), word_senses_html(view), '', ''
        cosines, error = answer(sense_cosine_view, model, tokenizer, word, other_word, multi_token)
        if error:
            return message_html(notes + [error], error=True), word_senses_html(view), '', ''
        notes.append(other['note'])
        other_html, cosine_html = word_senses_html(other), sense_cosine_html(cosines)
    return message_html(notes), word_senses_html(view), other_html, cosine_html


def context_page(model, tokenizer, sentence, position=None, next_token='', sense=0, top_n=10, autocast=None):
    """(message, tokens, predictions, contributions heatmap, alpha heatmap, the positions to
    choose from as (label, position) pairs, the position shown)."""
    view, error = answer(
        in_context_view, model, tokenizer, sentence, position, next_token, sense, top_n, autocast
    )
    if error:
        return message_html([error], error=True), '', '', '', '', [], None
    choices = [(f"{i}: {token}", i) for i, token in enumerate(view['tokens'])]
    return (
        message_html(view['notes']),
        tokens_html(view),
        predictions_html(view),
        contributions_html(view),
        alpha_html(view),
        choices,
        view['position'],
    )


def steer_page(
    model,
    tokenizer,
    prompt,
    word,
    senses,
    factor,
    seed,
    max_new_tokens=20,
    temperature=0.8,
    top_k=200,
    autocast=None,
):
    """(message, text without the intervention, text with it)."""
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
        return message_html([error], error=True), '', ''
    described = []
    for s in view['scaled']:
        senses = 'all senses' if s['senses'] == 'all' else f"senses {s['senses']}"
        described.append(f"Scaling {senses} of {s['word']} (tokens {s['tokens']}) by {s['factor']:g}")
    return message_html(described + view['notes']), view['baseline'], view['steered'] or ''


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
