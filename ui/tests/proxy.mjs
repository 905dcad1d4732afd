// SPDX-License-Identifier: Apache-2.0
// A small reverse proxy for the console's end-to-end tests, as nginx's
//   location /PREFIX/ { proxy_pass https://127.0.0.1:PORT/; }
// would be: PREFIX/... goes to the aimass server with the prefix taken off and the upstream's
// (loopback) Host; anything else is 404. Through it the console runs under a path prefix, which
// proves that it builds no URL of its own.
//
//   node proxy.mjs --upstream https://127.0.0.1:PORT --prefix /tools/aimass [--ca CERT.pem]
//
// It binds 127.0.0.1 on a free port and prints "serving http://127.0.0.1:PORT".
import { readFileSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: { upstream: { type: "string" }, prefix: { type: "string" }, ca: { type: "string" } },
});
const upstream = new URL(values.upstream);
const prefix = values.prefix.replace(/\/+$/, "");
const client = upstream.protocol === "https:" ? https : http;
const ca = values.ca ? readFileSync(values.ca) : undefined;

const server = http.createServer((request, response) => {
  const url = new URL(request.url, "http://proxy");
  if (!url.pathname.startsWith(`${prefix}/`)) {
    response.writeHead(404, { "Content-Type": "text/plain" }).end("not under the prefix\n");
    return;
  }
  const forward = client.request({
    hostname: upstream.hostname, port: upstream.port, method: request.method, ca,
    path: url.pathname.slice(prefix.length) + url.search,
    headers: { ...request.headers, host: upstream.host },
  }, (answer) => {
    response.writeHead(answer.statusCode, answer.headers);
    answer.pipe(response);
  });
  forward.on("error", (error) => {
    if (!response.headersSent) response.writeHead(502, { "Content-Type": "text/plain" });
    response.end(`${error}\n`);
  });
  request.pipe(forward);
});
server.listen(0, "127.0.0.1", () => {
  console.log(`serving http://127.0.0.1:${server.address().port}`);
});
