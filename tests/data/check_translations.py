#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Every language in po/LINGUAS is complete against the sources as they are
now: its .po passes `msgfmt --check`, and merged with a template extracted
afresh from po/POTFILES it leaves no message untranslated or fuzzy. The
built desktop file and metainfo carry every language too."""

import os
import subprocess
import sys
import tempfile

SOURCE = os.environ.get("CASTELLAN_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("CASTELLAN_BUILD_DIR", os.path.join(SOURCE, "build"))
REQUIRED = {"zh_TW", "sv", "ja", "nl", "ko"}

# The keywords and flags of meson's "glib" gettext preset.
XGETTEXT_ARGS = [
    "--from-code=UTF-8", "--add-comments", "--keyword=_", "--keyword=N_",
    "--keyword=C_:1c,2", "--keyword=NC_:1c,2", "--keyword=g_dcgettext:2",
    "--keyword=g_dngettext:2,3", "--keyword=g_dpgettext2:2c,3",
    "--flag=N_:1:pass-c-format", "--flag=C_:2:pass-c-format", "--flag=NC_:2:pass-c-format",
    "--flag=g_dngettext:2:pass-c-format", "--flag=g_strdup_printf:1:c-format",
    "--flag=g_string_printf:2:c-format", "--flag=g_string_append_printf:2:c-format",
    "--flag=g_error_new:3:c-format", "--flag=g_set_error:4:c-format",
    "--flag=g_markup_printf_escaped:1:c-format", "--flag=g_log:3:c-format",
    "--flag=g_print:1:c-format", "--flag=g_printerr:1:c-format",
    "--flag=g_printf:1:c-format", "--flag=g_fprintf:2:c-format",
    "--flag=g_sprintf:2:c-format", "--flag=g_snprintf:3:c-format",
]


def run(args):
    return subprocess.run(args, capture_output=True, text=True, timeout=120)


def msgids(po_text):
    """The msgids of a catalogue printed by msgattrib, one line each."""
    ids, current = [], None
    for line in po_text.splitlines():
        if line.startswith("msgid "):
            current = [line[6:].strip('"')]
        elif current is not None and line.startswith('"'):
            current.append(line.strip('"'))
        elif current is not None:
            text = "".join(current)
            if text:
                ids.append(text[:70])
            current = None
    return ids


def check_language(lang, pot, failures, po=None):
    po = po or os.path.join(SOURCE, "po", f"{lang}.po")
    before = len(failures)
    if not os.path.exists(po):
        failures.append(f"{lang}: po/{lang}.po is missing")
        return
    res = run(["msgfmt", "--check", "--statistics", "-o", "/dev/null", po])
    if res.returncode != 0:
        failures.append(f"{lang}: msgfmt --check fails:\n{res.stderr.strip()}")
        return
    with tempfile.NamedTemporaryFile(suffix=".po") as merged:
        res = run(["msgmerge", "--quiet", "-o", merged.name, po, pot])
        if res.returncode != 0:
            failures.append(f"{lang}: msgmerge fails: {res.stderr.strip()}")
            return
        for what, flag in (("untranslated", "--untranslated"), ("fuzzy", "--only-fuzzy")):
            left = msgids(run(["msgattrib", flag, "--no-obsolete", merged.name]).stdout)
            for text in left:
                failures.append(f"{lang}: {what}: {text}")
    if len(failures) == before and lang != "proof":
        print(f"ok - {lang}: {res.stderr.strip() or 'complete'}")


def prove_the_check(tmp, failures):
    """A catalogue with a wrong directive, and one with a message left
    out, must each be caught."""
    header = 'msgid ""\nmsgstr "Content-Type: text/plain; charset=UTF-8\\n"\n\n'
    pot = os.path.join(tmp, "proof.pot")
    with open(pot, "w") as f:
        f.write(header + '#, c-format\nmsgid "%s hosts"\nmsgstr ""\n\nmsgid "Close"\nmsgstr ""\n')
    for case, body in (("wrong directive", '#, c-format\nmsgid "%s hosts"\nmsgstr "%d värdar"\n\n'
                                           'msgid "Close"\nmsgstr "Stäng"\n'),
                       ("left out", '#, c-format\nmsgid "%s hosts"\nmsgstr "%s värdar"\n')):
        po = os.path.join(tmp, "proof.po")
        with open(po, "w") as f:
            f.write(header + body)
        caught = []
        check_language("proof", pot, caught, po)
        if not caught:
            failures.append(f"the check misses a catalogue with a message {case}")


def check_merged_files(langs, failures):
    for name, marker in (("io.github.castellan.Castellan.desktop", "Comment[{}]="),
                         ("io.github.castellan.Castellan.metainfo.xml", 'xml:lang="{}"')):
        path = os.path.join(BUILD, "data", name)
        if not os.path.exists(path):
            failures.append(f"{name} was not built")
            continue
        with open(path, encoding="utf-8") as f:
            text = f.read()
        for lang in langs:
            if marker.format(lang) not in text:
                failures.append(f"{name} has no {lang} translation")


def main():
    with open(os.path.join(SOURCE, "po", "LINGUAS")) as f:
        langs = [w for line in f if not line.startswith("#") for w in line.split()]
    failures = [f"po/LINGUAS lacks {lang}" for lang in sorted(REQUIRED - set(langs))]
    with tempfile.TemporaryDirectory() as tmp:
        pot = os.path.join(tmp, "castellan.pot")
        res = run(["xgettext", *XGETTEXT_ARGS, "--directory", SOURCE,
                   "--files-from", os.path.join(SOURCE, "po", "POTFILES"), "-o", pot])
        if res.returncode != 0:
            print(f"not ok - xgettext fails: {res.stderr}")
            return 1
        prove_the_check(tmp, failures)
        for lang in langs:
            check_language(lang, pot, failures)
    check_merged_files(langs, failures)
    for failure in failures:
        print(f"not ok - {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
