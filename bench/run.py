#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""./dev bench: Castellan and pywinrm against the same lab peer, in one run.

Each case runs as its own process, several times; the table shows medians
of whole-process user+sys CPU, wall time and peak RSS, and the ratio of
pywinrm's figure to Castellan's.

  bench/run.py [--runs N] [--commands N] [--stream BYTES] [--json FILE]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "lab-checks"))
from labfixture import Lab  # noqa: E402

BUILD = os.environ.get("CASTELLAN_BUILD_DIR", os.path.join(HERE, "..", "build"))
BENCH = os.path.join(BUILD, "bench", "castellan-bench")

PYWINRM = r'''
import os, sys, time, json, winrm
mode, n, url, user, pwfile = sys.argv[1:6]
n = int(n)
t = time.monotonic()
kw = {}
if url.startswith("https"):
    kw = dict(transport="basic", server_cert_validation="validate",
              ca_trust_path=os.environ["LAB_CA_FILE"])
else:
    kw = dict(transport="ntlm", message_encryption="always")
p = winrm.Protocol(url, username=user, password=open(pwfile).read().strip(), **kw)
shell = p.open_shell()
t0 = time.monotonic()
total = 0
if mode == "commands":
    for _ in range(n):
        cid = p.run_command(shell, "echo", ["hi"])
        out, err, code = p.get_command_output(shell, cid)
        p.cleanup_command(shell, cid)
        total += len(out)
else:
    cid = p.run_command(shell, "lab-stream %d" % n)
    out, err, code = p.get_command_output(shell, cid)
    p.cleanup_command(shell, cid)
    total = len(out)
t1 = time.monotonic()
p.close_shell(shell)
print(json.dumps({"mode": mode, "n": n, "bytes": total, "run_s": t1 - t0}))
'''


def measure(cmd, env):
    """Run cmd; return (its JSON line, cpu s, wall s, peak RSS MiB)."""
    t = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - t
    out = proc.stdout.read().decode()
    err = proc.stderr.read().decode()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed: {err.strip()}")
    return (json.loads(out.strip().splitlines()[-1]), usage.ru_utime + usage.ru_stime, wall,
            usage.ru_maxrss / 1024)


def median_of(runs, key):
    return statistics.median(r[key] for r in runs)


def case(name, cmd, env, runs, per):
    results = []
    for _ in range(runs):
        info, cpu, wall, rss = measure(cmd, env)
        results.append({"cpu_s": cpu, "wall_s": wall, "rss_mib": rss, "run_s": info["run_s"],
                        "bytes": info["bytes"]})
    row = {k: median_of(results, k) for k in ("cpu_s", "wall_s", "rss_mib", "run_s", "bytes")}
    row["per"] = per
    row["name"] = name
    return row


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--commands", type=int, default=200)
    parser.add_argument("--stream", type=int, default=50 * 1000 * 1000)
    parser.add_argument("--json", default=os.path.join(BUILD, "bench.json"))
    args = parser.parse_args()

    rows = []
    with Lab() as lab:
        env = dict(os.environ, **lab.env)
        py = ["/usr/bin/python3", "-c", PYWINRM]
        http = f"http://127.0.0.1:{lab.http_port}/wsman"
        https = f"https://localhost:{lab.https_port}/wsman"
        ntlm = [lab.env["LAB_NTLM_USER"], lab.env["LAB_PASSWORD_FILE"]]
        basic = ["admin", lab.env["LAB_PASSWORD_FILE"]]
        transports = [("NTLM-sealed HTTP", http, ntlm, ["127.0.0.1"]),
                      ("Basic over HTTPS", https, basic, [])]
        for mode, n in (("commands", args.commands), ("stream", args.stream)):
            for label, url, creds, trusted in transports:
                rows.append(case(f"{mode} {label}: castellan",
                                 [BENCH, mode, str(n), url, *creds, *trusted], env, args.runs, n))
                rows.append(case(f"{mode} {label}: pywinrm",
                                 py + [mode, str(n), url, *creds], env, args.runs, n))
            rows.append(case(f"{mode} Kerberos-sealed HTTP: castellan",
                             [BENCH, mode, str(n), f"http://localhost:{lab.http_port}/wsman"],
                             env, args.runs, n))

    print(f"{'case':48} {'CPU s':>8} {'wall s':>8} {'RSS MiB':>8}  per-unit")
    by_name = {r["name"]: r for r in rows}
    for r in rows:
        if r["name"].startswith("commands"):
            unit = (f"{r['cpu_s'] / r['per'] * 1000:.2f} ms CPU/cmd, "
                    f"{r['run_s'] / r['per'] * 1000:.2f} ms wall/cmd")
        else:
            unit = (f"{r['bytes'] / r['cpu_s'] / 2**20:.1f} MiB/s CPU, "
                    f"{r['bytes'] / r['run_s'] / 2**20:.1f} MiB/s wall")
        print(f"{r['name']:48} {r['cpu_s']:8.3f} {r['wall_s']:8.3f} {r['rss_mib']:8.1f}  {unit}")
    print()
    for r in rows:
        if r["name"].endswith("castellan"):
            other = by_name.get(r["name"].replace("castellan", "pywinrm"))
            if other:
                print(f"{r['name'][:-11]:38} pywinrm/castellan: CPU x{other['cpu_s'] / r['cpu_s']:.1f}, "
                      f"wall x{other['run_s'] / r['run_s']:.1f}, RSS x{other['rss_mib'] / r['rss_mib']:.1f}")
    with open(args.json, "w") as f:
        json.dump(rows, f, indent=1)
    print(f"\nwritten: {args.json}")


if __name__ == "__main__":
    main()
