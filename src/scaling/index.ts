// Public surface of src/scaling: fitting scaling laws to a ladder of runs and extrapolating them.
export { nelderMead, type Minimum, type MinimizeOptions } from './minimize.ts';
export {
  bootstrap,
  bootstrapFits,
  CHINCHILLA,
  chinchillaLoss,
  computeLoss,
  fitChinchilla,
  fitComputeLaw,
  FitError,
  huber,
  HUBER_DELTA,
  optimalAllocation,
  type ChinchillaLaw,
  type ChinchillaPoint,
  type ComputeLaw,
  type ComputePoint,
  type Interval,
} from './fit.ts';
export { familyConfig, planLadder, planTable, PlanError, runConfig, type LadderPlan, type PlannedRun, type PlanOptions } from './plan.ts';
export {
  readRegistry,
  recordStart,
  registerPrediction,
  RegistryError,
  scorePrediction,
  type Prediction,
  type RegistryEntry,
  type Score,
  type Started,
} from './registry.ts';
export {
  ladderFrontier,
  ladderPoints,
  LadderError,
  ladderRuns,
  pinPlan,
  readResults,
  resultsPath,
  runLadder,
  trainAndRecord,
  type RunResult,
  type TrainRun,
} from './ladder.ts';
export { scalingReport, type ReportInput } from './report.ts';
export {
  bucketValue,
  CAPABILITY_BUCKETS,
  CAPABILITY_TASK,
  capabilityProblems,
  capabilityTarget,
  fitCapabilityLaw,
  scoreProblems,
  solvedByAll,
  type CapabilityRecord,
  type ProblemScore,
} from './capability.ts';
export type { LadderJob, WorkerOptions } from './queue.ts';
/** The job queue (BullMQ on Redis), loaded only by the commands that use it. */
export const loadLadderQueue = () => import('./queue.ts');
