// Loads every template family so its registry classes are registered. A new family adds its
// import here (it calls registerTemplateClass from ../classes.ts when loaded).
import './basic.ts';
import './modelgraded.ts';
import '../benchmark-classes.ts'; // multiple choice, HumanEval, GSM8K (tetra.* classes)

export { Match, Includes, FuzzyMatch, JsonMatch, matchPicked, includesAnswer, fuzzyMatch, jsonMatch } from './basic.ts';
export { ModelGradedClassify, parseModelGradedSpec, readChoice, choiceScore, graderPrompt, answerInstruction, INVALID_CHOICE, type ModelGradedSpec, type EvalType, type MatchFn } from './modelgraded.ts';
export { sampleCompletion, candidate } from './sampling.ts';
