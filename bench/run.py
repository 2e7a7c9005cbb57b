#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""./dev bench: Castellan and pywinrm against the same lab peer, in one run.

Cases, each on NTLM-sealed HTTP and Basic over HTTPS for both clients, and
on Kerberos-sealed HTTP for Castellan alone (Debian's pywinrm cannot seal
Kerberos):
  commands  N short commands (`lab-echo hi`) in one open shell
  stream    one command writing BYTES to stdout, checked byte for byte
  connect   process start to the first output byte of one command,
            authentication included
  fan-out   one command on HOSTS hosts (the peer's extra listeners):
            castellan-run --hosts with its default throttle; pywinrm in a
            ThreadPoolExecutor of 32
and the limit: castellan-limit's in-process unwrap + XML parse + base64
decode + write of the same Receive envelopes, NTLM and Kerberos, the
ceiling the stream case is held to. PowerShell Remoting, against the lab
peer's real PowerShell (NTLM-sealed and Kerberos-sealed HTTP; pywinrm on
NTLM):
  ps-trip   the pipeline `$null` run PS_TRIPS times in one runspace
            (castellan-psrp-bench); pywinrm: run_ps('$null'), which starts
            powershell through WinRS each time, PS_PYWINRM_TRIPS times
  ps-out    `1..50 | % { 'x' * 1MB }` through castellan-run --powershell,
            stdout to /dev/null as the limit's (one more run, not in the
            figures, has its stdout read and checked by the harness);
            pywinrm: run_ps of the same script
  ps-limit  castellan-limit psrp: the same 50 MiB as WriteLine host calls,
            PowerShell's fragments in the lab peer's Receive replies,
            sealed in-process: unwrap, XML parse, base64 decode,
            defragment, CLIXML parse, write; the ceiling of ps-out

The commands, stream and connect cases run against castellan-bench-peer,
a WinRM peer in C that serves the lab's accounts, keys and certificate at
a few tens of microseconds per request, so that the peer does not set the
pace of the figures; the fan-out runs against the lab's Python peer, whose
extra listeners stand for 50 hosts.

Every case runs as its own process, RUNS times; figures are medians of
whole-process user+sys CPU, wall time and peak RSS, of the CPU and wall of
the measured loop inside the process (per command, per MiB), and of the
peer's own CPU over the run (to show where the peer, not the client, sets
the wall time). Targets are checked against figures of the same run.

  bench/run.py [--runs N] [--commands N] [--stream BYTES] [--hosts N]
               [--payload BYTES] [--ps-trips N] [--ps-pywinrm-trips N]
               [--ps-lines N] [--powershell-only] [--json FILE]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "lab-checks"))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "peer"))
from labfixture import Lab  # noqa: E402
from peer_psrp import find_pwsh  # noqa: E402

BUILD = os.environ.get("CASTELLAN_BUILD_DIR", os.path.join(HERE, "..", "build"))
BENCH = os.path.join(BUILD, "bench", "castellan-bench")
LIMIT = os.path.join(BUILD, "bench", "castellan-limit")
RUN = os.path.join(BUILD, "src", "cli", "castellan-run")
FAST_PEER = os.path.join(BUILD, "bench", "castellan-bench-peer")
PSRP_BENCH = os.path.join(BUILD, "bench", "castellan-psrp-bench")
# The PowerShell output case: 50 lines of 1 MiB, which Out-Default sends
# as one WriteLine host call each.
PS_LINE = 2**20
PS_OUTPUT_SCRIPT = "1..%d | %% { 'x' * 1MB }"
MIB = 2**20
TICK = os.sysconf("SC_CLK_TCK")

