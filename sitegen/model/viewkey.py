"""What a view is made of, and the digest that keys it.

A *view* is plain data: ``str``, ``int``, ``float``, ``bool``, ``None`` and lists, tuples and
``str``-keyed dicts of those (dates are ISO strings).  :func:`encode` turns one into bytes and
refuses a model object, a ``Config``, a ``Path`` or a ``date``, so a view cannot carry data its
digest does not cover; :func:`check_plain` is the full check (run over every view by the tests).
:func:`digest` is blake2b-128 over :func:`encode`: nothing is ever decoded, so no pickle and no
code can run from a key.

Config values reach a view only through :class:`ConfigReader`, which records every value a view
function reads; the view carries exactly those values (``view["site"]``), never a hand list.

(This is the views' own small encoder, written while ``sitegen/digest.py`` is being written in
parallel: fold it in there if that one is as fast on 50k pages.)
"""

from __future__ import annotations

import contextlib
import functools
import gc
import hashlib
import marshal
from typing import Any

from sitegen.config import Config

PLAIN_SCALARS = (str, int, float, bool, type(None))


class NotPlain(TypeError):
    """A view holds a value that is not plain data: a bug in a view function, named by its path."""


def check_plain(value: Any, where: str = "view") -> None:
    """Raise :class:`NotPlain` naming the first value in ``value`` that is not plain data."""
    if isinstance(value, PLAIN_SCALARS):
        return
    if isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            check_plain(v, f"{where}[{i}]")
        return
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str):
                raise NotPlain(f"{where}: key {k!r} is a {type(k).__name__}, not a str")
            check_plain(v, f"{where}.{k}")
        return
    raise NotPlain(f"{where} is a {type(value).__module__}.{type(value).__qualname__}, not plain data")


# marshal, version 2: a byte encoding that is only ever hashed, never loaded (so it runs no code).
# Below version 3 it writes no back-references and no interning flags, so equal plain data always
# gives equal bytes; it keeps types apart (1, "1", True, 1.0, [1] and (1,) differ, and so do dict
# keys 1 and "1"), and refuses dates, paths and every other object.  It is 3x faster than
# sorted-key JSON (17 MB of views at 3,000 papers: 0.09 s against 0.27 s), which matters because
# every page is keyed on every build.  Dict order counts: views are built by code, in code order,
# and the code is in every key.
_MARSHAL_VERSION = 2


def encode(value: Any) -> bytes:
    """The bytes a view's digest is taken over; :class:`NotPlain` for what is not plain data."""
    try:
        return marshal.dumps(value, _MARSHAL_VERSION)
    except ValueError as e:
        check_plain(value)          # names the offending path
        raise NotPlain(f"view is not plain data: {e}") from None


def digest(*parts: Any) -> bytes:
    """blake2b-128 of the encoding of ``parts``."""
    return hashlib.blake2b(encode(parts), digest_size=16).digest()


@contextlib.contextmanager
def paused_gc():
    """No cyclic garbage collection inside: for making many views (or other plain data) at once.

    Plain data has no reference cycles, so reference counting frees all of it; the collector
    would only walk the whole model again and again as the views are allocated (at 50,000
    papers that cost more than making the views).  Restores the collector's previous state.
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _plain_config_value(name: str, value: Any) -> Any:
    if isinstance(value, tuple):
        value = list(value)
    check_plain(value, f"config.{name}")
    return value


_MISSING = object()


class ConfigReader:
    """A :class:`Config` that records what is read from it.

    Attributes and properties are returned as plain values and recorded under their name;
    methods (``abs_url``, ``site_url``) run with the reader as ``self``, so the values they
    read are recorded too.  :meth:`values` is what the view carries as ``site``.
    """

    __slots__ = ("_config", "_read", "_plain")

    def __init__(self, config: Config, plain: dict[str, Any] | None = None):
        object.__setattr__(self, "_config", config)
        object.__setattr__(self, "_read", {})
        # plain values already converted, shared by the readers of one build (the config is frozen)
        object.__setattr__(self, "_plain", {} if plain is None else plain)

    def __getattr__(self, name: str) -> Any:
        value = self._plain.get(name, _MISSING)
        if value is _MISSING:
            attr = getattr(type(self._config), name, None)
            if callable(attr) and not isinstance(attr, (property, functools.cached_property)):
                return functools.partial(attr, self)
            value = self._plain[name] = _plain_config_value(name, getattr(self._config, name))
        self._read[name.lstrip("_")] = value      # `_abs_base` (read by abs_url) is carried as `abs_base`
        return value

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("a ConfigReader is read-only")

    def use(self, *names: str) -> None:
        """Record config values a template or filter reads from ``site`` without the view function reading them."""
        plain, read = self._plain, self._read
        for name in names:
            value = plain.get(name, _MISSING)
            if value is _MISSING:
                getattr(self, name)
            else:
                read[name] = value

    def read_so_far(self) -> dict[str, Any]:
        return dict(self._read)

    def record(self, values: dict[str, Any]) -> None:
        """Record values another reader read (a result computed once and shared by many views)."""
        self._read.update(values)

    def values(self) -> dict[str, Any]:
        """Every config value read so far, by name (``_abs_base`` as ``abs_base``)."""
        return dict(self._read)       # in the order read: the view code fixes it, and the code is in every key
