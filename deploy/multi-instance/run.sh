#!/usr/bin/env bash
# Samhandling at scale on one host standing in for several: two API processes on their own ports,
# two workers, one PostgreSQL, nginx in front (deploy/multi-instance/nginx.conf). Stops them all
# on Ctrl-C / SIGTERM, and all of them if one dies.
#
#   DATABASE_URL=postgresql://postgres@127.0.0.1:5432/samhandling deploy/multi-instance/run.sh
#
# Settings (environment): API_PORTS (default "8101 8102"), PROXY_PORT (8100), RUN_DIR (where logs,
# the rendered nginx config and its temp files go; default data/multi-instance), BIN (.venv/bin).
# The key files (SAMHANDLING_SIGNING_KEY_FILE, SAMHANDLING_SECRETS_KEY_FILE) are shared by all.
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${DATABASE_URL:?set DATABASE_URL to the PostgreSQL database}"
BIN=${BIN:-.venv/bin}
API_PORTS=${API_PORTS:-"8101 8102"}
PROXY_PORT=${PROXY_PORT:-8100}
RUN_DIR=${RUN_DIR:-data/multi-instance}
NGINX=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}
mkdir -p "$RUN_DIR/tmp"
RUN_DIR=$(cd "$RUN_DIR" && pwd)

# One issuer for every process: the public URL (here the proxy's), whichever process signs.
export SAMHANDLING_ISSUER=${SAMHANDLING_ISSUER:-http://127.0.0.1:$PROXY_PORT}
export SAMHANDLING_FORWARDED_ALLOW_IPS=${SAMHANDLING_FORWARDED_ALLOW_IPS:-127.0.0.1}

"$BIN/samhandling" migrate

# The config as committed, with this run's ports.
read -r -a ports <<<"$API_PORTS"
sed -e "s/127.0.0.1:8100/127.0.0.1:$PROXY_PORT/" \
    -e "s/127.0.0.1:8101/127.0.0.1:${ports[0]}/" \
    -e "s/127.0.0.1:8102/127.0.0.1:${ports[1]}/" \
    deploy/multi-instance/nginx.conf >"$RUN_DIR/nginx.conf"
"$NGINX" -t -q -p "$RUN_DIR/" -c "$RUN_DIR/nginx.conf"

children=()
stopping=""
stop() {
    stopping=yes
    trap - EXIT INT TERM
    kill -TERM "${children[@]}" 2>/dev/null || true
    wait "${children[@]}" 2>/dev/null || true
}
trap stop EXIT INT TERM

for port in "${ports[@]}"; do
    "$BIN/samhandling" serve --host 127.0.0.1 --port "$port" --workers 1 >"$RUN_DIR/api-$port.log" 2>&1 &
    children+=($!)
done
for n in 1 2; do
    "$BIN/samhandling" worker >"$RUN_DIR/worker-$n.log" 2>&1 &
    children+=($!)
done
"$NGINX" -p "$RUN_DIR/" -c "$RUN_DIR/nginx.conf" -g "daemon off;" &
children+=($!)
echo "API on ${ports[*]}, proxy on $PROXY_PORT, two workers; logs in $RUN_DIR" >&2

# Whichever stops first, stop the rest: a half-running deployment is worse than a stopped one.
wait -n "${children[@]}" || true
[ -n "$stopping" ] || echo "a process stopped; stopping the others" >&2
