#!/usr/bin/env bash
# The original multilingual project's four published checkpoints, from Google Drive (gdown),
# into checkpoints/original/<name>/ckpt.pt; prints the convert command for each.
#
#   bash data/get_checkpoints.sh [mini-gpt2|mini-backpack-16|small-gpt2|small-backpack-16|all]
#
# Resumable: a checkpoint already there is kept, a partial download is continued (gdown
# --continue). Offline it stops at once, saying what it could not reach and where to put files
# fetched by other means. Set CHECKPOINTS_DIR to download elsewhere.
set -euo pipefail

dest_root="${CHECKPOINTS_DIR:-checkpoints/original}"
declare -A drive_ids=(
  [mini-gpt2]=1YxlRtqGeg-ISILtxDl0p6t4IrQR2qe-Y
  [mini-backpack-16]=1Q3ZXjrMXZylwCGqyFoHfBzX2gf09z_M3
  [small-gpt2]=1gwbNGrDZ1MMR1L_nxfoQ1x9y_BgF5-gn
  [small-backpack-16]=1bSEPVB42utEsIRyELnIgLQ0S9F0iyrIg
)
names=(mini-gpt2 mini-backpack-16 small-gpt2 small-backpack-16)
choice="${1:-all}"
if [[ "$choice" == all ]]; then
  selected=("${names[@]}")
elif [[ -n "${drive_ids[$choice]:-}" ]]; then
  selected=("$choice")
else
  echo "get_checkpoints.sh: unknown checkpoint '$choice': choose one of ${names[*]} or all" >&2
  exit 2
fi

where_to_put() {
  for name in "${selected[@]}"; do
    echo "  https://drive.google.com/file/d/${drive_ids[$name]}/view -> $dest_root/$name/ckpt.pt" >&2
  done
}

if ! command -v gdown >/dev/null 2>&1; then
  echo "get_checkpoints.sh: gdown is not installed (pip install gdown). Or download by other means:" >&2
  where_to_put
  exit 1
fi
if ! timeout 5 bash -c 'exec 3<>/dev/tcp/drive.google.com/443' 2>/dev/null; then
  echo "get_checkpoints.sh: cannot reach drive.google.com (offline?). Download the files by other means and put them here:" >&2
  where_to_put
  exit 1
fi

for name in "${selected[@]}"; do
  folder="$dest_root/$name"
  mkdir -p "$folder"
  if [[ -f "$folder/ckpt.pt" ]]; then
    echo "$folder/ckpt.pt is there already"
  else
    # gdown writes the partial file under its own name and continues it on the next run
    gdown --continue "https://drive.google.com/uc?id=${drive_ids[$name]}" -O "$folder/ckpt.pt.part"
    mv "$folder/ckpt.pt.part" "$folder/ckpt.pt"
  fi
done
echo "convert them with the original project's tokenizer (its folder tokenizer/BkpTokenizer.json/):"
for name in "${selected[@]}"; do
  echo "  python convert_checkpoint.py --source=$dest_root/$name/ckpt.pt --tokenizer=BkpTokenizer.json/ --out_dir=out-original-$name"
done
