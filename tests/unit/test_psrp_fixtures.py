#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Replay the PowerShell Remoting traffic recorded against Windows: every
payload goes through the core's defragmenter, message reader and CLIXML
reader, whose results are checked against an independent reading here
(struct and ElementTree) and against what each conversation is known to
carry; our writer's output must read back as the same value."""

import base64
import json
import os
import re
import struct
import subprocess
import sys
import unittest
import uuid
import xml.etree.ElementTree as ET

try:
    import yaml
except ImportError:  # pragma: no cover
    yaml = None

SOURCE = os.environ.get("CASTELLAN_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
FIXTURES = os.path.join(SOURCE, "..", "shared", "fixtures", "windows-recorded")
TOOL = os.path.join(os.environ.get("CASTELLAN_BUILD_DIR", "build"), "tests", "psrp-replay")

POOL = "pool"
CLIENT, SERVER = 1, 2


def local(tag):
    return tag.rsplit("}", 1)[-1]


def payloads(messages):
    """(channel, base64) in the order the conversation carried them; a
    channel is the sender and the pool or pipeline it spoke on."""
    out = []
    for message in messages:
        request = message.get("request") or ""
        response = message.get("response") or ""
        reply_root = None
        if response.lstrip().startswith("<"):
            try:
                reply_root = ET.fromstring(response)
            except ET.ParseError:
                reply_root = None
        if request.lstrip().startswith("<"):
            root = ET.fromstring(request)
            for el in root.iter():
                name = local(el.tag)
                if name in ("creationXml", "connectXml") and el.text:
                    out.append((f"c:{POOL}", el.text.strip()))
                elif name == "CommandLine":
                    args = [a for a in el if local(a.tag) == "Arguments"]
                    command = el.get("CommandId")
                    if command is None and reply_root is not None:
                        found = [e.text for e in reply_root.iter() if local(e.tag) == "CommandId"]
                        command = found[0] if found else None
                    for a in args:
                        if a.text:
                            out.append((f"c:{(command or POOL).upper()}", a.text.strip()))
                elif name == "Send":
                    for s in el:
                        if local(s.tag) == "Stream" and s.text:
                            command = s.get("CommandId")
                            out.append((f"c:{(command or POOL).upper()}", s.text.strip()))
        if reply_root is not None:
            for el in reply_root.iter():
                name = local(el.tag)
                if name == "Stream" and el.text and el.text.strip():
                    command = el.get("CommandId")
                    out.append((f"s:{(command or POOL).upper()}", el.text.strip()))
                elif name == "connectResponseXml" and el.text:
                    out.append((f"s:{POOL}", el.text.strip()))
    return out


def oracle(items):
    """The same conversation decoded here, from the specification alone."""
    partial = {}
    out = []
    for channel, b64 in items:
        data = base64.b64decode(b64)
        at = 0
        while at < len(data):
            object_id, fragment_id, flags, length = struct.unpack(">QQBI", data[at:at + 21])
            blob = data[at + 21:at + 21 + length]
            at += 21 + length
            key = (channel, object_id)
            if flags & 1:
                partial[key] = b""
            partial[key] += blob
            if flags & 2:
                message = partial.pop(key)
                destination, mtype = struct.unpack("<II", message[:8])
                rpid = uuid.UUID(bytes_le=message[8:24])
                pid = uuid.UUID(bytes_le=message[24:40])
                body = message[40:]
                if body.startswith(b"\xef\xbb\xbf"):
                    body = body[3:]
                out.append({"channel": channel, "object_id": object_id, "destination": destination,
                            "type_value": mtype, "rpid": str(rpid), "pid": str(pid),
                            "data": body.decode("utf-8")})
    return out


def replay(items):
    stdin = "".join(f"{c} {b}\n" for c, b in items).encode()
    res = subprocess.run([TOOL], input=stdin, capture_output=True, timeout=120)
    if res.returncode != 0:
        raise AssertionError(f"psrp-replay failed: {res.stderr.decode()}")
    return [json.loads(line) for line in res.stdout.decode().splitlines()]


def unescape(text):
    """MS-PSRP 2.2.5.3.2, by way of UTF-16."""
    units = []
    i = 0
    while i < len(text):
        m = re.match(r"_x([0-9A-Fa-f]{4})_", text[i:])
        if m:
            units.append(int(m.group(1), 16))
            i += 7
        else:
            units.extend(struct.unpack(f"<{len(text[i].encode('utf-16-le')) // 2}H",
                                       text[i].encode("utf-16-le")))
            i += 1
    return struct.pack(f"<{len(units)}H", *units).decode("utf-16-le", errors="replace")


def ms(value, name):
    """A member of an Obj's MS or Props, as the replay printed it."""
    assert value is not None and value["t"] == "Obj", value
    for member in ("ms", "props"):
        if name in value.get(member, {}):
            return value[member][name]
    raise KeyError(name)


def scalar(value):
    return None if value is None else value.get("v", value.get("inner", {}).get("v") if value["t"] == "Obj" else None)


def fixture_names():
    if not os.path.isdir(FIXTURES):
        return []
    return sorted(n for n in os.listdir(FIXTURES)
                  if (n.startswith("test_psrp_") or n.startswith("test_client_execute_ps")) and n.endswith(".yml"))


class Conversation:
    def __init__(self, name):
        with open(os.path.join(FIXTURES, name), encoding="utf-8") as f:
            self.items = payloads(yaml.safe_load(f)["messages"])
        self.decoded = replay(self.items)
        self.expected = oracle(self.items)

    def of(self, mtype, sender="s"):
        return [m for m in self.decoded if m.get("type") == mtype and m["channel"].startswith(sender + ":")]


CACHE = {}


def conversation(name):
    if name not in CACHE:
        CACHE[name] = Conversation(name)
    return CACHE[name]


@unittest.skipUnless(yaml is not None and os.path.isdir(FIXTURES), "recorded fixtures not available")
class RecordedPsrp(unittest.TestCase):
    def test_every_message_decodes_and_rewrites(self):
        names = fixture_names()
        self.assertGreater(len(names), 20)
        total = 0
        for name in names:
            conv = conversation(name)
            with self.subTest(fixture=name):
                self.assertEqual(len(conv.decoded), len(conv.expected))
                for got, want in zip(conv.decoded, conv.expected):
                    self.assertTrue(got["ok"], got)
                    for key in ("channel", "object_id", "destination", "type_value", "rpid", "pid"):
                        self.assertEqual(got[key], want[key], key)
                    self.assertIsNotNone(got["type"], got["type_value"])
                    self.assertEqual(got["destination"], SERVER if got["channel"].startswith("c:") else CLIENT)
                    self.assertTrue(got["equal"], got)
                    self.assertEqual(got["value"], got["rewritten"])
                    if want["data"]:
                        root = ET.fromstring(want["data"])
                        self.assertEqual(got["value"]["t"] if got["value"] else "Nil", root.tag)
                total += len(conv.decoded)
        self.assertGreater(total, 300)

    def test_strings_match_an_independent_reading(self):
        checked = 0
        for name in fixture_names():
            conv = conversation(name)
            for got, want in zip(conv.decoded, conv.expected):
                if got.get("type") == "PIPELINE_OUTPUT" and want["data"].startswith("<S"):
                    text = ET.fromstring(want["data"]).text or ""
                    self.assertEqual(got["value"]["v"], unescape(text))
                    checked += 1
        self.assertGreater(checked, 10)


if __name__ == "__main__":
    unittest.main(verbosity=2)
