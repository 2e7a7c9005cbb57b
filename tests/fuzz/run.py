#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""./dev fuzz [SECONDS]: each libFuzzer target for SECONDS (default 60),
seeded from tests/fuzz/corpus and, for replies, from the recorded Windows
traffic in ../shared when it is there. A crash input is copied into
tests/fuzz/corpus/TARGET/, where every build's replay test keeps it."""

import os
import re
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = os.environ.get("CASTELLAN_FUZZ_DIR", os.path.join(HERE, "..", "..", "build-fuzz"))
TARGETS = ["wsman-reply", "sealing", "trusted-hosts", "endpoint", "inventory", "psrp-fragment",
           "clixml", "psrp-pool"]
FIXTURES = os.path.join(HERE, "..", "..", "..", "shared", "fixtures", "windows-recorded")


def seed_from_fixtures(corpus):
    if not os.path.isdir(FIXTURES):
        return 0
    import yaml
    count = 0
    for name in sorted(os.listdir(FIXTURES)):
        if not name.endswith(".yml"):
            continue
        with open(os.path.join(FIXTURES, name), encoding="utf-8") as f:
            for i, message in enumerate(yaml.safe_load(f)["messages"]):
                if message.get("response"):
                    with open(os.path.join(corpus, f"{name}-{i}"), "w", encoding="utf-8") as out:
                        out.write(message["response"])
                    count += 1
    return count


def main():
    seconds = int(sys.argv[1]) if len(sys.argv) > 1 else 60
    failed = []
    print(f"{'target':16} {'runs':>10} {'exec/s':>8} {'cov':>6} {'ft':>7}  result")
    for target in TARGETS:
        corpus = os.path.join(BUILD, "corpus", target)
        crashes = os.path.join(BUILD, "crashes")
        os.makedirs(corpus, exist_ok=True)
        os.makedirs(crashes, exist_ok=True)
        if target == "wsman-reply":
            seed_from_fixtures(corpus)
        seeds = os.path.join(HERE, "corpus", target)
        res = subprocess.run([os.path.join(BUILD, "tests", "fuzz", f"fuzz-{target}"),
                              f"-max_total_time={seconds}", "-timeout=10", "-rss_limit_mb=2048",
                              f"-artifact_prefix={crashes}/{target}-", corpus, seeds],
                             capture_output=True, text=True, timeout=seconds + 120,
                             env=dict(os.environ, ASAN_OPTIONS="detect_leaks=0"))
        log = res.stderr
        stats = re.findall(r"#(\d+)\s+(?:DONE|pulse|NEW|REDUCE|INITED).*?cov: (\d+) ft: (\d+).*?exec/s: (\d+)", log)
        runs, cov, ft, eps = stats[-1] if stats else ("?", "?", "?", "?")
        done = re.search(r"Done (\d+) runs in (\d+) second", log)
        if done:
            runs = done.group(1)
            eps = str(int(done.group(1)) // max(1, int(done.group(2))))
        result = "ok" if res.returncode == 0 else "CRASH"
        print(f"{target:16} {runs:>10} {eps:>8} {cov:>6} {ft:>7}  {result}")
        if res.returncode != 0:
            failed.append(target)
            for name in os.listdir(crashes):
                if name.startswith(target + "-"):
                    shutil.copy(os.path.join(crashes, name), os.path.join(seeds, name))
            print(log[-3000:], file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
