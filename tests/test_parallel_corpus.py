"""Line-aligned parallel text -> prepared data: splits, alignment, dropped pairs, bad input, .bin
contents, atomic replacement, and the prepare script on Europarl-format files.

$ python -m pytest -q tests/test_parallel_corpus.py
"""

import json
import os
import random
import subprocess
import sys

import numpy as np
import pytest
import tiktoken

from common import tokenizer
from common.errors import UserError
from common.file_hash import file_sha256
from data import aligned_text, parallel_corpus, prepare_scripts
from data.aligned_text import split_of_line, split_of_lines
from data.bpe import PRETOKENIZE_PATTERN, train_bpe_tokenizer
from data.corpora import default_tokenizer_name, raw_files_of
from data.preparation_speed import tokenization_throughput
from data.prepared import SPLITS, token_dtype

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

EN = [
    "The Commission supports the report",
    "Parliament rejects the budget",
    "The vote will take place tomorrow",
    "I welcome the agreement with Morocco",
    "Mr President, the debate is closed",
    "We can't accept it",
]
FR = [
    "La Commission soutient le rapport",
    "Le Parlement rejette le budget",
    "Le vote aura lieu demain",
    "Je salue l’accord avec le Maroc",
    "Monsieur le Président, le débat est clos",
    "Nous ne pouvons l'accepter",
]


def write_europarl_like(raw_dir, n_lines, seed=0):
    """Europarl-format files: markup lines, alignment gaps, one invalid UTF-8 byte, CRLF and
    non-breaking spaces. Returns {raw line number: (en, fr)} of the pairs that must be kept,
    and how many pairs must be dropped."""
    os.makedirs(raw_dir, exist_ok=True)
    rng = random.Random(seed)
    kept, dropped = {}, 0
    en_lines, fr_lines = [], []
    for i in range(n_lines):
        k = rng.randrange(len(EN))
        en, fr = f"{EN[k]} [{i}].".encode(), f"{FR[k]} [{i}]\u00a0!".encode()
        r = rng.random()
        if i == 0:
            en, fr = b"<CHAPTER ID=1>", b"<CHAPTER ID=1>"
        elif r < 0.05:
            en, fr = b'<SPEAKER ID=2 NAME="Mr Smith">', b'<SPEAKER ID=2 NAME="M. Smith">'
        elif r < 0.08:
            en, fr = b"<P>", b"<P>"
        elif r < 0.11:
            en = b""  # alignment gap
        elif r < 0.13:
            fr = b"  \t "
        if i == 7:
            en, fr = b"  Bad byte \xff here [7].\r", "  Octet invalide [7]. ".encode()
        en_lines.append(en)
        fr_lines.append(fr)
        if en.strip() and fr.strip() and not en.startswith(b"<"):
            kept[i] = (en.decode("utf-8", "replace").strip(), fr.decode().strip())
        else:
            dropped += 1
    with open(os.path.join(raw_dir, "europarl-v7.fr-en.en"), "wb") as f:
        f.write(b"\n".join(en_lines) + b"\n")
    with open(os.path.join(raw_dir, "europarl-v7.fr-en.fr"), "wb") as f:
        f.write(b"\n".join(fr_lines))  # no final newline: the last line still counts
    return kept, dropped


def read_lines(path):
    with open(path, encoding="utf-8", newline="") as f:
        return f.read().split("\n")[:-1]


def lines_of_bin(path, tok, dtype):
    ids = np.fromfile(path, dtype=dtype)
    assert len(ids) == 0 or ids[-1] == tok.eot_token
    ends = np.flatnonzero(ids == tok.eot_token)
    starts = np.concatenate(([0], ends[:-1] + 1))
    return [tok.decode(ids[a:b].tolist()) for a, b in zip(starts, ends)], len(ids)


@pytest.fixture(scope="module")
def tok(tmp_path_factory):
    data_root = str(tmp_path_factory.mktemp("tokdata"))
    return train_bpe_tokenizer(
        {"en": EN * 20, "fr": FR * 20}, vocab_size=300, name="pc-test", data_root=data_root, verbose=False
    )


@pytest.fixture(scope="module")
def prepared(tok, tmp_path_factory):
    root = str(tmp_path_factory.mktemp("data"))
    raw = os.path.join(root, "europarl", "raw")
    kept, dropped = write_europarl_like(raw, 600)
    raw_files = raw_files_of("europarl", raw)
    meta = parallel_corpus.prepare_parallel_corpus(
        os.path.join(root, "europarl"),
        raw_files,
        tok,
        data_root=root,
        split_fractions=(0.8, 0.1, 0.1),
        split_seed=3,
        num_proc=2,
        chunk_lines=64,
        verbose=False,
    )
    return root, raw_files, kept, dropped, meta


