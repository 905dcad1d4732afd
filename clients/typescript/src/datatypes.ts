// SPDX-License-Identifier: Apache-2.0
// OIP v2 datatypes and the typed arrays that carry them. Pure functions, no state.

/** The datatypes of the Open Inference Protocol v2. */
export type Datatype =
  | "BOOL" | "UINT8" | "UINT16" | "UINT32" | "UINT64" | "INT8" | "INT16" | "INT32" | "INT64"
  | "FP16" | "BF16" | "FP32" | "FP64" | "BYTES";

export const DATATYPES: readonly Datatype[] = [
  "BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64", "FP16",
  "BF16", "FP32", "FP64", "BYTES",
];

/** The typed arrays a numeric tensor's data may be. */
export type NumericArray =
  | Float32Array | Float64Array | Int8Array | Int16Array | Int32Array | BigInt64Array
  | Uint8Array | Uint16Array | Uint32Array | BigUint64Array;

/** Bytes per element of each numeric datatype (BYTES has none). */
export const ELEMENT_SIZE: Readonly<Record<Exclude<Datatype, "BYTES">, number>> = {
  BOOL: 1, UINT8: 1, INT8: 1, UINT16: 2, INT16: 2, FP16: 2, BF16: 2, UINT32: 4, INT32: 4,
  FP32: 4, UINT64: 8, INT64: 8, FP64: 8,
};

export function isDatatype(name: string): name is Datatype {
  return (DATATYPES as readonly string[]).includes(name);
}

/** Whether this host stores numbers little-endian (then typed arrays are copied as bytes). */
export const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export function isNumericArray(value: unknown): value is NumericArray {
  return ArrayBuffer.isView(value) && !(value instanceof DataView);
}

/** The datatype a typed array carries as it is (Uint8Array: UINT8). */
export function datatypeOfArray(array: NumericArray): Datatype {
  if (array instanceof Float32Array) return "FP32";
  if (array instanceof Float64Array) return "FP64";
  if (array instanceof Int8Array) return "INT8";
  if (array instanceof Int16Array) return "INT16";
  if (array instanceof Int32Array) return "INT32";
  if (array instanceof BigInt64Array) return "INT64";
  if (array instanceof Uint16Array) return "UINT16";
  if (array instanceof Uint32Array) return "UINT32";
  if (array instanceof BigUint64Array) return "UINT64";
  return "UINT8";  // Uint8Array and Uint8ClampedArray
}

/** The typed array an answer's output of `datatype` comes as: BOOL in a Uint8Array (0 or 1),
 *  FP16 and BF16 widened to a Float32Array. */
export function arrayTypeOf(datatype: Exclude<Datatype, "BYTES">) {
  switch (datatype) {
    case "FP32": case "FP16": case "BF16": return Float32Array;
    case "FP64": return Float64Array;
    case "INT8": return Int8Array;
    case "INT16": return Int16Array;
    case "INT32": return Int32Array;
    case "INT64": return BigInt64Array;
    case "UINT16": return Uint16Array;
    case "UINT32": return Uint32Array;
    case "UINT64": return BigUint64Array;
    default: return Uint8Array;  // BOOL, UINT8
  }
}

const scratch = new DataView(new ArrayBuffer(4));

/** The FP16 bits nearest `value` (round to nearest even; NaN stays NaN, overflow is infinity). */
export function floatToHalf(value: number): number {
  scratch.setFloat32(0, value);
  const bits = scratch.getUint32(0);
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  const mantissa = bits & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0);
  const e = exponent - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    const m = mantissa | 0x800000;
    const shift = 14 - e;
    let half = m >>> shift;
    const rest = m & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rest > halfway || (rest === halfway && (half & 1))) half += 1;
    return sign | half;
  }
  let half = (e << 10) | (mantissa >>> 13);
  const rest = mantissa & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (half & 1))) half += 1;  // may carry into exponent
  return sign | half;
}

/** The number FP16 `bits` hold. */
export function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >>> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f) return mantissa ? NaN : sign * Infinity;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

/** The BF16 bits nearest `value` (the FP32 bits' high half, rounded to nearest even). */
export function floatToBfloat(value: number): number {
  scratch.setFloat32(0, value);
  const bits = scratch.getUint32(0);
  if (Number.isNaN(value)) return (bits >>> 16) | 0x40;
  return ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
}

/** The number BF16 `bits` hold. */
export function bfloatToFloat(bits: number): number {
  scratch.setUint32(0, (bits & 0xffff) << 16);
  return scratch.getFloat32(0);
}
