#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Known answers for the TLS channel binding (RFC 5929, tls-server-end-point):
certificates made here with openssl, signed with each hash, and the
expected binding computed by hashlib from the DER bytes, independently of
the core."""

import hashlib
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import unittest

TOOL = os.path.join(os.environ.get("CASTELLAN_BUILD_DIR", "build"), "tests", "tls-binding")
PREFIX = b"tls-server-end-point:"


def make_certificate(directory, key_args, digest):
    key = os.path.join(directory, f"{digest}-key.pem")
    cert = os.path.join(directory, f"{digest}-{key_args[-1].replace(':', '_')}.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", *key_args, "-nodes", "-keyout", key,
                    "-out", cert, f"-{digest}", "-days", "2", "-subj", "/CN=binding.test"],
                   check=True, capture_output=True, timeout=60)
    with open(cert) as f:
        return cert, ssl.PEM_cert_to_DER_cert(f.read())


class ChannelBinding(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="castellan-binding-")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def binding(self, path):
        res = subprocess.run([TOOL, path], capture_output=True, timeout=30)
        self.assertEqual(res.returncode, 0, res.stderr)
        binding, fingerprint = res.stdout.decode().split()
        return bytes.fromhex(binding), fingerprint

    def test_known_answers(self):
        # RFC 5929 section 4.1: the certificate's own signature hash, but
        # SHA-256 where that is MD5 or SHA-1.
        cases = [
            (["rsa:2048"], "sha256", hashlib.sha256),
            (["rsa:2048"], "sha384", hashlib.sha384),
            (["rsa:2048"], "sha512", hashlib.sha512),
            (["rsa:2048"], "sha1", hashlib.sha256),
            (["ec", "-pkeyopt", "ec_paramgen_curve:P-384"], "sha384", hashlib.sha384),
            (["ec", "-pkeyopt", "ec_paramgen_curve:P-256"], "sha256", hashlib.sha256),
        ]
        seen = set()
        for key_args, digest, expected_hash in cases:
            with self.subTest(key=key_args[0], digest=digest):
                path, der = make_certificate(self.dir, key_args, digest)
                binding, fingerprint = self.binding(path)
                self.assertEqual(binding, PREFIX + expected_hash(der).digest())
                self.assertEqual(fingerprint, hashlib.sha256(der).hexdigest())
                seen.add(binding)
        # Every certificate is its own: no two bindings alike.
        self.assertEqual(len(seen), len(cases))


if __name__ == "__main__":
    if shutil.which("openssl") is None:
        print("openssl is not installed: skipped", file=sys.stderr)
        sys.exit(77)
    unittest.main(verbosity=2)
