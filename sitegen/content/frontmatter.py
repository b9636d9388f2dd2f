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

from sitegen.errors import ContentError
from sitegen.text import strip_controls

try:  # libyaml is ~10x faster; identical results for the safe subset we write
    _CLoader: Any = yaml.CSafeLoader
    _Dumper: Any = yaml.CSafeDumper
except AttributeError:  # pragma: no cover - PyYAML without libyaml
    _CLoader, _Dumper = None, yaml.SafeDumper


MAX_DEPTH = 50               # nesting levels in hand-written YAML (front matter, site.yml)
MAX_FRONT_MATTER_CHARS = 1 << 20   # a paper's is < 2,000; a day listing 10,000 papers ~850,000
_C_LOADER_MAX_OPENERS = 5_000    # libyaml recurses in C: far deeper nesting crashes the process
TOO_DEEP = f"nested more than {MAX_DEPTH} levels deep: expected at most {MAX_DEPTH} levels of lists and mappings"


class YAMLProblem(Exception):
    """Hand-written YAML that cannot be read: ``problem`` (our wording where we have one),
    the 0-based ``line`` if known, and ``too_deep`` when it is our nesting limit."""

    def __init__(self, problem: str, line: int | None = None, too_deep: bool = False):
        super().__init__(problem)
        self.problem, self.line, self.too_deep = problem, line, too_deep


def _short_tag(tag: str) -> str:
    return "!!" + tag[len("tag:yaml.org,2002:"):] if tag.startswith("tag:yaml.org,2002:") else tag


def _undefined(loader, node):
    raise yaml.constructor.ConstructorError(
        None, None, f"the tag {_short_tag(node.tag)!r} is not allowed: expected plain values (strings, "
        "numbers, dates, lists, mappings)", node.start_mark)


def _timestamp(loader, node):
    try:
        return yaml.constructor.SafeConstructor.construct_yaml_timestamp(loader, node)
    except (ValueError, OverflowError):
        raise yaml.constructor.ConstructorError(
            None, None, f"{node.value!r} is not a real date: expected YYYY-MM-DD with a month from 01 to 12 "
            "and a day that month has", node.start_mark) from None


def _with_our_messages(loader: type) -> type:
    """Constructors whose failures are worded by us, not by PyYAML or datetime."""
    loader.add_constructor(None, _undefined)
    loader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp)
    return loader


class _CappedLoader(yaml.SafeLoader):
    """The pure-Python safe loader, refusing nesting deeper than MAX_DEPTH as it scans: deep
    flow nesting makes its scanner quadratic (5,000 ``[`` took 4 s) and its composer recurse."""

    def _too_deep(self):
        return yaml.scanner.ScannerError(None, None, TOO_DEEP, self.get_mark())

    def fetch_flow_collection_start(self, TokenClass):
        if self.flow_level >= MAX_DEPTH:
            raise self._too_deep()
        super().fetch_flow_collection_start(TokenClass)

    def add_indent(self, column):
        if len(self.indents) >= MAX_DEPTH:
            raise self._too_deep()
        return super().add_indent(column)


_with_our_messages(_CappedLoader)
_FastLoader: Any = _with_our_messages(type("_FastLoader", (_CLoader,), {})) if _CLoader else None


def _load(text: str, loader: Any) -> Any:
    try:
        return yaml.load(text, Loader=loader)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        problem = str(e.problem or e.context or "syntax error")
        raise YAMLProblem(problem, mark.line if mark else None, too_deep=problem == TOO_DEEP) from None
    except yaml.reader.ReaderError as e:
        ch = e.character if isinstance(e.character, int) else ord(e.character or "\0")
        raise YAMLProblem(f"character #x{ch:04x} is not allowed ({e.reason})",
                          text[:e.position].count("\n")) from None
    except yaml.YAMLError as e:
        raise YAMLProblem(str(e).replace("\n", " ")) from None
    except RecursionError:
        raise YAMLProblem(TOO_DEEP, too_deep=True) from None
    except (ValueError, TypeError, KeyError, OverflowError) as e:
        # The constructors' own errors: `!!int abc`, `!!bool maybe`.
        raise YAMLProblem(f"a value cannot be read ({type(e).__name__}: {e})") from None


def load_yaml(text: str, fast: bool = True) -> Any:
    """Parse untrusted YAML (safe subset); every failure is a :class:`YAMLProblem`, never a crash.

    ``fast`` uses libyaml, unless the text could nest very deeply (many ``[``, ``{``, ``-``,
    ``?``, ``:``): libyaml's composer recurses in C and crashes the process (segfault) at
    ~100,000 levels.  Otherwise, and whenever libyaml refuses the text, the pure-Python loader,
    capped at MAX_DEPTH levels: so the problem reported is worded by us where it is ours (our
    nesting limit, tags, dates), whatever limits and wording the installed libyaml has.
    """
    if not (fast and _FastLoader is not None and sum(text.count(c) for c in "[{-?:") < _C_LOADER_MAX_OPENERS):
        value = _load(text, _CappedLoader)
        _check_depth(value)
        return value
    try:
        value = _load(text, _FastLoader)
        _check_depth(value)
    except YAMLProblem:
        value = _load(text, _CappedLoader)    # raises the first problem, in our words, with its line
        _check_depth(value)                   # (aliases, or lists in mappings past MAX_DEPTH: no line)
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
                raise YAMLProblem(TOO_DEEP, too_deep=True)
            h = heights[id(v)] = 1 + max((height(c, depth + 1) for c in children), default=0)
        if depth + h > MAX_DEPTH:
            raise YAMLProblem(TOO_DEEP, too_deep=True)
        return h

    height(value, 0)


