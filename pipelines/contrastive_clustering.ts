// Contrastive Clustering (Li et al. 2021): one shared encoder, two heads on both views. The
// instance projector's outputs go through NT-Xent over the 2N rows (temperature 0.5); the cluster
// head's K logits become per-sample assignments Y = softmax(rows), and the K columns of the two
// views are contrasted with NT-Xent over 2K rows (temperature 1.0), minus the entropy of each
// view's mean assignment so that no cluster is left empty. Adam 3e-4, constant lr. After
// training, the cluster head's argmax on the test split is scored directly (ACC, NMI, ARI).
// Run: deno run -A pipelines/contrastive_clustering.ts --help
import { presets } from "../dsl/presets.ts";
import { isMain, runPipeline } from "./run.ts";

// K = 10, Fashion-MNIST's classes; heads 512-128 and 512-10 at the encoder's width, as the
// official heads keep the backbone's width
export const spec = presets.contrastiveClustering();

if (isMain(import.meta)) await runPipeline(spec, "pipelines/contrastive_clustering.ts");
