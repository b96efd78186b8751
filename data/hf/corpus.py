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

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from common.atomic_files import written_together
from common.errors import UserError
from common.network import connection_error
from data.aligned_text import INLINE_LINE_BREAKS
from data.bpe import DEFAULT_VOCAB_SIZE
from data.corpora import dataset_tokenizer_name, is_registered
from data.preparation_lock import preparing
from data.prepare_scripts import prepare_datasets
from data.replacement import check_replacement, prepared_meta
from data.tokenizer_policy import check_tokenizer, train_tokenizer_on

if TYPE_CHECKING:
    import datasets

    Rows = datasets.Dataset | datasets.IterableDataset  # what load_rows gives

TextsOf = Callable[[dict], dict[str, list]]  # a batch of rows -> {lang: the texts of that language}
LANGUAGE_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")
LINE_BREAK = re.compile(f"[\n{INLINE_LINE_BREAKS}]")
SAVED_TO_DISK_FILES = ("dataset_info.json", "state.json", "dataset_dict.json")  # what save_to_disk writes
HUB_CONNECT_TIMEOUT_S = 5
BATCH_ROWS = 1000


def _datasets():
    try:
        import datasets
    except ImportError:
        raise UserError(
            "data/hf/prepare.py reads Hugging Face datasets through the `datasets` library, "
            "which is not installed: pip install datasets"
        ) from None
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


def parse_languages(text: str) -> list[str]:
    languages = [code.strip() for code in text.split(",") if code.strip()]
    if not languages:
        raise UserError(
            "--languages is required: the language codes to take from the dataset, e.g. --languages=en,de"
        )
    bad = [code for code in languages if not LANGUAGE_CODE.fullmatch(code)]
    if bad:
        raise UserError(
            f"--languages: {', '.join(map(repr, bad))} cannot name files; use codes such as en, de, pt_BR"
        )
    if len(set(languages)) != len(languages):
        raise UserError(f"--languages={text}: a language is named twice")
    return languages


def parse_columns(text: str, languages: list[str]) -> dict[str, str]:
    """--columns=en:text_en,de:text_de -> {lang: column}; a language not named reads the column of its code."""
    columns = {lang: lang for lang in languages}
    for item in (part.strip() for part in text.split(",") if part.strip()):
        lang, sep, column = item.partition(":")
        if not sep or not column.strip():
            raise UserError(
                f"--columns: '{item}' is not language:column (e.g. --columns=en:text_en,de:text_de)"
            )
        if lang.strip() not in languages:
            raise UserError(
                f"--columns names '{lang.strip()}', which is not in --languages={','.join(languages)}"
            )
        columns[lang.strip()] = column.strip()
    return columns


def dataset_slug(hf_dataset: str) -> str:
    """hf-<the dataset's last name part, or its folder's name>: Helsinki-NLP/opus-100 -> hf-opus-100."""
    base = (
        os.path.basename(os.path.normpath(hf_dataset))
        if os.path.isdir(hf_dataset)
        else hf_dataset.split("/")[-1]
    )
    return "hf-" + (re.sub(r"[^a-z0-9]+", "-", base.lower()).strip("-") or "dataset")


def default_name(hf_dataset: str, languages: list[str]) -> str:
    """The dataset's default name: hf-opus-100-de-en for Helsinki-NLP/opus-100 in en and de (sorted codes)."""
    return f"{dataset_slug(hf_dataset)}-{'-'.join(sorted(languages))}"


def is_saved_to_disk(folder: str) -> bool:
    return any(os.path.isfile(os.path.join(folder, name)) for name in SAVED_TO_DISK_FILES)


def _saved_without_data(folder):
    """Whether save_to_disk wrote no data file there (an empty Dataset), which load_from_disk cannot read."""
    try:
        with open(os.path.join(folder, "state.json")) as f:
            return not json.load(f).get("_data_files")
    except (OSError, ValueError, AttributeError):
        return False


TEXT_READERS = ("json", "csv", "text")  # datasets' readers of text files, which must be UTF-8
COMPRESSED = (".gz", ".bz2", ".xz", ".zst", ".zip", ".lz4", ".7z")


