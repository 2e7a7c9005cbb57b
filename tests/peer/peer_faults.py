# SPDX-License-Identifier: GPL-3.0-or-later
"""Fault switches of the lab peer, for the reliability tests.

A switch is written NAME[@ACTION][=VALUE][*COUNT]:
  drop              close the connection half-way through the response
  delay=SECONDS     wait before answering
  malformed         answer with XML that does not parse
  plaintext         answer in plaintext although the request was sealed
  tamper            flip a byte of the sealed response
  bad-mutual-auth   send a corrupted final (mutual-auth) token
  no-mutual-auth    leave the final token out of the 200
  oversize          answer with an envelope larger than MaxEnvelopeSize
  close             answer normally, then close the connection (the
                    client must authenticate again on a new one)
  hangup            answer normally, then close the connection without
                    saying so (no Connection: close), as an idle timeout
                    between two requests does
  no-reply          carry the request out, then close the connection
                    without any reply: a Command's process starts and the
                    client never learns of it; a Receive is not carried
                    out, so its output waits for the next one (as a resent
                    Receive gets it from WinRM)
  cert-swap         on HTTPS: the first connection after the switch is set
                    is closed after its first reply (Connection: close);
                    every later one presents the peer's other certificate
                    (--other-cert: signed by the same CA for the same name,
                    served over TLS 1.2 with ChaCha20-Poly1305 only, so
                    that its TLS details differ too)
  interim=N         send N interim "100 Continue" heads before the reply
                    (default 50): an honest server sends one at most
  coding            frame the reply with "Transfer-Encoding: gzip, chunked"
                    (chunked, not compressed), a coding WinRM never uses
ACTION limits the switch to one WS-Man action (Create, Command, Receive,
Send, Signal, Delete, Get); COUNT makes it fire that many times only.
"""

import re
import threading

NAMES = {
    "drop",
    "delay",
    "malformed",
    "plaintext",
    "tamper",
    "bad-mutual-auth",
    "no-mutual-auth",
    "oversize",
    "close",
    "hangup",
    "no-reply",
    "cert-swap",
    "interim",
    "coding",
}

SPEC = re.compile(r"^([a-z-]+)(?:@([A-Za-z]+))?(?:=([0-9.]+))?(?:\*([0-9]+))?$")


class Fault:
    def __init__(self, spec: str):
        m = SPEC.match(spec.strip())
        if not m or m.group(1) not in NAMES:
            raise ValueError(f"unknown fault switch: {spec!r}")
        self.spec = spec.strip()
        self.name = m.group(1)
        self.action = m.group(2)
        self.value = float(m.group(3)) if m.group(3) else 0.0
        self.count = int(m.group(4)) if m.group(4) else None
        # TLS connections accepted while the switch was set (cert-swap).
        self.connections = 0


class FaultSet:
    def __init__(self, specs=()):
        self.lock = threading.Lock()
        self.faults = [Fault(s) for s in specs]

    def replace(self, specs):
        faults = [Fault(s) for s in specs]
        with self.lock:
            self.faults = faults

    def specs(self):
        with self.lock:
            return [f.spec for f in self.faults]

    def take(self, name: str, action: str | None) -> Fault | None:
        """The first armed switch NAME for ACTION, counted as fired."""
        with self.lock:
            for f in self.faults:
                if f.name != name:
                    continue
                if f.action and action and f.action.lower() != action.lower():
                    continue
                if f.action and not action:
                    continue
                if f.count is not None:
                    if f.count <= 0:
                        continue
                    f.count -= 1
                return f
        return None

    def count_connection(self, name: str) -> int | None:
        """The number of connections switch NAME saw before this one, which
        it now counts too; None when the switch is not set."""
        with self.lock:
            for f in self.faults:
                if f.name == name:
                    f.connections += 1
                    return f.connections - 1
        return None