PYWINRM = r'''
import json, os, resource, sys, time
t_start = time.monotonic()
import winrm
mode, n, url, user, pwfile = sys.argv[1:6]
n = int(n)
password = open(pwfile).read().strip()


def protocol(url):
    if url.startswith("https"):
        kw = dict(transport="basic", server_cert_validation="validate",
                  ca_trust_path=os.environ["LAB_CA_FILE"])
    else:
        kw = dict(transport="ntlm", message_encryption="always")
    return winrm.Protocol(url, username=user, password=password, **kw)


def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def one_command(url):
    p = protocol(url)
    shell = p.open_shell()
    cid = p.run_command(shell, "lab-echo", ["hi"])
    out, err, code = p.get_command_output(shell, cid)
    first = time.monotonic()
    p.cleanup_command(shell, cid)
    p.close_shell(shell)
    return out, code, first


exact = True
first_byte = None
if mode in ("run_ps", "run_ps_output"):
    # pywinrm's PowerShell: each run_ps starts powershell through WinRS.
    session = winrm.Session(url, auth=(user, password), transport="ntlm",
                            message_encryption="always")
    script = "$null" if mode == "run_ps" else "1..%d | %% { 'x' * 1MB }" % n
    calls = n if mode == "run_ps" else 1
    t0, c0 = time.monotonic(), cpu()
    total = 0
    for _ in range(calls):
        r = session.run_ps(script)
        exact = exact and r.status_code == 0
        total += len(r.std_out)
        if mode == "run_ps_output":
            exact = exact and len(r.std_out) == n * (2**20 + 1) and \
                r.std_out.count(b"x") == n * 2**20
        del r
    t1, c1 = time.monotonic(), cpu()
elif mode == "fanout":
    from concurrent.futures import ThreadPoolExecutor
    urls = url.split(",")
    t0, c0 = time.monotonic(), cpu()
    with ThreadPoolExecutor(32) as pool:
        results = list(pool.map(one_command, urls))
    t1, c1 = time.monotonic(), cpu()
    total = sum(len(out) for out, _, _ in results)
    exact = all(out == b"hi\n" and code == 0 for out, code, _ in results)
elif mode == "connect":
    t0, c0 = time.monotonic(), cpu()
    out, code, first_byte = one_command(url)
    t1, c1 = time.monotonic(), cpu()
    total = len(out)
    exact = out == b"hi\n"
else:
    p = protocol(url)
    shell = p.open_shell()
    t0, c0 = time.monotonic(), cpu()
    total = 0
    if mode == "commands":
        for _ in range(n):
            cid = p.run_command(shell, "lab-echo", ["hi"])
            out, err, code = p.get_command_output(shell, cid)
            p.cleanup_command(shell, cid)
            total += len(out)
    else:
        cid = p.run_command(shell, "lab-stream %d" % n)
        out, err, code = p.get_command_output(shell, cid)
        p.cleanup_command(shell, cid)
        total = len(out)
    t1, c1 = time.monotonic(), cpu()
    p.close_shell(shell)
    if mode == "stream":
        block = b"".join(b"%07d castellan lab stream 0123456789abcdefghijklmnopqrstuvwxyz\n" % i
                         for i in range(16384))
        view = memoryview(out)
        exact = len(out) == n and all(
            view[off:off + len(block)] == block[:min(len(block), n - off)]
            for off in range(0, n, len(block)))
with open("/proc/self/status") as f:
    hwm = int(next(line for line in f if line.startswith("VmHWM:")).split()[1])
print(json.dumps({"mode": mode, "n": n, "bytes": total, "exact": exact, "run_s": t1 - t0,
                  "loop_cpu_s": c1 - c0, "first_byte_mono": first_byte, "peak_rss_kib": hwm}))
'''

# Targets: (name, kind, threshold). See README, "Benchmarks".
CPU_PER_COMMAND = 1 / 5      # of pywinrm's
WALL_PER_COMMAND = 1 / 5     # of pywinrm's
FANOUT_OF_PYWINRM = 1 / 2    # HTTPS fan-out: CPU and wall, of pywinrm's
STREAM_OF_LIMIT = 0.80       # of the in-process limit, client CPU
STREAM_RSS_MIB = 32
FANOUT_WALL_S = 2.0
FANOUT_RSS_MIB = 64
PS_OUTPUT_OF_LIMIT = 0.60    # of the in-process limit, client CPU
PS_OUTPUT_RSS_MIB = 48


class Peer:
    """The lab peer's CPU time, read from /proc."""

    def __init__(self, pid):
        self.pid = pid

    def cpu(self):
        try:
            with open(f"/proc/{self.pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / TICK
        except (OSError, IndexError, ValueError):
            return 0.0


class FastPeer:
    """castellan-bench-peer on loopback, ports from the OS, stopped by PID."""

    def __init__(self, lab, env):
        self.lab, self.env = lab, env

    def __enter__(self):
        ports = os.path.join(self.lab.dir, "bench-peer-ports.json")
        certs = os.path.join(self.lab.dir, "certs")
        self.proc = subprocess.Popen(
            [FAST_PEER, "--ports-file", ports, "--user", "admin",
             "--password-file", self.lab.env["LAB_PASSWORD_FILE"],
             "--cert", os.path.join(certs, "server.pem"),
             "--key", os.path.join(certs, "server-key.pem")],
            env=self.env, stdout=subprocess.DEVNULL,
            preexec_fn=lambda: os.sched_setaffinity(0, PEER_CPUS))
        deadline = time.monotonic() + 10
        while not os.path.exists(ports):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.__exit__()
                raise RuntimeError("castellan-bench-peer did not start")
            time.sleep(0.01)
        with open(ports) as f:
            self.ports = json.load(f)
        return self

    def __exit__(self, *exc):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)


def vm_hwm_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


