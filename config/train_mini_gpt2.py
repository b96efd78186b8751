# Mini-GPT2: a 6-layer, 6-head, 384-wide GPT-2
# (14.5M parameters with the 10k vocabulary), on Europarl + MultiUN, English and French.
# One GPU:  python train.py config/train_mini_gpt2.py --out_dir=out-gpt2-mini --model_name=gpt2
# 8 GPUs:   torchrun --standalone --nproc_per_node=8 train.py config/train_mini_gpt2.py
out_dir = 'out-gpt2-mini'
model_name = 'gpt2'
n_layer = 6
n_head = 6
n_embd = 384
block_size = 256
dropout = 0.0

list_of_datasets = ['europarl', 'multiun']
xlm_alpha = 0.3
# 32 sequences x 256 tokens x 16 micro-steps = 131,072 tokens per iteration
batch_size = 32
gradient_accumulation_steps = 16

learning_rate = 1e-3  # smaller models take a larger learning rate
max_iters = 20000
lr_decay_iters = 20000
warmup_iters = 1000
min_lr = 1e-4
weight_decay = 0.1

eval_interval = 1000
eval_iters = 100
log_interval = 10
backup_checkpoint_step = 5000
compile = True

wandb_log = False
wandb_project = 'multilingual-backpack'
wandb_run_name = 'mini-gpt2'
