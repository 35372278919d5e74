// getGpu() keeps one device for the process (or page), but not a lost one: after a device is
// lost (a page's GPU reset, a driver update) the next call opens a new device instead of handing
// back the dead one. A file of its own: getGpu's cache must not hold the real device yet.
import assert from "node:assert/strict";
import { usePlatform } from "../platform/current.ts";
import { getGpu } from "../runtime/device.ts";

/** A GPU whose devices can be lost on demand; counts the devices it made. */
function losableGpu() {
  const made: { lose: () => void }[] = [];
  const adapter = {
    features: new Set<string>(),
    limits: { maxStorageBufferBindingSize: 2 ** 27, maxStorageBuffersPerShaderStage: 8 },
    info: { vendor: "v", architecture: "", device: "", description: "a test adapter" },
    requestDevice() {
      let lose = () => {};
      const lost = new Promise<{ reason: string; message: string }>((
        r,
      ) => (lose = () => r({ reason: "unknown", message: "reset" })));
      made.push({ lose });
      return Promise.resolve({ limits: this.limits, addEventListener() {}, lost });
    },
  };
  const gpu = { requestAdapter: () => Promise.resolve(adapter) } as unknown as GPU;
  return { gpu, made };
}

Deno.test("getGpu: one device while it lives, a new one after it is lost", async () => {
  const { gpu, made } = losableGpu();
  const restore = usePlatform({ gpu: () => Promise.resolve(gpu) });
  const { error } = console;
  console.error = () => {}; // the lost device's message is expected here
  try {
    const first = await getGpu();
    assert.equal(await getGpu(), first, "a living device is reused");
    assert.equal(made.length, 1);
    made[0].lose();
    await new Promise((r) => setTimeout(r, 0));
    const second = await getGpu();
    assert.notEqual(second, first, "a lost device is not handed out again");
    assert.equal(made.length, 2);
  } finally {
    console.error = error;
    restore();
  }
});
