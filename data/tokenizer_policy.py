"""
Which tokenizer a prepare script uses, by one rule for every script: the datasets prepared
together share one tokenizer, trained on the training lines of all their languages (each
language's lines interleaved across the corpora that have it) when it does not exist yet, and
loaded when it does. --tokenizer is checked before any work: a name no tokenizer has is refused
as a likely typo (unless --train_tokenizer=True), and a tokenizer not trained on a language of the
data is refused (unless --allow_new_languages=True), with what to do instead.
"""

from __future__ import annotations

import difflib
import itertools
import json
import os
from collections.abc import Callable

from common import tokenizer as tokenizer_lib
from common.errors import UserError
from common.tokenizer import Tokenizer
from data.aligned_text import aligned_scans, iter_clean_lines
from data.bpe import train_bpe_tokenizer
from data.corpora import raw_files_of
from data.preparation_lock import preparing

HELDOUT_LINES_FOR_COMPRESSION = 2000

Corpora = dict[str, dict[str, str]]  # {dataset: {lang: raw path}}


def _roundrobin(*iterables):
    """The items of several iterables in turn (the corpora interleaved)."""
    iterators = [iter(it) for it in iterables]
    while iterators:
        for it in list(iterators):
            try:
                yield next(it)
            except StopIteration:
                iterators.remove(it)


def corpora_languages(corpora: Corpora) -> list[str]:
    """The languages of `corpora` ({dataset: {lang: raw path}}), in order of first appearance."""
    return list(dict.fromkeys(lang for files in corpora.values() for lang in files))


def train_tokenizer_on(
    name: str, vocab_size: int, corpora: Corpora, data_root: str, max_bytes_per_language: int = 64_000_000
) -> Tokenizer:
    """Train tokenizer `name` on the training lines of `corpora` ({dataset: {lang: raw path}}): every
    language any of them has, each language's lines interleaved across the corpora that have it,
    and the languages balanced by UTF-8 bytes (train_bpe_tokenizer: equal bytes per language, up to
    `max_bytes_per_language`). Compression is measured on their validation lines. Its .json
    records the corpora (`trained_on`) and the `languages`."""
    for files in corpora.values():
        aligned_scans(files)  # before the tokenizer is trained on them, not after
    languages = corpora_languages(corpora)

    def lines(lang, split):
        return _roundrobin(
            *(iter_clean_lines(files, lang, split) for files in corpora.values() if lang in files)
        )

    train = {lang: lines(lang, "train") for lang in languages}
    heldout = {
        lang: list(itertools.islice(lines(lang, "val"), HELDOUT_LINES_FOR_COMPRESSION)) for lang in languages
    }
    return train_bpe_tokenizer(
        train,
        vocab_size=vocab_size,
        name=name,
        data_root=data_root,
        max_bytes_per_language=max_bytes_per_language,
        heldout_by_lang=heldout,
        extra_info={"trained_on": list(corpora), "languages": languages},
    )


def train_shared_tokenizer(
    name: str,
    vocab_size: int,
    raw_dirs: dict[str, str],
    data_root: str,
    max_bytes_per_language: int = 64_000_000,
) -> Tokenizer:
    """Train tokenizer `name` on the training lines of whichever of the corpora in `raw_dirs`
    ({dataset: raw dir}) are present, lines of the corpora interleaved; compression is measured on
    their validation lines."""
    present = {
        d: raw_files_of(d, raw_dir)
        for d, raw_dir in raw_dirs.items()
        if all(os.path.isfile(p) for p in raw_files_of(d, raw_dir).values())
    }
    missing = [d for d in raw_dirs if d not in present]
    if not present:
        raise UserError("no raw corpus to train the tokenizer on; run: bash data/get_data.sh europarl")
    if missing:
        print(
            f"tokenizer '{name}': raw {' and '.join(missing)} not found, training on {' and '.join(present)} only "
            f"(datasets prepared later reuse this tokenizer; to retrain it on all corpora, delete "
            f"{os.path.join(data_root, tokenizer_lib.TOKENIZERS_DIR, name)}.* and prepare them again)"
        )
    else:
        print(f"tokenizer '{name}': training on {' and '.join(present)}")
    return train_tokenizer_on(name, vocab_size, present, data_root, max_bytes_per_language)


