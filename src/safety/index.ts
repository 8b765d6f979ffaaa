// Public surface of src/safety: the letter classifiers (the rule-based reward model's rubric
// classifier, the moderation classifier), their training and their agreement with held-out labels.
export { agreement, type Agreement } from './agreement.ts';
export { clip, LetterClassifier, letterConversation, MAX_BYTES, type Classified } from './letters.ts';
export {
  MODERATION_LABELS,
  MODERATION_SYSTEM,
  ModerationClassifier,
  moderationSamples,
  OPENAI_CATEGORIES,
  type ModerationLabel,
  type ModerationResult,
  type ModerationSample,
} from './moderation.ts';
export { RBRM_SYSTEM, RbrmClassifier, rbrmConversation, RUBRIC_CLASSES, type RubricLabel, type RubricScores } from './rbrm.ts';
export { SAFETY_REWARD, safetyReward } from './reward.ts';
export { moderationAgreement, policySamples, rbrmAgreement, trainModeration, trainRbrm, type ClassifierTrainOptions } from './train.ts';
export {
  buildPairs,
  pairsOf,
  readPrompts,
  scoreAnswer,
  type Candidate,
  type PairOptions,
  type PairPrompt,
  type PairReport,
} from './pairs.ts';
