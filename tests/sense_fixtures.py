"""A tiny English-French parallel corpus with gold senses, prepared in the layout the prepare
scripts write (data_root/<dataset>/{lang}_{split}.bin and .txt, meta.json, gold/ as
data/demo/prepare.py writes it), a real BPE tokenizer trained on it, and tiny GPT-2 and Backpack
checkpoints, for the tests of the sense analyses. With languages=('en', 'fr', 'de') the same
corpus has a German translation of every line too (line-aligned across the three languages),
German gold senses ('Bank' for money and for the side of a river, as the English 'bank') and a
lemma_de column in the lemma lexicon."""

import json
import os

import numpy as np
import torch
from prepared_dataset import write_prepared_dataset

from common.checkpoint import save_checkpoint
from data.bpe import train_bpe_tokenizer
from data.prepared import HELD_OUT_SPLITS, SPLITS, PreparedData, dataset_languages
from model import build_model, model_args_of
from senses.analysis_inputs import AnalysisInputs, AnalysisOptions, LabelledModel

SUBJECTS = [
    ('council', 'le conseil', 'du conseil'),
    ('farmer', "l'agriculteur", "de l'agriculteur"),
    ('minister', 'le ministre', 'du ministre'),
    ('committee', 'le comité', 'du comité'),
]
# the same subjects in German: nominative, dative, accusative, genitive
SUBJECTS_DE = [
    ('der Rat', 'dem Rat', 'den Rat', 'des Rates'),
    ('der Landwirt', 'dem Landwirt', 'den Landwirt', 'des Landwirts'),
    ('der Minister', 'dem Minister', 'den Minister', 'des Ministers'),
    ('der Ausschuss', 'dem Ausschuss', 'den Ausschuss', 'des Ausschusses'),
]

# (english, french, [(language, word, sense_id)]): {s} is the subject, {de} its French genitive
TEMPLATES = [
    (
        "the {s} took money from the bank .",
        "{S} a pris de l'argent à la banque .",
        [('en', 'bank', 'bank/finance')],
    ),
    (
        "the {s} walked along the bank of the river .",
        "{S} a marché le long de la rive du fleuve .",
        [('en', 'bank', 'bank/river')],
    ),
    (
        "Bank loans helped the {s} .",
        "Les prêts de la banque ont aidé {s_fr} .",
        [('en', 'bank', 'bank/finance')],
    ),
    (
        "the flight of the {s} left for paris .",
        "le vol {de} est parti pour paris .",
        [('fr', 'vol', 'vol/flight')],
    ),
    (
        "the theft of the car shocked the {s} .",
        "le vol de la voiture a choqué {s_fr} .",
        [('fr', 'vol', 'vol/theft')],
    ),
    ("the parliament adopted the report of the {s} .", "le parlement a adopté le rapport {de} .", []),
    ("the {s} voted for the budget .", "{S} a voté pour le budget .", []),
]

# German translations of TEMPLATES, in their order ({N} nominative (capitalised), {dat}, {acc},
# {gen}), with their gold senses (word-level translations: this 'Bank' is a river's too)
TEMPLATES_DE = [
    ("{N} nahm Geld von der Bank .", [('bank', 'Bank/Geldinstitut')]),
    ("{N} ging an der Bank des Flusses entlang .", [('bank', 'Bank/Ufer')]),
    ("Die Kredite der Bank halfen {dat} .", [('bank', 'Bank/Geldinstitut')]),
    ("der Flug {gen} ging nach paris .", []),
    ("der Diebstahl des Autos schockierte {acc} .", []),
    ("das Parlament nahm den Bericht {gen} an .", []),
    ("{N} stimmte für den Haushalt .", []),
]

LEXICON = [
    ('bank', 'en', 'bank/finance', 'financial institution', 'banque', 'money|loans'),
    ('bank', 'en', 'bank/river', 'side of a river', 'rive', 'river|walked'),
    ('vol', 'fr', 'vol/flight', 'flight', 'flight', 'paris|parti'),
    ('vol', 'fr', 'vol/theft', 'theft', 'theft', 'voiture|choqué'),
]

