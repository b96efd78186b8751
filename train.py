"""
Train a GPT-2 or a Backpack language model on prepared data: one or more datasets, any languages.

One process (CPU or one GPU):
$ python train.py config/train_small_16.py --out_dir=out-bkp-small-16 --model_name=backpack-lm
Resume exactly where it stopped (after Ctrl-C, a kill, or the end of max_iters):
$ python train.py config/train_small_16.py --out_dir=out-bkp-small-16 --model_name=backpack-lm --init_from=resume
Eight GPUs on one node (DDP):
$ torchrun --standalone --nproc_per_node=8 train.py config/train_small_16.py
Several nodes, e.g. 2 x 8 GPUs (run on each node, --node_rank=0 and 1):
$ torchrun --nproc_per_node=8 --nnodes=2 --node_rank=0 --master_addr=IP --master_port=1234 train.py ...
A few minutes on a laptop CPU, on the offline demo corpus:
$ python data/demo/prepare.py && python train.py config/train_demo_backpack.py
"""

import math
import os
import signal
import sys
import time

import torch
from torch.distributed import destroy_process_group, init_process_group
from torch.nn.parallel import DistributedDataParallel as DDP

from common.checkpoint import (
    CKPT_NAME,
    LAST_CKPT_NAME,
    checkpoint_path,
    fine_tuning_checkpoint,
    fine_tuning_model_args,
    load_checkpoint_file,
    load_model_state,
    model_state_dict,
    resume_changes_text,
    resume_checkpoint_path,
    rng_states,
    save_checkpoint,
    saved_model_args,
    set_rng_states,
)
from common.device_setup import (
    autocast_context,
    default_device,
    device_peak_flops,
    resolve_device,
    reuse_freed_memory,
    warn_slow_sense_sum,
)
from common.errors import UserError
from common.run_folder import check_start, lock_out_dir, prepare_out_dir, resume_command, start_fresh
from common.training_log import TrainingLog, closing_text, evaluation_text, sampling_text, validation_text
from configurator import (
    Range,
    at_least,
    at_most,
    below,
    between,
    configure,
    divisor_of,
    format_config,
    greater_than,
    non_empty,
    one_of,
)
from data.prepared import PreparedData
from model import MODEL_CLASSES, build_model, model_args_of

