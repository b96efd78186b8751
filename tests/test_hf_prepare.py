"""data/hf/prepare.py: Hugging Face datasets the test writes itself (save_to_disk, a JSON-lines
folder; translation rows and one column per language) -> the prepared layout, bad input, and a
hub name offline failing within seconds.

$ python -m pytest -q tests/test_hf_prepare.py
"""

import json
import os
import random
import subprocess
import sys
import time

import pytest

datasets = pytest.importorskip("datasets")

from common import tokenizer  # noqa: E402
from common.errors import UserError  # noqa: E402
from data.corpora import prepare_command  # noqa: E402
from data.hf.corpus import prepare_hf_dataset  # noqa: E402
from data.prepared import SPLITS, read_heldout_lines, read_meta  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORDS = {
    "en": "the council report vote budget region member states must debate will agree".split(),
    "de": "der rat bericht abstimmung haushalt region mitglied staaten muss debatte wird".split(),
    "fr": "le conseil rapport vote budget région membre états doit débat sera accord".split(),
}


def sentence(lang, i):
    rng = random.Random(i)
    return " ".join(rng.choice(WORDS[lang]) for _ in range(rng.randint(4, 10))) + f" <{i}>"


@pytest.fixture(autouse=True)
def offline(monkeypatch, tmp_path):
    """Nothing reaches the hub, and whatever prepare switches off is switched back after the test."""
    import huggingface_hub

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "hf-cache"))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(datasets.config, "HF_DATASETS_OFFLINE", True)


def prepare(root, **options):
    return prepare_hf_dataset(vocab_size=300, data_root=str(root), num_proc=1, **options)


def test_translation_rows_saved_to_disk(tmp_path):
    rows = [{"en": sentence("en", i), "de": sentence("de", i)} for i in range(300)]
    rows[5]["de"] = "zwei\nZeilen <5>"  # an inline line break: one line of the raw files
    rows[6]["en"] = ""  # an empty side: the pair is dropped
    folder = str(tmp_path / "europarl-like")
    datasets.DatasetDict({"train": datasets.Dataset.from_dict({"translation": rows})}).save_to_disk(folder)
    meta = prepare(tmp_path / "data", hf_dataset=folder, languages="en,de")
    assert meta["dataset"] == "hf-europarl-like-de-en" and meta["languages"] == ["en", "de"]
    assert meta["tokenizer"]["name"] == "hf-europarl-like-de-en-bpe300"
    assert meta["raw_lines"] == 300 and meta["dropped_pairs_by_reason"]["empty"] == 1
    assert sum(meta["splits"]["de"][split]["lines"] for split in SPLITS) == 299
    assert meta["hf"]["rows"] == 300 and meta["hf"]["local_folder"]
    raw = (
        open(tmp_path / "data" / "hf-europarl-like-de-en" / "raw" / "hf-europarl-like-de-en.de")
        .read()
        .split("\n")
    )
    assert raw[5] == "zwei Zeilen <5>" and raw[0] == sentence("de", 0) and len(raw) == 301
    root = str(tmp_path / "data")
    en, de = (read_heldout_lines(root, meta["dataset"], lang, "val") for lang in ("en", "de"))
    assert en and [line.split("<")[1] for line in en] == [line.split("<")[1] for line in de]
    info = json.load(open(tokenizer.tokenizer_paths("hf-europarl-like-de-en-bpe300", root)[1]))
    assert info["languages"] == ["en", "de"] and info["trained_on"] == ["hf-europarl-like-de-en"]
    # the command that made it is what error messages print, and a second run reuses the tokenizer
    command = prepare_command(meta["dataset"], root)
    assert command.startswith(f"python data/hf/prepare.py --hf_dataset={folder} --languages=en,de ")
    assert read_meta(root, meta["dataset"])["prepare_command"] == command
    again = prepare(tmp_path / "data", hf_dataset=folder, languages="en,de", streaming=True)
    assert again["tokenizer"] == meta["tokenizer"] and again["splits"] == meta["splits"]


