#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""What `cmd.exe` is on the lab peer: an interpreter that reads lines on
stdin like cmd does when its input is a pipe, so that `cd`, `set` and
%ERRORLEVEL% persist from one line to the next. Other lines run through
/bin/sh in the current directory and environment.

/Q turns echo off (no prompt, no echo of the line); /C LINE runs one line
and exits; /K or nothing reads stdin until EOF or `exit`.
"""

import os
import re
import signal
import subprocess
import sys

VAR = re.compile(r"%([A-Za-z_][A-Za-z0-9_]*)%")


class Cmd:
    def __init__(self, echo):
        self.echo = echo
        self.env = dict(os.environ)
        self.errorlevel = 0

    def expand(self, line):
        def sub(m):
            name = m.group(1)
            if name.upper() == "ERRORLEVEL":
                return str(self.errorlevel)
            if name.upper() == "CD":
                return os.getcwd()
            return self.env.get(name, m.group(0))
        return VAR.sub(sub, line)

    def prompt(self):
        if self.echo:
            sys.stdout.write(f"{os.getcwd()}>")
            sys.stdout.flush()

    def run(self, raw):
        line = self.expand(raw.strip())
        if self.echo:
            sys.stdout.write(line + "\n")
        if not line:
            return None
        word, _, rest = line.partition(" ")
        word = word.lower()
        rest = rest.strip()
        if word == "exit":
            m = re.match(r"/b\s*(-?\d+)?", rest, re.I)
            code = rest if rest.lstrip("-").isdigit() else (m.group(1) if m else None)
            return int(code) if code is not None else self.errorlevel
        if word == "cd" or word == "chdir":
            if rest.lower().startswith("/d "):
                rest = rest[3:].strip()
            if not rest:
                print(os.getcwd())
            else:
                try:
                    os.chdir(os.path.expanduser(rest.strip('"')))
                    self.errorlevel = 0
                except OSError:
                    print("The system cannot find the path specified.", file=sys.stderr)
                    self.errorlevel = 1
            return None
        if word == "set" and "=" in rest:
            name, _, value = rest.partition("=")
            if value:
                self.env[name] = value
            else:
                self.env.pop(name, None)
            self.errorlevel = 0
            return None
        sys.stdout.flush()
        proc = subprocess.run(["/bin/sh", "-c", line], env=self.env,
                              preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        self.errorlevel = proc.returncode if proc.returncode >= 0 else 128 - proc.returncode
        return None


def main(argv):
    # Ctrl+C stops the running line, not the interpreter, as in cmd.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    args = list(argv)
    echo = True
    while args and args[0].startswith("/"):
        flag = args.pop(0).upper()
        if flag == "/Q":
            echo = False
        elif flag == "/C":
            cmd = Cmd(echo=False)
            code = cmd.run(" ".join(args))
            return code if code is not None else cmd.errorlevel
        # /K and the rest: read stdin
    cmd = Cmd(echo)
    cmd.prompt()
    for raw in sys.stdin:
        code = cmd.run(raw.rstrip("\r\n"))
        sys.stdout.flush()
        sys.stderr.flush()
        if code is not None:
            return code
        cmd.prompt()
    return cmd.errorlevel


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