def tokenizer_info(name: str, data_root: str) -> dict:
    """The .json of trained tokenizer `name`, with `languages` filled in for tokenizers saved before
    it was recorded (the languages of their training sample)."""
    with open(tokenizer_lib.tokenizer_paths(name, data_root)[1]) as f:
        info = json.load(f)
    info.setdefault("languages", list(info.get("training_sample", {})))
    return info


def trained_tokenizers(data_root: str) -> list[str]:
    """The names of the tokenizers trained under <data_root>/tokenizers/, sorted."""
    try:
        files = os.listdir(os.path.join(data_root, tokenizer_lib.TOKENIZERS_DIR))
    except OSError:
        return []
    return sorted(name[: -len(".tiktoken")] for name in files if name.endswith(".tiktoken"))


def check_tokenizer(
    tokenizer: str,
    default_name: str,
    languages_of: dict[str, list[str]],
    data_root: str = "data",
    allow_new_languages: bool = False,
    retrain_hint: Callable[[list[str]], str] | None = None,
    train_tokenizer: bool = False,
) -> str | None:
    """--tokenizer checked before any work, by the rule every prepare script follows. Returns the
    name of the tokenizer to load, or None when `default_name` / a new name is to be trained.

    '' is the data's default tokenizer (`default_name`), trained when missing. A name given that
    no tokenizer has is refused, naming the closest ones (a typo must not quietly train a new
    tokenizer under the misspelt name), unless `train_tokenizer` asks for exactly that. 'gpt2'
    and a tokenizer.json path are loaded once here, so that a bad one fails now. An existing
    tokenizer not trained on a language of the data (`languages_of`: {dataset: languages}) is
    refused with how to fix it (retrain_hint(its languages): the command that prepares all the
    datasets together), unless `allow_new_languages`."""
    if tokenizer_lib.is_tokenizer_json_path(tokenizer):
        tokenizer_lib.HFTokenizer(tokenizer_lib.hf_tokenizer_file(tokenizer))
        return tokenizer
    name = tokenizer or default_name
    if name == "gpt2":
        tokenizer_lib.load_tokenizer("gpt2", data_root)
        return name
    tiktoken_path, json_path = tokenizer_lib.tokenizer_paths(name, data_root)
    if not os.path.exists(tiktoken_path):
        if name == default_name or train_tokenizer:
            return None
        raise _no_such_tokenizer(name, default_name, tiktoken_path, data_root)
    if not os.path.exists(json_path):  # training stopped between its two files
        raise UserError(
            f"tokenizer '{name}' is incomplete: {tiktoken_path} has no {os.path.basename(json_path)} "
            f"beside it. Delete {os.path.splitext(tiktoken_path)[0]}.* and run this again"
            f"{' with --train_tokenizer=True' if tokenizer else ''} to train it anew (and prepare again "
            f"the datasets that used it)."
        )
    tokenizer_lib.load_tokenizer(name, data_root)  # a file it cannot read is refused now
    known = tokenizer_info(name, data_root)["languages"]
    unseen = [
        lang
        for lang in dict.fromkeys(lang for langs in languages_of.values() for lang in langs)
        if lang not in known
    ]
    if unseen and known and not allow_new_languages:
        raise UserError(
            f"{unseen_languages_problem(name, known, unseen, languages_of)}\nEither prepare all the "
            f"datasets you will train together in one command, so that one tokenizer is trained on "
            f"all their languages{' (' + retrain_hint(known) + ')' if retrain_hint else ''}; or "
            f"train a new tokenizer on this data's languages (--tokenizer=NEW_NAME "
            f"--train_tokenizer=True); or pass --allow_new_languages=True to use '{name}' anyway."
        )
    return name