# The stream and its limit are compared on the same core, the C peer on
# another, and run by turns: this 2-core virtual machine's cores do not
# run equally fast, nor at the same speed from one minute to the next, and
# measured apart, the same code moved by a fifth between runs. Every
# process measured for the commands, stream and connect cases (pywinrm's
# too) runs on that core; this harness, which samples /proc while they
# run, on the peer's.
CPUS = sorted(os.sched_getaffinity(0))
CLIENT_CPUS = {CPUS[0]}
PEER_CPUS = {CPUS[-1]}
STREAM_RUNS = 5


def on_client_cpus():
    os.sched_setaffinity(0, CLIENT_CPUS)


def run_one(cmd, env, peer, pinned=False):
    """One process: whole-process CPU and wall via wait4; peak RSS as the
    process reports it (VmHWM), else sampled from /proc while it runs.
    (wait4's ru_maxrss would count this Python's pages: a child started
    with vfork inherits its parent's high-water mark.)"""
    p0 = peer.cpu()
    t = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                            preexec_fn=on_client_cpus if pinned else None)
    # Outputs are small (one JSON line, a fan-out's few lines): read them
    # after the exit without risk of a full pipe, within a bound.
    deadline = t + 600
    hwm = 0
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid != 0:
            break
        hwm = max(hwm, vm_hwm_kib(proc.pid))
        if time.monotonic() > deadline:
            proc.kill()
            os.wait4(proc.pid, 0)
            raise RuntimeError(f"{os.path.basename(cmd[0])} did not finish within 600 s")
        time.sleep(0.002)
    wall = time.monotonic() - t
    peer_cpu = peer.cpu() - p0
    out = proc.stdout.read().decode(errors="replace")
    err = proc.stderr.read().decode(errors="replace")
    proc.stdout.close()
    proc.stderr.close()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(os.path.basename(c) for c in cmd[:2])} failed "
                           f"({proc.returncode}): {err.strip()[-2000:]}")
    return {"out": out, "cpu_s": usage.ru_utime + usage.ru_stime, "wall_s": wall,
            "rss_mib": hwm / 1024, "peer_cpu_s": peer_cpu, "spawn": t}


def run_output(cmd, env, peer, expect, check):
    """castellan-run with a large stdout; CPU and wall from wait4, RSS
    sampled as run_one. check: stdout is read and checked as it comes
    (every byte an x, a newline after each line) by a thread; else it
    goes to /dev/null, as the limit's does (a pipe to this Python costs
    the writer a context switch per 64 KiB: measured, a fifth more CPU
    for 50 MiB)."""
    import threading
    p0 = peer.cpu()
    t = time.monotonic()
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE if check else subprocess.DEVNULL,
                            stderr=subprocess.PIPE, env=env, preexec_fn=on_client_cpus)
    seen = {"bytes": 0, "x": 0, "nl": 0, "err": b""}

    def read_out():
        while True:
            chunk = proc.stdout.read(1 << 20)
            if not chunk:
                break
            seen["bytes"] += len(chunk)
            seen["x"] += chunk.count(b"x")
            seen["nl"] += chunk.count(b"\n")

    def read_err():
        seen["err"] = proc.stderr.read()[-2000:]

    threads = [threading.Thread(target=read_err)]
    if check:
        threads.append(threading.Thread(target=read_out))
    for th in threads:
        th.start()
    deadline = t + 600
    hwm = 0
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid != 0:
            break
        hwm = max(hwm, vm_hwm_kib(proc.pid))
        if time.monotonic() > deadline:
            proc.kill()
            os.wait4(proc.pid, 0)
            raise RuntimeError(f"{os.path.basename(cmd[0])} did not finish within 600 s")
        time.sleep(0.002)
    wall = time.monotonic() - t
    for th in threads:
        th.join(timeout=60)
    if check:
        proc.stdout.close()
    proc.stderr.close()
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise RuntimeError(f"{' '.join(os.path.basename(c) for c in cmd[:2])} failed ({code}): "
                           f"{seen['err'].decode(errors='replace').strip()}")
    lines, line = expect
    cpu = usage.ru_utime + usage.ru_stime
    row = {"cpu_s": cpu, "wall_s": wall, "loop_cpu_s": cpu, "run_s": wall,
           "rss_mib": hwm / 1024, "peer_cpu_s": peer.cpu() - p0}
    if check:
        row["bytes"] = seen["bytes"]
        row["exact"] = (seen["bytes"] == lines * (line + 1) and seen["x"] == lines * line
                        and seen["nl"] == lines)
    return row


def json_line(out):
    return json.loads(out.strip().splitlines()[-1])


def median_row(results):
    row = {}
    for key in results[0]:
        values = [r[key] for r in results if isinstance(r.get(key), (int, float))
                  and not isinstance(r.get(key), bool)]
        if values:
            row[key] = statistics.median(values)
    row["exact"] = all(r.get("exact", True) for r in results)
    row["runs"] = len(results)
    return row


