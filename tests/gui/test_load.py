#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Twenty consoles streaming output for a minute in one window: the app's
open files do not grow, its memory settles once the scrollback is full,
the window keeps answering (the preferences and the host editor open), and
closing the consoles releases every shell."""

import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "lab-checks"))
import guisession as gs  # noqa: E402

gs.reexec_inside()

import test_console as tc  # noqa: E402
import test_resilience as rs  # noqa: E402
from labfixture import Lab  # noqa: E402
import procmem  # noqa: E402

BUILD = os.environ.get("CASTELLAN_BUILD_DIR", "build")
SHOTS = os.path.join(BUILD, "screenshots")
CONSOLES = int(os.environ.get("LOAD_CONSOLES", "20"))
SECONDS = int(os.environ.get("LOAD_SECONDS", "60"))


def names():
    return [f"Load {i:02d}" for i in range(1, CONSOLES + 1)]


def write_inventory(home, lab):
    lines = ["[castellan]", "version=1", ""]
    for i, name in enumerate(names()):
        lines += [f"[host 00000000-0000-0000-0000-{i:012d}]", f"name={name}",
                  "address=localhost", f"port={lab.http_port}", ""]
    os.makedirs(f"{home}/data/castellan")
    with open(f"{home}/data/castellan/inventory.ini", "w") as f:
        f.write("\n".join(lines))


def sample(pid):
    """Open files, and resident memory that is the app's own (anonymous:
    VTE keeps the scrollback in temporary files, which may be in RAM on a
    tmpfs /tmp but are the kernel's cache, bounded by the scrollback)."""
    fds = len(os.listdir(f"/proc/{pid}/fd"))
    with open(f"/proc/{pid}/status") as f:
        fields = dict(line.split(":", 1) for line in f)
    if os.environ.get("LOAD_DEBUG"):
        print("#", {k: fields[k].strip() for k in ("VmRSS", "RssAnon", "RssFile", "RssShmem")})
    return fds, int(fields["RssAnon"].split()[0])


def timed(what, action):
    start = time.monotonic()
    action()
    took = time.monotonic() - start
    print(f"# {what}: {took:.2f} s")
    return took


def main():
    home = tempfile.mkdtemp(prefix="castellan-load-")
    os.makedirs(SHOTS, exist_ok=True)
    with Lab() as lab:
        lab.control(max_shells_per_user=CONSOLES + 5)
        write_inventory(home, lab)
        env = dict(os.environ, **lab.env, HOME=home, XDG_DATA_HOME=f"{home}/data",
                   XDG_CONFIG_HOME=f"{home}/config", GSETTINGS_BACKEND="memory")
        env.pop("G_DEBUG", None)
        connect = [arg for name in names() for arg in ("--connect", name)]
        app = tc.App(env, connect).start()
        try:
            scenario(app, lab)
        except AssertionError:
            gs.screenshot(os.path.join(SHOTS, "load-failure.png"))
            raise
        finally:
            app.stop()
    shutil.rmtree(home, ignore_errors=True)
    return 0


def count(app, predicate):
    found = []

    def walk(w, depth=0):
        if w is None or depth > 40:
            return
        try:
            if predicate(w):
                found.append(w)
            for i in range(w.get_child_count()):
                walk(w.get_child_at_index(i), depth + 1)
        except Exception:  # a widget gone meanwhile
            pass
    walk(app.window)
    return len(found)


def top_level(app, title):
    """A window of the app with this title (only the top levels are read:
    walking twenty consoles through AT-SPI would measure AT-SPI)."""
    for i in range(app.node.get_child_count()):
        w = app.node.get_child_at_index(i)
        if w is not None and w.get_name() == title:
            return w
    return None


