#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""The Castellan test lab: a throwaway MIT KDC, NTLM accounts, a CA with
good and bad server certificates, and the WinRM peer, all on loopback.

  lab.py up DIR [--allow-unencrypted] [--cbt] [--fault SPEC]... [--extra-peers N]
  lab.py down DIR

`--extra-peers N` adds N HTTP and N HTTPS listeners to the peer, each
standing for a host of its own (LAB_EXTRA_HTTP_PORTS, LAB_EXTRA_HTTPS_PORTS:
comma-separated), for fan-out.

`up` writes DIR/env (source it) and DIR/lab.json; `down` stops every
process the lab started, by PID, and every process still marked as the
lab's (commands run by the peer).
"""

import argparse
import json
import os
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
PEER = os.path.join(HERE, "..", "peer", "winrm_peer.py")
PYTHON = "/usr/bin/python3"

REALM = "TEST.LOCAL"
NTLM_DOMAIN = "TEST"
ADMIN = "admin"
NONADMIN = "operator"
# Services the KDC has keys for: the default SPN service and the one some
# Windows setups use, so that an SPN override can be tested.
SPN_SERVICES = ("HTTP", "WSMAN")
# More services on localhost, each standing for a host the KDC treats its
# own way (the peer accepts every key of its keytab): DELEG is trusted for
# delegation (ok-as-delegate); RC4 has an RC4-HMAC key only, so that its
# tickets and session keys are RC4.
DELEGATE_SERVICE = "DELEG"
RC4_SERVICE = "RC4"
WAIT_SECONDS = 10


class LabError(Exception):
    pass


def sh(cmd, env=None, stdin=None, cwd=None):
    res = subprocess.run(
        cmd, input=stdin, env=env, cwd=cwd, capture_output=True, text=True
    )
    if res.returncode != 0:
        raise LabError(f"{' '.join(cmd)} failed ({res.returncode}): {res.stderr.strip()}")
    return res.stdout


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, what, seconds=WAIT_SECONDS, proc=None):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        if proc is not None and proc.poll() is not None:
            raise LabError(f"{what}: the process exited with {proc.returncode}")
        time.sleep(0.01)
    raise LabError(f"{what}: not ready within {seconds} s")


def port_open(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def write(path, text, mode=0o644):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as f:
        f.write(text)


# ---- Kerberos -------------------------------------------------------------


def krb5_conf(d, port):
    return f"""[libdefaults]
    default_realm = {REALM}
    dns_lookup_kdc = false
    dns_lookup_realm = false
    dns_canonicalize_hostname = false
    rdns = false
    udp_preference_limit = 1
    forwardable = true
    # The KDC issues RC4 session keys only when told to: the RC4 service.
    allow_rc4 = true
    default_ccache_name = FILE:{d}/ccache
[realms]
    {REALM} = {{
        kdc = 127.0.0.1:{port}
        admin_server = 127.0.0.1:{port}
    }}
[domain_realm]
    localhost = {REALM}
"""


def kdc_conf(d, port):
    return f"""[kdcdefaults]
    kdc_listen = 127.0.0.1:{port}
    kdc_tcp_listen = 127.0.0.1:{port}
[realms]
    {REALM} = {{
        database_name = {d}/kdc/principal
        key_stash_file = {d}/kdc/stash
        acl_file = {d}/kdc/kadm5.acl
        max_life = 10h
        max_renewable_life = 7d
        supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal
    }}
[logging]
    kdc = FILE:{d}/kdc/kdc.log
