"""
The views of the sense explorer (explore.py serves them as a local web page): functions from a
model, its tokenizer and what a user typed to the numbers the page shows, each view a record (a
dataclass) of them. What was typed is checked by senses/explorer_checks.py; a user mistake
raises UserError, whose message the page shows instead. senses/explorer_page.py turns the
records into the page's HTML.

    view = word_senses_view(model, tok, 'bank', top_k=8)        # K senses, highest/lowest tokens
    cosines = sense_cosine_view(model, tok, 'bank', 'banque')   # K x K cosines between senses
    context = in_context_view(model, tok, 'The bank of the', next_token='river', sense=3)
    steered = steer_view(model, tok, 'The bank', 'bank', '3,7', '0', seed=1337)

The numbers are the model's, computed by the functions the scripts use: word vectors, sense
projections and alignment from senses/ (as sense_visualisation.py), alpha from
model.contextualization, interventions from senses/intervention.py and sampling from
common/sampling.py (as sample.py --sense_scale). A GPT-2 gets next-token predictions and
generation; the sense views say why they are absent.
"""

from __future__ import annotations

import math
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Callable

import torch

from common.errors import UserError
from common.languages import language_name
from common.sampling import model_prompt_ids, predictable_tokens, sample_texts
from common.tokenizer import Tokenizer, check_rows, token_rows
from model import LanguageModel
from senses.alignment import alignment_matrix
from senses.explorer_checks import checked_number, checked_text, checked_word
from senses.intervention import parse_factor, parse_senses, sense_scale_for_words
from senses.projection import sense_projection
from senses.vectors import is_backpack, logit_contributions, word_sense_vectors
from senses.word_tokens import word_tokens

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


# --- what the views return -----------------------------------------------------------------


@dataclass
class RankedToken:
    """A token a sense ranks high or low, with its logit through the output embedding."""

    token_id: int
    token: str
    logit: float


@dataclass
class SenseTokens:
    """Sense k of a word: the tokens it ranks highest and lowest (the lowest first)."""

    sense: int
    highest: list[RankedToken]
    lowest: list[RankedToken]


@dataclass
class WordSenses:
    """A word, the tokens it is read as (the first or the average: multi_token), a note when it
    is several tokens, and its K senses."""

    word: str
    token_ids: list[int]
    tokens: list[str]
    multi_token: str
    note: str
    senses: list[SenseTokens]


@dataclass
class SenseCosines:
    """matrix[k][l] = cos(C(words[0])_k, C(words[1])_l); notes on words of several tokens."""

    words: list[str]
    notes: list[str]
    matrix: list[list[float]]


@dataclass
class Token:
    token_id: int
    token: str


@dataclass
class Prediction:
    """A next token among the top predictions."""

    token_id: int
    token: str
    probability: float
    logit: float


@dataclass
class InContext:
    """A sentence read by the model (tokens, token_ids), the prediction after `position`: the
    top next tokens, the next token decomposed (target: the one asked for, else the top
    prediction) with its logit from the model's forward pass and its probability, the token
    that follows in the sentence (None at its end), notes. A GPT-2 has senses_absent (why the
    rest is None); a Backpack has contributions ((position + 1) x K: alpha_kij E[y] . C(x_j)_k
    for each earlier word j and sense k; they sum to the logit), their sum, the chosen sense
    and alpha (T x T: alpha of that sense, prediction i by word j)."""

    tokens: list[str]
    token_ids: list[int]
    position: int
    predictions: list[Prediction]
    target: Token
    logit: float
    probability: float
    actual_next: str | None
    notes: list[str]
    senses_absent: str | None = None
    contributions: list[list[float]] | None = None
    contribution_sum: float | None = None
    sense: int | None = None
    alpha: list[list[float]] | None = None


@dataclass
class Steered:
    """A continuation without (baseline) and with the intervention (steered: None for a
    GPT-2), what is scaled (senses.intervention.sense_scale_for_words's description), notes."""

    baseline: str
    steered: str | None
    scaled: list[dict]
    notes: list[str]


def describe_model(
    model: LanguageModel, checkpoint: dict | None = None, tokenizer: Tokenizer | None = None
) -> str:
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


def require_senses(model: LanguageModel) -> None:
    """An UserError saying why a GPT-2 has no senses to show."""
    if not is_backpack(model):
        raise UserError(NO_SENSES)


# --- 1. word senses ------------------------------------------------------------------------


def word_token_ids(
    model: LanguageModel, tokenizer: Tokenizer, word: str, multi_token: str
) -> tuple[list[int], str]:
    """The tokens a word is read as (senses.word_tokens.word_tokens, as the scripts do) and a
    note when it is several tokens; an UserError when the model has no row for one of them."""
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
def word_senses_view(
    model: LanguageModel, tokenizer: Tokenizer, word: str, multi_token: str = 'first', top_k: int = 8
) -> WordSenses:
    """The K senses of a word, each with the top_k tokens it ranks highest and lowest through
    the output embedding (senses.projection.sense_projection of the senses and of their negation)."""
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
        return [RankedToken(i, tokenizer.token_str(i), sign * v) for i, v in zip(token_ids, logits)]

    columns = (high_ids[0].tolist(), high_logits[0].tolist(), low_ids[0].tolist(), low_negated[0].tolist())
    return WordSenses(
        word=word,
        token_ids=ids,
        tokens=[tokenizer.token_str(i) for i in ids],
        multi_token=multi_token,
        note=note,
        senses=[
            SenseTokens(k, tokens(hi, hv), tokens(lo, lv, -1))
            for k, (hi, hv, lo, lv) in enumerate(zip(*columns))
        ],
    )


