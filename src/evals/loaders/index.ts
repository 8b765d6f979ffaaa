// Benchmark loaders: public formats in, samples (and k-shot prompts) out. Real files go under
// benchmarksDir() (README, "Benchmarks and sandbox"); tests use original fixtures.
export { benchmarksDir, readJsonl, parseCsv } from './files.ts';
export { fewShotPrompt, firstK, FEWSHOT_DELIMITER } from './fewshot.ts';
export { loadMmlu, readMmluCsv, formatMmlu, MMLU_LETTERS, type MmluOptions, type MmluQuestion } from './mmlu.ts';
export { loadTruthfulQA, TRUTHFULQA_PREAMBLE, defaultTruthfulQAPath } from './truthfulqa.ts';
export { loadHumanEval, defaultHumanEvalPath } from './humaneval.ts';
export { loadGsm8k, Gsm8kEval, extractAnswer, referenceAnswer, sameNumber, type Gsm8kSample, type Gsm8kOptions } from './gsm8k.ts';
