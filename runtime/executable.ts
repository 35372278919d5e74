// Instantiates a compiled Program on a device: buffers, pipelines (cached by WGSL text,
// runtime/pipelines.ts) and bind groups are created once. Per-step scalars live in a ring of uniform slots addressed by a
// dynamic offset, so the values of many steps are written in one upload and each step's
// dispatches pick their slot; a step is then recorded into a command encoder the caller owns
// (several steps, readback copies and other programs' steps can share one command buffer).
// Inputs may be bound to buffers owned elsewhere (a data set on the device shared by the
// training and evaluation programs). Nothing is read back unless asked.
import type { Program, Storage } from "../compiler/compile.ts";
import { size, SLOT_BYTES as SLOT } from "../kernels/op.ts";
import type { Gpu } from "./device.ts";
import { initValues } from "./init.ts";
import { type Dispatch, dispatchFor, recordDispatch } from "./pipelines.ts";
import { awaitGpu } from "./wait.ts";

type Encoded =
  | ({ kind: "dispatch" } & Dispatch)
  | { kind: "copy"; from: GPUBuffer; to: GPUBuffer; bytes: number };

export interface ExecutableOptions {
  /** uniform slots in the scalar ring (steps whose scalars can be written ahead at once); default 1 */
  slots?: number;
  /** inputs bound to buffers owned by the caller instead of buffers of their own, by input name */
  bind?: Record<string, GPUBuffer>;
}

export class Executable {
  readonly buffers: GPUBuffer[];
  readonly slots: number;
  private uniform: GPUBuffer;
  private scalarHost = new ArrayBuffer(SLOT);
  private encoded: Encoded[] = [];
  private owned: boolean[];
  /** bytes written from the host through this executable (scalars and inputs), for accounting */
  uploadedBytes = 0;

  private constructor(readonly gpu: Gpu, readonly program: Program, opts: ExecutableOptions) {
    const { device } = gpu;
    const limit = device.limits.maxStorageBufferBindingSize;
    for (const s of program.storages) {
      if (s.bytes > limit) {
        throw new Error(
          `${label(s)} needs ${s.bytes} bytes, more than this adapter's maxStorageBufferBindingSize (${limit})`,
        );
      }
    }
    const bind = opts.bind ?? {};
    for (const name of Object.keys(bind)) {
      if (!program.inputs.has(name)) throw new Error(`bind: the program has no input named '${name}'`);
    }
    this.owned = program.storages.map((s) => !(s.kind === "input" && s.name! in bind));
    this.buffers = program.storages.map((s, i) => {
      if (!this.owned[i]) {
        const b = bind[s.name!];
        if (b.size < s.bytes) {
          throw new Error(`bind: buffer for input '${s.name}' has ${b.size} bytes, the program needs ${s.bytes}`);
        }
        return b;
      }
      return device.createBuffer({
        size: s.bytes,
        usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
        label: label(s),
      });
    });
    this.slots = Math.max(1, opts.slots ?? 1);
    this.uniform = device.createBuffer({
      size: SLOT * this.slots,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    });
  }

  static async create(gpu: Gpu, program: Program, opts: ExecutableOptions = {}): Promise<Executable> {
    const ex = new Executable(gpu, program, opts);
    try {
      await ex.build();
    } catch (e) {
      // the caller never gets the executable, so its buffers are released here
      ex.destroy();
      throw e;
    }
    return ex;
  }

  private async build(): Promise<void> {
    const { device } = this.gpu;
    const checks: Promise<void>[] = [];
    for (const st of this.program.steps) {
      if (st.kind === "copy") {
        this.encoded.push({ kind: "copy", from: this.buffers[st.from], to: this.buffers[st.to], bytes: st.bytes });
        continue;
      }
      const p = st.pass;
      // repeated bindings of one buffer are legal only when all are read-only; the compiler
      // routes in-place reads through the output binding, so here we just check
      const seenW = new Set<number>();
      st.storages.forEach((s, i) => {
        if (p.bindings[i].write) seenW.add(s);
      });
      st.storages.forEach((s, i) => {
        if (!p.bindings[i].write && seenW.has(s)) {
          throw new Error(
            `compile bug: ${st.label} reads and writes ${label(this.program.storages[s])} through two bindings`,
          );
        }
      });
      const { dispatch, ready } = dispatchFor(
        device,
        { ...p, label: st.label },
        st.storages.map((s) => this.buffers[s]),
        this.uniform,
      );
      checks.push(ready);
      this.encoded.push({ kind: "dispatch", ...dispatch });
    }
    await awaitGpu(Promise.all(checks));
  }

