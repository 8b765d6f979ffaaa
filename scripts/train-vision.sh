#!/usr/bin/env sh
# The one-hour vision model (docs/MODEL.md, "Image input"): a 4-layer model from nothing with the
# shapes tokenizer, trained in four stages on the shapes scenes, 8x8 digits and Fashion-MNIST,
# then evaluated on the held-out splits. Form and colour enter apart (`:colour`) and the mixed
# stages draw some shapes beyond the contract's kinds and colours (`--variety 0.3`): together they
# carry colour and kind over to the held-out colour-shape combinations. Each stage resumes where
# it stopped and is skipped once done, so the script can be interrupted (Ctrl-C) and run again.
#   sh scripts/train-vision.sh [RUN_DIR]     (default runs/vision; needs `npm run vision-data`)
set -eu
cd "$(dirname "$0")/.."
R=${1:-runs/vision}
mkdir -p "$R"
MIX="--data synth:shapes --mix digits:0.1,fashion:0.25 --batch 16 --eval-every 500 --checkpoint-every 500 --variety 0.3"
# stage NAME LAST_STEP FLAGS...: run `tetra sft` into R/NAME unless its last step is saved.
stage() {
  name=$1 last=$(printf 'step-%06d' "$2")
  shift 2
  if [ -f "$R/$name/checkpoints/$last/checkpoint.json" ]; then echo "train-vision: $name done"; return; fi
  resume=""
  [ -f "$R/$name/checkpoints/latest" ] && resume="--resume"
  echo "train-vision: $name ($(date +%H:%M:%S))"
  # shellcheck disable=SC2086
  npx tetra sft "$@" --out "$R/$name" $resume
}
# 1. everything at once, 7,000 of a 9,400-step schedule (side and relations have not formed yet)
stage s1 7000 --init 4:192:12 --tokenizer models/tokenizers/shapes-512.json --vision 64:8:128:16:colour:xy $MIX --questions 6 \
  --steps 9400 --stop-at 7000 --lr 2e-3 --warmup 200
# 2. side and relation questions asked more often: the model learns where each shape is
stage s2 2500 --checkpoint "$R/s1" $MIX --questions 6 --types colour,kind,count,exist,caption,side,side,relation,relation,relation \
  --steps 2500 --lr 1e-3
# 3. the relation probe: side, relation and list questions alone (relations form after 2,000 steps)
stage s3 4000 --checkpoint "$R/s2" --data synth:shapes --batch 16 --eval-every 500 --checkpoint-every 500 \
  --types side,relation,list --questions 3 --steps 4000 --lr 1e-3
# 4. everything again, list questions kept, at a lower rate: what the probe narrowed comes back
stage s4 1500 --checkpoint "$R/s3" $MIX --questions 6 --types colour,kind,count,exist,caption,side,side,relation,relation,relation,list \
  --steps 1500 --lr 5e-4
npx tsx scripts/eval-shapes.ts "$R/s4" --relations 600
