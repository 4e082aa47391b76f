// A C program built against picolibc (Debian picolibc-aarch64-linux-gnu) with its semihosting
// back end (guests/picolibc/picolibc_semihost.c), run by the smccc-emu binary: printf on the
// console, its arguments from --semihosting-cmdline, a file read and one written under
// --semihosting-root, and its exit status through SYS_EXIT_EXTENDED. Built only where picolibc is.
// The first test's lines and status are QEMU 7.2's for the same ELF (qemu-system-aarch64 -M virt
// -cpu max -semihosting-config enable=on,arg=one,arg=two, run in a directory holding input.txt).
#include <doctest/doctest.h>

#include <filesystem>
#include <string>

#include "tests/system/run_cli.h"

using emu::systest::crash_marker;
using emu::systest::guest_path;
using emu::systest::Outcome;
using emu::systest::read_file;
using emu::systest::run_emu;
using emu::systest::TempDir;

namespace {
bool contains(const std::string& haystack, std::string_view needle) {
  return haystack.find(needle) != std::string::npos;
}
}  // namespace

TEST_CASE("picolibc guest: printf, argv, a file read and one written under --semihosting-root, status 42") {
  TempDir root;
  root.write("input.txt", "alpha\nbeta\ngamma\n");
  const Outcome r = run_emu({"run", "--semihosting-root", root.path().string(), "--semihosting-cmdline", "one two",
                             guest_path("picolibc-semihost.elf")});
  SYSTEST_SHOW(r);
  CHECK(!r.timed_out);
  CHECK(r.status == 42);
  CHECK(contains(r.out, "picolibc semihosting guest, argc 3\narg 1: one\narg 2: two\n"));
  CHECK(contains(r.out, "read: alpha\nread: beta\nread: gamma\n"));
  CHECK(contains(r.out, "wrote output.txt: 3 lines, 17 bytes\n"));
  const std::vector<std::uint8_t> written = read_file((root.path() / "output.txt").string());
  CHECK(std::string(written.begin(), written.end()) == "3 lines, 17 bytes\n");
  CHECK(contains(r.out, "exit 42 through SYS_EXIT_EXTENDED\n"));  // :semihosting-features offers it
  CHECK(contains(r.err, "guest exited with status 42 (semihosting)"));
  CHECK(crash_marker(r.err).empty());
}

TEST_CASE("picolibc guest without --semihosting-root: fopen fails with EACCES and the guest exits 3") {
  TempDir cwd;
  cwd.write("input.txt", "must not be read\n");  // a relative name must not resolve here
  const std::filesystem::path before = std::filesystem::current_path();
  std::filesystem::current_path(cwd.path());
  const Outcome r = run_emu({"run", guest_path("picolibc-semihost.elf")});
  std::filesystem::current_path(before);
  SYSTEST_SHOW(r);
  CHECK(r.status == 3);
  CHECK(contains(r.out, "cannot open input.txt: errno 13\n"));  // EACCES, picolibc's number as Linux's
  CHECK(!contains(r.out, "must not be read"));
  CHECK(!std::filesystem::exists(cwd.path() / "output.txt"));
  CHECK(crash_marker(r.err).empty());
}

TEST_CASE("picolibc guest: a --semihosting-root that is not a directory is refused before the run (64)") {
  TempDir dir;
  const std::string file = dir.write("plain", "x");
  const Outcome r = run_emu({"run", "--semihosting-root", file, guest_path("picolibc-semihost.elf")});
  SYSTEST_SHOW(r);
  CHECK(r.status == 64);
  CHECK(contains(r.err, "--semihosting-root: '" + file + "' is not a directory"));
  CHECK(r.out.empty());
}
