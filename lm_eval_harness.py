"""
Tasks of EleutherAI's lm-evaluation-harness on a checkpoint of this project (ours or converted,
GPT-2 or Backpack), each with its own tokenizer, through the model of evaluation/harness_model.py.
lm-eval is optional: pip install lm-eval==0.4.13 (the version this was tested with).

$ python lm_eval_harness.py --out_dir=out-bkp-mini-16 --tasks=blimp_regular_plural_subject_verb_agreement_1
$ python lm_eval_harness.py --out_dir=out-bkp-mini-16 --tasks=lambada_openai,hellaswag --num_fewshot=0 --limit=200
Local tasks (YAML files under a folder, their data in local files: no download):
$ python lm_eval_harness.py --out_dir=out/demo/backpack --tasks=my_pairs --include_path=my_tasks --include_defaults=False

How the harness's requests are read (line breaks as end-of-text tokens, every context after one,
documents scored with perplexity_per_lang.py's windows) is said in evaluation/harness_model.py;
docs/evaluation.md says which numbers agree with which of our scripts. Tasks whose data are on
the Hugging Face hub download them the first time (the harness's own datasets cache).

Writes to --report_dir (default: out_dir/lm_eval/), named after the tasks, the number of
few-shot examples and the limit (e.g. lm_eval_blimp_anaphor_gender_agreement.json):
  <name>.json   the harness's results (results, versions, n-shot, configs, n-samples, ...) and
                what produced them: out_dir, checkpoint_sha256, model_name, iter_num,
                block_size, stride, lm_eval_version
  <name>.md     the harness's table of metrics
A report of the same name is never replaced unless --overwrite=True.
"""

import json
import os
import sys

from common.checkpoint import checkpoint_path
from common.device_setup import default_device, resolve_device
from common.errors import UserError
from common.file_hash import file_sha256
from common.reporting import write_text
from configurator import at_least, configure, distinct, non_empty
from evaluation.checkpoints import checkpoint_out_dirs, default_report_dir, file_label

# -----------------------------------------------------------------------------
out_dir = 'out'  # the checkpoint to evaluate (out_dir/ckpt.pt)
tasks = []  # the harness's task names, e.g. --tasks=blimp_anaphor_gender_agreement,lambada_openai
num_fewshot = -1  # few-shot examples per request; -1: each task's own
limit = 0  # at most this many documents per task (0: all)
batch_size = 8  # sequences per forward pass
include_path = ''  # a folder of task YAML files (local tasks), searched besides the harness's own
include_defaults = (
    True  # False: only the tasks under include_path (indexing the harness's ~15,000 takes seconds)
)
data_root = ''  # '' -> the checkpoint's (where its tokenizer is)
stride = 0  # loglikelihood_rolling's new tokens per window; 0 -> block_size // 2, as perplexity_per_lang.py
seed = 1234  # the harness's seeds (few-shot sampling), and for tasks that sample
report_dir = ''  # '' -> out_dir/lm_eval
overwrite = False  # True: replace a report of the same name
device = default_device()
dtype = 'auto'  # 'auto' (float32 on CPU, bfloat16 or float16 on GPU), 'float32', 'bfloat16', 'float16'
ranges = dict(
    tasks=non_empty() & distinct(),
    num_fewshot=at_least(-1),
    limit=at_least(0),
    batch_size=at_least(1),
    stride=at_least(0),
)
# -----------------------------------------------------------------------------
config = configure(globals(), sys.argv[1:], ranges, strict_files=False)
# -----------------------------------------------------------------------------
# lm-eval, the checkpoint, the tasks and where the report goes: all checked before the model loads
try:
    import lm_eval
    from lm_eval.tasks import TaskManager
    from lm_eval.utils import handle_non_serializable, make_table
except ImportError:
    raise UserError(
        "lm-eval is not installed: pip install lm-eval==0.4.13 (the version this was tested with)"
    )
from evaluation.harness_model import TESTED_VERSION, CheckpointLM  # noqa: E402 (needs lm-eval)

if lm_eval.__version__ != TESTED_VERSION:
    print(f"note: lm-eval {lm_eval.__version__} is installed; this was tested with {TESTED_VERSION}")
resolve_device(device, dtype)
(out_dir,) = checkpoint_out_dirs(out_dir, [])
report_dir = default_report_dir(
    report_dir or os.path.join(os.path.dirname(checkpoint_path(out_dir)) or '.', 'lm_eval'), [out_dir]
)
if include_path and not os.path.isdir(include_path):
    raise UserError(
        f"--include_path={include_path} is not a folder: give the folder that holds the task YAML files"
    )
if not include_defaults and not include_path:
    raise UserError(
        "--include_defaults=False leaves no task: give --include_path=DIR (the local tasks' folder)"
    )
name = 'lm_eval_' + file_label('+'.join(tasks))[:120]
name += (f'_{num_fewshot}shot' if num_fewshot >= 0 else '') + (f'_limit{limit}' if limit else '')
paths = {ext: os.path.join(report_dir, f'{name}.{ext}') for ext in ('json', 'md')}
existing = [p for p in paths.values() if os.path.exists(p)]
if existing and not overwrite:
    raise UserError(
        f"{', '.join(existing)} already holds the results of an earlier run: pass --overwrite=True "
        f"to replace them, or another --report_dir"
    )
task_manager = TaskManager(include_path=include_path or None, include_defaults=include_defaults)
unknown = [t for t in tasks if t not in task_manager.all_tasks]
if unknown:
    import difflib

    close = {t: difflib.get_close_matches(t, task_manager.all_tasks, n=3) for t in unknown}
    raise UserError(
        "unknown task(s): "
        + '; '.join(f"{t}" + (f" (did you mean {', '.join(c)}?)" if c else '') for t, c in close.items())
        + ". `lm-eval ls tasks` lists the harness's; local ones need --include_path=DIR"
    )

# -----------------------------------------------------------------------------
# the evaluation: the harness builds the requests, our model answers them
model = CheckpointLM(
    out_dir=out_dir,
    device=device,
    dtype=dtype,
    batch_size=batch_size,
    data_root=data_root,
    stride=stride,
    seed=seed,
)
results = lm_eval.simple_evaluate(
    model=model,
    tasks=list(tasks),
    num_fewshot=None if num_fewshot < 0 else num_fewshot,
    limit=limit or None,
    task_manager=task_manager,
    log_samples=False,
    random_seed=seed,
    numpy_random_seed=seed,
    torch_random_seed=seed,
    fewshot_random_seed=seed,
)

# -----------------------------------------------------------------------------
# the outputs: the harness's results with what produced them, and its table
checkpoint = model.checkpoint
results['produced_by'] = dict(
    out_dir=out_dir,
    checkpoint_sha256=file_sha256(checkpoint_path(out_dir)),
    model_name=checkpoint['model_name'],
    iter_num=checkpoint.get('iter_num'),
    block_size=model.block_size,
    stride=model.stride,
    device=device,
    dtype=model.dtype,
    lm_eval_version=lm_eval.__version__,
)
table = make_table(results)
print(table)
write_text(
    paths['json'], json.dumps(results, indent=2, default=handle_non_serializable, ensure_ascii=False) + '\n'
)
write_text(
    paths['md'],
    f"lm-evaluation-harness {lm_eval.__version__} on {out_dir} ({checkpoint['model_name']}, iteration "
    f"{checkpoint.get('iter_num')}): {', '.join(tasks)}\n\n{table}",
)
print(f"wrote {paths['json']}, {paths['md']}")
