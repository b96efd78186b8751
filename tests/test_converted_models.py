"""Every tool on converted checkpoints of both kinds (tests/converted_models.py): a model with more
rows than its tokenizer has ids ('more_rows', as the original project's 50,304 rows for 10,001
tokens) and a tokenizer with an id the model has no row for ('more_tokens', its 10,000-row
models). Rows of no token are never shown, ranked or sampled; text that needs a token without a
row is skipped and counted, or refused, naming the token; never a traceback."""

import json
import math
import os
import stat

import pytest
import torch
from converted_models import (
    EXTRA_ROWS,
    KINDS,
    MISSING_WORD,
    convert,
    converted_models,
    original_project_checkpoint,
)
from in_process import run_in_process
from tiny_text_corpus import torch_threads

from common.checkpoint import load_model
from common.errors import UserError
from common.sampling import predictable_tokens, sample_texts
from common.tokenizer import HFTokenizer, Tokenizer, token_rows
from evaluation.checkpoints import checkpoint_tokenizer
from evaluation.cloze import NO_ROW, ClozeItem, context_ids, items_with_rows
from senses import explorer, explorer_page
from senses.vectors import locate_occurrences, word_sense_vectors

MISSING = f"' {MISSING_WORD}', which the model has no row for"  # how the tools name it


@pytest.fixture(scope='module')
def models(tmp_path_factory):
    return converted_models(tmp_path_factory)


@pytest.fixture(autouse=True)
def one_thread():
    with torch_threads(1):
        yield


def loaded(models, kind, model_name='backpack-lm'):
    model, checkpoint = load_model(models[kind, model_name])
    return model, checkpoint_tokenizer(checkpoint, models['data_root'], model)


def test_the_two_kinds_are_what_they_say(models):
    for kind in KINDS:
        model, tok = loaded(models, kind)
        rows = model.config.vocab_size
        assert rows == (tok.n_vocab + EXTRA_ROWS if kind == 'more_rows' else tok.n_vocab - 1)
        assert tok.eot_token == 0 and tok.encode(' ' + MISSING_WORD) == [tok.n_vocab - 1]
        assert token_rows(tok, rows).sum() == min(rows, tok.n_vocab)


def test_the_tokenizers_share_one_interface(models):
    from common.tokenizer import load_tokenizer

    ours = load_tokenizer('sensefix', models['data_root'])
    theirs = HFTokenizer(models['tokenizer'])
    for tok in (ours, theirs):
        # the library object that encodes (once the public `encoding`) is each class's own now
        assert isinstance(tok, Tokenizer)
        for attribute in ('name', 'sha256', 'path', 'n_vocab', 'eot_token'):
            assert getattr(tok, attribute) is not None, (type(tok).__name__, attribute)
        assert tok.token_mask().shape == (tok.n_vocab,) and tok.token_mask().all()
        assert tok.decode(tok.encode('the bank of the river')) == 'the bank of the river'


# --- the scripts, one run each per kind, in the test's process (tests/in_process.py) ------


@pytest.mark.parametrize('kind', KINDS)
def test_perplexity_and_cloze(models, kind, tmp_path):
    out_dirs = f"--out_dirs={models[kind, 'backpack-lm']},{models[kind, 'gpt2']}"
    data = [f"--data_root={models['data_root']}", f"--list_of_datasets={models['dataset']}", '--device=cpu']
    perplexity = run_in_process(
        'perplexity_per_lang.py',
        out_dirs,
        *data,
        '--max_lines=40',
        '--bootstrap_resamples=10',
        f'--report_dir={tmp_path}',
    )
    results = json.loads((tmp_path / 'perplexity.json').read_text())
    scored = results[models[kind, 'backpack-lm']][models['dataset']]
    assert all(math.isfinite(scored[lang]['bits_per_byte']) for lang in ('en', 'fr'))
    skipped = 'lines skipped: they hold tokens one of the models has no row for'
    assert (skipped in perplexity.stdout) == (kind == 'more_tokens')  # the lines with ' budget'
    cloze = run_in_process(
        'cloze_test.py',
        out_dirs,
        *data,
        '--max_items=10',
        '--beam_width=2',
        '--max_word_tokens=3',
        f'--report_dir={tmp_path}',
    )
    accuracy = json.loads((tmp_path / 'cloze.json').read_text())
    assert accuracy[models[kind, 'backpack-lm']][models['dataset']]['en']['items'] > 0, cloze.stdout


