"""
Generate the offline demo corpus (a miniature EN-FR parliament with known word senses) and prepare
it exactly like the real corpora: data/demo/{en,fr}_{train,val,test}.bin, the held-out text,
meta.json, its own small BPE tokenizer, and the gold sense annotation in data/demo/gold/.

$ python data/demo/prepare.py [--n_sentences=100000] [--seed=0] [--data_root=data] [--num_proc=0] [--vocab_size=8192] [--minimal_pairs=400]

Writes, under <data_root>/demo/:
  raw/demo.en, raw/demo.fr        the generated line-aligned text (line i of one translates line i of the other)
  {lang}_{split}.bin, {lang}_{val,test}.txt, {split}_line_numbers.txt, meta.json   (data/prepared.py)
  gold/lexicon.tsv                one row per (polysemous word, sense): gloss, translations, context words
  gold/lexicon_all.tsv            the whole bilingual lexicon (lemma_en, lemma_fr, pos, gender_fr)
  gold/{val,test}.jsonl           line i: the polysemous words of line i of {lang}_{split}.txt and their senses
  minimal_pairs/{en,fr}.jsonl     agreement minimal pairs in BLiMP's format, none from the training text
                                  (data/demo/agreement.py says which phenomena), and their index.json
and the tokenizer in <data_root>/tokenizers/demo-bpe8k.tiktoken. Takes under a minute on 2 cores.
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
from common.tokenizer import Tokenizer  # noqa: E402
from configurator import at_least, configure  # noqa: E402
from data.bpe import train_bpe_tokenizer  # noqa: E402
from data.corpora import demo_tokenizer_name  # noqa: E402
from data.demo import agreement, generate, senses, structures  # noqa: E402
from data.parallel_corpus import prepare_parallel_corpus  # noqa: E402
from data.preparation_lock import hold_until_exit  # noqa: E402
from data.prepared import HELD_OUT_SPLITS, read_line_numbers  # noqa: E402

n_sentences = 120_000  # sentence pairs; the default gives about 2.5M tokens per language
seed = 0  # the corpus is a function of (n_sentences, seed)
data_root = 'data'
num_proc = 0  # worker processes; 0: one per CPU core
vocab_size = 8192  # the smallest power of two where every polysemous word and main translation is one token
minimal_pairs = 400  # agreement minimal pairs per phenomenon (7 phenomena); 0: none
ranges = dict(
    n_sentences=at_least(100),
    seed=at_least(0),
    num_proc=at_least(0),
    vocab_size=at_least(258),
    minimal_pairs=at_least(0),
)


def single_token_check(tok: Tokenizer) -> list[str]:
    """The polysemous words and the main translation of each sense, each preceded by a space,
    that are NOT a single token (an empty list is what the sense analyses want)."""
    words = set()
    for sense in senses.SENSES:
        words.add(sense.word)
        words.update(sense.translations[0].split())  # "projet de loi": each word
    return sorted(w for w in words if len(tok.encode(" " + w)) != 1)


if __name__ == '__main__':
    configure(globals(), sys.argv[1:], ranges)
    num_proc = num_proc or (
        len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    )
    started = time.time()
    dataset_dir = os.path.join(data_root, "demo")
    hold_until_exit(dataset_dir)  # one preparation of data/demo at a time
    raw_dir = os.path.join(dataset_dir, "raw")
    os.makedirs(raw_dir, exist_ok=True)

    # 1. generate the sentence pairs
    pairs = generate.generate_corpus(n_sentences, seed=seed)
    raw_files = {"en": os.path.join(raw_dir, "demo.en"), "fr": os.path.join(raw_dir, "demo.fr")}
    for lang, path in raw_files.items():
        generate.write_atomic(path, "".join(getattr(p, lang) + "\n" for p in pairs))
    stats = generate.corpus_stats(pairs)
    lemmas = generate.lemma_counts()
    print(
        f"generated {n_sentences:,} sentence pairs (seed {seed}) in {time.time() - started:.1f}s: "
        f"{stats['mean_words_en']:.1f} / {stats['mean_words_fr']:.1f} words per sentence (en / fr), "
        f"{stats['distinct_fraction_en']:.3f} / {stats['distinct_fraction_fr']:.3f} distinct, "
        f"{len(structures.STRUCTURE_NAMES)} structures, {lemmas['en']} / {lemmas['fr']} lemmas"
    )

    # 2. its own tokenizer, trained on the generated text
    name = demo_tokenizer_name(vocab_size)
    tok = train_bpe_tokenizer(
        {lang: [getattr(p, lang) for p in pairs] for lang in raw_files},
        vocab_size=vocab_size,
        name=name,
        data_root=data_root,
        extra_info={"trained_on": "demo", "demo_seed": seed, "demo_sentences": n_sentences},
    )
    not_single = single_token_check(tok)
    if not_single:
        print(
            f"note: with {vocab_size} tokens these words (after a space) take several tokens: "
            f"{', '.join(not_single)}; a larger --vocab_size makes each one token"
        )
    else:
        print(f"every polysemous word and main sense translation is one token in {name}")

    # 3. the same preparation as Europarl and MultiUN
    meta = prepare_parallel_corpus(
        dataset_dir,
        raw_files,
        tok,
        data_root=data_root,
        num_proc=num_proc,
        extra_meta={
            "generator": {
                "script": "data/demo/prepare.py",
                "n_sentences": n_sentences,
                "seed": seed,
                "structures": len(structures.STRUCTURE_NAMES),
                "lemmas": lemmas,
                "mean_words": {
                    "en": round(stats["mean_words_en"], 2),
                    "fr": round(stats["mean_words_fr"], 2),
                },
                "distinct_fraction": {
                    "en": round(stats["distinct_fraction_en"], 4),
                    "fr": round(stats["distinct_fraction_fr"], 4),
                },
                "polysemous_words": {
                    "en": sorted({s.word for s in senses.SENSES if s.language == "en"}),
                    "fr": sorted({s.word for s in senses.SENSES if s.language == "fr"}),
                },
                "multi_token_sense_words": not_single,
            },
            "gold": "demo/gold",
        },
    )

    # 4. gold senses of the held-out lines, aligned with {lang}_{split}.txt
    heldout = {split: read_line_numbers(dataset_dir, split) for split in HELD_OUT_SPLITS}
    gold_dir = os.path.join(dataset_dir, "gold")
    generate.write_gold(gold_dir, pairs, heldout)
    tokens = {lang: sum(s["tokens"] for s in meta["splits"][lang].values()) for lang in meta["languages"]}
    print(
        f"wrote {gold_dir}: lexicon.tsv ({len(senses.SENSES)} senses), lexicon_all.tsv, "
        + ", ".join(f"{split}.jsonl ({len(lines):,} lines)" for split, lines in heldout.items())
    )

    # 5. agreement minimal pairs from sentences the training split does not hold
    if minimal_pairs:
        held_out = {n for lines in heldout.values() for n in lines}
        training_text = {
            lang: {getattr(p, lang) for n, p in enumerate(pairs) if n not in held_out} for lang in raw_files
        }
        pair_dir = os.path.join(dataset_dir, "minimal_pairs")
        built = agreement.build_pairs(minimal_pairs, seed, training_text)
        counts = agreement.write_pairs(pair_dir, built, seed)
        print(
            f"wrote {pair_dir}: "
            + ", ".join(f"{name} ({n:,} pairs)" for name, n in counts.items())
            + f", {minimal_pairs} per phenomenon"
        )
    print(
        f"demo corpus ready in {time.time() - started:.1f}s: "
        + ", ".join(f"{lang} {n:,} tokens" for lang, n in tokens.items())
    )
