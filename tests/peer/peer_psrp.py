# SPDX-License-Identifier: GPL-3.0-or-later
"""PowerShell runspace pools of the lab peer: real PowerShell behind WS-Man.

A shell on resource URI http://schemas.microsoft.com/powershell/<name> is
one `pwsh -NoLogo -s` process, PowerShell's out-of-process server. It
speaks the same PSRP fragments a WinRM host carries, framed as one XML
packet a line on its stdin and stdout (Data with Stream and PSGuid, and
Command, Signal, Close with their Ack packets); the pool's own packets have
the empty GUID, a pipeline's carry its CommandId. The peer translates the
envelope only: fragments go through untouched, except that a fragment
larger than a Receive can carry is split into several (same ObjectId,
consecutive FragmentIds), as a WinRM host's own fragmenter would size them.
"""

import base64
import os
import re
import shutil
import struct
import subprocess
import threading
import time
import uuid

from peer_soap import esc

PSRP_URI_PREFIX = "http://schemas.microsoft.com/powershell/"
EMPTY_GUID = "00000000-0000-0000-0000-000000000000"

PIPELINE_STATE = 0x00041006
# Stopped, Completed, Failed: the pipeline has said its last word.
FINAL_PIPELINE_STATES = (3, 4, 5)

# pwsh acknowledges each packet; these bound every wait for it.
START_SECONDS = 60
ACK_SECONDS = 30
EXIT_SECONDS = 5
GATHER_SECONDS = 0.01
FRAGMENT_HEADER = 21
# An rsp:Stream element around a fragment, counted in the bytes the budget
# of a Receive is measured in (before base64).
STREAM_OVERHEAD = 96

RESTRICTED = "Castellan.Restricted"
# A JEA-style endpoint: RestrictedRemoteServer (NoLanguage; Get-Command,
# Measure-Object, Select-Object, Out-Default, Exit-PSSession and a few
# more as proxy functions) with Get-Date made visible.
RESTRICTED_PSSC = """@{
SchemaVersion = '2.0.0.0'
GUID = '5d0c3f4e-2b6a-4f38-9e51-7a1c0b9d2e64'
Description = 'Castellan lab: restricted endpoint'
SessionType = 'RestrictedRemoteServer'
LanguageMode = 'NoLanguage'
VisibleCmdlets = 'Get-Date'
}
"""
CONFIGURATIONS = ("Microsoft.PowerShell", RESTRICTED)

COMMAND_LINE_NAMES = ("powershell", "powershell.exe", "pwsh", "pwsh.exe")


PWSH_CACHE = "/var/cache/castellan/pwsh-7.6.10"


def find_pwsh():
    """The pwsh the lab runs: $CASTELLAN_PWSH (set by ./dev), else the one
    ./dev keeps in its cache, else pwsh from PATH; None without any."""
    path = os.environ.get("CASTELLAN_PWSH")
    if path:
        return path if os.access(path, os.X_OK) else None
    cached = os.path.join(os.environ.get("CASTELLAN_PWSH_CACHE") or PWSH_CACHE, "pwsh")
    if os.access(cached, os.X_OK):
        return cached
    return shutil.which("pwsh")


def configuration_of(resource_uri):
    """The configuration name of a PowerShell resource URI, or None."""
    if not resource_uri.startswith(PSRP_URI_PREFIX):
        return None
    return resource_uri[len(PSRP_URI_PREFIX):].strip("/")


class PoolError(Exception):
    """A pool or pipeline operation that cannot be carried out; the text
    says what happened, for the fault's message."""


def normal_guid(text):
    try:
        return str(uuid.UUID(text)).upper()
    except (TypeError, ValueError):
        return None


class Output:
    """What pwsh produced for one PSGuid, as whole fragments, and whether
    the pipeline has ended (never set for the pool)."""

    def __init__(self):
        self.fragments = []
        self.finished = False
        self.message = bytearray()
        # Fragments added by splitting, by ObjectId: later FragmentIds of
        # that object move up by as many.
        self.shifts = {}

    def renumbered(self, fragment):
        oid, fid = struct.unpack_from(">QQ", fragment, 0)
        shift = self.shifts.get(oid, 0)
        if fragment[16] & 2:
            self.shifts.pop(oid, None)
        if not shift:
            return fragment
        return fragment[:8] + struct.pack(">Q", fid + shift) + fragment[16:]

    def shift_after_split(self, fragment):
        (oid,) = struct.unpack_from(">Q", fragment, 0)
        self.shifts[oid] = self.shifts.get(oid, 0) + 1


