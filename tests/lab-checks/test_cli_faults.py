#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""castellan-run when the world breaks: the host dies in the middle of a
command, a host that never answers, the KDC gone, clocks apart, an
expired ticket. Each case breaks a lab of its own and checks that
castellan-run ends, in bounded time, with exit status 255 and one line
that says what happened and what to do, and that it left nothing behind.

A reply larger than MaxEnvelopeSize and the shell quota are in
test_cli_run.py."""

import glob
import os
import shutil
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from labfixture import Lab, labtool  # noqa: E402

RUN = os.path.join(os.environ.get("CASTELLAN_BUILD_DIR", "build"), "src", "cli", "castellan-run")
# Generous: only a hang should ever come near it.
HANG_SECONDS = 60
# The host gone in the middle of a command: killed during an exchange, or
# between two (then libsoup reconnects once, and is refused).
LOST = (r"The connection to localhost was (closed in the middle of a reply\. Try again"
        r"|lost, and the host now refuses new connections on port \d+: WinRM has stopped "
        r"there, or the host is restarting\. Check the host)")
# libfaketime, preloaded into the KDC or the peer (never into
# castellan-run, which AddressSanitizer may guard against preloading).
LIBFAKETIME = next(iter(glob.glob("/usr/lib/*/faketime/libfaketime.so.1")), None)
AN_HOUR_AHEAD = {"LD_PRELOAD": LIBFAKETIME or "", "FAKETIME": "+1h"}


def read_at_least(proc, count, seconds=HANG_SECONDS):
    """Read count bytes or more of proc's stdout, within seconds."""
    got = b""
    deadline = time.monotonic() + seconds
    while len(got) < count:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([proc.stdout], [], [], left)[0]:
            raise AssertionError(f"only {len(got)} bytes of output within {seconds} s")
        chunk = os.read(proc.stdout.fileno(), 1 << 20)
        if not chunk:
            raise AssertionError(f"output ended after {len(got)} bytes")
        got += chunk
    return got


def wait_blocked_writing(proc, seconds=10):
    """Wait (bounded) until proc sleeps writing to a full pipe; False when
    the kernel does not say where processes wait."""
    deadline = time.monotonic() + seconds
    told = False
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{proc.pid}/wchan") as f:
                wchan = f.read()
        except OSError:
            return False
        if "pipe_write" in wchan:
            return True
        told = told or wchan not in ("", "0")  # "0": running
        time.sleep(0.02)
    if not told:
        return False
    raise AssertionError(f"castellan-run did not block on its full stdout within {seconds} s")


class SilentHost:
    """A TCP listener on 127.0.0.1 that accepts and reads but never writes:
    a host whose WinRM is hung."""

    def __init__(self):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self.open = 0
        self.lock = threading.Lock()
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self.accepted += 1
                self.open += 1
            threading.Thread(target=self.drain, args=(conn,), daemon=True).start()

    def drain(self, conn):
        with conn:
            try:
                while conn.recv(65536):
                    pass
            except OSError:
                pass
        with self.lock:
            self.open -= 1

    def wait_all_closed(self, seconds=10):
        deadline = time.monotonic() + seconds
        while self.open > 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.open

    def close(self):
        self.sock.close()


