"""
Models from elsewhere, as this project's models, and ours as Hugging Face models. The formats
(weight names, layouts, the original project's Backpack design) are described in
docs/backpack.md, "Checkpoints from elsewhere".

    model_name, model_args, state = read_source(path)            # any supported format
    config, weights = hf_export(model, eot_token)                  # ours -> Hugging Face

Read:  the original multilingual project's ckpt.pt ('original_project'), and Hugging Face
       folders (config.json + model.safetensors or pytorch_model.bin) of GPT2LMHeadModel
       ('hf_gpt2') and of the published BackpackGPT2LMHeadModel ('hf_backpack').
Write: GPT2LMHeadModel, or BackpackGPT2LMHeadModel with its BackpackGPT2Config.

Every mapping is exact: weights are moved, transposed (GPT-2's Conv1D stores (in, out)) or
padded with zero rows (our vocabulary is padded to a multiple of 64), never recomputed. Weights
are read memory-mapped where the format allows, so a conversion holds about one copy of them.
"""

from __future__ import annotations

import json
import os
import zipfile
from typing import TYPE_CHECKING, Any

import torch

from common.errors import UserError

if TYPE_CHECKING:
    from model import LanguageModel

SOURCE_FORMATS = ('original_project', 'hf_gpt2', 'hf_backpack')
HF_WEIGHT_FILES = ('model.safetensors', 'pytorch_model.bin')
BACKPACK_CODE_REPO = 'stanfordnlp/backpack-gpt2'  # the hub repository of the published modeling code


# --- telling formats apart -------------------------------------------------------------------


def detect_format(path: str) -> str:
    """'original_project' | 'hf_gpt2' | 'hf_backpack' from the contents of path."""
    if os.path.isdir(path):
        config_path = os.path.join(path, 'config.json')
        if not os.path.isfile(config_path):
            found = ', '.join(sorted(os.listdir(path))[:10]) or 'nothing'
            raise UserError(
                f"{path} is a folder without config.json (found: {found}): a "
                f"Hugging Face model folder holds config.json and "
                f"{' or '.join(HF_WEIGHT_FILES)}"
            )
        config = read_hf_config(path)
        architectures = config.get('architectures') or []
        if 'BackpackGPT2LMHeadModel' in architectures or 'num_senses' in config:
            return 'hf_backpack'
        if config.get('model_type') == 'gpt2':
            return 'hf_gpt2'
        raise UserError(
            f"{config_path} describes model_type={config.get('model_type')!r}, "
            f"architectures={architectures}: only GPT2LMHeadModel and "
            f"BackpackGPT2LMHeadModel folders can be converted"
        )
    if not os.path.isfile(path):
        raise UserError(
            f"{path} does not exist: give a ckpt.pt of the original project, a "
            f"Hugging Face model folder, or a hub id"
        )
    checkpoint = _torch_load(path)
    if not isinstance(checkpoint, dict) or 'model' not in checkpoint or 'model_args' not in checkpoint:
        keys = list(checkpoint)[:10] if isinstance(checkpoint, dict) else type(checkpoint).__name__
        raise UserError(
            f"{path} is a PyTorch file but not a training checkpoint (found "
            f"{keys}; expected 'model', 'model_args' and 'config')"
        )
    if 'model_name' in checkpoint and 'data' in checkpoint:
        raise UserError(
            f"{path} is already a checkpoint of this project: use it as it is "
            f"(--out_dir), or export it with --hf_dir"
        )
    return 'original_project'


def _torch_load(path):
    if not zipfile.is_zipfile(path):
        raise UserError(
            f"{path} is not a PyTorch checkpoint (not a zip archive: truncated, or another kind of file)"
        )
    try:
        return torch.load(path, map_location='cpu', weights_only=True, mmap=True)
    except Exception as e:
        raise UserError(
            f"{path} cannot be read as a PyTorch checkpoint (truncated or "
            f"corrupt? {type(e).__name__}: {str(e)[:200]})"
        )


