// Before any GPU timing: every discrete-GPU kernel variant this adapter can run, checked against
// float64 on small odd shapes on this very GPU — the shared-memory matmul tiles (f32, f16 from
// f32 storage, f16 storage), the tensor-core variants built for the adapter's subgroup-matrix
// config (in the builtin form this Dawn accepts: the template form first, else the earlier
// argument form), and the convolution tiles. A variant that fails here is left out of the timings.
import { convCandidates } from "../kernels/conv/variants.ts";
import { type MatmulFeatures, matmulProblem } from "../kernels/matmul/common.ts";
import { chooseSubgroupMatrixConfig, parseSgmatName, sgmatName } from "../kernels/matmul/sgmat.ts";
import { candidateVariants, matmulVariant, tensorCoreNames } from "../kernels/matmul/variants.ts";
import { encodeMatmul, operandSizes, prepareMatmul, readBuffer } from "../runtime/matmul_runner.ts";
import { prepareOp, runOp } from "../runtime/op_runner.ts";
import { noise, spotCheckMatmul, spotCheckOp } from "../runtime/spot_check.ts";
import { awaitGpu } from "../runtime/wait.ts";

export interface CheckResult {
  op: string;
  variant: string;
  case: string;
  ok: boolean;
  /** worst error over tolerance (≤ 1 passes) */
  err?: number;
  error?: string;
}

/** matmul problems: odd in every dimension, both staging layouts (A along k and along m) */
const MATMUL_CASES = [
  { M: 67, N: 45, K: 37, transA: false, transB: false },
  { M: 45, N: 67, K: 37, transA: true, transB: true },
];
/** one convolution geometry with stride-2 phases, padding and ragged tiles */
const CONV_X = [3, 5, 11, 13], CONV_W = [7, 5, 3, 3], CONV_ATTRS = { stride: 2, pad: 1 };

/** Every f32 and f16 matmul variant of the adapter (tensor cores included), by name. */
function matmulVariantsToCheck(f: MatmulFeatures): string[] {
  const names = new Set<string>();
  for (const precision of ["f32", "f16"] as const) {
    for (const storage of ["f32", "f16"] as const) {
      if (precision === "f32" && storage === "f16") continue;
      for (const n of candidateVariants(f, { precision, storage })) names.add(n);
    }
  }
  return [...names].filter((n) => n !== "naive");
}

async function checkMatmul(device: GPUDevice, variant: string, quick = false): Promise<CheckResult[]> {
  const out: CheckResult[] = [];
  const precision = matmulVariant(variant)?.inputType ?? "f32";
  for (const c of quick ? MATMUL_CASES.slice(0, 1) : MATMUL_CASES) {
    const p = matmulProblem([c.transA ? [c.K, c.M] : [c.M, c.K], c.transB ? [c.N, c.K] : [c.K, c.N]], c);
    const what = `${c.M}x${c.N}x${c.K} ${c.transA ? "T" : "N"}${c.transB ? "T" : "N"}`;
    const [na, nb, nc] = operandSizes(p);
    const a = noise(na, 11), b = noise(nb, 12);
    try {
      const m = await prepareMatmul(device, p, variant, { a, b });
      try {
        const enc = device.createCommandEncoder();
        encodeMatmul(enc, m, 1);
        device.queue.submit([enc.finish()]);
        const err = spotCheckMatmul(p, a, b, await readBuffer(device, m.c, nc), precision, Infinity);
        out.push({ op: "matmul", variant, case: what, ok: err <= 1, err });
      } finally {
        m.destroy();
      }
    } catch (e) {
      out.push({ op: "matmul", variant, case: what, ok: false, error: (e as Error).message.slice(0, 400) });
    }
  }
  return out;
}

/**
 * A tensor-core variant in whichever builtin form compiles here: returns the results of the
 * form that ran (the argument form is tried when the template form does not compile).
 */
async function checkTensorCore(device: GPUDevice, variant: string): Promise<CheckResult[]> {
  const first = await checkMatmul(device, variant);
  if (first.every((r) => r.ok) || !first.some((r) => r.error)) return first;
  const o = parseSgmatName(variant)!;
  const alt = sgmatName({ ...o, syntax: "argument" });
  const second = await checkMatmul(device, alt);
  return second.every((r) => r.ok) ? second : [...first, ...second];
}

