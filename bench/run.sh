#!/usr/bin/env bash
# `make bench`: everything from scratch — PostgreSQL up, wrk installed, a fresh database — then the run.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start
    for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
fi
if ! command -v wrk >/dev/null; then
    apt-get install -y wrk >/dev/null || { echo "FATAL: wrk is needed (apt-get install wrk)" >&2; exit 1; }
fi
# The log's own figures first (issue 22): proof ms at 10⁶ entries, verification entries/s.
.venv/bin/python bench/merkle.py --dialects postgresql --rounds 2 | tee bench/MERKLE.txt
# Growth to 10⁷ (issue 24 points 5 and 9): the hot child's report pages and their plans, a day's log review,
# bytes per entry, and a day's incremental verify against a full one, at 10 080 000 entries.
.venv/bin/python bench/child_report.py --entries 8400000 --day 86400 --no-before --plans | tee bench/CHILD_REPORT.txt
# The per-client rate limit (issue 24.7): µs per charge by store, and what two instances let through.
.venv/bin/python bench/rate_limit.py | tee bench/RATE_LIMIT.txt
exec .venv/bin/python bench/bench.py --output bench/RESULTS.md "$@"
