#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""The Flatpak manifest, checked offline: flatpak-builder must read it
without a single "Unknown property" (it only warns and still exits 0). The
check first proves it catches a misspelt key."""

import json
import os
import shutil
import subprocess
import sys
import tempfile

SOURCE = os.environ.get("CASTELLAN_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
MANIFEST = os.path.join(SOURCE, "flatpak", "io.github.castellan.Castellan.json")


def problems(path):
    res = subprocess.run(["flatpak-builder", "--show-manifest", path], capture_output=True,
                         text=True, timeout=60)
    found = [line for line in res.stderr.splitlines() if "Unknown property" in line]
    if res.returncode != 0:
        found.append(f"flatpak-builder exited {res.returncode}: {res.stderr.strip()}")
    return found


def main():
    if shutil.which("flatpak-builder") is None:
        print("flatpak-builder is not installed: skipped", file=sys.stderr)
        return 77
    with open(MANIFEST) as f:
        manifest = json.load(f)
    with tempfile.TemporaryDirectory() as tmp:
        bad = dict(manifest)
        bad["finish-argz"] = bad.pop("finish-args")
        bad_path = os.path.join(tmp, "misspelt.json")
        with open(bad_path, "w") as f:
            json.dump(bad, f)
        if not problems(bad_path):
            print("not ok - a misspelt key went unnoticed; the check is blind", file=sys.stderr)
            return 1
    found = problems(MANIFEST)
    for module in manifest["modules"]:
        for source in module.get("sources", []):
            path = source.get("path")
            if path and not os.path.exists(os.path.join(os.path.dirname(MANIFEST), path)):
                found.append(f"module {module['name']}: source {path} does not exist")
    for line in found:
        print(f"not ok - {line}", file=sys.stderr)
    if found:
        return 1
    print("ok - the manifest reads cleanly, and a misspelt key is caught")
    return 0


if __name__ == "__main__":
    sys.exit(main())
