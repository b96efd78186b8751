"""
The cloze test (used by cloze_test.py): guess the masked last word of a sentence from the words
before it. Perplexity says how well a model predicts tokens; the cloze test asks whether it gets a
whole word right, which is what a reader of its predictions sees, and it is the original project's
benchmark. The original counted a hit when the answer was a substring of the decoded continuation
(a guess 'adjourned' scored for the answer 'adjourn'); here a hit is one exact word.

Items come from held-out text (the last word before the final punctuation is masked) or from
JSON-lines files in the original project's format, one object per line:
    {"id": ..., "original_passage": "The session is adjourned.", "length_of_sentences": 6,
     "cloze_passage": "The session is <mask>.", "answer": "adjourned", "language": "en"}
(length_of_sentences is the token count of the passage; " <mask>", with its space, replaces the
answer.)

Prediction: the context is the passage up to the mask (after an end-of-text token, the start of a
line as in training), without the space before the mask. A beam search over tokens builds whole
words: the first token is a space and the start of a word (' adj'), the next ones continue it
('ourned'); the word ends when the model's next token starts with whitespace, is punctuation or
is the end of text. A word's score is
log P(its tokens) + log P(a boundary token follows), so "adjourn" is not credited with the
probability of "adjourned". The k best distinct words are the predictions; a hit is an exact match
of the whole word (Unicode NFC, case-insensitive unless asked), never a substring.
"""

from __future__ import annotations

import json
import math
import os
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import torch

from common.errors import UserError
from common.languages import language_name
from common.text_input import read_text_lines
from common.tokenizer import ids_without_rows, missing_rows_message
from evaluation.statistics import wilson_interval

if TYPE_CHECKING:
    from common.tokenizer import Tokenizer

MASK = ' <mask>'
ORIGINAL_KEYS = ('id', 'original_passage', 'length_of_sentences', 'cloze_passage', 'answer', 'language')


@dataclass
class ClozeItem:
    id: str
    dataset: str
    language: str
    context: str  # the passage up to the masked word, without the space before it
    answer: str
    passage: str = ''  # the whole passage, answer in place
    suffix: str = ''  # what follows the masked word (the final punctuation)
    extra: dict = field(default_factory=dict)
    file: str = ''  # where the item comes from: the cloze file or the held-out text file,
    line: int = 0  # and its line there (from 1)


def skipped_item(item: ClozeItem, kind: str, reason: str) -> dict[str, Any]:
    """The record of an item left out: where it comes from, its id, and why (kind: a short
    phrase that evaluation.results.skip_summary counts; reason: the whole message)."""
    return {'file': item.file, 'line': item.line, 'id': item.id, 'kind': kind, 'reason': reason}


NO_SPACE = 'no space before the last word'
TOO_FEW_WORDS = 'fewer than {} words before the last word'
SKIP_HINTS = {
    TOO_FEW_WORDS.split('{')[0]: 'lower --min_context_words',
    NO_SPACE: 'give --cloze_files for a language that does not put spaces between words',
}


def skip_hints(kinds: Iterable[str]) -> list[str]:
    """What to do about the reasons in kinds that a user can act on."""
    return [hint for start, hint in SKIP_HINTS.items() if any(kind.startswith(start) for kind in kinds)]


# --- items ------------------------------------------------------------------------------


def _strip_trailing_punctuation(word):
    end = len(word)
    while end > 0 and not word[end - 1].isalnum():
        end -= 1
    return word[:end]


class MaskedLine(NamedTuple):
    """A line cut around its last word, the answer of a cloze item."""

    context: str  # the words before it, without the space before it
    answer: str
    suffix: str  # what follows it (the final punctuation, if any)


