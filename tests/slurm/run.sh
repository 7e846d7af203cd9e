#!/usr/bin/env bash
# A real Slurm on localhost runs a sharded sweep as a 4-task job array, exactly as
# docs/slurm.md tells researchers to; `corridor merge` must then give the bytes of the same
# sweep run in one process.
#
# Installs Debian's munge, slurmctld, slurmd and slurm-client if missing (their install
# scripts are kept from starting services by a policy-rc.d that exits 101), starts munged,
# slurmctld and slurmd directly (there is no systemd) with every file in a private temporary
# directory, submits the array, polls squeue and scontrol until it ends, merges, compares
# byte for byte, and always stops the three daemons it started, by PID. Any failure exits
# non-zero with the daemons' logs. Needs root (CI runs as root). About 20 s once installed.
#
# Usage: tests/slurm/run.sh [path/to/corridor]   (default: target/release/corridor)
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD
bin=${1:-${CORRIDOR_BIN:-$repo/target/release/corridor}}
started=$(date +%s)

fail() {
  echo "slurm test FAILED: $*" >&2
  exit 1
}

[ "$(id -u)" = 0 ] || fail "needs root: it installs Debian packages and starts munged, slurmctld and slurmd"
[ -x "$bin" ] || fail "no corridor binary at $bin (cargo build --release first)"

# ---- packages ------------------------------------------------------------------------------
need=()
for cmd in munged slurmctld slurmd sbatch squeue scontrol; do
  command -v "$cmd" >/dev/null || need+=("$cmd")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "installing munge, slurmctld, slurmd, slurm-client (missing: ${need[*]})"
  policy=/usr/sbin/policy-rc.d
  own_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    own_policy=1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends munge slurmctld slurmd slurm-client >/dev/null
  [ "$own_policy" = 1 ] && rm -f "$policy"
  for cmd in munged slurmctld slurmd sbatch squeue scontrol; do
    command -v "$cmd" >/dev/null || fail "$cmd is still missing after apt-get install"
  done
fi

# ---- private state -------------------------------------------------------------------------
work=$(mktemp -d /tmp/corridor-slurm.XXXXXX)
chmod 755 "$work"
mkdir -p "$work"/munge/{run,etc,log,lib} "$work"/slurm/{ctld,d,log}
chmod 755 "$work/munge" "$work/munge/run"
chmod 700 "$work/munge/etc" "$work/munge/log" "$work/munge/lib"
socket=$work/munge/run/munge.socket.2
dd if=/dev/urandom of="$work/munge/etc/munge.key" bs=1024 count=1 status=none
chmod 600 "$work/munge/etc/munge.key"

