// Ctrl-C for long jobs: the first press aborts the signal (the job stops at its next safe point
// and saves what it has), a second one quits at once with 130.
export async function interruptible(job: (signal: AbortSignal) => Promise<number>, notice?: string): Promise<number> {
  const ac = new AbortController();
  const onSigint = () => {
    if (ac.signal.aborted) process.exit(130);
    if (notice) process.stderr.write(`\n${notice}\n`);
    ac.abort(new Error('interrupted'));
  };
  process.on('SIGINT', onSigint);
  try {
    const code = await job(ac.signal);
    return ac.signal.aborted ? 130 : code;
  } finally {
    process.off('SIGINT', onSigint);
  }
}
