// SPDX-License-Identifier: Apache-2.0
// Retries, timeouts, auth headers, connection reuse and a whole infer exchange, against a tiny
// local node:http server.

import assert from "node:assert/strict";
import { after, afterEach, before, describe, test } from "node:test";

import { AimassTimeoutError, Client } from "@aimass/client";

import { rejection } from "./rejection.js";
import { LocalServer, answer } from "./servers.js";

const FAST = { retries: 3, backoffMs: 1 };

describe("retries", () => {
  let server: LocalServer;
  let calls = 0;
  before(async () => {
    server = await LocalServer.start((_request, response) => {
      calls += 1;
      if (calls <= 2) answer(response, 503, { error: "model 'm' is not ready" });
      else answer(response, 200, { name: "aimass", version: "x", extensions: [] });
    });
  });
  afterEach(() => {
    calls = 0;
  });
  after(() => server.close());

  test("a GET is retried on 503, then succeeds", async () => {
    const client = new Client(server.url, { retry: FAST });
    assert.equal((await client.serverMetadata()).name, "aimass");
    assert.equal(calls, 3);
  });

  test("too few retries give the 503 with the server's message", async () => {
    const client = new Client(server.url, { retry: { retries: 1, backoffMs: 1 } });
    const error = await rejection(client.serverMetadata());
    assert.equal(error.status, 503);
    assert.equal(error.message, "model 'm' is not ready");
    assert.deepEqual(error.body, { error: "model 'm' is not ready" });
    assert.equal(`${error}`, "AimassError: GET /v2: HTTP 503: model 'm' is not ready");
    assert.equal(calls, 2);
  });

  test("infer is not retried unless the policy names POST", async () => {
    const tensors = [{ name: "x", data: new Float32Array([1]) }];
    const error = await rejection(new Client(server.url, { retry: FAST }).infer("m", tensors));
    assert.equal(error.status, 503);
    assert.equal(calls, 1);
    calls = 0;
    const posting = new Client(server.url, { retry: { ...FAST, methods: ["POST"] } });
    // The third answer is metadata, not an infer answer: decoded as one with no outputs.
    assert.deepEqual((await posting.infer("m", tensors)).outputs, []);
    assert.equal(calls, 3);
  });

  test("health probes are not retried", async () => {
    assert.equal(await new Client(server.url, { retry: FAST }).ready(), false);
    assert.equal(calls, 1);
  });
});

describe("connections, timeouts and auth", () => {
  test("calls reuse keep-alive connections", async () => {
    const server = await LocalServer.start((_r, response) => answer(response, 200, { name: "a" }));
    try {
      const client = new Client(server.url);
      for (let i = 0; i < 6; ++i) await client.serverMetadata();
      // Node's fetch pools connections per origin; one after another, calls take turns on at
      // most two of them rather than opening one each.
      assert.equal(server.requests.length, 6);
      assert.ok(new Set(server.requests.map((r) => r.socket)).size <= 2);
    } finally {
      await server.close();
    }
  });

  test("a call past its timeout is an AimassTimeoutError; a signal aborts", async () => {
    const server = await LocalServer.start((_r, response) => answer(response, 200, {}, 2000));
    try {
      const client = new Client(server.url, { timeoutMs: 100 });
      const error = await rejection(client.serverMetadata());
      assert.ok(error instanceof AimassTimeoutError);
      assert.equal(error.status, null);
      assert.equal(error.message, "no answer within 100 ms");
      const shorter = await rejection(new Client(server.url).live({ timeoutMs: 50 }));
      assert.ok(shorter instanceof AimassTimeoutError);
      const controller = new AbortController();
      const pending = new Client(server.url).serverMetadata({ signal: controller.signal });
      controller.abort();
      const aborted = await rejection(pending);
      assert.ok(!(aborted instanceof AimassTimeoutError));
      assert.equal(aborted.message, "aborted");
    } finally {
      await server.close();
    }
  });

  test("an API key or a token is sent", async () => {
    const server = await LocalServer.start((_r, response) => answer(response, 200, {}));
    try {
      await new Client(server.url, { apiKey: "k1" }).serverMetadata();
      await new Client(server.url, { token: "jwt.x.y" }).serverMetadata();
      assert.equal(server.requests[0]!.headers["x-api-key"], "k1");
      assert.equal(server.requests[0]!.headers["authorization"], undefined);
      assert.equal(server.requests[1]!.headers["authorization"], "Bearer jwt.x.y");
      assert.equal(server.requests[1]!.headers["x-api-key"], undefined);
    } finally {
      await server.close();
    }
  });

  test("a refused connection is an AimassError with no status", async () => {
    const server = await LocalServer.start((_r, response) => answer(response, 200, {}));
    const url = server.url;
    await server.close();
    const error = await rejection(new Client(url).live());
    assert.equal(error.status, null);
    assert.match(error.message, /^cannot reach http:\/\/127\.0\.0\.1:\d+: .*ECONNREFUSED/);
  });

  test("an error answer without JSON gets the status's text, never the raw body", async () => {
    const server = await LocalServer.start((_r, response) => {
      response.writeHead(502, { "Content-Type": "text/html" });
      response.end("<html>bad gateway</html>");
    });
    try {
      const error = await rejection(new Client(server.url).listModels());
      assert.equal(error.status, 502);
      assert.equal(error.message, "error");
      assert.equal(error.body, null);
    } finally {
      await server.close();
    }
  });

  test("bad options are refused", () => {
    assert.throws(() => new Client("ftp://h"), /scheme must be http or https/);
    assert.throws(() => new Client("http://h", { apiKey: "k", token: "t" }), /apiKey or token, not both/);
    assert.throws(() => new Client("http://h", { timeoutMs: 0 }), /timeoutMs 0 is not positive/);
    assert.equal(new Client("127.0.0.1:9/prefix/").baseUrl, "http://127.0.0.1:9/prefix");
  });
});

