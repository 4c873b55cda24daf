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
# Verification at scale (issue 24 point 5): the hot child's report pages and their plans, a day's incremental verify.
.venv/bin/python bench/child_report.py --plans | tee bench/CHILD_REPORT.txt
# The per-client rate limit (issue 24.7): µs per charge by store, and what two instances let through.
.venv/bin/python bench/rate_limit.py | tee bench/RATE_LIMIT.txt
exec .venv/bin/python bench/bench.py --output bench/RESULTS.md "$@"
