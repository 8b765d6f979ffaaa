// The template families (their registry class names are in ../class-table.ts).
export { Match, Includes, FuzzyMatch, JsonMatch, matchPicked, includesAnswer, fuzzyMatch, jsonMatch, basicFactories } from './basic.ts';
export {
  ModelGradedClassify,
  parseModelGradedSpec,
  readChoice,
  choiceScore,
  graderPrompt,
  answerInstruction,
  INVALID_CHOICE,
  modelGradedFactory,
  type ModelGradedSpec,
  type EvalType,
  type MatchFn,
} from './modelgraded.ts';
export { sampleCompletion, candidate } from './sampling.ts';
export { InstructEval, instructFactory } from './instruct.ts';
export { VqaEval, vqaFactory } from './vqa.ts';