# -----------------------------------------------------------------------------
# default config values: a Small Backpack on Europarl + MultiUN
# I/O
out_dir = 'out'
eval_interval = 2000
log_interval = 1
eval_iters = 200
eval_only = False  # if True, evaluate once and exit (a trained model: init_from='resume' or DIR)
always_save_checkpoint = True  # if False, ckpt.pt is written only when val loss improves, and
# the state at an interruption or at the end goes to ckpt_last.pt
backup_checkpoint_step = 0  # if > 0, also keep ckpt_{iter}.pt every this many iterations
init_from = 'scratch'  # 'scratch', 'resume', or DIR: fine-tune the checkpoint in DIR (any, converted ones too) with a fresh optimizer
overwrite = (
    False  # a new run (scratch or DIR) into an out_dir that holds a run: True starts over, replacing it
)
# wandb logging
wandb_log = False
wandb_project = 'multilingual-backpack'
wandb_run_name = 'run'
# data
data_root = 'data'
list_of_datasets = ['europarl', 'multiun']
xlm_alpha = 0.3  # language sampling: q_lang proportional to p_lang ** xlm_alpha
gradient_accumulation_steps = 5 * 8  # global: divided across DDP processes
batch_size = 12  # sequences per micro-step and process
block_size = 256
# model
model_name = 'backpack-lm'  # 'gpt2' or 'backpack-lm'
n_layer = 12
n_head = 12
n_embd = 768
dropout = 0.0
bias = False
n_sense_vector = 16  # Backpack only
sense_intermediate_scale = 4  # Backpack only
sense_dedup = True  # Backpack only: run the sense network once per distinct token of a batch
# AdamW
learning_rate = 6e-4
max_iters = 600000
weight_decay = 1e-1
beta1 = 0.9
beta2 = 0.95
grad_clip = 1.0  # 0 disables clipping
# learning rate: linear warmup then cosine decay
decay_lr = True
warmup_iters = 2000
lr_decay_iters = 600000  # ~= max_iters per Chinchilla
min_lr = 6e-5  # ~= learning_rate / 10
# system
backend = 'auto'  # DDP backend: 'auto' (nccl on CUDA, gloo on CPU), 'nccl', 'gloo'
device = default_device()  # 'cpu', 'cuda', 'cuda:0', 'mps'
dtype = 'auto'  # 'auto' (bfloat16 on GPUs that have it, else float16; float32 on CPU), 'float32', 'bfloat16', 'float16'
compile = False  # torch.compile the model (faster on GPU after a minute of compiling)
peak_flops = 0.0  # FLOP/s of one device for MFU; 0 looks the GPU up in a table
seed = 1337
# valid values, checked all at once before any work
ranges = dict(
    out_dir=non_empty(),
    eval_interval=at_least(1),
    log_interval=at_least(1),
    eval_iters=at_least(1),
    backup_checkpoint_step=at_least(0),
    xlm_alpha=at_least(0),
    init_from=one_of('scratch', 'resume')
    | Range(lambda v, c: os.path.isfile(checkpoint_path(v)), f"a folder holding a {CKPT_NAME} to fine-tune"),
    gradient_accumulation_steps=at_least(1),
    batch_size=at_least(1),
    block_size=at_least(1),
    model_name=one_of(*MODEL_CLASSES),
    n_layer=at_least(1),
    n_embd=at_least(1),
    # each head, and each sense of a Backpack, gets an equal share of n_embd
    n_head=at_least(1) & divisor_of('n_embd'),
    n_sense_vector=at_least(1)
    & divisor_of('n_embd').only_if(lambda c: c['model_name'] == 'backpack-lm', "in a backpack-lm"),
    dropout=between(0, 1, high_open=True),
    sense_intermediate_scale=at_least(1),
    learning_rate=greater_than(0),
    max_iters=at_least(1),
    weight_decay=at_least(0),
    beta1=between(0, 1, high_open=True),
    beta2=between(0, 1, high_open=True),
    grad_clip=at_least(0),
    warmup_iters=at_least(0) & below('lr_decay_iters'),
    lr_decay_iters=at_least(1),
    min_lr=at_least(0) & at_most('learning_rate'),
    backend=one_of('auto', 'nccl', 'gloo'),
    peak_flops=at_least(0),
)
# -----------------------------------------------------------------------------
config = configure(globals(), sys.argv[1:], ranges)
# what init_from, out_dir, overwrite and model_name ask for together, before anything is written
check_start(out_dir, init_from, overwrite, eval_only, sys.argv)
fine_tuned = fine_tuning_checkpoint(init_from, model_name) if init_from not in ('scratch', 'resume') else None
# -----------------------------------------------------------------------------

