"""Reading the build's own state in ``.sitegen-cache/``: a bad file is a miss, never a crash.

Every cache file the build reads goes through :func:`load` (pickles) or
:func:`load_text`, with a check of the shape the reader expects.  A file that is
unreadable, truncated, random bytes, from another version or of the wrong shape
is treated as absent -- the work it would have saved is redone, so the output is
what a cold build makes -- and one notice per file says so (:func:`drain`; the
build prints them as warnings).  A missing file is an ordinary miss and says nothing.

The pickles are sitegen's own files in the project's cache folder, never input:
dumps, content and themes are never unpickled.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any, Callable

_notices: list[str] = []


def notice(path: Path, why: str) -> None:
    line = (f"cache file {os.fspath(path)} {why}; ignoring it (the build redoes its work; "
            "nothing else to do)")
    if line not in _notices:
        _notices.append(line)


def drain() -> list[str]:
    """The notices since the last call, once each."""
    out = list(_notices)
    _notices.clear()
    return out


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as e:
        notice(path, f"cannot be read ({e.strerror})")
        return None


def load(path: Path, check: Callable[[Any], bool]) -> Any | None:
    """The unpickled value of ``path`` if ``check(value)`` holds, else ``None`` (with a notice)."""
    data = _read(path)
    if data is None:
        return None
    try:
        value = pickle.loads(data)
    except Exception:        # truncated, random bytes, a class that no longer exists, ...
        notice(path, "is damaged or from another sitegen version")
        return None
    try:
        ok = bool(check(value))
    except Exception:
        ok = False
    if not ok:
        notice(path, "does not hold what this sitegen version expects")
        return None
    return value


def load_text(path: Path, check: Callable[[str], bool]) -> str | None:
    """The ASCII text of ``path`` if ``check(text)`` holds, else ``None`` (with a notice)."""
    data = _read(path)
    if data is None:
        return None
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        text = None
    if text is None or not check(text):
        notice(path, "is damaged")
        return None
    return text


def is_pair(value: Any, first: type, second: type) -> bool:
    return type(value) is tuple and len(value) == 2 and isinstance(value[0], first) and isinstance(value[1], second)


def is_map(value: Any, key: type, item: Callable[[Any], bool]) -> bool:
    return type(value) is dict and all(isinstance(k, key) and item(v) for k, v in value.items())
