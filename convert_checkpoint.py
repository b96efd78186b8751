"""
Models from elsewhere as checkpoints of this project, and ours as Hugging Face models.

Import (the original project's ckpt.pt, a Hugging Face GPT2LMHeadModel or BackpackGPT2LMHeadModel
folder, or a hub id), into DIR/ckpt.pt with its tokenizer beside it:
$ python convert_checkpoint.py --source=checkpoints/mini-backpack-16/ckpt.pt --tokenizer=BkpTokenizer.json/ --out_dir=out-orig-mini-backpack-16
$ python convert_checkpoint.py --source=stanfordnlp/backpack-gpt2 --out_dir=out-backpack-gpt2
$ python convert_checkpoint.py --source=path/to/gpt2_folder --out_dir=out-gpt2-hf
Export one of ours (config.json, model.safetensors, tokenizer.json, tokenizer_config.json) into a
new or empty folder; end-of-text is its begin, end and padding token:
$ python convert_checkpoint.py --source=out-bkp-mini-16 --hf_dir=hf-bkp-mini-16

The converted model computes the source's logits (float32, relative error < 1e-5: see
tests/test_convert_checkpoint.py); formats are told apart from their contents
(--source_format=auto), and the formats themselves are in docs/backpack.md.
"""

import json
import os
import re
import shutil
import socket
import sys
import tempfile

import numpy as np
import torch

from common import tokenizer as tokenizer_module
from common.checkpoint import CKPT_NAME, load_model, save_checkpoint
from common.errors import UserError
from common.file_hash import file_sha256
from common.model_conversion import hf_export, read_source
from configurator import configure
from evaluation.checkpoints import checkpoint_tokenizer
from model import build_model, model_args_of

# -----------------------------------------------------------------------------
source = ''  # a ckpt.pt of the original project, a Hugging Face model folder, a hub id, or (with --hf_dir) one of our out_dirs
out_dir = ''  # where the converted checkpoint goes (DIR/ckpt.pt and DIR/tokenizer.json)
hf_dir = ''  # export --source (one of our checkpoints) as a Hugging Face model folder
tokenizer = ''  # a tokenizer.json or a folder holding one; '' -> the source folder's, or GPT-2's for GPT-2 vocabularies
source_format = 'auto'  # 'auto', 'original_project', 'hf_gpt2' or 'hf_backpack'
data_root = ''  # with --hf_dir: where the checkpoint's tokenizer lies ('' -> the data root it records)
# -----------------------------------------------------------------------------
config = configure(globals(), sys.argv[1:])
# -----------------------------------------------------------------------------

GPT2_VOCABULARIES = (50257, 50264, 50304)  # GPT-2's BPE, as published, padded by Backpack-GPT2, by nanoGPT
HUB_HOST = 'huggingface.co'
HUB_ID = re.compile(r'^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$')


def fail(message):
    raise SystemExit(f"convert_checkpoint: {message}")


def hub_folder(repo_id):
    """The hub model's files, downloaded (or found in the Hugging Face cache)."""
    local = (
        "download its config.json, tokenizer.json and model.safetensors (or pytorch_model.bin) "
        f"from https://huggingface.co/{repo_id} by other means into a folder, and give "
        f"--source=THAT_FOLDER"
    )
    try:
        from huggingface_hub import snapshot_download
    except ImportError:
        fail(
            f"--source={repo_id} is not a local path, and reading hub ids needs huggingface_hub "
            f"(pip install huggingface_hub). Or {local}"
        )
    patterns = ['config.json', 'tokenizer.json', 'model.safetensors', 'pytorch_model.bin']
    try:
        return snapshot_download(repo_id, allow_patterns=patterns, local_files_only=True)
    except Exception:
        pass  # not cached: download
    if os.environ.get('HF_HUB_OFFLINE', '').lower() in ('1', 'true', 'yes'):
        fail(
            f"--source={repo_id}: not a local path, not in the Hugging Face cache, and "
            f"HF_HUB_OFFLINE is set. Either run once online, or {local}"
        )
    try:
        socket.create_connection((HUB_HOST, 443), timeout=3).close()
    except OSError as e:
        fail(
            f"--source={repo_id}: not a local path, not in the Hugging Face cache, and "
            f"{HUB_HOST} cannot be reached ({e}). Either run once with internet access, or {local}"
        )
    try:
        return snapshot_download(repo_id, allow_patterns=patterns)
    except Exception as e:
        fail(f"--source={repo_id}: the download failed ({type(e).__name__}: {str(e)[:300]}). {local}")


