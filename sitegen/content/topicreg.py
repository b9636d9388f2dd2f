"""``content/topics.yml``: the topic registry, the permalinks of topics.

A topic's URL is ``topics/<slug>/``.  The first build that publishes a topic writes its slug
here; from then on the slug is read, never recomputed, so a topic's URL survives a re-ingest, a
new day, a new month's vocabulary, a ``rename:`` and a cold build (the registry is content,
like ``content/papers/<slug>.md``: commit it).  Entries are never removed: a registered topic
stays a topic (its page persists) even when the vocabulary rule would drop it later.

One entry per topic key (the phrase's stems run together, :func:`sitegen.model.topics.phrase_key`)::

    topics:
      gaussiansplat: {slug: gaussian-splatting, name: gaussian splatting, since: 2025-03, kind: phrase}

``name`` is the shown form when it was registered, ``since`` the month (``YYYY-MM``) of the
newest day then, ``kind`` ``phrase`` (derived from the text) or ``tag`` (only from hand
``tags:``).  Read with typed checks: a bad entry is a :class:`ContentError` with file and line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from sitegen.atomic import write_if_changed
from sitegen.errors import ContentError

REGISTRY_NAME = "topics.yml"
KINDS = ("phrase", "tag")
_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_MONTH = re.compile(r"^[0-9]{4}-[0-9]{2}$")
_HEADER = ("# The topic registry: each topic's permanent URL slug (topics/<slug>/). Written by `sitegen build`;\n"
           "# commit it with content/. Edit a slug only to fix it before publishing: a published URL must stay.\n")


@dataclass(frozen=True)
class Entry:
    key: str
    slug: str
    name: str
    since: str
    kind: str = "phrase"


def registry_path(content_dir: Path) -> Path:
    return content_dir / REGISTRY_NAME


def load(path: Path) -> dict[str, Entry]:
    """The registry (key -> entry, sorted by key); a missing file is an empty registry."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as e:
        raise ContentError(f"cannot read the topic registry: {e}", path) from None
    try:
        root = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))   # libyaml: ~10x faster
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        raise ContentError(f"not valid YAML: {getattr(e, 'problem', e)}", path,
                           mark.line + 1 if mark else None) from None
    if root is None:
        return {}
    topics = _mapping(root, path, "the file")
    node = topics.get("topics")
    if node is None or (isinstance(node[1], yaml.ScalarNode) and node[1].value in ("", "~", "null")):
        return {}
    out: dict[str, Entry] = {}
    for key, (knode, vnode) in _mapping(node[1], path, "'topics'").items():
        out[key] = _entry(key, vnode, path)
    slugs: dict[str, str] = {}
    for e in out.values():
        if e.slug in slugs:
            raise ContentError(f"topics.{e.key}.slug: {e.slug!r} is also the slug of {slugs[e.slug]!r}; "
                               "every topic needs its own URL.", path)
        slugs[e.slug] = e.key
    return dict(sorted(out.items()))


def _mapping(node, path: Path, what: str) -> dict[str, tuple]:
    if not isinstance(node, yaml.MappingNode):
        raise ContentError(f"{what}: expected a mapping", path, node.start_mark.line + 1)
    out = {}
    for k, v in node.value:
        if not isinstance(k, yaml.ScalarNode) or not k.value:
            raise ContentError(f"{what}: expected text keys", path, k.start_mark.line + 1)
        out[k.value] = (k, v)
    return out


def _entry(key: str, node, path: Path) -> Entry:
    line = node.start_mark.line + 1
    fields = _mapping(node, path, f"topics.{key}")
    values: dict[str, str] = {}
    for name in ("slug", "name", "since", "kind"):
        got = fields.get(name)
        if got is None:
            if name == "kind":
                values[name] = "phrase"
                continue
            raise ContentError(f"topics.{key}: missing '{name}'", path, line)
        v = got[1]
        if not isinstance(v, yaml.ScalarNode) or not v.value.strip():
            raise ContentError(f"topics.{key}.{name}: expected text", path, v.start_mark.line + 1)
        values[name] = v.value.strip()
    unknown = sorted(set(fields) - {"slug", "name", "since", "kind"})
    if unknown:
        raise ContentError(f"topics.{key}: unknown key {unknown[0]!r}; allowed: kind, name, since, slug", path, line)
    checks = (("slug", _SLUG.match(values["slug"]), "a slug (lowercase a-z, 0-9 and single '-')"),
              ("since", _MONTH.match(values["since"]), "a month, YYYY-MM"),
              ("kind", values["kind"] in KINDS, "phrase or tag"))
    for name, ok, expected in checks:
        if not ok:
            raise ContentError(f"topics.{key}.{name}: expected {expected}, got {values[name]!r}", path,
                               fields[name][1].start_mark.line + 1)
    return Entry(key, values["slug"], values["name"], values["since"], values["kind"])


def dumps(entries: dict[str, Entry]) -> str:
    data = {"topics": {k: {"slug": e.slug, "name": e.name, "since": e.since, "kind": e.kind}
                       for k, e in sorted(entries.items())}}
    return _HEADER + yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=1000, default_flow_style=None)


def save(path: Path, entries: dict[str, Entry]) -> bool:
    """Write the registry (atomically) unless it already holds exactly this; True if written."""
    return write_if_changed(path, dumps(entries).encode("utf-8"))
