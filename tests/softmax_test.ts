// softmax / logsumexp: float64 references against direct formulas, stability with huge
// logits, VJPs by finite differences, WGSL kernels vs float64, forward and backward.
import { Graph } from "../ir/graph.ts";
import { ShapeError } from "../kernels/op.ts";
import { assertClose, checkVjp, cpuOp, rand, randArg } from "./util/check.ts";
import { gpuBackward, runOpGPU } from "./util/gpu.ts";

const S = [7, 13, 5];
const x = rand(7 * 13 * 5, 5, -3, 3);
const X = { shape: S, data: x };

/** direct (unstabilised) formulas, fine for |x| ≤ 3 */
function naive(axis: number) {
  const sm = new Float64Array(x.length), n = S[axis];
  const lse: number[] = [];
  const idx = (c: number[]) => (c[0] * 13 + c[1]) * 5 + c[2];
  for (let i = 0; i < 7; i++) {
    for (let j = 0; j < 13; j++) {
      for (let k = 0; k < 5; k++) {
        const c = [i, j, k];
        if (c[axis] !== 0) continue;
        let t = 0;
        for (let m = 0; m < n; m++) t += Math.exp(x[idx(c.map((v, a) => (a === axis ? m : v)))]);
        lse.push(Math.log(t));
        for (let m = 0; m < n; m++) {
          const at = idx(c.map((v, a) => (a === axis ? m : v)));
          sm[at] = Math.exp(x[at]) / t;
        }
      }
    }
  }
  return { sm, lse };
}

Deno.test("softmax and logsumexp along each axis match the direct formulas", () => {
  for (const axis of [0, 1, 2]) {
    const { sm, lse } = naive(axis);
    assertClose(cpuOp("softmax", [X], { axis }), sm, { rtol: 1e-12, atol: 0 }, `softmax axis ${axis}`);
    assertClose(
      cpuOp("logsumexp", [X], { axis, keepdims: axis === 1 }),
      lse,
      { rtol: 1e-12, atol: 0 },
      `lse axis ${axis}`,
    );
  }
});

Deno.test("max subtraction keeps huge logits finite", () => {
  const big = { shape: [2, 3], data: [1000, 1001, 1002, -1000, -1001, -1002] };
  const e = [Math.exp(-2), Math.exp(-1), 1], t = e[0] + e[1] + e[2];
  assertClose(cpuOp("softmax", [big], { axis: 1 }), [...e.map((v) => v / t), ...e.reverse().map((v) => v / t)], {
    rtol: 1e-12,
  }, "softmax");
  assertClose(cpuOp("logsumexp", [big], { axis: 1, keepdims: false }), [1002 + Math.log(t), -1000 + Math.log(t)], {
    rtol: 1e-14,
  }, "lse");
});

Deno.test("softmax/logsumexp shape rules and errors", () => {
  const g = new Graph();
  const t = g.input("x", S);
  if (t.softmax(1).shape.join() !== "7,13,5") throw new Error("softmax shape");
  if (t.logsumexp(-1).shape.join() !== "7,13") throw new Error("lse shape");
  if (t.logsumexp(0, true).shape.join() !== "1,13,5") throw new Error("lse keepdims shape");
  try {
    t.op("softmax", [], { axis: 3 });
    throw new Error("no error");
  } catch (e) {
    if (!(e instanceof ShapeError) || !e.message.includes("axis 3 out of range")) throw e;
  }
});

Deno.test("softmax/logsumexp VJPs match finite differences", () => {
  for (const axis of [0, 1, 2]) {
    checkVjp("softmax", [randArg(S, 3, -2, 2)], { axis });
    for (const keepdims of [false, true]) checkVjp("logsumexp", [randArg(S, 4, -2, 2)], { axis, keepdims });
  }
});

// ---- GPU (WGSL) vs float64 ----------------------------------------------------------------

Deno.test("GPU softmax/logsumexp match float64 along every axis, including huge logits", async () => {
  for (const axis of [0, 1, 2]) {
    assertClose(
      await runOpGPU("softmax", [X], { axis }),
      cpuOp("softmax", [X], { axis }),
      { rtol: 1e-4, atol: 1e-7 },
      `softmax ${axis}`,
    );
    const attrs = { axis, keepdims: axis === 2 };
    assertClose(
      await runOpGPU("logsumexp", [X], attrs),
      cpuOp("logsumexp", [X], attrs),
      { rtol: 1e-5, atol: 1e-6 },
      `lse ${axis}`,
    );
  }
  // logits / T with T = 0.05 and a long row: the max-subtraction must hold in f32
  const big = randArg([5, 301], 8, -20, 20);
  assertClose(await runOpGPU("softmax", [big], { axis: 1 }), cpuOp("softmax", [big], { axis: 1 }), {
    rtol: 1e-4,
    atol: 1e-9,
  }, "softmax big");
  assertClose(await runOpGPU("logsumexp", [big], { axis: 1 }), cpuOp("logsumexp", [big], { axis: 1 }), {
    rtol: 1e-6,
    atol: 0,
  }, "lse big");
});

Deno.test("GPU backward of softmax/logsumexp matches the float64 backward", async () => {
  await gpuBackward("softmax", [X], { axis: 1 }, [0]);
  await gpuBackward("logsumexp", [X], { axis: 2, keepdims: false }, [0]);
});