def _no_such_tokenizer(name: str, default_name: str, tiktoken_path: str, data_root: str) -> UserError:
    """The error for --tokenizer=name when no tokenizer has that name: the closest names, and how
    to train one under it on purpose."""
    existing = trained_tokenizers(data_root)
    close = difflib.get_close_matches(name, existing + ["gpt2"], n=3, cutoff=0.6)
    return UserError(
        f"--tokenizer={name}: no tokenizer of that name ({tiktoken_path} does not exist)."
        + (f" Did you mean {' or '.join(close)}?" if close else "")
        + (
            f" The tokenizers in {os.path.dirname(tiktoken_path)}: {', '.join(existing)}."
            if existing
            else f" No tokenizer is trained under {data_root} yet."
        )
        + f"\nTo train a new tokenizer named {name} on this data, add --train_tokenizer=True; to use "
        f"the data's own ({default_name}, trained if missing), leave --tokenizer out."
    )


def unseen_languages_problem(
    name: str, known: list[str], unseen: list[str], languages_of: dict[str, list[str]]
) -> str:
    return (
        f"tokenizer '{name}' was trained on {', '.join(known)}, not on {', '.join(unseen)} "
        f"(a language of {', '.join(d for d, langs in languages_of.items() if set(unseen) & set(langs))}): "
        f"it would cut {', '.join(unseen)} text into many more, shorter tokens than the others, "
        f"and the languages would not be comparable."
    )


def load_or_train_tokenizer(
    tokenizer: str,
    default_name: str,
    corpora: Corpora,
    train: Callable[[str], Tokenizer],
    data_root: str = "data",
    allow_new_languages: bool = False,
    retrain_hint: Callable[[list[str]], str] | None = None,
    train_tokenizer: bool = False,
) -> Tokenizer:
    """The one tokenizer of the datasets `corpora` ({dataset: {lang: raw path}}) prepared together:
    `tokenizer` ('' for `default_name`; 'gpt2'; or a name under <data_root>/tokenizers/), loaded
    when it exists, else trained by train(name) where check_tokenizer allows it. Which it is, is
    said on screen."""
    languages_of = {dataset: list(files) for dataset, files in corpora.items()}
    name = tokenizer or default_name
    if name == "gpt2":
        return tokenizer_lib.load_tokenizer("gpt2", data_root)
    tiktoken_path, _ = tokenizer_lib.tokenizer_paths(name, data_root)
    with preparing(os.path.splitext(tiktoken_path)[0], f"tokenizer '{name}'"):  # not trained twice at once
        if (
            check_tokenizer(
                tokenizer,
                default_name,
                languages_of,
                data_root,
                allow_new_languages,
                retrain_hint,
                train_tokenizer,
            )
            is None
        ):
            print(f"tokenizer '{name}' does not exist yet: training it on {', '.join(corpora)}")
            return train(name)
    tok = tokenizer_lib.load_tokenizer(name, data_root, dataset=next(iter(corpora)))
    _say_which_tokenizer(tok, name, tiktoken_path, corpora, data_root, train_tokenizer)
    return tok


def _say_which_tokenizer(
    tok: Tokenizer, name: str, tiktoken_path: str, corpora: Corpora, data_root: str, train_tokenizer: bool
) -> None:
    """On screen: the existing tokenizer used, what it was trained on, and a warning or a note
    when that is not every language or corpus of this data."""
    info = tokenizer_info(name, data_root)
    known, trained_on = info["languages"], info.get("trained_on", [])
    print(
        f"using tokenizer '{name}' ({tiktoken_path}, {tok.n_vocab:,} tokens, "
        f"trained on {' and '.join(trained_on) or 'other text'}"
        f"{': ' + ', '.join(known) if known else ''})"
        f"{' (it exists: --train_tokenizer=True trains none)' if train_tokenizer else ''}"
    )
    stem = os.path.splitext(tiktoken_path)[0]
    unseen = [lang for lang in corpora_languages(corpora) if lang not in known]
    if unseen and known:
        languages_of = {dataset: list(files) for dataset, files in corpora.items()}
        print(
            f"warning: {unseen_languages_problem(name, known, unseen, languages_of)} (--allow_new_languages=True)"
        )
    elif trained_on:
        for dataset in corpora:
            if dataset not in trained_on:
                print(
                    f"  note: it was trained without {dataset}; to retrain it on all the corpora, delete "
                    f"{stem}.* and prepare the datasets together again"
                )
