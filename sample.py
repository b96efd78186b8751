"""
Sample from a trained GPT-2 or Backpack checkpoint, as in nanoGPT.

$ python sample.py --out_dir=out-bkp-mini-16 --start="La séance est" --num_samples=3 --max_new_tokens=60
$ python sample.py --out_dir=out-gpt2-mini --start=FILE:prompt.txt --temperature=0.7 --top_k=50 --seed=42
$ python sample.py config/train_mini_16.py --out_dir=out-bkp-mini-16 --device=cuda
Steer a Backpack by scaling chosen senses of chosen words (0 removes them; see senses/intervention.py):
$ python sample.py --out_dir=out/demo/backpack --start="The bank" --sense_scale="bank:3,7"
$ python sample.py --out_dir=out/demo/backpack --start="Le vol" --sense_scale="vol:*=0.5;temps:2=0"

Every prompt starts after an end-of-text token, the start of a line as the model saw in
training; an end-of-text token in the output ends a line and is printed as a newline. The same
--seed gives the same samples (on the same device, dtype and library versions). The model and the
tokenizer come from the checkpoint (--data_root: where the tokenizer files are, if the checkpoint's
data root moved). Only tokens of the tokenizer are drawn (a converted model may have more rows);
a prompt holding tokens the model has no row for is refused, naming them. --temperature=0 (greedy)
prints one sample: every other would be the same.
"""

import sys

from common.checkpoint import load_model
from common.device_setup import autocast_context, default_device, resolve_device
from common.sampling import model_prompt_ids, sample_texts
from common.text_input import read_text
from configurator import at_least, configure
from evaluation.checkpoints import checkpoint_data_root, checkpoint_tokenizer
from senses.intervention import sense_scale_from_spec

# -----------------------------------------------------------------------------
out_dir = 'out'  # the checkpoint to sample from (out_dir/ckpt.pt)
model_name = ''  # optional: when given, must be the checkpoint's ('gpt2' or 'backpack-lm')
start = ''  # the prompt ('' starts a new line); "FILE:prompt.txt" reads it from a file
num_samples = 3
max_new_tokens = 100  # tokens generated per sample
temperature = 0.8  # 1.0: the model's distribution; lower: more conservative; 0: greedy
top_k = 200  # sample among the top_k most likely tokens only (None or 0: all)
seed = 1337
data_root = ''  # '' -> the checkpoint's (where its tokenizer files are)
device = default_device()
dtype = 'auto'  # 'auto' (float32 on CPU, bfloat16 or float16 on GPU), 'float32', 'bfloat16', 'float16'
sense_scale = ''  # Backpack only: 'WORD:SENSES[=FACTOR];...', e.g. 'bank:3,7' (factor 0 removes them)
ranges = dict(
    num_samples=at_least(1),
    max_new_tokens=at_least(1),
    temperature=at_least(0),
    top_k=at_least(0).or_none(),
    seed=at_least(0),
)
# -----------------------------------------------------------------------------
config = configure(globals(), sys.argv[1:], ranges, strict_files=False)
# -----------------------------------------------------------------------------

_, dtype = resolve_device(device, dtype)
model, checkpoint = load_model(out_dir, device, model_name or None)
tok = checkpoint_tokenizer(checkpoint, checkpoint_data_root(checkpoint, data_root), model)

if start.startswith('FILE:'):
    prompt_file = start[len('FILE:') :]
    start = read_text(prompt_file, '--start=FILE:')
    if not start.strip():
        print(f"note: the prompt file {prompt_file} holds no text: the samples start from a new line")
prompt = model_prompt_ids(model, tok, start, '--start')
if len(prompt) > model.config.block_size:
    print(
        f"note: the prompt has {len(prompt)} tokens; the model sees the last "
        f"{model.config.block_size} (its block size)"
    )

# keyword arguments for the model's forward pass while generating: interventions go here
forward_kwargs = {}
if sense_scale:
    forward_kwargs['token_sense_scale'], scaled = sense_scale_from_spec(model, tok, sense_scale)
    for s in scaled:
        print(f"scaling senses {s['senses']} of {s['word']} (tokens {s['tokens']}) by {s['factor']}")

if temperature == 0 and num_samples > 1:
    print(
        f"note: --temperature=0 always takes the most likely token, so the {num_samples} "
        f"samples would be the same: printing one (a temperature above 0 draws different ones)"
    )
    num_samples = 1

for text in sample_texts(
    model,
    tok,
    start,
    num_samples,
    max_new_tokens,
    temperature,
    top_k,
    seed,
    autocast_context(device, dtype),
    **forward_kwargs,
):
    print(text)
    print('---------------')
