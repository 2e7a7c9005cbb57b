#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""./dev demo: the lab, and Castellan on an inventory that shows every
security level at once:

  Kerberos by name        proven by Kerberos, sealed with AES-256
  HTTPS with a CA         proven by TLS
  NTLM by address         not proven, RC4, allowed by TrustedHosts
  Basic over HTTP         refused before any password is sent
  Non-administrator       signed in, then Access Denied, explained

It runs in a private session bus with its own keyring, so the lab's
throwaway passwords never touch the user's keyring.

  demo.py [--screenshot FILE]   (with --screenshot: under Xvfb, then exit)
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "gui"))
sys.path.insert(0, os.path.join(HERE, "..", "lab-checks"))
import guisession as gs  # noqa: E402

BUILD = os.environ.get("CASTELLAN_BUILD_DIR", os.path.join(HERE, "..", "..", "build"))
APP = os.path.join(BUILD, "src", "castellan")

HOSTS = [
    ("Kerberos by name", "localhost", "http", {}),
    ("HTTPS with a CA", "localhost", "https", {"ca-file": "LAB_CA_FILE"}),
    ("NTLM by address", "127.0.0.1", "http", {"user": "LAB_NTLM_USER"}),
    ("Basic over HTTP", "localhost", "http", {"auth": "basic", "user": "admin"}),
    ("Non-administrator", "localhost", "http", {"user": "LAB_NONADMIN_USER"}),
]


def write_inventory(home, lab):
    lines = ["[castellan]", "version=1", ""]
    for i, (name, address, transport, extra) in enumerate(HOSTS):
        port = lab.https_port if transport == "https" else lab.http_port
        lines += [f"[host 00000000-0000-0000-0000-00000000000{i}]", f"name={name}",
                  f"address={address}", f"port={port}", "group=Demo"]
        if transport == "https":
            lines.append("https=true")
        for key, value in extra.items():
            value = lab.env.get(value, value)
            lines.append(f"{key}={value.replace(chr(92), chr(92) * 2)}")
        lines.append("")
    os.makedirs(f"{home}/data/castellan")
    with open(f"{home}/data/castellan/inventory.ini", "w") as f:
        f.write("\n".join(lines))
    os.makedirs(f"{home}/config/castellan")
    with open(f"{home}/config/castellan/trusted-hosts", "w") as f:
        f.write("127.0.0.1\n")


def store_passwords(lab):
    import gi
    gi.require_version("Secret", "1")
    from gi.repository import Secret
    schema = Secret.Schema.new("io.github.castellan.Castellan.Password", Secret.SchemaFlags.NONE,
                               {"host-id": Secret.SchemaAttributeType.STRING,
                                "user": Secret.SchemaAttributeType.STRING})
    for i, (name, _a, _t, extra) in enumerate(HOSTS):
        if "user" not in extra:
            continue
        user = lab.env.get(extra["user"], extra["user"])
        password = lab.nonadmin_password if "NONADMIN" in extra["user"] else lab.password
        Secret.password_store_sync(schema, {"host-id": f"00000000-0000-0000-0000-00000000000{i}",
                                            "user": user},
                                   Secret.COLLECTION_DEFAULT, f"Castellan demo: {name}", password, None)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--screenshot")
    args = parser.parse_args()
    if args.screenshot:
        gs.reexec_inside()
    elif not os.environ.get("CASTELLAN_DEMO_SESSION"):
        # A private session bus (and so a private keyring) on the user's display.
        env = dict(os.environ, CASTELLAN_DEMO_SESSION="1")
        sys.exit(subprocess.run(["dbus-run-session", "--", sys.executable] + sys.argv,
                                env=env).returncode)

    from labfixture import Lab
    home = tempfile.mkdtemp(prefix="castellan-demo-")
    with Lab() as lab:
        write_inventory(home, lab)
        gs.start_keyring(home, "demo")
        store_passwords(lab)
        env = dict(os.environ, **lab.env, HOME=home, XDG_DATA_HOME=f"{home}/data",
                   XDG_CONFIG_HOME=f"{home}/config",
                   GSETTINGS_SCHEMA_DIR=os.path.join(BUILD, "data"), GSETTINGS_BACKEND="memory")
        env.pop("G_DEBUG", None)
        connect = []
        for name, *_ in HOSTS:
            connect += ["--connect", name]
        print(f"Demo lab in {lab.dir}; hosts and keyring in {home}", file=sys.stderr)
        app = subprocess.Popen([APP, *connect], env=env)
        if args.screenshot:
            # Let every host answer, then show the Kerberos tab's details.
            time.sleep(6)
            subprocess.run(["xdotool", "key", "Escape"], timeout=30)  # the Basic refusal
            time.sleep(0.5)
            subprocess.run(["xdotool", "key", "ctrl+Page_Up"], timeout=30)
            time.sleep(1)
            gs.screenshot(args.screenshot)
            app.terminate()
        try:
            app.wait()
        except KeyboardInterrupt:
            app.terminate()
    shutil.rmtree(home, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
