// OpenMP wait policy for the training benches, each side at its measured best on this machine
// (2 cores, 2026-11-29, nanoGPT CPU config, rounds alternating between the two processes):
//   tetra:   libgomp's default (spin briefly, then sleep): 13.4k tok/s; with passive 9.1k
//   PyTorch: OMP_WAIT_POLICY=passive: 5.5k tok/s; with the default 2.7k, with active ~0.2k
// (with `active` both collapse: the idle side's threads spin on the cores the other side needs).
// tetra's process keeps the default unless OMP_WAIT_POLICY is set; the PyTorch child gets
// TETRA_BENCH_TORCH_OMP_WAIT (default passive). Imported before the native addon loads.
export const torchOmpWaitPolicy = process.env.TETRA_BENCH_TORCH_OMP_WAIT ?? 'passive';
