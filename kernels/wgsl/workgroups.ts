// WebGPU caps each dispatch dimension at 65535 workgroups; larger 1-D launches fold into x·y.
// Kernels recover the flat workgroup index as wid.x + wid.y · nwg.x (or the thread's, times
// the workgroup size), so any fold with x·y ≥ groups works; this is the one used everywhere.

/** A workgroup count for `groups` flat workgroups, folded into 2-D above 65535. */
export function foldWorkgroups(groups: number): [number, number, number] {
  const g = Math.max(1, groups);
  const x = Math.min(g, 65535);
  return [x, Math.ceil(g / x), 1];
}
