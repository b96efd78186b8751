# The demo's third model: a GPT-2 with as many parameters as config/train_demo_backpack.py
# (3,134,072 against 3,114,496, +0.6%), made wider, not deeper: the same 4 blocks and 4 heads as
# the other two, 184 wide instead of 128. Same corpus, tokens, seed and schedule as both, so the
# report can tell the Backpack's architecture from its size (docs/models.md says why wider).
# python train.py config/train_demo_gpt2_matched.py
out_dir = 'out/demo/gpt2_matched'
model_name = 'gpt2'
n_layer = 4
n_head = 4
n_embd = 184
block_size = 128
dropout = 0.0

list_of_datasets = ['demo']
xlm_alpha = 0.5
batch_size = 8  # small batches, more updates: what a few CPU minutes learn most from
gradient_accumulation_steps = 1

learning_rate = 2e-3
max_iters = 900  # about 0.9M tokens, as the other two
lr_decay_iters = 900
warmup_iters = 50
min_lr = 2e-4
weight_decay = 0.1

eval_interval = 300
eval_iters = 10
log_interval = 50
compile = False
