// SPDX-License-Identifier: Apache-2.0
// The client against a real `aimass run` (AIMASS_EXECUTABLE): pump_state, a softmax classifier
// of 4 FP32 features into 3 classes, trained twice into a SQLite store (versions 1 and 2, runs 1
// and 2, dataset pumps) and served by frontend.http.

import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";

import { Client, type InferResult } from "@aimass/client";

import { rejection } from "./rejection.js";
import { AimassServer, PACKAGE_DIR, runNode } from "./servers.js";

const ROWS = [[-1.76, -0.42, 1.65, -3.06], [2.31, -0.67, -0.05, 1.19]];  // pumps.csv rows 1, 2
const CLASSES = ["failing", "healthy", "worn"];

/** Each row's probabilities sum to 1, label is their argmax, class its name. */
function checkAnswer(result: InferResult, rows = 2): void {
  const p = result.data("probabilities") as Float32Array;
  const label = result.data("label") as BigInt64Array;
  const names = result.data("class") as string[];
  assert.ok(p instanceof Float32Array);
  assert.ok(label instanceof BigInt64Array);
  assert.deepEqual(result.output("probabilities").shape, [rows, 3]);
  for (let r = 0; r < rows; ++r) {
    const row = Array.from(p.subarray(3 * r, 3 * r + 3));
    assert.ok(Math.abs(row.reduce((a, b) => a + b, 0) - 1) < 1e-5);
    assert.equal(Number(label[r]), row.indexOf(Math.max(...row)));
    assert.equal(names[r], CLASSES[Number(label[r])]);
  }
}

