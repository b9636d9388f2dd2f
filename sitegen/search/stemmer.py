"""Lunr.js 2.3.9's token pipeline (trimmer, stop words, Porter stemmer), exactly.

The search index is built in Python with lunr.py but queried in the browser
with lunr.js 2.3.9, so every term the builder writes must be the term lunr.js
would produce for the same word.  lunr.py 0.8.0 differs from lunr.js in two
pipeline functions:

* its Porter stemmer (Martin Porter's C/Python version) turns a final ``y``
  into ``i`` after *any* stem containing a vowel (``key`` -> ``kei``,
  ``survey`` -> ``survei``, ``deploy``, ``display``, ``play``, ``today``),
  while lunr.js only does so after a non-vowel (``cry`` -> ``cri``,
  ``say`` -> ``say``), plus a few other edge cases;
* its trimmer only strips punctuation when the middle of the token is all
  word characters (``(e.g.,`` stays ``(e.g.,``; lunr.js gives ``e.g``), and
  it uses Unicode ``\\W`` where lunr.js uses ASCII ``[^A-Za-z0-9_]``.

This module is a line-by-line port of lunr.js's ``lunr.stemmer``,
``lunr.trimmer`` and ``lunr.stopWordFilter``.  The JavaScript regular
expressions are translated with their exact semantics: ``.`` does not match
JS line terminators, ``$`` only matches at the very end, and lengths/regexes
work on UTF-16 code units (astral characters are split into surrogate pairs
while stemming, as JavaScript strings are).

The tests hold these functions to lunr.js itself and, through lunr.py pipeline
functions built on them (``tests/lunr_reference.py``), to lunr.py's builder.

One deliberate departure, for both builders: a token the trimmer empties
(``--``, ``&``, ``(1)`` is fine but ``...`` is not) is dropped instead of
being indexed as the empty term ``""``, which no query can ever reach.
"""

from __future__ import annotations

import re
from functools import lru_cache

__all__ = ["STOP_WORDS", "stem", "trim", "pipeline_term"]

# lunr.js 2.3.9 lunr.stopWordFilter list (identical to lunr.py's WORDS).
STOP_WORDS = frozenset("""
a able about across after all almost also am among an and any are as at be
because been but by can cannot could dear did do does either else ever every
for from get got had has have he her hers him his how however i if in into is
it its just least let like likely may me might most must my neither no nor not
of off often on only or other our own rather said say says she should since so
some than that the their them then there these they this tis to too twas us
wants was we were what when where which while who whom why will with would yet
you your
""".split())

# --- JS regex semantics ---------------------------------------------------
# JS "." (no s flag) excludes the line terminators \n \r U+2028 U+2029; JS
# "$" (no m flag) is Python "\Z".
_DOT = "[^\n\r\u2028\u2029]"

_c = "[^aeiou]"           # consonant
_v = "[aeiouy]"           # vowel
_C = _c + "[^aeiouy]*"    # consonant sequence
_V = _v + "[aeiou]*"      # vowel sequence

_re_mgr0 = re.compile("^(" + _C + ")?" + _V + _C)                       # m>0
_re_meq1 = re.compile("^(" + _C + ")?" + _V + _C + "(" + _V + r")?\Z")  # m=1
_re_mgr1 = re.compile("^(" + _C + ")?" + _V + _C + _V + _C)             # m>1
_re_s_v = re.compile("^(" + _C + ")?" + _v)                             # vowel in stem

_re_1a = re.compile("^(" + _DOT + r"+?)(ss|i)es\Z")
_re2_1a = re.compile("^(" + _DOT + r"+?)([^s])s\Z")
_re_1b = re.compile("^(" + _DOT + r"+?)eed\Z")
_re2_1b = re.compile("^(" + _DOT + r"+?)(ed|ing)\Z")
_re_1b_2 = re.compile(_DOT + r"\Z")
_re2_1b_2 = re.compile(r"(at|bl|iz)\Z")
_re3_1b_2 = re.compile(r"([^aeiouylsz])\1\Z")
_re4_1b_2 = re.compile("^" + _C + _v + r"[^aeiouwxy]\Z")

_re_1c = re.compile("^(" + _DOT + r"+?[^aeiou])y\Z")
_re_2 = re.compile("^(" + _DOT + r"+?)(ational|tional|enci|anci|izer|bli|alli|entli|eli|ousli"
                   r"|ization|ation|ator|alism|iveness|fulness|ousness|aliti|iviti|biliti|logi)\Z")
_re_3 = re.compile("^(" + _DOT + r"+?)(icate|ative|alize|iciti|ical|ful|ness)\Z")
_re_4 = re.compile("^(" + _DOT + r"+?)(al|ance|ence|er|ic|able|ible|ant|ement|ment|ent|ou|ism"
                   r"|ate|iti|ous|ive|ize)\Z")