def data_files(folder: str, split: str | None = None) -> tuple[str | None, list[str]]:
    """(datasets' reader of `folder`: 'json', 'csv', 'parquet'..., the files of `split` it reads,
    or of every split when it has no `split`), as datasets.load_dataset(folder) resolves them;
    (None, []) when it finds none."""
    try:
        builder = _datasets().load_dataset_builder(folder)
    except Exception:  # no data files: load_dataset says so itself
        return None, []
    by_split = {str(name): paths for name, paths in (builder.config.data_files or {}).items()}
    files = by_split[split] if split in by_split else [path for paths in by_split.values() for path in paths]
    return builder.name, sorted(set(map(str, files)))


def _first_invalid_utf8(path, block_bytes=1 << 24):
    """(line number, byte offset, the bytes at fault) of the first invalid UTF-8 in `path`, or None."""
    offset, lines, carry = 0, 0, b""  # offset: where data starts in the file
    with open(path, "rb") as f:
        while True:
            block = f.read(block_bytes)
            data = carry + block
            if not data:
                return None
            try:
                data.decode("utf-8")
                good, carry = len(data), b""
            except UnicodeDecodeError as e:
                if block and e.reason == "unexpected end of data":  # a character cut by the block's end
                    good, carry = e.start, data[e.start :]
                else:
                    line = lines + data.count(b"\n", 0, e.start) + 1
                    return line, offset + e.start, data[e.start : e.end]
            lines += data.count(b"\n", 0, good)
            offset += good


def _first_line_not_json(path):
    """(line number, what is wrong) of the first non-blank line of a JSON-lines file that is not a
    JSON object, or None. A file that is one JSON document (an array of rows) is checked whole."""
    with open(path, encoding="utf-8", errors="replace") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line.rstrip("\r\n"))  # columns counted on the line itself
            except ValueError as e:
                if number == 1 and line.lstrip()[:1] in "[{":
                    break  # perhaps one document over several lines
                return number, f"not JSON ({e.msg}, column {e.colno})"
            if not isinstance(row, dict):
                return number, f"a JSON {type(row).__name__}, not an object (a row of named columns)"
        else:
            return None
    with open(path, encoding="utf-8", errors="replace") as f:
        try:
            json.load(f)
        except ValueError as e:
            return e.lineno, f"not JSON ({e.msg}, column {e.colno})"
    return None


def bad_data_file(folder: str, split: str | None = None, check_json: bool = False) -> UserError | None:
    """A UserError naming the file, line and byte of the first thing datasets cannot read in the
    text data files of `folder` (those of `split`; invalid UTF-8; with `check_json`, a JSON-lines
    line that is not a JSON object, then in the other splits' files too: datasets reads them all
    unless streaming), or None. Compressed files are not looked into."""
    reader, files = data_files(folder, split)
    if check_json:
        files += [path for path in data_files(folder)[1] if path not in files]
    if reader not in TEXT_READERS:
        return None
    for path in files:
        if path.endswith(COMPRESSED) or not os.path.isfile(path):
            continue
        invalid = _first_invalid_utf8(path)
        if invalid:
            line, offset, found = invalid
            with open(path, "rb") as f:
                utf16 = f.read(2) in (b"\xff\xfe", b"\xfe\xff")  # what spreadsheets write as 'Unicode text'
            encoding = "utf-16" if utf16 else "latin1"
            return UserError(
                f"{path}, line {line:,} (byte {offset:,}): {found!r} is not UTF-8, and datasets reads {reader} "
                f"files as UTF-8 only. Convert the file to UTF-8 (if it is {'UTF-16' if utf16 else 'Latin-1'}: "
                f"iconv -f {encoding} -t utf-8 {shlex.quote(path)} > FILE.utf8, then put FILE.utf8 in its place) "
                f"or fix that line, and run this again. Nothing was written."
            )
        not_json = check_json and reader == "json" and _first_line_not_json(path)
        if not_json:
            line, problem = not_json
            return UserError(
                f"{path}, line {line:,}: {problem}; each line of a JSON-lines file must be one "
                f"JSON object, such as {{\"en\": \"...\", \"de\": \"...\"}}. Fix that line and run "
                f"this again. Nothing was written."
            )
    return None