def test_split_of_line_is_deterministic_and_follows_fractions():
    numbers = np.arange(200_000)
    a = split_of_lines(numbers, (0.98, 0.01, 0.01), 1337)
    assert np.array_equal(a, split_of_lines(numbers, (0.98, 0.01, 0.01), 1337))
    assert [split_of_line(n, (0.98, 0.01, 0.01), 1337) for n in range(0, 200_000, 997)] == [
        SPLITS[s] for s in a[::997]
    ]
    fractions = np.bincount(a, minlength=3) / len(a)
    assert np.allclose(fractions, (0.98, 0.01, 0.01), atol=0.002)
    other_seed = split_of_lines(numbers, (0.98, 0.01, 0.01), 1338)
    assert (other_seed != a).sum() > 1000
    assert set(split_of_lines(numbers[:1000], (1.0, 0.0, 0.0), 1).tolist()) == {0}
    with pytest.raises(UserError, match="summing to 1"):
        split_of_line(0, (0.9, 0.2, 0.0), 1)


def test_token_dtype_choice():
    assert token_dtype(10_000) == np.uint16 and token_dtype(65_535) == np.uint16
    assert token_dtype(65_536) == np.uint32 and token_dtype(100_277) == np.uint32


def test_prepared_layout_and_meta(prepared, tok):
    root, raw_files, kept, dropped, meta = prepared
    names = set(os.listdir(os.path.join(root, "europarl")))
    expected = {f"{lang}_{split}.bin" for lang in ("en", "fr") for split in SPLITS}
    expected |= {f"{lang}_{split}.txt" for lang in ("en", "fr") for split in ("val", "test")}
    expected |= {"val_line_numbers.txt", "test_line_numbers.txt", "meta.json", "raw"}
    assert names == expected  # and no .tmp left over
    assert json.load(open(os.path.join(root, "europarl", "meta.json"))) == meta
    assert meta["dataset"] == "europarl" and meta["languages"] == ["en", "fr"]
    assert (
        meta["vocab_size"] == tok.n_vocab and meta["eot_token"] == tok.eot_token and meta["dtype"] == "uint16"
    )
    assert meta["tokenizer"] == tok.identity()
    assert meta["raw_lines"] == 600 and meta["dropped_pairs"] == dropped
    assert (
        sum(meta["dropped_pairs_by_reason"].values()) == dropped
        and meta["dropped_pairs_by_reason"]["markup"] > 0
    )
    assert meta["invalid_utf8_replaced"] == 1
    assert meta["split_fractions"] == [0.8, 0.1, 0.1] and meta["split_seed"] == 3
    assert meta["sources"]["en"]["path"] == "europarl/raw/europarl-v7.fr-en.en"
    assert meta["sources"]["fr"]["sha256"] == file_sha256(raw_files["fr"])
    for lang in ("en", "fr"):
        assert sum(meta["splits"][lang][s]["lines"] for s in SPLITS) == len(kept)


def test_bins_decode_to_the_kept_lines_in_raw_order(prepared, tok):
    root, _, kept, _, meta = prepared
    for lang, side in (("en", 0), ("fr", 1)):
        for split in SPLITS:
            lines, n_tokens = lines_of_bin(
                os.path.join(root, "europarl", f"{lang}_{split}.bin"), tok, np.uint16
            )
            expected = [
                pair[side]
                for n, pair in sorted(kept.items())
                if split_of_line(n, (0.8, 0.1, 0.1), 3) == split
            ]
            assert lines == expected and len(lines) > 0
            stats = meta["splits"][lang][split]
            assert stats["tokens"] == n_tokens and stats["lines"] == len(lines)
            assert stats["words"] == sum(len(line.split()) for line in lines)
            assert stats["bytes"] == sum(len(line.encode()) for line in lines)
            if split != "train":
                assert read_lines(os.path.join(root, "europarl", f"{lang}_{split}.txt")) == lines


def test_held_out_text_is_aligned_and_numbered(prepared):
    root, raw_files, kept, _, _ = prepared
    for split in ("val", "test"):
        en = read_lines(os.path.join(root, "europarl", f"en_{split}.txt"))
        fr = read_lines(os.path.join(root, "europarl", f"fr_{split}.txt"))
        numbers = [int(n) for n in read_lines(os.path.join(root, "europarl", f"{split}_line_numbers.txt"))]
        assert len(en) == len(fr) == len(numbers) > 0 and numbers == sorted(numbers)
        for n, e, f in zip(numbers, en, fr):
            assert f"[{n}]" in e and f"[{n}]" in f and (e, f) == kept[n]
        assert (
            list(aligned_text.iter_clean_lines(raw_files, "fr", split, (0.8, 0.1, 0.1), 3, chunk_lines=50))
            == fr
        )


