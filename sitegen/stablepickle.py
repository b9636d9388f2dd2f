"""``dumps(obj)``: pickle bytes that depend on the values only, never on object identity.

Plain ``pickle.dumps`` memoises objects: the same ``date`` object twice is written once
and then referenced, while two equal ``date`` objects are written twice.  A digest of
those bytes then changes when a record is re-parsed (new objects, equal values) -- a
page key that changes without its data, a memo that misses.  Pickling without the memo
(``Pickler.fast``) writes every value in full, so equal values give equal bytes.
Only for acyclic data (keys, memo inputs), which is all it is used for.
"""

from __future__ import annotations

import io
import pickle


def dumps(obj: object) -> bytes:
    buf = io.BytesIO()
    p = pickle.Pickler(buf, protocol=4)
    p.fast = True          # no memo: identity-free (deprecated in the docs' words, but supported by C pickle)
    p.dump(obj)
    return buf.getvalue()
