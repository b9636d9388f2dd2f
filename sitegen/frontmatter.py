"""``---`` YAML front matter: written with ``safe_dump``, read back with type checks.

Writing: every value ingest owns is a string or a list of strings, so
``safe_dump`` quotes anything YAML would otherwise reinterpret (``'2401.10010'``,
``'no'``, ``'2025-03-12'``).  Reading: hand edits happen, so
:func:`read` returns the raw mapping and :func:`expect_str` and friends turn a
wrong type into a :class:`ContentError` naming the file, the line and the fix.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import yaml

from .errors import ContentError

try:  # libyaml is ~10x faster; identical results for the safe subset we write
    _Loader: Any = yaml.CSafeLoader
    _Dumper: Any = yaml.CSafeDumper
except AttributeError:  # pragma: no cover - PyYAML without libyaml
    _Loader, _Dumper = yaml.SafeLoader, yaml.SafeDumper


MAX_DEPTH = 50               # nesting levels in hand-written YAML (front matter, site.yml)
_C_LOADER_MAX_OPENERS = 5_000    # libyaml recurses in C: far deeper nesting crashes the process


class YAMLProblem(Exception):
    """Hand-written YAML that cannot be read: ``problem`` and the 0-based ``line`` if known."""

    def __init__(self, problem: str, line: int | None = None):
        super().__init__(problem)
        self.problem, self.line = problem, line


class _CappedLoader(yaml.SafeLoader):
    """The pure-Python safe loader, refusing nesting deeper than MAX_DEPTH as it scans: deep
    flow nesting makes its scanner quadratic (5,000 ``[`` took 4 s) and its composer recurse."""

    def _too_deep(self):
        return yaml.scanner.ScannerError(None, None, f"nested more than {MAX_DEPTH} levels deep",
                                         self.get_mark())

    def fetch_flow_collection_start(self, TokenClass):
        if self.flow_level >= MAX_DEPTH:
            raise self._too_deep()
        super().fetch_flow_collection_start(TokenClass)

    def add_indent(self, column):
        if len(self.indents) >= MAX_DEPTH:
            raise self._too_deep()
        return super().add_indent(column)


def load_yaml(text: str, fast: bool = True) -> Any:
    """Parse untrusted YAML (safe subset); every failure is a :class:`YAMLProblem`, never a crash.

    ``fast`` uses libyaml, unless the text could nest very deeply (many ``[``, ``{``, ``-``,
    ``?``, ``:``): libyaml's composer recurses in C and crashes the process (segfault) at
    ~100,000 levels.  Otherwise the pure-Python loader, capped at MAX_DEPTH levels.
    """
    openers = sum(text.count(c) for c in "[{-?:")
    loader = _Loader if fast and openers < _C_LOADER_MAX_OPENERS else _CappedLoader
    try:
        value = yaml.load(text, Loader=loader)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        raise YAMLProblem(str(e.problem or e.context or "syntax error"), mark.line if mark else None) from None
    except yaml.reader.ReaderError as e:
        ch = e.character if isinstance(e.character, int) else ord(e.character or "\0")
        raise YAMLProblem(f"character #x{ch:04x} is not allowed ({e.reason})",
                          text[:e.position].count("\n")) from None
    except yaml.YAMLError as e:
        raise YAMLProblem(str(e).replace("\n", " ")) from None
    except RecursionError:
        raise YAMLProblem(f"nested more than {MAX_DEPTH} levels deep") from None
    except (ValueError, TypeError, KeyError, OverflowError) as e:
        # The constructors' own errors: `2025-02-30`, `!!int abc`, `!!bool maybe`.
        raise YAMLProblem(f"a value cannot be read ({type(e).__name__}: {e})") from None
    _check_depth(value)
    return value


def _check_depth(value: Any) -> None:
    """Reject nesting deeper than MAX_DEPTH (and self-referencing aliases), in linear time."""
    heights: dict[int, int] = {}

    def height(v: Any, depth: int) -> int:
        if isinstance(v, dict):
            children = [*v.keys(), *v.values()]
        elif isinstance(v, (list, tuple, set, frozenset)):
            children = list(v)
        else:
            return 0
        h = heights.get(id(v))
        if h is None:
            if depth >= MAX_DEPTH:
                raise YAMLProblem(f"nested more than {MAX_DEPTH} levels deep")
            h = heights[id(v)] = 1 + max((height(c, depth + 1) for c in children), default=0)
        if depth + h > MAX_DEPTH:
            raise YAMLProblem(f"nested more than {MAX_DEPTH} levels deep")
        return h

    height(value, 0)


def dumps(meta: dict[str, Any], body: str) -> str:
    """Serialise front matter and body. ``body`` ends with exactly one newline (or is empty)."""
    head = yaml.dump(meta, Dumper=_Dumper, sort_keys=False, allow_unicode=True,
                     width=10_000, default_flow_style=False)
    text = f"---\n{head}---\n"
    body = body.strip("\n")
    return text + (f"\n{body}\n" if body else "")


def parse(text: str, path: Path) -> tuple[dict[str, Any], str, dict[str, int]]:
    """Split and parse a content file: (meta, body, {key: line number})."""
    if text.startswith("\ufeff"):
        text = text[1:]
    text = text.replace("\r\n", "\n")
    if not text.startswith("---\n"):
        raise ContentError("couldn't find front matter. Did you forget the opening `---` line?", path, 1)
    end = text.find("\n---\n", 3)
    if end == -1:
        if text.endswith("\n---"):
            end = len(text) - 4
        else:
            raise ContentError("front matter is not closed. Did you forget the closing `---` line?", path, 1)
    head = text[4:end + 1]
    body = text[end + 5:]
    try:
        meta = load_yaml(head)
    except YAMLProblem as e:
        raise ContentError(f"front matter is not valid YAML: {e.problem}.", path,
                           e.line + 2 if e.line is not None else None) from None
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise ContentError(f"front matter must be a mapping of keys to values, got {type(meta).__name__}.",
                           path, 2)
    lines = {}
    for no, line in enumerate(head.split("\n"), start=2):
        key = line.split(":", 1)[0]
        if key and not key.startswith((" ", "-", "#")) and key in meta:
            lines.setdefault(key, no)
    return meta, body.strip("\n"), lines


def read(path: Path) -> tuple[dict[str, Any], str, dict[str, int]]:
    try:
        data = path.read_bytes()
    except OSError as e:
        raise ContentError(f"cannot be read: {e.strerror}.", path) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ContentError(f"is not UTF-8 text (byte offset {e.start}).", path,
                           data[:e.start].count(b"\n") + 1) from None
    return parse(text, path)


def as_date(v: Any) -> dt.date | None:
    """A YAML value as a date: a date, a datetime or an ISO string; None if it is none of them."""
    if isinstance(v, dt.datetime):
        return v.date()
    if isinstance(v, dt.date):
        return v
    if isinstance(v, str):
        try:
            return dt.date.fromisoformat(v)
        except ValueError:
            return None
    return None


class Fields:
    """Typed access to one file's front matter, errors naming file and line."""

    def __init__(self, meta: dict[str, Any], path: Path, lines: dict[str, int]):
        self.meta, self.path, self.lines = meta, path, lines

    def _raw(self, key: str) -> str | None:
        """The value as written in the file (``2401.10010``, ``no``), for the quoting hint."""
        no = self.lines.get(key)
        try:
            line = self.path.read_text(encoding="utf-8-sig").replace("\r\n", "\n").split("\n")[no - 1]
        except (OSError, UnicodeDecodeError, IndexError, TypeError):
            return None
        head, sep, value = line.partition(":")
        value = value.split(" #", 1)[0].strip()
        return value if sep and head == key and value else None

    def _fail(self, key: str, expected: str, got: Any) -> ContentError:
        hint = ""
        if isinstance(got, (int, float, bool)) and expected.startswith("a string"):
            # str(got) would turn `2401.10010` into '2401.1001' and `no` into 'False'.
            raw = self._raw(key) or str(got)
            quoted = "'" + raw.replace("'", "''") + "'"
            hint = f" Quote it: {key}: {quoted}"
        elif "list" in expected and isinstance(got, (str, int, float, bool, dt.date)):
            raw = self._raw(key) or str(got)
            quoted = "'" + raw.strip("'\"").replace("'", "''") + "'"
            hint = f" Write a list, quoting the items: {key}: [{quoted}]"
        return ContentError(f"'{key}': expected {expected}, got {type(got).__name__} ({got!r}).{hint}",
                            self.path, self.lines.get(key))

    def str(self, key: str, required: bool = True) -> str | None:
        v = self.meta.get(key)
        if v is None:
            if required:
                raise ContentError(f"front matter has no '{key}'. Add `{key}: ...` or re-run "
                                   "`sitegen ingest`.", self.path, 1)
            return None
        if not isinstance(v, str):
            raise self._fail(key, "a string", v)
        return v

    def date(self, key: str) -> dt.date:
        v = self.meta.get(key)
        d = as_date(v)
        if d is not None:
            return d
        if v is None:
            raise ContentError(f"front matter has no '{key}'. Add `{key}: YYYY-MM-DD`.", self.path, 1)
        raise self._fail(key, "a date YYYY-MM-DD", v)

    def str_list(self, key: str) -> list[str]:
        v = self.meta.get(key)
        if v is None:
            return []
        if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
            raise self._fail(key, "a list of strings", v)
        return v

    def date_list(self, key: str) -> list[dt.date]:
        v = self.meta.get(key)
        if not isinstance(v, list) or not v:
            raise self._fail(key, "a non-empty list of dates YYYY-MM-DD", v)
        out = []
        for x in v:
            d = as_date(x)
            if d is None:
                raise self._fail(key, "a list of dates YYYY-MM-DD", v)
            out.append(d)
        return out
