"""TeX in dump text: accent commands to Unicode, inline math to sanitised MathML.

Authors paste TeX into titles and abstracts (``T\\"ulu``, ``$\\mathcal{O}(n)$``,
``\\( A \\)``, ``5\\%``).  :func:`segments` splits a plain text into text and
math pieces; :func:`decode` gives the text with accents decoded and math left
as its source (for ``<title>``, meta descriptions, BibTeX).  Search, feeds and
the API keep the raw text.

Rules (conservative: what is not clearly TeX stays exactly as it was):

- Accents: ``\\"u``, ``\\"{u}``, ``{\\"u}``, ``\\'e``, ``\\`a``, ``\\^o``, ``\\~n``,
  ``\\=a``, ``\\.z``, and with a letter argument ``\\c{c}``, ``\\v{s}``, ``\\u{g}``,
  ``\\H{o}``, ``\\k{a}``, ``\\r{a}``; a dotless ``\\i`` may be the base.  Only when
  the accent and letter compose to one Unicode character.  ``\\'s`` after a
  letter and before a non-letter (``MLLM\\'s``) is an apostrophe.  Letters:
  ``\\ss \\o \\O \\aa \\AA \\ae \\AE \\oe \\OE \\l \\L`` (a following space is kept, unlike TeX).  Escapes: ``\\% \\& \\# \\_ \\$``.
  ``--`` and ``~`` are left alone: abstracts use them as ordinary text.
- Math: ``$...$`` by Pandoc's rule (the opening ``$`` has a non-space on its
  right, the closing one a non-space on its left and no digit after it, so
  ``$5 and $10`` and ``$10M-$20M`` stay text), ``$$...$$`` and ``\\(...\\)``; at
  most 400 characters, balanced braces, and converted by latex2mathml without
  an unknown command.  Otherwise the source stays as text.
- Safety: the MathML is re-serialised from latex2mathml's element tree through
  a whitelist of elements and attribute values; every text node is escaped.
  Anything outside the whitelist rejects the formula (it stays text).
"""

from __future__ import annotations

import html
import re
import unicodedata
from functools import lru_cache
from xml.etree.ElementTree import Element

MAX_MATH = 400
_COMBINING = {'"': "\u0308", "'": "\u0301", "`": "\u0300", "^": "\u0302", "~": "\u0303", "=": "\u0304",
              ".": "\u0307", "c": "\u0327", "v": "\u030c", "u": "\u0306", "H": "\u030b", "k": "\u0328",
              "r": "\u030a"}
_LETTERS = {"ss": "ß", "o": "ø", "O": "Ø", "aa": "å", "AA": "Å", "ae": "æ", "AE": "Æ", "oe": "œ",
            "OE": "Œ", "l": "ł", "L": "Ł"}
_ESCAPES = {"%": "%", "&": "&", "#": "#", "_": "_", "$": "$"}

_BASE = r"(?:[A-Za-z]|\\i(?![A-Za-z]))"
# Every match starts at "\\" or "{\\" (decode_text relies on it to skip ahead with str.find).
_ACCENT = re.compile(
    r"(?<=[A-Za-z0-9])\\'(?P<poss>s)(?![A-Za-z])"                        # MLLM\'s: an apostrophe
    r"|\{\\(?P<s1>[\"'`^~=.])\s*(?P<b1>" + _BASE + r")\}"                  # {\"u}
    r"|\\(?P<s2>[\"'`^~=.])\s*\{(?P<b2>" + _BASE + r")\}"                 # \"{u}
    r"|\\(?P<s3>[\"'`^~=.])(?P<b3>" + _BASE + r")"                        # \"u
    r"|\{\\(?P<w1>[cvuHkr])\s*\{?(?P<b4>" + _BASE + r")\}?\}"             # {\v s} {\v{s}}
    r"|\\(?P<w2>[cvuHkr])(?:\{(?P<b5>" + _BASE + r")\}|\s+(?P<b6>[A-Za-z])(?![A-Za-z]))"   # \v{s} \c c
    r"|\{\\(?P<l1>ss|aa|AA|ae|AE|oe|OE|o|O|l|L)\}"                        # {\ss}
    r"|\\(?P<l2>ss|aa|AA|ae|AE|oe|OE|o|O|l|L)(?![A-Za-z])(?:\{\})?"            # \ss, \ss{}
    r"|\\(?P<e>[%&#_$])")
