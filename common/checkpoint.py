"""
Saving and loading checkpoints (out_dir/ckpt.pt), and building a model from one.

A checkpoint holds: model, optimizer, scaler, model_name, model_args, config (the effective
training configuration), iter_num (the next iteration to run), best_val_loss, rng_states (python,
numpy, torch, cuda, one entry per process) and data (datasets, tokenizer identity, vocab_size,
languages). It is written to a temporary file of its own and renamed, so a crash or a full disk
while saving never leaves a broken ckpt.pt; and it loads with torch.load(weights_only=True).
"""

from __future__ import annotations

import os
import random
from typing import Any

import numpy as np
import torch

from common.atomic_files import written_atomically
from common.errors import UserError
from model import LEGACY_MODEL_ARGS, MODEL_CLASSES, LanguageModel, build_model

CKPT_NAME = 'ckpt.pt'  # what evaluation reads and training resumes from
LAST_CKPT_NAME = 'ckpt_last.pt'  # the latest state, when ckpt.pt keeps the best one instead


def save_checkpoint(checkpoint: dict, path: str | os.PathLike) -> None:
    """Write atomically: a reader sees the old file or the complete new one, never a part; a
    failed write (a full disk) leaves no partial file behind and says why (UserError)."""
    with written_atomically(path) as tmp:
        torch.save(checkpoint, tmp)


def resume_checkpoint_path(out_dir: str) -> str:
    """ckpt_last.pt when it is newer than ckpt.pt (always_save_checkpoint=False), else ckpt.pt."""
    path, last = os.path.join(out_dir, CKPT_NAME), os.path.join(out_dir, LAST_CKPT_NAME)
    if os.path.isfile(last) and (not os.path.isfile(path) or os.path.getmtime(last) > os.path.getmtime(path)):
        return last
    return path


def checkpoint_path(out_dir_or_path: str | os.PathLike) -> str:
    """An out_dir means the ckpt.pt inside it; a path ending in .pt is a checkpoint file."""
    if str(out_dir_or_path).endswith('.pt') and not os.path.isdir(out_dir_or_path):
        return str(out_dir_or_path)
    return os.path.join(out_dir_or_path, CKPT_NAME)


def load_checkpoint_file(
    out_dir_or_path: str | os.PathLike, map_location: str | torch.device = 'cpu'
) -> dict[str, Any]:
    path = checkpoint_path(out_dir_or_path)
    if not os.path.exists(path):
        folder = os.path.dirname(path) or '.'
        if os.path.isdir(folder):
            raise UserError(
                f"no checkpoint at {path}: train one first (python train.py "
                f"... --out_dir={folder}), or point --out_dir at a folder "
                f"holding {CKPT_NAME}"
            )
        raise UserError(
            f"no checkpoint at {path}: the folder {folder} does not exist. Check "
            f"--out_dir (train.py writes checkpoints to out_dir/{CKPT_NAME})"
        )
    try:
        checkpoint = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as e:
        backups = sorted(
            f for f in os.listdir(os.path.dirname(path) or '.') if f.startswith('ckpt_') and f.endswith('.pt')
        )
        hint = (
            f" Backups in the same folder: {', '.join(backups)}; copy one to {CKPT_NAME} to use it."
            if backups
            else ""
        )
        raise UserError(
            f"{path} is not a readable checkpoint (truncated or corrupt? "
            f"{type(e).__name__}: {str(e)[:200]}).{hint}"
        )
    missing = [k for k in ('model', 'model_args', 'model_name') if k not in checkpoint]
    if missing:
        raise UserError(f"{path} lacks {', '.join(missing)}: it was not written by this project's train.py")
    return checkpoint