def bench_case(cmd, env, peer, runs, pinned=False):
    results = []
    for _ in range(runs):
        r = run_one(cmd, env, peer, pinned)
        info = json_line(r.pop("out"))
        spawn = r.pop("spawn")
        r.update({"loop_cpu_s": info["loop_cpu_s"], "run_s": info["run_s"],
                  "bytes": info["bytes"], "exact": bool(info.get("exact", True))})
        if info.get("peak_rss_kib"):
            r["rss_mib"] = info["peak_rss_kib"] / 1024
        if "connections" in info:
            # TCP connections the session authenticated: 1 means one
            # kept-alive connection carried every request.
            r["connections"] = info["connections"]
        if info.get("first_byte_mono"):
            r["first_byte_s"] = info["first_byte_mono"] - spawn
        results.append(r)
    return median_row(results)


def fanout_castellan(cmd, env, peer, runs, hosts):
    results = []
    for _ in range(runs):
        r = run_one(cmd, env, peer)
        out = r.pop("out")
        r.pop("spawn")
        lines = [line for line in out.splitlines() if line.endswith(": hi")]
        r.update({"run_s": r["wall_s"], "loop_cpu_s": r["cpu_s"], "bytes": 3 * len(lines),
                  "exact": len(lines) == hosts})
        results.append(r)
    return median_row(results)


def limit_case(mech, size, payload, path, env, runs, extra=()):
    # castellan-limit is also the GSS acceptor, which Castellan never is:
    # gss-ntlmssp's acceptor keeps a few bytes for good (seen with
    # ./dev test --sanitize), not Castellan's to free.
    if "ASAN_OPTIONS" in env:
        env = dict(env, ASAN_OPTIONS=env["ASAN_OPTIONS"] + ":detect_leaks=0")
    results = []
    for _ in range(runs):
        out = subprocess.run([LIMIT, mech, str(size), str(payload), path, *extra], env=env,
                             preexec_fn=on_client_cpus,
                             capture_output=True, text=True, timeout=600)
        if out.returncode != 0:
            raise RuntimeError(f"castellan-limit {mech} {path} failed: {out.stderr.strip()}")
        info = json_line(out.stdout)
        results.append({"loop_cpu_s": info["cpu_s"], "run_s": info["wall_s"],
                        "bytes": info["bytes"], "unwrap_s": info["unwrap_s"],
                        "envelopes": info["envelopes"]})
    return median_row(results)


def per_unit(row):
    """The figure a case is judged by, as text."""
    case = row["case"]
    if case == "commands":
        return (f"{row['loop_cpu_s'] / row['n'] * 1000:.3f} ms CPU/cmd, "
                f"{row['run_s'] / row['n'] * 1000:.3f} ms wall/cmd")
    if case in ("stream", "limit"):
        text = (f"{row['bytes'] / row['loop_cpu_s'] / MIB:.0f} MiB/s CPU, "
                f"{row['bytes'] / row['run_s'] / MIB:.0f} MiB/s wall")
        return text
    if case == "connect":
        return f"{row['first_byte_s'] * 1000:.1f} ms to first byte"
    if case == "ps-trip":
        return (f"{row['loop_cpu_s'] / row['n'] * 1000:.3f} ms CPU/trip, "
                f"{row['run_s'] / row['n'] * 1000:.3f} ms wall/trip")
    if case in ("ps-out", "ps-limit"):
        return (f"{row['bytes'] / row['loop_cpu_s'] / MIB:.0f} MiB/s CPU, "
                f"{row['bytes'] / row['run_s'] / MIB:.0f} MiB/s wall")
    if case == "fan-out":
        return f"{row['n']} hosts in {row['wall_s']:.2f} s"
    return ""


