#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Every fault switch of the lab peer does what it says, at the wire."""

import http.client
import os
import socket
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
