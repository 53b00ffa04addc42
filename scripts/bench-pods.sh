#!/usr/bin/env bash
# The cost of one replica: the wasm pod (containerd-shim-spin v0.24.0) against
# the original Flask container (runc), side by side on the same containerd,
# in one run. Writes the "per replica" section of BENCHMARKS.md.
#   SPIN=... CONTAINERD_SHIM_SPIN=... SEED_APP=DIR scripts/bench.sh --pods
#   scripts/bench.sh --pods --runs 3 --seconds 3 --no-write   # a quick look
# SEED_APP is the original demo's python-app directory (app-just-counter.py).
# Needs root (it starts containerd); installs the Debian packages it drives
# when missing. Everything it starts is removed on exit, also on Ctrl-C.
set -euo pipefail
# Command substitutions stop at a failure too (ms=$(timed_start ...)).
shopt -s inherit_errexit
cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo=$PWD
# shellcheck source=require.sh
source scripts/require.sh
# shellcheck source=debian.sh
source scripts/debian.sh

runs=10          # starts per image form, cold and warm each
seconds=10       # per wrk run
replicas=10      # running at once, for density
requests=1000    # to `/`, before memory is read
connections=16
write=yes
extra_wasm_env=()
while (($#)); do
  case $1 in
    --runs) runs=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --replicas) replicas=$2; shift 2 ;;
    --no-write) write=no; shift ;;
    # Spin's runtime knobs (SPIN_WASMTIME_POOLING=0, SPIN_WASMTIME_INSTANCE_COUNT=N, ...)
    # added to the wasm tasks' environment, to see what they change.
    --wasm-env) extra_wasm_env+=("$2"); shift 2 ;;
    *) echo "usage: $0 [--runs N] [--seconds N] [--replicas N] [--wasm-env NAME=VALUE]... [--no-write]" >&2; exit 2 ;;
  esac
done

# The container's root filesystem is Debian 12's (scripts/flask-image.sh).
suite=bookworm

fail() {
  echo "bench-pods: $*" >&2
  exit 1
}

[[ $EUID -eq 0 ]] || fail "it starts containerd and runs containers, which needs root: run it as root"
require containerd:containerd ctr:containerd containerd-shim-runc-v2:containerd runc:runc \
  debootstrap:debootstrap buildah:buildah docker-registry:docker-registry wrk:wrk curl:curl
require_kubectl # its kustomize renders the Deployments whose securityContexts the pods run under
spin=${SPIN:-$(command -v spin || true)}
shim=${CONTAINERD_SHIM_SPIN:-$(command -v containerd-shim-spin-v2 || true)}
[[ -x $spin ]] || fail "Spin 3.6.3 not found: set SPIN to its path or put spin on PATH (https://spinframework.dev/install)"
[[ -x $shim ]] || fail "containerd-shim-spin v0.24.0 not found: set CONTAINERD_SHIM_SPIN to its path or put containerd-shim-spin-v2 on PATH"
"$spin" --version | grep -q '^spin 3\.6\.3 ' || fail "$spin is not Spin 3.6.3: $("$spin" --version)"
# Read whole: the shim aborts when its output pipe closes early (grep -q).
shim_version=$("$shim" -v 2>&1 || true)
[[ $shim_version == *"Version: 0.24.0"* ]] || fail "$shim is not containerd-shim-spin v0.24.0"
[[ -f ${SEED_APP:-}/app-just-counter.py ]] ||
  fail "set SEED_APP to the original demo's python-app directory (the one with app-just-counter.py)"