@pytest.mark.parametrize('kind', KINDS)
def test_sense_visualisation_runs_every_analysis(models, kind, tmp_path):
    (tmp_path / 'sim.csv').write_text(
        'word1,word2,score,language1,language2\nbank,banque,5,en,fr\n'
        'bank,rive,2,en,fr\nvol,theft,4,fr,en\nflight,vol,5,en,fr\n'
        f'{MISSING_WORD},bank,3,en,en\n'
    )
    (tmp_path / 'pairs.tsv').write_text(
        'bank\tbanque\nriver\trive\ncouncil\tconseil\n'
        f'minister\tministre\nflight\tvol\n{MISSING_WORD}\tbanque\n'
    )
    result = run_in_process(
        'sense_visualisation.py',
        f"--out_dir={models[kind, 'backpack-lm']}",
        f"--baseline_out_dir={models[kind, 'gpt2']}",
        f"--data_root={models['data_root']}",
        f"--heldout_dataset={models['dataset']}",
        f'--report_dir={tmp_path / "report"}',
        f'--similarity_csv={tmp_path / "sim.csv"}',
        '--skip_split_words=False',
        f'--translation_pairs={tmp_path / "pairs.tsv"}',
        f'--words=bank,vol,{MISSING_WORD}',
        '--n_permutations=50',
        '--n_bootstrap=50',
        '--device=cpu',
    )
    report = json.loads((tmp_path / 'report' / 'senses.json').read_text())
    assert set(report['analyses']) == {
        'projection',
        'alignment',
        'usage',
        'probe',
        'similarity',
        'intervention',
    }, report['skipped']
    n_tokens = models['n_tokens']
    shown = [
        i
        for word in report['analyses']['projection']['words']
        for s in word['senses']
        for i in s['token_ids']
    ]
    assert shown and max(shown) < n_tokens  # no row past the tokenizer is shown as a token
    words = [w['word'] for w in report['analyses']['projection']['words']]
    if kind == 'more_tokens':
        assert MISSING_WORD not in words
        for said in (
            '1 word(s) skipped: budget: they hold token id(s)',
            'en-fr: pairs left out',
            'pairs counted as missing',
            'aligned sentences skipped',
        ):
            assert said in result.stdout, said
        assert result.stdout.count(MISSING) >= 4
    else:
        assert MISSING_WORD in words and 'no row' not in result.stdout


def test_cloze_items_that_need_a_token_without_a_row_are_skipped_saying_why(models):
    """An answer the model has no row for was scored as a miss it could never avoid (seen with
    'principle' on a 390-row model); the context was the only part checked."""
    sentence = 'the council voted for the'
    items = [
        ClozeItem('readable', 'd', 'en', sentence, 'bank'),
        ClozeItem('answer', 'd', 'en', sentence, MISSING_WORD),
        ClozeItem('context', 'd', 'en', f'{sentence} {MISSING_WORD} of the', 'bank'),
    ]
    model, tok = loaded(models, 'more_tokens')
    contexts = [context_ids(tok, item, 20) for item in items]
    kept, kept_contexts, skipped = items_with_rows(tok, items, contexts, model.config.vocab_size)
    assert [item.id for item in kept] == ['readable'] and kept_contexts == contexts[:1]
    assert [(p['id'], p['kind']) for p in skipped] == [('answer', NO_ROW), ('context', NO_ROW)]
    assert f"its answer '{MISSING_WORD}' is written with token id(s)" in skipped[0]['reason']
    assert MISSING in skipped[0]['reason'] and 'its context holds tokens' in skipped[1]['reason']
    model, tok = loaded(models, 'more_rows')  # every token has a row: nothing is skipped
    contexts = [context_ids(tok, item, 20) for item in items]
    assert items_with_rows(tok, items, contexts, model.config.vocab_size)[2] == []


@pytest.mark.parametrize('kind', KINDS)
def test_sample(models, kind):
    args = [
        f"--out_dir={models[kind, 'backpack-lm']}",  # a converted model needs no data root
        '--num_samples=2',
        '--max_new_tokens=30',
        '--temperature=2',
        '--top_k=0',
        '--device=cpu',
    ]
    result = run_in_process(
        'sample.py', *args, f'--start=the council voted for the {MISSING_WORD}', check=False
    )
    if kind == 'more_tokens':
        assert result.returncode == 1 and 'Traceback' not in result.stderr
        assert f"--start holds token id(s) {models['n_tokens'] - 1} {MISSING}" in result.stderr
    else:
        assert result.returncode == 0, result.stderr
        assert result.stdout.count('the council voted for the budget') == 2


