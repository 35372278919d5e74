// A data set's images on the device, in their stored type: u8 when every pixel is a byte value
// (IDX, CIFAR and decoded image files are), so Fashion-MNIST's 60 000 images take 47 MB instead of
// 188 MB. A set that fits the adapter's binding limit is uploaded once and stays (`resident`);
// a larger one gets a window of rows that the host refills in large chunks (`load`), never per
// step. The training step and the evaluation programs bind the same buffer.
import type { Dataset } from "../data/dataset.ts";
import type { Gpu } from "./device.ts";

export type PixelType = "u8" | "f32";

/** The images as bytes when every value is exactly k/255 (then nothing is lost), else undefined. */
export function imageBytes(images: Float32Array): Uint8Array | undefined {
  const out = new Uint8Array(images.length);
  for (let i = 0; i < images.length; i++) {
    const k = Math.round(images[i] * 255);
    if (k < 0 || k > 255 || Math.fround(k / 255) !== images[i]) return undefined;
    out[i] = k;
  }
  return out;
}

export class DeviceImages {
  /** bytes uploaded since creation (the first upload included) */
  uploadedBytes = 0;
  readonly dtype: PixelType;
  /** rows the buffer holds: the whole set when resident, else the window's size */
  readonly rows: number;
  readonly resident: boolean;
  private host: Uint8Array | Float32Array;
  private buf: GPUBuffer | undefined;
  /** which data set rows the window holds, when not resident (row k of the window = rows[k]) */
  private windowRows: ArrayLike<number> | undefined;
  private labelBuf: GPUBuffer | undefined;

  /**
   * Lays `set` out for the device without touching it (the step is compiled against the layout
   * and its memory checked before anything is allocated); `allocate` then uploads it. `maxBytes`
   * caps the buffer below the adapter's limits (tests use it to exercise streaming on small sets).
   */
  constructor(readonly gpu: Gpu, readonly set: Dataset, opts: { maxBytes?: number } = {}) {
    const { limits } = gpu.device;
    const bytes = imageBytes(set.images);
    this.dtype = bytes ? "u8" : "f32";
    this.host = bytes ?? set.images;
    const rowBytes = this.per * (this.dtype === "u8" ? 1 : 4);
    const limit = Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize, opts.maxBytes ?? Infinity);
    this.resident = set.n * rowBytes <= limit;
    this.rows = this.resident ? set.n : Math.floor(limit / rowBytes);
    if (this.rows < 1) {
      throw new Error(
        `${set.name}: one image (${rowBytes} bytes) is larger than this adapter's buffer limit (${limit} bytes)`,
      );
    }
  }

  /** Layout, buffer and (when resident) the whole upload in one call. */
  static create(gpu: Gpu, set: Dataset, opts: { maxBytes?: number } = {}): DeviceImages {
    return new DeviceImages(gpu, set, opts).allocate();
  }

  /** Allocates the device buffer and, for a resident set, uploads every image. */
  allocate(): this {
    if (this.buf) return this;
    const bytes = this.rows * this.per * (this.dtype === "u8" ? 1 : 4);
    this.buf = this.gpu.device.createBuffer({
      size: Math.ceil(bytes / 16) * 16,
      // COPY_SRC: a program that binds the set can read it back (Executable.read)
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC,
      label: `images of ${this.set.name}`,
    });
    if (this.resident) this.upload(this.host, 0);
    return this;
  }

  get buffer(): GPUBuffer {
    if (!this.buf) throw new Error(`${this.set.name}: the images are not on the device yet (allocate first)`);
    return this.buf;
  }

  /**
   * The labels as f32 values [rows, 1], row for row with the images (the online probe's step
   * gathers them with the same rows): made on first use, with the labels of the rows the buffer
   * holds then; a streamed window's `load` refills them with its images. 4 bytes per row, not
   * counted in uploadedBytes (which counts images).
   */
  get labels(): GPUBuffer {
    if (!this.labelBuf) {
      this.labelBuf = this.gpu.device.createBuffer({
        size: Math.ceil((this.rows * 4) / 16) * 16,
        usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC,
        label: `labels of ${this.set.name}`,
      });
      const rows = this.resident ? undefined : this.windowRows;
      if (this.resident) this.writeLabels(Array.from({ length: this.set.n }, (_, i) => i));
      else if (rows) this.writeLabels(rows);
    }
    return this.labelBuf;
  }

  private writeLabels(setRows: ArrayLike<number>): void {
    const v = Float32Array.from({ length: setRows.length }, (_, k) => this.set.labels[setRows[k]]);
    this.gpu.device.queue.writeBuffer(this.labelBuf!, 0, v.buffer, 0, v.byteLength);
  }

  /** values per image */
  get per(): number {
    return this.set.c * this.set.h * this.set.w;
  }

  /**
   * Streaming: fills the window with the given data set rows (at most `rows`), in this order,
   * in one upload. Queue-ordered after the steps already submitted, so those still read the
   * previous chunk.
   */
  load(setRows: ArrayLike<number>): void {
    if (this.resident) throw new Error(`${this.set.name} is resident on the device; nothing to load`);
    if (setRows.length > this.rows) {
      throw new Error(`load: ${setRows.length} rows do not fit the window of ${this.rows}`);
    }
    const per = this.per;
    const chunk = this.dtype === "u8" ? new Uint8Array(setRows.length * per) : new Float32Array(setRows.length * per);
    for (let k = 0; k < setRows.length; k++) {
      const r = setRows[k];
      if (!(r >= 0 && r < this.set.n)) {
        throw new Error(`load: row ${r} outside ${this.set.name}'s ${this.set.n} images`);
      }
      chunk.set(this.host.subarray(r * per, (r + 1) * per), k * per);
    }
    this.upload(chunk, 0);
    this.windowRows = setRows;
    if (this.labelBuf) this.writeLabels(setRows);
  }

  /** the data set rows the window holds now (tests) */
  get loaded(): ArrayLike<number> | undefined {
    return this.windowRows;
  }

  private upload(data: Uint8Array | Float32Array, at: number): void {
    const pad = data.byteLength % 4;
    const src = pad
      ? (() => {
        const p = new Uint8Array(data.byteLength + 4 - pad);
        p.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
        return p;
      })()
      : data;
    this.gpu.device.queue.writeBuffer(this.buffer, at, src.buffer, src.byteOffset, src.byteLength);
    this.uploadedBytes += src.byteLength;
  }

  destroy(): void {
    this.buf?.destroy();
    this.labelBuf?.destroy();
  }
}
