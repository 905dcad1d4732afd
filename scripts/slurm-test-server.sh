#!/usr/bin/env bash
# A throwaway single-node Slurm for tests: Debian's munged, slurmctld and slurmd with a generated
# munge key and a minimal slurm.conf in a temporary folder, the controller and the node daemon
# on free ports of this machine, one partition ("debug") holding the node "localhost" with this
# machine's memory and its CPUs, but at least 4: a job of 2 ranks (2 tasks) and a job of 1 fit
# at once on a machine of fewer cores (the node's slurmd takes the configured CPUs as they are,
# SlurmdParameters=config_overrides, and with TaskPlugin=task/none nothing is bound to a core).
#
#   slurm-test-server.sh start STATE_DIR     start it and wait until `sinfo` shows the node idle
#   slurm-test-server.sh destroy STATE_DIR   stop the daemons and delete STATE_DIR
#
# STATE_DIR receives slurm.conf (point SLURM_CONF at it for sinfo, sbatch, squeue, scontrol,
# scancel), the daemons' logs and state, and the munge socket. The daemons run as the caller
# (SlurmUser and SlurmdUser are the caller): as root in a container, the usual case for tests.
set -euo pipefail

usage() {
  echo "usage: $0 start|destroy STATE_DIR" >&2
  exit 2
}
[ $# -eq 2 ] || usage
action=$1
state=$2

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

need() {
  if ! command -v "$1" > /dev/null 2>&1 && [ ! -x "/usr/sbin/$1" ]; then
    echo "slurm-test-server: no $1; install Debian's slurmctld slurmd slurm-client munge" \
      "(scripts/install-deps.sh)" >&2
    exit 1
  fi
}

stop_pid_file() {
  local file=$1
  [ -f "$file" ] || return 0
  local pid
  pid=$(cat "$file")
  if [ -n "$pid" ] && kill -0 "$pid" 2> /dev/null; then
    kill "$pid" 2> /dev/null || true
    for _ in $(seq 50); do
      kill -0 "$pid" 2> /dev/null || return 0
      sleep 0.1
    done
    kill -9 "$pid" 2> /dev/null || true
  fi
}

# The daemons of an earlier start on the same STATE_DIR (a start with no destroy after it, as
# `ctest --repeat` does): stopped, so that none is left running with no state folder.
stop_daemons() {
  stop_pid_file "$state/slurmd.pid"
  stop_pid_file "$state/slurmctld.pid"
  stop_pid_file "$state/munge/munged.pid"
}

write_conf() {
  local user cpus memory_mib
  user=$(id -un)
  cpus=$(nproc)
  [ "$cpus" -ge 4 ] || cpus=4
  memory_mib=$(($(awk '/^MemTotal:/ {print $2}' /proc/meminfo) / 1024 - 512))
  cat > "$state/slurm.conf" << EOF
ClusterName=aimasstest
SlurmctldHost=localhost
SlurmctldPort=$(free_port)
SlurmdPort=$(free_port)
SlurmUser=$user
SlurmdUser=$user
AuthType=auth/munge
AuthInfo=socket=$state/munge/munge.socket
CredType=cred/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
MpiDefault=none
SlurmdParameters=config_overrides
ReturnToService=2
StateSaveLocation=$state/ctld
SlurmdSpoolDir=$state/slurmd
SlurmctldPidFile=$state/slurmctld.pid
SlurmdPidFile=$state/slurmd.pid
SlurmctldLogFile=$state/slurmctld.log
SlurmdLogFile=$state/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
SchedulerType=sched/builtin
MinJobAge=600
KillWait=5
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$memory_mib State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
}

start() {
  need munged
  need slurmctld
  need slurmd
  need sinfo
  mkdir -p "$state"
  state=$(cd "$state" && pwd)
  stop_daemons
  mkdir -p "$state/munge" "$state/ctld" "$state/slurmd"
  chmod 700 "$state/munge"
  (umask 077 && head -c 1024 /dev/urandom > "$state/munge/munge.key")
  write_conf
  /usr/sbin/munged --force --key-file="$state/munge/munge.key" \
    --socket="$state/munge/munge.socket" --pid-file="$state/munge/munged.pid" \
    --log-file="$state/munge/munged.log" --seed-file="$state/munge/munged.seed"
  export SLURM_CONF=$state/slurm.conf
  /usr/sbin/slurmctld -c -f "$state/slurm.conf"
  /usr/sbin/slurmd -f "$state/slurm.conf"
  for _ in $(seq 300); do
    if sinfo -h -N -o '%T' 2> /dev/null | grep -qx idle; then
      echo "$state/slurm.conf"
      return 0
    fi
    sleep 0.1
  done
  echo "slurm-test-server: the node did not become idle in 30 s; sinfo says:" >&2
  sinfo -N 2>&1 >&2 || true
  echo "--- slurmctld.log" >&2
  tail -n 20 "$state/slurmctld.log" >&2 || true
  echo "--- slurmd.log" >&2
  tail -n 20 "$state/slurmd.log" >&2 || true
  exit 1
}

destroy() {
  [ -d "$state" ] || return 0
  state=$(cd "$state" && pwd)
  if [ -f "$state/slurm.conf" ]; then
    SLURM_CONF=$state/slurm.conf scancel --user="$(id -un)" 2> /dev/null || true
  fi
  stop_daemons
  rm -rf "$state"
}

case $action in
  start) start ;;
  destroy) destroy ;;
  *) usage ;;
esac
