// The pages in a real browser: Debian's Chromium, headless, on the WebGPU adapters this machine
// offers (SwiftShader; lavapipe through ANGLE in compatibility mode), and without WebGPU. The
// probe page compiles a small graph with the project's own compiler and runs it on the page's
// GPU; its result must match the float64 reference. Also the static server's rules (web/serve.ts)
// and the bundler's guard against node: imports (web/build.ts).
import assert from "node:assert/strict";
import { relative } from "node:path";
import { fileURLToPath } from "node:url";
import { buildWeb, nodeImportChains } from "../web/build.ts";
import { DATA_SETS } from "../web/serve.ts";
import { type AdapterConfig, CHROMIUM, type PageRun, runPage, serveWeb, type WebSite } from "./util/browser.ts";

const FASHION = DATA_SETS["/data/fashion-mnist/"];
const exists = (path: string, dir = false) => {
  try {
    return dir ? Deno.statSync(path).isDirectory : Deno.statSync(path).isFile;
  } catch {
    return false;
  }
};
const haveChromium = exists(CHROMIUM);

/** A raw HTTP/1.1 GET, so the path reaches the server exactly as written (fetch would normalize "..") */
async function rawGet(url: string, path: string): Promise<{ status: number; head: string; body: string }> {
  const { port } = new URL(url);
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: Number(port) });
  await conn.write(new TextEncoder().encode(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`));
  const text = new TextDecoder().decode(await new Response(conn.readable).arrayBuffer());
  const [head, body = ""] = text.split("\r\n\r\n", 2);
  return { status: Number(head.split(" ")[1]), head: head.toLowerCase(), body };
}

Deno.test("the server: MIME types, no caching, only GET and HEAD", async () => {
  const site = await serveWeb();
  try {
    const cases: [string, number, string | null][] = [
      ["probe.html", 200, "text/html; charset=utf-8"],
      ["dist/probe.js", 200, "text/javascript; charset=utf-8"],
      ["dist/probe.js.map", 200, "application/json; charset=utf-8"],
      ["probe.ts", 404, null], // sources are not served
      ["build.ts", 404, null],
      ["nothing.html", 404, null],
      ["dist/", 404, null],
    ];
    for (const [path, status, type] of cases) {
      const r = await fetch(new URL(path, site.url));
      await r.body?.cancel();
      assert.equal(r.status, status, path);
      if (type) assert.equal(r.headers.get("content-type"), type, path);
      assert.equal(r.headers.get("cache-control"), "no-store", path);
    }
    const head = await fetch(new URL("probe.html", site.url), { method: "HEAD" });
    assert.equal(head.status, 200);
    assert.equal(Number(head.headers.get("content-length")), Deno.statSync("web/probe.html").size);
    const post = await fetch(new URL("probe.html", site.url), { method: "POST" });
    await post.body?.cancel();
    assert.equal(post.status, 405);
  } finally {
    await site.close();
  }
});

Deno.test("the server: no path climbs out of web/ or the data set folder", async () => {
  const site = await serveWeb();
  try {
    const secret = Deno.readTextFileSync("deno.json");
    for (
      const path of [
        "/../deno.json",
        "/%2e%2e/deno.json",
        "/..%2fdeno.json",
        "/dist/..%2f..%2fdeno.json",
        "/dist/%2e%2e/%2e%2e/deno.json",
        "/data/fashion-mnist/..%2f..%2f..%2f..%2fetc%2fpasswd",
        "/data/fashion-mnist/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        "/data/fashion-mnist/..%5c..%5cetc%5cpasswd",
        "/.gitignore",
        "/%2egitignore",
      ]
    ) {
      const r = await rawGet(site.url, path);
      assert.ok(r.status === 404 || r.status === 400, `${path}: HTTP ${r.status}`);
      assert.ok(!r.body.includes(secret.slice(0, 40)) && !r.body.includes("root:"), `${path} served a file`);
    }
  } finally {
    await site.close();
  }
});

Deno.test({
  name: "the server: /data/fashion-mnist/ serves exactly the installed files",
  ignore: !exists(FASHION, true),
  fn: async () => {
    const site = await serveWeb();
    try {
      const name = "t10k-labels-idx1-ubyte.gz";
      const r = await fetch(new URL(`data/fashion-mnist/${name}`, site.url));
      assert.equal(r.status, 200);
      assert.equal(r.headers.get("content-type"), "application/gzip");
      assert.equal(r.headers.get("content-encoding"), null); // the page inflates the IDX file itself
      const bytes = new Uint8Array(await r.arrayBuffer());
      assert.deepEqual(bytes, Deno.readFileSync(`${FASHION}/${name}`));
      for (
        const path of ["data/fashion-mnist/", "data/fashion-mnist/nope.gz", "data/fashion-mnist/t10k-labels-idx1-ubyte"]
      ) {
        const n = await fetch(new URL(path, site.url));
        await n.body?.cancel();
        assert.equal(n.status, 404, path);
      }
    } finally {
      await site.close();
    }
  },
});

Deno.test("the bundle guard names each import chain that reaches a node: module", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // page → mid → node:fs and node:path; mid's type import of node:os is erased by the bundler, so not counted
    Deno.writeTextFileSync(
      `${dir}/page.ts`,
      `import { read } from "./mid.ts";\nimport "./clean.ts";\nconsole.log(read);\n`,
    );
    Deno.writeTextFileSync(
      `${dir}/mid.ts`,
      `import { readFileSync } from "node:fs";\nimport { join } from "node:path";\nimport type { CpuInfo } from "node:os";\n` +
        `export const read = (p: string, c?: CpuInfo) => readFileSync(join(p, String(c)));\n`,
    );
    Deno.writeTextFileSync(`${dir}/clean.ts`, `export const x = 1;\n`);
    const rel = (f: string) => relativeTo(`${dir}/${f}`);
    assert.deepEqual(await nodeImportChains([`${dir}/page.ts`]), [
      `${rel("page.ts")} → ${rel("mid.ts")} → node:fs, node:path`,
    ]);
    assert.deepEqual(await nodeImportChains([`${dir}/clean.ts`]), []);
    const probe = await nodeImportChains([fileURLToPath(new URL("../web/probe.ts", import.meta.url))]);
    assert.deepEqual(probe, []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the build bundles each NAME.ts that has a NAME.html, and refuses a page reaching node:", async () => {
  const dir = await Deno.makeTempDir();
  const out = `${dir}/dist`;
  try {
    Deno.writeTextFileSync(`${dir}/a.html`, "<!doctype html>");
    Deno.writeTextFileSync(`${dir}/a.ts`, `import { twice } from "./lib.ts";\nconsole.log(twice(21));\n`);
    Deno.writeTextFileSync(`${dir}/lib.ts`, `export const twice = (x: number) => 2 * x;\n`); // a module, not a page
    Deno.writeTextFileSync(`${dir}/c.html`, "<!doctype html>");
    Deno.writeTextFileSync(`${dir}/c.ts`, `document.title = "c";\n`);
    const built = await buildWeb(out, dir);
    assert.deepEqual(built.pages, ["a", "c"]);
    assert.deepEqual([...Deno.readDirSync(out)].map((e) => e.name).sort(), ["a.js", "a.js.map", "c.js", "c.js.map"]);
    assert.match(Deno.readTextFileSync(`${out}/a.js`), /2 \* x/); // lib.ts is inside the bundle
    Deno.writeTextFileSync(`${dir}/b.html`, "<!doctype html>");
    Deno.writeTextFileSync(`${dir}/b.ts`, `import { readFileSync } from "node:fs";\nconsole.log(readFileSync);\n`);
    await assert.rejects(buildWeb(out, dir), (e: Error) => {
      assert.match(e.message, /Node's built-in modules/);
      assert.ok(e.message.includes(`${relativeTo(`${dir}/b.ts`)} → node:fs`), e.message);
      return true;
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the build lets a page import node: dynamically (as platform/current.ts does), never at load", async () => {
  const dir = await Deno.makeTempDir();
  const out = `${dir}/dist`;
  try {
    Deno.writeTextFileSync(`${dir}/d.html`, "<!doctype html>");
    Deno.writeTextFileSync(
      `${dir}/d.ts`,
      `const server = "Deno" in globalThis;\nconst m = server ? await import("./server.ts") : undefined;\n` +
        `document.title = String(m?.size("x") ?? "page");\n`,
    );
    Deno.writeTextFileSync(
      `${dir}/server.ts`,
      `import { statSync } from "node:fs";\nexport const size = (p: string) => statSync(p).size;\n`,
    );
    assert.deepEqual(await nodeImportChains([`${dir}/d.ts`]), []);
    await buildWeb(out, dir);
    const js = [...Deno.readDirSync(out)].map((e) => e.name).filter((n) => n.endsWith(".js"));
    const page = Deno.readTextFileSync(`${out}/d.js`);
    assert.doesNotMatch(page, /node:fs/);
    // the node: import sits in a chunk of its own, which the page imports only when the import runs
    const chunk = js.find((n) => n !== "d.js" && Deno.readTextFileSync(`${out}/${n}`).includes(`from "node:fs"`));
    assert.ok(chunk, `no chunk holds node:fs: ${js.join(", ")}`);
    assert.match(page, new RegExp(`import\\("\\./${chunk.replace(/\./g, "\\.")}"\\)`));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const relativeTo = (abs: string) => relative(ROOT, abs);

/**
 * f32 against float64: x, w, b are float32 values in [-1, 1), so the reference sees exactly the
 * GPU's inputs and only rounding differs. A 91-term dot product accumulates at most
 * γ₉₁ = 91·2⁻²⁴ ≈ 5.4e-6 of Σ|xᵢwᵢ| (≤ 91, about 23 in practice); the sums of 53 squares, the
 * logsumexp (exp/log within a few ulp in WGSL) and the mean add error of the same order relative
 * to their own scale. So each output's max error must stay below 1e-5 of its largest magnitude
 * (at least 1): a wrong index, a lost tile or a missing term is off by far more (≈ 1e-1).
 */
const REL_TOL = 1e-5;

function assertProbeMatches(run: PageRun) {
  const outputs = run.result.outputs as Record<string, { n: number; maxAbsError: number; maxAbs: number }>;
  assert.deepEqual(Object.keys(outputs).sort(), ["h", "logsumexp", "mean", "rowSquares"]);
  for (const [name, o] of Object.entries(outputs)) {
    const bound = REL_TOL * Math.max(1, o.maxAbs);
    assert.ok(o.maxAbsError <= bound, `${name}: max error ${o.maxAbsError} > ${bound} (scale ${o.maxAbs})`);
  }
  assert.deepEqual(run.result.gpuErrors, []);
}

function assertClean(run: PageRun) {
  assert.deepEqual(run.pageErrors, [], "page errors");
  assert.deepEqual(run.consoleErrors, [], "console errors");
  assert.deepEqual(run.failedRequests, [], "failed requests");
}

/** One page run per test, the server shared; screenshots kept (and named) only when a test fails. */
function browserTest(name: string, config: AdapterConfig, path: string, check: (run: PageRun) => void) {
  Deno.test({
    name,
    ignore: !haveChromium,
    sanitizeOps: false,
    sanitizeResources: false,
    fn: async () => {
      const shotDir = await Deno.makeTempDir({ prefix: "ssl-webgpu-shots-" });
      let site: WebSite | undefined;
      let ok = false;
      try {
        site = await serveWeb();
        const run = await runPage(site, config, path, { shotDir, timeoutMs: 60_000 });
        console.log(
          `${config}: ${run.state} in ${run.pageMs.toFixed(0)} ms (launch ${run.launchMs.toFixed(0)} ms, ` +
            `build ${site.buildMs.toFixed(0)} ms) ${JSON.stringify(run.result.ms ?? {})}`,
        );
        assert.ok(Deno.statSync(run.screenshot).size > 0, "screenshot");
        // the leftover check (runPage, on close) finds the browser's processes, the crash handler among them
        assert.ok(run.processes.length >= 3, `processes of the run: ${run.processes}`);
        check(run);
        ok = true;
      } finally {
        await site?.close();
        if (ok) await Deno.remove(shotDir, { recursive: true });
        else console.error(`screenshots kept in ${shotDir}`);
      }
    },
  });
}

browserTest(
  "probe on SwiftShader: core, fallback adapter, 4-lane subgroups unused; matches float64",
  "swiftshader",
  "probe.html",
  (run) => {
    assertClean(run);
    assert.equal(run.state, "done", JSON.stringify(run.result));
    const a = run.result.adapter as Record<string, unknown>;
    assert.equal(a.featureLevel, "core");
    assert.equal(a.isFallbackAdapter, true);
    assert.match(String(a.description), /SwiftShader/);
    // the adapter has subgroups, of 4 lanes: too few for the subgroup kernels, which then must not be used
    assert.ok((run.result.deviceFeatures as string[]).includes("subgroups"));
    assert.deepEqual(a.subgroupSize, { min: 4, max: 4 });
    assert.equal((run.result.features as Record<string, boolean>).subgroups, false);
    assertProbeMatches(run);
  },
);

browserTest(
  "probe on lavapipe in compatibility mode: no subgroups, 128 MiB bindings; matches float64",
  "compat-lavapipe",
  "probe.html",
  (run) => {
    assertClean(run);
    assert.equal(run.state, "done", JSON.stringify(run.result));
    const a = run.result.adapter as Record<string, unknown>;
    assert.equal(a.featureLevel, "compatibility");
    assert.equal(a.isFallbackAdapter, false);
    assert.match(String(a.description), /llvmpipe/);
    assert.deepEqual(run.result.features, { subgroups: false, f16: false, timestamps: false, tensorCores: false });
    const limits = run.result.limits as Record<string, number>;
    assert.equal(limits.maxStorageBufferBindingSize, 128 * 2 ** 20);
    assert.equal(limits.maxStorageBuffersPerShaderStage, 16);
    assert.equal(limits.maxComputeInvocationsPerWorkgroup, 1024);
    assertProbeMatches(run);
  },
);

browserTest("probe without WebGPU enabled says what to enable, per browser", "no-webgpu", "probe.html", (run) => {
  assert.deepEqual(run.pageErrors, []);
  assert.equal(run.state, "no-webgpu", JSON.stringify(run.result));
  assert.equal(run.result.reason, "no-adapter");
  for (
    const words of [
      "no GPU adapter",
      "chrome://flags/#enable-unsafe-webgpu",
      "Firefox Nightly",
      "Safari Technology Preview",
    ]
  ) {
    assert.ok(run.message.includes(words), `message lacks "${words}": ${run.message}`);
  }
});

browserTest(
  "a page that fails ends in 'failed', and the harness sees its console error",
  "no-webgpu",
  "probe.html?n=abc",
  (run) => {
    assert.equal(run.state, "failed");
    assert.match(String(run.result.error), /\?n=abc: expected a whole number/);
    assert.equal(run.consoleErrors.length, 1);
    assert.match(run.consoleErrors[0], /\?n=abc/);
  },
);
