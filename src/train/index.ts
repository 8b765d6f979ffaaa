// Public surface of src/train: checkpoints (safetensors) and GGUF export.
export { encodeSafetensors, decodeSafetensors, readSafetensors, writeSafetensors, writeFileAtomic, SafetensorsError, f32ToF16Bits, f16BitsToF32, type SafetensorsDType, type SafetensorsFile, type TensorIn, type TensorOut } from './safetensors.ts';
export { saveCheckpoint, loadCheckpoint, saveRotating, latestCheckpoint, findCheckpoint, listCheckpoints, stepDirName, CheckpointError, CHECKPOINT_VERSION, type Checkpoint, type CheckpointMeta, type OptimizerState, type TokenizerRef, type SaveOptions } from './checkpoint.ts';
export { exportGGUF, writeGGUF, readGGUFHeader, readGGUFTensor, inspectLlamaGGUF, validateLlamaGGUF, llamaTensors, llamaMetadata, GGUFError, GPT4_PRETOKENIZER, GGUF_DEFAULT_ALIGNMENT, type GGUFTokenizer, type ExportOptions, type GGUFHeader, type GGUFKV, type GGUFTensorIn, type GGUFTensorInfo, type GGMLType, type GGUFValueType } from './gguf.ts';

// Pretraining: the loop, its optimizer and learning-rate schedules.
export { train, evaluate, readMetrics, validateTrainConfig, type TrainConfig, type TrainResult, type StepMetrics } from './pretrain.ts';
export { AdamW, defaultAdamW, type AdamWConfig } from './optimizer.ts';
export { learningRate, type Schedule } from './schedule.ts';
export { DataParallel, paramGroups, splitRows } from './parallel.ts';
