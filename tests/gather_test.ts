// The batch gather from a device-resident data set (kernels/gather.ts) and the epoch shuffle it
// draws from (kernels/wgsl/shuffle.ts): the shuffle is a permutation for every n and epoch, the
// WGSL twin computes the TS one bit for bit, and the gathered batch equals the host copy of the
// same rows (u8 bytes unpacked into byte/255 exactly, f32 values as they are, rows past the end zero).
import { compile } from "../compiler/compile.ts";
import { Graph } from "../ir/graph.ts";
import { shuffleOrder } from "../data/shuffle.ts";
import { shuffleHalfBits, shuffleIndex } from "../kernels/wgsl/shuffle.ts";
import { getGpu } from "../runtime/device.ts";
import { DeviceImages, imageBytes } from "../runtime/device_images.ts";
import { Executable } from "../runtime/executable.ts";
import { assertClose, cpuOp, rand } from "./util/check.ts";

Deno.test("shuffle: every epoch's order is a permutation of 0..n−1, different per epoch and seed", () => {
  for (const n of [1, 2, 3, 5, 17, 64, 255, 256, 257, 1000, 60000]) {
    for (const [seed, epoch] of [[0, 0], [0, 1], [7, 0], [0xffffffff, 12345]]) {
      const o = shuffleOrder(n, seed, epoch);
      const seen = new Uint8Array(n);
      for (const v of o) {
        if (v >= n || seen[v]) throw new Error(`n = ${n}, seed ${seed}, epoch ${epoch}: ${v} out of range or repeated`);
        seen[v] = 1;
      }
    }
  }
  const a = shuffleOrder(1000, 0, 0), b = shuffleOrder(1000, 0, 1), c = shuffleOrder(1000, 1, 0);
  const same = (x: Uint32Array, y: Uint32Array) => x.filter((v, i) => v === y[i]).length;
  // a random permutation fixes ~1 point of another on average; allow a handful
  if (same(a, b) > 10 || same(a, c) > 10) throw new Error(`orders agree too often: ${same(a, b)}, ${same(a, c)}`);
  // shuffled, not nearly sorted: the mean displacement of a random permutation is ~n/3
  const disp = a.reduce((s, v, i) => s + Math.abs(v - i), 0) / a.length;
  if (!(disp > 250 && disp < 420)) throw new Error(`mean displacement ${disp}`);
  if (
    shuffleHalfBits(1) !== 1 || shuffleHalfBits(4) !== 1 || shuffleHalfBits(5) !== 2 || shuffleHalfBits(60000) !== 8
  ) {
    throw new Error("half bit widths");
  }
});

/** A gather graph over a data set input of `dtype`; scalars named as the training plan names them. */
function gatherGraph(n: number, shape: number[], batch: number, dtype: "u8" | "f32", order: "shuffle" | "stored") {
  const g = new Graph();
  const set = g.input("dataset", [n, ...shape], dtype);
  const attrs = { batch, order, dtype, first: "data_first", seed: "seed", epoch: "data_epoch" };
  g.output("out", set.op("gatherBatch", [], attrs));
  return { g, attrs };
}

