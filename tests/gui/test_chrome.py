#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""The window's frame against the lab, as a user and a screen reader meet
it: the host list from the keyboard, a command on several hosts (its
targets and their levels, a password asked for, no run on a stray Enter,
failures first), the identity indicator and its banners, broadcast typing
that leaves an unverified console out unless it is chosen, a failed
sign-in shown in place with the action that helps, questions before
closing a running console or quitting, the `*` TrustedHosts banner, and
the window at 400x800 and 700x700 with the indicator, the close button
and the command line on screen and usable."""

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
from labfixture import Lab  # noqa: E402

BUILD = os.environ.get("CASTELLAN_BUILD_DIR", "build")
SHOTS = os.path.join(BUILD, "screenshots")
KERB, NTLM, ASKED, OPERATOR = ("Lab by name (Kerberos)", "Lab by address (NTLM)",
                               "Lab without a saved password", "Lab as operator")
NTLM_ID = "00000000-0000-0000-0000-000000000001"
check = tc.check


def write_inventory(home, lab):
    def user(name):
        return lab.env[name].replace("\\", "\\\\")
    os.makedirs(f"{home}/data/castellan")
    with open(f"{home}/data/castellan/inventory.ini", "w") as f:
        f.write(f"""[castellan]
version=1

[host 00000000-0000-0000-0000-000000000000]
name={KERB}
address=localhost
port={lab.http_port}

[host {NTLM_ID}]
name={NTLM}
address=127.0.0.1
port={lab.http_port}
user={user("LAB_NTLM_USER")}

[host 00000000-0000-0000-0000-000000000002]
name={ASKED}
address=127.0.0.1
port={lab.http_port}
user={user("LAB_NTLM_USER")}

