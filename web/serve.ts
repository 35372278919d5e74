// The pages' static server, on 127.0.0.1 only: a loopback address is a secure context, which
// WebGPU requires, and nothing is exposed to the network. It serves web/'s static files, the
// bundles (web/build.ts) under /dist/, and the installed data sets under fixed prefixes, read-only
// and only their own files. Nothing is cached (Cache-Control: no-store): a rebuilt bundle is what
// the next reload gets.
//
//   deno task web [--port N]      (default 8321; --port 0 picks a free port)
import { extname, join } from "node:path";
import { buildWeb, DIST_DIR, pageNames, WEB_DIR } from "./build.ts";

export const DEFAULT_PORT = 8321;

/** URL prefix → installed data set folder. Only the regular files directly inside are served. */
export const DATA_SETS: Record<string, string> = {
  "/data/fashion-mnist/": "/usr/share/datasets/fashion-mnist",
};

/** Served file types; any other file is not served (sources, dotfiles, editors' leftovers). */
export const MIME: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".txt": "text/plain; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".wasm": "application/wasm",
  // the data sets' IDX files, as installed: the page inflates them (DecompressionStream), so no Content-Encoding
  ".gz": "application/gzip",
};

export interface WebServerOptions {
  /** 0 = a free port */
  port?: number;
  /** where the bundles are (served as /dist/); default web/dist */
  dist?: string;
  /** static files; default web/ */
  root?: string;
  dataSets?: Record<string, string>;
}

export interface WebServer {
  /** http://127.0.0.1:PORT/ */
  url: string;
  port: number;
  close(): Promise<void>;
}

/** A mount: a URL prefix served from a folder, optionally only a fixed set of file names. */
interface Mount {
  prefix: string;
  dir: string;
  only?: Set<string>;
}

/** Starts serving; throws Deno.errors.AddrInUse when the port is taken. */
export function startServer(opts: WebServerOptions = {}): WebServer {
  const mounts: Mount[] = [
    ...Object.entries(opts.dataSets ?? DATA_SETS).map(([prefix, dir]) => ({ prefix, dir, only: regularFiles(dir) })),
    { prefix: "/dist/", dir: opts.dist ?? DIST_DIR },
    { prefix: "/", dir: opts.root ?? WEB_DIR },
  ];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: opts.port ?? DEFAULT_PORT, onListen: () => {} },
    (req) => respond(req, mounts),
  );
  const port = server.addr.port;
  return { url: `http://127.0.0.1:${port}/`, port, close: () => server.shutdown() };
}

/** The names of the regular files directly in `dir` (none when it is not installed). */
function regularFiles(dir: string): Set<string> {
  try {
    return new Set([...Deno.readDirSync(dir)].filter((e) => e.isFile).map((e) => e.name));
  } catch {
    return new Set();
  }
}

const HEADERS = { "cache-control": "no-store", "x-content-type-options": "nosniff" };

function status(code: number, text: string, extra: Record<string, string> = {}): Response {
  return new Response(`${code} ${text}\n`, {
    status: code,
    headers: { ...HEADERS, "content-type": "text/plain; charset=utf-8", ...extra },
  });
}

async function respond(req: Request, mounts: Mount[]): Promise<Response> {
  if (req.method !== "GET" && req.method !== "HEAD") return status(405, "Method Not Allowed", { allow: "GET, HEAD" });
  const file = resolvePath(new URL(req.url).pathname, mounts);
  if (!file) return status(404, "Not Found");
  const type = MIME[extname(file)];
  if (!type) return status(404, "Not Found");
  let f: Deno.FsFile;
  try {
    f = await Deno.open(file);
  } catch {
    return status(404, "Not Found");
  }
  const info = await f.stat();
  if (!info.isFile) {
    f.close();
    return status(404, "Not Found");
  }
  const headers = { ...HEADERS, "content-type": type, "content-length": String(info.size) };
  if (req.method === "HEAD") {
    f.close();
    return new Response(null, { headers });
  }
  return new Response(f.readable, { headers });
}

/**
 * The file a URL path names, or undefined. Each segment is decoded on its own and must be a plain
 * name: no "", ".", "..", dotfile, slash or backslash (so "%2e%2e" and "..%2f" cannot climb out of
 * the mount), and a data set serves only the file names it had at start.
 */
export function resolvePath(pathname: string, mounts: Mount[]): string | undefined {
  const mount = mounts.find((m) => pathname.startsWith(m.prefix));
  if (!mount) return undefined;
  let rest = pathname.slice(mount.prefix.length);
  if (rest === "" && mount.prefix === "/") rest = "index.html";
  let names: string[];
  try {
    names = rest.split("/").map(decodeURIComponent);
  } catch {
    return undefined;
  }
  if (names.some((n) => n === "" || n.startsWith(".") || /[/\\\0]/.test(n))) return undefined;
  if (mount.only && (names.length !== 1 || !mount.only.has(names[0]))) return undefined;
  return join(mount.dir, ...names);
}

function usage(problem: string): never {
  console.error(
    `${problem}\nusage: deno task web [--port N]   (N in 0..65535; 0 picks a free port; default ${DEFAULT_PORT})`,
  );
  Deno.exit(2);
}

/** --port N, or undefined when not given. */
export function parsePort(args: string[]): number | undefined {
  let port: number | undefined;
  for (let i = 0; i < args.length; i++) {
    const [flag, inline] = args[i].split("=", 2);
    if (flag !== "--port") usage(`unknown argument '${args[i]}'`);
    const v = inline ?? args[++i];
    if (v === undefined || !/^\d+$/.test(v) || Number(v) > 65535) usage(`--port: '${v ?? ""}' is not a port number`);
    port = Number(v);
  }
  return port;
}

if (import.meta.main) {
  const asked = parsePort(Deno.args);
  // the port first: a second server fails before it rebuilds the bundles the first one serves
  let server: WebServer;
  try {
    server = startServer({ port: asked ?? DEFAULT_PORT });
  } catch (e) {
    if (!(e instanceof Deno.errors.AddrInUse)) throw e;
    if (asked !== undefined) {
      console.error(`port ${asked} on 127.0.0.1 is in use (another \`deno task web\`?); pass --port 0 for a free one`);
      Deno.exit(2);
    }
    server = startServer({ port: 0 });
    console.log(`port ${DEFAULT_PORT} is in use; serving on ${server.port} instead`);
  }
  try {
    const b = await buildWeb();
    console.log(`built ${b.pages.map((p) => `dist/${p}.js`).join(", ")} (${b.ms.toFixed(0)} ms)`);
  } catch (e) {
    console.error((e as Error).message);
    await server.close();
    Deno.exit(1);
  }
  for (const [prefix, dir] of Object.entries(DATA_SETS)) {
    if (!regularFiles(dir).size) {
      console.log(`note: ${dir} is not installed (bash .ci/setup.sh); ${prefix} serves nothing`);
    }
  }
  for (const p of pageNames()) console.log(`${p}: ${server.url}${p === "index" ? "" : `${p}.html`}`);
  console.log(`serving ${WEB_DIR} on ${server.url} (Ctrl-C stops)`);
}
