"""Runs one of the dashboard's browser scripts (tests/browser/*.test.mjs: Node.js with
playwright-core from npm driving Debian's headless chromium) for an end-to-end test, and keeps
its screenshots.

A script takes the path of a JSON spec as its argument, prints "ok - NAME" / "not ok - NAME: why"
for each check and, last, "RESULTS {json}" with every check ({"name", "ok", "ms", "error"}), the
screenshots and, if the run could not go on, "fatal". Screenshots are written to the spec's
"artifacts" directory.
"""
import json
import os
import shutil
import signal
import subprocess
import time

import harness

CHROMIUM = os.environ.get("RYURYO_CHROMIUM", "/usr/bin/chromium")
PLAYWRIGHT = os.path.join(harness.SOURCE_DIR, "node_modules", "playwright-core", "package.json")
SCREENSHOT_DOCS = os.path.join(harness.SOURCE_DIR, "docs", "screenshots")


def missing():
    """What the browser tests need and this machine lacks (scripts/install-deps.sh installs it)."""
    out = []
    if not os.path.exists(CHROMIUM):
        out.append(f"{CHROMIUM} (Debian package chromium)")
    if not shutil.which("node"):
        out.append("node (Node.js)")
    if not os.path.exists(PLAYWRIGHT):
        out.append(f"{os.path.dirname(PLAYWRIGHT)} (npm ci at the repository root)")
    return out


def run(script, spec, work_dir, timeout_s, context=lambda: ""):
    """Runs tests/browser/`script` with `spec`; returns (report, output without the RESULTS line).

    Raises AssertionError when the run takes over `timeout_s` (node and its Chromium are killed),
    prints no results, or reports a fatal error; `context()` adds what helps then (server logs).
    """
    spec_path = os.path.join(work_dir, "spec.json")
    with open(spec_path, "w") as f:
        json.dump(spec, f)
    t0 = time.time()
    proc = subprocess.Popen([shutil.which("node"), os.path.join(harness.SOURCE_DIR, "tests",
                                                                 "browser", script), spec_path],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            cwd=harness.SOURCE_DIR, start_new_session=True, text=True)
    try:
        out, _ = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        # The whole group: node and the Chromium it started.
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        raise AssertionError(f"the browser run took over {timeout_s} s:\n{out}")
    report = None
    lines = []
    for line in out.splitlines():
        if line.startswith("RESULTS "):
            report = json.loads(line[len("RESULTS "):])
        else:
            lines.append(line)
    output = "\n".join(lines)
    print(output, flush=True)
    print(f"browser run: {time.time() - t0:.1f} s, exit {proc.returncode}", flush=True)
    if report is None:
        raise AssertionError(f"the browser run printed no results (exit {proc.returncode}):\n"
                             f"{output}\n{context()}")
    if report.get("fatal"):
        raise AssertionError("the browser run failed: " + report["fatal"])
    return report, output


def check(test, report, output, prefix):
    """Fails `test` (a unittest.TestCase) unless exactly one check starts with `prefix` and it
    passed."""
    found = [r for r in report["results"] if r["name"].startswith(prefix)]
    test.assertEqual(len(found), 1, f"no browser check named {prefix!r}: {output}")
    r = found[0]
    test.assertTrue(r["ok"], f"{r['name']}:\n{r.get('error')}")


def keep_screenshots(artifacts, report=None, update_docs=False):
    """Copies the run's screenshots to $RYURYO_ARTIFACTS/dashboard when that is set and, with
    `update_docs` (RYURYO_UPDATE_SCREENSHOTS=1), to docs/screenshots/ if every check passed."""
    shots = [f for f in sorted(os.listdir(artifacts)) if f.endswith(".png")]
    dest = os.environ.get("RYURYO_ARTIFACTS")
    if dest and shots:
        os.makedirs(os.path.join(dest, "dashboard"), exist_ok=True)
        for f in shots:
            shutil.copy(os.path.join(artifacts, f), os.path.join(dest, "dashboard", f))
    if not update_docs:
        return
    ok = report and not report.get("fatal") and all(r["ok"] for r in report["results"])
    if not ok:
        print("RYURYO_UPDATE_SCREENSHOTS=1: docs/screenshots/ not updated after a failure")
        return
    os.makedirs(SCREENSHOT_DOCS, exist_ok=True)
    for f in shots:
        shutil.copy(os.path.join(artifacts, f), os.path.join(SCREENSHOT_DOCS, f))
    print(f"updated {len(shots)} screenshots in {SCREENSHOT_DOCS}")
