// SPDX-License-Identifier: Apache-2.0
// Input tensors: their datatype and shape, and their encoding as binary tensor data (little-
// endian, row-major) or as a JSON "data" array. Pure functions, safe to call from anywhere.

import {
  type Datatype, type NumericArray, ELEMENT_SIZE, LITTLE_ENDIAN, datatypeOfArray,
  floatToBfloat, floatToHalf, isDatatype, isNumericArray,
} from "./datatypes.js";
import { AimassError } from "./errors.js";

/** One element of a plain array: numbers, bigints or booleans for numeric datatypes, strings
 *  or byte arrays (Uint8Array) for BYTES. */
export type Element = number | bigint | boolean | string | Uint8Array;

/** Nested plain arrays (rows of rows), or typed arrays at the innermost level (their datatype
 *  is then the tensor's). A Uint8Array inside an array is one BYTES element, not a row. */
export interface NestedArray extends ReadonlyArray<Element | NumericArray | NestedArray> {}

/** A tensor's data: a typed array (flat, row-major), or plain arrays, nested or flat. */
export type TensorData = NumericArray | NestedArray;

/**
 * A named input. `datatype` defaults to the typed array's own (Float32Array: FP32,
 * BigInt64Array: INT64, Uint8Array: UINT8...) or, for plain arrays, BYTES for strings, BOOL for
 * booleans, INT64 for integers and bigints, FP32 otherwise. `shape` defaults to the nesting of
 * plain arrays, or [length] for a flat typed array.
 */
export interface Tensor {
  name: string;
  data: TensorData;
  datatype?: Datatype;
  shape?: readonly number[];
}

/** A tensor with its datatype and shape settled and its data flat. */
export interface FlatTensor {
  name: string;
  datatype: Datatype;
  shape: number[];
  data: NumericArray | readonly Element[];
}

/** Appends the elements of `data` to `out` and its dimensions to `shape`; the datatypes of typed
 *  arrays met as rows go to `rowTypes`. A Uint8Array inside an array is a BYTES element. */
function flatten(data: NestedArray, shape: number[], depth: number, out: Element[],
                 where: string, rowTypes: Set<Datatype>): void {
  if (depth === shape.length) {
    // A new innermost dimension after elements were taken: arrays beside scalars.
    if (out.length > 0) {
      throw new AimassError(null, `${where}: ragged nested array (an array beside scalars at ` +
                            `depth ${depth})`);
    }
    shape.push(data.length);
  } else if (shape[depth] !== data.length) {
    throw new AimassError(null, `${where}: ragged nested array (an array of ${data.length} ` +
                          `where ${shape[depth]} were expected at depth ${depth})`);
  }
  for (const item of data) {
    if (isNumericArray(item) && !(item instanceof Uint8Array)) {
      rowTypes.add(datatypeOfArray(item));
      flatten(Array.from(item as ArrayLike<number | bigint>), shape, depth + 1, out, where, rowTypes);
    } else if (Array.isArray(item)) {
      flatten(item as NestedArray, shape, depth + 1, out, where, rowTypes);
    } else {
      if (depth + 1 !== shape.length) {
        throw new AimassError(null, `${where}: ragged nested array (a scalar at depth ${depth + 1})`);
      }
      out.push(item as Element);
    }
  }
}

function guessDatatype(values: readonly Element[]): Datatype {
  if (values.length === 0) return "FP32";
  if (values.every((v) => typeof v === "string" || v instanceof Uint8Array)) return "BYTES";
  if (values.every((v) => typeof v === "boolean")) return "BOOL";
  if (values.every((v) => typeof v === "bigint" || Number.isInteger(v))) return "INT64";
  return "FP32";
}

export function elementCount(shape: readonly number[]): number {
  return shape.reduce((n, d) => n * d, 1);
}

/** `tensor` with its datatype and shape settled and its data flat; `declaredShape` (the model's,
 *  -1 for any size) gives the shape of flat data when the tensor has none. Throws AimassError
 *  naming the input for an unknown datatype, ragged arrays or a shape that does not fit. */
