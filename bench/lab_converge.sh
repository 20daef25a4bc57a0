#!/usr/bin/env bash
# Prints (never asserts) the lab's converge times: the first converge of fresh
# hosts, the idempotent re-run, and the re-run as a ratio against a no-op play
# that gathers facts on the same hosts (goal: ratio <= 1.5). Beside them the
# re-run's skeleton (bench/rerun_floor.py): the same plays, tasks and loop items
# on the same hosts, each a ping, which is what Ansible itself costs for that
# many tasks. Then the Lynis hardening index of every server. Runs its own lab
# beside any other.
set -euo pipefail
cd "$(dirname "$0")/.."
export GEMENSAM_LAB_PREFIX=${BENCH_PREFIX:-gemensam-bench}
export GEMENSAM_SERVICE_NETWORK=${BENCH_SUBNET:-10.89.201.0/24}
log=$(mktemp -d)
trap 'ansible-playbook playbooks/lab/down.yml >"$log/down.log" 2>&1; rm -rf "$log"' EXIT

seconds() {
  local start
  start=$(date +%s.%N)
  "$@" >"$log/last.log" 2>&1 || { tail -30 "$log/last.log" >&2; exit 1; }
  awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }'
}

up=$(seconds ansible-playbook playbooks/lab/up.yml)
first=$(seconds ansible-playbook playbooks/site.yml)
rerun=$(seconds ansible-playbook playbooks/site.yml)
changed=$(grep -Eo 'changed=[0-9]+' "$log/last.log" | awk -F= '{s+=$2} END {print s+0}')
cp "$log/last.log" "$log/rerun.log"
noop=$(seconds ansible-playbook bench/noop.yml)
shape=$(python bench/rerun_floor.py "$log/rerun.log" "$log/skeleton.yml")
skeleton=$(seconds ansible-playbook "$log/skeleton.yml")
hosts=$(ansible-inventory -i inventory/lab --graph servers | grep -c -- '--[^@]')

echo "lab: $hosts hosts"
echo "create lab hosts:        ${up} s"
echo "first converge:          ${first} s"
echo "idempotent re-run:       ${rerun} s (changed=$changed)"
echo "no-op play with facts:   ${noop} s"
echo "re-run's skeleton:       ${skeleton} s ($shape, each a ping)"
awk -v r="$rerun" -v n="$noop" -v k="$skeleton" 'BEGIN {
  if (n <= 0 || k <= 0) exit
  printf "re-run / no-op ratio:    %.2f (goal <= 1.5)\n", r / n
  printf "skeleton / no-op ratio:  %.2f (the floor for this many tasks)\n", k / n
  printf "re-run / skeleton:       %.2f (what the roles cost above it)\n", r / k
}'

ssh_cfg=".lab/$GEMENSAM_LAB_PREFIX/ssh_config"
# Lynis on every server role (goal: hardening index >= 80 on each).
for host in $(ansible-inventory -i inventory/lab --graph servers | grep -Eo -- '--[a-z0-9]+$' | tr -d -); do
  index=$(ssh -F "$ssh_cfg" "$host" 'sudo apt-get install -y -qq lynis >/dev/null 2>&1; sudo lynis audit system --quick --no-colors >/dev/null 2>&1; sudo grep -E "^hardening_index=" /var/log/lynis-report.dat' 2>/dev/null | cut -d= -f2)
  echo "Lynis hardening index on $host: ${index:-?} (goal >= 80)"
done
ssh -F "$ssh_cfg" fs1 'sudo grep -E "^suggestion\[\]=" /var/log/lynis-report.dat | cut -d"|" -f1,2 | sed "s/suggestion\[\]=/  suggestion on fs1: /"' 2>/dev/null | head -40

echo
echo "== people in the directory (bench/people.sh)"
bench/people.sh
