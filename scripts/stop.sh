#!/usr/bin/env bash
# Stops the services scripts/run.sh started (SIGTERM: each finishes its calls
# in flight, commits and exits).
cd "$(dirname "$0")/.."
for f in data/run/*.pid; do
  [ -e "$f" ] || continue
  pid=$(cat "$f")
  kill -TERM "$pid" 2>/dev/null && while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
  rm -f "$f"
done