def unreadable(
    hf_dataset: str, error: Exception, where: str, split: str | None = None, first_row: int | None = None
) -> UserError:
    """The UserError for `error`, raised by datasets while reading `hf_dataset`: the file and line
    at fault when a local folder's text files show one, else what datasets said."""
    if os.path.isdir(hf_dataset) and not is_saved_to_disk(hf_dataset):
        found = bad_data_file(hf_dataset, split, check_json=True)
        if found:
            return found
    rows = f" (rows {first_row:,} to {first_row + BATCH_ROWS - 1:,})" if first_row is not None else ""
    advice = (
        " Some of its text is not valid UTF-8: repair those rows and write the files again."
        if isinstance(error, UnicodeError)
        else ""
    )
    return UserError(
        f"{where}{rows}: datasets could not read it ({type(error).__name__}: {str(error)[:300]})."
        f"{advice} Nothing was written."
    )


def _pick_split(loaded, split, where):
    """The split of a DatasetDict (or the dataset itself), or an error naming the splits there are."""
    if isinstance(loaded, _datasets().DatasetDict):
        if split not in loaded:
            raise UserError(f"{where} has no split '{split}'; it has {', '.join(loaded)}: pass --split=NAME")
        return loaded[split]
    return loaded


def _load_dataset(hf_dataset, hf_config, split, streaming):
    """datasets.load_dataset, its errors about the arguments and a local folder's files turned into messages."""
    datasets = _datasets()
    try:
        return datasets.load_dataset(hf_dataset, hf_config or None, split=split, streaming=streaming)
    except Exception as e:
        local = os.path.isdir(hf_dataset)
        found = local and bad_data_file(hf_dataset, split, check_json=True)
        if found:  # a line datasets could not parse, not a wrong argument
            raise found from None
        if isinstance(e, ValueError):  # an unknown split or config
            raise UserError(
                f"--hf_dataset={hf_dataset}: {str(e).strip()} (choose with --split=NAME / --hf_config=NAME)"
            )
        if local and isinstance(e, FileNotFoundError):  # EmptyDatasetError, DataFilesNotFoundError too
            raise UserError(
                f"--hf_dataset={hf_dataset}: no data files that datasets.load_dataset reads "
                f"(parquet, JSON lines, CSV, or a folder written by save_to_disk): {e}"
            )
        if local:
            raise unreadable(hf_dataset, e, f"--hf_dataset={hf_dataset}", split) from None
        raise


def _hub_unreachable():
    """Why the hub cannot be used now (offline mode, or no TCP connection within seconds), or None."""
    if any(
        os.environ.get(key, "").upper() in ("1", "ON", "YES", "TRUE")
        for key in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE")
    ):
        return "offline mode: HF_HUB_OFFLINE is set"
    endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co")
    host = re.sub(r"^\w+://", "", endpoint).split("/")[0]
    hostname, _, port = host.partition(":")
    error = connection_error(
        hostname, int(port or (80 if endpoint.startswith("http://") else 443)), HUB_CONNECT_TIMEOUT_S
    )
    return f"{host} unreachable: {error}" if error is not None else None


def _load_local_rows(folder: str, hf_config: str, split: str, streaming: bool) -> Rows:
    """load_rows of a local folder, offline: one written by save_to_disk, or one of data files."""
    _go_offline()
    if not is_saved_to_disk(folder):
        found = bad_data_file(
            folder, split
        )  # seconds for gigabytes; datasets would fail only once it met the line
        if found:
            raise found
        return _load_dataset(folder, hf_config, split, streaming)
    if hf_config:
        raise UserError(
            f"--hf_config={hf_config}: {folder} was written by save_to_disk, which keeps "
            f"no configurations; leave --hf_config out"
        )
    try:
        loaded = _datasets().load_from_disk(folder)
    except Exception as e:  # datasets fails in many ways on a folder it cannot read
        if _saved_without_data(folder):
            raise UserError(f"{folder} is empty: the dataset saved there has no rows") from None
        raise UserError(
            f"--hf_dataset={folder}: not readable by datasets.load_from_disk ({type(e).__name__}: {e})"
        ) from None
    rows = _pick_split(loaded, split, folder)
    if rows is loaded and split != "train":
        print(f"note: {folder} holds one Dataset, not a DatasetDict of splits: --split={split} is ignored")
    return rows.to_iterable_dataset() if streaming else rows


