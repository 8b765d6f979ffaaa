// Synthetic task generators: one file per task, all with fixed seeds and held-out eval splits.
export * from './common.ts';
export {
  additionDocument,
  additionProblems,
  generateArithmetic,
  solve,
  ARITHMETIC_TASK,
  type AdditionProblem,
  type ArithmeticOp,
  type ArithmeticOptions,
} from './arithmetic.ts';
export { generateDictionary, DICTIONARY_TASK, type DictionaryKind, type DictionaryOptions } from './dictionary.ts';
export {
  generateInstructions,
  englishNumber,
  frenchNumber,
  answerFor,
  INSTRUCTIONS_TASK,
  STYLES,
  SYSTEM_MESSAGES,
  SYSTEM_PHRASINGS,
  followsStyle,
  COMMON_WORDS,
  type InstructionStyle,
  type InstructionOptions,
  type InstructionSample,
} from './instructions.ts';
export {
  disallowedStandIn,
  generateSafety,
  HARMFUL,
  LOOKALIKE,
  PHRASINGS,
  REFUSALS_A,
  REFUSALS_B,
  rubricSamples,
  SAFETY_TASK,
  safetyPrompts,
  SENSITIVE,
  type RubricClass,
  type RubricSample,
  type SafetyKind,
  type SafetySample,
} from './safety.ts';
