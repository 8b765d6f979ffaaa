// Public surface of src/safety: the rule-based reward model's rubric classifier and its agreement.
export { agreement, type Agreement } from './agreement.ts';
export {
  RBRM_MAX_CHARS,
  RBRM_SYSTEM,
  RbrmClassifier,
  rbrmConversation,
  RUBRIC_CLASSES,
  type RubricLabel,
  type RubricScores,
} from './rbrm.ts';
export { rbrmAgreement, trainRbrm, type RbrmTrainOptions } from './train.ts';
