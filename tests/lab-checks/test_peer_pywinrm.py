#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""The lab peer, proven by a client nobody here wrote: Debian's pywinrm."""

import base64
import os
import sys
import unittest

import requests
import winrm
import xmltodict
from winrm.exceptions import InvalidCredentialsError, WinRMError, WinRMTransportError

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from labfixture import LabTestCase  # noqa: E402

SHELL_URI = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell"


def lab_stream_bytes(n):
    """What the peer's `lab-stream N` produces, computed independently."""
    lines = b"".join(
        b"%07d castellan lab stream 0123456789abcdefghijklmnopqrstuvwxyz\n" % i
        for i in range(16384))
    reps, rest = divmod(n, len(lines))
    return lines * reps + lines[:rest]


class PywinrmAgainstPeer(LabTestCase):
    def ntlm(self, host="127.0.0.1", user=None, password=None, **kw):
        return winrm.Protocol(
            f"http://{host}:{self.lab.http_port}/wsman",
            transport="ntlm",
            username=user or self.lab.env["LAB_NTLM_USER"],
            password=password or self.lab.password,
            message_encryption="always",
            **kw,
        )

    def basic_https(self, host="localhost", password=None):
        return winrm.Protocol(
            f"https://{host}:{self.lab.https_port}/wsman",
            transport="basic",
            username="admin",
            password=password or self.lab.password,
            server_cert_validation="validate",
            ca_trust_path=self.lab.env["LAB_CA_FILE"],
        )

    def run_cmd(self, proto, command, args=()):
        shell = proto.open_shell(codepage=65001)
        try:
            cid = proto.run_command(shell, command, list(args))
            out, err, code = proto.get_command_output(shell, cid)
            proto.cleanup_command(shell, cid)
            return out, err, code
        finally:
            proto.close_shell(shell)

    # ---- NTLM sealed over HTTP ------------------------------------------

    def test_ntlm_sealed_echo(self):
        out, err, code = self.run_cmd(self.ntlm(), "echo", ["hi"])
        self.assertEqual((out, err, code), (b"hi\n", b"", 0))
        self.assertIn("authenticated negotiate as TEST\\admin (ntlm)", self.lab.peer_log())

    def test_ntlm_stderr_and_exit_code(self):
        out, err, code = self.run_cmd(self.ntlm(), "echo out; echo err >&2; exit 7")
        self.assertEqual((out, err, code), (b"out\n", b"err\n", 7))

    def test_ntlm_utf8(self):
        text = "Grüße, 東京, Ελλάδα, emoji 🏰"
        out, _, code = self.run_cmd(self.ntlm(), "printf", ["'%s'", f"'{text}'"])
        self.assertEqual(out.decode("utf-8"), text)
        self.assertEqual(code, 0)

    def test_ntlm_multi_megabyte_process_output(self):
        size = 6 * 1024 * 1024 + 123
        out, err, code = self.run_cmd(
            self.ntlm(), f"head -c {size} /dev/urandom | tee /dev/null | od -An -v -tx1 | tr -d ' \\n' | head -c {size}")
        self.assertEqual(len(out), size)
        self.assertTrue(all(c in b"0123456789abcdef" for c in set(out)))
        self.assertEqual(code, 0)

    def test_ntlm_multi_megabyte_exact(self):
        size = 8 * 1024 * 1024 + 7
        out, _, code = self.run_cmd(self.ntlm(), f"lab-stream {size}")
        self.assertEqual(out, lab_stream_bytes(size))
        self.assertEqual(code, 0)

    def test_ntlm_stdin(self):
        proto = self.ntlm()
        shell = proto.open_shell()
        try:
            cid = proto.run_command(shell, "tr a-z A-Z; echo done >&2")
            header = proto._get_soap_header(
                resource_uri=SHELL_URI + "/cmd", action=SHELL_URI + "/Send", shell_id=shell)
            req = {"env:Envelope": header}
            req["env:Envelope"]["env:Body"] = {"rsp:Send": {"rsp:Stream": {
                "@Name": "stdin", "@CommandId": cid, "@End": "true",
                "#text": base64.b64encode(b"hello from stdin\n").decode()}}}
            proto.send_message(xmltodict.unparse(req))
            out, err, code = proto.get_command_output(shell, cid)
            proto.cleanup_command(shell, cid)
        finally:
            proto.close_shell(shell)
        self.assertEqual((out, err, code), (b"HELLO FROM STDIN\n", b"done\n", 0))

    def test_ntlm_operation_timeout_is_retried(self):
        proto = self.ntlm(operation_timeout_sec=1, read_timeout_sec=5)
        out, _, code = self.run_cmd(proto, "sleep 2.5; echo late")
        self.assertEqual((out, code), (b"late\n", 0))
        self.assertIn('" 500 ', self.lab.peer_log())  # the TimedOut faults

    def test_ntlm_wrong_password_rejected(self):
        with self.assertRaises(InvalidCredentialsError):
            self.run_cmd(self.ntlm(password="wrong-password"), "echo", ["no"])

    def test_nonadmin_access_denied(self):
        proto = self.ntlm(user=self.lab.env["LAB_NONADMIN_NTLM_USER"],
                          password=self.lab.nonadmin_password)
        with self.assertRaises(WinRMError) as cm:
            proto.open_shell()
        self.assertIn("Access is denied", str(cm.exception))
        # pywinrm 0.4 gives the code as a string, 0.5 as a number.
        self.assertRegex(str(cm.exception), r"'wsmanfault_code': '?5'?[,}]")

    def test_shell_quota(self):
        proto = self.ntlm()
        shells = [proto.open_shell() for _ in range(5)]
        try:
            with self.assertRaises(WinRMError) as cm:
                proto.open_shell()
            self.assertIn("maximum number of 5 concurrent shells", str(cm.exception))
            self.assertIn("2150859173", str(cm.exception))
        finally:
            for s in shells:
                proto.close_shell(s)
        self.assertEqual(self.lab.status()["shells"], 0)

    def test_plaintext_soap_refused_over_http(self):
        proto = self.ntlm()
        header = proto._get_soap_header(resource_uri=SHELL_URI + "/cmd",
                                        action="http://schemas.xmlsoap.org/ws/2004/09/transfer/Create")
        body = xmltodict.unparse({"env:Envelope": dict(header, **{"env:Body": {"rsp:Shell": {
            "rsp:InputStreams": "stdin", "rsp:OutputStreams": "stdout stderr"}}})})
        url = f"http://127.0.0.1:{self.lab.http_port}/wsman"
        resp = requests.post(url, data=body,
                             headers={"Content-Type": "application/soap+xml;charset=UTF-8"},
                             timeout=10)
        self.assertEqual(resp.status_code, 401)
        self.assertEqual(self.lab.status()["shells"], 0)

    def test_delete_reaps_processes(self):
        proto = self.ntlm()
        shell = proto.open_shell()
        proto.run_command(shell, "sleep 300")
        status = self.lab.wait_status(lambda s: s["running_processes"] == 1)
        self.assertEqual(status["running_processes"], 1)
        proto.close_shell(shell)
        status = self.lab.wait_status(lambda s: s["running_processes"] == 0)
        self.assertEqual((status["shells"], status["running_processes"]), (0, 0))

    # ---- Basic over HTTPS ---------------------------------------------------

    def test_basic_https_with_ca(self):
        out, err, code = self.run_cmd(self.basic_https(), "echo", ["basic"])
        self.assertEqual((out, err, code), (b"basic\n", b"", 0))

    def test_basic_https_wrong_password(self):
        with self.assertRaises(InvalidCredentialsError):
            self.run_cmd(self.basic_https(password="nope"), "echo")

    def test_basic_over_http_not_offered(self):
        proto = winrm.Protocol(f"http://127.0.0.1:{self.lab.http_port}/wsman",
                               transport="basic", username="admin",
                               password=self.lab.password)
        with self.assertRaises((InvalidCredentialsError, WinRMTransportError)):
            proto.open_shell()

    def test_https_untrusted_certificate_refused(self):
        port = self.lab.env["LAB_HTTPS_SELFSIGNED_PORT"]
        proto = winrm.Protocol(f"https://localhost:{port}/wsman", transport="basic",
                               username="admin", password=self.lab.password,
                               server_cert_validation="validate",
                               ca_trust_path=self.lab.env["LAB_CA_FILE"])
        with self.assertRaises(requests.exceptions.SSLError):
            proto.open_shell()

    def test_ntlm_over_https(self):
        proto = winrm.Protocol(f"https://localhost:{self.lab.https_port}/wsman",
                               transport="ntlm", username=self.lab.env["LAB_NTLM_USER"],
                               password=self.lab.password, server_cert_validation="validate",
                               ca_trust_path=self.lab.env["LAB_CA_FILE"])
        out, _, code = self.run_cmd(proto, "echo $LAB_AUTH_MECH")
        self.assertEqual((out, code), (b"ntlm\n", 0))

    # ---- Kerberos (pywinrm cannot seal it: plaintext flag) --------------------

    def test_kerberos_plaintext_with_flag(self):
        self.lab.control(allow_unencrypted=True)
        proto = winrm.Protocol(f"http://localhost:{self.lab.http_port}/wsman",
                               transport="kerberos", username=self.lab.env["LAB_USER"],
                               password="", message_encryption="never", service="HTTP")
        out, _, code = self.run_cmd(proto, "echo $USERNAME $LAB_AUTH_MECH")
        self.assertEqual((out, code), (b"admin kerberos\n", 0))

    def test_kerberos_plaintext_refused_without_flag(self):
        proto = winrm.Protocol(f"http://localhost:{self.lab.http_port}/wsman",
                               transport="kerberos", username=self.lab.env["LAB_USER"],
                               password="", message_encryption="never", service="HTTP")
        with self.assertRaises(InvalidCredentialsError):
            proto.open_shell()
        self.assertIn("refused unencrypted request from admin", self.lab.peer_log())


if __name__ == "__main__":
    unittest.main(verbosity=2)
