# SPDX-License-Identifier: GPL-3.0-or-later
"""WinRS cmd shells of the lab peer: processes run through /bin/sh -c.

Each command has reader threads that fill bounded buffers (so a 50 MB
output streams instead of piling up in memory) and a writer thread for
stdin (so a Send never blocks the HTTP thread behind a full pipe).
"""

import os
import queue
import signal
import subprocess
import threading
import time

from peer_soap import new_uuid

# A reader stops reading while this much output waits for a Receive:
# the process then blocks on its pipe, as it does on Windows.
BUFFER_LIMIT = 4 * 1024 * 1024

# After the first bytes, wait this long for more output or the exit, so a
# short command answers in one Receive, as Windows does.
GATHER_SECONDS = 0.01

# The output of `lab-stream N`: printable lines, the same on every run, so
# that a client can check the bytes it received.
PATTERN_BLOCK = b"".join(
    b"%07d castellan lab stream 0123456789abcdefghijklmnopqrstuvwxyz\n" % i
    for i in range(16384)
)


class Command:
    def __init__(self, command_line, env, cwd, pregenerated=None):
        self.id = new_uuid()
        self.cond = threading.Condition()
        self.buffers = {"stdout": bytearray(), "stderr": bytearray()}
        self.open_streams = {"stdout", "stderr"}
        self.exit_code = None
        self.done_reported = False
        self.stdin_queue = queue.Queue()
        if isinstance(pregenerated, bytes):
            # A finished command with its whole output at hand (lab-echo).
            self.proc = None
            self.buffers["stdout"] += pregenerated
            self.open_streams = set()
            self.exit_code = 0
            return
        if pregenerated is not None:
            self._start_pregenerated(pregenerated)
            return
        self.proc = subprocess.Popen(
            ["/bin/sh", "-c", command_line],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            cwd=cwd,
            start_new_session=True,
        )
        for name, pipe in (("stdout", self.proc.stdout), ("stderr", self.proc.stderr)):
            threading.Thread(target=self._read, args=(name, pipe), daemon=True).start()
        threading.Thread(target=self._write_stdin, daemon=True).start()
        threading.Thread(target=self._wait, daemon=True).start()

    def _start_pregenerated(self, size):
        """Serve size bytes of a fixed pattern without a process, so that a
        benchmark measures the client and not the peer's pipes."""
        self.proc = None
        self.open_streams = {"stdout"}
        threading.Thread(target=self._feed_pregenerated, args=(size,), daemon=True).start()

    def _feed_pregenerated(self, size):
        block = PATTERN_BLOCK
        sent = 0
        while sent < size:
            piece = block[: min(len(block), size - sent)]
            with self.cond:
                while len(self.buffers["stdout"]) >= BUFFER_LIMIT:
                    self.cond.wait()
                self.buffers["stdout"] += piece
                self.cond.notify_all()
            sent += len(piece)
        with self.cond:
            self.open_streams.clear()
            self.exit_code = 0
            self.cond.notify_all()

    def _read(self, name, pipe):
        fd = pipe.fileno()
        while True:
            with self.cond:
                while len(self.buffers[name]) >= BUFFER_LIMIT:
                    self.cond.wait()
            try:
                data = os.read(fd, 256 * 1024)
            except OSError:
                data = b""
            with self.cond:
                if not data:
                    self.open_streams.discard(name)
                    self.cond.notify_all()
                    break
                self.buffers[name] += data
                self.cond.notify_all()
        pipe.close()

    def _wait(self):
        code = self.proc.wait()
        with self.cond:
            # A signal death reads as Windows' "terminated" exit code would:
            # a non-zero code the client can show.
            self.exit_code = code if code >= 0 else 128 - code
            self.cond.notify_all()

    def _write_stdin(self):
        stdin = self.proc.stdin
        while True:
            item = self.stdin_queue.get()
            if item is None:
                break
            data, end = item
            try:
                if data:
                    stdin.write(data)
                    stdin.flush()
                if end:
                    break
            except (BrokenPipeError, OSError):
                break
        try:
            stdin.close()
        except OSError:
            pass

    def send(self, data: bytes, end: bool):
        if self.proc is not None:
            self.stdin_queue.put((data, end))

    def signal(self, code: str):
        if self.proc is None:
            return
        sig = signal.SIGINT if code in ("ctrl_c", "ctrl_break") else signal.SIGKILL
        try:
            os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            pass

    def _finished(self):
        return self.exit_code is not None and not self.open_streams

    def receive(self, budget: int, timeout: float):
        """Wait for output; return (chunks, done, exit_code) or None on timeout.

        chunks is a list of (stream, bytes, end) with at most budget bytes.
        """
        deadline = time.monotonic() + timeout
        with self.cond:
            while not any(self.buffers.values()) and not self._finished():
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.cond.wait(left)
            gather_until = time.monotonic() + GATHER_SECONDS
            while not self._finished() and sum(map(len, self.buffers.values())) < budget:
                left = gather_until - time.monotonic()
                if left <= 0:
                    break
                self.cond.wait(left)
            chunks = []
            for name in ("stdout", "stderr"):
                buf = self.buffers[name]
                if buf and budget > 0:
                    take = bytes(buf[:budget])
                    del buf[:budget]
                    budget -= len(take)
                    chunks.append([name, take, False])
            done = self._finished() and not any(self.buffers.values())
            if done:
                ends = {c[0] for c in chunks}
                for c in chunks:
                    c[2] = True
                for name in ("stdout", "stderr"):
                    if name not in ends:
                        chunks.append([name, b"", True])
                self.done_reported = True
            self.cond.notify_all()
            return chunks, done, self.exit_code

    def kill(self):
        self.signal("terminate")
        self.stdin_queue.put(None)
        if self.proc is not None:
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass


