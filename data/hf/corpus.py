"""
A Hugging Face dataset -> the prepared-data layout (data/hf/prepare.py), through the `datasets`
library. Its rows are written as line-aligned raw text files, one per language, in
<data_root>/<name>/raw/<name>.<lang> (inline line breaks become spaces, as the pipeline does;
a row with an empty or missing side is dropped by it), and those go through
prepare_parallel_corpus like every other corpus: the same splits, counts, held-out files and
atomic outputs.

Rows are either translation-style, {'translation': {'en': ..., 'de': ...}} (Helsinki-NLP/europarl,
opus100, wmt14), or have one text column per language: the column named by the language code,
or the one given by --columns=en:text_en,de:text_de.

hf_dataset is a hub name, or a local folder: one written by Dataset.save_to_disk or
DatasetDict.save_to_disk (read with load_from_disk), or one holding data files (parquet, JSON
lines, CSV) that datasets.load_dataset(folder) reads. Local folders are read offline. A hub name
is only tried when the hub answers within seconds (else offline mode: the local cache, or a
message saying what could not be reached and how to use a local folder instead).
"""

import contextlib
import json
import os
import re
import shlex
import sys
import time

from common.atomic_files import written_together
from common.errors import UserError
from common.network import connection_error
from data.bpe import DEFAULT_VOCAB_SIZE
from data.corpora import is_registered, shared_tokenizer_name
from data.parallel_corpus import INLINE_LINE_BREAKS, prepare_datasets, train_tokenizer_on

LANGUAGE_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")
LINE_BREAK = re.compile(f"[\n{INLINE_LINE_BREAKS}]")
SAVED_TO_DISK_FILES = ("dataset_info.json", "state.json", "dataset_dict.json")  # what save_to_disk writes
HUB_CONNECT_TIMEOUT_S = 5
BATCH_ROWS = 1000


def _datasets():
    try:
        import datasets
    except ImportError:
        raise UserError("data/hf/prepare.py reads Hugging Face datasets through the `datasets` library, "
                        "which is not installed: pip install datasets") from None
    return datasets


def _go_offline():
    """Nothing below reaches the hub: the environment for libraries not imported yet, their
    settings for those already imported."""
    os.environ["HF_HUB_OFFLINE"] = os.environ["HF_DATASETS_OFFLINE"] = "1"
    if "huggingface_hub" in sys.modules:
        sys.modules["huggingface_hub"].constants.HF_HUB_OFFLINE = True
    if "datasets" in sys.modules:
        config = sys.modules["datasets"].config
        config.HF_HUB_OFFLINE = config.HF_DATASETS_OFFLINE = True


def parse_languages(text):
    languages = [code.strip() for code in text.split(",") if code.strip()]
    if not languages:
        raise UserError("--languages is required: the language codes to take from the dataset, e.g. --languages=en,de")
    bad = [code for code in languages if not LANGUAGE_CODE.fullmatch(code)]
    if bad:
        raise UserError(f"--languages: {', '.join(map(repr, bad))} cannot name files; use codes such as en, de, pt_BR")
    if len(set(languages)) != len(languages):
        raise UserError(f"--languages={text}: a language is named twice")
    return languages


def parse_columns(text, languages):
    """--columns=en:text_en,de:text_de -> {lang: column}; a language not named reads the column of its code."""
    columns = {lang: lang for lang in languages}
    for item in (part.strip() for part in text.split(",") if part.strip()):
        lang, sep, column = item.partition(":")
        if not sep or not column.strip():
            raise UserError(f"--columns: '{item}' is not language:column (e.g. --columns=en:text_en,de:text_de)")
        if lang.strip() not in languages:
            raise UserError(f"--columns names '{lang.strip()}', which is not in --languages={','.join(languages)}")
        columns[lang.strip()] = column.strip()
    return columns


def dataset_slug(hf_dataset):
    """hf-<the dataset's last name part, or its folder's name>: Helsinki-NLP/opus-100 -> hf-opus-100."""
    base = os.path.basename(os.path.normpath(hf_dataset)) if os.path.isdir(hf_dataset) else hf_dataset.split("/")[-1]
    return "hf-" + (re.sub(r"[^a-z0-9]+", "-", base.lower()).strip("-") or "dataset")


