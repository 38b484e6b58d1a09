#!/usr/bin/env bash
# A private single-node Slurm cluster on this machine, for trying the job-array
# recipe of docs/scale-out.md (tests/test_slurm.cpp runs it the same way).
#
#   scripts/slurm-cluster.sh start DIR   # prints: export SLURM_CONF=DIR/slurm.conf
#   scripts/slurm-cluster.sh stop DIR    # cancels its jobs, stops its daemons by pid
#
# Everything lives in DIR: munge key and socket, slurm.conf, state, spool, logs
# and pid files, with ports picked free, so it neither needs nor touches a
# system-wide Slurm or munge. Needs root (slurmd starts jobs as their user) and
# Debian's slurm-wlm and munge (installed here when missing).
#
# The node declares 3 GPUs that do not exist (a gres without device files) and
# 8 CPUs per GPU, so the recipe's `--gres=gpu:1 --cpus-per-task=8` schedules as
# written and three array tasks run side by side; compeval itself runs on CPU.
set -euo pipefail

usage() { echo "usage: $0 start|stop DIR" >&2; exit 2; }
[ $# -eq 2 ] || usage
action="$1"
dir="$2"

stop_pid_file() { # stop the daemon whose pid is in $1, waiting up to 10 s
  local file="$1" pid
  [ -f "$file" ] || return 0
  pid="$(cat "$file")"
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$file"
}

if [ "$action" = stop ]; then
  [ -d "$dir" ] || exit 0
  dir="$(cd "$dir" && pwd)"
  if [ -f "$dir/slurm.conf" ] && [ -f "$dir/slurmctld.pid" ]; then
    SLURM_CONF="$dir/slurm.conf" scancel --full --quiet --user="$(id -un)" 2>/dev/null || true
  fi
  stop_pid_file "$dir/slurmd.pid"
  stop_pid_file "$dir/slurmctld.pid"
  stop_pid_file "$dir/munge/munged.pid"
  exit 0
fi
[ "$action" = start ] || usage

if [ "$(id -u)" -ne 0 ]; then
  echo "slurm-cluster: needs root: slurmd runs every job as the user who submitted it" >&2
  exit 3
fi
missing=()
for p in slurm-wlm munge; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "slurm-cluster: installing ${missing[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"
mkdir -p -m 0700 "$dir/munge"
mkdir -p "$dir/state" "$dir/spool" "$dir/log"

free_port() { # a TCP port nobody listens on, away from the ephemeral range
  local port
  while :; do
    port=$((20000 + RANDOM % 20000))
    if ! ss -Htln "sport = :$port" | grep -q .; then echo "$port"; return; fi
  done
}

# munge: a fresh key, socket and pid file of its own.
head -c 1024 /dev/urandom >"$dir/munge/munge.key"
chmod 0400 "$dir/munge/munge.key"
munged --force --key-file="$dir/munge/munge.key" --socket="$dir/munge/munge.socket" \
  --pid-file="$dir/munge/munged.pid" --log-file="$dir/munge/munged.log" \
  --seed-file="$dir/munge/munged.seed"

host="$(hostname -s)"
cpus=24   # 3 array tasks x --cpus-per-task=8 (config_overrides: trusted over the hardware)
memory_mb=$(($(awk '/^MemTotal:/ {print $2}' /proc/meminfo) / 1024))
ctld_port="$(free_port)"
slurmd_port="$(free_port)"
while [ "$slurmd_port" = "$ctld_port" ]; do slurmd_port="$(free_port)"; done

cat >"$dir/slurm.conf" <<EOF
ClusterName=compeval
SlurmctldHost=${host}(127.0.0.1)
SlurmctldPort=${ctld_port}
SlurmdPort=${slurmd_port}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=${dir}/munge/munge.socket
StateSaveLocation=${dir}/state
SlurmdSpoolDir=${dir}/spool
SlurmctldPidFile=${dir}/slurmctld.pid
SlurmdPidFile=${dir}/slurmd.pid
SlurmctldLogFile=${dir}/log/slurmctld.log
SlurmdLogFile=${dir}/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SlurmdParameters=config_overrides
ReturnToService=2
MpiDefault=none
MinJobAge=3600
GresTypes=gpu
NodeName=${host} NodeAddr=127.0.0.1 CPUs=${cpus} Sockets=1 CoresPerSocket=${cpus} ThreadsPerCore=1 RealMemory=${memory_mb} Gres=gpu:3 State=UNKNOWN
PartitionName=compeval Nodes=${host} Default=YES MaxTime=INFINITE State=UP
EOF
# Slurm counts a GPU only with a character device: three null devices stand in.
for i in 0 1 2; do [ -c "$dir/gpu$i" ] || mknod "$dir/gpu$i" c 1 3; done
cat >"$dir/gres.conf" <<EOF
NodeName=${host} Name=gpu File=${dir}/gpu[0-2]
EOF

export SLURM_CONF="$dir/slurm.conf"
slurmctld -i
slurmd
for _ in $(seq 300); do
  if sinfo --noheader --nodes="$host" --format=%t 2>/dev/null | grep -qx idle; then
    echo "export SLURM_CONF=$SLURM_CONF"
    exit 0
  fi
  sleep 0.1
done
echo "slurm-cluster: node ${host} not idle after 30 s; see $dir/log/slurmctld.log and $dir/log/slurmd.log" >&2
sinfo --noheader --nodes="$host" --format='%t %E' >&2 || true
"$0" stop "$dir"
exit 1
