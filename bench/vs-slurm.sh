#!/usr/bin/env bash
# Side by side with Slurm: the same 1,000 trivial jobs (`true`) through a single-node Slurm and
# through `agora local` (real processes, posix isolation), on this machine, in one run. Prints
# both throughputs and their ratio and writes bench/results/vs-slurm.json. Needs root (it
# installs slurm-wlm and munge with apt-get if missing, and runs the daemons); cleans up after
# itself: it stops only the daemons it started, by their pids, and removes its scratch dir.
#
# Slurm is configured for throughput as its high-throughput guide advises for one node: no
# accounting, linuxproc tracking, no task plugin, immediate scheduling (batch_sched_delay=0,
# sched_min_interval=0, defer_batch), a deep queue, short MinJobAge, and 64 CPUs declared
# (config_overrides) so jobs run in parallel as agora's do (a job asks for 1 CPU; an agora
# task for cpus:0.01). A Slurm left at its defaults does 2 jobs per 3 s here; that is no peer.
#
#   bench/vs-slurm.sh [--jobs 1000] [--submitters 4]
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=1000
SUBMITTERS=4
while [ $# -gt 0 ]; do
  case "$1" in
    --jobs) JOBS=$2; shift 2 ;;
    --submitters) SUBMITTERS=$2; shift 2 ;;
    *) echo "vs-slurm: unknown flag $1 (use --jobs N, --submitters N)" >&2; exit 2 ;;
  esac
done
if [ "$(id -u)" != 0 ]; then echo "vs-slurm: needs root (apt-get, slurmctld, slurmd)" >&2; exit 2; fi
if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null
fi

BASE=$(mktemp -d /tmp/agora-vs-slurm.XXXXXX)
STARTED_PIDS=()
cleanup() {
  for pid in "${STARTED_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${STARTED_PIDS[@]}"; do
    for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$BASE"
}
trap cleanup EXIT
mkdir -p "$BASE/state" "$BASE/spool" "$BASE/log"
export SLURM_CONF=$BASE/slurm.conf
PORT=$((20000 + RANDOM % 20000))
cat > "$SLURM_CONF" <<CONF
ClusterName=agorabench
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=$PORT
SlurmdPort=$((PORT + 1))
AuthType=auth/munge
CredType=cred/munge
StateSaveLocation=$BASE/state
SlurmdSpoolDir=$BASE/spool
SlurmctldPidFile=$BASE/slurmctld.daemon.pid
SlurmdPidFile=$BASE/slurmd.daemon.pid
SlurmctldLogFile=$BASE/log/slurmctld.log
SlurmdLogFile=$BASE/log/slurmd.log
SlurmctldDebug=error
SlurmdDebug=error
SlurmUser=root
SlurmdUser=root
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MaxJobCount=100000
MinJobAge=2
SlurmdParameters=config_overrides
SchedulerParameters=defer_batch,sched_min_interval=0,batch_sched_delay=0,default_queue_depth=1000,sched_max_job_start=0
ReturnToService=2
NodeName=localhost NodeAddr=127.0.0.1 CPUs=64 RealMemory=16000 State=UNKNOWN
PartitionName=p Nodes=localhost Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
MaxArraySize=100001
CONF

# munged: reuse a working one, else start our own.
if ! (munge -n | unmunge) >/dev/null 2>&1; then
  install -d -o munge -g munge -m 0755 /run/munge
  chmod 0755 "$BASE"
  install -d -o munge -g munge -m 0755 "$BASE/munge"   # munged runs as munge and writes here
  runuser -u munge -- /usr/sbin/munged -F --log-file="$BASE/munge/munged.log" --pid-file="$BASE/munge/munged.pid" \
    >>"$BASE/munge/munged.out" 2>&1 &
  STARTED_PIDS+=($!)
  for _ in $(seq 100); do (munge -n | unmunge) >/dev/null 2>&1 && break; sleep 0.1; done
fi
slurmctld -D -i -f "$SLURM_CONF" >"$BASE/log/slurmctld.out" 2>&1 &
STARTED_PIDS+=($!)
for _ in $(seq 200); do scontrol ping 2>/dev/null | grep -q UP && break; sleep 0.1; done
slurmd -D -N localhost -f "$SLURM_CONF" >"$BASE/log/slurmd.out" 2>&1 &
STARTED_PIDS+=($!)
for _ in $(seq 300); do sinfo -h -N -o %T 2>/dev/null | grep -q '^idle' && break; sleep 0.1; done
sinfo -h -N -o %T | grep -q '^idle' || { echo "vs-slurm: slurmd did not come up; see $BASE/log" >&2; exit 1; }

echo "slurm: $JOBS x 'sbatch --wrap true' from $SUBMITTERS parallel submitters"
START=$(date +%s.%N)
PER=$((JOBS / SUBMITTERS))
SUBMITTER_PIDS=()
for s in $(seq "$SUBMITTERS"); do
  ( for _ in $(seq "$PER"); do sbatch -Q -o /dev/null -e /dev/null --wrap true >/dev/null; done ) &
  SUBMITTER_PIDS+=($!)
done
wait "${SUBMITTER_PIDS[@]}"   # not a bare wait: the daemons are children too
while [ -n "$(squeue -h 2>/dev/null)" ]; do sleep 0.05; done
END=$(date +%s.%N)
SLURM_SECONDS=$(awk "BEGIN { print $END - $START }")
SLURM_RATE=$(awk "BEGIN { print ($PER * $SUBMITTERS) / $SLURM_SECONDS }")
printf 'slurm: %d jobs in %.2f s = %.1f jobs/s\n' $((PER * SUBMITTERS)) "$SLURM_SECONDS" "$SLURM_RATE"

echo "agora: $JOBS x 'true' through agora local (posix isolation)"
npx tsx bench/launch.ts --tasks "$JOBS" "--local-args=--isolation posix" >"$BASE/agora.out" 2>&1 || {
  # An agora without --isolation (before the containers work landed) runs posix anyway.
  npx tsx bench/launch.ts --tasks "$JOBS" >"$BASE/agora.out" 2>&1
}
AGORA_RATE=$(node -e "console.log(require('./bench/results/launch.json').tasksPerSecond)")
grep -E 'throughput' "$BASE/agora.out" || true
RATIO=$(awk "BEGIN { print $AGORA_RATE / $SLURM_RATE }")
printf 'agora %.1f tasks/s vs slurm %.1f jobs/s: ratio %.2f\n' "$AGORA_RATE" "$SLURM_RATE" "$RATIO"
mkdir -p bench/results
printf '{"jobs":%d,"slurm_jobs_per_s":%.2f,"agora_tasks_per_s":%.2f,"ratio":%.3f,"date":"%s"}\n' \
  "$JOBS" "$SLURM_RATE" "$AGORA_RATE" "$RATIO" "$(date -u +%FT%TZ)" > bench/results/vs-slurm.json
echo "wrote bench/results/vs-slurm.json"
