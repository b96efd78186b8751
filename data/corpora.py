"""
The corpora this project prepares, and what each needs: its raw files, the command that prepares
it, and the name of the tokenizer it gets by default. The datasets themselves are folders under
the data root (data/<dataset>/, in the layout of data/prepared.py).

    demo             generated offline by data/demo/prepare.py, with its own tokenizer demo-bpe8k
    europarl         Europarl v7 fr-en: bash data/get_data.sh europarl && python data/europarl/prepare.py
    europarl-de-en   any other Europarl v7 pair (XX-en, EUROPARL_PAIRS):
                     bash data/get_data.sh europarl --pair=de-en && python data/europarl/prepare.py --pair=de-en
    europarl-de-en-fr  Europarl pairs joined on their English side (languages in the name, sorted):
                     python data/europarl/prepare.py --pair=de-en,fr-en --join=True
    multiun          MultiUN en-fr:     bash data/get_data.sh multiun && python data/multiun/prepare.py
    hf-...           a Hugging Face dataset, by data/hf/prepare.py (its meta.json records the command)

Languages of a Europarl dataset: English first, then the others in the order of --pair (the
dataset europarl is ["en", "fr"], as it always was).

Europarl and MultiUN share one tokenizer (europarl-multiun-bpe10k), as in the original project, so
that a model can be trained on both; data/prepare_scripts.py's prepare_dataset() prepares them. Any
other set of languages gets a tokenizer named for its languages (shared_tokenizer_name()).
"""

import json
import os
import shlex

from common.languages import EUROPARL_LANGUAGES, EUROPARL_PAIRS

DEFAULT_DATA_ROOT = os.path.dirname(
    os.path.abspath(__file__)
)  # data/, where get_data.sh and the scripts write
PREPARE_SCRIPTS = (
    "data/europarl/prepare.py",
    "data/multiun/prepare.py",
    "data/hf/prepare.py",
    "data/demo/prepare.py",
)

RAW_FILES = {  # raw file names as distributed, in data/<dataset>/raw/ (data/get_data.sh puts them there)
    "europarl": {"en": "europarl-v7.fr-en.en", "fr": "europarl-v7.fr-en.fr"},
    "multiun": {"en": "MultiUN.en-fr.en", "fr": "MultiUN.en-fr.fr"},
}
DATASETS = ("demo", *RAW_FILES)
SHARED_TOKENIZER_CORPORA = ("europarl", "multiun")  # one tokenizer for both, as in the original project
EUROPARL_DEFAULT_PAIR = "fr-en"  # the dataset 'europarl', as the original project named it


def europarl_dataset(pair: str) -> str:
    """'fr-en' -> 'europarl' (its name since the original project); 'de-en' -> 'europarl-de-en'."""
    return "europarl" if pair == EUROPARL_DEFAULT_PAIR else f"europarl-{pair}"


def europarl_pair_of(dataset: str) -> str | None:
    """The Europarl v7 pair a dataset holds ('europarl' -> 'fr-en', 'europarl-de-en' -> 'de-en'),
    or None."""
    if dataset == "europarl":
        return EUROPARL_DEFAULT_PAIR
    pair = dataset[len("europarl-") :] if dataset.startswith("europarl-") else None
    return pair if pair in EUROPARL_PAIRS and pair != EUROPARL_DEFAULT_PAIR else None


def europarl_raw_files(pair: str, raw_dir: str) -> dict[str, str]:
    """{language: path} of a Europarl v7 pair's files (as get_data.sh places them), English first."""
    lang = pair.split("-")[0]
    return {
        "en": os.path.join(raw_dir, f"europarl-v7.{pair}.en"),
        lang: os.path.join(raw_dir, f"europarl-v7.{pair}.{lang}"),
    }


def europarl_join_name(languages: list[str]) -> str:
    """The dataset of Europarl pairs joined on English: europarl-de-en-fr for en, de, fr (sorted codes)."""
    return f"europarl-{'-'.join(sorted(languages))}"


def europarl_join_pairs(dataset: str) -> list[str] | None:
    """The pairs a joined Europarl dataset is made of ('europarl-de-en-fr' -> ['de-en', 'fr-en']), or None."""
    codes = dataset[len("europarl-") :].split("-") if dataset.startswith("europarl-") else []
    others = [c for c in codes if c != "en"]
    if (
        len(others) < 2
        or "en" not in codes
        or codes != sorted(codes)
        or len(set(codes)) != len(codes)
        or any(c not in EUROPARL_LANGUAGES for c in others)
    ):
        return None
    return [f"{c}-en" for c in others]


def is_registered(dataset: str) -> bool:
    """Whether `dataset` is a name this registry knows how to prepare (not a typo of one)."""
    return (
        dataset in DATASETS
        or europarl_pair_of(dataset) is not None
        or europarl_join_pairs(dataset) is not None
    )


