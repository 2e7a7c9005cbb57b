#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""The lab's WinRM peer: a WS-Management listener that behaves like a
default Windows one (Negotiate/Kerberos over HTTP with sealing required,
Basic over HTTPS only, the WinRS cmd shell, Windows' faults and quotas).

It shares no code with the Castellan client, so that a misreading of the
protocol cannot hide on both sides.

  winrm_peer.py --ports-file F --ntlm-user-file U --admin admin \\
      [--https NAME:CERT:KEY]... [--https-h2 NAME:CERT:KEY]
      [--other-cert CERT:KEY] [--allow-unencrypted] [--fault SPEC]...
      [--extra-http N] [--extra-https N]

--https-h2 listeners select HTTP/2 in ALPN when the client offers it (and
then answer as HTTP/1.1 only would); --other-cert is the certificate the
cert-swap switch presents. What each connection carried is at
GET /lab/connections (peer_connections.py).

Ports are chosen by the OS; they are written to the ports file (JSON) once
every listener accepts connections. SIGTERM stops the peer and every
process it started.
"""

import argparse
import base64
import copy
import json
import os
import signal
import socket
import socketserver
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import peer_soap as soap  # noqa: E402
from peer_connections import ConnectionLog, certificate_sha256  # noqa: E402
from peer_auth import (  # noqa: E402
    PROTOCOLS,
    AuthError,
    GssAcceptor,
    SealError,
    check_basic,
    frame_sealed,
    parse_sealed,
    read_ntlm_users,
    short_user,
    tls_server_end_point,
)
from peer_faults import FaultSet  # noqa: E402
import peer_psrp as psrp  # noqa: E402
from peer_shell import ShellTable  # noqa: E402

MAX_REQUEST_BODY = 16 * 1024 * 1024
PEER_CMD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "peer_cmd.py")


class PeerState:
    """What all listeners of one peer share."""

    def __init__(self, args):
        self.args = args
        self.admins = {a.lower() for a in args.admin}
        self.users = read_ntlm_users(args.ntlm_user_file)
        self.allow_unencrypted = args.allow_unencrypted
        # Whether a client-chosen CommandId is honoured, as WinRM 3.0 and
        # later do (off: as older hosts, which choose their own).
        self.client_command_ids = True
        self.faults = FaultSet(args.fault)
        self.shells = ShellTable(args.max_shells_per_user)
        # PowerShell for the powershell resource URIs and for WinRS command
        # lines naming it; None where it is not installed.
        self.pwsh = psrp.find_pwsh()
        self.log_lock = threading.Lock()
        self.log_file = open(args.log, "a", buffering=1) if args.log else None
        self.requests = 0
        # POSTs being answered now: a test waits for none before it
        # reads the log as its own.
        self.answering = 0
        self.count_lock = threading.Lock()
        self.delegations = 0
        self.connections = ConnectionLog()

    def log(self, text):
        if self.log_file is None:
            return
        with self.log_lock:
            self.log_file.write(f"{time.strftime('%H:%M:%S')} {text}\n")


class PeerServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address, state, label, tls=None, family=socket.AF_INET, alpn=None,
                 other=None):
        self.address_family = family
        self.state = state
        self.label = label
        self.tls_context = None
        self.tls_identity = None
        self.other_tls = None
        self.accepted = {}
        if tls:
            self.tls_context, self.tls_identity = self.make_tls(tls, alpn)
            if other:
                # The certificate cert-swap presents: over TLS 1.2 with one
                # suite, so that a report of its TLS details shows which
                # connection they came from.
                ctx, identity = self.make_tls(other, alpn)
                ctx.maximum_version = ssl.TLSVersion.TLSv1_2
                ctx.set_ciphers("ECDHE-ECDSA-CHACHA20-POLY1305")
                self.other_tls = (ctx, identity)
        super().__init__(address, Handler)

    @staticmethod
    def make_tls(tls, alpn):
        """A server context for (cert, key), and (its SHA-256, its channel
        binding)."""
        cert, key = tls
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        if alpn:
            ctx.set_alpn_protocols(alpn)
        with open(cert, "rb") as f:
            der = ssl.PEM_cert_to_DER_cert(f.read().decode())
        return ctx, (certificate_sha256(cert), tls_server_end_point(der))

    def server_bind(self):
        # HTTPServer.server_bind asks DNS for the address's name (getfqdn),
        # which can stall for seconds offline; the name is not used.
        socketserver.TCPServer.server_bind(self)
        self.server_name = self.server_address[0]
        self.server_port = self.server_address[1]

    def get_request(self):
        sock, addr = super().get_request()
        # Recorded here, in the accepting thread, so that the records are
        # in the order the connections were accepted.
        family = "ipv6" if self.address_family == socket.AF_INET6 else "ipv4"
        record = self.state.connections.new(self.label, family)
        close_after_reply = False
        channel_binding = None
        if self.tls_context is not None:
            ctx, identity = self.tls_context, self.tls_identity
            seen = self.state.faults.count_connection("cert-swap")
            if seen == 0:
                close_after_reply = True
            elif seen is not None and self.other_tls is not None:
                ctx, identity = self.other_tls
            sock = ctx.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
            self.state.connections.update(record, certificate_sha256=identity[0])
            channel_binding = identity[1]
        # For the handler, which gets the socket.
        self.accepted[id(sock)] = (record, close_after_reply, channel_binding)
        return sock, addr

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        self.state.log(f"{self.label} {client_address[0]} connection error: {exc!r}")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "Microsoft-HTTPAPI/2.0"
    sys_version = ""
    disable_nagle_algorithm = True
    timeout = 120

    def setup(self):
        self.state = self.server.state
        self.record, self.close_after_reply, channel_binding = self.server.accepted.pop(
            id(self.request))
        self.channel_binding = None
        if self.server.tls_context is not None:
            self.request.settimeout(10)
            try:
                self.request.do_handshake()
            except (OSError, ValueError) as exc:
                self.state.connections.update(self.record, handshake_error=str(exc))
                raise
            cipher = self.request.cipher()
            self.state.connections.update(
                self.record, alpn=self.request.selected_alpn_protocol(),
                tls_version=self.request.version(), cipher=cipher[0] if cipher else None)
            self.channel_binding = channel_binding
        super().setup()
        self.is_tls = self.server.tls_context is not None
        self.current = {}
        self.gss = None
        self.delegated_ccache = None

    def finish(self):
        try:
            super().finish()
        finally:
            if self.delegated_ccache:
                try:
                    os.unlink(self.delegated_ccache)
                except OSError:
                    pass

    def log_message(self, fmt, *args):
        self.state.log(f"{self.server.label} {self.client_address[0]} " + (fmt % args))

    # ---- HTTP plumbing ------------------------------------------------

    def read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            parts = []
            total = 0
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(parts)
                total += size
                if total > MAX_REQUEST_BODY:
                    raise ValueError("request body too large")
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_REQUEST_BODY:
            raise ValueError("request body too large")
        return self.rfile.read(length) if length else b""

    def reply(self, status, body=b"", content_type=None, extra=(), drop=False):
        reason = self.responses.get(status, ("",))[0]
        if self.current:
            self.state.connections.update(self.current, status=status)
        if self.close_after_reply:
            # cert-swap: the next request needs a new connection.
            self.close_after_reply = False
            extra = list(extra) + [("Connection", "close")]
            self.close_connection = True
        # HTTP.sys dates every response: a client can tell a skewed clock.
        head = [f"HTTP/1.1 {status} {reason}", f"Server: {self.server_version}",
                f"Date: {self.date_time_string()}"]
        if content_type:
            head.append(f"Content-Type: {content_type}")
        head.extend(f"{k}: {v}" for k, v in extra)
        if getattr(self, "odd_coding", False):
            self.odd_coding = False
            head.append("Transfer-Encoding: gzip, chunked")
            body = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body) if body else b"0\r\n\r\n"
        else:
            head.append(f"Content-Length: {len(body)}")
        data = ("\r\n".join(head) + "\r\n\r\n").encode() + body
        interim, self.interim_heads = getattr(self, "interim_heads", 0), 0
        data = b"HTTP/1.1 100 Continue\r\n\r\n" * interim + data
        if drop:
            # Half the response, then a reset connection.
            self.wfile.write(data[: len(data) - max(1, len(body) // 2)])
            self.wfile.flush()
            self.close_connection = True
            try:
                self.request.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        # Logged before it is written: a client that has its reply can
        # count on the line being in the log already.
        self.log_message('"%s" %d %d', self.requestline, status, len(body))
        self.wfile.write(data)

    def hang_up(self, why):
        """Close the connection now, whatever the client sent after the
        request at hand: a FIN first, then what is in flight is read and
        dropped (bounded), so that the client sees an end, not a reset."""
        self.log_message('"%s" %s', self.requestline, why)
        self.close_connection = True
        raw = socket.socket.shutdown
        try:
            raw(self.request, socket.SHUT_WR)
            self.request.settimeout(5)
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and socket.socket.recv(self.request, 65536):
                pass
        except OSError:
            pass

    def offers(self):
        schemes = [("WWW-Authenticate", "Negotiate"), ("WWW-Authenticate", "Kerberos")]
        if self.is_tls:
            schemes.append(("WWW-Authenticate", 'Basic realm="WSMAN"'))
        return schemes

    def reply_401(self, scheme=None, token=None):
        if token is not None:
            extra = [("WWW-Authenticate", f"{scheme} {base64.b64encode(token).decode()}")]
        else:
            extra = self.offers()
        self.reply(401, extra=extra)

    # ---- requests -------------------------------------------------------

    def do_GET(self):
        path = urlsplit(self.path).path
        self.current = self.state.connections.add_request(self.record, "GET", path, self.headers)
        if path == "/lab/status":
            return self.lab_status()
        if path == "/lab/connections":
            return self.reply(200, json.dumps(self.state.connections.snapshot()).encode(),
                              "application/json")
        self.reply(405)

    def do_POST(self):
        with self.state.count_lock:
            self.state.requests += 1
            self.state.answering += 1
        try:
            self.answer_post()
        finally:
            with self.state.count_lock:
                self.state.answering -= 1

    def answer_post(self):
        path = urlsplit(self.path).path
        self.current = self.state.connections.add_request(self.record, "POST", path, self.headers)
        try:
            body = self.read_body()
        except ValueError:
            self.close_connection = True
            return self.reply(413)
        if path == "/lab/control":
            return self.lab_control(body)
        if path.lower() != "/wsman":
            return self.reply(404)
        if self.headers.get("WSMANIDENTIFY", "").lower() == "unauthenticated":
            if soap.is_identify(body):
                return self.reply(
                    200, soap.identify_response(), "application/soap+xml;charset=UTF-8"
                )
            return self.reply(400)

        final = self.authenticate()
        if final is False:
            return
        user, scheme, final_token = final
        self.serve_wsman(body, user, scheme, final_token)

    def authenticate(self):
        """Run one leg of the 401 exchange.

        Returns (user, scheme, final token or None) once authenticated, or
        False when a 401 was sent.
        """
        header = self.headers.get("Authorization")
        if header:
            scheme, _, value = header.partition(" ")
            kind = scheme.lower()
            if kind in ("negotiate", "kerberos"):
                if self.gss is None or self.gss.complete:
                    cb = self.channel_binding if self.state.args.cbt else None
                    self.gss = GssAcceptor(kind, cb)
                try:
                    token = base64.b64decode(value.strip(), validate=True)
                    out = self.gss.step(token)
                except (AuthError, ValueError) as exc:
                    self.log_message("authentication failed: %s", exc)
                    self.gss = None
                    self.reply_401()
                    return False
                if not self.gss.complete:
                    self.note_sealed_without_context()
                    self.reply_401(scheme, out)
                    return False
                self.store_delegation()
                self.state.connections.update(self.record, authentications=1)
                self.log_message(
                    "authenticated %s as %s (%s)", kind, self.gss.user, self.gss.mech
                )
                return short_user(self.gss.user), kind, (scheme, out)
            if kind == "basic" and self.is_tls:
                user = check_basic(value.strip(), self.state.users)
                if user is None:
                    self.log_message("basic authentication failed")
                    self.reply_401()
                    return False
                self.gss = None
                return user, "basic", None
            self.reply_401()
            return False
        if self.gss is not None and self.gss.complete:
            return short_user(self.gss.user), self.gss.scheme, None
        self.note_sealed_without_context()
        self.reply_401()
        return False

    def note_sealed_without_context(self):
        if self.current.get("sealed"):
            self.state.connections.update(self.record, sealed_without_context=1)
            self.log_message("sealed request on a connection without a security context")

    def store_delegation(self):
        creds = self.gss.delegated
        if creds is None or not self.state.args.lab_dir:
            return
        path = os.path.join(
            self.state.args.lab_dir, f"delegated-{os.getpid()}-{threading.get_ident()}"
        )
        creds.store(usage="initiate", set_default=False, overwrite=True, store={"ccache": "FILE:" + path})
        self.delegated_ccache = path
        self.state.delegations += 1

    def final_token_headers(self, final_token):
        if not final_token:
            return []
        scheme, token = final_token
        if token is None:
            return []
        if self.state.faults.take("no-mutual-auth", None):
            return []
        if self.state.faults.take("bad-mutual-auth", None):
            token = bytearray(token)
            token[len(token) // 2] ^= 0x55
            token[-1] ^= 0xFF
            token = bytes(token)
        return [("WWW-Authenticate", f"{scheme} {base64.b64encode(token).decode()}")]

    def serve_wsman(self, body, user, scheme, final_token):
        extra = self.final_token_headers(final_token)
        if not body:
            return self.reply(200, extra=extra)

        ctype = self.headers.get("Content-Type", "")
        sealed = ctype.lower().startswith("multipart/encrypted")
        if sealed:
            if self.gss is None or not self.gss.complete:
                self.state.connections.update(self.record, sealed_without_context=1)
                return self.reply(400, extra=extra)
            try:
                protocol, length, sig, data = parse_sealed(body)
                if protocol.lower() != PROTOCOLS[self.gss.scheme].lower():
                    raise SealError(f"unexpected protocol {protocol}")
                body, padding = self.gss.unseal(sig, data)
                if len(body) + padding != length:
                    raise SealError(f"Length={length} but {len(body)} bytes decrypted"
                                    f" and {padding} of padding")
            except SealError as exc:
                self.state.connections.update(self.record, refused_sealed=1)
                self.log_message("refused sealed request: %s", exc)
                self.close_connection = True
                return self.reply(400, extra=extra)
        elif not self.is_tls and not self.state.allow_unencrypted:
            # AllowUnencrypted=false: plaintext over HTTP is refused, and
            # the connection's context is forgotten.
            self.log_message("refused unencrypted request from %s", user)
            self.gss = None
            return self.reply_401()

        try:
            request = soap.Request(body)
        except soap.SoapError as exc:
            status, response = 400, soap.fault(
                "", "Sender", "InvalidMessageInformationHeader", str(exc),
                soap.CODE_BAD_REQUEST, self.machine())
            return self.send_soap(status, response, None, sealed, extra, 153600)
        action = request.short_action
        self.state.connections.update(self.current, action=action,
                                      message_id=request.message_id)
        lost = self.state.faults.take("no-reply", action)
        if lost and action == "Receive":
            # Not carried out: the output waits for the Receive sent again.
            return self.hang_up("closed without a reply (no-reply, not carried out)")
        status, response = self.dispatch(request, user)
        if lost:
            return self.hang_up("carried out, closed without a reply (no-reply)")
        self.send_soap(status, response, action, sealed, extra, request.max_envelope)

    def send_soap(self, status, response, action, sealed, extra, max_envelope):
        faults = self.state.faults
        f = faults.take("delay", action)
        if f:
            time.sleep(f.value)
        if faults.take("malformed", action):
            response = response[: len(response) // 2] + b"<<</not-xml"
        if faults.take("oversize", action):
            pad = max(0, max_envelope + 4096 - len(response))
            response = response.replace(b"</s:Body>", b" " * pad + b"</s:Body>", 1)
        drop = bool(faults.take("drop", action))
        if faults.take("close", action):
            extra = list(extra) + [("Connection", "close")]
            self.close_connection = True
        hangup = bool(faults.take("hangup", action))
        f = faults.take("interim", action)
        if f:
            self.interim_heads = int(f.value) or 50
        self.odd_coding = bool(faults.take("coding", action))
        self.send_sealed_or_plain(status, response, action, sealed, extra, drop)
        if hangup:
            self.hang_up("answered, then closed without notice (hangup)")

    def send_sealed_or_plain(self, status, response, action, sealed, extra, drop):
        faults = self.state.faults
        if sealed and not faults.take("plaintext", action):
            protocol = PROTOCOLS[self.gss.scheme]
            sig, data, padding = self.gss.seal(response)
            if faults.take("tamper", action):
                data = bytearray(data)
                data[len(data) // 2] ^= 0x01
                data = bytes(data)
            payload = frame_sealed(protocol, sig, data, len(response) + padding)
            ctype = (
                f'multipart/encrypted;protocol="{protocol}";boundary="Encrypted Boundary"'
            )
            return self.reply(status, payload, ctype, extra, drop)
        self.reply(status, response, "application/soap+xml;charset=UTF-8", extra, drop)

    # ---- WS-Man actions --------------------------------------------------

    def machine(self):
        return self.server.server_address[0]

    def fault(self, request, code, subcode, reason, wsman_code, detail=""):
        return 500, soap.fault(
            request.message_id, code, subcode, reason, wsman_code, self.machine(), detail
        )

    def access_denied(self, request):
        return self.fault(request, "Sender", "AccessDenied", "Access is denied.",
                          soap.CODE_ACCESS_DENIED)

    def shell_not_found(self, request, shell_id):
        return self.fault(
            request, "Sender", "InvalidSelectors",
            f"The request for the Windows Remote Shell with ShellId {shell_id} failed "
            "because the shell was not found on the server. Possible causes are: the "
            "specified ShellId is incorrect or the shell no longer exists on the server. "
            "Provide the correct ShellId or create a new shell and retry the operation.",
            soap.CODE_INVALID_SELECTORS,
            "<w:FaultDetail>http://schemas.dmtf.org/wbem/wsman/1/wsman/faultDetail/"
            "InvalidValue</w:FaultDetail>",
        )

    def command_not_found(self, request):
        return self.fault(
            request, "Sender", "InvalidSelectors",
            "The Windows Remote Shell received a request to perform an operation on a "
            "command identifier that does not exist. Either the command has completed "
            "execution or the client specified an invalid command identifier.",
            soap.CODE_INVALID_SELECTORS,
            "<w:FaultDetail>http://schemas.dmtf.org/wbem/wsman/1/wsman/faultDetail/"
            "UnexpectedSelectors</w:FaultDetail>",
        )

    def dispatch(self, request, user):
        if user not in self.state.admins:
            self.log_message("access denied to %s", user)
            return self.access_denied(request)
        handlers = {
            soap.ACTION_GET: self.do_get_config,
            soap.ACTION_CREATE: self.do_create,
            soap.ACTION_DELETE: self.do_delete,
            soap.ACTION_COMMAND: self.do_command,
            soap.ACTION_RECEIVE: self.do_receive,
            soap.ACTION_SEND: self.do_send,
            soap.ACTION_SIGNAL: self.do_signal,
        }
        handler = handlers.get(request.action)
        if handler is None:
            return self.fault(
                request, "Sender", "ActionNotSupported",
                "The WS-Management service cannot process the request because the action "
                "is not supported for this resource.", 2150858791)
        return handler(request, user)

    def do_get_config(self, request, user):
        if request.resource_uri.rstrip("/") != soap.CONFIG_URI:
            return self.fault(request, "Sender", "InvalidResourceURI",
                              "The resource URI is not supported.", 2150858770)
        return 200, soap.config_response(
            request.message_id, self.state.args.max_envelope_kb, self.state.allow_unencrypted)

    def shell_env(self, request, user):
        env = {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "LANG": "C.UTF-8",
            "HOME": self.state.args.lab_dir or "/tmp",
            "USERNAME": user,
            "USERDOMAIN": "TEST",
            "LAB_AUTH_MECH": (self.gss.mech if self.gss else "basic"),
            "LAB_DELEGATED": "1" if self.delegated_ccache else "0",
        }
        # KRB5_CONFIG lets a delegated ticket be used; CASTELLAN_LAB marks
        # the process as the lab's, so that `lab down` finds strays.
        for name in ("KRB5_CONFIG", "CASTELLAN_LAB"):
            if os.environ.get(name):
                env[name] = os.environ[name]
        if self.delegated_ccache:
            env["KRB5CCNAME"] = "FILE:" + self.delegated_ccache
        for var in request.body.findall("rsp:Shell/rsp:Environment/rsp:Variable", soap.NS):
            name = var.get("Name") or ""
            if name and "=" not in name and "\x00" not in name:
                env[name] = var.text or ""
        return env

    def do_create(self, request, user):
        shell_el = request.body.find("rsp:Shell", soap.NS)
        if psrp.configuration_of(request.resource_uri) is not None and shell_el is not None:
            return self.do_create_pool(request, user, shell_el)
        if shell_el is None or not request.resource_uri.endswith("/shell/cmd"):
            return self.fault(request, "Sender", "InvalidResourceURI",
                              "The resource URI is not supported.", 2150858770)
        wd = shell_el.findtext("rsp:WorkingDirectory", None, soap.NS)
        cwd = wd if wd and os.path.isdir(wd) else (self.state.args.lab_dir or "/tmp")
        shell = self.state.shells.create(user, self.shell_env(request, user), cwd)
        if shell is None:
            n = self.state.shells.max_per_user
            return self.fault(
                request, "Receiver", "QuotaLimit",
                f"The WS-Management service cannot process the request. This user is "
                f"allowed a maximum number of {n} concurrent shells, which has been "
                f"exceeded. Close existing shells or raise the quota for this user.",
                soap.CODE_SHELL_QUOTA)
        scheme = "https" if self.is_tls else "http"
        host, port = self.server.server_address[:2]
        address = f"{scheme}://{host}:{port}/wsman"
        return 200, soap.create_response(
            request.message_id, address, shell.id, user, self.client_address[0])

    def psrp_fault(self, request, exc):
        return self.fault(request, "Receiver", "InternalError", str(exc), soap.CODE_PSRP_FAILED)

    def do_create_pool(self, request, user, shell_el):
        """A PowerShell runspace pool: one pwsh in server mode."""
        name = psrp.configuration_of(request.resource_uri)
        if name not in psrp.CONFIGURATIONS:
            return self.fault(
                request, "Sender", "InvalidResourceURI",
                f"The WS-Management service cannot process the request. Cannot find the "
                f"{name} session configuration in the WSMan: drive on the "
                f"{self.machine()} computer.", soap.CODE_NO_CONFIGURATION)
        if self.state.pwsh is None:
            return self.psrp_fault(request, "PowerShell (pwsh) is not installed on this lab "
                                   "peer: install it (./dev does, where dotnet is present) "
                                   "or set CASTELLAN_PWSH to its path.")
        creation = shell_el.findtext("{http://schemas.microsoft.com/powershell}creationXml")
        try:
            creation = base64.b64decode(creation or "", validate=True)
        except ValueError:
            creation = b""
        if not creation:
            return self.fault(request, "Sender", "SchemaValidationError",
                              "The creationXml of the PowerShell shell is missing or not "
                              "base64.", 2150858817)
        lab_dir = self.state.args.lab_dir or "/tmp"
        env = self.shell_env(request, user)
        # pwsh writes its caches under HOME; no update checks or telemetry
        # from a lab.
        env.update(POWERSHELL_TELEMETRY_OPTOUT="1", POWERSHELL_UPDATECHECK="Off",
                   DOTNET_CLI_TELEMETRY_OPTOUT="1", DOTNET_NOLOGO="1")
        if os.environ.get("DOTNET_ROOT"):
            env["DOTNET_ROOT"] = os.environ["DOTNET_ROOT"]
        wanted = psrp.normal_guid(shell_el.get("ShellId"))
        pool = psrp.Pool(user, env, lab_dir, name, wanted)
        if not self.state.shells.add(pool):
            n = self.state.shells.max_per_user
            return self.fault(
                request, "Receiver", "QuotaLimit",
                f"The WS-Management service cannot process the request. This user is "
                f"allowed a maximum number of {n} concurrent shells, which has been "
                f"exceeded. Close existing shells or raise the quota for this user.",
                soap.CODE_SHELL_QUOTA)
        config_file = (psrp.write_restricted_config(lab_dir)
                       if name == psrp.RESTRICTED else None)
        try:
            pool.start(creation, self.state.pwsh, config_file)
        except psrp.PoolError as exc:
            self.state.shells.discard(pool)
            pool.close()
            return self.psrp_fault(request, exc)
        self.log_message("PowerShell pool %s (%s) open in %.3f s", pool.id, name,
                         pool.started_seconds)
        scheme = "https" if self.is_tls else "http"
        host, port = self.server.server_address[:2]
        return 200, soap.create_response(
            request.message_id, f"{scheme}://{host}:{port}/wsman", pool.id, user,
            self.client_address[0], request.resource_uri, "stdin pr", "stdout")

    def lookup_shell(self, request, user):
        shell_id = request.selectors.get("ShellId", "")
        return shell_id, self.state.shells.get(shell_id, user)

    def do_delete(self, request, user):
        shell_id = request.selectors.get("ShellId", "")
        if not self.state.shells.delete(shell_id, user):
            return self.shell_not_found(request, shell_id)
        return 200, soap.empty_response(soap.ACTION_DELETE, request.message_id)

    def do_command(self, request, user):
        shell_id, shell = self.lookup_shell(request, user)
        if shell is None:
            return self.shell_not_found(request, shell_id)
        line = request.body.find("rsp:CommandLine", soap.NS)
        if line is None:
            return self.fault(request, "Sender", "SchemaValidationError",
                              "The SOAP XML in the message does not match the "
                              "corresponding XML schema definition.", 2150858817)
        if isinstance(shell, psrp.Pool):
            return self.do_pipeline(request, shell, line)
        parts = [line.findtext("rsp:Command", "", soap.NS) or ""]
        parts += [a.text or "" for a in line.findall("rsp:Arguments", soap.NS)]
        command_line = " ".join(p for p in parts if p).strip()
        pregenerated = None
        words = command_line.split()
        if len(words) == 2 and words[0] == "lab-stream" and words[1].isdigit():
            pregenerated = int(words[1])
        elif words and words[0] == "lab-echo":
            # echo without a process, so that a benchmark of many short
            # commands measures the client, not the peer's fork and exec.
            pregenerated = (" ".join(words[1:]) + "\n").encode()
        # `cmd.exe` is the lab's cmd-like interpreter, so that a console
        # keeps its directory and variables from one line to the next.
        first, _, rest = command_line.partition(" ")
        if first.lower() in ("cmd", "cmd.exe"):
            command_line = f"exec /usr/bin/python3 {PEER_CMD} {rest}"
        # PowerShell through WinRS is the same pwsh the pools run.
        command_line = psrp.pwsh_command_line(command_line, self.state.pwsh) or command_line
        chosen = line.get("CommandId") if self.state.client_command_ids else None
        cmd = shell.add_command(command_line, pregenerated, chosen)
        if cmd is None:
            return self.fault(request, "Sender", "InvalidParameter",
                              f"A command with the identifier {chosen} already exists.",
                              2150858843)
        return 200, soap.command_response(request.message_id, cmd.id)

    def do_pipeline(self, request, pool, line):
        chosen = line.get("CommandId") or soap.new_uuid()
        try:
            arguments = b"".join(base64.b64decode(a.text or "", validate=True)
                                 for a in line.findall("rsp:Arguments", soap.NS))
        except ValueError:
            return self.fault(request, "Sender", "SchemaValidationError",
                              "The Arguments of the PowerShell command are not base64.",
                              2150858817)
        try:
            guid = pool.command(chosen, arguments)
        except psrp.PoolError as exc:
            return self.psrp_fault(request, exc)
        if guid is None:
            return self.fault(request, "Sender", "InvalidParameter",
                              f"A command with the identifier {chosen} already exists.",
                              2150858843)
        return 200, soap.command_response(request.message_id, guid)

    def pool_receive(self, request, pool, desired):
        command_id = desired.get("CommandId") if desired is not None else None
        guid = psrp.EMPTY_GUID
        if command_id:
            guid = pool.has_command(command_id)
            if guid is None:
                return self.command_not_found(request)
        budget = max(512, (request.max_envelope - 2048) * 3 // 4)
        try:
            got = pool.receive(guid, budget, request.operation_timeout)
        except psrp.PoolError as exc:
            return self.psrp_fault(request, exc)
        if got is None:
            return self.fault(
                request, "Receiver", "TimedOut",
                "The WS-Management service cannot complete the operation within the "
                "time specified in OperationTimeout. ", soap.CODE_TIMED_OUT)
        fragments, done = got
        return 200, soap.psrp_receive_response(
            request.message_id, guid if command_id else None,
            psrp.receive_streams(fragments, guid if command_id else None), done)

    def do_receive(self, request, user):
        shell_id, shell = self.lookup_shell(request, user)
        if shell is None:
            return self.shell_not_found(request, shell_id)
        desired = request.body.find("rsp:Receive/rsp:DesiredStream", soap.NS)
        if isinstance(shell, psrp.Pool):
            return self.pool_receive(request, shell, desired)
        cmd = shell.command(desired.get("CommandId", "")) if desired is not None else None
        if cmd is None:
            return self.command_not_found(request)
        # Room for the envelope around the streams; base64 grows data by 4/3.
        budget = max(512, (request.max_envelope - 2048) * 3 // 4)
        got = cmd.receive(budget, request.operation_timeout)
        if got is None:
            return self.fault(
                request, "Receiver", "TimedOut",
                "The WS-Management service cannot complete the operation within the "
                "time specified in OperationTimeout. ", soap.CODE_TIMED_OUT)
        chunks, done, exit_code = got
        encoded = [(n, base64.b64encode(d).decode(), end) for n, d, end in chunks]
        return 200, soap.receive_response(
            request.message_id, cmd.id, encoded, done, exit_code)

    def pool_send(self, request, pool):
        for stream in request.body.findall("rsp:Send/rsp:Stream", soap.NS):
            command_id = stream.get("CommandId")
            guid = psrp.EMPTY_GUID
            if command_id:
                guid = pool.has_command(command_id)
                if guid is None:
                    return self.command_not_found(request)
            try:
                data = base64.b64decode(stream.text or "", validate=True)
            except ValueError:
                return self.fault(request, "Sender", "SchemaValidationError",
                                  "The Send stream is not base64.", 2150858817)
            if not data:
                continue
            try:
                pool.send(guid, data, stream.get("Name") or "stdin")
            except psrp.PoolError as exc:
                return self.psrp_fault(request, exc)
        return 200, soap.empty_response(soap.ACTION_SEND, request.message_id,
                                        "<rsp:SendResponse/>")

    def do_send(self, request, user):
        shell_id, shell = self.lookup_shell(request, user)
        if shell is None:
            return self.shell_not_found(request, shell_id)
        if isinstance(shell, psrp.Pool):
            return self.pool_send(request, shell)
        stream = request.body.find("rsp:Send/rsp:Stream", soap.NS)
        cmd = shell.command(stream.get("CommandId", "")) if stream is not None else None
        if cmd is None:
            return self.command_not_found(request)
        data = base64.b64decode(stream.text or "")
        end = (stream.get("End") or "").lower() == "true"
        cmd.send(data, end)
        return 200, soap.empty_response(soap.ACTION_SEND, request.message_id,
                                        "<rsp:SendResponse/>")

    def do_signal(self, request, user):
        shell_id, shell = self.lookup_shell(request, user)
        if shell is None:
            return self.shell_not_found(request, shell_id)
        sig = request.body.find("rsp:Signal", soap.NS)
        if isinstance(shell, psrp.Pool):
            return self.pool_signal(request, shell, sig)
        cmd = shell.command(sig.get("CommandId", "")) if sig is not None else None
        if cmd is None:
            return self.command_not_found(request)
        code = (sig.findtext("rsp:Code", "", soap.NS) or "").rsplit("/", 1)[-1].lower()
        if code not in ("ctrl_c", "ctrl_break", "terminate"):
            return self.fault(request, "Sender", "InvalidParameter",
                              f"The signal code {code} is not supported.", 2150858843)
        cmd.signal(code)
        if code == "terminate":
            shell.commands.pop(cmd.id, None)
        return 200, soap.empty_response(soap.ACTION_SIGNAL, request.message_id,
                                        "<rsp:SignalResponse/>")

    def pool_signal(self, request, pool, sig):
        guid = pool.has_command(sig.get("CommandId") or "") if sig is not None else None
        if guid is None:
            return self.command_not_found(request)
        code = (sig.findtext("rsp:Code", "", soap.NS) or "").strip()
        short = code.rsplit("/", 1)[-1].lower()
        self.log_message("PowerShell pipeline %s signalled %s", guid, short)
        try:
            if short == "terminate":
                pool.terminate(guid)
            elif code.startswith(psrp.PSRP_URI_PREFIX) and short in ("crtl_c", "ctrl_c"):
                # PowerShell's stop (its spec spells it crtl_c; clients say ctrl_c).
                pool.stop(guid)
            else:
                return self.fault(request, "Sender", "InvalidParameter",
                                  f"The signal code {code} is not supported.", 2150858843)
        except psrp.PoolError as exc:
            return self.psrp_fault(request, exc)
        return 200, soap.empty_response(soap.ACTION_SIGNAL, request.message_id,
                                        "<rsp:SignalResponse/>")

    # ---- lab control -----------------------------------------------------

    def lab_control(self, body):
        try:
            req = json.loads(body or b"{}")
            if "faults" in req:
                self.state.faults.replace(req["faults"])
            if "allow_unencrypted" in req:
                self.state.allow_unencrypted = bool(req["allow_unencrypted"])
            if "client_command_ids" in req:
                self.state.client_command_ids = bool(req["client_command_ids"])
            if "max_shells_per_user" in req:
                self.state.shells.max_per_user = int(req["max_shells_per_user"])
            if req.get("close_shells"):
                self.state.shells.close_all()
        except (ValueError, TypeError) as exc:
            return self.reply(400, str(exc).encode(), "text/plain")
        self.lab_status()

    def lab_status(self):
        shells = self.state.shells
        with shells.lock:
            per_shell = sorted(s.running() for s in shells.shells.values())
            processes = sum(per_shell)
            status = {
                "shells": len(shells.shells),
                "running_processes": processes,
                "running_per_shell": per_shell,
                "faults": self.state.faults.specs(),
                "allow_unencrypted": self.state.allow_unencrypted,
                "client_command_ids": self.state.client_command_ids,
                "requests": self.state.requests,
                # not counting this one, when it came as a control POST
                "answering": self.state.answering - (self.command == "POST"),
                "delegations": self.state.delegations,
            }
        self.reply(200, json.dumps(status).encode(), "application/json")


def start_listener(state, label, port, tls=None, **options):
    """Bind 127.0.0.1 (port from the OS when 0) and, best effort, ::1 on the
    same port, so that 'localhost' works whichever address is tried first."""
    servers = [PeerServer(("127.0.0.1", port), state, label, tls, **options)]
    bound = servers[0].server_address[1]
    try:
        servers.append(PeerServer(("::1", bound), state, label, tls, socket.AF_INET6,
                                  **options))
    except OSError:
        pass
    for srv in servers:
        threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.2},
                         daemon=True).start()
    return bound, servers


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ports-file", required=True)
    parser.add_argument("--http-port", type=int, default=0)
    parser.add_argument("--https", action="append", default=[], metavar="NAME:CERT:KEY")
    parser.add_argument("--https-h2", action="append", default=[], metavar="NAME:CERT:KEY",
                        help="an HTTPS listener whose TLS selects h2 when offered (ALPN)")
    parser.add_argument("--other-cert", metavar="CERT:KEY",
                        help="the certificate the cert-swap switch presents")
    parser.add_argument("--ntlm-user-file", required=True)
    parser.add_argument("--admin", action="append", default=[])
    parser.add_argument("--allow-unencrypted", action="store_true")
    parser.add_argument("--fault", action="append", default=[])
    parser.add_argument("--cbt", action="store_true",
                        help="check channel bindings over HTTPS (CbtHardeningLevel=Strict)")
    parser.add_argument("--max-envelope-kb", type=int, default=500)
    parser.add_argument("--max-shells-per-user", type=int, default=5)
    parser.add_argument("--extra-http", type=int, default=0, metavar="N",
                        help="N more HTTP listeners, each a host of its own (for fan-out)")
    parser.add_argument("--extra-https", type=int, default=0, metavar="N",
                        help="N more HTTPS listeners with the first --https certificate")
    parser.add_argument("--lab-dir")
    parser.add_argument("--log")
    args = parser.parse_args()

    state = PeerState(args)
    ports = {}
    servers = []
    ports["http"], srv = start_listener(state, "http", args.http_port)
    servers += srv
    first_tls = None
    other = tuple(args.other_cert.split(":", 1)) if args.other_cert else None
    for spec, alpn in ([(s, None) for s in args.https]
                       + [(s, ["h2", "http/1.1"]) for s in args.https_h2]):
        name, cert, key = spec.split(":", 2)
        ports[name], srv = start_listener(state, name, 0, (cert, key), alpn=alpn, other=other)
        servers += srv
        first_tls = first_tls or (cert, key)
    # Extra listeners stand for other hosts: each has its own shells (and
    # so its own quota); the accounts, faults and log are shared.
    for kind, count, tls in (("http", args.extra_http, None),
                             ("https", args.extra_https, first_tls)):
        if count and kind == "https" and tls is None:
            parser.error("--extra-https needs an --https listener")
        for i in range(count):
            host_state = copy.copy(state)
            host_state.shells = ShellTable(args.max_shells_per_user)
            port, srv = start_listener(host_state, f"{kind}-extra-{i}", 0, tls)
            ports.setdefault(f"extra-{kind}", []).append(port)
            servers += srv

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())

    tmp = args.ports_file + ".tmp"
    with open(tmp, "w") as f:
        json.dump(ports, f)
    os.rename(tmp, args.ports_file)
    state.log(f"listening {ports}")

    stop.wait()
    # The processes are what must not outlive the peer; the listeners'
    # threads die with it.
    for srv in servers:
        srv.state.shells.close_all()
    state.log("stopped")
    os._exit(0)


if __name__ == "__main__":
    main()
