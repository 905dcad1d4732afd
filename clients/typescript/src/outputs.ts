// SPDX-License-Identifier: Apache-2.0
// Output tensors of an answer: binary tensor data or JSON "data" arrays into typed arrays.
// Pure functions, safe to call from anywhere.

import {
  type Datatype, type NumericArray, ELEMENT_SIZE, LITTLE_ENDIAN, arrayTypeOf, bfloatToFloat,
  halfToFloat, isDatatype,
} from "./datatypes.js";
import { AimassError } from "./errors.js";
import { elementCount } from "./tensors.js";

/** An output's data: a typed array for numeric datatypes (BOOL in a Uint8Array of 0 and 1,
 *  FP16 and BF16 widened to Float32Array, INT64 a BigInt64Array), flat and row-major; for BYTES
 *  an array of strings, or of Uint8Array when an element is not UTF-8. */
export type OutputData = NumericArray | string[] | Uint8Array[];

/** One output of an answer. `binary` says whether it came as binary tensor data. */
export interface InferOutput {
  name: string;
  datatype: Datatype;
  shape: number[];
  data: OutputData;
  parameters: Record<string, unknown>;
  binary: boolean;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

function bytesElements(raw: Uint8Array, where: string): string[] | Uint8Array[] {
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const items: Uint8Array[] = [];
  for (let at = 0; at < raw.length;) {
    if (at + 4 > raw.length) {
      throw new AimassError(null, `${where}: a BYTES length prefix runs past the data`);
    }
    const n = view.getUint32(at, true);
    at += 4;
    if (at + n > raw.length) {
      throw new AimassError(null, `${where}: a BYTES element of ${n} bytes runs past the data`);
    }
    items.push(raw.slice(at, at + n));
    at += n;
  }
  try {
    return items.map((item) => utf8.decode(item));
  } catch {
    return items;
  }
}

/** The typed array of binary data `raw` (its own copy, aligned). */
function numericFromBinary(raw: Uint8Array, datatype: Exclude<Datatype, "BYTES">,
                           where: string): NumericArray {
  const size = ELEMENT_SIZE[datatype];
  if (raw.length % size !== 0) {
    throw new AimassError(null, `${where}: ${raw.length} bytes are not whole ${datatype} elements`);
  }
  const count = raw.length / size;
  const Type = arrayTypeOf(datatype);
  if (datatype === "FP16" || datatype === "BF16") {
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const out = new Float32Array(count);
    const widen = datatype === "FP16" ? halfToFloat : bfloatToFloat;
    for (let i = 0; i < count; ++i) out[i] = widen(view.getUint16(2 * i, true));
    return out;
  }
  if (LITTLE_ENDIAN) return new Type(raw.slice().buffer, 0, count);
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const out = new Type(count);
  for (let i = 0; i < count; ++i) {
    const at = i * size;
    switch (datatype) {
      case "FP32": out[i] = view.getFloat32(at, true); break;
      case "FP64": out[i] = view.getFloat64(at, true); break;
      case "INT16": out[i] = view.getInt16(at, true); break;
      case "UINT16": out[i] = view.getUint16(at, true); break;
      case "INT32": out[i] = view.getInt32(at, true); break;
      case "UINT32": out[i] = view.getUint32(at, true); break;
      case "INT64": (out as BigInt64Array)[i] = view.getBigInt64(at, true); break;
      case "UINT64": (out as BigUint64Array)[i] = view.getBigUint64(at, true); break;
      default: out[i] = raw[at] as number; break;  // one byte each
    }
  }
  return out;
}

function flattenJson(data: unknown, out: unknown[]): void {
  if (Array.isArray(data)) for (const item of data) flattenJson(item, out);
  else out.push(data);
}

/** The typed array of a JSON "data" array (null is NaN; integers of INT64/UINT64 as bigint). */
function numericFromJson(values: unknown[], datatype: Exclude<Datatype, "BYTES">,
                         where: string): NumericArray {
  const Type = arrayTypeOf(datatype);
  const out = new Type(values.length);
  const wide = datatype === "INT64" || datatype === "UINT64";
  values.forEach((v, i) => {
    if (typeof v === "boolean") v = v ? 1 : 0;
    if (v === null) v = NaN;
    if (typeof v !== "number") {
      throw new AimassError(null, `${where}: element ${i} is not a number`);
    }
    if (wide) {
      if (!Number.isInteger(v)) throw new AimassError(null, `${where}: element ${i} is not an integer`);
      (out as BigInt64Array)[i] = BigInt(v);
    } else {
      (out as Float64Array)[i] = v;
    }
  });
  return out;
}

/** The outputs of an answer's JSON `header`, in its order; binary ones are read from `tail` in
 *  turn. Throws AimassError naming the output for data that do not fit. */
export function decodeOutputs(header: Record<string, unknown>, tail: Uint8Array): InferOutput[] {
  const entries = header["outputs"] ?? [];
  if (!Array.isArray(entries)) throw new AimassError(null, "the answer's \"outputs\" is not an array");
  const outputs: InferOutput[] = [];
  let at = 0;
  for (const entry of entries as Record<string, unknown>[]) {
    const name = String(entry["name"] ?? "");
    const where = `output '${name}'`;
    const datatype = String(entry["datatype"] ?? "");
    if (!isDatatype(datatype)) throw new AimassError(null, `${where}: unknown datatype '${datatype}'`);
    const shape = Array.isArray(entry["shape"]) ? (entry["shape"] as unknown[]).map(Number) : [];
    const parameters = { ...((entry["parameters"] as Record<string, unknown> | undefined) ?? {}) };
    const size = parameters["binary_data_size"];
    delete parameters["binary_data_size"];
    let data: OutputData;
    if (size !== undefined) {
      const n = Number(size);
      if (!Number.isInteger(n) || n < 0 || at + n > tail.length) {
        throw new AimassError(null, `${where}: binary_data_size ${String(size)} runs past the answer`);
      }
      const raw = tail.subarray(at, at + n);
      at += n;
      data = datatype === "BYTES" ? bytesElements(raw, where) : numericFromBinary(raw, datatype, where);
    } else {
      const values: unknown[] = [];
      flattenJson(entry["data"] ?? [], values);
      if (datatype === "BYTES") {
        if (!values.every((v) => typeof v === "string")) {
          throw new AimassError(null, `${where}: a BYTES element is not a string`);
        }
        data = values as string[];
      } else {
        data = numericFromJson(values, datatype, where);
      }
    }
    if (data.length !== elementCount(shape)) {
      throw new AimassError(null, `${where}: shape [${shape.join(", ")}] needs ` +
                            `${elementCount(shape)} elements, the answer has ${data.length}`);
    }
    outputs.push({ name, datatype, shape, data, parameters, binary: size !== undefined });
  }
  return outputs;
}
