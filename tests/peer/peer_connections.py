# SPDX-License-Identifier: GPL-3.0-or-later
"""What the peer saw on each TCP connection, for the transport tests: one
TCP connection must carry one security context and one verdict, so the
tests need to know, per connection, the certificate served, the TLS
details, the authentications and every request.

GET /lab/connections (on any listener) returns the records as JSON; a
record is created when the connection is accepted, in the listener's
accepting thread, so that an answered GET proves that every connection
that listener accepted before it is listed.
"""

import hashlib
import ssl
import threading


class ConnectionLog:
    def __init__(self):
        self.lock = threading.Lock()
        self.records = []

    def new(self, listener: str, family: str) -> dict:
        with self.lock:
            record = {
                "id": len(self.records) + 1,
                "listener": listener,
                "family": family,
                # TLS: the certificate served (SHA-256 of its DER form), what
                # the handshake chose, or why it failed.
                "certificate_sha256": None,
                "alpn": None,
                "tls_version": None,
                "cipher": None,
                "handshake_error": None,
                # Completed GSS (Negotiate/Kerberos) authentications.
                "authentications": 0,
                # Sealed requests that came without a context on this
                # connection, or that did not open with its context.
                "sealed_without_context": 0,
                "refused_sealed": 0,
                # Requests to /lab/ only: the tests' own.
                "control": False,
                "requests": [],
            }
            self.records.append(record)
            return record

    def add_request(self, record: dict, method: str, path: str, headers) -> dict:
        scheme = (headers.get("Authorization") or "").partition(" ")[0] or None
        request = {
            "method": method,
            "path": path,
            "authorization": scheme,
            "sealed": headers.get("Content-Type", "").lower().startswith("multipart/encrypted"),
            "action": None,
            "message_id": None,
            "status": None,
        }
        with self.lock:
            if path.startswith("/lab/") and not record["requests"]:
                record["control"] = True
            elif not path.startswith("/lab/"):
                record["control"] = False
            record["requests"].append(request)
        return request

    def update(self, record: dict, **fields):
        with self.lock:
            for key, value in fields.items():
                if key in ("authentications", "sealed_without_context", "refused_sealed"):
                    record[key] += value
                else:
                    record[key] = value

    def snapshot(self) -> list:
        with self.lock:
            return [dict(r, requests=[dict(q) for q in r["requests"]]) for r in self.records]


def certificate_sha256(pem_path: str) -> str:
    with open(pem_path) as f:
        return hashlib.sha256(ssl.PEM_cert_to_DER_cert(f.read())).hexdigest()
