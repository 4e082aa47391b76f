#!/usr/bin/env bash
# Fetches Debian bookworm's arm64 cloud kernel and busybox-static for the Linux system tests,
# without installing them and without touching the host's dpkg architectures or apt state:
# apt runs with a private state, cache and arm64-only sources list under the cache directory.
#
# Usage: scripts/fetch-debian-kernel.sh [--refresh] [CACHE_DIR]
#   CACHE_DIR defaults to $SMCCC_EMU_DEBIAN_CACHE, else ${XDG_CACHE_HOME:-$HOME/.cache}/smccc-emu/debian.
#   --refresh asks the archive again even when an extraction is cached.
#
# Result in CACHE_DIR/files (replaced atomically, so a half-done fetch is never reused):
#   vmlinuz            the kernel's arm64 Image (Debian ships it uncompressed)
#   arm_smccc_trng.ko  the TRNG hwrng module of the same kernel, decompressed if Debian compressed it
#   busybox            busybox-static's statically linked aarch64 binary
#   versions.txt       "package version" lines of exactly what was downloaded
# The last line on stdout is the path of that directory; tests read versions.txt from it.
# Exit status: 0 on success, 1 on any error (an unreachable archive included), with the reason
# on stderr.
set -euo pipefail

log() { printf 'fetch-debian-kernel: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

refresh=0
if [ "${1:-}" = "--refresh" ]; then refresh=1; shift; fi
[ $# -le 1 ] || die "usage: $0 [--refresh] [CACHE_DIR]"
cache=${1:-${SMCCC_EMU_DEBIAN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/smccc-emu/debian}}
readonly files="$cache/files"
readonly wanted=(vmlinuz arm_smccc_trng.ko busybox versions.txt)

# Tests run in parallel: one fetch at a time per cache directory, the others then find its result.
mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9 || die "cannot lock $cache/.lock"

cached_ok() {
  local f
  for f in "${wanted[@]}"; do [ -s "$files/$f" ] || return 1; done
}

if [ "$refresh" -eq 0 ] && cached_ok; then
  log "using the cached extraction: $(tr '\n' ' ' <"$files/versions.txt")"
  printf '%s\n' "$files"
  exit 0
fi

for tool in apt-get apt-cache dpkg-deb; do
  command -v "$tool" >/dev/null || die "'$tool' not found: this script needs Debian's apt and dpkg"
done
readonly keyring=/usr/share/keyrings/debian-archive-keyring.gpg
[ -r "$keyring" ] || die "$keyring missing (Debian package debian-archive-keyring)"

# --- a private apt: arm64 only, its own lists and cache, the host's dpkg status never read ---
readonly apt_dir="$cache/apt"
mkdir -p "$apt_dir/etc" "$apt_dir/state/lists/partial" "$apt_dir/cache/archives/partial"
: >"$apt_dir/state/status"
cat >"$apt_dir/etc/sources.list" <<EOF
deb [arch=arm64 signed-by=$keyring] http://deb.debian.org/debian bookworm main
deb [arch=arm64 signed-by=$keyring] http://deb.debian.org/debian bookworm-updates main
deb [arch=arm64 signed-by=$keyring] http://deb.debian.org/debian-security bookworm-security main
EOF
apt_opts=(
  -o "Dir::State=$apt_dir/state" -o "Dir::State::status=$apt_dir/state/status"
  -o "Dir::Cache=$apt_dir/cache"
  -o "Dir::Etc::SourceList=$apt_dir/etc/sources.list" -o Dir::Etc::SourceParts=/dev/null
  -o Dir::Etc::Preferences=/dev/null -o Dir::Etc::PreferencesParts=/dev/null
  -o APT::Architecture=arm64 -o APT::Architectures=arm64
  -o Debug::NoLocking=1
  # As root apt drops to _apt for downloads, which cannot write into a private $HOME cache.
  -o APT::Sandbox::User=root
)
private_apt_get() { apt-get "${apt_opts[@]}" "$@"; }
private_apt_cache() { apt-cache "${apt_opts[@]}" "$@"; }

log "updating the private arm64 package lists from deb.debian.org"
# apt-get update exits 0 with only a warning for some failed fetches, so its output is checked too.
if ! update_out=$(private_apt_get -q update 2>&1) || grep -qE '^(W|E): (Failed|Some index)' <<<"$update_out"; then
  printf '%s\n' "$update_out" >&2
  die "cannot reach the Debian archive (http://deb.debian.org), and nothing usable is cached in $files (or --refresh was given)"
fi

# The metapackage depends on exactly one versioned image, e.g. linux-image-6.1.0-28-cloud-arm64.
image_pkg=$(private_apt_cache depends linux-image-cloud-arm64 |
            awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9].*-cloud-arm64$/ {print $2; exit}')
[ -n "$image_pkg" ] || die "linux-image-cloud-arm64 has no linux-image-<version>-cloud-arm64 dependency"
readonly packages=(linux-image-cloud-arm64 "$image_pkg" busybox-static)

work=$(mktemp -d "$cache/tmp.XXXXXX")
trap 'rm -rf "$work"' EXIT
log "downloading ${packages[*]}"
(cd "$work" && private_apt_get -q download "${packages[@]}" >&2) ||
  die "apt-get download ${packages[*]} failed"

# Names and versions from the .deb files themselves, not from the lists.
: >"$work/versions.txt"
for deb in "$work"/*.deb; do
  dpkg-deb -f "$deb" Package Version | awk '{v[NR]=$2} END {print v[1], v[2]}' >>"$work/versions.txt"
done
sort -o "$work/versions.txt" "$work/versions.txt"

mkdir "$work/root" "$work/files"
dpkg-deb -x "$work/$image_pkg"_*.deb "$work/root"
dpkg-deb -x "$work"/busybox-static_*.deb "$work/root"

kernel=$(find "$work/root/boot" -name 'vmlinuz-*' -type f | head -n 1)
[ -n "$kernel" ] || die "$image_pkg has no /boot/vmlinuz-*"
cp "$kernel" "$work/files/vmlinuz"

# Debian may ship modules compressed (.ko.xz, .ko.zst) depending on the release; the initramfs
# /init loads the module with finit_module without decompression flags, so it must be plain.
module=$(find "$work/root/lib/modules" -name 'arm_smccc_trng.ko*' -type f | head -n 1)
[ -n "$module" ] || die "$image_pkg has no arm_smccc_trng.ko under /lib/modules"
case "$module" in
  *.ko) cp "$module" "$work/files/arm_smccc_trng.ko" ;;
  *.ko.xz) xz -dc "$module" >"$work/files/arm_smccc_trng.ko" ;;
  *.ko.zst) zstd -qdc "$module" >"$work/files/arm_smccc_trng.ko" ;;
  *.ko.gz) gzip -dc "$module" >"$work/files/arm_smccc_trng.ko" ;;
  *) die "unexpected module file name $module" ;;
esac

cp "$work/root/bin/busybox" "$work/files/busybox"
cp "$work/versions.txt" "$work/files/versions.txt"

rm -rf "$files.old"
[ ! -e "$files" ] || mv "$files" "$files.old"
mv "$work/files" "$files"
rm -rf "$files.old"
log "fetched: $(tr '\n' ' ' <"$files/versions.txt")"
printf '%s\n' "$files"
