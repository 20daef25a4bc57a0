#!/usr/bin/env bash
# Prints (never asserts) how long the directory takes to create 1,000 people from
# a personnel export, and the re-run with nothing to change, as a ratio (goal:
# re-run <= 10% of the first run). Runs against a converged lab named by
# GEMENSAM_LAB_PREFIX; the people are Bromma's, replaced by the committed file
# again at the end. Beside it, the floor: the same play and exports with a tag that
# selects no task (facts, the roles' argument checks, the inventory).
set -euo pipefail
cd "$(dirname "$0")/.."
count=${PEOPLE:-1000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp inventory/lab/data/personnel/*.csv "$work/"
python tools/generate_personnel.py --org bromma --count "$count" --out "$work/bromma.csv" >/dev/null

people() {
  local files
  files=$(printf '"%s",' "$@")
  ansible-playbook playbooks/directory.yml --tags "${TAGS:-role::directory:people}" \
    -e "{\"directory_personnel_files\": [${files%,}]}" >"$work/run.log" 2>&1 \
    || { tail -30 "$work/run.log" >&2; exit 1; }
}
seconds() {
  local start
  start=$(date +%s.%N)
  "$@"
  awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }'
}

first=$(seconds people "$work"/*.csv)
rerun=$(seconds people "$work"/*.csv)
changed=$(grep -Eo '^dc1 .*changed=[0-9]+' "$work/run.log" | grep -Eo 'changed=[0-9]+' | cut -d= -f2)
floor=$(TAGS=bench::no-task seconds people "$work"/*.csv)
people "$PWD"/inventory/lab/data/personnel/*.csv   # the lab's own people again

echo "people in the export:    $count (Bromma) + the lab's others"
echo "first run (create):      ${first} s"
echo "re-run, nothing to do:   ${rerun} s (changed=${changed:-?})"
echo "floor, no task selected: ${floor} s"
awk -v r="$rerun" -v f="$first" -v n="$floor" 'BEGIN {
  if (f <= 0) exit
  printf "re-run / first run:      %.0f%% (goal <= 10%%)\n", 100 * r / f
  printf "floor / first run:       %.0f%%\n", 100 * n / f
  printf "re-run above the floor:  %.0f%% of the first run\n", 100 * (r - n) / f
}'