export function flatTensor(tensor: Tensor, declaredShape?: readonly number[]): FlatTensor {
  const where = `input '${tensor.name}'`;
  if (tensor.datatype !== undefined && !isDatatype(tensor.datatype)) {
    throw new AimassError(null, `${where}: unknown datatype '${String(tensor.datatype)}'`);
  }
  let data: NumericArray | Element[];
  let shape: number[];
  let datatype = tensor.datatype;
  if (isNumericArray(tensor.data)) {
    data = tensor.data;
    shape = [data.length];
    datatype ??= datatypeOfArray(data);
  } else if (Array.isArray(tensor.data)) {
    const flat: Element[] = [];
    const rowTypes = new Set<Datatype>();
    shape = [];
    flatten(tensor.data, shape, 0, flat, where, rowTypes);
    data = flat;
    datatype ??= rowTypes.size === 1 ? [...rowTypes][0]! : guessDatatype(flat);
  } else {
    throw new AimassError(null, `${where}: data must be a typed array or an array`);
  }
  if (tensor.shape !== undefined) {
    shape = [...tensor.shape];
  } else if (shape.length === 1 && declaredShape !== undefined && declaredShape.length > 1) {
    shape = resolveShape(declaredShape, data.length) ?? shape;
  }
  if (shape.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new AimassError(null, `${where}: shape [${shape.join(", ")}] must hold non-negative ` +
                          "integers");
  }
  if (elementCount(shape) !== data.length) {
    throw new AimassError(null, `${where}: shape [${shape.join(", ")}] needs ` +
                          `${elementCount(shape)} elements, the data has ${data.length}`);
  }
  return { name: tensor.name, datatype, shape, data };
}

/** The model's `declared` shape with its one -1 filled so it holds `count` elements; undefined
 *  when it cannot. */
function resolveShape(declared: readonly number[], count: number): number[] | undefined {
  const free = declared.filter((d) => d < 0).length;
  const fixed = elementCount(declared.filter((d) => d >= 0));
  if (free === 0) return fixed === count ? [...declared] : undefined;
  if (free > 1 || fixed === 0 || count % fixed !== 0) return undefined;
  return declared.map((d) => (d < 0 ? count / fixed : d));
}

function integerOf(value: Element, datatype: Datatype, where: string, index: number): bigint {
  if (typeof value === "bigint") return value;
  if (typeof value === "boolean") return value ? 1n : 0n;
  if (typeof value === "number" && Number.isSafeInteger(value)) return BigInt(value);
  throw new AimassError(null, `${where}: element ${index} (${String(value)}) is not ${datatype}`);
}

function numberOf(value: Element, datatype: Datatype, where: string, index: number): number {
  if (typeof value === "number") return value;
  if (typeof value === "boolean") return value ? 1 : 0;
  if (typeof value === "bigint") return Number(value);
  throw new AimassError(null, `${where}: element ${index} is not a number, so not ${datatype}`);
}

const INTEGER_RANGE: Partial<Record<Datatype, [bigint, bigint]>> = {
  BOOL: [0n, 1n], UINT8: [0n, 255n], INT8: [-128n, 127n], UINT16: [0n, 65535n],
  INT16: [-32768n, 32767n], UINT32: [0n, 4294967295n], INT32: [-2147483648n, 2147483647n],
  UINT64: [0n, 18446744073709551615n], INT64: [-9223372036854775808n, 9223372036854775807n],
};

