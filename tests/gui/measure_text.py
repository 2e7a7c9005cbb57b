#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Prints, as JSON, the natural width GTK gives each text argument in a
plain label, with the same display, fonts, language and stylesheet as the
app: what a label needs so as not to be cut."""

import json
import os
import sys

os.environ["GTK_A11Y"] = "none"
import gi  # noqa: E402

gi.require_version("Gtk", "4.0")
gi.require_version("Adw", "1")
from gi.repository import Adw, Gtk  # noqa: E402

Adw.init()
widths = {}
for text in sys.argv[1:]:
    label = Gtk.Label(label=text)
    _minimum, natural, _b1, _b2 = label.measure(Gtk.Orientation.HORIZONTAL, -1)
    widths[text] = natural
print(json.dumps(widths))
