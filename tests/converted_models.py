"""Checkpoints from elsewhere, built by the tests: the original multilingual project's ckpt.pt
(its key layout and shapes, docs/backpack.md), byte-level tokenizer.json files, convert_checkpoint.py
run on them, and a corpus with gold senses read by converted models of both kinds:

- 'more_rows': the model has more rows than its tokenizer has ids (the original project's 50,304
  rows for its 10,001-entry tokenizer): the rows past the tokenizer stand for no token;
- 'more_tokens': the tokenizer has an id the model has no row for (its 10,000-row models with the
  same tokenizer): the last id, here the token ' budget', cannot be read.

Each tokenizer has <|endoftext|> = id 0, as the original project's."""

import json
import os
import subprocess
import sys

import torch
from in_process import run_in_process

from common.tokenizer import hf_tokenizer_json

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KINDS = ('more_rows', 'more_tokens')
MISSING_WORD = 'budget'  # its token is the id that the 'more_tokens' model has no row for
EXTRA_ROWS = 70  # rows of the 'more_rows' model past its tokenizer (padded further to 64)


def convert(source, out_dir, *extra, process=False):
    """convert_checkpoint.py --source=source [--out_dir=out_dir] extra..., never downloading: in
    the test's process (tests/in_process.py), or with process=True in a new one."""
    args = [f'--source={source}', *extra] + ([f'--out_dir={out_dir}'] if out_dir else [])
    if not process:
        return run_in_process('convert_checkpoint.py', *args, check=False, env={'HF_HUB_OFFLINE': '1'})
    env = {**os.environ, 'HF_HUB_OFFLINE': '1', 'OMP_NUM_THREADS': '1'}
    return subprocess.run(
        [sys.executable, os.path.join(REPO_ROOT, 'convert_checkpoint.py'), *args],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env=env,
    )


