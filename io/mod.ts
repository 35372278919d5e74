// Public surface of io/: safetensors, atomic writes, checkpoints, the run folder.
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
export { AtomicWriteError, cleanStaleTemps, writeFileAtomic } from "./atomic.ts";
export { checkRunFolder, RUN_FILES, RunFolderError, type RunFolderOptions } from "./run_folder.ts";
export {
  type Checkpoint,
  CHECKPOINT_FILE,
  CheckpointError,
  checkpointPath,
  type Expect,
  loadCheckpoint,
  saveCheckpoint,
} from "./checkpoint.ts";
