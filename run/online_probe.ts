// The online probe's test accuracy at each checkpoint the trainer saves (train/trainer.ts
// atCheckpoint): the test split's features under the encoder's weights of that checkpoint, by
// the evaluation's feature path (eval/evaluate.ts encoderModel, eval/features.ts), scored with
// the probe's weights of the same checkpoint (eval/online_probe.ts).
import { encoderModel } from "../eval/evaluate.ts";
import { extractFeatures } from "../eval/features.ts";
import { probeTop1 } from "../eval/online_probe.ts";
import type { PipelineSpec } from "../dsl/schema.ts";
import { PROBE_BIAS, PROBE_WEIGHT } from "../step/online_probe.ts";
import type { SavedState } from "../train/trainer.ts";

/** the metrics.jsonl key of the probe's test top-1 */
export const PROBE_TOP1 = "online_probe_top1";

/** The trainer's atCheckpoint hook that measures the probe's test top-1. */
export function onlineProbeAtCheckpoint(spec: PipelineSpec): (c: SavedState) => Promise<Record<string, number>> {
  return async (c) => {
    const model = encoderModel(spec, c.encoder, (name) => Promise.resolve(c.tensor(name)));
    const test = await extractFeatures(c.gpu, model, c.images.test);
    return { [PROBE_TOP1]: probeTop1(test, c.tensor(PROBE_WEIGHT), c.tensor(PROBE_BIAS)) };
  };
}