class Pool:
    def __init__(self, owner, env, cwd, configuration, shell_id=None):
        self.id = shell_id or str(uuid.uuid4()).upper()
        self.owner = owner
        self.env = env
        self.cwd = cwd
        self.configuration = configuration
        self.resource_uri = PSRP_URI_PREFIX + configuration
        self.proc = None
        self.cond = threading.Condition()
        self.write_lock = threading.Lock()
        self.acks = {}
        self.outputs = {EMPTY_GUID: Output()}
        # Pipelines by CommandId (upper case).
        self.commands = {}
        self.stderr_tail = b""
        self.exit_code = None
        self.started_seconds = None
        self.opened_seconds = None

    # ---- the process ---------------------------------------------------------

    def start(self, creation, pwsh, config_file=None):
        """Start pwsh and give it the pool's creation fragments; returns once
        pwsh has acknowledged them (the pool is then open or broken)."""
        argv = [pwsh, "-NoLogo", "-NoProfile", "-s"]
        if config_file:
            argv += ["-ConfigurationFile", config_file]
        t = time.monotonic()
        try:
            self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=subprocess.PIPE, env=self.env, cwd=self.cwd,
                                         start_new_session=True)
        except OSError as exc:
            raise PoolError(f"PowerShell could not be started ({pwsh}): {exc.strerror}") from exc
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._read_stderr, daemon=True).start()
        threading.Thread(target=self._wait, daemon=True).start()
        self.send(EMPTY_GUID, creation, "stdin", START_SECONDS)
        self.started_seconds = time.monotonic() - t

    def _wait(self):
        code = self.proc.wait()
        with self.cond:
            self.exit_code = code
            self.cond.notify_all()

    def _read_stderr(self):
        for line in self.proc.stderr:
            with self.cond:
                self.stderr_tail = (self.stderr_tail + line)[-2000:]

    def _read(self):
        for line in self.proc.stdout:
            m = re.match(rb"\s*<(\w+)\s+([^>]*?)\s*(/>|>([^<]*)</\1>)\s*$", line)
            if not m:
                continue
            tag = m.group(1).decode()
            attrs = dict(re.findall(r"(\w+)='([^']*)'", m.group(2).decode()))
            guid = normal_guid(attrs.get("PSGuid"))
            if guid is None:
                continue
            if tag == "Data":
                try:
                    data = base64.b64decode(m.group(4) or b"", validate=True)
                except ValueError:
                    continue
                self._take(guid, data)
            elif tag.endswith("Ack"):
                with self.cond:
                    key = (tag, guid)
                    self.acks[key] = self.acks.get(key, 0) + 1
                    self.cond.notify_all()

    def _take(self, guid, data):
        """Split pwsh's data into fragments and note a pipeline's last state."""
        with self.cond:
            out = self.outputs.get(guid)
            if out is None:
                # A pipeline already terminated: nobody will receive it.
                return
            pos = 0
            while pos + FRAGMENT_HEADER <= len(data):
                _oid, fid, flags, length = struct.unpack_from(">QQBI", data, pos)
                end = pos + FRAGMENT_HEADER + length
                fragment = data[pos:end]
                pos = end
                out.fragments.append(fragment)
                blob = fragment[FRAGMENT_HEADER:]
                if flags & 1 or fid == 0:
                    out.message = bytearray()
                out.message += blob
                if flags & 2:
                    self._note_message(out, bytes(out.message))
                    out.message = bytearray()
            self.cond.notify_all()

    @staticmethod
    def _note_message(out, message):
        if len(message) < 40:
            return
        (kind,) = struct.unpack_from("<I", message, 4)
        if kind != PIPELINE_STATE:
            return
        m = re.search(rb'<I32 N="PipelineState">(\d+)</I32>', message)
        if m and int(m.group(1)) in FINAL_PIPELINE_STATES:
            out.finished = True

    def running(self):
        return 1 if self.proc is not None and self.proc.poll() is None else 0

    # ---- packets ---------------------------------------------------------------

    def _ended(self):
        code = self.exit_code if self.exit_code is not None else self.proc.poll()
        tail = self.stderr_tail.decode(errors="replace").strip().splitlines()
        why = f": {tail[-1]}" if tail else ""
        return PoolError(f"the PowerShell process of this shell ended (exit code {code}){why}")

    def _packet(self, text, ack_tag, guid, seconds):
        """Write one packet and wait (bounded) for its acknowledgement."""
        with self.write_lock:
            with self.cond:
                seen = self.acks.get((ack_tag, guid), 0)
            if self.proc.poll() is not None:
                raise self._ended()
            try:
                self.proc.stdin.write(text.encode() + b"\n")
                self.proc.stdin.flush()
            except (BrokenPipeError, OSError, ValueError) as exc:
                raise self._ended() from exc
            deadline = time.monotonic() + seconds
            with self.cond:
                while self.acks.get((ack_tag, guid), 0) <= seen:
                    left = deadline - time.monotonic()
                    if self.exit_code is not None:
                        raise self._ended()
                    if left <= 0:
                        raise PoolError(f"PowerShell did not acknowledge a {ack_tag[:-3]} packet "
                                        f"within {seconds} s")
                    self.cond.wait(min(left, 0.5))

    def psguid(self, key):
        """The out-of-process PSGuid of the pool (EMPTY_GUID) or of a
        pipeline known by its CommandId."""
        if key == EMPTY_GUID:
            return key
        with self.cond:
            found = self.commands.get(key)
        if found is None:
            raise PoolError("no such pipeline")
        return found

    def send(self, key, data, stream="stdin", seconds=ACK_SECONDS):
        guid = self.psguid(key)
        kind = "PromptResponse" if stream == "pr" else "Default"
        b64 = base64.b64encode(data).decode()
        self._packet(f"<Data Stream='{kind}' PSGuid='{guid.lower()}'>{b64}</Data>",
                     "DataAck", guid, seconds)

    def command(self, command_id, arguments):
        """A pipeline: its Command packet, then its CREATE_PIPELINE fragments.
        pwsh knows a pipeline by the PID its messages carry, which need not
        be the CommandId (older clients write that GUID's bytes in network
        order): the Command packet names the PID, as WinRM's PowerShell
        plug-in ties the two together."""
        key = normal_guid(command_id)
        if key is None:
            raise PoolError(f"the CommandId {command_id} is not a GUID")
        guid = pipeline_id(arguments) or key
        with self.cond:
            if key in self.commands or guid in self.outputs:
                return None
            self.commands[key] = guid
            self.outputs[guid] = Output()
        try:
            self._packet(f"<Command PSGuid='{guid.lower()}' />", "CommandAck", guid, ACK_SECONDS)
            if arguments:
                self.send(key, arguments)
        except PoolError:
            self.forget(key)
            raise
        return key

    def has_command(self, command_id):
        key = normal_guid(command_id)
        with self.cond:
            return key if key in self.commands else None

    def forget(self, key):
        with self.cond:
            guid = self.commands.pop(key, None)
            if guid is not None:
                self.outputs.pop(guid, None)

    def stop(self, key):
        """PowerShell's stop signal: the pipeline ends as Stopped."""
        guid = self.psguid(key)
        self._packet(f"<Signal PSGuid='{guid.lower()}' />", "SignalAck", guid, ACK_SECONDS)

    def terminate(self, key):
        """The pipeline is closed in pwsh and forgotten here."""
        try:
            guid = self.psguid(key)
            if self.proc.poll() is None:
                self._packet(f"<Close PSGuid='{guid.lower()}' />", "CloseAck", guid, ACK_SECONDS)
        finally:
            self.forget(key)

    # ---- receive -----------------------------------------------------------

    def receive(self, key, budget, timeout):
        """Wait for output of the pool (EMPTY_GUID) or a pipeline; returns
        (fragments, done) or None when nothing came within timeout."""
        guid = self.psguid(key)
        deadline = time.monotonic() + timeout
        with self.cond:
            out = self.outputs.get(guid)
            if out is None:
                raise PoolError("no such pipeline")
            while not out.fragments and not out.finished:
                if self.exit_code is not None:
                    raise self._ended()
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.cond.wait(min(left, 0.5))
            gather_until = time.monotonic() + GATHER_SECONDS
            while not out.finished and sum(map(len, out.fragments)) < budget:
                left = gather_until - time.monotonic()
                if left <= 0:
                    break
                self.cond.wait(left)
            taken = []
            used = 0
            while out.fragments:
                fragment = out.fragments[0]
                if len(fragment) + STREAM_OVERHEAD <= budget - used:
                    taken.append(out.renumbered(out.fragments.pop(0)))
                    used += len(fragment) + STREAM_OVERHEAD
                    continue
                room = budget - used - STREAM_OVERHEAD - FRAGMENT_HEADER
                if room <= 0 or (taken and room < 1024):
                    break
                head, rest = split_fragment(fragment, room)
                taken.append(out.renumbered(head))
                out.shift_after_split(fragment)
                out.fragments[0] = rest
                break
            done = out.finished and not out.fragments
            return taken, done

    # ---- closing ---------------------------------------------------------------

    def close(self):
        """Close every pipeline, then the pool; pwsh gets a bounded time to
        end, then is killed by its PID."""
        if self.proc is None:
            return
        try:
            with self.cond:
                pipelines = list(self.commands)
            for key in pipelines:
                self.terminate(key)
            if self.proc.poll() is None:
                self._packet(f"<Close PSGuid='{EMPTY_GUID}' />", "CloseAck", EMPTY_GUID,
                             ACK_SECONDS)
        except PoolError:
            pass
        try:
            self.proc.stdin.close()
        except (BrokenPipeError, OSError, ValueError):
            pass
        try:
            self.proc.wait(timeout=EXIT_SECONDS)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            try:
                self.proc.wait(timeout=EXIT_SECONDS)
            except subprocess.TimeoutExpired:
                pass