def masked_or_why_not(line: str, min_context_words: int = 5) -> tuple[MaskedLine | None, str | None]:
    """(MaskedLine, None) of a line whose last word (before the final punctuation,
    if any) is made of letters only and follows a space, with at least min_context_words words
    before it; (None, why not) for other lines (too short, ending in a number, 'l'Europe', ...)."""
    line = line.rstrip()
    if not line.strip():
        return None, 'an empty line'
    words = line.split(' ')
    i = len(words) - 1
    while i >= 0 and not _strip_trailing_punctuation(words[i]):
        i -= 1  # a whitespace-separated word that is only punctuation, e.g. the French ' ?'
    if i < 1:
        return None, NO_SPACE
    answer = _strip_trailing_punctuation(words[i])
    if not answer.isalpha():
        return None, 'a last word not of letters only'
    context = ' '.join(words[:i])
    if not context.strip() or len(context.split()) < min_context_words:
        return None, TOO_FEW_WORDS.format(min_context_words)
    suffix = line[len(context) + 1 + len(answer) :]
    return MaskedLine(context, answer, suffix), None


def mask_last_word(line: str, min_context_words: int = 5) -> MaskedLine | None:
    """The MaskedLine of a line that gives a cloze item (see masked_or_why_not), or None."""
    masked, _ = masked_or_why_not(line, min_context_words)
    return masked


def items_from_lines(
    lines: Iterable[str],
    dataset: str,
    language: str,
    split: str = 'test',
    min_context_words: int = 5,
    max_items: int = 0,
    path: str = '',
) -> tuple[list[ClozeItem], Counter]:
    """(items, skipped): a cloze item for each line that gives one, in order (the first
    max_items when max_items > 0); skipped counts the lines passed over, per reason (a Counter).
    path: the file the lines were read from, which each item names with its line."""
    items, skipped = [], Counter()
    for line_number, line in enumerate(lines):
        if max_items and len(items) >= max_items:
            break
        masked, why_not = masked_or_why_not(line, min_context_words)
        if masked is None:
            skipped[why_not] += 1
            continue
        items.append(
            ClozeItem(
                id=f"{dataset}/{split}/{language}/{line_number}",
                dataset=dataset,
                language=language,
                context=masked.context,
                answer=masked.answer,
                passage=line.rstrip(),
                suffix=masked.suffix,
                file=path,
                line=line_number + 1,
            )
        )
    return items, skipped


def cloze_file_dataset(path: str) -> str:
    """The dataset a cloze file's items are reported under: the file's name."""
    return os.path.splitext(os.path.basename(path))[0]


def check_cloze_file_names(paths: Iterable[str]) -> None:
    """Refuse two cloze files reported under one name (the same file twice, or two folders'
    cloze_en.jsonl): their items would be pooled into one row, or counted twice."""
    named = {}
    for path in paths:
        first = named.get(cloze_file_dataset(path))
        if first is not None:
            raise UserError(
                f"--cloze_files names {first} and {path}, which would both be reported as "
                f"'{cloze_file_dataset(path)}' (a cloze file's name is its dataset): give "
                f"each file once, and rename one of two different files"
            )
        named[cloze_file_dataset(path)] = path


