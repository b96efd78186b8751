"""
Any checkpoint the project reads (ours, converted ones; GPT-2 or Backpack) as a model of
EleutherAI's lm-evaluation-harness (`pip install lm-eval==0.4.13`, the version it was tested
with), registered as 'multilingual-backpack':

    import evaluation.harness_model  # registers the model with the harness
    lm_eval.simple_evaluate(model='multilingual-backpack', model_args='out_dir=out-bkp-mini-16', tasks=[...])
$ python -m evaluation.harness_model --model multilingual-backpack --model_args out_dir=DIR --tasks ...

(the second is lm-eval's own command line, run after this module registered the model: the
harness finds only the models that were imported). lm_eval_harness.py is the script around it.

How text becomes tokens, the project's conventions, each checkpoint with its own tokenizer:
- a line break is the end-of-text (EOT) token: the models were trained on lines, each followed by
  EOT, and never saw a newline token;
- the model reads every context after EOT (the start of a line, as sample.py and cloze_test.py
  give prompts): loglikelihood scores the continuation's tokens after [EOT] + context, so with an
  empty context (a minimal-pair task) it is the log-probability of the sentence after EOT;
- loglikelihood_rolling reads a document as perplexity_per_lang.py reads held-out text (its
  lines, each followed by EOT) and scores it with the same sliding windows
  (evaluation/perplexity.py token_nll, the same block size and stride): its value is minus the
  NLL perplexity_per_lang.py gives that text;
- generate_until continues [EOT] + context with the key/value cache, greedily unless the task asks
  to sample, and stops at the task's `until` strings, at EOT (the end of the text) or after
  max_gen_toks tokens; only tokens of the tokenizer are generated.
A request holding tokens the model has no row for (a converted model whose tokenizer has more ids
than rows) is refused with a UserError: the harness has no way to skip a request.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

try:
    from lm_eval.api.model import LM
    from lm_eval.api.registry import register_model
except ImportError:  # `python -m evaluation.harness_model` without the harness: say how, no traceback
    if __name__ != '__main__':
        raise
    sys.exit("lm-evaluation-harness is not installed: pip install lm-eval==0.4.13 (the version tested)")

from common.checkpoint import load_model
from common.device_setup import autocast_context, default_device, resolve_device
from common.errors import UserError
from common.sampling import predictable_tokens
from common.tokenizer import check_rows
from data.prepared import tokenize_lines
from evaluation.checkpoints import checkpoint_data_root, checkpoint_tokenizer
from evaluation.perplexity import token_nll

if TYPE_CHECKING:
    from lm_eval.api.instance import Instance

    from common.tokenizer import Tokenizer

MODEL_NAME = 'multilingual-backpack'
TESTED_VERSION = '0.4.13'
DEFAULT_MAX_GEN_TOKS = 256  # the harness's own default


def text_ids(tok: Tokenizer, text: str) -> list[int]:
    """The token ids of text, each line break an EOT (lines are tokenized independently)."""
    lines = text.split('\n')
    return [int(i) for i in tok.encode_lines_with_eot(lines)[:-1]]


def document_ids(tok: Tokenizer, text: str) -> np.ndarray:
    """A document as held-out text is scored: its lines (one final newline dropped, as a file's
    last line ends), each followed by EOT; the stream perplexity_per_lang.py scores."""
    ids, _ = tokenize_lines(tok, text.removesuffix('\n').split('\n'))
    return ids


def continuation_ids(tok: Tokenizer, context: str, continuation: str) -> tuple[list[int], list[int]]:
    """(context ids, continuation ids): [EOT] + context, and what the whole text adds to it, as
    the harness splits a pair (trailing spaces of the context go to the continuation)."""
    spaces = len(context) - len(context.rstrip(' '))
    if spaces:
        context, continuation = context[:-spaces], context[-spaces:] + continuation
    context_ids = [tok.eot_token] + (text_ids(tok, context) if context else [])
    whole = [tok.eot_token] + text_ids(tok, context + continuation)
    return context_ids, whole[len(context_ids) :]


def stop_at(text: str, until: Sequence[str]) -> str | None:
    """text cut before the first of the stop strings it holds, or None when it holds none."""
    cuts = [text.index(s) for s in until if s and s in text]
    return text[: min(cuts)] if cuts else None


def batch_size_value(batch_size: Any, default: int = 8) -> int:
    """The harness passes --batch_size as given: an int, its text, None or 'auto'; 'auto' (which
    tunes to the GPU's memory in the harness's own models) means the default here."""
    if batch_size is None or str(batch_size).startswith('auto'):
        return default
    try:
        value = int(batch_size)
    except ValueError:
        value = 0
    if value < 1:
        raise UserError(f"batch_size={batch_size!r}: give a whole number >= 1 (or 'auto': {default})")
    return value


@register_model(MODEL_NAME)
class CheckpointLM(LM):
    """A checkpoint of this project as an lm-evaluation-harness model.

    out_dir: the checkpoint (out_dir/ckpt.pt, or a .pt file); device ('' or None: cuda when there
    is one); dtype: 'auto', 'float32', 'bfloat16' or 'float16'; batch_size: sequences (windows,
    for loglikelihood_rolling) per forward pass; data_root: where the checkpoint's tokenizer is,
    when not where it was trained; stride: loglikelihood_rolling's new tokens per window (0:
    block_size // 2, perplexity_per_lang.py's default); seed: for tasks that sample."""

    def __init__(
        self,
        out_dir: str,
        device: str | None = None,
        dtype: str = 'auto',
        batch_size: int | str | None = 8,
        data_root: str = '',
        stride: int = 0,
        seed: int = 1234,
        max_batch_size: int | None = None,  # passed by the harness to every model; unused
        **unknown: Any,
    ) -> None:
        super().__init__()
        if unknown:
            raise UserError(
                f"{MODEL_NAME} has no model argument {', '.join(sorted(unknown))}: it takes out_dir, "
                f"device, dtype, batch_size, data_root, stride and seed"
            )
        device = device or default_device()
        _, self.dtype = resolve_device(device, dtype or 'auto')
        self.autocast = autocast_context(device, self.dtype)
        self.batch_size = batch_size_value(batch_size)
        self.model, self.checkpoint = load_model(str(out_dir), device)
        self.tok = checkpoint_tokenizer(
            self.checkpoint, checkpoint_data_root(self.checkpoint, data_root), self.model
        )
        self.block_size = self.model.config.block_size
        self.stride = int(stride) or max(1, self.block_size // 2)
        if not 1 <= self.stride <= self.block_size:
            raise UserError(
                f"stride={stride}: choose 1..{self.block_size} (the block size), or 0 for block_size // 2"
            )
        self.allowed = predictable_tokens(self.model, self.tok)
        self.seed = int(seed)
        self._device = torch.device(device)
        self.out_dir = str(out_dir)

    def _check_rows(self, ids: Sequence[int], request: str) -> None:
        check_rows(self.tok, ids, self.model.config.vocab_size, f"the request {request[:80]!r}")

    def _logits(self, idx: torch.Tensor) -> torch.Tensor:
        with self.autocast:
            logits, _ = self.model(idx, all_logits=True)
        return logits.float()

    # --- loglikelihood -------------------------------------------------------------------------

    def loglikelihood(self, requests: list[Instance], disable_tqdm: bool = False) -> list[tuple[float, bool]]:
        """(log-probability of the continuation after [EOT] + context, whether greedy decoding
        would give it) for each request's (context, continuation), batched by length."""
        scored = []  # (ids, number of continuation tokens at their end)
        for request in requests:
            context, continuation = request.args[:2]
            context_ids, cont_ids = continuation_ids(self.tok, context, continuation)
            if len(cont_ids) > self.block_size:
                raise UserError(
                    f"a continuation of {len(cont_ids)} tokens ({continuation[:60]!r}...) is longer "
                    f"than the model's block size ({self.block_size}): it cannot be scored in one window"
                )
            self._check_rows(context_ids + cont_ids, context + continuation)
            scored.append((context_ids + cont_ids, len(cont_ids)))
        return self._score_continuations(scored, disable_tqdm)

    @torch.no_grad()
    def _score_continuations(
        self, scored: list[tuple[list[int], int]], disable_tqdm: bool = False
    ) -> list[tuple[float, bool]]:
        """For each (ids, n): the summed log-probability of the last n ids given those before
        (the last block_size + 1 ids read), and whether each is the most probable token."""
        windows = [(ids[-(self.block_size + 1) :], n) for ids, n in scored]
        order = sorted(range(len(windows)), key=lambda i: -len(windows[i][0]))  # longest first
        results: list[tuple[float, bool]] = [(0.0, True)] * len(windows)
        batches = [order[i : i + self.batch_size] for i in range(0, len(order), self.batch_size)]
        for batch in tqdm(batches, desc='loglikelihood', disable=disable_tqdm or None, leave=False):
            T = len(windows[batch[0]][0]) - 1
            # padded on the right with EOT: causal attention never lets a position see them
            idx = torch.full((len(batch), T), self.tok.eot_token, dtype=torch.long)
            for row, i in enumerate(batch):
                ids = windows[i][0]
                idx[row, : len(ids) - 1] = torch.tensor(ids[:-1])
            logprobs = F.log_softmax(self._logits(idx.to(self.device)), dim=-1)
            for row, i in enumerate(batch):
                ids, n = windows[i]
                positions = torch.arange(len(ids) - 1 - n, len(ids) - 1, device=self.device)
                targets = torch.tensor(ids[-n:], device=self.device)
                rows = logprobs[row, positions]
                greedy = rows.masked_fill(~self.allowed, float('-inf')).argmax(dim=-1)
                total = rows.gather(-1, targets[:, None]).double().sum().item()
                results[i] = (total, bool((greedy == targets).all()))
        return results

    def loglikelihood_rolling(self, requests: list[Instance], disable_tqdm: bool = False) -> list[float]:
        """The log-probability of each document, read as held-out text with perplexity_per_lang's
        sliding windows: minus the NLL that script gives the same text."""
        results = []
        for request in tqdm(
            requests, desc='loglikelihood_rolling', disable=disable_tqdm or None, leave=False
        ):
            (text,) = request.args[:1]
            ids = document_ids(self.tok, text)
            self._check_rows(ids.tolist(), text)
            nll = token_nll(
                self.model, ids, self.tok.eot_token, self.block_size, self.stride, self.batch_size,
                str(self.device), self.autocast,
            )  # fmt: skip
            results.append(-float(nll.sum()))
        return results

    # --- generate_until ------------------------------------------------------------------------

    def generate_until(self, requests: list[Instance], disable_tqdm: bool = False) -> list[str]:
        """The continuation of each context, cut at the first of its `until` strings; requests
        whose context has as many tokens and that ask for the same generation share a batch."""
        groups: dict[tuple, list[int]] = {}
        prompts = []
        for i, request in enumerate(requests):
            context, gen_kwargs = request.args[:2]
            ids = [self.tok.eot_token] + text_ids(self.tok, context)
            self._check_rows(ids, context)
            settings = generation_settings(gen_kwargs)
            prompts.append(ids)
            groups.setdefault((len(ids), settings), []).append(i)
        results = [''] * len(requests)
        batches = [
            (settings, members[j : j + self.batch_size])
            for (_, settings), members in groups.items()
            for j in range(0, len(members), self.batch_size)
        ]
        for settings, batch in tqdm(
            batches, desc='generate_until', disable=disable_tqdm or None, leave=False
        ):
            texts = self._generate([prompts[i] for i in batch], *settings)
            for i, text in zip(batch, texts):
                results[i] = text
                self.cache_hook.add_partial('generate_until', requests[i].args, text)
        return results

    def _continuation_text(self, ids: Sequence[int], until: Sequence[str]) -> tuple[str, bool]:
        """(the text of generated ids up to EOT and the first stop string, whether it stopped)."""
        ids = list(ids)
        ended = self.tok.eot_token in ids
        text = self.tok.decode(ids[: ids.index(self.tok.eot_token)] if ended else ids)
        cut = stop_at(text, until)
        return (text if cut is None else cut), ended or cut is not None

    @torch.no_grad()
    def _generate(
        self,
        prompts: list[list[int]],
        until: tuple[str, ...],
        max_gen_toks: int,
        temperature: float,
        top_k: int,
    ) -> list[str]:
        """Continue prompts (all of one length) together, as LanguageModel.generate does (the
        cache, and its window recomputed past the block size), stopping once every row stopped."""
        model, n_prompt = self.model, len(prompts[0])
        idx = torch.tensor(prompts, dtype=torch.long, device=self.device)
        generator = torch.Generator(device=self.device).manual_seed(self.seed)
        cache, fed = None, 0
        for _ in range(max_gen_toks):
            if idx.size(1) > self.block_size:
                idx_cond, cache = idx[:, -self.block_size :], None
            else:
                idx_cond = idx
            if cache is None:
                cache, fed = model.new_cache(), 0
            with self.autocast:
                logits = model.forward_cached(idx_cond[:, fed:], cache)
            fed = idx_cond.size(1)
            if fed >= self.block_size:
                cache = None  # the next step slides the window: start again
            logits = logits[:, -1, :].float().masked_fill(~self.allowed, float('-inf'))
            if temperature == 0:
                idx_next = logits.argmax(dim=-1, keepdim=True)
            else:
                logits = logits / temperature
                if top_k:
                    v, _ = torch.topk(logits, min(top_k, logits.size(-1)))
                    logits[logits < v[:, [-1]]] = float('-inf')
                idx_next = torch.multinomial(F.softmax(logits, dim=-1), num_samples=1, generator=generator)
            idx = torch.cat((idx, idx_next), dim=1)
            if all(self._continuation_text(row[n_prompt:], until)[1] for row in idx.tolist()):
                break
        return [self._continuation_text(row[n_prompt:], until)[0] for row in idx.tolist()]


def generation_settings(gen_kwargs: dict[str, Any] | None) -> tuple[tuple[str, ...], int, float, int]:
    """(until, max_gen_toks, temperature, top_k) of a generate_until request's keyword arguments:
    greedy (temperature 0) unless it sets do_sample=True."""
    kwargs = dict(gen_kwargs or {})
    until = kwargs.pop('until', None) or ()
    until = (until,) if isinstance(until, str) else tuple(until)
    max_gen_toks = int(kwargs.pop('max_gen_toks', DEFAULT_MAX_GEN_TOKS))
    do_sample = bool(kwargs.pop('do_sample', False))
    temperature = float(kwargs.pop('temperature', 1.0 if do_sample else 0.0))
    top_k = int(kwargs.pop('top_k', 0) or 0)
    if not do_sample:
        temperature = 0.0
    if max_gen_toks < 1 or temperature < 0 or top_k < 0:
        raise UserError(
            f"generation settings {gen_kwargs}: max_gen_toks must be >= 1, temperature and top_k >= 0"
        )
    return until, max_gen_toks, temperature, top_k


if __name__ == '__main__':
    # lm-eval's command line, with this model registered (lm_eval run --model multilingual-backpack ...)
    from lm_eval.__main__ import cli_evaluate

    from common.errors import exit_on_user_error

    exit_on_user_error()  # a UserError (a wrong out_dir) ends with its message, not a traceback
    cli_evaluate()
