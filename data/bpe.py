"""
Training the project's tokenizer: a byte-level BPE learned jointly on English and French with the
Hugging Face `tokenizers` library (fast, Rust) on a language-balanced sample, then saved in
tiktoken's file format (common/tokenizer.py reads it; every encode goes through tiktoken):

    <data_root>/tokenizers/<name>.tiktoken   one "<base64 token bytes> <rank>" line per token
    <data_root>/tokenizers/<name>.json       vocab size, pre-tokenization regex, special tokens,
                                             training sample sizes, per-language compression

Ranks are the byte values 0..255 followed by the merged tokens in the order the trainer learned
them, and `<|endoftext|>` (EOT) is the last id, so vocab_size counts it.

    from data.bpe import train_bpe_tokenizer
    tok = train_bpe_tokenizer({"en": english_lines, "fr": french_lines}, vocab_size=10000,
                              name="europarl-bpe10k", data_root="data")
"""

from __future__ import annotations

import hashlib
import heapq
import json
import os
import sys
from collections.abc import Iterable, Iterator
from typing import NamedTuple

import tiktoken

from common.atomic_files import fsync, written_together
from common.errors import UserError
from common.tokenizer import (
    EOT,
    TOKENIZERS_DIR,
    TiktokenTokenizer,
    Tokenizer,
    byte_decoder,
    tiktoken_file_bytes,
    tokenizer_paths,
)

DEFAULT_VOCAB_SIZE = 10000  # as in the original project; EOT included