/** Writes element `i` of `datatype` at byte `at` (little-endian). */
function writeElement(view: DataView, at: number, datatype: Datatype, value: Element,
                      where: string, i: number): void {
  const range = INTEGER_RANGE[datatype];
  if (range !== undefined) {
    const n = integerOf(value, datatype, where, i);
    if (n < range[0] || n > range[1]) {
      throw new AimassError(null, `${where}: element ${i} (${n}) is out of ${datatype}'s range`);
    }
    switch (datatype) {
      case "BOOL": case "UINT8": view.setUint8(at, Number(n)); return;
      case "INT8": view.setInt8(at, Number(n)); return;
      case "UINT16": view.setUint16(at, Number(n), true); return;
      case "INT16": view.setInt16(at, Number(n), true); return;
      case "UINT32": view.setUint32(at, Number(n), true); return;
      case "INT32": view.setInt32(at, Number(n), true); return;
      case "UINT64": view.setBigUint64(at, n, true); return;
      default: view.setBigInt64(at, n, true); return;
    }
  }
  const x = numberOf(value, datatype, where, i);
  switch (datatype) {
    case "FP32": view.setFloat32(at, x, true); return;
    case "FP64": view.setFloat64(at, x, true); return;
    case "FP16": view.setUint16(at, floatToHalf(x), true); return;
    default: view.setUint16(at, floatToBfloat(x), true); return;  // BF16
  }
}

/** The binary tensor data of a numeric tensor: its elements little-endian, row-major. A typed
 *  array of the tensor's own datatype is viewed as it is (on a little-endian host: the result
 *  shares its memory, so copy it before the array changes); anything else is converted element
 *  by element, each checked against the datatype's range. */
export function binaryData(tensor: FlatTensor): Uint8Array {
  const { datatype, data } = tensor;
  if (datatype === "BYTES") throw new AimassError(null, "BYTES tensors have no binary form here");
  const where = `input '${tensor.name}'`;
  if (LITTLE_ENDIAN && isNumericArray(data) && datatypeOfArray(data) === datatype) {
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  }
  const size = ELEMENT_SIZE[datatype];
  const out = new Uint8Array(data.length * size);
  const view = new DataView(out.buffer);
  for (let i = 0; i < data.length; ++i) {
    writeElement(view, i * size, datatype, data[i] as Element, where, i);
  }
  return out;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** The JSON "data" array of a tensor: NaN as null (JSON has no NaN), BOOL as true/false, INT64
 *  and UINT64 as numbers (only up to 2^53, what JSON numbers hold exactly), BYTES as strings
 *  (byte arrays must be UTF-8). Infinities are refused: send them as binary data. */
export function jsonData(tensor: FlatTensor): unknown[] {
  const where = `input '${tensor.name}'`;
  const { datatype } = tensor;
  const values = Array.from(tensor.data as ArrayLike<Element>);
  if (datatype === "BYTES") {
    return values.map((v, i) => {
      if (typeof v === "string") return v;
      if (v instanceof Uint8Array) {
        try {
          return utf8.decode(v);
        } catch {
          throw new AimassError(null, `${where}: BYTES element ${i} is not UTF-8, which JSON ` +
                                "cannot carry");
        }
      }
      throw new AimassError(null, `${where}: BYTES element ${i} is not a string or Uint8Array`);
    });
  }
  const range = INTEGER_RANGE[datatype];
  return values.map((v, i) => {
    if (range !== undefined) {
      const n = integerOf(v, datatype, where, i);
      if (n < range[0] || n > range[1]) {
        throw new AimassError(null, `${where}: element ${i} (${n}) is out of ${datatype}'s range`);
      }
      if (datatype === "BOOL") return n === 1n;
      if (n > BigInt(Number.MAX_SAFE_INTEGER) || n < BigInt(Number.MIN_SAFE_INTEGER)) {
        throw new AimassError(null, `${where}: element ${i} (${n}) is past 2^53, which a JSON ` +
                              "number cannot carry exactly: send it as binary data");
      }
      return Number(n);
    }
    const x = numberOf(v, datatype, where, i);
    if (Number.isNaN(x)) return null;
    if (!Number.isFinite(x)) {
      throw new AimassError(null, `${where}: element ${i} is infinite, which JSON cannot carry: ` +
                            "send it as binary data");
    }
    return x;
  });
}