def default_name(hf_dataset, languages):
    """The dataset's default name: hf-opus-100-de-en for Helsinki-NLP/opus-100 in en and de (sorted codes)."""
    return f"{dataset_slug(hf_dataset)}-{'-'.join(sorted(languages))}"


def is_saved_to_disk(folder):
    return any(os.path.isfile(os.path.join(folder, name)) for name in SAVED_TO_DISK_FILES)


def _saved_without_data(folder):
    """Whether save_to_disk wrote no data file there (an empty Dataset), which load_from_disk cannot read."""
    try:
        with open(os.path.join(folder, "state.json")) as f:
            return not json.load(f).get("_data_files")
    except (OSError, ValueError, AttributeError):
        return False


def _pick_split(loaded, split, where):
    """The split of a DatasetDict (or the dataset itself), or an error naming the splits there are."""
    if isinstance(loaded, _datasets().DatasetDict):
        if split not in loaded:
            raise UserError(f"{where} has no split '{split}'; it has {', '.join(loaded)}: pass --split=NAME")
        return loaded[split]
    return loaded


def _load_dataset(hf_dataset, hf_config, split, streaming):
    """datasets.load_dataset, its errors about the arguments turned into messages."""
    datasets = _datasets()
    try:
        return datasets.load_dataset(hf_dataset, hf_config or None, split=split, streaming=streaming)
    except ValueError as e:  # an unknown split or config
        raise UserError(f"--hf_dataset={hf_dataset}: {str(e).strip()} (choose with --split=NAME / --hf_config=NAME)")
    except FileNotFoundError as e:  # EmptyDatasetError, DataFilesNotFoundError too
        if not os.path.isdir(hf_dataset):
            raise
        raise UserError(f"--hf_dataset={hf_dataset}: no data files that datasets.load_dataset reads "
                        f"(parquet, JSON lines, CSV, or a folder written by save_to_disk): {e}")