def read_cloze_file(
    path: str, dataset: str | None = None, skipped: list[dict[str, Any]] | None = None
) -> list[ClozeItem]:
    """Items of a JSON-lines file in the original format; dataset defaults to the file's name.
    A malformed item (not JSON, a key missing, no mask, an answer that can never be a hit: not one
    word, or not the word of the passage at the mask) raises UserError naming the file and
    the line; when skipped is a list, it is appended there instead ({'file', 'line', 'id', 'kind',
    'reason'}) and the item left out, so that one bad item does not refuse a whole benchmark."""
    dataset = dataset or cloze_file_dataset(path)
    if not os.path.isfile(path):
        raise UserError(f"cloze file {path} does not exist")
    items = []
    for line_number, raw in enumerate(read_text_lines(path, 'cloze file'), 1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as e:
            obj, problem = None, ('not valid JSON', f"not valid JSON ({e.msg} at column {e.colno})")
        else:
            problem = cloze_item_problem(obj)
        if problem:
            kind, reason = problem
            if skipped is None:
                raise UserError(f"{path}, line {line_number}: {reason}")
            skipped.append(
                {
                    'file': path,
                    'line': line_number,
                    'id': str(obj.get('id')) if isinstance(obj, dict) else None,
                    'kind': kind,
                    'reason': reason,
                }
            )
            continue
        context, suffix = obj['cloze_passage'].split(MASK)
        items.append(
            ClozeItem(
                id=str(obj['id']),
                dataset=dataset,
                language=obj['language'],
                context=context,
                answer=obj['answer'].strip(),
                passage=obj['original_passage'],
                suffix=suffix,
                extra={'length_of_sentences': obj['length_of_sentences']},
                file=path,
                line=line_number,
            )
        )
    return items


class ItemGroup(NamedTuple):
    """The items of one dataset and language, and where they come from."""

    items: list  # ClozeItem
    source: str  # the cloze file of its first item, or '<split> split'
    skipped: Counter  # why lines of the held-out text gave no item (none for a cloze file)


def file_item_groups(
    file_items: Mapping[str, list[ClozeItem]], languages: Sequence[str] = (), max_items: int = 0
) -> tuple[dict[tuple[str, str], ItemGroup], list[dict[str, Any]]]:
    """(groups, lacking) of the items read from cloze files, {path: items}: groups is
    {(dataset, language): ItemGroup, its source the file of its first item}, at most
    max_items per group when max_items > 0; an item in a language not in languages (when given)
    is left out, it can never be a hit, and listed in lacking (skipped_item), as read_cloze_file
    lists the malformed ones."""
    groups, lacking = {}, []
    for path, items in file_items.items():
        for item in items:
            if languages and item.language not in languages:
                lacking.append(
                    skipped_item(
                        item,
                        'a language the model lacks',
                        f"language {item.language!r} ({language_name(item.language)}): the model was "
                        f"trained on {', '.join(f'{language_name(l)} ({l})' for l in languages)}",
                    )
                )
                continue
            key = (item.dataset, item.language)
            group = groups.setdefault(key, ItemGroup([], path, Counter()))
            if not max_items or len(group.items) < max_items:
                group.items.append(item)
    return groups, lacking


def cloze_item_problem(obj: Any) -> tuple[str, str] | None:
    """(kind, message) of why a parsed line of a cloze file is not a usable item, or None."""
    not_an_item, never_a_hit = 'not an item of the original format', 'an answer that can never be a hit'
    if not isinstance(obj, dict):
        return not_an_item, (
            f"expected a JSON object with keys {', '.join(ORIGINAL_KEYS)}, got {type(obj).__name__}"
        )
    missing = [k for k in ORIGINAL_KEYS if k not in obj]
    if missing:
        return not_an_item, (
            f"missing key(s) {', '.join(missing)} (each line needs {', '.join(ORIGINAL_KEYS)})"
        )
    for key in ('original_passage', 'cloze_passage', 'answer', 'language'):
        if not isinstance(obj[key], str):
            return not_an_item, f"'{key}' must be a string, not {type(obj[key]).__name__}"
    answer = obj['answer'].strip()
    if not answer:
        return never_a_hit, "'answer' is empty"
    count = obj['cloze_passage'].count(MASK)
    if count != 1:
        return not_an_item, (
            f"'cloze_passage' must hold '{MASK.strip()}' once, after a space; it holds it {count} times"
        )
    if len(answer.split()) != 1:
        return never_a_hit, (
            f"the answer {answer!r} is not one word: a prediction (one word) can never match it"
        )
    if obj['original_passage'].strip() and answer not in obj['original_passage']:
        return never_a_hit, (
            f"the answer {answer!r} is not in 'original_passage': the item does not say which word was masked"
        )
    return None


def original_format(item: ClozeItem, length_of_sentences: int) -> dict[str, Any]:
    """An item as a line of the original format (a dict to json.dumps)."""
    return {
        'id': item.id,
        'original_passage': item.passage,
        'length_of_sentences': length_of_sentences,
        'cloze_passage': item.context + MASK + item.suffix,
        'answer': item.answer,
        'language': item.language,
    }


def context_ids(tok: Tokenizer, item: ClozeItem, max_context_tokens: int) -> list[int]:
    """The token ids the model sees: EOT (start of a line), then the context, cut from the left
    to max_context_tokens."""
    assert max_context_tokens >= 1
    ids = [tok.eot_token] + tok.encode(item.context)
    return ids[-max_context_tokens:]


NO_ROW = 'tokens the model has no row for'  # a tokenizer with more tokens than the model has rows


def items_with_rows(
    tok: Tokenizer, items: Sequence[ClozeItem], contexts: Sequence[list[int]], rows: int
) -> tuple[list[ClozeItem], list[list[int]], list[dict[str, Any]]]:
    """(items, contexts, skipped) for a model of `rows` rows: the items it can be scored on, their
    contexts, and a skipped_item (kind NO_ROW) for each of the others. An item is left out when
    its context holds a token the model has no row for, or when its answer, as the tokenizer
    writes it after a space, does: the model was never trained on any other spelling of it, so
    the item would count as a miss that no model of these rows could avoid."""
    kept, kept_contexts, skipped = [], [], []
    for item, context in zip(items, contexts):
        answer = tok.encode(' ' + item.answer)
        if ids_without_rows(context, rows):
            why = f"its context holds tokens the model has no row for (ids >= {rows})"
        elif ids_without_rows(answer, rows):
            why = f"its answer {item.answer!r} is written with {missing_rows_message(tok, answer, rows)}"
        else:
            kept.append(item)
            kept_contexts.append(context)
            continue
        skipped.append(skipped_item(item, NO_ROW, why))
    return kept, kept_contexts, skipped


# --- matching ---------------------------------------------------------------------------


def normalise_word(word: str, case_sensitive: bool = False) -> str:
    word = unicodedata.normalize('NFC', word.strip())
    return word if case_sensitive else word.casefold()


def is_hit(prediction: str, answer: str, case_sensitive: bool = False) -> bool:
    """An exact match of the whole word: 'adjourn' does not match 'adjourned'."""
    return normalise_word(prediction, case_sensitive) == normalise_word(answer, case_sensitive)


# --- token classes ----------------------------------------------------------------------

_WHITESPACE_BYTES = b' \t\n\r\x0b\x0c'


def _is_punctuation(piece):
    """bytes that decode to text with no letter or digit (punctuation, symbols); a piece that is
    not valid UTF-8 alone (part of a multi-byte letter such as 'é') is not punctuation."""
    try:
        text = piece.decode('utf-8')
    except UnicodeDecodeError:
        return False
    return not any(c.isalnum() for c in text)


def _starts_with_whitespace(piece):
    if piece[:1] and piece[:1] in _WHITESPACE_BYTES:
        return True
    try:
        return piece.decode('utf-8')[:1].isspace()  # e.g. a no-break space
    except UnicodeDecodeError:
        return False


@dataclass
class TokenClasses:
    """Per token id (padded vocabulary): which tokens may begin the masked word (a space, then
    letters or digits: the mask follows a space), which may continue it, and which end it."""

    token_bytes: list
    first: torch.Tensor  # bool (V,)
    continuation: torch.Tensor  # bool (V,)
    boundary: torch.Tensor  # bool (V,)

    def word(self, ids: Iterable[int]) -> str:
        return b''.join(self.token_bytes[i] for i in ids).decode('utf-8', errors='replace').strip()


def token_classes(
    token_bytes: Sequence[bytes],
    eot_token: int,
    padded_vocab_size: int | None = None,
    device: str | torch.device = 'cpu',
) -> TokenClasses:
    """token_bytes: the bytes of every token id (the EOT's may be anything)."""
    V = padded_vocab_size or len(token_bytes)
    first, continuation, boundary = (np.zeros(V, dtype=bool) for _ in range(3))
    for i, piece in enumerate(token_bytes):
        if i == eot_token:
            boundary[i] = True
            continue
        if not piece:
            continue
        body = piece[1:]
        first[i] = (
            piece[:1] == b' '
            and bool(body)
            and not _starts_with_whitespace(body)
            and not _is_punctuation(body)
        )
        ends_word = _starts_with_whitespace(piece) or _is_punctuation(piece)
        boundary[i] = ends_word
        continuation[i] = not ends_word
    return TokenClasses(
        list(token_bytes) + [b''] * (V - len(token_bytes)),
        *(torch.from_numpy(m).to(device) for m in (first, continuation, boundary)),
    )


def tokenizer_classes(
    tok: Tokenizer, padded_vocab_size: int, device: str | torch.device = 'cpu'
) -> TokenClasses:
    # a tokenizer may have more tokens than the model rows: the model never predicts those
    pieces = [
        b'' if i == tok.eot_token else tok.token_bytes(i) for i in range(min(tok.n_vocab, padded_vocab_size))
    ]
    return token_classes(pieces, tok.eot_token, padded_vocab_size, device)


# --- next-token scoring, with or without the KV cache ------------------------------------


class CachedScorer:
    """Next-token log-probabilities of growing sequences; the context runs once through the
    model, then each step feeds only the new token, the cache following the beams."""

    def __init__(self, model: torch.nn.Module) -> None:
        self.model, self.cache = model, None

    def _run(self, idx):
        logits = self.model.forward_cached(idx, self.cache)
        return torch.log_softmax(logits[:, -1, :].float(), dim=-1)

    def start(self, contexts: torch.Tensor) -> torch.Tensor:
        self.cache = self.model.new_cache()
        return self._run(contexts)

    def step(self, parents: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        self.cache.reorder(parents)  # each beam continues its parent's sequence
        return self._run(tokens[:, None])


class RecomputingScorer:
    """The same as CachedScorer, recomputing the whole sequence at every step (the reference
    the cached path is tested against)."""

    def __init__(self, model: torch.nn.Module) -> None:
        self.model, self.sequences = model, None

    def _run(self):
        logits, _ = self.model(self.sequences)
        return torch.log_softmax(logits[:, -1, :].float(), dim=-1)

    def start(self, contexts: torch.Tensor) -> torch.Tensor:
        self.sequences = contexts
        return self._run()

    def step(self, parents: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        self.sequences = torch.cat([self.sequences[parents], tokens[:, None]], dim=1)
        return self._run()


# --- beam search over words --------------------------------------------------------------


@torch.no_grad()
def predict_words(
    model: torch.nn.Module,
    contexts: Sequence[Sequence[int]],
    classes: TokenClasses,
    beam_width: int = 10,
    k: int = 5,
    max_word_tokens: int = 12,
    use_cache: bool = True,
    autocast: AbstractContextManager | None = None,
) -> list[list[tuple[str, float]]]:
    """The k best words (word, log-probability), best first, after each context.
    contexts: equally long lists of token ids (batch them by length); each must leave
    max_word_tokens positions free in the model's block."""
    device = classes.first.device
    scorer = (CachedScorer if use_cache else RecomputingScorer)(model)
    n = len(contexts)
    with autocast if autocast is not None else nullcontext():
        logprobs = scorer.start(torch.tensor(contexts, dtype=torch.long, device=device))
        # live beams: (item, token ids, log-probability), one row of logprobs each
        beams = [(i, (), 0.0) for i in range(n)]
        finished = [{} for _ in range(n)]  # word -> best log-probability
        for step in range(max_word_tokens + 1):
            if step > 0:
                ends = torch.logsumexp(logprobs.masked_fill(~classes.boundary, -math.inf), dim=-1)
                for (item, ids, score), end in zip(beams, ends.tolist()):
                    word, total = classes.word(ids), score + end
                    if total > finished[item].get(word, -math.inf):
                        finished[item][word] = total
            if step == max_word_tokens:
                break
            allowed = classes.first if step == 0 else classes.continuation
            top = logprobs.masked_fill(~allowed, -math.inf).topk(min(beam_width, logprobs.size(-1)), dim=-1)
            candidates = [[] for _ in range(n)]
            for row, ((item, ids, score), values, tokens) in enumerate(
                zip(beams, top.values.tolist(), top.indices.tolist())
            ):
                for value, token in zip(values, tokens):
                    if value > -math.inf:
                        candidates[item].append((score + value, row, ids + (token,)))
            new_beams, parents, new_tokens = [], [], []
            for item in range(n):
                best = sorted(candidates[item], key=lambda c: -c[0])[:beam_width]
                done = sorted(finished[item].values(), reverse=True)
                if len(done) >= k:
                    # a word's log-probability only falls as tokens are added: a beam below the
                    # k-th finished word cannot enter the top k
                    best = [c for c in best if c[0] > done[k - 1]]
                for score, row, ids in best:
                    new_beams.append((item, ids, score))
                    parents.append(row)
                    new_tokens.append(ids[-1])
            if not new_beams:
                break
            beams = new_beams
            logprobs = scorer.step(
                torch.tensor(parents, device=device), torch.tensor(new_tokens, device=device)
            )
    return [sorted(words.items(), key=lambda w: (-w[1], w[0]))[:k] for words in finished]


def predict_items(
    model: torch.nn.Module,
    item_contexts: Sequence[Sequence[int]],
    classes: TokenClasses,
    beam_width: int = 10,
    k: int = 5,
    max_word_tokens: int = 12,
    batch_size: int = 16,
    use_cache: bool = True,
    autocast: AbstractContextManager | None = None,
    progress: Callable | None = None,
) -> list[list[tuple[str, float]]]:
    """predict_words for contexts of any lengths, batched by length; results in input order."""
    by_length = {}
    for index, ids in enumerate(item_contexts):
        by_length.setdefault(len(ids), []).append(index)
    batches = [
        indices[i : i + batch_size]
        for _, indices in sorted(by_length.items())
        for i in range(0, len(indices), batch_size)
    ]
    predictions = [None] * len(item_contexts)
    for batch in progress(batches) if progress else batches:
        words = predict_words(
            model,
            [item_contexts[i] for i in batch],
            classes,
            beam_width,
            k,
            max_word_tokens,
            use_cache,
            autocast,
        )
        for index, w in zip(batch, words):
            predictions[index] = w
    return predictions


@dataclass
class ClozeAccuracy:
    """The hits of one dataset and language, as cloze.json records them (in this order): top-1
    and top-k accuracy with their 95% Wilson intervals, [low, high]."""

    items: int
    top1_hits: int
    top1_accuracy: float
    top1_accuracy_ci95: list
    topk_hits: int
    topk_accuracy: float
    topk_accuracy_ci95: list

    def as_dict(self) -> dict[str, float | int | list[float]]:
        """{metric: value}, in the order of the fields."""
        return asdict(self)


def accuracy(hits_top1: Sequence[bool], hits_topk: Sequence[bool]) -> ClozeAccuracy:
    """The ClozeAccuracy of items whose top-1 and top-k hits are hits_top1 and hits_topk (bools)."""
    n = len(hits_top1)
    top1, topk = int(sum(hits_top1)), int(sum(hits_topk))
    return ClozeAccuracy(
        items=n,
        top1_hits=top1,
        top1_accuracy=top1 / n if n else math.nan,
        top1_accuracy_ci95=list(wilson_interval(top1, n)),
        topk_hits=topk,
        topk_accuracy=topk / n if n else math.nan,
        topk_accuracy_ci95=list(wilson_interval(topk, n)),
    )
