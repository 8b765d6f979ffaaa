// The ledger journal's worker thread (started by JournaledLedger): every intervalMs it moves the
// journal's new lines into SQLite on its own connection, so inserts and WAL checkpoints never
// run on the thread that answers requests. Told the live file on rotation; on stop it does a last
// pass and exits.
import { parentPort, workerData } from 'node:worker_threads';
import type { OwnJournal } from './ledger-journal.ts';
import { SqliteLedger } from './ledger.ts';

const { dbPath, own, intervalMs } = workerData as { dbPath: string; own: OwnJournal; intervalMs: number };
const ledger = new SqliteLedger(dbPath, { ingestOnOpen: false });

function pass(): void {
  try {
    const r = ledger.ingestJournals(own);
    if (r.bad.length) parentPort!.postMessage({ bad: r.bad });
  } catch (e) {
    parentPort!.postMessage({ error: (e as Error).message });
  }
}

const timer = setInterval(pass, intervalMs);
parentPort!.on('message', (m: { live?: string; stop?: boolean }) => {
  if (m.live) own.live = m.live;
  if (m.stop) {
    clearInterval(timer);
    pass();
    ledger.close();
    parentPort!.close();
  }
});
