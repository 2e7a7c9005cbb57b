#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the window promises before connecting, driven through AT-SPI
against the lab: a connection known to be less protected than last time
is stopped before the password prompt (and Cancel sends nothing to the
peer); the password prompt and the host editor say what level to expect;
the refusal's ways forward come safest first and Cancel leaves the host
as it was, in memory and on disk; "10.20.30.*,*" is called out as every
host; removing an entry updates the console that cited it; the editor's
dropdown values are never cut, in English and in Japanese."""

import json
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
from test_console import App, check, key, press, set_text, type_text, click_at  # noqa: E402

BUILD = os.environ.get("CASTELLAN_BUILD_DIR", "build")
SHOTS = os.path.join(BUILD, "screenshots")
WAS_KERBEROS = "aaaaaaaa-0000-4000-8000-000000000001"
BY_ADDRESS = "aaaaaaaa-0000-4000-8000-000000000002"
FALLS_BACK = "aaaaaaaa-0000-4000-8000-000000000003"


def write_inventory(home, lab):
    inv = os.path.join(home, "data", "castellan")
    os.makedirs(inv)
    with open(os.path.join(inv, "inventory.ini"), "w") as f:
        f.write(f"""[castellan]
version=1

[host {WAS_KERBEROS}]
name=Was Kerberos
address=127.0.0.1
port={lab.http_port}
user=TEST\\\\admin
group=Lab
last-level=verified
last-identity=kerberos
last-auth=kerberos
last-encryption=kerberos-aes256-cts-hmac-sha1-96
last-connected=2026-01-01T00:00:00Z

[host {BY_ADDRESS}]
name=Refused by address
address=192.0.2.55
group=Lab

[host {FALLS_BACK}]
name=Falls back to NTLM
address=localhost
port={lab.http_port}
user=TEST\\admin
group=Lab
last-level=verified
last-identity=kerberos
last-auth=kerberos
last-encryption=kerberos-aes256-cts-hmac-sha1-96
last-connected=2026-01-01T00:00:00Z

