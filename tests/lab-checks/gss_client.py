# SPDX-License-Identifier: GPL-3.0-or-later
"""A short WinRM client on python3-gssapi, written apart from the peer, to
prove what pywinrm cannot: Kerberos sealing with wrap_iov (MS-WSMV), and
to drive the peer's fault switches at the wire level.
"""

import base64
import http.client
import ipaddress
import re
import struct
import uuid
import xml.etree.ElementTree as ET

import gssapi
import gssapi.raw as graw

SPNEGO = gssapi.OID.from_int_seq("1.3.6.1.5.5.2")
KRB5 = gssapi.OID.from_int_seq("1.2.840.113554.1.2.2")
NTLM = gssapi.OID.from_int_seq("1.3.6.1.4.1.311.2.2.10")

NS = {
    "s": "http://www.w3.org/2003/05/soap-envelope",
    "rsp": "http://schemas.microsoft.com/wbem/wsman/1/windows/shell",
    "f": "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault",
    "a": "http://schemas.xmlsoap.org/ws/2004/08/addressing",
}
SHELL = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell"
TRANSFER = "http://schemas.xmlsoap.org/ws/2004/09/transfer"


def is_address(host):
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


class WsmanFault(Exception):
    def __init__(self, status, subcode, code, text):
        super().__init__(f"HTTP {status} {subcode} ({code}): {text}")
        self.status, self.subcode, self.code, self.text = status, subcode, code, text