  /** per-step scalars by name into uniform slot `slot` (default 0); names the program does not use are ignored */
  setScalars(values: Record<string, number>, slot = 0): void {
    const f = new Float32Array(this.scalarHost), u = new Uint32Array(this.scalarHost);
    for (const [name, i] of this.program.scalarIndex) {
      if (!(name in values)) throw new Error(`step scalar '${name}' was not given a value`);
      if (this.program.scalarTypes.get(name) === "u32") u[i] = values[name] >>> 0;
      else f[i] = values[name];
    }
    this.writeSlots(slot, this.scalarHost);
  }

  /** Writes packed uniform slots (SLOT bytes each, e.g. from a scalar plan) starting at slot `first`, in one upload. */
  writeSlots(first: number, slots: ArrayBuffer): void {
    const count = slots.byteLength / SLOT;
    if (!Number.isInteger(count) || first < 0 || first + count > this.slots) {
      throw new Error(
        `writeSlots: ${slots.byteLength} bytes at slot ${first} do not fit ${this.slots} slots of ${SLOT} bytes`,
      );
    }
    this.gpu.device.queue.writeBuffer(this.uniform, first * SLOT, slots);
    this.uploadedBytes += slots.byteLength;
  }

  /** Writes an input or persistent tensor: f32 values, or bytes for a u8 input. */
  write(name: string, data: Float32Array | Uint8Array): void {
    const id = this.program.inputs.get(name) ?? this.program.persistent.get(name);
    if (id === undefined) throw new Error(`no input or persistent tensor named '${name}'`);
    writeStorage(this.gpu.device, this.buffers[id], this.program.storages[id], name, data);
    this.uploadedBytes += data.byteLength;
  }

  /** initialise params and state from their Init specs (copies resolved after their sources) */
  initPersistent(seed: number): Map<string, Float32Array> {
    const values = new Map<string, Float32Array>();
    const pending = [...this.program.persistent.entries()];
    for (let pass = 0; pending.length && pass < 3; pass++) {
      for (let k = pending.length - 1; k >= 0; k--) {
        const [name, id] = pending[k];
        const s = this.program.storages[id];
        if (s.init?.kind === "copy" && !values.has(s.init.of)) continue;
        const v = initValues(s.init ?? { kind: "zeros" }, size(s.shape!), seed, name, (n) => values.get(n)!);
        values.set(name, v);
        this.write(name, v);
        pending.splice(k, 1);
      }
    }
    if (pending.length) {
      throw new Error(`cannot initialise ${pending.map((p) => p[0]).join(", ")}: copy of a missing tensor`);
    }
    return values;
  }

  /** The step's dispatches in order (buffer copies left out), each able to record itself into a
   * compute pass: for profilers that submit and time them one by one. */
  dispatches(): { label: string; record(pass: GPUComputePassEncoder, slot?: number): void }[] {
    return this.encoded.flatMap((e) =>
      e.kind === "dispatch"
        ? [{ label: e.label, record: (pass: GPUComputePassEncoder, slot = 0) => recordDispatch(pass, e, slot) }]
        : []
    );
  }

  /** Records the whole step, reading its scalars from uniform slot `slot`, into `enc`. */
  encode(enc: GPUCommandEncoder, slot = 0): void {
    if (slot < 0 || slot >= this.slots) throw new Error(`encode: slot ${slot} outside the ring of ${this.slots}`);
    let pass: GPUComputePassEncoder | undefined;
    for (const e of this.encoded) {
      if (e.kind === "copy") {
        pass?.end();
        pass = undefined;
        enc.copyBufferToBuffer(e.from, 0, e.to, 0, e.bytes);
        continue;
      }
      pass ??= enc.beginComputePass();
      recordDispatch(pass, e, slot);
    }
    pass?.end();
  }

  /** Records a copy of a storage (by id) into another buffer, e.g. a readback ring's staging buffer. */
  encodeCopy(
    enc: GPUCommandEncoder,
    storage: number,
    to: GPUBuffer,
    offset: number,
    bytes = this.program.storages[storage].bytes,
  ): void {
    enc.copyBufferToBuffer(this.buffers[storage], 0, to, offset, bytes);
  }

