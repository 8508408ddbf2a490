#!/usr/bin/env bash
# A single-node Slurm cluster on 127.0.0.1 for CI, and the pipeline run through it.
#
#   scripts/slurm_local.sh setup          install Debian's Slurm + munge (apt-get), write a
#                                         one-node slurm.conf, start munged, slurmctld, slurmd
#   scripts/slurm_local.sh run-pipeline   run a small configuration of the pipeline through
#                                         the slurm executor (profile slurm/ci) in $WORK_DIR
#   scripts/slurm_local.sh status         which daemons run, and whether we started them
#   scripts/slurm_local.sh teardown       cancel our jobs, stop ONLY the daemons this script
#                                         started (PIDs recorded in $STATE_DIR/pids)
#
# Needs: root, Debian/Ubuntu with apt-get (tested: Debian 12, slurm-wlm 22.05, no systemd).
# Every step is idempotent and every wait is bounded. Daemons that were already running
# (e.g. started by systemd) are used but never stopped.
#
# Teardown leaves the machine as setup found it: spool, logs and pid files live in $STATE_DIR;
# /etc/slurm/slurm.conf (the one file outside it: the slurm-jobstep plugin drops SLURM_CONF
# from the environment of the srun inside each job, so it must be the default path) is removed
# again, and so are the packages setup installed (recorded in $STATE_DIR/installed-packages).
# Otherwise every later `snakemake` on the machine waits ~10 s: the slurm plugin finds `sinfo`
# on PATH and asks the stopped controller for its config.
#
# Accounting: none (no slurmdbd, no MariaDB: ~10 s faster to set up, nothing to store).
# Then `sacct` fails and the Snakemake plugin must poll with squeue; the CI profile says
# so (`slurm-status-command: squeue`), otherwise the plugin waits forever.
#
# Environment knobs (defaults in brackets):
#   STATE_DIR [/tmp/pscale-slurm]   pid files, generated files, daemon stdout
#   PARTITION [debug]               the partition (slurm/ci/config.yaml uses debug)
#   CLUSTER_NAME [pscale-ci]
#   WORK_DIR [$STATE_DIR/pipeline]  run-pipeline: where the workflow copy runs
#   PIPELINE_CONFIG [tests/data/slurm_ci_config.yaml], PROFILE [slurm/ci]
#   PYTHON [python3 on PATH]        run-pipeline: interpreter with snakemake, the slurm
#                                   plugin and pscale (its bin dir is put first on PATH,
#                                   and sbatch exports PATH to the jobs)
#   PIPELINE_TIMEOUT [900]          run-pipeline: seconds before snakemake is interrupted
#   TARGETS [empty: all]            run-pipeline: targets (space-separated) instead of the whole
#                                   pipeline; then results/tables/accuracy.csv is not checked
#   FORCE [0]                       1: overwrite an /etc/slurm/slurm.conf this script did not write
#   KEEP_PACKAGES [0]               1: teardown leaves the packages setup installed (a faster next setup)
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STATE_DIR=${STATE_DIR:-/tmp/pscale-slurm}
PARTITION=${PARTITION:-debug}
CLUSTER_NAME=${CLUSTER_NAME:-pscale-ci}
WORK_DIR=${WORK_DIR:-$STATE_DIR/pipeline}
PIPELINE_CONFIG=${PIPELINE_CONFIG:-$REPO/tests/data/slurm_ci_config.yaml}
PROFILE=${PROFILE:-slurm/ci}
PIPELINE_TIMEOUT=${PIPELINE_TIMEOUT:-900}
PIDDIR=$STATE_DIR/pids
RUN_DIR=$STATE_DIR/run
SLURM_CONF=/etc/slurm/slurm.conf
export DEBIAN_FRONTEND=noninteractive