def load_rows(hf_dataset: str, hf_config: str = "", split: str = "train", streaming: bool = False) -> Rows:
    """The rows of split `split`: a datasets.Dataset, or an IterableDataset when streaming."""
    if os.path.isdir(hf_dataset):
        return _load_local_rows(hf_dataset, hf_config, split, streaming)
    if os.path.exists(hf_dataset) or hf_dataset.startswith((".", "/", "~")):
        what = (
            "is a file, not a folder: give the folder that holds it"
            if os.path.isfile(hf_dataset)
            else "no such folder"
        )
        raise UserError(
            f"--hf_dataset={hf_dataset}: {what} (a local dataset is a folder written by "
            f"save_to_disk, or one holding parquet, JSON lines or CSV files)"
        )
    reason = _hub_unreachable()
    if reason:
        _go_offline()  # the local cache may still hold it; no retry loop
    try:
        return _load_dataset(hf_dataset, hf_config, split, streaming)
    except (ConnectionError, OSError) as e:
        endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co")
        if reason is None:
            raise UserError(
                f"--hf_dataset={hf_dataset}: the Hugging Face hub ({endpoint}) did not give it: "
                f"{type(e).__name__}: {str(e)[:300]}"
            )
        config = f", '{hf_config}'" if hf_config else ""
        raise UserError(
            f"--hf_dataset={hf_dataset}: cannot reach the Hugging Face hub ({endpoint}; {reason}), and the "
            f"dataset is not in the local cache.\nOn a machine with internet access, save it to a folder:\n"
            f"  python -c \"import datasets; datasets.load_dataset('{hf_dataset}'{config}, split='{split}')"
            f".save_to_disk('FOLDER')\"\nthen copy FOLDER here and pass --hf_dataset=FOLDER (a folder of "
            f"parquet, JSON lines or CSV files works too)."
        ) from None


def text_getter(rows: Rows, languages: list[str], columns: dict[str, str], where: str) -> TextsOf:
    """A function batch -> {lang: list of texts}, after checking that the rows hold each language:
    in their 'translation' column, or in one column per language (`columns`)."""
    features = getattr(rows, "features", None)
    if features is None:  # streamed data files may not know their columns before the first row
        first = next(iter(rows), None)
        if first is None:
            raise UserError(f"{where} is empty: it has no rows")
        names = list(first)
        translation_languages = (
            list(first["translation"]) if isinstance(first.get("translation"), dict) else None
        )
    else:
        names = list(features)
        translation = features.get("translation")
        if type(translation).__name__ == "TranslationVariableLanguages":
            raise UserError(
                f"{where}: its rows are TranslationVariableLanguages ({{'language': [...], "
                f"'translation': [...]}}), which this script does not read; convert them to one "
                f"column per language (Dataset.map) and save_to_disk"
            )
        translation_languages = (
            list(translation.languages)
            if hasattr(translation, "languages")
            else list(translation)
            if isinstance(translation, dict)
            else None
        )
    per_column = all(columns[lang] in names for lang in languages)
    named = [lang for lang in languages if columns[lang] != lang]  # by --columns: never ignored
    if translation_languages is not None and not per_column and not named:
        missing = [lang for lang in languages if lang not in translation_languages]
        if missing:
            raise UserError(
                f"{where}: its 'translation' rows hold {', '.join(translation_languages)}, not "
                f"{', '.join(missing)}; pass --languages from those codes"
            )
        if features is not None and isinstance(features["translation"], dict):
            _check_text(
                {f"translation.{lang}": features["translation"][lang] for lang in languages}, where, names
            )
        elif features is None:
            _check_text(
                {f"translation.{lang}": first["translation"].get(lang) for lang in languages}, where, names
            )
        return lambda batch: {lang: [(t or {}).get(lang) for t in batch["translation"]] for lang in languages}
    if not per_column:
        missing = [f"{columns[lang]} (for {lang})" for lang in languages if columns[lang] not in names]
        raise UserError(
            f"{where}: no column {', '.join(missing)}; its columns are {', '.join(names)}. Rows must "
            f"be translation-style ({{'translation': {{'en': ..., 'de': ...}}}}) or hold one text "
            f"column per language: name them with --columns=en:COLUMN,de:COLUMN"
        )
    _check_text(
        {columns[lang]: (first if features is None else features)[columns[lang]] for lang in languages},
        where,
        names,
    )
    return lambda batch: {lang: batch[columns[lang]] for lang in languages}