def peer_note(row):
    """Where the peer, not the client, sets the pace."""
    if row["case"] in ("limit", "ps-limit") or "peer_cpu_s" not in row:
        return ""
    busy = row["peer_cpu_s"] / row["wall_s"] if row["wall_s"] else 0
    return f"peer {row['peer_cpu_s']:.2f} s CPU ({busy:.0%} of wall)"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--commands", type=int, default=200)
    parser.add_argument("--stream", type=int, default=50 * 1000 * 1000)
    parser.add_argument("--hosts", type=int, default=50, help="fan-out hosts")
    parser.add_argument("--payload", type=int, default=(153600 - 2048) * 3 // 4,
                        help="output bytes per envelope for the limit (default: what "
                             "fits a 150 KiB envelope)")
    parser.add_argument("--ps-trips", type=int, default=200,
                        help="PowerShell round trips (`$null`) in one runspace")
    parser.add_argument("--ps-pywinrm-trips", type=int, default=20,
                        help="pywinrm run_ps calls (each starts powershell through WinRS)")
    parser.add_argument("--ps-lines", type=int, default=50,
                        help="1 MiB lines of the PowerShell output case")
    parser.add_argument("--powershell-only", action="store_true",
                        help="only the PowerShell Remoting cases")
    parser.add_argument("--json", default=os.path.join(BUILD, "bench.json"))
    args = parser.parse_args()

    rows = []

    def add(row, **fields):
        row.update(fields)
        rows.append(row)
        print(f"  {row['case']:9} {row['transport']:22} {row['client']:10} {per_unit(row)}",
              file=sys.stderr, flush=True)

    load = os.getloadavg()
    with Lab("--extra-peers", str(args.hosts)) as lab:
        env = dict(os.environ, **lab.env)
        env.pop("G_DEBUG", None)
        env["KRB5_KTNAME"] = f"FILE:{lab.dir}/http.keytab"
        if not args.powershell_only:
            with FastPeer(lab, env) as fast:
                run_cases(args, lab, env, fast, add)
        if find_pwsh():
            run_powershell(args, lab, env, add)
        else:
            print("bench: no PowerShell for the lab (install dotnet, for ./dev to install "
                  "PowerShell 7.6, or put pwsh on PATH): PowerShell cases left out",
                  file=sys.stderr, flush=True)
    return finish(args, rows, load)


def run_cases(args, lab, env, fast, add):
    peer = Peer(fast.proc.pid)
    lab_peer = Peer(int(lab.env["LAB_PEER_PID"]))
    py = ["/usr/bin/python3", "-c", PYWINRM]
    ntlm_creds = [lab.env["LAB_NTLM_USER"], lab.env["LAB_PASSWORD_FILE"]]
    basic_creds = ["admin", lab.env["LAB_PASSWORD_FILE"]]
    extra_http = lab.env["LAB_EXTRA_HTTP_PORTS"].split(",")
    extra_https = lab.env["LAB_EXTRA_HTTPS_PORTS"].split(",")
    transports = {
        "NTLM-sealed HTTP": dict(
            url=f"http://127.0.0.1:{fast.ports['http']}/wsman", creds=ntlm_creds,
            trusted=["127.0.0.1"], pywinrm=True,
            fan_urls=[f"http://127.0.0.1:{p}/wsman" for p in extra_http],
            run_args=["--user", ntlm_creds[0], "--password-file", ntlm_creds[1],
                      "--trusted-hosts", "127.0.0.1",
                      "--hosts", ",".join(f"127.0.0.1:{p}" for p in extra_http)]),
        "Basic over HTTPS": dict(
            url=f"https://localhost:{fast.ports['https']}/wsman", creds=basic_creds,
            trusted=[], pywinrm=True,
            fan_urls=[f"https://localhost:{p}/wsman" for p in extra_https],
            run_args=["--https", "--auth", "basic", "--ca-file", lab.env["LAB_CA_FILE"],
                      "--user", basic_creds[0], "--password-file", basic_creds[1],
                      "--hosts", ",".join(f"localhost:{p}" for p in extra_https)]),
        "Kerberos-sealed HTTP": dict(
            url=f"http://localhost:{fast.ports['http']}/wsman", creds=[], trusted=[],
            pywinrm=False, fan_urls=None,
            run_args=["--hosts", ",".join(f"localhost:{p}" for p in extra_http)]),
    }
    print(f"bench: lab up, castellan-bench-peer on {fast.ports}; {args.runs} runs per case",
          file=sys.stderr, flush=True)

    # The limit, its in-process variant and the stream, by turns.
    harness = os.sched_getaffinity(0)
    os.sched_setaffinity(0, PEER_CPUS)
    streams = {}
    for mech in ("ntlm", "kerberos"):
        label = "NTLM-sealed HTTP" if mech == "ntlm" else "Kerberos-sealed HTTP"
        t = transports[label]
        turns = {"limit": [], "in-process": [], "castellan": []}
        for _ in range(max(args.runs, STREAM_RUNS)):
            for path, client in (("limit", "limit"), ("castellan", "in-process")):
                turns[client].append(limit_case(mech, args.stream, args.payload, path, env, 1))
            cmd = [BENCH, "stream", str(args.stream), t["url"], *t["creds"], *t["trusted"]]
            turns["castellan"].append(bench_case(cmd, env, peer, 1, True))
        for client in ("limit", "in-process"):
            add(median_row(turns[client]), case="limit", transport=label, client=client,
                n=args.stream)
        streams[label] = median_row(turns["castellan"])

    for case, n in (("commands", args.commands), ("stream", args.stream), ("connect", 1)):
        for label, t in transports.items():
            tail = [*t["creds"], *t["trusted"]]
            if case == "stream" and label in streams:
                row = streams[label]
            else:
                row = bench_case([BENCH, case, str(n), t["url"], *tail], env, peer, args.runs,
                                 True)
            add(row, case=case, transport=label, client="castellan", n=n)
            if t["pywinrm"]:
                row = bench_case(py + [case, str(n), t["url"], *t["creds"]], env, peer,
                                 args.runs, True)
                add(row, case=case, transport=label, client="pywinrm", n=n)
    os.sched_setaffinity(0, harness)

    for label, t in transports.items():
        row = fanout_castellan([RUN, *t["run_args"], "--", "lab-echo", "hi"], env, lab_peer,
                               args.runs, args.hosts)
        add(row, case="fan-out", transport=label, client="castellan", n=args.hosts)
        if t["pywinrm"]:
            row = bench_case(py + ["fanout", str(args.hosts), ",".join(t["fan_urls"]),
                                   *t["creds"]], env, lab_peer, args.runs)
            add(row, case="fan-out", transport=label, client="pywinrm", n=args.hosts)


