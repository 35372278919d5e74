// The evaluation of a trained run, as named stages in a fixed order: features of the trained
// encoder, its kNN and linear probe, the same for the encoder at its random initialisation,
// then the kNN on raw pixels. An interrupt (Ctrl-C) lets the stage under way finish and skips
// the rest: what was measured is kept, and the caller is told what was not.
import process from "node:process";
import type { PipelineSpec } from "../dsl/schema.ts";
import { encoderFeatures, knnTop1, linearTop1, pixelsKnn } from "../eval/evaluate.ts";
import type { FeatureSet } from "../eval/features.ts";
import type { TrainResult } from "../train/trainer.ts";

/** The figures report.json holds, by its keys; a figure not measured is absent. */
export interface EvalFigures {
  knn_top1?: number;
  linear_top1?: number;
  random_init_knn_top1?: number;
  random_init_linear_top1?: number;
  pixels_knn_top1?: number;
}

export interface Evaluation {
  figures: EvalFigures;
  /** seconds of the kNN and linear probes of both encoders (feature extraction and pixels aside) */
  seconds: number;
  /** the stages skipped after an interrupt, in words; empty when all ran */
  notEvaluated: string[];
  interrupted: boolean;
}

type Features = { train: FeatureSet; test: FeatureSet };

interface Stage {
  what: string;
  run: () => Promise<void>;
  /** a step towards a figure, not a figure (features): not listed as not evaluated */
  prep?: boolean;
}

/**
 * Runs every stage unless interrupted (SIGINT, or `stopRequested`); `log` hears each stage's
 * result as the command line shows it.
 */
export async function evaluateRun(
  spec: PipelineSpec,
  run: TrainResult,
  opts: { log?: (s: string) => void; stopRequested?: () => boolean } = {},
): Promise<Evaluation> {
  const log = opts.log ?? ((s: string) => console.log(s));
  const figures: EvalFigures = {};
  let seconds = 0;
  const timed = async (f: () => Promise<number>) => {
    const t0 = performance.now();
    const v = await f();
    seconds += (performance.now() - t0) / 1000;
    return v;
  };
  let trained: Features | undefined, random: Features | undefined;
  const { gpu } = run;
  const features = (weights: ((name: string) => Promise<Float32Array>) | undefined) =>
    encoderFeatures(gpu, spec, run.lowered.encoder, run.images, weights);
  const pct = (v: number) => `${(v * 100).toFixed(2)}%`;
  let interrupted = false;
  const stages: Stage[] = [
    {
      what: "features of the trained encoder",
      prep: true,
      run: async () => {
        log("evaluating: features of the trained encoder …");
        trained = await features((name) => run.exec.read(name));
      },
    },
    {
      what: "kNN of the trained encoder",
      run: async () => void (figures.knn_top1 = await timed(() => knnTop1(gpu, spec, trained!))),
    },
    {
      what: "linear probe of the trained encoder",
      run: async () => {
        figures.linear_top1 = await timed(() => linearTop1(gpu, spec, trained!));
        log(
          `  kNN ${pct(figures.knn_top1!)}, linear ${pct(figures.linear_top1)}${
            interrupted ? "" : "; random-init baseline …"
          }`,
        );
      },
    },
    {
      what: "features of the random-init encoder",
      prep: true,
      run: async () => {
        trained = undefined;
        random = await features(undefined);
      },
    },
    {
      what: "kNN of the random-init encoder",
      run: async () => void (figures.random_init_knn_top1 = await timed(() => knnTop1(gpu, spec, random!))),
    },
    {
      what: "linear probe of the random-init encoder",
      run: async () => void (figures.random_init_linear_top1 = await timed(() => linearTop1(gpu, spec, random!))),
    },
    {
      what: "kNN on raw pixels",
      run: async () => {
        random = undefined;
        figures.pixels_knn_top1 = await pixelsKnn(gpu, spec, run.data);
      },
    },
  ];
  const onSig = () => {
    interrupted = true;
    // a second Ctrl-C ends the process as usual
    process.off("SIGINT", onSig);
    log(
      "\ninterrupted: finishing the evaluation step under way, then writing a partial report (Ctrl-C again to quit now)",
    );
  };
  process.on("SIGINT", onSig);
  const notEvaluated: string[] = [];
  try {
    for (const s of stages) {
      if (interrupted || opts.stopRequested?.()) {
        interrupted = true;
        if (!s.prep) notEvaluated.push(s.what);
        continue;
      }
      await s.run();
    }
  } finally {
    process.off("SIGINT", onSig);
  }
  return { figures, seconds, notEvaluated, interrupted };
}