pids=()
stop_daemons() {
  local status=$?
  for pidfile in "$work/slurm/slurmd.pid" "$work/slurm/slurmctld.pid" "$work/munge/run/munged.pid"; do
    if [ -s "$pidfile" ]; then
      pid=$(cat "$pidfile")
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
    fi
  done
  if [ "$status" != 0 ]; then
    for log in "$work"/slurm/log/*.log "$work"/munge/log/*.log "$work"/task-*.out; do
      [ -f "$log" ] && { echo "---- $log" >&2; tail -n 30 "$log" >&2; }
    done
    echo "slurm test FAILED (state kept in $work)" >&2
  else
    rm -rf "$work"
  fi
  exit "$status"
}
trap stop_daemons EXIT
trap 'exit 130' INT TERM

# ---- daemons -------------------------------------------------------------------------------
munged --force --socket="$socket" --key-file="$work/munge/etc/munge.key" \
  --pid-file="$work/munge/run/munged.pid" --log-file="$work/munge/log/munged.log" \
  --seed-file="$work/munge/lib/munged.seed" \
  || fail "munged did not start"

# Ports nothing listens on, so that two runs of this test (or a real Slurm) do not clash.
port=
for _ in $(seq 100); do
  p=$((20000 + RANDOM % 30000))
  if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null &&
    ! (exec 3<>"/dev/tcp/127.0.0.1/$((p + 1))") 2>/dev/null; then
    port=$p
    break
  fi
done
[ -n "$port" ] || fail "found no free TCP port pair for slurmctld and slurmd"

# RealMemory must not exceed what slurmd finds; ask for a little.
cpus=$(nproc)
conf=$work/slurm/slurm.conf
cat >"$conf" <<EOF
ClusterName=corridor-test
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=$port
SlurmdPort=$((port + 1))
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$socket
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$work/slurm/ctld
SlurmdSpoolDir=$work/slurm/d
SlurmctldPidFile=$work/slurm/slurmctld.pid
SlurmdPidFile=$work/slurm/slurmd.pid
SlurmctldLogFile=$work/slurm/log/slurmctld.log
SlurmdLogFile=$work/slurm/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
ReturnToService=2
SchedulerParameters=batch_sched_delay=0
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MinJobAge=600
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=500 State=UNKNOWN
PartitionName=test Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF=$conf
slurmctld || fail "slurmctld did not start"
slurmd -N localhost || fail "slurmd did not start"

deadline=$(($(date +%s) + 60))
until scontrol show node localhost 2>/dev/null | grep -Eq 'State=IDLE'; do
  [ "$(date +%s)" -lt "$deadline" ] || fail "the node did not become idle within 60 s: $(scontrol show node localhost 2>&1 | head -n 5)"
  sleep 0.5
done
echo "slurm up on localhost after $(($(date +%s) - started)) s"

# ---- the array -----------------------------------------------------------------------------
sweep_args=(scenarios/poole_benchmark.toml
  --grid central_bank.reserve_target_per_bank=-150:150:7
  --runs 4 --set calendar.business_days=30
  --set central_bank.fine_tuning.forecast_error_sd=3000)

cat >"$work/sweep.sbatch" <<EOF
#!/bin/bash
#SBATCH --job-name=corridor-sweep
#SBATCH --array=0-3
#SBATCH --ntasks=1
#SBATCH --cpus-per-task=1
#SBATCH --output=$work/task-%A_%a.out
set -euo pipefail
cd "$repo"
"$bin" sweep ${sweep_args[*]} \\
  --shard "\$SLURM_ARRAY_TASK_ID/\$SLURM_ARRAY_TASK_COUNT" --threads 1 --resume \\
  --out "$work/sharded"
EOF

job=$(sbatch --parsable "$work/sweep.sbatch") || fail "sbatch refused the job"
job=${job%%;*}
echo "submitted array job $job"

# Meanwhile, the same sweep in one process.
CI=true "$bin" sweep "${sweep_args[@]}" --out "$work/single" 2>/dev/null || fail "single-process sweep failed"

deadline=$(($(date +%s) + 120))
while [ -n "$(squeue -h -j "$job" 2>/dev/null)" ]; do
  [ "$(date +%s)" -lt "$deadline" ] || fail "job $job still queued or running after 120 s: $(squeue -j "$job" 2>&1)"
  sleep 0.5
done

# sacct needs slurmdbd; scontrol keeps finished jobs for MinJobAge seconds.
states=$(scontrol -o show job "$job" | grep -o 'JobState=[A-Z_]* .*ExitCode=[0-9:]*' | awk '{print $1, $NF}' | sort | uniq -c)
tasks=$(scontrol -o show job "$job" | grep -c 'ArrayTaskId=' || true)
[ "$tasks" = 4 ] || fail "expected 4 array tasks, scontrol shows $tasks: $states"
if scontrol -o show job "$job" | grep -v 'JobState=COMPLETED' | grep -q .; then
  fail "not every task completed: $states"
fi
if scontrol -o show job "$job" | grep -v 'ExitCode=0:0' | grep -q .; then
  fail "a task exited non-zero: $states"
fi
echo "4 tasks completed"

CI=true "$bin" merge "$work/sharded" || fail "corridor merge failed"

for f in sweep.json points.parquet summary.parquet manifest.json; do
  cmp "$work/single/$f" "$work/sharded/$f" || fail "$f of the merged shards differs from the single-process sweep"
done
for p in $(seq 0 6); do
  f=daily/point=$p/part-0.parquet
  cmp "$work/single/$f" "$work/sharded/$f" || fail "$f differs from the single-process sweep"
done
for i in 0 1 2 3; do
  grep -q '"complete": true' "$work/sharded/shards/shard-$i.json" || fail "shard $i is not complete"
done

echo "slurm: 4-task array of a 7-point sweep merged to the single-process bytes in $(($(date +%s) - started)) s"
