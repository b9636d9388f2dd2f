"""Text folding for search: ``TÜLU`` -> ``tulu``, ``naïve`` -> ``naive``, ``Straße`` -> ``strasse``.

One definition, applied to every indexed text (:mod:`sitegen.search.lunrfast`) and to
every query (``themes/default/static/search/query.js``'s ``fold``, and
:mod:`sitegen.search.query`), so both sides meet on the same terms:

1. NFKD (compatibility decomposition: ``ﬁ`` -> ``fi``, ``é`` -> ``e`` + U+0301,
   full-width letters -> ASCII),
2. drop every combining mark (Unicode category M*),
3. lower-case (full mapping, as JavaScript's ``toLowerCase`` and Python's
   ``str.lower`` both do), then ``ß`` -> ``ss`` and ``ς`` -> ``σ`` -- the two
   case foldings that matter for text and that ``lower`` does not do,
4. NFKD and drop marks again (lower-casing ``İ`` gives ``i`` + U+0307).

This is Python's ``str.casefold`` restricted to what JavaScript can do
identically (JavaScript has no case folding); tests/js/fold.test.js holds the
two implementations equal over a corpus of tricky strings.  Plain ASCII text
only goes through ``lower()``.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["fold"]

_FOLD_EXTRA = str.maketrans({"\u00df": "ss", "\u03c2": "\u03c3"})


def _strip_marks(text: str) -> str:
    return "".join(ch for ch in text if not unicodedata.category(ch).startswith("M"))


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def fold(text: str) -> str:
    """``text`` folded for search (see module docstring); idempotent."""
    if text.isascii():
        return text.lower()
    if _LONE_SURROGATE.search(text):
        # lone surrogates cannot be normalised; fold around them, keep them as they are
        parts = _LONE_SURROGATE.split(text)
        seps = _LONE_SURROGATE.findall(text)
        out = [fold(parts[0])]
        for sep, part in zip(seps, parts[1:]):
            out += [sep, fold(part)]
        return "".join(out)
    text = _strip_marks(unicodedata.normalize("NFKD", text))
    text = text.lower().translate(_FOLD_EXTRA)
    return _strip_marks(unicodedata.normalize("NFKD", text))