# Math spans, tried only where a delimiter starts ("$", "\\("); _math_spans() checks that the
# delimiter is not escaped (\$) and that an inline "$" is not the second half of "$$".
_MATH = re.compile(
    r"\$\$(?P<d>[^$]{1,%d}?)\$\$"
    r"|\$(?P<i>[^\s$](?:[^$]{0,%d}[^\s\\$])?)\$(?![\d$])"
    r"|\\\((?P<p>.{1,%d}?)\\\)" % (MAX_MATH, MAX_MATH - 2, MAX_MATH), re.S)


def _accent(m: re.Match) -> str:
    g = m.groupdict()
    if g["poss"]:
        return "'s"
    if g["e"]:
        return _ESCAPES[g["e"]]
    letter = g["l1"] or g["l2"]
    if letter:
        return _LETTERS[letter]
    sym = g["s1"] or g["s2"] or g["s3"] or g["w1"] or g["w2"]
    base = g["b1"] or g["b2"] or g["b3"] or g["b4"] or g["b5"] or g["b6"]
    base = "i" if base == "\\i" else base
    out = unicodedata.normalize("NFC", base + _COMBINING[sym])
    return out if len(out) == 1 else m.group()


def decode_text(text: str) -> str:
    """Accent commands and escapes in ordinary (non-math) text, decoded."""
    i = text.find("\\")
    if i == -1:
        return text
    out, pos = [], 0
    while i != -1:          # re.sub(_ACCENT, ...), but only trying where a backslash is
        m = _ACCENT.match(text, i - 1) if i > pos and text[i - 1] == "{" else None
        m = m or _ACCENT.match(text, i)
        if m:
            out += [text[pos:m.start()], _accent(m)]
            pos = m.end()
            i = text.find("\\", pos)
        else:
            i = text.find("\\", i + 1)
    out.append(text[pos:])
    return "".join(out)


# --- MathML -------------------------------------------------------------------------------
_BOOL = re.compile(r"^(?:true|false)$")
_LENGTH = re.compile(r"^-?(?:\d+(?:\.\d+)?|\.\d+)(?:em|ex|px|pt|mu|%)?$")
_ATTRS = {
    "display": re.compile(r"^(?:inline|block)$"),
    "mathvariant": re.compile(r"^(?:normal|bold|italic|bold-italic|double-struck|bold-fraktur|script|"
                              r"bold-script|fraktur|sans-serif|bold-sans-serif|sans-serif-italic|"
                              r"sans-serif-bold-italic|monospace)$"),
    "stretchy": _BOOL, "fence": _BOOL, "separator": _BOOL, "accent": _BOOL, "accentunder": _BOOL,
    "largeop": _BOOL, "movablelimits": _BOOL, "symmetric": _BOOL, "displaystyle": _BOOL,
    "form": re.compile(r"^(?:prefix|infix|postfix)$"),
    "lspace": _LENGTH, "rspace": _LENGTH, "width": _LENGTH, "height": _LENGTH, "depth": _LENGTH,
    "minsize": _LENGTH, "maxsize": _LENGTH, "linethickness": _LENGTH, "scriptlevel": re.compile(r"^[+-]?\d$"),
    "columnalign": re.compile(r"^(?:(?:left|center|right)\s?)+$"),
    "rowspacing": re.compile(r"^(?:[\d.]+(?:em|ex)\s?)+$"), "columnspacing": re.compile(r"^(?:[\d.]+(?:em|ex)\s?)+$"),
}
# element -> number of children it must have (None: any)
_ELEMENTS = {"math": None, "mrow": None, "mi": 0, "mn": 0, "mo": 0, "mtext": 0, "mspace": 0, "ms": 0,
             "msub": 2, "msup": 2, "msubsup": 3, "mfrac": 2, "msqrt": None, "mroot": 2, "mover": 2,
             "munder": 2, "munderover": 3, "mtable": None, "mtr": None, "mtd": None, "mstyle": None,
             "mpadded": None, "mphantom": None, "menclose": None}
_CHARREF = re.compile(r"&#x([0-9A-Fa-f]{1,6});")


class _Rejected(Exception):
    pass


def _text(s: str | None) -> str:
    if not s:
        return ""
    s = _CHARREF.sub(lambda m: chr(int(m.group(1), 16)) if int(m.group(1), 16) <= 0x10FFFF else "", s)
    return html.escape(s, quote=False)


