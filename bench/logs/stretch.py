#!/usr/bin/env python3
"""Spread a syslog file's lines evenly over DAYS days, keeping their order and text: the
same events over a long span, where a log's lines come slower than one a second (what a
director's real logs look like over a month). Used for the timeline's memory
(docs/benchmarks.md, "A bounded timeline").

    python3 bench/logs/stretch.py IN OUT DAYS
"""
import datetime
import sys


def main():
    src, dst, days = sys.argv[1], sys.argv[2], float(sys.argv[3])
    with open(src, "rb") as f:
        lines = f.read().split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    base = datetime.datetime(2026, 11, 1)
    step = datetime.timedelta(days=days) / max(len(lines), 1)
    with open(dst, "wb") as out:
        for i, line in enumerate(lines):
            stamp = (base + step * i).strftime("%b %e %H:%M:%S").encode()
            # RFC 3164: the first 15 bytes are the time.
            out.write(stamp + line[15:] + b"\n")


if __name__ == "__main__":
    main()
