"""Tokenizer: training (data/bpe.py), tiktoken file format, round trips, identity checks, gpt2 offline.

$ python -m pytest -q tests/test_tokenizer.py
"""

import base64
import json
import random
import time

import numpy as np
import pytest
import tiktoken

from common import tokenizer
from common.errors import UserError
from common.tokenizer import EOT
from data.bpe import PRETOKENIZE_PATTERN, train_bpe_tokenizer

EN_WORDS = (
    "the commission council parliament report vote budget region member states must will "
    "debate motion agreement question answer right bank party bill order power fair "
    "important european citizens rights proposal directive we have not yet"
).split()
FR_WORDS = (
    "la commission conseil parlement rapport vote budget région États membres doit sera "
    "débat motion accord question réponse droit banque parti projet ordre pouvoir équitable "
    "important européens citoyens droits proposition directive nous n'avons pas encore l'été "
    "déjà très où ça être français naïve cœur"
).split()

TRICKY = [
    "L'Europe, c’est « notre » maison — n’est-ce pas ?",
    "Prix\u00a0: 12\u202f000\u00a0€ ; taux\u202f: 3,5\u00a0%",
    "Emoji 🇫🇷🇬🇧 👍🏽 and CJK 欧洲议会 / 欧州議会, Ελλάδα, Россия, עברית",
    "tabs\tand  double  spaces   and trailing space ",
    " leading space and\nnewline\r\nand <|endoftext|> as text",
    "combining e\u0301 vs é, zero\u200bwidth, ﬁ ligature, 𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
    "'s 't 're 've 'm 'll 'd O'Neill's aujourd'hui qu'il",
    "",
    " ",
    "\u00a0\u202f\u3000",
]


def sentences(words, n, seed):
    rng = random.Random(seed)
    return [
        " ".join(rng.choice(words) for _ in range(rng.randint(4, 18))).capitalize() + "." for _ in range(n)
    ]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    data_root = str(tmp_path_factory.mktemp("data"))
    texts = {"en": sentences(EN_WORDS, 3000, 0) + TRICKY, "fr": sentences(FR_WORDS, 3000, 1) + TRICKY}
    heldout = {"en": sentences(EN_WORDS, 200, 2) + TRICKY, "fr": sentences(FR_WORDS, 200, 3) + TRICKY}
    tok = train_bpe_tokenizer(
        texts, vocab_size=400, name="test-bpe", data_root=data_root, heldout_by_lang=heldout, verbose=False
    )
    return tok, data_root


def test_round_trip_english_french_and_tricky_characters(trained):
    tok, _ = trained
    texts = sentences(EN_WORDS, 20, 5) + sentences(FR_WORDS, 20, 6) + TRICKY
    for text in texts:
        ids = tok.encode(text)
        assert tok.decode(ids) == text
        assert tok.decode(np.array(ids, dtype=np.uint16)) == text  # as read from a .bin file
        assert all(0 <= i < tok.eot_token for i in ids)  # EOT text is ordinary text
    assert tok.encode_batch(texts, num_threads=3) == [tok.encode(t) for t in texts]
    many = texts * 10  # enough to be shared out among threads
    assert tok.encode_batch(many, num_threads=4) == [tok.encode(t) for t in many]


def test_lines_with_eot_equal_per_line_encoding(trained):
    tok, _ = trained
    lines = sentences(FR_WORDS, 50, 7) + ["ends with <|endof", "text|> starts", "x"]
    expected = [i for line in lines for i in tok.encode(line) + [tok.eot_token]]
    assert tok.encode_lines_with_eot(lines).tolist() == expected
    # a line holding the EOT text itself takes the line-by-line path, same ids
    lines.append("a <|endoftext|> inside")
    expected += tok.encode(lines[-1]) + [tok.eot_token]
    assert tok.encode_lines_with_eot(lines).tolist() == expected
    assert len(tok.encode_lines_with_eot([])) == 0


def test_tiktoken_file_ranks_are_bytes_then_merges(trained):
    tok, data_root = trained
    tiktoken_path, json_path = tokenizer.tokenizer_paths("test-bpe", data_root)
    with open(tiktoken_path, "rb") as f:
        rows = [line.split() for line in f.read().splitlines()]
    ranks = [int(rank) for _, rank in rows]
    assert ranks == list(range(len(rows)))
    assert [base64.b64decode(token) for token, _ in rows[:256]] == [bytes([b]) for b in range(256)]
    assert all(len(base64.b64decode(token)) >= 2 for token, _ in rows[256:])
    assert tok.eot_token == len(rows) == tok.n_vocab - 1
    assert 300 < tok.n_vocab <= 400  # EOT counted in the 400
    info = json.load(open(json_path))
    assert info["vocab_size"] == tok.n_vocab and info["sha256"] == tok.sha256
    assert info["pat_str"] == PRETOKENIZE_PATTERN
    assert info["special_tokens"] == {EOT: tok.eot_token}
    for lang in ("en", "fr"):
        stats = info["compression_heldout"][lang]
        assert stats["tokens_per_word"] > 1 and stats["bytes_per_token"] > 1


def test_trainer_and_tiktoken_tokenize_identically(trained):
    """Same regex on both sides and ranks in merge order: tiktoken reproduces the trained BPE,
    also on the tricky characters (they are in the held-out text compared at training time)."""
    _, data_root = trained
    info = json.load(open(tokenizer.tokenizer_paths("test-bpe", data_root)[1]))
    assert info["trainer_tiktoken_compared_lines"] >= 400
    assert info["trainer_tiktoken_mismatched_lines"] == 0


