"""``sitegen check``, HTML pages: each page whole, with its CSP, absolute canonical URLs, and no broken links.

Every ``.html`` file is read once.  *Whole* means: it ends with ``</html>``
and its elements nest (every element that HTML requires to be closed is
closed, in order; void elements and end tags HTML lets you omit -- ``</p>``,
``</li>`` ... -- are understood).  Tags are found with a regular expression
over our own machine-written HTML (attribute values are escaped, so a ``>``
never appears inside one): ``html.parser`` would cost ~35 s at 50,000 pages,
this ~5 s.  Then the ``<head>`` must carry the Content-Security-Policy
``<meta>`` (without ``'unsafe-inline'``/``'unsafe-eval'``), a
``<link rel=canonical>`` or ``og:url``, if present, must be absolute, and
every internal ``href``/``src``/``action`` (fragments too) must exist.
"""

from __future__ import annotations

import html
import re
from sitegen.checks.site import BuiltSite, is_absolute_url

ATTR = re.compile(rb'\s(href|src|action)="([^"]*)"')
ID = re.compile(rb'\sid="([^"]*)"')
# comment | <script>/<style> with its raw text | start or end tag (group 2 "/", 3 name, 4 attributes)
TOKEN = re.compile(rb'<!--.*?-->|<(script|style)\b[^>]*>.*?</\1\s*>'
                   rb'|<(/?)([A-Za-z][A-Za-z0-9-]*)((?:\s(?:[^>"\']+|"[^"]*"|\'[^\']*\')*)?)>', re.S | re.I)
VOID = frozenset(b"area base br col embed hr img input link meta source track wbr param".split())
OPTIONAL_END = frozenset(b"p li dt dd option optgroup tr td th thead tbody tfoot colgroup caption "
                         b"rb rt rtc rp head body html".split())
CSP = re.compile(rb'<meta\s[^>]*http-equiv="Content-Security-Policy"[^>]*>', re.I)
CANONICAL = re.compile(rb'<link\s[^>]*rel="canonical"[^>]*>', re.I)
OG_URL = re.compile(rb'<meta\s[^>]*property="og:url"[^>]*>', re.I)
ATTR_VALUE = {name: re.compile(rb'\s' + name + rb'="([^"]*)"', re.I) for name in (b"href", b"content")}


def check_pages(site: BuiltSite, problems: list[str]) -> tuple[int, int]:
    """Check every HTML page; returns (pages, links) counted."""
    if "404.html" not in site.files:
        problems.append("404.html: missing (hosts show it for unknown URLs; the theme's 404.html template makes it)")
    ids: dict[str, set[bytes]] = {}
    later: list[tuple[str, str, str, str]] = []     # (page, url, target, fragment) once every page's ids are known
    pages = links = 0
    for page in sorted(f for f in site.files if f.endswith(".html")):
        data = site.read(page)
        if data is None:
            continue
        pages += 1
        own_ids: set[bytes] | None = set(ID.findall(data))
        whole = _whole(data)
        if whole:   # reported once: fragments in or into a broken page are not checked
            problems.append(f"{page}: {whole}")
            own_ids = None
        else:
            ids[page] = own_ids
        _check_head(page, data, problems)
        links += _check_links(site, page, data, own_ids, later, problems)
    for page, url, target, frag in later:
        if target in ids and frag.encode() not in ids[target]:
            problems.append(f"{page}: link {url!r}: no id {frag!r} in {target}")
    return pages, links


def _whole(data: bytes) -> str | None:
    """Why ``data`` is not a whole HTML document, or None."""
    if not data[-64:].rstrip().lower().endswith(b"</html>"):
        return "truncated: the page does not end with </html>"
    tokens = TOKEN.findall(data)
    stack: list[bytes] = []
    for k, (_raw, slash, name, attrs) in enumerate(tokens):
        if not name:
            continue        # a comment, or a script/style element with its content
        name = name.lower()
        if not slash:
            if name not in VOID and not attrs.endswith(b"/"):
                stack.append(name)
            continue
        if stack and stack[-1] == name:
            stack.pop()
            continue
        if name in VOID:
            continue
        if name in stack:
            i = len(stack) - 1 - stack[::-1].index(name)
            still_open = [t for t in stack[i + 1:] if t not in OPTIONAL_END]
            if not still_open:
                del stack[i:]
                continue
            return (f"broken HTML at line {_line(data, k)}: </{name.decode()}> while "
                    f"<{still_open[-1].decode()}> is still open")
        return f"broken HTML at line {_line(data, k)}: </{name.decode()}> closes no open element"
    unclosed = [t.decode() for t in stack if t not in OPTIONAL_END]
    if unclosed:
        return f"broken HTML: <{unclosed[-1]}> is never closed"
    return None


def _line(data: bytes, k: int) -> int:
    """Line of the k-th token (only computed for a page that is broken)."""
    for i, m in enumerate(TOKEN.finditer(data)):
        if i == k:
            return data.count(b"\n", 0, m.start()) + 1
    return data.count(b"\n") + 1


def _attr(tag: bytes, name: bytes) -> str | None:
    m = ATTR_VALUE[name].search(tag)
    return html.unescape(m.group(1).decode("utf-8", "replace")) if m else None


def _check_head(page: str, data: bytes, problems: list[str]) -> None:
    end = data.find(b"</head>")
    head = data[:end] if end >= 0 else b""
    csp = CSP.search(head)
    policy = _attr(csp.group(), b"content") if csp else None
    if not policy:
        problems.append(f'{page}: no <meta http-equiv="Content-Security-Policy" content="..."> in its <head> '
                        "(the theme's base template must carry the CSP)")
    elif "'unsafe-inline'" in policy or "'unsafe-eval'" in policy:
        problems.append(f"{page}: its Content-Security-Policy allows 'unsafe-inline' or 'unsafe-eval'")
    for rx, what, attr in ((CANONICAL, "<link rel=canonical>", b"href"), (OG_URL, "og:url", b"content")):
        tag = rx.search(head)
        if tag is None:
            continue        # omitted when base_url has no host: fine
        url = _attr(tag.group(), attr) or ""
        if not is_absolute_url(url):
            problems.append(f"{page}: {what} URL {url!r} is not absolute (it needs a scheme and host, "
                            "e.g. https://example.org/...)")


def _check_links(site: BuiltSite, page: str, data: bytes, own_ids: set[bytes] | None,
                 later: list[tuple[str, str, str, str]], problems: list[str]) -> int:
    links = 0
    for _attr_name, raw in ATTR.findall(data):
        url = raw.decode("utf-8", "replace").replace("&amp;", "&")
        if url.startswith(("#", "mailto:")) and url != "#":
            frag = url[1:]
            if url.startswith("#") and frag and own_ids is not None and frag.encode() not in own_ids:
                problems.append(f"{page}: link to missing fragment {url!r}")
            continue
        links += 1
        target = site.resolve(page, url)
        if target is None:
            continue
        if target is False:
            why = ("is root-relative, which file:// cannot follow" if site.offline and url.startswith("/")
                   else f"leaves the site's base path {site.base!r}")
            problems.append(f"{page}: link {url!r} {why}")
            continue
        if target not in site.files:
            problems.append(f"{page}: broken link {url!r} (no {target})")
            continue
        frag = url.partition("#")[2]
        if frag and target.endswith(".html"):
            if target == page:
                if own_ids is not None and frag.encode() not in own_ids:
                    problems.append(f"{page}: link {url!r}: no id {frag!r} in {target}")
            else:
                later.append((page, url, target, frag))
    return links