def read_source(
    path: str, source_format: str = 'auto'
) -> tuple[str, dict[str, Any], dict[str, torch.Tensor]]:
    """(model_name, model_args, state_dict) of our model equal to the source."""
    if source_format == 'auto':
        source_format = detect_format(path)
    if source_format not in SOURCE_FORMATS:
        raise UserError(f"--source_format={source_format}: choose auto or one of {', '.join(SOURCE_FORMATS)}")
    if source_format == 'original_project':
        return read_original_project(path)
    return read_hf_folder(path, source_format)


def padded_embedding(weight: torch.Tensor, model_args: dict[str, Any]) -> torch.Tensor:
    """The source's (V, d) embedding with zero rows up to our padded vocabulary."""
    from model import GPTConfig

    rows = GPTConfig(vocab_size=model_args['vocab_size']).padded_vocab_size
    if weight.size(0) == rows:
        return weight
    padded = weight.new_zeros(rows, weight.size(1))
    padded[: weight.size(0)] = weight
    return padded


def _check_against_model(model_name, model_args, state, source):
    """Build our model on the meta device and check that the mapped weights fill it exactly."""
    from model import build_model

    try:
        with torch.device('meta'):
            model = build_model(model_name, **model_args)
    except ValueError as e:
        raise UserError(f"{source}: {e}")
    expected = {k: v.shape for k, v in model.state_dict().items()}
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    wrong = [
        f"{k}: {tuple(state[k].shape)} instead of {tuple(s)}"
        for k, s in expected.items()
        if k in state and state[k].shape != s
    ]
    if missing or unexpected or wrong:
        raise UserError(
            f"{source} does not hold the weights its configuration describes: "
            + '; '.join(
                part
                for part in (
                    f"missing {', '.join(missing[:8])}" if missing else '',
                    f"unexpected {', '.join(unexpected[:8])}" if unexpected else '',
                    f"wrong shapes {', '.join(wrong[:8])}" if wrong else '',
                )
                if part
            )
            + ". The file is truncated, or of another format than the one it was read as."
        )


# --- the original multilingual project ------------------------------------------------------

ORIGINAL_MODEL_ARGS = (
    'n_layer',
    'n_head',
    'n_embd',
    'block_size',
    'bias',
    'vocab_size',
    'dropout',
    'n_sense_vector',
)
ORIGINAL_EMBEDDINGS = (
    'backpack.logit_layer.lm_head.weight',
    'wte.weight',
    'backpack.sense_vector_layer.wte.weight',
    'backpack.contextualization_layer.transformer.wte.weight',
)
ORIGINAL_BUFFERS = ('.attn.bias', '.attn.masked_bias')  # causal masks, not weights


def read_original_project(path: str) -> tuple[str, dict[str, Any], dict[str, torch.Tensor]]:
    checkpoint = _torch_load(path)
    config = checkpoint.get('config') or {}
    model_name = config.get('model_name') or checkpoint.get('model_name')
    if model_name not in ('gpt2', 'backpack-lm'):
        raise UserError(
            f"{path}: its config names model_name={model_name!r}; the original "
            f"project's checkpoints are 'gpt2' or 'backpack-lm'"
        )
    saved = dict(checkpoint['model_args'])
    unknown = [k for k in saved if k not in ORIGINAL_MODEL_ARGS]
    if unknown:
        raise UserError(
            f"{path}: model_args {', '.join(unknown)} are unknown to the "
            f"converter (it knows {', '.join(ORIGINAL_MODEL_ARGS)})"
        )
    saved.pop('dropout', None)
    if model_name == 'gpt2':
        saved.pop('n_sense_vector', None)
    model_args = dict(saved, dropout=0.0, activation='gelu_tanh')
    prefix = '_orig_mod.'
    source = {(k[len(prefix) :] if k.startswith(prefix) else k): v for k, v in checkpoint['model'].items()}
    source = {k: v for k, v in source.items() if not k.endswith(ORIGINAL_BUFFERS)}
    if model_name == 'gpt2':
        state = dict(source)
        embedding = state.get('lm_head.weight', state.get('transformer.wte.weight'))
        if embedding is None:
            raise UserError(
                f"{path}: no transformer.wte.weight nor lm_head.weight: not a "
                f"GPT checkpoint of the original project"
            )
        state['transformer.wte.weight'] = state['lm_head.weight'] = padded_embedding(embedding, model_args)
    else:
        model_args.update(
            sense_network='original_project',
            sense_weight_bias=False,
            sense_scores_scaled=False,
            sense_intermediate_scale=4,
            n_contextualization_layer=saved['n_layer'] - 1,
        )
        state = _original_backpack_state(source, model_args, path)
    _check_against_model(model_name, model_args, state, path)
    return model_name, model_args, state


