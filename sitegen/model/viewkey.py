"""What a view is made of, and the digest that keys it.

A *view* is plain data: ``str``, ``int``, ``float``, ``bool``, ``None`` and lists, tuples and
``str``-keyed dicts of those (dates are ISO strings).  :func:`canonical` encodes one as canonical
JSON -- sorted keys, no whitespace, no NaN -- and refuses anything else (a model object, a
``Config``, a ``Path``, a ``date``), so a view cannot carry data its digest does not cover.
:func:`digest` is blake2b-128 over that encoding: code-free (no pickle) and the same on every
machine and Python version.

Config values reach a view only through :class:`ConfigReader`, which records every value a view
function reads; the view carries exactly those values (``view["site"]``), never a hand list.

(This is the views' own small encoder: when ``sitegen/digest.py`` lands on main, this module's
:func:`canonical`/:func:`digest` are the ones to fold into it.)
"""

from __future__ import annotations

import functools
import hashlib
import json
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


_ENCODER = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False,
                            check_circular=False)


def canonical(value: Any) -> bytes:
    """The canonical encoding of a plain value; :class:`NotPlain` for anything else.

    JSON's encoder refuses every non-plain type itself (there is no ``default``).  It would coerce
    a non-``str`` dict key (``1`` -> ``"1"``) rather than refuse it; walking every view for that
    on every build would double the cost of keying, so :func:`check_plain` is run over every view
    of an archive by the tests instead (tests/test_views.py), and a view's shape is fixed by code
    that is itself in every key.
    """
    try:
        text = _ENCODER.encode(value)
    except (TypeError, ValueError) as e:
        check_plain(value)          # names the offending path
        raise NotPlain(f"view is not plain data: {e}") from None
    return text.encode("utf-8", "surrogatepass")


def digest(*parts: Any) -> bytes:
    """blake2b-128 of the canonical encoding of ``parts``."""
    return hashlib.blake2b(canonical(list(parts)), digest_size=16).digest()


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
        self._read[name] = value
        return value

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("a ConfigReader is read-only")

    def use(self, *names: str) -> None:
        """Record config values a template or filter reads from ``site`` without the view function reading them."""
        for name in names:
            getattr(self, name)

    def values(self) -> dict[str, Any]:
        """Every config value read so far, by name (public names only: ``_abs_base`` -> ``abs_base``)."""
        return {k.lstrip("_"): v for k, v in sorted(self._read.items())}
