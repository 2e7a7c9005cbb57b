# SPDX-License-Identifier: GPL-3.0-or-later
"""SOAP envelopes of the lab peer, shaped like a Windows WinRM listener's.

Requests are read with ElementTree by namespace; responses are written as
text in the prefixes Windows uses (s, a, x, w, rsp, p), so that a client
tested here meets the same bytes it meets on a real host.
"""

import re
import uuid
import xml.etree.ElementTree as ET

NS = {
    "s": "http://www.w3.org/2003/05/soap-envelope",
    "a": "http://schemas.xmlsoap.org/ws/2004/08/addressing",
    "x": "http://schemas.xmlsoap.org/ws/2004/09/transfer",
    "w": "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd",
    "p": "http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd",
    "rsp": "http://schemas.microsoft.com/wbem/wsman/1/windows/shell",
    "f": "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault",
    "cfg": "http://schemas.microsoft.com/wbem/wsman/1/config",
    "wsmid": "http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd",
}

SHELL_URI = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell"
ACTION_CREATE = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Create"
ACTION_DELETE = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Delete"
ACTION_GET = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Get"
ACTION_COMMAND = SHELL_URI + "/Command"
ACTION_RECEIVE = SHELL_URI + "/Receive"
ACTION_SEND = SHELL_URI + "/Send"
ACTION_SIGNAL = SHELL_URI + "/Signal"
ACTION_FAULT = "http://schemas.dmtf.org/wbem/wsman/1/wsman/fault"
CONFIG_URI = "http://schemas.microsoft.com/wbem/wsman/1/config"
ANONYMOUS = "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous"

SHORT_ACTIONS = {
    ACTION_CREATE: "Create",
    ACTION_DELETE: "Delete",
    ACTION_GET: "Get",
    ACTION_COMMAND: "Command",
    ACTION_RECEIVE: "Receive",
    ACTION_SEND: "Send",
    ACTION_SIGNAL: "Signal",
}

ENVELOPE_OPEN = (
    '<s:Envelope xml:lang="en-US" '
    'xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
    'xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" '
    'xmlns:x="http://schemas.xmlsoap.org/ws/2004/09/transfer" '
    'xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" '
    'xmlns:rsp="http://schemas.microsoft.com/wbem/wsman/1/windows/shell" '
    'xmlns:p="http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd">'
)

# WSManFault codes as Windows sends them.
CODE_TIMED_OUT = 2150858793
CODE_INVALID_SELECTORS = 2150858843
CODE_SHELL_QUOTA = 2150859173
CODE_ACCESS_DENIED = 5
CODE_ENVELOPE_TOO_LARGE = 2150858817
CODE_BAD_REQUEST = 2150858778
CODE_NO_CONFIGURATION = 2150858770
# The PowerShell plug-in failed (ERROR_INTERNAL_ERROR as a WSManFault).
CODE_PSRP_FAILED = 1359


class SoapError(Exception):
    """A request the peer cannot read; answered with a WS-Man fault."""


class Request:
    """The parts of a WS-Man request the peer acts on."""

    def __init__(self, body: bytes):
        try:
            # ElementTree never fetches external entities; reject DTDs
            # outright, as Windows does.
            if b"<!DOCTYPE" in body[:4096]:
                raise SoapError("DTDs are not allowed")
            self.root = ET.fromstring(body)
        except ET.ParseError as exc:
            raise SoapError(f"malformed XML: {exc}") from exc
        if self.root.tag != "{%s}Envelope" % NS["s"]:
            raise SoapError("not a SOAP 1.2 envelope")
        self.header = self.root.find("s:Header", NS)
        self.body = self.root.find("s:Body", NS)
        if self.header is None or self.body is None:
            raise SoapError("envelope without Header or Body")
        self.action = self._text("a:Action")
        self.message_id = self._text("a:MessageID") or ""
        self.resource_uri = self._text("w:ResourceURI") or ""
        self.max_envelope = _int_or(self._text("w:MaxEnvelopeSize"), 153600)
        self.operation_timeout = parse_duration(self._text("w:OperationTimeout"), 60.0)
        self.options = {
            o.get("Name"): (o.text or "")
            for o in self.header.findall("w:OptionSet/w:Option", NS)
        }
        self.selectors = {
            s.get("Name"): (s.text or "")
            for s in self.header.findall("w:SelectorSet/w:Selector", NS)
        }

    def _text(self, path):
        el = self.header.find(path, NS)
        return el.text.strip() if el is not None and el.text else None

    @property
    def short_action(self):
        return SHORT_ACTIONS.get(self.action, self.action or "?")


