#!/usr/bin/env bash
# Writes the Linux system tests' initramfs: a cpio "newc" archive (the format the kernel's
# init/initramfs.c unpacks, Documentation/driver-api/early-userspace/buffer-format.rst) holding
#   /init                               our own static /init (build/guests/linux-init)
#   /bin/busybox and /bin/<applet>      busybox-static, with symbolic links for a few applets
#   /lib/modules/arm_smccc_trng.ko      the TRNG hwrng module of the same kernel
#   /dev/console                        character device 5:1, so the kernel can give /init its
#                                       stdin/stdout/stderr before devtmpfs is mounted
# The archive is written directly (no cpio(1), no root for mknod) with inode numbers in order,
# uid/gid 0 and mtime 0, so the same inputs always give the same bytes.
#
# Usage: scripts/make-initramfs.sh OUT.cpio INIT FILES_DIR
#   FILES_DIR is what scripts/fetch-debian-kernel.sh printed (busybox, arm_smccc_trng.ko).
set -euo pipefail

die() { printf 'make-initramfs: error: %s\n' "$*" >&2; exit 1; }

[ $# -eq 3 ] || die "usage: $0 OUT.cpio INIT FILES_DIR"
out=$1 init=$2 files=$3
for f in "$init" "$files/busybox" "$files/arm_smccc_trng.ko"; do
  [ -f "$f" ] || die "$f not found"
done

readonly applets=(sh cat echo ls dmesg grep uname mount hexdump)

tmp=$(mktemp "$out.XXXXXX")
trap 'rm -f "$tmp"' EXIT
ino=0

# pad N: zero bytes up to the next multiple of 4 after N bytes.
pad() { head -c $(( (4 - $1 % 4) % 4 )) /dev/zero >>"$tmp"; }

# header NAME MODE SIZE [RDEV_MAJOR RDEV_MINOR]: the 110-byte ASCII header, the name, padding.
header() {
  local name=$1 mode=$2 size=$3 rmaj=${4:-0} rmin=${5:-0}
  local namesize=$(( ${#name} + 1 ))
  ino=$((ino + 1))
  printf '070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X' \
    "$ino" "$mode" 0 0 1 0 "$size" 0 0 "$rmaj" "$rmin" "$namesize" 0 >>"$tmp"
  printf '%s\0' "$name" >>"$tmp"
  pad $((110 + namesize))
}

dir() { header "$1" $((0040755)) 0; }
chardev() { header "$1" $((0020600)) 0 "$2" "$3"; }
file() {
  local size
  size=$(stat -c %s "$3")
  header "$1" $(( 0100000 | $2 )) "$size"
  cat "$3" >>"$tmp"
  pad "$size"
}
symlink() {
  header "$1" $((0120777)) ${#2}
  printf '%s' "$2" >>"$tmp"
  pad ${#2}
}

dir dev
chardev dev/console 5 1
dir proc
dir sys
dir bin
file bin/busybox $((0755)) "$files/busybox"
for a in "${applets[@]}"; do symlink "bin/$a" busybox; done
dir lib
dir lib/modules
file lib/modules/arm_smccc_trng.ko $((0644)) "$files/arm_smccc_trng.ko"
file init $((0755)) "$init"
header 'TRAILER!!!' 0 0

chmod 0644 "$tmp"
mv "$tmp" "$out"
trap - EXIT
