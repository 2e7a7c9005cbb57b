#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""The desktop app against the lab, driven as a user would (keyboard and
mouse through xdotool) and read as a screen reader would (AT-SPI):
connect, run commands, read the security level, walk through the
TrustedHosts refusal, remember a password, add a host, restart."""

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

from labfixture import Lab  # noqa: E402

BUILD = os.environ.get("CASTELLAN_BUILD_DIR", "build")
APP = os.path.join(BUILD, "src", "castellan")
SHOTS = os.path.join(BUILD, "screenshots")


def key(*keys):
    subprocess.run(["xdotool", "key", "--delay", "30", *keys], check=True, timeout=30)


def type_text(text):
    subprocess.run(["xdotool", "type", "--delay", "15", text], check=True, timeout=60)


def window_origin():
    """Where the app's window is on the X screen (GTK 4 reports positions
    relative to the window only)."""
    wid = subprocess.run(["xdotool", "search", "--onlyvisible", "--name", "^Castellan$"], capture_output=True,
                         text=True, timeout=30).stdout.split()[0]
    geo = subprocess.run(["xdotool", "getwindowgeometry", "--shell", wid], capture_output=True,
                         text=True, timeout=30).stdout
    vals = dict(line.split("=", 1) for line in geo.split())
    return int(vals["X"]), int(vals["Y"])


def click_at(acc, double=False):
    Atspi = gs.atspi()
    ext = acc.get_extents(Atspi.CoordType.WINDOW)
    ox, oy = window_origin()
    x, y = ox + ext.x + ext.width // 2, oy + ext.y + ext.height // 2
    subprocess.run(["xdotool", "mousemove", str(x), str(y), "click", "--repeat",
                    "2" if double else "1", "--delay", "80", "1"], check=True, timeout=30)


def set_text(acc, text):
    """Type into a field through AT-SPI's EditableText, as assistive tools do."""
    Atspi = gs.atspi()
    queue = [acc]
    while queue:
        w = queue.pop(0)
        if "EditableText" in w.get_interfaces():
            Atspi.EditableText.set_text_contents(w, text)
            return
        queue.extend(w.get_child_at_index(i) for i in range(w.get_child_count()))
    raise AssertionError(f"no editable text in {acc.get_name()}")


def press(acc):
    """Activate a button through its AT-SPI action, as assistive tools do."""
    Atspi = gs.atspi()
    Atspi.Action.do_action(acc, 0)


class App:
    def __init__(self, env, args=()):
        self.env = env
        self.args = list(args)
        self.proc = None
        self.node = None

    def start(self):
        self.proc = subprocess.Popen([APP, *self.args], env=self.env)
        self.node = gs.wait_for(lambda: gs.find_app("castellan", self.proc.pid), "the application",
                                process=self.proc)
        self.window = self.find(lambda w: self.role(w) == "FRAME" and w.get_name() == "Castellan",
                                "the main window")
        self.windows = self.node.get_child_count()
        return self

    def stop(self):
        if self.proc is None:
            return
        key("ctrl+q")
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None

    @staticmethod
    def role(w):
        return w.get_role().value_nick.upper().replace("-", "_")

    def find(self, predicate, what, seconds=30, root=None, dialogs_only=False):
        def look():
            # Dialogs are windows of their own: search every top level.
            roots = [root] if root is not None else [
                self.node.get_child_at_index(i) for i in range(self.node.get_child_count())]
            if dialogs_only:
                roots = [r for r in roots if r is not None and r.get_name() != "Castellan"]
            for r in roots:
                found = gs.find_widget(r, predicate)
                if found is not None:
                    return found
            return None
        return gs.wait_for(look, what, seconds, process=self.proc)

    def named(self, name, what=None, role=None, seconds=30):
        return self.find(lambda w: w.get_name() == name and (role is None or self.role(w) == role),
                         what or name, seconds)

    def button(self, text, seconds=30, dialogs_only=False):
        """A visible button showing text (dialog buttons carry their label
        as a child, and come twice: one per layout, one of them hidden)."""
        Atspi = gs.atspi()

        def is_it(w):
            if self.role(w) not in ("PUSH_BUTTON", "TOGGLE_BUTTON", "CHECK_BOX"):
                return False
            if not w.get_state_set().contains(Atspi.StateType.SENSITIVE):
                return False
            if w.get_name() == text:
                return True
            return any(w.get_child_at_index(i).get_name() == text
                       for i in range(w.get_child_count()))
        return self.find(is_it, f"the button “{text}”", seconds, dialogs_only=dialogs_only)

    def settle(self):
        """Waits until only the main window is left: a dialog being torn down
        is not walked (GTK 4.8 can crash answering for a half-disposed one)."""
        gs.wait_for(lambda: self.node.get_child_count() <= self.windows or None, "the dialogs to close")
        time.sleep(0.3)

    def description_of(self, name, needle, what, seconds=30):
        return self.find(lambda w: w.get_name() == name and needle in (w.get_description() or ""),
                         what, seconds)