def test_three_language_columns_in_a_json_lines_folder(tmp_path):
    folder = tmp_path / "jsonl"
    folder.mkdir()
    with open(folder / "train.jsonl", "w") as f:
        for i in range(300):
            f.write(
                json.dumps(
                    {"id": i, "text_en": sentence("en", i), "de": sentence("de", i), "fr": sentence("fr", i)},
                    ensure_ascii=False,
                )
                + "\n"
            )
    with pytest.raises(UserError, match=r"no column en \(for en\); its columns are id, text_en, de, fr"):
        prepare(tmp_path / "data", hf_dataset=str(folder), languages="en,de,fr")
    meta = prepare(
        tmp_path / "data",
        hf_dataset=str(folder),
        languages="en,de,fr",
        columns="en:text_en",
        name="tri",
        streaming=True,
        max_rows=250,
    )
    assert meta["languages"] == ["en", "de", "fr"] and meta["raw_lines"] == 250
    assert (
        meta["tokenizer"]["name"] == "tri-rows250-bpe300"
    )  # not hf-jsonl-de-en-fr-bpe300: trained on a part
    root = str(tmp_path / "data")
    heldout = [
        [line.split("<")[1] for line in read_heldout_lines(root, "tri", lang, "test")]
        for lang in ("en", "de", "fr")
    ]
    assert heldout[0] and heldout[0] == heldout[1] == heldout[2]
    assert "--columns=en:text_en" in meta["prepare_command"] and "--name=tri" in meta["prepare_command"]


def test_bad_input_is_refused_before_any_work(tmp_path):
    folder = str(tmp_path / "saved")
    datasets.Dataset.from_dict({"translation": [{"en": "a", "de": "b"}] * 3}).save_to_disk(folder)
    data = tmp_path / "data"
    with pytest.raises(UserError, match="'translation' rows hold en, de, not fr"):
        prepare(data, hf_dataset=folder, languages="en,fr")
    with pytest.raises(UserError, match="--languages is required"):
        prepare(data, hf_dataset=folder, languages="")
    with pytest.raises(UserError, match="no such folder"):
        prepare(data, hf_dataset=str(tmp_path / "missing"), languages="en,de")
    with pytest.raises(UserError, match="is a file, not a folder: give the folder that holds it"):
        prepare(data, hf_dataset=os.path.join(folder, "state.json"), languages="en,de")
    with pytest.raises(
        UserError, match="--hf_config=de-en: .* keeps no configurations; leave --hf_config out"
    ):
        prepare(data, hf_dataset=folder, languages="en,de", hf_config="de-en")
    with pytest.raises(UserError, match="is a dataset of another prepare script"):
        prepare(data, hf_dataset=folder, languages="en,de", name="europarl")
    empty = str(tmp_path / "empty")
    datasets.Dataset.from_dict({"translation": []}).save_to_disk(empty)
    with pytest.raises(UserError, match="is empty"):
        prepare(data, hf_dataset=empty, languages="en,de")
    splits = str(tmp_path / "splits")
    datasets.DatasetDict({"train": datasets.Dataset.from_dict({"en": ["a"], "de": ["b"]})}).save_to_disk(
        splits
    )
    with pytest.raises(UserError, match="has no split 'test'; it has train"):
        prepare(data, hf_dataset=splits, languages="en,de", split="test")
    assert not os.path.exists(data / "tokenizers")