def _original_backpack_state(source, model_args, path):
    embedding = next((source[k] for k in ORIGINAL_EMBEDDINGS if k in source), None)
    if embedding is None:
        raise UserError(
            f"{path}: none of {', '.join(ORIGINAL_EMBEDDINGS)} is in its state "
            f"dict: not a Backpack checkpoint of the original project"
        )
    for name in ORIGINAL_EMBEDDINGS:  # one tensor under several names
        if name in source and not torch.equal(source[name], embedding):
            raise UserError(
                f"{path}: {name} differs from the other copies of the embedding; "
                f"the original project ties them, so this file is not its"
            )
    state = {}
    context, senses = 'backpack.contextualization_layer.', 'backpack.sense_vector_layer.'
    for key, value in source.items():
        if key in ORIGINAL_EMBEDDINGS or key == context + 'bias':
            continue
        if key.startswith(context + 'transformer.'):
            state[key[len(context) :]] = value
        elif key.startswith(context + 'c_attn.'):
            state['sense_weight_net.' + key[len(context + 'c_attn.') :]] = value
        elif key.startswith(senses):
            state['sense_network.' + key[len(senses) :]] = value
        else:
            state[key] = value  # reported as unexpected by the check
    state['transformer.wte.weight'] = state['lm_head.weight'] = padded_embedding(embedding, model_args)
    return state


# --- Hugging Face folders --------------------------------------------------------------------

# config.json keys that do not change what the model computes (bookkeeping, generation, dropout,
# heads other than the language-model head)
HF_CONFIG_IGNORED = {
    'architectures',
    'auto_map',
    'model_type',
    'transformers_version',
    'torch_dtype',
    'dtype',
    '_name_or_path',
    'bos_token_id',
    'eos_token_id',
    'pad_token_id',
    'initializer_range',
    'use_cache',
    'n_ctx',
    'resid_pdrop',
    'embd_pdrop',
    'attn_pdrop',
    'summary_type',
    'summary_use_proj',
    'summary_activation',
    'summary_proj_to_labels',
    'summary_first_dropout',
    'task_specific_params',
    'reorder_and_upcast_attn',
    'id2label',
    'label2id',
    'tokenizer_class',
    'output_attentions',
    'output_hidden_states',
    'return_dict',
    'torchscript',
    'gradient_checkpointing',
    'problem_type',
    'prefix',
    'max_length',
    'do_sample',
    'num_beams',
    '_attn_implementation_autoset',
}
# keys with the one value this project's models compute with
HF_CONFIG_REQUIRED = {
    'scale_attn_weights': True,
    'add_cross_attention': False,
    'tie_word_embeddings': True,
    'is_encoder_decoder': False,
}
HF_ACTIVATIONS = {'gelu_new': 'gelu_tanh', 'gelu_pytorch_tanh': 'gelu_tanh', 'gelu': 'gelu'}
HF_MODEL_KEYS = (
    'n_embd',
    'n_layer',
    'n_head',
    'n_positions',
    'vocab_size',
    'layer_norm_epsilon',
    'activation_function',
    'scale_attn_by_inverse_layer_idx',
    'n_inner',
    'num_senses',
    'sense_intermediate_scale',
)


