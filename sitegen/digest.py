"""A canonical, code-free digest of plain data: what page keys and memo keys hash.

:func:`encode` turns a value into bytes that depend only on the value -- never on
object identity, dict insertion order, the Python version or pickle's protocol --
and :func:`digest` is the blake2b of that encoding.  Accepted types, each written
with its own tag so that values of different types never encode alike
(``1`` / ``1.0`` / ``True`` / ``"1"`` are four different digests); a container inside another is
written as the blake2b of its own encoding (a Merkle tree), computed once per object, so shared
sub-values are never expanded:

``None``, ``bool``, ``int``, ``float`` (its exact ``float.hex()``), ``str``, ``bytes``,
``datetime.date`` / ``datetime.datetime`` (ISO, with its offset when aware),
``pathlib.PurePath`` (POSIX form), ``tuple``, ``list``, ``dict`` (items sorted by
their encoded key), ``set`` / ``frozenset`` (members sorted by encoding) and
dataclass instances (qualified class name + every field, in declaration order).

Anything else is a :class:`TypeError`: a ``repr`` fallback could carry a memory
address (a key that never matches) or hide a field, so an unsupported value must
be made plain by its caller.  Nothing here can execute code on decoding --
there is no decoding: a digest is compared, never loaded.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from pathlib import PurePath
from typing import Any

DIGEST_SIZE = 16


def _len(n: int) -> bytes:
    return str(n).encode() + b":"


_CONTAINERS = (tuple, list, dict, set, frozenset)


class _Encoder:
    """One encoding: a nested container is written as the hash of its own encoding (a Merkle tree),
    computed once per object, so shared sub-values (a YAML alias bomb: 9 lists of 9 references to
    the previous one, 9^9 leaves) cost their distinct objects, never their expansion."""

    def __init__(self) -> None:
        self.memo: dict[int, bytes] = {}

    def child(self, value: Any, out: list[bytes]) -> None:
        if type(value) in _CONTAINERS or (dataclasses.is_dataclass(value) and not isinstance(value, type)):
            h = self.memo.get(id(value))
            if h is None:
                sub: list[bytes] = []
                self.encode(value, sub)
                h = self.memo[id(value)] = b"h" + hashlib.blake2b(b"".join(sub), digest_size=DIGEST_SIZE).digest()
            out.append(h)
        else:
            self.encode(value, out)

    def encode(self, value: Any, out: list[bytes]) -> None:
        t = type(value)
        if value is None:
            out.append(b"N")
        elif t is bool:
            out.append(b"T" if value else b"F")
        elif t is str:
            data = value.encode("utf-8", "surrogatepass")
            out.append(b"s" + _len(len(data)))
            out.append(data)
        elif t is int:
            out.append(b"i" + str(value).encode() + b";")
        elif t is float:
            out.append(b"f" + value.hex().encode() + b";")
        elif t is bytes or t is bytearray or t is memoryview:
            data = bytes(value)
            out.append(b"b" + _len(len(data)))
            out.append(data)
        elif t is tuple or t is list:
            out.append((b"t" if t is tuple else b"l") + _len(len(value)))
            for item in value:
                self.child(item, out)
        elif t is dict:
            items = sorted((self.alone(k), self.alone(v)) for k, v in value.items())
            out.append(b"m" + _len(len(items)))
            for k, v in items:
                out.append(k)
                out.append(v)
        elif t is set or t is frozenset:
            members = sorted(self.alone(v) for v in value)
            out.append(b"S" + _len(len(members)))
            out.extend(members)
        elif t is dt.datetime:
            out.append(b"D" + value.isoformat().encode() + b";")
        elif t is dt.date:
            out.append(b"d" + value.isoformat().encode() + b";")
        elif isinstance(value, PurePath):
            data = value.as_posix().encode("utf-8", "surrogateescape")
            out.append(b"p" + _len(len(data)))
            out.append(data)
        elif dataclasses.is_dataclass(value) and not isinstance(value, type):
            name = f"{t.__module__}.{t.__qualname__}".encode()
            fields = dataclasses.fields(value)
            out.append(b"c" + _len(len(name)) + name + _len(len(fields)))
            for f in fields:
                self.encode(f.name, out)
                self.child(getattr(value, f.name), out)
        elif isinstance(value, (str, int, float, tuple)):
            # a subclass (an IntEnum, a NamedTuple, a str subclass): its plain value, under its class name
            name = f"{t.__module__}.{t.__qualname__}".encode()
            out.append(b"x" + _len(len(name)) + name)
            base = next(b for b in (bool, str, int, float, tuple) if isinstance(value, b))
            self.encode(base(value), out)
        else:
            raise TypeError(f"sitegen.digest cannot encode a {t.__module__}.{t.__qualname__}; "
                            "pass plain data (str, int, float, bool, None, bytes, dates, paths, "
                            "tuples, lists, dicts, sets, dataclasses)")

    def alone(self, value: Any) -> bytes:
        out: list[bytes] = []
        self.child(value, out)
        return b"".join(out)


def encode(value: Any) -> bytes:
    """The canonical encoding of ``value`` (see the module's doc for the accepted types)."""
    out: list[bytes] = []
    _Encoder().encode(value, out)
    return b"".join(out)


def digest(*parts: Any) -> bytes:
    """The 16-byte blake2b of the canonical encoding of ``parts``."""
    return hashlib.blake2b(encode(parts), digest_size=DIGEST_SIZE).digest()


def hexdigest(*parts: Any) -> str:
    return digest(*parts).hex()
