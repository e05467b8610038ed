"""Run checkov (a static analyzer of Kubernetes manifests) over every bundled manifest
folder and list the checks that fail, against the ones accepted with a reason.

    pip install checkov   # not a project dependency; any environment on the PATH
    python scripts/checkov_manifests.py [--checkov PATH]

Exits 1 when a check outside ACCEPTED fails. Runs offline (``--skip-download``).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ACCEPTED = {
    "CKV_K8S_43": "Image should use digest: only the user's registry can give the digest of "
    "the image a scenario names by tag.",
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkov", default=shutil.which("checkov") or "checkov")
    args = parser.parse_args()
    unexpected = 0
    for folder in sorted(p for p in (ROOT / "manifests").iterdir() if p.is_dir()):
        proc = subprocess.run(
            [
                args.checkov,
                "-d",
                str(folder),
                "--framework",
                "kubernetes",
                "--skip-download",
                "--output",
                "json",
                "--quiet",
            ],
            capture_output=True,
            text=True,
        )
        report = json.loads(proc.stdout or "{}")
        results = report.get("results", {})
        summary = report.get("summary", {})
        failed = results.get("failed_checks", [])
        print(
            f"{folder.name}: {summary.get('passed', 0)} passed, {summary.get('failed', 0)} failed"
        )
        for check in failed:
            accepted = check["check_id"] in ACCEPTED
            unexpected += not accepted
            mark = "accepted" if accepted else "FAILED"
            print(f"  {mark} {check['check_id']} {check['check_name']}: {check['resource']}")
    for check_id, why in ACCEPTED.items():
        print(f"accepted {check_id}: {why}")
    return 1 if unexpected else 0


if __name__ == "__main__":
    sys.exit(main())