[host 00000000-0000-0000-0000-000000000003]
name={OPERATOR}
address=localhost
port={lab.http_port}
user={user("LAB_NONADMIN_USER")}
""")
    os.makedirs(f"{home}/config/castellan")
    with open(f"{home}/config/castellan/trusted-hosts", "w") as f:
        f.write("127.0.0.1\n")


def store_passwords(lab):
    """The NTLM host's and the operator's passwords in the session's keyring;
    the third host has none."""
    import gi
    gi.require_version("Secret", "1")
    from gi.repository import Secret
    schema = Secret.Schema.new("io.github.castellan.Castellan.Password", Secret.SchemaFlags.NONE,
                               {"host-id": Secret.SchemaAttributeType.STRING,
                                "user": Secret.SchemaAttributeType.STRING})
    for host_id, user, password in ((NTLM_ID, lab.env["LAB_NTLM_USER"], lab.password),
                                    ("00000000-0000-0000-0000-000000000003",
                                     lab.env["LAB_NONADMIN_USER"], lab.nonadmin_password)):
        Secret.password_store_sync(schema, {"host-id": host_id, "user": user},
                                   Secret.COLLECTION_DEFAULT, "Castellan test", password, None)


def console_of(app, name):
    return app.find(lambda w: app.role(w) == "FILLER" and w.get_name() == name,
                    f"{name}'s console")


def status_of(app, name, predicate, what, seconds=30):
    return app.find(lambda w: app.role(w) == "LABEL" and predicate(
        w.get_name() or "", w.get_description() or ""), what, seconds, root=console_of(app, name))


def indicator_of(app, name, needle, what, seconds=30):
    return app.find(lambda w: w.get_name() == "Connection security" and needle in (w.get_description() or ""),
                    what, seconds, root=console_of(app, name))


def command_of(app, name):
    return app.find(lambda w: w.get_name() == "Command", f"{name}'s command line",
                    root=console_of(app, name))


def showing(w):
    """Shown: it and every container above it visible, and laid out
    inside the window (GTK 4.8 does not report SHOWING)."""
    Atspi = gs.atspi()
    node = w
    try:
        while node is not None and node.get_role() != Atspi.Role.FRAME:
            if not node.get_state_set().contains(Atspi.StateType.VISIBLE):
                return False
            node = node.get_parent()
        if node is None:
            return False
        win = node.get_extents(Atspi.CoordType.WINDOW)
        ext = w.get_extents(Atspi.CoordType.WINDOW)
    except Exception:
        return False
    return (ext.width > 0 and ext.height > 0 and ext.x >= win.x and ext.y >= win.y
            and ext.x + ext.width <= win.x + win.width and ext.y + ext.height <= win.y + win.height)


def visible(w):
    """It and its containers visible (for popovers, which are surfaces of
    their own)."""
    Atspi = gs.atspi()
    node = w
    while node is not None and node.get_role() != Atspi.Role.FRAME:
        if not node.get_state_set().contains(Atspi.StateType.VISIBLE):
            return False
        node = node.get_parent()
    return node is not None


def labelled(app, w, text, role="PUSH_BUTTON"):
    """A button named text, or carrying text on its label (GTK 4.8 names
    a button with a mnemonic after its label child)."""
    if app.role(w) != role:
        return False
    if w.get_name() == text:
        return True
    try:
        return any(w.get_child_at_index(i).get_name() == text for i in range(w.get_child_count()))
    except Exception:
        return False


def shown_button(app, text, root=None, what=None):
    return app.find(lambda w: labelled(app, w, text) and showing(w), what or f"the button “{text}” on screen",
                    root=root)


def select_tab(app, name):
    Atspi = gs.atspi()

    def in_tab_bar(w):
        ext = w.get_extents(Atspi.CoordType.WINDOW)
        return app.role(w) == "LABEL" and w.get_name() == name and ext.y < 120 and ext.x > 300
    tc.click_at(app.find(in_tab_bar, f"the tab {name}"))
    time.sleep(0.3)
    tc.click_at(command_of(app, name))
    time.sleep(0.3)


def run_in(app, name, command, needle):
    tc.type_text(command)
    tc.key("Return")
    return status_of(app, name, lambda n, d: n.startswith("Exit 0") and needle in d, f"{command} on {name}")


def banner(app, text, what):
    return app.find(lambda w: app.role(w) == "LABEL" and text in (w.get_name() or "") and showing(w), what)


def read_clipboard():
    """The clipboard's text, read as another application would."""
    import gi
    gi.require_version("Gdk", "4.0")
    from gi.repository import Gdk, GLib
    display = Gdk.Display.open(os.environ["DISPLAY"])
    loop = GLib.MainLoop()
    found = {}

    def done(clipboard, result):
        try:
            found["text"] = clipboard.read_text_finish(result)
        finally:
            loop.quit()
    display.get_clipboard().read_text_async(None, done)
    GLib.timeout_add_seconds(5, loop.quit)
    loop.run()
    return found.get("text") or ""


def no_dialog_left(app):
    app.settle()


def inside_window(app, acc, what):
    """acc is shown and wholly inside the window's frame."""
    Atspi = gs.atspi()
    win = app.window.get_extents(Atspi.CoordType.WINDOW)
    ext = acc.get_extents(Atspi.CoordType.WINDOW)
    inside = (showing(acc) and ext.width > 0 and ext.height > 0 and ext.x >= win.x and ext.y >= win.y
              and ext.x + ext.width <= win.x + win.width and ext.y + ext.height <= win.y + win.height)
    check(inside, f"{what} is on screen inside the {win.width}x{win.height} window "
                  f"({ext.x - win.x},{ext.y - win.y} {ext.width}x{ext.height})")
    return inside


def resize(app, width, height):
    wid = subprocess.run(["xdotool", "search", "--onlyvisible", "--name", "^Castellan$"], capture_output=True,
                         text=True, timeout=30).stdout.split()[0]
    subprocess.run(["xdotool", "windowsize", wid, str(width), str(height)], check=True, timeout=30)

    def size():
        geo = subprocess.run(["xdotool", "getwindowgeometry", "--shell", wid], capture_output=True,
                             text=True, timeout=30).stdout
        vals = dict(line.split("=", 1) for line in geo.split())
        return int(vals["WIDTH"]), int(vals["HEIGHT"])
    gs.wait_for(lambda: size() == (width, height) or None, f"the window at {width}x{height}")
    time.sleep(1)


