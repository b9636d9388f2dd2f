"""Named fault-injection points: a test hook that kills a run at an exact step.

The pipeline calls :func:`point` at every step where a crash must leave things
whole (``faults.point("output.apply.rename")``).  Unarmed -- always, outside
the tests -- a call is one global lookup and a comparison with ``None``.

A test arms one point for a subprocess through the environment::

    SITEGEN_FAULT=build.render:3=kill     # SIGKILL this process at the 3rd hit
    SITEGEN_FAULT=output.locked=stop      # SIGSTOP at the 1st hit (the test sends SIGCONT)
    SITEGEN_FAULT=ingest.parsed=raise     # raise FaultInjected (a BaseException)

or in-process with :func:`arm`.  The value must match ``<point>[:<hit>]=<action>``
exactly: a declared point name, a hit count, one of three actions.  Nothing in
it is evaluated, opened or executed, and every action acts on the process that
was given the variable and nothing else.  A value that does not parse makes the
first point reached fail with a :class:`~sitegen.errors.SitegenError` saying so.
Hits are counted in the process that armed the point: forked render workers
inherit the setting but never fire it (no point is placed in their code).

:data:`POINTS` declares every point, in the order a build reaches them (an
ingest reaches the ``ingest.*`` ones); ``tests/test_interrupt.py`` kills a real
run at each one and checks that every ``point()`` call in the code uses a
declared name and every declared name is used.  :data:`REPEATING` are the
points reached once per item (page, file, rename) rather than once per run.
"""

from __future__ import annotations

import os
import re
import signal

from sitegen.errors import SitegenError

ENV = "SITEGEN_FAULT"

POINTS: dict[str, str] = {
    "ingest.locked": "the ingest lock is held; nothing read yet",
    "ingest.parsed": "every dump parsed and checked; nothing written yet",
    "ingest.paper_written": "after each paper file is written",
    "ingest.day_written": "after each day file is written",
    "ingest.written": "every content file written; the lock is still held",
    "build.ingested": "ingest done and its lock released; content not loaded yet",
    "build.loaded": "content loaded and the parse cache saved",
    "build.related": "related papers computed (and memoised)",
    "build.model": "the site model and every page key computed; nothing staged",
    "output.locked": "the output lock is held and the staging folder made",
    "build.render": "after each rendered page is staged and recorded",
    "build.rendered": "every page staged",
    "build.feeds": "static files, feeds and API staged",
    "build.search": "the search index staged: the whole new tree is ready",
    "output.commit": "about to put the new tree in place; the output is untouched",
    "output.apply.journal": "the journal is written; no file moved yet",
    "output.apply.rename": "before each staged file is renamed into the output (hit N: N-1 moved)",
    "output.apply.delete": "every file renamed into place; removed pages not deleted yet",
    "output.applied": "the output holds the new tree; the manifest is not written yet",
    "state.outputs": "manifest and page keys written into the state, not committed (a kill rolls them back)",
    "output.manifest": "the manifest is written; the journal is not removed yet",
    "output.committed": "commit finished; the output lock is still held",
    "build.committed": "the output lock released (page keys were saved with the manifest)",
    "build.fingerprint": "the up-to-date fingerprint is not written yet",
}

REPEATING = frozenset({"ingest.paper_written", "ingest.day_written", "build.render", "output.apply.rename"})

ACTIONS = ("kill", "stop", "raise")
_SPEC = re.compile(r"([a-z_]+(?:\.[a-z_]+)+)(?::([1-9][0-9]{0,8}))?=(kill|stop|raise)")


class FaultInjected(BaseException):
    """Raised by the ``raise`` action: not an ``Exception``, so no handler mistakes it for an error."""


class _Armed:
    def __init__(self, spec: str):
        self.pid = os.getpid()
        self.count = 0
        self.error = ""
        m = _SPEC.fullmatch(spec)
        if not m or m.group(1) not in POINTS:
            self.error = (f"{ENV}={spec!r} is not '<point>[:<hit>]=<action>' with a point from sitegen/faults.py "
                          f"and an action from {', '.join(ACTIONS)}. It is a test hook: unset it.")
            self.name, self.hit, self.action = "", 0, ""
            return
        self.name, self.hit, self.action = m.group(1), int(m.group(2) or 1), m.group(3)

    def reach(self, name: str) -> None:
        if self.error:
            raise SitegenError(self.error)
        if name not in POINTS:
            raise AssertionError(f"fault point {name!r} is not declared in sitegen/faults.py POINTS")
        if name != self.name or os.getpid() != self.pid:
            return
        self.count += 1
        if self.count != self.hit:
            return
        if self.action == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        elif self.action == "stop":
            os.kill(os.getpid(), signal.SIGSTOP)   # resumes here on SIGCONT
        else:
            raise FaultInjected(f"fault injected at {name} (hit {self.hit})")


_armed: _Armed | None = None


def arm(spec: str | None) -> None:
    """Arm one point (``"<point>[:<hit>]=<action>"``), or disarm with ``None``; counts restart."""
    global _armed
    _armed = _Armed(spec) if spec else None


def point(name: str) -> None:
    """A named step of a run: does nothing unless a test armed ``name``."""
    if _armed is not None:
        _armed.reach(name)


arm(os.environ.get(ENV))
