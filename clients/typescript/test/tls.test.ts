// SPDX-License-Identifier: Apache-2.0
// HTTPS with a private CA against a real `aimass run`. Node's fetch takes no CA per call: the CA
// is trusted through NODE_EXTRA_CA_CERTS, which Node reads at startup, so each check runs the
// quickstart example in a fresh node with or without it.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";

import { AimassServer, PACKAGE_DIR, TRAIN, makeCertificates, runNode } from "./servers.js";

const SERVE_TLS = `${TRAIN}  web:
    type: frontend.http
    host: 127.0.0.1
    port: 0
    tls_certificate: server.crt
    tls_private_key: server.key
`;

function haveOpenssl(): boolean {
  try {
    execFileSync("openssl", ["version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

// scripts/install-deps.sh installs openssl: under AIMASS_REQUIRE_ALL=1 (scripts/test.sh) a
// missing one fails these tests instead of skipping them.
const skip = !haveOpenssl() && process.env["AIMASS_REQUIRE_ALL"] !== "1"
    ? "no openssl command to make certificates" : false;

describe("HTTPS with a private CA", { skip }, () => {
  let server: AimassServer;
  const example = join(PACKAGE_DIR, "dist-test", "examples", "quickstart.js");
  before(async () => {
    server = await AimassServer.start(SERVE_TLS, "https", makeCertificates);
  });
  after(async () => {
    const code = await server.stop();
    assert.equal(code, 0, `aimass exited ${code}: ${server.log.join("")}`);
  });

  test("NODE_EXTRA_CA_CERTS trusts the CA", async () => {
    const env = { ...process.env, NODE_EXTRA_CA_CERTS: join(server.dir, "ca.crt") };
    const ran = await runNode([example, "--url", server.url, "--model", "pump_state"], env);
    assert.equal(ran.code, 0, ran.stderr);
    assert.match(ran.stdout, /^pump_state version \d+ \(request quickstart\):\n/);
    assert.match(ran.stdout, /\n {2}probabilities FP32 \[1, 3\]: /);
  });

  test("without it the certificate is refused, as an AimassError with no status", async () => {
    const env = { ...process.env };
    delete env["NODE_EXTRA_CA_CERTS"];
    const ran = await runNode([example, "--url", server.url, "--model", "pump_state"], env);
    assert.equal(ran.code, 1);
    assert.match(ran.stderr, /^error: AimassError: GET \/v2\/models\/pump_state: cannot reach https:\/\/127\.0\.0\.1:\d+: .*certificate/m);
  });
});