def _int_or(text, default):
    try:
        return int(text)
    except (TypeError, ValueError):
        return default


def parse_duration(text, default):
    """xs:duration as WS-Man uses it: PT20S, PT20.000S, P0DT0H1M0S."""
    if not text:
        return default
    m = re.fullmatch(
        r"P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d*)?)S)?)?", text
    )
    if not m:
        return default
    d, h, mi, s = m.groups()
    return int(d or 0) * 86400 + int(h or 0) * 3600 + int(mi or 0) * 60 + float(s or 0)


def esc(text: str) -> str:
    return (
        text.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
    )


def new_uuid() -> str:
    return str(uuid.uuid4()).upper()


def envelope(action: str, relates_to: str, body: str) -> bytes:
    return (
        ENVELOPE_OPEN
        + "<s:Header>"
        + f"<a:Action>{action}</a:Action>"
        + f"<a:MessageID>uuid:{new_uuid()}</a:MessageID>"
        + f"<a:To>{ANONYMOUS}</a:To>"
        + f"<a:RelatesTo>{esc(relates_to)}</a:RelatesTo>"
        + "</s:Header><s:Body>"
        + body
        + "</s:Body></s:Envelope>"
    ).encode()


def fault(relates_to, code, subcode, reason, wsman_code, machine, detail=""):
    body = (
        "<s:Fault><s:Code>"
        f"<s:Value>s:{code}</s:Value>"
        f"<s:Subcode><s:Value>w:{subcode}</s:Value></s:Subcode>"
        "</s:Code><s:Reason>"
        f'<s:Text xml:lang="en-US">{esc(reason)} </s:Text>'
        "</s:Reason><s:Detail>"
        + detail
        + f'<f:WSManFault xmlns:f="{NS["f"]}" Code="{wsman_code}" Machine="{esc(machine)}">'
        f"<f:Message>{esc(reason)} </f:Message></f:WSManFault>"
        "</s:Detail></s:Fault>"
    )
    return envelope(ACTION_FAULT, relates_to, body)


def identify_response() -> bytes:
    return (
        '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
        'xmlns:wsmid="http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd">'
        "<s:Header/><s:Body><wsmid:IdentifyResponse>"
        "<wsmid:ProtocolVersion>http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd</wsmid:ProtocolVersion>"
        "<wsmid:ProductVendor>Castellan lab peer</wsmid:ProductVendor>"
        "<wsmid:ProductVersion>OS: 0.0.0 SP: 0.0 Stack: 3.0</wsmid:ProductVersion>"
        "</wsmid:IdentifyResponse></s:Body></s:Envelope>"
    ).encode()


def is_identify(body: bytes) -> bool:
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return False
    return root.find("s:Body/wsmid:Identify", NS) is not None


def create_response(relates_to, address, shell_id, owner, client_ip, uri=SHELL_URI + "/cmd",
                    inputs="stdin", outputs="stdout stderr"):
    body = (
        "<x:ResourceCreated>"
        f"<a:Address>{esc(address)}</a:Address>"
        "<a:ReferenceParameters>"
        f"<w:ResourceURI>{uri}</w:ResourceURI>"
        f'<w:SelectorSet><w:Selector Name="ShellId">{shell_id}</w:Selector></w:SelectorSet>'
        "</a:ReferenceParameters></x:ResourceCreated>"
        f'<rsp:Shell xmlns:rsp="{SHELL_URI}">'
        f"<rsp:ShellId>{shell_id}</rsp:ShellId>"
        f"<rsp:ResourceUri>{uri}</rsp:ResourceUri>"
        f"<rsp:Owner>{esc(owner)}</rsp:Owner>"
        f"<rsp:ClientIP>{esc(client_ip)}</rsp:ClientIP>"
        "<rsp:IdleTimeOut>PT7200.000S</rsp:IdleTimeOut>"
        f"<rsp:InputStreams>{inputs}</rsp:InputStreams>"
        f"<rsp:OutputStreams>{outputs}</rsp:OutputStreams>"
        "<rsp:ShellRunTime>P0DT0H0M0S</rsp:ShellRunTime>"
        "<rsp:ShellInactivity>P0DT0H0M0S</rsp:ShellInactivity>"
        "</rsp:Shell>"
    )
    return envelope(ACTION_CREATE + "Response", relates_to, body)


