#!/usr/bin/env bash
# Check the GPU path in one go, in under 10 minutes, on a machine with an NVIDIA GPU:
#   bash bkp_install/gpu_check.sh                       report in out/gpu_check/
#   bash bkp_install/gpu_check.sh --report_dir=DIR      report elsewhere
# 1. the CUDA tests (tests/test_cuda.py: fused sense sum, bfloat16, compile, cache, DDP over NCCL);
# 2. bench.py on the Small preset (config/train_small_16.py) in bfloat16 with torch.compile, MFU
#    included, at block 256 (batch 32) and block 1024 (batch 8), on the offline demo corpus.
# Writes gpu_check.md and gpu_check.json (what docs/gpu.md quotes) and stops, saying so, without a
# GPU.
set -euo pipefail

report_dir=out/gpu_check
for arg in "$@"; do
  case "$arg" in
    --report_dir=*) report_dir="${arg#--report_dir=}" ;;
    -h|--help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown option: $arg (use --report_dir=DIR or --help)" >&2; exit 2 ;;
  esac
done

cd "$(dirname "$0")/.."
python=python3
[ -x .venv/bin/python ] && python=.venv/bin/python

if ! "$python" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
  echo "No CUDA GPU is visible to PyTorch here ($("$python" -c 'import torch; print("torch", torch.__version__)' 2>/dev/null || echo 'PyTorch is not installed')),"
  echo "so there is nothing to check: this script is for a machine with an NVIDIA GPU."
  echo "Set one up with bkp_install/bkp_nvidia.sh and bkp_install/python_env.sh, then run it again."
  exit 1
fi

if ! "$python" -c 'import pytest' 2>/dev/null; then
  echo "The CUDA tests need pytest, a test requirement: bash bkp_install/python_env.sh --test, then run this again." >&2
  exit 1
fi

mkdir -p "$report_dir"
started=$(date +%s)
echo "== GPU: $(nvidia-smi -L 2>/dev/null | head -n 1 || echo unknown)"

echo "== 1. CUDA tests"
tests_rc=0
"$python" -m pytest tests/test_cuda.py -q -rs 2>&1 | tee "$report_dir/tests.txt" || tests_rc=$?

echo "== 2. bench.py, Small preset, bfloat16, torch.compile"
if [ ! -f data/demo/meta.json ]; then
  "$python" data/demo/prepare.py
fi
bench_rc=0
for point in 256:32 1024:8; do
  block=${point%%:*}
  batch=${point##*:}
  "$python" bench.py config/train_small_16.py --list_of_datasets="['demo']" --device=cuda \
    --dtype=bfloat16 --compile=True --block_size="$block" --batch_size="$batch" \
    --tokenize_megabytes=0 --report_dir="$report_dir/block_$block" || bench_rc=$?
done

"$python" - "$report_dir" "$tests_rc" "$bench_rc" "$started" <<'EOF'
import os, sys, time
sys.path.insert(0, os.getcwd())
from reporting import markdown_table, read_json, write_json, write_text

report_dir, tests_rc, bench_rc, started = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
with open(os.path.join(report_dir, 'tests.txt')) as f:
    tests_summary = [line for line in f.read().splitlines() if line.strip()][-1:]
points, rows = {}, []
for block in (256, 1024):
    bench = read_json(os.path.join(report_dir, f'block_{block}', 'bench.json'), None)
    if bench is None:
        continue
    points[block] = bench
    m = bench['measurements']
    rows.append({'block': block, 'batch': bench['config']['batch_size'],
                 'GPT-2 tokens/s': m['train_tokens_per_s']['gpt2'],
                 'Backpack tokens/s': m['train_tokens_per_s']['backpack-lm'],
                 'time ratio': bench['train_step_time_ratio'], 'FLOP ratio': bench['flop_ratio'],
                 'GPT-2 MFU': (m['mfu'] or {}).get('gpt2'), 'Backpack MFU': (m['mfu'] or {}).get('backpack-lm'),
                 'memory ratio': bench['peak_memory_ratio'],
                 'GPT-2 memory (GB)': m['peak_memory_bytes']['gpt2'] / 1e9,
                 'Backpack memory (GB)': m['peak_memory_bytes']['backpack-lm'] / 1e9})
columns = list(rows[0]) if rows else ['block']
formats = {c: ',.0f' for c in columns if 'tokens/s' in c}
formats.update({c: '.3f' for c in columns if 'ratio' in c or 'MFU' in c})
formats.update({c: '.2f' for c in columns if '(GB)' in c})
machine = next(iter(points.values()))['machine'] if points else 'bench.py did not run'
summary = {'tests_exit_code': tests_rc, 'tests_summary': tests_summary, 'bench_exit_code': bench_rc,
           'seconds': round(time.time() - started), 'machine': machine, 'points': points}
write_json(os.path.join(report_dir, 'gpu_check.json'), summary)
write_text(os.path.join(report_dir, 'gpu_check.md'),
           f"# GPU check\n\n{machine}\n\nCUDA tests: {' '.join(tests_summary) or 'no output'} "
           f"(exit code {tests_rc}).\n\nSmall preset, bfloat16, torch.compile, demo corpus:\n\n"
           f"{markdown_table(rows, columns, formats)}\nTotal {summary['seconds']} s.\n")
print(open(os.path.join(report_dir, 'gpu_check.md')).read())
EOF
echo "wrote $report_dir/gpu_check.md and gpu_check.json"
[ "$tests_rc" = 0 ] && [ "$bench_rc" = 0 ]
