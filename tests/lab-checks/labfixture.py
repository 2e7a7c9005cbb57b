# SPDX-License-Identifier: GPL-3.0-or-later
"""Start a private lab for one test file and stop it afterwards."""

import json
import os
import shlex
import subprocess
import tempfile
import time
import unittest
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
LAB = os.path.join(HERE, "..", "lab", "lab.py")
PYTHON = "/usr/bin/python3"


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

    def peer_log(self):
        with open(os.path.join(self.dir, "peer.log")) as f:
            return f.read()


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
                         close_shells=True)