def _serialise(el: Element, out: list[str]) -> None:
    tag = el.tag
    arity = _ELEMENTS.get(tag, -1)
    if arity == -1:
        raise _Rejected(tag)
    children = list(el)
    if arity is not None and len(children) != arity:
        raise _Rejected(f"{tag} with {len(children)} children")
    text = (el.text or "").strip() if children else (el.text or "")
    if arity == 0 and text.startswith("\\"):
        raise _Rejected(f"unknown command {text}")       # latex2mathml passes these through
    attrs = "".join(f' {k}="{html.escape(v)}"' for k, v in sorted(el.attrib.items())
                    if k in _ATTRS and _ATTRS[k].match(v))
    out.append(f"<{tag}{attrs}>{_text(text)}")
    for child in children:
        _serialise(child, out)
        if (child.tail or "").strip():
            raise _Rejected("stray text")
    out.append(f"</{tag}>")


def _balanced(tex: str) -> bool:
    depth = 0
    for i, ch in enumerate(tex):
        if ch in "{}" and i and tex[i - 1] == "\\":
            continue
        depth += 1 if ch == "{" else -1 if ch == "}" else 0
        if depth < 0 or depth > 20:
            return False
    return depth == 0


@lru_cache(maxsize=65536)
def mathml(tex: str, display: bool = False) -> str | None:
    """Sanitised MathML for one formula, or None if it is not TeX we can render."""
    tex = tex.strip()
    if not tex or len(tex) > MAX_MATH or not _balanced(tex) or re.search(r"[A-Za-z0-9\\]", tex) is None:
        return None
    # Imported on the first formula: it costs ~45 ms, which archives without math never pay.
    from latex2mathml.converter import convert_to_element
    try:
        root = convert_to_element(tex, display="block" if display else "inline")
    except Exception:       # latex2mathml's verdict on malformed TeX: keep the source as text
        return None
    out: list[str] = []
    try:
        _serialise(root, out)
    except _Rejected:
        return None
    alt = html.escape(tex)
    return out[0].replace("<math", f'<math alttext="{alt}"', 1) + "".join(out[1:])


# --- splitting ----------------------------------------------------------------------------
def has_tex(text: str) -> bool:
    return "\\" in text or "$" in text


def _next_delim(text: str, start: int) -> int:
    d, p = text.find("$", start), text.find("\\(", start)
    return p if d == -1 else d if p == -1 else min(d, p)


def _math_spans(text: str):
    """The math spans with their MathML, left to right (like ``finditer``, at delimiters only)."""
    i = _next_delim(text, 0)
    while i != -1:
        m = _MATH.match(text, i)
        ok = m is not None and not (i and text[i - 1] == "\\") and not (m["i"] is not None and i and text[i - 1] == "$")
        if ok:
            src = m["d"] if m["d"] is not None else m["i"] if m["i"] is not None else m["p"]
            markup = mathml(src, display=m["d"] is not None)
            if markup is not None:
                yield m, markup
                i = _next_delim(text, m.end())
                continue
        i = _next_delim(text, i + 1)


@lru_cache(maxsize=8192)
def segments(text: str) -> tuple[tuple[str, str], ...]:
    """``text`` as (``"text"``, decoded text) and (``"math"``, MathML markup) pieces."""
    if not has_tex(text):
        return (("text", text),)
    out: list[tuple[str, str]] = []
    pos = 0
    for m, markup in _math_spans(text):
        if m.start() > pos:
            out.append(("text", decode_text(text[pos:m.start()])))
        out.append(("math", markup))
        pos = m.end()
    if pos < len(text):
        out.append(("text", decode_text(text[pos:])))
    return tuple(out)


@lru_cache(maxsize=8192)
def decode(text: str) -> str:
    """Plain text for places without markup: accents decoded, math kept as its TeX source."""
    if not has_tex(text):
        return text
    out, pos = [], 0
    for m, _ in _math_spans(text):
        out += [decode_text(text[pos:m.start()]), m.group()]
        pos = m.end()
    out.append(decode_text(text[pos:]))
    return "".join(out)


def to_html(text: str, escape) -> str:
    """``text`` as HTML: text pieces through ``escape``, math pieces as MathML."""
    return "".join(escape(s) if kind == "text" else s for kind, s in segments(text))
