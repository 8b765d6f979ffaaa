// Public surface of src/evals: the registry, templates, completion functions, the runner, the
// recorder, metrics, reports and comparisons.
export type * from './types.ts';
export { parseYaml, readYamlFile, YamlError, MAX_YAML_BYTES, MAX_ALIAS_COUNT, MAX_ALIAS_WORK } from './yaml.ts';
export { Registry, RegistryError, defaultRoots, type EvalSpec, type ClassSpec } from './registry.ts';
export { samplesFromArgs, UnknownClassError, type TemplateEnv, type EvalInstance, type TemplateFactory } from './classes.ts';
export type { CustomEvalExport, CustomTemplate } from './custom-eval.ts';
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
export { compareRuns, formatComparison, formatSideBySide, type Comparison, type MetricDiff, type Flip } from './compare.ts';
export { labelledItems, normalise as normaliseAnswer, shapesItems, vqaAccuracy, vqaItem, type VqaItem, type VqaReport } from './vqa.ts';