def test_sampling_never_draws_a_row_of_no_token(models):
    """The rows past the tokenizer made the likeliest by far: still never drawn."""
    model, tok = loaded(models, 'more_rows')
    with torch.no_grad():
        model.lm_head.weight[tok.n_vocab :] *= 50
    model._sense_table = None
    allowed = predictable_tokens(model, tok)
    assert allowed.sum() == tok.n_vocab and not allowed[tok.n_vocab :].any()
    x = torch.tensor([[tok.eot_token]])
    unmasked = model.generate(x, 20, temperature=1.0, generator=torch.Generator().manual_seed(0))
    assert (unmasked[0, 1:] >= tok.n_vocab).any()  # without the mask they would be drawn
    drawn = model.generate(
        x, 20, temperature=1.0, generator=torch.Generator().manual_seed(0), allowed=allowed
    )
    assert (drawn[0, 1:] < tok.n_vocab).all()
    text = next(sample_texts(model, tok, 'the bank', 1, 20, temperature=1.0, top_k=None))
    assert text.startswith('the bank') and len(text) > len('the bank')


# --- the explorer's views, in-process ------------------------------------------------------


@pytest.mark.parametrize('kind', KINDS)
def test_explorer_views(models, kind):
    model, tok = loaded(models, kind)
    n_tokens, rows = tok.n_vocab, model.config.vocab_size
    assert f"{rows:,} rows for the {n_tokens:,} ids of its tokenizer" in explorer.describe_model(
        model, None, tok
    )
    view = explorer.word_senses_view(model, tok, 'bank', top_k=30)
    for sense in view.senses:
        assert max(t.token_id for t in sense.highest + sense.lowest) < min(n_tokens, rows)
    context = explorer.in_context_view(model, tok, 'the council took money from the', top_n=50)
    assert max(p.token_id for p in context.predictions) < n_tokens
    assert abs(context.contribution_sum - context.logit) < 1e-3
    steered = explorer.steer_view(model, tok, 'the bank', 'bank', '0', '0', max_new_tokens=10)
    assert steered.baseline.startswith('the bank')
    if kind == 'more_rows':
        with pytest.raises(UserError, match=f'Token id {n_tokens} is a row of the model that no token'):
            explorer.in_context_view(model, tok, 'the bank', next_token=f'#{n_tokens}')
        assert explorer.word_senses_view(model, tok, MISSING_WORD).token_ids == [n_tokens - 1]
        return
    # more_tokens: what needs ' budget' is refused, naming it, on every view
    sentence = f'the council voted for the {MISSING_WORD}'
    for view, args in (
        (explorer.word_senses_view, (MISSING_WORD,)),
        (explorer.sense_cosine_view, ('bank', MISSING_WORD)),
        (explorer.in_context_view, (sentence,)),
        (explorer.in_context_view, ('the bank', None, MISSING_WORD)),
        (explorer.steer_view, (sentence, 'bank', '0', '0')),
        (explorer.steer_view, ('the bank', MISSING_WORD, '0', '0')),
    ):
        with pytest.raises(UserError, match=MISSING):
            view(model, tok, *args)
    message, _, _ = explorer_page.steer_page(model, tok, sentence, 'bank', '0', '0', 1337)
    assert MISSING in message and 'Internal error' not in message


def test_occurrences_in_lines_without_rows_are_left_out_and_said(models, capsys):
    model, tok = loaded(models, 'more_tokens')
    occurrences = [
        {'line': 'the council took money from the bank .', 'word': 'bank', 'word_index': 6},
        {'line': f'the bank voted for the {MISSING_WORD} .', 'word': 'bank', 'word_index': 1},
    ]
    _, _, located = locate_occurrences(tok, occurrences, model.config.block_size, model.config.vocab_size)
    assert located == [0]
    assert '1 annotated occurrence(s) left out: their lines hold token id(s)' in capsys.readouterr().out
    with pytest.raises(
        UserError, match=f'token id\\(s\\) {tok.n_vocab - 1} have no row'
    ):  # never an IndexError
        word_sense_vectors(model, [tok.encode(' bank'), tok.encode(' ' + MISSING_WORD)])


