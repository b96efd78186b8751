"""
Explore a checkpoint in the browser: a local web app (Gradio) that shows a Backpack's senses as
you type. Three views: the senses of a word (and the K x K cosines with a second word's, its
translation say), a sentence in context (next-token predictions, a logit split into the
contributions of each earlier word and sense, alpha of a sense), and steering (a continuation
without and with some senses of a word scaled, as sample.py --sense_scale). A GPT-2 checkpoint
gets predictions and generation.

$ python explore.py --out_dir=out/demo/backpack
$ python explore.py --out_dir=out-bkp-mini-16 --port=7861 --device=cuda
Reachable from other machines (it listens on 127.0.0.1 unless told otherwise):
$ python explore.py --out_dir=out-bkp-mini-16 --host=0.0.0.0

Prints the local URL to open. It never shares the app publicly unless --share=True (a Gradio share
link, which needs the internet), and it takes no file paths from the page. The views are in
senses/explorer.py, their HTML in senses/explorer_page.py.
"""

import os
import socket
import sys

import torch

from common.checkpoint import load_model
from common.device_setup import autocast_context, default_device, resolve_device
from configurator import at_least, between, configure, one_of
from evaluation.checkpoints import checkpoint_data_root, checkpoint_tokenizer
from senses.explorer import NO_SENSES, NO_STEERING, describe_model
from senses.explorer_page import PAGE_CSS, context_page, steer_page, word_page
from senses.vectors import is_backpack

# -----------------------------------------------------------------------------
out_dir = 'out'  # the checkpoint to explore (out_dir/ckpt.pt)
model_name = ''  # optional: when given, must be the checkpoint's ('gpt2' or 'backpack-lm')
data_root = ''  # '' -> the checkpoint's (where its tokenizer files are)
host = '127.0.0.1'  # the address the app listens on; 0.0.0.0 makes it reachable from elsewhere
port = 7860
share = False  # True: also a public Gradio share link (needs the internet)
device = default_device()
dtype = 'auto'  # 'auto' (float32 on CPU, bfloat16 or float16 on GPU), 'float32', 'bfloat16', 'float16'
cpu_threads = 1  # PyTorch's CPU threads (0: its default); one answered 3-5x faster than two on 2 busy cores
ranges = dict(
    port=between(1, 65535), cpu_threads=at_least(0), dtype=one_of('auto', 'float32', 'bfloat16', 'float16')
)
# -----------------------------------------------------------------------------
config = configure(globals(), sys.argv[1:], ranges, strict_files=False)
# -----------------------------------------------------------------------------

_, dtype = resolve_device(device, dtype)
if cpu_threads:
    torch.set_num_threads(cpu_threads)
with socket.socket(socket.AF_INET6 if ':' in host else socket.AF_INET) as probe:
    try:
        probe.bind((host, port))
    except OSError as e:
        raise SystemExit(
            f"cannot listen on {host}:{port} ({e.strerror}): another program uses the "
            f"port, or the host is not an address of this machine; pass --port=N "
            f"or --host=ADDRESS"
        )
model, checkpoint = load_model(out_dir, device, model_name or None)
tok = checkpoint_tokenizer(checkpoint, checkpoint_data_root(checkpoint, data_root), model)
os.environ.setdefault('GRADIO_ANALYTICS_ENABLED', 'False')  # no usage reports sent anywhere
import gradio as gr  # noqa: E402 (after the checks above: importing it takes seconds)

backpack = is_backpack(model)
K = model.config.n_sense_vector if backpack else 0
if backpack:
    print(
        f"computing the sense table ({model.config.vocab_size:,} tokens x {K} senses) once, for "
        f"every view to read",
        flush=True,
    )
    model.sense_table()


def autocast():
    return autocast_context(device, dtype)  # a fresh context per request (requests run in threads)


def show_word(word, other_word, multi_token, top_k):
    return word_page(model, tok, word, other_word, multi_token, top_k)


def show_context(sentence, position, next_token, sense):
    page = context_page(model, tok, sentence, position, next_token, sense, autocast=autocast())
    positions = gr.Dropdown(choices=page.choices, value=page.position)
    return (page.message, page.tokens, page.predictions, page.contributions, page.alpha, positions)


def show_new_sentence(sentence, next_token, sense):
    return show_context(sentence, None, next_token, sense)  # at its last position


def show_steer(prompt, word, senses, factor, seed, max_new_tokens, temperature):
    return steer_page(
        model, tok, prompt, word, senses, factor, seed, max_new_tokens, temperature, autocast=autocast()
    )


