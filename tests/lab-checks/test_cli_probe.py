#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""`castellan-run --probe` against the lab peer: Identify without
credentials, and the messages a user meets when it cannot work."""

import os
import socket
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from labfixture import LabTestCase  # noqa: E402

RUN = os.path.join(os.environ.get("CASTELLAN_BUILD_DIR", "build"), "src", "cli", "castellan-run")


def probe(*args):
    return subprocess.run([RUN, "--probe", *args], capture_output=True, text=True, timeout=60)


class Probe(LabTestCase):
    def test_http(self):
        res = probe("--port", str(self.lab.http_port), "127.0.0.1")
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertIn("Stack: 3.0", res.stdout)
        self.assertIn("Negotiate, Kerberos", res.stdout)
        self.assertNotIn("Basic", res.stdout)

    def test_https_with_ca(self):
        res = probe("--ca-file", self.lab.env["LAB_CA_FILE"],
                    f"https://localhost:{self.lab.https_port}")
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertIn("Negotiate, Kerberos, Basic", res.stdout)
        self.assertRegex(res.stdout, r"Transport:\s+tls-1\.[23]")

    def test_untrusted_certificate(self):
        for key, words in (("LAB_HTTPS_SELFSIGNED_PORT", "not signed by an authority"),
                           ("LAB_HTTPS_EXPIRED_PORT", "expired"),
                           ("LAB_HTTPS_WRONGNAME_PORT", "issued for another name")):
            with self.subTest(key):
                res = probe("--ca-file", self.lab.env["LAB_CA_FILE"], "--https",
                            "--port", self.lab.env[key], "localhost")
                self.assertEqual(res.returncode, 255)
                self.assertTrue(res.stderr.startswith("castellan-run: "), res.stderr)
                self.assertIn(words, res.stderr)
                self.assertEqual(res.stderr.count("\n"), 1)

    def test_connection_refused(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        res = probe("--port", str(port), "127.0.0.1")
        self.assertEqual(res.returncode, 255)
        self.assertIn("refused the connection", res.stderr)
        self.assertIn("firewall", res.stderr)

    def test_bad_address(self):
        res = probe("srv 01")
        self.assertEqual(res.returncode, 255)
        self.assertIn("contains a space", res.stderr)
        res = probe("srv01;rm")
        self.assertEqual(res.returncode, 255)
        self.assertIn("is not a host name or address", res.stderr)

    def test_not_winrm(self):
        # The KDC's port speaks Kerberos, not HTTP.
        res = probe("--port", self.lab.env["LAB_KDC_PORT"], "127.0.0.1")
        self.assertEqual(res.returncode, 255)
        self.assertTrue(res.stderr.startswith("castellan-run: "), res.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2, warnings="ignore")
