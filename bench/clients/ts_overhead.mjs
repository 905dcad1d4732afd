// SPDX-License-Identifier: Apache-2.0
// Per-request client overhead of @aimass/client on the W6 request, with no network: the time to
// encode the request (one FP32 [1, 784] input named "input", binary tensor data) and to decode a
// fixed binary answer ("class" BYTES [1], "probabilities" FP32 [1, 10]), each averaged over N
// runs after a warm-up. Prints one JSON line.
//
//   (cd clients/typescript && npm run build)
//   node bench/clients/ts_overhead.mjs [--iterations N]     # default 20000

import { decodeInferResponse, encodeInferRequest } from "../../clients/typescript/dist/index.js";

function iterationsOf(argv) {
  const at = argv.indexOf("--iterations");
  const n = at >= 0 ? Number(argv[at + 1]) : 20000;
  if (!Number.isInteger(n) || n < 1) throw new Error(`--iterations must be a positive integer`);
  return n;
}

/** The W6 answer's bytes: its JSON header, then "Trouser" length-prefixed, then 10 FP32s. */
function w6Answer() {
  const probabilities = new Float32Array(10).fill(0.01);
  probabilities[1] = 0.91;
  const label = new TextEncoder().encode("Trouser");
  const header = new TextEncoder().encode(JSON.stringify({
    model_name: "fashion", model_version: "1", outputs: [
      { name: "class", datatype: "BYTES", shape: [1], parameters: { binary_data_size: 4 + label.length } },
      { name: "probabilities", datatype: "FP32", shape: [1, 10], parameters: { binary_data_size: 40 } }],
  }));
  const body = new Uint8Array(header.length + 4 + label.length + 40);
  const view = new DataView(body.buffer);
  body.set(header);
  view.setUint32(header.length, label.length, true);
  body.set(label, header.length + 4);
  body.set(new Uint8Array(probabilities.buffer), header.length + 4 + label.length);
  return { body, headerLength: header.length };
}

function timeUs(n, run) {
  for (let i = 0; i < Math.min(n, 1000); ++i) run();  // warm-up: let the JIT settle
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; ++i) run();
  return Number(process.hrtime.bigint() - start) / 1000 / n;
}

const iterations = iterationsOf(process.argv);
const image = new Float32Array(784).map((_, i) => (i % 255) / 255);
const inputs = [{ name: "input", datatype: "FP32", shape: [1, 784], data: image }];
const answer = w6Answer();

// Check once that both do what is timed.
const request = encodeInferRequest(inputs);
const headerLength = Number(request.headers["Inference-Header-Content-Length"]);
if (request.body.length !== headerLength + 3136) throw new Error("the request is not 3136 bytes of tensor data");
const decoded = decodeInferResponse(answer.body, answer.headerLength);
if (decoded.data("class")[0] !== "Trouser" || decoded.data("probabilities").length !== 10) {
  throw new Error("the answer did not decode");
}

const encodeUs = timeUs(iterations, () => encodeInferRequest(inputs));
const decodeUs = timeUs(iterations, () => decodeInferResponse(answer.body, answer.headerLength));
console.log(JSON.stringify({
  client: "typescript", encode_us: Number(encodeUs.toFixed(3)), decode_us: Number(decodeUs.toFixed(3)),
  iterations,
}));