"""


def make_kdc_db(d, env, passwords):
    os.makedirs(f"{d}/kdc", exist_ok=True)
    write(f"{d}/kdc/kadm5.acl", "")
    sh(["kdb5_util", "create", "-s", "-r", REALM, "-P", secrets.token_hex(16)], env=env)
    queries = [f"addprinc -pw {passwords[u]} {u}@{REALM}" for u in (ADMIN, NONADMIN)]
    for svc in SPN_SERVICES:
        queries.append(f"addprinc -randkey {svc}/localhost@{REALM}")
        queries.append(f"ktadd -k {d}/http.keytab {svc}/localhost@{REALM}")
    deleg = f"{DELEGATE_SERVICE}/localhost@{REALM}"
    queries += [f"addprinc -randkey +ok_as_delegate {deleg}",
                f"ktadd -k {d}/http.keytab {deleg}"]
    rc4 = f"{RC4_SERVICE}/localhost@{REALM}"
    queries += [f"addprinc -randkey -e rc4-hmac:normal {rc4}",
                f"setstr {rc4} session_enctypes rc4-hmac",
                f"ktadd -k {d}/http.keytab -e rc4-hmac:normal {rc4}"]
    # kadmin.local reads its commands from stdin: one process for all.
    sh(["kadmin.local"], env=env, stdin="\n".join(queries) + "\nquit\n")


# ---- TLS ------------------------------------------------------------------


def certtool(args, template=None, d=None):
    if template is not None:
        path = os.path.join(d, "certs", f"tmpl-{secrets.token_hex(4)}")
        write(path, template)
        args = args + ["--template", path]
    return sh(["certtool"] + args)


def server_template(cn, dns, ips, extra=""):
    lines = [f'cn = "{cn}"', "tls_www_server", "signing_key", "encryption_key",
             f"serial = {secrets.randbelow(2**31)}"]
    lines += [f'dns_name = "{n}"' for n in dns]
    lines += [f'ip_address = "{ip}"' for ip in ips]
    return "\n".join(lines) + "\n" + extra


def make_certs(d):
    c = f"{d}/certs"
    os.makedirs(c, exist_ok=True)
    for name in ("ca", "server", "other"):
        certtool(["--generate-privkey", "--key-type=ecdsa", "--outfile", f"{c}/{name}-key.pem"])
    certtool(
        ["--generate-self-signed", "--load-privkey", f"{c}/ca-key.pem", "--outfile", f"{c}/ca.pem"],
        'cn = "Castellan Lab CA"\nca\ncert_signing_key\nexpiration_days = 30\n', d,
    )
    hosts = (["localhost"], ["127.0.0.1", "::1"])
    signed = ["--generate-certificate", "--load-privkey", f"{c}/server-key.pem",
              "--load-ca-certificate", f"{c}/ca.pem", "--load-ca-privkey", f"{c}/ca-key.pem"]
    certtool(signed + ["--outfile", f"{c}/server.pem"],
             server_template("localhost", *hosts, "expiration_days = 30\n"), d)
    # Another certificate for the same name from the same CA (cert-swap).
    certtool(["--generate-certificate", "--load-privkey", f"{c}/other-key.pem",
              "--load-ca-certificate", f"{c}/ca.pem", "--load-ca-privkey", f"{c}/ca-key.pem",
              "--outfile", f"{c}/other.pem"],
             server_template("localhost", *hosts, "expiration_days = 30\n"), d)
    certtool(signed + ["--outfile", f"{c}/expired.pem"],
             server_template("localhost", *hosts,
                             'activation_date = "2020-01-01 00:00:00 UTC"\n'
                             'expiration_date = "2020-02-01 00:00:00 UTC"\n'), d)
    certtool(signed + ["--outfile", f"{c}/wrongname.pem"],
             server_template("wrong.example", ["wrong.example"], [], "expiration_days = 30\n"), d)
    certtool(["--generate-self-signed", "--load-privkey", f"{c}/server-key.pem",
              "--outfile", f"{c}/selfsigned.pem"],
             server_template("localhost", *hosts, "expiration_days = 30\n"), d)
    for f in os.listdir(c):
        if f.startswith("tmpl-"):
            os.unlink(os.path.join(c, f))


OPENSSL_CNF = os.path.join(HERE, "openssl-legacy.cnf")


# ---- up / down ------------------------------------------------------------


def spawn(cmd, d, name, env):
    log = open(f"{d}/{name}.out", "ab")
    return subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True, cwd=d)


def base_env(d):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("KRB5", "NTLM_", "LAB_"))}
    env.update({
        "KRB5_CONFIG": f"{d}/krb5.conf",
        "KRB5_KDC_PROFILE": f"{d}/kdc.conf",
        "KRB5CCNAME": f"FILE:{d}/ccache",
        "NTLM_USER_FILE": f"{d}/ntlm-users",
        "CASTELLAN_LAB": d,
    })
    return env


def running_lab(d):
    try:
        with open(f"{d}/lab.json") as f:
            info = json.load(f)
    except (OSError, ValueError):
        return None
    alive = [p for p in info.get("pids", {}).values() if pid_alive(p)]
    return info if alive else None


def pid_alive(pid):
    """True while pid runs; a zombie (exited, not yet reaped) is not alive."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def up(d, peer_args):
    start = time.monotonic()
    d = os.path.abspath(d)
    os.makedirs(d, exist_ok=True)
    for stale in ("kdc", "certs", "ccache", "http.keytab", "ports.json"):
        p = os.path.join(d, stale)
        if os.path.isdir(p):
            shutil.rmtree(p)
        elif os.path.exists(p):
            os.unlink(p)

    passwords = {u: secrets.token_urlsafe(12) for u in (ADMIN, NONADMIN)}
    write(f"{d}/admin.password", passwords[ADMIN] + "\n", 0o600)
    write(f"{d}/operator.password", passwords[NONADMIN] + "\n", 0o600)
    # Like a Windows domain, accept the NetBIOS and the DNS domain name.
    write(f"{d}/ntlm-users",
          "".join(f"{dom}:{u}:{passwords[u]}\n" for dom in (NTLM_DOMAIN, REALM)
                  for u in (ADMIN, NONADMIN)), 0o600)
    shutil.copyfile(OPENSSL_CNF, f"{d}/openssl.cnf")
    env = base_env(d)
    pids = {}

    with ThreadPoolExecutor(2) as pool:
        certs = pool.submit(make_certs, d)
        for _attempt in range(5):
            kdc_port = free_port()
            write(f"{d}/krb5.conf", krb5_conf(d, kdc_port))
            write(f"{d}/kdc.conf", kdc_conf(d, kdc_port))
            if not os.path.exists(f"{d}/kdc/principal"):
                make_kdc_db(d, env, passwords)
            kdc = spawn(["krb5kdc", "-n", "-P", f"{d}/kdc/kdc.pid"], d, "kdc", env)
            try:
                wait_for(lambda: port_open(kdc_port), "KDC", 5, kdc)
                break
            except LabError:
                kdc.kill()
                kdc.wait()
        else:
            raise LabError("the KDC did not start; see " + f"{d}/kdc.out")
        pids["kdc"] = kdc.pid
        certs.result()

    c = f"{d}/certs"
    peer_env = dict(env, KRB5_KTNAME=f"FILE:{d}/http.keytab")
    peer_cmd = [
        PYTHON, PEER,
        "--ports-file", f"{d}/ports.json",
        "--ntlm-user-file", f"{d}/ntlm-users",
        "--admin", ADMIN,
        "--lab-dir", d,
        "--log", f"{d}/peer.log",
    ]
    for name in ("server", "selfsigned", "expired", "wrongname"):
        label = "https" if name == "server" else f"https-{name}"
        peer_cmd += ["--https", f"{label}:{c}/{name}.pem:{c}/server-key.pem"]
    peer_cmd += ["--https-h2", f"https-h2:{c}/server.pem:{c}/server-key.pem",
                 "--other-cert", f"{c}/other.pem:{c}/other-key.pem"]
    peer = spawn(peer_cmd + peer_args, d, "peer", peer_env)
    pids["peer"] = peer.pid
    write(f"{d}/lab.json", json.dumps({"pids": pids}))

    sh(["kinit", "-f", f"{ADMIN}@{REALM}"], env=env, stdin=passwords[ADMIN] + "\n")
    wait_for(lambda: os.path.exists(f"{d}/ports.json"), "WinRM peer", WAIT_SECONDS, peer)
    with open(f"{d}/ports.json") as f:
        ports = json.load(f)

    exports = {
        "LAB_DIR": d,
        "KRB5_CONFIG": f"{d}/krb5.conf",
        "KRB5CCNAME": f"FILE:{d}/ccache",
        "OPENSSL_CONF": f"{d}/openssl.cnf",
        "LAB_REALM": REALM,
        "LAB_KDC_PORT": str(kdc_port),
        "LAB_HTTP_PORT": str(ports["http"]),
        "LAB_HTTPS_PORT": str(ports["https"]),
        "LAB_HTTPS_SELFSIGNED_PORT": str(ports["https-selfsigned"]),
        "LAB_HTTPS_EXPIRED_PORT": str(ports["https-expired"]),
        "LAB_HTTPS_WRONGNAME_PORT": str(ports["https-wrongname"]),
        "LAB_CA_FILE": f"{c}/ca.pem",
        "LAB_SELFSIGNED_CERT": f"{c}/selfsigned.pem",
        "LAB_HTTPS_H2_PORT": str(ports["https-h2"]),
        "LAB_SERVER_CERT": f"{c}/server.pem",
        "LAB_OTHER_CERT": f"{c}/other.pem",
        "LAB_USER": f"{ADMIN}@{REALM}",
        "LAB_NTLM_USER": f"{NTLM_DOMAIN}\\{ADMIN}",
        "LAB_PASSWORD_FILE": f"{d}/admin.password",
        "LAB_NONADMIN_USER": f"{NONADMIN}@{REALM}",
        "LAB_NONADMIN_NTLM_USER": f"{NTLM_DOMAIN}\\{NONADMIN}",
        "LAB_NONADMIN_PASSWORD_FILE": f"{d}/operator.password",
        "NTLM_USER_FILE": f"{d}/ntlm-users",
        "LAB_CONTROL_URL": f"http://127.0.0.1:{ports['http']}/lab/control",
        "LAB_PEER_PID": str(pids["peer"]),
    }
    for kind in ("http", "https"):
        if ports.get(f"extra-{kind}"):
            exports[f"LAB_EXTRA_{kind.upper()}_PORTS"] = ",".join(
                str(p) for p in ports[f"extra-{kind}"])
    write(f"{d}/env", "".join(f"export {k}={shlex.quote(v)}\n" for k, v in exports.items()))
    info = {"pids": pids, "ports": ports, "kdc_port": kdc_port,
            "started_in_seconds": round(time.monotonic() - start, 3)}
    write(f"{d}/lab.json", json.dumps(info, indent=1))
    print(f"lab up in {d} ({info['started_in_seconds']} s): "
          f"HTTP {ports['http']}, HTTPS {ports['https']}, KDC {kdc_port}; "
          f"run: . {d}/env")


