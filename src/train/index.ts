// Public surface of src/train: pretraining (the loop, AdamW, schedules, data parallelism).

// Pretraining: the loop, its optimizer and learning-rate schedules.
export {
  train,
  evaluate,
  readMetrics,
  validateTrainConfig,
  type BatchSource,
  type TrainBatch,
  type TrainConfig,
  type TrainResult,
  type StepMetrics,
} from './pretrain.ts';
// Supervised fine-tuning on conversations, through the same loop.
export {
  conversationLoss,
  conversationSource,
  epochBatches,
  loadSftData,
  padRows,
  answerWeights,
  rowLogProbs,
  sft,
  type SftConfig,
  type SftData,
} from './sft.ts';
export { AdamW, defaultAdamW, type AdamWConfig } from './optimizer.ts';
export { learningRate, type Schedule } from './schedule.ts';
export { DataParallel, paramGroups, splitRows } from './parallel.ts';
export { defaultReplicas, nominalPeakFlops } from './machine.ts';
export {
  dpoLoss,
  layout,
  OBJECTIVE_STATS,
  policyGradientLoss,
  sequenceForward,
  type DpoSettings,
  type DpoStats,
  type PolicyGradientSettings,
  type PolicyGradientStats,
  type SequenceObjective,
} from './objectives.ts';
export {
  dpo,
  loadPairs,
  pairBatch,
  pairLogProbs,
  pairSource,
  pairValidation,
  type DpoConfig,
} from './preference.ts';
export { answerRows, greedyReward, rl, type RewardFn, type RlConfig, type RlPrompt, type SamplingSettings } from './policy-gradient.ts';
// Image input: SFT on the shapes scene set, streamed.
export {
  LABELLED_PER_ROW,
  labelledRow,
  type LabelledDraw,
  SHIFT_BELOW,
  sftShapes,
  shapesRows,
  shapesSource,
  withVision,
  type LabelledSet,
  type ShapesSftConfig,
  type VisionMix,
} from './vision.ts';