# Pre-tokenization: text is cut into pieces (a word with its leading space, a run of digits, a run
# of punctuation, a run of whitespace) and BPE merges never cross pieces. This is GPT-2's regex
# minus its lookahead `\s+(?!\S)` (which leaves the last space of a run to the next word): without
# lookaround, tiktoken runs it on Rust's fast regex engine, about twice as fast, and it leaves the
# trainer's regex engine (Oniguruma) and tiktoken's less to disagree on (train_bpe_tokenizer
# checks that both encode held-out text identically). Only runs of several whitespace characters
# are cut differently from GPT-2.
PRETOKENIZE_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+"""


def _training_sample(
    texts_by_lang, max_bytes_per_language, heldout_every, max_heldout_lines, batch_lines=1000
):
    """Batches of training lines, language-balanced by UTF-8 bytes, plus what was held out.

    Always reads next from the language with the fewest bytes so far, and stops when one language
    runs out or all reach `max_bytes_per_language`. Line i of a language (counting non-empty
    lines) is held out when i % heldout_every == heldout_every - 1, so parallel inputs give held-out
    lines that are translations of each other. Fills `sample` (sizes and held-out lines)."""
    sample = {lang: {"lines": 0, "bytes": 0, "read": 0, "heldout": []} for lang in texts_by_lang}
    iterators = {lang: iter(texts) for lang, texts in texts_by_lang.items()}
    queue = [(0, i, lang) for i, lang in enumerate(iterators)]  # (bytes so far, tie-break, lang)
    batch = []

    def generate():
        nonlocal batch
        while queue:
            used, order, lang = heapq.heappop(queue)
            if used >= max_bytes_per_language:
                continue  # this language is full; the others may still catch up
            line = next(iterators[lang], None)
            if line is None:
                break  # one language ran out: stop all to keep the sample balanced
            line = line.strip()
            if not line:
                heapq.heappush(queue, (used, order, lang))
                continue
            stats = sample[lang]
            stats["read"] += 1
            if heldout_every and stats["read"] % heldout_every == 0:
                if len(stats["heldout"]) < max_heldout_lines:
                    stats["heldout"].append(line)
                    heapq.heappush(queue, (used, order, lang))
                    continue
            size = len(line.encode("utf-8"))
            stats["lines"] += 1
            stats["bytes"] += size
            batch.append(line)
            if len(batch) >= batch_lines:
                yield batch
                batch = []
            heapq.heappush(queue, (used + size, order, lang))
        if batch:
            yield batch

    return generate(), sample


def compression_stats(tok: Tokenizer, lines: Iterable[str]) -> dict[str, int | float]:
    """Tokens per whitespace-separated word and UTF-8 bytes per token of `lines` (no EOT counted)."""
    lines = list(lines)
    tokens = sum(len(ids) for ids in tok.encode_batch(lines))
    words = sum(len(line.split()) for line in lines)
    n_bytes = sum(len(line.encode("utf-8")) for line in lines)
    return {
        "lines": len(lines),
        "words": words,
        "bytes": n_bytes,
        "tokens": tokens,
        "tokens_per_word": round(tokens / max(words, 1), 4),
        "bytes_per_token": round(n_bytes / max(tokens, 1), 4),
    }


def train_bpe_tokenizer(
    texts_by_lang: dict[str, Iterable[str]],
    vocab_size: int = DEFAULT_VOCAB_SIZE,
    name: str | None = None,
    data_root: str = "data",
    max_bytes_per_language: int = 64_000_000,
    heldout_by_lang: dict[str, list[str]] | None = None,
    heldout_every: int = 50,
    max_heldout_lines: int = 2000,
    extra_info: dict | None = None,
    verbose: bool = True,
) -> Tokenizer:
    """Train a byte-level BPE with `vocab_size` tokens (EOT included) on a language-balanced sample
    of `texts_by_lang` ({"en": iterable of lines, "fr": ...}), save it under
    <data_root>/tokenizers/<name>.tiktoken (+ .json) and return it loaded through tiktoken.

    Compression per language is measured on held-out text: `heldout_by_lang` when given, else
    every `heldout_every`-th line of each language, kept out of training. `extra_info` is added to
    the .json (e.g. which corpora the text came from)."""
    if name is None:
        name = _default_name(list(texts_by_lang), vocab_size)
    _check_vocab_size(vocab_size)
    batches, sample = _training_sample(
        texts_by_lang,
        max_bytes_per_language,
        0 if heldout_by_lang is not None else heldout_every,
        max_heldout_lines,
    )
    model = _train_merges(batches, vocab_size, verbose)
    if not any(stats["bytes"] for stats in sample.values()):
        raise UserError(
            f"tokenizer '{name}': no training text (languages {list(texts_by_lang)} gave no lines)"
        )
    ranks = _ranks_in_learned_order(model)
    special_tokens = {EOT: len(ranks)}
    if len(ranks) + 1 < vocab_size:  # saved under a name that promises vocab_size, it would mislead
        raise _too_few_tokens(name, len(ranks) + 1, vocab_size)
    encoding = tiktoken.Encoding(
        name, pat_str=PRETOKENIZE_PATTERN, mergeable_ranks=ranks, special_tokens=special_tokens
    )
    heldout = _heldout_text(heldout_by_lang, sample)
    tiktoken_path, json_path = tokenizer_paths(name, data_root)
    os.makedirs(os.path.dirname(tiktoken_path), exist_ok=True)
    data = tiktoken_file_bytes(ranks)
    tok = TiktokenTokenizer(
        encoding, name, hashlib.sha256(data).hexdigest(), os.path.join(TOKENIZERS_DIR, name + ".tiktoken")
    )
    agreement = _trainer_agreement(model, ranks, tok, heldout)
    compression = {lang: compression_stats(tok, lines) for lang, lines in heldout.items() if lines}
    heldout_rule = f"every {heldout_every}th line, at most {max_heldout_lines}"
    if heldout_by_lang is not None:
        heldout_rule = "given"
    info = _tokenizer_json(
        tok, vocab_size, special_tokens, sample, max_bytes_per_language, heldout_rule, compression, agreement
    )
    info.update(extra_info or {})
    _save(info, data, tiktoken_path, json_path)
    if verbose:
        _print_report(tok, tiktoken_path, sample, compression, agreement)
    return tok


def _default_name(languages: list[str], vocab_size: int) -> str:
    return f"{'-'.join(languages)}-bpe{vocab_size // 1000}k" if vocab_size % 1000 == 0 else f"bpe{vocab_size}"


def _too_few_tokens(name: str, supported: int, vocab_size: int) -> UserError:
    return UserError(
        f"tokenizer '{name}': the training text supports only {supported:,} tokens, "
        f"not the {vocab_size:,} asked for. Ask for --vocab_size={supported} or "
        f"fewer, or train on more text; nothing was saved."
    )


def _check_vocab_size(vocab_size: int) -> None:
    if vocab_size <= 257:
        raise UserError(
            f"vocab_size={vocab_size}: a byte-level BPE needs more than 257 tokens (256 bytes + EOT)"
        )
    if vocab_size > 2**32 - 1:
        raise UserError(f"vocab_size={vocab_size} is too large for uint32 token ids")


def _train_merges(batches: Iterator[list[str]], vocab_size: int, verbose: bool):
    """The Hugging Face `tokenizers` BPE trained on `batches` of lines: our pre-tokenization, then
    byte-level, `vocab_size` - 1 tokens (EOT is added after, as the last id)."""
    import tokenizers as hf

    model = hf.Tokenizer(hf.models.BPE())
    model.pre_tokenizer = hf.pre_tokenizers.Sequence(
        [
            hf.pre_tokenizers.Split(hf.Regex(PRETOKENIZE_PATTERN), behavior="isolated"),
            hf.pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    trainer = hf.trainers.BpeTrainer(
        vocab_size=vocab_size - 1,  # EOT is added after, as the last id
        initial_alphabet=hf.pre_tokenizers.ByteLevel.alphabet(),
        special_tokens=[],
        show_progress=verbose and sys.stderr.isatty(),
    )
    model.train_from_iterator(batches, trainer=trainer)
    return model


def _ranks_in_learned_order(model) -> dict[bytes, int]:
    """tiktoken's ranks: the 256 bytes, then each merged token in the order it was learned."""
    decode = byte_decoder()
    ranks = {bytes([b]): b for b in range(256)}
    merges = json.loads(model.to_str())["model"]["merges"]
    for merge in merges:
        left, right = merge.split(" ") if isinstance(merge, str) else merge
        token = bytes(decode[c] for c in left + right)
        if token not in ranks:
            ranks[token] = len(ranks)
    return ranks


