#!/usr/bin/env bash
# Builds the seed corpora of the fuzz targets from what the build made (nothing binary is kept
# in the repository): the guest images for fuzz_image, state files saved by running guests
# with --save-at for fuzz_state_file, device trees from --dump-dtb (with --append and --initrd
# too) for fuzz_device_tree, and make_call_seeds' byte strings for fuzz_dispatcher.
# Usage: make-seeds.sh CLI GUEST_DIR CALL_SEEDS STRIP OUT_DIR
set -euo pipefail
cli=$1 guests=$2 call_seeds=$3 strip=$4 out=$5

# This build's smccc-emu is instrumented (ASan); leaks are not what the seed runs check (the
# asan preset's tests and the fuzz runs do, with tests/lsan.supp), so LSan is off here.
export ASAN_OPTIONS=detect_leaks=0

rm -rf "$out"
mkdir -p "$out"/image "$out"/state_file "$out"/device_tree "$out"/dispatcher

# Without debug information: libFuzzer's inputs stay a few KiB.
for f in demo smccc-conformance smp-conformance sdei-conformance dt-walk aborts; do
  "$strip" -o "$out/image/$f.elf" "$guests/$f.elf"
done
cp "$guests/dt-walk.flat" "$guests/dt-walk.Image" "$out/image/"

# Small RAM keeps each resume cheap (demo.elf ends within one default slice, hence its
# --quantum); fixed --seed and --epoch make the files the same every build.
run() { timeout 60 "$cli" run -q --memory 4M --seed 1 --epoch 0 "$@" >/dev/null; }
run --quantum 100 --save-at 2000 "$out/state_file/demo.state" "$guests/demo.elf"
run --cpus 2 --save-at 300000 "$out/state_file/smp.state" "$guests/smp-conformance.elf"
run --cpus 2 --sdei-event 1:private:critical:signalable --sdei-event 2:shared:normal \
    --sdei-signal 2@3000000 --save-at 400000 "$out/state_file/sdei.state" "$guests/sdei-conformance.elf"

printf 'initrd' > "$out/initrd.tmp"
run --dump-dtb "$out/device_tree/virt.dtb" "$guests/demo.elf"
run --cpus 4 --conduit smc --append "console=ttyAMA0 earlycon" --initrd "$out/initrd.tmp" \
    --dump-dtb "$out/device_tree/virt-chosen.dtb" "$guests/demo.elf"
rm "$out/initrd.tmp"
# fuzz_device_tree takes its flags from the last byte (0: no --append, no --initrd).
for f in "$out"/device_tree/*.dtb; do
  { cat "$f"; printf '\0'; } > "$f.in"
  rm "$f"
done

"$call_seeds" "$out/dispatcher"