def main():
    home = tempfile.mkdtemp(prefix="castellan-chrome-")
    os.makedirs(SHOTS, exist_ok=True)
    with Lab() as lab:
        write_inventory(home, lab)
        gs.start_keyring(home, "lab-keyring")
        store_passwords(lab)
        env = dict(os.environ, **lab.env, HOME=home, XDG_DATA_HOME=f"{home}/data",
                   XDG_CONFIG_HOME=f"{home}/config", GSETTINGS_BACKEND="memory")
        env.pop("G_DEBUG", None)
        app = tc.App(env).start()
        try:
            scenario(app, lab, home)
        except AssertionError:
            gs.screenshot(os.path.join(SHOTS, "chrome-failure.png"))
            raise
        finally:
            if app.proc is not None and app.proc.poll() is None:
                app.proc.kill()
                app.proc.wait(10)
    shutil.rmtree(home, ignore_errors=True)
    return 0


def scenario(app, lab, home):
    Atspi = gs.atspi()
    # Screenshots at most 1000x700.
    resize(app, 1000, 700)

    # 1. The host list from the keyboard: Ctrl+E edits, Menu opens the
    # context menu, Delete asks; a selection shows the action bar.
    tc.click_at(app.named(KERB))
    run_button = app.button("Run Command…")
    gs.wait_for(lambda: showing(run_button) or None, "the action bar revealed")
    check(showing(run_button), "a selected host shows the action bar (Connect · Run Command…)")
    tc.key("ctrl+e")
    editor = app.find(lambda w: app.role(w) == "FRAME" and w.get_name() == "Edit Host", "the editor from Ctrl+E")
    name_field = app.find(lambda w: w.get_name() == "Name", "the editor's name field", root=editor)
    check(name_field is not None, "Ctrl+E on the list edits the host")
    tc.key("Escape")
    no_dialog_left(app)
    tc.click_at(app.named(KERB))
    tc.key("Menu")
    item = app.find(lambda w: app.role(w) == "MENU_ITEM" and "Security Details" in (w.get_name() or "")
                    and showing(w), "the context menu from the Menu key")
    check(item is not None, "the Menu key opens the host's context menu")
    tc.key("Escape")
    time.sleep(0.3)
    tc.click_at(app.named(KERB))
    tc.key("shift+F10")
    item = app.find(lambda w: app.role(w) == "MENU_ITEM" and "Duplicate" in (w.get_name() or "")
                    and showing(w), "the context menu from Shift+F10")
    check(item is not None, "Shift+F10 opens the host's context menu")
    tc.key("Escape")
    time.sleep(0.3)
    tc.click_at(app.named(KERB))
    tc.key("Delete")
    cancel = app.button("Cancel")
    app.find(lambda w: (w.get_name() or "").startswith("Delete “"), "the delete question")
    check(cancel is not None, "Delete on the list asks before deleting")
    tc.press(cancel)
    no_dialog_left(app)
    check(app.named(KERB) is not None, "Cancel keeps the host")

    # 2. One command on two hosts: the targets and their levels, a password
    # asked for, no run on Enter.
    tc.click_at(app.named(KERB))
    subprocess.run(["xdotool", "keydown", "ctrl"], check=True, timeout=30)
    tc.click_at(app.named(ASKED))
    tc.click_at(app.named(OPERATOR))
    subprocess.run(["xdotool", "keyup", "ctrl"], check=True, timeout=30)
    tc.press(shown_button(app, "Run Command…"))
    command = app.named("Command to run", "the run dialog")
    # Never connected: each is listed with what the policy and its
    # settings promise.
    for name, expected in ((KERB, "Verified and encrypted"),
                           (ASKED, "Server not verified — allowed by the TrustedHosts entry")):
        target = app.find(lambda w: (w.get_description() or "").startswith(f"{name}: Expected: {expected}"),
                          f"{name} among the targets")
        check(target is not None, f"the run dialog lists {name} with its expected level ({expected})")
    warn = app.find(lambda w: "is not verified" in (w.get_name() or ""), "the unverified warning")
    check(warn.get_name().startswith("1 host is not verified"),
          f"the run dialog warns that one target is not verified: “{warn.get_name()}”")
    password = app.find(lambda w: (w.get_name() or "").startswith("Password of "), "the missing password")
    check("admin" in password.get_name(), f"the host without a saved password is asked for one ({password.get_name()})")
    tc.set_text(command, "echo fan-%USERNAME%")
    tc.click_at(command)
    tc.key("End", "Return")
    time.sleep(1)
    check(app.node.get_child_count() > app.windows and gs.find_widget(
        app.node, lambda w: w.get_name() == "Command to run") is not None,
        "Enter in the run dialog does not run the command")
    tc.set_text(password, lab.password)
    tc.press(app.button("Run"))
    no_dialog_left(app)
    for name in (KERB, ASKED):
        row = app.find(lambda w: (w.get_description() or "").startswith(f"{name}: Exit 0")
                       and "fan-" in (w.get_description() or ""), f"the result of {name}")
        check("fan-" in row.get_description(),
              f"{name} ran it and its first line of output is shown: {row.get_description()}")
    denied = app.find(lambda w: (w.get_description() or "").startswith(f"{OPERATOR}: ")
                      and "denied" in (w.get_description() or ""), f"the result of {OPERATOR}")
    check("denied" in denied.get_description(), f"a host that refuses says why: {denied.get_description()[:90]}…")
    ok_row = app.find(lambda w: (w.get_description() or "").startswith(f"{KERB}: Exit 0"), "a row that ran")
    check(denied.get_extents(Atspi.CoordType.WINDOW).y < ok_row.get_extents(Atspi.CoordType.WINDOW).y,
          "failures are listed first")
    app.find(lambda w: w.get_name() == "3 of 3 hosts done, 1 failed", "the summary")
    gs.screenshot(os.path.join(SHOTS, "chrome-results.png"))
    before = lab.status()["requests"]
    tc.press(app.button("Retry Failed"))
    lab.wait_status(lambda st: st["requests"] > before, seconds=30)
    again = app.find(lambda w: w.get_name() == "3 of 3 hosts done, 1 failed", "the summary after Retry Failed")
    check(lab.status()["requests"] > before and again is not None,
          "Retry Failed runs the failed host again (and it fails again)")
    tc.press(app.button("Copy Output"))
    copied = gs.wait_for(lambda: read_clipboard() or None, "the copied output")
    check(f"== {KERB} (Exit 0) ==" in copied and f"== {OPERATOR} (" in copied and "fan-" in copied,
          f"Copy Output puts every host's output under its name on the clipboard ({copied[:60]!r}…)")
    tc.key("ctrl+w")
    time.sleep(0.5)

    # 3. Enter on the list connects: Kerberos (verified, quiet) and NTLM
    # by address (not verified: words, a one-line banner).
    tc.click_at(app.named(KERB))
    tc.key("Return")
    quiet = indicator_of(app, KERB, "Verified and encrypted", "the Kerberos console's indicator")
    check("Verified and encrypted" in quiet.get_description(),
          "Enter on the list connects; the console reads 'Verified and encrypted'")
    label = gs.find_widget(console_of(app, KERB), lambda w: app.role(w) == "LABEL"
                           and w.get_name() == "Verified and encrypted")
    check(label is None or not showing(label), "verified, the indicator is quiet: its icon only, no words")
    tc.click_at(app.named(NTLM))
    tc.key("Return")
    indicator_of(app, NTLM, "Server not verified", "the NTLM console's indicator")
    words = app.find(lambda w: app.role(w) == "LABEL" and w.get_name() == "Server not verified" and showing(w),
                     "the words on the NTLM indicator", root=console_of(app, NTLM))
    check(words is not None, "not verified, the indicator says so in words")
    line = banner(app, "Server not verified: its identity is not proven", "the not-verified banner")
    check(len(line.get_name()) < 80, f"the not-verified banner is one line: “{line.get_name()}”")
    tc.press(shown_button(app, "Details", root=console_of(app, NTLM)))
    row = app.find(lambda w: app.role(w) == "LABEL" and w.get_name() == "Server identity" and visible(w),
                   "the details as rows")
    check(row is not None, "Details opens the indicator's rows (field and value)")
    gs.screenshot(os.path.join(SHOTS, "chrome-details.png"))
    tc.key("Escape")
    time.sleep(0.3)

    # 4. Broadcast typing reaches the verified console only, until the
    # unverified one is chosen.
    tc.press(app.named("Broadcast typing"))
    line = banner(app, "Typing goes to 1 console; 1 not verified left out", "the broadcast banner")
    check(line is not None, f"the broadcast banner: “{line.get_name()}”")
    select_tab(app, KERB)
    run_in(app, KERB, "echo bc-first", "bc-first")
    ran = gs.find_widget(console_of(app, NTLM), lambda w: app.role(w) == "LABEL"
                         and (w.get_name() or "").startswith(("Exit", "Running")))
    check(ran is None, "the unverified console did not receive the broadcast (it ran nothing)")
    select_tab(app, NTLM)
    optin = app.find(lambda w: w.get_name() == "Broadcast to this tab" and showing(w),
                     "the NTLM console's broadcast toggle", root=console_of(app, NTLM))
    tc.press(optin)
    banner(app, "Typing goes to 2 consoles", "the banner counting the chosen console")
    select_tab(app, KERB)
    run_in(app, KERB, "echo bc-second", "bc-second")
    got = status_of(app, NTLM, lambda n, d: n.startswith("Exit 0") and "bc-second" in d,
                    "the chosen unverified console receiving")
    check("bc-first" not in got.get_description(), "once chosen, the unverified console receives the broadcast")
    gs.screenshot(os.path.join(SHOTS, "chrome-broadcast.png"))
    tc.press(shown_button(app, "Stop"))
    toggle = app.named("Broadcast typing")

    def pressed():
        states = toggle.get_state_set()
        return states.contains(Atspi.StateType.CHECKED) or states.contains(Atspi.StateType.PRESSED)
    gs.wait_for(lambda: None if pressed() else True, "broadcast off")
    check(not pressed(), "Stop in the banner ends broadcast typing")

    # 5. Closing a console while its command runs asks; Cancel keeps it.
    select_tab(app, KERB)
    tc.type_text("sleep 60")
    tc.key("Return")
    status_of(app, KERB, lambda n, d: n == "Running…", "the long command running")
    tc.key("ctrl+w")
    keep = app.button("Cancel")
    app.find(lambda w: (w.get_name() or "").startswith("A command is still running on"), "the close question")
    check(keep is not None, "Ctrl+W on a running console asks first")
    tc.press(keep)
    no_dialog_left(app)
    check(console_of(app, KERB) is not None, "Cancel keeps the console and its command")
    tc.key("ctrl+q")
    keep = app.button("Cancel")
    app.find(lambda w: (w.get_name() or "").startswith("A command is still running in 1 console"),
             "the quit question")
    check(app.proc.poll() is None, "Ctrl+Q while a command runs asks before quitting")
    tc.press(keep)
    no_dialog_left(app)
    tc.key("ctrl+w")
    tc.press(app.button("Close Console"))
    no_dialog_left(app)
    def kerb_console():
        return gs.find_widget(app.window, lambda w: app.role(w) == "FILLER" and w.get_name() == KERB)
    gs.wait_for(lambda: None if kerb_console() else True, "the console closed")
    check(kerb_console() is None, "“Close Console” closes it")

    # 6. A failed sign-in in place: access denied, said in the tab, and
    # another account is the action.
    tc.click_at(app.named(OPERATOR))
    tc.key("Return")
    failed = indicator_of(app, OPERATOR, "Access denied", "the access-denied indicator", seconds=60)
    check("Verified" not in failed.get_description(),
          f"access denied: the indicator no longer claims a verified session ({failed.get_description()[:60]}…)")
    status_of(app, OPERATOR, lambda n, d: n == "Access denied", "the status in the tab")
    tc.press(shown_button(app, "Use Another Account…", root=console_of(app, OPERATOR)))
    user = app.named("User", "the account dialog")
    tc.set_text(user, lab.env["LAB_USER"])
    secret = app.named("Password", "the account's password")
    tc.set_text(secret, lab.password)
    tc.click_at(secret)
    tc.key("Return")
    no_dialog_left(app)
    ok = indicator_of(app, OPERATOR, "Verified and encrypted", "the console with another account")
    check(ok is not None, "another account from the banner connects the console")

    # 7. "*" in TrustedHosts: a banner says it covers every host.
    with open(f"{home}/config/castellan/trusted-hosts", "w") as f:
        f.write("127.0.0.1,*\n")
    line = banner(app, "every host (*)", "the TrustedHosts banner")
    check(line is not None, f"a '*' in TrustedHosts shows a banner: “{line.get_name()}”")
    with open(f"{home}/config/castellan/trusted-hosts", "w") as f:
        f.write("127.0.0.1\n")
    def trust_banner():
        return gs.find_widget(app.window, lambda w: "every host (*)" in (w.get_name() or "") and showing(w))
    gs.wait_for(lambda: None if trust_banner() else True, "the banner gone")
    check(trust_banner() is None, "the TrustedHosts banner goes when '*' is removed")

    # 8. Narrow windows: the indicator, the close button and the command
    # line are on screen and usable.
    select_tab(app, NTLM)
    gs.screenshot(os.path.join(SHOTS, "chrome-console.png"))
    for width, height in ((700, 700), (400, 800)):
        resize(app, width, height)
        close = shown_button(app, "Close", what="the window's close button")
        inside_window(app, close, f"at {width}x{height} the close button")
        sec = app.find(lambda w: w.get_name() == "Connection security" and showing(w), "the indicator")
        inside_window(app, sec, f"at {width}x{height} the security indicator")
        entry = app.find(lambda w: w.get_name() == "Command" and showing(w), "the command line")
        inside_window(app, entry, f"at {width}x{height} the command line")
        tc.click_at(entry)
        marker = f"narrow-{width}"
        tc.type_text(f"echo {marker}")
        tc.key("Return")
        done = app.find(lambda w: (w.get_name() or "").startswith("Exit 0") and marker in (w.get_description() or "")
                        and showing(w), f"a command at {width} px")
        check(marker in done.get_description(), f"at {width}x{height} a command typed in the command line runs")
        tc.click_at(sec)
        rows = app.find(lambda w: app.role(w) == "LABEL" and w.get_name() == "Server identity" and visible(w),
                        "the indicator's details")
        check(rows is not None, f"at {width}x{height} the indicator opens its details")
        gs.screenshot(os.path.join(SHOTS, f"chrome-{width}-details.png"))
        tc.key("Escape")
        time.sleep(0.3)
        gs.screenshot(os.path.join(SHOTS, f"chrome-{width}.png"))
    resize(app, 400, 700)
    gs.screenshot(os.path.join(SHOTS, "chrome-narrow.png"))

    # 9. The Kerberos ticket is a key with its principal and time left,
    # with Renew… and Sign Out.
    key = app.named("Kerberos ticket", "the ticket button")
    check(lab.env["LAB_USER"] in (key.get_description() or ""),
          f"the key says whose ticket it is: {key.get_description()}")
    tc.click_at(key)
    check(app.button("Renew…") is not None, "the ticket's popover offers Renew…")
    tc.press(app.button("Sign Out"))
    gs.wait_for(lambda: lab.env["LAB_USER"] not in (key.get_description() or "") or None, "the ticket gone")
    check(lab.env["LAB_USER"] not in (key.get_description() or ""),
          f"Sign Out removes the ticket: {key.get_description()}")


if __name__ == "__main__":
    sys.exit(main())
