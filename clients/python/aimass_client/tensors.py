# SPDX-License-Identifier: Apache-2.0
"""Tensors in and out: OIP v2 JSON and the binary tensor data extension, numpy optional.

numpy is used when it imports, unless the environment variable AIMASS_CLIENT_NO_NUMPY is set
(to 1) before this module is imported; ``HAVE_NUMPY`` tells which. Without numpy, tensor data are
flat Python lists. Pure functions, thread-safe.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

from .errors import AimassError

np: Any = None
if os.environ.get("AIMASS_CLIENT_NO_NUMPY", "") in ("", "0"):
    try:
        import numpy as np  # type: ignore[no-redef]
    except ImportError:  # numpy is optional
        np = None
HAVE_NUMPY = np is not None

# OIP datatype -> struct code (little-endian); BF16 is handled apart, BYTES is length-prefixed.
_STRUCT = {"BOOL": "?", "UINT8": "B", "UINT16": "H", "UINT32": "I", "UINT64": "Q", "INT8": "b",
           "INT16": "h", "INT32": "i", "INT64": "q", "FP16": "e", "FP32": "f", "FP64": "d"}
_NUMPY = {"BOOL": "?", "UINT8": "<u1", "UINT16": "<u2", "UINT32": "<u4", "UINT64": "<u8",
          "INT8": "<i1", "INT16": "<i2", "INT32": "<i4", "INT64": "<i8", "FP16": "<f2",
          "FP32": "<f4", "FP64": "<f8"}
_FROM_NUMPY = {"b": "BOOL", "u1": "UINT8", "u2": "UINT16", "u4": "UINT32", "u8": "UINT64",
               "i1": "INT8", "i2": "INT16", "i4": "INT32", "i8": "INT64", "f2": "FP16",
               "f4": "FP32", "f8": "FP64"}
DATATYPES = frozenset(list(_STRUCT) + ["BF16", "BYTES"])


@dataclass
class Tensor:
    """A named input: ``data`` is a numpy array, a (nested) list, or a list of str/bytes for
    BYTES; ``datatype`` and ``shape`` are taken from ``data`` when left out."""

    name: str
    data: Any
    datatype: Optional[str] = None
    shape: Optional[List[int]] = None


@dataclass
class Output:
    """One output of an answer: ``data`` is a numpy array shaped ``shape`` (numeric, with numpy)
    or a flat list (numbers, or str/bytes for BYTES)."""

    name: str
    datatype: str
    shape: List[int]
    data: Any
    parameters: Dict[str, Any] = field(default_factory=dict)
    binary: bool = False  # whether it came as binary tensor data


def _flatten(data: Any, shape: List[int], depth: int, flat: List[Any], where: str) -> None:
    if isinstance(data, (list, tuple)):
        if depth == len(shape):
            shape.append(len(data))
        elif shape[depth] != len(data):
            raise AimassError(None, f"{where}: ragged nested list (a list of {len(data)} where "
                              f"{shape[depth]} were expected at depth {depth})")
        for item in data:
            _flatten(item, shape, depth + 1, flat, where)
    else:
        if depth != len(shape):
            raise AimassError(None, f"{where}: ragged nested list (a scalar at depth {depth})")
        flat.append(data)


def _guess_datatype(flat: Sequence[Any]) -> str:
    if flat and all(isinstance(v, (str, bytes)) for v in flat):
        return "BYTES"
    if flat and all(isinstance(v, bool) for v in flat):
        return "BOOL"
    if all(isinstance(v, int) and not isinstance(v, bool) for v in flat):
        return "INT64"
    return "FP32"


def normalize(tensor: Tensor) -> Tuple[str, List[int], Any, bool]:
    """(datatype, shape, data, is_numpy) of an input; numpy data stay an array (cast to the
    datatype), anything else becomes a flat list. Raises AimassError naming the input."""
    where = f"input '{tensor.name}'"
    if HAVE_NUMPY and isinstance(tensor.data, np.ndarray):
        array = tensor.data
        datatype = tensor.datatype
        if datatype is None:
            if array.dtype.kind in ("U", "S", "O"):
                datatype = "BYTES"
            else:
                datatype = _FROM_NUMPY.get(array.dtype.str.lstrip("<>|=")
                                           if array.dtype.kind != "b" else "b")
                if datatype is None:
                    raise AimassError(None, f"{where}: numpy dtype {array.dtype} has no OIP "
                                      "datatype")
        shape = list(tensor.shape) if tensor.shape is not None else list(array.shape)
        if datatype == "BYTES":
            return datatype, shape, [v for v in array.reshape(-1).tolist()], False
        if datatype not in _NUMPY:
            raise AimassError(None, f"{where}: datatype {datatype} cannot be sent from numpy")
        return datatype, shape, np.ascontiguousarray(array, dtype=_NUMPY[datatype]), True
    flat: List[Any] = []
    guessed: List[int] = []
    _flatten(tensor.data, guessed, 0, flat, where)
    shape = list(tensor.shape) if tensor.shape is not None else guessed
    datatype = tensor.datatype or _guess_datatype(flat)
    if datatype not in DATATYPES:
        raise AimassError(None, f"{where}: unknown datatype '{datatype}'")
    count = 1
    for d in shape:
        count *= d
    if count != len(flat):
        raise AimassError(None, f"{where}: shape {shape} needs {count} elements but the data "
                          f"hold {len(flat)}")
    return datatype, shape, flat, False


_FLOATS = frozenset({"FP16", "BF16", "FP32", "FP64"})


def _json_values(values: List[Any], datatype: str, where: str) -> List[Any]:
    """The JSON form of an input's values: BYTES as text, NaN as null (a missing value)."""
    if datatype == "BYTES":
        out = []
        for i, value in enumerate(values):
            if isinstance(value, bytes):
                try:
                    value = value.decode("utf-8")
                except UnicodeDecodeError as error:
                    raise AimassError(None, f"{where}: BYTES element {i} is not UTF-8, which "
                                      "JSON cannot carry") from error
            out.append(value)
        return out
    if datatype in _FLOATS:
        return [None if isinstance(v, float) and v != v else v for v in values]
    return values


