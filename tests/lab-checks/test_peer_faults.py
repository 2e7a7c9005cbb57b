#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Every fault switch of the lab peer does what it says, at the wire."""

import base64
import hashlib
import http.client
import json
import os
import socket
import ssl
import sys
import unittest
import urllib.error
import xml.etree.ElementTree as ET

import gssapi

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gss_client as g  # noqa: E402
from labfixture import Lab, LabTestCase  # noqa: E402


class FaultSwitches(LabTestCase):
    def kerberos(self, timeout=20):
        return g.Client("localhost", self.lab.http_port, timeout=timeout).authenticate()

    def ntlm(self):
        return g.Client("127.0.0.1", self.lab.http_port, user=self.lab.env["LAB_NTLM_USER"],
                        password=self.lab.password).authenticate()

    def test_drop_mid_response(self):
        c = self.kerberos()
        self.lab.control(faults=["drop@Create"])
        with self.assertRaises((http.client.IncompleteRead, http.client.RemoteDisconnected,
                                ConnectionError)):
            c.open_shell()

    def test_delay(self):
        c = self.kerberos(timeout=0.5)
        self.lab.control(faults=["delay@Create=2"])
        with self.assertRaises(socket.timeout):
            c.open_shell()
        self.lab.control(faults=[])
        c = self.kerberos(timeout=10)
        c.close_shell(c.open_shell())

    def test_malformed_xml(self):
        c = self.kerberos()
        self.lab.control(faults=["malformed@Create"])
        with self.assertRaises(ET.ParseError):
            c.open_shell()

    def test_plaintext_while_sealed(self):
        for c in (self.kerberos(), self.ntlm()):
            self.lab.control(faults=["plaintext@Create"])
            with self.assertRaisesRegex(ValueError, "plaintext reply"):
                c.open_shell()

    def test_tampered_sealed_bytes(self):
        for c in (self.kerberos(), self.ntlm()):
            self.lab.control(faults=["tamper@Create"])
            with self.assertRaises(gssapi.exceptions.GSSError):
                c.open_shell()

    def test_bad_mutual_auth_token(self):
        self.lab.control(faults=["bad-mutual-auth"])
        with self.assertRaises(gssapi.exceptions.GSSError):
            self.kerberos()

    def test_missing_mutual_auth_token(self):
        self.lab.control(faults=["no-mutual-auth"])
        with self.assertRaisesRegex(RuntimeError, "mutual authentication"):
            self.kerberos()

    def test_oversize_envelope(self):
        c = self.kerberos()
        shell = c.open_shell()
        self.lab.control(faults=["oversize@Receive"])
        sizes = []
        real_post = c.post

        def post(envelope, sealed=True):
            status, reply, resp = real_post(envelope, sealed)
            sizes.append(len(reply))
            return status, reply, resp

        c.post = post
        c.run(shell, "echo small", max_envelope=8192)
        self.assertGreater(max(sizes), 8192)

    def test_count_limits_a_switch(self):
        c = self.kerberos()
        self.lab.control(faults=["malformed@Create*1"])
        with self.assertRaises(ET.ParseError):
            c.open_shell()
        c.close_shell(c.open_shell())
        self.assertEqual(self.lab.status()["faults"], ["malformed@Create*1"])

    def test_close_after_response(self):
        c = self.kerberos()
        self.lab.control(faults=["close@Create*1"])
        shell = c.open_shell()
        self.assertIsNotNone(shell)
        # The context died with the connection: the next request is refused.
        c.conn.close()
        status, _, _ = c.post(g.envelope("localhost", self.lab.http_port,
                                         f"{g.SHELL}/Receive", ""), sealed=False)
        self.assertEqual(status, 401)

    def connections(self, since=0):
        url = self.lab.env["LAB_CONTROL_URL"].replace("/lab/control", "/lab/connections")
        with urllib.request.urlopen(url, timeout=10) as resp:
            return [r for r in json.load(resp) if r["id"] > since and not r["control"]]

    def last_connection(self):
        return max([0] + [r["id"] for r in self.connections()])

    def test_hangup_after_response(self):
        c = self.kerberos()
        self.lab.control(faults=["hangup@Create*1"])
        self.assertIsNotNone(c.open_shell())
        # No Connection: close came, yet the connection is gone.
        with self.assertRaises((http.client.RemoteDisconnected, ConnectionError)):
            c.open_shell()

    def test_no_reply_to_a_command(self):
        since = self.last_connection()
        c = self.kerberos()
        shell = c.open_shell()
        self.lab.control(faults=["no-reply@Command*1"])
        with self.assertRaises((http.client.RemoteDisconnected, ConnectionError)):
            c.call(f"{g.SHELL}/Command", "<rsp:CommandLine><rsp:Command>sleep 30"
                   "</rsp:Command></rsp:CommandLine>", g.shell_selector(shell))
        # Carried out all the same.
        status = self.lab.wait_status(lambda s: s["running_processes"] == 1)
        self.assertEqual(status["running_processes"], 1)
        commands = [q for r in self.connections(since) for q in r["requests"]
                    if q["action"] == "Command"]
        self.assertEqual([q["status"] for q in commands], [None])

    def test_no_reply_to_a_receive_keeps_the_output(self):
        c = self.kerberos()
        shell = c.open_shell()
        sel = g.shell_selector(shell)
        root = c.call(f"{g.SHELL}/Command", "<rsp:CommandLine><rsp:Command>echo kept"
                      "</rsp:Command></rsp:CommandLine>", sel)
        cid = root.findtext("s:Body/rsp:CommandResponse/rsp:CommandId", None, g.NS)
        receive = (f'<rsp:Receive><rsp:DesiredStream CommandId="{cid}">stdout stderr'
                   "</rsp:DesiredStream></rsp:Receive>")
        self.lab.control(faults=["no-reply@Receive*1"])
        with self.assertRaises((http.client.RemoteDisconnected, ConnectionError)):
            c.call(f"{g.SHELL}/Receive", receive, sel)
        c = self.kerberos()
        out = bytearray()
        while True:
            root = c.call(f"{g.SHELL}/Receive", receive, sel)
            for stream in root.iterfind("s:Body/rsp:ReceiveResponse/rsp:Stream", g.NS):
                out += base64.b64decode(stream.text or "")
            state = root.find("s:Body/rsp:ReceiveResponse/rsp:CommandState", g.NS)
            if state is not None and state.get("State", "").endswith("/Done"):
                break
        self.assertEqual(bytes(out), b"kept\n")

    def tls_connection(self, port, alpn=None):
        ctx = ssl.create_default_context(cafile=self.lab.env["LAB_CA_FILE"])
        if alpn:
            ctx.set_alpn_protocols(alpn)
        return ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10),
                               server_hostname="localhost")

    def test_cert_swap(self):
        def sha256(path):
            with open(path) as f:
                return hashlib.sha256(ssl.PEM_cert_to_DER_cert(f.read())).hexdigest()

        self.lab.control(faults=["cert-swap"])
        seen = []
        for _ in range(3):
            with self.tls_connection(self.lab.https_port) as tls:
                tls.sendall(b"GET /lab/status HTTP/1.1\r\nHost: localhost\r\n\r\n")
                head = tls.recv(65536)
                seen.append((hashlib.sha256(tls.getpeercert(True)).hexdigest(), tls.version(),
                             b"\r\nConnection: close\r\n" in head))
        first, other = sha256(self.lab.env["LAB_SERVER_CERT"]), sha256(self.lab.env["LAB_OTHER_CERT"])
        self.assertNotEqual(first, other)
        self.assertEqual(seen, [(first, "TLSv1.3", True), (other, "TLSv1.2", False),
                                (other, "TLSv1.2", False)])

    def test_h2_listener_selects_h2(self):
        port = int(self.lab.env["LAB_HTTPS_H2_PORT"])
        for offered, selected in ((["h2", "http/1.1"], "h2"), (["http/1.1"], "http/1.1"),
                                  (None, None)):
            with self.subTest(offered):
                since = self.last_connection()
                with self.tls_connection(port, offered) as tls:
                    self.assertEqual(tls.selected_alpn_protocol(), selected)
                    tls.sendall(b"GET /wsman HTTP/1.1\r\nHost: localhost\r\n\r\n")
                    tls.recv(65536)
                self.assertEqual([r["alpn"] for r in self.connections(since)
                                  if r["listener"] == "https-h2"], [selected])

    def test_connections_recorded(self):
        since = self.last_connection()
        c = self.kerberos()
        c.close_shell(c.open_shell())
        # A sealed request on a new connection, without authenticating it.
        c.conn = http.client.HTTPConnection("localhost", self.lab.http_port, timeout=10)
        status, _, _ = c.post(g.envelope("localhost", self.lab.http_port,
                                         f"{g.TRANSFER}/Create", ""))
        self.assertEqual(status, 401)
        records = [r for r in self.connections(since) if r["listener"] == "http"]
        self.assertEqual([(r["authentications"], r["sealed_without_context"]) for r in records],
                         [(1, 0), (0, 1)])
        self.assertEqual([(q["authorization"], q["sealed"], q["action"], q["status"])
                          for q in records[0]["requests"]],
                         [("Negotiate", False, None, 200), (None, True, "Create", 200),
                          (None, True, "Delete", 200)])

    def test_unknown_switch_refused(self):
        with self.assertRaises(urllib.error.HTTPError) as cm:
            self.lab.control(faults=["explode"])
        self.assertEqual(cm.exception.code, 400)


class FaultFromCommandLine(unittest.TestCase):
    def test_lab_up_with_fault(self):
        with Lab("--fault", "no-mutual-auth") as lab:
            self.assertEqual(lab.status()["faults"], ["no-mutual-auth"])
            with self.assertRaisesRegex(RuntimeError, "mutual authentication"):
                g.Client("localhost", lab.http_port).authenticate()


if __name__ == "__main__":
    unittest.main(verbosity=2, warnings="ignore")
