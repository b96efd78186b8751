"""Cloze test: items, the original file format and its errors, whole-word matching, the beam
search's word scores, the cached search equal to the recomputing one, and a model that memorised
its sentences getting every word right."""

import json
import math
import os
import re
from collections import Counter

import pytest
import torch
from in_process import run_in_process
from tiny_text_corpus import DATASET, run_script, tiny_checkpoint, tiny_data_root, torch_threads

from common.errors import UserError
from common.tokenizer import load_tokenizer
from data.prepared import read_heldout_lines
from evaluation.cloze import (
    check_cloze_file_names,
    context_ids,
    is_hit,
    items_from_lines,
    mask_last_word,
    original_format,
    predict_items,
    predict_words,
    read_cloze_file,
    token_classes,
    tokenizer_classes,
)
from evaluation.results import skip_summary
from model import KVCache, build_model


def test_the_last_word_before_the_final_punctuation_is_masked():
    assert mask_last_word("The session of the House is adjourned.") == (
        "The session of the House is",
        "adjourned",
        ".",
    )
    assert mask_last_word("Est-ce que la séance est vraiment ouverte ?") == (
        "Est-ce que la séance est vraiment",
        "ouverte",
        " ?",
    )
    assert mask_last_word("We agree with this view entirely") == ("We agree with this view", "entirely", "")
    assert mask_last_word('He said that it was "over".') is None  # opening quote: not a plain word
    assert mask_last_word("The session is adjourned.") is None  # 3 words of context: too short
    assert mask_last_word("The session is adjourned.", min_context_words=3) is not None
    assert mask_last_word("This was decided in the year 1999.") is None
    assert mask_last_word("Nous parlons de l'avenir de l'Europe.") is None
    lines = [
        "Too short.",
        "The Commission has taken note of these remarks.",
        "",
        "Le Parlement a adopté la résolution hier.",
    ]
    items, skipped = items_from_lines(
        lines, 'europarl', 'en', 'test', min_context_words=5, path='data/europarl/en_test.txt'
    )
    assert skipped == {'fewer than 5 words before the last word': 1, 'an empty line': 1}
    assert [(i.id, i.answer) for i in items] == [
        ("europarl/test/en/1", "remarks"),
        ("europarl/test/en/3", "hier"),
    ]
    # each item names the line of the file it comes from (counted from 1, as editors do)
    assert [(i.file, i.line) for i in items] == [
        ('data/europarl/en_test.txt', 2),
        ('data/europarl/en_test.txt', 4),
    ]
    assert items_from_lines(["The year was 1999 when it was decided in the end, 1999."], 'e', 'en')[1] == {
        'a last word not of letters only': 1
    }
    assert items_from_lines(lines, 'europarl', 'en', max_items=1)[0][0].answer == "remarks"


def test_items_come_from_any_language_that_puts_spaces_between_words():
    assert mask_last_word("Der alte Bauer kauft heute den Käse.") == (
        "Der alte Bauer kauft heute den",
        "Käse",
        ".",
    )
    assert mask_last_word("Η Επιτροπή εξέτασε σήμερα την πρόταση.")[1] == "πρόταση"
    assert mask_last_word("Комисията разгледа днес много внимателно предложението .")[1] == "предложението"
    assert is_hit("KÄSE", "Käse") and is_hit("Ka\u0308se", "Käse")  # case and Unicode forms
    # a language without spaces between words gives no item: the line is one 'word'
    items, skipped = items_from_lines(["委员会今天审议了这项提案。"] * 3, 'un', 'zh', 'test')
    assert items == [] and skipped == {'no space before the last word': 3}


def test_whole_word_match_never_a_substring():
    assert is_hit("adjourned", "adjourned")
    assert is_hit(" Adjourned", "adjourned")  # case-insensitive by default
    assert not is_hit("Adjourned", "adjourned", case_sensitive=True)
    assert not is_hit("adjourn", "adjourned") and not is_hit("adjourned", "adjourn")
    assert not is_hit("adjourned.", "adjourned")
    assert is_hit("e\u0301te\u0301", "été")  # the same word in another Unicode normal form


def write_lines(path, lines):
    path.write_text(''.join(line + '\n' for line in lines), encoding='utf-8')
    return str(path)


