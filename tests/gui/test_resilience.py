#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""The desktop app when things break, and where the password goes.

Two labs: a steady one (Kerberos by name) and a doomed one (NTLM by
address, its password from the keyring). The doomed host's WinRM service
is killed in the middle of a stream, and a malformed reply hits the
steady one: each console says what happened, the other keeps working,
reconnecting works, and the shells are released. Afterwards the password
is nowhere: not in the inventory, the settings, a saved transcript, the
app's log, its argv or environment, nor left in its memory once the
consoles are closed."""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "lab-checks"))
sys.path.insert(0, os.path.join(HERE, "..", "lab"))
import guisession as gs  # noqa: E402

gs.reexec_inside()

import test_console as tc  # noqa: E402
from labfixture import Lab  # noqa: E402
import procmem  # noqa: E402
from demo import store_passwords  # noqa: E402

BUILD = os.environ.get("CASTELLAN_BUILD_DIR", "build")
SHOTS = os.path.join(BUILD, "screenshots")
STEADY, DOOMED = "Steady (Kerberos)", "Doomed (NTLM)"


def write_inventory(home, steady, doomed):
    os.makedirs(f"{home}/data/castellan")
    with open(f"{home}/data/castellan/inventory.ini", "w") as f:
        f.write(f"""[castellan]
version=1

[host 00000000-0000-0000-0000-000000000000]
name={STEADY}
address=localhost
port={steady.http_port}