describe("an infer exchange", () => {
  test("sends binary tensor data and decodes a binary answer", async () => {
    const head = JSON.stringify({
      model_name: "m", model_version: "1", id: "r1", outputs: [
        { name: "class", datatype: "BYTES", shape: [1], parameters: { binary_data_size: 8 } },
        { name: "p", datatype: "FP32", shape: [1, 2], parameters: { binary_data_size: 8 } }]});
    const tail = Buffer.from([4, 0, 0, 0, 0x77, 0x6f, 0x72, 0x6e, 0, 0, 0x80, 0x3f, 0, 0, 0, 0]);
    const server = await LocalServer.start((request, response) => {
      if (request.method === "GET") {
        answer(response, 200, { name: "m", platform: "aimass", outputs: [],
                                inputs: [{ name: "input", datatype: "FP32", shape: [-1, 2] }] });
        return;
      }
      response.writeHead(200, { "Content-Type": "application/octet-stream",
                                "Inference-Header-Content-Length": String(Buffer.byteLength(head)) });
      response.end(Buffer.concat([Buffer.from(head), tail]));
    });
    try {
      const client = new Client(server.url, { apiKey: "k" });
      const inputs = { input: [0.5, 2] };  // FP32 [1, 2] from the model's metadata
      const result = await client.infer("m", inputs, { requestId: "r1", version: 1 });
      await client.infer("m", inputs, { version: 1 });  // the metadata is fetched once
      assert.deepEqual(server.requests.map((r) => `${r.method} ${r.url}`),
                       ["GET /v2/models/m/versions/1", "POST /v2/models/m/versions/1/infer",
                        "POST /v2/models/m/versions/1/infer"]);
      const sent = server.requests[1]!;
      assert.equal(sent.headers["content-type"], "application/octet-stream");
      assert.equal(sent.headers["x-api-key"], "k");
      const n = Number(sent.headers["inference-header-content-length"]);
      assert.deepEqual(JSON.parse(sent.body.subarray(0, n).toString()), {
        id: "r1", parameters: { binary_data_output: true },
        inputs: [{ name: "input", datatype: "FP32", shape: [1, 2], parameters: { binary_data_size: 8 } }]});
      assert.deepEqual([...sent.body.subarray(n)], [0, 0, 0, 0x3f, 0, 0, 0, 0x40]);
      assert.equal(result.id, "r1");
      assert.deepEqual(result.data("class"), ["worn"]);
      assert.deepEqual(result.data("p"), new Float32Array([1, 0]));
      assert.deepEqual(result.output("p").shape, [1, 2]);
    } finally {
      await server.close();
    }
  });
});
