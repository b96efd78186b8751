# A small Backpack trained in a few minutes on a laptop CPU, on the offline demo corpus
# (python data/demo/prepare.py). The quick start trains it next to config/train_demo_gpt2.py,
# with the same Transformer and the same number of tokens.
# python train.py config/train_demo_backpack.py
out_dir = 'out/demo/backpack'
model_name = 'backpack-lm'
n_sense_vector = 16
n_layer = 4
n_head = 4
n_embd = 128
block_size = 128
dropout = 0.0

list_of_datasets = ['demo']
xlm_alpha = 0.5
batch_size = 16
gradient_accumulation_steps = 1

learning_rate = 2e-3
max_iters = 1500
lr_decay_iters = 1500
warmup_iters = 100
min_lr = 2e-4
weight_decay = 0.1

eval_interval = 250
eval_iters = 20
log_interval = 50
compile = False
