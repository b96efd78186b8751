"""
The tokenizer: the project's byte-level BPE (trained by data/bpe.py) encoded with tiktoken, GPT-2's
encoding (both: TiktokenTokenizer), or a converted model's Hugging Face tokenizer.json
(HFTokenizer), all behind one interface, the abstract class Tokenizer: callers use nothing else.

    <data_root>/tokenizers/<name>.tiktoken   one "<base64 token bytes> <rank>" line per token
    <data_root>/tokenizers/<name>.json       vocab size, pre-tokenization regex, special tokens,
                                             training sample sizes, per-language compression

Ranks are the byte values 0..255 followed by the merged tokens in the order the trainer learned
them, and `<|endoftext|>` (EOT) is the last id, so vocab_size counts it. A tokenizer is identified
by its name and the sha256 of its .tiktoken file: meta.json of every prepared dataset records both
and load_tokenizer checks them. The name 'gpt2' gives tiktoken's GPT-2 encoding instead.

    from common import tokenizer
    tok = tokenizer.load_tokenizer(meta["tokenizer"], data_root="data")
    ids = tok.encode("La séance est ouverte.")

A model's rows and its tokenizer's ids need not match (converted models): token_rows says which
rows are tokens (the only ones a tool shows, ranks or samples), check_rows refuses text holding a
token the model has no row for, naming it.
"""

from __future__ import annotations

import abc
import base64
import hashlib
import json
import os
from collections.abc import Iterable, Sequence

import numpy as np
import tiktoken

from common.atomic_files import written_atomically
from common.errors import UserError
from common.file_hash import file_sha256
from common.network import connection_error

EOT = "<|endoftext|>"
TOKENIZERS_DIR = "tokenizers"  # under the data root

# tiktoken's GPT-2 files, fetched once from the internet and then read from its cache
GPT2_HOST, GPT2_PORT = "openaipublic.blob.core.windows.net", 443
GPT2_FILES = (
    "https://openaipublic.blob.core.windows.net/gpt-2/encodings/main/vocab.bpe",
    "https://openaipublic.blob.core.windows.net/gpt-2/encodings/main/encoder.json",
)
CONNECT_TIMEOUT_S = 3.0


class Tokenizer(abc.ABC):
    """What every tokenizer of the project offers, and all that its callers use: the identity
    that prepared data and checkpoints record (`name`, `sha256`, `path`, `identity()`), token ids
    below `n_vocab` (the vocabulary size; `token_mask()` says which of them are tokens),
    `eot_token` (the id of <|endoftext|>), encoding and decoding, and the bytes of one token.
    The library object that does the work (a tiktoken Encoding, a `tokenizers` Tokenizer) is
    each implementation's own."""

    def __init__(self, name: str, sha256: str, path: str | None, n_vocab: int, eot_token: int) -> None:
        self.name = name
        self.sha256 = sha256
        self.path = path
        self.n_vocab = n_vocab
        self.eot_token = eot_token

    def __repr__(self) -> str:
        return f"Tokenizer(name={self.name!r}, n_vocab={self.n_vocab}, sha256={self.sha256[:12]}...)"

    def identity(self) -> dict:
        """What meta.json and checkpoints record, and load_tokenizer reads back."""
        return {"name": self.name, "sha256": self.sha256, "path": self.path}

    @abc.abstractmethod
    def encode(self, text: str) -> list[int]:
        """Token ids of `text`, no EOT appended."""

    @abc.abstractmethod
    def encode_batch(self, texts: Iterable[str], num_threads: int = 8) -> list[list[int]]:
        """encode() of every text."""

    @abc.abstractmethod
    def encode_lines_with_eot(self, lines: Iterable[str]) -> np.ndarray:
        """One flat uint32 array: the ids of each line followed by EOT, as stored in the .bin files."""

    @abc.abstractmethod
    def decode(self, ids: Sequence[int] | np.ndarray) -> str:
        """Text of token ids (a list, or a numpy array as read from a .bin file)."""

    @abc.abstractmethod
    def token_bytes(self, token_id: int) -> bytes:
        """The bytes one token stands for."""

    @abc.abstractmethod
    def token_mask(self) -> np.ndarray:
        """bool numpy (n_vocab,): which ids below n_vocab are tokens."""

    def token_str(self, token_id: int) -> str:
        """Printable form of one token for tables: its text, with a regular space kept as a space,
        other non-printable characters escaped ('\\n', '\\xa0') and bytes that are only part of a
        UTF-8 character written as '\\xe2'."""
        text = self.token_bytes(token_id).decode("utf-8", errors="backslashreplace")
        return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


