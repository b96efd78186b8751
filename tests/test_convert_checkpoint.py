"""Models from elsewhere: converted logits equal the references' (transformers' GPT2LMHeadModel,
the published Backpack-GPT2 code as shipped by pyvene, and a direct computation of the original
project's documented formulas), over the whole output vocabulary, float32, relative max error
< 1e-5; and exported models read back by the reference code give our logits."""

import importlib.util
import json
import math
import os
import subprocess

import pytest
import torch
from converted_models import convert, original_project_checkpoint, write_byte_tokenizer

from common.checkpoint import load_model
from common.errors import UserError
from common.model_conversion import read_source
from model import build_model

transformers = pytest.importorskip('transformers')
from safetensors.torch import load_file, save_file  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
V = 83  # not a multiple of 64: our padding rows must not show


def reference_backpack_module():
    """pyvene's copy of the published modeling file, loaded by path (pyvene's own package
    imports many heavy dependencies)."""
    spec = importlib.util.find_spec('pyvene')
    if spec is None:
        pytest.skip('pyvene is not installed (bash bkp_install/python_env.sh --test)')
    path = os.path.join(
        spec.submodule_search_locations[0], 'models', 'backpack_gpt2', 'modelings_backpack_gpt2.py'
    )
    module_spec = importlib.util.spec_from_file_location('reference_backpack_gpt2', path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module


@torch.no_grad()
def perturb(model, seed=0):
    """Every weight far from its initialisation, so that every parameter matters."""
    generator = torch.Generator().manual_seed(seed)
    for name, p in model.named_parameters():
        noise = torch.randn(p.shape, generator=generator)
        if p.dim() == 1 and ('ln' in name or 'norm' in name) and name.endswith('weight'):
            p.copy_(1 + 0.3 * noise)
        else:
            p.copy_(0.3 * noise)
    return model


def relative_error(ours, reference):
    return ((ours - reference).abs().max() / reference.abs().max()).item()


def assert_same_logits(ours, reference):
    assert ours.shape == reference.shape
    assert reference.std() > 1.0  # far from uniform
    assert relative_error(ours, reference) < 1e-5


def our_logits(model, idx):
    with torch.no_grad():
        logits, _ = model(idx, all_logits=True)
    return logits[..., : model.config.vocab_size]


def reference_gpt2(**overrides):
    config = transformers.GPT2Config(
        n_embd=32,
        n_layer=3,
        n_head=4,
        n_positions=24,
        vocab_size=V,
        bos_token_id=0,
        eos_token_id=0,
        **overrides,
    )
    return perturb(transformers.GPT2LMHeadModel(config).eval()), config


def reference_backpack(**overrides):
    module = reference_backpack_module()
    config = module.BackpackGPT2Config(
        n_embd=32,
        n_layer=3,
        n_head=4,
        num_senses=4,
        n_positions=24,
        vocab_size=V,
        bos_token_id=0,
        eos_token_id=0,
        **overrides,
    )
    config._attn_implementation = 'eager'  # see backpack.md: SDPA ignored the layer scaling
    return perturb(module.BackpackGPT2LMHeadModel(config).eval()), config, module


def write_hf_folder(folder, model, config, weights_file):
    os.makedirs(folder, exist_ok=True)
    config.to_json_file(os.path.join(folder, 'config.json'))
    state = model.state_dict()
    if weights_file == 'model.safetensors':
        # one name per tensor, as save_pretrained writes it (tied copies dropped)
        seen, unique = set(), {}
        for k, v in state.items():
            if v.data_ptr() not in seen:
                seen.add(v.data_ptr())
                unique[k] = v.clone().contiguous()
        save_file(unique, os.path.join(folder, weights_file))
    else:
        torch.save(state, os.path.join(folder, weights_file))


@pytest.mark.parametrize('weights_file', ['model.safetensors', 'pytorch_model.bin'])
@pytest.mark.parametrize(
    'options',
    [
        dict(activation_function='gelu_new'),
        dict(activation_function='gelu', scale_attn_by_inverse_layer_idx=True),
    ],
)
def test_hf_gpt2_converts_exactly(tmp_path, weights_file, options):
    reference, config = reference_gpt2(**options)
    config._attn_implementation = 'eager'
    write_hf_folder(tmp_path / 'hf', reference, config, weights_file)
    model_name, model_args, state = read_source(str(tmp_path / 'hf'))
    assert model_name == 'gpt2'
    model = build_model(model_name, **model_args).eval()
    model.load_state_dict(state)
    idx = torch.randint(0, V, (2, 24))
    with torch.no_grad():
        expected = reference(idx).logits
    assert_same_logits(our_logits(model, idx), expected)


@pytest.mark.parametrize('weights_file', ['model.safetensors', 'pytorch_model.bin'])
def test_hf_backpack_converts_exactly_through_the_script(tmp_path, weights_file):
    reference, config, _ = reference_backpack()
    write_hf_folder(tmp_path / 'hf', reference, config, weights_file)
    result = convert(tmp_path / 'hf', tmp_path / 'out', '--tokenizer=gpt2_free')
    assert result.returncode != 0 and 'gpt2_free' in result.stderr  # a tokenizer that is not there
    write_byte_tokenizer(tmp_path / 'tok.json')
    result = convert(tmp_path / 'hf', tmp_path / 'out', f'--tokenizer={tmp_path / "tok.json"}')
    assert result.returncode == 0, result.stderr
    model, checkpoint = load_model(str(tmp_path / 'out'))
    assert checkpoint['model_args']['sense_network'] == 'canonical'
    idx = torch.randint(0, V, (2, 24))
    with torch.no_grad():
        expected = reference(idx).logits
    assert_same_logits(our_logits(model, idx), expected)
    assert os.path.isfile(tmp_path / 'out' / 'tokenizer.json')


# --- the original multilingual project -----------------------------------------------------


def documented_logits(checkpoint, idx):
    """The original project's model written out from backpack.md, with no code of model.py."""
    import torch.nn.functional as F

    args, name = checkpoint['model_args'], checkpoint['config']['model_name']
    S = {k.removeprefix('_orig_mod.'): v for k, v in checkpoint['model'].items()}
    d, H = args['n_embd'], args['n_head']
    gelu = lambda x: 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))
    lin = lambda x, p: x @ S[p + '.weight'].T + (S[p + '.bias'] if p + '.bias' in S else 0)
    ln = lambda x, p: F.layer_norm(x, S[p + '.weight'].shape, S[p + '.weight'], S.get(p + '.bias'), 1e-5)
    T = idx.size(1)
    future = torch.ones(T, T, dtype=torch.bool).triu(1)

    def gpt(prefix, blocks):
        x = S[prefix + '.wte.weight'][idx] + S[prefix + '.wpe.weight'][:T]
        for i in range(blocks):
            h = f'{prefix}.h.{i}'
            q, k, v = lin(ln(x, h + '.ln_1'), h + '.attn.c_attn').split(d, -1)
            heads = lambda t: t.view(*t.shape[:2], H, d // H).transpose(1, 2)
            scores = heads(q) @ heads(k).transpose(-1, -2) / math.sqrt(d // H)
            y = scores.masked_fill(future, float('-inf')).softmax(-1) @ heads(v)
            x = x + lin(y.transpose(1, 2).reshape(x.shape), h + '.attn.c_proj')
            x = x + lin(gelu(lin(ln(x, h + '.ln_2'), h + '.mlp.c_fc')), h + '.mlp.c_proj')
        return ln(x, prefix + '.ln_f')

    if name == 'gpt2':
        return gpt('transformer', args['n_layer']) @ S['lm_head.weight'].T
    K, s = args['n_sense_vector'], 'backpack.sense_vector_layer'
    E = S['backpack.sense_vector_layer.wte.weight']
    x = E[idx]
    ff = lambda x, p: lin(gelu(lin(x, p + '.c_fc')), p + '.c_proj')
    x = ln(x + ff(x, s + '.ff_1'), s + '.ln_1')
    y = x[..., None] + ff(x, s + '.ff_2').reshape(*x.shape, K)  # (B, T, d, K), D-major
    y = ln(y.reshape(*x.shape[:-1], d * K), s + '.ln_2').reshape(*x.shape, K)
    c = 'backpack.contextualization_layer'
    hidden = gpt(c + '.transformer', args['n_layer'] - 1)
    q, k = lin(hidden, c + '.c_attn').split(d, -1)
    o = torch.zeros_like(x)
    for sense in range(K):
        chunk = slice(sense * d // K, (sense + 1) * d // K)
        scores = q[..., chunk] @ k[..., chunk].transpose(-1, -2)  # no 1/sqrt(d/K)
        alpha = scores.masked_fill(future, float('-inf')).softmax(-1)
        o = o + alpha @ y[..., sense]
    return o @ S['backpack.logit_layer.lm_head.weight'].T


@pytest.mark.parametrize('model_name', ['gpt2', 'backpack-lm'])
@pytest.mark.parametrize('bias', [False, True])
def test_original_project_checkpoint_converts_to_the_documented_model(tmp_path, model_name, bias):
    checkpoint = original_project_checkpoint(model_name, bias=bias, rows=100)
    torch.save(checkpoint, tmp_path / 'ckpt.pt')
    name, model_args, state = read_source(str(tmp_path / 'ckpt.pt'))
    assert name == model_name and model_args['vocab_size'] == 100
    model = build_model(name, **model_args).eval()
    model.load_state_dict(state)
    idx = torch.randint(0, 100, (2, 24))
    with torch.no_grad():
        expected = documented_logits(checkpoint, idx)
    assert_same_logits(our_logits(model, idx), expected)


# --- export ----------------------------------------------------------------------------------


def our_checkpoint(tmp_path, model_name, **args):
    from common.checkpoint import save_checkpoint
    from model import model_args_of

    torch.manual_seed(0)
    base = dict(n_layer=2, n_head=4, n_embd=32, block_size=24, vocab_size=V, bias=False, dropout=0.0)
    if model_name == 'backpack-lm':
        base.update(n_sense_vector=4)
    model = perturb(build_model(model_name, **dict(base, **args)).eval())
    out = tmp_path / 'ours'
    os.makedirs(out, exist_ok=True)
    write_byte_tokenizer(out / 'tokenizer.json')
    save_checkpoint(
        {
            'model': model.state_dict(),
            'model_name': model_name,
            'model_args': model_args_of(model),
            'config': {},
            'iter_num': 0,
            'data': {
                'tokenizer': {'name': 'tokenizer.json', 'format': 'huggingface', 'path': 'tokenizer.json'}
            },
        },
        out / 'ckpt.pt',
    )
    return model, out


@pytest.mark.parametrize(
    'args', [dict(), dict(activation='gelu_tanh', bias=True, scale_attn_by_inverse_layer_idx=True)]
)
def test_exported_gpt2_loads_in_transformers_with_our_logits(tmp_path, args):
    model, out = our_checkpoint(tmp_path, 'gpt2', **args)
    result = convert(out, None, f'--hf_dir={tmp_path / "hf"}')
    assert result.returncode == 0, result.stderr
    reference = transformers.GPT2LMHeadModel.from_pretrained(
        tmp_path / 'hf', attn_implementation='eager'
    ).eval()
    idx = torch.randint(0, V, (2, 24))
    with torch.no_grad():
        theirs = reference(idx).logits
    assert_same_logits(theirs, our_logits(model, idx))
    tok = transformers.AutoTokenizer.from_pretrained(tmp_path / 'hf')
    assert tok.decode(tok('La séance')['input_ids']) == 'La séance'


@pytest.mark.parametrize('args', [dict(), dict(activation='gelu_tanh', bias=True)])
def test_exported_backpack_loads_in_the_published_code_with_our_logits(tmp_path, args):
    module = reference_backpack_module()
    model, out = our_checkpoint(tmp_path, 'backpack-lm', **args)
    result = convert(out, None, f'--hf_dir={tmp_path / "hf"}')
    assert result.returncode == 0, result.stderr
    with open(tmp_path / 'hf' / 'config.json') as f:
        config_json = json.load(f)
    assert config_json['auto_map']['AutoModelForCausalLM'].endswith('BackpackGPT2LMHeadModel')
    config = module.BackpackGPT2Config.from_pretrained(tmp_path / 'hf')
    config._attn_implementation = 'eager'
    # pyvene's copy predates transformers 5's from_pretrained; load its weights as it would
    reference = module.BackpackGPT2LMHeadModel(config).eval()
    missing, unexpected = reference.load_state_dict(
        load_file(tmp_path / 'hf' / 'model.safetensors'), strict=False
    )
    assert not unexpected
    assert set(missing) <= {
        'lm_head.weight',
        'backpack.word_embeddings.weight',
        'backpack.position_embeddings.weight',
    }
    reference.tie_weights()
    idx = torch.randint(0, V, (2, 24))
    with torch.no_grad():
        theirs = reference(idx).logits
    assert_same_logits(theirs, our_logits(model, idx))


def test_export_refuses_what_the_target_cannot_express(tmp_path):
    checkpoint = original_project_checkpoint('backpack-lm')
    torch.save(checkpoint, tmp_path / 'ckpt.pt')
    write_byte_tokenizer(tmp_path / 'tok.json')
    assert (
        convert(tmp_path / 'ckpt.pt', tmp_path / 'out', f'--tokenizer={tmp_path / "tok.json"}').returncode
        == 0
    )
    result = convert(tmp_path / 'out', None, f'--hf_dir={tmp_path / "hf"}')
    assert result.returncode != 0 and 'original_project' in result.stderr
    assert not os.path.exists(tmp_path / 'hf')


# --- bad input -------------------------------------------------------------------------------


def test_bad_sources_are_clear_errors(tmp_path):
    torch.save(original_project_checkpoint('gpt2'), tmp_path / 'ckpt.pt')
    data = (tmp_path / 'ckpt.pt').read_bytes()
    (tmp_path / 'truncated.pt').write_bytes(data[: len(data) // 2])
    (tmp_path / 'foreign.pt').write_text('hello')
    for name in ('truncated.pt', 'foreign.pt'):
        with pytest.raises(UserError, match='truncated'):
            read_source(str(tmp_path / name))
    reference, config = reference_gpt2()
    write_hf_folder(tmp_path / 'hf', reference, config, 'model.safetensors')
    with open(tmp_path / 'hf' / 'config.json') as f:
        cfg = json.load(f)
    with open(tmp_path / 'hf' / 'config.json', 'w') as f:
        json.dump(dict(cfg, rotary_dim=8), f)
    with pytest.raises(UserError, match='rotary_dim unknown'):
        read_source(str(tmp_path / 'hf'))
    bad = original_project_checkpoint('backpack-lm', K=4)
    bad['model_args']['n_sense_vector'] = 5
    torch.save(bad, tmp_path / 'bad.pt')
    with pytest.raises(UserError, match='divisible by n_sense_vector'):
        read_source(str(tmp_path / 'bad.pt'))


def test_a_hub_id_fails_fast_offline_saying_what_to_download(tmp_path):
    result = convert('stanfordnlp/backpack-gpt2', tmp_path / 'out', process=True)  # the command line, once
    assert result.returncode != 0
    assert 'stanfordnlp/backpack-gpt2' in result.stderr and '--source=' in result.stderr
    assert not os.path.exists(tmp_path / 'out' / 'ckpt.pt')


# --- evaluation across tokenizers ------------------------------------------------------------


def test_a_converted_model_is_evaluated_beside_ours_on_the_same_heldout_text(tmp_path, tmp_path_factory):
    """perplexity_per_lang.py tokenizes the held-out text with each model's own tokenizer; lines
    holding a token one of the compared models has no row for are skipped for all of them, so
    every model of the table is scored on the same lines."""
    from in_process import run_in_process
    from tiny_text_corpus import DATASET, tiny_checkpoint, tiny_data_root

    from data.prepared import read_heldout_lines

    data_root = tiny_data_root(tmp_path_factory)
    ours = tiny_checkpoint(tmp_path_factory, 'gpt2')
    lines = {lang: read_heldout_lines(data_root, DATASET, lang, 'test', 20) for lang in ('en', 'fr')}
    # a letter found in some of the lines only gets the highest id: a model of 256 rows cannot
    # read those lines, and its tokenizer is the same byte tokenizer otherwise
    all_lines = lines['en'] + lines['fr']
    letter = min(
        'abcdefghijklmnopqrstuvwxyz',
        key=lambda c: abs(sum(c in line for line in all_lines) - len(all_lines) / 2),
    )
    write_byte_tokenizer(tmp_path / 'tok.json', last=letter)  # 257 tokens
    split_rows = 256
    readable = {lang: sum(letter not in line for line in lines[lang]) for lang in lines}
    assert 0 < sum(readable.values()) < 40, "the corpus gives no split of the lines to test"
    converted = {}
    for rows in (257, 200, split_rows):
        torch.save(original_project_checkpoint('backpack-lm', rows=rows), tmp_path / f'ckpt{rows}.pt')
        result = convert(
            tmp_path / f'ckpt{rows}.pt', tmp_path / f'out{rows}', f'--tokenizer={tmp_path / "tok.json"}'
        )
        assert result.returncode == 0, result.stderr
        converted[rows] = str(tmp_path / f'out{rows}')
        if rows == 200:
            assert 'token id(s) 200' in result.stdout and 'which the model has no row for' in result.stdout
    out = run_in_process(
        'perplexity_per_lang.py',
        f'--out_dirs={ours},{converted[257]},{converted[split_rows]}',
        f'--data_root={data_root}',
        f'--list_of_datasets={DATASET}',
        '--max_lines=20',
        '--bootstrap_resamples=10',
        f'--report_dir={tmp_path / "report"}',
        '--device=cpu',
    )
    with open(tmp_path / 'report' / 'perplexity.json') as f:
        results = json.load(f)
    for lang in ('en', 'fr'):
        if readable[lang] < 20:
            assert (
                f'{20 - readable[lang]} lines skipped: they hold tokens one of the models has no row for'
            ) in out.stdout
        for out_dir in (ours, converted[257], converted[split_rows]):
            if readable[lang]:
                assert results[out_dir][DATASET][lang]['lines'] == readable[lang]
                assert math.isfinite(results[out_dir][DATASET][lang]['bits_per_byte'])
    # alone, a model is scored on every line it reads
    alone = run_in_process(
        'perplexity_per_lang.py',
        f'--out_dir={ours}',
        f'--data_root={data_root}',
        f'--list_of_datasets={DATASET}',
        '--max_lines=20',
        '--bootstrap_resamples=10',
        f'--report_dir={tmp_path / "alone"}',
        '--device=cpu',
    )
    assert 'lines skipped' not in alone.stdout
    cloze = run_in_process(
        'cloze_test.py',
        f'--out_dirs={ours},{converted[257]},{converted[200]}',
        f'--data_root={data_root}',
        f'--list_of_datasets={DATASET}',
        '--max_items=5',
        '--beam_width=2',
        '--max_word_tokens=4',
        f'--report_dir={tmp_path / "cloze"}',
        '--device=cpu',
    )
    assert (
        cloze.stdout.count('5 items skipped: their context or answer needs tokens the model has no row for')
        == 2
    )
    with open(tmp_path / 'cloze' / 'cloze.json') as f:
        accuracy = json.load(f)
    assert accuracy[converted[257]][DATASET]['fr']['items'] == 5
    assert accuracy[converted[200]][DATASET]['fr']['items'] == 0


def test_get_checkpoints_stops_at_once_offline_saying_where_to_put_the_files(tmp_path):
    script = os.path.join(ROOT, 'data', 'get_checkpoints.sh')
    result = subprocess.run(
        ['bash', script, 'mini-backpack-16'],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, 'CHECKPOINTS_DIR': str(tmp_path)},
    )
    assert result.returncode == 1
    assert f'{tmp_path}/mini-backpack-16/ckpt.pt' in result.stderr and 'drive.google.com' in result.stderr
    assert not os.path.exists(tmp_path / 'mini-backpack-16' / 'ckpt.pt')


# --- fine-tuning -----------------------------------------------------------------------------


def test_a_converted_model_fine_tunes_on_data_prepared_with_its_tokenizer(tmp_path, tmp_path_factory):
    """prepare.py --tokenizer=tokenizer.json, then train.py --init_from=DIR: a fresh optimizer on
    the converted weights; data of another tokenizer is refused before training."""
    from in_process import run_in_process
    from tiny_text_corpus import DATASET, parallel_lines, run_script, tiny_data_root

    raw = tmp_path / 'raw'
    raw.mkdir()
    en, fr = parallel_lines(400)
    (raw / 'europarl-v7.fr-en.en').write_text(''.join(line + '\n' for line in en), encoding='utf-8')
    (raw / 'europarl-v7.fr-en.fr').write_text(''.join(line + '\n' for line in fr), encoding='utf-8')
    write_byte_tokenizer(tmp_path / 'tok.json')
    torch.save(original_project_checkpoint('backpack-lm', rows=257), tmp_path / 'ckpt.pt')
    assert (
        convert(
            tmp_path / 'ckpt.pt', tmp_path / 'converted', f'--tokenizer={tmp_path / "tok.json"}'
        ).returncode
        == 0
    )
    data_root = tmp_path / 'data'
    run_script(
        'data/europarl/prepare.py',
        f'--tokenizer={tmp_path / "converted" / "tokenizer.json"}',
        f'--data_root={data_root}',
        f'--raw_dir={raw}',
        '--num_proc=1',
    )
    common = [
        '--batch_size=4',
        '--gradient_accumulation_steps=1',
        '--max_iters=3',
        '--eval_interval=3',
        '--eval_iters=1',
        '--warmup_iters=1',
        '--lr_decay_iters=3',
        '--device=cpu',
        '--dtype=float32',
        '--block_size=16',
    ]
    run_in_process(
        'train.py',
        f'--init_from={tmp_path / "converted"}',
        f'--data_root={data_root}',
        '--list_of_datasets=europarl',
        f'--out_dir={tmp_path / "tuned"}',
        *common,
    )
    tuned, checkpoint = load_model(str(tmp_path / 'tuned'))
    assert checkpoint['iter_num'] == 3 and tuned.config.sense_network == 'original_project'
    assert tuned.config.block_size == 16
    out = run_in_process(
        'perplexity_per_lang.py',
        f'--out_dir={tmp_path / "tuned"}',
        '--max_lines=5',
        '--bootstrap_resamples=10',
        '--device=cpu',
    )
    assert 'europarl/fr' in out.stdout
    refused = run_in_process(
        'train.py',
        f'--init_from={tmp_path / "converted"}',
        f'--data_root={tiny_data_root(tmp_path_factory)}',
        f'--list_of_datasets={DATASET}',
        f'--out_dir={tmp_path / "refused"}',
        *common,
        check=False,
    )
    assert refused.returncode != 0 and 'prepared with' in refused.stderr
    assert not os.path.exists(tmp_path / 'refused' / 'ckpt.pt')


def test_one_of_our_trained_models_exports_with_a_tokenizer_giving_the_same_ids(tmp_path, tmp_path_factory):
    """Our tokenizers are tiktoken files: the export writes a tokenizer.json that
    AutoTokenizer loads and that encodes the held-out text to the same ids."""
    from tiny_text_corpus import DATASET, tiny_checkpoint, tiny_data_root

    from data.prepared import read_heldout_lines
    from evaluation.checkpoints import checkpoint_tokenizer

    data_root = tiny_data_root(tmp_path_factory)
    ours_dir = tiny_checkpoint(tmp_path_factory, 'gpt2')
    result = convert(ours_dir, None, f'--hf_dir={tmp_path / "hf"}')
    assert result.returncode == 0, result.stderr
    model, checkpoint = load_model(ours_dir)
    tok = checkpoint_tokenizer(checkpoint, data_root, model)
    hf_tok = transformers.AutoTokenizer.from_pretrained(tmp_path / 'hf')
    lines = read_heldout_lines(data_root, DATASET, 'fr', 'test') + ["  deux  espaces, 12345 et l'été !"]
    for line in lines:
        assert hf_tok(line)['input_ids'] == tok.encode(line)
    reference = transformers.GPT2LMHeadModel.from_pretrained(
        tmp_path / 'hf', attn_implementation='eager'
    ).eval()
    idx = torch.tensor([tok.encode(lines[0])[: model.config.block_size]])
    with torch.no_grad():
        assert relative_error(reference(idx).logits, our_logits(model, idx)) < 1e-5
