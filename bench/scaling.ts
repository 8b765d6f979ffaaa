// Predictable scaling, measured: plan a ladder whose total compute is at most 1/extrapolation of
// a target run's, train the ladder, fit L(C) = a C^b + c, register the prediction, record the
// target's start, train the target, score it, and draw the report. Every step is the `tetra
// scale` command a user runs. Ends with:
//   scale_prediction_error_pct <|measured - predicted| / measured of the target's final val loss, in %>
//   scale_extrapolation_x <target compute / largest ladder run's compute>
// The same runs predict a capability too (the report's §3.2): -E[log pass rate] on held-out
// addition problems per difficulty bucket, registered with the loss before the target starts,
// printed per bucket as `scale_capability_error_pct <bucket> <error>`.
// Flags: --corpus DIR (default: a byte-level corpus of WordNet plus synthetic addition, built into
// data/wordnet-arith-bytes; any corpus from tetra data build works, the capability lines need its
// arithmetic source), --minutes M (target training time, default 30),
// --extrapolation X (ladder total <= target / X, default 1000), --runs N (default 6), --span S
// (largest / smallest ladder run, default 16: a ladder 1,000x below a 30-minute target that
// reached further down would start on the plateau before a model learns anything but byte
// frequencies), --seq-len T (default 64), --out DIR.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { configFromDepth, flopsPerToken } from '../src/model/index.ts';
import { readRegistry, readResults, type LadderPlan, type Score } from '../src/scaling/index.ts';
import { oneLineFailures } from './prereqs.ts';

oneLineFailures('bench:scaling');

const root = resolve(import.meta.dirname, '..');
const bin = join(root, 'bin/tetra.js');
const { values: a } = parseArgs({
  options: {
    corpus: { type: 'string' },
    minutes: { type: 'string', default: '30' },
    extrapolation: { type: 'string', default: '1000' },
    runs: { type: 'string', default: '6' },
    span: { type: 'string', default: '16' },
    out: { type: 'string' },
    'seq-len': { type: 'string', default: '64' },
  },
});

function tetra(args: string[], what: string): string {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) {
    console.error(`bench:scaling: ${what} failed (exit ${r.status}): tetra ${args.join(' ')}`);
    process.exit(1);
  }
  return r.stdout;
}

const corpus = resolve(a.corpus ?? join(root, 'data/wordnet-arith-bytes'));
if (!existsSync(join(corpus, 'manifest.json'))) {
  if (a.corpus) {
    console.error(`bench:scaling: ${corpus} is not a corpus (no manifest.json); build one with tetra data build`);
    process.exit(1);
  }
  tetra(
    ['data', 'build', '--name', 'wordnet-arith-bytes', '--out', corpus, '--sources', 'wordnet,arithmetic', '--tokenizer', 'bytes'],
    'building the WordNet + addition corpus',
  );
}
const seqLen = Number(a['seq-len']);
const MIN_PASS = 0.001;
const out = resolve(a.out ?? join(root, 'runs', `scaling-${new Date().toISOString().slice(0, 19).replace(/[:T]/g, '-')}`));
mkdirSync(out, { recursive: true });
const manifest = JSON.parse(readFileSync(join(corpus, 'manifest.json'), 'utf8')) as { tokenizer: { vocabSize: number } };

// Calibrate: a short run at depth 4 gives this machine's sustained training FLOP/s.
const calib = join(out, 'calibration');
tetra(
  [
    'train',
    '--data',
    corpus,
    '--out',
    calib,
    '--depth',
    '4',
    '--seq-len',
    String(seqLen),
    '--steps',
    '12',
    '--eval-every',
    '0',
    '--sample-every',
    '0',
    '--checkpoint-every',
    '0',
    '--warmup',
    '2',
  ],
  'calibration run',
);
const steps = readFileSync(join(calib, 'metrics.jsonl'), 'utf8')
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l) as { tok_per_s: number })
  .slice(4);
const tokPerS = steps.map((m) => m.tok_per_s).sort((x, y) => x - y)[steps.length >> 1];
const fps = tokPerS * flopsPerToken(configFromDepth(4, { vocabSize: manifest.tokenizer.vocabSize, contextLength: seqLen }), seqLen);
const targetFlops = fps * Number(a.minutes) * 60,
  ladderFlops = targetFlops / Number(a.extrapolation);
