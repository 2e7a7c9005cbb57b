#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""PowerShell Remoting through the lab peer, answered by real PowerShell.

The client side of conversations recorded against Windows (its
creationXml, CREATE_PIPELINE fragments and CommandIds) is replayed over
Kerberos-sealed WS-Man; what comes back is decoded here, independently of
the peer: 21-byte fragment headers, 40-byte message headers, CLIXML.
"""

import base64
import os
import re
import shutil
import struct
import subprocess
import sys
import time
import unittest
import uuid
import xml.etree.ElementTree as ET

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "peer"))
import gss_client as g  # noqa: E402
import peer_psrp  # noqa: E402
from labfixture import LabTestCase  # noqa: E402

SOURCE = os.environ.get("CASTELLAN_SOURCE_DIR",
                        os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
FIXTURES = os.path.join(SOURCE, "..", "shared", "fixtures", "windows-recorded")

PS = "http://schemas.microsoft.com/powershell"
SHELL = g.SHELL
TRANSFER = g.TRANSFER
NS = dict(g.NS, w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd")

SESSION_CAPABILITY = 0x00010002
RUNSPACEPOOL_STATE = 0x00021005
APPLICATION_PRIVATE_DATA = 0x00021009
PIPELINE_OUTPUT = 0x00041004
PIPELINE_STATE = 0x00041006


# ---- the recorded client side --------------------------------------------------

def recorded(name, running=None):
    """The client's side of a recording: its ShellId and creationXml, and
    the CommandId and Arguments of its first pipeline (the first that
    runs the command `running`, when given)."""
    with open(os.path.join(FIXTURES, name), encoding="utf-8") as f:
        messages = yaml.safe_load(f)["messages"]
    create = messages[0]["request"]
    found = {
        "shell_id": re.search(r'<rsp:Shell ShellId="([^"]+)"', create).group(1),
        "creation": re.search(r"<creationXml[^>]*>([^<]+)<", create).group(1),
    }
    commands = [m["request"] for m in messages if f"{SHELL}/Command<" in m["request"]]
    if running:
        commands = [c for c in commands if f'<S N="Cmd">{running}</S>'.encode()
                    in base64.b64decode(re.search(r"<rsp:Arguments>([^<]+)<", c).group(1))]
    command = commands[0] if commands else None
    if command:
        found["command_id"] = re.search(r'<rsp:CommandLine CommandId="([^"]+)"', command).group(1)
        found["arguments"] = re.search(r"<rsp:Arguments>([^<]+)<", command).group(1)
    return found


# ---- PSRP, decoded apart from the peer ---------------------------------------

def fragments(data):
    pos = 0
    while pos < len(data):
        oid, fid, flags, length = struct.unpack_from(">QQBI", data, pos)
        yield oid, fid, flags, data[pos + 21:pos + 21 + length]
        pos += 21 + length
    assert pos == len(data), "a fragment runs past its stream"


class Messages:
    """Reassembles fragments into PSRP messages, checking their order."""

    def __init__(self, test):
        self.test = test
        self.partial = {}
        self.messages = []
        self.continued = 0

    def add(self, data):
        for oid, fid, flags, blob in fragments(data):
            if flags & 1:
                self.test.assertEqual(fid, 0, "a start fragment has FragmentId 0")
                self.test.assertNotIn(oid, self.partial)
                self.partial[oid] = [0, bytearray()]
            else:
                self.test.assertIn(oid, self.partial, "a fragment without its start")
                self.test.assertEqual(fid, self.partial[oid][0] + 1, "FragmentIds in order")
                self.partial[oid][0] = fid
                self.continued += 1
            self.partial[oid][1] += blob
            if flags & 2:
                self.messages.append(self.decode(bytes(self.partial.pop(oid)[1])))

    @staticmethod
    def decode(blob):
        destination, kind = struct.unpack_from("<II", blob, 0)
        rpid = uuid.UUID(bytes_le=blob[8:24])
        pid = uuid.UUID(bytes_le=blob[24:40])
        data = blob[40:]
        if data.startswith(b"\xef\xbb\xbf"):
            data = data[3:]
        return {"destination": destination, "type": kind, "rpid": rpid, "pid": pid,
                "xml": ET.fromstring(data) if data else None, "text": data.decode()}

    def of(self, kind):
        return [m for m in self.messages if m["type"] == kind]


def dictionary(dct_element):
    """A CLIXML DCT as {key text: value element}."""
    found = {}
    for en in dct_element.findall("En"):
        key = en.find("*[@N='Key']")
        value = en.find("*[@N='Value']")
        found[key.text] = value
    return found


def pwsh_version(pwsh):
    res = subprocess.run([pwsh, "-NoLogo", "-NoProfile", "--version"], capture_output=True,
                         text=True, timeout=120)
    return res.stdout.split()[-1]


class PowerShellPools(LabTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.version = pwsh_version(PWSH)

    def setUp(self):
        self.client = g.Client("localhost", self.lab.http_port, timeout=120).authenticate()

    def call(self, action, body, config="Microsoft.PowerShell", shell=None, **kw):
        selectors = g.shell_selector(shell) if shell else ""
        return self.client.call(action, body, selectors, resource=f"{PS}/{config}", **kw)

    def create(self, record, config="Microsoft.PowerShell"):
        root = self.call(
            f"{TRANSFER}/Create",
            f'<rsp:Shell ShellId="{record["shell_id"]}"><rsp:InputStreams>stdin pr'
            "</rsp:InputStreams><rsp:OutputStreams>stdout</rsp:OutputStreams>"
            f'<creationXml xmlns="{PS}">{record["creation"]}</creationXml></rsp:Shell>',
            config,
            options='<wsman:OptionSet s:mustUnderstand="true"><wsman:Option MustComply="true" '
                    'Name="protocolversion">2.3</wsman:Option></wsman:OptionSet>')
        shell = root.find("s:Body/rsp:Shell", NS)
        self.assertEqual(shell.findtext("rsp:ShellId", None, NS), record["shell_id"])
        self.assertEqual(shell.findtext("rsp:ResourceUri", None, NS), f"{PS}/{config}")
        self.assertEqual(shell.findtext("rsp:InputStreams", None, NS), "stdin pr")
        self.addCleanup(self.delete, record["shell_id"], config)
        return record["shell_id"]

    def delete(self, shell, config):
        try:
            self.call(f"{TRANSFER}/Delete", "", config, shell)
        except g.WsmanFault as fault:
            self.assertEqual(fault.subcode, "w:InvalidSelectors")

    def receive(self, shell, messages, until, command_id=None, config="Microsoft.PowerShell",
                max_envelope=153600):
        """Receive until until(messages) holds (and, for a pipeline, it is
        Done); returns whether the last reply said Done."""
        desired = (f'<rsp:DesiredStream CommandId="{command_id}">stdout</rsp:DesiredStream>'
                   if command_id else "<rsp:DesiredStream>stdout</rsp:DesiredStream>")
        for _ in range(200):
            status, reply, _ = self.client.post(g.envelope(
                "localhost", self.lab.http_port, f"{SHELL}/Receive",
                f"<rsp:Receive>{desired}</rsp:Receive>", g.shell_selector(shell),
                '<wsman:OptionSet><wsman:Option Name="WSMAN_CMDSHELL_OPTION_KEEPALIVE">TRUE'
                "</wsman:Option></wsman:OptionSet>", max_envelope, "PT20S",
                f"{PS}/{config}"))
            self.assertLessEqual(len(reply), max_envelope)
            root = ET.fromstring(reply)
            fault = root.find("s:Body/s:Fault", NS)
            if fault is not None:
                text = fault.findtext("s:Reason/s:Text", "", NS)
                self.assertIn("OperationTimeout", text)
                continue
            self.assertEqual(status, 200)
            response = root.find("s:Body/rsp:ReceiveResponse", NS)
            for stream in response.findall("rsp:Stream", NS):
                self.assertEqual(stream.get("Name"), "stdout")
                self.assertEqual(stream.get("CommandId"), command_id)
                messages.add(base64.b64decode(stream.text or ""))
            state = response.find("rsp:CommandState", NS)
            done = state is not None and state.get("State").endswith("/Done")
            if command_id is None:
                self.assertIsNone(state, "a pool's Receive carries no CommandState")
            if until(messages) and (command_id is None or done):
                return done
        self.fail("the awaited PSRP messages never came")

    def open_pool(self, record, config="Microsoft.PowerShell", max_envelope=153600):
        t = time.monotonic()
        shell = self.create(record, config)
        messages = Messages(self)
        self.receive(shell, messages, lambda m: m.of(RUNSPACEPOOL_STATE), config=config,
                     max_envelope=max_envelope)
        print(f"{config}: pool open in {time.monotonic() - t:.2f} s "
              "(Create with pwsh's start, then Receive)", file=sys.stderr)
        return shell, messages

    def assert_opened(self, record, messages):
        kinds = [m["type"] for m in messages.messages]
        self.assertEqual(kinds, [SESSION_CAPABILITY, APPLICATION_PRIVATE_DATA,
                                 RUNSPACEPOOL_STATE])
        # The RPID the client put in its INIT_RUNSPACEPOOL, read as .NET
        # reads it (the older recordings carry the ShellId's bytes in
        # network order there: the server answers with what it read).
        sent = Messages(self)
        sent.add(base64.b64decode(record["creation"]))
        pool_id = sent.messages[-1]["rpid"]
        for m in messages.messages:
            self.assertEqual(m["destination"], 1)
            # SESSION_CAPABILITY comes before the pool: Windows too sends
            # it with an empty RPID.
            self.assertEqual(m["rpid"], uuid.UUID(int=0) if m["type"] == SESSION_CAPABILITY
                             else pool_id)
            self.assertEqual(m["pid"], uuid.UUID(int=0))
        capability = messages.of(SESSION_CAPABILITY)[0]["xml"]
        self.assertEqual(capability.findtext("MS/Version[@N='protocolversion']"), "2.3")
        self.assertEqual(capability.findtext("MS/Version[@N='SerializationVersion']"), "1.1.0.1")
        private = messages.of(APPLICATION_PRIVATE_DATA)[0]["xml"]
        data = dictionary(private.find("MS/Obj[@N='ApplicationPrivateData']/DCT"))
        table = dictionary(data["PSVersionTable"].find("DCT"))
        self.assertEqual(table["PSVersion"].text, self.version)
        self.assertEqual(table["PSEdition"].text, "Core")
        state = messages.of(RUNSPACEPOOL_STATE)[0]["xml"]
        self.assertEqual(state.findtext("MS/I32[@N='RunspaceState']"), "2")

    def run_pipeline(self, shell, record, config="Microsoft.PowerShell", stop=False):
        command_id = record["command_id"]
        root = self.call(
            f"{SHELL}/Command",
            f'<rsp:CommandLine CommandId="{command_id}"><rsp:Command> </rsp:Command>'
            f'<rsp:Arguments>{record["arguments"]}</rsp:Arguments></rsp:CommandLine>',
            config, shell)
        self.assertEqual(root.findtext("s:Body/rsp:CommandResponse/rsp:CommandId", None, NS),
                         command_id)
        if stop:
            # Stopped only once it runs (pwsh reports a stop that comes
            # while the pipeline is being set up as Completed): a Receive
            # that finds nothing to say comes first.
            with self.assertRaises(g.WsmanFault) as caught:
                self.call(f"{SHELL}/Receive",
                          f'<rsp:Receive><rsp:DesiredStream CommandId="{command_id}">stdout'
                          "</rsp:DesiredStream></rsp:Receive>", config, shell, timeout="PT2S")
            self.assertEqual(caught.exception.subcode, "w:TimedOut")
            self.call(f"{SHELL}/Signal",
                      f'<rsp:Signal CommandId="{command_id}"><rsp:Code>{PS}/signal/crtl_c'
                      "</rsp:Code></rsp:Signal>", config, shell)
        messages = Messages(self)
        done = self.receive(shell, messages, lambda m: m.of(PIPELINE_STATE), command_id, config)
        self.assertTrue(done)
        # The PID the client gave its CREATE_PIPELINE (see assert_opened).
        sent = Messages(self)
        sent.add(base64.b64decode(record["arguments"]))
        pipeline = sent.messages[0]["pid"]
        for m in messages.messages:
            self.assertEqual((m["destination"], m["pid"]), (1, pipeline))
        self.call(f"{SHELL}/Signal",
                  f'<rsp:Signal CommandId="{command_id}"><rsp:Code>{SHELL}/signal/Terminate'
                  "</rsp:Code></rsp:Signal>", config, shell)
        state = messages.of(PIPELINE_STATE)[-1]["xml"]
        return int(state.findtext("MS/I32[@N='PipelineState']")), messages

    # ---- the tests ---------------------------------------------------------------

    def test_pool_opens_and_closes(self):
        record = recorded("test_psrp_open_runspace.yml")
        shell, messages = self.open_pool(record)
        self.assert_opened(record, messages)
        status = self.lab.status()
        self.assertEqual((status["shells"], status["running_processes"]), (1, 1))
        self.call(f"{TRANSFER}/Delete", "", shell=shell)
        status = self.lab.wait_status(lambda s: s["running_processes"] == 0, 30)
        self.assertEqual((status["shells"], status["running_processes"]), (0, 0))
        with self.assertRaises(g.WsmanFault) as caught:
            self.call(f"{TRANSFER}/Delete", "", shell=shell)
        self.assertEqual(caught.exception.subcode, "w:InvalidSelectors")

    def test_pipeline_completes_twice(self):
        # As recorded: the same CommandId again once the first has ended.
        record = recorded("test_psrp_multiple_invocations.yml")
        shell, messages = self.open_pool(record)
        self.assert_opened(record, messages)
        for _ in range(2):
            state, out = self.run_pipeline(shell, record)
            self.assertEqual(state, 4)
            self.assertEqual([m["text"] for m in out.of(PIPELINE_OUTPUT)], ["<I32>2</I32>"])

    def test_small_envelope_splits_fragments(self):
        record = recorded("test_psrp_open_runspace.yml")
        # Room for a few hundred bytes a Receive: the private data (over a
        # kilobyte) must come as several fragments of one message.
        shell, messages = self.open_pool(record, max_envelope=2800)
        self.assert_opened(record, messages)
        self.assertGreater(messages.continued, 0)

    def test_stop_signal(self):
        record = recorded("test_psrp_long_running_cmdlet.yml", "Start-Sleep")
        shell, messages = self.open_pool(record)
        state, out = self.run_pipeline(shell, record, stop=True)
        self.assertEqual(state, 3)

    def test_restricted_endpoint(self):
        record = recorded("test_psrp_with_jea_configuration.yml")
        shell, messages = self.open_pool(record, peer_psrp.RESTRICTED)
        self.assert_opened(record, messages)
        # The recorded JEA pipeline runs Get-Item, which this endpoint hides.
        state, out = self.run_pipeline(shell, record, peer_psrp.RESTRICTED)
        self.assertEqual(state, 5)
        text = out.of(PIPELINE_STATE)[-1]["text"]
        self.assertIn("CommandNotFoundException", text)
        self.assertIn("Get-Item", text)

    def test_unknown_configuration(self):
        record = recorded("test_psrp_open_runspace.yml")
        with self.assertRaises(g.WsmanFault) as caught:
            self.create(record, "No.Such.Endpoint")
        self.assertEqual(caught.exception.subcode, "w:InvalidResourceURI")
        self.assertIn("No.Such.Endpoint session configuration", caught.exception.text)
        self.assertEqual(self.lab.status()["shells"], 0)

    def test_winrs_runs_the_same_pwsh(self):
        shell = self.client.open_shell()
        try:
            out, err, code = self.client.run(
                shell, "pwsh -NoLogo -NoProfile -Command '$PSVersionTable.PSVersion.ToString()'")
        finally:
            self.client.close_shell(shell)
        self.assertEqual((out.decode().strip(), code), (self.version, 0), err)


def pwsh_or_exit():
    pwsh = peer_psrp.find_pwsh()
    if pwsh:
        return pwsh
    if shutil.which("dotnet"):
        print("dotnet is installed but PowerShell is not: run ./dev test (it installs "
              "PowerShell 7.6.10 as a .NET tool) or set CASTELLAN_PWSH", file=sys.stderr)
        sys.exit(1)
    print("SKIP: no PowerShell for the PSRP lab: install the .NET SDK (./dev then installs "
          "PowerShell 7.6.10) or put pwsh on PATH", file=sys.stderr)
    sys.exit(77)


if __name__ == "__main__":
    if not os.path.isdir(FIXTURES):
        print(f"SKIP: the recorded Windows traffic is not at {FIXTURES}", file=sys.stderr)
        sys.exit(77)
    PWSH = pwsh_or_exit()
    os.environ["CASTELLAN_PWSH"] = PWSH
    unittest.main(verbosity=2, warnings="ignore")
