#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""The app starts under Xvfb and shows its window, found through AT-SPI."""

import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import guisession as gs  # noqa: E402

gs.reexec_inside()

BUILD = os.environ.get("CASTELLAN_BUILD_DIR", "build")
APP = os.path.join(BUILD, "src", "castellan")


def main():
    home = tempfile.mkdtemp(prefix="castellan-home-")
    env = dict(os.environ, HOME=home, XDG_DATA_HOME=f"{home}/data",
               XDG_CONFIG_HOME=f"{home}/config", GSETTINGS_BACKEND="memory",
               GTK_A11Y="atspi")
    env.pop("G_DEBUG", None)
    app = subprocess.Popen([APP], env=env)
    try:
        Atspi = gs.atspi()
        node = gs.wait_for(lambda: gs.find_app("castellan"), "the castellan application",
                           process=app)
        window = gs.wait_for(
            lambda: gs.find_widget(node, lambda w: w.get_role() == Atspi.Role.FRAME
                                   and w.get_name() == "Castellan"),
            "the main window")
        for name in ("No Hosts", "No Console Open", "Add Host", "Quick connect"):
            gs.wait_for(lambda: gs.find_widget(window, lambda w: w.get_name() == name), name)
        gs.screenshot(os.path.join(BUILD, "screenshots", "app-window.png"))
        print("ok - the main window shows its empty states, the add button and quick connect")
    finally:
        app.terminate()
        try:
            app.wait(10)
        except subprocess.TimeoutExpired:
            app.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
