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


S = "{http://www.w3.org/2003/05/soap-envelope}"
A = "{http://schemas.xmlsoap.org/ws/2004/08/addressing}"
W = "{http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd}"
RSP = "{http://schemas.microsoft.com/wbem/wsman/1/windows/shell}"
F = "{http://schemas.microsoft.com/wbem/wsman/1/wsmanfault}"
CFG = "{http://schemas.microsoft.com/wbem/wsman/1/config}"

# WS-Management fault subcodes and WSManFault codes with a meaning of their
# own (as documented by Microsoft, MS-WSMV), and the error each must give.
FAULTS = [(("TimedOut",), (2150858793,), "OPERATION_TIMEOUT"),
          (("AccessDenied",), (5,), "ACCESS_DENIED"),
          (("QuotaLimit",), (2150859173,), "QUOTA_EXCEEDED"),
          (("InvalidSelectors",), (2150858843,), None),  # shell or command: by the text
          (("EncodingLimit",), (2150858817,), "ENVELOPE_TOO_LARGE")]


def expected(xml):
    """What a reply says, read here with ElementTree and base64: an oracle
    independent of the core's readers."""
    root = ET.fromstring(xml)
    body = root.find(S + "Body")
    fault = body.find(S + "Fault")
    if fault is not None:
        sub = fault.findtext(f"{S}Code/{S}Subcode/{S}Value") or ""
        sub = sub.strip().split(":")[-1]
        wf = fault.find(f".//{F}WSManFault")
        code = int(wf.get("Code")) if wf is not None and wf.get("Code", "").isdigit() else None
        for names, codes, error in FAULTS:
            if sub in names or code in codes:
                if error is None:
                    return {"error": ("UNKNOWN_COMMAND", "UNKNOWN_SHELL")}
                return {"error": (error,)}
        return {"error": ("WSMAN_FAULT",)}
    out = {"ok": True, "stdout": b"", "stderr": b"", "done": False, "exit_code": 0}
    response = body.find(RSP + "ReceiveResponse")
    if response is not None:
        seen_exit = False
        for child in response:
            if child.tag == RSP + "Stream":
                data = base64.b64decode("".join(child.itertext()))
                if child.get("Name") in ("stdout", "stderr"):
                    out[child.get("Name")] += data
            elif child.tag == RSP + "CommandState" and not seen_exit:
                if child.get("State", "").endswith("/Done"):
                    out["done"] = True
                code = child.findtext(RSP + "ExitCode")
                if code is not None:
                    out["exit_code"] = int(code.strip())
                    seen_exit = True
    elif body.find(RSP + "CommandResponse") is not None:
        out["command_id"] = body.find(RSP + "CommandResponse").findtext(RSP + "CommandId").strip()
    elif body.find(RSP + "Shell") is not None:
        out["shell_id"] = body.find(RSP + "Shell").findtext(RSP + "ShellId").strip()
    elif body.find(CFG + "Config") is not None:
        kb = body.find(CFG + "Config").findtext(CFG + "MaxEnvelopeSizekb")
        out["max_envelope_kb"] = int(kb) if kb else 0
    if "shell_id" not in out:
        selector = body.find(f".//{W}Selector[@Name='ShellId']")
        if selector is not None:
            out["shell_id"] = selector.text.strip()
    action = root.findtext(f"{S}Header/{A}Action")
    out["action"] = action.strip() if action else None
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
        # Each reply read by the core must say what the reply says, read
        # independently: the bytes of every stream, the state, the exit
        # code, the IDs, and the error a fault maps to.
        names = sorted(n for n in os.listdir(FIXTURES) if n.endswith(".yml"))
        self.assertGreater(len(names), 50)
        total = faults = with_output = 0
        for name in names:
            replies = [m["response"] for m in load(name) if m.get("response")]
            for reply, result in zip(replies, parse_replies(replies)):
                total += 1
                want = expected(reply)
                with self.subTest(name, reply=reply[:120]):
                    if "error" in want:
                        faults += 1
                        self.assertFalse(result["ok"])
                        self.assertIn(result["error"], want["error"])
                        continue
                    self.assertTrue(result["ok"], result)
                    for key, value in want.items():
                        self.assertEqual(result[key], value, key)
                    with_output += bool(want["stdout"] or want["stderr"])
        # The recordings hold every kind of reply: not a vacuous pass.
        self.assertGreater(faults, 0)
        self.assertGreater(with_output, 50)
        print(f"checked {total} recorded replies from {len(names)} files "
              f"({faults} faults, {with_output} with output)", file=sys.stderr)

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

    def test_exit_codes_and_output_bytes(self):
        r = parse_replies([m["response"] for m in load("test_winrs_standard.yml")])
        self.assertEqual([x.get("exit_code") for x in r if x["ok"] and x["done"]], [0])
        r = parse_replies([m["response"] for m in load("test_winrs_stderr_rc.yml")])
        done = [x for x in r if x["ok"] and x["done"]]
        self.assertEqual(len(done), 1)
        expect = [expected(m["response"]) for m in load("test_winrs_stderr_rc.yml") if m.get("response")]
        self.assertEqual(done[0]["exit_code"], [e for e in expect if e.get("done")][0]["exit_code"])
        self.assertEqual(b"".join(x["stderr"] for x in r if x["ok"]),
                         b"".join(e.get("stderr", b"") for e in expect))

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