class TiktokenTokenizer(Tokenizer):
    """A tiktoken Encoding: the project's trained BPE (`path`: its .tiktoken file relative to the
    data root) or GPT-2's (`path` None)."""

    def __init__(self, encoding: tiktoken.Encoding, name: str, sha256: str, path: str | None = None) -> None:
        super().__init__(name, sha256, path, encoding.n_vocab, encoding.eot_token)
        self._encoding = encoding

    def encode(self, text: str) -> list[int]:
        """Token ids of `text`, no EOT appended; the text '<|endoftext|>' is encoded as ordinary text."""
        return self._encoding.encode_ordinary(text)

    def encode_batch(self, texts: Iterable[str], num_threads: int = 8) -> list[list[int]]:
        """encode() of every text, the texts shared out among `num_threads` threads."""
        texts = list(texts)
        if not texts:
            return []
        num_threads = max(1, min(num_threads, len(texts) // 64 or 1))
        if num_threads == 1:
            return _split_at_eot(self.encode_lines_with_eot(texts), self.eot_token)
        bounds = np.linspace(0, len(texts), num_threads + 1).astype(int)
        groups = [texts[a:b] for a, b in zip(bounds[:-1], bounds[1:])]
        from concurrent.futures import ThreadPoolExecutor  # tiktoken releases the GIL while encoding

        with ThreadPoolExecutor(num_threads) as pool:
            flats = list(pool.map(self.encode_lines_with_eot, groups))
        return [ids for flat in flats for ids in _split_at_eot(flat, self.eot_token)]

    def encode_lines_with_eot(self, lines: Iterable[str]) -> np.ndarray:
        """One flat uint32 array: the ids of each line followed by EOT, as stored in the .bin files.

        Same ids as encode() line by line, but one call into tiktoken for all lines: the lines are
        joined with the EOT text and EOT is the only special token allowed. tiktoken encodes the text
        between special tokens independently, so nothing merges across lines.
        """
        lines = list(lines)
        if not lines:
            return np.zeros(0, dtype=np.uint32)
        joined = EOT.join(lines) + EOT
        # '<|endoftext|>' has no prefix that is also a suffix, so the count is only the separators
        # unless a line itself holds the EOT text; such a batch is encoded line by line.
        if joined.count(EOT) == len(lines):
            try:
                return self._encoding.encode_to_numpy(joined, allowed_special={EOT})
            except UnicodeEncodeError:  # lone surrogates: let encode_ordinary repair them
                pass
        flat = []
        for line in lines:
            flat.extend(self._encoding.encode_ordinary(line))
            flat.append(self.eot_token)
        return np.array(flat, dtype=np.uint32)

    def decode(self, ids: Sequence[int] | np.ndarray) -> str:
        return self._encoding.decode(ids.tolist() if isinstance(ids, np.ndarray) else list(ids))

    def token_bytes(self, token_id: int) -> bytes:
        return self._encoding.decode_single_token_bytes(int(token_id))

    def token_mask(self) -> np.ndarray:
        """Every id below n_vocab is a token of a tiktoken Encoding."""
        return np.ones(self.n_vocab, dtype=bool)

    def ranks_and_pattern(self) -> tuple[dict[bytes, int], str]:
        """({token bytes: rank}, pre-tokenization regex): what a Hugging Face copy is built from."""
        return tiktoken_ranks_and_pattern(self._encoding)


def tiktoken_ranks_and_pattern(encoding: tiktoken.Encoding) -> tuple[dict[bytes, int], str]:
    """({token bytes: rank}, pre-tokenization regex) of a tiktoken Encoding: the one place that
    reads its private attributes (tiktoken has no public accessor for them)."""
    return encoding._mergeable_ranks, encoding._pat_str


def _split_at_eot(flat, eot_token):
    ends = np.flatnonzero(flat == eot_token)
    starts = np.concatenate(([0], ends[:-1] + 1))
    return [flat[a:b].tolist() for a, b in zip(starts, ends)]


# -----------------------------------------------------------------------------
# files: <name>.tiktoken (the ranks) and <name>.json (everything else)


def tokenizer_paths(name: str, data_root: str = "data") -> tuple[str, str]:
    """(.tiktoken path, .json path) of the tokenizer `name` under the data root."""
    base = os.path.join(data_root, TOKENIZERS_DIR, name)
    return base + ".tiktoken", base + ".json"


def tiktoken_file_bytes(ranks: dict[bytes, int]) -> bytes:
    """The content of a .tiktoken file holding `ranks` ({token bytes: rank})."""
    return b"".join(
        base64.b64encode(token) + b" " + str(rank).encode() + b"\n"
        for token, rank in sorted(ranks.items(), key=lambda item: item[1])
    )


def _read_tiktoken_file(path):
    ranks = {}
    with open(path, "rb") as f:
        for line_number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                token, rank = line.split()
                ranks[base64.b64decode(token, validate=True)] = int(rank)
            except ValueError:
                raise UserError(
                    f"{path}, line {line_number}: not a tiktoken BPE file "
                    "(expected '<base64 token> <rank>' lines)"
                )
    if sorted(ranks.values()) != list(range(len(ranks))):
        raise UserError(f"{path}: the ranks are not 0..{len(ranks) - 1}; not a tokenizer this code wrote")
    return ranks


def _trained_tokenizer(name, data_root, dataset=None):
    tiktoken_path, json_path = tokenizer_paths(name, data_root)
    redo = (
        f"run `python data/{dataset}/prepare.py`, which trains it"
        if dataset
        else "prepare the dataset that uses it again (python data/<dataset>/prepare.py), which trains it"
    )
    for path in (tiktoken_path, json_path):
        if not os.path.exists(path):
            raise UserError(f"tokenizer '{name}' not found: {path} does not exist. To create it, {redo}.")
    with open(json_path) as f:
        info = json.load(f)
    ranks = _read_tiktoken_file(tiktoken_path)
    encoding = tiktoken.Encoding(
        name, pat_str=info["pat_str"], mergeable_ranks=ranks, special_tokens=info["special_tokens"]
    )
    path = os.path.join(TOKENIZERS_DIR, name + ".tiktoken")
    return TiktokenTokenizer(encoding, name, file_sha256(tiktoken_path), path)


# -----------------------------------------------------------------------------
# tiktoken's GPT-2 encoding, which must fail fast and clearly when offline


def _tiktoken_cache_dir():
    """Where tiktoken caches downloaded files (the same rule as tiktoken.load.read_file_cached)."""
    if "TIKTOKEN_CACHE_DIR" in os.environ:
        return os.environ["TIKTOKEN_CACHE_DIR"]
    if "DATA_GYM_CACHE_DIR" in os.environ:
        return os.environ["DATA_GYM_CACHE_DIR"]
    import tempfile

    return os.path.join(tempfile.gettempdir(), "data-gym-cache")


def _gpt2_files_cached():
    cache_dir = _tiktoken_cache_dir()
    return bool(cache_dir) and all(
        os.path.exists(os.path.join(cache_dir, hashlib.sha1(url.encode()).hexdigest())) for url in GPT2_FILES
    )


def _load_gpt2():
    if not _gpt2_files_cached():
        error = connection_error(GPT2_HOST, GPT2_PORT, CONNECT_TIMEOUT_S)
        if error is not None:
            raise UserError(
                f"tokenizer='gpt2': tiktoken's GPT-2 files cannot be fetched ({GPT2_HOST}:{GPT2_PORT} unreachable: {error}) "
                f"and are not in tiktoken's cache ({_tiktoken_cache_dir() or 'caching disabled'}).\n"
                f"Either run once with internet access (tiktoken caches the files), copy a cache holding them "
                f"and point TIKTOKEN_CACHE_DIR at it, or use the BPE tokenizer trained by the prepare script "
                f"(the default)."
            )
    try:
        encoding = tiktoken.get_encoding("gpt2")
    except Exception as e:  # requests errors, hash mismatch, unwritable cache...
        raise UserError(
            f"tokenizer='gpt2': tiktoken could not load the GPT-2 encoding: {type(e).__name__}: {e}"
        )
    ranks, _ = tiktoken_ranks_and_pattern(encoding)
    return TiktokenTokenizer(encoding, "gpt2", hashlib.sha256(tiktoken_file_bytes(ranks)).hexdigest(), None)


# -----------------------------------------------------------------------------


def load_tokenizer(
    identity_or_name: dict | str, data_root: str = "data", dataset: str | None = None
) -> Tokenizer:
    """The tokenizer named in meta.json (a {"name", "sha256", "path"} dict, sha256 checked), or the
    tokenizer with that name ('gpt2', or one trained under <data_root>/tokenizers/).

    `dataset` makes the error messages name the right prepare script; a Hugging Face tokenizer.json
    that prepared data uses is found in that dataset's folder."""
    if isinstance(identity_or_name, dict) and identity_or_name.get("format") == "huggingface":
        if dataset is None:
            raise UserError(
                f"tokenizer {identity_or_name['name']} is a tokenizer.json kept with "
                f"its dataset: name the dataset to load it"
            )
        return checkpoint_tokenizer_from_identity(identity_or_name, os.path.join(data_root, dataset))
    if isinstance(identity_or_name, str):
        name = identity_or_name
        return _load_gpt2() if name == "gpt2" else _trained_tokenizer(name, data_root, dataset)
    identity = identity_or_name
    name, expected = identity["name"], identity.get("sha256")
    if name == "gpt2":
        tok = _load_gpt2()
    else:
        path = identity.get("path") or os.path.join(TOKENIZERS_DIR, name + ".tiktoken")
        if os.path.normpath(path) != os.path.normpath(os.path.join(TOKENIZERS_DIR, name + ".tiktoken")):
            raise UserError(
                f"meta.json names tokenizer '{name}' at {path}, expected {TOKENIZERS_DIR}/{name}.tiktoken"
            )
        tok = _trained_tokenizer(name, data_root, dataset)
    if expected and tok.sha256 != expected:
        redo = f"python data/{dataset}/prepare.py" if dataset else "python data/<dataset>/prepare.py"
        raise UserError(
            f"tokenizer '{name}' changed since the data was prepared: "
            f"{os.path.join(data_root, tok.path) if tok.path else name} has sha256 {tok.sha256[:16]}..., "
            f"meta.json expects {expected[:16]}...\n"
            f"The token ids in the .bin files belong to the old tokenizer. Prepare the data again ({redo}) "
            f"or restore the tokenizer files it was prepared with."
        )
    return tok


def byte_decoder() -> dict[str, int]:
    """GPT-2's byte-to-printable-character table, reversed: the `tokenizers` ByteLevel alphabet."""
    printable = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(ord("¡"), ord("¬") + 1))
        + list(range(ord("®"), ord("ÿ") + 1))
    )
    chars, extra = dict(), 0
    for b in range(256):
        if b in printable:
            chars[b] = chr(b)
        else:
            chars[b] = chr(256 + extra)
            extra += 1
    return {c: b for b, c in chars.items()}


