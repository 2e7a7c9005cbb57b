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
from labfixture import LabTestCase  # noqa: E402

BUILD = os.environ.get("CASTELLAN_BUILD_DIR", "build")
CYCLES = os.path.join(BUILD, "tests", "core-cycles")


def sanitized():
    """Built with AddressSanitizer: its quarantine holds freed memory back,
    so resident memory says nothing about leaks (LeakSanitizer does)."""
    with open(CYCLES, "rb") as f:
        return b"__asan_init" in f.read()


def run_cycles(n, url, user, password_file, trusted):
    res = subprocess.run([CYCLES, str(n), url, user, password_file, trusted],
                         capture_output=True, text=True, timeout=600)
    samples, copies = [], None
    for line in res.stdout.splitlines():
        words = line.split()
        if words[0] == "cycle":
            samples.append((int(words[1]), int(words[3]), int(words[5])))
        elif words[0] == "password-copies":
            copies = int(words[1])
    return res, samples, copies


class CoreLoad(LabTestCase):
    def test_two_hundred_cycles(self):
        port = self.lab.http_port
        res, samples, copies = run_cycles(200, f"http://127.0.0.1:{port}/wsman",
                                          self.lab.env["LAB_NTLM_USER"],
                                          self.lab.env["LAB_PASSWORD_FILE"], "127.0.0.1")
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertEqual(len(samples), 20, res.stdout)
        # From cycle 20 on (caches warm), open files stay put and memory
        # stays within a megabyte.
        warm = [s for s in samples if s[0] >= 20]
        fds = {s[1] for s in warm}
        rss = [s[2] for s in warm]
        print(f"# NTLM cycles: fds {sorted(fds)}, RSS {rss[0]} → {rss[-1]} KiB "
              f"(min {min(rss)}, max {max(rss)})")
        self.assertEqual(len(fds), 1, samples)
        if not sanitized():
            self.assertLess(rss[-1] - rss[0], 1024, samples)
        self.assertEqual(copies, 0, "the password is still in memory after the sessions")
        self.assertEqual(self.lab.status()["shells"], 0)

    def test_kerberos_password_wiped(self):
        res, samples, copies = run_cycles(20, f"http://localhost:{self.lab.http_port}/wsman",
                                          self.lab.env["LAB_USER"],
                                          self.lab.env["LAB_PASSWORD_FILE"], "")
        self.assertEqual(res.returncode, 0, res.stderr)
        print(f"# Kerberos cycles: {samples[-1]}")
        self.assertEqual(copies, 0, "the password is still in memory after the sessions")


if __name__ == "__main__":
    unittest.main(verbosity=2)