def _hub_unreachable():
    """Why the hub cannot be used now (offline mode, or no TCP connection within seconds), or None."""
    if any(os.environ.get(key, "").upper() in ("1", "ON", "YES", "TRUE") for key in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE")):
        return "offline mode: HF_HUB_OFFLINE is set"
    endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co")
    host = re.sub(r"^\w+://", "", endpoint).split("/")[0]
    hostname, _, port = host.partition(":")
    error = connection_error(hostname, int(port or (80 if endpoint.startswith("http://") else 443)), HUB_CONNECT_TIMEOUT_S)
    return f"{host} unreachable: {error}" if error is not None else None


def load_rows(hf_dataset, hf_config="", split="train", streaming=False):
    """The rows of split `split`: a datasets.Dataset, or an IterableDataset when streaming."""
    if os.path.isdir(hf_dataset):
        _go_offline()
        if is_saved_to_disk(hf_dataset):
            try:
                loaded = _datasets().load_from_disk(hf_dataset)
            except Exception as e:  # datasets fails in many ways on a folder it cannot read
                if _saved_without_data(hf_dataset):
                    raise UserError(f"{hf_dataset} is empty: the dataset saved there has no rows") from None
                raise UserError(f"--hf_dataset={hf_dataset}: not readable by datasets.load_from_disk "
                                f"({type(e).__name__}: {e})") from None
            rows = _pick_split(loaded, split, hf_dataset)
            if rows is loaded and split != "train":
                print(f"note: {hf_dataset} holds one Dataset, not a DatasetDict of splits: --split={split} is ignored")
            return rows.to_iterable_dataset() if streaming else rows
        return _load_dataset(hf_dataset, hf_config, split, streaming)
    if os.path.exists(hf_dataset) or hf_dataset.startswith((".", "/", "~")):
        raise UserError(f"--hf_dataset={hf_dataset}: no such folder (a local dataset is a folder written by "
                        f"save_to_disk, or one holding parquet, JSON lines or CSV files)")
    reason = _hub_unreachable()
    if reason:
        _go_offline()  # the local cache may still hold it; no retry loop
    try:
        return _load_dataset(hf_dataset, hf_config, split, streaming)
    except (ConnectionError, OSError) as e:
        endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co")
        if reason is None:
            raise UserError(f"--hf_dataset={hf_dataset}: the Hugging Face hub ({endpoint}) did not give it: "
                            f"{type(e).__name__}: {str(e)[:300]}")
        config = f", '{hf_config}'" if hf_config else ""
        raise UserError(
            f"--hf_dataset={hf_dataset}: cannot reach the Hugging Face hub ({endpoint}; {reason}), and the "
            f"dataset is not in the local cache.\nOn a machine with internet access, save it to a folder:\n"
            f"  python -c \"import datasets; datasets.load_dataset('{hf_dataset}'{config}, split='{split}')"
            f".save_to_disk('FOLDER')\"\nthen copy FOLDER here and pass --hf_dataset=FOLDER (a folder of "
            f"parquet, JSON lines or CSV files works too).") from None


def text_getter(rows, languages, columns, where):
    """A function batch -> {lang: list of texts}, after checking that the rows hold each language:
    in their 'translation' column, or in one column per language (`columns`)."""
    features = getattr(rows, "features", None)
    if features is None:  # streamed data files may not know their columns before the first row
        first = next(iter(rows), None)
        if first is None:
            raise UserError(f"{where} is empty: it has no rows")
        names = list(first)
        translation_languages = list(first["translation"]) if isinstance(first.get("translation"), dict) else None
    else:
        names = list(features)
        translation = features.get("translation")
        if type(translation).__name__ == "TranslationVariableLanguages":
            raise UserError(f"{where}: its rows are TranslationVariableLanguages ({{'language': [...], "
                            f"'translation': [...]}}), which this script does not read; convert them to one "
                            f"column per language (Dataset.map) and save_to_disk")
        translation_languages = (list(translation.languages) if hasattr(translation, "languages") else
                                 list(translation) if isinstance(translation, dict) else None)
    per_column = all(columns[lang] in names for lang in languages)
    if translation_languages is not None and not per_column:
        missing = [lang for lang in languages if lang not in translation_languages]
        if missing:
            raise UserError(f"{where}: its 'translation' rows hold {', '.join(translation_languages)}, not "
                            f"{', '.join(missing)}; pass --languages from those codes")
        return lambda batch: {lang: [(t or {}).get(lang) for t in batch["translation"]] for lang in languages}
    if not per_column:
        missing = [f"{columns[lang]} (for {lang})" for lang in languages if columns[lang] not in names]
        raise UserError(f"{where}: no column {', '.join(missing)}; its columns are {', '.join(names)}. Rows must "
                        f"be translation-style ({{'translation': {{'en': ..., 'de': ...}}}}) or hold one text "
                        f"column per language: name them with --columns=en:COLUMN,de:COLUMN")
    return lambda batch: {lang: batch[columns[lang]] for lang in languages}


def _line(text):
    if text is None:
        return ""
    return LINE_BREAK.sub(" ", text if isinstance(text, str) else str(text)).strip()


def write_raw_files(rows, texts_of, languages, raw_dir, stem, max_rows=0, verbose=True):
    """Stream `rows` into raw_dir/<stem>.<lang>, one line per row and language; the files replace
    the old ones only once all are complete. Returns ({lang: path}, rows written)."""
    os.makedirs(raw_dir, exist_ok=True)
    paths = {lang: os.path.join(raw_dir, f"{stem}.{lang}") for lang in languages}
    n_rows, started = 0, time.time()
    with written_together(paths, raw_dir) as tmp, contextlib.ExitStack() as open_files:
        files = {}
        for lang, path in tmp.items():
            files[lang] = open(path, "w", encoding="utf-8", newline="\n")
            open_files.callback(files[lang].close)
        for batch in rows.iter(batch_size=BATCH_ROWS):
            texts = texts_of(batch)
            count = len(texts[languages[0]])
            if max_rows and n_rows + count > max_rows:
                count = max_rows - n_rows
            for lang in languages:
                files[lang].write("".join(_line(text) + "\n" for text in texts[lang][:count]))
            n_rows += count
            if verbose and n_rows // 100_000 != (n_rows - count) // 100_000:
                print(f"  {n_rows:,} rows ({time.time() - started:.0f} s)")
            if max_rows and n_rows >= max_rows:
                break
        open_files.close()  # before the files replace the old ones
        if n_rows == 0:
            raise UserError("the dataset has no rows to prepare")
    return paths, n_rows


def command_line(options):
    """The command that prepares the dataset again (recorded in meta.json as prepare_command)."""
    defaults = {"hf_config": "", "split": "train", "streaming": False, "columns": "", "max_rows": 0, "tokenizer": "",
                "vocab_size": DEFAULT_VOCAB_SIZE, "data_root": "data", "allow_new_languages": False}
    parts = ["python", "data/hf/prepare.py"]
    for key in ("hf_dataset", "hf_config", "languages", "name", "split", "streaming", "columns", "max_rows",
                "vocab_size", "tokenizer", "data_root", "allow_new_languages"):
        if key in options and options[key] != defaults.get(key, object()):
            parts.append(shlex.quote(f"--{key}={options[key]}"))
    return " ".join(parts)


def prepare_hf_dataset(hf_dataset, languages, hf_config="", name="", split="train", streaming=False, columns="",
                       max_rows=0, vocab_size=DEFAULT_VOCAB_SIZE, tokenizer="", data_root="data", num_proc=0,
                       allow_new_languages=False):
    """What data/hf/prepare.py does: check the arguments and the rows' columns, write the raw
    files, train or load the tokenizer of its languages, prepare <data_root>/<name>/."""
    if not hf_dataset:
        raise UserError("--hf_dataset is required: a hub name (e.g. Helsinki-NLP/opus-100) or a local folder")
    codes = parse_languages(languages)
    column_of = parse_columns(columns, codes)
    name = name or default_name(hf_dataset, codes)
    if not LANGUAGE_CODE.fullmatch(name):
        raise UserError(f"--name={name}: a dataset name is a folder name (letters, digits, - and _)")
    if is_registered(name):
        raise UserError(f"--name={name} is a dataset of another prepare script; choose another name")
    if max_rows < 0:
        raise UserError(f"--max_rows={max_rows}: 0 (all rows) or a positive number")
    where = f"{hf_dataset}{' (' + hf_config + ')' if hf_config else ''}, split {split}"
    print(f"reading {where}{' (streaming)' if streaming else ''}")
    rows = load_rows(hf_dataset, hf_config, split, streaming)
    if hasattr(rows, "__len__") and not streaming and len(rows) == 0:
        raise UserError(f"{where} is empty: it has no rows")
    texts_of = text_getter(rows, codes, column_of, where)
    raw_dir = os.path.join(data_root, name, "raw")
    raw_files, n_rows = write_raw_files(rows, texts_of, codes, raw_dir, name, max_rows)
    print(f"wrote {n_rows:,} rows of {', '.join(codes)} to {raw_dir}")

    record = {"prepare_command": command_line(dict(hf_dataset=hf_dataset, hf_config=hf_config, languages=",".join(codes),
                                                   name=name, split=split, streaming=streaming, columns=columns,
                                                   max_rows=max_rows, vocab_size=vocab_size, tokenizer=tokenizer,
                                                   data_root=data_root, allow_new_languages=allow_new_languages)),
              "hf": {"dataset": hf_dataset, "config": hf_config or None, "split": split, "streaming": streaming,
                     "rows": n_rows, "columns": column_of if columns else None, "max_rows": max_rows or None,
                     "local_folder": os.path.isdir(hf_dataset)}}
    corpora = {name: raw_files}
    return prepare_datasets(corpora, tokenizer, shared_tokenizer_name(dataset_slug(hf_dataset), codes, vocab_size),
                            lambda tokenizer_name: train_tokenizer_on(tokenizer_name, vocab_size, corpora, data_root),
                            data_root, num_proc, allow_new_languages, {name: record},
                            )[name]
