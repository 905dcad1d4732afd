// SPDX-License-Identifier: Apache-2.0
// The client overhead benchmarks (bench/clients) run once each (--iterations 1): they check
// their own encode and decode, and print one JSON line. Nothing here is timed.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";

import { SOURCE_DIR, runNode } from "./servers.js";

const PYTHON = "/usr/bin/python3";

describe("bench/clients", () => {
  test("ts_overhead.mjs", async () => {
    const ran = await runNode([join(SOURCE_DIR, "bench", "clients", "ts_overhead.mjs"), "--iterations", "1"]);
    assert.equal(ran.code, 0, ran.stderr);
    const line = JSON.parse(ran.stdout);
    assert.deepEqual(Object.keys(line), ["client", "encode_us", "decode_us", "iterations"]);
    assert.equal(line.client, "typescript");
    assert.ok(line.encode_us > 0 && line.decode_us > 0);
  });

  test("python_overhead.py", { skip: existsSync(PYTHON) ? false : `no ${PYTHON}` }, async () => {
    const stdout = await new Promise<string>((done, fail) => {
      execFile(PYTHON, [join(SOURCE_DIR, "bench", "clients", "python_overhead.py"), "--iterations", "1"],
               (error, out, err) => (error ? fail(new Error(`${error.message}: ${err}`)) : done(out)));
    });
    const line = JSON.parse(stdout);
    assert.equal(line.client, "python");
    assert.ok(line.encode_us > 0 && line.decode_us > 0);
  });
});
