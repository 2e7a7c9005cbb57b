#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""castellan-run --powershell against the lab's real PowerShell: every
clause of the command's contract.

    castellan-run --powershell [--configuration NAME] [OPTION…] HOST -- SCRIPT [WORD…]

Objects as PowerShell formats them for the console's width, each stream
where it belongs, exit statuses, pipeline input from stdin, a long
output byte for byte, Ctrl+C, Read-Host and Get-Credential with a
terminal (a pty) and without, completions, the restricted endpoint,
every way in with its verdict, several hosts, and the peer's fault
switches while a pipeline runs."""

import errno
import fcntl
import json
import os
import shutil
import pty
import re
import select
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import termios
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from labfixture import LabTestCase  # noqa: E402
from test_peer_psrp import peer_psrp, pwsh_or_exit, pwsh_version  # noqa: E402

RUN = os.path.join(os.environ.get("CASTELLAN_BUILD_DIR", "build"), "src", "cli", "castellan-run")
# Generous: only a hang should ever come near it.
HANG_SECONDS = 120
ANSI = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]")
# A custom object whose second column is far wider than any console: the
# table is cut to the console's width.
WIDE_TABLE = "[pscustomobject]@{ Name = 'n'; Value = 'v' * 300 } | Format-Table"
# The words a lost or unanswered request is reported with: whatever was
# sent may have run (or still be running) on the host, and is not sent
# again.
MAY_HAVE_RUN = r"(?i)\bmay\b.*\b(run|running|ran|started)\b"
LOST = r"(?i)\b(lost|closed)\b"


def plain(data):
    """Text without ANSI styling and with a terminal's CR LF as LF."""
    return ANSI.sub(b"", data).replace(b"\r\n", b"\n").decode("utf-8", errors="replace")


def rendered(data):
    """The lines a terminal shows for data: a carriage return goes back to
    the line's start, ESC [ K erases to its end, other styling is left out."""
    lines = []
    for raw in data.decode("utf-8", errors="replace").split("\n"):
        cells, column = [], 0
        for token in re.findall(r"\x1b\[[0-9;?]*[A-Za-z]|\r|.", raw):
            if token == "\r":
                column = 0
            elif token in ("\x1b[K", "\x1b[0K"):
                del cells[column:]
            elif token.startswith("\x1b"):
                continue
            else:
                cells[column:column + 1] = [token]
                column += 1
        lines.append("".join(cells))
    return "\n".join(lines)