def resolve_source(path):
    if os.path.exists(path):
        return path
    if HUB_ID.match(path) and not path.endswith('.pt'):
        return hub_folder(path)
    fail(f"--source={path} does not exist (and is not a hub id such as gpt2 or stanfordnlp/backpack-gpt2)")


def source_tokenizer(source_path, model_args):
    """(tokenizer, tokenizer.json path or None) the model was trained with."""
    if tokenizer:
        path = tokenizer_module.hf_tokenizer_file(tokenizer)
        return tokenizer_module.HFTokenizer(path), path
    folder = source_path if os.path.isdir(source_path) else os.path.dirname(source_path)
    candidate = os.path.join(folder, tokenizer_module.HF_TOKENIZER_FILE)
    if os.path.isfile(candidate):
        return tokenizer_module.HFTokenizer(candidate), candidate
    if model_args['vocab_size'] in GPT2_VOCABULARIES:
        print(
            f"no tokenizer.json beside the source: using GPT-2's BPE (tiktoken's 'gpt2'), as the "
            f"{model_args['vocab_size']}-row vocabulary suggests; give --tokenizer otherwise"
        )
        return tokenizer_module.load_tokenizer('gpt2'), None
    fail(
        f"no tokenizer.json beside {source_path}: give --tokenizer=PATH, the tokenizer.json the model "
        f"was trained with (the original project's: its folder tokenizer/BkpTokenizer.json/)"
    )


def unreadable_tokens_warning(tok, rows, consequence):
    """The tokens a model of `rows` rows cannot embed, named; None when there is none."""
    missing = tokenizer_module.tokens_without_rows(tok, rows)
    if not missing:
        return None
    return (
        f"warning: the tokenizer has {tok.n_vocab} ids, among them "
        f"{tokenizer_module.missing_rows_message(tok, missing, rows)}. {consequence}"
    )


def import_model():
    if os.path.lexists(out_dir) and not os.path.isdir(out_dir):
        fail(f"--out_dir={out_dir} is a file, not a folder: choose a folder for the checkpoint")
    if os.path.isfile(os.path.join(out_dir, CKPT_NAME)):
        fail(
            f"{out_dir}/{CKPT_NAME} exists: choose another --out_dir (a conversion never "
            f"overwrites a checkpoint)"
        )
    source_path = resolve_source(source)
    model_name, model_args, state = read_source(source_path, source_format)
    tok, tokenizer_path = source_tokenizer(source_path, model_args)
    existing = os.path.join(out_dir, tokenizer_module.HF_TOKENIZER_FILE)
    if tokenizer_path and os.path.isfile(existing) and file_sha256(existing) != tok.sha256:
        fail(
            f"{existing} exists and is another tokenizer than {tokenizer_path}: choose another "
            f"--out_dir (a conversion never overwrites a file it did not write)"
        )
    warning = unreadable_tokens_warning(
        tok,
        model_args['vocab_size'],
        "The evaluation scripts skip and count the lines that need "
        "them; the other tools refuse such text, naming the tokens.",
    )
    if warning:
        print(warning)
    with torch.device('meta'):  # its configuration and counts only: the weights are `state`'s
        model = build_model(model_name, **model_args)
    os.makedirs(out_dir, exist_ok=True)
    if tokenizer_path:
        tokenizer_module.copy_hf_tokenizer(tokenizer_path, out_dir)
    save_checkpoint(
        {
            'model': {k: v.contiguous() for k, v in state.items()},
            'model_name': model_name,
            'model_args': model_args_of(model),
            'config': {'converted_from': source, 'source_format': source_format},
            'iter_num': 0,
            'best_val_loss': float('nan'),
            'data': {
                'tokenizer': tok.identity(),
                'vocab_size': tok.n_vocab,
                'list_of_datasets': [],
                'languages': [],
            },
        },
        os.path.join(out_dir, CKPT_NAME),
    )
    print(
        f"{source} -> {out_dir}/{CKPT_NAME}: {model_name}, {model.get_num_params() / 1e6:.2f}M "
        f"parameters; tokenizer {tok.name} ({tok.n_vocab} tokens)"
    )