LEXICON_DE = [
    ('bank', 'de', 'Bank/Geldinstitut', 'financial institution', 'bank|banque', 'Geld|Kredite'),
    ('bank', 'de', 'Bank/Ufer', 'side of a river', 'rive|river', 'Flusses|ging'),
]

LEXICON_ALL = [
    ('parliament', 'parlement'),
    ('report', 'rapport'),
    ('council', 'conseil'),
    ('farmer', 'agriculteur'),
    ('minister', 'ministre'),
    ('money', 'argent'),
    ('bank', 'banque'),
    ('river', 'fleuve'),
    ('car', 'voiture'),
    ('flight', 'vol'),
    ('budget', 'budget'),
    ('committee', 'comité'),
    ('loan', 'prêt'),
]
LEXICON_ALL_DE = [
    'Parlament',
    'Bericht',
    'Rat',
    'Landwirt',
    'Minister',
    'Geld',
    'Bank',
    'Fluss',
    'Auto',
    'Flug',
    'Haushalt',
    'Ausschuss',
    'Kredit',
]  # of LEXICON_ALL's words, in its order


def generate_lines(n_lines, seed=0, german=False):
    """[(english, french, {'en': [...], 'fr': [...]})] with gold occurrences (word_index into
    line.split()); with german, [(english, french, annotation, german)] (the same draws)."""
    rng = np.random.default_rng(seed)
    lines = []
    for _ in range(n_lines):
        template = rng.integers(len(TEMPLATES))
        en, fr, gold = TEMPLATES[template]
        subject = rng.integers(len(SUBJECTS))
        s, s_fr, de = SUBJECTS[subject]
        en = en.format(s=s)
        fr = fr.format(S=s_fr[:1].upper() + s_fr[1:], s_fr=s_fr, de=de)
        annotation = {'en': [], 'fr': []}
        for lang, word, sense_id in gold:
            words = (en if lang == 'en' else fr).split()
            index = [w.lower() for w in words].index(word)
            annotation[lang].append({'word': word, 'sense_id': sense_id, 'word_index': index})
        if german:
            nominative, dative, accusative, genitive = SUBJECTS_DE[subject]
            de, gold_de = TEMPLATES_DE[template]
            de = de.format(
                N=nominative[:1].upper() + nominative[1:], dat=dative, acc=accusative, gen=genitive
            )
            words = [w.lower() for w in de.split()]
            annotation['de'] = [
                {'word': word, 'sense_id': sense_id, 'word_index': words.index(word)}
                for word, sense_id in gold_de
            ]
            lines.append((en, fr, annotation, de))
        else:
            lines.append((en, fr, annotation))
    return lines


def split_of(line_number):
    return 'val' if line_number % 10 == 3 else 'test' if line_number % 10 == 7 else 'train'