class Client:
    def __init__(self, host, port, *, user=None, password=None, mech=SPNEGO,
                 service="HTTP", scheme="Negotiate", timeout=20):
        self.host, self.port, self.scheme = host, port, scheme
        self.timeout = timeout
        if mech == SPNEGO and is_address(host):
            # As Castellan and Windows do: NTLM to an address, unwrapped
            # under the Negotiate scheme (MIT krb5 1.21's SPNEGO fallback
            # to gss-ntlmssp fails on the mechListMIC).
            mech = NTLM
        creds = None
        if password is not None:
            name = gssapi.Name(user, gssapi.NameType.user)
            creds = gssapi.raw.acquire_cred_with_password(
                name, password.encode(), usage="initiate", mechs=[mech]).creds
        target = gssapi.Name(f"{service}@{host}", gssapi.NameType.hostbased_service)
        flags = (gssapi.RequirementFlag.mutual_authentication
                 | gssapi.RequirementFlag.confidentiality
                 | gssapi.RequirementFlag.integrity)
        self.ctx = gssapi.SecurityContext(name=target, creds=creds, mech=mech,
                                          usage="initiate", flags=flags)
        self.conn = http.client.HTTPConnection(host, port, timeout=timeout)
        self.protocol = ("application/HTTP-Kerberos-session-encrypted"
                         if scheme == "Kerberos" else
                         "application/HTTP-SPNEGO-session-encrypted")
        self.kerberos = False

    # ---- authentication -------------------------------------------------

    def authenticate(self):
        """Run the 401 exchange on an empty body; checks mutual auth."""
        token = self.ctx.step()
        while True:
            self.conn.request("POST", "/wsman", body=b"", headers={
                "Authorization": f"{self.scheme} {base64.b64encode(token).decode()}",
                "Content-Length": "0"})
            resp = self.conn.getresponse()
            resp.read()
            header = resp.getheader("WWW-Authenticate") or ""
            m = re.match(rf"{self.scheme}\s+(\S+)", header)
            if resp.status == 200:
                if m:
                    self.ctx.step(base64.b64decode(m.group(1)))
                if not self.ctx.complete:
                    raise RuntimeError("mutual authentication did not complete")
                break
            if resp.status != 401 or not m:
                raise RuntimeError(f"authentication failed: HTTP {resp.status}")
            token = self.ctx.step(base64.b64decode(m.group(1)))
        self.kerberos = self.ctx.mech == KRB5
        return self

    # ---- sealing ----------------------------------------------------------

    def seal(self, data: bytes) -> bytes:
        if self.kerberos:
            iov = graw.IOV(graw.IOVBufferType.header, data,
                           graw.IOVBufferType.padding, std_layout=False)
            graw.wrap_iov(self.ctx, iov, confidential=True)
            padding = iov[2].value or b""
            sig, sealed = iov[0].value, iov[1].value + padding
        else:
            wrapped = self.ctx.wrap(data, True).message
            sig, sealed, padding = wrapped[:16], wrapped[16:], b""
        # Length counts the padding (RC4-HMAC and DES3 tokens), as Windows does.
        return (b"--Encrypted Boundary\r\n"
                + b"\tContent-Type: " + self.protocol.encode() + b"\r\n"
                + b"\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length="
                + str(len(data) + len(padding)).encode() + b"\r\n"
                + b"--Encrypted Boundary\r\n"
                + b"\tContent-Type: application/octet-stream\r\n"
                + struct.pack("<I", len(sig)) + sig + sealed
                + b"--Encrypted Boundary--\r\n")

    def unseal(self, body: bytes) -> bytes:
        m = re.search(rb"Length=(\d+)\r\n", body)
        start = body.index(b"application/octet-stream\r\n") + len(b"application/octet-stream\r\n")
        end = body.rindex(b"--Encrypted Boundary--")
        payload = body[start:end]
        (n,) = struct.unpack("<I", payload[:4])
        sig, sealed = payload[4:4 + n], payload[4 + n:]
        if self.kerberos:
            iov = graw.IOV((graw.IOVBufferType.header, False, sig),
                           (graw.IOVBufferType.data, False, sealed),
                           (graw.IOVBufferType.data, False, b""), std_layout=False)
            graw.unwrap_iov(self.ctx, iov)
            plain = iov[1].value
        else:
            plain = self.ctx.unwrap(sig + sealed).message
        if not m or int(m.group(1)) != len(plain):
            raise ValueError("decrypted length does not match Length=")
        # An RFC 1964 token (RC4-HMAC, DES3) leaves its padding in the data:
        # 1 to 8 bytes, each holding the count.
        if self.kerberos and sig[:1] == b"\x60":
            plain = plain[:-plain[-1]]
        return plain

    def post(self, envelope: bytes, sealed=True):
        """Send one envelope; returns (status, plaintext reply, raw response)."""
        if sealed:
            body = self.seal(envelope)
            ctype = (f'multipart/encrypted;protocol="{self.protocol}";'
                     'boundary="Encrypted Boundary"')
        else:
            body, ctype = envelope, "application/soap+xml;charset=UTF-8"
        self.conn.request("POST", "/wsman", body=body,
                          headers={"Content-Type": ctype})
        resp = self.conn.getresponse()
        raw = resp.read()
        rtype = resp.getheader("Content-Type") or ""
        if rtype.startswith("multipart/encrypted"):
            return resp.status, self.unseal(raw), resp
        if sealed and raw:
            raise ValueError(f"plaintext reply ({rtype}) while sealing is in force")
        return resp.status, raw, resp

    def call(self, action, body, selectors="", options="", max_envelope=153600,
             timeout="PT20S", resource=SHELL + "/cmd"):
        status, reply, _ = self.post(envelope(self.host, self.port, action, body,
                                              selectors, options, max_envelope, timeout,
                                              resource))
        root = ET.fromstring(reply)
        fault = root.find("s:Body/s:Fault", NS)
        if fault is not None:
            wf = fault.find(".//f:WSManFault", NS)
            raise WsmanFault(status, fault.findtext("s:Code/s:Subcode/s:Value", "", NS),
                             wf.get("Code") if wf is not None else None,
                             fault.findtext("s:Reason/s:Text", "", NS).strip())
        return root

    # ---- WinRS ----------------------------------------------------------------

    def open_shell(self):
        root = self.call(f"{TRANSFER}/Create",
                         "<rsp:Shell><rsp:InputStreams>stdin</rsp:InputStreams>"
                         "<rsp:OutputStreams>stdout stderr</rsp:OutputStreams></rsp:Shell>",
                         options='<wsman:OptionSet><wsman:Option Name="WINRS_CODEPAGE">65001'
                                 "</wsman:Option></wsman:OptionSet>")
        return root.findtext("s:Body/rsp:Shell/rsp:ShellId", None, NS)

    def run(self, shell, command, stdin=None, max_envelope=153600, on_running=None):
        sel = shell_selector(shell)
        root = self.call(f"{SHELL}/Command",
                         f"<rsp:CommandLine><rsp:Command>{esc(command)}</rsp:Command>"
                         "</rsp:CommandLine>", sel)
        cid = root.findtext("s:Body/rsp:CommandResponse/rsp:CommandId", None, NS)
        if stdin is not None:
            self.call(f"{SHELL}/Send",
                      f'<rsp:Send><rsp:Stream Name="stdin" CommandId="{cid}" End="true">'
                      f"{base64.b64encode(stdin).decode()}</rsp:Stream></rsp:Send>", sel)
        out, err = bytearray(), bytearray()
        while True:
            try:
                root = self.call(f"{SHELL}/Receive",
                                 f'<rsp:Receive><rsp:DesiredStream CommandId="{cid}">'
                                 "stdout stderr</rsp:DesiredStream></rsp:Receive>",
                                 sel, max_envelope=max_envelope)
            except WsmanFault as f:
                if f.subcode == "w:TimedOut":
                    continue
                raise
            for s in root.iterfind("s:Body/rsp:ReceiveResponse/rsp:Stream", NS):
                (out if s.get("Name") == "stdout" else err).extend(
                    base64.b64decode(s.text or ""))
            state = root.find("s:Body/rsp:ReceiveResponse/rsp:CommandState", NS)
            if state is not None and state.get("State", "").endswith("/Done"):
                return bytes(out), bytes(err), int(state.findtext("rsp:ExitCode", "0", NS))
            if on_running:
                on_running(cid)

    def signal(self, shell, cid, code):
        self.call(f"{SHELL}/Signal",
                  f'<rsp:Signal CommandId="{cid}"><rsp:Code>{SHELL}/signal/{code}</rsp:Code>'
                  "</rsp:Signal>", shell_selector(shell))

    def close_shell(self, shell):
        self.call(f"{TRANSFER}/Delete", "", shell_selector(shell))


