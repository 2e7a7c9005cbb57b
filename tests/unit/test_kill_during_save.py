#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Kills a process in the middle of saving the inventory, many times, at
random moments: every time, the file holds the old or the new inventory
whole (500 hosts, one generation), never a broken or mixed one, and
nothing is reported damaged."""

import os
import shutil
import random
import signal
import subprocess
import sys
import tempfile
import time

BUILD = os.environ.get("CASTELLAN_BUILD_DIR", "build")
WRITER = os.path.join(BUILD, "tests", "inventory-writer")
KILLS = 40


def main():
    tmp = tempfile.mkdtemp(prefix="castellan-kill-")
    path = os.path.join(tmp, "inventory.ini")
    rng = random.Random(int(os.environ.get("KILL_SEED", "0")) or None)
    seen = set()
    for i in range(KILLS):
        writer = subprocess.Popen([WRITER, "write", path], stdout=subprocess.PIPE, text=True)
        # Wait for at least one save, then kill at a random moment.
        first = writer.stdout.readline()
        if not first:
            print(f"not ok - the writer stopped: exit {writer.wait(30)}")
            return 1
        time.sleep(rng.uniform(0, 0.05))
        writer.send_signal(signal.SIGKILL)
        writer.wait(30)
        writer.stdout.close()
        res = subprocess.run([WRITER, "check", path], capture_output=True, text=True, timeout=60)
        if res.returncode != 0:
            print(f"not ok - after kill {i + 1}: {res.stderr.strip()}")
            return 1
        seen.add(res.stdout.strip())
        damaged = [n for n in os.listdir(tmp) if ".damaged-" in n]
        if damaged:
            print(f"not ok - after kill {i + 1}, reported damaged: {damaged}")
            return 1
    print(f"ok - {KILLS} kills during saves, the inventory whole every time "
          f"({len(seen)} different generations found)")
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
