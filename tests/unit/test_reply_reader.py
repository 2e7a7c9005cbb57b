#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Receive and Command replies are read without a tree when they have the
usual shape, and by the tree reader otherwise: either way the result must
be what the reply says. These replies probe the edges between the two."""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_fixtures import parse_replies  # noqa: E402

SHELL = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell"
HEAD = (
    '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
    'xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" '
    'xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" '
    f'xmlns:rsp="{SHELL}"><s:Header><a:Action>{SHELL}/ReceiveResponse</a:Action>'
    "<a:RelatesTo>uuid:1</a:RelatesTo></s:Header><s:Body>")
TAIL = "</s:Body></s:Envelope>"
RUNNING = f'<rsp:CommandState CommandId="C" State="{SHELL}/CommandState/Running"/>'


def done(code=" 0 "):
    return (f'<rsp:CommandState CommandId="C" State="{SHELL}/CommandState/Done">'
            f"<rsp:ExitCode>{code}</rsp:ExitCode></rsp:CommandState>")


def receive(*parts):
    return HEAD + "<rsp:ReceiveResponse>" + "".join(parts) + "</rsp:ReceiveResponse>" + TAIL


def stream(text, name="stdout", end=False):
    end_attr = ' End="true"' if end else ""
    return f'<rsp:Stream Name="{name}" CommandId="C"{end_attr}>{text}</rsp:Stream>'


class ReplyReader(unittest.TestCase):
    def one(self, xml):
        return parse_replies([xml])[0]

    def test_running_with_output(self):
        r = self.one(receive(stream("aGVsbG8="), RUNNING))
        self.assertTrue(r["ok"])
        self.assertEqual((r["stdout"], r["done"]), (b"hello", False))
        self.assertEqual(r["action"], f"{SHELL}/ReceiveResponse")

    def test_done_exit_code_with_spaces(self):
        r = self.one(receive(stream("", end=True), done(" 7 ")))
        self.assertEqual((r["stdout"], r["done"], r["exit_code"]), (b"", True, 7))

    def test_streams_in_order(self):
        r = self.one(receive(stream("YQ=="), stream("Yg==", "stderr"), stream("Yw=="), RUNNING))
        self.assertEqual((r["stdout"], r["stderr"]), (b"ac", b"b"))

    def test_base64_split_by_whitespace_cdata_and_references(self):
        r = self.one(receive(stream("aGVs\r\n  bG8g<![CDATA[d29y]]>bG&#81;="), RUNNING))
        self.assertEqual(r["stdout"], b"hello world")

    def test_stream_with_an_element_inside(self):
        r = self.one(receive(stream('aG<x:y xmlns:x="urn:x">k=</x:y>'), RUNNING))
        self.assertEqual(r["stdout"], b"hi")

    def test_fault_beside_the_response(self):
        fault = ('<s:Fault><s:Code><s:Value>s:Receiver</s:Value><s:Subcode>'
                 "<s:Value>w:TimedOut</s:Value></s:Subcode></s:Code><s:Reason>"
                 '<s:Text xml:lang="en-US">late</s:Text></s:Reason></s:Fault>')
        r = self.one(HEAD + "<rsp:ReceiveResponse>" + stream("aGk=") + "</rsp:ReceiveResponse>"
                     + fault + TAIL)
        self.assertFalse(r["ok"])
        self.assertEqual(r["error"], "OPERATION_TIMEOUT")

    def test_unknown_element_beside_the_response(self):
        r = self.one(HEAD + "<rsp:ReceiveResponse>" + stream("aGk=") + done("3")
                     + '</rsp:ReceiveResponse><x:z xmlns:x="urn:x"/>' + TAIL)
        self.assertEqual((r["stdout"], r["done"], r["exit_code"]), (b"hi", True, 3))

    def test_dtd_is_refused(self):
        r = self.one('<?xml version="1.0"?><!DOCTYPE s:Envelope [<!ENTITY e "aGk=">]>'
                     + receive(stream("&e;"), RUNNING))
        self.assertFalse(r["ok"])
        self.assertEqual(r["error"], "MALFORMED_REPLY")

    def test_dtd_is_refused_by_the_tree_reader(self):
        # A fault goes to the tree reader; a DTD there stops it at once too,
        # and what the entities would have said never reaches the message.
        fault = ('<s:Fault><s:Code><s:Value>s:Receiver</s:Value></s:Code><s:Reason>'
                 '<s:Text xml:lang="en-US">&boom;</s:Text></s:Reason></s:Fault>')
        laughs = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))
        xml = ('<?xml version="1.0"?><!DOCTYPE s:Envelope [<!ENTITY l0 "lol">' + laughs
               + '<!ENTITY boom "&l9;">]>' + HEAD.replace("/ReceiveResponse<", "/Fault<")
               + fault + TAIL)
        r = self.one(xml)
        self.assertFalse(r["ok"])
        self.assertEqual(r["error"], "MALFORMED_REPLY")
        self.assertNotIn("lol", r["message"])

    def test_cut_short(self):
        xml = receive(stream("aGVsbG8="), done())
        r = self.one(xml[: len(xml) - 30])
        self.assertFalse(r["ok"])
        self.assertEqual(r["error"], "MALFORMED_REPLY")

    def test_command_response(self):
        xml = (HEAD.replace("/ReceiveResponse<", "/CommandResponse<")
               + "<rsp:CommandResponse><rsp:CommandId> 1234-AB </rsp:CommandId>"
               "</rsp:CommandResponse>" + TAIL)
        r = self.one(xml)
        self.assertEqual(r["command_id"], "1234-AB")
        self.assertFalse(r["done"])

    def test_second_exit_code_is_ignored(self):
        state = (f'<rsp:CommandState CommandId="C" State="{SHELL}/CommandState/Done">'
                 "<rsp:ExitCode>5</rsp:ExitCode><rsp:ExitCode>6</rsp:ExitCode></rsp:CommandState>")
        r = self.one(receive(state))
        self.assertEqual((r["done"], r["exit_code"]), (True, 5))

    def test_not_an_envelope(self):
        r = self.one(f'<rsp:ReceiveResponse xmlns:rsp="{SHELL}">' + stream("aGk=")
                     + "</rsp:ReceiveResponse>")
        self.assertFalse(r["ok"])
        self.assertEqual(r["error"], "MALFORMED_REPLY")


if __name__ == "__main__":
    unittest.main()
