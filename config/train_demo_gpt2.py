# A small GPT-2 trained in a few minutes on a laptop CPU, on the offline demo corpus
# (python data/demo/prepare.py). The quick start trains it next to config/train_demo_backpack.py,
# with the same Transformer and the same number of tokens.
# python train.py config/train_demo_gpt2.py
out_dir = 'out/demo/gpt2'
model_name = 'gpt2'
n_layer = 4
n_head = 4
n_embd = 128
block_size = 128
dropout = 0.0

list_of_datasets = ['demo']
xlm_alpha = 0.5
batch_size = 8  # small batches, more updates: what a few CPU minutes learn most from
gradient_accumulation_steps = 1

learning_rate = 2e-3
max_iters = 900  # about 0.9M tokens, 3-4 minutes on 2 CPU cores
lr_decay_iters = 900
warmup_iters = 50
min_lr = 2e-4
weight_decay = 0.1

eval_interval = 300
eval_iters = 10
log_interval = 50
compile = False
