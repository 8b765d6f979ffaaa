// The stage runner the multi-stage scripts share (posttrain.ts, speedrun.ts): each stage is a
// tetra command printed before it runs and logged with its time; a stage whose output exists is
// skipped, and a training stage resumes from its checkpoints, so a killed pipeline run again
// continues where it stopped.
import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const bin = join(import.meta.dirname, '..', 'bin/tetra.js');

export interface Pipeline {
  /** Runs `tetra args...` (printed first, and logged); returns stdout when captured. Exits when it fails. */
  tetra(args: string[], capture?: boolean): string;
  /** Runs `tetra args...` like tetra(), but a failure is logged and returned (false) instead of exiting. */
  tryTetra(args: string[]): boolean;
  /** Runs a stage unless its output `done` exists. */
  stage(name: string, done: string, run: () => void): void;
  /** A training command, resumed when its run directory has checkpoints; marks the run finished after. */
  trainStage(name: string, dir: string, args: string[]): void;
  /** `--resume` when dir holds checkpoints. */
  resumeFlag(dir: string): string[];
  /** Appends a line to the log (with the time). */
  note(line: string): void;
}

/**
 * A pipeline named `who` that logs to `log`. `progress(name)` may return a line to print when a
 * stage starts (the speedrun prints the stage number, elapsed time and ETA).
 */
export function pipeline(who: string, log: string, progress?: (stage: string) => string): Pipeline {
  const note = (line: string) => appendFileSync(log, `${new Date().toISOString()} ${line}\n`);
  const spawnTetra = (args: string[], capture: boolean) => {
    const line = `npx tetra ${args.map((a) => (/^[\w./,:=-]+$/.test(a) ? a : `'${a}'`)).join(' ')}`;
    console.log(`\n$ ${line}`);
    note(line);
    const t0 = Date.now();
    const r = spawnSync(process.execPath, [bin, ...args], { stdio: ['ignore', capture ? 'pipe' : 'inherit', 'inherit'], encoding: 'utf8' });
    if (r.status === 0) appendFileSync(log, `  done in ${((Date.now() - t0) / 1000).toFixed(0)} s\n`);
    return r;
  };
  const tryTetra = (args: string[]): boolean => {
    const r = spawnTetra(args, false);
    if (r.status !== 0) note(`  failed (exit ${r.status}); continuing`);
    return r.status === 0;
  };
  const tetra = (args: string[], capture = false): string => {
    const r = spawnTetra(args, capture);
    if (r.status !== 0) {
      note(`  failed (exit ${r.status})`);
      console.error(`${who}: the command above failed (exit ${r.status}); fix it and run the pipeline again to continue`);
      process.exit(1);
    }
    return r.stdout ?? '';
  };
  const stage = (name: string, done: string, run: () => void): void => {
    if (existsSync(done)) {
      console.log(`[${name}] done already (${done})`);
      return;
    }
    const head = progress?.(name);
    console.log(`\n[${name}]${head ? ` ${head}` : ''}`);
    note(`stage ${name}${head ? ` (${head})` : ''}`);
    run();
  };
  const resumeFlag = (dir: string) => (existsSync(join(dir, 'checkpoints')) ? ['--resume'] : []);
  const trainStage = (name: string, dir: string, args: string[]): void => {
    const finished = join(dir, 'finished');
    stage(name, finished, () => {
      tetra([...args, ...resumeFlag(dir)]);
      writeFileSync(finished, `${new Date().toISOString()}\n`);
    });
  };
  return { tetra, tryTetra, stage, trainStage, resumeFlag, note };
}
