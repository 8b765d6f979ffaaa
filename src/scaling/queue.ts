// A ladder across machines: its runs are independent, so each becomes a job on a BullMQ queue in
// Redis, and every machine that should train runs a worker. Results land in the same scaling
// directory layout as a local ladder (a directory all workers see, e.g. a shared filesystem).
// A worker that dies mid-run stops renewing its job's lock; BullMQ then hands the job to another
// worker, which resumes the run from the checkpoints the first one left. Recording is exactly
// once (trainAndRecord), so a run finished twice is still one result.
import { createHash } from 'node:crypto';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { ladderRuns, pinPlan, readResults, trainAndRecord, type TrainRun } from './ladder.ts';
import type { LadderPlan, PlannedRun } from './plan.ts';

export const QUEUE_NAME = 'tetra-scale';

/** What a worker needs to train one run anywhere: the plan, the run and where things live. */
export interface LadderJob {
  dir: string;
  plan: LadderPlan;
  run: string;
  /** Training settings every run of the ladder shares (data directory, batch, learning rate). */
  settings: Record<string, string | number>;
}

const connect = (url: string) => new Redis(url, { maxRetriesPerRequest: null });

/** The job id of a run: one per scaling directory and run name, so enqueueing twice adds nothing. */
const jobId = (dir: string, run: string) => `${createHash('sha256').update(dir).digest('hex').slice(0, 16)}-${run}`;

/** Puts every unfinished run of the ladder on the queue; returns the names queued. */
export async function enqueueLadder(
  url: string,
  plan: LadderPlan,
  dir: string,
  settings: LadderJob['settings'],
  o: { withTarget?: boolean } = {},
): Promise<string[]> {
  pinPlan(dir, plan);
  const done = new Set(readResults(dir).map((r) => r.name));
  const todo = ladderRuns(plan, o.withTarget).filter((r) => !done.has(r.name));
  const connection = connect(url);
  const queue = new Queue<LadderJob>(QUEUE_NAME, { connection });
  try {
    for (const r of todo) {
      await queue.add(
        r.name,
        { dir, plan, run: r.name, settings },
        { jobId: jobId(dir, r.name), attempts: 3, backoff: { type: 'fixed', delay: 1000 }, removeOnComplete: true },
      );
    }
  } finally {
    await queue.close();
    connection.disconnect();
  }
  return todo.map((r) => r.name);
}

export interface WorkerOptions {
  /** How long a job's lock lasts without renewal: a dead worker's run goes to another after about this long (default 60 s). */
  lockMs?: number;
  log?: (line: string) => void;
}

/**
 * Starts a worker that trains ladder runs from the queue, one at a time (a run already uses every
 * core). `train` builds the trainer for a job's settings. Resolves to a handle that stops it.
 */
export function startLadderWorker(
  url: string,
  train: (job: LadderJob) => TrainRun,
  o: WorkerOptions = {},
): { close(): Promise<void>; worker: Worker<LadderJob> } {
  const log = o.log ?? ((l: string) => console.error(l));
  const lockMs = o.lockMs ?? 60_000;
  const connection = connect(url);
  const worker = new Worker<LadderJob>(
    QUEUE_NAME,
    async (job) => {
      const { dir, plan, run } = job.data;
      const planned: PlannedRun | undefined = ladderRuns(plan, true).find((r) => r.name === run);
      if (!planned) throw new Error(`job ${job.id}: the plan has no run ${run}`);
      await trainAndRecord(dir, planned, train(job.data), log);
    },
    { connection, concurrency: 1, lockDuration: lockMs, stalledInterval: lockMs, maxStalledCount: 3 },
  );
  worker.on('failed', (job, e) => log(`scale worker: ${job?.data.run ?? '?'} failed: ${e.message}`));
  return {
    worker,
    async close() {
      await worker.close();
      connection.disconnect();
    },
  };
}