def marked_pids(d):
    """Processes carrying CASTELLAN_LAB=d: whatever the lab started."""
    mark = f"CASTELLAN_LAB={d}".encode()
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        try:
            with open(f"/proc/{name}/environ", "rb") as f:
                if mark in f.read().split(b"\0"):
                    found.append(int(name))
        except OSError:
            continue
    return found


def down(d):
    d = os.path.abspath(d)
    try:
        with open(f"{d}/lab.json") as f:
            pids = list(json.load(f).get("pids", {}).values())
    except (OSError, ValueError):
        pids = []
    for pid in pids:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(pid_alive(p) for p in pids):
        time.sleep(0.02)
        for p in pids:
            try:
                os.waitpid(p, os.WNOHANG)
            except ChildProcessError:
                pass
    leftovers = [p for p in pids if pid_alive(p)] + marked_pids(d)
    for pid in leftovers:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    try:
        os.unlink(f"{d}/lab.json")
    except OSError:
        pass
    print(f"lab down in {d}" + (f" (killed {len(leftovers)} stragglers)" if leftovers else ""))


def main():
    parser = argparse.ArgumentParser(prog="./dev lab", description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=["up", "down"])
    parser.add_argument("dir")
    parser.add_argument("--allow-unencrypted", action="store_true")
    parser.add_argument("--cbt", action="store_true")
    parser.add_argument("--fault", action="append", default=[])
    parser.add_argument("--extra-peers", type=int, default=0, metavar="N")
    args = parser.parse_args()
    try:
        if args.action == "up":
            peer_args = ["--allow-unencrypted"] if args.allow_unencrypted else []
            peer_args += ["--cbt"] if args.cbt else []
            for f in args.fault:
                peer_args += ["--fault", f]
            if args.extra_peers > 0:
                peer_args += ["--extra-http", str(args.extra_peers),
                              "--extra-https", str(args.extra_peers)]
            d = os.path.abspath(args.dir)
            if running_lab(d):
                raise LabError(f"a lab is already running in {d}; "
                               f"stop it with: ./dev lab down {d}")
            try:
                up(args.dir, peer_args)
            except BaseException:
                down(args.dir)
                raise
        else:
            down(args.dir)
    except LabError as exc:
        print(f"lab: {exc}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