def encode_input(tensor: Tensor, binary: bool) -> Tuple[Dict[str, Any], bytes]:
    """The request's JSON entry for an input and its binary bytes (b"" when sent as JSON).
    Numeric tensors go binary when ``binary``; BYTES always go as JSON strings."""
    datatype, shape, data, is_numpy = normalize(tensor)
    entry: Dict[str, Any] = {"name": tensor.name, "datatype": datatype, "shape": shape}
    if binary and datatype != "BYTES":
        if is_numpy:
            raw = data.tobytes()
        elif datatype == "BF16":
            raw = b"".join(struct.pack("<f", float(v))[2:] for v in data)
        else:
            try:
                raw = struct.pack(f"<{len(data)}{_STRUCT[datatype]}", *data)
            except struct.error as error:
                raise AimassError(None, f"input '{tensor.name}': a value is not {datatype}: "
                                  f"{error}") from error
        entry["parameters"] = {"binary_data_size": len(raw)}
        return entry, raw
    values = data.reshape(-1).tolist() if is_numpy else data
    entry["data"] = _json_values(values, datatype, f"input '{tensor.name}'")
    return entry, b""


def _bytes_elements(raw: bytes, where: str) -> List[Any]:
    items: List[Any] = []
    at = 0
    while at < len(raw):
        if at + 4 > len(raw):
            raise AimassError(None, f"{where}: a BYTES length prefix runs past the data")
        (n,) = struct.unpack_from("<I", raw, at)
        at += 4
        if at + n > len(raw):
            raise AimassError(None, f"{where}: a BYTES element of {n} bytes runs past the data")
        chunk = raw[at:at + n]
        at += n
        try:
            items.append(chunk.decode("utf-8"))
        except UnicodeDecodeError:
            items.append(chunk)
    return items


def _count(shape: Sequence[int]) -> int:
    count = 1
    for d in shape:
        count *= d
    return count


def decode_outputs(header: Dict[str, Any], tail: bytes, use_numpy: bool) -> Dict[str, Output]:
    """The outputs of an answer, in its order, binary ones read from ``tail`` in turn."""
    outputs: Dict[str, Output] = {}
    at = 0
    for entry in header.get("outputs", []):
        name = entry.get("name", "")
        datatype = entry.get("datatype", "")
        shape = [int(d) for d in entry.get("shape", [])]
        parameters = dict(entry.get("parameters") or {})
        where = f"output '{name}'"
        size = parameters.pop("binary_data_size", None)
        if size is not None:
            raw = tail[at:at + int(size)]
            if len(raw) != int(size):
                raise AimassError(None, f"{where}: binary_data_size {size} runs past the answer")
            at += int(size)
            if datatype == "BYTES":
                data: Any = _bytes_elements(raw, where)
            elif use_numpy and datatype in _NUMPY:
                data = np.frombuffer(raw, dtype=_NUMPY[datatype]).reshape(shape)
            elif datatype == "BF16":
                data = [struct.unpack("<f", b"\0\0" + raw[i:i + 2])[0]
                        for i in range(0, len(raw), 2)]
            elif datatype in _STRUCT:
                data = list(struct.unpack(f"<{_count(shape)}{_STRUCT[datatype]}", raw))
            else:
                raise AimassError(None, f"{where}: unknown datatype '{datatype}'")
        else:
            flat: List[Any] = []
            _flatten(entry.get("data", []), [], 0, flat, where)
            data = flat
            if use_numpy and datatype in _NUMPY:
                data = np.asarray(flat, dtype=_NUMPY[datatype]).reshape(shape)
        if use_numpy and datatype == "BF16" and isinstance(data, list):
            data = np.asarray(data, dtype=np.float32).reshape(shape)
        outputs[name] = Output(name, datatype, shape, data, parameters, size is not None)
    return outputs