def read_hf_config(folder: str) -> dict[str, Any]:
    path = os.path.join(folder, 'config.json')
    try:
        with open(path, encoding='utf-8') as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        raise UserError(f"{path} is not readable JSON ({type(e).__name__}: {e})")


def hf_model_args(config: dict[str, Any], source_format: str, source: str) -> dict[str, Any]:
    unknown = sorted(
        k for k in config if k not in HF_CONFIG_IGNORED | set(HF_CONFIG_REQUIRED) | set(HF_MODEL_KEYS)
    )
    if unknown:
        raise UserError(
            f"{source}/config.json: {', '.join(unknown)} unknown to the converter: "
            f"it cannot tell whether the model computes something else. Known "
            f"keys: {', '.join(HF_MODEL_KEYS)} and bookkeeping keys"
        )
    for key, value in HF_CONFIG_REQUIRED.items():
        if key in config and config[key] != value:
            raise UserError(
                f"{source}/config.json: {key}={config[key]} cannot be converted "
                f"exactly (this project's models compute with {key}={value})"
            )
    d = config.get('n_embd', 768)
    if config.get('n_inner') not in (None, 4 * d):
        raise UserError(
            f"{source}/config.json: n_inner={config['n_inner']} but this "
            f"project's MLPs are 4 * n_embd = {4 * d} wide"
        )
    activation = config.get('activation_function', 'gelu_new')
    if activation not in HF_ACTIVATIONS:
        raise UserError(
            f"{source}/config.json: activation_function={activation!r}: "
            f"convertible are {', '.join(HF_ACTIVATIONS)}"
        )
    backpack = source_format == 'hf_backpack'
    model_args = dict(
        n_layer=config.get('n_layer', 12),
        n_head=config.get('n_head', 12),
        n_embd=d,
        block_size=config.get('n_positions', 512 if backpack else 1024),
        vocab_size=config.get('vocab_size', 50264 if backpack else 50257),
        bias=True,
        dropout=0.0,
        activation=HF_ACTIVATIONS[activation],
        scale_attn_by_inverse_layer_idx=config.get('scale_attn_by_inverse_layer_idx', backpack),
        layer_norm_epsilon=config.get('layer_norm_epsilon', 1e-5),
    )
    if backpack:
        model_args.update(
            n_sense_vector=config.get('num_senses', 16),
            sense_intermediate_scale=config.get('sense_intermediate_scale', 4),
            sense_network='canonical',
            sense_weight_bias=True,
        )
    elif 'num_senses' in config or 'sense_intermediate_scale' in config:
        raise UserError(
            f"{source}/config.json has Backpack keys but was read as a GPT-2: use --source_format=hf_backpack"
        )
    return model_args


def read_hf_weights(folder: str) -> dict[str, torch.Tensor]:
    for name in HF_WEIGHT_FILES:
        path = os.path.join(folder, name)
        if not os.path.isfile(path):
            continue
        if name.endswith('.safetensors'):
            try:
                from safetensors.torch import load_file

                return load_file(path)
            except ImportError:
                raise UserError(
                    "reading model.safetensors needs the safetensors package: pip install safetensors"
                )
            except Exception as e:
                raise UserError(
                    f"{path} is not a readable safetensors file (truncated? "
                    f"{type(e).__name__}: {str(e)[:200]})"
                )
        return _torch_load(path)
    raise UserError(
        f"{folder} holds no weights: expected {' or '.join(HF_WEIGHT_FILES)} "
        f"(a sharded model, model-00001-of-....safetensors, is not supported)"
    )


