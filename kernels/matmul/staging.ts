// Copying one operand tile of a GEMM from device memory into workgroup memory: the part every
// shared-memory kernel shares (the SIMT register-blocked matmul, the tensor-core matmul and the
// implicit-GEMM convolutions). An operand is described by how to read its element (mn, k) —
// mn is the row of A (m) or the column of B (n) — so a plain strided matrix and a convolution's
// gathered pixels stage through the same code. The copy is split in two halves so a kernel can
// issue the device loads of tile t+1 before computing tile t and store them after (register
// prefetch, which with two workgroup buffers needs one barrier per tile).

/** Element type of a buffer or of a workgroup tile. */
export type Elem = "f32" | "f16";

/** How one GEMM operand is read from device memory. */
export interface TileOperand {
  /** extent along mn (M for A, N for B) and along the reduction */
  MN: number;
  K: number;
  /** the memory-contiguous axis: consecutive invocations read consecutive elements along it */
  fast: "mn" | "k";
  /** element type the reads return */
  elem: Elem;
  /** WGSL scalar read of element (mn, k) for in-range u32 coordinates */
  read(mn: string, k: string): string;
  /**
   * WGSL vec4 read of the four elements starting at (mn, k) along `fast`. Only offered when such
   * a group is one aligned load, lies wholly inside or wholly outside the operand, and there is
   * no `valid` condition.
   */
  read4?(mn: string, k: string): string;
  /** further per-element validity (a convolution's zero padding), WGSL bool; reads stay in bounds anyway */
  valid?(mn: string, k: string): string;
}

/** Where a staged element goes in workgroup memory (local coordinates inside the tile). */
export interface TileSink {
  /** element type of the workgroup tile */
  elem: Elem;
  /** WGSL statement storing scalar `v` (of type `elem`) at local (mn, k) of buffer `buf` (0 or 1) */
  write(buf: string, mn: string, k: string, v: string): string;
  /** the axis along which the workgroup tile keeps elements contiguous and 16-byte aligned, if any */
  vecAxis?: "mn" | "k";
  /** WGSL statement storing vec4 `v` at local (mn, k) and the next 3 along `vecAxis` */
  write4?(buf: string, mn: string, k: string, v: string): string;
}

export interface StageCode {
  /** register declarations (before the k loop) */
  decls: string;
  /** statements loading the tile at (mn0, k0) into registers */
  load: string;
  /** statements storing the registers into workgroup buffer `buf` */
  store(buf: string): string;
}

const u = (n: number) => `${n}u`;
const cast = (to: Elem, from: Elem, v: string, vec: boolean) =>
  to === from ? v : vec ? `vec4<${to}>(${v})` : `${to}(${v})`;

/**
 * Staging code for a tile of `tileMN` × `BK` elements of `op` starting at WGSL u32 expressions
 * (mn0, k0), copied by `threads` invocations whose flat index is `t`. Elements outside the
 * operand (or failing `valid`) become zero, so the tile can hang over any edge. `name` prefixes
 * the registers.
 */
