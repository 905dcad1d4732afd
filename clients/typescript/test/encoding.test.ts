// SPDX-License-Identifier: Apache-2.0
// Encoding and decoding checked against hand-written bytes; no server.

import assert from "node:assert/strict";
import { describe, test } from "node:test";

import {
  AimassError, type JobState, type JobSubmission, type Tensor, decodeInferResponse,
  encodeInferRequest, flatTensor, floatToBfloat, floatToHalf, halfToFloat, jobEnded, jobRequest,
} from "@aimass/client";

const text = new TextDecoder();

function bytes(...values: number[]): Uint8Array {
  return new Uint8Array(values);
}

/** The JSON header and the binary tail of an encoded request. */
function split(encoded: { body: Uint8Array; headers: Record<string, string> }) {
  const n = Number(encoded.headers["Inference-Header-Content-Length"] ?? encoded.body.length);
  return { header: JSON.parse(text.decode(encoded.body.subarray(0, n))), tail: encoded.body.subarray(n) };
}

function rejects(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof AimassError, `not an AimassError: ${String(error)}`);
    assert.equal(error.status, null);
    assert.match(error.message, pattern);
    return true;
  });
}

describe("requests", () => {
  test("a binary FP32 request is the documented bytes", () => {
    // docs/rest-api.md's example: FP32 [1, 2] of 5.1 and 3.5, 8 bytes after the JSON header.
    const encoded = encodeInferRequest([{ name: "input", data: new Float32Array([5.1, 3.5]), shape: [1, 2] }]);
    assert.equal(encoded.headers["Content-Type"], "application/octet-stream");
    const { header, tail } = split(encoded);
    assert.deepEqual(header, {
      inputs: [{ name: "input", datatype: "FP32", shape: [1, 2], parameters: { binary_data_size: 8 } }],
      parameters: { binary_data_output: true },
    });
    assert.deepEqual(tail, bytes(0x33, 0x33, 0xa3, 0x40, 0x00, 0x00, 0x60, 0x40));
  });

  test("a JSON request with BYTES, outputs and an id", () => {
    const encoded = encodeInferRequest(
        [{ name: "text", data: ["a", new TextEncoder().encode("b")] },
         { name: "n", data: [1, 2], datatype: "INT32" }],
        { outputs: ["class"], requestId: "r7", binary: false, parameters: { top_k: 2 } });
    assert.equal(encoded.headers["Inference-Header-Content-Length"], undefined);
    assert.equal(encoded.headers["Content-Type"], "application/json");
    assert.deepEqual(JSON.parse(text.decode(encoded.body)), {
      id: "r7",
      inputs: [{ name: "text", datatype: "BYTES", shape: [2], data: ["a", "b"] },
               { name: "n", datatype: "INT32", shape: [2], data: [1, 2] }],
      outputs: [{ name: "class", parameters: { binary_data: false } }],
      parameters: { top_k: 2 },
    });
  });

  test("binary requests keep BYTES as JSON and ask each selected output in binary", () => {
    const { header, tail } = split(encodeInferRequest(
        [{ name: "t", data: ["x"] }, { name: "i", data: new BigInt64Array([-2n]) },
         { name: "b", data: [true, false] }],
        { outputs: ["o"] }));
    assert.deepEqual(header.inputs, [
      { name: "t", datatype: "BYTES", shape: [1], data: ["x"] },
      { name: "i", datatype: "INT64", shape: [1], parameters: { binary_data_size: 8 } },
      { name: "b", datatype: "BOOL", shape: [2], parameters: { binary_data_size: 2 } }]);
    assert.deepEqual(header.outputs, [{ name: "o", parameters: { binary_data: true } }]);
    assert.equal(header.parameters, undefined);
    assert.deepEqual(tail, bytes(0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 0));
  });

  test("values convert to the datatype asked for, little-endian", () => {
    const cases: [Tensor, Uint8Array][] = [
      [{ name: "x", data: [1, -2], datatype: "INT16" }, bytes(1, 0, 0xfe, 0xff)],
      [{ name: "x", data: new Float64Array([1.5]), datatype: "FP32" }, bytes(0, 0, 0xc0, 0x3f)],
      [{ name: "x", data: [2n ** 40n], datatype: "UINT64" }, bytes(0, 0, 0, 0, 0, 1, 0, 0)],
      [{ name: "x", data: [1.5, 65504], datatype: "FP16" }, bytes(0x00, 0x3e, 0xff, 0x7b)],
      [{ name: "x", data: [1.5], datatype: "BF16" }, bytes(0xc0, 0x3f)],
      [{ name: "x", data: new Uint8Array([1, 0]), datatype: "BOOL" }, bytes(1, 0)],
      [{ name: "x", data: [0.25], datatype: "FP64" }, bytes(0, 0, 0, 0, 0, 0, 0xd0, 0x3f)],
    ];
    for (const [tensor, expected] of cases) {
      assert.deepEqual(split(encodeInferRequest([tensor])).tail, expected, tensor.datatype);
    }
  });

  test("JSON carries NaN as null and refuses what it cannot carry", () => {
    const { header } = split(encodeInferRequest([{ name: "x", data: [1.5, NaN], datatype: "FP32" }],
                                                { binary: false }));
    assert.deepEqual(header.inputs[0].data, [1.5, null]);
    rejects(() => encodeInferRequest([{ name: "x", data: ["a", bytes(0xff)] }], { binary: false }),
            /^input 'x': BYTES element 1 is not UTF-8/);
    rejects(() => encodeInferRequest([{ name: "x", data: [Infinity], datatype: "FP32" }], { binary: false }),
            /input 'x': element 0 is infinite/);
    rejects(() => encodeInferRequest([{ name: "x", data: [2n ** 60n] }], { binary: false }),
            /input 'x': element 0 \(1152921504606846976\) is past 2\^53/);
    // Binary data carries both.
    assert.equal(split(encodeInferRequest([{ name: "x", data: [2n ** 60n] }])).tail.length, 8);
  });

  test("datatypes and shapes follow the data", () => {
    const shapeOf = (data: Tensor["data"]) => {
      const t = flatTensor({ name: "x", data });
      return [t.datatype, t.shape];
    };
    assert.deepEqual(shapeOf([[1, 2], [3, 4]]), ["INT64", [2, 2]]);
    assert.deepEqual(shapeOf([1.5, 2]), ["FP32", [2]]);
    assert.deepEqual(shapeOf([true, false]), ["BOOL", [2]]);
    assert.deepEqual(shapeOf(["a"]), ["BYTES", [1]]);
    assert.deepEqual(shapeOf([new Float32Array([1, 2, 3]), new Float32Array([4, 5, 6])]), ["FP32", [2, 3]]);
    assert.deepEqual(shapeOf([new Uint8Array([1]), new Uint8Array([2])]), ["BYTES", [2]]);
    assert.deepEqual(shapeOf(new Int32Array(6)), ["INT32", [6]]);
    // A model's declared shape with one -1 gives flat data its rows.
    assert.deepEqual(flatTensor({ name: "x", data: new Float32Array(8) }, [-1, 4]).shape, [2, 4]);
    assert.deepEqual(flatTensor({ name: "x", data: new Float32Array(7) }, [-1, 4]).shape, [7]);
  });

  test("bad inputs are refused, naming the input", () => {
    rejects(() => flatTensor({ name: "x", data: [[1, 2], [3]] }), /^input 'x': ragged nested array/);
    rejects(() => flatTensor({ name: "x", data: [1, [2]] }), /^input 'x': ragged nested array/);
    rejects(() => flatTensor({ name: "x", data: [[1], 2] }), /^input 'x': ragged nested array/);
    rejects(() => flatTensor({ name: "x", data: [1, 2], shape: [3] }),
            /^input 'x': shape \[3\] needs 3 elements, the data has 2$/);
    rejects(() => flatTensor({ name: "x", data: [1], datatype: "FP8" as "FP32" }),
            /^input 'x': unknown datatype 'FP8'$/);
    rejects(() => encodeInferRequest([{ name: "x", data: [300], datatype: "INT8" }]),
            /^input 'x': element 0 \(300\) is out of INT8's range$/);
    rejects(() => encodeInferRequest([{ name: "x", data: [1.5], datatype: "INT32" }]),
            /^input 'x': element 0 \(1.5\) is not INT32$/);
    rejects(() => encodeInferRequest([{ name: "x", data: ["a"], datatype: "FP32" }]),
            /^input 'x': element 0 is not a number/);
  });

  test("half and bfloat conversions round to nearest even", () => {
    assert.equal(floatToHalf(1), 0x3c00);
    assert.equal(floatToHalf(-2), 0xc000);
    assert.equal(floatToHalf(1e6), 0x7c00);              // overflow: infinity
    assert.equal(floatToHalf(2 ** -24), 0x0001);         // the smallest subnormal
    assert.equal(floatToHalf(1 + 2 ** -11), 0x3c00);     // a tie goes to the even mantissa
    assert.equal(halfToFloat(0x3555), 0.333251953125);
    assert.ok(Number.isNaN(halfToFloat(floatToHalf(NaN))));
    assert.equal(floatToBfloat(1 + 2 ** -8), 0x3f80);    // a tie goes to even
    assert.equal(floatToBfloat(1 + 3 * 2 ** -9), 0x3f81);
  });
});

describe("answers", () => {
  function binaryAnswer(header: unknown, tail: Uint8Array) {
    const head = new TextEncoder().encode(JSON.stringify(header));
    const body = new Uint8Array(head.length + tail.length);
    body.set(head);
    body.set(tail, head.length);
    return decodeInferResponse(body, head.length);
  }

  test("a binary answer decodes every kind", () => {
    const result = binaryAnswer({
      model_name: "m", model_version: "2", id: "q", outputs: [
        { name: "a", datatype: "INT32", shape: [2], parameters: { binary_data_size: 8 } },
        { name: "b", datatype: "BYTES", shape: [2], parameters: { binary_data_size: 10 } },
        { name: "c", datatype: "FP64", shape: [1], data: [0.25] },
        { name: "d", datatype: "BF16", shape: [1], parameters: { binary_data_size: 2 } },
        { name: "e", datatype: "BOOL", shape: [2], parameters: { binary_data_size: 2 } },
        { name: "f", datatype: "INT64", shape: [1], parameters: { binary_data_size: 8 } },
        { name: "g", datatype: "FP16", shape: [1], parameters: { binary_data_size: 2 } },
        { name: "h", datatype: "BYTES", shape: [1], parameters: { binary_data_size: 5 } }]},
      bytes(0xfd, 0xff, 0xff, 0xff, 7, 0, 0, 0,
            2, 0, 0, 0, 0x68, 0x69, 0, 0, 0, 0,      // "hi", ""
            0xc0, 0x3f, 1, 0,
            0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
            0x00, 0x3e,
            1, 0, 0, 0, 0xff));                      // not UTF-8: bytes
    assert.deepEqual([result.modelName, result.modelVersion, result.id], ["m", "2", "q"]);
    assert.deepEqual(result.data("a"), new Int32Array([-3, 7]));
    assert.deepEqual(result.data("b"), ["hi", ""]);
    assert.deepEqual(result.data("c"), new Float64Array([0.25]));
    assert.deepEqual(result.data("d"), new Float32Array([1.5]));
    assert.deepEqual(result.data("e"), new Uint8Array([1, 0]));
    assert.deepEqual(result.data("f"), new BigInt64Array([-2n]));
    assert.deepEqual(result.data("g"), new Float32Array([1.5]));
    assert.deepEqual(result.data("h"), [bytes(0xff)]);
    assert.deepEqual(result.outputs.map((o) => o.binary), [true, true, false, true, true, true, true, true]);
    assert.deepEqual(result.output("a").parameters, {});
    assert.throws(() => result.data("z"), /no output 'z' in the answer \(it has 'a', 'b'/);
  });

  test("a JSON answer gives the same typed arrays", () => {
    const body = new TextEncoder().encode(JSON.stringify({
      model_name: "m", outputs: [
        { name: "p", datatype: "FP32", shape: [1, 2], data: [[0.1, null]] },
        { name: "l", datatype: "INT64", shape: [1], data: [2] },
        { name: "c", datatype: "BYTES", shape: [1], data: ["worn"] },
        { name: "b", datatype: "BOOL", shape: [1], data: [true] }]}));
    const result = decodeInferResponse(body);
    assert.equal(result.id, null);
    const p = result.data("p") as Float32Array;
    assert.ok(p instanceof Float32Array);
    assert.equal(p[0], Math.fround(0.1));
    assert.ok(Number.isNaN(p[1]));
    assert.deepEqual(result.data("l"), new BigInt64Array([2n]));
    assert.deepEqual(result.data("c"), ["worn"]);
    assert.deepEqual(result.data("b"), new Uint8Array([1]));
    assert.equal(result.output("p").binary, false);
  });

  test("answers that do not hold together are errors", () => {
    const truncated = { outputs: [{ name: "a", datatype: "FP32", shape: [2], parameters: { binary_data_size: 8 } }] };
    rejects(() => binaryAnswer(truncated, new Uint8Array(4)),
            /^output 'a': binary_data_size 8 runs past the answer$/);
    rejects(() => binaryAnswer({ outputs: [{ name: "a", datatype: "FP32", shape: [3], data: [1] }] },
                               new Uint8Array(0)),
            /^output 'a': shape \[3\] needs 3 elements, the answer has 1$/);
    rejects(() => binaryAnswer({ outputs: [{ name: "a", datatype: "X", shape: [] }] }, new Uint8Array(0)),
            /^output 'a': unknown datatype 'X'$/);
    rejects(() => binaryAnswer({ outputs: [{ name: "s", datatype: "BYTES", shape: [1],
                                             parameters: { binary_data_size: 3 } }] }, bytes(1, 0, 0)),
            /^output 's': a BYTES length prefix runs past the data$/);
    rejects(() => decodeInferResponse(bytes(0x7b), 5), /Inference-Header-Content-Length 5 is past the 1-byte body/);
    rejects(() => decodeInferResponse(new TextEncoder().encode("[1]")), /not a JSON object/);
    rejects(() => decodeInferResponse(new TextEncoder().encode("{x")), /JSON header does not parse/);
  });
});

describe("job requests", () => {
  test("only the options given are sent", () => {
    assert.deepEqual(jobRequest("nodes: {}\n", { queue: "a", memory: 512, preemptible: false }),
                     { config: "nodes: {}\n", queue: "a", memory: 512, preemptible: false });
    assert.deepEqual(jobRequest("x", { memory: "1GiB", priority: -2 }),
                     { config: "x", memory: "1GiB", priority: -2 });
    assert.deepEqual(jobRequest("x", { ranks: 2 }), { config: "x", ranks: 2 });
  });

  test("options of the wrong type are refused, naming them", () => {
    const bad: Record<string, unknown>[] = [
      { priority: 1.5 }, { memory: true }, { queue: 3 }, { gpus: "1" }, { preemptible: 1 },
      { ranks: "2" },
    ];
    for (const options of bad) {
      rejects(() => jobRequest("x", options as JobSubmission), new RegExp(Object.keys(options)[0]!));
    }
    rejects(() => jobRequest(3 as unknown as string), /config must be the graph's YAML text/);
  });

  test("jobEnded", () => {
    assert.deepEqual(["queued", "running", "succeeded", "failed", "cancelled"]
                         .map((state) => jobEnded({ state: state as JobState })),
                     [false, false, true, true, true]);
  });
});