# Envelopes of a protocol 2.2+ PowerShell endpoint (MS-PSRP 3.1.4.1.7),
# less what the lab peer keeps for the envelope around the streams: the
# raw fragment bytes one Receive carries.
PS_RECEIVE_BUDGET = (512000 - 2048) * 3 // 4


def run_powershell(args, lab, env, add):
    """PowerShell Remoting against the lab peer's real PowerShell: round
    trips in one runspace, and 50 MB of output, by turns with its limit;
    pywinrm's run_ps (powershell through WinRS) on NTLM-sealed HTTP."""
    port = lab.env["LAB_HTTP_PORT"]
    peer = Peer(int(lab.env["LAB_PEER_PID"]))
    ntlm_creds = [lab.env["LAB_NTLM_USER"], lab.env["LAB_PASSWORD_FILE"]]
    py = ["/usr/bin/python3", "-c", PYWINRM]
    script = PS_OUTPUT_SCRIPT % args.ps_lines
    transports = {
        "NTLM-sealed HTTP": dict(
            mech="ntlm", url=f"http://127.0.0.1:{port}/wsman", tail=[*ntlm_creds, "127.0.0.1"],
            run=[RUN, "--port", port, "--user", ntlm_creds[0], "--password-file", ntlm_creds[1],
                 "--trusted-hosts", "127.0.0.1", "--powershell", "127.0.0.1", "--", script],
            pywinrm=True),
        "Kerberos-sealed HTTP": dict(
            mech="kerberos", url=f"http://localhost:{port}/wsman", tail=[],
            run=[RUN, "--port", port, "--powershell", "localhost", "--", script],
            pywinrm=False),
    }
    harness = os.sched_getaffinity(0)
    os.sched_setaffinity(0, PEER_CPUS)
    try:
        for label, t in transports.items():
            row = bench_case([PSRP_BENCH, "roundtrip", str(args.ps_trips), t["url"], *t["tail"]],
                             env, peer, args.runs, True)
            add(row, case="ps-trip", transport=label, client="castellan", n=args.ps_trips)
            if t["pywinrm"]:
                row = bench_case(py + ["run_ps", str(args.ps_pywinrm_trips), t["url"], *ntlm_creds],
                                 env, peer, args.runs, True)
                add(row, case="ps-trip", transport=label, client="pywinrm",
                    n=args.ps_pywinrm_trips)

        size = args.ps_lines * PS_LINE
        for label, t in transports.items():
            turns = {"limit": [], "castellan": [], "pywinrm": []}
            # The output checked once, in a run of its own; the measured
            # runs write to /dev/null.
            checked = run_output(t["run"], env, peer, (args.ps_lines, PS_LINE), True)
            for _ in range(max(args.runs, STREAM_RUNS)):
                turns["limit"].append(limit_case(t["mech"], size, PS_RECEIVE_BUDGET, "limit",
                                                 env, 1, ("psrp",)))
                turns["castellan"].append(run_output(t["run"], env, peer,
                                                     (args.ps_lines, PS_LINE), False))
                if t["pywinrm"]:
                    turns["pywinrm"].append(bench_case(
                        py + ["run_ps_output", str(args.ps_lines), t["url"], *ntlm_creds],
                        env, peer, 1, True))
            add(median_row(turns["limit"]), case="ps-limit", transport=label, client="limit",
                n=args.ps_lines)
            add(median_row(turns["castellan"]), case="ps-out", transport=label,
                client="castellan", n=args.ps_lines, bytes=checked["bytes"],
                exact=checked["exact"], checked_cpu_s=checked["cpu_s"])
            if t["pywinrm"]:
                add(median_row(turns["pywinrm"]), case="ps-out", transport=label,
                    client="pywinrm", n=args.ps_lines)
    finally:
        os.sched_setaffinity(0, harness)