export function stageTile(
  name: string,
  op: TileOperand,
  sink: TileSink,
  tileMN: number,
  BK: number,
  threads: number,
  at: { mn0: string; k0: string; t: string; checkK?: boolean },
): StageCode {
  const vec = op.read4 !== undefined;
  if (vec && op.valid) throw new Error(`stageTile ${name}: vec4 reads cannot be combined with a validity condition`);
  const fastLen = op.fast === "k" ? BK : tileMN;
  const units = (tileMN * BK) / (vec ? 4 : 1);
  if (vec && fastLen % 4 !== 0) throw new Error(`stageTile ${name}: fast extent ${fastLen} is not a multiple of 4`);
  // units per invocation; when they do not divide evenly the last round is guarded
  const per = Math.ceil(units / threads), perRow = vec ? fastLen / 4 : fastLen;
  const ragged = units % threads !== 0;
  const regT = vec ? `vec4<${op.elem}>` : op.elem;
  // which bounds can fail: only where the operand's extent is not a multiple of the tile
  // (checkK: a split reduction whose last range runs past K)
  const needMN = op.MN % tileMN !== 0, needK = op.K % BK !== 0 || at.checkK === true;
  let decls = "", load = "", stores = "";
  for (let i = 0; i < per; i++) {
    const r = `${name}${i}`;
    const e = `(${at.t} + ${u(threads * i)})`;
    const fastL = vec ? `(${e} % ${u(perRow)}) * 4u` : `(${e} % ${u(perRow)})`;
    const slowL = `(${e} / ${u(perRow)})`;
    const [mnL, kL] = op.fast === "k" ? [slowL, fastL] : [fastL, slowL];
    decls += `  var ${r}: ${regT};\n`;
    const mn = `(${at.mn0} + ${r}_mn)`, k = `(${at.k0} + ${r}_k)`;
    const conds: string[] = [];
    if (needMN) conds.push(`${mn} < ${u(op.MN)}`);
    if (needK) conds.push(`${k} < ${u(op.K)}`);
    const clampMN = needMN ? `min(${mn}, ${u(op.MN - 1)})` : mn;
    const clampK = needK ? `min(${k}, ${u(op.K - 1)})` : k;
    const guard = ragged && i === per - 1 ? `if (${e} < ${u(units)}) ` : "";
    load += `  ${guard}{ let ${r}_mn = ${mnL}; let ${r}_k = ${kL};\n`;
    if (vec) {
      const x = op.read4!(clampMN, clampK);
      load += conds.length ? `    ${r} = select(${regT}(), ${x}, ${conds.join(" && ")});\n` : `    ${r} = ${x};\n`;
    } else {
      if (op.valid) conds.push(op.valid(clampMN, clampK));
      const x = op.read(clampMN, clampK);
      load += conds.length ? `    ${r} = select(${regT}(), ${x}, ${conds.join(" && ")});\n` : `    ${r} = ${x};\n`;
    }
    load += "  }\n";
    // the store recomputes the local coordinates (cheap integer ops) instead of keeping them live
    stores += `  ${guard}{ let ${r}_mn = ${mnL}; let ${r}_k = ${kL};\n`;
    if (vec && sink.write4 && sink.vecAxis === op.fast) {
      stores += `    ${sink.write4("BUF", `${r}_mn`, `${r}_k`, cast(sink.elem, op.elem, r, true))}\n`;
    } else if (vec) {
      for (let c = 0; c < 4; c++) {
        const [m2, k2] = op.fast === "k" ? [`${r}_mn`, `${r}_k + ${u(c)}`] : [`${r}_mn + ${u(c)}`, `${r}_k`];
        stores += `    ${sink.write("BUF", m2, k2, cast(sink.elem, op.elem, `${r}[${c}]`, false))}\n`;
      }
    } else {
      stores += `    ${sink.write("BUF", `${r}_mn`, `${r}_k`, cast(sink.elem, op.elem, r, false))}\n`;
    }
    stores += "  }\n";
  }
  return { decls, load, store: (buf) => stores.replaceAll("BUF", buf) };
}

/**
 * The k loop over double-buffered workgroup tiles: stage tile 0, then for each k tile load the
 * next one into registers, run `compute` on buffer `cur`, and store the registers into the
 * other buffer before the barrier, so global loads overlap the arithmetic. `kBase` prefixes the
 * k offset (a split-K start); the tiles live in buffers indexed "0u"/"1u".
 */
export function doubleBufferedKLoop(
  sa: StageCode,
  sb: StageCode,
  kBase: string,
  KT: number,
  BK: number,
  compute: string,
): string {
  return `${sa.decls}${sb.decls}  {
    let k0 = ${kBase}0u;
${sa.load}${sb.load}${sa.store("0u")}${sb.store("0u")}  }
  workgroupBarrier();
  for (var kt = 0u; kt < ${u(KT)}; kt++) {
    let cur = kt & 1u;
    let k0 = ${kBase}(kt + 1u) * ${u(BK)};
    if (kt + 1u < ${u(KT)}) {
${sa.load}${sb.load}    }
${compute}
    if (kt + 1u < ${u(KT)}) {
${sa.store("(1u - cur)")}${sb.store("(1u - cur)")}    }
    workgroupBarrier();
  }
`;
}