describe("a live aimass", () => {
  let server: AimassServer;
  let client: Client;
  before(async () => {
    server = await AimassServer.start();
    client = new Client(server.url);
  });
  after(async () => {
    const code = await server.stop();
    assert.equal(code, 0, `aimass exited ${code}: ${server.log.join("")}`);
  });

  test("health and metadata", async () => {
    assert.equal(await client.live(), true);
    assert.equal(await client.ready(), true);
    assert.equal(await client.modelReady("pump_state"), true);
    assert.equal(await client.modelReady("nope"), false);
    assert.ok((await client.serverMetadata()).extensions.includes("binary_tensor_data"));
    const meta = await client.modelMetadata("pump_state");
    assert.deepEqual(meta.inputs, [{ name: "input", datatype: "FP32", shape: [-1, 4] }]);
    assert.deepEqual(meta.parameters?.["class_names"], CLASSES);
  });

  test("binary and JSON inference agree value for value", async () => {
    const binary = await client.infer("pump_state", { input: ROWS }, { requestId: "b1" });
    assert.equal(binary.id, "b1");
    assert.equal(binary.modelName, "pump_state");
    assert.deepEqual(binary.outputs.map((o) => o.binary), [true, true, true]);
    checkAnswer(binary);
    const plain = await client.infer("pump_state", { input: ROWS }, { binary: false });
    assert.equal(plain.id, null);
    assert.deepEqual(plain.outputs.map((o) => o.binary), [false, false, false]);
    for (const name of ["probabilities", "label", "class"]) {
      assert.deepEqual(plain.data(name), binary.data(name), name);
    }
    // A flat Float32Array takes its rows from the model's shape [-1, 4].
    const flat = await client.infer("pump_state", { input: new Float32Array(ROWS.flat()) });
    assert.deepEqual(flat.data("probabilities"), binary.data("probabilities"));
  });

  test("outputs selection and order", async () => {
    for (const binary of [true, false]) {
      const result = await client.infer("pump_state", { input: [ROWS[0]!] },
                                        { outputs: ["class", "label"], binary });
      assert.deepEqual(result.outputs.map((o) => o.name), ["class", "label"]);
      assert.equal(result.output("label").binary, binary);
      assert.deepEqual(result.output("label").shape, [1]);
    }
  });

  test("an integer tensor converts exactly; a model version is asked by number", async () => {
    const result = await client.infer("pump_state",
                                      [{ name: "input", data: new Int32Array([1, 0, -2, 3]), shape: [1, 4] }]);
    assert.equal(result.data("label").length, 1);
    const first = await client.infer("pump_state", { input: ROWS }, { version: 1 });
    assert.equal(first.modelVersion, "1");
    checkAnswer(first);
  });

  test("errors carry the server's status and message", async () => {
    let error = await rejection(client.infer("nope", [{ name: "input", data: new Float32Array(4) }]));
    assert.equal(error.status, 404);
    assert.equal(error.message, "unknown model 'nope'");
    assert.deepEqual(error.body, { error: "unknown model 'nope'" });
    error = await rejection(client.infer("pump_state",
                                         [{ name: "input", data: new Float32Array(3), shape: [1, 3] }]));
    assert.equal(error.status, 400);
    assert.match(error.message, /input/);
    error = await rejection(client.getRun(999));
    assert.equal(error.status, 404);
    error = await rejection(client.infer("nope", { input: ROWS }));  // its metadata is the 404
    assert.equal(error.status, 404);
  });

  test("registry, dataset and run reads", async () => {
    const models = await client.listModels();
    assert.deepEqual(models.map((m) => [m.model, m.versions, m.latest]), [["pump_state", 2, 2]]);
    const model = await client.getModel("pump_state");
    assert.deepEqual(model.versions.map((v) => v.version), [1, 2]);
    const version = await client.getModelVersion("pump_state", 1);
    assert.deepEqual([version.model, version.version, version.type], ["pump_state", 1, "model.softmax"]);
    assert.equal(version.sha256.length, 64);
    assert.ok("val_accuracy" in version.metrics);
    const datasets = await client.listDatasets();
    assert.deepEqual(datasets.map((d) => [d.name, d.latest.rows]), [["pumps", 300]]);
    assert.deepEqual((await client.getDataset("pumps")).versions.map((v) => v.version), [1]);
    const runs = await client.listRuns();
    assert.deepEqual([runs.matched, runs.runs.map((r) => r.id).sort()], [2, [1, 2]]);
    const last = await client.listRuns({ limit: 1, sort: "id", desc: true });
    assert.deepEqual(last.runs.map((r) => r.id), [2]);
    const second = await client.listRuns({ limit: 1, offset: 1 });  // newest first: 2, then 1
    assert.deepEqual([second.matched, second.runs.map((r) => r.id)], [2, [1]]);
    const run = await client.getRun(1);
    assert.deepEqual([run.id, run.status, run.params["epochs"]], [1, "finished", "2"]);
    assert.deepEqual(Object.keys(run.metrics["val_accuracy"]!).sort(),
                     ["last", "last_step", "max", "min", "points"]);
    const accuracy = await client.getRunMetric(1, "val_accuracy");
    assert.deepEqual([accuracy.run, accuracy.total, accuracy.more], [1, 2, false]);
    assert.deepEqual(accuracy.points.map((p) => p.step), [1, 2]);
    assert.equal(accuracy.points.at(-1)!.value, run.metrics["val_accuracy"]!.last);
    const later = await client.getRunMetric(1, "val_accuracy", { afterStep: 1, limit: 1 });
    assert.deepEqual(later.points.map((p) => p.step), [2]);
  });

  test("promote, rollback and tags", async () => {
    const first = await client.promote("pump_state", "champion", 1);
    assert.deepEqual([first.alias, first.version], ["champion", 1]);
    const second = await client.promote("pump_state", "champion", 2);
    assert.deepEqual([second.version, second.history.at(-1)], [2, 1]);
    assert.deepEqual((await client.getModel("pump_state")).aliases, { champion: 2 });
    assert.equal((await client.rollback("pump_state", "champion")).version, 1);
    let tagged = await client.tag("pump_state", 2, { set: { stage: "qa", owner: "ops" } });
    assert.deepEqual(tagged.tags, { stage: "qa", owner: "ops" });
    tagged = await client.tag("pump_state", 2, { remove: ["owner"] });
    assert.deepEqual(tagged.tags, { stage: "qa" });
    assert.deepEqual((await client.setTags("pump_state", 2, { a: "b" })).tags, { a: "b" });
    const error = await rejection(client.promote("pump_state", "champion", 9));
    assert.equal(error.status, 404);
  });

  test("concurrent calls on one client", async () => {
    const answers = await Promise.all([0, 1, 2, 3].map(
        (i) => client.infer("pump_state", { input: ROWS }, { requestId: String(i) })));
    assert.deepEqual(answers.map((a) => a.id), ["0", "1", "2", "3"]);
    for (const a of answers) {
      assert.deepEqual(a.data("label"), answers[0]!.data("label"));
      checkAnswer(a);
    }
  });

  test("the quickstart example", async () => {
    const example = join(PACKAGE_DIR, "dist-test", "examples", "quickstart.js");
    const ok = await runNode([example, "--url", server.url, "--model", "pump_state"]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /^pump_state version \d+ \(request quickstart\):\n/);
    assert.match(ok.stdout, /\n {2}probabilities FP32 \[1, 3\]: \[[-0-9.e]+, [-0-9.e]+, [-0-9.e]+\]\n/);
    assert.match(ok.stdout, /\n {2}class BYTES \[1\]: \[(failing|healthy|worn)\]\n/);
    const failed = await runNode([example, "--url", server.url, "--model", "nope"]);
    assert.equal(failed.code, 1);
    // One line (Node 18 may write an ExperimentalWarning about fetch before it).
    assert.match(failed.stderr, /^error: AimassError: GET \/v2\/models\/nope: HTTP 404: unknown model 'nope'$/m);
  });
});
