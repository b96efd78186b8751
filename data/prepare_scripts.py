"""
What the prepare scripts of data/corpora.py's corpora share: their command line (script_options,
prepare_script), prepare_dataset() for Europarl and MultiUN (data/europarl/prepare.py and
data/multiun/prepare.py are thin wrappers around it), and prepare_datasets(), which prepares
several datasets with one tokenizer (data/tokenizer_policy.py says which).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable

from common import tokenizer as tokenizer_lib
from common.errors import UserError
from common.tokenizer import Tokenizer
from configurator import at_least, configure
from data.aligned_text import check_some_pair_kept
from data.bpe import DEFAULT_VOCAB_SIZE
from data.corpora import SHARED_TOKENIZER_CORPORA, default_tokenizer_name, download_command, raw_files_of
from data.parallel_corpus import prepare_parallel_corpus
from data.preparation_lock import preparing
from data.replacement import check_replacement
from data.tokenizer_policy import Corpora, load_or_train_tokenizer, train_shared_tokenizer


def prepare_datasets(
    corpora: Corpora,
    tokenizer: str,
    default_tokenizer: str,
    train: Callable[[str], Tokenizer],
    data_root: str = "data",
    num_proc: int = 0,
    allow_new_languages: bool = False,
    extra_meta: dict[str, dict] | None = None,
    retrain_hint: Callable[[list[str]], str] | None = None,
    train_tokenizer: bool = False,
    overwrite: bool = False,
) -> dict[str, dict]:
    """Prepare each of `corpora` ({dataset: {lang: raw path}}) into <data_root>/<dataset>/, all with
    one tokenizer (load_or_train_tokenizer), or with a Hugging Face tokenizer.json when `tokenizer`
    is one (copied into each dataset folder, which meta.json names). `extra_meta` ({dataset: dict})
    is added to each meta.json. Each dataset's lock is held throughout (data/preparation_lock.py);
    a dataset of other languages is not replaced unless `overwrite`, and raw files that would keep
    no line pair are refused, first. Returns {dataset: meta}."""
    extra_meta = extra_meta or {}
    with contextlib.ExitStack() as locks:
        for dataset in corpora:
            locks.enter_context(preparing(os.path.join(data_root, dataset)))
        for dataset, files in corpora.items():
            check_replacement(os.path.join(data_root, dataset), list(files), overwrite)
        for files in corpora.values():
            check_some_pair_kept(files)  # before a tokenizer is trained or a line tokenized
        if tokenizer_lib.is_tokenizer_json_path(tokenizer):
            return _prepare_with_hf_tokenizer(corpora, tokenizer, data_root, num_proc, extra_meta)
        tok = load_or_train_tokenizer(
            tokenizer,
            default_tokenizer,
            corpora,
            train,
            data_root,
            allow_new_languages,
            retrain_hint,
            train_tokenizer,
        )
        return {
            dataset: prepare_parallel_corpus(
                os.path.join(data_root, dataset),
                raw_files,
                tok,
                data_root=data_root,
                num_proc=num_proc or None,
                extra_meta=extra_meta.get(dataset),
            )
            for dataset, raw_files in corpora.items()
        }


def _prepare_with_hf_tokenizer(
    corpora: Corpora, tokenizer: str, data_root: str, num_proc: int, extra_meta: dict[str, dict]
) -> dict[str, dict]:
    """prepare_datasets with the Hugging Face tokenizer.json `tokenizer`, copied into each dataset
    folder."""
    metas = {}
    for dataset, raw_files in corpora.items():
        dataset_dir = os.path.join(data_root, dataset)
        tok = tokenizer_lib.copy_hf_tokenizer(tokenizer, dataset_dir)
        print(f"using the Hugging Face tokenizer {tokenizer} ({tok.n_vocab:,} tokens)")
        metas[dataset] = prepare_parallel_corpus(
            dataset_dir,
            raw_files,
            tok,
            data_root=data_root,
            num_proc=num_proc or None,
            extra_meta=extra_meta.get(dataset),
        )
    return metas


def missing_raw_message(
    script: str, dataset: str, raw_files: dict[str, str], raw_dir: str, download: str
) -> str | None:
    """What to say when the raw files of `dataset` are not all there, or None."""
    missing = [path for path in raw_files.values() if not os.path.isfile(path)]
    if not missing:
        return None
    return (
        f"{script}: raw {dataset} text not found ({', '.join(missing)}).\n"
        f"Download it with: {download}\n"
        f"(or place {' and '.join(os.path.basename(p) for p in raw_files.values())} in {raw_dir} yourself, "
        f"or point --raw_dir at them)"
    )


def prepare_dataset(
    dataset: str,
    num_proc: int = 0,
    vocab_size: int = DEFAULT_VOCAB_SIZE,
    tokenizer: str = "",
    data_root: str = "data",
    raw_dir: str = "",
    allow_new_languages: bool = False,
    train_tokenizer: bool = False,
    overwrite: bool = False,
) -> dict:
    """What data/<dataset>/prepare.py does for Europarl and MultiUN: find the raw files, load the
    tokenizer (training the shared one when it does not exist yet), prepare <data_root>/<dataset>/.
    tokenizer: '' for the shared europarl-multiun tokenizer of `vocab_size`, else a name under
    <data_root>/tokenizers/ (trained under that name when missing, with `train_tokenizer` only),
    'gpt2', or the path of a Hugging Face tokenizer.json (or of a folder holding one): a converted
    model's, so that the data can fine-tune it; it is copied into the dataset folder, which
    meta.json names."""
    raw_dirs = {d: os.path.join(data_root, d, "raw") for d in SHARED_TOKENIZER_CORPORA}
    if raw_dir:
        raw_dirs[dataset] = raw_dir
    raw_files = raw_files_of(dataset, raw_dirs[dataset])
    message = missing_raw_message(
        f"data/{dataset}/prepare.py",
        dataset,
        raw_files,
        raw_dirs[dataset],
        download_command(dataset, data_root),
    )
    if message:
        raise UserError(message)
    return prepare_datasets(
        {dataset: raw_files},
        tokenizer,
        default_tokenizer_name(vocab_size),
        lambda name: train_shared_tokenizer(name, vocab_size, raw_dirs, data_root),
        data_root,
        num_proc,
        allow_new_languages,
        train_tokenizer=train_tokenizer,
        overwrite=overwrite,
    )[dataset]


def script_options(argv: list[str], **options: object) -> dict:
    """The keys every prepare script of data/corpora.py's corpora takes, then `options` (the
    script's own keys, with their defaults), set from argv and checked against their ranges."""
    options = dict(
        num_proc=0,  # worker processes; 0: one per CPU core
        vocab_size=DEFAULT_VOCAB_SIZE,  # tokens of the trained tokenizer, <|endoftext|> included
        tokenizer='',  # '': the shared tokenizer of the data's languages (trained if missing); else
        # a name under <data_root>/tokenizers/, 'gpt2', or a tokenizer.json (a
        # converted model's)
        train_tokenizer=False,  # True: train --tokenizer=NAME on this data when no tokenizer has that
        # name (without it, a name not found is refused as a likely typo)
        data_root='data',
        allow_new_languages=False,  # True: use an existing tokenizer on languages it was not trained on
        overwrite=False,  # True: replace a dataset of the same name prepared from another source or of
        # other languages (without it, that is refused)
        **options,
    )
    ranges = dict(num_proc=at_least(0), vocab_size=at_least(258))  # a byte-level BPE: 256 bytes, EOT, merges
    configure(options, argv, ranges)
    return options


def prepare_script(dataset: str, argv: list[str]) -> dict:
    """The command line of data/<dataset>/prepare.py for Europarl and MultiUN: its keys, checked
    against their ranges, then prepare_dataset()."""
    options = script_options(argv, raw_dir='')  # raw_dir '': <data_root>/<dataset>/raw
    return prepare_dataset(dataset, **options)