def _check_text(columns, where, names):
    """Refuse columns ({name: datasets feature, or the first row's value}) that do not hold text:
    written with str() they would read b'...' or numbers (a binary column, an id column)."""
    for column, kind in columns.items():
        if (
            kind is None
            or isinstance(kind, str)
            or getattr(kind, "dtype", None) in ("string", "large_string")
        ):
            continue
        held = getattr(kind, "dtype", None) or type(kind).__name__
        advice = (
            " (bytes: decode them to strings first, e.g. with Dataset.map, and save_to_disk)"
            if held in ("binary", "large_binary", "bytes")
            else ""
        )
        raise UserError(
            f"{where}: column {column} holds {held}, not text{advice}. Its columns are "
            f"{', '.join(names)}; name the text column of each language with --columns=en:COLUMN,de:COLUMN"
        )


def _line(text):
    if text is None:
        return ""
    return LINE_BREAK.sub(" ", text if isinstance(text, str) else str(text)).strip()


def write_raw_files(
    rows: Rows,
    texts_of: TextsOf,
    languages: list[str],
    raw_dir: str,
    stem: str,
    max_rows: int = 0,
    verbose: bool = True,
    unreadable_rows: Callable[[Exception, int], UserError] | None = None,
) -> tuple[dict[str, str], int]:
    """Stream `rows` into raw_dir/<stem>.<lang>, one line per row and language; the files replace
    the old ones only once all are complete, and only when some row has text in every language.
    unreadable_rows(error, first row of the batch): the UserError for an error of the datasets
    library reading the rows. Returns ({lang: path}, rows written)."""
    os.makedirs(raw_dir, exist_ok=True)
    paths = {lang: os.path.join(raw_dir, f"{stem}.{lang}") for lang in languages}
    n_rows, usable, started = 0, 0, time.time()
    empty = dict.fromkeys(languages, 0)
    batches = rows.iter(batch_size=BATCH_ROWS)
    with written_together(paths, raw_dir) as tmp, contextlib.ExitStack() as open_files:
        files = {}
        for lang, path in tmp.items():
            files[lang] = open(path, "w", encoding="utf-8", newline="\n")
            open_files.callback(files[lang].close)
        while not max_rows or n_rows < max_rows:
            try:
                batch = next(batches, None)
            except Exception as e:  # pyarrow and datasets raise what they like on data they cannot read
                if unreadable_rows is None:
                    raise
                raise unreadable_rows(e, n_rows) from None
            if batch is None:
                break
            texts = texts_of(batch)
            count = len(texts[languages[0]])
            if max_rows and n_rows + count > max_rows:
                count = max_rows - n_rows
            lines = {lang: [_line(text) for text in texts[lang][:count]] for lang in languages}
            for lang in languages:
                files[lang].write("".join(line + "\n" for line in lines[lang]))
                empty[lang] += lines[lang].count("")
            usable += sum(all(sides) for sides in zip(*lines.values()))
            n_rows += count
            if verbose and n_rows // 100_000 != (n_rows - count) // 100_000:
                print(f"  {n_rows:,} rows ({time.time() - started:.0f} s)")
        open_files.close()  # before the files replace the old ones
        if n_rows == 0:
            raise UserError("the dataset has no rows to prepare")
        if usable == 0:  # refused before anything replaces the raw files or a tokenizer is trained
            raise UserError(
                f"none of the {n_rows:,} rows has text in every language ("
                + ", ".join(f"{lang} empty or missing in {n:,}" for lang, n in empty.items())
                + "): there is nothing to prepare. Check --languages and --columns against the rows."
            )
    return paths, n_rows


