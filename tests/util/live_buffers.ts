// Counts the GPU buffers created on a device from now on and not yet destroyed, to check that
// what a run allocates is freed again (the soak bench, bench/loop.ts, counts the same way).
export interface LiveBuffers {
  /** buffers created since the count began and not destroyed */
  count(): number;
  /** labels of those buffers (what leaked) */
  labels(): string[];
  /** stops counting: the device creates buffers as before */
  stop(): void;
}

export function countLiveBuffers(device: GPUDevice): LiveBuffers {
  const live = new Set<GPUBuffer>();
  const create = device.createBuffer;
  device.createBuffer = (desc: GPUBufferDescriptor) => {
    const b = create.call(device, desc);
    live.add(b);
    const destroy = b.destroy.bind(b);
    b.destroy = () => {
      live.delete(b);
      destroy();
    };
    return b;
  };
  return {
    count: () => live.size,
    labels: () => [...live].map((b) => b.label || "(no label)"),
    stop: () => void (device.createBuffer = create),
  };
}
