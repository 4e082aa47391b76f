# The two commands of README.md, plus their pieces. Each target installs what is missing
# first (scripts/setup-deps.sh is idempotent and quick when everything is present).
.PHONY: all deps build run test test-default test-asan bench clean

all: build

deps:
	scripts/setup-deps.sh

build: deps
	cmake --preset default
	cmake --build --preset default

# Build and run the demo guest: it prints what it does and powers off (exit status 0).
run: build
	./build/cli/smccc-emu run build/guests/demo.elf

# Every CTest label (firmware, core, system), then the whole suite again under ASan + UBSan.
test: test-default test-asan

test-default: build
	ctest --preset default

test-asan: deps
	cmake --preset asan
	cmake --build --preset asan
	ctest --preset asan

clean:
	rm -rf build build-asan