class Shell:
    def __init__(self, owner, env, cwd):
        self.id = new_uuid()
        self.owner = owner
        self.env = env
        self.cwd = cwd
        self.commands = {}
        self.lock = threading.Lock()

    def add_command(self, command_line, pregenerated=None, command_id=None):
        """command_id: the client's own, which Windows honours (WinRM 3.0
        and later); None when there is none or it is to be ignored. A
        command of that identifier already there is refused (None)."""
        with self.lock:
            if command_id is not None and command_id.upper() in self.commands:
                return None
        cmd = Command(command_line, self.env, self.cwd, pregenerated)
        if command_id is not None:
            cmd.id = command_id.upper()
        with self.lock:
            self.commands[cmd.id] = cmd
        return cmd

    def command(self, command_id):
        with self.lock:
            return self.commands.get(command_id.upper())

    def running(self):
        """How many of its processes still run."""
        with self.lock:
            return sum(1 for c in self.commands.values()
                       if c.proc is not None and c.proc.poll() is None)

    def close(self):
        with self.lock:
            commands = list(self.commands.values())
            self.commands.clear()
        for cmd in commands:
            cmd.kill()


class ShellTable:
    """Every open shell, with Windows' per-user quota."""

    def __init__(self, max_shells_per_user=5):
        self.max_per_user = max_shells_per_user
        self.shells = {}
        self.lock = threading.Lock()

    def create(self, owner, env, cwd):
        with self.lock:
            count = sum(1 for s in self.shells.values() if s.owner == owner)
            if count >= self.max_per_user:
                return None
            shell = Shell(owner, env, cwd)
            self.shells[shell.id] = shell
            return shell

    def add(self, shell):
        """A shell made elsewhere (a PowerShell pool), under the same quota;
        False when the quota or its identifier forbids it."""
        with self.lock:
            count = sum(1 for s in self.shells.values() if s.owner == shell.owner)
            if count >= self.max_per_user or shell.id in self.shells:
                return False
            self.shells[shell.id] = shell
            return True

    def discard(self, shell):
        with self.lock:
            if self.shells.get(shell.id) is shell:
                del self.shells[shell.id]

    def get(self, shell_id, owner):
        with self.lock:
            shell = self.shells.get(shell_id.upper())
        if shell is None or shell.owner != owner:
            return None
        return shell

    def delete(self, shell_id, owner):
        with self.lock:
            shell = self.shells.get(shell_id.upper())
            if shell is None or shell.owner != owner:
                return False
            del self.shells[shell.id]
        shell.close()
        return True

    def close_all(self):
        with self.lock:
            shells = list(self.shells.values())
            self.shells.clear()
        for shell in shells:
            shell.close()