def scenario(app, lab):
    pid = app.proc.pid
    gs.wait_for(lambda: count(app, lambda w: w.get_name() == "Connection security" and
                              "kerberos-aes256" in (w.get_description() or "")) >= CONSOLES,
                f"{CONSOLES} consoles connected", seconds=120)
    # A console shows its verdict once connected, its shell follows.
    gs.wait_for(lambda: lab.status()["shells"] >= CONSOLES or None, f"{CONSOLES} shells", seconds=30)
    shells = lab.status()["shells"]
    tc.check(shells == CONSOLES, f"{CONSOLES} consoles open, one shell each (the host has {shells})")

    # One command typed once, broadcast to every console.
    tc.press(app.button("Broadcast typing"))
    front = names()[-1]
    tc.click_at(gs.find_widget(rs.console_of(app, front), lambda w: w.get_name() == "Command"))
    gs.wait_for(lambda: rs.focused_command(app, front), "the command line in front")
    before = lab.status()["requests"]
    tc.type_text(f"timeout {SECONDS} yes streaming-to-twenty-consoles")
    tc.key("Return")
    gs.wait_for(lambda: lab.status()["requests"] - before >= 4 * CONSOLES,
                "output from the consoles' commands", seconds=60)
    # Each console's own shell runs the command once: counted per shell.
    per_shell = lab.wait_status(lambda s: s["running_processes"] >= CONSOLES,
                                seconds=60)["running_per_shell"]
    tc.check(per_shell == [1] * CONSOLES,
             f"one command broadcast to {CONSOLES} consoles, one running in each shell "
             f"(commands per shell: {per_shell})")
    start = time.monotonic()
    requests = lab.status()["requests"]

    samples = []
    latencies = []
    checks = [(10, "ctrl+comma", "Preferences"), (25, "ctrl+n", "Add Host"),
              (40, "ctrl+comma", "Preferences")]
    while time.monotonic() - start < SECONDS:
        samples.append((round(time.monotonic() - start), *sample(pid)))
        asked = time.monotonic()
        app.window.get_extents(gs.atspi().CoordType.SCREEN)  # a round trip to the app
        latencies.append(time.monotonic() - asked)
        elapsed = time.monotonic() - start
        if checks and elapsed >= checks[0][0]:
            shortcut, title = checks.pop(0)[1:]

            def open_and_close():
                tc.key(shortcut)
                gs.wait_for(lambda: top_level(app, title), f"the window “{title}”, under load",
                            seconds=60)
                tc.key("Escape")
            timed(f"opening the window “{title}” under load", open_and_close)
        time.sleep(2)
    gs.screenshot(os.path.join(SHOTS, "twenty-consoles.png"))
    gs.wait_for(lambda: lab.status()["running_processes"] == 0, "the commands' end", seconds=120)
    received = lab.status()["requests"] - requests
    tc.check(received >= 10 * CONSOLES,
             f"output kept flowing: {received} Receives answered in {SECONDS} s")
    samples.append((round(time.monotonic() - start), *sample(pid)))
    print("# t (s), open files, RSS (KiB): " + "; ".join(f"{t} {f} {r}" for t, f, r in samples))
    print(f"# accessibility round trips under load: median {sorted(latencies)[len(latencies) // 2] * 1000:.0f} ms, "
          f"worst {max(latencies) * 1000:.0f} ms ({len(latencies)} asked)")

    # Warm from 20 s on: the scrollback of every console is full by then.
    warm = [s for s in samples if s[0] >= 20]
    fds = sorted({s[1] for s in warm})
    rss = [s[2] for s in warm]
    tc.check(max(fds) - min(fds) <= 2, f"open files stay put under load ({fds})")
    if procmem.sanitized(tc.APP):
        print(f"# AddressSanitizer build: memory {rss[0] // 1024} → {rss[-1] // 1024} MiB "
              "(its quarantine holds freed memory; not checked)")
    else:
        tc.check(rss[-1] - rss[0] < 32 * 1024,
                 f"memory settles: {rss[0] // 1024} → {rss[-1] // 1024} MiB from 20 s to the end")

    asked = 0
    # A few presses more than consoles: a question that comes late takes one.
    for _ in range(CONSOLES + 5):
        tc.key("ctrl+w")
        time.sleep(0.2)
        # A console still finishing its command asks before it closes.
        if app.node.get_child_count() > app.windows:
            tc.press(app.button("Close Console"))
            app.settle()
            asked += 1
    print(f"# consoles that asked before closing: {asked}")
    left = lab.wait_status(lambda s: s["shells"] == 0, seconds=60)["shells"]
    tc.check(left == 0, f"closing the {CONSOLES} consoles releases every shell ({left} left)")
    tc.check(app.proc.poll() is None, f"the app is still running (exit status {app.proc.returncode})")


if __name__ == "__main__":
    sys.exit(main())
