// Instantiates a compiled Program on a device: buffers, pipelines (cached by WGSL text) and
// bind groups are created once; a step is then one uniform write, input writes, and one
// command buffer of prebuilt dispatches. Nothing is read back unless asked.
import type { Program, Storage } from "../compiler/compile.ts";
import { MAX_SCALARS, size, UNIFORM_BINDING } from "../kernels/op.ts";
import type { Gpu } from "./device.ts";
import { initValues } from "./init.ts";
import { awaitGpu } from "./wait.ts";

const pipelineCache = new WeakMap<GPUDevice, Map<string, GPUComputePipeline>>();
const layoutCache = new WeakMap<GPUDevice, Map<string, GPUBindGroupLayout>>();

type Encoded =
  | { kind: "dispatch"; pipeline: GPUComputePipeline; bindGroup: GPUBindGroup; workgroups: [number, number, number]; label: string }
  | { kind: "copy"; from: GPUBuffer; to: GPUBuffer; bytes: number };

export class Executable {
  readonly buffers: GPUBuffer[];
  private uniform: GPUBuffer;
  private scalarHost = new ArrayBuffer(MAX_SCALARS * 4);
  private encoded: Encoded[] = [];

  private constructor(readonly gpu: Gpu, readonly program: Program) {
    const { device } = gpu;
    const limit = device.limits.maxStorageBufferBindingSize;
    for (const s of program.storages) {
      if (s.bytes > limit) {
        throw new Error(`${label(s)} needs ${s.bytes} bytes, more than this adapter's maxStorageBufferBindingSize (${limit})`);
      }
    }
    this.buffers = program.storages.map((s) =>
      device.createBuffer({
        size: s.bytes,
        usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
        label: label(s),
      })
    );
    this.uniform = device.createBuffer({ size: MAX_SCALARS * 4, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
  }

  static async create(gpu: Gpu, program: Program): Promise<Executable> {
    const ex = new Executable(gpu, program);
    await ex.build();
    return ex;
  }

  private async build(): Promise<void> {
    const { device } = this.gpu;
    const pipes = pipelineCache.get(device) ?? new Map();
    pipelineCache.set(device, pipes);
    const layouts = layoutCache.get(device) ?? new Map();
    layoutCache.set(device, layouts);
    const checks: Promise<void>[] = [];
    for (const st of this.program.steps) {
      if (st.kind === "copy") {
        this.encoded.push({ kind: "copy", from: this.buffers[st.from], to: this.buffers[st.to], bytes: st.bytes });
        continue;
      }
      const p = st.pass;
      const key = p.bindings.map((b) => (b.write ? "w" : "r")).join("") + (p.uniform ? "u" : "");
      let bgl = layouts.get(key);
      if (!bgl) {
        const entries: GPUBindGroupLayoutEntry[] = p.bindings.map((b, i) => ({
          binding: i,
          visibility: GPUShaderStage.COMPUTE,
          buffer: { type: b.write ? "storage" : "read-only-storage" },
        }));
        if (p.uniform) entries.push({ binding: UNIFORM_BINDING, visibility: GPUShaderStage.COMPUTE, buffer: { type: "uniform" } });
        bgl = device.createBindGroupLayout({ entries });
        layouts.set(key, bgl);
      }
      const pkey = key + "\n" + p.wgsl;
      let pipeline = pipes.get(pkey);
      if (!pipeline) {
        device.pushErrorScope("validation");
        const module = device.createShaderModule({ code: p.wgsl, label: st.label });
        pipeline = device.createComputePipeline({
          layout: device.createPipelineLayout({ bindGroupLayouts: [bgl] }),
          compute: { module, entryPoint: "main" },
          label: st.label,
        });
        pipes.set(pkey, pipeline);
        const lbl = st.label, code = p.wgsl;
        checks.push(awaitGpu(device.popErrorScope()).then(async (err) => {
          if (!err) return;
          pipes.delete(pkey);
          const info = await awaitGpu(module.getCompilationInfo());
          const msgs = info.messages.map((m) => `  line ${m.lineNum}:${m.linePos} ${m.type}: ${m.message}`).join("\n");
          throw new Error(`kernel '${lbl}' failed to compile: ${err.message}\n${msgs}\n--- WGSL ---\n${numbered(code)}`);
        }));
      }
      // repeated bindings of one buffer are legal only when all are read-only; the compiler
      // routes in-place reads through the output binding, so here we just check
      const seenW = new Set<number>();
      st.storages.forEach((s, i) => {
        if (p.bindings[i].write) seenW.add(s);
      });
      st.storages.forEach((s, i) => {
        if (!p.bindings[i].write && seenW.has(s)) throw new Error(`compile bug: ${st.label} reads and writes ${label(this.program.storages[s])} through two bindings`);
      });
      const entries: GPUBindGroupEntry[] = st.storages.map((s, i) => ({ binding: i, resource: { buffer: this.buffers[s] } }));
      if (p.uniform) entries.push({ binding: UNIFORM_BINDING, resource: { buffer: this.uniform } });
      device.pushErrorScope("validation");
      const bindGroup = device.createBindGroup({ layout: bgl, entries, label: st.label });
      const lbl = st.label;
      checks.push(awaitGpu(device.popErrorScope()).then((err) => {
        if (err) throw new Error(`bind group of kernel '${lbl}': ${err.message}`);
      }));
      this.encoded.push({ kind: "dispatch", pipeline, bindGroup, workgroups: p.workgroups, label: st.label });
    }
    await awaitGpu(Promise.all(checks));
  }

  /** per-step scalars by name; names the program does not use are ignored */
  setScalars(values: Record<string, number>): void {
    const f = new Float32Array(this.scalarHost), u = new Uint32Array(this.scalarHost);
    for (const [name, i] of this.program.scalarIndex) {
      if (!(name in values)) throw new Error(`step scalar '${name}' was not given a value`);
      if (this.program.scalarTypes.get(name) === "u32") u[i] = values[name] >>> 0;
      else f[i] = values[name];
    }
    this.gpu.device.queue.writeBuffer(this.uniform, 0, this.scalarHost);
  }

  write(name: string, data: Float32Array): void {
    const id = this.program.inputs.get(name) ?? this.program.persistent.get(name);
    if (id === undefined) throw new Error(`no input or persistent tensor named '${name}'`);
    const s = this.program.storages[id];
    const n = s.shape ? size(s.shape) : s.bytes / 4;
    if (data.length !== n) throw new Error(`'${name}' expects ${n} values, got ${data.length}`);
    this.gpu.device.queue.writeBuffer(this.buffers[id], 0, data.buffer, data.byteOffset, data.byteLength);
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
    if (pending.length) throw new Error(`cannot initialise ${pending.map((p) => p[0]).join(", ")}: copy of a missing tensor`);
    return values;
  }

  /** The step's dispatches in order (buffer copies left out), each able to record itself into a
   * compute pass: for profilers that submit and time them one by one. */
  dispatches(): { label: string; record(pass: GPUComputePassEncoder): void }[] {
    return this.encoded.flatMap((e) =>
      e.kind === "dispatch"
        ? [{
          label: e.label,
          record(pass: GPUComputePassEncoder) {
            pass.setPipeline(e.pipeline);
            pass.setBindGroup(0, e.bindGroup);
            pass.dispatchWorkgroups(...e.workgroups);
          },
        }]
        : []
    );
  }

  /** encode and submit the whole step; returns immediately */
  run(): void {
    const { device } = this.gpu;
    const enc = device.createCommandEncoder();
    let pass: GPUComputePassEncoder | undefined;
    for (const e of this.encoded) {
      if (e.kind === "copy") {
        pass?.end();
        pass = undefined;
        enc.copyBufferToBuffer(e.from, 0, e.to, 0, e.bytes);
        continue;
      }
      pass ??= enc.beginComputePass();
      pass.setPipeline(e.pipeline);
      pass.setBindGroup(0, e.bindGroup);
      pass.dispatchWorkgroups(...e.workgroups);
    }
    pass?.end();
    this.gpu.lastLabel.value = `step of ${this.encoded.length} commands`;
    device.queue.submit([enc.finish()]);
  }

  /** read an output or persistent tensor back (waits for the queue) */
  async read(name: string): Promise<Float32Array> {
    const out = this.program.outputs.get(name);
    const id = out?.storage ?? this.program.persistent.get(name) ?? this.program.inputs.get(name);
    if (id === undefined) throw new Error(`no output or persistent tensor named '${name}'`);
    const shape = out?.shape ?? this.program.storages[id].shape!;
    return (await this.readMany([[id, size(shape)]]))[0];
  }

  /** read several storages in one round trip */
  async readMany(items: [storage: number, elements: number][]): Promise<Float32Array[]> {
    const { device } = this.gpu;
    const enc = device.createCommandEncoder();
    const stages = items.map(([id, n]) => {
      const bytes = Math.ceil(n / 4) * 16;
      const st = device.createBuffer({ size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
      enc.copyBufferToBuffer(this.buffers[id], 0, st, 0, bytes);
      return st;
    });
    device.queue.submit([enc.finish()]);
    await awaitGpu(Promise.all(stages.map((s) => s.mapAsync(GPUMapMode.READ))));
    return stages.map((s, k) => {
      const r = new Float32Array(s.getMappedRange().slice(0, items[k][1] * 4));
      s.unmap();
      s.destroy();
      return r;
    });
  }

  destroy(): void {
    for (const b of this.buffers) b.destroy();
    this.uniform.destroy();
  }
}

function label(s: Storage): string {
  return s.name ? `${s.kind} '${s.name}'` : `intermediate slot #${s.id}`;
}
function numbered(code: string): string {
  return code.split("\n").map((l, i) => `${String(i + 1).padStart(4)}| ${l}`).join("\n");
}