def command_line(options: dict[str, object]) -> str:
    """The command that prepares the dataset again (recorded in meta.json as prepare_command)."""
    defaults = {
        "hf_config": "",
        "split": "train",
        "streaming": False,
        "columns": "",
        "max_rows": 0,
        "tokenizer": "",
        "train_tokenizer": False,
        "vocab_size": DEFAULT_VOCAB_SIZE,
        "data_root": "data",
        "allow_new_languages": False,
    }
    parts = ["python", "data/hf/prepare.py"]
    for key in (
        "hf_dataset",
        "hf_config",
        "languages",
        "name",
        "split",
        "streaming",
        "columns",
        "max_rows",
        "vocab_size",
        "tokenizer",
        "train_tokenizer",
        "data_root",
        "allow_new_languages",
    ):
        if key in options and options[key] != defaults.get(key, object()):
            parts.append(shlex.quote(f"--{key}={options[key]}"))
    return " ".join(parts)


def _same_folder_or_name(a, b):
    return a == b or (os.path.isdir(a) and os.path.isdir(b) and os.path.samefile(a, b))


def check_output_name(
    name: str, data_root: str, hf_dataset: str, hf_config: str, languages: list[str], overwrite: bool = False
) -> None:
    """Refuse to replace <data_root>/<name>/ when it holds a dataset prepared from another source
    (another dataset, configuration, or not by this script) or of other languages, unless `overwrite`."""
    folder = os.path.join(data_root, name)
    meta = prepared_meta(folder)
    if meta is None:
        return  # nothing prepared there (or what a failed run left): ours to write
    source = meta.get("hf") if isinstance(meta.get("hf"), dict) else None
    other = None
    if source is None:
        other = "it was not made from a Hugging Face dataset"
    elif not (
        _same_folder_or_name(str(source.get("dataset")), hf_dataset)
        and (source.get("config") or "") == hf_config
    ):
        other = f"it was made from {source.get('dataset')}{' (' + source['config'] + ')' if source.get('config') else ''}"
    try:
        check_replacement(folder, languages, overwrite, other)
    except UserError as e:
        raise UserError(f"--name={name}: {e} Nothing was written.") from None


def hf_tokenizer_name(
    hf_dataset: str, languages: list[str], name: str, max_rows: int, vocab_size: int
) -> str:
    """The tokenizer trained for this data unless --tokenizer names one: the dataset's own
    (hf-opus-100-de-en-bpe10k); after --name, that name's (mine-bpe10k); for the first --max_rows
    rows, marked so (hf-opus-100-de-en-rows1000-bpe10k): a tokenizer trained on a sample or on
    other rows must not pass for the full dataset's, which a later prepare would reuse."""
    base = (name or default_name(hf_dataset, languages)) + (f"-rows{max_rows}" if max_rows else "")
    return dataset_tokenizer_name(base, vocab_size)


def prepare_hf_dataset(
    hf_dataset: str,
    languages: str,
    hf_config: str = "",
    name: str = "",
    split: str = "train",
    streaming: bool = False,
    columns: str = "",
    max_rows: int = 0,
    vocab_size: int = DEFAULT_VOCAB_SIZE,
    tokenizer: str = "",
    data_root: str = "data",
    num_proc: int = 0,
    allow_new_languages: bool = False,
    train_tokenizer: bool = False,
    overwrite: bool = False,
) -> dict:
    """What data/hf/prepare.py does: check the arguments, the tokenizer and the rows' columns,
    write the raw files, train or load the tokenizer of its languages, prepare <data_root>/<name>/."""
    given = dict(locals())  # the options as given, for the command recorded in meta.json
    if not hf_dataset:
        raise UserError("--hf_dataset is required: a hub name (e.g. Helsinki-NLP/opus-100) or a local folder")
    codes = parse_languages(languages)
    column_of = parse_columns(columns, codes)
    default_tokenizer = hf_tokenizer_name(hf_dataset, codes, name, max_rows, vocab_size)
    name = name or default_name(hf_dataset, codes)
    _check_name_and_rows(name, max_rows)
    check_output_name(name, data_root, hf_dataset, hf_config, codes, overwrite)
    if not tokenizer:
        _say_why_tokenizer_name(hf_dataset, codes, name, max_rows, vocab_size)
    check_tokenizer(
        tokenizer,
        default_tokenizer,
        {name: codes},
        data_root,
        allow_new_languages,
        train_tokenizer=train_tokenizer,
    )  # before the rows are read, not after
    where = f"{hf_dataset}{' (' + hf_config + ')' if hf_config else ''}, split {split}"
    # the dataset's lock: an unwritable data root is refused too, before the rows are read
    with preparing(os.path.join(data_root, name)):
        raw_files, n_rows = _rows_to_raw_files(
            hf_dataset, hf_config, split, streaming, codes, column_of, where, data_root, name, max_rows
        )
        command = command_line({**given, "languages": ",".join(codes), "name": name})
        source = _source_record(hf_dataset, hf_config, split, streaming, n_rows, columns, column_of, max_rows)
        corpora = {name: raw_files}
        return prepare_datasets(
            corpora,
            tokenizer,
            default_tokenizer,
            lambda tokenizer_name: train_tokenizer_on(tokenizer_name, vocab_size, corpora, data_root),
            data_root,
            num_proc,
            allow_new_languages,
            {name: {"prepare_command": command, "hf": source}},
            train_tokenizer=train_tokenizer,
            overwrite=overwrite,
        )[name]