def _heldout_text(heldout_by_lang: dict[str, list[str]] | None, sample: dict) -> dict[str, list[str]]:
    """Held-out text: what was given, or what was set aside, trimmed to line indices every
    language reached."""
    if heldout_by_lang is not None:
        return {
            lang: [line.strip() for line in lines if line.strip()] for lang, lines in heldout_by_lang.items()
        }
    shortest = min(len(stats["heldout"]) for stats in sample.values())
    return {lang: stats["heldout"][:shortest] for lang, stats in sample.items()}


class Agreement(NamedTuple):
    """How many held-out lines the trainer's own encoder and tiktoken tokenize differently."""

    mismatched: int
    compared: int


def _trainer_agreement(
    model, ranks: dict[bytes, int], tok: Tokenizer, heldout: dict[str, list[str]]
) -> Agreement:
    """The trainer's own encoder and tiktoken must agree token for token."""
    decode = byte_decoder()
    agreement_lines = [line for lines in heldout.values() for line in lines]
    to_bytes = {token_id: bytes(decode[c] for c in token) for token, token_id in model.get_vocab().items()}
    trainer_ids = [[ranks[to_bytes[i]] for i in enc.ids] for enc in model.encode_batch(agreement_lines)]
    mismatches = sum(a != b for a, b in zip(trainer_ids, tok.encode_batch(agreement_lines)))
    return Agreement(mismatches, len(agreement_lines))


def _tokenizer_json(
    tok: Tokenizer,
    vocab_size: int,
    special_tokens: dict[str, int],
    sample: dict,
    max_bytes_per_language: int,
    heldout_rule: str,
    compression: dict,
    agreement: Agreement,
) -> dict:
    """The tokenizer's .json: what it is, what it was trained on, how well it compresses."""
    import tokenizers as hf

    return {
        "name": tok.name,
        "sha256": tok.sha256,
        "vocab_size": tok.n_vocab,
        "requested_vocab_size": vocab_size,
        "eot_token": tok.eot_token,
        "pat_str": PRETOKENIZE_PATTERN,
        "special_tokens": special_tokens,
        "training_sample": {
            lang: {"lines": stats["lines"], "bytes": stats["bytes"]} for lang, stats in sample.items()
        },
        "max_bytes_per_language": max_bytes_per_language,
        "heldout": heldout_rule,
        "compression_heldout": compression,
        "trainer_tiktoken_mismatched_lines": agreement.mismatched,
        "trainer_tiktoken_compared_lines": agreement.compared,
        "versions": {"tokenizers": hf.__version__, "tiktoken": tiktoken.__version__},
    }


def _save(info: dict, data: bytes, tiktoken_path: str, json_path: str) -> None:
    """The .json, then the .tiktoken last: its presence says the tokenizer exists, so an
    interrupted save is trained again."""
    contents = {
        json_path: (json.dumps(info, indent=2, ensure_ascii=False) + "\n").encode("utf-8"),
        tiktoken_path: data,
    }
    with written_together({path: path for path in contents}, os.path.dirname(tiktoken_path)) as tmp:
        for path, content in contents.items():
            with open(tmp[path], "wb") as f:
                f.write(content)
            fsync(tmp[path])


def _print_report(
    tok: Tokenizer, tiktoken_path: str, sample: dict, compression: dict, agreement: Agreement
) -> None:
    sizes = ", ".join(
        f"{lang} {stats['lines']:,} lines / {stats['bytes'] / 1e6:.1f} MB" for lang, stats in sample.items()
    )
    print(f"tokenizer '{tok.name}': {tok.n_vocab:,} tokens (EOT = {tok.eot_token}) trained on {sizes}")
    for lang, stats in compression.items():
        print(
            f"  {lang}: {stats['tokens_per_word']:.3f} tokens/word, {stats['bytes_per_token']:.3f} bytes/token "
            f"on {stats['lines']:,} held-out lines"
        )
    if agreement.mismatched:
        print(
            f"  warning: tiktoken and the trainer tokenize {agreement.mismatched} of {agreement.compared} held-out "
            f"lines differently (tiktoken's ids are the ones used everywhere and still decode exactly; "
            f"differences mean the two do not pre-tokenize or merge alike)"
        )
    print(f"  saved {tiktoken_path} (sha256 {tok.sha256[:16]}...)")