def test_original_format_files_are_read_and_errors_name_the_line(tmp_path):
    items, _ = items_from_lines(
        ["The Commission has taken note of these remarks.", "Le Parlement a adopté la résolution hier ."],
        'europarl',
        'en',
        min_context_words=3,
    )
    lines = [json.dumps(original_format(item, 9), ensure_ascii=False) for item in items]
    assert json.loads(lines[1])['cloze_passage'] == "Le Parlement a adopté la résolution <mask> ."
    path = write_lines(tmp_path / 'good.jsonl', [lines[0], '', lines[1]])
    read = read_cloze_file(path)
    assert [(i.dataset, i.context, i.answer, i.suffix) for i in read] == [
        ('good', "The Commission has taken note of these", "remarks", "."),
        ('good', "Le Parlement a adopté la résolution", "hier", " ."),
    ]
    assert read[0].extra['length_of_sentences'] == 9

    good = json.loads(lines[0])
    bad_lines = {
        'not valid JSON': '{"id": 1, "answer": ',
        "missing key(s) answer": json.dumps({k: v for k, v in good.items() if k != 'answer'}),
        "holds it 0 times": json.dumps({**good, 'cloze_passage': "No mask here."}),
        "must be a string": json.dumps({**good, 'answer': 3}),
        "expected a JSON object": '[1, 2]',
    }
    for message, bad in bad_lines.items():
        path = write_lines(tmp_path / 'bad.jsonl', [lines[0], lines[1], bad])
        with pytest.raises(UserError, match=rf"bad\.jsonl, line 3: .*{re.escape(message)}"):
            read_cloze_file(path)
    # items whose answer can never be a hit are malformed too
    bad_lines["is not one word"] = json.dumps({**good, 'answer': 'these remarks'})
    bad_lines["is not in 'original_passage'"] = json.dumps({**good, 'answer': 'comments'})
    # skipped instead of refused when the caller collects them: one bad item does not stop a benchmark
    path = write_lines(tmp_path / 'mixed.jsonl', [lines[0], *bad_lines.values(), lines[1]])
    skipped = []
    assert [i.answer for i in read_cloze_file(path, skipped=skipped)] == ['remarks', 'hier']
    assert [s['line'] for s in skipped] == list(range(2, 2 + len(bad_lines)))
    for message, problem in zip(bad_lines, skipped):
        assert message in problem['reason'] and problem['file'] == path
    assert [s['kind'] for s in skipped] == ['not valid JSON'] + ['not an item of the original format'] * 4 + [
        'an answer that can never be a hit'
    ] * 2
    assert [(i.file, i.line) for i in read_cloze_file(path, skipped=[])] == [
        (path, 1),
        (path, 2 + len(bad_lines)),
    ]
    assert skipped[1]['id'] == str(good['id']) and skipped[0]['id'] is None


def test_token_classes_say_where_words_begin_and_end():
    pieces = [b' the', b'ed', b'.', b' ?', b'\n', b' ', b'\xc3', b"'s", b' 19', b' \xc2\xa0x', b'']
    classes = token_classes(pieces, eot_token=10, padded_vocab_size=12)
    assert classes.first.tolist() == [
        True,
        False,
        False,
        False,
        False,
        False,
        False,
        False,
        True,
        False,
        False,
        False,
    ]
    assert classes.continuation.tolist() == [
        False,
        True,
        False,
        False,
        False,
        False,
        True,
        True,
        False,
        False,
        False,
        False,
    ]
    assert classes.boundary.tolist() == [
        True,
        False,
        True,
        True,
        True,
        True,
        False,
        False,
        True,
        True,
        True,
        False,
    ]


class BigramLM(torch.nn.Module):
    """Next-token probabilities that depend on the last token only, from a table; with the
    cache interface of the real models (the cache holds nothing a bigram model needs)."""

    def __init__(self, table, vocab_size):
        super().__init__()
        probs = torch.zeros(vocab_size, vocab_size)
        for current, following in table.items():
            for token, p in following.items():
                probs[current, token] = p
        self.logits = probs.log()

    def forward(self, idx, targets=None, all_logits=False):
        logits = self.logits[idx]
        return (logits if all_logits else logits[:, [-1]]), None

    def new_cache(self):
        return KVCache(n_layer=0, capacity=64)  # a bigram model keeps nothing but the length

    def forward_cached(self, idx, cache):
        cache.advance(idx.size(1))
        return self.logits[idx]