# -----------------------------------------------------------------------------
# Hugging Face tokenizer.json files: the tokenizers of models converted from elsewhere

HF_TOKENIZER_FILE = "tokenizer.json"


class HFTokenizer(Tokenizer):
    """A Hugging Face `tokenizers` tokenizer.json behind the interface of Tokenizer: what models
    converted from elsewhere (convert_checkpoint.py) were trained with, encoded exactly as they
    were. Identified by the sha256 of its tokenizer.json; `path` is where it lies."""

    def __init__(self, path: str, name: str | None = None) -> None:
        from tokenizers import Tokenizer as RustTokenizer

        try:
            self._encoding = RustTokenizer.from_file(path)
        except Exception as e:
            raise UserError(
                f"{path} is not a Hugging Face tokenizer.json ({type(e).__name__}: {str(e)[:200]})"
            )
        eot_token = self._encoding.token_to_id(EOT)
        if eot_token is None:
            raise UserError(f"{path} has no {EOT} token: this project ends every line with it")
        ids = self._encoding.get_vocab(with_added_tokens=True).values()
        self._ids = np.array(sorted(ids), dtype=np.int64)
        # ids need not be contiguous: n_vocab bounds them, token_mask says which exist
        n_vocab = int(self._ids[-1]) + 1
        super().__init__(name or hf_tokenizer_name(path), file_sha256(path), path, n_vocab, eot_token)
        self._decoder = byte_decoder()

    def identity(self) -> dict:
        return {"name": self.name, "sha256": self.sha256, "path": HF_TOKENIZER_FILE, "format": "huggingface"}

    def encode(self, text: str) -> list[int]:
        return self._encoding.encode(text, add_special_tokens=False).ids

    def encode_batch(self, texts: Iterable[str], num_threads: int = 8) -> list[list[int]]:
        return [e.ids for e in self._encoding.encode_batch(list(texts), add_special_tokens=False)]

    def encode_lines_with_eot(self, lines: Iterable[str]) -> np.ndarray:
        flat = []
        for ids in self.encode_batch(lines):
            flat.extend(ids)
            flat.append(self.eot_token)
        return np.array(flat, dtype=np.uint32)

    def decode(self, ids: Sequence[int] | np.ndarray) -> str:
        ids = ids.tolist() if isinstance(ids, np.ndarray) else list(ids)
        return self._encoding.decode(ids, skip_special_tokens=False)

    def token_bytes(self, token_id: int) -> bytes:
        token = self._encoding.id_to_token(int(token_id))
        if token is None:
            raise ValueError(f"token id {token_id} is not in {self.path} ({self.n_vocab} tokens)")
        if all(c in self._decoder for c in token):  # byte-level BPE: one character per byte
            return bytes(self._decoder[c] for c in token)
        return token.encode("utf-8")

    def token_mask(self) -> np.ndarray:
        mask = np.zeros(self.n_vocab, dtype=bool)
        mask[self._ids] = True
        return mask