def _gpt2_state(source, prefix, model_args):
    """Our Transformer's weights from a transformers GPT2Model's under prefix."""
    conv1d = ('attn.c_attn.weight', 'attn.c_proj.weight', 'mlp.c_fc.weight', 'mlp.c_proj.weight')
    state = {}
    for key, value in source.items():
        if not key.startswith(prefix) or key.endswith(ORIGINAL_BUFFERS):
            continue
        name = 'transformer.' + key[len(prefix) :]
        state[name] = value.t() if name.endswith(conv1d) else value
    embedding = state.pop('transformer.wte.weight', None)
    if embedding is None:
        raise UserError(f"no {prefix}wte.weight among the weights: not a GPT-2 model's")
    state['transformer.wte.weight'] = state['lm_head.weight'] = padded_embedding(embedding, model_args)
    return state


HF_SENSE_NETWORK = {
    'ln.': 'ln_0.',
    'block.ln_1.': 'ln_1.',
    'block.mlp.': 'mlp.',
    'block.ln_2.': 'ln_2.',
    'final_mlp.': 'final_mlp.',
}


def read_hf_folder(folder: str, source_format: str) -> tuple[str, dict[str, Any], dict[str, torch.Tensor]]:
    config = read_hf_config(folder)
    model_args = hf_model_args(config, source_format, folder)
    source = read_hf_weights(folder)
    if source_format == 'hf_gpt2':
        prefix = 'transformer.' if any(k.startswith('transformer.') for k in source) else ''
        state = _gpt2_state(source, prefix, model_args)
        model_name = 'gpt2'
    else:
        state = _gpt2_state(source, 'backpack.gpt2_model.', model_args)
        for key, value in source.items():
            if key.startswith('backpack.sense_network.'):
                rest = key[len('backpack.sense_network.') :]
                old = next((o for o in HF_SENSE_NETWORK if rest.startswith(o)), None)
                name = 'sense_network.' + (HF_SENSE_NETWORK[old] + rest[len(old) :] if old else rest)
                state[name] = value.t() if name.endswith(('c_fc.weight', 'c_proj.weight')) else value
            elif key.startswith('backpack.sense_weight_net.c_attn.'):
                state['sense_weight_net.' + key.split('.')[-1]] = value
        model_name = 'backpack-lm'
    if 'lm_head.weight' in source:
        lm_head = source['lm_head.weight']
        if lm_head.shape != state['lm_head.weight'][: lm_head.size(0)].shape or not torch.equal(
            lm_head, state['lm_head.weight'][: lm_head.size(0)]
        ):
            raise UserError(
                f"{folder}: lm_head.weight is not tied to the token embedding; "
                f"this project's models tie them, so it cannot be converted exactly"
            )
    _check_against_model(model_name, model_args, state, folder)
    return model_name, model_args, state


# --- ours -> Hugging Face --------------------------------------------------------------------


def _refuse(reason):
    raise UserError(f"this model cannot be exported exactly: {reason}")


def hf_export(model: LanguageModel, eot_token: int) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """(config dict, state dict) of the Hugging Face model that computes what ours does:
    GPT2LMHeadModel for a GPT, BackpackGPT2LMHeadModel for a Backpack. Biases a model was built
    without are written as zeros (the target always has them). eot_token, the tokenizer's
    <|endoftext|> id, is the begin, end and padding token: without them transformers takes
    GPT-2's 50256, and generate would never stop at the end of a text."""
    config = _hf_config(model.config, eot_token)
    return config, _hf_state(model, backpack=hasattr(model.config, 'n_sense_vector'))


