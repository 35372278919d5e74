// The training check page (web/train_check.ts) in a headless Chromium, for the browser tests and
// bench/browser*.ts: built and served, opened in one adapter configuration, waited on until it is
// ready, handed to `fn`, and closed (browser and server) whatever happens. `fn` calls the page's
// window.sslCheck through `call`; a page that logged errors fails the run.
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
      const call: CheckCall = (name, arg) =>
        page.evaluate(
          (n: string, a: unknown) =>
            (globalThis as unknown as { sslCheck: Record<string, (a: unknown) => unknown> })
              .sslCheck[n](a),
          name,
          arg as unknown,
        ) as never;
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
