#!/usr/bin/env sh
# The one-hour vision model (docs/MODEL.md, "Image input"): a 4-layer model from nothing with the
# shapes tokenizer, trained in two stages, then evaluated on the held-out splits. Form and colour
# enter apart (`:colour`), each image block attends to itself both ways (`:prefix`), some shapes are
# drawn beyond the contract's kinds and colours (`--variety 0.3`) and count questions ask about
# shapes the scene has half the time (`--count-present 0.5`). Every question follows its image (the
# engine puts a message's images first; with `--text-first 0.5` left/right stayed at chance in the
# hour). Stage 1 is shapes alone: colour, kind, count, existence and captions form there,
# undisturbed. Stage 2 adds 8x8 digits, Fashion-MNIST and the position questions (side, left/right
# relations, the training-only lists), asked most often.
# Stage 1 takes 10,000 steps: at 5,000 the held-out combinations counted 76% against 96% seen, at
# 10,000 85% against 97% (bench/RESULTS.md, session 28). 53 minutes on the Zen 5 machine (29.6 +
# 23.4); about 85 on the Zen 4 one, whose steps are 1.5 times slower.
# Each stage resumes where it stopped and is skipped once done, so the script can be interrupted
# (Ctrl-C) and run again.
#   sh scripts/train-vision.sh [RUN_DIR]     (default runs/vision; needs `npm run vision-data`)
set -eu
cd "$(dirname "$0")/.."
R=${1:-runs/vision}
mkdir -p "$R"
SHAPES="--data synth:shapes --batch 16 --variety 0.3 --count-present 0.5"
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
# 1. shapes alone: what each shape is, how many there are, whether one is there, captions
stage s1 10000 --init 4:192:12 --tokenizer models/tokenizers/shapes-512.json --vision 64:8:128:16:colour:xy:prefix $SHAPES \
  --types colour,kind,count,exist,caption --questions 5 --steps 10000 --lr 2e-3 --warmup 200
# 2. everything, digits and Fashion-MNIST rows too, the position questions (side, relation, list) asked most often
stage s2 5400 --checkpoint "$R/s1" $SHAPES --mix digits:0.1,fashion:0.3 --eval-every 500 --checkpoint-every 500 --questions 6 \
  --types colour,kind,count,exist,caption,side,relation,relation,relation,relation,list,list,list --steps 5400 --lr 1e-3 --warmup 100
npx tsx scripts/eval-shapes.ts "$R/s2" --scenes 400 --relations 600
