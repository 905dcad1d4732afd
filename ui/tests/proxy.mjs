// SPDX-License-Identifier: Apache-2.0
// A small reverse proxy for the console's end-to-end tests: PREFIX/ui/ serves the built console
// (with the CSP that frontend.http sends), and PREFIX/api/... and PREFIX/v2/... go to the aimass
// server with the prefix taken off and a loopback Host, as nginx's proxy_pass would. It proves
// that the console only builds URLs relative to where it is served.
//
//   node proxy.mjs --upstream http://127.0.0.1:PORT --prefix /tools/aimass --console DIR
//
// It binds 127.0.0.1 on a free port and prints "serving http://127.0.0.1:PORT".
import { readFile } from "node:fs/promises";
import http from "node:http";
import { extname, join, normalize } from "node:path";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: { upstream: { type: "string" }, prefix: { type: "string" }, console: { type: "string" } },
});
const upstream = new URL(values.upstream);
const prefix = values.prefix.replace(/\/+$/, "");
const root = values.console;

export const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; " +
  "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; " +
  "form-action 'self'";
const TYPES = { ".html": "text/html; charset=utf-8", ".js": "text/javascript", ".css": "text/css",
                ".svg": "image/svg+xml", ".png": "image/png", ".json": "application/json" };

const server = http.createServer(async (request, response) => {
  const url = new URL(request.url, "http://proxy");
  if (!url.pathname.startsWith(`${prefix}/`)) {
    response.writeHead(404).end("not under the prefix\n");
    return;
  }
  const rest = url.pathname.slice(prefix.length);
  if (rest === "/ui") {
    response.writeHead(301, { Location: `${prefix}/ui/` }).end();
    return;
  }
  if (rest.startsWith("/ui/")) {
    const file = normalize(rest.slice(4) || "index.html");
    if (file.startsWith("..")) {
      response.writeHead(400).end();
      return;
    }
    try {
      const body = await readFile(join(root, file === "." ? "index.html" : file));
      response.writeHead(200, {
        "Content-Type": TYPES[extname(file)] ?? "application/octet-stream",
        "Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff",
      });
      response.end(body);
    } catch {
      response.writeHead(404).end("no such file\n");
    }
    return;
  }
  const headers = { ...request.headers, host: upstream.host };
  const forward = http.request({
    hostname: upstream.hostname, port: upstream.port, method: request.method,
    path: rest + url.search, headers,
  }, (answer) => {
    response.writeHead(answer.statusCode, answer.headers);
    answer.pipe(response);
  });
  forward.on("error", (error) => response.writeHead(502).end(String(error)));
  request.pipe(forward);
});
server.listen(0, "127.0.0.1", () => {
  console.log(`serving http://127.0.0.1:${server.address().port}`);
});