[host aaaaaaaa-0000-4000-8000-000000000004]
name=Lab by name
address=localhost
port={lab.http_port}
group=Lab
""")
    os.makedirs(os.path.join(home, "config", "castellan"))
    with open(os.path.join(home, "config", "castellan", "trusted-hosts"), "w") as f:
        f.write("127.0.0.1,localhost\n")
    return os.path.join(inv, "inventory.ini")


def host_section(path, host_id):
    with open(path) as f:
        text = f.read()
    start = text.index(f"[host {host_id}]")
    end = text.find("\n[", start + 1)
    return text[start:end if end >= 0 else len(text)]


def shot(path, frame):
    """The screen cropped to one window (top left under Xvfb, where no
    window manager moves it), at most 1000×700. A moment first, for the
    last change to be drawn (a picture, not an assertion)."""
    time.sleep(0.5)
    gs.screenshot(path)
    ext = frame.get_extents(gs.atspi().CoordType.WINDOW)
    width, height = min(ext.width + 12, 1000), min(ext.height + 12, 700)
    subprocess.run(["/usr/bin/convert", path, "-crop", f"{width}x{height}+0+0", "+repage", path],
                   check=True, timeout=30)


def dialog_of(app, widget_predicate, what):
    """The top-level window that holds the widget."""
    for root in top_levels(app):
        if gs.find_widget(root, widget_predicate) is not None:
            return root
    raise AssertionError(f"no window holds {what}")


def top_levels(app):
    return [app.node.get_child_at_index(i) for i in range(app.node.get_child_count())]


def anywhere(app, predicate):
    for root in top_levels(app):
        found = gs.find_widget(root, predicate)
        if found is not None:
            return found
    return None


def showing(w):
    return w.get_state_set().contains(gs.atspi().StateType.SHOWING)


def visible(w):
    """It and its containers visible, up to its window or popover (GTK 4.8
    does not report SHOWING for every widget)."""
    Atspi = gs.atspi()
    node = w
    while node is not None and node.get_role() != Atspi.Role.FRAME:
        if not node.get_state_set().contains(Atspi.StateType.VISIBLE):
            return False
        node = node.get_parent()
    return node is not None


def let_dialog_go():
    """Another dialog follows the one just answered: no walk of the tree
    while the first is torn down (GTK 4.8 can crash answering for a
    half-disposed one), as App.settle() does when none follows."""
    time.sleep(0.5)


def sensitive(w):
    return w.get_state_set().contains(gs.atspi().StateType.SENSITIVE)


def labelled_buttons(app, root, labels):
    """The showing buttons among labels, in the order a user meets them."""
    found = []

    def walk(w, depth=0):
        if w is None or depth > 40:
            return
        try:
            if app.role(w) == "PUSH_BUTTON" and sensitive(w):
                names = [w.get_name()] + [w.get_child_at_index(i).get_name() for i in range(w.get_child_count())]
                for label in labels:
                    if label in names:
                        ext = w.get_extents(gs.atspi().CoordType.WINDOW)
                        found.append((label, ext.x, ext.y, ext.width, ext.height))
            for i in range(w.get_child_count()):
                walk(w.get_child_at_index(i), depth + 1)
        except Exception:
            return
    walk(root)
    return found


def main():
    home = tempfile.mkdtemp(prefix="castellan-trust-")
    os.makedirs(SHOTS, exist_ok=True)
    with Lab() as lab:
        inventory_path = write_inventory(home, lab)
        gs.start_keyring(home, "lab-keyring")
        env = dict(os.environ, **lab.env, HOME=home, XDG_DATA_HOME=f"{home}/data",
                   XDG_CONFIG_HOME=f"{home}/config", GSETTINGS_BACKEND="memory")
        env.pop("G_DEBUG", None)
        app = App(env).start()
        try:
            refusal(app, inventory_path)
            below_expected(app, lab, inventory_path)
            downgrade(app, lab)
            trusted_hosts(app, home)
            editor(app)
        except AssertionError:
            gs.screenshot(os.path.join(SHOTS, "failure-trust.png"))
            raise
        finally:
            app.stop()
    shutil.rmtree(home, ignore_errors=True)
    for lang in ("", "ja"):
        values_not_cut(lang)
    return 0


def refusal(app, inventory_path):
    row = app.description_of("Refused by address", "Expected: Server not verified — refused unless on TrustedHosts",
                             "the never-connected row's expected level")
    check("refused unless on TrustedHosts" in row.get_description(),
          "a never-connected host's row says what to expect: refused unless on TrustedHosts")
    click_at(app.named("Lab by name"))
    subprocess.run(["xdotool", "click", "3"], check=True, timeout=30)
    press(app.find(lambda w: app.role(w) == "MENU_ITEM" and w.get_name() == "Security Details…",
                   "the row's Security Details… item"))
    details = app.find(lambda w: (w.get_name() or "").startswith("Never connected. Expected: Verified and encrypted"),
                       "Security Details of a never-connected host")
    check("Kerberos mutual authentication will prove the server" in details.get_name(),
          "Security Details of a never-connected host come from the policy, not “connect once to see”")
    dialog = dialog_of(app, lambda w: w is details, "Security Details")
    press(app.find(lambda w: app.role(w) == "PUSH_BUTTON" and sensitive(w) and "Close" in
                   [w.get_child_at_index(i).get_name() for i in range(w.get_child_count())],
                   "the dialog's Close", root=dialog))
    app.settle()
    before = host_section(inventory_path, BY_ADDRESS)
    click_at(row, double=True)
    app.button("Add to TrustedHosts…")
    found = []
    for root in top_levels(app):
        found += labelled_buttons(app, root, ["Use HTTPS…", "Connect by Name…", "Add to TrustedHosts…"])
    # libadwaita builds both layouts and shows one: stacked (one column)
    # when the buttons do not fit side by side, as here. As the eye meets
    # them: top down when stacked, else from the primary (rightmost) end.
    columns = {}
    for b in found:
        columns.setdefault(b[1], []).append(b)
    stacked = [c for c in columns.values() if len(c) == 3]
    if stacked:
        order = [b[0] for b in sorted(stacked[0], key=lambda b: b[2])]
    else:
        order = [b[0] for b in sorted(found, key=lambda b: -b[1])][:3]
    check(order == ["Use HTTPS…", "Connect by Name…", "Add to TrustedHosts…"],
          f"the refusal offers the ways forward safest first: {order}")
    press(app.button("Use HTTPS…"))
    editor = app.find(lambda w: app.role(w) == "FRAME" and w.get_name() == "Edit Host", "the editor for HTTPS")
    app.find(lambda w: w.get_name() == "HTTPS" and app.role(w) == "LABEL", "HTTPS proposed in the editor",
             root=editor)
    press(app.button("Cancel"))
    app.settle()
    detail = app.find(lambda w: (w.get_name() or "").startswith("192.0.2.55"), "the row's detail line")
    check("HTTPS" not in detail.get_name(),
          f"after the editor's Cancel the host in memory is still HTTP ({detail.get_name()})")
    after = host_section(inventory_path, BY_ADDRESS)
    check("https=true" not in after and "https=true" not in before,
          "after the editor's Cancel the host on disk is still HTTP")

    click_at(app.named("Refused by address"), double=True)
    press(app.button("Connect by Name…"))
    editor = app.find(lambda w: app.role(w) == "FRAME" and w.get_name() == "Edit Host", "the editor for a name")
    address = app.find(lambda w: w.get_name() == "Address" and "DNS name" in (w.get_description() or ""),
                       "the address field asking for the name", root=editor)
    check("Type the host’s DNS name" in address.get_description(),
          "“Connect by Name…” opens the editor on the address field, saying what to type")
    press(app.button("Cancel"))
    app.settle()
    check(host_section(inventory_path, BY_ADDRESS).count("address=192.0.2.55") == 1,
          "after the editor's Cancel the host keeps its address")


def below_expected(app, lab, inventory_path):
    """By name, Negotiate may end in NTLM (TrustedHosts allows it): not
    known to be weaker before connecting, so the prompt comes; once signed
    in by NTLM, the console is held before any command, and Cancel closes
    it without recording the weaker verdict."""
    click_at(app.named("Falls back to NTLM"), double=True)
    app.named("Password", "the password prompt")
    expected = app.find(lambda w: (w.get_name() or "").startswith("Expected: Verified and encrypted, or"),
                        "the expected level with its fallback")
    check("if Negotiate ends in NTLM" in expected.get_name(),
          f"the password prompt says what may happen: {expected.get_name()}")
    type_text(lab.password)
    press(app.button("Connect", dialogs_only=True))
    let_dialog_go()
    body = app.find(lambda w: "(expected: “Verified and encrypted" in (w.get_name() or ""),
                    "the alert after signing in")
    check("with ntlm, which cannot prove it" in body.get_name(),
          "signed in by NTLM where Kerberos was last time: the alert says so")
    command = app.named("Command", "the console's command line")
    check(not sensitive(command), "the console is held: no command can be typed while the alert is up")
    press(app.button("Cancel"))
    app.settle()
    gs.wait_for(lambda: anywhere(app, lambda w: w.get_name() == "Command") is None or None,
                "the held console to close")
    check("last-level=verified" in host_section(inventory_path, FALLS_BACK),
          "Cancel keeps the last verdict as it was: the weaker one is not recorded")

    # Again, and Connect Anyway: recorded, and the console says so.
    click_at(app.named("Falls back to NTLM"), double=True)
    app.named("Password", "the password prompt, again")
    type_text(lab.password)
    press(app.button("Connect", dialogs_only=True))
    let_dialog_go()
    app.find(lambda w: "(expected: “Verified and encrypted" in (w.get_name() or ""), "the alert, again")
    press(app.button("Connect Anyway"))
    let_dialog_go()
    app.settle()
    line = app.find(lambda w: app.role(w) == "LABEL" and w.get_name() == "Less protected than last time"
                    and visible(w), "the downgrade banner")
    check(line is not None, "Connect Anyway: the console shows the downgrade banner")
    app.find(lambda w: w.get_name() == "Command" and sensitive(w), "the command line, released")
    gs.wait_for(lambda: "last-level=unverified" in host_section(inventory_path, FALLS_BACK) or None,
                "the weaker verdict recorded")
    check("last-level=unverified" in host_section(inventory_path, FALLS_BACK),
          "Connect Anyway records the weaker verdict")
    key("ctrl+w")
    gs.wait_for(lambda: anywhere(app, lambda w: w.get_name() == "Command") is None or None,
                "the accepted console to close")


def downgrade(app, lab):
    requests = lab.status()["requests"]
    row = app.named("Was Kerberos")
    click_at(row, double=True)
    body = app.find(lambda w: "reached by its address, 127.0.0.1" in (w.get_name() or ""),
                    "the downgrade alert's explanation")
    app.named("Less Protected Than Last Time", "the downgrade alert")
    check("Last time: “Verified and encrypted”" in body.get_name(),
          "the alert says what the last connection was and what changed")
    check(anywhere(app, lambda w: w.get_name() == "Password") is None,
          "the downgrade alert comes before any password prompt")
    shot(os.path.join(SHOTS, "downgrade-alert.png"),
         dialog_of(app, lambda w: w.get_name() == "Less Protected Than Last Time", "the alert"))
    press(app.button("Cancel"))
    app.settle()
    check(lab.status()["requests"] == requests, "Cancel on the alert sent nothing to the peer")

    click_at(app.named("Was Kerberos"), double=True)
    press(app.button("Connect Anyway"))
    let_dialog_go()
    app.named("Password", "the password prompt")
    expected = app.find(lambda w: (w.get_name() or "").startswith("Expected: Server not verified")
                        and "allowed by" in w.get_name(), "the expected level in the password prompt")
    check("TrustedHosts entry “127.0.0.1”" in expected.get_name(),
          f"the password prompt says what to expect: {expected.get_name()}")
    shot(os.path.join(SHOTS, "password-expected.png"),
         dialog_of(app, lambda w: w.get_name() == "Password", "the password prompt"))
    type_text(lab.password)
    press(app.button("Connect", dialogs_only=True))
    let_dialog_go()
    app.settle()
    sec = app.find(lambda w: w.get_name() == "Connection security"
                   and "ntlm-rc4-128" in (w.get_description() or ""), "the NTLM verdict")
    check("TrustedHosts entry 127.0.0.1" in sec.get_description(),
          "accepted before connecting, the weaker connection goes ahead without a second alert")
    app.find(lambda w: w.get_name() == "Command" and sensitive(w), "the command line, enabled")
    line = app.find(lambda w: app.role(w) == "LABEL" and w.get_name() == "Less protected than last time"
                    and visible(w), "the downgrade banner")
    check(line is not None, "the accepted downgrade shows as the console's banner")
    type_text("echo after-downgrade")
    key("Return")
    app.find(lambda w: (w.get_name() or "").startswith("Exit 0")
             and "after-downgrade" in (w.get_description() or ""), "a command after the accepted downgrade")


def trusted_hosts(app, home):
    key("ctrl+shift+t")
    window = app.find(lambda w: app.role(w) == "FRAME" and w.get_name() == "TrustedHosts", "the TrustedHosts window")
    several = app.find(lambda w: w.get_name() == "localhost" and "Covers 2 saved hosts" in (w.get_description() or ""),
                       "the localhost entry with the hosts it covers", root=window)
    app.find(lambda w: w.get_name() == "One name, several saved hosts", "the localhost entry's class", root=window)
    check("Falls back to NTLM" in several.get_description() and "Lab by name" in several.get_description(),
          "“localhost” is not called “one host”: it says it covers two saved hosts")
    field = app.find(lambda w: (w.get_name() or "").startswith("Add entries"), "the field for new entries",
                     root=window)
    set_text(field, "10.20.30.*,*")
    # The field has the window's first focus: Enter applies it.
    key("Return")
    every = app.find(lambda w: "covers every host you will ever connect to" in (w.get_name() or ""),
                     "the every-host warning")
    check("“*”" in every.get_name(), "“10.20.30.*,*” gets the every-host warning, not “many hosts”")
    star = app.find(lambda w: w.get_name() == "*" and "Every host" in (w.get_description() or ""),
                    "the “*” entry classified on its own")
    wild = app.find(lambda w: w.get_name() == "10.20.30.*" and "Many hosts" in (w.get_description() or ""),
                    "the “10.20.30.*” entry classified on its own")
    check(star is not None and wild is not None, "each entry is classified on its own")
    shot(os.path.join(SHOTS, "trustedhosts-every-host.png"),
         dialog_of(app, lambda w: "covers every host you will" in (w.get_name() or ""), "the confirmation"))
    press(app.button("Cancel"))
    gs.wait_for(lambda: anywhere(app, lambda w: "covers every host you will" in (w.get_name() or "")) is None
                or None, "the confirmation to close")

    press(app.button("Remove 127.0.0.1"))
    path = os.path.join(home, "config", "castellan", "trusted-hosts")
    gs.wait_for(lambda: "127.0.0.1" not in open(path).read() or None, "the entry removed from the file")
    key("Escape")
    app.settle()
    sec = app.find(lambda w: w.get_name() == "Connection security"
                   and "ntlm-rc4-128" in (w.get_description() or "")
                   and "TrustedHosts entry" not in (w.get_description() or ""),
                   "the console no longer citing the removed entry")
    check("TrustedHosts entry" not in sec.get_description(),
          "removing the entry updates the console that cited it")
    click_at(sec)
    note = app.find(lambda w: "that allowed this connection was removed" in (w.get_name() or "") and visible(w),
                    "the console's note of the removal, in its details")
    check("a new connection to this host will be refused" in note.get_name(),
          "the console's details say the entry is gone and what that means")
    key("Escape")


def editor(app):
    key("ctrl+n")
    editor = app.find(lambda w: app.role(w) == "FRAME" and w.get_name() == "Add Host", "the host editor")
    save = app.find(lambda w: app.role(w) == "PUSH_BUTTON" and "Save" in [w.get_child_at_index(i).get_name()
                    for i in range(w.get_child_count())] + [w.get_name()], "the Save button", root=editor)
    check(not sensitive(save), "Save is insensitive while the address is empty")
    address = app.find(lambda w: w.get_name() == "Address", "the address field", root=editor)
    set_text(address, "10.20.30.40")
    app.find(lambda w: w.get_name() == "Expected: Server not verified — refused unless on TrustedHosts",
             "the expected level of an address", root=editor)
    check(sensitive(save), "a valid address makes Save sensitive")
    set_text(app.find(lambda w: w.get_name() == "Name", "the name field", root=editor), "Branch office")
    shot(os.path.join(SHOTS, "editor-expected.png"), editor)
    set_text(address, "[fe80::1")
    bad = app.find(lambda w: w.get_name() == "Address" and (w.get_description() or "") != "",
                   "the error on the address field", root=editor)
    check(not sensitive(save), f"an invalid address is reported on its field ({bad.get_description()}) "
          "and Save is insensitive")
    set_text(address, "srv-new.test.local")
    app.find(lambda w: w.get_name() == "Address" and (w.get_description() or "") == "",
             "the address error cleared once fixed", root=editor)
    app.find(lambda w: w.get_name() == "Expected: Verified and encrypted", "the expected level of a name",
             root=editor)
    check(sensitive(save), "fixed, the error is gone and Save is sensitive again")
    set_text(app.find(lambda w: w.get_name() == "Name", "the name field", root=editor), "New by name")
    press(save)
    app.settle()
    app.description_of("New by name", "Expected: Verified and encrypted", "the new host's expected level")
    print("ok - a new host's row says what to expect before any connection")


def values_not_cut(lang):
    """Every value shown in the editor's dropdowns has at least the width
    GTK gives the same text unconstrained: the new host's defaults, then a
    saved host's longest values (HTTPS, Kerberos, PowerShell)."""
    home = tempfile.mkdtemp(prefix="castellan-trust-lang-")
    inv = os.path.join(home, "data", "castellan")
    os.makedirs(inv)
    with open(os.path.join(inv, "inventory.ini"), "w") as f:
        f.write("[castellan]\nversion=1\n\n[host aaaaaaaa-0000-4000-8000-000000000009]\nname=Longest values\n"
                "address=srv.test.local\nhttps=true\nauth=kerberos\nshell=powershell\n")
    env = dict(os.environ, HOME=home, XDG_DATA_HOME=f"{home}/data", XDG_CONFIG_HOME=f"{home}/config",
               GSETTINGS_BACKEND="memory", LANGUAGE=lang)
    env.pop("G_DEBUG", None)
    env.pop("LC_ALL", None)
    app = App(env).start()
    try:
        key("ctrl+n")
        check_values(app, env, lang, "Add Host")
        key("Escape")
        app.settle()
        row = app.named("Longest values")
        click_at(row)
        subprocess.run(["xdotool", "click", "3"], check=True, timeout=30)
        press(app.find(lambda w: app.role(w) == "MENU_ITEM" and w.get_name() == gettext(env, "_Edit…").replace("_", ""),
                       "the row's Edit… item"))
        check_values(app, env, lang, "Edit Host")
        if lang:
            shot(os.path.join(SHOTS, f"editor-{lang}.png"),
                 app.find(lambda w: app.role(w) == "FRAME" and w.get_name() == gettext(env, "Edit Host"),
                          "the editor"))
        key("Escape")
        app.settle()
    finally:
        app.stop()
        shutil.rmtree(home, ignore_errors=True)


