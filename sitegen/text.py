"""Pure text helpers: control characters, paper identity, slugs, Markdown escaping, excerpts.

Nothing here touches the file system; everything is deterministic.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

SLUG_MAX = 80

# C0/C1 controls (but tab, LF and CR), lone surrogates and the non-characters U+FFFE/U+FFFF:
# everything XML 1.0 cannot carry, plus terminal controls.  One policy for all text that reaches
# the site: dumps and content files (front matter values and bodies) are cleaned of these, with a
# warning naming the file and line; in site.yml they are an error.
CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def strip_controls(s: str) -> tuple[str, int]:
    """``s`` without :data:`CONTROL` characters, and the index of the first one removed (-1: none)."""
    m = CONTROL.search(s)
    if m is None:
        return s, -1
    return CONTROL.sub("", s), m.start()


def clean_text(s: str) -> tuple[str, bool]:
    """One line of text: drop control characters, collapse whitespace; says whether any were dropped."""
    cleaned, first = strip_controls(s)
    return " ".join(cleaned.split()), first >= 0   # str.split() is re's \s, faster

# Letters NFKD does not decompose into ASCII.
_TRANSLIT = str.maketrans({
    "ß": "ss", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "ø": "o", "Ø": "O", "ł": "l", "Ł": "L",
    "đ": "d", "Đ": "D", "ð": "d", "Ð": "D", "þ": "th", "Þ": "Th", "ı": "i", "ħ": "h", "Ħ": "H",
    "α": "alpha", "β": "beta", "γ": "gamma", "δ": "delta", "ε": "epsilon", "λ": "lambda",
    "μ": "mu", "π": "pi", "σ": "sigma", "τ": "tau", "φ": "phi", "ω": "omega", "θ": "theta",
    "&": " and ", "+": " plus ", "@": " at ",
})


def title_key(title: str) -> str:
    """A paper's identity: NFKC, case-folded, whitespace collapsed."""
    return " ".join(unicodedata.normalize("NFKC", title).casefold().split())


def slugify(title: str) -> str:
    """ASCII, lowercase, ``-`` separated, at most 80 chars cut at a word, never empty.

    Only ``[a-z0-9-]`` survive, so a slug can never hold ``/``, ``..`` or a
    leading ``.``.  A title with no Latin letters or digits gets ``paper-<hash>``.
    """
    s = unicodedata.normalize("NFKC", title).translate(_TRANSLIT)
    s = unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode("ascii").lower()
    words = re.findall(r"[a-z0-9]+", s)
    slug = ""
    for w in words:
        candidate = f"{slug}-{w}" if slug else w
        if len(candidate) > SLUG_MAX:
            break
        slug = candidate
    if not slug and words:            # a single word longer than the limit
        slug = words[0][:SLUG_MAX]
    if not slug:
        slug = "paper-" + short_hash(title_key(title))
    return slug


def short_hash(s: str, n: int = 8) -> str:
    return hashlib.sha1(s.encode("utf-8", "surrogatepass")).hexdigest()[:n]


def suffixed_slug(base: str, key: str) -> str:
    """The deterministic slug for a newcomer whose plain slug is taken."""
    suffix = "-" + short_hash(key)
    head = base[:SLUG_MAX - len(suffix)].rstrip("-")
    return head + suffix


# --- Markdown ---------------------------------------------------------------
# Characters that can start Markdown syntax anywhere in a line.  Escaping them
# with a backslash is always allowed by CommonMark (any ASCII punctuation).
_INLINE = str.maketrans({c: "\\" + c for c in "\\`*_[]<"})
_ENTITY = re.compile(r"&(?=#?[A-Za-z0-9]+;)")
# Constructs that only matter at the start of a line (block syntax); ``~`` opens
# a ``~~~`` code fence.
_BLOCK_START = re.compile(r"^([#>+\-=:~])|^(\d+)([.)])")


def escape_markdown(text: str) -> str:
    """Plain text -> Markdown whose rendered text content is exactly ``text``.

    The abstract is data, not Markdown.  ``text`` is one paragraph: whitespace
    runs are expected to be collapsed already (see :func:`clean_text`).
    """
    out = text.translate(_INLINE)
    if "&" in out:
        out = _ENTITY.sub(r"\\&", out)
    if out[:1] in "#>+-=:~0123456789":
        out = _BLOCK_START.sub(lambda m: "\\" + m.group(1) if m.group(1) else m.group(2) + "\\" + m.group(3),
                               out, count=1)
    return out


def excerpt(text: str, limit: int) -> str:
    """At most ``limit`` characters, cut at a word, with an ellipsis when cut."""
    if len(text) <= limit:
        return text
    cut = text[:limit + 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    else:
        cut = cut[:limit]
    return cut.rstrip(" ,;:-\u2013\u2014.") + "\u2026"
