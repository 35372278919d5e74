// The specs the page offers to start from: every pipeline (pipelines/*.ts builds its spec from
// dsl/presets.ts with the options repeated here; tests/web_ui_test.ts checks that each matches
// the pipeline file's own), the examples' default specs (example_specs.json, a checked
// snapshot), and a small run that trains in seconds on any adapter. The λ-free study
// (examples/lambda_free.ts) is many runs, not one spec, and is not offered.
import { mlp } from "../../dsl/builders.ts";
import { presets } from "../../dsl/presets.ts";
import type { PipelineSpec } from "../../dsl/schema.ts";
import { validateSpec } from "../../step/validate.ts";
import examples from "./example_specs.json" with { type: "json" };

export interface PresetEntry {
  id: string;
  label: string;
  /** the file whose default run this is (absent for the page's own small run) */
  source?: string;
  spec: () => PipelineSpec;
}

const fromExample = (file: keyof typeof examples) => () => validateSpec(examples[file]);

export const PRESETS: PresetEntry[] = [
  {
    id: "small",
    label: "Small Barlow Twins (synthetic shapes, 200 steps)",
    spec: smallBarlow,
  },
  {
    id: "barlow",
    label: "Barlow Twins",
    source: "pipelines/barlow.ts",
    spec: () => presets.barlowTwins({ proj: [1024, 1024] }),
  },
  {
    id: "barlow_mean",
    label: "λ-free Barlow Twins",
    source: "pipelines/barlow_mean.ts",
    spec: () => presets.barlowMean({ proj: [1024, 1024] }),
  },
  { id: "simclr", label: "SimCLR", source: "pipelines/simclr.ts", spec: () => presets.simclr() },
  { id: "moco", label: "MoCo v2", source: "pipelines/moco.ts", spec: () => presets.mocoV2() },
  { id: "byol", label: "BYOL", source: "pipelines/byol.ts", spec: () => presets.byol() },
  { id: "simsiam", label: "SimSiam", source: "pipelines/simsiam.ts", spec: () => presets.simsiam() },
  { id: "vicreg", label: "VICReg", source: "pipelines/vicreg.ts", spec: () => presets.vicreg({ proj: [1024, 1024] }) },
  {
    id: "contrastive_clustering",
    label: "Contrastive Clustering",
    source: "pipelines/contrastive_clustering.ts",
    spec: () => presets.contrastiveClustering(),
  },
  {
    id: "byol_barlow",
    label: "Barlow Twins with BYOL's momentum target",
    source: "examples/byol_barlow.ts",
    spec: fromExample("examples/byol_barlow.ts"),
  },
  {
    id: "barlow_predictor",
    label: "Barlow Twins with a predictor",
    source: "examples/barlow_predictor.ts",
    spec: fromExample("examples/barlow_predictor.ts"),
  },
  {
    id: "infonce_barlow",
    label: "InfoNCE + Barlow Twins",
    source: "examples/infonce_barlow.ts",
    spec: fromExample("examples/infonce_barlow.ts"),
  },
  {
    id: "feature_mse",
    label: "Feature-similarity MSE (a loss from primitives)",
    source: "examples/feature_mse.ts",
    spec: fromExample("examples/feature_mse.ts"),
  },
];

/**
 * Barlow Twins small enough to train in seconds on any adapter: a 128-wide MLP on the 16×16
 * synthetic shapes, a 64-64 projector, and (measured: the loss falls from 62 to 15 in 200 steps
 * and C's diagonal reaches 0.58, against 65 → 59 and 0.05 with the preset's lr 0.2 and crops
 * from 8%) lr 1 and crops of at least 40% of the image, milder crops suiting an MLP encoder.
 */
function smallBarlow(): PipelineSpec {
  const spec = presets.barlowTwins({
    name: "barlow-small",
    data: "synthetic",
    imageSize: 16,
    encoder: mlp([128], { bias: false, lastBn: true, lastRelu: true }),
    proj: [64, 64],
    batch: 64,
    epochs: 14,
    steps: 200,
    lr: 1,
  });
  const views = spec.views.map((v) => ({
    ...v,
    aug: { ...v.aug, crop: { ...v.aug.crop!, scale: [0.4, 1] as [number, number] } },
  }));
  return validateSpec({ ...spec, views });
}

export function presetById(id: string): PresetEntry | undefined {
  return PRESETS.find((p) => p.id === id);
}
