"""The other site generator the benchmark runs next to sitegen: Hugo + Pagefind.

Where each executable comes from (one place: the benchmark and tests/helpers.py's
``require_tool("hugo")`` / ``require_tool("pagefind")`` both ask here):

- Hugo: ``$SITEGEN_HUGO`` or ``hugo`` on PATH (Debian/Ubuntu: ``apt-get install hugo``).
- Pagefind: ``$SITEGEN_PAGEFIND``, ``pagefind`` on PATH, or the binary the Python package
  ``pagefind[bin]`` ships (the ``bench`` extra in pyproject.toml, locked in
  requirements.lock), found in the interpreter running the benchmark.  The binary is run
  directly, not through ``python -m pagefind``, so its time has no Python start-up in it.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import shutil
import subprocess
from dataclasses import dataclass


@dataclass(frozen=True)
class Tool:
    name: str
    exe: str | None       # None: not found
    version: str | None   # what the tool says about itself (first line), or None
    missing: str = ""     # why it is missing and how to install it

    @property
    def found(self) -> bool:
        return self.exe is not None


def _from_env(var: str) -> str | None:
    path = os.environ.get(var)
    return path if path and os.access(path, os.X_OK) else None


def find_hugo() -> str | None:
    return _from_env("SITEGEN_HUGO") or shutil.which("hugo")


def find_pagefind() -> str | None:
    exe = _from_env("SITEGEN_PAGEFIND") or shutil.which("pagefind")
    if exe is None and importlib.util.find_spec("pagefind_bin") is not None:
        path = importlib.import_module("pagefind_bin").get_executable()   # raises if the wheel is broken
        exe = str(path.absolute())
    return exe


HUGO_MISSING = ("hugo not found (Debian/Ubuntu: `apt-get install hugo`; or set SITEGEN_HUGO to the "
                "executable)")
PAGEFIND_MISSING = ('pagefind not found (pip install -e ".[bench]", which installs pagefind[bin]; '
                    "or set SITEGEN_PAGEFIND to the executable)")


def version_of(exe: str, arg: str) -> str | None:
    try:
        out = subprocess.run([exe, arg], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None
    lines = (out.stdout or out.stderr).strip().splitlines()
    return lines[0].strip() if out.returncode == 0 and lines else None


def hugo() -> Tool:
    exe = find_hugo()
    return Tool("hugo", exe, version_of(exe, "version") if exe else None, "" if exe else HUGO_MISSING)


def pagefind() -> Tool:
    exe = find_pagefind()
    return Tool("pagefind", exe, version_of(exe, "--version") if exe else None, "" if exe else PAGEFIND_MISSING)