@torch.no_grad()
def sense_cosine_view(
    model: LanguageModel, tokenizer: Tokenizer, word: str, other_word: str, multi_token: str = 'first'
) -> SenseCosines:
    """The K x K cosines between the senses of two words (a word and its translation, say):
    matrix[k][l] = cos(C(word)_k, C(other_word)_l), senses.alignment.alignment_matrix of the one
    pair, as the cross-lingual alignment computes it over many pairs."""
    require_senses(model)
    words = [checked_word(word), checked_word(other_word, 'second word')]
    resolved = [word_token_ids(model, tokenizer, w, multi_token) for w in words]
    a, b = (word_sense_vectors(model, [ids], multi_token) for ids, _ in resolved)
    return SenseCosines(
        words=words,
        notes=[note for _, note in resolved if note],
        matrix=alignment_matrix(a, b).tolist(),
    )


# --- 2. in context -------------------------------------------------------------------------


def sentence_token_ids(
    model: LanguageModel, tokenizer: Tokenizer, text: str, what: str = 'sentence'
) -> list[int]:
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


def next_token_id(tokenizer: Tokenizer, text: str, vocab_size: int) -> tuple[int, str]:
    """The token a user asks about: '#123' is token 123; a text that is one token is that token
    (' river', '.'); else a word as it appears inside a sentence (senses.word_tokens.word_tokens),
    its first token when it is several. Returns (id, note); an UserError for an id that is no
    token of the tokenizer or has no row among the model's vocab_size."""
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
        f"{text.strip()!r} is several tokens; its first, "
        f"{tokenizer.token_str(ids[0])!r}, is the next token shown."
    )
    return ids[0], note


def next_token_logits(
    model: LanguageModel,
    tokenizer: Tokenizer,
    idx: torch.Tensor,
    position: int,
    autocast: AbstractContextManager | None = None,
) -> torch.Tensor:
    """The logits (V,) of the token after `position` of idx (1, T), -inf for the ids that are no
    token of the tokenizer: the distribution sampling draws from."""
    with autocast or nullcontext():
        logits, _ = model(idx, all_logits=True)
    tokens_only = predictable_tokens(model, tokenizer)
    return logits[0, position].float().masked_fill(~tokens_only, -math.inf)[: model.config.vocab_size]


@torch.no_grad()
def in_context_view(
    model: LanguageModel,
    tokenizer: Tokenizer,
    text: str,
    position: int | str | None = None,
    next_token: str = '',
    sense: int | str = 0,
    top_n: int = 10,
    autocast: AbstractContextManager | None = None,
) -> InContext:
    """A sentence read by the model. position (default: the last) is the prediction looked at,
    which reads the tokens 0..position and predicts the token after them; next_token the token
    decomposed (empty: the top prediction); sense the sense whose alpha is shown."""
    ids = sentence_token_ids(model, tokenizer, text)
    T, V = len(ids), model.config.vocab_size
    position = (
        T - 1
        if position in (None, '')
        else checked_number(position, 'position', integer=True, low=0, high=T - 1)
    )
    top_n = checked_number(top_n, 'number of predictions', integer=True, low=1, high=100)
    idx = torch.tensor([ids], dtype=torch.long, device=model.lm_head.weight.device)
    logits = next_token_logits(model, tokenizer, idx, position, autocast)
    probabilities = torch.softmax(logits, dim=-1)
    top = probabilities.topk(min(top_n, int(logits.isfinite().sum())))
    notes = []
    if next_token and str(next_token).strip():
        target, note = next_token_id(tokenizer, next_token, V)
        notes += [note] if note else []
    else:
        target = int(top.indices[0])
    view = InContext(
        tokens=[tokenizer.token_str(i) for i in ids],
        token_ids=ids,
        position=position,
        predictions=[
            Prediction(int(i), tokenizer.token_str(int(i)), float(p), float(logits[i]))
            for p, i in zip(top.values, top.indices)
        ],
        target=Token(target, tokenizer.token_str(target)),
        logit=float(logits[target]),
        probability=float(probabilities[target]),
        actual_next=(tokenizer.token_str(ids[position + 1]) if position + 1 < T else None),
        notes=notes,
    )
    if not is_backpack(model):
        view.senses_absent = NO_SENSES
        return view
    view.sense = checked_number(sense, 'sense', integer=True, low=0, high=model.config.n_sense_vector - 1)
    with autocast or nullcontext():
        contributions, alpha = logit_contributions(model, idx, position, target)
    view.contributions = contributions.tolist()
    view.contribution_sum = float(contributions.sum())
    view.alpha = alpha[view.sense].tolist()
    return view


# --- 3. steer ------------------------------------------------------------------------------


def steer_view(
    model: LanguageModel,
    tokenizer: Tokenizer,
    prompt: str,
    word: str = '',
    senses: str = '',
    factor: str = '0',
    seed: int | str = 1337,
    max_new_tokens: int | str = 20,
    temperature: float | str = 0.8,
    top_k: int | str = 200,
    autocast: AbstractContextManager | None = None,
) -> Steered:
    """A continuation of the prompt without and with an intervention on the senses of a word,
    drawn with the same seed: what sample.py --start=PROMPT --sense_scale="WORD:SENSES=FACTOR"
    --seed=SEED --num_samples=1 prints (the same functions: sense_scale_for_words, sample_texts).
    senses: '3,7' or '*'. A GPT-2 gets the continuation without intervention and a note."""
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
        texts = sample_texts(
            model, tokenizer, prompt, 1, max_new_tokens, temperature, top_k, seed, autocast, **forward_kwargs
        )
        return next(texts)

    return Steered(
        baseline=sample(),
        steered=sample(token_sense_scale=scale) if scale is not None else None,
        scaled=scaled,
        notes=notes,
    )


def _parsed(parse: Callable[[str], object], text: str, what: str) -> object:
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
