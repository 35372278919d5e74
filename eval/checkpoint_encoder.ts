// A checkpoint's trained encoder, for the tools that score or embed with it (tools/embed.ts,
// export/torch/study/evaluate_checkpoint.ts): its spec, validated; the encoder module, chosen as
// the step's forward graph chooses it (step/forward_graph.ts: the first module of the first
// non-EMA branch); and its weights by name, a missing one an error that names the checkpoint.
import { untrustedIssues } from "../dsl/validate.ts";
import { validateSpec } from "../step/validate.ts";
import type { PipelineSpec } from "../dsl/schema.ts";
import { type Checkpoint, CheckpointError, loadCheckpoint } from "../io/checkpoint.ts";

export interface CheckpointEncoder {
  checkpoint: Checkpoint;
  spec: PipelineSpec;
  encoder: string;
  weights: (name: string) => Promise<Float32Array>;
  /**
   * The data set to read: `given` (the user's --data) or else the checkpoint's own, if it names
   * a kind only. A checkpoint is a file like a spec file, so a location stored in it is not
   * followed (docs/architecture.md, decision 10): the user says where the data is.
   */
  dataName: (given?: string) => string;
}

/** `run`: a run folder or checkpoint file of either engine. */
export function checkpointEncoder(run: string): CheckpointEncoder {
  const checkpoint = loadCheckpoint(run);
  const spec = validateSpec(checkpoint.spec, `${run} (its spec)`);
  const encoder = (spec.branches.find((b) => !b.ema) ?? spec.branches[0]).path[0];
  const weights = (name: string) => {
    const t = checkpoint.tensors[name];
    if (!t) throw new CheckpointError(`${run}: no tensor "${name}" for the encoder '${encoder}'`);
    return Promise.resolve(t.data);
  };
  const dataName = (given?: string) => {
    if (given) return given;
    if (untrustedIssues(spec).length === 0) return spec.data.name;
    throw new CheckpointError(
      `${run}: its spec names its data set at ${
        JSON.stringify(spec.data.name)
      }; a checkpoint's data location is not followed, give it with --data`,
    );
  };
  return { checkpoint, spec, encoder, weights, dataName };
}