  /** encode and submit the whole step; returns immediately */
  run(slot = 0): void {
    const { device } = this.gpu;
    const enc = device.createCommandEncoder();
    this.encode(enc, slot);
    this.gpu.lastLabel.value = `step of ${this.encoded.length} commands`;
    device.queue.submit([enc.finish()]);
  }

  /**
   * Reads an output, persistent tensor or input back (waits for the queue). A u8 storage (image
   * bytes) is read byte by byte, each byte widened to its value 0–255.
   */
  async read(name: string): Promise<Float32Array> {
    const id = this.readable().get(name);
    if (id === undefined) {
      const bound = this.program.inputs.has(name)
        ? ` (input '${name}' is bound to a buffer that cannot be copied from)`
        : "";
      throw new Error(
        `cannot read '${name}'${bound}; readable: ${[...this.readable().keys()].join(", ") || "nothing"}`,
      );
    }
    const shape = this.program.outputs.get(name)?.shape ?? this.program.storages[id].shape!;
    return (await this.readMany([[id, size(shape)]]))[0];
  }

  /** The names `read` accepts, with their storages: outputs, persistent tensors, and inputs whose buffer can be copied. */
  readable(): Map<string, number> {
    const names = new Map<string, number>();
    for (const [name, out] of this.program.outputs) names.set(name, out.storage);
    for (const [name, id] of this.program.persistent) if (!names.has(name)) names.set(name, id);
    for (const [name, id] of this.program.inputs) {
      if (!names.has(name) && this.buffers[id].usage & GPUBufferUsage.COPY_SRC) names.set(name, id);
    }
    return names;
  }

  /** Reads several storages in one round trip: f32 values, or bytes widened to f32 for u8 storages. */
  async readMany(items: [storage: number, elements: number][]): Promise<Float32Array[]> {
    const { device } = this.gpu;
    const enc = device.createCommandEncoder();
    const bytesPer = items.map(([id]) => (this.program.storages[id].dtype === "u8" ? 1 : 4));
    const stages = items.map(([id, n], k) => {
      // whole 16-byte words, as the storages are allocated (compiler/memory.ts bytesFor)
      const bytes = Math.ceil((Math.max(1, n) * bytesPer[k]) / 16) * 16;
      const st = device.createBuffer({ size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
      enc.copyBufferToBuffer(this.buffers[id], 0, st, 0, bytes);
      return st;
    });
    device.queue.submit([enc.finish()]);
    try {
      await awaitGpu(Promise.all(stages.map((s) => s.mapAsync(GPUMapMode.READ))));
      return stages.map((s, k) => {
        const n = items[k][1], data = s.getMappedRange();
        return bytesPer[k] === 1
          ? Float32Array.from(new Uint8Array(data, 0, n))
          : new Float32Array(data.slice(0, n * 4));
      });
    } finally {
      // destroying a mapped buffer unmaps it; on a failed map the staging buffers go too
      for (const s of stages) s.destroy();
    }
  }

  destroy(): void {
    this.buffers.forEach((b, i) => this.owned[i] && b.destroy());
    this.uniform.destroy();
  }
}

/** Writes host values into a storage's buffer: f32 values, or bytes for u8 storage (padded to a word). */
function writeStorage(
  device: GPUDevice,
  buf: GPUBuffer,
  s: Storage,
  name: string,
  data: Float32Array | Uint8Array,
): void {
  const n = s.shape ? size(s.shape) : s.bytes / 4;
  const u8 = s.dtype === "u8";
  if (u8 !== data instanceof Uint8Array) {
    throw new Error(`'${name}' holds ${u8 ? "u8 bytes" : "f32 values"}, got a ${data.constructor.name}`);
  }
  if (data.length !== n) throw new Error(`'${name}' expects ${n} values, got ${data.length}`);
  if (data.byteLength % 4 === 0) device.queue.writeBuffer(buf, 0, data.buffer, data.byteOffset, data.byteLength);
  else {
    const padded = new Uint8Array(Math.ceil(data.byteLength / 4) * 4);
    padded.set(data as Uint8Array);
    device.queue.writeBuffer(buf, 0, padded);
  }
}

function label(s: Storage): string {
  return s.name ? `${s.kind} '${s.name}'` : `intermediate slot #${s.id}`;
}
