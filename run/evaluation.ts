// The evaluation of a trained run, as stages in a fixed order: the trained encoder (features,
// kNN, linear probe), the spec's cluster head scored as a clustering when its loss has one
// (dsl/resolve.ts clusterHeads), the same encoder at its random initialisation, then the kNN on
// raw pixels. A one-class run (data.oneClass) has one label in its training set, so kNN and a
// linear probe on it mean nothing: its stages score the class's one-class anomaly AUROC instead
// (eval/anomaly.ts: the training images are the normal set, the whole test split is scored),
// in the same three feature spaces. An interrupt (Ctrl-C) lets the stage under way finish and
// skips the rest: what was measured is kept, and the caller is told what was not.
import { host } from "../platform/current.ts";
import type { PipelineSpec } from "../dsl/schema.ts";
import { clusterHeads } from "../dsl/resolve.ts";
import { describeClass } from "../data/one_class.ts";
import { clusterHeadScores } from "../eval/cluster_head.ts";
import { ANOMALY_K, oneClassAnomaly } from "../eval/anomaly.ts";
import { encoderFeatures, evaluateFeatures, pixelsKnn } from "../eval/evaluate.ts";
import type { FeatureSet } from "../eval/features.ts";
import { pixelFeatures } from "../eval/pixels.ts";
import type { TrainResult } from "../train/trainer.ts";

/** The figures report.json holds, by its keys; a figure not measured is absent. */
export interface EvalFigures {
  knn_top1?: number;
  linear_top1?: number;
  random_init_knn_top1?: number;
  random_init_linear_top1?: number;
  pixels_knn_top1?: number;
  /** one-class runs: AUROC of the class's test images against the rest (kNN score, k = ANOMALY_K) */
  one_class_auroc?: number;
  random_init_one_class_auroc?: number;
  pixels_one_class_auroc?: number;
  /** the cluster head's argmax on the test split: Hungarian accuracy, NMI, ARI (specs with a cluster head) */
  cluster_acc?: number;
  cluster_nmi?: number;
  cluster_ari?: number;
}

export interface Evaluation {
  figures: EvalFigures;
  /** seconds of the kNN and linear probes of both encoders (feature extraction and pixels aside) */
  seconds: number;
  /** the stages skipped after an interrupt, in words; empty when all ran */
  notEvaluated: string[];
  interrupted: boolean;
}

interface Stage {
  /** what the stage measures, as the user is told when it is skipped */
  what: string;
  run: () => Promise<void>;
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
  const { gpu } = run;
  /** kNN and linear probe of the encoder under `weights` (undefined: its random initialisation) */
  const encoder = async (weights: ((name: string) => Promise<Float32Array>) | undefined) =>
    await evaluateFeatures(gpu, spec, await encoderFeatures(gpu, spec, run.lowered.encoder, run.images, weights));
  const pct = (v: number) => `${(v * 100).toFixed(2)}%`;
  let seconds = 0, interrupted = false;
  const stages: Stage[] = run.data.oneClass ? oneClassStages(spec, run, log, (s) => seconds += s, figures) : [
    {
      what: "kNN and linear probe of the trained encoder",
      run: async () => {
        log("evaluating: features of the trained encoder …");
        const t = await encoder((name) => run.exec.read(name));
        Object.assign(figures, { knn_top1: t.knn_top1, linear_top1: t.linear_top1 });
        seconds += t.seconds;
        log(`  kNN ${pct(t.knn_top1)}, linear ${pct(t.linear_top1)}${interrupted ? "" : "; random-init baseline …"}`);
      },
    },
    // the first head only: the report has one set of cluster keys (no shipped spec has two heads)
    ...clusterHeads(spec).slice(0, 1).map((head) => ({
      what: `clustering scores of the cluster head '${head.path.join(" → ")}'`,
      run: async () => {
        const c = await clusterHeadScores(gpu, spec, head.path, run.images.test, (name) => run.exec.read(name));
        Object.assign(figures, { cluster_acc: c.accuracy, cluster_nmi: c.nmi, cluster_ari: c.ari });
        seconds += c.seconds;
        log(
          `  cluster head ${head.path.join(" → ")} (argmax of ${head.clusters}, ${c.used} used) on the test split: ` +
            `ACC ${pct(c.accuracy)}, NMI ${c.nmi.toFixed(4)}, ARI ${c.ari.toFixed(4)}`,
        );
      },
    })),
    {
      what: "kNN and linear probe of the random-init encoder",
      run: async () => {
        const r = await encoder(undefined);
        Object.assign(figures, { random_init_knn_top1: r.knn_top1, random_init_linear_top1: r.linear_top1 });
        seconds += r.seconds;
      },
    },
    {
      what: "kNN on raw pixels",
      run: async () => void (figures.pixels_knn_top1 = await pixelsKnn(gpu, spec, run.data)),
    },
  ];
  let off = () => {};
  const onSig = () => {
    interrupted = true;
    // a second Ctrl-C ends the process as usual
    off();
    log(
      "\ninterrupted: finishing the evaluation step under way, then writing a partial report (Ctrl-C again to quit now)",
    );
  };
  off = host().onInterrupt(onSig);
  const notEvaluated: string[] = [];
  try {
    for (const s of stages) {
      if (interrupted || opts.stopRequested?.()) {
        interrupted = true;
        notEvaluated.push(s.what);
        continue;
      }
      await s.run();
    }
  } finally {
    off();
  }
  return { figures, seconds, notEvaluated, interrupted };
}

/** The stages of a one-class run: the class's anomaly AUROC, trained, random init, pixels. */
function oneClassStages(
  spec: PipelineSpec,
  run: TrainResult,
  log: (s: string) => void,
  addSeconds: (s: number) => void,
  figures: EvalFigures,
): Stage[] {
  const { gpu, data } = run;
  const c = data.oneClass!.index;
  const auroc = async (f: { train: FeatureSet; test: FeatureSet }) => {
    const t0 = performance.now();
    const r = await oneClassAnomaly(f.train, f.test, { gpu, k: ANOMALY_K, classes: [c] });
    addSeconds((performance.now() - t0) / 1000);
    return r.perClass[0];
  };
  const encoder = async (weights: ((name: string) => Promise<Float32Array>) | undefined) =>
    await auroc(await encoderFeatures(gpu, spec, run.lowered.encoder, run.images, weights));
  const what = describeClass(data.oneClass!);
  return [
    {
      what: `one-class AUROC of ${what}, trained encoder`,
      run: async () => {
        log(`evaluating: one-class AUROC of ${what} (kNN score, k = ${ANOMALY_K}), trained encoder …`);
        figures.one_class_auroc = await encoder((name) => run.exec.read(name));
        log(`  AUROC ${figures.one_class_auroc.toFixed(4)}`);
      },
    },
    {
      what: `one-class AUROC of ${what}, random-init encoder`,
      run: async () => void (figures.random_init_one_class_auroc = await encoder(undefined)),
    },
    {
      what: `one-class AUROC of ${what}, raw pixels`,
      run: async () =>
        void (figures.pixels_one_class_auroc = await auroc({
          train: pixelFeatures(data.train),
          test: pixelFeatures(data.test),
        })),
    },
  ];
}
