"""What "related papers" keeps between builds: plain arrays, never a pickle.

:class:`RelatedState` is the narrow interface: :meth:`RelatedState.to_arrays`
gives named numpy arrays of plain dtypes (ints, bools, bytes) and
:meth:`RelatedState.from_arrays` checks and reads them back, so any store of
named blobs can hold it (today one ``.npz`` file written atomically, read with
``allow_pickle=False``; the build-state database can hold the same arrays).
A damaged, foreign or older state reads as ``None``: the next update is a cold one.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sitegen.state import notice
from sitegen.model.related.vectors import Csr

FORMAT = 1


@dataclass
class RelatedState:
    salt: bytes                 # the code and parameters it was computed with
    k: int
    keys: list[str]             # row order (sorted): paper slugs
    digests: np.ndarray         # (n, 16) uint8: blake2b of each row's title and abstract
    vocab: list[str]            # term id -> term
    df: np.ndarray              # int64 per term: snapshot document frequency
    n_snapshot: int             # papers in the statistics snapshot
    tf: Csr                     # term counts per row (all terms)
    vec: Csr                    # the truncated vectors with signature flags
    nbr: np.ndarray             # (n, k) int64 rows, best first, -1 = none
    score: np.ndarray           # (n, k) int64

    def to_arrays(self) -> dict[str, np.ndarray]:
        keys, key_ptr = _pack(self.keys)
        vocab, vocab_ptr = _pack(self.vocab)
        return {
            "format": np.array([FORMAT, self.k, self.n_snapshot], dtype=np.int64),
            "salt": np.frombuffer(self.salt, dtype=np.uint8), "keys": keys, "key_ptr": key_ptr,
            "digests": self.digests, "vocab": vocab, "vocab_ptr": vocab_ptr, "df": self.df,
            "tf_ptr": self.tf.ptr, "tf_term": self.tf.term, "tf_val": self.tf.val,
            "vec_ptr": self.vec.ptr, "vec_term": self.vec.term, "vec_val": self.vec.val, "vec_sig": self.vec.sig,
            "nbr": self.nbr, "score": self.score,
        }

    @classmethod
    def from_arrays(cls, a: dict[str, np.ndarray]) -> RelatedState | None:
        """The state, or None if the arrays are not a consistent state of this format."""
        want = {"format": np.int64, "salt": np.uint8, "keys": np.uint8, "key_ptr": np.int64, "digests": np.uint8,
                "vocab": np.uint8, "vocab_ptr": np.int64, "df": np.int64, "tf_ptr": np.int64, "tf_term": np.int32,
                "tf_val": np.int32, "vec_ptr": np.int64, "vec_term": np.int32, "vec_val": np.int32,
                "vec_sig": np.bool_, "nbr": np.int64, "score": np.int64}
        if set(a) != set(want) or any(a[name].dtype != t for name, t in want.items()):
            return None
        fmt = a["format"]
        if fmt.shape != (3,) or int(fmt[0]) != FORMAT or fmt[1] < 1:
            return None
        k = int(fmt[1])
        try:
            keys, vocab = _unpack(a["keys"], a["key_ptr"]), _unpack(a["vocab"], a["vocab_ptr"])
        except (ValueError, UnicodeDecodeError):
            return None
        n, t = len(keys), len(vocab)
        tf = Csr(a["tf_ptr"], a["tf_term"], a["tf_val"])
        vec = Csr(a["vec_ptr"], a["vec_term"], a["vec_val"], a["vec_sig"])
        ok = (a["digests"].shape == (n, 16) and a["df"].shape == (t,) and a["nbr"].shape == (n, k)
              and a["score"].shape == (n, k) and _csr_ok(tf, n, t) and _csr_ok(vec, n, t)
              and len(vec.sig) == len(vec.term) and keys == sorted(set(keys))
              and bool(((a["nbr"] >= -1) & (a["nbr"] < n)).all()))
        if not ok:
            return None
        return cls(a["salt"].tobytes(), k, keys, a["digests"], vocab, a["df"], int(fmt[2]), tf, vec,
                   a["nbr"], a["score"])


def _pack(strings: list[str]) -> tuple[np.ndarray, np.ndarray]:
    raw = [s.encode("utf-8") for s in strings]
    ptr = np.zeros(len(raw) + 1, dtype=np.int64)
    np.cumsum([len(r) for r in raw], out=ptr[1:])
    return np.frombuffer(b"".join(raw), dtype=np.uint8).copy(), ptr


def _unpack(data: np.ndarray, ptr: np.ndarray) -> list[str]:
    if ptr.ndim != 1 or not len(ptr) or ptr[0] != 0 or ptr[-1] != len(data) or (np.diff(ptr) < 0).any():
        raise ValueError("bad string table")
    text = data.tobytes()
    p = ptr.tolist()
    return [text[p[i]:p[i + 1]].decode("utf-8") for i in range(len(p) - 1)]


def _csr_ok(c: Csr, n: int, t: int) -> bool:
    m = len(c.term)
    return (c.ptr.shape == (n + 1,) and c.ptr[0] == 0 and c.ptr[-1] == m and len(c.val) == m
            and bool((np.diff(c.ptr) >= 0).all()) and (m == 0 or (int(c.term.min()) >= 0 and int(c.term.max()) < t)))


def from_bytes(data: bytes | None, where: Path) -> RelatedState | None:
    """The state in ``data`` (an ``.npz`` of plain arrays, read with ``allow_pickle=False``); None
    when missing, damaged or foreign (one notice naming ``where``)."""
    if data is None:
        return None
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            arrays = {name: z[name] for name in z.files}
    except (ValueError, OSError, EOFError, KeyError, zipfile.BadZipFile):
        arrays = None
    state = RelatedState.from_arrays(arrays) if arrays is not None else None
    if state is None:
        notice(where, "holds a damaged or foreign related-papers state (recomputed)")
    return state


def to_bytes(state: RelatedState) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **state.to_arrays())
    return buf.getvalue()
