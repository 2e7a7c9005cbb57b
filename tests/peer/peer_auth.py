# SPDX-License-Identifier: GPL-3.0-or-later
"""Authentication and MS-WSMV message sealing of the lab peer.

The acceptor takes whatever the client sends under Negotiate: SPNEGO, a raw
Kerberos AP-REQ or a raw NTLMSSP message (as pywinrm sends them); MIT's
mechanism glue picks the mechanism from the token. Kerberos keys come from
KRB5_KTNAME, NTLM users from NTLM_USER_FILE (gss-ntlmssp).
"""

import base64
import hashlib
import struct

import gssapi
import gssapi.raw as graw

KRB5_OID = gssapi.OID.from_int_seq("1.2.840.113554.1.2.2")
NTLM_OID = gssapi.OID.from_int_seq("1.3.6.1.4.1.311.2.2.10")

# Set by MIT's acceptor when the initiator's bindings matched ours.
GSS_C_CHANNEL_BOUND_FLAG = 2048

BOUNDARY = b"Encrypted Boundary"
PROTOCOLS = {
    "negotiate": "application/HTTP-SPNEGO-session-encrypted",
    "kerberos": "application/HTTP-Kerberos-session-encrypted",
}


class AuthError(Exception):
    pass


class SealError(Exception):
    pass


def short_user(name: str) -> str:
    """admin@TEST.LOCAL, TEST\\admin, admin@TEST -> admin (lower case)."""
    name = name.rstrip("\x00")
    if "\\" in name:
        name = name.split("\\", 1)[1]
    if "@" in name:
        name = name.split("@", 1)[0]
    return name.lower()


def tls_server_end_point(cert_der: bytes) -> bytes:
    """RFC 5929 binding for the lab's certificates (all SHA-256 signed)."""
    return b"tls-server-end-point:" + hashlib.sha256(cert_der).digest()


class GssAcceptor:
    """One GSS security context, bound to one TCP connection."""

    def __init__(self, scheme: str, channel_binding: bytes | None):
        self.scheme = scheme
        bindings = None
        if channel_binding is not None:
            bindings = graw.ChannelBindings(application_data=channel_binding)
        self.ctx = gssapi.SecurityContext(usage="accept", channel_bindings=bindings)
        self.require_binding = channel_binding is not None
        self.user = None
        self.mech = None
        self.delegated = None

    def step(self, token: bytes) -> bytes | None:
        try:
            out = self.ctx.step(token)
            complete = self.ctx.complete
        except gssapi.exceptions.GSSError as exc:
            raise AuthError(str(exc).replace("\n", " ")) from exc
        if complete and self.require_binding and not (
                int(self.ctx.actual_flags) & GSS_C_CHANNEL_BOUND_FLAG):
            raise AuthError("the client sent no channel binding (CbtHardeningLevel=Strict)")
        if complete:
            self.user = str(self.ctx.initiator_name).rstrip("\x00")
            self.mech = "kerberos" if self.ctx.mech == KRB5_OID else "ntlm"
            self.delegated = self.ctx.delegated_creds
        return out

    @property
    def complete(self):
        return self.user is not None

    def seal(self, plaintext: bytes) -> tuple[bytes, bytes, int]:
        """Return (signature, sealed data, padding length) as MS-WSMV frames
        them: the padding (RC4-HMAC and DES3 tokens have some, AES tokens
        none) ends the sealed data, and Windows counts it in Length."""
        if self.mech == "kerberos":
            iov = graw.IOV(
                graw.IOVBufferType.header,
                plaintext,
                graw.IOVBufferType.padding,
                std_layout=False,
            )
            graw.wrap_iov(self.ctx, iov, confidential=True)
            padding = iov[2].value or b""
            return iov[0].value, iov[1].value + padding, len(padding)
        wrapped = self.ctx.wrap(plaintext, True).message
        return wrapped[:16], wrapped[16:], 0

    def unseal(self, signature: bytes, sealed: bytes) -> tuple[bytes, int]:
        """Return (plaintext, padding length): gss_unwrap of the whole token
        drops the padding, which Length counts."""
        try:
            res = self.ctx.unwrap(signature + sealed)
        except gssapi.exceptions.GSSError as exc:
            raise SealError(f"unwrap failed: {exc}") from exc
        if not res.encrypted:
            raise SealError("message was signed but not sealed")
        return res.message, len(sealed) - len(res.message)


def frame_sealed(protocol: str, signature: bytes, sealed: bytes, length: int) -> bytes:
    return b"".join(
        [
            b"--Encrypted Boundary\r\n",
            b"\tContent-Type: " + protocol.encode() + b"\r\n",
            b"\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length=%d\r\n" % length,
            b"--Encrypted Boundary\r\n",
            b"\tContent-Type: application/octet-stream\r\n",
            struct.pack("<I", len(signature)),
            signature,
            sealed,
            b"--Encrypted Boundary--\r\n",
        ]
    )


def parse_sealed(body: bytes) -> tuple[str, int, bytes, bytes]:
    """Split an encrypted multipart body: (protocol, length, sig, sealed)."""
    first = b"--Encrypted Boundary\r\n"
    if not body.startswith(first):
        raise SealError("body does not start with the encrypted boundary")
    end = b"--Encrypted Boundary--\r\n"
    if not body.endswith(end):
        raise SealError("body does not end with the closing boundary")
    second = body.find(first, len(first))
    if second < 0:
        raise SealError("second boundary missing")
    headers = body[len(first) : second].decode("latin-1")
    protocol = length = None
    for line in headers.split("\r\n"):
        line = line.strip()
        if line.lower().startswith("content-type:"):
            protocol = line.split(":", 1)[1].strip()
        elif line.lower().startswith("originalcontent:"):
            for part in line.split(":", 1)[1].split(";"):
                if part.strip().lower().startswith("length="):
                    length = int(part.split("=", 1)[1])
    if protocol is None or length is None:
        raise SealError("OriginalContent or Content-Type missing")
    rest = body[second + len(first) : -len(end)]
    marker = b"\tContent-Type: application/octet-stream\r\n"
    if not rest.startswith(marker):
        raise SealError("octet-stream part missing")
    payload = rest[len(marker) :]
    if len(payload) < 4:
        raise SealError("payload too short")
    (sig_len,) = struct.unpack("<I", payload[:4])
    if sig_len > len(payload) - 4:
        raise SealError("signature length beyond the payload")
    return protocol, length, payload[4 : 4 + sig_len], payload[4 + sig_len :]


def check_basic(header_value: str, users: dict) -> str | None:
    """Basic credentials against the local accounts; the user or None."""
    try:
        raw = base64.b64decode(header_value, validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None
    name, sep, password = raw.partition(":")
    if not sep:
        return None
    user = short_user(name)
    if users.get(user) == password:
        return user
    return None


def read_ntlm_users(path: str) -> dict:
    users = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            _domain, user, password = line.split(":", 2)
            users[user.lower()] = password
    return users
