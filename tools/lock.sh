#!/usr/bin/env bash
# Refresh requirements.lock: every runtime, test and benchmark (`bench` extra: Pagefind, which the
# benchmark smoke test runs) dependency (and the build backend) at an
# exact version with sha256 hashes, resolved once for every supported Python and platform.
#   pip install uv && bash tools/lock.sh            # keep current pins where still allowed
#   pip install uv && bash tools/lock.sh --upgrade  # move every pin to the newest allowed
# Review the diff, run the tests, commit requirements.lock.
set -euo pipefail
cd "$(dirname "$0")/.."
printf 'setuptools>=68\nwheel\n' | uv pip compile pyproject.toml - --extra test --extra bench \
  --universal --python-version 3.11 --generate-hashes --annotation-style line \
  --custom-compile-command "bash tools/lock.sh" -o requirements.lock "$@"
