#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""./dev bench with tiny sizes: every case runs, the output is right and the
table and JSON come out. Nothing here looks at a time."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
RUN = os.path.join(HERE, "..", "..", "bench", "run.py")
sys.path.insert(0, os.path.join(HERE, "..", "peer"))
from peer_psrp import find_pwsh  # noqa: E402

# The PowerShell cases need PowerShell in the lab; without it run.py
# leaves them out and says so.
POWERSHELL = find_pwsh() is not None

CASES = {
    ("limit", "NTLM-sealed HTTP"): ("limit", "in-process"),
    ("limit", "Kerberos-sealed HTTP"): ("limit", "in-process"),
}
for case in ("commands", "stream", "connect", "fan-out"):
    CASES[(case, "NTLM-sealed HTTP")] = ("castellan", "pywinrm")
    CASES[(case, "Basic over HTTPS")] = ("castellan", "pywinrm")
    CASES[(case, "Kerberos-sealed HTTP")] = ("castellan",)
PS_CASES = {
    ("ps-trip", "NTLM-sealed HTTP"): ("castellan", "pywinrm"),
    ("ps-trip", "Kerberos-sealed HTTP"): ("castellan",),
    ("ps-out", "NTLM-sealed HTTP"): ("castellan", "pywinrm"),
    ("ps-out", "Kerberos-sealed HTTP"): ("castellan",),
    ("ps-limit", "NTLM-sealed HTTP"): ("limit",),
    ("ps-limit", "Kerberos-sealed HTTP"): ("limit",),
}
if POWERSHELL:
    CASES.update(PS_CASES)


class BenchSmoke(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="castellan-bench-smoke-")
        cls.addClassCleanup(shutil.rmtree, cls.dir, True)
        cls.json_path = os.path.join(cls.dir, "bench.json")
        env = dict(os.environ)
        env.pop("G_DEBUG", None)
        cls.res = subprocess.run(
            ["/usr/bin/python3", RUN, "--runs", "1", "--commands", "5", "--stream", "100000",
             "--hosts", "3", "--ps-trips", "3", "--ps-pywinrm-trips", "1", "--ps-lines", "2",
             "--json", cls.json_path],
            capture_output=True, text=True, env=env, timeout=280)

    def test_runs(self):
        self.assertEqual(self.res.returncode, 0, self.res.stderr[-3000:])

    def test_table(self):
        out = self.res.stdout
        self.assertIn("per unit", out)
        self.assertIn("vs pywinrm", out)
        self.assertIn("target", out)
        for case, transport in CASES:
            self.assertRegex(out, rf"(?m)^{case}\s+{transport}")
        self.assertNotIn("OUTPUT WRONG", out)

    def test_json(self):
        with open(self.json_path) as f:
            data = json.load(f)
        rows = {(r["case"], r["transport"], r["client"]): r for r in data["rows"]}
        for (case, transport), clients in CASES.items():
            for client in clients:
                row = rows.get((case, transport, client))
                self.assertIsNotNone(row, f"{case} {transport} {client} missing")
                self.assertTrue(row["exact"], f"{case} {transport} {client}: wrong output")
                for key in ("loop_cpu_s", "run_s", "bytes"):
                    self.assertIn(key, row)
        self.assertEqual(rows[("stream", "NTLM-sealed HTTP", "castellan")]["bytes"], 100000)
        self.assertEqual(rows[("fan-out", "Basic over HTTPS", "castellan")]["n"], 3)
        if POWERSHELL:
            self.assertEqual(rows[("ps-trip", "Kerberos-sealed HTTP", "castellan")]["n"], 3)
            for transport in ("NTLM-sealed HTTP", "Kerberos-sealed HTTP"):
                # Two lines of 1 MiB of x, each with its newline.
                self.assertEqual(rows[("ps-out", transport, "castellan")]["bytes"], 2 * (2**20 + 1))
                self.assertEqual(rows[("ps-limit", transport, "limit")]["bytes"], 2 * 2**20)
            self.assertEqual(rows[("ps-out", "NTLM-sealed HTTP", "pywinrm")]["bytes"],
                             2 * (2**20 + 1))
        else:
            self.assertIn("PowerShell cases left out", self.res.stderr)
        targets = data["targets"]
        self.assertEqual(len(targets), 4 + 2 + 3 + 6 + 2 + (1 + 2 + 2 if POWERSHELL else 0))
        for t in targets:
            self.assertIn(t["result"], ("PASS", "MISS"))
            self.assertIn(t["target"], self.res.stdout)


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], "-v"])