def check(condition, message):
    if not condition:
        raise AssertionError(message)
    print(f"ok - {message}")


def write_inventory(home, lab):
    inv = os.path.join(home, "data", "castellan")
    os.makedirs(inv)
    with open(os.path.join(inv, "inventory.ini"), "w") as f:
        f.write(f"""[castellan]
version=1

[host 11111111-1111-1111-1111-111111111111]
name=Lab by name (Kerberos)
address=localhost
port={lab.http_port}
group=Lab

[host 22222222-2222-2222-2222-222222222222]
name=Lab by address (NTLM)
address=127.0.0.1
port={lab.http_port}
user=TEST\\\\admin
group=Lab
""")
    return os.path.join(inv, "inventory.ini")


def main():
    home = tempfile.mkdtemp(prefix="castellan-gui-")
    os.makedirs(SHOTS, exist_ok=True)
    with Lab() as lab:
        inventory_path = write_inventory(home, lab)
        gs.start_keyring(home, "lab-keyring")
        env = dict(os.environ, **lab.env, HOME=home, XDG_DATA_HOME=f"{home}/data",
                   XDG_CONFIG_HOME=f"{home}/config", GSETTINGS_BACKEND="memory")
        env.pop("G_DEBUG", None)
        app = App(env).start()
        try:
            run_scenario(app, lab, home, inventory_path)
        except AssertionError:
            gs.screenshot(os.path.join(SHOTS, "failure.png"))
            raise
        finally:
            app.stop()
    shutil.rmtree(home, ignore_errors=True)
    return 0


