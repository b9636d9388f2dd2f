"""Plain data <-> JSON text, for the build state: no classes, no code, shapes checked on reading.

:func:`dumps` writes str / int / float / bool / None / list / dict with ``str`` keys as
JSON, and the few other plain types a YAML front matter or a record holds as one-key
tagged objects: ``{"$date": "2025-03-12"}``, ``{"$datetime": ...}``, ``{"$tuple": [...]}``,
``{"$bytes": "<base64>"}``, ``{"$set": [...]}``, and ``{"$map": [[k, v], ...]}`` for a dict
with a non-``str`` key or a key starting with ``$`` (so a tag is never ambiguous).
:func:`loads` is its inverse and raises :class:`ValueError` on anything else.
Decoding builds only those types: there is nothing to look up by name, so a
state file, whoever wrote it, can at worst hold wrong values -- and every reader
checks the shape it expects (:func:`sitegen.engine.state` readers), a wrong one
being a cache miss.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any

_ATOMS = (str, int, float, bool, type(None))


class Shared(ValueError):
    """A value holding the same container twice (a YAML alias): JSON would expand it, perhaps
    exponentially (an alias bomb), so it is not stored; the caller recomputes it instead."""


def _enc(v: Any, seen: set[int]) -> Any:
    t = type(v)
    if t in _ATOMS:
        return v
    if t is list or t is dict or t is set:       # what a YAML alias can share (tuples, dates: ours, immutable)
        if id(v) in seen:
            raise Shared("a value that holds the same list or mapping twice is not stored")
        seen.add(id(v))
    if t is list:
        return [_enc(x, seen) for x in v]
    if t is dict:
        if all(type(k) is str and not k.startswith("$") for k in v):
            return {k: _enc(x, seen) for k, x in v.items()}
        return {"$map": [[_enc(k, seen), _enc(x, seen)] for k, x in v.items()]}
    if t is tuple:
        return {"$tuple": [_enc(x, seen) for x in v]}
    if t is dt.datetime:
        return {"$datetime": v.isoformat()}
    if t is dt.date:
        return {"$date": v.isoformat()}
    if t is bytes:
        return {"$bytes": base64.b64encode(v).decode("ascii")}
    if t is set or t is frozenset:
        return {"$set": [_enc(x, seen) for x in v]}
    raise TypeError(f"sitegen.plain cannot store a {t.__module__}.{t.__qualname__}")


def _dec(v: Any) -> Any:
    t = type(v)
    if t is list:
        return [_dec(x) for x in v]
    if t is not dict:
        return v
    if len(v) == 1:
        (tag, body), = v.items()
        if tag.startswith("$"):
            if tag == "$tuple" and type(body) is list:
                return tuple(_dec(x) for x in body)
            if tag == "$date" and type(body) is str:
                return dt.date.fromisoformat(body)
            if tag == "$datetime" and type(body) is str:
                return dt.datetime.fromisoformat(body)
            if tag == "$bytes" and type(body) is str:
                return base64.b64decode(body, validate=True)
            if tag == "$set" and type(body) is list:
                return {_dec(x) for x in body}
            if tag == "$map" and type(body) is list and all(type(kv) is list and len(kv) == 2 for kv in body):
                return {_dec(k): _dec(x) for k, x in body}
            raise ValueError(f"unknown tag {tag!r}")
    if any(k.startswith("$") for k in v):
        raise ValueError("a plain object with a $ key")
    return {k: _dec(x) for k, x in v.items()}


def dumps(value: Any) -> str:
    """JSON text for ``value``; :class:`Shared` (a ``ValueError``) for a value with shared containers."""
    return json.dumps(_enc(value, set()), ensure_ascii=False, separators=(",", ":"), check_circular=False)


def loads(text: str | bytes) -> Any:
    """The value :func:`dumps` wrote; ``ValueError`` for anything else (bad JSON, an unknown tag, ...)."""
    try:
        return _dec(json.loads(text))
    except (TypeError, RecursionError, UnicodeDecodeError, OverflowError) as e:
        raise ValueError(str(e)) from None


# -- shape checks -------------------------------------------------------------

def is_str_list(v: Any, kind: type = list) -> bool:
    return type(v) is kind and all(type(x) is str for x in v)


def is_tuple_of(v: Any, t: type) -> bool:
    return type(v) is tuple and all(type(x) is t for x in v)
