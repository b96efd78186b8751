"""Perplexity: every token scored exactly once with as much context as the stride allows, the
right numbers for models whose distribution is known, and the same numbers run after run."""

import csv
import json
import math
import os

import numpy as np
import pytest
import torch
import torch.nn as nn
from in_process import run_in_process
from tiny_text_corpus import DATASET, run_script, tiny_checkpoint, tiny_data_root

from common.tokenizer import load_tokenizer
from data.prepared import read_heldout_lines, tokenize_lines
from evaluation.checkpoints import untrained_languages_note
from evaluation.perplexity import line_sums, perplexity_metrics, text_counts, token_nll, window_plan
from model import build_model


class UniformLM(nn.Module):
    """Every next token equally likely: token perplexity = vocab_size exactly."""

    def __init__(self, vocab_size):
        super().__init__()
        self.vocab_size = vocab_size

    def forward(self, idx, targets=None, all_logits=False):
        return torch.zeros(*idx.shape, self.vocab_size), None


class PositionRevealingLM(nn.Module):
    """The logit of token 0 grows with the position in the window, so the NLL of any other
    token tells at which position (with how much context) it was scored."""

    scale = 0.25

    def __init__(self, vocab_size):
        super().__init__()
        self.vocab_size = vocab_size

    def forward(self, idx, targets=None, all_logits=False):
        B, T = idx.shape
        logits = torch.zeros(B, T, self.vocab_size)
        logits[:, :, 0] = self.scale * torch.arange(T, dtype=torch.float32)
        return logits, None

    def context_lengths(self, nll):
        """NLL of a token other than 0 at window position t is log(exp(scale t) + V - 1)."""
        positions = np.log(np.exp(nll) - (self.vocab_size - 1)) / self.scale
        return np.rint(positions).astype(int) + 1


