"""Typed checks of ``site.yml`` values that are collections (asset lists, the dates map), for
:mod:`sitegen.config`: each appends its problems and returns the value it could read."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from sitegen.content.frontmatter import as_date


def _typename(v: Any) -> str:
    return {bool: "bool", int: "int", float: "float", str: "str", list: "list", dict: "mapping",
            type(None): "null", dt.date: "date", dt.datetime: "datetime"}.get(type(v), type(v).__name__)


_ASSET = re.compile(r"^(?!.*(^|/)\.)[A-Za-z0-9_][A-Za-z0-9._/-]*$")   # no "..", no hidden parts, no "/" first


def _check_assets(key: str, ext: str, v: Any, problems: list[str]) -> tuple[str, ...]:
    """A list of file names under the site's ``static/`` ending in ``.css`` / ``.js``."""
    if not isinstance(v, list):
        problems.append(f"'{key}': expected a list of file names under static/, like [custom.{ext}], "
                        f"got {_typename(v)} ({v!r})")
        return ()
    out = []
    for name in v:
        if not (isinstance(name, str) and _ASSET.match(name) and name.endswith("." + ext)):
            problems.append(f"'{key}': expected a .{ext} file name under static/ (like custom.{ext} or "
                            f"css/custom.{ext}; no '..', no leading '/'), got {name!r}")
            continue
        out.append(name)
    return tuple(out)


def _check_dates(key: str, v: Any, problems: list[str]) -> dict[str, dt.date]:
    if v is None:
        return {}
    if not isinstance(v, dict):
        problems.append(f"'{key}': expected a mapping of dump file name to YYYY-MM-DD, got {_typename(v)}")
        return {}
    out: dict[str, dt.date] = {}
    for name, d in v.items():
        if not isinstance(name, str) or not name or "/" in name or "\\" in name or name.startswith("."):
            problems.append(f"'{key}.{name}': expected a plain dump file name (no folders), got {name!r}")
            continue
        parsed = as_date(d)
        if parsed is None:
            problems.append(f"'{key}.{name}': expected a date YYYY-MM-DD, got {_typename(d)} ({d!r})")
            continue
        if parsed.year < 1000:
            problems.append(f"'{key}.{name}': expected a four-digit year, got {parsed.isoformat()}")
            continue
        out[name] = parsed
    return out