def model_state_dict(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The state dict of a model, unwrapped from DDP and torch.compile."""
    model = getattr(model, 'module', model)
    model = getattr(model, '_orig_mod', model)
    return model.state_dict()


def load_model_state(model: torch.nn.Module, state_dict: dict[str, torch.Tensor]) -> None:
    # checkpoints written by older code saved torch.compile's wrapped names
    prefix = '_orig_mod.'
    state_dict = {(k[len(prefix) :] if k.startswith(prefix) else k): v for k, v in state_dict.items()}
    model.load_state_dict(state_dict)


def saved_model_args(checkpoint: dict) -> dict[str, Any]:
    """The checkpoint's model_args, with what older code meant by the fields it did not write."""
    return {**LEGACY_MODEL_ARGS.get(checkpoint['model_name'], {}), **checkpoint['model_args']}


# the training keys a resume keeps to draw the same batches and make the same updates (max_iters
# is not one: raising it to train longer is what a resume is for)
EXACT_RESUME_KEYS = (
    'list_of_datasets',
    'xlm_alpha',
    'seed',
    'batch_size',
    'gradient_accumulation_steps',
    'dropout',
    'learning_rate',
    'decay_lr',
    'warmup_iters',
    'lr_decay_iters',
    'min_lr',
    'weight_decay',
    'beta1',
    'beta2',
    'grad_clip',
)


def resume_changes_text(saved_config: dict, config: dict) -> str:
    """A note naming each of EXACT_RESUME_KEYS whose value in config differs from the checkpoint's
    configuration (saved_config), old -> new; '' when none does."""
    changed = [
        f"{key} {saved_config[key]!r} -> {config[key]!r}"
        for key in EXACT_RESUME_KEYS
        if key in saved_config and key in config and saved_config[key] != config[key]
    ]
    if not changed:
        return ''
    return (
        f"note: resuming with settings other than the checkpoint's ({', '.join(changed)}): the "
        f"run goes on, but it is no longer an exact resume (other batches, learning rates or "
        f"updates than the original run would have had)"
    )


def fine_tuning_checkpoint(init_from: str, model_name: str) -> dict[str, Any]:
    """The checkpoint in init_from (a folder or a .pt file) to fine-tune, refused unless its model
    is a model_name: fine-tuning trains the model it holds, whatever the configuration asks for."""
    checkpoint = load_checkpoint_file(init_from)
    held = checkpoint['model_name']
    if held != model_name:
        raise UserError(
            f"init_from={init_from} holds a '{held}' model but model_name={model_name}: fine-tuning "
            f"trains the model it holds, not a new {model_name}. To fine-tune it, add "
            f"--model_name={held}; to train a new {model_name}, drop --init_from or point it at a "
            f"{model_name} checkpoint."
        )
    return checkpoint


def fine_tuning_model_args(
    checkpoint: dict, data_tokenizer: dict, data_vocab_size: int, block_size: int, dropout: float
) -> dict[str, Any]:
    """model_args to fine-tune the checkpoint's model on data prepared with data_tokenizer (its
    identity): refused unless it is the tokenizer the model was trained with. A tokenizer with
    a few more tokens than the model has rows (the original project's 10,001 for 10,000) gets
    them from the padding rows, which start at zero."""
    source = checkpoint.get('data', {}).get('tokenizer') or {}
    if source.get('sha256') != data_tokenizer.get('sha256'):
        raise UserError(
            f"the checkpoint was trained with tokenizer {source.get('name')!r} but the data was "
            f"prepared with {data_tokenizer.get('name')!r} (different sha256): the token ids would "
            f"mean other words. Prepare the data with its tokenizer (python data/<dataset>/prepare.py "
            f"--tokenizer=CHECKPOINT_DIR/tokenizer.json)"
        )
    model_args = dict(saved_model_args(checkpoint), dropout=dropout)
    if block_size > model_args['block_size']:
        raise UserError(
            f"block_size={block_size} but the checkpoint's model reads at most "
            f"{model_args['block_size']} positions: choose block_size <= "
            f"{model_args['block_size']}"
        )
    if data_vocab_size > model_args['vocab_size']:
        padded = -(-model_args['vocab_size'] // 64) * 64
        if data_vocab_size > padded:
            raise UserError(
                f"the data's tokenizer has {data_vocab_size} tokens but the model "
                f"only {model_args['vocab_size']} rows"
            )
        print(
            f"note: the model has {model_args['vocab_size']} rows for {data_vocab_size} tokens: "
            f"the missing ones are learnt from zero"
        )
        model_args['vocab_size'] = data_vocab_size
    return model_args


def model_from_checkpoint(checkpoint: dict, device: str | torch.device = 'cpu') -> LanguageModel:
    try:
        model = build_model(checkpoint['model_name'], **saved_model_args(checkpoint))
    except ValueError as e:
        raise UserError(f"the checkpoint's model does not fit this code: {e}")
    load_model_state(model, checkpoint['model'])
    return model.to(device)


def load_model(
    out_dir: str | os.PathLike, device: str | torch.device = 'cpu', model_name: str | None = None
) -> tuple[LanguageModel, dict[str, Any]]:
    """For the evaluation scripts: (model in eval mode, checkpoint). model_name, when given,
    must agree with the checkpoint."""
    checkpoint = load_checkpoint_file(out_dir, map_location='cpu')
    if model_name and model_name != checkpoint['model_name']:
        raise UserError(
            f"--model_name={model_name} but the checkpoint in {out_dir} holds a "
            f"'{checkpoint['model_name']}' model: drop --model_name (it is read from the "
            f"checkpoint) or point --out_dir at a {model_name} checkpoint"
        )
    if model_name and model_name not in MODEL_CLASSES:
        raise UserError(f"unknown model_name {model_name!r}: choose one of {list(MODEL_CLASSES)}")
    model = model_from_checkpoint(checkpoint, device)
    model.eval()
    checkpoint['out_dir'] = os.path.dirname(checkpoint_path(out_dir)) or '.'  # for files beside it
    return model, checkpoint


# --- random number generator states, for exact resume -------------------------------------


def rng_states() -> dict[str, Any]:
    """This process's RNG states, as types torch.load(weights_only=True) accepts."""
    np_state = np.random.get_state()
    states = {
        'python': random.getstate(),
        'numpy': [np_state[0], torch.from_numpy(np_state[1].astype(np.int64)), *np_state[2:]],
        'torch': torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        states['cuda'] = torch.cuda.get_rng_state_all()
    return states


def set_rng_states(states: dict[str, Any]) -> None:
    random.setstate(_as_tuples(states['python']))
    np_state = states['numpy']
    np.random.set_state((np_state[0], np_state[1].numpy().astype(np.uint32), *np_state[2:]))
    torch.set_rng_state(states['torch'])
    if 'cuda' in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states['cuda'])


def _as_tuples(x):
    return tuple(_as_tuples(v) for v in x) if isinstance(x, (list, tuple)) else x
