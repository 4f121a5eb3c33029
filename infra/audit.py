"""pip-audit over requirements.lock, as `make test` runs it: fails on any known vulnerability of a pinned version.

pip-audit asks PyPI's JSON API for each pinned version (PyPI's copy of the OSV advisories). Where that API is not
reachable (a registry mirror that serves only the simple index answers 404 for every version), nothing can be
audited: that is said on one line, and the run fails only with AUDIT_REQUIRED=1, as it should where PyPI itself
answers (CI with internet access).
"""

import json
import os
import subprocess  # nosec B404
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    # pip-audit from this interpreter's environment, on our own lock file, no shell.
    run = subprocess.run(  # nosec B603
        [sys.executable, "-m", "pip_audit", "-r", "requirements.lock", "--no-deps", "--disable-pip", "-f", "json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        report = json.loads(run.stdout)
    except ValueError:
        print(f"pip-audit failed: {run.stderr.strip()[-500:]}", file=sys.stderr)
        return 1
    dependencies = report["dependencies"]
    vulnerable = [item for item in dependencies if item.get("vulns")]
    for item in vulnerable:
        ids = ", ".join(vuln["id"] for vuln in item["vulns"])
        print(f"pip-audit: {item['name']} {item['version']}: {ids}", file=sys.stderr)
    skipped = [item for item in dependencies if "skip_reason" in item]
    audited = len(dependencies) - len(skipped)
    print(f"pip-audit: {audited} of {len(dependencies)} pins audited, {len(vulnerable)} with known vulnerabilities")
    if skipped and not audited:
        print("pip-audit: PyPI's vulnerability data is not reachable from here: nothing could be audited")
        return 1 if os.environ.get("AUDIT_REQUIRED") == "1" else 0
    return 1 if vulnerable or skipped else 0


if __name__ == "__main__":
    sys.exit(main())
