"""Sum a py-spy raw profile (`py-spy record -f raw`) into inclusive and self shares per function.

    py-spy record -r 250 -d 10 -f raw -o get.raw --pid <a worker's pid>   # while wrk drives it
    python bench/profile_summary.py get.raw --top 40

Only the event loop's thread counts (the stacks under `Runner.run`), and only its busy samples:
py-spy cannot tell a waiting thread from a working one here, so samples that end in the loop
itself are dropped as idle, and so are those ending in asyncpg's execute frames — while the loop
waits on PostgreSQL, SQLAlchemy's greenlet leaves py-spy the suspended statement's frames (a
standalone loop shows asyncpg's own CPU at ~53 µs a fetch, not the third of a worker that those
frames would otherwise claim). Shares are of the busy samples left.
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

LOOP = "Runner.run"
IDLE_LEAVES = (LOOP, "PreparedStatement.__do_execute", "Connection._do_execute")


def function_of(frame: str) -> str:
    """`name (path/file.py:line)` → `name (file.py)`: one entry per function, not per line."""
    name, _, where = frame.partition(" (")
    return f"{name} ({where.rsplit('/', 1)[-1].split(':', 1)[0]})" if where else name


def summarize(raw: Path) -> tuple[int, Counter[str], Counter[str]]:
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    busy = 0
    for line in raw.read_text(encoding="utf-8").splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        if not any(frame.startswith(LOOP) for frame in frames) or frames[-1].startswith(IDLE_LEAVES):
            continue
        samples = int(count)
        busy += samples
        for function in {function_of(frame) for frame in frames}:
            inclusive[function] += samples
        own[function_of(frames[-1])] += samples
    return busy, inclusive, own


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("raw", type=Path)
    parser.add_argument("--top", type=int, default=40)
    args = parser.parse_args()
    busy, inclusive, own = summarize(args.raw)
    print(f"busy samples of the event loop's thread: {busy}")
    for title, counter in (("inclusive", inclusive), ("self", own)):
        print(f"-- {title}")
        for function, samples in counter.most_common(args.top):
            print(f"{100 * samples / max(busy, 1):5.1f} %  {function}")


if __name__ == "__main__":
    main()
