"""A tiny English-French parallel corpus prepared by the tests themselves, in the layout the
prepare scripts write (data_root/<dataset>/{lang}_{split}.bin and .txt, meta.json, a BPE tokenizer
under data_root/tokenizers/), and tiny checkpoints trained on it with train.py, for end-to-end tests
of the evaluation scripts. Built once per test run (tests/shared_folders.py)."""

import os
import random
import subprocess
import sys
from contextlib import contextmanager

from prepared_dataset import write_prepared_dataset
from shared_folders import shared_folder

from data.prepared import HELD_OUT_SPLITS, SPLITS

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATASET = 'tiny'

SUBJECTS = [
    ("The committee", "Le comité"),
    ("The council", "Le conseil"),
    ("The president", "Le président"),
    ("Our group", "Notre groupe"),
    ("The commission", "La commission"),
    ("The parliament", "Le parlement"),
    ("This report", "Ce rapport"),
    ("The minister", "Le ministre"),
]
VERBS = [
    ("supports", "soutient"),
    ("rejects", "rejette"),
    ("welcomes", "accueille"),
    ("discusses", "discute"),
    ("approves", "approuve"),
    ("examines", "examine"),
]
OBJECTS = [
    ("the proposal", "la proposition"),
    ("the budget", "le budget"),
    ("the agreement", "l'accord"),
    ("the amendment", "l'amendement"),
    ("the resolution", "la résolution"),
    ("the directive", "la directive"),
]
TAILS = [
    ("today", "aujourd'hui"),
    ("again", "encore"),
    ("with great interest", "avec grand intérêt"),
    ("without delay", "sans délai"),
    ("in principle", "en principe"),
    ("this week", "cette semaine"),
]


def parallel_lines(n_lines, seed=0):
    """(english lines, french lines), line i of one the translation of line i of the other."""
    rng = random.Random(seed)
    en, fr = [], []
    for _ in range(n_lines):
        (s_en, s_fr), (v_en, v_fr), (o_en, o_fr), (t_en, t_fr) = (
            rng.choice(SUBJECTS),
            rng.choice(VERBS),
            rng.choice(OBJECTS),
            rng.choice(TAILS),
        )
        question = rng.random() < 0.2
        en.append(f"{s_en} {v_en} {o_en} {t_en}{'?' if question else '.'}")
        fr.append(f"{s_fr} {v_fr} {o_fr} {t_fr}{' ?' if question else '.'}")
    return en, fr


def split_of(line_number):
    return {0: 'test', 1: 'val'}.get(line_number % 20, 'train')


def write_tiny_corpus(data_root, n_lines=600, vocab_size=400, seed=0):
    """Prepare the corpus under data_root/tiny; returns meta.json's content."""
    from data.bpe import train_bpe_tokenizer

    en, fr = parallel_lines(n_lines, seed)
    by_lang = {'en': en, 'fr': fr}
    splits = {
        lang: {s: [line for i, line in enumerate(lines) if split_of(i) == s] for s in SPLITS}
        for lang, lines in by_lang.items()
    }
    tok = train_bpe_tokenizer(
        {lang: s['train'] for lang, s in splits.items()},
        vocab_size,
        name='tiny-bpe',
        data_root=data_root,
        verbose=False,
    )
    ids = {
        lang: {split: tok.encode_lines_with_eot(lines) for split, lines in by_split.items()}
        for lang, by_split in splits.items()
    }
    stats = {
        lang: {
            split: {
                'lines': len(lines),
                'tokens': len(ids[lang][split]),
                'words': sum(len(line.split()) for line in lines),
                'bytes': sum(len(line.encode('utf-8')) for line in lines),
            }
            for split, lines in by_split.items()
        }
        for lang, by_split in splits.items()
    }
    heldout = {
        lang: {split: by_split[split] for split in HELD_OUT_SPLITS} for lang, by_split in splits.items()
    }
    return write_prepared_dataset(
        data_root, DATASET, ids, stats, tok.n_vocab, tok.eot_token, tok.identity(), heldout
    )


def run_script(*args, timeout=180, check=True):
    """Run a top-level script of the repository with this Python; with check, fails the test,
    showing its output, when the script exits with an error."""
    # one thread: tiny models run faster so, and much faster on a busy machine
    env = {**os.environ, 'OMP_NUM_THREADS': '1', 'MKL_NUM_THREADS': '1'}
    result = subprocess.run(
        [sys.executable, *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=timeout, env=env
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"{' '.join(args)} exited with {result.returncode}:\n"
            f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )
    return result


def tiny_data_root(tmp_path_factory):
    """data_root of the tiny corpus, prepared once per test run (tests only read it)."""
    return shared_folder(tmp_path_factory, 'tiny_data', write_tiny_corpus)


def tiny_checkpoint(tmp_path_factory, model_name='backpack-lm', max_iters=60):
    """out_dir of a tiny model trained on the tiny corpus for a few seconds, once per test run
    (tests only read it: their reports go to folders of their own)."""
    data_root = tiny_data_root(tmp_path_factory)

    def train(out_dir):
        run_script(
            'train.py',
            f'--data_root={data_root}',
            f'--list_of_datasets={DATASET}',
            f'--out_dir={out_dir}',
            f'--model_name={model_name}',
            '--n_layer=2',
            '--n_head=2',
            '--n_embd=32',
            '--n_sense_vector=4',
            '--block_size=32',
            '--batch_size=8',
            '--gradient_accumulation_steps=1',
            f'--max_iters={max_iters}',
            f'--eval_interval={max_iters}',
            '--eval_iters=2',
            '--warmup_iters=5',
            f'--lr_decay_iters={max_iters}',
            '--learning_rate=3e-3',
            '--device=cpu',
            '--dtype=float32',
        )

    return shared_folder(tmp_path_factory, f'ckpt-{model_name}-{max_iters}', train)


@contextmanager
def torch_threads(n=1):
    """Run in-process model code on n threads (tiny models are faster on one), then restore."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)