def run_scenario(app, lab, home, inventory_path):
    # 1. Quick connect by name: Kerberos proves the server.
    key("ctrl+l")
    type_text(f"localhost:{lab.http_port}")
    key("Return")
    app.description_of("Connection security", "kerberos-aes256-cts-hmac-sha1-96",
                       "the Kerberos verdict")
    sec = app.named("Connection security")
    check("Verified and encrypted" in sec.get_description(),
          "the console's security reads 'Verified and encrypted' (kerberos-aes256)")
    app.find(lambda w: w.get_name() == "Command" and w.get_state_set().contains(
        gs.atspi().StateType.SENSITIVE), "the command line, enabled")

    # 2. Commands, and state that persists between them.
    type_text("echo hello-from-gui")
    key("Return")
    status = app.find(lambda w: (w.get_name() or "").startswith("Exit 0")
                      and "hello-from-gui" in (w.get_description() or ""), "the first command's output")
    check("hello-from-gui" in (status.get_description() or ""),
          f"the output reached the console ({status.get_name()})")
    type_text("cd /")
    key("Return")
    time.sleep(0.3)
    type_text("echo dir=%CD%")
    key("Return")
    moved = app.find(lambda w: (w.get_name() or "").startswith("Exit 0")
                     and "dir=/" in (w.get_description() or ""), "cd persisting to the next line")
    check("dir=/" in moved.get_description(), "cd persists between commands")
    type_text("ls /nonexistent-dir")
    key("Return")
    failed = app.find(lambda w: (w.get_name() or "").startswith("Exit 2"), "a failing command's exit code")
    check(failed.get_name().startswith("Exit 2"), "a failing command shows its exit code")
    gs.screenshot(os.path.join(SHOTS, "console-kerberos.png"))

    # 3. The host row shows the new verdict.
    row = app.description_of("Lab by name (Kerberos)", "Verified and encrypted",
                             "the host row's verdict")
    check(row is not None, "the host row reads 'Verified and encrypted'")

    # 4. NTLM by address: refused, TrustedHosts confirmation, password, unverified.
    row = app.named("Lab by address (NTLM)")
    click_at(row, double=True)
    trust = app.button("Add to TrustedHosts…")
    check(app.button("Use HTTPS…") is not None, "the refusal offers HTTPS and TrustedHosts")
    gs.screenshot(os.path.join(SHOTS, "refused.png"))
    press(trust)
    confirm = app.button("Add Anyway")
    explained = app.find(lambda w: "only silences" in (w.get_name() or ""), "the plain explanation")
    check(confirm is not None and "only silences" in explained.get_name(),
          "adding to TrustedHosts asks first and explains what it means")
    gs.screenshot(os.path.join(SHOTS, "trustedhosts-confirm.png"))
    press(confirm)
    app.named("Password", "the password prompt")
    type_text(lab.password)
    key("Tab", "space")  # tick "Remember in the keyring"
    remember = app.button("Remember in the keyring")
    check(remember.get_state_set().contains(gs.atspi().StateType.CHECKED),
          "'Remember in the keyring' is ticked")
    # The dialog's Connect, not the action bar's.
    press(app.button("Connect", dialogs_only=True))
    app.settle()
    app.find(lambda w: w.get_name() == "Connection security"
             and "ntlm-rc4-128" in (w.get_description() or ""), "the NTLM verdict")
    sec = app.find(lambda w: w.get_name() == "Connection security"
                   and "ntlm-rc4-128" in (w.get_description() or ""), "the NTLM verdict")
    desc = sec.get_description()
    check("Server not verified" in desc and "127.0.0.1" in desc,
          "NTLM by address reads 'Server not verified', with the TrustedHosts entry")
    type_text("echo %USERNAME%")
    key("Return")
    app.find(lambda w: (w.get_name() or "").startswith("Exit 0")
             and "admin" in (w.get_description() or ""), "a command over NTLM")
    gs.screenshot(os.path.join(SHOTS, "console-ntlm.png"))
    with open(os.path.join(home, "config", "castellan", "trusted-hosts")) as f:
        check(f.read().strip() == "127.0.0.1", "TrustedHosts saved as the exact WinRM string")

    # 5. Add a host through the editor.
    press(app.button("Add Host"))
    editor = app.find(lambda w: app.role(w) == "FRAME" and w.get_name() == "Add Host", "the host editor")
    set_text(app.find(lambda w: w.get_name() == "Name", "the editor's name field", root=editor),
             "Added in the GUI")
    set_text(app.find(lambda w: (w.get_name() or "").startswith("Address"),
                      "the editor's address field"), "srv-gui.test.local")
    gs.screenshot(os.path.join(SHOTS, "host-editor.png"))
    press(app.button("Save"))
    app.settle()
    added = app.named("Added in the GUI", "the new host's row")
    check(added.get_name() == "Added in the GUI", "a host added in the editor appears in the list")

    # 6. Restart: the inventory is intact, verdicts and all; no secret in it.
    app.stop()
    with open(inventory_path) as f:
        saved = f.read()
    check("Added in the GUI" in saved and "last-level=verified" in saved
          and "last-level=unverified" in saved, "the inventory was saved with the verdicts")
    check(lab.password not in saved, "the password is not in the inventory")
    app.start()
    app.description_of("Lab by name (Kerberos)", "Verified and encrypted", "the row after restart")
    app.description_of("Lab by address (NTLM)", "Server not verified", "the NTLM row after restart")
    kept = app.named("Added in the GUI", "the added host after restart")
    check(kept.get_name() == "Added in the GUI", "after a restart the inventory is intact")

    # 7. The remembered password is used without asking.
    click_at(app.named("Lab by address (NTLM)"), double=True)
    chip = app.find(lambda w: w.get_name() == "Connection security"
                    and "ntlm-rc4-128" in (w.get_description() or ""), "NTLM with the keyring's password")
    # Nothing was typed: a prompt would have held the connection back.
    check("ntlm-rc4-128" in chip.get_description(),
          "the password remembered in the keyring is used without a prompt")
    gs.screenshot(os.path.join(SHOTS, "main-window.png"))

    # 8. One command on several hosts: select both lab hosts, run, read.
    click_at(app.named("Lab by address (NTLM)"))
    subprocess.run(["xdotool", "keydown", "ctrl"], check=True, timeout=30)
    click_at(app.named("Lab by name (Kerberos)"))
    subprocess.run(["xdotool", "keyup", "ctrl"], check=True, timeout=30)
    key("ctrl+shift+Return")
    app.named("Command to run", "the command prompt for several hosts")
    type_text("echo fan-%USERNAME%")
    key("Return")  # a stray Enter does not run it: the Run button does
    press(app.button("Run"))
    results = []
    for name, level in (("Lab by name (Kerberos)", "Verified and encrypted"),
                        ("Lab by address (NTLM)", "Server not verified")):
        results.append(app.find(lambda w: (w.get_description() or "").startswith(f"{name}: Exit 0")
                                and level in (w.get_description() or ""), f"the result of {name}"))
    check(len({r.get_description() for r in results}) == 2,
          "a command ran on two hosts at once, each with its own verdict and exit code")

    # 9. Preferences open from the keyboard.
    key("ctrl+comma")
    prefs = app.named("Operation Timeout", "the preferences")
    check(prefs.get_name() == "Operation Timeout", "Ctrl+, opens the preferences")
    gs.screenshot(os.path.join(SHOTS, "preferences.png"))
    key("Escape")
    gs.screenshot(os.path.join(SHOTS, "several-hosts.png"))


if __name__ == "__main__":
    sys.exit(main())