def _check_name_and_rows(name: str, max_rows: int) -> None:
    if not LANGUAGE_CODE.fullmatch(name):
        raise UserError(f"--name={name}: a dataset name is a folder name (letters, digits, - and _)")
    if is_registered(name):
        raise UserError(f"--name={name} is a dataset of another prepare script; choose another name")
    if max_rows < 0:
        raise UserError(f"--max_rows={max_rows}: 0 (all rows) or a positive number")


def _say_why_tokenizer_name(
    hf_dataset: str, codes: list[str], name: str, max_rows: int, vocab_size: int
) -> None:
    """On screen, when the tokenizer trained for this data is not the dataset's own (after --name
    or --max_rows): why, and how to share one."""
    default_tokenizer = hf_tokenizer_name(hf_dataset, codes, name, max_rows, vocab_size)
    full_dataset_tokenizer = hf_tokenizer_name(hf_dataset, codes, "", 0, vocab_size)
    if default_tokenizer == full_dataset_tokenizer:
        return
    after = " and ".join(
        option
        for option, given in (
            ("--name", name != default_name(hf_dataset, codes)),
            (f"--max_rows={max_rows}", max_rows),
        )
        if given
    )
    print(
        f"the tokenizer of this data is '{default_tokenizer}' (named after {after}, so that it is never "
        f"taken for '{full_dataset_tokenizer}', the tokenizer of {hf_dataset} whole; to share a tokenizer "
        f"between datasets, pass --tokenizer=NAME)"
    )


def _rows_to_raw_files(
    hf_dataset: str,
    hf_config: str,
    split: str,
    streaming: bool,
    codes: list[str],
    column_of: dict[str, str],
    where: str,
    data_root: str,
    name: str,
    max_rows: int,
) -> tuple[dict[str, str], int]:
    """Read the rows and write <data_root>/<name>/raw/<name>.<lang>; returns ({lang: path}, rows)."""
    raw_dir = os.path.join(data_root, name, "raw")
    print(f"reading {where}{' (streaming)' if streaming else ''}")
    rows = load_rows(hf_dataset, hf_config, split, streaming)
    if hasattr(rows, "__len__") and not streaming and len(rows) == 0:
        raise UserError(f"{where} is empty: it has no rows")
    try:
        texts_of = text_getter(rows, codes, column_of, where)
    except UserError:
        raise
    except Exception as e:  # the first row of streamed data files, read to learn the columns
        raise unreadable(hf_dataset, e, where, split) from None
    raw_files, n_rows = write_raw_files(
        rows,
        texts_of,
        codes,
        raw_dir,
        name,
        max_rows,
        unreadable_rows=lambda e, row: unreadable(hf_dataset, e, where, split, row),
    )
    print(f"wrote {n_rows:,} rows of {', '.join(codes)} to {raw_dir}")
    return raw_files, n_rows


def _source_record(
    hf_dataset: str,
    hf_config: str,
    split: str,
    streaming: bool,
    n_rows: int,
    columns: str,
    column_of: dict[str, str],
    max_rows: int,
) -> dict:
    """meta.json's "hf": where the rows came from (the columns read, when --columns named them)."""
    return {
        "dataset": hf_dataset,
        "config": hf_config or None,
        "split": split,
        "streaming": streaming,
        "rows": n_rows,
        "columns": column_of if columns else None,
        "max_rows": max_rows or None,
        "local_folder": os.path.isdir(hf_dataset),
    }
