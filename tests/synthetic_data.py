"""Small prepared datasets written by the tests themselves, in the layout the prepare scripts
produce (data_root/<dataset>/{lang}_{split}.bin + meta.json), with a structure a model can learn:
each language is a Markov chain whose next token is a fixed function of the current one 90% of
the time, so a trained model's loss falls far below the unigram entropy (about log V)."""

import numpy as np
from prepared_dataset import write_prepared_dataset

FAKE_TOKENIZER = {'name': 'synthetic', 'sha256': '0' * 64, 'path': 'tokenizers/synthetic.tiktoken'}


def markov_tokens(n_tokens, vocab_size, multiplier, rng, p_follow=0.9):
    tokens = np.empty(n_tokens, dtype=np.int64)
    tokens[0] = rng.integers(vocab_size)
    follow = rng.random(n_tokens) < p_follow
    noise = rng.integers(0, vocab_size, n_tokens)
    for i in range(1, n_tokens):
        tokens[i] = (multiplier * tokens[i - 1] + 7) % vocab_size if follow[i] else noise[i]
    return tokens


def unigram_entropy(tokens, vocab_size):
    p = np.bincount(tokens, minlength=vocab_size) / len(tokens)
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


def write_synthetic_dataset(
    data_root,
    name='synth',
    vocab_size=96,
    n_train=20000,
    n_heldout=3000,
    languages=('en', 'fr'),
    seed=0,
    tokenizer=FAKE_TOKENIZER,
    dtype='uint16',
):
    rng = np.random.default_rng(seed)
    tokens, splits = {}, {}
    for li, lang in enumerate(languages):
        tokens[lang], splits[lang] = {}, {}
        for split, n in (('train', n_train), ('val', n_heldout), ('test', n_heldout)):
            tokens[lang][split] = markov_tokens(n, vocab_size, 3 + 2 * li, rng)
            splits[lang][split] = {'lines': n // 20, 'tokens': n}
    return write_prepared_dataset(
        data_root, name, tokens, splits, vocab_size, vocab_size - 1, tokenizer, dtype=dtype
    )
