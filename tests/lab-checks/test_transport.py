#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""castellan-run keeps its promise at the transport: one TCP connection,
one security context, one verdict. The peer records every connection it
accepts (/lab/connections: the certificate served, the TLS details, the
authentications and each request), and these cases check what reached it:
a host that offers HTTP/2, a certificate that changes between two
connections, proxies from the environment and a proxy asked for, a reply
lost after a Command, a connection closed in the middle of a session, and
control characters in the endpoint."""

import hashlib
import http.client
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from labfixture import PYTHON, LabTestCase, labtool  # noqa: E402

RUN = os.path.join(os.environ.get("CASTELLAN_BUILD_DIR", "build"), "src", "cli", "castellan-run")
PROXY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "peer", "connect_proxy.py")
# Generous: only a hang should ever come near it.
HANG_SECONDS = 60
PROXY_VARIABLES = ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY",
                   "all_proxy", "no_proxy", "NO_PROXY")
SEALED_ACTIONS = ("Get", "Create", "Command", "Send", "Receive", "Signal", "Delete")


def certificate_sha256(path):
    with open(path) as f:
        return hashlib.sha256(ssl.PEM_cert_to_DER_cert(f.read())).hexdigest()


def bulk_cipher(name):
    """The bulk cipher in a suite name, whichever library spelt it."""
    flat = (name or "").upper().replace("-", "").replace("_", "")
    for bulk in ("CHACHA20POLY1305", "AES256GCM", "AES128GCM"):
        if bulk in flat:
            return bulk
    return flat


class RecordingListener:
    """A TCP listener on 127.0.0.1 that counts and closes every connection:
    a proxy that must never be used."""

    def __init__(self):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.peers = []
        self.own = set()        # the connections made to catch up with it
        self.lock = threading.Lock()
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                conn, addr = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self.peers.append(addr[1])
            conn.close()

    def connections(self):
        """The connections accepted so far, once the listener caught up with
        every one made before (bounded)."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as mine:
            port = mine.getsockname()[1]
            self.own.add(port)
            deadline = time.monotonic() + 10
            while port not in self.peers:
                if time.monotonic() > deadline:
                    raise AssertionError("the recording listener did not accept within 10 s")
                time.sleep(0.01)
        with self.lock:
            return [p for p in self.peers if p not in self.own]

    def close(self):
        self.sock.close()


