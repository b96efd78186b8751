"""
Prompts in, text out, as sample.py does it: a prompt starts after an end-of-text token (the start
of a line, as the model saw lines in training), samples are drawn with one seeded generator that
moves on from sample to sample, and an end-of-text token in the output is written as a line break.

    for text in sample_texts(model, tokenizer, "The bank", num_samples=2, max_new_tokens=40,
                             temperature=0.8, top_k=200, seed=1337):
        print(text)

sample.py and the explorer (senses/explorer.py) both sample through here, so the same seed and
intervention give the same text in both.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING, Any

import torch

from common.tokenizer import check_rows, token_rows

if TYPE_CHECKING:
    from common.tokenizer import Tokenizer
    from model import LanguageModel


def prompt_ids(tokenizer: Tokenizer, text: str) -> list[int]:
    """The token ids the model is given for a prompt: end-of-text, then the text's tokens."""
    return [tokenizer.eot_token] + tokenizer.encode(text)


def model_prompt_ids(
    model: LanguageModel, tokenizer: Tokenizer, text: str, what: str = 'the prompt'
) -> list[int]:
    """prompt_ids, or an UserError naming the tokens the model has no row for (a converted model
    whose tokenizer has more ids than it has rows)."""
    ids = prompt_ids(tokenizer, text)
    check_rows(tokenizer, ids, model.config.vocab_size, what)
    return ids


def predictable_tokens(model: LanguageModel, tokenizer: Tokenizer) -> torch.Tensor:
    """bool (padded vocabulary,) on the model's device: the rows that are tokens of the
    tokenizer, the only ids a tool may predict, rank or draw (the others decode to nothing)."""
    rows = model.config.vocab_size
    mask = torch.zeros(model.lm_head.weight.size(0), dtype=torch.bool)
    mask[:rows] = torch.from_numpy(token_rows(tokenizer, rows))
    return mask.to(model.lm_head.weight.device)


def decode_lines(tokenizer: Tokenizer, ids: Sequence[int]) -> str:
    """Text of token ids, each end-of-text token written as a line break."""
    lines, current = [], []
    for i in ids:
        if i == tokenizer.eot_token:
            lines.append(current)
            current = []
        else:
            current.append(i)
    return '\n'.join(tokenizer.decode(line) for line in lines + [current])


@torch.no_grad()
def sample_texts(
    model: LanguageModel,
    tokenizer: Tokenizer,
    prompt: str,
    num_samples: int,
    max_new_tokens: int,
    temperature: float = 0.8,
    top_k: int | None = 200,
    seed: int = 1337,
    autocast: AbstractContextManager | None = None,
    **forward_kwargs: Any,
) -> Iterator[str]:
    """Yield num_samples texts (the prompt and its continuation), drawn with one generator
    seeded with seed. forward_kwargs go to the model's forward pass while generating (the
    Backpack's token_sense_scale, for instance). autocast: a context for mixed precision. Only
    tokens of the tokenizer are drawn; a prompt holding tokens the model has no row for is an
    UserError."""
    device = model.lm_head.weight.device
    ids = model_prompt_ids(model, tokenizer, prompt)
    x = torch.tensor(ids, dtype=torch.long, device=device)[None, :]
    allowed = predictable_tokens(model, tokenizer)
    generator = torch.Generator(device=device)
    generator.manual_seed(seed)
    for _ in range(num_samples):
        with autocast or nullcontext():
            y = model.generate(
                x,
                max_new_tokens,
                temperature=temperature,
                top_k=top_k or None,
                use_cache=True,
                generator=generator,
                allowed=allowed,
                **forward_kwargs,
            )
        yield decode_lines(tokenizer, y[0, 1:].tolist())  # without the end-of-text token put first
