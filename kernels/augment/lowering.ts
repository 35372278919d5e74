// WGSL lowering of one augmented view, specialised on the recipe and shapes:
//   params  one thread per sample: Philox → crop box, switches, jitter factors and order, σ
//   pixels  one thread per output row: crop + flip (bilinear), then the colour ops — all of
//           them, or only those before contrast when contrast needs its image mean
//   mean    (contrast on) one thread per sample: grayscale mean of the image so far
//   pixels2 (contrast on) in place, one thread per row: contrast, the remaining jitter ops, grayscale
//   blurRows, blurCols (blur on): separable gaussian, one thread per line; solarize at the very end
// A thread per row (not per pixel) loads its sample's ~17 parameters once instead of once per
// pixel: storage loads dominate on lavapipe, and N·Ho rows still give thousands of threads.
// Row and line loops read their bound from PARAMS (P.WO, P.HO), capped by the true size, so the
// compiler does not unroll them fully.
// Without blur the image passes write the op's output directly; with blur they write a temp.
import { grid } from "../layout.ts";
import { type BufRef, type KernelCtx, type Lowering, type Pass, RNG_SEED, RNG_STEP, UNIFORM_DECL } from "../op.ts";
import { PHILOX_WGSL } from "../wgsl/philox.ts";
import { blurPassWgsl } from "./blur.ts";
import { COLOR_WGSL, JIT, jitterOpWgsl } from "./color.ts";
import { geometryWgsl } from "./geometry.ts";
import { paramsWgsl } from "./params.ts";
import { type AugmentSpec, P } from "./spec.ts";

type Bind = { name: string; buf: BufRef; write: boolean };

function pass(label: string, binds: Bind[], threads: number, lib: string, body: string, uniform = false): Pass {
  const g = grid(threads);
  const decls = binds.map((b, k) =>
    `@group(0) @binding(${k}) var<storage, ${b.write ? "read_write" : "read"}> ${b.name}: array<f32>;\n`
  ).join("");
  return {
    label,
    wgsl: (uniform ? UNIFORM_DECL : "") + decls + lib + g.head + body + "}\n",
    bindings: binds.map(({ buf, write }) => ({ buf, write })),
    uniform,
    workgroups: g.workgroups,
  };
}

