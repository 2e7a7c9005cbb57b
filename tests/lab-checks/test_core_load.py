#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""200 sequential connect / run / close cycles in one process (the core,
with a password, NTLM-sealed), then 20 with Kerberos and a password:
the number of open files does not grow, memory settles, and no copy of
the password is left anywhere in the process's memory afterwards."""

import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import procmem  # noqa: E402
from labfixture import LabTestCase  # noqa: E402

BUILD = os.environ.get("CASTELLAN_BUILD_DIR", "build")
CYCLES = os.path.join(BUILD, "tests", "core-cycles")


def run_cycles(n, url, user, password_file, trusted, password):
    """Runs the cycles; once the process has released everything, counts
    the copies of the password left in its memory."""
    proc = subprocess.Popen([CYCLES, str(n), url, user, password_file, trusted],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    samples, copies = [], None
    try:
        for line in proc.stdout:
            words = line.split()
            if words[0] == "cycle":
                samples.append((int(words[1]), int(words[3]), int(words[5])))
            elif words[0] == "released":
                copies = procmem.count_copies(proc.pid, password.encode())
                proc.stdin.close()
        proc.wait(60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(60)
    return proc, samples, copies


class CoreLoad(LabTestCase):
    def test_two_hundred_cycles(self):
        port = self.lab.http_port
        res, samples, copies = run_cycles(200, f"http://127.0.0.1:{port}/wsman",
                                          self.lab.env["LAB_NTLM_USER"],
                                          self.lab.env["LAB_PASSWORD_FILE"], "127.0.0.1",
                                          self.lab.password)
        self.assertEqual(res.returncode, 0, res.stderr.read())
        self.assertEqual(len(samples), 20, samples)
        # From cycle 20 on (caches warm), open files stay put and memory
        # stays within a megabyte.
        warm = [s for s in samples if s[0] >= 20]
        fds = {s[1] for s in warm}
        rss = [s[2] for s in warm]
        print(f"# NTLM cycles: fds {sorted(fds)}, RSS {rss[0]} → {rss[-1]} KiB "
              f"(min {min(rss)}, max {max(rss)})")
        self.assertEqual(len(fds), 1, samples)
        if not procmem.sanitized(CYCLES):
            self.assertLess(rss[-1] - rss[0], 1024, samples)
        self.assertEqual(copies, 0, "the password is still in memory after the sessions")
        self.assertEqual(self.lab.status()["shells"], 0)

    def test_kerberos_password_wiped(self):
        res, samples, copies = run_cycles(20, f"http://localhost:{self.lab.http_port}/wsman",
                                          self.lab.env["LAB_USER"],
                                          self.lab.env["LAB_PASSWORD_FILE"], "",
                                          self.lab.password)
        self.assertEqual(res.returncode, 0, res.stderr.read())
        print(f"# Kerberos cycles: {samples[-1]}")
        self.assertEqual(copies, 0, "the password is still in memory after the sessions")


if __name__ == "__main__":
    unittest.main(verbosity=2)