with gr.Blocks(title=f"Sense explorer: {out_dir}") as app:
    gr.Markdown(
        f"## Sense explorer: `{out_dir}`\n{describe_model(model, checkpoint, tok)}",
        elem_id='model_description',
    )
    with gr.Tabs():
        with gr.Tab("Word senses", id='word_tab'):
            if not backpack:
                gr.Markdown(NO_SENSES, elem_id='word_absent')
            with gr.Row():
                word = gr.Textbox(label="Word (any language of the model)", value='', elem_id='word_input')
                other_word = gr.Textbox(
                    label="Second word (its translation, say)", elem_id='other_word_input'
                )
                multi_token = gr.Radio(
                    ['first', 'average'],
                    value='first',
                    elem_id='multi_token',
                    label="A word of several tokens: its first token or the average",
                )
                top_k = gr.Slider(1, 30, value=8, step=1, label="Tokens per sense", elem_id='top_k')
            word_button = gr.Button("Show senses", variant='primary', elem_id='word_button')
            word_message = gr.HTML(elem_id='word_message')
            with gr.Row():
                word_senses = gr.HTML(elem_id='word_senses')
                other_senses = gr.HTML(elem_id='other_word_senses')
            cosines = gr.HTML(elem_id='sense_cosines')
        with gr.Tab("In context", id='context_tab'):
            with gr.Row():
                sentence = gr.Textbox(label="Sentence", scale=3, elem_id='sentence_input')
                position = gr.Dropdown(
                    label="Prediction after position", choices=[], elem_id='position_input', interactive=True
                )
                next_token = gr.Textbox(
                    label="Next token to explain (a word, or #id; empty: the top prediction)",
                    elem_id='next_token_input',
                )
                sense = gr.Dropdown(
                    choices=list(range(K)),
                    value=0 if K else None,
                    visible=backpack,
                    label="Sense (for alpha)",
                    elem_id='sense_input',
                )
            context_button = gr.Button("Read the sentence", variant='primary', elem_id='context_button')
            context_message = gr.HTML(elem_id='context_message')
            context_tokens = gr.HTML(elem_id='context_tokens')
            with gr.Row():
                predictions = gr.HTML(elem_id='predictions')
                contributions = gr.HTML(elem_id='contributions')
            alpha = gr.HTML(elem_id='alpha')
        with gr.Tab("Steer" if backpack else "Generate", id='steer_tab'):
            if not backpack:
                gr.Markdown(NO_STEERING, elem_id='steer_absent')
            with gr.Row():
                prompt = gr.Textbox(label="Prompt", scale=3, elem_id='steer_prompt')
                steer_word = gr.Textbox(
                    label="Word whose senses are scaled", visible=backpack, elem_id='steer_word'
                )
                steer_senses = gr.Textbox(
                    label="Senses (3,7 or * for all)", value='0', visible=backpack, elem_id='steer_senses'
                )
                factor = gr.Textbox(
                    label="Factor (0 removes them)", value='0', visible=backpack, elem_id='steer_factor'
                )
            with gr.Row():
                seed = gr.Textbox(label="Seed", value='1337', elem_id='steer_seed')
                max_new_tokens = gr.Slider(
                    1, 200, value=20, step=1, label="New tokens", elem_id='steer_max_new_tokens'
                )
                temperature = gr.Textbox(
                    label="Temperature (0: greedy)", value='0.8', elem_id='steer_temperature'
                )
            steer_button = gr.Button("Generate", variant='primary', elem_id='steer_button')
            steer_message = gr.HTML(elem_id='steer_message')
            with gr.Row():
                baseline = gr.Textbox(
                    label="Without the intervention", lines=6, interactive=False, elem_id='steer_baseline'
                )
                steered = gr.Textbox(
                    label="With it", lines=6, interactive=False, visible=backpack, elem_id='steer_steered'
                )

    word_outputs = [word_message, word_senses, other_senses, cosines]
    word_inputs = [word, other_word, multi_token, top_k]
    for event in (word_button.click, word.submit, other_word.submit):
        event(show_word, word_inputs, word_outputs)
    context_outputs = [context_message, context_tokens, predictions, contributions, alpha, position]
    for event in (context_button.click, sentence.submit):
        event(show_new_sentence, [sentence, next_token, sense], context_outputs)
    for event in (position.input, next_token.submit, sense.input):
        event(show_context, [sentence, position, next_token, sense], context_outputs)
    steer_inputs = [prompt, steer_word, steer_senses, factor, seed, max_new_tokens, temperature]
    for event in (steer_button.click, prompt.submit):
        event(show_steer, steer_inputs, [steer_message, baseline, steered])

_, local_url, share_url = app.launch(
    server_name=host,
    server_port=port,
    share=share,
    quiet=True,
    prevent_thread_lock=True,
    css=PAGE_CSS,
    ssr_mode=False,
    footer_links=[],
)
print(
    f"exploring {out_dir} ({describe_model(model, tokenizer=tok)}) at {local_url}"
    + (f" and publicly at {share_url}" if share_url else ''),
    flush=True,
)
app.block_thread()
