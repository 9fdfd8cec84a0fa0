"""What crosses between a check and the answer it probes: plain data, as JSON text.

A probe's request and its reply are encoded here, and only here. Values are ``None``, bools,
ints, floats, strings, lists, tuples, dicts with string keys, tensors and *handles* (a number
that names an object the answer's side keeps). A tensor travels as its raw bytes (base64) with
its dtype, from an allow-list, and its shape; nothing is ever pickled, and decoding runs no
code of the other side: a reply is JSON, parsed by the standard library, then checked piece by
piece. Anything malformed, too deep, too large, or of a dtype not on the list raises
``WireError``, which a check reports as "not correct", never as a pass.
"""

from __future__ import annotations

import base64
import json
import math

import torch

MAX_TEXT = 64 * 2**20          # characters in one message
MAX_DEPTH = 16                 # nesting of lists, tuples, dicts
DTYPES = {str(dtype).removeprefix("torch."): dtype for dtype in (
    torch.float32, torch.float64, torch.float16, torch.bfloat16, torch.int64, torch.int32,
    torch.int16, torch.int8, torch.uint8, torch.bool)}


class WireError(ValueError):
    """A message that is not well-formed plain data."""


class Handle(int):
    """The number of an object kept on the answer's side (a module, a class, a function)."""


def walk(value, leaf):
    """``value`` rebuilt with ``leaf`` applied to each item that is not an exact list, tuple or
    dict: how either side turns handles into its own objects and back."""
    kind = type(value)
    if kind is list:
        return [walk(item, leaf) for item in value]
    if kind is tuple:
        return tuple(walk(item, leaf) for item in value)
    if kind is dict:
        return {key: walk(item, leaf) for key, item in value.items()}
    return leaf(value)


def encode(value) -> str:
    return json.dumps(_to_json(value, 0), allow_nan=True, separators=(",", ":"))


def decode(text) -> object:
    if not isinstance(text, str):
        raise WireError(f"expected JSON text, got {type(text).__name__}")
    if len(text) > MAX_TEXT:
        raise WireError(f"message of {len(text):,} characters (at most {MAX_TEXT:,})")
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as error:
        raise WireError(f"not JSON: {error}") from None
    return _from_json(data, 0)


# --- encoding: only exact built-in types; anything else is the caller's to turn into a handle

def _to_json(value, depth):
    if depth > MAX_DEPTH:
        raise WireError("nested too deeply")
    kind = type(value)
    if value is None or kind in (bool, str, int):
        return value
    if kind is float:
        return value if math.isfinite(value) else {"$float": repr(value)}
    if kind is Handle:
        return {"$handle": int(value)}
    if kind is torch.Tensor:
        return {"$tensor": _tensor_to_json(value)}
    if kind is list:
        return [_to_json(item, depth + 1) for item in value]
    if kind is tuple:
        return {"$tuple": [_to_json(item, depth + 1) for item in value]}
    if kind is dict:
        if not all(type(key) is str for key in value):
            raise WireError("dict keys must be strings")
        return {"$dict": [[key, _to_json(item, depth + 1)] for key, item in value.items()]}
    raise WireError(f"a {kind.__name__} is not plain data")


def _tensor_to_json(tensor: torch.Tensor) -> dict:
    name = str(tensor.dtype).removeprefix("torch.")
    if name not in DTYPES:
        raise WireError(f"dtype {name} is not sent")
    data = tensor.detach().to("cpu").contiguous()
    raw = data.reshape(-1).view(torch.uint8).numpy().tobytes()
    return {"dtype": name, "shape": list(data.shape), "data": base64.b64encode(raw).decode("ascii")}


# --- decoding: every piece is checked before it is used

def _from_json(data, depth):
    if depth > MAX_DEPTH:
        raise WireError("nested too deeply")
    if data is None or type(data) in (bool, str, int, float):
        return data
    if type(data) is list:
        return [_from_json(item, depth + 1) for item in data]
    if type(data) is not dict or len(data) != 1:
        raise WireError("an object must have exactly one tag")
    (tag, body), = data.items()
    if tag == "$tuple" and type(body) is list:
        return tuple(_from_json(item, depth + 1) for item in body)
    if tag == "$dict" and type(body) is list:
        pairs = {}
        for pair in body:
            if type(pair) is not list or len(pair) != 2 or type(pair[0]) is not str:
                raise WireError("a dict entry must be [string, value]")
            pairs[pair[0]] = _from_json(pair[1], depth + 1)
        return pairs
    if tag == "$handle" and type(body) is int and body >= 0:
        return Handle(body)
    if tag == "$float" and body in ("nan", "inf", "-inf"):
        return float(body)
    if tag == "$tensor" and type(body) is dict:
        return _tensor_from_json(body)
    raise WireError(f"unknown tag {tag!r}")


def _tensor_from_json(body: dict) -> torch.Tensor:
    dtype, shape, data = body.get("dtype"), body.get("shape"), body.get("data")
    if dtype not in DTYPES or type(shape) is not list or type(data) is not str or len(body) != 3:
        raise WireError("a tensor needs a known dtype, a shape and its data")
    if not all(type(n) is int and 0 <= n for n in shape) or len(shape) > 8:
        raise WireError(f"bad tensor shape {shape!r}")
    try:
        raw = base64.b64decode(data, validate=True)
    except ValueError:
        raise WireError("tensor data is not base64") from None
    dtype = DTYPES[dtype]
    numel = math.prod(shape)
    if len(raw) != numel * dtype.itemsize:
        raise WireError(f"tensor data of {len(raw)} bytes does not fit shape {shape} of {dtype}")
    if numel == 0:
        return torch.empty(shape, dtype=dtype)
    return torch.frombuffer(bytearray(raw), dtype=dtype).reshape(shape).clone()