def command_response(relates_to, command_id):
    body = (
        "<rsp:CommandResponse>"
        f"<rsp:CommandId>{command_id}</rsp:CommandId>"
        "</rsp:CommandResponse>"
    )
    return envelope(ACTION_COMMAND + "Response", relates_to, body)


def receive_response(relates_to, command_id, chunks, done, exit_code):
    """chunks: list of (stream name, base64 text, end flag)."""
    parts = ["<rsp:ReceiveResponse>"]
    for name, data, end in chunks:
        end_attr = ' End="true"' if end else ""
        parts.append(
            f'<rsp:Stream Name="{name}" CommandId="{command_id}"{end_attr}>{data}</rsp:Stream>'
        )
    if done:
        parts.append(
            f'<rsp:CommandState CommandId="{command_id}" '
            f'State="{SHELL_URI}/CommandState/Done">'
            f"<rsp:ExitCode>{exit_code}</rsp:ExitCode></rsp:CommandState>"
        )
    else:
        parts.append(
            f'<rsp:CommandState CommandId="{command_id}" '
            f'State="{SHELL_URI}/CommandState/Running"></rsp:CommandState>'
        )
    parts.append("</rsp:ReceiveResponse>")
    return envelope(ACTION_RECEIVE + "Response", relates_to, "".join(parts))


def psrp_receive_response(relates_to, command_id, streams, done):
    """A PowerShell pool's Receive: the pool's carries no CommandState, a
    pipeline's says Running or, after its last state, Done."""
    parts = ["<rsp:ReceiveResponse>", streams]
    if command_id and done:
        parts.append(
            f'<rsp:CommandState CommandId="{command_id}" '
            f'State="{SHELL_URI}/CommandState/Done">'
            "<rsp:ExitCode>0</rsp:ExitCode></rsp:CommandState>")
    elif command_id:
        parts.append(
            f'<rsp:CommandState CommandId="{command_id}" '
            f'State="{SHELL_URI}/CommandState/Running"></rsp:CommandState>')
    parts.append("</rsp:ReceiveResponse>")
    return envelope(ACTION_RECEIVE + "Response", relates_to, "".join(parts))


def empty_response(action, relates_to, body=""):
    return envelope(action + "Response", relates_to, body)


def config_response(relates_to, max_envelope_kb, allow_unencrypted):
    allow = "true" if allow_unencrypted else "false"
    body = (
        f'<cfg:Config xmlns:cfg="{CONFIG_URI}">'
        f"<cfg:MaxEnvelopeSizekb>{max_envelope_kb}</cfg:MaxEnvelopeSizekb>"
        "<cfg:MaxTimeoutms>60000</cfg:MaxTimeoutms>"
        "<cfg:MaxBatchItems>32000</cfg:MaxBatchItems>"
        "<cfg:Service>"
        "<cfg:MaxConcurrentOperationsPerUser>1500</cfg:MaxConcurrentOperationsPerUser>"
        f"<cfg:AllowUnencrypted>{allow}</cfg:AllowUnencrypted>"
        "<cfg:Auth><cfg:Basic>true</cfg:Basic><cfg:Kerberos>true</cfg:Kerberos>"
        "<cfg:Negotiate>true</cfg:Negotiate><cfg:Certificate>false</cfg:Certificate>"
        "<cfg:CredSSP>false</cfg:CredSSP><cfg:CbtHardeningLevel>Relaxed</cfg:CbtHardeningLevel>"
        "</cfg:Auth></cfg:Service>"
        "<cfg:Winrs><cfg:AllowRemoteShellAccess>true</cfg:AllowRemoteShellAccess>"
        "<cfg:MaxShellsPerUser>5</cfg:MaxShellsPerUser></cfg:Winrs>"
        "</cfg:Config>"
    )
    return envelope(ACTION_GET + "Response", relates_to, body)
