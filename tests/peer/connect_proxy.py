#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""A forward proxy for the lab that knows only CONNECT: the tunnel an
HTTPS connection takes through a proxy. Anything else is answered 405.

  connect_proxy.py --port-file F --log L

It listens on 127.0.0.1 (port from the OS, written to F once it accepts
connections) and tunnels only to loopback addresses. It writes JSON lines
to L, so that a test can tell what reached it: {"accepted": PEER} when it
accepts a connection (in the accepting thread: once a later connection
is answered, every earlier one is in the log), and {"peer": PEER,
"method": ..., "target": ..., "status": ...} once the request is read
(a tunnel: when it opens). SIGTERM stops it.
"""

import argparse
import ipaddress
import json
import os
import select
import signal
import socket
import threading

HEAD_LIMIT = 16 * 1024
IDLE_SECONDS = 120


class Proxy:
    def __init__(self, log_path):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.log_lock = threading.Lock()
        self.log_file = open(log_path, "a", buffering=1)

    def log(self, **entry):
        with self.log_lock:
            self.log_file.write(json.dumps(entry) + "\n")

    def serve(self):
        while True:
            try:
                conn, addr = self.sock.accept()
            except OSError:
                return
            self.log(accepted=f"{addr[0]}:{addr[1]}")
            threading.Thread(target=self.handle, args=(conn, addr), daemon=True).start()

    def read_head(self, conn):
        data = b""
        while b"\r\n\r\n" not in data:
            if len(data) > HEAD_LIMIT:
                return None, b""
            chunk = conn.recv(4096)
            if not chunk:
                return None, b""
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        return head.decode("latin-1"), rest

    def handle(self, conn, addr):
        entry = {"peer": f"{addr[0]}:{addr[1]}", "method": None, "target": None, "status": None}
        try:
            conn.settimeout(IDLE_SECONDS)
            head, rest = self.read_head(conn)
            if head is None:
                entry["status"] = "closed before a request"
                return
            method, _, remainder = head.split("\r\n", 1)[0].partition(" ")
            target = remainder.split(" ", 1)[0]
            entry.update(method=method, target=target)
            if method != "CONNECT":
                entry["status"] = 405
                conn.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n"
                             b"Connection: close\r\n\r\n")
                return
            host, _, port = target.rpartition(":")
            host = host.strip("[]")
            try:
                infos = socket.getaddrinfo(host, int(port), type=socket.SOCK_STREAM)
                addrs = [i for i in infos if ipaddress.ip_address(i[4][0]).is_loopback]
            except (OSError, ValueError):
                addrs = []
            if not addrs:
                # A lab proxy tunnels to the lab only.
                entry["status"] = 403
                conn.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
                return
            upstream = None
            for family, kind, proto, _, sockaddr in addrs:
                try:
                    upstream = socket.socket(family, kind, proto)
                    upstream.settimeout(10)
                    upstream.connect(sockaddr)
                    break
                except OSError:
                    upstream.close()
                    upstream = None
            if upstream is None:
                entry["status"] = 502
                conn.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
                return
            entry["status"] = 200
            self.log(**entry)
            entry = None
            conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            with upstream:
                if rest:
                    upstream.sendall(rest)
                self.relay(conn, upstream)
        except OSError as exc:
            if entry is not None:
                entry["status"] = f"error: {exc}"
        finally:
            if entry is not None:
                self.log(**entry)
            conn.close()

    @staticmethod
    def relay(a, b):
        """Copy bytes both ways until one side ends or all is idle."""
        ends = {a: b, b: a}
        open_ends = {a, b}
        while open_ends:
            ready, _, _ = select.select(list(open_ends), [], [], IDLE_SECONDS)
            if not ready:
                return
            for src in ready:
                try:
                    data = src.recv(65536)
                except OSError:
                    data = b""
                dst = ends[src]
                if not data:
                    open_ends.discard(src)
                    try:
                        dst.shutdown(socket.SHUT_WR)
                    except OSError:
                        return
                    continue
                try:
                    dst.sendall(data)
                except OSError:
                    return


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--log", required=True)
    args = parser.parse_args()

    proxy = Proxy(args.log)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    threading.Thread(target=proxy.serve, daemon=True).start()
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(f"{proxy.port}\n")
    os.rename(tmp, args.port_file)
    stop.wait()
    os._exit(0)


if __name__ == "__main__":
    main()
