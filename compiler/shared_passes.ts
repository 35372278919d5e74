// Pass 6b of compile(): passes computed twice. A pass that reads only its kernel's inputs and
// writes only one of its temporaries — a convolution's weight repack — makes the same bytes
// wherever it reads the same, unchanged buffers: the two views' convolutions with one weight
// repack it twice. The later copy is dropped and its kernel reads the earlier kernel's
// temporary, which then lives until that kernel (memory.ts extends it).
import type { Pass } from "../kernels/op.ts";
import type { GeneratedKernel } from "./codegen.ts";

/** For a kernel: its temporary i is the temporary `temp` of the earlier kernel `kernel`. */
export type SharedTemps = Map<number, { kernel: number; temp: number }>;

/**
 * Drops the repeated passes from `kernels` (in schedule order) and returns, per kernel, which
 * of its temporaries are earlier kernels' ones. `storageKey` tells buffers apart.
 */
export function shareRepeatedPasses(kernels: GeneratedKernel[], storageKey: (node: number) => number): SharedTemps[] {
  const shared: SharedTemps[] = kernels.map(() => new Map());
  // pass key → where its temporary is, and the storages it read
  const made = new Map<string, { kernel: number; temp: number; reads: number[] }>();
  kernels.forEach((k, at) => {
    const keep: number[] = [];
    k.passes.forEach((p, j) => {
      const key = repackKey(k, p, storageKey);
      const tmp = key && p.bindings.find((b) => b.write)!.buf;
      if (!key || tmp?.kind !== "tmp" || writers(k, tmp.i) !== 1) return void keep.push(j);
      const hit = made.get(key.text);
      if (hit) shared[at].set(tmp.i, { kernel: hit.kernel, temp: hit.temp });
      else {
        made.set(key.text, { kernel: at, temp: tmp.i, reads: key.reads });
        keep.push(j);
      }
    });
    if (keep.length < k.passes.length) {
      k.passes = keep.map((j) => k.passes[j]);
      k.why = keep.map((j) => k.why[j]);
    }
    // what this kernel writes is not what an earlier pass read
    const written = new Set([k.node, ...(k.alsoWrites ?? [])].map(storageKey));
    for (const [text, m] of made) if (m.reads.some((s) => written.has(s))) made.delete(text);
  });
  return shared;
}

/** A pass that reads only kernel inputs and writes one temporary: its text and the storages it reads. */
function repackKey(k: GeneratedKernel, p: Pass, storageKey: (node: number) => number) {
  const writes = p.bindings.filter((b) => b.write);
  if (writes.length !== 1 || p.bindings.some((b) => !b.write && b.buf.kind !== "in")) return undefined;
  const reads = p.bindings.flatMap((b) => (b.buf.kind === "in" ? [storageKey(k.ins[b.buf.i])] : []));
  const text = JSON.stringify([p.wgsl, p.workgroups, p.uniform ?? false, reads]);
  return { text, reads };
}

/** how many passes of kernel `k` write its temporary `i` */
const writers = (k: GeneratedKernel, i: number) =>
  k.passes.filter((p) => p.bindings.some((b) => b.write && b.buf.kind === "tmp" && b.buf.i === i)).length;
