// HumanEval's public format: JSONL (often gzipped), one problem per line,
//   {task_id, prompt, canonical_solution, test: "def check(candidate): ...", entry_point}
// A problem becomes a sample whose input is the prompt (a signature and docstring to complete).
import { join } from 'node:path';
import { benchmarksDir, readJsonl, str } from './files.ts';
import type { HumanEvalSample } from '../humaneval.ts';

/** Default location: <benchmarks>/humaneval/HumanEval.jsonl.gz. */
export const defaultHumanEvalPath = (): string => join(benchmarksDir(), 'humaneval', 'HumanEval.jsonl.gz');

export function loadHumanEval(path: string = defaultHumanEvalPath()): HumanEvalSample[] {
  return readJsonl(path).map((r, i) => {
    const where = `${path}:${i + 1}`;
    const prompt = str(r, 'prompt', where);
    const entryPoint = str(r, 'entry_point', where);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(entryPoint))
      throw new Error(`${where}: entry_point must be a Python identifier, got ${JSON.stringify(entryPoint)}`);
    return {
      input: prompt,
      task_id: str(r, 'task_id', where),
      prompt,
      canonical_solution: typeof r.canonical_solution === 'string' ? r.canonical_solution : undefined,
      test: str(r, 'test', where),
      entry_point: entryPoint,
    };
  });
}
