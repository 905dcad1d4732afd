// SPDX-License-Identifier: Apache-2.0
// A real `aimass run` for the tests (AIMASS_EXECUTABLE), certificates for TLS, and a tiny local
// node:http server whose answers a test writes.

import { type ChildProcess, execFile, execFileSync, spawn } from "node:child_process";
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { type IncomingMessage, type Server, type ServerResponse, createServer } from "node:http";
import { type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The package's folder (clients/typescript), from dist-test/test/. */
export const PACKAGE_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const SOURCE_DIR = process.env["AIMASS_SOURCE_DIR"] ?? resolve(PACKAGE_DIR, "..", "..");
export const EXECUTABLE = process.env["AIMASS_EXECUTABLE"] ?? join(SOURCE_DIR, "build", "bin", "aimass");

export const TRAIN = `nodes:
  store: {type: storage.sqlite, path: store.db}
  pumps: {type: dataset.csv, path: pumps.csv, label: state}
  pump_state: {type: model.softmax}
  sgd: {type: optimizer.sgd, learning_rate: 0.05}
  train: {type: job.train, model: pump_state, dataset: pumps, optimizer: sgd, epochs: 2,
          seed: 7, validation_fraction: 0.2, storage: store}
`;
export const SERVE = `${TRAIN}  web: {type: frontend.http, host: 127.0.0.1, port: 0}\n`;

// Not a speed check: only so a broken build fails instead of hanging.
export const HANG_LIMIT_MS = 120_000;

/** Trains pump_state once into a SQLite store (version 1, run 1), then runs a config that trains
 *  it again (version 2, run 2) and serves it with frontend.http on a free port. `train: false`
 *  skips the first training (for a `serve` config of its own). */
export class AimassServer {
  readonly dir: string;
  readonly log: string[] = [];
  url = "";
  private process: ChildProcess | undefined;

  private constructor() {
    this.dir = mkdtempSync(join(tmpdir(), "aimass-tsclient-"));
  }

  static async start(serve = SERVE, scheme = "http",
                     prepare?: (dir: string) => void, train = true): Promise<AimassServer> {
    const server = new AimassServer();
    try {
      prepare?.(server.dir);
      await server.run(serve, scheme, train);
    } catch (error) {
      await server.stop();
      throw error;
    }
    return server;
  }

  private async run(serve: string, scheme: string, train: boolean): Promise<void> {
    copyFileSync(join(SOURCE_DIR, "configs", "data", "pumps.csv"), join(this.dir, "pumps.csv"));
    writeFileSync(join(this.dir, "train.yaml"), TRAIN);
    writeFileSync(join(this.dir, "serve.yaml"), serve);
    const env = { ...process.env };
    delete env["AIMASS_PLUGIN_PATH"];
    try {
      if (train) {
        execFileSync(EXECUTABLE, ["run", "train.yaml"], {
          cwd: this.dir, env, timeout: HANG_LIMIT_MS, stdio: ["ignore", "ignore", "pipe"],
        });
      }
    } catch (error) {
      const stderr = (error as { stderr?: Buffer }).stderr?.toString() ?? String(error);
      throw new Error(`aimass run train.yaml failed: ${stderr}`);
    }
    const child = spawn(EXECUTABLE, ["run", "serve.yaml"], {
      cwd: this.dir, env, stdio: ["ignore", "ignore", "pipe"],
    });
    this.process = child;
    const marker = `serving ${scheme}://127.0.0.1:`;
    this.url = await new Promise<string>((resolveUrl, reject) => {
      let pending = "";
      const timer = setTimeout(() => reject(new Error(`aimass never served: ${this.log.join("")}`)),
                               HANG_LIMIT_MS);
      child.stderr!.setEncoding("utf8");
      child.stderr!.on("data", (chunk: string) => {
        pending += chunk;
        let end: number;
        while ((end = pending.indexOf("\n")) >= 0) {
          const line = pending.slice(0, end);
          pending = pending.slice(end + 1);
          this.log.push(`${line}\n`);
          if (line.startsWith(marker)) {
            clearTimeout(timer);
            resolveUrl(`${scheme}://127.0.0.1:${line.slice(marker.length).trim()}`);
          }
        }
      });
      child.on("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`aimass exited ${code} before serving: ${this.log.join("")}`));
      });
    });
  }

  /** SIGTERM, then waits; the exit code (null when it was never started or killed). */
  async stop(): Promise<number | null> {
    const child = this.process;
    let code: number | null = null;
    if (child !== undefined) {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise<number | null>((done) => child.once("exit", (c) => done(c)));
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), HANG_LIMIT_MS);
        code = await exited;
        clearTimeout(timer);
      } else {
        code = child.exitCode;
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
    return code;
  }
}

/** ca.crt, and server.crt/key (for IP 127.0.0.1) signed by it, made with the openssl command. */
export function makeCertificates(dir: string): void {
  const openssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
  openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
          "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=test ca");
  openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
          "server.key", "-out", "server.csr", "-subj", "/CN=server");
  writeFileSync(join(dir, "server.ext"), "subjectAltName=IP:127.0.0.1\n");
  openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
          "-CAcreateserial", "-out", "server.crt", "-days", "2", "-extfile", "server.ext");
}

/** What a LocalServer saw of one request. */
export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  body: Buffer;
  socket: number;  // which connection carried it (1, 2, ... in order of opening)
}

/** A node:http server on 127.0.0.1 whose answers `handle` writes; it records every request. */
export class LocalServer {
  readonly requests: SeenRequest[] = [];
  url = "";
  private readonly server: Server;

  private constructor(handle: (request: SeenRequest, response: ServerResponse) => void) {
    let sockets = 0;
    const ids = new WeakMap<object, number>();
    this.server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on("data", (chunk: Buffer) => chunks.push(chunk));
      request.on("end", () => {
        if (!ids.has(request.socket)) ids.set(request.socket, ++sockets);
        const seen: SeenRequest = {
          method: request.method ?? "", url: request.url ?? "", headers: request.headers,
          body: Buffer.concat(chunks), socket: ids.get(request.socket)!,
        };
        this.requests.push(seen);
        handle(seen, response);
      });
    });
  }

  static async start(handle: (request: SeenRequest, response: ServerResponse) => void):
      Promise<LocalServer> {
    const local = new LocalServer(handle);
    await new Promise<void>((done) => local.server.listen(0, "127.0.0.1", done));
    local.url = `http://127.0.0.1:${(local.server.address() as AddressInfo).port}`;
    return local;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((done) => this.server.close(() => done()));
  }
}

/** Writes a JSON answer after `delayMs`. */
export function answer(response: ServerResponse, status: number, body: unknown,
                       delayMs = 0): void {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  const write = () => {
    if (response.destroyed) return;
    response.writeHead(status, { "Content-Type": "application/json",
                                 "Content-Length": Buffer.byteLength(text) });
    response.end(text);
  };
  if (delayMs > 0) setTimeout(write, delayMs);
  else write();
}

/** Runs this node with `args` (and `env` over the environment); its exit code and output. */
export function runNode(args: string[], env: Record<string, string | undefined> = process.env):
    Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, args, { env, timeout: HANG_LIMIT_MS }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === "number" ? error.code : -1;
      done({ code, stdout, stderr });
    });
  });
}