class ConnectProxy:
    """tests/peer/connect_proxy.py, started and stopped by PID."""

    def __init__(self, directory):
        self.port_file = os.path.join(directory, "proxy.port")
        self.log_path = os.path.join(directory, "proxy.log")
        self.out = open(os.path.join(directory, "proxy.out"), "ab")
        self.proc = subprocess.Popen([PYTHON, PROXY, "--port-file", self.port_file,
                                      "--log", self.log_path],
                                     stdin=subprocess.DEVNULL, stdout=self.out,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        labtool.wait_for(lambda: os.path.exists(self.port_file), "CONNECT proxy",
                         labtool.WAIT_SECONDS, self.proc)
        with open(self.port_file) as f:
            self.port = int(f.read())
        self.url = f"http://127.0.0.1:{self.port}"
        self.barriers = set()

    def entries(self):
        """Every log entry but the ones of these calls, once the proxy
        logged every connection made before (bounded): it logs a
        connection when it accepts it, in order."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as mine:
            self.barriers.add("127.0.0.1:%d" % mine.getsockname()[1])
            mine.sendall(b"OPTIONS * HTTP/1.1\r\nHost: barrier\r\n\r\n")
            mine.settimeout(10)
            mine.recv(4096)
        with open(self.log_path) as f:
            entries = [json.loads(line) for line in f]
        return [e for e in entries
                if e.get("accepted", e.get("peer")) not in self.barriers]

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.out.close()


class Transport(LabTestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="castellan-transport-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.report = os.path.join(self.tmp, "r.json")
        self.server_cert = certificate_sha256(self.lab.env["LAB_SERVER_CERT"])
        self.other_cert = certificate_sha256(self.lab.env["LAB_OTHER_CERT"])

    # ---- running castellan-run -------------------------------------------------

    def run_cli(self, *args, env=None):
        base = {k: v for k, v in os.environ.items() if k not in PROXY_VARIABLES}
        try:
            return subprocess.run([RUN, *args], stdin=subprocess.DEVNULL, capture_output=True,
                                  timeout=HANG_SECONDS,
                                  env=dict(base, XDG_CONFIG_HOME=self.tmp, **(env or {})))
        except subprocess.TimeoutExpired as exc:
            self.fail(f"castellan-run {' '.join(args)} did not end within {HANG_SECONDS} s "
                      f"(stderr: {exc.stderr!r})")

    def basic(self):
        return ("--auth", "basic", "--user", "admin",
                "--password-file", self.lab.env["LAB_PASSWORD_FILE"])

    def ntlm(self):
        return ("--trusted-hosts", "127.0.0.1", "--user", self.lab.env["LAB_NTLM_USER"],
                "--password-file", self.lab.env["LAB_PASSWORD_FILE"])

    def report_json(self):
        with open(self.report) as f:
            return json.load(f)

    def assertRan(self, res, stdout):
        self.assertEqual((res.returncode, res.stdout, res.stderr), (0, stdout, b""))

    def assertFailed(self, res, *patterns):
        """Exit status 255 and exactly one line, 'castellan-run: …', that
        matches every pattern (regular expressions)."""
        err = res.stderr.decode(errors="replace")
        self.assertEqual(res.returncode, 255, err)
        self.assertTrue(err.startswith("castellan-run: "), err)
        self.assertEqual(err.count("\n"), 1, err)
        for p in patterns:
            self.assertRegex(err, p)

    # ---- what reached the peer ---------------------------------------------------

    def get_connections(self, port, host, tls):
        if tls:
            ctx = ssl.create_default_context(cafile=self.lab.env["LAB_CA_FILE"])
            ctx.check_hostname = False
            conn = http.client.HTTPSConnection(host, port, timeout=10, context=ctx)
        else:
            conn = http.client.HTTPConnection(host, port, timeout=10)
        try:
            conn.request("GET", "/lab/connections")
            return json.load(conn.getresponse())
        finally:
            conn.close()

    def connections(self, since=0, tls_ports=()):
        """The peer's records of the connections after number since, other
        than the tests' own (/lab/ only). Asked on every listener and
        address involved, as each accepts on its own thread: once each
        answered, every connection made before is listed. The switches
        are cleared first: cert-swap would count these connections too."""
        self.lab.control(faults=[])
        listeners = [(self.lab.http_port, False)] + [(p, True) for p in tls_ports]
        records = None
        for port, tls in listeners:
            for host in ("::1", "127.0.0.1"):
                try:
                    records = self.get_connections(port, host, tls)
                except OSError:
                    if host == "127.0.0.1":
                        raise
        return [r for r in records if r["id"] > since and not r["control"]]

    def last_connection(self):
        return self.get_connections(self.lab.http_port, "127.0.0.1", False)[-1]["id"]

    def requests(self, records, action=None):
        return [q for r in records for q in r["requests"]
                if action is None or q["action"] == action]

    # ---- 1. a host that offers HTTP/2 ------------------------------------------------

    def test_http2_offered_by_the_host(self):
        port = int(self.lab.env["LAB_HTTPS_H2_PORT"])
        for name, args in (("basic", self.basic()), ("negotiate", ())):
            with self.subTest(name):
                since = self.last_connection()
                res = self.run_cli("--report", self.report, "--ca-file", self.lab.env["LAB_CA_FILE"],
                                   *args, f"https://localhost:{port}", "--", "echo", "h2")
                records = [r for r in self.connections(since, (port,))
                           if r["listener"] == "https-h2"]
                self.assertTrue(records)
                self.assertEqual([r["alpn"] for r in records if r["alpn"] == "h2"], [])
                self.assertRan(res, b"h2\n")
                self.assertRegex(self.report_json()["encryption"], r"^tls-1\.[23]$")

    # ---- 2. another certificate on the next connection ---------------------------------

    def pinned(self):
        return ("--pin-sha256", self.server_cert)

    def test_certificate_swap_with_pin(self):
        ca = ("--ca-file", self.lab.env["LAB_CA_FILE"])
        for name, args in (("basic, pin", self.pinned() + self.basic()),
                           ("basic, pin and CA", self.pinned() + ca + self.basic()),
                           ("negotiate, pin and CA", self.pinned() + ca)):
            with self.subTest(name):
                since = self.last_connection()
                self.lab.control(faults=["cert-swap"])
                res = self.run_cli(*args, f"https://localhost:{self.lab.https_port}",
                                   "--", "echo", "swapped")
                records = self.connections(since, (self.lab.https_port,))
                served = [r["certificate_sha256"] for r in records if r["listener"] == "https"]
                # The lab: the first connection had the pinned certificate, and
                # the client met the other one next.
                self.assertEqual(served[:1], [self.server_cert])
                self.assertIn(self.other_cert, served)
                other = [r for r in records if r["certificate_sha256"] == self.other_cert]
                self.assertEqual([q["authorization"] for q in self.requests(other)
                                  if q["authorization"]], [])
                self.assertEqual(sum(r["authentications"] for r in other), 0)
                self.assertFailed(res, "not the one you pinned")

    def test_certificate_swap_trusted_by_ca(self):
        since = self.last_connection()
        self.lab.control(faults=["cert-swap"])
        res = self.run_cli("--report", self.report, "--ca-file", self.lab.env["LAB_CA_FILE"],
                           *self.basic(), f"https://localhost:{self.lab.https_port}",
                           "--", "echo", "swapped")
        self.assertRan(res, b"swapped\n")
        records = self.connections(since, (self.lab.https_port,))
        carriers = [r for r in records if any(q["action"] == "Command" for q in r["requests"])]
        self.assertEqual(len(carriers), 1)
        carrier = carriers[0]
        # The lab: the traffic went over the other certificate, whose TLS
        # details differ from the first connection's.
        self.assertEqual((carrier["certificate_sha256"], carrier["tls_version"]),
                         (self.other_cert, "TLSv1.2"))
        r = self.report_json()
        self.assertEqual(r["encryption"], "tls-" + carrier["tls_version"][len("TLSv"):])
        self.assertEqual(bulk_cipher(r["tls_cipher_suite"]), bulk_cipher(carrier["cipher"]))

    # ---- 3. proxies ---------------------------------------------------------------------

    def test_proxy_from_the_environment_not_used(self):
        listener = RecordingListener()
        try:
            url = f"http://127.0.0.1:{listener.port}"
            env = {name: url for name in PROXY_VARIABLES}
            # Nothing the client reaches is excluded here: going direct is
            # its own choice.
            env.update(no_proxy="example.invalid", NO_PROXY="example.invalid")
            runs = (
                ("kerberos", ("--port", str(self.lab.http_port), "localhost")),
                ("ntlm", ("--port", str(self.lab.http_port), *self.ntlm(), "127.0.0.1")),
                ("basic over https", ("--ca-file", self.lab.env["LAB_CA_FILE"], *self.basic(),
                                      f"https://localhost:{self.lab.https_port}")),
            )
            for name, args in runs:
                with self.subTest(name):
                    before = len(listener.connections())
                    res = self.run_cli(*args, "--", "echo", "direct", env=env)
                    self.assertEqual(listener.connections()[before:], [])
                    self.assertRan(res, b"direct\n")
        finally:
            listener.close()

    def test_proxy_tunnel_for_https(self):
        proxy = ConnectProxy(self.tmp)
        try:
            target = f"localhost:{self.lab.https_port}"
            for name, args in (("basic", self.basic()), ("negotiate", ())):
                with self.subTest(name):
                    before = len(proxy.entries())
                    res = self.run_cli("--report", self.report, "--proxy", proxy.url,
                                       "--ca-file", self.lab.env["LAB_CA_FILE"], *args,
                                       f"https://{target}", "--", "echo", "tunnelled")
                    self.assertRan(res, b"tunnelled\n")
                    requests = [e for e in proxy.entries()[before:] if "method" in e]
                    self.assertEqual([(e["method"], e["target"], e["status"]) for e in requests],
                                     [("CONNECT", target, 200)])
        finally:
            proxy.stop()

    def test_proxy_refused_for_http(self):
        proxy = ConnectProxy(self.tmp)
        try:
            port = ("--port", str(self.lab.http_port))
            for name, args in (("negotiate", (*port, "localhost")),
                               ("kerberos", ("--auth", "kerberos", *port, "localhost")),
                               ("ntlm", ("--auth", "ntlm", *port, *self.ntlm(), "127.0.0.1"))):
                with self.subTest(name):
                    since = self.last_connection()
                    res = self.run_cli("--proxy", proxy.url, *args, "--", "echo", "never")
                    self.assertEqual(proxy.entries(), [])
                    self.assertEqual(self.connections(since), [])
                    self.assertFailed(res, r"(?i)proxy", r"HTTPS")
        finally:
            proxy.stop()

    # ---- 4. a lost reply -----------------------------------------------------------------

    def test_lost_reply_to_a_command(self):
        since = self.last_connection()
        self.lab.control(faults=["no-reply@Command*1"])
        res = self.run_cli("--port", str(self.lab.http_port), "localhost", "--", "echo started")
        commands = self.requests(self.connections(since), "Command")
        # The lab: the Command reached the peer, and was not answered.
        self.assertTrue(commands)
        self.assertIsNone(commands[0]["status"])
        self.assertEqual(len(commands), 1, [q["message_id"] for q in commands])
        self.assertFailed(res, "may or may not have started")

    def test_hostile_framing(self):
        """Replies framed as WinRM never frames them are refused at once,
        with words, and nothing waits for the timeout."""
        for fault, said in (("interim@Create*1", r"interim \(1xx\)"),
                            ("coding@Create*1", r"transfer coding “gzip, chunked”")):
            with self.subTest(fault):
                self.lab.control(faults=[fault])
                res = self.run_cli("--port", str(self.lab.http_port), "--timeout", "60",
                                   "localhost", "--", "echo framed")
                self.assertFailed(res, said)
        self.lab.control(faults=[])
        self.assertRan(self.run_cli("--port", str(self.lab.http_port), "localhost", "--",
                                    "echo framed"), b"framed\n")

    def test_lost_reply_to_a_receive(self):
        since = self.last_connection()
        self.lab.control(faults=["no-reply@Receive*1"])
        res = self.run_cli("--port", str(self.lab.http_port), "localhost", "--",
                           "for i in $(seq 1 3000); do echo line $i; done")
        expected = "".join(f"line {i}\n" for i in range(1, 3001)).encode()
        records = self.connections(since)
        receives = self.requests(records, "Receive")
        # The lab: one Receive went unanswered.
        self.assertEqual([q["status"] for q in receives].count(None), 1)
        self.assertEqual(len(self.requests(records, "Command")), 1)
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertTrue(res.stdout == expected, f"{len(res.stdout)} bytes, not {len(expected)}")

    # ---- 5. a new connection in the middle of a session ------------------------------------

    def test_new_connection_in_the_middle_of_a_session(self):
        command = "echo one; sleep 1; echo two"
        for name, args in (("kerberos", ("localhost",)), ("ntlm", (*self.ntlm(), "127.0.0.1"))):
            with self.subTest(name):
                args = ("--report", self.report, "--port", str(self.lab.http_port), *args)
                self.assertRan(self.run_cli(*args, "--", command), b"one\ntwo\n")
                keys = ("server_identity", "auth", "encryption", "level")
                verdict = {k: self.report_json()[k] for k in keys}

                since = self.last_connection()
                self.lab.control(faults=["hangup@Receive*1"])
                res = self.run_cli(*args, "--", command)
                records = self.connections(since)
                # The lab: the session went on over a second connection.
                self.assertGreaterEqual(len(records), 2)
                for r in records:
                    with self.subTest(connection=r["id"]):
                        self.assertEqual((r["sealed_without_context"], r["refused_sealed"]), (0, 0))
                        if any(q["action"] in SEALED_ACTIONS for q in r["requests"]):
                            self.assertEqual(r["authentications"], 1)
                self.assertRan(res, b"one\ntwo\n")
                self.assertEqual({k: self.report_json()[k] for k in keys}, verdict)

    # ---- 6. control characters in the endpoint ----------------------------------------------

    def test_control_characters_in_the_endpoint(self):
        base = f"http://localhost:{self.lab.http_port}"
        for path in ("/wsman\r\nX: y", "/wsman\n", "/ws man", "/wsman\t", "/ws\rman"):
            with self.subTest(repr(path)):
                since = self.last_connection()
                res = self.run_cli(base + path, "--", "echo", "never")
                self.assertEqual(self.connections(since), [])
                self.assertFailed(res)


if __name__ == "__main__":
    unittest.main(verbosity=2, warnings="ignore")