log() { printf '[slurm_local %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

DAEMONS=(munged slurmctld slurmd)
declare -A SYS_PIDFILE=([munged]=/run/munge/munged.pid [slurmctld]=$RUN_DIR/slurmctld.pid
                        [slurmd]=$RUN_DIR/slurmd.pid)

# ---------------------------------------------------------------- helpers
alive() { [[ -n "${1:-}" ]] && kill -0 "$1" 2>/dev/null; }
pid_from() { [[ -s "$1" ]] && tr -dc '0-9' <"$1" || true; }
comm_of() { cat "/proc/$1/comm" 2>/dev/null || true; }

is_ours() {  # name: our recorded PID is alive and is that daemon (guards against PID reuse)
  local p; p=$(pid_from "$PIDDIR/$1.pid")
  alive "$p" && [[ "$(comm_of "$p")" == "$1" ]]
}
running_any() {  # name: the daemon runs per its system pid file (ours or not)
  local p; p=$(pid_from "${SYS_PIDFILE[$1]}")
  alive "$p" && [[ "$(comm_of "$p")" == "$1" ]]
}
wait_for() {  # description timeout_s command...: poll every 0.25 s, fail after timeout_s
  local desc=$1 t=$2 i; shift 2
  for ((i = 0; i < t * 4; i++)); do "$@" >/dev/null 2>&1 && return 0; sleep 0.25; done
  die "timed out after ${t}s waiting for $desc"
}
start_daemon() {  # name command...: start unless running; record the PID it writes
  local n=$1 p i; shift
  if is_ours "$n"; then log "$n already running (ours, pid $(pid_from "$PIDDIR/$n.pid"))"; return 0; fi
  if running_any "$n"; then log "$n already running (not started by us: left alone)"; return 0; fi
  rm -f "${SYS_PIDFILE[$n]}"
  "$@"
  for ((i = 0; i < 100; i++)); do  # daemons fork and write their pid file: 10 s at most
    p=$(pid_from "${SYS_PIDFILE[$n]}"); alive "$p" && break; sleep 0.1
  done
  alive "$p" || die "$n did not start (logs: $STATE_DIR/log, /var/log/munge)"
  echo "$p" >"$PIDDIR/$n.pid"
  log "started $n pid $p"
}
need_root() { [[ $EUID -eq 0 ]] || die "must run as root (installs packages, starts daemons)"; }

# ---------------------------------------------------------------- setup
install_pkgs() {
  local pkgs=(munge slurmctld slurmd slurm-client) missing=() p
  for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
  done
  if ((${#missing[@]} == 0)); then log "packages present"; return 0; fi
  command -v apt-get >/dev/null || die "apt-get not found (Debian/Ubuntu only)"
  log "apt-get install ${missing[*]}"
  local before; before=$(installed_pkgs)
  timeout 300 apt-get update -qq
  timeout 600 apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # every package this install added (dependencies included), so teardown can purge exactly these
  comm -13 <(echo "$before") <(installed_pkgs) >>"$STATE_DIR/installed-packages"
}

installed_pkgs() { dpkg-query -W -f='${binary:Package} ${Status}\n' | awk '/ ok installed$/{print $1}' | sort; }

remove_pkgs() {  # purge what install_pkgs added (nothing else), and /etc/slurm if it is empty
  local list=$STATE_DIR/installed-packages pkgs
  [[ -s $list ]] || { rmdir /etc/slurm 2>/dev/null || true; return 0; }
  mapfile -t pkgs < <(sort -u "$list")
  log "apt-get purge ${pkgs[*]} (installed by setup)"
  timeout 300 apt-get purge -y -qq "${pkgs[@]}" >/dev/null 2>&1 || log "apt-get purge failed: packages left installed"
  rm -f "$list"
  rmdir /etc/slurm 2>/dev/null || true
}

write_slurm_conf() {
  local host nodeline memmb
  host=$(hostname -s)
  # real topology from slurmd -C (avoids "Low socket*core*thread count" drains),
  # RealMemory 95 % of MemTotal, address pinned to loopback
  nodeline=$(slurmd -C | head -1)
  memmb=$(($(awk '/MemTotal/{print $2}' /proc/meminfo) / 1024 * 95 / 100))
  nodeline=$(sed -E "s/RealMemory=[0-9]+/RealMemory=$memmb/" <<<"$nodeline")
  # never clobber a real cluster's configuration
  if [[ -s /etc/slurm/slurm.conf && ${FORCE:-0} != 1 ]] \
    && ! head -1 /etc/slurm/slurm.conf | grep -Eq '^# generated by .*slurm_local(_setup)?\.sh'; then
    die "/etc/slurm/slurm.conf exists and was not written by this script (FORCE=1 overwrites it)"
  fi
  mkdir -p /etc/slurm "$RUN_DIR"
  cat >"$SLURM_CONF.new" <<EOF
# generated by parallel-scaling scripts/slurm_local.sh (CI only; loopback, no accounting)
ClusterName=$CLUSTER_NAME
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
SlurmctldPort=6817
SlurmdPort=6818
StateSaveLocation=$STATE_DIR/spool/slurmctld
SlurmdSpoolDir=$STATE_DIR/spool/slurmd
SlurmctldPidFile=$RUN_DIR/slurmctld.pid
SlurmdPidFile=$RUN_DIR/slurmd.pid
SlurmctldLogFile=$STATE_DIR/log/slurmctld.log
SlurmdLogFile=$STATE_DIR/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
MpiDefault=none
ReturnToService=2
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
# squeue-based status checks need finished jobs visible: MinJobAge >= 3 x init-seconds
MinJobAge=300
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
$nodeline NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=$PARTITION Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
  if cmp -s "$SLURM_CONF.new" "$SLURM_CONF"; then
    rm "$SLURM_CONF.new"
  else
    mv "$SLURM_CONF.new" "$SLURM_CONF"
    log "wrote $SLURM_CONF"
    CONF_CHANGED=1
  fi
  # SlurmUser=root: $STATE_DIR may sit under a folder only root can enter (pytest's tmp_path)
  install -d -m 0755 "$STATE_DIR/spool/slurmctld" "$STATE_DIR/spool/slurmd" "$STATE_DIR/log" "$RUN_DIR"
}

start_munge() {
  [[ -s /etc/munge/munge.key ]] || dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none
  chown munge:munge /etc/munge/munge.key
  chmod 400 /etc/munge/munge.key
  install -d -o munge -g munge -m 0755 /run/munge
  start_daemon munged runuser -u munge -- /usr/sbin/munged
  wait_for "munge" 10 bash -c 'munge -n | unmunge'
}

start_slurm() {
  local node; node=$(hostname -s)
  start_daemon slurmctld /usr/sbin/slurmctld -f "$SLURM_CONF"
  wait_for "slurmctld" 30 scontrol ping
  start_daemon slurmd /usr/sbin/slurmd -f "$SLURM_CONF"
  if [[ ${CONF_CHANGED:-0} == 1 ]] && is_ours slurmctld; then timeout 30 scontrol reconfigure || true; fi
  wait_for "node registration" 30 bash -c "sinfo -h -n $node -o %T | grep -Eq '^(idle|mixed|allocated|down|drain)'"
  if sinfo -h -n "$node" -o %T | grep -Eq 'down|drain'; then
    timeout 30 scontrol update nodename="$node" state=resume || true
  fi
  wait_for "node idle" 30 bash -c "sinfo -h -n $node -o %T | grep -Eq '^(idle|mixed|allocated)'"
  sinfo >&2
}

cmd_setup() {
  local t0=$SECONDS
  need_root
  mkdir -p "$PIDDIR"
  install_pkgs
  write_slurm_conf
  start_munge
  start_slurm
  log "setup done in $((SECONDS - t0)) s"
}

# ---------------------------------------------------------------- run-pipeline
cmd_run_pipeline() {
  local py=${PYTHON:-$(command -v python3)} t0=$SECONDS rc=0
  [[ -x $py ]] || die "no python: set PYTHON"
  "$py" -c 'import snakemake_executor_plugin_slurm, pscale' \
    || die "$py lacks snakemake-executor-plugin-slurm or pscale (make venv; PYTHON=.venv/bin/python)"
  timeout 10 sinfo -h >/dev/null 2>&1 || die "no Slurm cluster answers: run '$0 setup' first"
  # a fresh copy of the workflow: Snakefile, rules, shipped inputs, profiles
  rm -rf "$WORK_DIR"
  mkdir -p "$WORK_DIR"
  cp -r "$REPO/Snakefile" "$REPO/workflow" "$REPO/resources" "$REPO/envs" "$REPO/slurm" "$WORK_DIR/"
  cp "$PIPELINE_CONFIG" "$WORK_DIR/config.yaml"
  log "running the pipeline through Slurm in $WORK_DIR (profile $PROFILE)"
  local targets=()
  read -r -a targets <<<"${TARGETS:-}"
  # SIGINT, not SIGTERM: on TERM the plugin keeps waiting for its jobs.
  # Targets before the options: --configfile takes every word after it.
  (cd "$WORK_DIR" && PATH="$(dirname "$py"):$PATH" timeout -s INT -k 60 "$PIPELINE_TIMEOUT" \
    "$py" -m snakemake "${targets[@]}" --profile "$PROFILE" --configfile config.yaml) || rc=$?
  log "pipeline finished in $((SECONDS - t0)) s with exit code $rc"
  ((rc == 0)) || return "$rc"
  ((${#targets[@]} == 0)) || return 0
  [[ -s $WORK_DIR/results/tables/accuracy.csv ]] || die "no results/tables/accuracy.csv"
  log "Slurm logs: $(find "$WORK_DIR/logs/slurm" -name '*.log' | wc -l) in $WORK_DIR/logs/slurm"
}

# ---------------------------------------------------------------- teardown / status
cmd_teardown() {
  local n p i jobs
  if is_ours slurmctld; then
    # cancel what is left (a failed or interrupted run) and wait, bounded, for it to go
    jobs=$(timeout 10 squeue -h -o %i 2>/dev/null || true)
    if [[ -n $jobs ]]; then
      log "cancelling jobs: $(echo $jobs)"
      # shellcheck disable=SC2086
      timeout 10 scancel $jobs 2>/dev/null || true
      for ((i = 0; i < 120; i++)); do
        [[ -z $(timeout 10 squeue -h -t PD,R,CG -o %i 2>/dev/null) ]] && break; sleep 0.25
      done
    fi
  fi
  for n in slurmd slurmctld munged; do
    [[ -f $PIDDIR/$n.pid ]] || continue
    p=$(pid_from "$PIDDIR/$n.pid")
    if is_ours "$n"; then
      kill -TERM "$p"
      for ((i = 0; i < 60; i++)); do alive "$p" || break; sleep 0.25; done
      if alive "$p"; then log "$n pid $p ignored TERM for 15 s: KILL"; kill -KILL "$p" || true; sleep 0.5; fi
      log "stopped $n pid $p"
      # Slurm daemons leave their pid file behind; a stale one confuses the next start
      # and Debian's slurmctld prerm (it runs scancel on package removal)
      [[ "$(pid_from "${SYS_PIDFILE[$n]}")" == "$p" ]] && rm -f "${SYS_PIDFILE[$n]}"
    else
      log "$n pid $p is not running (or the PID was reused): nothing to stop"
    fi
    rm -f "$PIDDIR/$n.pid"
  done
  # the slurm.conf setup wrote (never one it did not write)
  if [[ -f /etc/slurm/slurm.conf ]] && head -1 /etc/slurm/slurm.conf | grep -Eq '^# generated by .*slurm_local(_setup)?\.sh'; then
    rm -f /etc/slurm/slurm.conf; log "removed /etc/slurm/slurm.conf"
  fi
  if [[ ${KEEP_PACKAGES:-0} != 1 ]]; then remove_pkgs; fi
  log "teardown done"
}

cmd_status() {
  local n
  for n in "${DAEMONS[@]}"; do
    if is_ours "$n"; then echo "$n: running (ours) pid $(pid_from "$PIDDIR/$n.pid")"
    elif running_any "$n"; then echo "$n: running (not ours) pid $(pid_from "${SYS_PIDFILE[$n]}")"
    else echo "$n: stopped"; fi
  done
  if running_any slurmctld; then timeout 10 sinfo || true; timeout 10 squeue || true; fi
}

case "${1:-}" in
  setup) cmd_setup ;;
  run-pipeline) cmd_run_pipeline ;;
  teardown | stop) cmd_teardown ;;
  status) cmd_status ;;
  *) echo "usage: $0 setup | run-pipeline | status | teardown" >&2; exit 2 ;;
esac
