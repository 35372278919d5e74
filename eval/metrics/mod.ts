// Scoring metrics on the host, in float64, with no GPU: AUROC (and the one-class anomaly protocol),
// retrieval (precision@k, MAP@R), clustering (Hungarian matching, ACC, NMI, ARI), a k-means reference,
// mean ± std over seeds, and whether a difference is larger than that spread (t-tests).
export { auroc, type BinaryLabels, type OneClassAuroc, oneClassAuroc } from "./auroc.ts";
export { mapAtR, type MapAtROptions, precisionAtK } from "./retrieval.ts";
export { type Assignment, hungarian } from "./hungarian.ts";
export {
  ari,
  clusteringAccuracy,
  type ClusteringScores,
  type Contingency,
  contingency,
  nmi,
  scoreClustering,
} from "./clustering.ts";
export {
  assignOnHost,
  type AssignPass,
  kmeans,
  KMEANS_DEFAULTS,
  type KmeansOptions,
  kmeansPlusPlusInit,
  type KmeansResult,
  lloyd,
  type Matrix,
} from "./kmeans.ts";
export { hostRng } from "./rng.ts";
export {
  markdownTable,
  type MeanStd,
  meanStd,
  meanStdCell,
  type MetricSummary,
  type SeedsSummary,
  seedsSummary,
  seedsTable,
  spreadCell,
  tableLines,
  type TableOptions,
} from "./summary.ts";
export { holmAdjust, pairedTest, regularizedBeta, studentTwoSidedP, type TTest, welchTest } from "./significance.ts";