@pytest.mark.parametrize('use_cache', [True, False])
def test_words_are_scored_as_wholes_until_a_boundary(use_cache):
    pieces = [b' The', b' session', b' is', b' adjourn', b'ed', b'.', b' closed', b'']
    The, session, is_, adjourn, ed, period, closed, eot = range(8)
    model = BigramLM(
        {
            is_: {adjourn: 0.6, closed: 0.4},
            adjourn: {ed: 0.7, period: 0.3},
            ed: {period: 1.0},
            closed: {period: 1.0},
            period: {eot: 1.0},
        },
        8,
    )
    classes = token_classes(pieces, eot_token=eot)
    [words] = predict_words(
        model, [[eot, The, session, is_]], classes, beam_width=4, k=5, use_cache=use_cache
    )
    assert [w for w, _ in words] == ['adjourned', 'closed', 'adjourn']
    assert [math.exp(s) for _, s in words] == pytest.approx([0.6 * 0.7, 0.4, 0.6 * 0.3])
    # ' adjourn' is the likeliest first token, yet the likeliest word is 'adjourned'
    [[(best, _)]] = predict_words(model, [[eot, The, session, is_]], classes, k=1, use_cache=use_cache)
    assert best == 'adjourned'


@pytest.fixture(scope='module')
def tiny_tokenizer(tmp_path_factory):
    data_root = tiny_data_root(tmp_path_factory)
    with open(os.path.join(data_root, DATASET, 'meta.json')) as f:
        meta = json.load(f)
    return load_tokenizer(meta['tokenizer'], data_root), data_root


@pytest.mark.parametrize('model_name', ['gpt2', 'backpack-lm'])
def test_cached_search_finds_what_the_recomputing_one_finds(tiny_tokenizer, model_name):
    tok, data_root = tiny_tokenizer
    torch.manual_seed(0)
    extra = {'n_sense_vector': 4} if model_name == 'backpack-lm' else {}
    model = build_model(
        model_name, n_layer=2, n_head=2, n_embd=32, block_size=32, vocab_size=tok.n_vocab, **extra
    ).eval()
    with torch.no_grad():
        model.lm_head.weight.mul_(8)  # spread the logits: no near-ties between candidates
    lines = read_heldout_lines(data_root, DATASET, 'en', 'test')
    items, _ = items_from_lines(lines, DATASET, 'en', max_items=12)
    contexts = [context_ids(tok, item, 32 - 6) for item in items]
    assert len({len(c) for c in contexts}) > 1  # several batches of different lengths
    classes = tokenizer_classes(tok, model.config.padded_vocab_size)
    with torch_threads(1):  # k=8: the search goes on for several tokens
        cached, recomputed = (
            predict_items(
                model,
                contexts,
                classes,
                beam_width=4,
                k=8,
                max_word_tokens=6,
                batch_size=3,
                use_cache=use_cache,
            )
            for use_cache in (True, False)
        )
    assert sum(len(tok.encode(' ' + w)) > 2 for words in cached for w, _ in words) > 10
    for a, b in zip(cached, recomputed):
        assert [w for w, _ in a] == [w for w, _ in b]
        assert [s for _, s in a] == pytest.approx([s for _, s in b], abs=1e-4)


SENTENCES = [
    "The committee supports the proposal without delay.",
    "Our group rejects the budget with great interest.",
    "The minister welcomes the agreement in principle.",
    "This report examines the directive this week.",
    "Le conseil approuve la résolution encore.",
    "Notre groupe rejette le budget sans délai.",
    "La commission discute l'amendement en principe.",
    "Le président accueille la directive cette semaine.",
]