def pipeline_id(arguments):
    """The PID of the message that starts in a Command's Arguments."""
    if len(arguments) < FRAGMENT_HEADER + 40:
        return None
    _oid, fid, flags, _length = struct.unpack_from(">QQBI", arguments, 0)
    if fid != 0 or not flags & 1:
        return None
    pid = uuid.UUID(bytes_le=bytes(arguments[FRAGMENT_HEADER + 24:FRAGMENT_HEADER + 40]))
    return None if pid.int == 0 else str(pid).upper()


def split_fragment(fragment, room):
    """Split one fragment so that its first part carries room bytes of blob:
    (first, rest), both still with pwsh's FragmentId (see Output.renumbered)."""
    oid, fid, flags, length = struct.unpack_from(">QQBI", fragment, 0)
    blob = fragment[FRAGMENT_HEADER:]
    first = struct.pack(">QQBI", oid, fid, flags & 1, room) + blob[:room]
    rest = struct.pack(">QQBI", oid, fid, flags & 2, length - room) + blob[room:]
    return first, rest


def receive_streams(fragments, command_id):
    """The rsp:Stream elements of a PSRP Receive, one fragment each, as
    Windows sends them (CommandId only on a pipeline's)."""
    attr = f' CommandId="{esc(command_id)}"' if command_id else ""
    return "".join(
        f'<rsp:Stream Name="stdout"{attr}>{base64.b64encode(f).decode()}</rsp:Stream>'
        for f in fragments)


def write_restricted_config(directory):
    path = os.path.join(directory, "castellan-restricted.pssc")
    if not os.path.exists(path):
        tmp = path + f".{os.getpid()}.tmp"
        with open(tmp, "w") as f:
            f.write(RESTRICTED_PSSC)
        os.replace(tmp, path)
    return path


def pwsh_command_line(command_line, pwsh):
    """A WinRS command line naming powershell or pwsh, run by the lab's pwsh."""
    first, _, rest = command_line.strip().partition(" ")
    if pwsh is None or first.lower() not in COMMAND_LINE_NAMES:
        return None
    return f"exec '{pwsh}' {rest}".rstrip()
