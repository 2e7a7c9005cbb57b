#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Every source file with translatable strings is listed in po/POTFILES,
so that no message escapes the translators."""

import os
import re
import sys

SOURCE = os.environ.get("CASTELLAN_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
MARK = re.compile(r'\b_\(|\bN_\(|\bngettext\s*\(|translatable="yes"')
# Translated whole: the desktop file, the metainfo and the settings schema.
WHOLE = (".desktop.in", ".metainfo.xml.in", ".gschema.xml")


def main():
    with open(os.path.join(SOURCE, "po", "POTFILES")) as f:
        listed = {line.strip() for line in f if line.strip() and not line.startswith("#")}
    missing = []
    for top in ("src", "data"):
        for root, _dirs, files in os.walk(os.path.join(SOURCE, top)):
            for name in files:
                if not name.endswith((".c", ".ui", ".in", ".xml")) or name.endswith(".gresource.xml"):
                    continue
                path = os.path.relpath(os.path.join(root, name), SOURCE)
                with open(os.path.join(SOURCE, path), encoding="utf-8") as f:
                    if (name.endswith(WHOLE) or MARK.search(f.read())) and path not in listed:
                        missing.append(path)
    stale = [p for p in listed if not os.path.exists(os.path.join(SOURCE, p))]
    for path in missing:
        print(f"not ok - {path} has translatable strings but is not in po/POTFILES")
    for path in stale:
        print(f"not ok - po/POTFILES lists {path}, which does not exist")
    if missing or stale:
        return 1
    print(f"ok - po/POTFILES lists all {len(listed)} files with translatable strings")
    return 0


if __name__ == "__main__":
    sys.exit(main())
