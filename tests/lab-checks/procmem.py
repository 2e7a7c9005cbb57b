# SPDX-License-Identifier: GPL-3.0-or-later
"""Looking into a process under test from outside: copies of a secret left
in its memory, and whether it was built with AddressSanitizer."""


def count_copies(pid, needle):
    """Places in the process's readable memory that hold needle."""
    hits = 0
    with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", 0) as mem:
        for line in maps:
            fields = line.split()
            if not fields[1].startswith("r") or "[vvar]" in line or "[vsyscall]" in line:
                continue
            start, end = (int(x, 16) for x in fields[0].split("-"))
            if end - start > 1 << 32:
                continue  # a sanitizer's shadow memory, not the heap
            try:
                mem.seek(start)
                data = mem.read(end - start)
            except (OSError, OverflowError, ValueError):
                continue
            hits += data.count(needle)
    return hits


def sanitized(program):
    """Built with AddressSanitizer: its quarantine holds freed memory back,
    so resident memory says nothing about leaks (LeakSanitizer does)."""
    with open(program, "rb") as f:
        return b"__asan_init" in f.read()
