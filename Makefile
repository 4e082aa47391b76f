# The two commands of README.md, plus their pieces. Each target installs what is missing
# first (scripts/setup-deps.sh is idempotent and quick when everything is present).
.PHONY: all deps build run test test-format test-default test-install test-asan test-release test-clang bench bench-boot clean

all: build

deps:
	scripts/setup-deps.sh

build: deps
	cmake --preset default
	cmake --build --preset default

# Build and run the demo guest: it prints what it does and powers off (exit status 0).
run: build
	./build/cli/smccc-emu run build/guests/demo.elf

# The format check, every CTest label (firmware, core, system), the installed package and its example, the whole
# suite again under ASan + UBSan, then the host code built in Release and with clang, running
# the fast labels there.
test: test-format test-default test-install test-asan test-release test-clang

# Every C and C++ source formatted as .clang-format says (clang-format 14, pinned).
test-format: deps
	scripts/check-format.sh

# The core and system tests once more with the trap path on Unicorn's public register API
# (SMCCC_EMU_REGS=api), the fallback of the direct path (core/direct_regs.h).
test-default: build
	ctest --preset default
	SMCCC_EMU_REGS=api ctest --preset default -L 'core|system'

# cmake --install into build/install, then examples/host.cpp built against it and run.
test-install: build
	scripts/test-install.sh build

test-asan: deps
	cmake --preset asan
	cmake --build --preset asan
	ctest --preset asan

# Release (GCC, -O3) and clang builds of the host code, warnings as errors, with the firmware
# and core labels: the build types and the compiler users pick must build too.
test-release: deps
	cmake --preset release
	cmake --build --preset release
	ctest --preset release -L 'firmware|core'

test-clang: deps
	cmake --preset clang
	cmake --build --preset clang
	ctest --preset clang -L 'firmware|core'

# libFuzzer targets (fuzz/): built with clang in build-fuzz/, seed corpora made by the build.
# `make fuzz` runs each target for FUZZ_TIME seconds; `make test` runs each for 20 s (CTest label
# fuzz) when clang++ is there (scripts/setup-deps.sh installs it). A crash, sanitizer report,
# broken invariant, leak or hang fails either; the input is kept in build-fuzz/fuzz/artifacts/.
.PHONY: test-fuzz fuzz clean-fuzz
FUZZ_TIME = 60
test: test-fuzz
test-fuzz: deps
	@if command -v clang++ >/dev/null; then \
	  cmake --preset fuzz && cmake --build --preset fuzz && ctest --preset fuzz; \
	else \
	  echo "test-fuzz: clang++ not found; the fuzz smoke run is skipped"; \
	fi

fuzz: deps
	cmake --preset fuzz
	cmake --build --preset fuzz
	fuzz/run-fuzz.sh build-fuzz $(FUZZ_TIME)

clean: clean-fuzz
clean-fuzz:
	rm -rf build-fuzz

# Every benchmark, Google Benchmark JSON in build/bench/, the QEMU comparison, then
# docs/bench/bench.png, docs/bench/results.md and README's results table.
BENCH_ARGS = --benchmark_repetitions=5 --benchmark_report_aggregates_only=true --benchmark_out_format=json
bench: build
	scripts/setup-bench-deps.sh
	./build/bench/bench_dispatch $(BENCH_ARGS) --benchmark_min_time=0.2 --benchmark_out=build/bench/dispatch.json
	./build/bench/bench_trap $(BENCH_ARGS) --benchmark_out=build/bench/trap.json
	./build/bench/bench_smp $(BENCH_ARGS) --benchmark_out=build/bench/smp.json
	./build/bench/bench_icache $(BENCH_ARGS) --benchmark_out=build/bench/icache.json
	bench/compare-qemu.sh build build/bench/compare-qemu.json
	bench/callgrind-calls.sh build build/bench/callgrind-calls.json
	$(MAKE) bench-boot
	/usr/bin/python3 scripts/bench-report.py build

# Debian's kernel to /init under smccc-emu and QEMU 7.2 (bench/boot_bench.cpp); the kernel and
# busybox come from scripts/fetch-debian-kernel.sh's cache, as in the Linux tests.
bench-boot: build
	scripts/setup-bench-deps.sh
	scripts/fetch-debian-kernel.sh > build/bench/debian-files.txt
	scripts/make-initramfs.sh build/bench/initrd.cpio build/guests/linux-init "$$(tail -n 1 build/bench/debian-files.txt)"
	SMCCC_EMU_BOOT_KERNEL="$$(tail -n 1 build/bench/debian-files.txt)/vmlinuz" SMCCC_EMU_BOOT_INITRD=build/bench/initrd.cpio \
	  ./build/bench/bench_boot --benchmark_repetitions=3 --benchmark_report_aggregates_only=true \
	  --benchmark_out_format=json --benchmark_out=build/bench/boot.json

clean:
	rm -rf build build-asan build-release build-clang
