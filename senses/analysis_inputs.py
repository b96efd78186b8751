"""
What every sense analysis reads, in one record: sense_visualisation.py builds it once (the
checkpoint, its tokenizer and data, the languages of the held-out data, the gold senses, the
baseline, the options of its command line) and hands it to each analysis, `module.run(inputs)`.
A new analysis reads what it needs from here; nothing else changes.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import NamedTuple

import torch

from common.tokenizer import Tokenizer
from senses.gold import GoldSenses


class LabelledModel(NamedTuple):
    """A model the probe and the similarity compare: the checkpoint analysed (first), then its
    baselines, each with its name in the tables ('backpack-lm', 'gpt2 (baseline)')."""

    label: str
    model: torch.nn.Module
    tokenizer: Tokenizer


@dataclass(frozen=True)
class AnalysisOptions:
    """The options of sense_visualisation.py that the analyses read (its docstring and config
    block say what each means); the defaults are its defaults."""

    max_sentences: int = 300  # usage: aligned sentences; probe: annotated lines
    words: tuple[tuple[str, str], ...] = ()  # projection: [(word, language or '')]; () = the default list
    multi_token: str = 'first'
    skip_split_words: bool = True
    top_k: int = 10
    whole_words: bool = True
    report_words: int = 8
    figure_words: int = 6
    translation_pairs: str = ''
    max_pairs: int = 1000
    simlex: str = ''
    similarity_csv: str = ''
    intervention_words: str = ''
    intervention_senses: int = 1
    intervention_prompts: int = 40
    max_new_tokens: int = 20
    n_permutations: int = 1000
    n_bootstrap: int = 1000
    seed: int = 0
    batch_size: int = 32


@dataclass(frozen=True)
class AnalysisInputs:
    """The checkpoint analysed and everything around it. languages: the codes of the held-out
    data (meta.json order); gold: the demo corpus's gold senses of `dataset`, or None; models:
    the checkpoint then its baselines (the probe and the similarity read them all); autocast:
    the context the forward passes run in."""

    model: torch.nn.Module
    tokenizer: Tokenizer
    data_root: str
    dataset: str
    languages: tuple[str, ...]
    split: str = 'test'
    gold: GoldSenses | None = None
    models: tuple[LabelledModel, ...] = ()
    checkpoint_label: str = ''  # names the checkpoint in senses.tex: 'out (backpack-lm)'
    autocast: AbstractContextManager = field(default_factory=nullcontext)
    report_dir: str = '.'
    options: AnalysisOptions = AnalysisOptions()

    @property
    def lexicon(self) -> dict | None:
        """The gold sense lexicon {(word, language): entry}, or None without gold senses."""
        return self.gold.lexicon if self.gold is not None else None