# -----------------------------------------------------------------------------
# a tokenizer and the rows of a model: neither need cover the other. A model may have more rows
# than its tokenizer has tokens (padding; the original project's 50,304 rows for 10,001 tokens),
# or fewer (its 10,000-row models with the same 10,001-token tokenizer).


def token_rows(tokenizer: Tokenizer, rows: int) -> np.ndarray:
    """bool numpy (rows,): which of a model's `rows` rows are tokens of the tokenizer. Tools that
    rank or sample tokens leave the others out: no text stands for them."""
    mask = np.zeros(rows, dtype=bool)
    known = tokenizer.token_mask()[:rows]
    mask[: len(known)] = known
    return mask


def tokens_without_rows(tokenizer: Tokenizer, rows: int) -> list[int]:
    """The ids of the tokenizer's tokens that a model of `rows` rows has no row for."""
    return (rows + np.flatnonzero(tokenizer.token_mask()[rows:])).tolist()


def ids_without_rows(ids: Iterable[int], rows: int) -> list[int]:
    """The distinct ids, in increasing order, that a model of `rows` rows cannot embed."""
    return sorted({int(i) for i in ids if i >= rows})


def missing_rows_message(tokenizer: Tokenizer, ids: Iterable[int], rows: int) -> str:
    """The ids of `ids` that a model of `rows` rows has no row for, named with their tokens."""
    missing = ids_without_rows(ids, rows)
    named = ", ".join(f"{i} {tokenizer.token_str(i)!r}" for i in missing[:10])
    more = f" and {len(missing) - 10} more" if len(missing) > 10 else ""
    return (
        f"token id(s) {named}{more}, which the model has no row for ({rows:,} rows for the "
        f"{tokenizer.n_vocab:,} ids of tokenizer {tokenizer.name}: it was trained without "
        f"them)"
    )


