// SPDX-License-Identifier: Apache-2.0
// Infer requests and answers as bytes: OIP v2 JSON and the binary tensor data extension. No I/O:
// the Client sends what these build; benchmarks and tests call them directly. Pure functions.

import { AimassError } from "./errors.js";
import { type InferOutput, type OutputData, decodeOutputs } from "./outputs.js";
import { type FlatTensor, type Tensor, binaryData, flatTensor, jsonData } from "./tensors.js";

/** How an infer request is encoded. */
export interface EncodeOptions {
  /** Which outputs to return, in this order (default: all of the model's). */
  outputs?: readonly string[];
  /** Sent as the request's "id"; the answer echoes it. */
  requestId?: string;
  /** Request parameters the model reads (top_k, ...). */
  parameters?: Readonly<Record<string, unknown>>;
  /** Numeric inputs as binary tensor data, and outputs asked for in binary (default true);
   *  false: plain JSON both ways. BYTES inputs always travel as JSON strings. */
  binary?: boolean;
}

/** A request body and the headers that go with it. */
export interface EncodedRequest {
  body: Uint8Array;
  headers: Record<string, string>;
}

const encoder = new TextEncoder();

/** The body and headers of an infer request carrying `inputs` (flatTensor() settles each).
 *  Throws AimassError naming the input for data the datatype or JSON cannot carry. */
export function encodeInferRequest(inputs: readonly (Tensor | FlatTensor)[],
                                   options: EncodeOptions = {}): EncodedRequest {
  const binary = options.binary ?? true;
  const header: Record<string, unknown> = {};
  if (options.requestId !== undefined) header["id"] = String(options.requestId);
  const tails: Uint8Array[] = [];
  header["inputs"] = inputs.map((input) => {
    const tensor = flatTensor(input);
    const entry: Record<string, unknown> = {
      name: tensor.name, datatype: tensor.datatype, shape: tensor.shape,
    };
    if (binary && tensor.datatype !== "BYTES") {
      const raw = binaryData(tensor);
      entry["parameters"] = { binary_data_size: raw.length };
      tails.push(raw);
    } else {
      entry["data"] = jsonData(tensor);
    }
    return entry;
  });
  if (options.outputs !== undefined) {
    header["outputs"] = options.outputs.map((name) => ({ name, parameters: { binary_data: binary } }));
  }
  const parameters: Record<string, unknown> = { ...(options.parameters ?? {}) };
  if (binary && options.outputs === undefined) parameters["binary_data_output"] = true;
  if (Object.keys(parameters).length > 0) header["parameters"] = parameters;
  const head = encoder.encode(JSON.stringify(header));
  if (tails.length === 0) return { body: head, headers: { "Content-Type": "application/json" } };
  const body = new Uint8Array(head.length + tails.reduce((n, t) => n + t.length, 0));
  body.set(head, 0);
  let at = head.length;
  for (const tail of tails) {
    body.set(tail, at);
    at += tail.length;
  }
  return {
    body,
    headers: {
      "Content-Type": "application/octet-stream",
      "Inference-Header-Content-Length": String(head.length),
    },
  };
}

/** An inference answer: its outputs in the answer's order. */
export class InferResult {
  constructor(readonly modelName: string, readonly modelVersion: string,
              readonly id: string | null, readonly outputs: readonly InferOutput[],
              readonly parameters: Readonly<Record<string, unknown>>) {}

  /** Output `name`; throws AimassError naming the outputs the answer has. */
  output(name: string): InferOutput {
    const found = this.outputs.find((o) => o.name === name);
    if (found === undefined) {
      const names = this.outputs.map((o) => `'${o.name}'`).join(", ");
      throw new AimassError(null, `no output '${name}' in the answer (it has ${names || "none"})`);
    }
    return found;
  }

  /** The data of output `name` (see output()). */
  data(name: string): OutputData {
    return this.output(name).data;
  }
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** The InferResult of an answer's body. `headerLength` is its Inference-Header-Content-Length
 *  (null or undefined: the body is plain JSON). Throws AimassError for a body that is not one. */
export function decodeInferResponse(body: Uint8Array, headerLength?: number | null): InferResult {
  const length = headerLength ?? body.length;
  if (!Number.isInteger(length) || length < 0 || length > body.length) {
    throw new AimassError(null, `Inference-Header-Content-Length ${String(headerLength)} is past ` +
                          `the ${body.length}-byte body`);
  }
  let header: unknown;
  try {
    header = JSON.parse(utf8.decode(body.subarray(0, length)));
  } catch (error) {
    throw new AimassError(null, `the answer's JSON header does not parse: ${String(error)}`);
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) {
    throw new AimassError(null, "the answer is not a JSON object");
  }
  const h = header as Record<string, unknown>;
  const id = h["id"];
  return new InferResult(String(h["model_name"] ?? ""), String(h["model_version"] ?? ""),
                         id === undefined || id === null ? null : String(id),
                         decodeOutputs(h, body.subarray(length)),
                         { ...((h["parameters"] as Record<string, unknown> | undefined) ?? {}) });
}