@pytest.mark.parametrize("environment", [{"HF_HUB_OFFLINE": "1"}, {"HF_ENDPOINT": "http://127.0.0.1:9"}])
def test_a_hub_name_offline_fails_fast_saying_what_it_could_not_reach(tmp_path, environment):
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "HF_ENDPOINT")
    }
    env.update(environment, HF_HOME=str(tmp_path / "hf-home"))
    started = time.time()
    result = subprocess.run(
        [
            sys.executable,
            os.path.join(REPO, "data", "hf", "prepare.py"),
            "--hf_dataset=Helsinki-NLP/opus-100",
            "--hf_config=de-en",
            "--languages=en,de",
            f"--data_root={tmp_path}",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd="/",
    )
    assert time.time() - started < 20  # not datasets' retry loop (25 s and more)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "cannot reach the Hugging Face hub" in result.stderr
    assert ("127.0.0.1:9 unreachable" if "HF_ENDPOINT" in environment else "offline mode") in result.stderr
    assert "save_to_disk('FOLDER')" in result.stderr and "--hf_dataset=FOLDER" in result.stderr


def write_bad_data_file(folder, kind):
    """A folder of data files with one row datasets cannot read: row 30 of 50."""
    folder.mkdir()
    rows = [{"en": sentence("en", i), "de": sentence("de", i)} for i in range(50)]
    rows[30]["de"] = "f\u00fcr die B\u00fcrger"
    if kind in ("jsonl-latin1", "jsonl-not-json"):
        lines = [json.dumps(row, ensure_ascii=False).encode() for row in rows]
        lines[30] = (
            json.dumps(rows[30], ensure_ascii=False).encode("latin-1")
            if kind == "jsonl-latin1"
            else b'{"en": "cut short", "de": '
        )
        (folder / "train.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    elif kind == "csv-latin1":
        lines = ["en,de"] + [f"{row['en']},{row['de']}" for row in rows]
        lines[31] = "une ligne,d\u00e9j\u00e0"
        (folder / "train.csv").write_bytes("\n".join(lines).encode("latin-1") + b"\n")
    else:
        import pyarrow as pa
        import pyarrow.parquet as parquet

        de = pa.array(
            [row["de"].encode() if i != 30 else b"d\xe9j\xe0" for i, row in enumerate(rows)], pa.binary()
        )
        parquet.write_table(
            pa.table(
                {
                    "en": [row["en"] for row in rows],
                    "de": de.view(pa.string()) if kind == "parquet-latin1" else de,
                }
            ),
            folder / "train.parquet",
        )


@pytest.mark.parametrize(
    "kind, streaming, message",
    [
        (
            "jsonl-latin1",
            False,
            r"train.jsonl, line 31 \(byte [0-9,]+\): b'\\xfc' is not UTF-8.*iconv -f latin1",
        ),
        ("jsonl-latin1", True, r"train.jsonl, line 31 \(byte [0-9,]+\): b'\\xfc' is not UTF-8"),
        (
            "jsonl-not-json",
            False,
            r"train.jsonl, line 31: not JSON \(Expecting value, column 27\); each line",
        ),
        (
            "csv-latin1",
            False,
            r"train.csv, line 32 \(byte [0-9,]+\): b'\\xe9' is not UTF-8, and datasets reads csv",
        ),
        ("parquet-binary", False, r"column de holds binary, not text \(bytes: decode them"),
        (
            "parquet-latin1",
            True,
            r"\(rows 0 to 999\): datasets could not read it \(UnicodeDecodeError.*not valid UTF-8",
        ),
    ],
)
def test_a_file_datasets_cannot_read_is_named_with_its_line_and_nothing_is_left(
    tmp_path, kind, streaming, message
):
    write_bad_data_file(tmp_path / "files", kind)
    with pytest.raises(UserError, match=message):
        prepare(tmp_path / "data", hf_dataset=str(tmp_path / "files"), languages="en,de", streaming=streaming)
    assert not os.path.exists(tmp_path / "data")  # no empty raw folder, no tokenizer


def test_rows_without_text_and_columns_not_text_are_refused_before_anything_is_written(tmp_path):
    folder = str(tmp_path / "saved")
    datasets.Dataset.from_dict(
        {
            "id": list(range(40)),
            "en": [sentence("en", i) for i in range(40)],
            "translation": [{"en": sentence("en", i), "de": ""} for i in range(40)],
        }
    ).save_to_disk(folder)
    data = tmp_path / "data"
    with pytest.raises(
        UserError,
        match=r"none of the 40 rows has text in every language \(en empty or missing in 0, "
        r"de empty or missing in 40\)",
    ):
        prepare(data, hf_dataset=folder, languages="en,de")
    with pytest.raises(UserError, match="column id holds int64, not text"):
        prepare(data, hf_dataset=folder, languages="en,de", columns="de:id")
    with pytest.raises(UserError, match=r"no column text_de \(for de\)"):  # not quietly the translation rows
        prepare(data, hf_dataset=folder, languages="en,de", columns="de:text_de")
    assert not os.path.exists(data)


def test_the_tokenizer_and_the_data_root_are_checked_before_the_rows_are_read(tmp_path, monkeypatch):
    import data.hf.corpus as corpus

    folder = str(tmp_path / "saved")
    datasets.Dataset.from_dict({"en": ["a"], "de": ["b"]}).save_to_disk(folder)

    def read_rows(*args):
        raise AssertionError("the rows were read")

    monkeypatch.setattr(corpus, "load_rows", read_rows)
    data = tmp_path / "data"
    with pytest.raises(UserError, match="missing/tokenizer.json does not exist"):
        prepare(
            data, hf_dataset=folder, languages="en,de", tokenizer=str(tmp_path / "missing" / "tokenizer.json")
        )
    with pytest.raises(UserError, match="--tokenizer=hf-saved-de-en-bpe30: no tokenizer of that name"):
        prepare(data, hf_dataset=folder, languages="en,de", tokenizer="hf-saved-de-en-bpe30")
    (tmp_path / "a-file").write_text("")
    with pytest.raises(UserError, match="a-file is a file, not a folder. Choose a --data_root"):
        prepare(tmp_path / "a-file", hf_dataset=folder, languages="en,de")
    assert not os.path.exists(data)


def test_a_name_that_holds_a_dataset_of_another_source_is_not_replaced(tmp_path):
    rows = {"en": [sentence("en", i) for i in range(300)], "de": [sentence("de", i) for i in range(300)]}
    for source in ("first", "second"):
        datasets.Dataset.from_dict(rows).save_to_disk(str(tmp_path / source))
    prepare(tmp_path / "data", hf_dataset=str(tmp_path / "first"), languages="en,de", name="corpus")
    with pytest.raises(
        UserError,
        match=r"--name=corpus: .*corpus already holds a dataset prepared from another "
        r"source .*made by python data/hf/prepare.py --hf_dataset=.*first.*"
        r"--overwrite=True to replace it",
    ):
        prepare(tmp_path / "data", hf_dataset=str(tmp_path / "second"), languages="en,de", name="corpus")
    prepare(
        tmp_path / "data", hf_dataset=str(tmp_path / "first"), languages="en,de", name="corpus", max_rows=200
    )


def test_a_bad_file_of_another_split_does_not_stop_this_one(tmp_path):
    folder = tmp_path / "files"
    folder.mkdir()
    lines = [json.dumps({"en": sentence("en", i), "de": sentence("de", i)}).encode() for i in range(300)]
    (folder / "train.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    (folder / "test.jsonl").write_bytes(
        b"\n".join(lines[:5] + ['{"en": "a", "de": "f\u00fcr"}'.encode("latin-1")])
    )
    with pytest.raises(UserError, match=r"test.jsonl, line 6 \(byte [0-9,]+\): b'\\xfc' is not UTF-8"):
        prepare(tmp_path / "data", hf_dataset=str(folder), languages="en,de", split="test")
    assert (
        prepare(tmp_path / "data", hf_dataset=str(folder), languages="en,de", streaming=True)["raw_lines"]
        == 300
    )


def test_a_dataset_of_other_languages_is_replaced_only_when_asked_and_wholly(tmp_path, capsys):
    from tiny_text_corpus import write_tiny_corpus  # en, fr: made by the tests, not by data/hf

    root = str(tmp_path / "data")
    write_tiny_corpus(root)
    before = {
        name: open(os.path.join(root, "tiny", name), "rb").read()
        for name in os.listdir(os.path.join(root, "tiny"))
    }
    rows = {"en": [sentence("en", i) for i in range(300)], "de": [sentence("de", i) for i in range(300)]}
    datasets.Dataset.from_dict(rows).save_to_disk(str(tmp_path / "ende"))
    with pytest.raises(
        UserError,
        match=r"--name=tiny: .*tiny already holds a dataset .*its languages are en, fr, not "
        r"en, de; it was not made from a Hugging Face dataset.*--overwrite=True.*"
        r"Nothing was written",
    ):
        prepare(tmp_path / "data", hf_dataset=str(tmp_path / "ende"), languages="en,de", name="tiny")
    after = {
        name: open(os.path.join(root, "tiny", name), "rb").read()
        for name in os.listdir(os.path.join(root, "tiny"))
    }
    assert after == before  # no raw folder, nothing replaced
    capsys.readouterr()
    meta = prepare(
        tmp_path / "data", hf_dataset=str(tmp_path / "ende"), languages="en,de", name="tiny", overwrite=True
    )
    out = capsys.readouterr().out
    assert "once complete it is replaced by other raw text (of en, de, not en, fr)" in out
    assert "removed fr_train.bin, fr_val.bin, fr_test.bin, fr_val.txt, fr_test.txt" in out
    assert meta["languages"] == ["en", "de"] and not any(
        name.startswith("fr_") for name in os.listdir(os.path.join(root, "tiny"))
    )
    assert "--overwrite" not in meta["prepare_command"]  # preparing it again from the same source needs none
    prepare_hf_dataset(
        str(tmp_path / "ende"), "en,de", name="tiny", vocab_size=290, data_root=root, num_proc=1
    )
    assert (
        "replaced by the same raw text (the sources' sha256 are those recorded), tokenized with 'tiny-bpe290'"
        in capsys.readouterr().out
    )
    with pytest.raises(
        UserError, match=r"its languages are en, de, not en"
    ):  # the same source, one language fewer
        prepare(tmp_path / "data", hf_dataset=str(tmp_path / "ende"), languages="en", name="tiny")


def test_a_sample_gets_a_tokenizer_of_its_own_and_empty_splits_are_warned_of(tmp_path, capsys):
    rows = {"en": [sentence("en", i) for i in range(300)], "de": [sentence("de", i) for i in range(300)]}
    folder = str(tmp_path / "ende")
    datasets.Dataset.from_dict(rows).save_to_disk(folder)
    meta = prepare(tmp_path / "data", hf_dataset=folder, languages="en,de", name="x47", max_rows=5)
    out = capsys.readouterr().out
    assert meta["tokenizer"]["name"] == "x47-rows5-bpe300"
    assert (
        "the tokenizer of this data is 'x47-rows5-bpe300' (named after --name and --max_rows=5, so that it is "
        "never taken for 'hf-ende-de-en-bpe300', the tokenizer of" in out
    )
    assert meta["empty_splits"] == ["val", "test"]
    assert (
        "has no line in its val and test splits: val and test each take 1.0% of the lines, so about 100 lines "
        "give each one line and 1,000 about ten; this data kept 5."
        in out
        and "this data kept 5" in out
        and "larger --max_rows" in out
    )
    # the sample's tokenizer is not reused
    full = prepare(tmp_path / "data", hf_dataset=folder, languages="en,de")
    assert (
        full["tokenizer"]["name"] == "hf-ende-de-en-bpe300"
        and "does not exist yet: training it" in capsys.readouterr().out
    )
    assert full["empty_splits"] == []
