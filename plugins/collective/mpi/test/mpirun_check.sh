#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Usage: mpirun_check.sh MPIEXEC NP BOUND_SECONDS EXPECT PATTERN COMMAND...
# Runs COMMAND as NP ranks on this host (mpirun --oversubscribe, so it works on a machine with
# fewer cores) under `timeout BOUND_SECONDS`, prints what the job printed and checks it:
#   - the job finished within the bound (a hang is a failure, never a wait for ctest's timeout);
#   - EXPECT ok: mpirun exited 0; fail: it exited non-zero; any: either;
#   - the output matches the extended regular expression PATTERN (grep -E).
# Open MPI refuses to start as root unless told twice that it is wanted; test machines and
# containers often run as root, so the script says so here rather than asking users to.
set -u
mpiexec=$1 np=$2 bound=$3 expect=$4 pattern=$5
shift 5
if [ "$(id -u)" = 0 ]; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
# Containers often forbid the cross-memory attach (process_vm_readv) that Open MPI's shared-
# memory transport uses for large messages; copying through shared memory works everywhere.
export OMPI_MCA_btl_vader_single_copy_mechanism="${OMPI_MCA_btl_vader_single_copy_mechanism:-none}"
output=$(timeout -k 10 "$bound" "$mpiexec" --oversubscribe -np "$np" "$@" 2>&1)
rc=$?
printf '%s\n' "$output"
echo "mpirun_check: exit status $rc"
# 124 is timeout's own status; 137 (a rank killed by SIGKILL) may be mpirun's answer to a
# dead rank, which the dead-peer test expects.
if [ "$rc" = 124 ]; then
  echo "FAIL: the job did not finish within $bound s"
  exit 1
fi
case $expect in
  ok) [ "$rc" = 0 ] || { echo "FAIL: expected the job to succeed"; exit 1; } ;;
  fail) [ "$rc" != 0 ] || { echo "FAIL: expected the job to fail"; exit 1; } ;;
  any) ;;
  *) echo "FAIL: EXPECT must be ok, fail or any, got '$expect'"; exit 1 ;;
esac
if ! printf '%s\n' "$output" | grep -Eq -- "$pattern"; then
  echo "FAIL: the output does not match: $pattern"
  exit 1
fi
echo "PASS"
