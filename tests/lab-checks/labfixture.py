# SPDX-License-Identifier: GPL-3.0-or-later
"""Start a private lab for one test file and stop it afterwards."""

import json
import os
import shutil
import shlex
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
LAB = os.path.join(HERE, "..", "lab", "lab.py")
PYTHON = "/usr/bin/python3"

sys.path.insert(0, os.path.dirname(LAB))
import lab as labtool  # noqa: E402


def read_env(path):
    env = {}
    with open(path) as f:
        for line in f:
            if line.startswith("export "):
                key, _, value = line[len("export "):].rstrip("\n").partition("=")
                env[key] = shlex.split(value)[0] if value else ""
    return env


class Lab:
    def __init__(self, *extra):
        self.dir = tempfile.mkdtemp(prefix="castellan-lab-")
        self.extra = list(extra)

    def __enter__(self):
        t = time.monotonic()
        res = subprocess.run([PYTHON, LAB, "up", self.dir] + self.extra,
                             capture_output=True, text=True, timeout=60)
        self.start_seconds = time.monotonic() - t
        if res.returncode != 0:
            raise RuntimeError(f"lab up failed: {res.stderr}")
        self.env = read_env(os.path.join(self.dir, "env"))
        os.environ.update(self.env)
        with open(self.env["LAB_PASSWORD_FILE"]) as f:
            self.password = f.read().strip()
        with open(self.env["LAB_NONADMIN_PASSWORD_FILE"]) as f:
            self.nonadmin_password = f.read().strip()
        return self

    def __exit__(self, *exc):
        subprocess.run([PYTHON, LAB, "down", self.dir], capture_output=True, timeout=60)
        # Its keys, tickets and passwords go with it, unless asked to stay.
        if not os.environ.get("CASTELLAN_KEEP_LAB"):
            shutil.rmtree(self.dir, ignore_errors=True)

    @property
    def http_port(self):
        return int(self.env["LAB_HTTP_PORT"])

    @property
    def https_port(self):
        return int(self.env["LAB_HTTPS_PORT"])

    def control(self, **settings):
        req = urllib.request.Request(self.env["LAB_CONTROL_URL"],
                                     data=json.dumps(settings).encode(), method="POST")
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.load(resp)

    def status(self):
        url = self.env["LAB_CONTROL_URL"].replace("/lab/control", "/lab/status")
        with urllib.request.urlopen(url, timeout=10) as resp:
            return json.load(resp)

    def wait_status(self, predicate, seconds=10):
        deadline = time.monotonic() + seconds
        status = self.status()
        while not predicate(status) and time.monotonic() < deadline:
            time.sleep(0.05)
            status = self.status()
        return status

    def quiet_peer_log(self, seconds=30):
        """The peer's log once it answers no request: what comes after is
        the caller's (a request of an earlier test may still be waiting
        for its answer, as a Receive does)."""
        self.wait_status(lambda s: s["answering"] == 0, seconds)
        return self.peer_log()

    def peer_log(self):
        with open(os.path.join(self.dir, "peer.log")) as f:
            return f.read()

    # ---- breaking the lab on purpose ---------------------------------------

    def pid(self, name):
        """The PID of one of the lab's processes: "kdc" or "peer"."""
        with open(os.path.join(self.dir, "lab.json")) as f:
            return json.load(f)["pids"][name]

    def _record_pid(self, name, pid):
        # `lab down` stops what lab.json names: a restarted process too.
        path = os.path.join(self.dir, "lab.json")
        with open(path) as f:
            info = json.load(f)
        info["pids"][name] = pid
        with open(path + ".tmp", "w") as f:
            json.dump(info, f, indent=1)
        os.replace(path + ".tmp", path)

    def stop(self, name, sig=signal.SIGTERM, seconds=10):
        """Stop one of the lab's processes by its PID and wait (bounded)
        until it is reaped: a killed process's group leader turns zombie
        while its other threads still hold its sockets open."""
        pid = self.pid(name)
        os.kill(pid, sig)
        deadline = time.monotonic() + seconds
        while os.path.exists(f"/proc/{pid}"):
            if time.monotonic() > deadline:
                raise RuntimeError(f"the lab's {name} (PID {pid}) did not stop within {seconds} s")
            try:
                os.waitpid(pid, os.WNOHANG)  # ours when restarted here
            except ChildProcessError:
                pass
            time.sleep(0.02)

    def restart_kdc(self, env=None):
        """Stop the KDC and start it again on its port, with env added to
        its environment (e.g. libfaketime's LD_PRELOAD and FAKETIME)."""
        self.stop("kdc")
        d = self.dir
        proc = labtool.spawn(["krb5kdc", "-n", "-P", f"{d}/kdc/kdc.pid"], d, "kdc",
                             dict(labtool.base_env(d), **(env or {})))
        self._record_pid("kdc", proc.pid)
        port = int(self.env["LAB_KDC_PORT"])
        labtool.wait_for(lambda: labtool.port_open(port), "KDC", labtool.WAIT_SECONDS, proc)

    def restart_peer(self, env=None):
        """Stop the WinRM peer and start it again with the same arguments,
        its environment plus env, on the same HTTP port (the HTTPS ports
        change)."""
        pid = self.pid("peer")
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv = [a.decode() for a in f.read().split(b"\0") if a]
        with open(f"/proc/{pid}/environ", "rb") as f:
            peer_env = dict(v.decode().partition("=")[::2] for v in f.read().split(b"\0") if v)
        self.stop("peer")
        ports_file = argv[argv.index("--ports-file") + 1]
        os.unlink(ports_file)
        proc = labtool.spawn([*argv, "--http-port", str(self.http_port)], self.dir, "peer",
                             dict(peer_env, **(env or {})))
        self._record_pid("peer", proc.pid)
        labtool.wait_for(lambda: os.path.exists(ports_file), "WinRM peer", labtool.WAIT_SECONDS,
                         proc)


class LabTestCase(unittest.TestCase):
    """One lab for the whole test class."""

    lab_args = ()

    @classmethod
    def setUpClass(cls):
        cls.lab = Lab(*cls.lab_args).__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.lab.__exit__(None, None, None)

    def tearDown(self):
        # Leave the peer as each test found it.
        # A fault on Create can leave a shell the client never learnt of,
        # as on Windows; close them so the next test has the full quota.
        self.lab.control(faults=[], allow_unencrypted="--allow-unencrypted" in self.lab_args,
                         client_command_ids=True, close_shells=True)