def finish(args, rows, load):
    targets = check_targets(rows)
    print_tables(rows, targets, args, load)
    with open(args.json, "w") as f:
        json.dump({"runs": args.runs, "commands": args.commands, "stream": args.stream,
                   "hosts": args.hosts, "payload": args.payload, "ps_trips": args.ps_trips,
                   "ps_pywinrm_trips": args.ps_pywinrm_trips, "ps_lines": args.ps_lines,
                   "load_before": load, "rows": rows, "targets": targets}, f, indent=1)
    print(f"\nwritten: {args.json}")
    return 0 if all(r["exact"] for r in rows) else 1


def find(rows, case, transport, client):
    for r in rows:
        if (r["case"], r["transport"], r["client"]) == (case, transport, client):
            return r
    return None


def check_targets(rows):
    """Each target against figures of this run: (what, figure, compared
    with, ratio or value, target, PASS/MISS)."""
    out = []

    def target(what, figure, reference, value, goal, ok):
        out.append({"target": what, "figure": figure, "reference": reference,
                    "value": value, "goal": goal, "result": "PASS" if ok else "MISS"})

    for label in ("NTLM-sealed HTTP", "Basic over HTTPS"):
        c = find(rows, "commands", label, "castellan")
        p = find(rows, "commands", label, "pywinrm")
        if c and p:
            cc, pc = c["loop_cpu_s"] / c["n"], p["loop_cpu_s"] / p["n"]
            cw, pw = c["run_s"] / c["n"], p["run_s"] / p["n"]
            target(f"commands, {label}: client CPU per command",
                   f"{cc * 1000:.3f} ms", f"pywinrm {pc * 1000:.3f} ms",
                   f"1/{pc / cc:.1f}", f"≤ 1/{1 / CPU_PER_COMMAND:g}", cc <= pc * CPU_PER_COMMAND)
            target(f"commands, {label}: wall per command",
                   f"{cw * 1000:.3f} ms", f"pywinrm {pw * 1000:.3f} ms",
                   f"1/{pw / cw:.1f}", f"≤ 1/{1 / WALL_PER_COMMAND:g}", cw <= pw * WALL_PER_COMMAND)
    for label in ("NTLM-sealed HTTP", "Kerberos-sealed HTTP"):
        s = find(rows, "stream", label, "castellan")
        lim = find(rows, "limit", label, "limit")
        if s and lim:
            got = s["bytes"] / s["loop_cpu_s"]
            ceiling = lim["bytes"] / lim["loop_cpu_s"]
            target(f"stream, {label}: MiB/s of client CPU",
                   f"{got / MIB:.0f} MiB/s", f"limit {ceiling / MIB:.0f} MiB/s",
                   f"{got / ceiling:.0%}", "≥ 80%", got >= ceiling * STREAM_OF_LIMIT)
    for label in ("NTLM-sealed HTTP", "Basic over HTTPS", "Kerberos-sealed HTTP"):
        s = find(rows, "stream", label, "castellan")
        if s:
            target(f"stream, {label}: peak RSS ({s['bytes'] / 1e6:.0f} MB)",
                   f"{s['rss_mib']:.1f} MiB", "", "", f"< {STREAM_RSS_MIB} MiB",
                   s["rss_mib"] < STREAM_RSS_MIB)
    for label in ("NTLM-sealed HTTP", "Basic over HTTPS", "Kerberos-sealed HTTP"):
        f = find(rows, "fan-out", label, "castellan")
        if f:
            target(f"fan-out, {label}: {f['n']} hosts, wall",
                   f"{f['wall_s']:.2f} s", "", "", f"< {FANOUT_WALL_S:g} s",
                   f["wall_s"] < FANOUT_WALL_S)
            target(f"fan-out, {label}: {f['n']} hosts, peak RSS",
                   f"{f['rss_mib']:.1f} MiB", "", "", f"< {FANOUT_RSS_MIB} MiB",
                   f["rss_mib"] < FANOUT_RSS_MIB)
    c = find(rows, "ps-trip", "NTLM-sealed HTTP", "castellan")
    p = find(rows, "ps-trip", "NTLM-sealed HTTP", "pywinrm")
    if c and p:
        cc, pc = c["loop_cpu_s"] / c["n"], p["loop_cpu_s"] / p["n"]
        target("PowerShell round trip, NTLM-sealed HTTP: client CPU",
               f"{cc * 1000:.3f} ms", f"run_ps {pc * 1000:.3f} ms",
               f"1/{pc / cc:.1f}", "< 1/1", cc < pc)
    for label in ("NTLM-sealed HTTP", "Kerberos-sealed HTTP"):
        s = find(rows, "ps-out", label, "castellan")
        lim = find(rows, "ps-limit", label, "limit")
        if s and lim:
            # The same text (the limit does not count the newlines):
            # limit CPU over Castellan's whole-process CPU.
            got = lim["bytes"] / s["loop_cpu_s"]
            ceiling = lim["bytes"] / lim["loop_cpu_s"]
            target(f"PowerShell output, {label}: MiB/s of client CPU",
                   f"{got / MIB:.0f} MiB/s", f"limit {ceiling / MIB:.0f} MiB/s",
                   f"{got / ceiling:.0%}", f"≥ {PS_OUTPUT_OF_LIMIT:.0%}",
                   got >= ceiling * PS_OUTPUT_OF_LIMIT)
        if s:
            target(f"PowerShell output, {label}: peak RSS ({s['bytes'] / 1e6:.0f} MB)",
                   f"{s['rss_mib']:.1f} MiB", "", "", f"< {PS_OUTPUT_RSS_MIB} MiB",
                   s["rss_mib"] < PS_OUTPUT_RSS_MIB)
    f = find(rows, "fan-out", "Basic over HTTPS", "castellan")
    p = find(rows, "fan-out", "Basic over HTTPS", "pywinrm")
    if f and p:
        for what, key in (("CPU", "cpu_s"), ("wall", "wall_s")):
            target(f"fan-out, Basic over HTTPS: {f['n']} hosts, {what}",
                   f"{f[key]:.2f} s", f"pywinrm {p[key]:.2f} s",
                   f"1/{p[key] / f[key]:.1f}", f"≤ 1/{1 / FANOUT_OF_PYWINRM:g}",
                   f[key] <= p[key] * FANOUT_OF_PYWINRM)
    return out