[host 00000000-0000-0000-0000-000000000001]
name={DOOMED}
address=127.0.0.1
port={doomed.http_port}
user={doomed.env["LAB_NTLM_USER"].replace(chr(92), chr(92) * 2)}
""")
    os.makedirs(f"{home}/config/castellan")
    with open(f"{home}/config/castellan/trusted-hosts", "w") as f:
        f.write("127.0.0.1\n")


def console_of(app, name):
    """The console of host name (it carries the host's name)."""
    return app.find(lambda w: app.role(w) == "FILLER" and w.get_name() == name,
                    f"{name}'s console")


def focused_command(app, name):
    Atspi = gs.atspi()
    return gs.find_widget(console_of(app, name), lambda w: w.get_name() == "Command"
                          and w.get_state_set().contains(Atspi.StateType.FOCUSED))


def select_tab(app, name):
    """Clicks name's tab (its label in the tab bar, right of the sidebar),
    then its command line."""
    Atspi = gs.atspi()

    def in_tab_bar(w):
        return (app.role(w) == "LABEL" and w.get_name() == name
                and w.get_extents(Atspi.CoordType.WINDOW).x > 330)
    tc.click_at(app.find(in_tab_bar, f"the tab {name}"))
    time.sleep(0.5)
    entry = gs.find_widget(console_of(app, name), lambda w: w.get_name() == "Command")
    tc.click_at(entry)
    gs.wait_for(lambda: focused_command(app, name), f"{name}'s command line in front")


def status(app, name, predicate, what, seconds=30):
    """The status line of name's console."""
    return app.find(lambda w: app.role(w) == "LABEL" and predicate(
        w.get_name() or "", w.get_description() or ""), what, seconds, root=console_of(app, name))


def run(app, name, command, needle):
    tc.type_text(command)
    tc.key("Return")
    return status(app, name, lambda n, d: n.startswith("Exit 0") and needle in d,
                  f"the output of {command}")


def main():
    home = tempfile.mkdtemp(prefix="castellan-resilience-")
    os.makedirs(SHOTS, exist_ok=True)
    with Lab() as steady, Lab() as doomed:
        write_inventory(home, steady, doomed)
        gs.start_keyring(home, "lab-keyring")
        store_passwords_for(doomed)
        log = open(os.path.join(home, "app.log"), "w+")
        env = dict(os.environ, **steady.env, HOME=home, XDG_DATA_HOME=f"{home}/data",
                   XDG_CONFIG_HOME=f"{home}/config", GSETTINGS_BACKEND="keyfile",
                   G_MESSAGES_DEBUG="all")
        env.pop("G_DEBUG", None)
        app = tc.App(env, ["--connect", STEADY, "--connect", DOOMED])
        start_logged(app, log)
        try:
            scenario(app, steady, doomed, home, log)
        except (AssertionError, OSError):
            gs.screenshot(os.path.join(SHOTS, "resilience-failure.png"))
            log.seek(0)
            lines = [line for line in log.read().splitlines() if "DEBUG" not in line]
            print("\n".join(["# app's log, last lines:"] + lines[-25:]))
            print(f"# app exit status: {app.proc.poll()}")
            raise
        finally:
            app.stop()
    shutil.rmtree(home, ignore_errors=True)
    return 0


def store_passwords_for(doomed):
    import demo
    demo.HOSTS = [(STEADY, "localhost", "http", {}),
                  (DOOMED, "127.0.0.1", "http", {"user": "LAB_NTLM_USER"})]
    store_passwords(doomed)


def start_logged(app, log):
    app.proc = subprocess.Popen([tc.APP, *app.args], env=app.env, stdout=log, stderr=log)
    app.node = gs.wait_for(lambda: gs.find_app("castellan", app.proc.pid), "the application",
                           process=app.proc)
    app.window = app.find(lambda w: app.role(w) == "FRAME" and w.get_name() == "Castellan",
                          "the main window")


def scenario(app, steady, doomed, home, log):
    password = doomed.password.encode()

    # Both consoles up: Kerberos to the steady lab, NTLM (keyring) to the doomed one.
    chips = [app.find(lambda w: w.get_name() == "Connection security"
                      and needle in (w.get_description() or ""), f"a console with {needle}")
             for needle in ("kerberos-aes256-cts-hmac-sha1-96", "ntlm-rc4-128")]
    tc.check(len({c.get_description() for c in chips}) == 2,
             "two consoles: Kerberos to one lab, NTLM with the keyring's password to the other")

    # 1. The doomed host's service dies in the middle of a stream.
    select_tab(app, DOOMED)
    run(app, DOOMED, "echo %USERNAME%", "admin")
    tc.type_text("yes streaming-a-long-output | head -c 300000000")
    tc.key("Return")
    status(app, DOOMED, lambda n, d: n == "Running…", "the stream running")
    time.sleep(1.5)
    with open(os.path.join(doomed.dir, "lab.json")) as f:
        peer = json.load(f)["pids"]["peer"]
    os.kill(peer, signal.SIGKILL)
    started = time.monotonic()
    lost = status(app, DOOMED, lambda n, d: n == "Disconnected" and d,
                  "the console saying the host is gone", seconds=90)
    tc.check("refuses new connections" in lost.get_description(),
             f"killed in mid-stream, the console says so within "
             f"{time.monotonic() - started:.0f} s: “{lost.get_description()}”")
    app.button("Reconnect")
    gs.screenshot(os.path.join(SHOTS, "peer-killed.png"))

    # 2. The other console is not affected.
    select_tab(app, STEADY)
    still = run(app, STEADY, "echo still-here", "still-here")
    tc.check("still-here" in still.get_description(), "the other console keeps working")

    # 3. A malformed reply to the steady console's waiting Receive: said, then
    # Reconnect works.
    steady.control(faults=["malformed@Receive*1"])
    bad = status(app, STEADY, lambda n, d: n == "Disconnected" and "well-formed" in d,
                 "the malformed reply said")
    tc.check("well-formed" in bad.get_description(),
             f"a malformed reply is said: “{bad.get_description()}”")
    tc.press(app.button("Reconnect"))
    gs.wait_for(lambda: focused_command(app, STEADY), "the console back")
    back = run(app, STEADY, "echo back-again", "back-again")
    tc.check("back-again" in back.get_description(), "Reconnect brings the console back")

    # 4. A transcript, saved through the file chooser.
    transcript = os.path.join(home, "transcript.txt")
    tc.key("ctrl+shift+s")
    app.named("Save Transcript", "the save dialog")
    time.sleep(0.5)
    tc.key("ctrl+a")
    tc.type_text(transcript)
    tc.key("Return")
    deadline = time.monotonic() + 30
    while not os.path.exists(transcript) and time.monotonic() < deadline:
        time.sleep(0.1)
    with open(transcript, "rb") as f:
        saved = f.read()
    tc.check(b"back-again" in saved, "the transcript was saved")

    # 5. Close both consoles: the steady lab's shells are released.
    for _ in range(2):
        tc.key("ctrl+w")
        time.sleep(0.3)
    left = steady.wait_status(lambda s: s["shells"] == 0, seconds=30)
    tc.check(left["shells"] == 0, "closing the consoles releases their shells")

    # 6. The password is nowhere.
    time.sleep(1)
    places = {
        "inventory": open(f"{home}/data/castellan/inventory.ini", "rb").read(),
        "settings": b"".join(open(os.path.join(root, n), "rb").read()
                             for root, _d, names in os.walk(f"{home}/config") for n in names),
        "transcript": saved,
        "log": open(log.name, "rb").read(),
        "argv": open(f"/proc/{app.proc.pid}/cmdline", "rb").read(),
        "environment": open(f"/proc/{app.proc.pid}/environ", "rb").read(),
    }
    for child in children(app.proc.pid):
        places[f"child {child} argv"] = read_or_empty(f"/proc/{child}/cmdline")
        places[f"child {child} environment"] = read_or_empty(f"/proc/{child}/environ")
    tc.check(b"request: HTTP" in places["log"], "the app's debug log was captured")
    for where, data in places.items():
        tc.check(password not in data, f"the password is not in the {where}")
    hits = procmem.count_copies(app.proc.pid, password)
    tc.check(hits == 0, f"no copy of the password is left in the app's memory ({hits} found)")
    tc.check(app.proc.poll() is None, "the app is still running, with its window")
    app.named("No Console Open", "the empty state")


def children(pid):
    found = []
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/children") as f:
                found += [int(c) for c in f.read().split()]
        except OSError:
            pass
    return found


def read_or_empty(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return b""


if __name__ == "__main__":
    sys.exit(main())