def recorded_prepare_command(dataset: str, data_root: str) -> str | None:
    """The command a dataset's meta.json says prepared it (data/hf/prepare.py records it), or None."""
    try:
        with open(os.path.join(data_root, dataset, "meta.json")) as f:
            command = json.load(f).get("prepare_command")
    except (OSError, ValueError, AttributeError):
        return None
    return command if isinstance(command, str) else None


def in_data_root(command: str, data_root: str | None) -> str:
    """`command` (steps joined by ' && ') made to write under `data_root` when it is not data/:
    DATA_ROOT=... before get_data.sh, --data_root=... after a prepare script not given one."""
    if not data_root or os.path.abspath(data_root) == DEFAULT_DATA_ROOT:
        return command
    steps = []
    for step in command.split(" && "):
        if step.startswith("bash data/get_data.sh"):
            step = f"DATA_ROOT={shlex.quote(data_root)} {step}"
        elif step.startswith("python data/") and "--data_root=" not in step:
            step += f" --data_root={shlex.quote(data_root)}"
        steps.append(step)
    return " && ".join(steps)


def download_command(arguments: str, data_root: str | None = None) -> str:
    """get_data.sh with `arguments` ('europarl --pair=de-en'), into `data_root`."""
    return in_data_root(f"bash data/get_data.sh {arguments}", data_root)


def prepare_command(dataset: str, data_root: str | None = None) -> str:
    """The command line that prepares `dataset` under `data_root` (its download first, where it
    has raw files). A command recorded in the dataset's meta.json comes first. A dataset no
    script makes by that name gets the prepare scripts there are."""
    recorded = recorded_prepare_command(dataset, data_root) if data_root else None
    if recorded:
        return recorded
    if is_registered(dataset) or dataset.startswith("hf-"):
        return in_data_root(_prepare_command(dataset), data_root)
    # no script makes it by that name (data/<dataset>/prepare.py does not exist): text of one's own
    # is read by the Hugging Face script
    command = f"python data/hf/prepare.py --hf_dataset=FOLDER --languages=xx,yy --name={dataset}"
    return (
        f"{in_data_root(command, data_root)} (FOLDER: your parallel text as JSON lines, CSV or parquet; "
        f"no script makes a dataset '{dataset}' by itself: the prepare scripts are {', '.join(PREPARE_SCRIPTS)})"
    )


def _prepare_command(dataset: str) -> str:
    pair = europarl_pair_of(dataset)
    if pair and pair != EUROPARL_DEFAULT_PAIR:
        return (
            f"bash data/get_data.sh europarl --pair={pair} && python data/europarl/prepare.py --pair={pair}"
        )
    pairs = europarl_join_pairs(dataset)
    if pairs:
        pairs = ",".join(pairs)
        return f"bash data/get_data.sh europarl --pair={pairs} && python data/europarl/prepare.py --pair={pairs} --join=True"
    if dataset.startswith("hf-"):
        return f"python data/hf/prepare.py --hf_dataset=NAME_OR_FOLDER --languages=xx,yy --name={dataset}"
    if dataset in RAW_FILES:
        return f"bash data/get_data.sh {dataset} && python data/{dataset}/prepare.py"
    return f"python data/{dataset}/prepare.py"


def raw_files_of(dataset: str, raw_dir: str) -> dict[str, str]:
    """{language: path} of the raw files of a downloaded corpus in raw_dir."""
    if dataset not in RAW_FILES and europarl_pair_of(dataset):
        return europarl_raw_files(europarl_pair_of(dataset), raw_dir)
    return {lang: os.path.join(raw_dir, name) for lang, name in RAW_FILES[dataset].items()}


def _size_label(vocab_size: int, unit: int) -> str:
    return f"{vocab_size // unit}k" if vocab_size % unit == 0 else str(vocab_size)


def default_tokenizer_name(vocab_size: int) -> str:
    """The tokenizer Europarl and MultiUN share: europarl-multiun-bpe10k for 10,000 tokens."""
    return f"{'-'.join(SHARED_TOKENIZER_CORPORA)}-bpe{_size_label(vocab_size, 1000)}"


def shared_tokenizer_name(source: str, languages: list[str], vocab_size: int) -> str:
    """The tokenizer of a set of languages, named for them (sorted codes): europarl-de-en-fr-bpe10k,
    hf-opus100-de-en-bpe10k. English and French from Europarl keep the original shared tokenizer,
    europarl-multiun-bpe10k."""
    if source == "europarl" and sorted(set(languages)) == ["en", "fr"]:
        return default_tokenizer_name(vocab_size)
    return dataset_tokenizer_name(f"{source}-{'-'.join(sorted(set(languages)))}", vocab_size)


def dataset_tokenizer_name(dataset: str, vocab_size: int) -> str:
    """The tokenizer of one dataset's own: mine-bpe10k for 10,000 tokens."""
    return f"{dataset}-bpe{_size_label(vocab_size, 1000)}"


def demo_tokenizer_name(vocab_size: int) -> str:
    """The demo corpus's own tokenizer: demo-bpe8k for 8,192 tokens."""
    return f"demo-bpe{_size_label(vocab_size, 1024)}"