export function lowerAugment(s: AugmentSpec, c: KernelCtx): Lowering {
  const { N, C, H, W, Ho, Wo } = s;
  const plane = Ho * Wo, K = P.COUNT;
  const needMean = !!s.jitter && s.jitter.contrast > 0;
  const params: BufRef = { kind: "tmp", i: 0 };
  const img: BufRef = s.blur ? { kind: "tmp", i: 1 } : { kind: "out" };
  const temps = s.blur ? [N * K, N * C * plane, N * C * plane] : [N * K];
  const ch = [...Array(C).keys()];
  const pixelLib = COLOR_WGSL + jitterOpWgsl(C);
  const at = (slot: number) => `PARAMS[pb + ${slot}u]`;

  // per row: the sample's parameters, loaded once
  const rowHead = `
  let n = i / ${Ho}u; let oy = i % ${Ho}u;
  let pb = n * ${K}u;
  let rowBase = n * ${C * plane}u + oy * ${Wo}u;
  let jit = ${s.jitter ? `${at(P.JITTER)} == 1.0` : "false"};
  let order = vec4<u32>(u32(${at(P.ORDER)}), u32(${at(P.ORDER + 1)}), u32(${at(P.ORDER + 2)}), u32(${at(P.ORDER + 3)}));
  let factor = vec4<f32>(${at(P.BRIGHT)}, ${at(P.CONTRAST)}, ${at(P.SAT)}, ${at(P.HUE)});
  let mean = ${at(P.MEAN)};
  let gray = ${at(P.GRAY)} == 1.0;
  let solar = ${at(P.SOLAR)} == 1.0;
  let cols = min(u32(${at(P.WO)}), ${Wo}u);
`;
  const store = ch.map((k) => `    IMG[ib + ${k * plane}u] = v[${k}];\n`).join("");
  const tail = (C === 3 ? `    if (gray) { v = vec3<f32>(gray3(v)); }\n` : "") +
    (s.blur ? "" : `    if (solar) { v = solarize3(v); }\n`);
  // jitter ops by position; `phase` 0: all, 1: those before contrast, 2: contrast and after
  const jitter = (phase: 0 | 1 | 2) =>
    !s.jitter ? "" : `
    if (jit) {
      var started = ${phase === 2 ? "false" : "true"};
      for (var pos = 0u; pos < 4u; pos++) {
        let op = order[pos];
${phase === 1 ? `        if (op == ${JIT.CONTRAST}u) { break; }\n` : ""}${
      phase === 2 ? `        if (op == ${JIT.CONTRAST}u) { started = true; }\n` : ""
    }        if (started) { v = jitterOp(op, v, factor[op], mean); }
      }
    }
`;

  const passes: Pass[] = [];
  passes.push(
    pass(
      "augment.params",
      [{ name: "PARAMS", buf: params, write: true }],
      N,
      PHILOX_WGSL,
      paramsWgsl(s, c.scalarU32(RNG_SEED), c.scalarU32(RNG_STEP)),
      true,
    ),
  );

  passes.push(pass(
    "augment.pixels",
    [
      { name: "X", buf: { kind: "in", i: 0 }, write: false },
      { name: "PARAMS", buf: params, write: false },
      { name: "IMG", buf: img, write: true },
    ],
    N * Ho,
    geometryWgsl(W, Ho, Wo) + pixelLib,
    rowHead + `
  let box = vec4<f32>(${at(P.I)}, ${at(P.J)}, ${at(P.H)}, ${at(P.W)});
  let flip = ${at(P.FLIP)} == 1.0;
  for (var ox = 0u; ox < cols; ox++) {
    let ib = rowBase + ox;
    var v = vec3<f32>(0.0);
${ch.map((k) => `    v[${k}] = sampleCrop((n * ${C}u + ${k}u) * ${H * W}u, box, oy, ox, flip);`).join("\n")}
` + jitter(needMean ? 1 : 0) + (needMean ? "" : tail) + store + "  }\n",
  ));

  if (needMean) {
    const g = C === 3 ? `gray3(vec3<f32>(IMG[b], IMG[b + ${plane}u], IMG[b + ${2 * plane}u]))` : `IMG[b]`;
    passes.push(pass(
      "augment.mean",
      [
        { name: "PARAMS", buf: params, write: true },
        { name: "IMG", buf: img, write: false },
      ],
      N,
      COLOR_WGSL,
      `
  if (PARAMS[i * ${K}u + ${P.JITTER}u] != 1.0) { return; }
  var acc = 0.0;
  let pixels = min(u32(PARAMS[i * ${K}u + ${P.HO}u]) * u32(PARAMS[i * ${K}u + ${P.WO}u]), ${plane}u);
  for (var k = 0u; k < pixels; k++) { let b = i * ${C * plane}u + k; acc += ${g}; }
  PARAMS[i * ${K}u + ${P.MEAN}u] = acc / ${plane}.0;
`,
    ));
    passes.push(pass(
      "augment.pixels2",
      [
        { name: "PARAMS", buf: params, write: false },
        { name: "IMG", buf: img, write: true },
      ],
      N * Ho,
      pixelLib,
      rowHead + `
  for (var ox = 0u; ox < cols; ox++) {
    let ib = rowBase + ox;
    var v = vec3<f32>(0.0);
${ch.map((k) => `    v[${k}] = IMG[ib + ${k * plane}u];`).join("\n")}
` + jitter(2) + tail + store + "  }\n",
    ));
  }

  if (s.blur) {
    const r = s.blur.radius, mid: BufRef = { kind: "tmp", i: 2 };
    const blurPass = (label: string, src: BufRef, dst: BufRef, horizontal: boolean, after: string) =>
      pass(
        label,
        [
          { name: "PARAMS", buf: params, write: false },
          { name: "SRC", buf: src, write: false },
          { name: "DST", buf: dst, write: true },
        ],
        N * (horizontal ? Ho : Wo),
        COLOR_WGSL,
        blurPassWgsl(C, Ho, Wo, r, horizontal, K, after),
      );
    passes.push(blurPass("augment.blurRows", img, mid, true, ""));
    passes.push(
      blurPass(
        "augment.blurCols",
        mid,
        { kind: "out" },
        false,
        `    if (PARAMS[pb + ${P.SOLAR}u] == 1.0) { v = solarize3(v); }`,
      ),
    );
  }
  return { temps, passes };
}