def memorised_model(tok, steps):
    """A tiny Backpack trained for `steps` Adam steps on SENTENCES (0: untrained)."""
    torch.manual_seed(0)
    model = build_model(
        'backpack-lm', n_layer=2, n_head=2, n_embd=64, n_sense_vector=4, block_size=32, vocab_size=tok.n_vocab
    )
    sequences = [[tok.eot_token] + tok.encode(s) + [tok.eot_token] for s in SENTENCES]
    T = max(len(s) for s in sequences) - 1
    idx = torch.full((len(sequences), T), tok.eot_token)
    targets = torch.full((len(sequences), T), -1)
    for row, s in enumerate(sequences):
        idx[row, : len(s) - 1] = torch.tensor(s[:-1])
        targets[row, : len(s) - 1] = torch.tensor(s[1:])
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(steps):
        _, loss = model(idx, targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model.eval()


def cloze_hits(model, tok, k=3):
    items = [
        item
        for lang in ('en', 'fr')
        for item in items_from_lines(
            [s for s in SENTENCES if (s.startswith(('The', 'Our', 'This')) == (lang == 'en'))],
            'memorised',
            lang,
            min_context_words=3,
        )[0]
    ]
    assert len(items) == len(SENTENCES)
    classes = tokenizer_classes(tok, model.config.padded_vocab_size)
    predictions = predict_items(
        model,
        [context_ids(tok, item, 32 - 8) for item in items],
        classes,
        beam_width=5,
        k=k,
        max_word_tokens=8,
    )
    top1 = sum(is_hit(words[0][0], item.answer) for item, words in zip(items, predictions))
    topk = sum(any(is_hit(w, item.answer) for w, _ in words) for item, words in zip(items, predictions))
    return top1, topk


def test_a_model_that_memorised_its_sentences_gets_every_word(tiny_tokenizer):
    tok, _ = tiny_tokenizer
    with torch_threads(1):
        trained, untrained = memorised_model(tok, steps=250), memorised_model(tok, steps=0)
        assert cloze_hits(trained, tok) == (len(SENTENCES), len(SENTENCES))
        top1, topk = cloze_hits(untrained, tok)
    assert top1 <= 1 and topk <= 2


def test_script_compares_checkpoints_and_reads_original_files(tmp_path_factory, tmp_path):
    tok, data_root = tiny_tokenizer.__wrapped__(tmp_path_factory)
    gpt, backpack = tiny_checkpoint(tmp_path_factory, 'gpt2'), tiny_checkpoint(tmp_path_factory)
    compare = tmp_path / 'compare'
    out = run_script(
        'cloze_test.py',
        f'--out_dirs={gpt},{backpack}',
        '--max_items=6',
        f'--report_dir={compare}',
        '--device=cpu',
        '--beam_width=4',
        '--k=3',
    ).stdout
    assert 'top-3' in out and str(compare / 'cloze.md') in out
    for ext in ('md', 'csv', 'json', 'png'):
        assert (compare / f'cloze.{ext}').stat().st_size > 0
    results = json.loads((compare / 'cloze.json').read_text())
    assert set(results) == {gpt, backpack}
    for ckpt in (gpt, backpack):
        for lang in ('en', 'fr'):
            m = results[ckpt][DATASET][lang]
            assert m['items'] == 6 and m['k'] == 3 and m['beam_width'] == 4
            assert 0 <= m['top1_hits'] <= m['topk_hits'] <= 6
            for metric in ('top1_accuracy', 'topk_accuracy'):  # one naming of intervals
                low, high = m[f'{metric}_ci95']
                assert low <= m[metric] <= high
            assert not [key for key in m if 'ci' in key and not key.endswith('_ci95')]
        predictions_file = compare / f"cloze_predictions_{ckpt.strip('/').replace('/', '_')}.jsonl"
        records = [json.loads(line) for line in predictions_file.read_text().splitlines()]
        assert len(records) == 12 and all(len(r['predictions']) <= 3 for r in records)
        assert set(records[0]) >= {'id', 'context', 'answer', 'predictions', 'top1_hit', 'topk_hit'}

    # items from a file in the original format, on one checkpoint (this run and those below in
    # the test's process: tests/in_process.py)
    lines = read_heldout_lines(data_root, DATASET, 'fr', 'test')
    items, _ = items_from_lines(lines, DATASET, 'fr', max_items=5)
    path = write_lines(
        tmp_path / 'cloze_fr.jsonl',
        [
            json.dumps(original_format(item, len(tok.encode(item.passage))), ensure_ascii=False)
            for item in items
        ],
    )
    single = tmp_path / 'single'
    run_in_process(
        'cloze_test.py',
        f'--out_dir={backpack}',
        f'--cloze_files={path}',
        f'--report_dir={single}',
        '--device=cpu',
        '--beam_width=4',
        '--k=3',
    )
    results = json.loads((single / 'cloze.json').read_text())
    assert list(results) == ['cloze_fr'] and results['cloze_fr']['fr']['items'] == 5
    records = [json.loads(line) for line in (single / 'cloze_predictions.jsonl').read_text().splitlines()]
    assert [r['id'] for r in records] == [item.id for item in items]

    # a malformed item and one in a language the model lacks are skipped, counted and listed;
    # --strict=True refuses the file
    german = {**original_format(items[1], 5), 'language': 'de', 'id': 'german'}
    bad = write_lines(
        tmp_path / 'bad.jsonl', [json.dumps(original_format(items[0], 5)), '{"id": 2,', json.dumps(german)]
    )
    result = run_in_process(
        'cloze_test.py',
        f'--out_dir={backpack}',
        f'--cloze_files={bad}',
        f'--report_dir={tmp_path / "skipping"}',
        '--device=cpu',
        '--beam_width=2',
    )
    assert (
        f"skipped {bad}, line 2: not valid JSON" in result.stdout
        and "(id german): language 'de'" in result.stdout
    )
    # k=5 (the default) from a beam 2 wide: said before any work and above the table
    note = "--k=5 is above --beam_width=2: the search keeps 2 candidates per token step"
    assert f"note: {note}" in result.stdout
    assert note in (tmp_path / 'skipping' / 'cloze.md').read_text()
    results = json.loads((tmp_path / 'skipping' / 'cloze.json').read_text())
    assert results['bad']['fr']['items'] == 1
    assert [(p['file'], p['line'], p['id'], p['kind']) for p in results['skipped_items']] == [
        (bad, 2, None, 'not valid JSON'),
        (bad, 3, 'german', 'a language the model lacks'),
    ]
    assert f"skipped {bad}, line 3 (id german)" in result.stdout and 'line None' not in result.stdout
    result = run_in_process(
        'cloze_test.py',
        f'--out_dir={backpack}',
        f'--cloze_files={bad}',
        '--device=cpu',
        '--strict=True',
        check=False,
    )
    assert result.returncode != 0 and f"{bad}, line 2" in result.stderr
    assert 'Traceback' not in result.stderr

    # every item skipped: the last line counts the reasons that were recorded, nothing else, and
    # no empty predictions file replaces an earlier run's
    only_bad = write_lines(tmp_path / 'only_bad.jsonl', ['{"id": 2,', json.dumps(german)])
    (tmp_path / 'none').mkdir()
    (tmp_path / 'none' / 'cloze_predictions.jsonl').write_text('an earlier run\n')
    result = run_in_process(
        'cloze_test.py',
        f'--out_dir={backpack}',
        f'--cloze_files={only_bad}',
        f'--report_dir={tmp_path / "none"}',
        '--device=cpu',
        check=False,
    )
    assert result.returncode == 1 and 'Traceback' not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        "no cloze item was scored; skipped, and why: not valid JSON (1), a language the model lacks (1) "
        "(the skipped items are listed above)"
    )
    assert (tmp_path / 'none' / 'cloze_predictions.jsonl').read_text() == 'an earlier run\n'
    # held-out lines: their reasons, counted over every language
    result = run_in_process(
        'cloze_test.py',
        f'--out_dir={backpack}',
        '--min_context_words=50',
        f'--report_dir={tmp_path / "none"}',
        '--device=cpu',
        check=False,
    )
    assert result.returncode == 1
    reasons = sum(
        (
            items_from_lines(
                read_heldout_lines(data_root, DATASET, lang, 'test'), DATASET, lang, min_context_words=50
            )[1]
            for lang in ('en', 'fr')
        ),
        Counter(),
    )
    assert set(reasons) == {'fewer than 50 words before the last word', 'a last word not of letters only'}
    assert result.stderr.strip().splitlines()[-1] == (
        f"no cloze item was scored; skipped, and why: {skip_summary(reasons)}; lower --min_context_words"
    )


def test_a_cloze_file_is_reported_under_its_name_once(tmp_path):
    for folder in ('a', 'b'):
        (tmp_path / folder).mkdir()
    check_cloze_file_names([str(tmp_path / 'a' / 'cloze_en.jsonl'), str(tmp_path / 'b' / 'cloze_fr.jsonl')])
    for twice in (
        ['a/cloze_en.jsonl', 'b/cloze_en.jsonl'],
        ['a/cloze_en.jsonl', './a/cloze_en.jsonl'],
        ['a/cloze_en.jsonl', 'a/cloze_en.jsonl'],
    ):
        with pytest.raises(UserError, match=r"would both be reported as 'cloze_en'"):
            check_cloze_file_names(twice)
