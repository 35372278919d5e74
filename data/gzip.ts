// Checked gunzip: fflate's inflate plus the gzip trailer checks fflate's gunzipSync skips.
//
// gunzipSync trusts the trailer's size field to preallocate its output (a truncated file
// makes it allocate whatever the last 4 bytes say, up to 4 GiB) and never verifies the
// CRC, so a flipped byte yields silently wrong pixels. Here the body is inflated into a
// growing buffer and both CRC-32 and the length are compared to the trailer.
import { inflateSync } from "fflate";

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (IEEE 802.3, as used by gzip and PNG). */
export function crc32(b: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < b.length; i++) c = CRC_TABLE[(c ^ b[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** Decompresses one gzip member; throws Error with a short reason on any inconsistency. */
export function gunzipChecked(gz: Uint8Array): Uint8Array {
  if (gz.length < 18) throw new Error(`only ${gz.length} bytes, shorter than a gzip header and trailer`);
  if (gz[0] !== 0x1f || gz[1] !== 0x8b) throw new Error("not gzip (bad magic)");
  if (gz[2] !== 8) throw new Error(`unknown gzip compression method ${gz[2]}`);
  const flags = gz[3];
  let p = 10;
  if (flags & 4) p += 2 + (gz[p] | (gz[p + 1] << 8)); // FEXTRA
  if (flags & 8) { while (p < gz.length && gz[p++] !== 0); // FNAME, zero-terminated
   }
  if (flags & 16) { while (p < gz.length && gz[p++] !== 0); // FCOMMENT
   }
  if (flags & 2) p += 2; // FHCRC
  if (p > gz.length - 8) throw new Error("truncated gzip header");
  let out: Uint8Array;
  try {
    out = inflateSync(gz.subarray(p, gz.length - 8));
  } catch (e) {
    throw new Error(
      `${(e as Error).message === "unexpected EOF" ? "truncated" : "corrupt"} deflate data (${(e as Error).message})`,
    );
  }
  const t = gz.length - 8;
  const crc = (gz[t] | (gz[t + 1] << 8) | (gz[t + 2] << 16) | (gz[t + 3] << 24)) >>> 0;
  const isize = (gz[t + 4] | (gz[t + 5] << 8) | (gz[t + 6] << 16) | (gz[t + 7] << 24)) >>> 0;
  if (isize !== out.length % 2 ** 32) {
    throw new Error(`truncated or corrupt: trailer says ${isize} bytes, inflated ${out.length}`);
  }
  if (crc32(out) !== crc) throw new Error("corrupt: CRC-32 of the decompressed data does not match the trailer");
  return out;
}
