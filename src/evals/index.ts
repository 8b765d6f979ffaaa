// Public surface of src/evals: the registry, templates, completion functions, the runner, the
// recorder, metrics, reports and comparisons.
export type * from './types.ts';
export { parseYaml, YamlError } from './yaml.ts';
export { Registry, RegistryError, defaultRoots, type EvalSpec, type ClassSpec } from './registry.ts';
export {
  samplesFromArgs,
  UnknownClassError,
  type TemplateEnv,
  type EvalInstance,
  type TemplateFactory,
  type CustomEvalExport,
} from './classes.ts';
export { knownTemplateClasses, TEMPLATE_CLASSES, templateFactory } from './class-table.ts';
export { loadSamples, readJsonl, checkSample, idealList, withFewShot, chatToText, formatTemplate, SampleError } from './samples.ts';
export * from './templates/index.ts';
export * from './completion/index.ts';
export * from './metrics.ts';
export { runEval, instantiate, sampleOrder, SHUFFLE_SEED, DEFAULT_SEED, type RunOptions, type RunResult } from './runner.ts';
export {
  RunRecorder,
  RunDatabase,
  readRunLog,
  newRunId,
  runsDir,
  defaultDbPath,
  type RunSpec,
  type LoggedEvent,
  type RunLog,
} from './recorder.ts';
export { pythonShuffle, MersenneTwister } from './pyrandom.ts';
export { openRun, sampleRows, summaryTable, htmlReport, reliabilitySvg, metricRows, verdictOf, type SampleRow } from './report.ts';
export { compareRuns, formatComparison, type Comparison, type MetricDiff, type Flip } from './compare.ts';
