"""
The corpora this project prepares, and what each needs: its raw files, the command that prepares
it, and the name of the tokenizer it gets by default. The datasets themselves are folders under
the data root (data/<dataset>/, in the layout of data/prepared.py).

    demo       generated offline by data/demo/prepare.py, with its own tokenizer demo-bpe8k
    europarl   Europarl v7 fr-en: bash data/get_data.sh europarl && python data/europarl/prepare.py
    multiun    MultiUN en-fr:     bash data/get_data.sh multiun && python data/multiun/prepare.py

Europarl and MultiUN share one tokenizer (europarl-multiun-bpe10k), as in the original project, so
that a model can be trained on both; data/parallel_corpus.py's prepare_dataset() prepares them.
"""

import os

RAW_FILES = {  # raw file names as distributed, in data/<dataset>/raw/ (data/get_data.sh puts them there)
    "europarl": {"en": "europarl-v7.fr-en.en", "fr": "europarl-v7.fr-en.fr"},
    "multiun": {"en": "MultiUN.en-fr.en", "fr": "MultiUN.en-fr.fr"},
}
DATASETS = ("demo", *RAW_FILES)
SHARED_TOKENIZER_CORPORA = ("europarl", "multiun")  # one tokenizer for both, as in the original project


def prepare_command(dataset):
    """The command line that prepares `dataset` (its download first, where it has raw files)."""
    command = f"python data/{dataset}/prepare.py"
    return f"bash data/get_data.sh {dataset} && {command}" if dataset in RAW_FILES else command


def raw_files_of(dataset, raw_dir):
    """{language: path} of the raw files of a downloaded corpus in raw_dir."""
    return {lang: os.path.join(raw_dir, name) for lang, name in RAW_FILES[dataset].items()}


def _size_label(vocab_size, unit):
    return f"{vocab_size // unit}k" if vocab_size % unit == 0 else str(vocab_size)


def default_tokenizer_name(vocab_size):
    """The tokenizer Europarl and MultiUN share: europarl-multiun-bpe10k for 10,000 tokens."""
    return f"{'-'.join(SHARED_TOKENIZER_CORPORA)}-bpe{_size_label(vocab_size, 1000)}"


def demo_tokenizer_name(vocab_size):
    """The demo corpus's own tokenizer: demo-bpe8k for 8,192 tokens."""
    return f"demo-bpe{_size_label(vocab_size, 1024)}"
