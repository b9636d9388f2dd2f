"""``sitegen serve``'s edit-to-reload latency: from saving a content file to the ``reload`` event.

The benchmark starts ``sitegen serve --port 0`` through the bench child (tests/bench/project.py),
listens on ``__sitegen__/events``, appends a line to the latest day's Markdown and times the
``reload`` event (the file watcher's debounce included).
"""

from __future__ import annotations

import http.client
import json
import os
import queue
import re
import signal
import statistics
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

from tests.bench.measure import child_env
from tests.bench.project import Project


def serve_latency(project: Project, runs: int, log) -> dict:
    """Median seconds from saving a content file to the ``reload`` event."""
    fd, rep = tempfile.mkstemp(prefix="sitegen-bench-serve-", suffix=".json")
    os.close(fd)
    env = child_env(SITEGEN_BENCH_REPORT=rep)
    cmd = project.build_cmd("serve") + ["--port", "0"]
    proc = subprocess.Popen(cmd, cwd=project.root, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
    lines: queue.Queue = queue.Queue()
    output: list[str] = []

    def pump():
        for line in proc.stdout:
            output.append(line)
            lines.put(line)
        lines.put(None)
    threading.Thread(target=pump, daemon=True).start()
    events: queue.Queue = queue.Queue()
    conn = None
    try:
        t_start = time.perf_counter()
        url = None
        while url is None:
            line = lines.get(timeout=600)
            if line is None:
                raise RuntimeError("sitegen serve exited:\n" + "".join(output[-30:]))
            m = re.search(r"Serving (http://[^\s;]+/)", line)
            if m:
                url = m.group(1)
        startup = time.perf_counter() - t_start
        parts = urlsplit(url)
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=600)
        conn.request("GET", parts.path + "__sitegen__/events", headers={"Accept": "text/event-stream"})
        resp = conn.getresponse()

        def read_events():
            kind = None
            try:
                while True:
                    raw = resp.readline()
                    if not raw:
                        break
                    s = raw.decode().rstrip("\r\n")
                    if s.startswith("event:"):
                        kind = s[6:].strip()
                    elif s.startswith("data:") and kind:
                        events.put((time.perf_counter(), kind, s[5:].strip()))
                        kind = None
            except Exception:
                pass
            events.put(None)
        threading.Thread(target=read_events, daemon=True).start()
        first = events.get(timeout=60)
        if not first or first[1] != "hello":
            raise RuntimeError(f"no hello event from {url}: {first}")
        latencies, rendered = [], []
        time.sleep(1.0)
        for i in range(1, runs + 1):
            while not events.empty():
                events.get_nowait()
            t0 = time.perf_counter()
            project.edit_day_body(i)
            while True:
                item = events.get(timeout=600)
                if item is None:
                    raise RuntimeError("event stream closed:\n" + "".join(output[-30:]))
                if item[1] == "reload":
                    latencies.append(item[0] - t0)
                    break
                if item[1] == "error":
                    raise RuntimeError(f"rebuild failed: {item[2]}")
            try:
                rendered.append(json.loads(Path(rep).read_text()).get("rendered"))
            except (OSError, ValueError):
                rendered.append(None)
            log(f"    serve edit {i}: reload after {latencies[-1]:.2f} s")
            if i < runs:
                time.sleep(2.0)   # let the follow-up no-op build (the build's own content writes) pass
        return {"startup": startup, "latencies": latencies, "median": statistics.median(latencies),
                "rendered": rendered}
    finally:
        if conn is not None:
            conn.close()
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        try:
            os.unlink(rep)
        except OSError:
            pass