def print_tables(rows, targets, args, load):
    print(f"\nMedians of {args.runs} runs; {args.commands} commands, a {args.stream / 1e6:g} MB "
          f"stream, {args.hosts} hosts; PowerShell: {args.ps_trips} round trips "
          f"({args.ps_pywinrm_trips} for pywinrm), {args.ps_lines} lines of 1 MiB; "
          f"load before: {load[0]:.2f}")
    print("CPU, wall, RSS: the whole process; per unit: the measured loop inside it.\n")
    head = (f"{'case':9} {'transport':21} {'client':10} {'CPU s':>7} {'wall s':>7} "
            f"{'RSS MiB':>7}  {'per unit':40} {'vs pywinrm':>16}  peer")
    print(head)
    print("-" * len(head))
    for r in rows:
        other = find(rows, r["case"], r["transport"], "pywinrm") if r["client"] == "castellan" else None
        vs = ""
        if other:
            if r["case"] == "commands":
                vs = (f"CPU 1/{other['loop_cpu_s'] / r['loop_cpu_s']:.1f} "
                      f"wall 1/{other['run_s'] / r['run_s']:.1f}")
            elif r["case"] == "stream":
                vs = f"CPU 1/{other['loop_cpu_s'] / r['loop_cpu_s']:.1f}"
            elif r["case"] == "connect":
                vs = f"1/{other['first_byte_s'] / r['first_byte_s']:.1f}"
            elif r["case"] == "fan-out":
                vs = f"wall 1/{other['wall_s'] / r['wall_s']:.1f}"
            elif r["case"] == "ps-trip":
                vs = (f"CPU 1/{other['loop_cpu_s'] / other['n'] / (r['loop_cpu_s'] / r['n']):.1f} "
                      f"wall 1/{other['run_s'] / other['n'] / (r['run_s'] / r['n']):.1f}")
            elif r["case"] == "ps-out":
                vs = f"CPU 1/{other['cpu_s'] / r['cpu_s']:.1f}"
        cpu = f"{r['cpu_s']:7.3f}" if "cpu_s" in r else f"{'':7}"
        wall = f"{r['wall_s']:7.3f}" if "wall_s" in r else f"{r['run_s']:7.3f}"
        rss = f"{r['rss_mib']:7.1f}" if "rss_mib" in r else f"{'':7}"
        flag = "" if r["exact"] else "  OUTPUT WRONG"
        print(f"{r['case']:9} {r['transport']:21} {r['client']:10} {cpu} {wall} {rss}  "
              f"{per_unit(r):40} {vs:>16}  {peer_note(r)}{flag}")
    print()
    head = f"{'target':58} {'figure':>11} {'compared with':>24} {'ratio':>7} {'goal':>9}  result"
    print(head)
    print("-" * len(head))
    for t in targets:
        print(f"{t['target']:58} {t['figure']:>11} {t['reference']:>24} {t['value']:>7} "
              f"{t['goal']:>9}  {t['result']}")


if __name__ == "__main__":
    sys.exit(main())
