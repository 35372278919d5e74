// Every failure the page can meet, as the page shows it: a title, what went wrong (the core's own
// message, which names the spec path, file or flag), and what to try. One rule per error name
// (the core's errors set `name`), so a new kind of failure is one table entry.

export interface FailureView {
  title: string;
  message: string;
  /** what to try, when there is something to say beyond the message */
  hint?: string;
}

type Rule = (message: string) => Omit<FailureView, "message"> & { message?: string };

const RULES: Record<string, Rule> = {
  SpecError: () => ({
    title: "The spec has a problem",
    hint: "Fix it in the spec editor; each problem names its place in the spec.",
  }),
  FlagError: () => ({ title: "A setting is not valid" }),
  DataError: () => ({
    title: "The data could not be read",
    hint:
      "Give IDX files (train-images-idx3-ubyte[.gz] with its labels, and the t10k pair) or a folder of PNG/JPEG images with one sub-folder per class.",
  }),
  CheckpointError: () => ({
    title: "The checkpoint could not be used",
    hint: "Give the checkpoint.safetensors of a run of this spec.",
  }),
  SafetensorsError: () => ({ title: "The checkpoint file is not a valid safetensors file" }),
  ResumeError: () => ({
    title: "The checkpoint belongs to a different run",
    hint: "Only the learning rates, the schedule length and the evaluation settings may change when resuming.",
  }),
  RunCompleteError: () => ({ title: "Nothing left to train" }),
  MemoryPlanError: () => ({
    title: "The run does not fit this GPU",
    hint: "Make it smaller (batch, projector widths, encoder) or use a GPU with larger buffer limits.",
  }),
  PrecisionError: () => ({ title: "This GPU cannot run the spec's precision" }),
  NoAdapterError: () => ({ title: "No WebGPU adapter" }),
  NonFiniteLossError: () => ({ title: "The loss diverged", hint: "Try a lower learning rate or a longer warmup." }),
  EvalSettingsError: () => ({ title: "The evaluation settings do not fit the data" }),
  DeviceLostError: () => ({
    title: "The GPU device was lost",
    hint:
      "The browser or the driver reset the GPU (a driver update, too long a job, or another tab). Press Start to open a new device (or reload the page); a checkpoint you downloaded can be resumed.",
  }),
  OperationError: () => ({ title: "The GPU refused an operation" }),
  QuotaExceededError: () => ({ title: "The browser ran out of storage or memory" }),
};

/** The page's view of a thrown value. */
export function describeFailure(e: unknown): FailureView {
  const err = e instanceof Error ? e : undefined;
  const message = err ? err.message : String(e);
  const rule = err ? RULES[err.name] : undefined;
  if (rule) return { message, ...rule(message) };
  return { title: "Something went wrong", message: message || "an unknown error (the console may say more)" };
}

/** The error the page raises when the device reports it is lost (GPUDevice.lost). */
export class DeviceLostError extends Error {
  override name = "DeviceLostError";
  constructor(reason: string, detail: string) {
    super(`the device was lost (${reason || "unknown reason"})${detail ? `: ${detail}` : ""}`);
  }
}
