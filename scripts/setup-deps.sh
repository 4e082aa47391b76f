#!/usr/bin/env bash
# Installs everything smccc-emu needs to build, test and benchmark on Debian 12 (bookworm).
# Idempotent: does nothing (and needs no root) when every package is already present.
#
# Unicorn >= 2.1 and Capstone 5 are not in bookworm (it ships Unicorn 2.0.1, whose RAM stores
# cost ~80 ns and whose CP_REG writes do not rebuild its cached CPU state).
# They come from Debian trixie through a pinned apt source: trixie is pinned to -1 (never
# chosen) except for exactly the four packages below. Those depend only on libc6 (>= 2.34,
# bookworm has 2.36), and the script refuses to go on if apt would upgrade anything else.
set -euo pipefail

readonly BOOKWORM_PACKAGES=(
  build-essential clang cmake ninja-build pkg-config
  doctest-dev libbenchmark-dev libfmt-dev libcli11-dev nlohmann-json3-dev libelf-dev
  libfdt-dev device-tree-compiler
  gcc-aarch64-linux-gnu binutils-aarch64-linux-gnu picolibc-aarch64-linux-gnu
  rng-tools5
  libclang-rt-14-dev clang-format-14
  gdb-multiarch
)
readonly TRIXIE_PACKAGES=(libunicorn-dev libunicorn2t64 libcapstone-dev libcapstone5)
readonly SOURCE_FILE=/etc/apt/sources.list.d/smccc-emu-trixie.sources
readonly PIN_FILE=/etc/apt/preferences.d/smccc-emu-trixie

log() { printf 'setup-deps: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

installed_version() { dpkg-query -W -f='${db:Status-Abbrev} ${Version}\n' "$1" 2>/dev/null | awk '$1 == "ii" {print $2}'; }

# Unicorn must be >= 2.1 and Capstone >= 5.
unicorn_ok() { local v; v=$(installed_version libunicorn-dev); [ -n "$v" ] && dpkg --compare-versions "$v" ge 2.1; }
capstone_ok() { local v; v=$(installed_version libcapstone-dev); [ -n "$v" ] && dpkg --compare-versions "$v" ge 5; }

missing=()
for p in "${BOOKWORM_PACKAGES[@]}"; do
  [ -n "$(installed_version "$p")" ] || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ] && unicorn_ok && capstone_ok; then
  log "all dependencies present"
  exit 0
fi

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || die "missing packages (${missing[*]:-unicorn/capstone}) and not root; run as root"
  SUDO=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive

if [ ${#missing[@]} -gt 0 ]; then
  log "installing from bookworm: ${missing[*]}"
  "${SUDO[@]}" apt-get update -qq
  "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if ! unicorn_ok || ! capstone_ok; then
  log "adding the pinned trixie source for ${TRIXIE_PACKAGES[*]}"
  "${SUDO[@]}" tee "$SOURCE_FILE" >/dev/null <<'SRC'
Types: deb
URIs: http://deb.debian.org/debian
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  "${SUDO[@]}" tee "$PIN_FILE" >/dev/null <<PIN
# smccc-emu: take only Unicorn and Capstone from trixie; never anything else.
Package: *
Pin: release n=trixie
Pin-Priority: -1

Package: ${TRIXIE_PACKAGES[*]}
Pin: release n=trixie
Pin-Priority: 990
PIN
  "${SUDO[@]}" apt-get update -qq
  # Simulate first: the only packages apt may touch are the four we asked for.
  plan=$(apt-get install -s -y --no-install-recommends "${TRIXIE_PACKAGES[@]}" | awk '/^Inst /{print $2}')
  for p in $plan; do
    case " ${TRIXIE_PACKAGES[*]} " in
      *" $p "*) ;;
      *) die "installing Unicorn/Capstone from trixie would also change '$p'; refusing" ;;
    esac
  done
  "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${TRIXIE_PACKAGES[@]}"
fi

unicorn_ok || die "libunicorn-dev >= 2.1 is still not installed"
capstone_ok || die "libcapstone-dev >= 5 is still not installed"
log "ok: unicorn $(installed_version libunicorn-dev), capstone $(installed_version libcapstone-dev)"