def write_byte_tokenizer(path, n_merges=0, last=None):
    """A byte-level BPE tokenizer.json with <|endoftext|> = id 0 and 256 byte tokens (257 entries);
    `last`, an ASCII character, gets the highest id (256)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers

    byte_chars = sorted(pre_tokenizers.ByteLevel.alphabet(), key=lambda c: (c == last, c))
    vocab = {'<|endoftext|>': 0, **{c: i + 1 for i, c in enumerate(byte_chars)}}
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens(['<|endoftext|>'])
    tok.save(str(path))


def write_original_style_tokenizer(tok, path, last_text=None):
    """tok (one of our trained tokenizers) as a tokenizer.json laid out as the original project's:
    <|endoftext|> = id 0, the other tokens after it; the token of last_text (one token) moved to
    the highest id. The same merges, so the same text is cut into the same tokens."""
    spec = json.loads(hf_tokenizer_json(tok))
    eot = '<|endoftext|>'
    order = sorted((t for t in spec['model']['vocab'] if t != eot), key=spec['model']['vocab'].get)
    if last_text is not None:
        (last_id,) = tok.encode(last_text)
        last = next(t for t in order if spec['model']['vocab'][t] == last_id)
        order = [t for t in order if t != last] + [last]
    spec['model']['vocab'] = {eot: 0, **{t: i + 1 for i, t in enumerate(order)}}
    for added in spec['added_tokens']:
        added['id'] = 0
    with open(path, 'w', encoding='utf-8') as f:
        json.dump(spec, f, ensure_ascii=False)


def original_project_checkpoint(
    model_name, n_layer=3, d=32, n_head=4, K=4, rows=83, bias=False, block_size=24, compiled=True, seed=0
):
    """A ckpt.pt of the original project, with the key layout and shapes of backpack.md."""
    g = torch.Generator().manual_seed(seed)
    rand = lambda *shape: 0.3 * torch.randn(*shape, generator=g)
    norm = lambda n: {'weight': 1 + rand(n), **({'bias': rand(n)} if bias else {})}
    linear = lambda n_out, n_in: {'weight': rand(n_out, n_in), **({'bias': rand(n_out)} if bias else {})}
    state = {}

    def put(prefix, params):
        for k, v in params.items():
            state[f'{prefix}.{k}'] = v

    def transformer(prefix, blocks):
        put(prefix + '.wpe', {'weight': rand(block_size, d)})
        for i in range(blocks):
            h = f'{prefix}.h.{i}'
            put(h + '.ln_1', norm(d))
            put(h + '.attn.c_attn', linear(3 * d, d))
            put(h + '.attn.c_proj', linear(d, d))
            state[h + '.attn.bias'] = (
                torch.ones(block_size, block_size).tril().view(1, 1, block_size, block_size)
            )
            put(h + '.ln_2', norm(d))
            put(h + '.mlp.c_fc', linear(4 * d, d))
            put(h + '.mlp.c_proj', linear(d, 4 * d))
        put(prefix + '.ln_f', norm(d))

    E = rand(rows, d)
    model_args = dict(
        n_layer=n_layer,
        n_head=n_head,
        n_embd=d,
        block_size=block_size,
        bias=bias,
        vocab_size=rows,
        dropout=0.1,
    )
    if model_name == 'gpt2':
        state['transformer.wte.weight'] = state['lm_head.weight'] = E
        transformer('transformer', n_layer)
    else:
        model_args['n_sense_vector'] = K
        for name in (
            'backpack.sense_vector_layer.wte.weight',
            'backpack.logit_layer.lm_head.weight',
            'backpack.contextualization_layer.transformer.wte.weight',
        ):
            state[name] = E
        s = 'backpack.sense_vector_layer'
        put(s + '.ff_1.c_fc', linear(4 * d, d))
        put(s + '.ff_1.c_proj', linear(d, 4 * d))
        put(s + '.ln_1', norm(d))
        put(s + '.ff_2.c_fc', linear(4 * d, d))
        put(s + '.ff_2.c_proj', linear(d * K, 4 * d))
        put(s + '.ln_2', norm(d * K))
        transformer('backpack.contextualization_layer.transformer', n_layer - 1)
        state['backpack.contextualization_layer.c_attn.weight'] = rand(2 * d, d)
        state['backpack.contextualization_layer.bias'] = torch.ones(block_size, block_size).tril()
    if compiled:
        state = {'_orig_mod.' + k: v for k, v in state.items()}
    return {
        'model': state,
        'optimizer': {},
        'model_args': model_args,
        'iter_num': 1000,
        'best_val_loss': 3.0,
        'config': {'model_name': model_name, 'batch_size': 8},
    }


_built = {}


def converted_models(tmp_path_factory):
    """{'data_root', 'dataset', 'tokenizer' (the tokenizer.json), and for each kind and model name
    (kind, model_name): the out_dir of an original-project checkpoint converted with
    convert_checkpoint.py}, on the sense fixture corpus (gold senses included). Built once per
    session."""
    if not _built:
        from sense_fixtures import write_sense_dataset

        root = tmp_path_factory.mktemp('converted')
        meta, tok = write_sense_dataset(str(root / 'data'))
        write_original_style_tokenizer(tok, root / 'tokenizer.json', ' ' + MISSING_WORD)
        _built.update(
            data_root=str(root / 'data'),
            dataset=meta['dataset'],
            tokenizer=str(root / 'tokenizer.json'),
            n_tokens=tok.n_vocab,
        )
        for kind in KINDS:
            rows = tok.n_vocab + EXTRA_ROWS if kind == 'more_rows' else tok.n_vocab - 1
            for model_name in ('backpack-lm', 'gpt2'):
                source = root / f'{kind}-{model_name}.pt'
                torch.save(
                    original_project_checkpoint(model_name, n_layer=2, rows=rows, block_size=32), source
                )
                out_dir = root / f'{kind}-{model_name}'
                result = convert(source, out_dir, f'--tokenizer={root / "tokenizer.json"}')
                assert result.returncode == 0, result.stderr
                _built[kind, model_name] = str(out_dir)
    return _built