def esc(text):
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def shell_selector(shell):
    return ('<wsman:SelectorSet><wsman:Selector Name="ShellId">'
            f"{shell}</wsman:Selector></wsman:SelectorSet>")


def envelope(host, port, action, body, selectors="", options="", max_envelope=153600,
             timeout="PT20S", resource=SHELL + "/cmd"):
    return (
        '<s:Envelope xmlns:rsp="http://schemas.microsoft.com/wbem/wsman/1/windows/shell" '
        'xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
        'xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing" '
        'xmlns:wsman="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" '
        'xmlns:wsmv="http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd"><s:Header>'
        f'<wsa:Action s:mustUnderstand="true">{action}</wsa:Action>'
        f'<wsman:MaxEnvelopeSize s:mustUnderstand="true">{max_envelope}</wsman:MaxEnvelopeSize>'
        f"<wsa:MessageID>uuid:{str(uuid.uuid4()).upper()}</wsa:MessageID>"
        f"<wsman:OperationTimeout>{timeout}</wsman:OperationTimeout>"
        "<wsa:ReplyTo><wsa:Address s:mustUnderstand=\"true\">"
        "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</wsa:Address></wsa:ReplyTo>"
        f'<wsman:ResourceURI s:mustUnderstand="true">{resource}</wsman:ResourceURI>'
        f"<wsa:To>http://{host}:{port}/wsman</wsa:To>"
        f"{options}{selectors}</s:Header><s:Body>{body}</s:Body></s:Envelope>"
    ).encode()