Deno.test("gatherBatch: shuffled and stored-order batches of u8 and f32 data equal the host copy of the same rows", async () => {
  const gpu = await getGpu();
  const n = 37, shape = [3, 5, 3], per = 45, batch = 11; // per image 45 bytes: rows straddle u32 words
  const floats = Float32Array.from(rand(n * per, 5, 0, 1), (v) => Math.round(v * 255) / 255);
  const bytes = imageBytes(floats)!;
  if (!bytes) throw new Error("k/255 values must convert to bytes");
  const f32 = Float32Array.from(rand(n * per, 6, -2, 2));
  for (const dtype of ["u8", "f32"] as const) {
    for (const order of ["shuffle", "stored"] as const) {
      const { g, attrs } = gatherGraph(n, shape, batch, dtype, order);
      const ex = await Executable.create(
        gpu,
        compile(g, { features: { subgroups: gpu.features.subgroups, f16: gpu.features.f16 } }),
      );
      try {
        ex.write("dataset", dtype === "u8" ? bytes : f32);
        const host = dtype === "u8" ? floats : f32;
        // the last stored-order batch runs past the end: those rows are zeros
        const cases = order === "shuffle" ? [[3, 0, 0], [3, 2, 22], [9, 1, 26]] : [[3, 0, 0], [3, 2, 22], [9, 1, 33]];
        for (const [seed, epoch, first] of cases) {
          ex.setScalars({ seed, data_epoch: epoch, data_first: first });
          ex.run();
          const got = await ex.read("out");
          const want = new Float64Array(batch * per);
          for (let b = 0; b < batch; b++) {
            const r = order === "shuffle" ? shuffleIndex(first + b, n, seed, epoch) : first + b;
            if (r < n) { for (let j = 0; j < per; j++) want[b * per + j] = host[r * per + j]; }
          }
          assertClose(got, want, { rtol: 0, atol: 0 }, `${dtype} ${order} seed ${seed} epoch ${epoch} first ${first}`);
          // the float64 reference agrees (it is what graph-level tests evaluate)
          const ref = cpuOp(
            "gatherBatch",
            [{ shape: [n, ...shape], data: dtype === "u8" ? Float64Array.from(bytes) : Float64Array.from(f32) }],
            attrs,
            {
              seed,
              data_epoch: epoch,
              data_first: first,
            },
          );
          assertClose(got, ref, { rtol: 0, atol: 0 }, `reference ${dtype} ${order}`);
        }
      } finally {
        ex.destroy();
      }
    }
  }
});

Deno.test("gatherBatch: every byte value unpacks to exactly the f32 nearest to byte/255", async () => {
  const gpu = await getGpu();
  const { g } = gatherGraph(256, [1], 256, "u8", "stored");
  const ex = await Executable.create(
    gpu,
    compile(g, { features: { subgroups: gpu.features.subgroups, f16: gpu.features.f16 } }),
  );
  try {
    ex.write("dataset", Uint8Array.from({ length: 256 }, (_, v) => v));
    ex.setScalars({ seed: 0, data_epoch: 0, data_first: 0 });
    ex.run();
    const got = await ex.read("out");
    for (let v = 0; v < 256; v++) {
      if (got[v] !== Math.fround(v / 255)) throw new Error(`byte ${v}: ${got[v]} vs ${Math.fround(v / 255)}`);
    }
  } finally {
    ex.destroy();
  }
});

Deno.test("Executable.read: a u8 input (the data set on the device) reads back as its bytes; a wrong name lists the readable ones", async () => {
  const gpu = await getGpu();
  const n = 7, per = 5; // 35 bytes: not a whole number of words
  const { g } = gatherGraph(n, [per], 2, "u8", "stored");
  const program = compile(g, { features: { subgroups: gpu.features.subgroups, f16: gpu.features.f16 } });
  const bytes = Uint8Array.from({ length: n * per }, (_, i) => (i * 37 + 11) % 256);
  const ds = {
    name: "bytes",
    images: Float32Array.from(bytes, (v) => v / 255),
    labels: new Int32Array(n),
    n,
    c: 1,
    h: 1,
    w: per,
    classes: 1,
  };
  const images = DeviceImages.create(gpu, ds);
  const owned = await Executable.create(gpu, program),
    bound = await Executable.create(gpu, program, { bind: { dataset: images.buffer } });
  try {
    owned.write("dataset", bytes);
    for (const ex of [owned, bound]) {
      const got = await ex.read("dataset");
      assertClose(got, Float64Array.from(bytes), { rtol: 0, atol: 0 }, "dataset bytes");
    }
    const err = await owned.read("datset").catch((e: Error) => e.message);
    if (!/cannot read 'datset'; readable: out, dataset$/.test(String(err))) {
      throw new Error(`error names the readable names: ${err}`);
    }
  } finally {
    owned.destroy();
    bound.destroy();
    images.destroy();
  }
});

Deno.test("imageBytes: exact k/255 images become bytes; anything else stays f32", () => {
  const ok = Float32Array.from([0, 1 / 255, 128 / 255, 1]);
  if (Array.from(imageBytes(ok)!).join() !== "0,1,128,255") throw new Error("bytes");
  if (imageBytes(Float32Array.from([0.5])) !== undefined) throw new Error("0.5 is not k/255");
  if (imageBytes(Float32Array.from([NaN])) !== undefined) throw new Error("NaN is not a byte");
  if (imageBytes(Float32Array.from([2])) !== undefined) throw new Error("2 is out of range");
});
