"""data/get_data.sh: syntax, fast and clear failure offline, extraction from local archives.

$ python -m pytest -q tests/test_get_data.py
"""

import io
import os
import shutil
import subprocess
import tarfile
import time
import zipfile

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(REPO, "data", "get_data.sh")
needs_curl = pytest.mark.skipif(shutil.which("curl") is None, reason="curl is needed for file:// URLs")


def get_data(*args, cwd, **env):
    environment = dict(os.environ, **env)
    return subprocess.run(
        ["bash", SCRIPT, *args], capture_output=True, text=True, timeout=60, cwd=cwd, env=environment
    )


def make_archives(folder, en_lines, fr_lines):
    en = "".join(f"{line}\n" for line in en_lines).encode()
    fr = "".join(f"{line}\n" for line in fr_lines).encode()
    with tarfile.open(folder / "fr-en.tgz", "w:gz") as tar:
        for name, data in (("europarl-v7.fr-en.en", en), ("europarl-v7.fr-en.fr", fr)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    with zipfile.ZipFile(folder / "en-fr.txt.zip", "w") as archive:
        archive.writestr("MultiUN.en-fr.en", en)
        archive.writestr("MultiUN.en-fr.fr", fr)
        archive.writestr("README", "MultiUN")
    return {
        "EUROPARL_URL": f"file://{folder / 'fr-en.tgz'}",
        "MULTIUN_URL": f"file://{folder / 'en-fr.txt.zip'}",
    }


def test_script_parses():
    assert subprocess.run(["bash", "-n", SCRIPT]).returncode == 0


def test_offline_fails_at_once_naming_what_was_unreachable(tmp_path):
    started = time.time()
    result = get_data(
        "europarl",
        cwd=tmp_path,
        DATA_ROOT=str(tmp_path),
        EUROPARL_URL="http://127.0.0.1:9/europarl/v7/fr-en.tgz",
    )  # port 9: refused at once
    assert time.time() - started < 15
    assert result.returncode == 1
    assert "cannot reach http://127.0.0.1:9/europarl/v7/fr-en.tgz" in result.stderr
    assert (
        str(tmp_path / "europarl" / "raw" / "europarl-v7.fr-en.en") in result.stderr
    )  # where to put it by hand
    assert not (tmp_path / "europarl").exists()  # no empty raw folder left behind


def test_bad_arguments(tmp_path):
    assert get_data("wikipedia", cwd=tmp_path, DATA_ROOT=str(tmp_path)).returncode == 2
    result = get_data("europarl", "--max_lines", "ten", cwd=tmp_path, DATA_ROOT=str(tmp_path))
    assert result.returncode == 1 and "--max_lines needs a positive integer" in result.stderr


@needs_curl
def test_downloads_and_places_both_corpora_from_any_directory(tmp_path):
    urls = make_archives(tmp_path, [f"sentence {i}" for i in range(20)], [f"phrase {i}" for i in range(20)])
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = get_data("all", "--max_lines", "5", cwd=elsewhere, DATA_ROOT=str(tmp_path / "data"), **urls)
    assert result.returncode == 0, result.stderr
    for raw in ("europarl/raw/europarl-v7.fr-en", "multiun/raw/MultiUN.en-fr"):
        en = (tmp_path / "data" / f"{raw}.en").read_text().splitlines()
        fr = (tmp_path / "data" / f"{raw}.fr").read_text().splitlines()
        assert en == [f"sentence {i}" for i in range(5)] and fr == [f"phrase {i}" for i in range(5)]
    # without --max_lines the archive already there is extracted again in full, nothing downloaded
    result = get_data(
        "multiun", cwd=elsewhere, DATA_ROOT=str(tmp_path / "data"), MULTIUN_URL="http://127.0.0.1:9/x"
    )
    assert result.returncode == 0, result.stderr
    assert len((tmp_path / "data" / "multiun/raw/MultiUN.en-fr.fr").read_text().splitlines()) == 20


@needs_curl
def test_unaligned_archive_is_an_error_with_both_counts(tmp_path):
    urls = make_archives(tmp_path, ["a", "b", "c"], ["x", "y"])
    result = get_data("europarl", cwd=tmp_path, DATA_ROOT=str(tmp_path / "data"), **urls)
    assert result.returncode == 1
    assert "has 3 lines" in result.stderr and "has 2 lines" in result.stderr


@needs_curl
def test_other_europarl_pairs_go_to_their_own_dataset_folders(tmp_path):
    """--pair=de-en,fi-en: each pair from EUROPARL_URL with fr-en.tgz replaced by its own archive,
    into data/europarl-<pair>/raw/; a pair Europarl does not have is refused before anything runs."""
    for pair, lang in (("de-en", "de"), ("fi-en", "fi")):
        with tarfile.open(tmp_path / f"{pair}.tgz", "w:gz") as tar:
            for name, text in (
                (f"europarl-v7.{pair}.{lang}", f"{lang} 1\n{lang} 2\n"),
                (f"europarl-v7.{pair}.en", "en 1\nen 2\n"),
            ):
                info = tarfile.TarInfo(name)
                info.size = len(text.encode())
                tar.addfile(info, io.BytesIO(text.encode()))
    url = f"file://{tmp_path / 'fr-en.tgz'}"
    result = get_data(
        "europarl", "--pair=de-en,fi-en", cwd=tmp_path, DATA_ROOT=str(tmp_path / "data"), EUROPARL_URL=url
    )
    assert result.returncode == 0, result.stderr
    for pair, lang in (("de-en", "de"), ("fi-en", "fi")):
        raw = tmp_path / "data" / f"europarl-{pair}" / "raw"
        assert (raw / f"europarl-v7.{pair}.{lang}").read_text() == f"{lang} 1\n{lang} 2\n"
        assert (raw / f"europarl-v7.{pair}.en").read_text() == "en 1\nen 2\n"
        # the next step prepares where the text was put, not into data/
        assert (
            f"python data/europarl/prepare.py --pair={pair} --data_root={tmp_path / 'data'}" in result.stdout
        )
    assert not (tmp_path / "data" / "europarl").exists()
    result = get_data("europarl", "--pair=xx-en", cwd=tmp_path, DATA_ROOT=str(tmp_path / "data"))
    assert result.returncode == 1 and "--pair=xx-en is not a Europarl v7 pair" in result.stderr
    result = get_data("multiun", "--pair=de-en", cwd=tmp_path, DATA_ROOT=str(tmp_path / "data"))
    assert result.returncode == 1 and "chooses Europarl language pairs" in result.stderr
    result = get_data(
        "europarl",
        "--pair=de-en",
        cwd=tmp_path,
        DATA_ROOT=str(tmp_path / "off"),
        EUROPARL_URL="http://127.0.0.1:9/europarl/v7/fr-en.tgz",
    )
    assert "cannot reach http://127.0.0.1:9/europarl/v7/de-en.tgz" in result.stderr
    assert "set EUROPARL_URL" in result.stderr