def write_sense_dataset(
    data_root, name='sensefix', n_lines=800, vocab_size=400, seed=0, languages=('en', 'fr')
):
    """Prepare the fixture corpus under data_root/name, in languages ('en', 'fr') or ('en',
    'fr', 'de'); returns (meta, tokenizer)."""
    if tuple(languages) not in (('en', 'fr'), ('en', 'fr', 'de')):
        raise ValueError(f"the fixture has languages ('en', 'fr') or ('en', 'fr', 'de'), not {languages}")
    lines = generate_lines(n_lines, seed, german='de' in languages)
    by_split = {split: [(i, l) for i, l in enumerate(lines) if split_of(i) == split] for split in SPLITS}
    column = {'en': 0, 'fr': 1, 'de': 3}  # of a line of generate_lines
    tok = train_bpe_tokenizer(
        {lang: [l[column[lang]] for _, l in by_split['train']] for lang in languages},
        vocab_size=vocab_size,
        name=name,
        data_root=data_root,
        verbose=False,
    )
    text = {
        lang: {split: [l[column[lang]] for _, l in members] for split, members in by_split.items()}
        for lang in languages
    }
    ids = {
        lang: {split: tok.encode_lines_with_eot(lines) for split, lines in text[lang].items()}
        for lang in text
    }
    splits = {
        lang: {
            split: {'lines': len(text[lang][split]), 'tokens': int(len(ids[lang][split]))} for split in SPLITS
        }
        for lang in text
    }
    heldout = {lang: {split: text[lang][split] for split in HELD_OUT_SPLITS} for lang in text}
    meta = write_prepared_dataset(
        data_root, name, ids, splits, tok.n_vocab, tok.eot_token, tok.identity(), heldout
    )
    folder = os.path.join(data_root, name)
    os.makedirs(os.path.join(folder, 'gold'), exist_ok=True)
    for split in HELD_OUT_SPLITS:
        with open(os.path.join(folder, 'gold', f'{split}.jsonl'), 'w', encoding='utf-8') as f:
            for i, l in by_split[split]:
                f.write(json.dumps({'raw_line': i, **l[2]}, ensure_ascii=False) + '\n')
    with open(os.path.join(folder, 'gold', 'lexicon.tsv'), 'w', encoding='utf-8') as f:
        f.write('word\tlanguage\tsense_id\tgloss\ttranslations\tcontext_words\n')
        f.writelines('\t'.join(row) + '\n' for row in LEXICON + (LEXICON_DE if 'de' in languages else []))
    with open(os.path.join(folder, 'gold', 'lexicon_all.tsv'), 'w', encoding='utf-8') as f:
        if 'de' in languages:
            f.write('lemma_en\tlemma_fr\tpos\tgender_fr\tlemma_de\n')
            f.writelines(f'{en}\t{fr}\tnoun\tm\t{de}\n' for (en, fr), de in zip(LEXICON_ALL, LEXICON_ALL_DE))
        else:
            f.write('lemma_en\tlemma_fr\tpos\tgender_fr\n')
            f.writelines(f'{en}\t{fr}\tnoun\tm\n' for en, fr in LEXICON_ALL)
    return meta, tok


def write_checkpoint(out_dir, model_name, data_root, meta, train_steps=0, seed=0, **model_args):
    """A tiny model (trained for train_steps on the fixture when > 0), saved as train.py would."""
    torch.manual_seed(seed)
    args = dict(
        n_layer=1, n_head=2, n_embd=32, block_size=32, bias=False, dropout=0.0, vocab_size=meta['vocab_size']
    )
    if model_name == 'backpack-lm':
        args.update(n_sense_vector=4, sense_intermediate_scale=2)
    args.update(model_args)
    model = build_model(model_name, **args)
    if train_steps:
        data = PreparedData(data_root, [meta['dataset']])
        optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
        for step in range(train_steps):
            x, y = data.get_batch('train', 16, args['block_size'], seed, step)
            _, loss = model(x, y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    os.makedirs(out_dir, exist_ok=True)
    save_checkpoint(
        {
            'model': model.state_dict(),
            'optimizer': {},
            'scaler': {},
            'model_name': model_name,
            'model_args': model_args_of(model),
            'config': {'block_size': args['block_size']},
            'iter_num': train_steps,
            'best_val_loss': 0.0,
            'rng_states': [],
            'data': {
                'list_of_datasets': [meta['dataset']],
                'data_root': os.path.abspath(data_root),
                'tokenizer': meta['tokenizer'],
                'vocab_size': meta['vocab_size'],
                'languages': list(meta['languages']),
            },
        },
        os.path.join(out_dir, 'ckpt.pt'),
    )
    return model.eval()


def analysis_inputs(
    model, tokenizer, data_root='', dataset='', languages=None, models=(), report_dir='.', **options
):
    """The record sense_visualisation.py hands to every analysis's run(), for a test: languages
    None = the dataset's (meta.json); models: [(label, model, tokenizer)] for the probe and the
    similarity; options: AnalysisOptions fields (n_permutations=20, ...)."""
    if languages is None:
        languages = dataset_languages(data_root, dataset)
    return AnalysisInputs(
        model=model,
        tokenizer=tokenizer,
        data_root=data_root,
        dataset=dataset,
        languages=tuple(languages),
        models=tuple(LabelledModel(*m) for m in models),
        report_dir=report_dir,
        options=AnalysisOptions(**options),
    )
