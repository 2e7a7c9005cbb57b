#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""castellan-run end to end against the lab peer: every way in, every
refusal, the bytes, and each of the peer's fault switches."""

import hashlib
import json
import os
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gss_client as g  # noqa: E402
from labfixture import LabTestCase  # noqa: E402
from test_peer_pywinrm import lab_stream_bytes  # noqa: E402

RUN = os.path.join(os.environ.get("CASTELLAN_BUILD_DIR", "build"), "src", "cli", "castellan-run")


class CastellanRun(LabTestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="castellan-run-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.report = os.path.join(self.tmp, "r.json")

    def run_cli(self, *args, stdin=b"", timeout=120, env=None):
        return subprocess.run([RUN, *args], input=stdin, capture_output=True, timeout=timeout,
                              env=dict(os.environ, XDG_CONFIG_HOME=self.tmp, **(env or {})))

    def krb(self, *command, extra=(), **kw):
        return self.run_cli("--report", self.report, "--port", str(self.lab.http_port),
                            *extra, "localhost", "--", *command, **kw)

    def ntlm(self, *command, extra=(), host="127.0.0.1", **kw):
        return self.run_cli("--report", self.report, "--port", str(self.lab.http_port),
                            "--user", self.lab.env["LAB_NTLM_USER"],
                            "--password-file", self.lab.env["LAB_PASSWORD_FILE"],
                            *extra, host, "--", *command, **kw)

    def report_json(self):
        with open(self.report) as f:
            return json.load(f)

    def assertFailed(self, res, *words):
        self.assertEqual(res.returncode, 255, res.stderr)
        err = res.stderr.decode()
        self.assertTrue(err.startswith("castellan-run: "), err)
        self.assertEqual(err.count("\n"), 1, err)
        for w in words:
            self.assertIn(w, err)

    # ---- the acceptance cases ---------------------------------------------

    def test_kerberos_by_name(self):
        res = self.krb("echo", "hi")
        self.assertEqual((res.returncode, res.stdout, res.stderr), (0, b"hi\n", b""))
        r = self.report_json()
        self.assertEqual((r["server_identity"], r["auth"], r["encryption"], r["exit_code"]),
                         ("kerberos", "kerberos", "kerberos-aes256-cts-hmac-sha1-96", 0))
        self.assertIsNone(r["trusted_hosts_entry"])

    def test_ntlm_to_address_needs_trusted_hosts(self):
        before = self.lab.status()["requests"]
        res = self.ntlm("echo", "hi")
        self.assertFailed(res, "Refused before any credential was sent", "TrustedHosts")
        self.assertEqual(self.lab.status()["requests"], before, "a request reached the host")
        res = self.ntlm("echo", "hi", extra=("--trusted-hosts", "10.0.0.1, 127.0.0.*"))
        self.assertEqual((res.returncode, res.stdout), (0, b"hi\n"), res.stderr)
        r = self.report_json()
        self.assertEqual((r["server_identity"], r["auth"], r["encryption"], r["trusted_hosts_entry"]),
                         ("none", "ntlm", "ntlm-rc4-128", "127.0.0.*"))
        self.assertEqual(r["level"], "unverified")

    def test_ntlm_long_sealed_session(self):
        # Every NTLM message is sealed and opened by gss-ntlmssp, whose RC4
        # stream runs on across messages: many requests (stdin in several
        # Sends) and many replies (a long output) must open on both sides,
        # byte for byte.
        data = bytes(range(256)) * 400
        res = self.ntlm("python3 -c \"import sys, hashlib; d=sys.stdin.buffer.read(); "
                        "print(len(d), hashlib.sha256(d).hexdigest()); "
                        "[print(i, 'x' * 200) for i in range(3000)]\"",
                        extra=("--trusted-hosts", "127.0.0.1"), stdin=data)
        self.assertEqual(res.returncode, 0, res.stderr[-2000:])
        lines = res.stdout.decode().splitlines()
        self.assertEqual(lines[0], f"{len(data)} {hashlib.sha256(data).hexdigest()}")
        self.assertEqual(lines[1:], [f"{i} " + "x" * 200 for i in range(3000)])
        self.assertEqual(self.report_json()["encryption"], "ntlm-rc4-128")

    # ---- what Kerberos proved, and delegation ----------------------------

    def krb5_conf(self, name, extra):
        """A copy of the lab's krb5.conf with more [libdefaults] lines."""
        with open(self.lab.env["KRB5_CONFIG"]) as f:
            text = f.read()
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write(text.replace("[libdefaults]\n", "[libdefaults]\n" + extra, 1))
        return path

    def run_with_alias(self, *args, krb5_conf):
        """castellan-run in a private mount namespace whose /etc/hosts also
        names 127.0.0.1 castellan-alias; the machine's stays as it is."""
        hosts = os.path.join(self.tmp, "hosts")
        with open(hosts, "w") as f:
            f.write("127.0.0.1 localhost castellan-alias\n::1 localhost\n")
        probe = subprocess.run(["unshare", "--mount", "true"], capture_output=True, timeout=30)
        if probe.returncode != 0:
            self.skipTest("needs a private mount namespace (unshare --mount, as root)")
        return subprocess.run(
            ["unshare", "--mount", "sh", "-c", 'mount --bind "$0" /etc/hosts && exec "$@"',
             hosts, RUN, *args],
            capture_output=True, timeout=120,
            env=dict(os.environ, XDG_CONFIG_HOME=self.tmp, KRB5_CONFIG=krb5_conf))

    def test_server_principal_in_the_report(self):
        res = self.krb("echo", "hi")
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertEqual(self.report_json()["server_principal"], "HTTP/localhost@TEST.LOCAL")
        res = self.krb("echo", "hi", extra=("--spn-service", "WSMAN"))
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertEqual(self.report_json()["server_principal"], "WSMAN/localhost@TEST.LOCAL")

    def test_canonicalised_name_claims_no_other_principal(self):
        # With DNS canonicalisation on, a host-based name would become
        # HTTP/localhost: Kerberos would prove a principal the user never
        # named. Castellan names the principal itself, HTTP/castellan-alias,
        # which the KDC does not know: Negotiate (NTLM allowed by
        # TrustedHosts) is then NTLM, and says the server is not proven; no
        # Kerberos principal is claimed. (A proved principal other than the
        # one asked for is refused: test-gss-names.)
        conf = self.krb5_conf("canon.conf", "    dns_canonicalize_hostname = true\n"
                                            "    rdns = true\n")
        res = self.run_with_alias("--report", self.report, "--port", str(self.lab.http_port),
                                  "--trusted-hosts", "castellan-alias", "castellan-alias",
                                  "--", "echo", "$LAB_AUTH_MECH", krb5_conf=conf)
        self.assertEqual((res.returncode, res.stdout), (0, b"ntlm\n"), res.stderr)
        r = self.report_json()
        self.assertEqual((r["auth"], r["server_identity"], r["server_principal"], r["level"]),
                         ("ntlm", "none", None, "unverified"))
        self.assertNotIn("HTTP/localhost", res.stderr.decode())

        # Kerberos alone names the principal itself, HTTP/castellan-alias,
        # which the KDC does not know: no other principal is claimed.
        res = self.run_with_alias("--report", self.report, "--port", str(self.lab.http_port),
                                  "--auth", "kerberos", "castellan-alias",
                                  "--", "echo", "hi", krb5_conf=conf)
        self.assertFailed(res, "HTTP/castellan-alias")
        self.assertNotIn("HTTP/localhost", res.stderr.decode())

    def test_delegation_needs_ok_as_delegate(self):
        res = self.krb("echo $LAB_DELEGATED", extra=("--delegate",))
        self.assertEqual((res.returncode, res.stdout), (0, b"0\n"), res.stderr)
        self.assertIn("does not trust this host for delegation", res.stderr.decode())
        r = self.report_json()
        self.assertEqual((r["delegation"], r["delegation_requested"], r["delegation_reason"]),
                         (False, True, "not-ok-as-delegate"))
        self.assertEqual(r["level"], "verified")

    def test_delegation_to_a_trusted_host(self):
        before = self.lab.status()["delegations"]
        res = self.krb("echo $LAB_DELEGATED; klist", extra=("--delegate", "--spn-service", "DELEG"))
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertTrue(res.stdout.startswith(b"1\n"), res.stdout)
        self.assertIn(b"krbtgt/TEST.LOCAL@TEST.LOCAL", res.stdout)
        self.assertEqual(res.stderr, b"")
        self.assertEqual(self.lab.status()["delegations"], before + 1)
        r = self.report_json()
        self.assertEqual((r["delegation"], r["delegation_forced"], r["delegation_reason"], r["level"]),
                         (True, False, None, "caveats"))
        self.assertEqual(r["server_principal"], "DELEG/localhost@TEST.LOCAL")

    def test_delegation_with_an_unforwardable_tgt(self):
        ccache = "FILE:" + os.path.join(self.tmp, "ccache")
        env = dict(os.environ, KRB5CCNAME=ccache)
        subprocess.run(["kinit", "-F", self.lab.env["LAB_USER"]], input=self.lab.password.encode(),
                       env=env, capture_output=True, timeout=30, check=True)
        res = self.krb("echo $LAB_DELEGATED", extra=("--delegate", "--spn-service", "DELEG"),
                       env={"KRB5CCNAME": ccache})
        self.assertEqual((res.returncode, res.stdout), (0, b"0\n"), res.stderr)
        self.assertIn("not forwardable", res.stderr.decode())
        r = self.report_json()
        self.assertEqual((r["delegation"], r["delegation_reason"]), (False, "not-forwardable"))

    def test_forced_delegation(self):
        res = self.krb("echo $LAB_DELEGATED", extra=("--delegate-always",))
        self.assertEqual((res.returncode, res.stdout), (0, b"1\n"), res.stderr)
        self.assertIn("warning: --delegate-always", res.stderr.decode())
        r = self.report_json()
        self.assertEqual((r["delegation"], r["delegation_forced"], r["level"]), (True, True, "caveats"))
        res = self.krb("echo", "hi", extra=("--delegate-always", "--verbose"))
        self.assertIn("Delegation was forced", res.stderr.decode())

    def test_kerberos_rc4_sealing(self):
        # The RC4 service has an RC4-HMAC key only; this client asks for RC4
        # first, so the context's key is RC4 and its tokens are padded
        # (RFC 4757): requests and replies must open on both sides, Length
        # counting the padding as Windows does.
        conf = self.krb5_conf("rc4.conf", "    default_tgs_enctypes = arcfour-hmac "
                                          "aes256-cts-hmac-sha1-96 aes128-cts-hmac-sha1-96\n")
        data = bytes(range(256)) * 40 + b"tail"
        res = self.krb("python3 -c \"import sys, hashlib; d=sys.stdin.buffer.read(); "
                       "print(len(d), hashlib.sha256(d).hexdigest()); "
                       "[print(i, 'r' * i) for i in range(200)]\"",
                       extra=("--spn-service", "RC4"), stdin=data, env={"KRB5_CONFIG": conf})
        self.assertEqual(res.returncode, 0, res.stderr)
        lines = res.stdout.decode().splitlines()
        self.assertEqual(lines[0], f"{len(data)} {hashlib.sha256(data).hexdigest()}")
        self.assertEqual(lines[1:], [f"{i} " + "r" * i for i in range(200)])
        r = self.report_json()
        self.assertEqual((r["encryption"], r["server_principal"], r["level"]),
                         ("kerberos-rc4-hmac", "RC4/localhost@TEST.LOCAL", "caveats"))

    def test_command_and_receive_together(self):
        # Without stdin to send (--hosts), the Command carries Castellan's
        # own CommandId and its first Receive goes out with it; a host that
        # picks its own identifier (before WinRM 3.0) answers that Receive
        # with a fault, which is ignored, and gets one for its identifier.
        for honoured in (True, False):
            with self.subTest(honoured=honoured):
                self.lab.control(client_command_ids=honoured)
                before = len(self.lab.quiet_peer_log())
                res = self.run_cli("--port", str(self.lab.http_port), "--hosts", "localhost",
                                   "--", "echo one && echo two 1>&2")
                self.assertEqual(res.returncode, 0, res.stderr)
                self.assertIn(b"one", res.stdout)
                self.assertIn(b"two", res.stderr)
                faults = self.lab.peer_log()[before:].count('HTTP/1.1" 500')
                self.assertEqual(faults, 0 if honoured else 1)

    def test_ntlm_mechanism_from_gss_mech_config(self):
        # The Flatpak registers gss-ntlmssp through GSS_MECH_CONFIG, as the
        # runtime's /etc/gss is not ours: without the file NTLM is missing
        # (and said so), with it NTLM works.
        trusted = ("--trusted-hosts", "127.0.0.1")
        empty = os.path.join(self.tmp, "empty.conf")
        open(empty, "w").close()
        res = self.ntlm("echo", "hi", extra=trusted, env={"GSS_MECH_CONFIG": empty})
        self.assertFailed(res, "NTLM", "gss-ntlmssp")
        mech = os.path.join(self.tmp, "gssntlmssp.conf")
        with open("/etc/gss/mech.d/mech.ntlmssp.conf") as src, open(mech, "w") as out:
            out.write(src.read())
        res = self.ntlm("echo", "hi", extra=trusted, env={"GSS_MECH_CONFIG": mech})
        self.assertEqual((res.returncode, res.stdout), (0, b"hi\n"), res.stderr)

    def test_saved_trusted_hosts(self):
        os.makedirs(os.path.join(self.tmp, "castellan"))
        with open(os.path.join(self.tmp, "castellan", "trusted-hosts"), "w") as f:
            f.write("127.0.0.1\n")
        res = self.ntlm("echo", "saved")
        self.assertEqual((res.returncode, res.stdout), (0, b"saved\n"), res.stderr)
        self.assertEqual(self.report_json()["trusted_hosts_entry"], "127.0.0.1")

    def test_raw_ntlm_and_kerberos_schemes(self):
        res = self.ntlm("echo $LAB_AUTH_MECH", extra=("--auth", "ntlm", "--trusted-hosts", "127.0.0.1"))
        self.assertEqual(res.stdout, b"ntlm\n", res.stderr)
        res = self.krb("echo $LAB_AUTH_MECH", extra=("--auth", "kerberos"))
        self.assertEqual(res.stdout, b"kerberos\n", res.stderr)
        self.assertEqual(self.report_json()["encryption"], "kerberos-aes256-cts-hmac-sha1-96")
        res = self.ntlm("echo", extra=("--auth", "kerberos"))
        self.assertFailed(res, "Kerberos cannot be used with an address")

    def test_negotiate_by_name_falls_back_to_ntlm(self):
        """By name, where Kerberos cannot be used (an SPN the KDC does not
        know, a NetBIOS-style user), Negotiate is NTLM when TrustedHosts
        allows it; where Kerberos can, it is Kerberos."""
        for spn in ("NOSUCH", "HTTP"):
            with self.subTest(spn):
                res = self.ntlm("echo $LAB_AUTH_MECH", host="localhost",
                                extra=("--spn-service", spn, "--trusted-hosts", "localhost"))
                self.assertEqual((res.returncode, res.stdout), (0, b"ntlm\n"), res.stderr)
                r = self.report_json()
                self.assertEqual((r["auth"], r["trusted_hosts_entry"], r["level"]),
                                 ("ntlm", "localhost", "unverified"))
        res = self.krb("echo $LAB_AUTH_MECH", extra=("--trusted-hosts", "localhost"))
        self.assertEqual((res.returncode, res.stdout), (0, b"kerberos\n"), res.stderr)
        self.assertEqual(self.report_json()["auth"], "kerberos")
        res = self.krb("echo", extra=("--spn-service", "NOSUCH"))
        self.assertFailed(res, "NOSUCH/localhost")

    def test_kerberos_with_password_and_spn_service(self):
        res = self.run_cli("--port", str(self.lab.http_port), "--user", self.lab.env["LAB_USER"],
                           "--password-file", self.lab.env["LAB_PASSWORD_FILE"],
                           "--spn-service", "WSMAN", "localhost", "--", "echo $USERNAME")
        self.assertEqual((res.returncode, res.stdout), (0, b"admin\n"), res.stderr)

    def test_basic_over_http_refused(self):
        res = self.run_cli("--auth", "basic", "--user", "admin", "--password-file",
                           self.lab.env["LAB_PASSWORD_FILE"], "--port", str(self.lab.http_port),
                           "localhost", "--", "echo", "hi")
        self.assertFailed(res, "Basic authentication over HTTP")
        # Even when allowed here, this host (like Windows) does not offer it.
        res = self.run_cli("--auth", "basic", "--allow-unencrypted", "--user", "admin",
                           "--password-file", self.lab.env["LAB_PASSWORD_FILE"], "--port",
                           str(self.lab.http_port), "localhost", "--", "echo", "hi")
        self.assertFailed(res, "does not accept Basic")

    def test_https_with_ca(self):
        for auth, host, expected in (("negotiate", "localhost", "kerberos"),
                                     ("negotiate", "127.0.0.1", "ntlm"),
                                     ("basic", "localhost", "basic")):
            with self.subTest(auth=auth, host=host):
                args = ["--report", self.report, "--ca-file", self.lab.env["LAB_CA_FILE"],
                        "--auth", auth]
                if host != "localhost" or auth == "basic":
                    args += ["--user", "admin" if auth == "basic" else self.lab.env["LAB_NTLM_USER"],
                             "--password-file", self.lab.env["LAB_PASSWORD_FILE"]]
                res = self.run_cli(*args, f"https://{host}:{self.lab.https_port}", "--", "echo", "tls")
                self.assertEqual((res.returncode, res.stdout), (0, b"tls\n"), res.stderr)
                r = self.report_json()
                self.assertEqual((r["server_identity"], r["auth"]), ("tls", expected))
                self.assertRegex(r["encryption"], r"^tls-1\.[23]$")
                self.assertTrue(r["tls_cipher_suite"])

    def test_https_pinned(self):
        with open(self.lab.env["LAB_SELFSIGNED_CERT"]) as f:
            der = ssl.PEM_cert_to_DER_cert(f.read())
        pin = hashlib.sha256(der).hexdigest()
        colons = ":".join(pin[i:i + 2] for i in range(0, len(pin), 2)).upper()
        port = self.lab.env["LAB_HTTPS_SELFSIGNED_PORT"]
        res = self.run_cli("--report", self.report, "--pin-sha256", colons, "--https", "--port", port,
                           "localhost", "--", "echo", "pinned")
        self.assertEqual((res.returncode, res.stdout), (0, b"pinned\n"), res.stderr)
        self.assertEqual(self.report_json()["server_identity"], "tls-pinned")
        # The CA-signed certificate is not the pinned one.
        res = self.run_cli("--pin-sha256", pin, "--ca-file", self.lab.env["LAB_CA_FILE"], "--https",
                           "--port", str(self.lab.https_port), "localhost", "--", "echo")
        self.assertFailed(res, "not the one you pinned")

    def test_bad_certificates(self):
        for key, words in (("LAB_HTTPS_SELFSIGNED_PORT", "not signed by an authority"),
                           ("LAB_HTTPS_EXPIRED_PORT", "expired"),
                           ("LAB_HTTPS_WRONGNAME_PORT", "issued for another name")):
            with self.subTest(key):
                res = self.run_cli("--ca-file", self.lab.env["LAB_CA_FILE"], "--https", "--port",
                                   self.lab.env[key], "localhost", "--", "echo")
                self.assertFailed(res, words)

    # ---- bytes, streams, stdin, exit codes ------------------------------------

    def test_fifty_megabytes_byte_exact(self):
        size = 50 * 1000 * 1000
        res = self.krb(f"lab-stream {size}")
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertEqual(len(res.stdout), size)
        self.assertTrue(res.stdout == lab_stream_bytes(size))

    def test_process_output_ntlm_multi_megabyte(self):
        res = self.ntlm("head -c 3000000 /dev/zero | tr '\\0' 'x'; echo; echo done >&2",
                        extra=("--trusted-hosts", "127.0.0.1"))
        self.assertEqual((res.returncode, len(res.stdout), res.stderr), (0, 3000001, b"done\n"))

    def test_utf8_and_stderr(self):
        text = "Grüße, 東京, Ελλάδα 🏰"
        res = self.krb(f"printf '%s' '{text}'; printf 'warn\\n' >&2")
        self.assertEqual(res.stdout.decode(), text)
        self.assertEqual(res.stderr, b"warn\n")

    def test_exit_codes(self):
        for code in (0, 1, 7, 200):
            with self.subTest(code):
                res = self.krb(f"exit {code}")
                self.assertEqual(res.returncode, code)
                self.assertEqual(self.report_json()["exit_code"], code)

    def test_stdin_pipe_and_file(self):
        data = os.urandom(400000)
        res = self.krb("sha256sum", stdin=data)
        self.assertEqual(res.stdout.split()[0].decode(), hashlib.sha256(data).hexdigest(), res.stderr)
        path = os.path.join(self.tmp, "input")
        with open(path, "wb") as f:
            f.write(b"line one\nline two\n")
        with open(path, "rb") as f:
            res = subprocess.run([RUN, "--port", str(self.lab.http_port), "localhost", "--", "wc -l"],
                                 stdin=f, capture_output=True, timeout=60)
        self.assertEqual(res.stdout.strip(), b"2")

    def test_stdin_streams_while_running(self):
        proc = subprocess.Popen([RUN, "--port", str(self.lab.http_port), "localhost", "--",
                                 "while read l; do echo got $l; done"],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        proc.stdin.write(b"one\n")
        proc.stdin.flush()
        self.assertEqual(proc.stdout.readline(), b"got one\n")
        proc.stdin.write(b"two\n")
        proc.stdin.close()
        out = proc.stdout.read()
        err = proc.stderr.read()
        proc.wait(timeout=60)
        self.assertEqual((out, proc.returncode), (b"got two\n", 0), err)

    def test_ctrl_c_reaches_the_remote_command(self):
        proc = subprocess.Popen([RUN, "--port", str(self.lab.http_port), "localhost", "--",
                                 "trap 'echo interrupted; exit 130' INT; echo ready; "
                                 "while :; do sleep 0.05; done"],
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        self.assertEqual(proc.stdout.readline(), b"ready\n")
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
        self.assertEqual((out, proc.returncode), (b"interrupted\n", 130), err)
        status = self.lab.wait_status(lambda s: s["shells"] == 0)
        self.assertEqual((status["shells"], status["running_processes"]), (0, 0))

    def test_operation_timeout_loop(self):
        res = self.krb("sleep 2.5; echo late", extra=("--operation-timeout", "1"))
        self.assertEqual((res.returncode, res.stdout), (0, b"late\n"), res.stderr)

    def test_many_commands_leave_no_shell(self):
        before = self.lab.status()["shells"]
        for i in range(8):
            self.assertEqual(self.krb(f"echo {i}").stdout, b"%d\n" % i)
        self.assertEqual(self.lab.status()["shells"], before)

    # ---- refusals from the host --------------------------------------------------

    def test_wrong_password(self):
        bad = os.path.join(self.tmp, "bad")
        with open(bad, "w") as f:
            f.write("not-the-password\n")
        res = self.run_cli("--trusted-hosts", "127.0.0.1", "--user", self.lab.env["LAB_NTLM_USER"],
                           "--password-file", bad, "--port", str(self.lab.http_port), "127.0.0.1",
                           "--", "echo")
        self.assertFailed(res, "rejected the credentials")
        res = self.run_cli("--user", self.lab.env["LAB_USER"], "--password-file", bad,
                           "--port", str(self.lab.http_port), "localhost", "--", "echo")
        self.assertFailed(res, "password", "rejected")

    def test_nonadmin_access_denied(self):
        res = self.run_cli("--user", self.lab.env["LAB_NONADMIN_USER"], "--password-file",
                           self.lab.env["LAB_NONADMIN_PASSWORD_FILE"], "--port",
                           str(self.lab.http_port), "localhost", "--", "echo")
        self.assertFailed(res, "Access is denied", "Administrators")

    def test_shell_quota(self):
        c = g.Client("localhost", self.lab.http_port).authenticate()
        shells = [c.open_shell() for _ in range(5)]
        try:
            res = self.krb("echo")
            self.assertFailed(res, "maximum number of 5 concurrent shells", "MaxShellsPerUser")
        finally:
            for s in shells:
                c.close_shell(s)

    def test_unreachable(self):
        import socket
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        res = self.run_cli("--trusted-hosts", "*", "--port", str(port), "localhost", "--", "echo")
        self.assertFailed(res, "refused the connection", "firewall")

    # ---- the peer's fault switches ---------------------------------------------------

    def fault(self, switch, *words, extra=()):
        self.lab.control(faults=[switch])
        t = time.monotonic()
        res = self.krb("echo", "x", extra=extra)
        self.assertLess(time.monotonic() - t, 60)
        self.assertFailed(res, *words)

    def test_fault_drop(self):
        self.fault("drop@Receive", "closed in the middle of a reply")

    def test_fault_delay(self):
        self.fault("delay@Create=5", "did not answer within 1 seconds", extra=("--timeout", "1"))

    def test_fault_malformed(self):
        self.fault("malformed@Command", "not a well-formed SOAP envelope")

    def test_fault_plaintext(self):
        self.fault("plaintext@Receive", "answered in plaintext while encryption is in force")

    def test_fault_tamper(self):
        self.fault("tamper@Create", "integrity check")

    def test_fault_bad_mutual_auth(self):
        self.fault("bad-mutual-auth", "proof of identity", "not valid", "Nothing was sent")

    def test_fault_no_mutual_auth(self):
        self.fault("no-mutual-auth", "sent no proof of its own identity")

    def test_fault_oversize(self):
        self.fault("oversize@Receive", "more than the", "MaxEnvelopeSize")

    def test_dropped_connection_reauthenticates(self):
        before = self.lab.quiet_peer_log().count("authenticated negotiate")
        self.lab.control(faults=["close@Command*1"])
        res = self.krb("echo", "again")
        self.assertEqual((res.returncode, res.stdout), (0, b"again\n"), res.stderr)
        self.assertEqual(self.lab.peer_log().count("authenticated negotiate") - before, 2)

    def test_delegation_only_when_asked(self):
        res = self.krb("echo $LAB_DELEGATED")
        self.assertEqual(res.stdout, b"0\n")
        self.assertFalse(self.report_json()["delegation"])
        res = self.krb("echo $LAB_DELEGATED; klist",
                       extra=("--delegate", "--spn-service", "DELEG", "-v"))
        self.assertTrue(res.stdout.startswith(b"1\n"), res.stderr)
        self.assertIn(b"krbtgt/TEST.LOCAL@TEST.LOCAL", res.stdout)
        r = self.report_json()
        self.assertEqual((r["delegation"], r["level"]), (True, "caveats"))
        self.assertIn(b"Delegation is on", res.stderr)

    # ---- several hosts, and the probe -----------------------------------------------

    def test_fan_out(self):
        res = self.run_cli("--report", self.report, "--hosts", "localhost,127.0.0.1",
                           "--trusted-hosts", "127.0.0.1", "--user", self.lab.env["LAB_USER"],
                           "--password-file", self.lab.env["LAB_PASSWORD_FILE"],
                           "--port", str(self.lab.http_port), "--throttle", "2", "--",
                           "echo one; echo two")
        self.assertEqual(res.returncode, 0, res.stderr)
        out = res.stdout.decode()
        for host in ("localhost", "127.0.0.1"):
            self.assertIn(f"{host}: one\n{host}: two\n", out)
        self.assertIn("2 hosts: 2 exited 0, 0 exited non-zero, 0 failed", out)
        hosts = {r["host"]: r for r in self.report_json()}
        self.assertEqual(hosts["localhost"]["server_identity"], "kerberos")
        self.assertEqual(hosts["127.0.0.1"]["encryption"], "ntlm-rc4-128")

    def test_fan_out_with_a_failure(self):
        res = self.run_cli("--hosts", "localhost,127.0.0.1", "--port", str(self.lab.http_port),
                           "--", "exit 3")
        self.assertEqual(res.returncode, 255)
        out = res.stdout.decode()
        self.assertIn("exit 3", out)
        self.assertIn("failed", out)
        self.assertIn("127.0.0.1: Refused before any credential was sent", res.stderr.decode())

    def test_header_in_url_refused_before_sending(self):
        # A CR LF in the address would put a header of the attacker's
        # choosing into the request: refused before any byte is sent.
        before = self.lab.status()["requests"]
        log_before = self.lab.quiet_peer_log()
        for url in (f"http://localhost:{self.lab.http_port}/wsman\r\nX-Injected: yes",
                    f"http://localhost:{self.lab.http_port}/wsman\nX-Injected: yes",
                    f"http://localhost:{self.lab.http_port}/ws\tman"):
            with self.subTest(url=url):
                res = self.run_cli("--report", self.report, url, "--", "echo", "hi")
                self.assertFailed(res, "control character")
                self.assertNotIn(b"\r", res.stderr)
                self.assertFalse(os.path.exists(self.report))
                hosts = self.run_cli("--hosts", f"localhost:{self.lab.http_port},{url}", "--",
                                     "echo", "hi")
                self.assertFailed(hosts, "control character")
        # Nothing reached the peer: it counts each request as it arrives.
        # (Its log is no measure of that: a request of an earlier case
        # may still be answered, and logged, while this one runs.)
        self.assertEqual(self.lab.status()["requests"], before)
        self.assertNotIn("X-Injected", self.lab.peer_log()[len(log_before):])

    def test_relative_ca_file(self):
        # Resolved against the current directory when the command is read.
        ca_dir = os.path.dirname(self.lab.env["LAB_CA_FILE"])
        res = subprocess.run([os.path.abspath(RUN), "--report", self.report, "--ca-file",
                              os.path.basename(self.lab.env["LAB_CA_FILE"]), "--auth", "basic",
                              "--user", "admin", "--password-file", self.lab.env["LAB_PASSWORD_FILE"],
                              f"https://localhost:{self.lab.https_port}", "--", "echo", "rel"],
                             capture_output=True, timeout=120, cwd=ca_dir,
                             env=dict(os.environ, XDG_CONFIG_HOME=self.tmp))
        self.assertEqual((res.returncode, res.stdout, res.stderr), (0, b"rel\n", b""))
        self.assertEqual(self.report_json()["server_identity"], "tls")
        # The same name from elsewhere is another file: not found, and said.
        res = self.run_cli("--ca-file", os.path.basename(self.lab.env["LAB_CA_FILE"]),
                           f"https://localhost:{self.lab.https_port}", "--", "echo")
        self.assertFailed(res, "Cannot read the CA file", os.getcwd())

    def test_proxy_option_validated(self):
        for proxy, words in (("socks5://p:1080", "http or https"),
                             ("http://:3128", "host"),
                             ("http://proxy.example", "port"),
                             ("proxy.example:3128", "http or https"),
                             ("http://proxy.example:3128/x\r\n", "control character")):
            with self.subTest(proxy=proxy):
                self.assertFailed(self.run_cli("--proxy", proxy, "localhost", "--", "x"),
                                  "--proxy", words)
        res = self.run_cli("--help")
        self.assertIn(b"--proxy", res.stdout)

    def test_usage_errors(self):
        self.assertFailed(self.run_cli(), "no host given")
        self.assertFailed(self.run_cli("localhost"), "no command given")
        self.assertFailed(self.run_cli("--auth", "digest", "localhost", "--", "x"), "--auth takes")
        res = self.run_cli("--help")
        self.assertEqual(res.returncode, 0)
        self.assertIn(b"--password-file", res.stdout)
        self.assertNotIn(b"--password ", res.stdout)


class ChannelBinding(LabTestCase):
    """A peer that checks tls-server-end-point (CbtHardeningLevel=Strict)."""

    lab_args = ("--cbt",)

    def test_negotiate_over_https_with_channel_binding(self):
        for host, user in (("localhost", None), ("127.0.0.1", self.lab.env["LAB_NTLM_USER"])):
            with self.subTest(host):
                args = [RUN, "--ca-file", self.lab.env["LAB_CA_FILE"]]
                if user:
                    args += ["--user", user, "--password-file", self.lab.env["LAB_PASSWORD_FILE"]]
                res = subprocess.run(args + [f"https://{host}:{self.lab.https_port}", "--",
                                             "echo $LAB_AUTH_MECH"],
                                     capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
                self.assertEqual(res.returncode, 0, res.stderr)
                self.assertEqual(res.stdout, b"kerberos\n" if user is None else b"ntlm\n")

    def test_the_peer_enforces_it(self):
        # Debian's requests-kerberos sends no channel binding: refused here.
        import winrm
        from winrm.exceptions import InvalidCredentialsError
        proto = winrm.Protocol(f"https://localhost:{self.lab.https_port}/wsman",
                               transport="kerberos", username=self.lab.env["LAB_USER"],
                               password="", service="HTTP", server_cert_validation="validate",
                               ca_trust_path=self.lab.env["LAB_CA_FILE"])
        with self.assertRaises(InvalidCredentialsError):
            proto.open_shell()
        self.assertIn("no channel binding", self.lab.peer_log())


if __name__ == "__main__":
    unittest.main(verbosity=2, warnings="ignore")