def export_destination_problem(path):
    """Why --hf_dir=path cannot receive an export, or None: it must be new or an empty folder
    (an export never mixes its files with a user's, nor replaces them)."""
    if os.path.isdir(path):
        if os.listdir(path):
            return f"--hf_dir={path} exists and is not empty: choose a new folder"
        return None
    if os.path.lexists(path):
        return f"--hf_dir={path} is a file, not a folder: choose a new folder for the export"
    parent = os.path.dirname(os.path.abspath(path))
    existing = parent
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        return f"--hf_dir={path}: {existing} is a file, so no folder can be made under it"
    return None


def folder_permissions():
    """The mode a folder made with os.mkdir gets: 0o777 less the umask."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o777 & ~umask


def export_model():
    problem = export_destination_problem(hf_dir)
    if problem:
        fail(problem)
    model, checkpoint = load_model(source)
    root = data_root or (checkpoint.get('data') or {}).get('data_root') or 'data'
    tok = checkpoint_tokenizer(checkpoint, root, model)
    warning = unreadable_tokens_warning(
        tok,
        model.config.vocab_size,
        "The exported tokenizer still produces them: text that "
        "needs them cannot be given to the exported model.",
    )
    if warning:
        print(warning)
    config_json, weights = hf_export(model, tok.eot_token)
    tokenizer_json = tokenizer_module.hf_tokenizer_json(tok)  # the same ids, as a tokenizer.json
    parent = os.path.dirname(os.path.abspath(hf_dir))
    os.makedirs(parent, exist_ok=True)
    # renamed into place when complete; made as any folder is (mkdtemp's would be the owner's only)
    tmp = tempfile.mkdtemp(prefix='.hf_export_', dir=parent)
    os.chmod(tmp, folder_permissions())
    try:
        write_hf_files(tmp, config_json, weights, tokenizer_json, tok, model.config)
        file_mode = folder_permissions() & 0o666
        for name in os.listdir(tmp):
            os.chmod(os.path.join(tmp, name), file_mode)
        if os.path.isdir(hf_dir):
            try:
                os.rmdir(hf_dir)  # empty when checked
            except OSError:
                fail(
                    f"--hf_dir={hf_dir} is no longer empty: something wrote there during the "
                    f"export. Nothing of it was changed; choose a new folder"
                )
        os.replace(tmp, hf_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    print(f"{source} -> {hf_dir}: {config_json['architectures'][0]}")


def write_hf_files(folder, config_json, weights, tokenizer_json, tok, model_config):
    """The files of the Hugging Face model into folder: model.safetensors, config.json,
    tokenizer.json, tokenizer_config.json and, for a model with rows past its tokenizer,
    generation_config.json (which keeps generate from drawing them)."""
    from safetensors.torch import save_file

    save_file(weights, os.path.join(folder, 'model.safetensors'), metadata={'format': 'pt'})
    with open(os.path.join(folder, 'config.json'), 'w') as f:
        json.dump(config_json, f, indent=2)
    with open(os.path.join(folder, tokenizer_module.HF_TOKENIZER_FILE), 'w', encoding='utf-8') as f:
        f.write(tokenizer_json)
    eot = tokenizer_module.EOT
    with open(os.path.join(folder, 'tokenizer_config.json'), 'w') as f:
        json.dump(
            {
                'tokenizer_class': 'PreTrainedTokenizerFast',
                'bos_token': eot,
                'eos_token': eot,
                'unk_token': eot,
                'pad_token': eot,
                'model_max_length': model_config.block_size,
            },
            f,
            indent=2,
        )
    rows = tokenizer_module.token_rows(tok, model_config.vocab_size)
    no_token = np.flatnonzero(~rows).tolist()
    if no_token:  # rows past the tokenizer: generate must never draw them
        with open(os.path.join(folder, 'generation_config.json'), 'w') as f:
            json.dump(
                {
                    'bos_token_id': tok.eot_token,
                    'eos_token_id': tok.eot_token,
                    'pad_token_id': tok.eot_token,
                    'suppress_tokens': no_token,
                },
                f,
            )


if not source:
    fail("give --source=PATH_OR_HUB_ID (see the docstring of convert_checkpoint.py)")
if bool(out_dir) == bool(hf_dir):
    fail(
        "give exactly one of --out_dir=DIR (import into this project) and --hf_dir=DIR (export "
        "one of our checkpoints to Hugging Face)"
    )
torch.set_grad_enabled(False)
try:
    import_model() if out_dir else export_model()
except UserError as e:
    fail(str(e))
