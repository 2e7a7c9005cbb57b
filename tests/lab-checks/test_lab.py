#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""`./dev lab up` and `down`: what they start, what they write, and that
nothing is left behind."""

import os
import subprocess
import sys
import unittest

import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gss_client as g  # noqa: E402
from labfixture import LAB, PYTHON, Lab  # noqa: E402

REQUIRED = ["KRB5_CONFIG", "KRB5CCNAME", "LAB_HTTP_PORT", "LAB_HTTPS_PORT", "LAB_CA_FILE",
            "LAB_USER", "LAB_NTLM_USER", "LAB_PASSWORD_FILE", "LAB_NONADMIN_USER",
            "NTLM_USER_FILE"]

IDENTIFY = (b'<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
            b'xmlns:wsmid="http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd">'
            b"<s:Header/><s:Body><wsmid:Identify/></s:Body></s:Envelope>")


def lab_processes(d):
    mark = f"CASTELLAN_LAB={d}".encode()
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                if mark in f.read().split(b"\0"):
                    found.append(int(pid))
        except OSError:
            pass
    return found


class LabLifecycle(unittest.TestCase):
    def test_up_writes_env_and_down_leaves_nothing(self):
        with Lab() as lab:
            print(f"lab started in {lab.start_seconds:.2f} s", file=sys.stderr)
            for key in REQUIRED:
                self.assertIn(key, lab.env)
            self.assertEqual(lab.env["LAB_USER"], "admin@TEST.LOCAL")
            self.assertEqual(lab.env["LAB_NTLM_USER"], "TEST\\admin")
            self.assertEqual(lab.env["LAB_NONADMIN_USER"], "operator@TEST.LOCAL")
            self.assertEqual(oct(os.stat(lab.env["LAB_PASSWORD_FILE"]).st_mode & 0o777), "0o600")
            with open(lab.env["NTLM_USER_FILE"]) as f:
                self.assertEqual([line.split(":")[:2] for line in f],
                                 [["TEST", "admin"], ["TEST", "operator"],
                                  ["TEST.LOCAL", "admin"], ["TEST.LOCAL", "operator"]])
            # The admin's ticket is in the lab's ccache.
            klist = subprocess.run(["klist"], env=dict(os.environ, **lab.env),
                                   capture_output=True, text=True)
            self.assertIn("Default principal: admin@TEST.LOCAL", klist.stdout)

            # A command still running when the lab goes down.
            c = g.Client("localhost", lab.http_port).authenticate()
            shell = c.open_shell()
            c.call(f"{g.SHELL}/Command",
                   "<rsp:CommandLine><rsp:Command>sleep 600</rsp:Command></rsp:CommandLine>",
                   g.shell_selector(shell))
            self.assertGreaterEqual(len(lab_processes(lab.dir)), 3)  # KDC, peer, sleep
            d = lab.dir
        self.assertEqual(lab_processes(d), [])
        self.assertFalse(os.path.exists(os.path.join(d, "lab.json")))

    def test_second_up_in_same_dir_is_refused(self):
        with Lab() as lab:
            res = subprocess.run([PYTHON, LAB, "up", lab.dir], capture_output=True, text=True,
                                 timeout=60)
            self.assertEqual(res.returncode, 1)
            self.assertIn("already running", res.stderr)
            self.assertIn("lab down", res.stderr)
            # The running lab is untouched.
            self.assertEqual(lab.status()["shells"], 0)

    def test_down_twice_is_harmless(self):
        lab = Lab()
        with lab:
            pass
        res = subprocess.run([PYTHON, LAB, "down", lab.dir], capture_output=True, timeout=60)
        self.assertEqual(res.returncode, 0)


class PeerBasics(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.lab = Lab().__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.lab.__exit__(None, None, None)

    def url(self, https=False):
        if https:
            return f"https://localhost:{self.lab.https_port}/wsman"
        return f"http://127.0.0.1:{self.lab.http_port}/wsman"

    def test_identify_without_credentials(self):
        for https in (False, True):
            r = requests.post(self.url(https), data=IDENTIFY, timeout=10,
                              verify=self.lab.env["LAB_CA_FILE"],
                              headers={"WSMANIDENTIFY": "unauthenticated",
                                       "Content-Type": "application/soap+xml;charset=UTF-8"})
            self.assertEqual(r.status_code, 200)
            self.assertIn(b"IdentifyResponse", r.content)
            self.assertIn(b"Stack: 3.0", r.content)

    def test_401_offers_like_windows(self):
        r = requests.post(self.url(), data=b"", timeout=10)
        self.assertEqual(r.status_code, 401)
        self.assertEqual(r.raw.headers.getlist("WWW-Authenticate"), ["Negotiate", "Kerberos"])
        r = requests.post(self.url(True), data=b"", timeout=10,
                          verify=self.lab.env["LAB_CA_FILE"])
        self.assertEqual(r.raw.headers.getlist("WWW-Authenticate"),
                         ["Negotiate", "Kerberos", 'Basic realm="WSMAN"'])

    def test_plaintext_soap_over_http_refused(self):
        r = requests.post(self.url(), data=IDENTIFY.replace(b"Identify", b"Get"), timeout=10,
                          headers={"Content-Type": "application/soap+xml;charset=UTF-8"})
        self.assertEqual(r.status_code, 401)

    def test_negative_certificates(self):
        import ssl
        ca = self.lab.env["LAB_CA_FILE"]
        # Python 3.13 says "Hostname mismatch" where 3.11 said "doesn't match".
        for key, reason in (("LAB_HTTPS_SELFSIGNED_PORT", "self-signed"),
                            ("LAB_HTTPS_EXPIRED_PORT", "expired"),
                            ("LAB_HTTPS_WRONGNAME_PORT", "doesn\x27t match|Hostname mismatch")):
            with self.subTest(key):
                with self.assertRaises(requests.exceptions.SSLError) as cm:
                    requests.post(f"https://localhost:{self.lab.env[key]}/wsman", data=b"",
                                  verify=ca, timeout=10)
                self.assertRegex(str(cm.exception), reason)
        ctx = ssl.create_default_context(cafile=ca)
        self.assertIsNotNone(ctx)


if __name__ == "__main__":
    unittest.main(verbosity=2, warnings="ignore")