@pytest.mark.parametrize('block_size', [1, 4, 32])
@pytest.mark.parametrize('n_tokens', [1, 5, 31, 32, 33, 100])
def test_window_plan_scores_every_token_once_with_enough_context(n_tokens, block_size):
    for stride in sorted({1, max(1, block_size // 2), max(1, block_size - 1), block_size}):
        times_scored = np.zeros(n_tokens + 1, dtype=int)
        T = min(block_size, n_tokens)
        for start, n_scored in window_plan(n_tokens, block_size, stride):
            assert 0 <= start and start + T <= n_tokens and 1 <= n_scored <= T
            for j in range(start + T - n_scored + 1, start + T + 1):  # targets x[j]
                times_scored[j] += 1
                context = j - start
                assert min(j, block_size - stride + 1) <= context <= block_size
        assert times_scored[0] == 0 and (times_scored[1:] == 1).all(), (stride, times_scored)


@pytest.mark.parametrize('stride,batch_size', [(1, 3), (5, 1), (8, 2), (16, 4)])
def test_each_token_is_scored_with_the_context_the_plan_gives(stride, batch_size):
    V, block_size = 50, 16
    rng = np.random.default_rng(0)
    stream = rng.integers(1, V, size=77)
    model = PositionRevealingLM(V)
    nll = token_nll(
        model, stream, eot_token=V - 1, block_size=block_size, stride=stride, batch_size=batch_size
    )
    expected = np.zeros(len(stream), dtype=int)
    T = min(block_size, len(stream))
    for start, n_scored in window_plan(len(stream), block_size, stride):
        for j in range(start + T - n_scored + 1, start + T + 1):
            expected[j - 1] = j - start
    np.testing.assert_array_equal(model.context_lengths(nll), expected)
    first = np.arange(1, len(stream) + 1)
    assert (expected >= np.minimum(first, block_size - stride + 1)).all()


def test_first_token_is_predicted_after_an_end_of_text_token():
    seen = []

    class Recorder(UniformLM):
        def forward(self, idx, targets=None, all_logits=False):
            seen.append(idx.clone())
            return super().forward(idx)

    token_nll(Recorder(10), [3, 4, 5], eot_token=9, block_size=8, stride=4)
    assert seen[0].tolist() == [[9, 3, 4]]


@pytest.fixture(scope='module')
def heldout(tmp_path_factory):
    data_root = tiny_data_root(tmp_path_factory)
    with open(os.path.join(data_root, DATASET, 'meta.json')) as f:
        meta = json.load(f)
    tok = load_tokenizer(meta['tokenizer'], data_root)
    lines = read_heldout_lines(data_root, DATASET, 'fr', 'test')
    return data_root, meta, tok, lines


def test_tokenized_lines_are_the_prepared_stream(heldout):
    data_root, meta, tok, lines = heldout
    ids, line_lengths = tokenize_lines(tok, lines)
    stored = np.fromfile(os.path.join(data_root, DATASET, 'fr_test.bin'), dtype=np.uint16)
    np.testing.assert_array_equal(ids, stored.astype(np.int64))
    assert line_lengths.sum() == len(ids) and (ids[np.cumsum(line_lengths) - 1] == tok.eot_token).all()


@pytest.mark.parametrize('stride', [1, 7, 32])
def test_uniform_model_perplexity_is_the_vocabulary_size(heldout, stride):
    data_root, meta, tok, lines = heldout
    ids, line_lengths = tokenize_lines(tok, lines)
    V = tok.n_vocab
    nll = token_nll(UniformLM(V), ids, tok.eot_token, block_size=32, stride=stride, batch_size=5)
    words, n_bytes = text_counts(lines)
    m = perplexity_metrics(
        line_sums(nll, line_lengths), line_lengths, words, n_bytes, n_resamples=200
    ).as_dict()
    split = meta['splits']['fr']['test']
    assert (m['tokens'], m['words'], m['bytes'], m['lines']) == (
        split['tokens'],
        split['words'],
        split['bytes'],
        split['lines'],
    )
    # log-softmax runs in float32: ln V to about 1e-7
    assert m['token_perplexity'] == pytest.approx(V, rel=1e-6)
    assert m['token_perplexity_ci95'] == pytest.approx([V, V], rel=1e-6)  # every line alike
    total = m['tokens'] * math.log(V)
    assert m['nll_total'] == pytest.approx(total, rel=1e-6)
    assert m['word_perplexity'] == pytest.approx(math.exp(total / m['words']), rel=1e-5)
    assert m['bits_per_byte'] == pytest.approx(total / math.log(2) / m['bytes'], rel=1e-6)
    low, high = m['bits_per_byte_ci95']
    assert low < m['bits_per_byte'] < high


def test_gpt_with_a_zero_output_layer_is_uniform_over_the_real_vocabulary():
    V = 100  # padded to 128 rows: the padding ids must get no probability
    model = build_model('gpt2', n_layer=1, n_head=2, n_embd=16, block_size=8, vocab_size=V).eval()
    with torch.no_grad():
        model.lm_head.weight.zero_()  # tied: the token embedding is zero too; the output is not
    stream = np.random.default_rng(1).integers(0, V, size=40)
    nll = token_nll(model, stream, eot_token=V - 1, block_size=8, stride=3, batch_size=4)
    np.testing.assert_allclose(nll, math.log(V), rtol=1e-6)


def test_scripts_report_deterministic_per_language_numbers(tmp_path_factory, tmp_path):
    data_root = tiny_data_root(tmp_path_factory)
    gpt, backpack = tiny_checkpoint(tmp_path_factory, 'gpt2'), tiny_checkpoint(tmp_path_factory)
    compare, single = tmp_path / 'compare', tmp_path / 'single'
    out = run_script(
        'perplexity_per_lang.py',
        f'--out_dirs={gpt},{backpack}',
        f'--report_dir={compare}',
        '--device=cpu',
        '--bootstrap_resamples=200',
    ).stdout
    assert 'bits/byte' in out and str(compare / 'perplexity.md') in out
    for ext in ('md', 'csv', 'json', 'png'):
        assert (compare / f'perplexity.{ext}').stat().st_size > 0
    both = json.loads((compare / 'perplexity.json').read_text())
    assert set(both) == {gpt, backpack}
    with open(os.path.join(data_root, DATASET, 'meta.json')) as f:
        splits = json.load(f)['splits']
    for lang in ('en', 'fr'):
        m = both[backpack][DATASET][lang]
        assert m['tokens'] == splits[lang]['test']['tokens']
        assert m['words'] == splits[lang]['test']['words']
        assert m['bytes'] == splits[lang]['test']['bytes']
        assert m['stride'] == 16 and m['block_size'] == 32 and m['split'] == 'test'
        for metric in ('token_perplexity', 'word_perplexity', 'bits_per_byte'):  # one naming
            low, high = m[f'{metric}_ci95']
            assert low <= m[metric] <= high
        assert not [key for key in m if 'ci' in key and not key.endswith('_ci95')]
        assert both[gpt][DATASET][lang]['model_name'] == 'gpt2'
    with open(compare / 'perplexity.csv', newline='') as f:
        rows = {(r['model'], r['language']): r for r in csv.DictReader(f)}
    assert (
        float(rows[(backpack, 'fr')]['bits_per_byte_ci95_high'])
        == both[backpack][DATASET]['fr']['bits_per_byte_ci95'][1]
    )
    # a second run, on one checkpoint: results keyed by dataset, the same numbers (in the test's
    # process: tests/in_process.py)
    run_in_process(
        'perplexity_per_lang.py',
        f'--out_dir={backpack}',
        f'--report_dir={single}',
        '--device=cpu',
        '--model_name=backpack-lm',
        '--bootstrap_resamples=200',
    )
    alone = json.loads((single / 'perplexity.json').read_text())
    assert alone == both[backpack]


def test_languages_the_model_was_not_trained_on_are_named():
    checkpoint = {'data': {'languages': ['en', 'fr']}}
    assert untrained_languages_note(checkpoint, 'europarl-de-en', ['de', 'en']) == (
        "  note: europarl-de-en: the model was not trained on German (de)"
    )
    assert untrained_languages_note(checkpoint, 'demo', ['en', 'fr']) is None
    assert untrained_languages_note({'data': {}}, 'converted', ['de']) is None  # it does not say


def test_a_checkpoint_named_twice_is_refused_and_a_copy_is_not(tmp_path, monkeypatch):
    from common.errors import UserError
    from evaluation.checkpoints import checkpoint_out_dirs

    monkeypatch.chdir(tmp_path)
    for folder in ('a', 'copy-of-a'):
        os.makedirs(folder)
        (tmp_path / folder / 'ckpt.pt').write_bytes(b'the same weights')
    assert checkpoint_out_dirs('out', ['a', 'copy-of-a']) == ['a', 'copy-of-a']  # results say they match
    for twice in (['a', 'a'], ['a', './a'], ['a', 'a/ckpt.pt'], ['a', str(tmp_path / 'a')]):
        with pytest.raises(
            UserError, match=r"names the checkpoint .*a/ckpt.pt twice .*give each checkpoint once"
        ):
            checkpoint_out_dirs('out', twice)


def test_one_dataset_name_in_two_data_roots_must_hold_the_same_text(tmp_path_factory, tmp_path):
    """Two checkpoints trained on 'tiny' from different folders are compared on the same lines
    only when those folders hold the same held-out text; else refused before any work."""
    import shutil

    from common.errors import UserError
    from evaluation.checkpoints import one_text_per_dataset

    data_root, backpack = tiny_data_root(tmp_path_factory), tiny_checkpoint(tmp_path_factory)
    checkpoint = torch.load(os.path.join(backpack, 'ckpt.pt'), map_location='cpu', weights_only=False)
    other_root = tmp_path / 'data'
    shutil.copytree(data_root, other_root)
    checkpoint['data']['data_root'] = str(other_root)
    os.makedirs(tmp_path / 'other')
    torch.save(checkpoint, tmp_path / 'other' / 'ckpt.pt')
    pair = [backpack, str(tmp_path / 'other')]
    one_text_per_dataset(pair, '', [], 'test')  # a copy of the same text
    with open(other_root / DATASET / 'fr_test.txt', 'a', encoding='utf-8') as f:
        f.write("Une ligne de plus.\n")
    with pytest.raises(
        UserError,
        match=rf"name the dataset {DATASET}, but in data roots whose test text "
        r"differs .*Pass --data_root=DIR",
    ):
        one_text_per_dataset(pair, '', [], 'test')
    one_text_per_dataset(pair, '', [], 'val')  # that split is still the same
    one_text_per_dataset(pair, data_root, [], 'test')  # --data_root: both read one folder


def test_when_nothing_is_scored_the_reasons_are_counted(tmp_path_factory, tmp_path):
    import shutil

    data_root, backpack = tiny_data_root(tmp_path_factory), tiny_checkpoint(tmp_path_factory)
    emptied = tmp_path / 'data'
    shutil.copytree(data_root, emptied)
    for lang in ('en', 'fr'):
        (emptied / DATASET / f'{lang}_test.txt').write_text('')
    result = run_in_process(
        'perplexity_per_lang.py',
        f'--out_dir={backpack}',
        f'--data_root={emptied}',
        f'--report_dir={tmp_path / "report"}',
        '--device=cpu',
        check=False,
    )
    assert result.returncode == 1 and 'Traceback' not in result.stderr
    assert (
        result.stderr.strip().splitlines()[-1]
        == "nothing was scored; skipped, and why: an empty test file (2)"
    )
    assert not (tmp_path / 'report').exists()  # a run that ends without a report leaves no folder


@pytest.mark.parametrize('script', ['perplexity_per_lang.py', 'cloze_test.py'])
def test_a_dataset_named_twice_is_refused_before_any_work(script, tmp_path):
    result = run_in_process(
        script, f'--out_dir={tmp_path}', '--list_of_datasets=europarl,europarl', check=False
    )
    assert result.returncode == 1 and 'Traceback' not in result.stderr
    assert (
        "--list_of_datasets=['europarl', 'europarl']: must be a list naming each item once" in result.stderr
    )
