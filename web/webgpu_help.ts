// What a page says when it gets no WebGPU device: what is missing, and what to enable in each
// browser. Plain text lines (rendered with textContent), shared by every page.
import type { NoGpuReason } from "./browser_gpu.ts";

const WHAT: Record<NoGpuReason, string> = {
  "no-api": "This browser does not offer WebGPU (navigator.gpu is undefined).",
  "insecure-context":
    "WebGPU is only available in a secure context: open this page over https, or from http://localhost or http://127.0.0.1 (as `deno task web` serves it).",
  "no-adapter":
    "This browser offers WebGPU but found no GPU adapter: WebGPU is disabled, or this GPU or driver is on the browser's block list.",
};

const HOW = [
  "Chrome and Edge (113 and later): WebGPU is on by default on Windows, macOS and ChromeOS, and on Android from 121. " +
  "On Linux, or for a blocked GPU, enable chrome://flags/#enable-unsafe-webgpu (Edge: edge://flags/#enable-unsafe-webgpu) " +
  "and, on Linux, chrome://flags/#enable-vulkan, then restart the browser; or start it with --enable-unsafe-webgpu.",
  "Firefox: WebGPU is on by default from Firefox 141 on Windows; elsewhere use Firefox Nightly, " +
  "or set dom.webgpu.enabled to true in about:config.",
  "Safari: WebGPU is on by default from Safari 26; on older versions use Safari Technology Preview, " +
  "or enable WebGPU under Develop → Feature Flags.",
];

export const WEBGPU_HELP_TITLE = "WebGPU is not available";

/** The lines to show for `reason`: what is missing, then how to enable WebGPU per browser. */
export function webGpuHelp(reason: NoGpuReason): string[] {
  return reason === "insecure-context" ? [WHAT[reason]] : [WHAT[reason], ...HOW];
}

/** Replaces `el`'s content with the title and the lines for `reason`. */
export function showWebGpuHelp(el: HTMLElement, reason: NoGpuReason): void {
  const h = document.createElement("h2");
  h.textContent = WEBGPU_HELP_TITLE;
  const items = webGpuHelp(reason).map((line) => {
    const p = document.createElement("p");
    p.textContent = line;
    return p;
  });
  el.replaceChildren(h, ...items);
}
