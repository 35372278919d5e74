// A shipped pipeline shrunk for tests through its own command line: synthetic data, a 32-wide
// MLP encoder, a 32-16 projector, crops at the synthetic image size. Flags in `extra` replace
// the same flags of the defaults, so a test states only what it varies.
import { parseFlags } from "../../dsl/cli.ts";
import type { PipelineSpec } from "../../dsl/schema.ts";
import { validateSpec } from "../../step/validate.ts";

export interface SmallSize {
  img: number;
  batch: number;
  steps: number;
  warmup: number;
  /** the test's own defaults for this pipeline, after the common ones */
  flags?: string[];
}

/** The pipeline's spec at test size; `edit` changes it (a private copy) before validation. */
export async function smallPipeline(
  name: string,
  size: SmallSize,
  extra: string[] = [],
  edit: (spec: PipelineSpec) => void = () => {},
): Promise<PipelineSpec> {
  const mod = await import(`../../pipelines/${name}.ts`) as { spec: PipelineSpec };
  const given = new Set(extra.filter((a) => a.startsWith("--")));
  const defaults = [
    ...["--data", "synthetic", "--encoder", "mlp:32", "--proj", "32,16", "--epochs", "2"],
    ...["--batch", String(size.batch), "--steps", String(size.steps), "--warmup", String(size.warmup)],
    ...(size.flags ?? []),
  ];
  // drop each default flag (with its value) that `extra` gives again
  const kept = defaults.filter((a, i) => !given.has(a.startsWith("--") ? a : defaults[i - 1]));
  const spec = structuredClone(parseFlags([...kept, ...extra], mod.spec).spec);
  // there is no flag for the view size: crop to the synthetic images
  for (const v of spec.views) if (v.aug.crop) v.aug.crop.size = size.img;
  edit(spec);
  return validateSpec(spec);
}
