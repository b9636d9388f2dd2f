"""Errors a user can cause, and how they are shown.

Every failure caused by input (a dump, ``site.yml``, a content file, a theme)
is raised as :class:`SitegenError`.  The CLI prints ``str(error)`` -- one
paragraph naming the file, the line where there is one, what was expected and
what to do -- and exits 1.  Anything else is a bug in sitegen and keeps its
traceback (shown with ``--debug``, summarised otherwise).
"""

from __future__ import annotations

import os
from pathlib import Path


class SitegenError(Exception):
    """A problem with the user's input or environment, with a location."""

    def __init__(self, message: str, path: str | Path | None = None,
                 line: int | None = None, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.path = str(path) if path is not None else None
        self.line = line
        self.hint = hint

    def __reduce__(self):
        # Errors raised in forked build workers travel back pickled: keep file and line.
        return _rebuild, (type(self), dict(self.__dict__))

    def location(self) -> str:
        if self.path is None:
            return ""
        path = self.path
        try:   # shorter and clickable: relative to where the user is, when inside it
            rel = os.path.relpath(path)
            if not rel.startswith(".."):
                path = rel
        except ValueError:
            pass
        return f"{path}:{self.line}" if self.line else path

    def __str__(self) -> str:
        loc = self.location()
        text = f"{loc}: {self.message}" if loc else self.message
        if self.hint:
            text += f" {self.hint}"
        return text


class ConfigError(SitegenError):
    """``site.yml`` is missing or invalid; ``problems`` lists every bad key."""

    def __init__(self, path: str | Path, problems: list[str]):
        self.problems = problems
        if len(problems) == 1:
            message = problems[0]
        else:
            message = f"{len(problems)} problems:\n" + "\n".join(f"  - {p}" for p in problems)
        super().__init__(message, path)


class DumpError(SitegenError):
    """A dump file does not follow the digest format."""


class ContentError(SitegenError):
    """A file under ``content/`` has bad front matter."""


class ThemeError(SitegenError):
    """A theme is missing or a template fails to compile or render."""


class BuildError(SitegenError):
    """The build cannot write its output or another build holds the lock."""


class MultiError(SitegenError):
    """Several independent input errors, reported together (``--keep-going``)."""

    def __init__(self, errors: list[SitegenError]):
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors))

    def __str__(self) -> str:
        return self.message


def _rebuild(cls: type, state: dict) -> SitegenError:
    err = cls.__new__(cls)
    Exception.__init__(err, state.get("message", ""))
    err.__dict__.update(state)
    return err
