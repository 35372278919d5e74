// Browser side of the test helpers: the pages built into a temporary folder and served in-process
// (web/serve.ts), and a headless Chromium (Debian's, driven by puppeteer-core) launched in one of
// the WebGPU configurations this machine offers. A page is opened, waited on until it reaches a
// final state (body[data-state]), and its result, console errors and page errors are collected,
// with a screenshot. The browser and the server are always closed, and no Chromium process of
// the run may be left behind.
import puppeteer, { type Browser, type Page } from "puppeteer-core";
import { buildWeb } from "../../web/build.ts";
import { startServer, type WebServer } from "../../web/serve.ts";

export const CHROMIUM = Deno.env.get("CHROMIUM") ?? "/usr/lib/chromium/chromium";

/**
 * swiftshader: Chromium's own software Vulkan (a fallback adapter, core features, subgroups);
 * compat-lavapipe: Mesa's lavapipe through ANGLE's OpenGL ES in WebGPU compatibility mode;
 * no-webgpu: WebGPU not enabled (on Linux Chromium offers no adapter without the flag).
 */
export type AdapterConfig = "swiftshader" | "compat-lavapipe" | "no-webgpu";

/** Quiet on a machine without network: no background fetches, updates or sync. */
const OFFLINE = [
  "--no-sandbox",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--disable-quic",
];

/** The environment variable that tags a browser run's processes (see processesOf). */
const RUN_TAG = "SSL_WEBGPU_BROWSER_RUN";

export function chromiumLaunch(config: AdapterConfig): { args: string[]; env: Record<string, string> } {
  const env: Record<string, string> = { ...Deno.env.toObject() };
  env.XDG_RUNTIME_DIR ??= "/tmp/ssl-webgpu-xdg";
  delete env.VK_DRIVER_FILES;
  delete env.VK_ICD_FILENAMES;
  const args = ["--headless=new", ...OFFLINE, "--enable-webgpu-developer-features"];
  if (config !== "no-webgpu") args.push("--enable-unsafe-webgpu");
  if (config === "compat-lavapipe") {
    args.push("--use-webgpu-adapter=opengles", "--force-webgpu-compat");
    // VK_ICD_FILENAMES alone is not enough: Chromium then falls back to SwiftShader
    env.VK_DRIVER_FILES = "/usr/share/vulkan/icd.d/lvp_icd.json";
  }
  return { args, env };
}

/** The pages built and served; `close` stops the server and removes the build. */
export interface WebSite {
  url: string;
  server: WebServer;
  buildMs: number;
  close(): Promise<void>;
}

export async function serveWeb(): Promise<WebSite> {
  const dist = await Deno.makeTempDir({ prefix: "ssl-webgpu-dist-" });
  try {
    const built = await buildWeb(dist);
    const server = startServer({ port: 0, dist });
    return {
      url: server.url,
      server,
      buildMs: built.ms,
      close: async () => {
        await server.close();
        await Deno.remove(dist, { recursive: true });
      },
    };
  } catch (e) {
    await Deno.remove(dist, { recursive: true });
    throw e;
  }
}

export interface PageRun extends PageLog {
  /** body[data-state] at the end (one of the states waited for, or "timeout") */
  state: string;
  /** the JSON in #result */
  result: Record<string, unknown>;
  /** the text of #message */
  message: string;
  screenshot: string;
  launchMs: number;
  pageMs: number;
  /** the browser's processes while the page was open (none may be left once it is closed) */
  processes: number[];
}

/** The states a page ends in (body[data-state]); the probe page uses these three. */
export const FINAL_STATES = ["done", "no-webgpu", "failed"];

/** A launched Chromium; `close` closes it and fails if any of its processes is left. */
export interface Chromium {
  browser: Browser;
  profile: string;
  launchMs: number;
  close(): Promise<void>;
}

/** Launches Debian's Chromium in `config`, with a fresh profile folder of its own. */
export async function launchChromium(config: AdapterConfig): Promise<Chromium> {
  const profile = await Deno.makeTempDir({ prefix: "ssl-webgpu-chromium-" });
  const { args, env } = chromiumLaunch(config);
  env[RUN_TAG] = profile;
  const t0 = performance.now();
  let browser: Browser;
  try {
    browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [...args, `--user-data-dir=${profile}`],
      env,
      timeout: 30_000,
    });
  } catch (e) {
    await closeBrowser(undefined, profile).catch(() => {});
    throw new Error(`could not launch ${CHROMIUM} (${config}): ${(e as Error).message}`);
  }
  return { browser, profile, launchMs: performance.now() - t0, close: () => closeBrowser(browser, profile) };
}

/** What went wrong in a page, as it happens: console errors, uncaught errors, failed requests. */
export interface PageLog {
  consoleErrors: string[];
  pageErrors: string[];
  failedRequests: string[];
}

