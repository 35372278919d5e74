// What to do when the page finds no WebGPU, said for the browser the user has. The facts per
// browser (as of 2025): Chrome and Edge ship WebGPU on Windows, macOS and ChromeOS (113+) and
// Android 12+ (121+), behind a flag on Linux; Firefox ships it on Windows (141+), elsewhere it
// is a preference; Safari ships it from 26 (macOS Tahoe, iOS 26), earlier as a feature flag.
// WebGPU exists only in a secure context (https, or http://localhost / 127.0.0.1).

export type Browser = "chromium" | "firefox" | "safari" | "other";

export function browserOf(userAgent: string): Browser {
  if (/Firefox\//.test(userAgent)) return "firefox";
  if (/(Chrome|Chromium|Edg)\//.test(userAgent)) return "chromium";
  if (/Safari\//.test(userAgent) && /Version\//.test(userAgent)) return "safari";
  return "other";
}

const STEPS: Record<Browser, string[]> = {
  chromium: [
    "Chrome and Edge 113 or newer have WebGPU on Windows, macOS and ChromeOS (Android 12+: 121 or newer). Update the browser if it is older.",
    "On Linux, open chrome://flags, enable “Unsafe WebGPU Support” (#enable-unsafe-webgpu) and, if needed, “Vulkan” (#enable-vulkan), then relaunch.",
    "If it is still missing, chrome://gpu says whether WebGPU is blocked for this graphics driver (chrome://flags/#ignore-gpu-blocklist overrides the blocklist).",
  ],
  firefox: [
    "Firefox 141 or newer has WebGPU on Windows. On macOS and Linux (or an older version), open about:config and set dom.webgpu.enabled to true (Firefox Nightly supports it best), then reload.",
  ],
  safari: [
    "Safari 26 (macOS Tahoe, iOS 26) has WebGPU. On Safari 17–18, enable it under Develop › Feature Flags › WebGPU (macOS) or Settings › Apps › Safari › Advanced › Feature Flags (iOS), then reload.",
  ],
  other: [
    "Use a browser with WebGPU: Chrome or Edge 113+, Firefox 141+ on Windows, or Safari 26.",
  ],
};

/** Why there is no WebGPU and what to do: each item one thing to try, in order. */
export function noWebGpuHelp(userAgent: string, secureContext: boolean): { title: string; steps: string[] } {
  if (!secureContext) {
    return {
      title: "WebGPU needs a secure page",
      steps: [
        "Browsers offer WebGPU only to pages served over https or from this computer (http://localhost or http://127.0.0.1).",
        "Open the page through `deno task web` on this machine, or serve it over https.",
      ],
    };
  }
  return { title: "This browser offers no WebGPU", steps: STEPS[browserOf(userAgent)] };
}

/** No adapter although navigator.gpu exists: the browser has WebGPU, but not for this GPU or driver. */
export function noAdapterHelp(userAgent: string): { title: string; steps: string[] } {
  const b = browserOf(userAgent);
  return {
    title: "WebGPU is present but found no usable GPU",
    steps: [
      "The browser's WebGPU found no adapter for this graphics driver, or blocks it.",
      ...(b === "chromium" ? ["chrome://gpu lists the reason; updating the graphics driver is the usual fix."] : []),
      ...(b === "firefox" ? ["about:support lists the graphics driver and whether WebGPU is blocked."] : []),
      "A laptop on battery or in power-saving mode may also hide its GPU; plug it in and reload.",
    ],
  };
}
