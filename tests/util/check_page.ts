// The training check page (web/train_check.ts) in a headless Chromium, for the browser tests and
// bench/browser*.ts: built and served, opened in one adapter configuration, waited on until it is
// ready, handed to `fn`, and closed (browser and server) whatever happens. `fn` calls the page's
// window.sslCheck through `call`; a page that logged errors fails the run. A call is started in
// the page and its result polled for, so a call may take longer than one DevTools protocol
// command may (puppeteer's protocolTimeout, 3 minutes): the default Barlow run takes many.
import assert from "node:assert/strict";
import type { Page } from "puppeteer-core";
import type { SslCheck } from "../../web/train_check.ts";
import { type AdapterConfig, launchChromium, serveWeb, waitForState, watchPage, type WebSite } from "./browser.ts";

/** One of the page's functions, called in the page with a JSON argument; its JSON result. */
export type CheckCall = <K extends keyof SslCheck>(
  name: K,
  arg: Parameters<SslCheck[K]>[0],
) => Promise<Awaited<ReturnType<SslCheck[K]>>>;

export async function withCheckPage<T>(
  config: AdapterConfig,
  fn: (call: CheckCall, page: Page) => Promise<T>,
): Promise<T> {
  let site: WebSite | undefined;
  try {
    site = await serveWeb();
    const chromium = await launchChromium(config);
    try {
      const page = await chromium.browser.newPage();
      const log = watchPage(page);
      await page.goto(new URL("train_check.html", site.url).href, { waitUntil: "load", timeout: 30_000 });
      assert.equal(await waitForState(page, ["ready", "failed"], 30_000), "ready", JSON.stringify(log));
      const call: CheckCall = (name, arg) => callInPage(page, name, arg) as never;
      const result = await fn(call, page);
      assert.deepEqual(
        log,
        { consoleErrors: [], pageErrors: [], failedRequests: [] },
        `the page (${config}) logged errors`,
      );
      return result;
    } finally {
      await chromium.close();
    }
  } finally {
    await site?.close();
  }
}

type PageSlot = { done: false } | { done: true; value?: unknown; error?: string };
type PageGlobals = { sslCheck: Record<string, (a: unknown) => Promise<unknown>>; sslCalls?: PageSlot[] };

async function callInPage(page: Page, name: string, arg: unknown): Promise<unknown> {
  const id = await page.evaluate(
    (n: string, a: unknown) => {
      const g = globalThis as unknown as PageGlobals;
      const calls = g.sslCalls ??= [];
      const i = calls.push({ done: false }) - 1;
      g.sslCheck[n](a).then(
        (value) => calls[i] = { done: true, value },
        (e) => calls[i] = { done: true, error: String((e as Error)?.stack ?? e) },
      );
      return i;
    },
    name,
    arg,
  );
  for (;;) {
    const slot = await page.evaluate((i: number) => {
      const calls = (globalThis as unknown as PageGlobals).sslCalls!;
      const s = calls[i];
      if (s.done) calls[i] = { done: true }; // the page keeps no copy of a result handed over
      return s;
    }, id);
    if (slot.done) {
      if (slot.error !== undefined) throw new Error(`sslCheck.${name} failed in the page: ${slot.error}`);
      return slot.value;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}