export function watchPage(page: Page): PageLog {
  const log: PageLog = { consoleErrors: [], pageErrors: [], failedRequests: [] };
  page.on("console", (m) => {
    if (m.type() === "error") log.consoleErrors.push(m.text());
  });
  page.on("pageerror", (e) => log.pageErrors.push(String((e as Error).message ?? e)));
  page.on("requestfailed", (r) => log.failedRequests.push(`${r.url()}: ${r.failure()?.errorText}`));
  page.on("response", (r) => {
    if (r.status() >= 400) log.failedRequests.push(`${r.url()}: HTTP ${r.status()}`);
  });
  return log;
}

/**
 * Launches Chromium in `config`, opens `path` on `site`, waits (up to `timeoutMs`) for one of
 * `states` (default FINAL_STATES), screenshots the page into `shotDir`, and closes the browser
 * whatever happened (an error closing it is reported after the page's own error, never instead).
 */
export async function runPage(
  site: WebSite,
  config: AdapterConfig,
  path: string,
  opts: { timeoutMs?: number; shotDir: string; states?: string[] },
): Promise<PageRun> {
  const chromium = await launchChromium(config);
  let run: PageRun;
  try {
    const page = await chromium.browser.newPage();
    const log = watchPage(page);
    const t1 = performance.now();
    await page.goto(new URL(path, site.url).href, { waitUntil: "load", timeout: 30_000 });
    const state = await waitForState(page, opts.states ?? FINAL_STATES, opts.timeoutMs ?? 60_000);
    const pageMs = performance.now() - t1;
    const processes = await processesOf(chromium.profile);
    const { result, message } = await page.evaluate(() => ({
      result: document.getElementById("result")?.textContent ?? "",
      message: document.getElementById("message")?.textContent ?? "",
    }));
    const screenshot = `${opts.shotDir}/${config}-${path.replace(/\W+/g, "_")}.png`;
    await page.screenshot({ path: screenshot as `${string}.png`, fullPage: true });
    run = {
      state,
      result: result ? JSON.parse(result) : {},
      message,
      ...log,
      screenshot,
      launchMs: chromium.launchMs,
      pageMs,
      processes,
    };
  } catch (e) {
    await chromium.close().catch((c) => console.error(`closing Chromium after a failure: ${(c as Error).message}`));
    throw e;
  }
  await chromium.close();
  return run;
}

/** Waits for body[data-state] to be one of `states`; "timeout" when it is not by then. */
export async function waitForState(page: Page, states: string[], timeoutMs: number): Promise<string> {
  try {
    await page.waitForFunction((want: string[]) => want.includes(document.body?.dataset.state ?? ""), {
      timeout: timeoutMs,
      polling: 100,
    }, states);
  } catch {
    return "timeout";
  }
  return await page.evaluate(() => document.body.dataset.state ?? "");
}

/** Closes the browser, then checks that none of its processes (see processesOf) remain. */
async function closeBrowser(browser: Browser | undefined, profile: string): Promise<void> {
  try {
    if (browser) {
      await Promise.race([browser.close(), new Promise((r) => setTimeout(r, 10_000))]);
    }
    let left = await processesOf(profile);
    for (let i = 0; i < 30 && left.length; i++) {
      await new Promise((r) => setTimeout(r, 100));
      left = await processesOf(profile);
    }
    if (left.length) {
      for (const pid of left) {
        try {
          Deno.kill(pid, "SIGKILL");
        } catch { /* already gone */ }
      }
      throw new Error(`Chromium left ${left.length} process(es) running after close: ${left.join(", ")}`);
    }
  } finally {
    await Deno.remove(profile, { recursive: true }).catch(() => {});
  }
}

/**
 * Live (not zombie) processes of the browser run with profile folder `profile`: those whose
 * command line names it (the browser, its zygotes and their children: GPU, renderers, utilities),
 * and those whose environment carries the run's tag (the crash handlers, which name no profile and
 * are re-parented at once; the zygotes start their children with a clean environment, so neither
 * test alone sees them all).
 */
export async function processesOf(profile: string): Promise<number[]> {
  const marker = new TextEncoder().encode(`${RUN_TAG}=${profile}\0`);
  const live: number[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    const read = (f: string) => Deno.readFile(`/proc/${e.name}/${f}`).catch(() => new Uint8Array());
    const ours = new TextDecoder().decode(await read("cmdline")).includes(profile) ||
      contains(await read("environ"), marker);
    if (!ours) continue;
    const stat = new TextDecoder().decode(await read("stat"));
    // the state follows the command name; Z is a zombie its parent has not reaped yet (it holds nothing)
    if (stat && stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z") live.push(Number(e.name));
  }
  return live;
}

function contains(hay: Uint8Array, needle: Uint8Array): boolean {
  outer: for (
    let i = hay.indexOf(needle[0]);
    i >= 0 && i <= hay.length - needle.length;
    i = hay.indexOf(needle[0], i + 1)
  ) {
    for (let j = 1; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}
