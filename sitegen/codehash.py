"""The digest of sitegen's own code: part of every memo key, so a changed algorithm never serves stale output.

Every module of the package counts (``sitegen/**/*.py``, by path relative to the package and
bytes): there is no list of "the files a result depends on" to keep up to date.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent


@lru_cache(maxsize=None)
def package_code_digest() -> str:
    """A hex digest of every ``.py`` file of the package (computed once per process)."""
    h = hashlib.blake2b(digest_size=16)
    for path in sorted(PACKAGE.rglob("*.py")):
        h.update(path.relative_to(PACKAGE).as_posix().encode() + b"\0")
        h.update(path.read_bytes() + b"\0")
    return h.hexdigest()
