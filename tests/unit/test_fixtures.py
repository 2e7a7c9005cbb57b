#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Replay the traffic recorded against Windows: the core's parser must read
every reply, and its requests must have the shape of the recorded ones."""

import base64
import json
import os
import subprocess
import sys
import unittest
import xml.etree.ElementTree as ET

import yaml

SOURCE = os.environ.get("CASTELLAN_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
FIXTURES = os.path.join(SOURCE, "..", "shared", "fixtures", "windows-recorded")
TOOL = os.path.join(os.environ.get("CASTELLAN_BUILD_DIR", "build"), "tests", "wsman-replay")

# CASTELLAN_ERROR codes the tests name (castellan-error.h).
ERRORS = ["FAILED", "INVALID_ADDRESS", "UNREACHABLE", "TIMED_OUT", "BAD_CERTIFICATE",
          "CONNECTION_LOST", "MALFORMED_REPLY", "HTTP_STATUS", "CANCELLED", "POLICY_REFUSED",
          "NO_CREDENTIALS", "CREDENTIALS_REJECTED", "TICKET_EXPIRED", "CLOCK_SKEW",
          "UNKNOWN_SPN", "KDC_UNREACHABLE", "MUTUAL_AUTH_FAILED", "AUTH_FAILED",
          "UNENCRYPTED_REFUSED", "SEALING_FAILED", "ACCESS_DENIED", "QUOTA_EXCEEDED",
          "UNKNOWN_SHELL", "UNKNOWN_COMMAND", "OPERATION_TIMEOUT", "ENVELOPE_TOO_LARGE",
          "WSMAN_FAULT"]

# Header children whose text differs between any two runs.
VOLATILE = {"MessageID", "SessionId", "To", "OperationTimeout", "MaxEnvelopeSize", "Selector"}


def load(name):
    with open(os.path.join(FIXTURES, name), encoding="utf-8") as f:
        return yaml.safe_load(f)["messages"]


def parse_replies(xmls):
    stream = b"".join(b"%d\n" % len(x) + x for x in (r.encode("utf-8") for r in xmls))
    res = subprocess.run([TOOL, "parse"], input=stream, capture_output=True, timeout=60)
    if res.returncode != 0:
        raise AssertionError(f"wsman-replay failed: {res.stderr.decode()}")
    out = [json.loads(line) for line in res.stdout.decode().splitlines()]
    for item in out:
        if item["ok"]:
            item["stdout"] = base64.b64decode(item["stdout"])
            item["stderr"] = base64.b64decode(item["stderr"])
        else:
            item["error"] = ERRORS[item["code"]]
    return out


def shape(element, header=False):
    """Tags, attribute names and stable texts, in document order."""
    tag = element.tag.split("}")[-1]
    attrs = sorted((k.split("}")[-1], v if k.endswith(("mustUnderstand", "Name")) else "*")
                   for k, v in element.attrib.items())
    text = (element.text or "").strip()
    if tag in VOLATILE or tag in ("CommandId", "Arguments", "Command", "Stream"):
        text = "*"
    return (tag, tuple(attrs), text, tuple(shape(c) for c in element))


def request_shape(xml):
    root = ET.fromstring(xml)
    return shape(root)


class Replies(unittest.TestCase):
    def test_every_recorded_reply_parses(self):
        names = sorted(n for n in os.listdir(FIXTURES) if n.endswith(".yml"))
        self.assertGreater(len(names), 50)
        total = 0
        for name in names:
            replies = [m["response"] for m in load(name) if m.get("response")]
            for reply, result in zip(replies, parse_replies(replies)):
                total += 1
                with self.subTest(name):
                    # A fault is fine (and mapped); an unreadable reply is not.
                    self.assertNotEqual(result.get("error"), "MALFORMED_REPLY", reply[:200])
        print(f"parsed {total} recorded replies from {len(names)} files", file=sys.stderr)

    def test_standard_session(self):
        r = parse_replies([m["response"] for m in load("test_winrs_standard.yml")])
        self.assertEqual(r[0]["shell_id"], "4283CBDC-3706-415B-88BD-B385F3E51A53")
        self.assertEqual(r[1]["command_id"], "CF84C20A-0A35-43FA-AF78-0B4711DA5F30")
        self.assertEqual((r[2]["stdout"], r[2]["done"], r[2]["exit_code"]), (b"hi\r\n", True, 0))
        self.assertTrue(r[3]["ok"])  # SignalResponse
        self.assertTrue(r[4]["ok"])  # DeleteResponse

    def test_operation_timeout_is_no_output_yet(self):
        r = parse_replies([m["response"] for m in load("test_winrs_operation_timeout.yml")])
        self.assertIn("OPERATION_TIMEOUT", [x.get("error") for x in r])
        running = [x for x in r if x["ok"] and x["stdout"] and not x["done"]]
        self.assertTrue(running, "a Running reply with output")
        done = [x for x in r if x["ok"] and x["done"]]
        self.assertEqual(done[-1]["exit_code"], 0)

    def test_stderr_and_exit_code(self):
        r = parse_replies([m["response"] for m in load("test_winrs_stderr_rc.yml")])
        done = [x for x in r if x["ok"] and x["done"]][-1]
        self.assertNotEqual(done["exit_code"], 0)
        self.assertTrue(b"".join(x.get("stderr", b"") for x in r if x["ok"]))

    def test_unicode(self):
        r = parse_replies([m["response"] for m in load("test_winrs_unicode.yml")])
        text = b"".join(x["stdout"] for x in r if x["ok"]).decode("utf-8")
        self.assertIn("こんにちは", text)

    def test_bad_command_id(self):
        r = parse_replies([m["response"] for m in load("test_winrs_bad_cmd_id.yml")])
        self.assertIn("UNKNOWN_COMMAND", [x.get("error") for x in r])

    def test_max_envelope_from_config(self):
        for kb in (150, 500, 4096):
            r = parse_replies([m["response"] for m in load(f"test_wsman_update_envelope_size_{kb}.yml")])
            self.assertEqual(r[0]["max_envelope_kb"], kb)


class Requests(unittest.TestCase):
    def build(self, *args):
        res = subprocess.run([TOOL, "build", *args], capture_output=True, timeout=30)
        self.assertEqual(res.returncode, 0, res.stderr)
        return res.stdout

    def recorded(self, name, action_suffix, index=0):
        found = [m["request"] for m in load(name)
                 if f"{action_suffix}</wsa:Action>" in m["request"]]
        return found[index]

    def assertSameShape(self, ours, theirs):
        self.assertEqual(request_shape(ours), request_shape(theirs))

    def test_create(self):
        self.assertSameShape(self.build("create", "http://h:5985/wsman"),
                             self.recorded("test_winrs_unicode.yml", "/transfer/Create"))

    def test_command(self):
        self.assertSameShape(self.build("command", "http://h:5985/wsman", "S", "cmd.exe", "/c", "echo", "hi"),
                             self.recorded("test_winrs_standard.yml", "/shell/Command"))

    def test_receive(self):
        self.assertSameShape(self.build("receive", "http://h:5985/wsman", "S", "C"),
                             self.recorded("test_winrs_standard.yml", "/shell/Receive"))

    def test_signal(self):
        self.assertSameShape(self.build("signal", "http://h:5985/wsman", "S", "C", "ctrl_c"),
                             self.recorded("test_winrs_standard.yml", "/shell/Signal"))

    def test_send(self):
        ours = self.build("send", "http://h:5985/wsman", "S", "C", "data")
        theirs = self.recorded("test_winrs_send.yml", "/shell/Send", 1)
        # The recorded End attribute says "True"; ours "true": both are xs:boolean.
        self.assertSameShape(ours, theirs)

    def test_delete(self):
        self.assertSameShape(self.build("delete", "http://h:5985/wsman", "S"),
                             self.recorded("test_winrs_standard.yml", "/transfer/Delete"))

    def test_get_config(self):
        self.assertSameShape(self.build("get", "http://h:5985/wsman"),
                             self.recorded("test_wsman_update_envelope_size_500.yml", "/transfer/Get"))


if __name__ == "__main__":
    if not os.path.isdir(FIXTURES):
        print(f"no recorded fixtures at {FIXTURES}: skipped", file=sys.stderr)
        sys.exit(77)
    unittest.main(verbosity=2, warnings="ignore")
