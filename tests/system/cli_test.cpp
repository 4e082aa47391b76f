// The smccc-emu binary run as a user runs it: guests that succeed, tracing, --help, --version.
#include <doctest/doctest.h>

#include <string>

#include "tests/system/run_cli.h"

using emu::systest::count_lines_containing;
using emu::systest::crash_marker;
using emu::systest::guest_path;
using emu::systest::Outcome;
using emu::systest::run_emu;
using emu::systest::TempDir;

namespace {

bool contains(const std::string& haystack, std::string_view needle) {
  return haystack.find(needle) != std::string::npos;
}

// The options of `run` that help text must document; returns those it does not mention.
std::string missing_options(const std::string& help) {
  std::string missing;
  for (const char* option : {"--cpus", "--memory", "--max-instructions", "--format", "--trace", "--trace-file",
                             "--on-reset", "--quiet", "--append", "--initrd", "--dtb", "--dump-dtb", "--conduit",
                             "--console-input", "--semihosting-root", "--semihosting-cmdline"}) {
    if (!contains(help, option)) missing += std::string(missing.empty() ? "" : " ") + option;
  }
  return missing;
}

// The exit-status table: one line per emulator status, "  64      bad command line".
std::string missing_exit_statuses(const std::string& help) {
  std::string missing;
  for (const char* status : {"64", "65", "66", "67", "68", "69", "70", "71", "72", "74"}) {
    if (!contains(help, std::string("\n  ") + status + " "))
      missing += std::string(missing.empty() ? "" : " ") + status;
  }
  return missing;
}

}  // namespace

TEST_CASE("CLI: run demo.elf prints the tour on stdout and exits with status 0") {
  const Outcome r = run_emu({"run", guest_path("demo.elf")});
  SYSTEST_SHOW(r);
  CHECK(!r.timed_out);
  CHECK(r.status == 0);
  CHECK(contains(r.out, "SMCCC 1.2"));
  CHECK(contains(r.out, "PSCI 1.1"));
  CHECK(contains(r.out, "powering off with PSCI SYSTEM_OFF"));
  CHECK(crash_marker(r.err).empty());
}

TEST_CASE("CLI: run smccc-conformance.elf exits with status 0 and no failed TAP test") {
  const Outcome r = run_emu({"run", guest_path("smccc-conformance.elf")});
  SYSTEST_SHOW(r);
  CHECK(!r.timed_out);
  CHECK(r.status == 0);
  CHECK(contains(r.out, "\n1.."));
  CHECK(!contains(r.out, "not ok"));
  CHECK(crash_marker(r.err).empty());
}

// The register rules the firmware's fast paths must keep (guests/fidelity/fidelity.c, DEN0028
// §2.5, §2.5.1, §2.6, §3.1, §3.2, §5.2): 16 checks over HVC, 16 over SMC, none skipped.
TEST_CASE("CLI: fidelity.elf keeps every SMCCC register rule over HVC and SMC") {
  const Outcome r = run_emu({"run", guest_path("fidelity.elf")});
  SYSTEST_SHOW(r);
  CHECK(!r.timed_out);
  CHECK(r.status == 0);
  CHECK(contains(r.out, "\n1..32\n"));
  CHECK(!contains(r.out, "not ok"));
  CHECK(!contains(r.out, "# skip"));
  CHECK(crash_marker(r.err).empty());
}

TEST_CASE("CLI: --trace=calls writes one line per firmware call to stderr and leaves stdout to the guest") {
  const Outcome r = run_emu({"run", "--trace=calls", guest_path("demo.elf")});
  SYSTEST_SHOW(r);
  CHECK(r.status == 0);
  CHECK(count_lines_containing(r.err, "cpu0 hvc > SMCCC_VERSION()") >= 1);
  CHECK(count_lines_containing(r.err, "cpu0 hvc > PSCI_SYSTEM_OFF()") == 1);
  CHECK(!contains(r.out, "cpu0 hvc"));
  CHECK(contains(r.out, "SMCCC 1.2"));
}

TEST_CASE("CLI: --trace=calls --trace-file F writes the trace to F instead of stderr") {
  TempDir dir;
  const std::string file = (dir.path() / "trace.txt").string();
  const Outcome r = run_emu({"run", "--trace=calls", "--trace-file", file, guest_path("demo.elf")});
  SYSTEST_SHOW(r);
  CHECK(r.status == 0);
  const std::vector<std::uint8_t> bytes = emu::systest::read_file(file);
  const std::string trace(bytes.begin(), bytes.end());
  INFO("trace file:\n" << trace);
  CHECK(count_lines_containing(trace, "cpu0 hvc > SMCCC_VERSION()") >= 1);
  CHECK(count_lines_containing(trace, "cpu0 hvc > PSCI_SYSTEM_OFF()") == 1);
  CHECK(!contains(r.err, "hvc >"));
  CHECK(!contains(r.err, "hvc <"));
}

TEST_CASE("CLI: --help exits with status 0 and documents every run option and the exit-status table") {
  const Outcome r = run_emu({"--help"});
  SYSTEST_SHOW(r);
  CHECK(r.status == 0);
  CHECK(missing_options(r.out) == "");
  CHECK(missing_exit_statuses(r.out) == "");
}

TEST_CASE("CLI: run --help exits with status 0 and documents every run option and the exit-status table") {
  const Outcome r = run_emu({"run", "--help"});
  SYSTEST_SHOW(r);
  CHECK(r.status == 0);
  CHECK(missing_options(r.out) == "");
  CHECK(missing_exit_statuses(r.out) == "");
}

TEST_CASE("CLI: --version exits with status 0 and names the program") {
  const Outcome r = run_emu({"--version"});
  SYSTEST_SHOW(r);
  CHECK(r.status == 0);
  CHECK(contains(r.out, "smccc-emu"));
  CHECK(r.err.empty());
}
