// Public surface of io/: safetensors, atomic writes, checkpoints.
export {
  decodeSafetensors,
  encodeSafetensors,
  readSafetensors,
  safetensorsChunks,
  SafetensorsError,
  type TensorEntry,
  type Tensors,
  writeSafetensors,
} from "./safetensors.ts";
export { writeFileAtomic } from "./atomic.ts";
export {
  type Checkpoint,
  CHECKPOINT_FILE,
  CheckpointError,
  checkpointPath,
  type Expect,
  loadCheckpoint,
  saveCheckpoint,
} from "./checkpoint.ts";
