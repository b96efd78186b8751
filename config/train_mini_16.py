# Mini-Backpack-16: a Backpack with 16 senses on a 6-layer, 6-head, 384-wide GPT-2
# (26.0M parameters with the 10k vocabulary), on Europarl + MultiUN, English and French.
# One GPU:  python train.py config/train_mini_16.py --out_dir=out-bkp-mini-16 --model_name=backpack-lm
# 8 GPUs:   torchrun --standalone --nproc_per_node=8 train.py config/train_mini_16.py
out_dir = 'out-bkp-mini-16'
model_name = 'backpack-lm'
n_sense_vector = 16
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
wandb_run_name = 'mini-backpack-16'
