#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Kerberos sealing (wrap_iov, MS-WSMV) against the lab peer, with an
independent python3-gssapi client: what pywinrm cannot check."""

import hashlib
import os
import sys
import threading
import time
import unittest

import gssapi

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gss_client as g  # noqa: E402
from labfixture import LabTestCase  # noqa: E402
from test_peer_pywinrm import lab_stream_bytes  # noqa: E402


class KerberosSealing(LabTestCase):
    def client(self, host="localhost", **kw):
        return g.Client(host, self.lab.http_port, **kw).authenticate()

    def test_kerberos_by_name_is_sealed_with_aes(self):
        c = self.client()
        self.assertTrue(c.kerberos)
        # The session key's enctype: 18 is aes256-cts-hmac-sha1-96.
        res = gssapi.raw.inquire_sec_context_by_oid(
            c.ctx, gssapi.OID.from_int_seq("1.2.840.113554.1.2.2.5.5"))
        self.assertTrue(res[1].endswith(b"\x12"), res[1])
        shell = c.open_shell()
        out, err, code = c.run(shell, "echo hi; echo $USERNAME $LAB_AUTH_MECH; echo e >&2; exit 3")
        c.close_shell(shell)
        self.assertEqual((out, err, code), (b"hi\nadmin kerberos\n", b"e\n", 3))
        self.assertIn("(kerberos)", self.lab.peer_log())

    def test_kerberos_scheme_protocol(self):
        c = g.Client("localhost", self.lab.http_port, mech=g.KRB5, scheme="Kerberos").authenticate()
        shell = c.open_shell()
        self.assertEqual(c.run(shell, "echo k")[0], b"k\n")
        c.close_shell(shell)

    def test_kerberos_password_and_wsman_spn(self):
        c = self.client(user=self.lab.env["LAB_USER"], password=self.lab.password,
                        service="WSMAN")
        shell = c.open_shell()
        self.assertEqual(c.run(shell, "echo $USERNAME")[0], b"admin\n")
        c.close_shell(shell)

    def test_ip_address_falls_back_to_ntlm(self):
        c = self.client("127.0.0.1", user=self.lab.env["LAB_NTLM_USER"],
                        password=self.lab.password)
        self.assertFalse(c.kerberos)
        shell = c.open_shell()
        self.assertEqual(c.run(shell, "echo $LAB_AUTH_MECH")[0], b"ntlm\n")
        c.close_shell(shell)

    def test_stdin_and_large_output(self):
        c = self.client()
        shell = c.open_shell()
        data = os.urandom(300000)
        out, _, code = c.run(shell, "sha256sum", stdin=data)
        self.assertEqual(out.split()[0].decode(), hashlib.sha256(data).hexdigest())
        size = 5 * 1024 * 1024 + 11
        out, _, code = c.run(shell, f"lab-stream {size}")
        self.assertEqual(out, lab_stream_bytes(size))
        c.close_shell(shell)

    def test_max_envelope_size_respected(self):
        c = self.client()
        shell = c.open_shell()
        sizes = []
        real_post = c.post

        def post(envelope, sealed=True):
            status, reply, resp = real_post(envelope, sealed)
            sizes.append(len(reply))
            return status, reply, resp

        c.post = post
        out, _, _ = c.run(shell, "lab-stream 300000", max_envelope=8192)
        self.assertEqual(len(out), 300000)
        self.assertGreater(len(sizes), 30)
        self.assertLessEqual(max(sizes), 8192)

    def test_ctrl_c_and_terminate(self):
        c = self.client()
        shell = c.open_shell()
        sent = []

        def interrupt(cid):
            if not sent:
                sent.append(cid)
                c.signal(shell, cid, "ctrl_c")

        t = time.monotonic()
        out, _, code = c.run(shell, "trap 'echo interrupted; exit 130' INT; "
                                    "echo ready; while :; do sleep 0.05; done",
                             on_running=interrupt)
        self.assertLess(time.monotonic() - t, 15)
        self.assertIn(b"interrupted", out)
        self.assertEqual(code, 130)
        c.close_shell(shell)
        self.assertEqual(self.lab.wait_status(lambda s: s["shells"] == 0)["running_processes"], 0)

    def test_operation_timeout_fault(self):
        c = self.client()
        shell = c.open_shell()
        root = c.call(f"{g.SHELL}/Command",
                      "<rsp:CommandLine><rsp:Command>sleep 3</rsp:Command></rsp:CommandLine>",
                      g.shell_selector(shell))
        cid = root.findtext("s:Body/rsp:CommandResponse/rsp:CommandId", None, g.NS)
        with self.assertRaises(g.WsmanFault) as cm:
            c.call(f"{g.SHELL}/Receive",
                   f'<rsp:Receive><rsp:DesiredStream CommandId="{cid}">stdout stderr'
                   "</rsp:DesiredStream></rsp:Receive>", g.shell_selector(shell),
                   timeout="PT1S")
        self.assertEqual((cm.exception.status, cm.exception.subcode, cm.exception.code),
                         (500, "w:TimedOut", "2150858793"))
        c.close_shell(shell)

    def test_unknown_shell_and_command(self):
        c = self.client()
        with self.assertRaises(g.WsmanFault) as cm:
            c.run("00000000-0000-0000-0000-000000000000", "echo")
        self.assertEqual(cm.exception.subcode, "w:InvalidSelectors")
        shell = c.open_shell()
        with self.assertRaises(g.WsmanFault) as cm:
            c.signal(shell, "11111111-1111-1111-1111-111111111111", "ctrl_c")
        self.assertEqual(cm.exception.code, "2150858843")
        c.close_shell(shell)

    def test_nonadmin_kerberos_access_denied(self):
        c = self.client(user=self.lab.env["LAB_NONADMIN_USER"],
                        password=self.lab.nonadmin_password)
        with self.assertRaises(g.WsmanFault) as cm:
            c.open_shell()
        self.assertEqual((cm.exception.subcode, cm.exception.code), ("w:AccessDenied", "5"))

    def test_delegation_reaches_the_shell(self):
        c = g.Client("localhost", self.lab.http_port)
        c.ctx = gssapi.SecurityContext(
            name=gssapi.Name("HTTP@localhost", gssapi.NameType.hostbased_service),
            mech=g.SPNEGO, usage="initiate",
            flags=(gssapi.RequirementFlag.mutual_authentication
                   | gssapi.RequirementFlag.delegate_to_peer
                   | gssapi.RequirementFlag.confidentiality))
        c.authenticate()
        shell = c.open_shell()
        out, _, code = c.run(shell, "echo $LAB_DELEGATED; klist")
        c.close_shell(shell)
        self.assertTrue(out.startswith(b"1\n"), out)
        self.assertIn(b"krbtgt/TEST.LOCAL@TEST.LOCAL", out)
        self.assertEqual(self.lab.status()["delegations"], 1)

    def test_cmd_interpreter_keeps_state(self):
        c = self.client()
        shell = c.open_shell()
        out, err, code = c.run(shell, "cmd.exe /Q /K",
                               stdin=b"cd /\r\nset V=kept\r\necho %V% %CD%\r\n"
                                     b"false\r\necho %ERRORLEVEL%\r\nexit /b 4\r\n")
        c.close_shell(shell)
        self.assertEqual((out, code), (b"kept /\n1\n", 4), err)

    def test_config_max_envelope(self):
        c = self.client()
        root = c.call("http://schemas.xmlsoap.org/ws/2004/09/transfer/Get", "",
                      resource="http://schemas.microsoft.com/wbem/wsman/1/config")
        cfg = "{http://schemas.microsoft.com/wbem/wsman/1/config}"
        self.assertEqual(root.find(f".//{cfg}MaxEnvelopeSizekb").text, "500")

    def test_connection_bound_context(self):
        # A second connection without authentication gets a 401.
        c = self.client()
        c2 = g.Client("localhost", self.lab.http_port)
        status, _, resp = c2.post(g.envelope("localhost", self.lab.http_port,
                                             f"{g.SHELL}/Receive", ""), sealed=False)
        self.assertEqual(status, 401)
        self.assertIn("Negotiate", resp.getheader("WWW-Authenticate"))
        shell = c.open_shell()
        c.close_shell(shell)

    def test_parallel_shells(self):
        results = []

        def worker(i):
            c = self.client()
            shell = c.open_shell()
            results.append(c.run(shell, f"echo {i}")[0])
            c.close_shell(shell)

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        self.assertEqual(sorted(results), [b"%d\n" % i for i in range(4)])


if __name__ == "__main__":
    unittest.main(verbosity=2, warnings="ignore")