def check_rows(tokenizer: Tokenizer, ids: Iterable[int], rows: int, what: str) -> None:
    """An UserError, naming them, when `what` (a prompt, a word) holds tokens the model cannot
    read."""
    if ids_without_rows(ids, rows):
        raise UserError(
            f"{what} holds {missing_rows_message(tokenizer, ids, rows)}. Leave out or "
            f"rephrase the text that needs them."
        )


def hf_tokenizer_file(path: str) -> str:
    """A tokenizer.json, or the tokenizer.json inside a folder."""
    candidate = os.path.join(path, HF_TOKENIZER_FILE) if os.path.isdir(path) else path
    if not os.path.isfile(candidate):
        where = (
            f"the folder {path} holds no {HF_TOKENIZER_FILE}"
            if os.path.isdir(path)
            else f"{path} does not exist"
        )
        raise UserError(
            f"tokenizer: {where}. Give a Hugging Face tokenizer.json or a folder "
            f"holding one (the original project's is tokenizer/BkpTokenizer.json/)"
        )
    return candidate


def hf_tokenizer_name(path: str) -> str:
    """The folder's name for .../NAME/tokenizer.json, else the file's name without .json."""
    path = os.path.abspath(path)
    base = os.path.basename(path)
    if base == HF_TOKENIZER_FILE:
        return os.path.basename(os.path.dirname(path)) or base
    return base[: -len(".json")] if base.endswith(".json") else base