def test_load_by_name_and_by_identity(trained):
    tok, data_root = trained
    again = tokenizer.load_tokenizer("test-bpe", data_root)
    same = tokenizer.load_tokenizer(tok.identity(), data_root)
    assert again.sha256 == same.sha256 == tok.sha256
    assert tok.identity() == {
        "name": "test-bpe",
        "sha256": tok.sha256,
        "path": "tokenizers/test-bpe.tiktoken",
    }
    text = "Le Parlement européen a adopté « la directive »."
    assert same.encode(text) == tok.encode(text)
    assert tok.token_bytes(tok.encode("é")[0]) in ("é".encode(), b"\xc3")
    assert tok.token_str(tok.encode("\n")[0]) == "\\n"
    assert tok.token_str(tok.encode(" the")[-1]).strip() != ""


def test_sha256_mismatch_and_missing_file_are_clear_errors(trained, tmp_path):
    tok, data_root = trained
    identity = dict(tok.identity(), sha256="0" * 64)
    with pytest.raises(UserError, match="(?s)changed since the data was prepared.*prepare.py"):
        tokenizer.load_tokenizer(identity, data_root, dataset="europarl")
    with pytest.raises(UserError, match="not found.*python data/europarl/prepare.py"):
        tokenizer.load_tokenizer(tok.identity(), str(tmp_path), dataset="europarl")


def test_language_balanced_sample_with_parallel_heldout(tmp_path):
    en = [f"english sentence number {i} is rather short" for i in range(3000)]
    fr = [f"la phrase française numéro {i} est nettement plus longue que l'anglaise" for i in range(3000)]
    tok = train_bpe_tokenizer(
        {"en": en, "fr": fr},
        vocab_size=300,
        name="balanced",
        data_root=str(tmp_path),
        max_bytes_per_language=60_000,
        heldout_every=10,
        verbose=False,
    )
    info = json.load(open(tokenizer.tokenizer_paths("balanced", str(tmp_path))[1]))
    sample = info["training_sample"]
    assert abs(sample["en"]["bytes"] - sample["fr"]["bytes"]) < 100  # within about one line
    assert 60_000 <= sample["fr"]["bytes"] < 60_100
    assert sample["en"]["lines"] > sample["fr"]["lines"]  # French lines are longer
    held = info["compression_heldout"]
    assert held["en"]["lines"] == held["fr"]["lines"] > 0  # the same line numbers in both languages
    assert tok.n_vocab <= 300


def test_gpt2_offline_fails_fast_with_clear_message(tmp_path, monkeypatch):
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))  # nothing cached
    monkeypatch.setattr(tokenizer, "GPT2_HOST", "127.0.0.1")
    monkeypatch.setattr(tokenizer, "GPT2_PORT", 9)  # nothing listens: refused at once
    started = time.time()
    with pytest.raises(UserError, match="cannot be fetched") as error:
        tokenizer.load_tokenizer("gpt2")
    assert time.time() - started < 10
    assert "TIKTOKEN_CACHE_DIR" in str(error.value)


def test_gpt2_when_tiktoken_has_it():
    if not tokenizer._gpt2_files_cached():
        pytest.skip("tiktoken's GPT-2 files are not cached on this machine")
    tok = tokenizer.load_tokenizer("gpt2")
    assert tok.n_vocab == 50257 and tok.eot_token == 50256 and tok.path is None
    assert tok.encode("hello world") == tiktoken.get_encoding("gpt2").encode_ordinary("hello world")
    assert tokenizer.load_tokenizer(tok.identity()).sha256 == tok.sha256


def test_vocab_size_too_small_is_a_clear_error(tmp_path):
    with pytest.raises(UserError, match="more than 257"):
        train_bpe_tokenizer({"en": ["a b c"]}, vocab_size=200, name="tiny", data_root=str(tmp_path))


def test_encode_batch_of_numpy_split_is_lists(trained):
    tok, _ = trained
    out = tok.encode_batch(["a b", "c"])
    assert all(isinstance(ids, list) and all(isinstance(i, int) for i in ids) for ids in out)
    assert np.concatenate([np.array(ids) for ids in out]).size == sum(
        len(tok.encode(t)) for t in ["a b", "c"]
    )


def test_a_tokenizer_json_with_a_gap_in_its_ids(tmp_path):
    """Ids need not be contiguous in a tokenizer.json: n_vocab bounds them, token_mask says which
    are tokens, and token_rows gives a model's rows that are tokens (never the gap, never past the
    tokenizer)."""
    from converted_models import write_byte_tokenizer

    write_byte_tokenizer(tmp_path / "tok.json")
    spec = json.loads((tmp_path / "tok.json").read_text())
    spec["model"]["vocab"]["ĠĠ"] = 300  # after a gap of 43 ids
    (tmp_path / "tok.json").write_text(json.dumps(spec))
    tok = tokenizer.HFTokenizer(str(tmp_path / "tok.json"))
    assert tok.n_vocab == 301 and tok.eot_token == 0
    mask = tok.token_mask()
    assert mask[:257].all() and not mask[257:300].any() and mask[300]
    rows = tokenizer.token_rows(tok, 320)
    assert rows.sum() == 258 and not rows[301:].any()
    assert tokenizer.token_rows(tok, 200).all()
    with pytest.raises(UserError, match=r"holds token id\(s\) 200 .*which the model has no row for"):
        tokenizer.check_rows(tok, [5, 200, 3], 200, "the prompt")
