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
WORDS = {"en": "the council report vote budget region member states must debate will agree".split(),
         "de": "der rat bericht abstimmung haushalt region mitglied staaten muss debatte wird".split(),
         "fr": "le conseil rapport vote budget région membre états doit débat sera accord".split()}


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
    raw = open(tmp_path / "data" / "hf-europarl-like-de-en" / "raw" / "hf-europarl-like-de-en.de").read().split("\n")
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
            f.write(json.dumps({"id": i, "text_en": sentence("en", i), "de": sentence("de", i),
                                "fr": sentence("fr", i)}, ensure_ascii=False) + "\n")
    with pytest.raises(UserError, match=r"no column en \(for en\); its columns are id, text_en, de, fr"):
        prepare(tmp_path / "data", hf_dataset=str(folder), languages="en,de,fr")
    meta = prepare(tmp_path / "data", hf_dataset=str(folder), languages="en,de,fr", columns="en:text_en",
                   name="tri", streaming=True, max_rows=250)
    assert meta["languages"] == ["en", "de", "fr"] and meta["raw_lines"] == 250
    assert meta["tokenizer"]["name"] == "hf-jsonl-de-en-fr-bpe300"
    root = str(tmp_path / "data")
    heldout = [[line.split("<")[1] for line in read_heldout_lines(root, "tri", lang, "test")] for lang in ("en", "de", "fr")]
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
    with pytest.raises(UserError, match="is a dataset of another prepare script"):
        prepare(data, hf_dataset=folder, languages="en,de", name="europarl")
    empty = str(tmp_path / "empty")
    datasets.Dataset.from_dict({"translation": []}).save_to_disk(empty)
    with pytest.raises(UserError, match="is empty"):
        prepare(data, hf_dataset=empty, languages="en,de")
    splits = str(tmp_path / "splits")
    datasets.DatasetDict({"train": datasets.Dataset.from_dict({"en": ["a"], "de": ["b"]})}).save_to_disk(splits)
    with pytest.raises(UserError, match="has no split 'test'; it has train"):
        prepare(data, hf_dataset=splits, languages="en,de", split="test")
    assert not os.path.exists(data / "tokenizers")


@pytest.mark.parametrize("environment", [{"HF_HUB_OFFLINE": "1"}, {"HF_ENDPOINT": "http://127.0.0.1:9"}])
def test_a_hub_name_offline_fails_fast_saying_what_it_could_not_reach(tmp_path, environment):
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "HF_ENDPOINT")}
    env.update(environment, HF_HOME=str(tmp_path / "hf-home"))
    started = time.time()
    result = subprocess.run([sys.executable, os.path.join(REPO, "data", "hf", "prepare.py"),
                             "--hf_dataset=Helsinki-NLP/opus-100", "--hf_config=de-en", "--languages=en,de",
                             f"--data_root={tmp_path}"], capture_output=True, text=True, timeout=60, env=env, cwd="/")
    assert time.time() - started < 20  # not datasets' retry loop (25 s and more)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "cannot reach the Hugging Face hub" in result.stderr
    assert ("127.0.0.1:9 unreachable" if "HF_ENDPOINT" in environment else "offline mode") in result.stderr
    assert "save_to_disk('FOLDER')" in result.stderr and "--hf_dataset=FOLDER" in result.stderr