# What the wasm Deployment says: its CPU limit, which both pods get, and its
# environment. Read from the manifest so the bench follows it.
deployment=manifests/wasm/deployment.yaml
cpu_limit=$(awk '/limits:/ { limits = 1; next } limits && $1 == "cpu:" { print $2; exit }' "$deployment")
[[ $cpu_limit =~ ^([0-9]+)m$ ]] || fail "$deployment: expected a CPU limit in millicores, found '$cpu_limit'"
cpu_period=100000
cpu_quota=$((BASH_REMATCH[1] * cpu_period / 1000))
mapfile -t wasm_env < <(awk '
  $1 == "env:" { env = 1; next }
  env && $1 == "-" && $2 == "name:" { name = $3; next }
  env && $1 == "value:" { value = $2; gsub(/"/, "", value); print name "=" value; next }
  env && $1 != "#" { env = 0 }' "$deployment")
((${#wasm_env[@]} > 0)) || fail "$deployment: no env found"

containerd_dir=${CONTAINERD_1_7:-$(scripts/containerd-1.7.sh target/containerd-1.7)}

work=$(mktemp -d /tmp/bench-pods.XXXXXX)
sock=$work/containerd.sock
ctr_bin=$containerd_dir/ctr
containerd_pid=""
registry_pid=""

# A namespace of this run's own: its cgroups are /NAMESPACE/ID, which the
# clean-up sweeps, and a second run beside it cannot collide.
ns=bench-pods-$$
ctr_() { "$ctr_bin" --address "$sock" --namespace "$ns" "$@"; }
buildah_() { buildah --storage-driver vfs --root "$work/buildah-root" --runroot "$work/buildah-runroot" "$@"; }

# The shims and ctr calls of our containerd: their command lines name its socket.
our_helpers() {
  local cmdline pid
  for cmdline in /proc/[0-9]*/cmdline; do
    pid=${cmdline#/proc/}
    pid=${pid%/cmdline}
    [[ $pid != "$containerd_pid" ]] || continue
    # A process may end between the glob and the read: stderr goes first.
    if tr '\0' ' ' 2>/dev/null <"$cmdline" | grep -qF -- "$sock"; then echo "$pid"; fi
  done
}

# The cgroup directories of this run's tasks, in every hierarchy.
our_cgroups() {
  find /sys/fs/cgroup -mindepth 1 -maxdepth 3 -type d -path "*/$ns" 2>/dev/null
}

cleanup() {
  local status=$? id pid cgroup
  set +e
  # A second Ctrl-C must not cut the clean-up short.
  trap '' INT TERM
  trap - EXIT ERR
  if [[ -n $containerd_pid ]] && kill -0 "$containerd_pid" 2>/dev/null; then
    for id in $(ctr_ tasks ls --quiet 2>/dev/null); do
      ctr_ tasks kill --signal SIGKILL "$id" >/dev/null 2>&1
    done
    sleep 0.5
    for id in $(ctr_ containers ls --quiet 2>/dev/null); do
      ctr_ tasks delete --force "$id" >/dev/null 2>&1
      ctr_ containers delete "$id" >/dev/null 2>&1
    done
  fi
  # Shims run in process groups of their own: end them by their ids.
  for pid in $(our_helpers); do kill -KILL "$pid" 2>/dev/null; done
  # Whatever a killed shim left in the tasks' cgroups, then the cgroups.
  for cgroup in $(our_cgroups); do
    cat "$cgroup"/*/cgroup.procs 2>/dev/null | xargs -r kill -KILL 2>/dev/null
  done
  sleep 0.2
  for cgroup in $(our_cgroups); do
    find "$cgroup" -depth -type d -exec rmdir {} + 2>/dev/null
  done
  for pid in $containerd_pid $registry_pid; do
    kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  done
  [[ -d $work/buildah-root ]] && buildah_ rm --all >/dev/null 2>&1
  # Deepest mount first.
  awk -v dir="$work" 'index($2, dir) == 1 { print $2 }' /proc/mounts | sort -r | while read -r mount; do
    umount -l "$mount" 2>/dev/null
  done
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT
# A command that stops the run unexpectedly names itself: no silent exit.
trap 'echo "bench-pods: stopped at line $LINENO: $BASH_COMMAND" >&2' ERR
trap 'echo "bench-pods: interrupted" >&2; exit 130' INT
trap 'exit 143' TERM

# A port below the kernel's ephemeral range: there, a client's connection
# (wrk's, curl's, another test's) can hold the port a server then cannot bind.
ephemeral_low=$(awk '{ print $1 }' /proc/sys/net/ipv4/ip_local_port_range)
((ephemeral_low > 12000)) || fail "the ephemeral port range starts at $ephemeral_low: no room below it for the tasks' ports"
free_port() {
  local port
  while :; do
    port=$((10000 + RANDOM % (ephemeral_low - 10000)))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return
    fi
  done
}

now_ns() { date +%s%N; }

# --- the images -----------------------------------------------------------

echo "== building the component and the images" >&2
rustup target add wasm32-wasip2 >/dev/null 2>&1 || true
cargo build --target wasm32-wasip2 --profile wasm-release --target-dir target -p keda-spin-autoscaling
cargo build --release --target-dir target -p harness --bin ctr-flags

registry_port=$(free_port)
registry=127.0.0.1:$registry_port
mkdir -p "$work/registry"
cat >"$work/registry.yml" <<YAML
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $work/registry
http:
  addr: $registry
YAML
# setsid: out of the terminal's process group, so that Ctrl-C reaches only
# this script, which then stops the tasks through containerd before it.
setsid docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
registry_pid=$!
for _ in $(seq 100); do
  curl -fsS -o /dev/null "http://$registry/v2/" 2>/dev/null && break
  kill -0 "$registry_pid" 2>/dev/null || fail "docker-registry exited: $(tail -5 "$work/registry.log")"
  sleep 0.1
done
curl -fsS -o /dev/null "http://$registry/v2/" || fail "docker-registry did not answer on $registry"

# The plain image, as docs/kubernetes.md builds it.
buildah_ bud --quiet --file Dockerfile --tag localhost/wasm-plain:bench . >/dev/null
buildah_ push --quiet --tls-verify=false localhost/wasm-plain:bench "docker://$registry/wasm-plain:bench"
# The Spin OCI artifact, as docs/kubernetes.md pushes it.
"$spin" registry push --insecure --cache-dir "$work/spin-cache" --from spin.toml "$registry/wasm-artifact:bench" >&2

# The container: the original Flask app, built here (scripts/flask-image.sh).
versions=$(scripts/flask-image.sh "docker://$registry/container:bench")
rm -rf "$work/buildah-root" "$work/buildah-runroot"

forms=(wasm-artifact wasm-plain container)
declare -A label=(
  [wasm-artifact]="wasm, Spin OCI artifact (as root)"
  [wasm-plain]="wasm, plain image (restricted)"
  [container]="container (Flask, restricted)"
)
ref() { echo "$registry/$1:bench"; }

# Bytes as pulled: the manifest's config and layer sizes.
for form in "${forms[@]}"; do
  curl -fsS -H 'Accept: application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json' \
    "http://$registry/v2/$form/manifests/bench" >"$work/$form.manifest" || fail "no manifest for $form in the registry"
done
declare -A pulled
for form in "${forms[@]}"; do
  pulled[$form]=$(grep -o '"size": *[0-9]*' "$work/$form.manifest" | awk -F: '{ sum += $2 } END { print sum }')
done

# --- containerd -------------------------------------------------------------

echo "== starting containerd $("$containerd_dir/containerd" --version | awk '{ print $3 }')" >&2
mkdir -p "$work/bin" "$work/root" "$work/state" "$work/logs"
ln -s "$(readlink -f "$shim")" "$work/bin/containerd-shim-spin-v2"
cat >"$work/config.toml" <<TOML
version = 2
root = "$work/root"
state = "$work/state"
# ctr needs no CRI; leaving it out keeps its memory and goroutines off the figures.
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$sock"
TOML
PATH="$work/bin:$PATH" setsid "$containerd_dir/containerd" --config "$work/config.toml" >"$work/containerd.log" 2>&1 &
containerd_pid=$!
for _ in $(seq 300); do
  kill -0 "$containerd_pid" 2>/dev/null || fail "containerd exited while starting; the end of its log:
$(tail -20 "$work/containerd.log")"
  [[ -S $sock ]] && ctr_ version >/dev/null 2>&1 && break
  sleep 0.1
done
ctr_ version >/dev/null 2>&1 || fail "containerd did not answer on $sock within 30 s"
containerd_version=$(ctr_ version | awk '/Server:/ { server = 1 } server && /Version:/ { print $2; exit }')

# The plain image and the container run under their Deployments'
# securityContexts (the restricted standard), as the conformance tests run
# them: the same `ctr run` flags, from the same Rust (harness/src/confinement.rs).
# The artifact cannot run restricted (docs/security.md): it runs as root.
declare -A security
for form in wasm-plain container; do
  manifests=manifests/${form%-plain}
  security[$form]=$(target/release/ctr-flags "$manifests" "$containerd_version") ||
    fail "ctr-flags $manifests failed (its error is above)"
done
security[wasm-artifact]=

# --- tasks ------------------------------------------------------------------

# ctr run -d: the pod of `form` on 127.0.0.1:PORT, on the host's network as
# the conformance test runs it. Only the listen address differs from the
# pod's: a free port, so that replicas run side by side.
run_task() {
  local form=$1 id=$2 port=$3
  shift 3
  # The task's output goes to a file, as the kubelet's container logs do,
  # and tells why a task stopped.
  local restrictions
  mapfile -t restrictions <<<"${security[$form]}"
  [[ -n ${security[$form]} ]] || restrictions=()
  local args=(run --detach --net-host --log-uri "file://$work/logs/$id.log" "${restrictions[@]}" "$@")
  if [[ $form == container ]]; then
    ctr_ "${args[@]}" --runtime io.containerd.runc.v2 "$(ref "$form")" "$id" \
      flask run -h 127.0.0.1 -p "$port" >/dev/null || fail "ctr run $id failed (its error is above)"
  else
    local variable env=()
    for variable in "${wasm_env[@]}" "${extra_wasm_env[@]}"; do
      [[ $variable == SPIN_HTTP_LISTEN_ADDR=* ]] && variable=SPIN_HTTP_LISTEN_ADDR=127.0.0.1:$port
      env+=(--env "$variable")
    done
    ctr_ "${args[@]}" --runtime io.containerd.spin.v2 "${env[@]}" \
      --mount "type=bind,src=$repo/manifests/wasm/runtime-config.toml,dst=/runtime-config.toml,options=rbind:ro" \
      "$(ref "$form")" "$id" / >/dev/null || fail "ctr run $id failed (its error is above)"
  fi
}

task_status() { ctr_ tasks ls | awk -v id="$1" '$1 == id { print $3 }'; }

# Waits for the first 200 on `/`; fails the run if the task never answers.
wait_200() {
  local id=$1 port=$2 deadline=$((SECONDS + 60)) tries=0
  until [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$port/") == 200 ]]; do
    if ((++tries % 50 == 0)) && [[ $(task_status "$id") != RUNNING ]]; then
      fail "task $id ($(task_status "$id")) stopped before it answered 200 on :$port; the end of its output:
$(tail -20 "$work/logs/$id.log" 2>/dev/null)
the end of containerd's log:
$(tail -10 "$work/containerd.log")"
    fi
    ((SECONDS < deadline)) || fail "task $id never answered 200 on http://127.0.0.1:$port/ within 60 s"
    sleep 0.005
  done
}

stop_task() {
  local id=$1
  ctr_ tasks kill --signal SIGKILL "$id" >/dev/null 2>&1 || true
  for _ in $(seq 200); do
    [[ $(task_status "$id") == RUNNING ]] || break
    sleep 0.02
  done
  ctr_ tasks delete --force "$id" >/dev/null 2>&1 || true
  ctr_ containers delete "$id" >/dev/null || fail "cannot delete container $id"
}

# Starts a task and prints milliseconds from `ctr run` to the first 200.
timed_start() {
  local form=$1 id=$2 port=$3 started
  started=$(now_ns)
  run_task "$form" "$id" "$port"
  wait_200 "$id" "$port"
  echo $((($(now_ns) - started) / 1000000))
}

fresh_pull() {
  ctr_ images rm --sync "$(ref "$1")" >/dev/null 2>&1 || true
  ctr_ images pull --plain-http "$(ref "$1")" >/dev/null 2>>"$work/ctr.log" || fail "ctr images pull $(ref "$1") failed"
}

# Bytes below a directory, 0 before containerd has made it.
bytes_in() {
  if [[ -d $1 ]]; then du -sb "$1" | awk '{ print $1 }'; else echo 0; fi
}
content_dir=$work/root/io.containerd.content.v1.content
snapshot_dir=$work/root/io.containerd.snapshotter.v1.overlayfs

# The requests `/` counted, from /metrics (both apps expose the same name).
counted() {
  curl -fsS "http://127.0.0.1:$1/metrics" | awk '$1 == "python_request_operations_total" { print $2 + 0 }'
}

# N requests to `/`, one keep-alive connection, each a 200.
send_requests() {
  local port=$1 n=$2 i config=$work/requests.curl
  : >"$config"
  for ((i = 0; i < n; i++)); do
    printf 'url = "http://127.0.0.1:%s/"\noutput = "/dev/null"\nwrite-out = "%%{http_code}\\n"\n' "$port" >>"$config"
  done
  local codes
  codes=$(curl -s --config "$config" | sort | uniq -c | awk '{ printf "%s×%s ", $1, $2 }')
  [[ $codes == "$n×200 " ]] || fail "$n requests to :$port/ answered $codes"
}

# --- 1. image sizes ---------------------------------------------------------

declare -A unpacked precompiled
echo "== image sizes" >&2
# Pulls first, with nothing running: the snapshot directory then changes
# only by what each pull unpacks (a deleted container's snapshot goes later,
# in containerd's garbage collection).
for form in "${forms[@]}"; do
  snapshots_before=$(bytes_in "$snapshot_dir")
  ctr_ images pull --plain-http "$(ref "$form")" >/dev/null 2>>"$work/ctr.log" || fail "ctr images pull $(ref "$form") failed"
  unpacked[$form]=$(($(bytes_in "$snapshot_dir") - snapshots_before))
done
# What the first start adds to the content store: the shim's precompiled
# component, for the form it precompiles.
for form in "${forms[@]}"; do
  content_before=$(bytes_in "$content_dir")
  timed_start "$form" "size-$form" "$(free_port)" >/dev/null
  stop_task "size-$form"
  precompiled[$form]=$(($(bytes_in "$content_dir") - content_before))
  echo "${label[$form]}: pulled ${pulled[$form]} B, unpacked ${unpacked[$form]} B, added by the first start ${precompiled[$form]} B" >&2
done

# --- 2. start to first 200, cold and warm -----------------------------------

echo "== start to first 200: $runs × (cold, warm) per form" >&2
declare -A cold warm
for ((run = 1; run <= runs; run++)); do
  for form in "${forms[@]}"; do
    fresh_pull "$form"
    port=$(free_port)
    ms=$(timed_start "$form" "cold-$form-$run" "$port")
    cold[$form]+="$ms "
    stop_task "cold-$form-$run"
    port=$(free_port)
    ms=$(timed_start "$form" "warm-$form-$run" "$port")
    warm[$form]+="$ms "
    stop_task "warm-$form-$run"
  done
  echo "run $run/$runs: $(for form in "${forms[@]}"; do read -ra c <<<"${cold[$form]}"; read -ra w <<<"${warm[$form]}"; printf '%s %s/%s ms  ' "$form" "${c[-1]}" "${w[-1]}"; done)" >&2
done

# median and range of a list of numbers
median() { tr ' ' '\n' <<<"$1" | grep . | sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
range() { tr ' ' '\n' <<<"$1" | grep . | sort -n | awk 'NR == 1 { min = $1 } { max = $1 } END { print min "–" max }'; }

# --- 3. memory ----------------------------------------------------------------

# kB of a field (Rss, Pss) of smaps_rollup, summed over pids.
smaps_kb() {
  local field=$1 pid sum=0 kb
  shift
  for pid in "$@"; do
    kb=$(awk -v f="$field:" '$1 == f { print $2 }' "/proc/$pid/smaps_rollup" 2>/dev/null || true)
    sum=$((sum + ${kb:-0}))
  done
  echo "$sum"
}
# The task's processes: every process in the memory cgroup of the pid
# `ctr tasks ls` gives (the shim-spin answers no `ctr tasks ps`).
task_pids() {
  local pid path procs
  pid=$(ctr_ tasks ls | awk -v id="$1" '$1 == id { print $2 }')
  [[ -n $pid && -d /proc/$pid ]] || return 0
  path=$(awk -F: '$2 ~ /(^|,)memory(,|$)/ { print $3 }' "/proc/$pid/cgroup")
  if [[ -n $path && -f /sys/fs/cgroup/memory$path/cgroup.procs ]]; then
    procs=/sys/fs/cgroup/memory$path/cgroup.procs
  else
    procs=/sys/fs/cgroup$(awk -F: '$1 == 0 { print $3 }' "/proc/$pid/cgroup")/cgroup.procs
  fi
  cat "$procs"
}
# The task's shim processes: those started with `-id ID` and our socket,
# less the task's own (containerd-shim-spin forks the task from itself, so
# its task process has the shim's command line too).
shim_pids() {
  local pid task
  task=" $(task_pids "$1" | tr '\n' ' ') "
  for pid in $(our_helpers); do
    [[ $task != *" $pid "* ]] || continue
    if tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qE -- "-id $1( |$)"; then echo "$pid"; fi
  done
}
# The memory cgroup's usage of the task (v1 usage_in_bytes or v2 memory.current).
cgroup_bytes() {
  local pid=$1 path
  path=$(awk -F: '$2 ~ /(^|,)memory(,|$)/ { print $3 }' "/proc/$pid/cgroup")
  if [[ -n $path && -f /sys/fs/cgroup/memory$path/memory.usage_in_bytes ]]; then
    cat "/sys/fs/cgroup/memory$path/memory.usage_in_bytes"
    return
  fi
  path=$(awk -F: '$1 == 0 { print $3 }' "/proc/$pid/cgroup")
  cat "/sys/fs/cgroup$path/memory.current"
}
cpu_limit_seen() {
  local pid=$1 path
  path=$(awk -F: '$2 ~ /(^|,)cpu(,|$)/ { print $3 }' "/proc/$pid/cgroup")
  if [[ -n $path && -f /sys/fs/cgroup/cpu$path/cpu.cfs_quota_us ]]; then
    echo "$(cat "/sys/fs/cgroup/cpu$path/cpu.cfs_quota_us")/$(cat "/sys/fs/cgroup/cpu$path/cpu.cfs_period_us")"
    return
  fi
  path=$(awk -F: '$1 == 0 { print $3 }' "/proc/$pid/cgroup")
  tr ' ' / <"/sys/fs/cgroup$path/cpu.max"
}

# One process: its command (60 characters), RSS as anonymous + file-backed.
describe_process() {
  local pid=$1
  # The program's name without its directory: no machine path in the table.
  printf "\`%s\` %s" "$(tr '\0' ' ' <"/proc/$pid/cmdline" | sed 's|^[^ ]*/||' | cut -c1-50 | sed 's/ *$//')" \
    "$(awk '$1 == "RssAnon:" { anon = $2 } $1 == "RssFile:" { file = $2 } END { printf "(RSS %.1f MiB anonymous + %.1f MiB file)", anon / 1024, file / 1024 }' "/proc/$pid/status")"
}
# Which processes make a replica, for the record beside the table.
describe_processes() {
  local id=$1 pid pids shim
  mapfile -t pids < <(task_pids "$id")
  mapfile -t shim < <(shim_pids "$id")
  printf 'in the task'"'"'s cgroup %s: ' "$(awk -F: '$2 ~ /(^|,)memory(,|$)/ { print $3 }' "/proc/${pids[0]}/cgroup")"
  for pid in "${pids[@]}"; do describe_process "$pid"; printf '; '; done
  printf 'its shim, %d process(es): ' "${#shim[@]}"
  for pid in "${shim[@]}"; do describe_process "$pid"; printf '; '; done
}

# Prints "task_rss_kB shim_rss_kB task_pss_kB shim_pss_kB cgroup_B" for
# one task after it has served `requests` requests counted exactly.
measure_memory() {
  local id=$1 port=$2 pids shim total
  send_requests "$port" "$requests"
  total=$(counted "$port")
  # The first 200 of wait_200 counted too.
  [[ $total == $((requests + 1)) ]] || fail "task $id counted $total requests, expected $((requests + 1))"
  mapfile -t pids < <(task_pids "$id")
  ((${#pids[@]} > 0)) || fail "task $id has no process in its cgroup"
  mapfile -t shim < <(shim_pids "$id")
  ((${#shim[@]} > 0)) || fail "no shim process found for task $id"
  echo "$(smaps_kb Rss "${pids[@]}") $(smaps_kb Rss "${shim[@]}") $(smaps_kb Pss "${pids[@]}") $(smaps_kb Pss "${shim[@]}") $(cgroup_bytes "${pids[0]}")"
}

echo "== memory: one replica, then $replicas at once, after $requests requests each" >&2
declare -A one one_cold many layout
for form in "${forms[@]}"; do
  # The first replica after a pull (for the artifact, its shim compiles the
  # component), then a second one, as every further replica on the node.
  fresh_pull "$form"
  port=$(free_port)
  run_task "$form" "mem-cold-$form" "$port"
  wait_200 "mem-cold-$form" "$port"
  one_cold[$form]=$(measure_memory "mem-cold-$form" "$port")
  stop_task "mem-cold-$form"
  port=$(free_port)
  run_task "$form" "mem-$form" "$port"
  wait_200 "mem-$form" "$port"
  one[$form]=$(measure_memory "mem-$form" "$port")
  # Which processes make a replica: for the record beside the table.
  layout[$form]=$(describe_processes "mem-$form")
  stop_task "mem-$form"
  echo "${label[$form]}: first after the pull ${one_cold[$form]}, second ${one[$form]} (${layout[$form]})" >&2

  sum="0 0 0 0 0"
  ports=()
  for ((i = 1; i <= replicas; i++)); do
    ports[i]=$(free_port)
    run_task "$form" "many-$form-$i" "${ports[i]}"
    wait_200 "many-$form-$i" "${ports[i]}"
  done
  for ((i = 1; i <= replicas; i++)); do
    row=$(measure_memory "many-$form-$i" "${ports[i]}")
    sum=$(awk -v a="$sum" -v b="$row" 'BEGIN { split(a, x, " "); split(b, y, " "); for (k = 1; k <= 5; k++) printf "%s%d", (k > 1 ? " " : ""), x[k] + y[k] }')
  done
  many[$form]=$sum
  for ((i = 1; i <= replicas; i++)); do stop_task "many-$form-$i"; done
  echo "${label[$form]} × $replicas: $sum" >&2
done

# --- 4. throughput ------------------------------------------------------------

# CPU time (utime + stime, in clock ticks) of processes, summed.
cpu_ticks() {
  local pid sum=0 ticks
  for pid in "$@"; do
    # Fields after the command's closing parenthesis: utime is the 12th.
    ticks=$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | awk '{ print $12 + $13 }')
    sum=$((sum + ${ticks:-0}))
  done
  echo "$sum"
}

# req/s and p99 of wrk at `connections` on `/` of a task, and the CPU the
# task's processes and its shim's spent per request, in µs.
wrk_run() {
  local id=$1 port=$2 out pids shim task_before shim_before
  mapfile -t pids < <(task_pids "$id")
  mapfile -t shim < <(shim_pids "$id")
  wrk -t2 -c"$connections" -d2s "http://127.0.0.1:$port/" >/dev/null # warm-up
  task_before=$(cpu_ticks "${pids[@]}")
  shim_before=$(cpu_ticks "${shim[@]}")
  out=$(wrk -t2 -c"$connections" -d"${seconds}s" --latency "http://127.0.0.1:$port/")
  local task_ticks=$(($(cpu_ticks "${pids[@]}") - task_before)) shim_ticks=$(($(cpu_ticks "${shim[@]}") - shim_before))
  local errors
  errors=$(awk '/Non-2xx or 3xx responses:/ { print $NF } /Socket errors:/ { print "socket errors" }' <<<"$out")
  [[ -z $errors ]] || fail "wrk on :$port saw errors: $errors
$out"
  local served
  served=$(awk '/requests in/ { print $1 }' <<<"$out")
  echo "$(awk '/^Requests\/sec:/ { printf "%d", $2 }' <<<"$out") $(awk '$1 == "99%" { print $2 }' <<<"$out")" \
    "$(awk -v t="$task_ticks" -v hz="$(getconf CLK_TCK)" -v n="$served" 'BEGIN { printf "%.0f", t / hz / n * 1e6 }')" \
    "$(awk -v t="$shim_ticks" -v hz="$(getconf CLK_TCK)" -v n="$served" 'BEGIN { printf "%.0f", t / hz / n * 1e6 }')"
}

echo "== throughput: wrk, $connections connections, ${seconds} s, at ${cpu_limit} CPU and unlimited" >&2
declare -A limited unlimited quota_seen
for form in "${forms[@]}"; do
  port=$(free_port)
  run_task "$form" "tput-$form" "$port" --cpu-quota "$cpu_quota" --cpu-period "$cpu_period"
  wait_200 "tput-$form" "$port"
  mapfile -t pids < <(task_pids "tput-$form")
  quota_seen[$form]=$(cpu_limit_seen "${pids[0]}")
  [[ ${quota_seen[$form]} == "$cpu_quota/$cpu_period" ]] ||
    fail "task tput-$form runs in a cgroup with CPU limit ${quota_seen[$form]}, not $cpu_quota/$cpu_period"
  limited[$form]=$(wrk_run "tput-$form" "$port")
  stop_task "tput-$form"
  port=$(free_port)
  run_task "$form" "tput-free-$form" "$port"
  wait_200 "tput-free-$form" "$port"
  unlimited[$form]=$(wrk_run "tput-free-$form" "$port")
  stop_task "tput-free-$form"
  echo "${label[$form]}: at $cpu_limit ${limited[$form]}, unlimited ${unlimited[$form]}" >&2
done

# --- the table --------------------------------------------------------------

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { r = a / b; if (r >= 10) printf "%.1f", r; else if (r >= 0.01) printf "%.2f", r; else printf "%.5f", r }'; }
mib() { awk -v kb="$1" 'BEGIN { printf "%.1f MiB", kb / 1024 }'; }
mib_bytes() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }
human_bytes() { awk -v b="$1" 'BEGIN { if (b >= 1048576) printf "%.1f MB (%d B)", b / 1000000, b; else printf "%d B", b }'; }
field() { awk -v k="$2" '{ print $k }' <<<"$1"; }

section=$work/section.md
{
  echo "Measured $(date -u +%Y-%m-%d) on $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo | awk '{ print $1, $2 }') ($(nproc) cores),"
  echo "containerd $containerd_version (runc shim: Debian's containerd-shim-runc-v2 $(containerd --version | awk '{ print $3 }'), runc $(runc --version | awk 'NR == 1 { print $3 }')),"
  echo "containerd-shim-spin v0.24.0, wrk $(wrk -v 2>&1 | awk 'NR == 1 { print $2 }'); the container's Debian $suite packages: $(tr '\n' ';' <<<"$versions" | sed 's/;$//; s/;/, /g')."
  ((${#extra_wasm_env[@]} == 0)) || echo "The wasm tasks' environment adds, beyond the Deployment's: ${extra_wasm_env[*]}."
  echo "Starts: median of $runs (range); memory after $requests requests to \`/\`; throughput: wrk, $connections connections, ${seconds} s on \`/\`."
  echo
  echo "| figure | ${label[wasm-artifact]} | ${label[wasm-plain]} | ${label[container]} | artifact ÷ container | plain ÷ container |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: |"
  row() { # name, three values, two ratios
    echo "| $1 | $2 | $3 | $4 | $5 | $6 |"
  }
  c_cold=$(median "${cold[container]}") c_warm=$(median "${warm[container]}")
  row "start to first 200, cold (image just pulled)" \
    "$(median "${cold[wasm-artifact]}") ms ($(range "${cold[wasm-artifact]}"))" \
    "$(median "${cold[wasm-plain]}") ms ($(range "${cold[wasm-plain]}"))" \
    "$c_cold ms ($(range "${cold[container]}"))" \
    "$(ratio "$(median "${cold[wasm-artifact]}")" "$c_cold")" "$(ratio "$(median "${cold[wasm-plain]}")" "$c_cold")"
  row "start to first 200, warm (second container)" \
    "$(median "${warm[wasm-artifact]}") ms ($(range "${warm[wasm-artifact]}"))" \
    "$(median "${warm[wasm-plain]}") ms ($(range "${warm[wasm-plain]}"))" \
    "$c_warm ms ($(range "${warm[container]}"))" \
    "$(ratio "$(median "${warm[wasm-artifact]}")" "$c_warm")" "$(ratio "$(median "${warm[wasm-plain]}")" "$c_warm")"
  rss_total() { echo $(($(field "$1" 1) + $(field "$1" 2))); }
  pss_total() { echo $(($(field "$1" 3) + $(field "$1" 4))); }
  for measure in rss pss; do
    row "memory, one replica (the second after the pull): ${measure^^} of the task's processes + its shim's" \
      "$(mib "$("${measure}_total" "${one[wasm-artifact]}")")" "$(mib "$("${measure}_total" "${one[wasm-plain]}")")" "$(mib "$("${measure}_total" "${one[container]}")")" \
      "$(ratio "$("${measure}_total" "${one[wasm-artifact]}")" "$("${measure}_total" "${one[container]}")")" \
      "$(ratio "$("${measure}_total" "${one[wasm-plain]}")" "$("${measure}_total" "${one[container]}")")"
  done
  row "memory, the first replica after the pull: PSS of the task's processes + its shim's" \
    "$(mib "$(pss_total "${one_cold[wasm-artifact]}")")" "$(mib "$(pss_total "${one_cold[wasm-plain]}")")" "$(mib "$(pss_total "${one_cold[container]}")")" \
    "$(ratio "$(pss_total "${one_cold[wasm-artifact]}")" "$(pss_total "${one_cold[container]}")")" \
    "$(ratio "$(pss_total "${one_cold[wasm-plain]}")" "$(pss_total "${one_cold[container]}")")"
  row "of which the shim's processes (PSS), second replica" \
    "$(mib "$(field "${one[wasm-artifact]}" 4)")" "$(mib "$(field "${one[wasm-plain]}" 4)")" "$(mib "$(field "${one[container]}" 4)")" "" ""
  row "memory, one replica: the task's memory cgroup (usage_in_bytes / memory.current)" \
    "$(mib_bytes "$(field "${one[wasm-artifact]}" 5)")" "$(mib_bytes "$(field "${one[wasm-plain]}" 5)")" "$(mib_bytes "$(field "${one[container]}" 5)")" \
    "$(ratio "$(field "${one[wasm-artifact]}" 5)" "$(field "${one[container]}" 5)")" \
    "$(ratio "$(field "${one[wasm-plain]}" 5)" "$(field "${one[container]}" 5)")"
  row "memory, $replicas replicas at once: PSS of tasks + shims, per replica" \
    "$(mib $(($(pss_total "${many[wasm-artifact]}") / replicas)))" "$(mib $(($(pss_total "${many[wasm-plain]}") / replicas)))" "$(mib $(($(pss_total "${many[container]}") / replicas)))" \
    "$(ratio "$(pss_total "${many[wasm-artifact]}")" "$(pss_total "${many[container]}")")" \
    "$(ratio "$(pss_total "${many[wasm-plain]}")" "$(pss_total "${many[container]}")")"
  row "memory, $replicas replicas at once: their memory cgroups, in all" \
    "$(mib_bytes "$(field "${many[wasm-artifact]}" 5)")" "$(mib_bytes "$(field "${many[wasm-plain]}" 5)")" "$(mib_bytes "$(field "${many[container]}" 5)")" \
    "$(ratio "$(field "${many[wasm-artifact]}" 5)" "$(field "${many[container]}" 5)")" \
    "$(ratio "$(field "${many[wasm-plain]}" 5)" "$(field "${many[container]}" 5)")"
  row "image as pulled (config + compressed layers)" \
    "$(human_bytes "${pulled[wasm-artifact]}")" "$(human_bytes "${pulled[wasm-plain]}")" "$(human_bytes "${pulled[container]}")" \
    "$(ratio "${pulled[wasm-artifact]}" "${pulled[container]}")" "$(ratio "${pulled[wasm-plain]}" "${pulled[container]}")"
  row "image unpacked (snapshot)" \
    "$(human_bytes "${unpacked[wasm-artifact]}")" "$(human_bytes "${unpacked[wasm-plain]}")" "$(human_bytes "${unpacked[container]}")" \
    "$(ratio "${unpacked[wasm-artifact]}" "${unpacked[container]}")" "$(ratio "${unpacked[wasm-plain]}" "${unpacked[container]}")"
  row "added to containerd's content store by the first start" \
    "$(human_bytes "${precompiled[wasm-artifact]}")" "$(human_bytes "${precompiled[wasm-plain]}")" "$(human_bytes "${precompiled[container]}")" "" ""
  row "req/s at the CPU limit ($cpu_limit), p99" \
    "$(field "${limited[wasm-artifact]}" 1) ($(field "${limited[wasm-artifact]}" 2))" "$(field "${limited[wasm-plain]}" 1) ($(field "${limited[wasm-plain]}" 2))" "$(field "${limited[container]}" 1) ($(field "${limited[container]}" 2))" \
    "$(ratio "$(field "${limited[wasm-artifact]}" 1)" "$(field "${limited[container]}" 1)")" "$(ratio "$(field "${limited[wasm-plain]}" 1)" "$(field "${limited[container]}" 1)")"
  row "CPU per request at the limit: the task's processes + the shim's (µs)" \
    "$(field "${limited[wasm-artifact]}" 3) + $(field "${limited[wasm-artifact]}" 4)" "$(field "${limited[wasm-plain]}" 3) + $(field "${limited[wasm-plain]}" 4)" "$(field "${limited[container]}" 3) + $(field "${limited[container]}" 4)" \
    "$(ratio $(($(field "${limited[wasm-artifact]}" 3) + $(field "${limited[wasm-artifact]}" 4))) $(($(field "${limited[container]}" 3) + $(field "${limited[container]}" 4))))" \
    "$(ratio $(($(field "${limited[wasm-plain]}" 3) + $(field "${limited[wasm-plain]}" 4))) $(($(field "${limited[container]}" 3) + $(field "${limited[container]}" 4))))"
  row "req/s without a CPU limit, p99" \
    "$(field "${unlimited[wasm-artifact]}" 1) ($(field "${unlimited[wasm-artifact]}" 2))" "$(field "${unlimited[wasm-plain]}" 1) ($(field "${unlimited[wasm-plain]}" 2))" "$(field "${unlimited[container]}" 1) ($(field "${unlimited[container]}" 2))" \
    "$(ratio "$(field "${unlimited[wasm-artifact]}" 1)" "$(field "${unlimited[container]}" 1)")" "$(ratio "$(field "${unlimited[wasm-plain]}" 1)" "$(field "${unlimited[container]}" 1)")"
  echo
  echo "The processes of one replica (those in the task's memory cgroup; the shim's: every other process started with the task's id and this containerd's socket):"
  for form in "${forms[@]}"; do echo "- ${label[$form]}: ${layout[$form]}"; done
  echo
  echo "### Targets (wasm ÷ container, the Spin OCI artifact, from this run)"
  echo
  echo "| figure | ratio | bar | goal | met |"
  echo "| --- | ---: | ---: | ---: | --- |"
  target() { # name ratio bar goal direction(le|ge)
    local met
    met=$(awk -v r="$2" -v bar="$3" -v goal="$4" -v d="$5" 'BEGIN {
      if (d == "le") { g = r <= goal; b = r <= bar } else { g = r >= goal; b = r >= bar }
      print (g ? (goal == bar ? "yes" : "goal") : (b ? "bar, not the goal" : "**no**")) }')
    echo "| $1 | $2 | $6 | $7 | $met |"
  }
  target "start, warm" "$(ratio "$(median "${warm[wasm-artifact]}")" "$c_warm")" 0.5 0.1 le "≤ 1/2" "≤ 1/10"
  target "memory, one replica (PSS, task + shim)" "$(ratio "$(pss_total "${one[wasm-artifact]}")" "$(pss_total "${one[container]}")")" 1 0.5 le "≤ 1" "≤ 1/2"
  target "image as pulled" "$(ratio "${pulled[wasm-artifact]}" "${pulled[container]}")" 0.01 0.001 le "≤ 1/100" "≤ 1/1000"
  target "req/s at the same CPU limit" "$(ratio "$(field "${limited[wasm-artifact]}" 1)" "$(field "${limited[container]}" 1)")" 3 10 ge "≥ 3" "≥ 10"
  echo
  echo "### Targets (the pod we ship, the restricted plain image, ÷ the restricted container, from this run)"
  echo
  echo "| figure | ratio | bar | goal | met |"
  echo "| --- | ---: | ---: | ---: | --- |"
  target "start, warm" "$(ratio "$(median "${warm[wasm-plain]}")" "$c_warm")" 0.5 0.2 le "≤ 1/2" "≤ 1/5"
  target "memory, one replica (PSS, task + shim)" "$(ratio "$(pss_total "${one[wasm-plain]}")" "$(pss_total "${one[container]}")")" 1 1 le "≤ 1" "≤ 1"
  target "memory, $replicas replicas at once (PSS, tasks + shims)" "$(ratio "$(pss_total "${many[wasm-plain]}")" "$(pss_total "${many[container]}")")" 0.667 0.667 le "≤ 2/3" "≤ 2/3"
  target "req/s at the same CPU limit" "$(ratio "$(field "${limited[wasm-plain]}" 1)" "$(field "${limited[container]}" 1)")" 2 3 ge "≥ 2" "≥ 3"
} >"$section"

cat "$section"
if [[ $write == yes ]]; then
  begin='<!-- pods:begin -->'
  end='<!-- pods:end -->'
  grep -qF "$begin" BENCHMARKS.md || fail "BENCHMARKS.md has no $begin marker: the section was not written"
  awk -v begin="$begin" -v end="$end" -v file="$section" '
    $0 == begin { print; while ((getline line < file) > 0) print line; skip = 1; next }
    $0 == end { skip = 0 }
    !skip { print }' BENCHMARKS.md >"$work/BENCHMARKS.md"
  cat "$work/BENCHMARKS.md" >BENCHMARKS.md
  echo "wrote the per-replica section of BENCHMARKS.md" >&2
fi
