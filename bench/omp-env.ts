// Imported first by the training benches, before the native addon (and its libgomp) loads:
// OpenMP threads that sleep at barriers instead of spinning. This machine is shared, and with
// the default spin-wait a 2-thread team whose partner lost its core burns the other core
// waiting: measured here under load ~6, a training step ran 5-17x slower with spinning than
// with OMP_WAIT_POLICY=passive (its cost on an idle machine is not yet measured). The PyTorch child
// inherits the same setting, so both sides run under the same policy. An explicit setting wins.
process.env.OMP_WAIT_POLICY ??= 'passive';