# various inits, derived attributes, I/O setup
ddp = int(os.environ.get('RANK', -1)) != -1  # is this a torchrun process?
if ddp:
    ddp_rank = int(os.environ['RANK'])
    ddp_local_rank = int(os.environ['LOCAL_RANK'])
    ddp_world_size = int(os.environ['WORLD_SIZE'])
    if device.startswith('cuda'):
        device = f'cuda:{ddp_local_rank}'
        torch.cuda.set_device(device)
    elif torch.get_num_threads() > 1:
        # processes sharing a CPU: split its cores instead of fighting over them
        local_world = int(os.environ.get('LOCAL_WORLD_SIZE', ddp_world_size))
        torch.set_num_threads(max(1, torch.get_num_threads() // local_world))
    if backend == 'auto':
        backend = 'nccl' if device.startswith('cuda') else 'gloo'
    init_process_group(backend=backend)
    master_process = ddp_rank == 0
else:
    ddp_rank, ddp_world_size, master_process = 0, 1, True
if gradient_accumulation_steps % ddp_world_size != 0:
    raise SystemExit(
        f"gradient_accumulation_steps={gradient_accumulation_steps} must be divisible "
        f"by the number of processes ({ddp_world_size}): it is the global number of "
        f"micro-steps per iteration, shared between processes"
    )
# this process's global micro-steps: what each one sees depends on (seed, iteration, micro-step)
# only, so the global batch is the same whatever the number of processes
local_micro_steps = list(range(ddp_rank, gradient_accumulation_steps, ddp_world_size))
device_type, dtype = resolve_device(device, dtype)
config['device'], config['dtype'] = device, dtype
tokens_per_iter = gradient_accumulation_steps * batch_size * block_size
if master_process:
    # one run at a time in out_dir (the lock lasts as long as this process), and a run from
    # scratch never replaces another's checkpoint and logs unasked
    prepare_out_dir(out_dir)
    out_dir_lock = lock_out_dir(out_dir)
    if init_from != 'resume':  # from scratch, or fine-tuning another run's model
        start_fresh(out_dir, overwrite, sys.argv)
    print(f"configuration:\n{format_config(config)}")
    print(
        f"tokens per iteration: {tokens_per_iter:,} ({gradient_accumulation_steps} micro-steps x "
        f"{batch_size} sequences x {block_size} tokens, over {ddp_world_size} process(es))"
    )
torch.manual_seed(seed + ddp_rank)
torch.backends.cuda.matmul.allow_tf32 = True
torch.backends.cudnn.allow_tf32 = True
ctx = autocast_context(device, dtype)
if device_type == 'cpu':
    reuse_freed_memory()  # no page faults for every step's large activations

# data
data = PreparedData(data_root, list_of_datasets)
if master_process:
    print(
        f"data: {', '.join(data.datasets)}; tokenizer {data.tokenizer['name']}, vocabulary {data.vocab_size}"
    )
    print(sampling_text(data, xlm_alpha))
    if note := validation_text(data, block_size):
        print(note)


def get_batch(split, step, micro_step, language=None, stream='train'):
    return data.get_batch(
        split, batch_size, block_size, seed, step, micro_step, xlm_alpha, language, device, stream
    )


# model
model_args = dict(
    n_layer=n_layer,
    n_head=n_head,
    n_embd=n_embd,
    block_size=block_size,
    bias=bias,
    vocab_size=data.vocab_size,
    dropout=dropout,
)
if model_name == 'backpack-lm':
    model_args.update(
        n_sense_vector=n_sense_vector,
        sense_intermediate_scale=sense_intermediate_scale,
        sense_dedup=sense_dedup,
    )
iter_num, best_val_loss, checkpoint = 0, 1e9, None
if init_from == 'resume':
    ckpt_path = resume_checkpoint_path(out_dir)
    if master_process:
        print(f"resuming from {ckpt_path}")
    checkpoint = load_checkpoint_file(ckpt_path, map_location='cpu')
    if 'optimizer' not in checkpoint:  # a converted model: weights without a training run's state
        raise UserError(
            f"{ckpt_path} holds a model but no training state to resume (a converted "
            f"checkpoint?): fine-tune it with --init_from={out_dir} and another --out_dir"
        )
    if checkpoint['model_name'] != model_name:
        raise UserError(
            f"{ckpt_path} holds a '{checkpoint['model_name']}' model but "
            f"model_name={model_name}: resume with --model_name="
            f"{checkpoint['model_name']} or use another out_dir"
        )
    saved_tokenizer = checkpoint['data']['tokenizer']
    if saved_tokenizer.get('sha256') != data.tokenizer.get('sha256'):
        raise UserError(
            f"{ckpt_path} was trained with tokenizer {saved_tokenizer.get('name')} "
            f"but the data now uses {data.tokenizer.get('name')} (different "
            f"sha256): resume on the data it was trained on, or start a new out_dir"
        )
    differ = {
        k: (checkpoint['model_args'].get(k), v)
        for k, v in model_args.items()
        if k != 'dropout' and checkpoint['model_args'].get(k) != v
    }
    if differ:
        raise UserError(
            f"{ckpt_path} holds a model of another shape than this configuration asks for: "
            + ', '.join(f"{k}={saved} in the checkpoint but {now} now" for k, (saved, now) in differ.items())
            + ". Resume with the configuration it was trained with, or use another out_dir."
        )
    if master_process and (note := resume_changes_text(checkpoint.get('config', {}), config)):
        print(note)
    iter_num, best_val_loss = checkpoint['iter_num'], checkpoint['best_val_loss']
    model_args = dict(saved_model_args(checkpoint), dropout=dropout)  # its design, e.g. its sense network
elif init_from != 'scratch':  # fine-tuning: another checkpoint's model and weights, a fresh optimizer
    checkpoint, fine_tuned = fine_tuned, None
    model_args = fine_tuning_model_args(checkpoint, data.tokenizer, data.vocab_size, block_size, dropout)
    if master_process:
        print(f"fine-tuning the {model_name} of {init_from}")
try:
    model = build_model(model_name, **model_args)
except ValueError as e:
    raise SystemExit(f"model configuration error: {e}")
if checkpoint is not None:
    load_model_state(model, checkpoint['model'])
if model.config.block_size > block_size:
    model.crop_block_size(block_size)  # fine-tuning on shorter sequences than it was trained on
model_args = model_args_of(model)  # every field, so that the checkpoint says what it holds
model.to(device)
warn_slow_sense_sum(model, device, dtype)
if master_process:
    print(
        f"{model_name}: {model.get_num_params() / 1e6:.2f}M parameters "
        f"(position embeddings excluded, tied token embedding counted once)"
    )

# optimizer and gradient scaler (float16 only: bfloat16 and float32 need no loss scaling)
scaler = torch.amp.GradScaler(device_type, enabled=(dtype == 'float16'))
optimizer = model.configure_optimizers(weight_decay, learning_rate, (beta1, beta2), device_type)
if init_from == 'resume':
    optimizer.load_state_dict(checkpoint['optimizer'])
    scaler.load_state_dict(checkpoint['scaler'])
    states = checkpoint['rng_states']
    if len(states) == ddp_world_size:
        set_rng_states(states[ddp_rank])
    elif master_process:
        print(
            f"note: the checkpoint holds the random states of {len(states)} process(es), this "
            f"run has {ddp_world_size}: dropout masks will differ from the original run"
        )
    checkpoint = None  # free memory

raw_model = model
if compile:
    if master_process:
        print("compiling the model... (takes a minute)")
    model = torch.compile(model)
if ddp:
    model = DDP(model, device_ids=[ddp_local_rank] if device_type == 'cuda' else None)


def stop_agreed():
    """Whether any process was asked to stop (every process learns it: a collective in DDP)."""
    if not ddp:
        return stop_requested
    flag = torch.tensor(float(stop_requested), device=device)
    torch.distributed.all_reduce(flag)
    return flag.item() > 0


@torch.no_grad()
def estimate_loss():
    """Mean loss over eval_iters fixed batches per split, and on the validation split per
    language. The batches are the same at every evaluation and are shared between processes.
    None when a stop was requested meanwhile: an evaluation is not worth a cluster's grace period."""
    out = {}
    model.eval()
    jobs = [('train', None), ('val', None)] + [('val', lang) for lang in data.languages]
    for split, lang in jobs:
        if not data.sources(split, block_size, lang):
            continue
        total = torch.zeros(2, device=device)
        for first in range(0, eval_iters, ddp_world_size):  # the same steps on every process
            if stop_agreed():
                model.train()
                return None
            k = first + ddp_rank
            if k >= eval_iters:
                continue
            X, Y = get_batch(split, k, 0, lang, stream='eval')
            with ctx:
                _, loss = model(X, Y)
            total += torch.stack([loss.float(), torch.ones((), device=device)])
        if ddp:
            torch.distributed.all_reduce(total)
        out[f'{split}_loss' + (f'_{lang}' if lang else '')] = (total[0] / total[1]).item()
    model.train()
    return out


def get_lr(it):
    """Linear warmup for warmup_iters steps, then cosine decay down to min_lr."""
    if it < warmup_iters:
        return learning_rate * (it + 1) / (warmup_iters + 1)
    if it > lr_decay_iters:
        return min_lr
    decay_ratio = (it - warmup_iters) / (lr_decay_iters - warmup_iters)
    coeff = 0.5 * (1.0 + math.cos(math.pi * decay_ratio))
    return min_lr + coeff * (learning_rate - min_lr)


def make_checkpoint():
    """The state to resume from: every process's random states are gathered into it."""
    states = rng_states()
    if ddp:
        all_states = [None] * ddp_world_size
        torch.distributed.all_gather_object(all_states, states)
        states = all_states
    else:
        states = [states]
    return {
        'model': model_state_dict(raw_model),
        'optimizer': optimizer.state_dict(),
        'scaler': scaler.state_dict(),
        'model_name': model_name,
        'model_args': model_args,
        'config': config,
        'iter_num': iter_num,
        'best_val_loss': best_val_loss,
        'rng_states': states,
        'data': data.identity(),
    }


checkpoints_written = []


def write_checkpoint(name):
    ckpt = make_checkpoint()  # collective: every process takes part
    if master_process:
        path = os.path.join(out_dir, name)
        save_checkpoint(ckpt, path)
        checkpoints_written.append(name)
        print(f"saved checkpoint {path} (next iteration {iter_num})")


# SIGINT / SIGTERM: finish the iteration, save, say how to resume. Then exit 130 after Ctrl-C, so
# that what comes next (`train.py && evaluate`, demo.py) does not take the unfinished run for a
# finished one; 0 after SIGTERM, a scheduler's stop whose save is all it asked for
stop_requested = False
stop_signal = None


def request_stop(signum, frame):
    global stop_requested, stop_signal
    if stop_requested:  # a second Ctrl-C: stop now, without saving
        raise KeyboardInterrupt
    stop_requested, stop_signal = True, signum
    if master_process:
        print(
            f"\n{signal.Signals(signum).name} received: finishing this iteration (an evaluation "
            f"stops at once), then saving",
            flush=True,
        )


signal.signal(signal.SIGINT, request_stop)
signal.signal(signal.SIGTERM, request_stop)

log = None
if master_process:
    log = TrainingLog(
        out_dir,
        config,
        data.languages,
        resume_from_iter=iter_num if init_from == 'resume' else None,
        wandb_log=wandb_log,
        wandb_project=wandb_project,
        wandb_run_name=wandb_run_name,
    )
device_peak = device_peak_flops(device, dtype, peak_flops)
resumed_at = iter_num if init_from == 'resume' else None

# training loop
t0 = time.time()
running_mfu = -1.0
stop_now = stop_during_eval = False
while True:
    lr = get_lr(iter_num) if decay_lr else learning_rate
    for param_group in optimizer.param_groups:
        param_group['lr'] = lr

    # evaluate the loss on train/val sets and write checkpoints
    if iter_num % eval_interval == 0 or iter_num == max_iters or eval_only:
        losses = estimate_loss()
        if losses is None:  # stopped during the evaluation
            stop_during_eval = True
            break
        if master_process:
            print(evaluation_text(iter_num, losses), flush=True)
            log.log_eval({'iter': iter_num, 'tokens': iter_num * tokens_per_iter, 'lr': lr, **losses})
        val_loss = losses.get('val_loss', losses.get('train_loss'))
        if not math.isfinite(val_loss):
            raise SystemExit(
                f"validation loss is {val_loss} at iteration {iter_num}: training "
                f"diverged. The last good checkpoint in {out_dir} was left as it was; "
                f"lower learning_rate or use dtype=bfloat16/float32."
            )
        improved = val_loss < best_val_loss
        best_val_loss = min(best_val_loss, val_loss)
        if iter_num > 0 and iter_num != resumed_at and not eval_only:
            if improved or always_save_checkpoint:
                write_checkpoint(CKPT_NAME)
            elif iter_num == max_iters:
                write_checkpoint(LAST_CKPT_NAME)
            if backup_checkpoint_step > 0 and iter_num % backup_checkpoint_step == 0:
                write_checkpoint(f'ckpt_{iter_num}.pt')
    if eval_only or iter_num >= max_iters:
        break

    # forward, backward, update; the loss is divided by the number of micro-steps so that the
    # gradient is the mean over the global batch
    loss_sum = torch.zeros((), device=device)
    for i, micro_step in enumerate(local_micro_steps):
        X, Y = get_batch('train', iter_num, micro_step)
        if ddp:
            # synchronise gradients on the last micro-step only
            model.require_backward_grad_sync = i == len(local_micro_steps) - 1
        with ctx:
            logits, loss = model(X, Y)
            loss = loss / gradient_accumulation_steps
        scaler.scale(loss).backward()
        loss_sum += loss.detach().float()
    # every process learns the global loss and whether any process was asked to stop
    status = torch.stack([loss_sum, torch.tensor(float(stop_requested), device=device)])
    if ddp:
        torch.distributed.all_reduce(status)
    lossf, stop_now = status[0].item(), status[1].item() > 0
    if not math.isfinite(lossf):
        raise SystemExit(
            f"loss is {lossf} at iteration {iter_num}: training diverged. Nothing was "
            f"saved, so the last good checkpoint in {out_dir} is intact; resume from it "
            f"with a lower learning_rate, or use dtype=bfloat16/float32."
        )
    if grad_clip != 0.0:
        scaler.unscale_(optimizer)
        torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    scaler.step(optimizer)
    scaler.update()
    optimizer.zero_grad(set_to_none=True)

    t1 = time.time()
    dt, t0 = t1 - t0, t1
    if master_process and iter_num % log_interval == 0:
        mfu = (
            raw_model.estimate_mfu(batch_size * gradient_accumulation_steps, dt, device_peak)
            if device_peak
            else None
        )
        if mfu is not None:
            running_mfu = mfu if running_mfu == -1.0 else 0.9 * running_mfu + 0.1 * mfu
        mfu_text = f", mfu {running_mfu * 100:.1f}%" if mfu is not None else ""
        print(
            f"iter {iter_num}: loss {lossf:.4f}, time {dt * 1000:.0f}ms, "
            f"{tokens_per_iter / dt:,.0f} tokens/s{mfu_text}",
            flush=True,
        )
        log.log_iteration(
            {
                'iter': iter_num,
                'loss': repr(lossf),
                'lr': lr,
                'time_ms': dt * 1000,
                'tokens_per_s': tokens_per_iter / dt,
                'mfu': mfu,
            }
        )
    iter_num += 1

    if stop_now:
        break

if stop_now or stop_during_eval:
    # saved unless nothing was trained since the start or the resumed checkpoint
    if iter_num > 0 and iter_num != resumed_at and not eval_only:
        write_checkpoint(CKPT_NAME if always_save_checkpoint else LAST_CKPT_NAME)
    elif master_process:
        print("nothing trained since the start: no checkpoint written")
    if master_process and os.path.isfile(resume_checkpoint_path(out_dir)):
        print(f"to resume: {resume_command(sys.argv)}")

if master_process:
    log.finish()
    print(closing_text(out_dir, checkpoints_written))
if ddp:
    # every rank waits for the master's logs and figure, then all leave together: a rank that
    # tore its process group down while the master was still busy was seen to abort at exit
    # (SIGABRT from gloo's threads), and torchrun then stops the master too
    torch.distributed.barrier()
    destroy_process_group()
if stop_signal == signal.SIGINT:
    sys.exit(128 + signal.SIGINT)  # 130, the shell's code for a command stopped by Ctrl-C