def test_dropped_pairs_and_invalid_utf8(prepared, tok):
    root, raw_files, _, _, meta = prepared
    markup_pairs = sum(line.startswith(b"<") for line in open(raw_files["en"], "rb").read().split(b"\n"))
    assert meta["dropped_pairs_by_reason"]["markup"] == markup_pairs > 10
    assert meta["dropped_pairs_by_reason"]["empty"] > 10
    written = []
    for split in SPLITS:
        written += lines_of_bin(os.path.join(root, "europarl", f"en_{split}.bin"), tok, np.uint16)[0]
    assert all(line and not line.startswith("<") and line == line.strip() for line in written)
    assert [line for line in written if line.endswith("[7].")] == ["Bad byte \ufffd here [7]."]  # \r stripped


def test_same_output_whatever_the_chunking_and_processes(prepared, tok, tmp_path):
    root, raw_files, _, _, meta = prepared
    again = parallel_corpus.prepare_parallel_corpus(
        str(tmp_path / "europarl"),
        raw_files,
        tok,
        data_root=root,
        split_fractions=(0.8, 0.1, 0.1),
        split_seed=3,
        num_proc=1,
        chunk_lines=1000,
        verbose=False,
    )
    assert again == meta
    for name in os.listdir(tmp_path / "europarl"):
        assert (
            open(tmp_path / "europarl" / name, "rb").read()
            == open(os.path.join(root, "europarl", name), "rb").read()
        )


def test_unequal_line_counts_name_both_counts(tok, tmp_path):
    (tmp_path / "a.en").write_text("one\ntwo\nthree\n")
    (tmp_path / "a.fr").write_text("un\ndeux\n")
    with pytest.raises(UserError, match="has 3 lines.*has 2 lines"):
        parallel_corpus.prepare_parallel_corpus(
            str(tmp_path / "out"),
            {"en": str(tmp_path / "a.en"), "fr": str(tmp_path / "a.fr")},
            tok,
            data_root=str(tmp_path),
            verbose=False,
        )
    assert not (tmp_path / "out" / "meta.json").exists()


def test_failed_prepare_keeps_the_previous_outputs(prepared, tok, tmp_path, monkeypatch):
    root, raw_files, _, _, _ = prepared
    out = str(tmp_path / "europarl")
    parallel_corpus.prepare_parallel_corpus(
        out, raw_files, tok, data_root=root, num_proc=1, chunk_lines=64, verbose=False
    )
    before = {name: open(os.path.join(out, name), "rb").read() for name in os.listdir(out)}
    process_chunk, calls = parallel_corpus._process_chunk, []

    def fail_on_third_chunk(job):
        calls.append(job)
        if len(calls) == 3:
            raise KeyboardInterrupt  # as if the user pressed Ctrl-C mid-way
        return process_chunk(job)

    monkeypatch.setattr(parallel_corpus, "_process_chunk", fail_on_third_chunk)
    other_split = (0.5, 0.25, 0.25)  # a run that would change every file
    with pytest.raises(KeyboardInterrupt):
        parallel_corpus.prepare_parallel_corpus(
            out,
            raw_files,
            tok,
            data_root=root,
            split_fractions=other_split,
            num_proc=1,
            chunk_lines=64,
            verbose=False,
        )
    after = {name: open(os.path.join(out, name), "rb").read() for name in os.listdir(out)}
    assert after == before  # same files, same bytes, no .tmp left


def test_uint32_when_the_vocabulary_exceeds_uint16(tmp_path):
    # a byte-level encoding whose EOT id does not fit in uint16
    encoding = tiktoken.Encoding(
        "big",
        pat_str=PRETOKENIZE_PATTERN,
        mergeable_ranks={bytes([b]): b for b in range(256)},
        special_tokens={tokenizer.EOT: 70_000},
    )
    big = tokenizer.TiktokenTokenizer(encoding, "big", "0" * 64)
    (tmp_path / "x.en").write_text("hello\nworld\n" * 50)
    (tmp_path / "x.fr").write_text("bonjour\nmonde\n" * 50)
    meta = parallel_corpus.prepare_parallel_corpus(
        str(tmp_path / "big"),
        {"en": str(tmp_path / "x.en"), "fr": str(tmp_path / "x.fr")},
        big,
        data_root=str(tmp_path),
        num_proc=1,
        verbose=False,
    )
    assert meta["dtype"] == "uint32" and meta["vocab_size"] == 70_001
    ids = np.fromfile(tmp_path / "big" / "en_train.bin", dtype=np.uint32)
    assert ids[-1] == 70_000 and (ids == 70_000).sum() == meta["splits"]["en"]["train"]["lines"]


