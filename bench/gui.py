#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""./dev bench --gui: the desktop app under Xvfb, measured from inside
(CASTELLAN_BENCH_T0 turns the app's probes on):

  start-up     launch to the first painted frame, empty inventory
  inventory    10,000 hosts: load, first frame, one search keystroke's filter
  stream       a console receiving 50 MB: the worst main-loop stall
"""

import os
import select
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "gui"))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "lab-checks"))
import guisession as gs  # noqa: E402

gs.reexec_inside()

from labfixture import Lab  # noqa: E402

BUILD = os.environ.get("CASTELLAN_BUILD_DIR", os.path.join(HERE, "..", "build"))
APP = os.path.join(BUILD, "src", "castellan")


def lines_until(stream, deadline):
    """Lines from stream, giving up at the deadline."""
    buf = b""
    fd = stream.fileno()
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if not ready:
            continue
        chunk = os.read(fd, 4096)
        if not chunk:
            return
        buf += chunk
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            yield line.decode(errors="replace")


def run_app(env, until, actions=(), seconds=120):
    """Start the app, do actions, return the probes' figures."""
    env = dict(env, CASTELLAN_BENCH_T0=f"{time.time():.6f}")
    proc = subprocess.Popen([APP], env=env, stderr=subprocess.PIPE)
    figures = {}
    deadline = time.monotonic() + seconds
    pending = list(actions)
    for line in lines_until(proc.stderr, deadline):
        if line.startswith("castellan-bench "):
            _, name, value, unit = line.split()
            figures.setdefault(name, []).append(float(value))
            if name == "first-frame" and pending:
                time.sleep(0.5)
                for step in pending:
                    step()
                pending = []
        if until(figures):
            break
    proc.terminate()
    proc.wait(10)
    return figures


def xkey(*keys):
    subprocess.run(["xdotool", "key", "--delay", "30", *keys], check=True, timeout=30)


def xtype(text):
    subprocess.run(["xdotool", "type", "--delay", "10", text], check=True, timeout=60)


def home_with(hosts, lab=None):
    home = tempfile.mkdtemp(prefix="castellan-benchgui-")
    os.makedirs(f"{home}/data/castellan")
    lines = ["[castellan]", "version=1", ""]
    for i in range(hosts):
        lines += [f"[host {i:08d}-0000-0000-0000-000000000000]", f"name=Server {i:05d}",
                  f"address=srv{i:05d}.corp.example", f"group=Group {i % 50:02d}",
                  "tags=bench", ""]
    with open(f"{home}/data/castellan/inventory.ini", "w") as f:
        f.write("\n".join(lines))
    return home


def env_for(home, lab=None):
    env = dict(os.environ, HOME=home, XDG_DATA_HOME=f"{home}/data", XDG_CONFIG_HOME=f"{home}/config",
               GSETTINGS_SCHEMA_DIR=os.path.join(BUILD, "data"), GSETTINGS_BACKEND="memory")
    if lab is not None:
        env.update(lab.env)
    env.pop("G_DEBUG", None)
    # Xvfb has no GPU: GSK_RENDERER=gl (or ngl) measures Mesa's llvmpipe.
    env.setdefault("GSK_RENDERER", "cairo")
    return env


def main():
    rows = []
    starts = [run_app(env_for(home_with(0)), lambda f: "first-frame" in f)["first-frame"][0]
              for _ in range(3)]
    rows.append(("start-up to first frame (empty inventory), median of 3",
                 f"{sorted(starts)[1]:.0f} ms"))

    big = env_for(home_with(10000))
    # Typing in the host list searches it: one filter per keystroke.
    # The search entry waits for a pause in typing, then filters once.
    f = run_app(big, lambda f: len(f.get("filter", [])) >= 1, actions=[lambda: xtype("srv0999")])
    rows.append(("10,000 hosts: inventory load", f"{f['inventory-load'][0]:.0f} ms"))
    rows.append(("10,000 hosts: start-up to first frame", f"{f['first-frame'][0]:.0f} ms"))
    if "filter" in f:
        rows.append(("10,000 hosts: filter to 10 of them (search srv0999)", f"{max(f['filter']):.1f} ms"))

    with Lab() as lab:
        f = run_app(env_for(home_with(0), lab), lambda f: "command-worst-stall" in f,
                    actions=[lambda: xkey("ctrl+l"), lambda: xtype(f"localhost:{lab.http_port}"),
                             lambda: xkey("Return"), lambda: time.sleep(2),
                             lambda: xtype("yes castellan-lab-stream-a-line-of-text | head -c 50000000"),
                             lambda: xkey("Return")],
                    seconds=300)
        if "command-seconds" in f:
            rows.append(("console receiving 50 MB: command time", f"{f['command-seconds'][0]:.2f} s"))
            rows.append(("console receiving 50 MB: worst main-loop stall",
                         f"{f['command-worst-stall'][0]:.0f} ms"))
    width = max(len(r[0]) for r in rows)
    for name, value in rows:
        print(f"{name:{width}}  {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
