// Public surface of src/train: checkpoints (safetensors) and GGUF export.
export { encodeSafetensors, decodeSafetensors, readSafetensors, writeSafetensors, writeFileAtomic, SafetensorsError, f32ToF16Bits, f16BitsToF32, type SafetensorsDType, type SafetensorsFile, type TensorIn, type TensorOut } from './safetensors.ts';
export { saveCheckpoint, loadCheckpoint, saveRotating, latestCheckpoint, listCheckpoints, stepDirName, CheckpointError, CHECKPOINT_VERSION, type Checkpoint, type CheckpointMeta, type OptimizerState, type TokenizerRef, type SaveOptions } from './checkpoint.ts';