_re2_4 = re.compile("^(" + _DOT + r"+?)(s|t)(ion)\Z")
_re_5 = re.compile("^(" + _DOT + r"+?)e\Z")
_re_5_1 = re.compile(r"ll\Z")
_re3_5 = re.compile("^" + _C + _v + r"[^aeiouwxy]\Z")

_STEP2 = {
    "ational": "ate", "tional": "tion", "enci": "ence", "anci": "ance", "izer": "ize",
    "bli": "ble", "alli": "al", "entli": "ent", "eli": "e", "ousli": "ous",
    "ization": "ize", "ation": "ate", "ator": "ate", "alism": "al", "iveness": "ive",
    "fulness": "ful", "ousness": "ous", "aliti": "al", "iviti": "ive", "biliti": "ble",
    "logi": "log",
}
_STEP3 = {
    "icate": "ic", "ative": "", "alize": "al", "iciti": "ic", "ical": "ic", "ful": "",
    "ness": "",
}

_ASTRAL = re.compile("[\U00010000-\U0010ffff]")


def _to_utf16_units(s: str) -> str:
    """Represent astral characters as surrogate pairs, like a JS string."""
    def pair(m: re.Match) -> str:
        cp = ord(m.group()) - 0x10000
        return chr(0xD800 + (cp >> 10)) + chr(0xDC00 + (cp & 0x3FF))
    return _ASTRAL.sub(pair, s)


def _from_utf16_units(s: str) -> str:
    return s.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")


def _porter(w: str) -> str:
    """lunr.js ``porterStemmer(w)``; ``w`` is in UTF-16 code units."""
    if len(w) < 3:
        return w
    firstch = w[0]
    if firstch == "y":
        w = "Y" + w[1:]

    # Step 1a
    m = _re_1a.match(w)
    if m:
        w = m.group(1) + m.group(2)
    else:
        m = _re2_1a.match(w)
        if m:
            w = m.group(1) + m.group(2)

    # Step 1b
    m = _re_1b.match(w)
    if m:
        if _re_mgr0.search(m.group(1)):
            w = _re_1b_2.sub("", w, count=1)
    else:
        m = _re2_1b.match(w)
        if m:
            stem = m.group(1)
            if _re_s_v.search(stem):
                w = stem
                if _re2_1b_2.search(w):
                    w = w + "e"
                elif _re3_1b_2.search(w):
                    w = _re_1b_2.sub("", w, count=1)
                elif _re4_1b_2.search(w):
                    w = w + "e"

    # Step 1c: final y -> i only after a non-vowel (lunr.py differs here)
    m = _re_1c.match(w)
    if m:
        w = m.group(1) + "i"

    # Step 2
    m = _re_2.match(w)
    if m:
        stem, suffix = m.group(1), m.group(2)
        if _re_mgr0.search(stem):
            w = stem + _STEP2[suffix]

    # Step 3
    m = _re_3.match(w)
    if m:
        stem, suffix = m.group(1), m.group(2)
        if _re_mgr0.search(stem):
            w = stem + _STEP3[suffix]

    # Step 4
    m = _re_4.match(w)
    if m:
        stem = m.group(1)
        if _re_mgr1.search(stem):
            w = stem
    else:
        m = _re2_4.match(w)
        if m:
            stem = m.group(1) + m.group(2)
            if _re_mgr1.search(stem):
                w = stem

    # Step 5
    m = _re_5.match(w)
    if m:
        stem = m.group(1)
        if _re_mgr1.search(stem) or (_re_meq1.search(stem) and not _re3_5.search(stem)):
            w = stem
    if _re_5_1.search(w) and _re_mgr1.search(w):
        w = _re_1b_2.sub("", w, count=1)

    if firstch == "y":
        w = "y" + w[1:]
    return w


@lru_cache(maxsize=1 << 18)
def stem(word: str) -> str:
    """Stem ``word`` exactly as lunr.js 2.3.9's ``lunr.stemmer`` does."""
    if _ASTRAL.search(word):
        return _from_utf16_units(_porter(_to_utf16_units(word)))
    return _porter(word)


_LEAD = re.compile(r"^[^A-Za-z0-9_]+")
_TRAIL = re.compile(r"[^A-Za-z0-9_]+\Z")


def trim(s: str) -> str:
    """lunr.js ``lunr.trimmer``: strip leading/trailing non-``[A-Za-z0-9_]``."""
    return _TRAIL.sub("", _LEAD.sub("", s, count=1), count=1)


def pipeline_term(token: str) -> str | None:
    """The indexed term for one lower-cased token, or None if it is dropped.

    Equivalent to lunr.js's ``trimmer, stopWordFilter, stemmer`` pipeline,
    except that tokens trimmed to ``""`` are dropped (see module docstring).
    """
    t = trim(token)
    if not t or t in STOP_WORDS:
        return None
    return stem(t)