async function checkConv(device: GPUDevice, variant: string, f: MatmulFeatures): Promise<CheckResult[]> {
  const out: CheckResult[] = [];
  const g = [3, 7, 6, 7];
  const cases: [string, number[][], Record<string, unknown>][] = [
    ["conv2d", [CONV_X, CONV_W], CONV_ATTRS],
    ["conv2dGradInput", [g, CONV_W], { ...CONV_ATTRS, inShape: CONV_X }],
    ["conv2dGradWeight", [CONV_X, g], { ...CONV_ATTRS, wShape: CONV_W }],
  ];
  const precision = variant.endsWith("-f16") || variant.startsWith("sgmat") ? "f16" : "f32";
  for (const [op, shapes, attrs] of cases) {
    const data = shapes.map((s, i) => noise(s.reduce((x, y) => x * y, 1), 20 + i));
    try {
      const m = await prepareOp(
        device,
        op,
        shapes,
        attrs,
        variant,
        { subgroups: f.subgroups, f16: f.f16 === true },
        data,
      );
      try {
        const err = spotCheckOp(op, shapes, attrs, data, await runOp(device, m), precision, Infinity);
        out.push({ op, variant, case: "x[3,5,11,13] w[7,5,3,3] s2 p1", ok: err <= 1, err });
      } finally {
        m.destroy();
      }
    } catch (e) {
      out.push({
        op,
        variant,
        case: "x[3,5,11,13] w[7,5,3,3] s2 p1",
        ok: false,
        error: (e as Error).message.slice(0, 400),
      });
    }
  }
  return out;
}

/**
 * Check every GPU-class variant; `log` gets one line per variant. `quick` (the CPU dry run, where
 * each shader compile takes seconds): one matmul layout, and the conv tiles of one size only.
 */
export async function checkVariants(
  device: GPUDevice,
  f: MatmulFeatures,
  log: (s: string) => void,
  quick = false,
): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  const report = (rs: CheckResult[]) => {
    results.push(...rs);
    const bad = rs.filter((r) => !r.ok);
    const worst = Math.max(...rs.map((r) => r.err ?? Infinity));
    log(
      `check ${rs[0].op.startsWith("conv") ? "conv  " : "matmul"} ${rs[0].variant.padEnd(44)} ${
        bad.length
          ? `FAILED (${
            bad.map((r) => r.error ?? `${r.op} ${r.case} err ${r.err?.toFixed(2)}`).join("; ").slice(0, 300)
          })`
          : `ok (worst ${worst.toFixed(3)} of tolerance)`
      }`,
    );
  };
  const config = f.subgroupMatrix ? chooseSubgroupMatrixConfig(f.subgroupMatrix) : undefined;
  for (const v of matmulVariantsToCheck(f)) {
    report(
      v.startsWith("sgmat")
        ? await awaitGpu(checkTensorCore(device, v))
        : await awaitGpu(checkMatmul(device, v, quick)),
    );
  }
  if (f.subgroupMatrix?.length && !config) {
    log(`tensor cores: no f16→f32 config among ${JSON.stringify(f.subgroupMatrix)}`);
  }
  if (config && f.subgroupMinSize !== f.subgroupMaxSize) {
    log(
      `tensor cores: subgroup size varies (${f.subgroupMinSize}–${f.subgroupMaxSize}); the kernels need a fixed size`,
    );
  }
  for (const precision of ["f32", "f16"] as const) {
    const list = convCandidates({
      cpuAdapter: false,
      subgroups: f.subgroups,
      f16: f.f16 === true,
      precision,
      tensorCores: tensorCoreNames(f),
    });
    for (const v of quick ? list.filter((v) => v?.startsWith("gemm64x64x16")) : list) {
      if (!v) continue;
      const rs = await awaitGpu(checkConv(device, v, f));
      // a tensor-core tile in the earlier builtin form when the template form does not compile here
      const alt = v.startsWith("sgmat") && rs.some((r) => r.error)
        ? await awaitGpu(checkConv(device, sgmatName({ ...parseSgmatName(v)!, syntax: "argument" }), f))
        : undefined;
      report(alt?.every((r) => r.ok) ? alt : rs);
    }
  }
  return results;
}

/** Variant names that passed every check they were given (tensor-core ones under the name that ran). */
export function passedVariants(results: CheckResult[]): Set<string> {
  const by = new Map<string, boolean>();
  for (const r of results) by.set(r.variant, (by.get(r.variant) ?? true) && r.ok);
  return new Set([...by].filter(([, ok]) => ok).map(([v]) => v));
}