def dumps(meta: dict[str, Any], body: str) -> str:
    """Serialise front matter and body. ``body`` ends with exactly one newline (or is empty)."""
    head = yaml.dump(meta, Dumper=_Dumper, sort_keys=False, allow_unicode=True,
                     width=10_000, default_flow_style=False)
    text = f"---\n{head}---\n"
    body = body.strip("\n")
    return text + (f"\n{body}\n" if body else "")


def parse(text: str, path: Path,
          warnings: list[str] | None = None) -> tuple[dict[str, Any], str, dict[str, int]]:
    """Split and parse a content file: (meta, body, {key: line number}).

    Text is cleaned like a dump's: control characters and what XML cannot carry
    (:data:`~sitegen.text.CONTROL`) are removed from every string value and from the body,
    each removal reported in ``warnings`` as ``file:line: ...``; a NUL byte is an error.
    """
    if text.startswith("\ufeff"):
        text = text[1:]
    text = text.replace("\r\n", "\n")
    if "\x00" in text:
        raise ContentError("contains a NUL byte: expected UTF-8 text. Is this a binary file?",
                           path, text[:text.index("\x00")].count("\n") + 1)
    if not text.startswith("---\n"):
        raise ContentError("couldn't find front matter. Did you forget the opening `---` line?", path, 1)
    end = text.find("\n---\n", 3)
    if end == -1:
        if text.endswith("\n---"):
            end = len(text) - 4
        else:
            raise ContentError("front matter is not closed. Did you forget the closing `---` line?", path, 1)
    head = text[4:end + 1]
    raw_body = text[end + 5:]
    if len(head) > MAX_FRONT_MATTER_CHARS:    # bounds the time the YAML parsers can take
        raise ContentError(f"front matter is {len(head):,} characters long; expected at most "
                           f"{MAX_FRONT_MATTER_CHARS:,} (a paper's is under 2,000).", path, 2)
    try:
        meta = load_yaml(head)
    except YAMLProblem as e:
        what = "is " if e.too_deep else "is not valid YAML: "
        raise ContentError(f"front matter {what}{e.problem}.", path,
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
    body = raw_body.strip("\n")
    memo: dict[int, Any] = {}
    cleaned: dict[str, Any] = {}
    for key, value in meta.items():
        new_key, new_value = _clean(key, memo), _clean(value, memo)
        if (new_key is not key or new_value is not value) and warnings is not None:
            warnings.append(f"{path}:{lines.get(key, 2)}: removed control characters from {_name(new_key)!r}")
        cleaned[new_key] = new_value
    clean_body, first = strip_controls(body)
    if first >= 0 and warnings is not None:
        body_line = text[:end + 5].count("\n") + 1 + len(raw_body) - len(raw_body.lstrip("\n"))
        warnings.append(f"{path}:{body_line + body[:first].count(chr(10))}: removed control characters "
                        "from the body")
    return cleaned, clean_body, {_clean(k, memo): no for k, no in lines.items()}


def _clean(v: Any, memo: dict[int, Any]) -> Any:
    """``v`` with :data:`~sitegen.text.CONTROL` characters removed from every string in it: ``v``
    itself when there were none.  Linear in the number of distinct nodes (aliases are shared)."""
    if isinstance(v, str):
        return strip_controls(v)[0]
    if not isinstance(v, (list, dict, set)):
        return v
    if id(v) in memo:
        return memo[id(v)]
    memo[id(v)] = v      # (cycles cannot reach here: load_yaml refuses them)
    if isinstance(v, dict):
        items = [(_clean(k, memo), _clean(x, memo)) for k, x in v.items()]
        same = all(k2 is k and x2 is x for (k2, x2), (k, x) in zip(items, v.items()))
        out: Any = v if same else dict(items)
    else:
        new = [_clean(x, memo) for x in v]
        same = all(a is b for a, b in zip(new, v))
        out = v if same else (new if isinstance(v, list) else set(new))
    memo[id(v)] = out
    return out


def _name(key: Any) -> str:
    return key if isinstance(key, str) else repr(key)


def read(path: Path, warnings: list[str] | None = None) -> tuple[dict[str, Any], str, dict[str, int]]:
    try:
        data = path.read_bytes()
    except OSError as e:
        raise ContentError(f"cannot be read: {e.strerror}.", path) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ContentError(f"is not UTF-8 text (byte offset {e.start}).", path,
                           data[:e.start].count(b"\n") + 1) from None
    return parse(text, path, warnings)


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
