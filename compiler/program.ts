// What compile() produces: a fixed list of steps (dispatches and buffer copies) over planned
// storage, plus the names the host uses to feed and read it. Plain data; runtime/executable.ts
// instantiates it on a device.
import type { Init } from "../ir/graph.ts";
import type { Dtype, Pass, Shape } from "../kernels/op.ts";

export interface CompileOptions {
  fuse?: boolean;
  reuse?: boolean;
  features?: { subgroups: boolean; f16: boolean };
  /** picks a kernel variant for an op + shapes (the autotuner); undefined = op default */
  variant?: (op: string, inShapes: Shape[], attrs: Record<string, unknown>) => string | undefined;
  /**
   * storage buffers one kernel may bind (the device's maxStorageBuffersPerShaderStage): fusion
   * splits a kernel that would read more. Default 8, what every WebGPU device offers.
   */
  maxStorageBuffers?: number;
  /** compute sibling reductions of 4-D maps in one kernel (compiler/siblings.ts; default true) */
  siblings?: boolean;
  /**
   * an elementwise kernel also computes and writes values of its shape that only it reads, and
   * updates of its shape that nothing reads (compiler/co_outputs.ts; default: with `fuse`)
   */
  coOutputs?: boolean;
}

export type StorageKind = "param" | "state" | "input" | "slot";
export interface Storage {
  id: number;
  kind: StorageKind;
  bytes: number;
  /** element type of params/state/inputs (intermediates are f32) */
  dtype?: Dtype;
  /** leaf name for params/state/inputs */
  name?: string;
  shape?: Shape;
  init?: Init;
  /** a reused slot's largest tensor: its graph node's spec label and shape (for memory errors) */
  origin?: { label?: string; shape: Shape };
}

export type Step =
  | {
    kind: "dispatch";
    pass: Pass;
    storages: number[];
    label: string;
    node: number;
    /** why this dispatch stands alone (an unfused elementwise kernel or reduction pass) */
    why?: string;
  }
  | { kind: "copy"; from: number; to: number; bytes: number; label: string };

export interface Program {
  storages: Storage[];
  steps: Step[];
  scalarIndex: Map<string, number>;
  /** how each scalar is read: u32 scalars (seed, step, queue pointer) are written as integers */
  scalarTypes: Map<string, "f32" | "u32">;
  inputs: Map<string, number>;
  outputs: Map<string, { storage: number; shape: Shape }>;
  persistent: Map<string, number>;
  /** bytes of all storage, and of the reused intermediate slots alone */
  peakBytes: number;
  slotBytes: number;
  stats: { nodes: number; dispatches: number; fusedOps: number };
}
