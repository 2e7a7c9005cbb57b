#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""A password given to castellan-run stays out of its argv and environment,
the report, its output, the remote command's environment and the peer's
log."""

import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from labfixture import LabTestCase  # noqa: E402

RUN = os.path.join(os.environ.get("CASTELLAN_BUILD_DIR", "build"), "src", "cli", "castellan-run")


class Secrets(LabTestCase):
    def test_password_goes_nowhere_but_the_wire(self):
        tmp = tempfile.mkdtemp(prefix="castellan-secret-")
        self.addCleanup(shutil.rmtree, tmp, True)
        report = os.path.join(tmp, "r.json")
        password = self.lab.password.encode()
        proc = subprocess.Popen(
            [RUN, "--report", report, "--trusted-hosts", "127.0.0.1", "--user",
             self.lab.env["LAB_NTLM_USER"], "--password-file", self.lab.env["LAB_PASSWORD_FILE"],
             "--port", str(self.lab.http_port), "127.0.0.1", "--", "env; sleep 1"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env=dict(os.environ, XDG_CONFIG_HOME=tmp))
        time.sleep(0.5)
        with open(f"/proc/{proc.pid}/cmdline", "rb") as f:
            cmdline = f.read()
        with open(f"/proc/{proc.pid}/environ", "rb") as f:
            environ = f.read()
        out, err = proc.communicate(timeout=60)
        self.assertEqual(proc.returncode, 0, err)
        self.assertIn(b"USERNAME=admin", out)  # the remote environment, printed
        with open(report, "rb") as f:
            report_data = f.read()
        for where, data in (("argv", cmdline), ("environment", environ), ("stdout", out),
                            ("stderr", err), ("report", report_data),
                            ("peer log", self.lab.peer_log().encode())):
            with self.subTest(where):
                self.assertNotIn(password, data)


if __name__ == "__main__":
    unittest.main(verbosity=2, warnings="ignore")
