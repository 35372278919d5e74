// Public API. The dataflow is one direction:
//   spec (dsl/) → graph (ir/, step/forward_graph.ts) → compiled step (compiler/) → GPU (runtime/)
// with the op table (kernels/) shared by every stage and method.
export * from "./dsl/mod.ts";
export { Graph, type Init, type Node } from "./ir/graph.ts";
export { concat, Tensor } from "./ir/tensor.ts";
export { OPS } from "./kernels/registry.ts";
export type { OpDef, Shape } from "./kernels/op.ts";
export { grad } from "./ir/autodiff.ts";
export { compile, describe, type Program } from "./compiler/compile.ts";
export { forwardGraph } from "./step/forward_graph.ts";
export { applyModule } from "./step/apply_module.ts";
export { validateSpec } from "./step/validate.ts";
export { checkExpr, type ExprInfo, lossRefs, type RefInfo } from "./step/loss_check.ts";
export { LossExprError, lossGraph, lossPair, type Ref } from "./step/loss_expr.ts";
export { evaluate as evaluateCpu, step as stepCpu } from "./cpu/reference.ts";
export { getGpu, type Gpu, NoAdapterError, openGpu } from "./runtime/device.ts";
export { Executable } from "./runtime/executable.ts";
export * as nn from "./nn/mod.ts";
export * as losses from "./losses/mod.ts";
export { loadDataset, loadDatasetSync } from "./data/mod.ts";
export { loadDatasetFromBytes, type NamedBytes } from "./data/from_bytes.ts";
// the platform: a page (or a test) runs the core with its own files, e.g. usePlatform({ files: memoryFiles() })
export { type Platform, platform, usePlatform } from "./platform/current.ts";
export { type Files, type MemoryFiles, memoryFiles } from "./platform/files.ts";
export { addTrainingStep } from "./step/training.ts";
export { RunCompleteError, train, type TrainOptions, type TrainResult } from "./train/trainer.ts";
export { type MethodRun, type MethodRunOptions, runMethod } from "./run/method_run.ts";
export { type CommandResult, runCommand } from "./run/command.ts";
export * as metrics from "./eval/metrics/mod.ts"; // AUROC, retrieval, clustering, k-means, mean ± std (float64)
// (a run is train, then evaluate, then report, put together in run/; nothing here exits the process)
