# SPDX-License-Identifier: GPL-3.0-or-later
"""Run a GUI test inside its own X server and session bus, and find the
app's widgets through AT-SPI, as a screen reader would."""

import os
import select
import shutil
import subprocess
import sys
import time

INSIDE = "CASTELLAN_GUI_SESSION"


def start_xvfb():
    """An X server on a display number it picks itself (-displayfd), so
    that parallel tests never race for one, and ready when it answers."""
    read_fd, write_fd = os.pipe()
    xvfb = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", "1280x800x24",
         "-nolisten", "tcp", "-noreset"],
        pass_fds=(write_fd,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write_fd)
    data = b""
    deadline = time.monotonic() + 30
    while not data.endswith(b"\n") and time.monotonic() < deadline:
        ready, _, _ = select.select([read_fd], [], [], 1)
        if ready:
            chunk = os.read(read_fd, 64)
            if not chunk:
                break
            data += chunk
    os.close(read_fd)
    if not data.strip():
        xvfb.kill()
        raise RuntimeError("Xvfb did not start")
    return xvfb, ":" + data.decode().strip()


def reexec_inside():
    """Re-run this script under Xvfb and a private D-Bus session."""
    if os.environ.get(INSIDE):
        return
    for tool in ("Xvfb", "dbus-run-session"):
        if shutil.which(tool) is None:
            print(f"{tool} is missing; install xvfb and dbus", file=sys.stderr)
            sys.exit(77)
    xvfb, display = start_xvfb()
    env = dict(os.environ, **{INSIDE: "1"}, DISPLAY=display)
    env.pop("WAYLAND_DISPLAY", None)
    env.pop("DBUS_SESSION_BUS_ADDRESS", None)
    env.pop("XAUTHORITY", None)
    # libatspi warns about objects that vanish while it walks the tree;
    # that is not a failure of the app under test.
    env.pop("G_DEBUG", None)
    try:
        code = subprocess.run(["dbus-run-session", "--", sys.executable] + sys.argv,
                              env=env, timeout=600).returncode
    finally:
        xvfb.terminate()
        try:
            xvfb.wait(10)
        except subprocess.TimeoutExpired:
            xvfb.kill()
    sys.exit(code)


def start_keyring(home, password):
    """A Secret Service for this session bus, unlocked with a throwaway
    password; its address goes into os.environ for the app to inherit."""
    res = subprocess.run(["gnome-keyring-daemon", "--unlock", "--components=secrets"],
                         input=password.encode(), capture_output=True, timeout=30,
                         env=dict(os.environ, HOME=home))
    for line in res.stdout.decode().splitlines():
        if "=" in line:
            key, value = line.split("=", 1)
            os.environ[key] = value


def atspi():
    import gi
    gi.require_version("Atspi", "2.0")
    from gi.repository import Atspi
    global _atspi_timeout_set
    if not _atspi_timeout_set:
        # AT-SPI gives up on an answer after 0.8 s: an app busy under
        # load (twenty consoles streaming, a sanitizer build, a busy
        # machine) then reads as broken. Every wait here is bounded on
        # its own; a call may take up to 20 s.
        Atspi.set_timeout(20000, 30000)
        _atspi_timeout_set = True
    return Atspi


_atspi_timeout_set = False


def wait_for(find, what, seconds=30, process=None):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise AssertionError(f"the app exited ({process.returncode}) before {what} appeared")
        found = find()
        if found is not None:
            return found
        time.sleep(0.1)
    raise AssertionError(f"{what} did not appear within {seconds} s")


def find_app(name, pid=None):
    """The application called name (and, given pid, run by that process:
    one that just quit may linger in the registry for a moment)."""
    Atspi = atspi()
    desktop = Atspi.get_desktop(0)
    for i in range(desktop.get_child_count()):
        app = desktop.get_child_at_index(i)
        if app is None or app.get_name() != name:
            continue
        try:
            if pid is None or app.get_process_id() == pid:
                return app
        except Exception:  # gone meanwhile
            continue
    return None


def find_widget(root, predicate, depth=0):
    if root is None or depth > 40:
        return None
    try:
        if predicate(root):
            return root
        n = root.get_child_count()
    except Exception:
        return None
    for i in range(n):
        try:
            child = root.get_child_at_index(i)
        except Exception:
            # A widget that went away while we walked (a closing dialog).
            continue
        found = find_widget(child, predicate, depth + 1)
        if found is not None:
            return found
    return None


def screenshot(path):
    """The screen, cropped to what the windows cover (Xvfb's empty root is
    black, which a black border lets -trim take away)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    subprocess.run(["/usr/bin/import", "-window", "root", path], check=True, timeout=30)
    subprocess.run(["/usr/bin/convert", path, "-bordercolor", "black", "-border", "1", "-trim",
                    "+repage", path], check=True, timeout=30)
