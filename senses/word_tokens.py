"""
Where a word sits among the tokens: the tokens of a word inside a sentence, the first tokens of
a lexicon entry's translations per sense, a word's single-token surface forms, and the token of
an annotated occurrence in a line.
"""

from __future__ import annotations

import re

from common.tokenizer import Tokenizer


def word_tokens(tokenizer: Tokenizer, word: str) -> list[int]:
    """The token ids of a word as it appears inside a sentence (after a space). A word that is
    split into several tokens while another casing of it is a single token ('council' ->
    ' Council', where the corpus capitalises institutions) is that single token. When the space
    is a token of its own, it is left out: a split word's first token is then its first piece."""
    word = word.strip()
    ids = tokenizer.encode(' ' + word)
    if len(ids) > 1:
        for variant in (word.lower(), word[:1].upper() + word[1:], word[:1].lower() + word[1:]):
            variant_ids = tokenizer.encode(' ' + variant)
            if len(variant_ids) == 1:
                return variant_ids
    while len(ids) > 1 and not tokenizer.token_bytes(ids[0]).strip():
        ids = ids[1:]
    return ids


def translation_candidates(
    tokenizer: Tokenizer, entry: dict, field: str = 'translations'
) -> tuple[list[list[int]], list[int]]:
    """Per sense of a lexicon entry, the first tokens of its words in `field` (translations or
    context_words), tokens shared by two senses removed. Returns (candidates, shared)."""
    return candidate_tokens([[word_tokens(tokenizer, w) for w in sense[field]] for sense in entry['senses']])


def candidate_tokens(sense_words: list[list[list[int]]]) -> tuple[list[list[int]], list[int]]:
    """Per sense, the first tokens of its words (a list of token-id lists), minus the tokens
    two senses share (they could not tell the senses apart). Returns (candidates, shared ids)."""
    firsts = [{ids[0] for ids in words if ids} for words in sense_words]
    shared = set()
    for a in range(len(firsts)):
        for b in range(a + 1, len(firsts)):
            shared |= firsts[a] & firsts[b]
    return [sorted(f - shared) for f in firsts], sorted(shared)


def surface_variant_tokens(tokenizer: Tokenizer, word: str) -> list[int]:
    """The single-token ids of a word's surface forms: ' word', 'word' (line start, after an
    apostrophe) and the capitalised forms. Empty when none of them is a single token."""
    word = word.strip()
    variants = dict.fromkeys(
        [' ' + word, word, ' ' + word[:1].upper() + word[1:], word[:1].upper() + word[1:]]
    )
    ids = []
    for text in variants:
        encoded = tokenizer.encode(text)
        if len(encoded) == 1 and encoded[0] not in ids:
            ids.append(encoded[0])
    return ids


def occurrence_token_index(
    tokenizer: Tokenizer, line: str, ids: list[int], word_index: int, word: str
) -> int | None:
    """The index in ids of the first token of `word`, the word_index-th whitespace word of the
    line (or the part of it that is `word`, e.g. 'assemblée' in "l'assemblée"); None if the
    line has no such word."""
    matches = list(re.finditer(r'\S+', line))
    if word_index < 0 or word_index >= len(matches):
        return None
    match = matches[word_index]
    inside = match.group().lower().find(word.lower()) if word else -1
    char_start = match.start() + max(inside, 0)
    byte_start = len(line[:char_start].encode('utf-8'))
    offset = 0
    for i, token_id in enumerate(ids):
        end = offset + len(tokenizer.token_bytes(token_id))
        if offset <= byte_start < end:
            return i
        offset = end
    return None