def echo_on(fd):
    # On Linux the termios of a pty's master side are its slave's.
    return bool(termios.tcgetattr(fd)[3] & termios.ECHO)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Terminal:
    """castellan-run on a pty of its own: its controlling terminal and its
    stdin, stdout and stderr, as in an admin's terminal window."""

    def __init__(self, argv, env, columns=120, rows=40):
        self.pid, self.master = pty.fork()
        if self.pid == 0:
            try:
                fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
                os.execve(argv[0], argv, env)
            finally:
                os._exit(127)
        self.output = bytearray()
        self.status = None

    def read(self, timeout):
        """Read what came within timeout; False at the end of the output."""
        if not select.select([self.master], [], [], timeout)[0]:
            return True
        try:
            chunk = os.read(self.master, 65536)
        except OSError as exc:
            if exc.errno == errno.EIO:  # the slave side is closed: all read
                return False
            raise
        self.output += chunk
        return bool(chunk)

    def wait_for(self, predicate, what, seconds=HANG_SECONDS):
        deadline = time.monotonic() + seconds
        while not predicate(self):
            left = deadline - time.monotonic()
            if left <= 0 or not self.read(min(left, 0.1)):
                if predicate(self):
                    return
                raise AssertionError(f"{what} did not come within {seconds} s; the terminal "
                                     f"showed: {bytes(self.output)!r}")

    def type(self, data):
        os.write(self.master, data)

    def finish(self, seconds=HANG_SECONDS):
        """Read to the end and reap the process (bounded); returns
        (exit status, what the terminal showed)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and self.read(0.1):
            pass
        while self.status is None and time.monotonic() < deadline:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.status = os.waitstatus_to_exitcode(status)
            else:
                time.sleep(0.02)
        if self.status is None:
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
            raise AssertionError(f"castellan-run did not end within {seconds} s; the "
                                 f"terminal showed: {bytes(self.output)!r}")
        return self.status, rendered(bytes(self.output))

    def close(self):
        if self.status is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
        os.close(self.master)


class PowerShellRun(LabTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.version = pwsh_version(PWSH)

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="castellan-ps-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.report = os.path.join(self.tmp, "r.json")

    # ---- running castellan-run -----------------------------------------------------

    def env(self, **extra):
        return dict(os.environ, XDG_CONFIG_HOME=self.tmp, **extra)

    def run_cli(self, *args, stdin=b"", timeout=HANG_SECONDS, **kw):
        return subprocess.run([RUN, *args], input=stdin, capture_output=True, timeout=timeout,
                              env=self.env(), **kw)

    def args(self, *script, extra=(), host="localhost"):
        return ("--powershell", "--report", self.report, "--port", str(self.lab.http_port),
                *extra, host, "--", *script)

    def ps(self, *script, extra=(), host="localhost", **kw):
        """SCRIPT over Kerberos-sealed HTTP to the lab by name."""
        if os.path.exists(self.report):
            os.unlink(self.report)  # no report of an earlier run
        return self.run_cli(*self.args(*script, extra=extra, host=host), **kw)

    def ntlm_args(self):
        return ("--user", self.lab.env["LAB_NTLM_USER"],
                "--password-file", self.lab.env["LAB_PASSWORD_FILE"])

    def popen_cli(self, *args, **kw):
        return subprocess.Popen([RUN, *args], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=self.env(), **kw)

    def finish(self, proc, seconds=HANG_SECONDS, before=b""):
        """Wait (bounded) for a castellan-run started with popen_cli."""
        try:
            out, err = proc.communicate(timeout=seconds)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
        return subprocess.CompletedProcess(proc.args, proc.returncode, before + (out or b""), err)

    def read_line(self, proc, seconds=HANG_SECONDS):
        """The first line of proc's stdout, read within seconds; returns
        (line, what came after it)."""
        got = b""
        deadline = time.monotonic() + seconds
        while b"\n" not in got:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([proc.stdout], [], [], left)[0]:
                raise AssertionError(f"no whole line of output within {seconds} s: {got!r}")
            chunk = os.read(proc.stdout.fileno(), 65536)
            if not chunk:
                raise AssertionError(f"output ended before a whole line: {got!r}; stderr: "
                                     f"{proc.stderr.read()!r}")
            got += chunk
        line, _, rest = got.partition(b"\n")
        return line + b"\n", rest

    def report_json(self):
        with open(self.report) as f:
            return json.load(f)

    # ---- what the lab saw ----------------------------------------------------------

    def connections(self, since=0):
        url = self.lab.env["LAB_CONTROL_URL"].replace("/lab/control", "/lab/connections")
        with urllib.request.urlopen(url, timeout=10) as resp:
            return [r for r in json.load(resp) if r["id"] > since and not r["control"]]

    def last_connection(self):
        return max([0] + [r["id"] for r in self.connections()])

    def requests(self, since, action=None):
        return [q for r in self.connections(since) for q in r["requests"]
                if q["action"] and (action is None or q["action"] == action)]

    # ---- assertions ----------------------------------------------------------------

    def assertRan(self, res, stdout, stderr=b"", code=0):
        self.assertEqual((res.returncode, res.stdout, res.stderr), (code, stdout, stderr))

    def assertFailed(self, res, *patterns):
        """Exit status 255 and exactly one line, 'castellan-run: …', that
        matches every pattern (regular expressions)."""
        err = res.stderr.decode(errors="replace")
        self.assertEqual(res.returncode, 255, err)
        self.assertTrue(err.startswith("castellan-run: "), err)
        self.assertEqual(err.count("\n"), 1, err)
        self.assertTrue(err.endswith("\n"), err)
        for p in patterns:
            self.assertRegex(err, p)

    def assertPsrpReport(self, report, configuration="Microsoft.PowerShell"):
        self.assertEqual((report["protocol"], report["configuration"],
                          report["powershell_version"]), ("psrp", configuration, self.version))

    def assertAllSealed(self, since):
        """Every WS-Man request of the run came sealed (the peer's view)."""
        sent = self.requests(since)
        self.assertTrue(sent)
        self.assertEqual([q["action"] for q in sent if not q["sealed"]], [])

    def assertTableWidth(self, text, width):
        lines = text.split("\n")
        self.assertTrue(any(line.startswith("n ") for line in lines), text)
        widest = max(len(line) for line in lines)
        # Cut to the console, not to any other width.
        self.assertLessEqual(widest, width, text)
        self.assertGreater(widest, width - 10, text)

    # ---- the acceptance case, and every way in ---------------------------------------

    def test_version_over_kerberos(self):
        if os.path.realpath(PWSH).startswith(peer_psrp.PWSH_CACHE + "/"):
            self.assertEqual(self.version, "7.6.10")
        since = self.last_connection()
        res = self.ps("$PSVersionTable.PSVersion.ToString()")
        self.assertRan(res, f"{self.version}\n".encode())
        r = self.report_json()
        self.assertPsrpReport(r)
        self.assertEqual((r["host"], r["server_identity"], r["auth"], r["encryption"],
                          r["server_principal"], r["level"], r["exit_code"]),
                         ("localhost", "kerberos", "kerberos", "kerberos-aes256-cts-hmac-sha1-96",
                          "HTTP/localhost@TEST.LOCAL", "verified", 0))
        self.assertIsNone(r["trusted_hosts_entry"])
        self.assertFalse(r["delegation"])
        self.assertAllSealed(since)
        # The pool went on the resource URI of the configuration, and was
        # closed again.
        self.assertIn("(Microsoft.PowerShell) open", self.lab.peer_log())
        self.assertEqual(self.lab.wait_status(lambda s: s["shells"] == 0)["shells"], 0)

    def test_ntlm_sealed(self):
        since = self.last_connection()
        res = self.ps("$PSVersionTable.PSVersion.ToString()", host="127.0.0.1",
                      extra=(*self.ntlm_args(), "--trusted-hosts", "10.0.0.1, 127.0.0.*"))
        self.assertRan(res, f"{self.version}\n".encode())
        r = self.report_json()
        self.assertPsrpReport(r)
        self.assertEqual((r["server_identity"], r["auth"], r["encryption"],
                          r["trusted_hosts_entry"], r["level"], r["exit_code"]),
                         ("none", "ntlm", "ntlm-rc4-128", "127.0.0.*", "unverified", 0))
        self.assertAllSealed(since)
        # gss-ntlmssp's RC4 stream runs on across messages: many Receives
        # and Sends must open on both sides, in order.
        lines = "".join(f"line {i}\n" for i in range(3000))
        res = self.ps("$input | ForEach-Object { $_.ToUpper() }; 1..20000", host="127.0.0.1",
                      extra=(*self.ntlm_args(), "--trusted-hosts", "127.0.0.1"),
                      stdin=lines.encode())
        expected = lines.upper() + "".join(f"{i}\n" for i in range(1, 20001))
        self.assertEqual((res.returncode, res.stderr), (0, b""))
        self.assertTrue(res.stdout == expected.encode(), res.stdout[-200:])

    def test_https(self):
        for auth, host, expected in (("negotiate", "localhost", "kerberos"),
                                     ("negotiate", "127.0.0.1", "ntlm"),
                                     ("basic", "localhost", "basic")):
            with self.subTest(auth=auth, host=host):
                args = ["--powershell", "--report", self.report,
                        "--ca-file", self.lab.env["LAB_CA_FILE"], "--auth", auth]
                if host != "localhost" or auth == "basic":
                    args += ["--user", "admin" if auth == "basic" else self.lab.env["LAB_NTLM_USER"],
                             "--password-file", self.lab.env["LAB_PASSWORD_FILE"]]
                res = self.run_cli(*args, f"https://{host}:{self.lab.https_port}", "--",
                                   "'tls'; $PSVersionTable.PSVersion.ToString()")
                self.assertRan(res, f"tls\n{self.version}\n".encode())
                r = self.report_json()
                self.assertPsrpReport(r)
                self.assertEqual((r["server_identity"], r["auth"]), ("tls", expected))
                self.assertRegex(r["encryption"], r"^tls-1\.[23]$")
                self.assertTrue(r["tls_cipher_suite"])

    # ---- objects -------------------------------------------------------------------

    def test_simple_values_one_a_line(self):
        self.assertRan(self.ps("1..3"), b"1\n2\n3\n")
        self.assertRan(self.ps("Get-Date -Year 2020 -Month 1 -Day 2 | "
                               "Select-Object -ExpandProperty Year"), b"2020\n")
        self.assertRan(self.ps("'one'; 2; $true; $null; 'four'"), b"one\n2\nTrue\nfour\n")

    def test_words_appended_with_spaces(self):
        self.assertRan(self.ps("Write-Output", "a", "b"), b"a\nb\n")
        self.assertRan(self.ps("'x'", "+", "'y'"), b"xy\n")

    def test_objects_formatted_as_a_table(self):
        res = self.ps("[pscustomobject]@{ Alpha = 1; Beta = 'two' }")
        self.assertEqual((res.returncode, res.stderr), (0, b""))
        lines = [line.rstrip() for line in plain(res.stdout).split("\n") if line.strip()]
        self.assertEqual(len(lines), 3, lines)
        self.assertRegex(lines[0], r"^Alpha\s+Beta$")
        self.assertRegex(lines[1], r"^-----\s+----$")
        self.assertRegex(lines[2], r"^\s*1\s+two$")
        res = self.ps("[ordered]@{ Key1 = 'v1'; Key2 = 'v2' }")
        self.assertEqual(res.returncode, 0, res.stderr)
        lines = [line.rstrip() for line in plain(res.stdout).split("\n") if line.strip()]
        self.assertRegex(lines[0], r"^Name\s+Value$")
        self.assertRegex(lines[2], r"^Key1\s+v1$")
        self.assertRegex(lines[3], r"^Key2\s+v2$")

    def test_unicode_round_trip(self):
        # 𝄞 is a surrogate pair in .NET's strings, escaped in CLIXML.
        text = "Grüße ✓ 日本語 𝄞"
        self.assertRan(self.ps(f"'{text}'"), f"{text}\n".encode())
        self.assertRan(self.ps(f"'{text}'.Length"), b"14\n")

    # ---- the console's width -------------------------------------------------------

    def test_width_without_a_terminal(self):
        self.assertRan(self.ps("$Host.UI.RawUI.BufferSize.Width"), b"120\n")
        res = self.ps(WIDE_TABLE)
        self.assertEqual((res.returncode, res.stderr), (0, b""))
        self.assertTableWidth(plain(res.stdout), 120)

    def run_on_pty(self, script, columns, stream="stdout"):
        """castellan-run with its stdout (or stderr) on a pty of `columns`
        columns, the other streams not terminals (and no controlling
        terminal); returns (status, what the pty got, the other stream)."""
        master, slave = pty.openpty()
        try:
            fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
            streams = ({"stdout": slave, "stderr": subprocess.PIPE} if stream == "stdout"
                       else {"stdout": subprocess.PIPE, "stderr": slave})
            proc = subprocess.Popen([RUN, *self.args(script)], stdin=subprocess.DEVNULL,
                                    env=self.env(), start_new_session=True, **streams)
            os.close(slave)
            slave = None
            out = bytearray()
            deadline = time.monotonic() + HANG_SECONDS
            while time.monotonic() < deadline:
                if not select.select([master], [], [], 0.1)[0]:
                    continue
                try:
                    chunk = os.read(master, 65536)
                except OSError as exc:
                    if exc.errno != errno.EIO:
                        raise
                    break
                if not chunk:
                    break
                out += chunk
            res = self.finish(proc)
        finally:
            os.close(master)
            if slave is not None:
                os.close(slave)
        return res.returncode, bytes(out), res.stderr if stream == "stdout" else res.stdout

    def test_width_of_the_terminal(self):
        code, out, err = self.run_on_pty("$Host.UI.RawUI.BufferSize.Width", 80)
        self.assertEqual((code, plain(out), err), (0, "80\n", b""))
        code, out, err = self.run_on_pty(WIDE_TABLE, 80)
        self.assertEqual((code, err), (0, b""))
        self.assertTableWidth(plain(out), 80)

    # ---- the streams ---------------------------------------------------------------

    def test_host_and_information_to_stdout(self):
        self.assertRan(self.ps("Write-Host hi"), b"hi\n")
        self.assertRan(self.ps("Write-Information info -InformationAction Continue"), b"info\n")
        self.assertRan(self.ps("'a'; Write-Host b; 'c'"), b"a\nb\nc\n")

    def test_error_record_to_stderr(self):
        res = self.ps("'before'; Write-Error boom")
        self.assertEqual((res.returncode, res.stdout), (1, b"before\n"), res.stderr)
        self.assertIn(b"boom", res.stderr)
        self.assertFalse(res.stderr.startswith(b"castellan-run: "), res.stderr)

    def test_warning_verbose_debug_prefixed_on_stderr(self):
        for script, said in (("Write-Warning w", b"WARNING: w\n"),
                             ("Write-Verbose v -Verbose", b"VERBOSE: v\n"),
                             ("Write-Debug d -Debug", b"DEBUG: d\n"),
                             ("$DebugPreference = 'Continue'; Write-Debug d", b"DEBUG: d\n")):
            with self.subTest(script):
                self.assertRan(self.ps(script), b"", said)
        # Not asked for: not shown.
        self.assertRan(self.ps("Write-Verbose v; Write-Debug d; 'only'"), b"only\n")
        # Each record on its own stream, output in between.
        self.assertRan(self.ps("'one'; Write-Warning careful; 'two'"), b"one\ntwo\n",
                       b"WARNING: careful\n")

    def test_progress_silent_without_a_terminal(self):
        self.assertRan(self.ps("Write-Progress -Activity a -Status s; "
                               "Start-Sleep -Milliseconds 300; "
                               "Write-Progress -Activity a -Completed; 'done'"), b"done\n")

    def test_progress_one_updating_line_on_a_terminal(self):
        term = self.terminal("foreach ($i in 1..5) { Write-Progress -Activity Copying "
                             "-Status \"file $i\" -PercentComplete ($i * 20); "
                             "Start-Sleep -Milliseconds 400 }; "
                             "Write-Progress -Activity Copying -Completed; 'done'")
        code, shown = term.finish()
        self.assertEqual(code, 0, shown)
        raw = bytes(term.output)
        self.assertIn(b"Copying: file", raw)
        self.assertIn("done", shown.split("\n"), raw)
        # Updated in place, the five records did not each take a line, and
        # the line is gone once the progress is complete.
        self.assertLessEqual(raw[:raw.rindex(b"done")].count(b"\n"), 1, raw)
        self.assertNotIn("Copying", shown, raw)

    def test_progress_on_stderr(self):
        # stderr a terminal, stdout a pipe: the progress line goes to the
        # terminal and is gone at the end; stdout has the output only.
        code, shown, out = self.run_on_pty(
            "Write-Progress -Activity Copying -Status 'file 1' -PercentComplete 50; "
            "Start-Sleep -Milliseconds 800; Write-Progress -Activity Copying -Completed; 'done'",
            120, "stderr")
        self.assertEqual((code, out), (0, b"done\n"), shown)
        self.assertIn(b"Copying: file 1", shown)
        self.assertEqual(rendered(shown).strip(), "", shown)

    # ---- exit status ---------------------------------------------------------------

    def test_exit_statements(self):
        for script, code in (("exit 3", 3), ("exit 300", 44), ("exit 0", 0), ("exit 255", 255),
                             ("'a'; exit 7; 'b'", 7)):
            with self.subTest(script):
                res = self.ps(script)
                self.assertEqual(res.returncode, code, res.stderr)
                self.assertNotIn(b"b", res.stdout)
                self.assertEqual(self.report_json()["exit_code"], code)

    def test_success_and_failure(self):
        self.assertRan(self.ps("'ok'"), b"ok\n")
        self.assertEqual(self.report_json()["exit_code"], 0)
        res = self.ps("throw 'thrown-on-purpose'; 'after'")
        self.assertEqual((res.returncode, res.stdout), (1, b""), res.stderr)
        self.assertIn(b"thrown-on-purpose", res.stderr)
        self.assertEqual(self.report_json()["exit_code"], 1)
        # The last statement failed ($? false): 1.
        res = self.ps("Get-Item /nonexistent")
        self.assertEqual((res.returncode, res.stdout), (1, b""), res.stderr)
        self.assertIn(b"/nonexistent", res.stderr)
        # An error before a last statement that succeeded: 0.
        res = self.ps("Get-Item /nonexistent; 'after'")
        self.assertEqual((res.returncode, res.stdout), (0, b"after\n"), res.stderr)
        self.assertIn(b"/nonexistent", res.stderr)

    def test_connection_failure(self):
        res = self.run_cli("--powershell", "--trusted-hosts", "*", "--port", str(free_port()),
                           "localhost", "--", "'x'")
        self.assertFailed(res, "refused the connection")

    def test_authentication_failure(self):
        bad = os.path.join(self.tmp, "bad")
        with open(bad, "w") as f:
            f.write("not-the-password\n")
        res = self.ps("'x'", host="127.0.0.1",
                      extra=("--trusted-hosts", "127.0.0.1", "--user",
                             self.lab.env["LAB_NTLM_USER"], "--password-file", bad))
        self.assertFailed(res, "rejected the credentials")
        res = self.ps("'x'", extra=("--user", self.lab.env["LAB_NONADMIN_USER"], "--password-file",
                                    self.lab.env["LAB_NONADMIN_PASSWORD_FILE"]))
        self.assertFailed(res, "Access is denied")

    def test_policy_refusal(self):
        since = self.last_connection()
        res = self.ps("'x'", host="127.0.0.1", extra=self.ntlm_args())
        self.assertFailed(res, "Refused before any credential was sent", "TrustedHosts")
        self.assertEqual([q for r in self.connections(since) for q in r["requests"]
                          if q["authorization"]], [])

    # ---- pipeline input ------------------------------------------------------------

    def test_stdin_lines_are_input_objects(self):
        self.assertRan(self.ps("$input | ForEach-Object { $_.ToUpper() }", stdin=b"a\nb\nc\n"),
                       b"A\nB\nC\n")
        # A last line without its newline is a line; UTF-8 read as such.
        self.assertRan(self.ps("$input | ForEach-Object { $_.Length }",
                               stdin="Grüße\nx".encode()), b"5\n1\n")
        self.assertRan(self.ps("@($input).Count", stdin=b""), b"0\n")
        lines = "".join(f"line {i}\n" for i in range(5000)).encode()
        self.assertRan(self.ps("$input | Measure-Object | Select-Object -ExpandProperty Count",
                               stdin=lines), b"5000\n")

    # ---- a long output -------------------------------------------------------------

    def test_two_hundred_thousand_lines(self):
        res = self.ps("1..200000", timeout=600)
        self.assertEqual((res.returncode, res.stderr), (0, b""))
        expected = "".join(f"{i}\n" for i in range(1, 200001)).encode()
        self.assertEqual(res.stdout.count(b"\n"), 200000)
        self.assertTrue(res.stdout.endswith(b"\n200000\n"))
        self.assertTrue(res.stdout == expected, f"{len(res.stdout)} bytes, not {len(expected)}")

    # ---- Ctrl+C --------------------------------------------------------------------

    def test_ctrl_c_stops_the_pipeline(self):
        marker = os.path.join(self.tmp, "stopped")
        log_before = len(self.lab.quiet_peer_log())
        rest = b""
        proc = self.popen_cli(*self.args(
            "'started'; try { Start-Sleep 60 } finally "
            f"{{ [IO.File]::WriteAllText('{marker}', 'stopped') }}; 'not reached'"))
        try:
            line, rest = self.read_line(proc)
            self.assertEqual(line, b"started\n")
            proc.send_signal(signal.SIGINT)
        finally:
            res = self.finish(proc, 60, rest)
        self.assertEqual(res.returncode, 130, res.stderr)
        self.assertNotIn(b"not reached", res.stdout)
        # The host stopped the pipeline (its finally block ran), with
        # PowerShell's stop signal, and the pool is closed.
        deadline = time.monotonic() + 30
        while not os.path.exists(marker) and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertTrue(os.path.exists(marker), "the pipeline was not stopped on the host")
        self.assertRegex(self.lab.peer_log()[log_before:], r"PowerShell pipeline \S+ signalled "
                                                           r"(crtl_c|ctrl_c)")
        self.assertEqual(self.lab.wait_status(lambda s: s["shells"] == 0, 30)["shells"], 0)

    def test_ctrl_c_at_a_prompt(self):
        # Ctrl+C typed on the terminal while the host waits for an answer
        # (a few times: the prompt given up and the stop must not race).
        for script, prompt in (("$n = Read-Host 'Name'; 'not reached'", b"Name"),
                               ("$s = Read-Host 'Secret' -AsSecureString; 'not reached'",
                                b"Secret")) * 3:
            with self.subTest(script):
                term = self.terminal(script)
                term.wait_for(lambda t: prompt in t.output, "the prompt")
                term.type(b"\x03")
                code, shown = term.finish(60)
                self.assertEqual(code, 130, shown)
                self.assertNotIn("not reached", shown)
                self.assertTrue(echo_on(term.master), "the terminal was left without echo")
        self.assertEqual(self.lab.wait_status(lambda s: s["shells"] == 0, 30)["shells"], 0)

    # ---- the host's prompts --------------------------------------------------------

    def terminal(self, script, columns=120):
        term = Terminal([RUN, *self.args(script)], self.env(), columns)
        self.addCleanup(term.close)
        return term

    def test_read_host_from_the_terminal(self):
        term = self.terminal("$n = Read-Host 'Name'; \"hello $n\"")
        term.wait_for(lambda t: b"Name" in t.output, "the prompt 'Name'")
        term.type(b"World\r")
        code, shown = term.finish()
        self.assertEqual(code, 0, shown)
        self.assertIn("hello World", shown.split("\n"), shown)
        # Enter alone is an empty answer, not a cancelled prompt.
        term = self.terminal("$n = Read-Host 'Name'; \"[$n]\"")
        term.wait_for(lambda t: b"Name" in t.output, "the prompt 'Name'")
        term.type(b"\r")
        code, shown = term.finish()
        self.assertEqual(code, 0, shown)
        self.assertIn("[]", shown.split("\n"), shown)

    def assertTypedUnseen(self, term, shown, secret):
        """What was typed without echo is shown once, as a line of the
        script's output, never as it was typed; the terminal echoes again."""
        self.assertEqual(shown.count(secret), 1, shown)
        self.assertIn(secret, shown.split("\n"), shown)
        self.assertTrue(echo_on(term.master), "the terminal was left without echo")

    def test_secure_string_from_the_terminal(self):
        secret = "s3cret-Wörd ✓"
        term = self.terminal("$s = Read-Host 'Secret' -AsSecureString; $s.GetType().FullName; "
                             "[Net.NetworkCredential]::new('', $s).Password")
        # Typed only once the terminal no longer echoes.
        term.wait_for(lambda t: b"Secret" in t.output and not echo_on(t.master),
                      "the prompt 'Secret' with echo off")
        term.type(secret.encode() + b"\r")
        code, shown = term.finish()
        self.assertEqual(code, 0, shown)
        self.assertIn("System.Security.SecureString", shown.split("\n"), shown)
        self.assertTypedUnseen(term, shown, secret)

    def test_get_credential_from_the_terminal(self):
        password = "pa55-Wörd"
        term = self.terminal("$c = Get-Credential -UserName alice -Message 'Sign in, please'; "
                             "$c.UserName; $c.Password.GetType().FullName; "
                             "$c.GetNetworkCredential().Password")
        term.wait_for(lambda t: t.output and not echo_on(t.master),
                      "a password prompt with echo off")
        term.type(password.encode() + b"\r")
        code, shown = term.finish()
        self.assertEqual(code, 0, shown)
        lines = shown.split("\n")
        self.assertIn("alice", lines, shown)
        self.assertIn("System.Security.SecureString", lines, shown)
        self.assertTypedUnseen(term, shown, password)

    def test_prompt_for_choice_from_the_terminal(self):
        script = ("$Host.UI.PromptForChoice('Restart', 'Restart the service now?', "
                  "[System.Management.Automation.Host.ChoiceDescription[]]@('&Yes', '&No'), 0)")
        for typed, chosen in ((b"n\r", "1"), (b"\r", "0"), (b"Yes\r", "0")):
            with self.subTest(typed=typed):
                term = self.terminal(script)
                # The question, then its choices, then the prompt's end.
                term.wait_for(lambda t: t.output.rfind(b"No") > t.output.find(b"now?") >= 0
                              and t.output.endswith(b" "), "the choices")
                term.type(typed)
                code, shown = term.finish()
                self.assertEqual(code, 0, shown)
                self.assertEqual(shown.strip().split("\n")[-1], chosen, shown)
        # Without a terminal: an error record at once.
        res = self.ps(script, stdin=b"", start_new_session=True, timeout=60)
        self.assertEqual((res.returncode, res.stdout), (1, b""), res.stderr)
        self.assertTrue(res.stderr.strip(), "no error record on stderr")

    def test_get_credential_asks_the_user_name(self):
        password = "an0ther-pass"
        term = self.terminal("$c = Get-Credential -Message 'Sign in, please'; $c.UserName; "
                             "$c.GetNetworkCredential().Password")
        term.wait_for(lambda t: b"User" in t.output or b"user" in t.output,
                      "a prompt for the user name")
        term.type(b"CASTELLAN\\bob\r")
        term.wait_for(lambda t: not echo_on(t.master), "a password prompt with echo off")
        term.type(password.encode() + b"\r")
        code, shown = term.finish()
        self.assertEqual(code, 0, shown)
        self.assertIn("CASTELLAN\\bob", shown.split("\n"), shown)
        self.assertTypedUnseen(term, shown, password)

    def test_prompts_fail_at_once_without_a_terminal(self):
        for script in ("Read-Host 'Name'", "Read-Host 'Secret' -AsSecureString",
                       "Get-Credential -UserName alice -Message m"):
            with self.subTest(script):
                # No controlling terminal, stdin a pipe: nothing to ask.
                res = self.ps(script, stdin=b"", start_new_session=True, timeout=60)
                self.assertEqual((res.returncode, res.stdout), (1, b""), res.stderr)
                self.assertTrue(res.stderr.strip(), "no error record on stderr")
                self.assertEqual(self.report_json()["exit_code"], 1)
        # Nor do they read the script's input lines as answers.
        res = self.ps("Read-Host 'Name'", stdin=b"typed\n", start_new_session=True, timeout=60)
        self.assertEqual((res.returncode, res.stdout), (1, b""), res.stderr)

    # ---- completions ---------------------------------------------------------------

    def test_tab_expansion(self):
        res = self.ps("TabExpansion2 'Get-Dat' 7 | Select-Object -ExpandProperty CompletionMatches"
                      " | Select-Object -ExpandProperty CompletionText")
        self.assertEqual((res.returncode, res.stderr), (0, b""))
        self.assertIn("Get-Date", res.stdout.decode().split("\n"))

    # ---- script files ----------------------------------------------------------------

    def script_file(self, name, data):
        path = os.path.join(self.tmp, name)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def run_file(self, path, *words, stdin=b"", extra=()):
        if os.path.exists(self.report):
            os.unlink(self.report)
        return self.run_cli("--script-file", path, "--report", self.report, "--port",
                            str(self.lab.http_port), *extra, "localhost", "--", *words, stdin=stdin)

    def test_script_file(self):
        # As pwsh -File runs it: as written (it may end in named blocks,
        # after which nothing can be appended), its parameters from the
        # words, read by the host's binder.
        hello = self.script_file("hello.ps1", (
            "[CmdletBinding()]\n"
            "param([string]$Name = 'world', [int]$Count = 1, [switch]$Loud)\n"
            "begin { $n = 0 }\n"
            "process { $n++ }\n"
            "end {\n"
            "  1..$Count | ForEach-Object { $t = \"hello $Name\"; if ($Loud) { $t.ToUpper() } else { $t } }\n"
            "  \"blocks $n\"\n"
            "}\n").encode())
        res = self.run_file(hello)
        self.assertEqual((res.returncode, res.stdout, res.stderr), (0, b"hello world\nblocks 1\n", b""))
        self.assertPsrpReport(self.report_json())
        res = self.run_file(hello, "-Name", "Ada", "-Count", "2", "-Loud")
        self.assertEqual((res.returncode, res.stdout, res.stderr), (0, b"HELLO ADA\nHELLO ADA\nblocks 1\n", b""))
        # A switch before a positional value, and -Name:value.
        res = self.run_file(hello, "-Loud", "Bob")
        self.assertEqual((res.returncode, res.stdout), (0, b"HELLO BOB\nblocks 1\n"), res.stderr)
        res = self.run_file(hello, "-Name:Cy", "-Count:3")
        self.assertEqual((res.returncode, res.stdout), (0, b"hello Cy\n" * 3 + b"blocks 1\n"), res.stderr)
        # Words are values, never code.
        res = self.run_file(hello, "$(exit 9)")
        self.assertEqual((res.returncode, res.stdout), (0, b"hello $(exit 9)\nblocks 1\n"), res.stderr)
        # Lines of stdin are the pipeline's input.
        piped = self.script_file("piped.ps1", b"param([Parameter(ValueFromPipeline)]$Line)\n"
                                              b"process { \"got $Line\" }\n")
        res = self.run_file(piped, stdin=b"a\nb\n")
        self.assertEqual((res.returncode, res.stdout), (0, b"got a\ngot b\n"), res.stderr)

    def test_script_file_encodings(self):
        # UTF-8 with a BOM and CRLF, and UTF-16 with its BOM, as Windows
        # editors save scripts; exit N is the exit status.
        bom = self.script_file("bom.ps1", "\ufeff'bom été'\r\nexit 4\r\n".encode())
        res = self.run_file(bom)
        self.assertEqual((res.returncode, res.stdout, res.stderr), (4, "bom été\n".encode(), b""))
        utf16 = self.script_file("utf16.ps1", b"\xff\xfe" + "'utf16 é中 ✓'\r\n".encode("utf-16-le"))
        res = self.run_file(utf16)
        self.assertEqual((res.returncode, res.stdout), (0, "utf16 é中 ✓\n".encode()), res.stderr)
        utf16be = self.script_file("utf16be.ps1", b"\xfe\xff" + "'big end'\n".encode("utf-16-be"))
        res = self.run_file(utf16be)
        self.assertEqual((res.returncode, res.stdout), (0, b"big end\n"), res.stderr)

    def test_script_file_status_and_errors(self):
        # pwsh -File's exit status: an error record alone does not fail
        # the script; a terminating error does.
        soft = self.script_file("soft.ps1", b"Write-Error 'soft one'\n'after'\n")
        res = self.run_file(soft)
        self.assertEqual((res.returncode, res.stdout), (0, b"after\n"), res.stderr)
        self.assertIn(b"soft one", res.stderr)
        hard = self.script_file("hard.ps1", b"'before'\nthrow 'hard one'\n'not reached'\n")
        res = self.run_file(hard)
        self.assertEqual((res.returncode, res.stdout), (1, b"before\n"), res.stderr)
        self.assertIn(b"hard one", res.stderr)
        # A file that cannot be run is refused before any host is asked.
        before = self.lab.status()["requests"]
        latin1 = self.script_file("latin1.ps1", b"'caf\xe9'\n")
        self.assertFailed(self.run_file(latin1), r"latin1\.ps1", "not UTF-8", "save it as UTF-8")
        odd = self.script_file("odd.ps1", b"\xff\xfe\x41")
        self.assertFailed(self.run_file(odd), r"odd\.ps1", "UTF-16")
        self.assertFailed(self.run_file(os.path.join(self.tmp, "missing.ps1")), r"missing\.ps1")
        self.assertFalse(os.path.exists(self.report))
        self.assertEqual(self.lab.status()["requests"], before)
        # Several hosts run the same file.
        res = self.run_cli("--script-file", soft, *self.hosts_args())
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertIn(b"localhost: after\n", res.stdout)
        self.assertIn(b"127.0.0.1: after\n", res.stdout)

    # ---- the restricted endpoint ---------------------------------------------------

    def test_restricted_endpoint(self):
        restricted = ("--configuration", "Castellan.Restricted")
        res = self.ps("Get-Date", extra=restricted)
        self.assertEqual((res.returncode, res.stderr), (0, b""))
        self.assertRegex(res.stdout.decode(), r"\b20\d\d\b")
        r = self.report_json()
        self.assertPsrpReport(r, "Castellan.Restricted")
        self.assertEqual(r["level"], "verified")
        self.assertIn("(Castellan.Restricted) open", self.lab.peer_log())
        # Script text is refused, with words.
        res = self.ps("$x = 1; $x", extra=restricted)
        self.assertEqual((res.returncode, res.stdout), (1, b""), res.stderr)
        self.assertRegex(res.stderr.decode(), r"(?i)(no-?language|language mode|"
                                              r"not (allowed|supported|permitted))")
        self.assertFalse(res.stderr.startswith(b"castellan-run: "), res.stderr)
        # A hidden cmdlet is not there.
        res = self.ps("Get-Item /", extra=restricted)
        self.assertEqual((res.returncode, res.stdout), (1, b""), res.stderr)
        self.assertIn(b"Get-Item", res.stderr)

    def test_restricted_endpoint_parameters(self):
        # What a JEA user types: a visible cmdlet with its parameters, from
        # a script (stdin an empty pipe, several times over: the end of the
        # input and the start of the command must not race) and from a
        # terminal.
        restricted = ("--configuration", "Castellan.Restricted")
        words = ("Get-Date", "-Year", "2020", "-Month", "1", "-Day", "2")
        for attempt in range(6):
            with self.subTest(attempt=attempt):
                res = self.ps(*words, extra=restricted, stdin=b"")
                self.assertEqual((res.returncode, res.stderr), (0, b""))
                self.assertIn(b"2020", res.stdout)
        term = Terminal([RUN, *self.args(*words, extra=restricted)], self.env())
        self.addCleanup(term.close)
        code, shown = term.finish()
        self.assertEqual(code, 0, shown)
        self.assertIn("2020", shown)
        # The host's binder reads the words, knowing the command: a switch
        # before a positional value, "-Name:value", abbreviations, and its
        # own words for a name it cannot tell apart.
        for words, expected in ((("Get-Command", "-ListImported", "Get-Date"), "Get-Date"),
                                (("Get-Date", "-Format:yyyy", "-Date", "2020-01-02"), "2020\n"),
                                (("Get-Date", "-Form", "yyyy-MM", "-Dat", "2020-01-02"), "2020-01\n"),
                                (("Get-Date", "-AsUTC", "-Date", "2020-01-02T03:04:05Z", "-Format", "HH"),
                                 "03\n")):
            with self.subTest(words=words):
                res = self.ps(*words, extra=restricted)
                self.assertEqual((res.returncode, res.stderr), (0, b""))
                self.assertIn(expected, res.stdout.decode())
        res = self.ps("Get-Date", "-D", "2020-01-02", extra=restricted)
        self.assertEqual((res.returncode, res.stdout), (1, b""), res.stderr)
        self.assertRegex(res.stderr.decode(), r"ambiguous.*-Date.*-Day")
        # Words as a shell split them stay whole: a value with a space, a
        # value with a "$" (a value, never code). One word is split at
        # white space.
        for words, expected in ((("Get-Date", "-Date", "2020-01-02", "-Format", "yyyy MM"), b"2020 01\n"),
                                (("Get-Date", "-Date", "2020-01-02", "-Format", "'$'yyyy"), b"$2020\n"),
                                (("Get-Date -Date 2020-01-02 -Format yyyy",), b"2020\n")):
            with self.subTest(words=words):
                res = self.ps(*words, extra=restricted)
                self.assertEqual((res.returncode, res.stdout, res.stderr), (0, expected, b""))

    def test_unknown_configuration(self):
        res = self.ps("'x'", extra=("--configuration", "No.Such.Config"))
        self.assertFailed(res, r"No\.Such\.Config")
        self.assertEqual(self.lab.status()["shells"], 0)

    # ---- several hosts -------------------------------------------------------------

    def hosts_args(self):
        return ("--powershell", "--report", self.report, "--hosts", "localhost,127.0.0.1",
                "--trusted-hosts", "127.0.0.1", "--user", self.lab.env["LAB_USER"],
                "--password-file", self.lab.env["LAB_PASSWORD_FILE"],
                "--port", str(self.lab.http_port))

    def test_hosts(self):
        res = self.run_cli(*self.hosts_args(), "--", "'one'; 'two'")
        self.assertEqual(res.returncode, 0, res.stderr)
        out = res.stdout.decode()
        for host in ("localhost", "127.0.0.1"):
            self.assertIn(f"{host}: one\n{host}: two\n", out)
        self.assertIn("2 hosts: 2 exited 0, 0 exited non-zero, 0 failed", out)
        hosts = {r["host"]: r for r in self.report_json()}
        self.assertEqual(set(hosts), {"localhost", "127.0.0.1"})
        for r in hosts.values():
            self.assertPsrpReport(r)
        self.assertEqual(hosts["localhost"]["server_identity"], "kerberos")
        self.assertEqual(hosts["127.0.0.1"]["encryption"], "ntlm-rc4-128")

    def test_hosts_exit_statuses(self):
        res = self.run_cli(*self.hosts_args(), "--", "Write-Warning careful; exit 3")
        self.assertEqual(res.returncode, 1, res.stderr)
        out, err = res.stdout.decode(), res.stderr.decode()
        self.assertIn("2 hosts: 0 exited 0, 2 exited non-zero, 0 failed", out)
        for host in ("localhost", "127.0.0.1"):
            self.assertIn(f"{host}: WARNING: careful\n", err)
        self.assertEqual([r["exit_code"] for r in self.report_json()], [3, 3])

    # ---- the peer's fault switches while a pipeline runs -----------------------------

    def gated(self, *extra, lines=100000):
        """A pipeline that says 'started', waits for the test's go (a file),
        then writes `lines` numbers; returns (process, go, rest of output)."""
        go = os.path.join(self.tmp, "go")
        script = ("'started'; $n = 0; "
                  f"while (-not (Test-Path -LiteralPath '{go}') -and $n -lt 1200) "
                  "{ Start-Sleep -Milliseconds 50; $n++ }; "
                  f"1..{lines}")
        proc = self.popen_cli(*self.args(script, extra=extra))
        try:
            line, rest = self.read_line(proc)
        except BaseException:
            self.finish(proc, 10)
            raise
        self.assertEqual(line, b"started\n")
        return proc, go, rest

    def with_fault(self, switch, *extra, lines=100000):
        """Run a gated pipeline, switching the fault on while it runs."""
        since = self.last_connection()
        proc, go, rest = self.gated(*extra, lines=lines)
        try:
            self.lab.control(faults=[switch])
            open(go, "w").close()
        finally:
            res = self.finish(proc, before=b"started\n" + rest)
        return res, since

    def expected_gated(self, lines=100000):
        return b"started\n" + "".join(f"{i}\n" for i in range(1, lines + 1)).encode()

    def test_fault_that_loses_the_output(self):
        baseline = self.last_connection()
        self.assertRan(self.ps("'x'"), b"x\n")
        commands = len(self.requests(baseline, "Command"))
        for switch, words in (("drop@Receive", [LOST, MAY_HAVE_RUN]),
                              ("tamper@Receive", ["integrity check"]),
                              ("malformed@Receive", ["not a well-formed SOAP envelope"]),
                              ("plaintext@Receive", ["answered in plaintext while encryption is "
                                                     "in force"]),
                              ("oversize@Receive", ["MaxEnvelopeSize"])):
            with self.subTest(switch):
                self.lab.control(faults=[], close_shells=True)
                res, since = self.with_fault(switch)
                self.lab.control(faults=[])
                self.assertFailed(res, *words)
                # What came is what the host wrote, cut short.
                self.assertTrue(self.expected_gated().startswith(res.stdout), res.stdout[-200:])
                # Nothing was sent again.
                self.assertEqual(len(self.requests(since, "Command")), commands)

    def test_fault_that_leaves_the_command_unanswered(self):
        for switch, extra, words in (("no-reply@Command*1", (), [MAY_HAVE_RUN]),
                                     # Room for pwsh to start (Create) on a busy
                                     # machine; the Command's reply comes late.
                                     ("delay@Command=50", ("--timeout", "20"),
                                      ["did not answer within 20 seconds"])):
            with self.subTest(switch):
                self.lab.control(faults=[], close_shells=True)
                since = self.last_connection()
                self.lab.control(faults=[switch])
                res = self.ps("'ran'", extra=extra)
                self.lab.control(faults=[])
                self.assertFailed(res, *words)
                self.assertNotIn(b"ran", res.stdout)
                # The Command reached the host, and was not sent again.
                commands = self.requests(since, "Command")
                self.assertEqual(len(commands), 1, commands)

    def test_fault_unanswered_receive(self):
        # A Receive that went unanswered: the client cannot tell whether
        # output was lost with it. Either the output is whole, or the run
        # fails with words; never a success with output missing.
        self.lab.control(faults=[], close_shells=True)
        res, since = self.with_fault("no-reply@Receive*1", lines=20000)
        self.lab.control(faults=[])
        self.assertEqual(len(self.requests(since, "Command")), 1)
        if res.returncode == 0:
            self.assertEqual(res.stderr, b"")
            self.assertTrue(res.stdout == self.expected_gated(20000),
                            f"{len(res.stdout)} bytes: {res.stdout[-200:]!r}")
        else:
            self.assertFailed(res, LOST, MAY_HAVE_RUN)
            self.assertTrue(self.expected_gated(20000).startswith(res.stdout), res.stdout[-200:])

    def test_fault_the_session_survives(self):
        # A reply that did come, then the connection closed (with or
        # without saying so): the session goes on over a new connection,
        # under the same verdict, and the output is whole.
        keys = ("server_identity", "auth", "encryption", "level")
        self.assertRan(self.ps("'x'"), b"x\n")
        verdict = {k: self.report_json()[k] for k in keys}
        for switch in ("close@Receive*1", "hangup@Receive*1"):
            with self.subTest(switch):
                self.lab.control(faults=[], close_shells=True)
                res, since = self.with_fault(switch, lines=20000)
                self.lab.control(faults=[])
                self.assertEqual((res.returncode, res.stderr.decode()), (0, ""))
                self.assertTrue(res.stdout == self.expected_gated(20000),
                                f"{len(res.stdout)} bytes: {res.stdout[-200:]!r}")
                self.assertEqual(len(self.requests(since, "Command")), 1)
                self.assertEqual({k: self.report_json()[k] for k in keys}, verdict)
                records = self.connections(since)
                self.assertGreaterEqual(len(records), 2)
                for r in records:
                    self.assertEqual((r["sealed_without_context"], r["refused_sealed"]), (0, 0))

    def test_usage(self):
        res = self.run_cli("--powershell", "--port", str(self.lab.http_port), "localhost")
        self.assertFailed(res)
        res = self.run_cli("--help")
        self.assertEqual(res.returncode, 0)
        self.assertIn(b"--powershell", res.stdout)
        self.assertIn(b"--configuration", res.stdout)
        # The PowerShell form of the command line, and what it does.
        self.assertIn("castellan-run --powershell [--configuration NAME] [OPTION…] HOST -- SCRIPT [WORD…]",
                      res.stdout.decode())
        self.assertIn(b"130 after Ctrl+C", res.stdout)


if __name__ == "__main__":
    PWSH = pwsh_or_exit()
    os.environ["CASTELLAN_PWSH"] = PWSH
    unittest.main(verbosity=2, warnings="ignore")
