#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""castellan-run --hosts: one command on many hosts at once (the lab's extra
listeners, each a host of its own), on every transport, several times over:
many connections opened and authenticated together are where a client's
connection handling shows its races."""

import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from labfixture import LabTestCase  # noqa: E402

RUN = os.path.join(os.environ.get("CASTELLAN_BUILD_DIR", "build"), "src", "cli", "castellan-run")
HOSTS = 40
ROUNDS = 3


class FanOut(LabTestCase):
    lab_args = ("--extra-peers", str(HOSTS))

    def fan_out(self, *args):
        tmp = tempfile.mkdtemp(prefix="castellan-fanout-")
        self.addCleanup(shutil.rmtree, tmp, True)
        for _ in range(ROUNDS):
            res = subprocess.run([RUN, *args, "--", "echo", "hi"], capture_output=True,
                                 timeout=120, env=dict(os.environ, XDG_CONFIG_HOME=tmp))
            out, err = res.stdout.decode(), res.stderr.decode()
            self.assertEqual(res.returncode, 0, err)
            self.assertEqual(out.count("hi\n"), HOSTS, out + err)
            self.assertIn(f"{HOSTS} hosts: {HOSTS} exited 0, 0 exited non-zero, 0 failed",
                          out + err)
        # Every shell was closed again.
        self.assertEqual(self.lab.wait_status(lambda s: s["shells"] == 0)["shells"], 0)

    def hosts(self, kind, name):
        ports = self.lab.env[f"LAB_EXTRA_{kind}_PORTS"].split(",")
        self.assertEqual(len(ports), HOSTS)
        return ",".join(f"{name}:{p}" for p in ports)

    def test_basic_over_https(self):
        self.fan_out("--https", "--auth", "basic", "--ca-file", self.lab.env["LAB_CA_FILE"],
                     "--user", "admin", "--password-file", self.lab.env["LAB_PASSWORD_FILE"],
                     "--hosts", self.hosts("HTTPS", "localhost"))

    def test_ntlm(self):
        self.fan_out("--user", self.lab.env["LAB_NTLM_USER"],
                     "--password-file", self.lab.env["LAB_PASSWORD_FILE"],
                     "--trusted-hosts", "127.0.0.1", "--hosts", self.hosts("HTTP", "127.0.0.1"))

    def test_kerberos(self):
        self.fan_out("--hosts", self.hosts("HTTP", "localhost"))


if __name__ == "__main__":
    unittest.main(verbosity=2)