# --- export ---------------------------------------------------------------------------------


@pytest.mark.parametrize('kind', KINDS)
def test_export_of_a_converted_model(models, kind, tmp_path):
    transformers = pytest.importorskip('transformers')
    hf_dir = tmp_path / 'hf'
    result = convert(models[kind, 'gpt2'], None, f'--hf_dir={hf_dir}')
    assert result.returncode == 0, result.stderr
    assert (f"' {MISSING_WORD}', which the model has no row for" in result.stdout) == (kind == 'more_tokens')
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(os.stat(hf_dir).st_mode) == 0o777 & ~umask
    for name in os.listdir(hf_dir):
        assert stat.S_IMODE(os.stat(hf_dir / name).st_mode) == 0o666 & ~umask, name
    config = json.loads((hf_dir / 'config.json').read_text())
    assert config['bos_token_id'] == config['eos_token_id'] == config['pad_token_id'] == 0
    hf_model = transformers.GPT2LMHeadModel.from_pretrained(hf_dir, attn_implementation='eager').eval()
    n_tokens = models['n_tokens']
    no_token = list(range(n_tokens, n_tokens + EXTRA_ROWS)) if kind == 'more_rows' else None
    assert hf_model.generation_config.suppress_tokens == no_token  # never drawn by generate
    hf_tok = transformers.AutoTokenizer.from_pretrained(hf_dir)
    assert hf_tok.eos_token_id == 0 and hf_tok.decode([0]) == '<|endoftext|>'
    # make end-of-text the only likely next token: generate must stop right there
    with torch.no_grad():
        d = hf_model.config.n_embd
        hf_model.transformer.ln_f.weight.zero_()
        hf_model.transformer.ln_f.bias.copy_(torch.nn.functional.one_hot(torch.tensor(0), d) * 100.0)
        hf_model.transformer.wte.weight[:, 0].clamp_(max=0.5)
        hf_model.transformer.wte.weight[0, 0] = 5.0
    prompt = hf_tok('the bank', return_tensors='pt')
    out = hf_model.generate(**prompt, max_new_tokens=20, do_sample=False)
    assert out[0, -1].item() == 0 and out.size(1) == prompt['input_ids'].size(1) + 1


def test_export_destinations_that_would_lose_files_are_refused_before_any_work(models, tmp_path):
    source = models['more_rows', 'gpt2']
    (tmp_path / 'a_file').write_text('mine')
    result = convert(source, None, f'--hf_dir={tmp_path / "a_file"}')
    assert result.returncode == 1 and 'is a file, not a folder' in result.stderr
    assert 'Traceback' not in result.stderr and (tmp_path / 'a_file').read_text() == 'mine'
    (tmp_path / 'full').mkdir()
    (tmp_path / 'full' / 'config.json').write_text('mine')
    result = convert(source, None, f'--hf_dir={tmp_path / "full"}')
    assert result.returncode == 1 and 'exists and is not empty' in result.stderr
    assert os.listdir(tmp_path / 'full') == ['config.json']
    assert (tmp_path / 'full' / 'config.json').read_text() == 'mine'
    assert sorted(os.listdir(tmp_path)) == ['a_file', 'full']  # no temporary folder left


def test_import_destinations_that_would_lose_files_are_refused(models, tmp_path):
    source = tmp_path / 'ckpt.pt'
    torch.save(original_project_checkpoint('gpt2', n_layer=1, rows=models['n_tokens']), source)
    (tmp_path / 'a_file').write_text('mine')
    result = convert(source, tmp_path / 'a_file', f"--tokenizer={models['tokenizer']}")
    assert result.returncode == 1 and 'is a file, not a folder' in result.stderr
    assert 'Traceback' not in result.stderr and (tmp_path / 'a_file').read_text() == 'mine'
    (tmp_path / 'taken').mkdir()
    (tmp_path / 'taken' / 'tokenizer.json').write_text('{"my": "own tokenizer"}')
    result = convert(source, tmp_path / 'taken', f"--tokenizer={models['tokenizer']}")
    assert result.returncode == 1 and 'is another tokenizer' in result.stderr
    assert os.listdir(tmp_path / 'taken') == ['tokenizer.json']
    assert (tmp_path / 'taken' / 'tokenizer.json').read_text() == '{"my": "own tokenizer"}'
