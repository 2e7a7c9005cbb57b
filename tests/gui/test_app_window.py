#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""The app starts under Xvfb and shows its window, found through AT-SPI;
then once in each language of po/LINGUAS, where it must speak that
language."""

import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import guisession as gs  # noqa: E402

gs.reexec_inside()

BUILD = os.environ.get("CASTELLAN_BUILD_DIR", "build")
APP = os.path.join(BUILD, "src", "castellan")


SOURCE = os.environ.get("CASTELLAN_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
NAMES = ("No Hosts", "No hosts yet", "Add Host", "Quick connect")


def translate(lang, text):
    return subprocess.run(["gettext", "-d", "castellan", text], capture_output=True, text=True,
                          check=True, timeout=30,
                          env=dict(os.environ, LC_ALL="C.UTF-8", LANGUAGE=lang,
                                   TEXTDOMAINDIR=os.path.join(BUILD, "po"))).stdout


def show_window(lang, names):
    home = tempfile.mkdtemp(prefix="castellan-home-")
    env = dict(os.environ, HOME=home, XDG_DATA_HOME=f"{home}/data",
               XDG_CONFIG_HOME=f"{home}/config", GSETTINGS_BACKEND="memory",
               GTK_A11Y="atspi", LANGUAGE=lang)
    env.pop("G_DEBUG", None)
    env.pop("LC_ALL", None)
    env.pop("LANG", None)
    app = subprocess.Popen([APP], env=env)
    try:
        Atspi = gs.atspi()
        node = gs.wait_for(lambda: gs.find_app("castellan", app.pid), "the castellan application",
                           process=app)
        window = gs.wait_for(
            lambda: gs.find_widget(node, lambda w: w.get_role() == Atspi.Role.FRAME
                                   and w.get_name() == "Castellan"),
            "the main window")
        for name in names:
            gs.wait_for(lambda: gs.find_widget(window, lambda w: w.get_name() == name),
                        f"“{name}” ({lang or 'en'})")
        gs.screenshot(os.path.join(BUILD, "screenshots", f"app-window{'-' + lang if lang else ''}.png"))
    finally:
        app.terminate()
        try:
            app.wait(10)
        except subprocess.TimeoutExpired:
            app.kill()
            app.wait(10)
        shutil.rmtree(home, ignore_errors=True)


def main():
    show_window("", NAMES)
    print("ok - the main window shows its empty states, the add button and quick connect")
    with open(os.path.join(SOURCE, "po", "LINGUAS")) as f:
        langs = [w for line in f if not line.startswith("#") for w in line.split()]
    for lang in langs:
        names = [translate(lang, name) for name in NAMES]
        if names == list(NAMES):
            print(f"not ok - {lang}: no translation found in {BUILD}/po")
            return 1
        show_window(lang, names)
        print(f"ok - in {lang}: " + ", ".join(names))
    return 0


if __name__ == "__main__":
    sys.exit(main())
