// The built-in change-detection benchmark, made from a test set: every image i is seen under two
// augmentations (the spec's first two views, run by the training `augment` op on the GPU), and
// paired three ways — with its own second view (unchanged), with the second view of another
// image of its class (changed, same class), with the second view of an image of another class
// (changed, other class). The partners are seeded picks.
import type { Dataset } from "../data/dataset.ts";
import { viewAugmentAttrs } from "../dsl/aug_recipes.ts";
import type { PipelineSpec } from "../dsl/schema.ts";
import { Graph } from "../ir/graph.ts";
import { compileFor } from "../runtime/compile_for.ts";
import type { Gpu } from "../runtime/device.ts";
import { Executable } from "../runtime/executable.ts";
import { awaitGpu } from "../runtime/wait.ts";
import { hostRng } from "./metrics/mod.ts";

export const PAIR_KINDS = ["unchanged", "sameClass", "otherClass"] as const;
export type PairKind = typeof PAIR_KINDS[number];

/** Pairs (first view of a[i], second view of b[i]) of one kind. */
export interface PairSet {
  kind: PairKind;
  a: Int32Array;
  b: Int32Array;
}

/** The two augmented views of every image of `ds`, as two data sets in the same order. */
export async function augmentedViews(
  gpu: Gpu,
  spec: PipelineSpec,
  ds: Dataset,
  seed: number,
  chunk = 512,
): Promise<[Dataset, Dataset]> {
  if (spec.views.length < 2) throw new Error(`change pairs: the spec has ${spec.views.length} view; need two`);
  const rows = Math.min(chunk, ds.n), per = ds.c * ds.h * ds.w;
  const g = new Graph();
  const x = g.input("x", [rows, ds.c, ds.h, ds.w]);
  const views = [0, 1].map((v) => g.add("augment", [x], viewAugmentAttrs(spec.views[v].aug, v)));
  views.forEach((t, v) => g.output(`v${v}`, t));
  const ex = await awaitGpu(Executable.create(gpu, await compileFor(gpu, g)));
  try {
    const [, , h, w] = views[0].shape;
    if (views[1].shape[2] !== h || views[1].shape[3] !== w) {
      throw new Error("change pairs: the spec's first two views must have one size");
    }
    const outPer = ds.c * h * w;
    const out = [new Float32Array(ds.n * outPer), new Float32Array(ds.n * outPer)];
    const pad = new Float32Array(rows * per);
    for (let s = 0, step = 0; s < ds.n; s += rows, step++) {
      const m = Math.min(rows, ds.n - s);
      pad.fill(0).set(ds.images.subarray(s * per, (s + m) * per));
      ex.write("x", pad);
      // the RNG is keyed by (seed, step, view, row): each chunk its own step
      ex.setScalars({ seed, step });
      ex.run();
      const got = await awaitGpu(Promise.all([ex.read("v0"), ex.read("v1")]));
      got.forEach((v, k) => out[k].set(v.subarray(0, m * outPer), s * outPer));
    }
    const view = (k: number, name: string): Dataset => ({ ...ds, name, images: out[k], h, w });
    return [view(0, `${ds.name} view 1`), view(1, `${ds.name} view 2`)];
  } finally {
    ex.destroy();
  }
}

/** The three kinds of pairs over labels; needs a class with two images and two classes. */
export function changePairs(labels: Int32Array, seed: number): PairSet[] {
  const n = labels.length, rng = hostRng(seed);
  const byClass = new Map<number, number[]>();
  labels.forEach((l, i) => {
    if (!byClass.has(l)) byClass.set(l, []);
    byClass.get(l)!.push(i);
  });
  if (byClass.size < 2) throw new Error("change pairs: the test set has one class; other-class pairs need two");
  const pick = (list: number[]) => list[Math.floor(rng() * list.length)];
  const all = Array.from({ length: n }, (_, i) => i);
  const same: [number, number][] = [], other: [number, number][] = [];
  for (let i = 0; i < n; i++) {
    const mates = byClass.get(labels[i])!;
    if (mates.length > 1) {
      let j = pick(mates);
      while (j === i) j = pick(mates);
      same.push([i, j]);
    }
    let j = pick(all);
    while (labels[j] === labels[i]) j = pick(all);
    other.push([i, j]);
  }
  if (same.length === 0) throw new Error("change pairs: no class has two test images; same-class pairs need them");
  const set = (kind: PairKind, p: [number, number][]): PairSet => ({
    kind,
    a: Int32Array.from(p, (x) => x[0]),
    b: Int32Array.from(p, (x) => x[1]),
  });
  return [set("unchanged", all.map((i) => [i, i])), set("sameClass", same), set("otherClass", other)];
}