def _hf_config(cfg, eot_token):
    """The config.json of the Hugging Face model of our model's configuration cfg."""
    backpack = hasattr(cfg, 'n_sense_vector')
    activation = {'gelu_tanh': 'gelu_new', 'gelu': 'gelu'}[cfg.activation]
    config = {
        'architectures': ['BackpackGPT2LMHeadModel' if backpack else 'GPT2LMHeadModel'],
        'model_type': 'gpt2',
        'vocab_size': cfg.vocab_size,
        'n_positions': cfg.block_size,
        'n_embd': cfg.n_embd,
        'n_layer': cfg.n_layer,
        'n_head': cfg.n_head,
        'n_inner': None,
        'activation_function': activation,
        'layer_norm_epsilon': cfg.layer_norm_epsilon,
        'scale_attn_by_inverse_layer_idx': cfg.scale_attn_by_inverse_layer_idx,
        'scale_attn_weights': True,
        'tie_word_embeddings': True,
        'resid_pdrop': cfg.dropout,
        'embd_pdrop': cfg.dropout,
        'attn_pdrop': cfg.dropout,
        'bos_token_id': eot_token,
        'eos_token_id': eot_token,
        'pad_token_id': eot_token,
    }
    if backpack:
        _check_backpack_exportable(cfg)
        # as the published config.json, with the code taken from the published repository
        config.update(
            model_type='backpack-gpt2',
            num_senses=cfg.n_sense_vector,
            sense_intermediate_scale=cfg.sense_intermediate_scale,
            auto_map={
                'AutoConfig': f'{BACKPACK_CODE_REPO}--configuration_backpack_gpt2.BackpackGPT2Config',
                'AutoModelForCausalLM': f'{BACKPACK_CODE_REPO}--modeling_backpack_gpt2.BackpackGPT2LMHeadModel',
            },
        )
    return config


def _check_backpack_exportable(cfg):
    """Refuse a Backpack that the published code would compute otherwise."""
    if cfg.sense_network != 'canonical':
        _refuse(
            f"its sense network is {cfg.sense_network!r}; the published Backpack code "
            f"computes the canonical one only"
        )
    if not cfg.sense_scores_scaled:
        _refuse("its sense scores are not divided by sqrt(d/K), the published code's are")
    if cfg.n_contextualization_layer not in (None, cfg.n_layer):
        _refuse(
            f"its contextualization Transformer has {cfg.n_contextualization_layer} blocks "
            f"for n_layer={cfg.n_layer}"
        )


def _hf_state(model, backpack):
    """The Hugging Face model's weights, named and laid out as it holds them (contiguous)."""
    cfg = model.config
    ours = {k: v.detach() for k, v in model.state_dict().items()}
    # the target has a bias in every Linear and LayerNorm: zeros where ours has none
    for key in list(ours):
        bias = key[: -len('weight')] + 'bias'
        if (
            key.endswith('.weight')
            and bias not in ours
            and not key.endswith(('wte.weight', 'wpe.weight', 'lm_head.weight'))
        ):
            ours[bias] = ours[key].new_zeros(ours[key].size(0))
    prefix = 'backpack.gpt2_model.' if backpack else 'transformer.'
    state = {prefix + 'wte.weight': ours['transformer.wte.weight'][: cfg.vocab_size]}
    conv1d = tuple(f'{name}.weight' for name in ('attn.c_attn', 'attn.c_proj', 'mlp.c_fc', 'mlp.c_proj'))
    for key, value in ours.items():
        if key.startswith('transformer.') and key != 'transformer.wte.weight':
            state[prefix + key[len('transformer.') :]] = value.t() if key.endswith(conv1d) else value
    if backpack:
        inverse = {v: k for k, v in HF_SENSE_NETWORK.items()}
        for key, value in ours.items():
            if key.startswith('sense_network.'):
                rest = key[len('sense_network.') :]
                ours_prefix = next(o for o in inverse if rest.startswith(o))
                name = 'backpack.sense_network.' + inverse[ours_prefix] + rest[len(ours_prefix) :]
                state[name] = (
                    value.t().contiguous() if key.endswith(('c_fc.weight', 'c_proj.weight')) else value
                )
            elif key.startswith('sense_weight_net.'):
                state['backpack.sense_weight_net.c_attn.' + key.split('.')[-1]] = value
    return {k: v.contiguous() for k, v in state.items()}