class Faults(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="castellan-faults-")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def env(self, **extra):
        return dict(os.environ, XDG_CONFIG_HOME=self.tmp, **extra)

    def run_cli(self, *args, env=None):
        t = time.monotonic()
        res = subprocess.run([RUN, *args], stdin=subprocess.DEVNULL, capture_output=True,
                             timeout=HANG_SECONDS, env=self.env(**(env or {})))
        self.assertLess(time.monotonic() - t, HANG_SECONDS)
        return res

    def popen_cli(self, *args):
        return subprocess.Popen([RUN, *args], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=self.env())

    def finish(self, proc, seconds=HANG_SECONDS):
        """Wait (bounded) for a castellan-run started with popen_cli; it must
        have ended by itself, and be gone."""
        try:
            out, err = proc.communicate(timeout=seconds)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
        self.assertFalse(labtool.pid_alive(proc.pid))
        return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)

    def assertFailed(self, res, *patterns):
        """Exit status 255 and exactly one line, 'castellan-run: …', that
        matches every pattern (regular expressions)."""
        err = res.stderr.decode()
        self.assertEqual(res.returncode, 255, err)
        self.assertTrue(err.startswith("castellan-run: "), err)
        self.assertEqual(err.count("\n"), 1, err)
        for p in patterns:
            self.assertRegex(err, p)
        # The verbatim messages, for whoever reads the log.
        print(f"\n    {err.rstrip()}", file=sys.stderr, end="")

    def assertNoShellLeft(self, lab, before):
        status = lab.wait_status(lambda s: s["shells"] == before)
        self.assertEqual(status["shells"], before)

    def krb(self, lab, *args):
        return ("--port", str(lab.http_port), *args, "localhost", "--")

    # ---- 1. the host dies in the middle of a command ---------------------------

    def test_peer_killed_in_the_middle_of_a_stream(self):
        with Lab() as lab:
            proc = self.popen_cli(*self.krb(lab), "lab-stream 50000000")
            try:
                read_at_least(proc, 5 * 1000 * 1000)
                lab.stop("peer", signal.SIGKILL)
            finally:
                res = self.finish(proc)
            self.assertLess(len(res.stdout), 50 * 1000 * 1000)
            # Killed while it sent a reply, or between two replies (then
            # libsoup reconnects once, and is refused).
            self.assertFailed(res, LOST)

    def test_peer_killed_between_two_replies(self):
        with Lab() as lab:
            proc = self.popen_cli(*self.krb(lab), "lab-stream 50000000")
            try:
                read_at_least(proc, 1000 * 1000)
                # Read no more: castellan-run blocks writing its stdout, a
                # reply read in full. The next Receive is already on its way
                # (pipelined), so the connection is lost under it; had it
                # not gone yet, libsoup would reconnect once and be refused.
                if not wait_blocked_writing(proc):
                    proc.kill()
                    self.skipTest("cannot tell from /proc/PID/wchan where a process waits")
                lab.stop("peer", signal.SIGKILL)
            finally:
                res = self.finish(proc)
            self.assertFailed(res, LOST)

    def test_peer_killed_while_the_command_is_quiet(self):
        with Lab() as lab:
            proc = self.popen_cli(*self.krb(lab), "echo started; sleep 30")
            try:
                self.assertEqual(read_at_least(proc, 8), b"started\n")
                lab.stop("peer", signal.SIGKILL)
            finally:
                res = self.finish(proc)
            # Mostly the next Receive already waits at the host; it may also
            # not have been sent yet.
            self.assertFailed(res, LOST)

    # ---- 2. a host that accepts the connection and never answers ---------------

    def test_host_that_never_answers(self):
        with Lab() as lab:
            before = lab.status()["shells"]
            silent = SilentHost()
            # The default bound (--timeout 30) runs meanwhile.
            default = self.popen_cli("--port", str(silent.port), "localhost", "--", "echo")
            t = time.monotonic()
            try:
                for extra in ((), ("--https",)):
                    with self.subTest(extra):
                        res = self.run_cli("--timeout", "2", "--port", str(silent.port), *extra,
                                           "localhost", "--", "echo")
                        self.assertFailed(res, r"localhost did not answer within 2 seconds\. "
                                               r"The host may be overloaded or hung")
                res = self.finish(default, HANG_SECONDS - (time.monotonic() - t))
                self.assertFailed(res, r"localhost did not answer within 30 seconds")
                self.assertGreaterEqual(silent.accepted, 3)
                # Every connection was closed by the client when it gave up.
                self.assertEqual(silent.wait_all_closed(), 0)
            finally:
                if default.poll() is None:
                    default.kill()
                    default.communicate()
                silent.close()
            self.assertNoShellLeft(lab, before)

    # ---- 3. the KDC is down ----------------------------------------------------

    def test_kdc_down(self):
        with Lab() as lab:
            before = lab.status()["shells"]
            lab.stop("kdc")
            res = self.run_cli(*self.krb(lab, "--user", lab.env["LAB_USER"], "--password-file",
                                         lab.env["LAB_PASSWORD_FILE"]), "echo")
            self.assertFailed(res, r"No Kerberos KDC of your realm answered\. Check the network "
                                   r"or VPN connection and the realm’s KDC settings \(krb5\.conf\)")
            # With the ticket of the credential cache, the service ticket
            # needs the KDC too.
            res = self.run_cli(*self.krb(lab), "echo")
            self.assertFailed(res, r"No Kerberos KDC of your realm answered")
            self.assertNoShellLeft(lab, before)

    # ---- 4. clocks more than five minutes apart ---------------------------------

    @unittest.skipUnless(LIBFAKETIME, "needs libfaketime (Debian package faketime)")
    def test_kdc_clock_an_hour_ahead(self):
        with Lab() as lab:
            before = lab.status()["shells"]
            lab.restart_kdc(AN_HOUR_AHEAD)
            # The ticket from before asks the KDC for a service ticket: the
            # KDC itself says the clocks are apart.
            res = self.run_cli(*self.krb(lab), "echo")
            self.assertFailed(res, r"The clocks of this computer and of the Kerberos servers "
                                   r"differ by more than Kerberos allows.*Synchronise this "
                                   r"computer’s clock \(NTP\)")
            # A new sign-in: MIT's library follows the KDC's clock
            # (kdc_timesync), so the ticket is issued, and the host, on time,
            # rejects it. Never "check the password": it was right.
            res = self.run_cli(*self.krb(lab, "--user", lab.env["LAB_USER"], "--password-file",
                                         lab.env["LAB_PASSWORD_FILE"]), "echo")
            self.assertFailed(res, r"localhost rejected the Kerberos ticket\. Check that its clock "
                                   r"and the domain controllers’ agree within 5 minutes \(NTP\)")
            self.assertNotIn(b"password", res.stderr)
            self.assertNoShellLeft(lab, before)

    @unittest.skipUnless(LIBFAKETIME, "needs libfaketime (Debian package faketime)")
    def test_host_clock_an_hour_ahead(self):
        with Lab() as lab:
            lab.restart_peer(AN_HOUR_AHEAD)
            before = lab.status()["shells"]
            for extra in ((), ("--user", lab.env["LAB_USER"], "--password-file",
                               lab.env["LAB_PASSWORD_FILE"])):
                with self.subTest(extra[:1]):
                    res = self.run_cli(*self.krb(lab, *extra), "echo")
                    self.assertFailed(res, r"The clocks of localhost and of this computer differ "
                                           r"by (59|60|61) minutes, more than Kerberos allows.*"
                                           r"Synchronise both with the domain’s time \(NTP\)")
            self.assertIn("Clock skew too great", lab.peer_log())
            self.assertNoShellLeft(lab, before)

    # ---- 5. an expired ticket ----------------------------------------------------

    def test_expired_ticket(self):
        with Lab() as lab:
            before = lab.status()["shells"]
            cache = f"FILE:{self.tmp}/short-ccache"
            kenv = dict(os.environ, KRB5CCNAME=cache)
            subprocess.run(["kinit", "-l", "5s", lab.env["LAB_USER"]], input=lab.password + "\n",
                           env=kenv, capture_output=True, text=True, timeout=30, check=True)
            deadline = time.monotonic() + 30
            while subprocess.run(["klist", "-s"], env=kenv, timeout=30).returncode == 0:
                self.assertLess(time.monotonic(), deadline, "the 5-second ticket did not expire")
                time.sleep(0.2)
            # klist counts a ticket expired at its last second, GSSAPI (and
            # the KDC, within its clock skew) after it.
            time.sleep(1.1)
            res = self.run_cli(*self.krb(lab), "echo", env={"KRB5CCNAME": cache})
            self.assertFailed(res, r"Your Kerberos ticket has expired\. Sign in again \(kinit\)")
            self.assertNoShellLeft(lab, before)


if __name__ == "__main__":
    unittest.main(verbosity=2, warnings="ignore")