def gettext(env, text):
    return subprocess.run(["gettext", "-d", "castellan", text], capture_output=True, text=True, timeout=30,
                          env=dict(env, LC_ALL="C.UTF-8", TEXTDOMAINDIR=os.path.join(BUILD, "po"))).stdout


def check_values(app, env, lang, title):
    title = gettext(env, title)
    editor = app.find(lambda w: app.role(w) == "FRAME" and w.get_name() == title, f"the editor ({lang})")

    def combos():
        found = []

        def walk(w, depth=0):
            if w is None or depth > 40:
                return
            if app.role(w) == "COMBO_BOX":
                found.append(w)
            for i in range(w.get_child_count()):
                walk(w.get_child_at_index(i), depth + 1)
        walk(editor)
        return found if len(found) >= 3 else None
    values = []
    for combo in gs.wait_for(combos, "the dropdowns"):
        item = gs.find_widget(combo, lambda w: app.role(w) == "LIST_ITEM")
        label = gs.find_widget(item, lambda w: app.role(w) == "LABEL")
        ext = label.get_extents(gs.atspi().CoordType.WINDOW)
        values.append((combo.get_name(), label.get_name(), ext.width))
    out = subprocess.run([sys.executable, os.path.join(HERE, "measure_text.py")] + [v[1] for v in values],
                         capture_output=True, text=True, timeout=60, env=env, check=True).stdout
    natural = json.loads(out)
    for combo, value, width in values:
        check(width >= natural[value],
              f"{lang or 'en'}: “{combo}” shows “{value}” whole ({width} px for {natural[value]} px)")
    if lang and title == gettext(env, "Add Host"):
        default = gettext(env, "Default")
        check(default != "Default" and default in [v[1] for v in values],
              f"{lang}: the editor speaks the language ({[v[1] for v in values]})")


if __name__ == "__main__":
    sys.exit(main())
