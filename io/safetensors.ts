// safetensors: 8-byte little-endian header length N, N bytes of JSON, then the raw data.
//
//   { "__metadata__": { "k": "v", … },
//     "name": { "dtype": "F32", "shape": [d0, …], "data_offsets": [begin, end] }, … }
// Offsets are relative to the start of the data section. Only F32 is read and written here
// (all parameters and optimizer state are float32); integer state belongs in __metadata__.
// The writer pads the header with spaces so the data starts 8-byte aligned, orders tensors
// by name (deterministic bytes), and returns chunks so big tensors are never concatenated.
import { files } from "../platform/current.ts";
import { writeFileAtomic } from "./atomic.ts";

export interface TensorEntry {
  shape: number[];
  data: Float32Array;
}
export type Tensors = Record<string, TensorEntry>;
export type Metadata = Record<string, string>;

/** The file or buffer is not valid safetensors; the message names the file and the problem. */
export class SafetensorsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SafetensorsError";
  }
}

// Float32Array views use the host byte order; safetensors is little-endian.
if (new Uint8Array(Float32Array.of(1).buffer)[3] !== 0x3f) {
  throw new Error("safetensors I/O assumes a little-endian host");
}

/** Header safetensors' reference implementation accepts at most (guards absurd allocations). */
const MAX_HEADER = 100_000_000;

const isDims = (s: unknown): s is number[] => Array.isArray(s) && s.every((d) => Number.isSafeInteger(d) && d >= 0);
const count = (shape: number[]) => shape.reduce((a, d) => a * d, 1);

/** Header bytes + one byte view per tensor, in file order. */
export function safetensorsChunks(tensors: Tensors, metadata: Metadata = {}): Uint8Array[] {
  const header: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(metadata)) {
    if (typeof v !== "string") throw new SafetensorsError(`metadata "${k}" must be a string, got ${typeof v}`);
  }
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  const names = Object.keys(tensors).sort();
  const views: Uint8Array[] = [];
  let off = 0;
  for (const name of names) {
    const { shape, data } = tensors[name];
    if (!name || name === "__metadata__") throw new SafetensorsError(`invalid tensor name "${name}"`);
    if (!isDims(shape)) {
      throw new SafetensorsError(
        `tensor "${name}": shape ${JSON.stringify(shape)} is not a list of non-negative integers`,
      );
    }
    if (!(data instanceof Float32Array)) throw new SafetensorsError(`tensor "${name}": data must be a Float32Array`);
    if (count(shape) !== data.length) {
      throw new SafetensorsError(
        `tensor "${name}": shape [${shape}] has ${count(shape)} elements but data has ${data.length}`,
      );
    }
    header[name] = { dtype: "F32", shape, data_offsets: [off, off + data.byteLength] };
    views.push(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    off += data.byteLength;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - ((8 + new TextEncoder().encode(json).length) % 8)) % 8);
  const hb = new TextEncoder().encode(json);
  const head = new Uint8Array(8 + hb.length);
  new DataView(head.buffer).setBigUint64(0, BigInt(hb.length), true);
  head.set(hb, 8);
  return [head, ...views];
}

/** The whole file as one buffer. */
export function encodeSafetensors(tensors: Tensors, metadata: Metadata = {}): Uint8Array {
  const chunks = safetensorsChunks(tensors, metadata);
  const out = new Uint8Array(chunks.reduce((a, c) => a + c.length, 0));
  let o = 0;
  for (const c of chunks) out.set(c, o), o += c.length;
  return out;
}

/** Parses and validates a safetensors buffer; tensors are copied into fresh, aligned arrays. */
export function decodeSafetensors(b: Uint8Array, file = "<buffer>"): { tensors: Tensors; metadata: Metadata } {
  const fail = (why: string) => new SafetensorsError(`${file}: ${why}`);
  if (b.length < 8) throw fail(`truncated: ${b.length} bytes, less than the 8-byte header length`);
  const n = new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(b.length - 8)) {
    throw fail(`truncated or not safetensors: header length ${n} exceeds the ${b.length - 8} bytes after it`);
  }
  if (n > BigInt(MAX_HEADER)) throw fail(`header length ${n} exceeds the ${MAX_HEADER}-byte limit`);
  const start = 8 + Number(n);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(b.subarray(8, start)));
  } catch (e) {
    throw fail(`header is not JSON (${(e as Error).message})`);
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) throw fail("header is not a JSON object");
  const dataLen = b.length - start;
  const metadata: Metadata = {};
  const spans: [number, number, string][] = [];
  const tensors: Tensors = {};
  for (const [name, v] of Object.entries(header as Record<string, unknown>)) {
    if (name === "__metadata__") {
      if (typeof v !== "object" || v === null || Array.isArray(v)) throw fail("__metadata__ is not an object");
      for (const [k, s] of Object.entries(v)) {
        if (typeof s !== "string") throw fail(`__metadata__ "${k}" is not a string`);
        metadata[k] = s;
      }
      continue;
    }
    const e = v as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof e !== "object" || e === null) throw fail(`tensor "${name}": entry is not an object`);
    if (e.dtype !== "F32") throw fail(`tensor "${name}": dtype ${JSON.stringify(e.dtype)} is not supported (only F32)`);
    if (!isDims(e.shape)) {
      throw fail(`tensor "${name}": shape ${JSON.stringify(e.shape)} is not a list of non-negative integers`);
    }
    const off = e.data_offsets;
    if (!isDims(off) || off.length !== 2 || off[0] > off[1]) {
      throw fail(`tensor "${name}": data_offsets ${JSON.stringify(off)} is not [begin, end]`);
    }
    if (off[1] > dataLen) {
      throw fail(
        `tensor "${name}": data_offsets [${off}] out of range (data section has ${dataLen} bytes; file truncated?)`,
      );
    }
    if (off[1] - off[0] !== 4 * count(e.shape)) {
      throw fail(
        `tensor "${name}": data_offsets [${off}] span ${off[1] - off[0]} bytes but shape [${e.shape}] needs ${
          4 * count(e.shape)
        }`,
      );
    }
    spans.push([off[0], off[1], name]);
    // Copy through a fresh Uint8Array: Node's Buffer.slice is a view into a shared pool.
    const bytes = new Uint8Array(off[1] - off[0]);
    bytes.set(b.subarray(start + off[0], start + off[1]));
    tensors[name] = { shape: e.shape, data: new Float32Array(bytes.buffer) };
  }
  // The format requires the tensors to tile the data section exactly: no overlaps, no holes.
  spans.sort((x, y) => x[0] - y[0]);
  let end = 0;
  for (const [s, e, name] of spans) {
    if (s !== end) {
      throw fail(`tensor "${name}": data_offsets start at ${s}, expected ${end} (${s < end ? "overlap" : "gap"})`);
    }
    end = e;
  }
  if (end !== dataLen) throw fail(`${dataLen - end} bytes after the last tensor`);
  return { tensors, metadata };
}

export function readSafetensors(path: string): { tensors: Tensors; metadata: Metadata } {
  let b: Uint8Array;
  try {
    b = files().readFile(path);
  } catch (e) {
    const code = (e as { code?: string }).code;
    throw new SafetensorsError(`${path}: ${code === "ENOENT" ? "file not found" : (e as Error).message}`);
  }
  return decodeSafetensors(b, path);
}

/** Writes atomically (temp file + rename). */
export function writeSafetensors(path: string, tensors: Tensors, metadata: Metadata = {}): void {
  writeFileAtomic(path, safetensorsChunks(tensors, metadata));
}