def test_tokenization_throughput_reports_both_paths(tok):
    lines = [f"{EN[i % 6]} {i}" for i in range(3000)]
    result = tokenization_throughput(lines, tok, num_proc=2, chunk_lines=500)
    assert result.identical and result.lines == 3000
    assert result.per_line_mb_per_s > 0 and result.batch_mb_per_s > 0 and result.tokenize_speedup > 0
    assert result.batch_one_process_mb_per_s > 0


def run_prepare(*args):
    return subprocess.run(
        [sys.executable, os.path.join(REPO, "data", "europarl", "prepare.py"), *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd="/",
    )


def test_prepare_script_on_europarl_format_files(tmp_path):
    root = str(tmp_path)
    kept, dropped = write_europarl_like(os.path.join(root, "europarl", "raw"), 400, seed=1)
    result = run_prepare(f"--data_root={root}", "--vocab_size=300", "--num_proc=2")
    assert result.returncode == 0, result.stderr
    assert "training on europarl only" in result.stdout
    meta = json.load(open(os.path.join(root, "europarl", "meta.json")))
    assert meta["tokenizer"]["name"] == "europarl-multiun-bpe300" and meta["dropped_pairs"] == dropped
    tok = tokenizer.load_tokenizer(meta["tokenizer"], root)
    lines, _ = lines_of_bin(os.path.join(root, "europarl", "en_val.bin"), tok, np.uint16)
    assert lines == read_lines(os.path.join(root, "europarl", "en_val.txt"))
    # a second run reuses the tokenizer
    result = run_prepare(f"--data_root={root}", "--vocab_size=300", "--num_proc=1")
    assert result.returncode == 0 and "using tokenizer 'europarl-multiun-bpe300'" in result.stdout


def test_prepare_script_user_errors(tmp_path):
    result = run_prepare(f"--data_root={tmp_path}")
    assert result.returncode == 1 and "bash data/get_data.sh europarl" in result.stderr
    assert "Traceback" not in result.stderr
    result = run_prepare("--vocab_sise=300")
    assert result.returncode == 1 and "Did you mean vocab_size" in result.stderr


def test_one_tokenizer_shared_by_europarl_and_multiun(tmp_path):
    root = str(tmp_path)
    write_europarl_like(os.path.join(root, "europarl", "raw"), 300, seed=2)
    multiun_raw = os.path.join(root, "multiun", "raw")
    write_europarl_like(multiun_raw, 300, seed=3)
    for lang in ("en", "fr"):
        os.rename(
            os.path.join(multiun_raw, f"europarl-v7.fr-en.{lang}"),
            os.path.join(multiun_raw, f"MultiUN.en-fr.{lang}"),
        )
    multiun = prepare_scripts.prepare_dataset("multiun", num_proc=1, vocab_size=300, data_root=root)
    europarl = prepare_scripts.prepare_dataset("europarl", num_proc=1, vocab_size=300, data_root=root)
    assert multiun["tokenizer"] == europarl["tokenizer"]
    assert multiun["tokenizer"]["name"] == default_tokenizer_name(300) == "europarl-multiun-bpe300"
    info = json.load(open(tokenizer.tokenizer_paths("europarl-multiun-bpe300", root)[1]))
    assert info["trained_on"] == ["europarl", "multiun"]
    assert info["compression_heldout"]["fr"]["lines"] > 0  # measured on the validation lines


def test_bad_raw_files_are_refused_before_a_tokenizer_is_trained(tmp_path):
    root = str(tmp_path)
    raw = os.path.join(root, "europarl", "raw")
    write_europarl_like(raw, 300, seed=4)
    en, fr = (os.path.join(raw, f"europarl-v7.fr-en.{lang}") for lang in ("en", "fr"))
    with open(fr, "ab") as f:
        f.write(b"\nune ligne de trop\n")
    result = run_prepare(f"--data_root={root}", "--vocab_size=300", "--num_proc=1")
    assert result.returncode == 1 and "the raw files are not line-aligned" in result.stderr
    assert "Traceback" not in result.stderr and not os.path.exists(os.path.join(root, "tokenizers"))
    write_europarl_like(raw, 300, seed=4)
    with open(en, "rb") as f:
        data = f.read()
    with open(en, "wb") as f:
        f.write(data.replace(b"\r", b"").replace(b"\n", b"\r"))  # classic Mac OS line ends
    result = run_prepare(f"--data_root={root}", "--vocab_size=300", "--num_proc=1")
    assert result.returncode == 1 and "its lines end with \\r alone" in result.stderr
    assert not os.path.exists(os.path.join(root, "tokenizers"))
    # a vocabulary the text cannot reach is not saved under a name that promises it
    write_europarl_like(raw, 300, seed=4)
    result = run_prepare(f"--data_root={root}", "--vocab_size=100000", "--num_proc=1")
    assert (
        result.returncode == 1
        and "supports only" in result.stderr
        and "not the 100,000 asked for" in result.stderr
    )
    assert not os.path.exists(tokenizer.tokenizer_paths("europarl-multiun-bpe100k", root)[0])


# -----------------------------------------------------------------------------
# Europarl's other pairs (data/europarl/prepare.py --pair), their shared tokenizer, and the join on English

WORDS = {
    "en": "the commission council parliament report vote budget region member states must will debate".split(),
    "de": "die kommission rat parlament bericht abstimmung haushalt region mitglied staaten muss wird".split(),
    "fr": "la commission conseil parlement rapport vote budget région membre états doit sera débat".split(),
    "fi": "komissio neuvosto parlamentti mietintö äänestys talousarvio alue jäsen valtiot täytyy".split(),
}


def sentence(lang, i):
    rng = random.Random(i)
    return " ".join(rng.choice(WORDS[lang]) for _ in range(rng.randint(4, 10))) + f" <{i}>"


def write_pair(root, pair, ids, repeated=0, seed=None):
    """Europarl-format files of `pair` holding sentence `i` of each language for each id (in a
    shuffled order with `seed`), a <CHAPTER> line and `repeated` lines '(Applause)' in English."""
    lang = pair.split("-")[0]
    raw = os.path.join(root, "europarl" if pair == "fr-en" else f"europarl-{pair}", "raw")
    os.makedirs(raw, exist_ok=True)
    ids = list(ids)
    if seed is not None:
        random.Random(seed).shuffle(ids)
    rows = [("<CHAPTER ID=1>", "<CHAPTER ID=1>")] + [(sentence("en", i), sentence(lang, i)) for i in ids]
    rows[len(rows) // 2 : len(rows) // 2] = [("(Applause)", f"({lang} {k})") for k in range(repeated)]
    for side, code in ((0, "en"), (1, lang)):
        with open(os.path.join(raw, f"europarl-v7.{pair}.{code}"), "w") as f:
            f.write("".join(row[side] + "\n" for row in rows))


def europarl(root, *args):
    from data.europarl.pairs import europarl_script

    return europarl_script([f"--data_root={root}", "--vocab_size=300", "--num_proc=1", *args])


def test_pair_prepares_its_own_dataset_and_tokenizer(tmp_path):
    from data.corpora import prepare_command

    root = str(tmp_path)
    write_pair(root, "de-en", range(300))
    meta = europarl(root, "--pair=de-en")["europarl-de-en"]
    assert meta["dataset"] == "europarl-de-en" and meta["languages"] == ["en", "de"]
    assert meta["tokenizer"]["name"] == "europarl-de-en-bpe300"
    assert not os.path.exists(os.path.join(root, "europarl"))
    info = json.load(open(tokenizer.tokenizer_paths("europarl-de-en-bpe300", root)[1]))
    assert info["languages"] == ["en", "de"] and info["trained_on"] == ["europarl-de-en"]
    assert sorted(info["training_sample"]) == ["de", "en"]
    en = read_lines(os.path.join(root, "europarl-de-en", "en_val.txt"))
    de = read_lines(os.path.join(root, "europarl-de-en", "de_val.txt"))
    assert en and [line.split("<")[1] for line in en] == [line.split("<")[1] for line in de]
    assert prepare_command("europarl-de-en") == (
        "bash data/get_data.sh europarl --pair=de-en && python data/europarl/prepare.py --pair=de-en"
    )
    assert prepare_command("europarl") == "bash data/get_data.sh europarl && python data/europarl/prepare.py"
    from data.prepared import read_meta

    with pytest.raises(
        UserError, match=r"'europarl-fi-en' is not prepared.*get_data.sh europarl --pair=fi-en && "
    ):
        read_meta(root, "europarl-fi-en")  # a pair not prepared yet: not taken for a typo of europarl-de-en


def test_pairs_prepared_together_share_one_tokenizer_of_all_their_languages(tmp_path):
    root = str(tmp_path)
    write_pair(root, "de-en", range(300))
    write_pair(root, "fr-en", range(1000, 1400))
    metas = europarl(root, "--pair=de-en,fr-en")
    assert list(metas) == ["europarl-de-en", "europarl"]
    assert metas["europarl"]["languages"] == ["en", "fr"] and metas["europarl-de-en"]["languages"] == [
        "en",
        "de",
    ]
    assert metas["europarl"]["tokenizer"] == metas["europarl-de-en"]["tokenizer"]
    assert metas["europarl"]["tokenizer"]["name"] == "europarl-de-en-fr-bpe300"
    info = json.load(open(tokenizer.tokenizer_paths("europarl-de-en-fr-bpe300", root)[1]))
    assert info["languages"] == ["en", "de", "fr"] and info["trained_on"] == ["europarl-de-en", "europarl"]
    sizes = [s["bytes"] for s in info["training_sample"].values()]
    assert min(sizes) > 0.9 * max(sizes)  # balanced by bytes, though English has twice the text


def test_pair_all_prepares_what_is_downloaded_and_names_the_rest(tmp_path, capsys):
    root = str(tmp_path)
    with pytest.raises(UserError, match="no Europarl pair is downloaded"):
        europarl(root, "--pair=all")
    write_pair(root, "fi-en", range(300))
    write_pair(root, "de-en", range(300))
    metas = europarl(root, "--pair=all")
    assert list(metas) == ["europarl-de-en", "europarl-fi-en"]
    assert metas["europarl-fi-en"]["tokenizer"]["name"] == "europarl-de-en-fi-bpe300"
    out = capsys.readouterr().out
    assert "not downloaded: bg-en, cs-en, da-en, el-en, es-en, et-en, fr-en," in out
    assert "bash data/get_data.sh europarl --pair=bg-en,cs-en,da-en,el-en,es-en,et-en,fr-en," in out


def test_bad_pairs_are_refused_first(tmp_path):
    from data.europarl.pairs import parse_pairs

    assert parse_pairs("") == parse_pairs("fr-en") == ["fr-en"]  # the dataset europarl, as before
    root = str(tmp_path)
    with pytest.raises(
        UserError, match=r"xx-en, en-de \(write de-en\) are not Europarl v7 pairs.*bg-en, cs-en"
    ):
        europarl(root, "--pair=de-en,xx-en,en-de")
    with pytest.raises(
        UserError, match=r"fi-en \(.*europarl-v7.fi-en.en.*\n.*get_data.sh europarl --pair=fi-en"
    ):
        europarl(root, "--pair=fi-en")
    with pytest.raises(UserError, match="joins several pairs"):
        europarl(root, "--pair=de-en", "--join=True")
    result = run_prepare(f"--data_root={root}", "--pair=de-en")
    assert result.returncode == 1 and "bash data/get_data.sh europarl --pair=de-en" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_tokenizer_reused_on_a_language_it_never_saw_is_refused_unless_allowed(tmp_path, capsys):
    root = str(tmp_path)
    write_pair(root, "de-en", range(300))
    write_pair(root, "fi-en", range(300))
    europarl(root, "--pair=de-en")
    with pytest.raises(
        UserError,
        match=r"(?s)'europarl-de-en-bpe300' was trained on en, de, not on fi .*"
        r"--pair=de-en,fi-en.*--allow_new_languages=True",
    ):
        europarl(root, "--pair=fi-en", "--tokenizer=europarl-de-en-bpe300")
    assert not os.path.exists(os.path.join(root, "europarl-fi-en", "meta.json"))
    meta = europarl(root, "--pair=fi-en", "--tokenizer=europarl-de-en-bpe300", "--allow_new_languages=True")
    assert meta["europarl-fi-en"]["tokenizer"]["name"] == "europarl-de-en-bpe300"
    assert (
        "warning: tokenizer 'europarl-de-en-bpe300' was trained on en, de, not on fi"
        in capsys.readouterr().out
    )
    # the same languages: reused without a word of warning
    europarl(root, "--pair=de-en", "--tokenizer=europarl-de-en-bpe300")
    assert "warning" not in capsys.readouterr().out


def test_pairs_joined_on_english_are_aligned_across_three_languages(tmp_path):
    from data.corpora import prepare_command

    root = str(tmp_path)
    write_pair(root, "de-en", range(400), repeated=2)
    # fr-en lacks every 7th line, holds lines de-en lacks, is in another order, and one English line once
    write_pair(root, "fr-en", [i for i in range(450) if i % 7], repeated=1, seed=3)
    meta = europarl(root, "--pair=de-en,fr-en", "--join=True")["europarl-de-en-fr"]
    assert meta["languages"] == ["en", "de", "fr"] and meta["tokenizer"]["name"] == "europarl-de-en-fr-bpe300"
    expected = [i for i in range(400) if i % 7]  # in de-en's order; '(Applause)' repeats in de-en: dropped
    raw = {
        lang: read_lines(os.path.join(root, "europarl-de-en-fr", "raw", f"europarl-v7.joined.{lang}"))
        for lang in ("en", "de", "fr")
    }
    assert raw == {lang: [sentence(lang, i) for i in expected] for lang in ("en", "de", "fr")}
    join = meta["join"]
    assert join["kept_lines"] == len(expected) == meta["raw_lines"]
    assert (
        join["pairs"]["de-en"]["repeated_english_lines"] == 2
        and join["pairs"]["fr-en"]["clean_lines"] == 385 + 1
    )
    assert sum(meta["splits"]["fr"][split]["lines"] for split in SPLITS) == len(expected)
    for split in ("val", "test"):
        ids = [
            [
                line.split("<")[1]
                for line in read_lines(os.path.join(root, "europarl-de-en-fr", f"{lang}_{split}.txt"))
            ]
            for lang in ("en", "de", "fr")
        ]
        assert ids[0] == ids[1] == ids[2]
    assert prepare_command("europarl-de-en-fr").endswith("prepare.py --pair=de-en,fr-en --join=True")


# -----------------------------------------------------------------------------
# what a new user runs into: two preparations at once, a misspelt tokenizer, typos in --pair, empty data


def hold_lock_in_another_process(path):
    """A process holding data/preparation_lock.py's lock of `path`, started and holding it."""
    code = (
        "import sys, time; sys.path.insert(0, sys.argv[1]); from data.preparation_lock import preparing\n"
        "with preparing(sys.argv[2]):\n    print('held', flush=True); time.sleep(60)"
    )
    holder = subprocess.Popen([sys.executable, "-c", code, REPO, path], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline() == "held\n"
    return holder


def test_two_preparations_of_one_dataset_or_tokenizer_at_once_are_refused(tmp_path):
    root = str(tmp_path)
    write_pair(root, "de-en", range(300))
    holder = hold_lock_in_another_process(os.path.join(root, "europarl-de-en"))
    try:
        with pytest.raises(
            UserError,
            match=rf"dataset .*europarl-de-en is being prepared by process {holder.pid} "
            rf"\(python -c .*\).*kill {holder.pid}",
        ):
            europarl(root, "--pair=de-en")
        # the demo's own script holds the same lock
        demo_holder = hold_lock_in_another_process(os.path.join(root, "demo"))
        result = subprocess.run(
            [
                sys.executable,
                os.path.join(REPO, "data", "demo", "prepare.py"),
                f"--data_root={root}",
                "--n_sentences=100",
                "--vocab_size=300",
                "--num_proc=1",
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        demo_holder.kill()
        assert result.returncode == 1 and "Traceback" not in result.stderr
        assert f"is being prepared by process {demo_holder.pid}" in result.stderr
    finally:
        holder.kill()  # as kill -9 would: its lock file stays behind, unlocked
        holder.wait()
    assert os.path.exists(os.path.join(root, "europarl-de-en.lock"))
    assert not os.path.exists(os.path.join(root, "europarl-de-en", "meta.json"))
    assert not os.path.exists(os.path.join(root, "tokenizers"))
    # a tokenizer being trained by another process is not trained a second time beside it
    tokenizer_holder = hold_lock_in_another_process(os.path.join(root, "tokenizers", "europarl-de-en-bpe300"))
    try:
        with pytest.raises(
            UserError,
            match=rf"tokenizer 'europarl-de-en-bpe300' is being prepared by process "
            rf"{tokenizer_holder.pid}",
        ):
            europarl(root, "--pair=de-en")
    finally:
        tokenizer_holder.kill()
        tokenizer_holder.wait()
    # the lock of a process that has ended never blocks, and goes when the next preparation ends
    europarl(root, "--pair=de-en")
    assert os.path.exists(os.path.join(root, "europarl-de-en", "meta.json"))
    assert not os.path.exists(os.path.join(root, "europarl-de-en.lock"))
    assert not [name for name in os.listdir(os.path.join(root, "tokenizers")) if name.endswith(".lock")]


def test_a_tokenizer_name_that_does_not_exist_is_trained_only_when_asked(tmp_path, capsys):
    root = str(tmp_path)
    write_pair(root, "de-en", range(300))
    europarl(root, "--pair=de-en")
    assert "tokenizer 'europarl-de-en-bpe300' does not exist yet: training it" in capsys.readouterr().out
    # a typo is refused, naming the closest tokenizer and the option that trains a new one
    with pytest.raises(
        UserError,
        match=r"(?s)--tokenizer=europarl-de-en-bpe30: no tokenizer of that name.*"
        r"Did you mean europarl-de-en-bpe300\?.*add --train_tokenizer=True",
    ):
        europarl(root, "--pair=de-en", "--tokenizer=europarl-de-en-bpe30")
    with pytest.raises(UserError, match="Did you mean gpt2"):
        europarl(root, "--pair=de-en", "--tokenizer=gpt-2")
    assert not os.path.exists(tokenizer.tokenizer_paths("europarl-de-en-bpe30", root)[0])
    # asked for, a new name is trained, and said so
    meta = europarl(root, "--pair=de-en", "--tokenizer=mine", "--train_tokenizer=True")["europarl-de-en"]
    assert meta["tokenizer"]["name"] == "mine"
    assert "tokenizer 'mine' does not exist yet: training it on europarl-de-en" in capsys.readouterr().out
    europarl(
        root, "--pair=de-en", "--tokenizer=mine", "--train_tokenizer=True"
    )  # the same command again: reused
    assert "using tokenizer 'mine'" in capsys.readouterr().out
    # half a tokenizer (training stopped between its two files) is named, not a traceback
    os.remove(tokenizer.tokenizer_paths("mine", root)[1])
    with pytest.raises(UserError, match=r"tokenizer 'mine' is incomplete: .*mine.tiktoken has no mine.json"):
        europarl(root, "--pair=de-en", "--tokenizer=mine")


def test_a_bad_tokenizer_is_refused_before_the_join(tmp_path, capsys):
    root = str(tmp_path)
    write_pair(root, "de-en", range(300))
    write_pair(root, "fr-en", range(300))
    with pytest.raises(UserError, match="does not exist. Give a Hugging Face tokenizer.json"):
        europarl(
            root,
            "--pair=de-en,fr-en",
            "--join=True",
            f"--tokenizer={tmp_path / 'missing' / 'tokenizer.json'}",
        )
    with pytest.raises(UserError, match="no tokenizer of that name"):
        europarl(root, "--pair=de-en,fr-en", "--join=True", "--tokenizer=typo")
    assert "join:" not in capsys.readouterr().out and not os.path.exists(
        os.path.join(root, "europarl-de-en-fr")
    )


def test_pair_typos_and_repeats_and_raw_files_with_nothing_to_keep(tmp_path, capsys):
    root = str(tmp_path)
    with pytest.raises(
        UserError, match=r"DE-EN \(write de-en\), de_en \(write de-en\), en-fr \(write fr-en\)"
    ):
        europarl(root, "--pair=DE-EN,de_en,en-fr")
    with pytest.raises(UserError, match="joins several pairs.*--pair=de-en,de-en names only de-en"):
        europarl(root, "--pair=de-en,de-en", "--join=True")
    assert "note: --pair names de-en more than once; each pair is prepared once" in capsys.readouterr().out
    raw = os.path.join(root, "europarl-de-en", "raw")
    os.makedirs(raw)
    for lang, lines in (("en", ["<P>", "", "a line"] * 50), ("de", ["eine Zeile", "eine Zeile", ""] * 50)):
        with open(os.path.join(raw, f"europarl-v7.de-en.{lang}"), "w") as f:
            f.write("".join(line + "\n" for line in lines))
    with pytest.raises(
        UserError, match="no line pairs to prepare in .*every line has an empty or markup-only side"
    ):
        europarl(root, "--pair=de-en")
    assert sorted(os.listdir(root)) == ["europarl-de-en"] and os.listdir(
        os.path.join(root, "europarl-de-en")
    ) == ["raw"]


def test_an_interrupted_tokenizer_save_leaves_no_half_tokenizer(tmp_path, monkeypatch, capsys):
    import builtins

    import data.bpe

    root = str(tmp_path)
    write_pair(root, "de-en", range(300))

    def interrupted_open(path, *args, **kwargs):
        if ".json." in os.path.basename(str(path)):  # the .json's temporary file: Ctrl-C there
            raise KeyboardInterrupt
        return builtins.open(path, *args, **kwargs)

    monkeypatch.setattr(data.bpe, "open", interrupted_open, raising=False)
    with pytest.raises(KeyboardInterrupt):
        europarl(root, "--pair=de-en")
    assert not os.path.exists(os.path.join(root, "tokenizers"))  # nor an empty folder
    monkeypatch.undo()
    europarl(root, "--pair=de-en")  # trained again, not taken for an existing one
    assert "tokenizer 'europarl-de-en-bpe300' does not exist yet: training it" in capsys.readouterr().out


def test_preparing_again_says_what_it_replaces_and_refuses_other_languages(tmp_path, capsys):
    root = str(tmp_path)
    write_pair(root, "de-en", range(300))
    europarl(root, "--pair=de-en")
    write_pair(root, "de-en", range(320))  # the raw text changed
    capsys.readouterr()
    europarl(root, "--pair=de-en")
    assert (
        "once complete it is replaced by other raw text (by sha256: en, de differ), tokenized with the same "
        "tokenizer" in capsys.readouterr().out
    )
    europarl(root, "--pair=de-en")
    assert "replaced by the same raw text (the sources' sha256 are those recorded)" in capsys.readouterr().out
    meta_path = os.path.join(root, "europarl-de-en", "meta.json")
    meta = json.load(open(meta_path))
    json.dump({**meta, "languages": ["en", "fr"]}, open(meta_path, "w"))  # a folder of other languages
    with pytest.raises(
        UserError,
        match=r"europarl-de-en already holds .*its languages are en, fr, not en, de.*"
        r"--overwrite=True to replace it",
    ):
        europarl(root, "--pair=de-en")
    assert europarl(root, "--pair=de-en", "--overwrite=True")["europarl-de-en"]["languages"] == ["en", "de"]