console.error(
  `bench:scaling: ${(fps / 1e9).toFixed(1)} GFLOP/s sustained; target ${targetFlops.toExponential(2)} FLOPs, ladder at most ${ladderFlops.toExponential(2)}`,
);

const planFile = join(out, 'plan.in.json'),
  dir = join(out, 'ladder'),
  registry = join(dir, 'predictions.jsonl');
tetra(
  [
    'scale',
    'plan',
    '--target-flops',
    String(targetFlops),
    '--ladder-flops',
    String(ladderFlops),
    '--data',
    corpus,
    '--seq-len',
    String(seqLen),
    '--runs',
    a.runs!,
    '--span',
    a.span!,
    '--min-extrapolation',
    a.extrapolation!,
    '--gflops',
    String(fps / 1e9),
    '--out',
    planFile,
  ],
  'planning',
);
const plan = JSON.parse(readFileSync(planFile, 'utf8')) as LadderPlan;
tetra(['scale', 'run', '--plan', planFile, '--data', corpus, '--out', dir], 'the ladder');
const registered = (kind: string, capability: boolean) =>
  readRegistry(registry).filter(
    (e) => e.kind === kind && (capability ? e.target.startsWith(`${plan.target.name}:`) : e.target === plan.target.name),
  );
if (!registered('prediction', false).length) tetra(['scale', 'predict', '--dir', dir], 'registering the prediction');
// A budget of 1,000 samples per problem (the report's is "large"): at 1/1000 of a 30-minute run
// here, the ladder's models pass even 1-digit sums only a few times in a hundred.
if (!registered('prediction', true).length && !registered('started', false).length)
  tetra(['scale', 'capability', '--dir', dir, '--predict', '--min-pass', String(MIN_PASS)], 'registering the capability predictions');
tetra(['scale', 'start', '--target', plan.target.name, '--registry', registry], 'recording the start');
tetra(['scale', 'run', '--plan', planFile, '--data', corpus, '--out', dir, '--with-target'], 'the target');
const measured = readResults(dir).find((r) => r.name === plan.target.name)!;
if (!registered('score', false).length) {
  tetra(['scale', 'score', '--target', plan.target.name, '--loss', String(measured.valLoss), '--registry', registry], 'scoring');
}
if (!registered('score', true).length && registered('prediction', true).length)
  tetra(['scale', 'capability', '--dir', dir, '--score', '--min-pass', String(MIN_PASS)], 'scoring the capability predictions');
const capEntries = () => registered('score', true) as unknown as Score[];
tetra(['scale', 'report', '--dir', dir], 'the report');

const score = registered('score', false)[0] as unknown as Score;
console.log('run       depth  width      params      tokens        FLOPs  val loss');
for (const r of readResults(dir)) {
  console.log(
    `${r.name.padEnd(8)}  ${String(r.depth).padStart(5)}  ${String(r.width).padStart(5)}  ${String(r.params).padStart(10)}  ${String(r.tokens).padStart(10)}  ${r.flops.toExponential(2).padStart(11)}  ${r.valLoss.toFixed(4).padStart(8)}`,
  );
}
console.log(
  `predicted ${score.predictedLoss.toFixed(4)}, measured ${score.measuredLoss.toFixed(4)} (${score.withinInterval ? 'inside' : 'outside'} the registered interval); report ${join(dir, 'report.html')}`,
);
for (const c of capEntries())
  console.log(`capability ${c.target}: -E[log pass rate] measured ${c.measuredLoss.toFixed(4)}, predicted ${c.predictedLoss.toFixed(4)}`);
if (capEntries().length === 0) console.log('capability: no bucket has problems every ladder run passes; nothing to predict');
for (const c of capEntries()) console.log(`scale_capability_error_pct ${c.target.split(':')[1]} ${c.errorPct.toFixed(2)}`);
console.log(`scale_prediction_error_pct ${score.errorPct.toFixed(2)}`);
console.log(`scale_extrapolation_x ${plan.extrapolation.toFixed(0)}`);