def is_tokenizer_json_path(value: str) -> bool:
    """Whether a --tokenizer value is a tokenizer.json path (not a name of load_tokenizer's)."""
    return bool(value) and (value.endswith(".json") or os.path.isdir(value) or os.sep in value)


def copy_hf_tokenizer(path: str, folder: str) -> HFTokenizer:
    """Copy a tokenizer.json (or a folder's) into folder atomically; the copy, loaded."""
    source = hf_tokenizer_file(path)
    HFTokenizer(source)  # a clear error before anything is written
    os.makedirs(folder, exist_ok=True)
    target = os.path.join(folder, HF_TOKENIZER_FILE)
    with open(source, "rb") as f, written_atomically(target) as tmp, open(tmp, "wb") as copy:
        copy.write(f.read())
    return HFTokenizer(target, hf_tokenizer_name(source))


def checkpoint_tokenizer_from_identity(
    identity: dict, checkpoint_dir: str, data_root: str = "data", datasets: Sequence[str] = ()
) -> Tokenizer:
    """The tokenizer a checkpoint names: a tokenizer.json kept beside it (converted models) or
    with the datasets it was fine-tuned on, or one of load_tokenizer's."""
    if identity.get("format") != "huggingface":
        return load_tokenizer(identity, data_root)
    name = identity.get("path") or HF_TOKENIZER_FILE
    candidates = [
        os.path.join(folder, name)
        for folder in [checkpoint_dir] + [os.path.join(data_root, d) for d in datasets]
    ]
    path = next((c for c in candidates if os.path.isfile(c)), None)
    if path is None:
        raise UserError(
            f"the checkpoint in {checkpoint_dir} uses the tokenizer {name}, which is "
            f"in none of {', '.join(candidates)}: copy the tokenizer.json it was "
            f"converted with beside it"
        )
    tok = HFTokenizer(path, identity.get("name"))
    if identity.get("sha256") and tok.sha256 != identity["sha256"]:
        raise UserError(
            f"{path} is not the tokenizer the checkpoint was converted with "
            f"(sha256 {tok.sha256[:16]}..., expected {identity['sha256'][:16]}...)"
        )
    return tok


def _bpe_parts(token, ranks):
    """The two tokens that BPE, with only the merges ranked before `token`, joins into it."""
    parts = [bytes([b]) for b in token]
    limit = ranks[token]
    while len(parts) > 2:
        best = None
        for i in range(len(parts) - 1):
            rank = ranks.get(parts[i] + parts[i + 1])
            if rank is not None and rank < limit and (best is None or rank < best[0]):
                best = (rank, i)
        if best is None:
            break
        i = best[1]
        parts = parts[:i] + [parts[i] + parts[i + 1]] + parts[i + 2 :]
    return parts


def hf_tokenizer_json(tok: TiktokenTokenizer | HFTokenizer) -> str:
    """A Hugging Face tokenizer.json (text) that encodes exactly as a TiktokenTokenizer:
    byte-level BPE whose merges are read off the ranks, after the same pre-tokenization regex."""
    if isinstance(tok, HFTokenizer):
        with open(tok.path, encoding="utf-8") as f:
            return f.read()
    from tokenizers import Regex, decoders, models, pre_tokenizers
    from tokenizers import Tokenizer as RustTokenizer

    ranks, pattern = tok.ranks_and_pattern()
    to_char = {b: c for c, b in byte_decoder().items()}
    text = lambda token: "".join(to_char[b] for b in token)
    vocab = {text(token): rank for token, rank in ranks.items()}
    merges = []
    for token, rank in sorted(ranks.items(), key=lambda item: item[1]):
        if len(token) > 1:
            parts = _bpe_parts(token, ranks)
            if len(parts) != 2:
                raise UserError(
                    f"tokenizer {tok.name}: token {token!r} is no merge of two tokens; "
                    f"it cannot be written as a Hugging Face BPE"
                )
            merges.append((text(parts[0]), text(parts[1])))
    hf = RustTokenizer(models.BPE(vocab=vocab, merges=merges, fuse_unk=False))
    hf.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(pattern), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    hf.decoder = decoders.ByteLevel()
    hf.add_special_tokens([EOT])
    if hf.token_to_id(EOT) != tok.eot_token:
        raise UserError(
            f"tokenizer {tok.name}: {EOT} would get id {hf.token_to_id(EOT)}, not {tok.eot_token}"
        )
    return hf.to_str()
