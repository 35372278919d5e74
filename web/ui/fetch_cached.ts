// A data file from the server, kept in the browser's Cache Storage after the first fetch, so a
// second run (or a reload while the server is gone) does not download it again: with the page
// itself loaded, training works offline. Where Cache Storage is missing (http on a non-local
// address) it is a plain fetch.

const CACHE = "ssl-webgpu-data-v1";

/** The four IDX files of Fashion-MNIST, as the page's server serves them under /data/fashion-mnist/. */
export const FASHION_MNIST_FILES = [
  "train-images-idx3-ubyte.gz",
  "train-labels-idx1-ubyte.gz",
  "t10k-images-idx3-ubyte.gz",
  "t10k-labels-idx1-ubyte.gz",
];

export async function fetchDataFile(url: string): Promise<Uint8Array> {
  const caches = (globalThis as { caches?: CacheStorage }).caches;
  const cache = caches ? await caches.open(CACHE).catch(() => undefined) : undefined;
  const hit = await cache?.match(url);
  if (hit) return new Uint8Array(await hit.arrayBuffer());
  let res: Response;
  try {
    res = await fetch(url);
  } catch (e) {
    throw Object.assign(new Error(`${url}: could not be fetched (${(e as Error).message}); is the server running?`), {
      name: "DataError",
    });
  }
  if (!res.ok) {
    throw Object.assign(new Error(`${url}: the server answered ${res.status} ${res.statusText}`), {
      name: "DataError",
    });
  }
  const bytes = new Uint8Array(await res.arrayBuffer());
  await cache?.put(url, new Response(bytes as BlobPart)).catch(() => {});
  return bytes;
}
