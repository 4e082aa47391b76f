// The smccc-emu binary given bad images and bad command lines, and guests that end badly:
// each outcome has its documented exit status and a message on stderr, never a crash.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "cli/exit_codes.h"
#include "tests/system/run_cli.h"

using namespace emu;
using systest::count_lines_containing;
using systest::crash_marker;
using systest::first_line;
using systest::guest_path;
using systest::minimal_elf64;
using systest::Outcome;
using systest::run_emu;
using systest::TempDir;
using systest::words;

namespace {

constexpr std::uint64_t kRawAddress = 0x4008'0000;  // where the README puts raw images and ELF guests

constexpr std::uint32_t kUdf = 0x0000'0000;
constexpr std::uint32_t kBranchToSelf = 0x1400'0000;  // b .
constexpr std::uint32_t kWfi = 0xD503'207F;
// x0 = 0x84000009 (PSCI SYSTEM_RESET), hvc #0
constexpr std::uint32_t kMovzX0_9 = 0xD280'0120;
constexpr std::uint32_t kMovkX0_8400_Lsl16 = 0xF2B0'8000;
constexpr std::uint32_t kHvc0 = 0xD400'0002;

bool contains(const std::string& haystack, std::string_view needle) { return haystack.find(needle) != std::string::npos; }

// The common shape of every refusal: the documented status, a message on stderr whose first
// line starts with "smccc-emu: " (and mentions `mention`), nothing on stdout, no crash.
void check_refused(const Outcome& r, int status, std::string_view mention = {}) {
  SYSTEST_SHOW(r);
  CHECK(!r.timed_out);
  CHECK(r.signal == 0);
  CHECK(r.status == status);
  CHECK(!r.err.empty());
  CHECK(first_line(r.err).starts_with("smccc-emu: "));
  if (!mention.empty()) {
    INFO("stderr should mention: " << mention);
    CHECK(contains(first_line(r.err), mention));
  }
  CHECK(crash_marker(r.err) == "");
  CHECK(r.out.empty());
}

std::string demo() { return guest_path("demo.elf"); }

}  // namespace

// ---- images that cannot be used: status 65 ----

TEST_CASE("CLI: a missing image file is refused with status 65") {
  TempDir dir;
  check_refused(run_emu({"run", (dir.path() / "no-such-image.elf").string()}), cli::kExitBadInput, "no-such-image.elf");
}

TEST_CASE("CLI: a directory given as the image is refused with status 65") {
  TempDir dir;
  check_refused(run_emu({"run", dir.path().string()}), cli::kExitBadInput, "directory");
}

TEST_CASE("CLI: an empty image file is refused with status 65") {
  TempDir dir;
  check_refused(run_emu({"run", dir.write("empty.elf", std::string_view())}), cli::kExitBadInput, "empty");
}

TEST_CASE("CLI: a file that is not ELF is refused without --format and the message points to --format=raw") {
  TempDir dir;
  check_refused(run_emu({"run", dir.write("notes.txt", "this is not a guest image\n")}), cli::kExitBadInput,
                "--format=raw");
}

TEST_CASE("CLI: an ELF for x86-64 is refused with status 65 and the message says aarch64") {
  check_refused(run_emu({"run", "/bin/true"}), cli::kExitBadInput, "aarch64");
}

TEST_CASE("CLI: a 32-bit ELF is refused with status 65") {
  TempDir dir;
  check_refused(run_emu({"run", dir.write("arm32.elf", systest::minimal_elf32())}), cli::kExitBadInput, "32-bit");
}

TEST_CASE("CLI: demo.elf truncated to 100 bytes is refused as truncated with status 65") {
  TempDir dir;
  std::vector<std::uint8_t> bytes = systest::read_file(demo());
  REQUIRE(bytes.size() > 2000);
  bytes.resize(100);
  check_refused(run_emu({"run", dir.write("demo-100.elf", bytes)}), cli::kExitBadInput, "truncated");
}

TEST_CASE("CLI: demo.elf truncated to 2000 bytes is refused as truncated with status 65") {
  TempDir dir;
  std::vector<std::uint8_t> bytes = systest::read_file(demo());
  REQUIRE(bytes.size() > 2000);
  bytes.resize(2000);
  check_refused(run_emu({"run", dir.write("demo-2000.elf", bytes)}), cli::kExitBadInput, "truncated");
}

TEST_CASE("CLI: a hand-made aarch64 ELF inside RAM runs (control for the refusals below)") {
  TempDir dir;
  const Outcome r = run_emu({"run", dir.write("ok.elf", minimal_elf64(kRawAddress, kRawAddress, words({kWfi})))});
  SYSTEST_SHOW(r);
  CHECK(r.status == cli::kExitDeadlock);
}

TEST_CASE("CLI: an image whose segment lies outside RAM is refused with status 65") {
  TempDir dir;
  const auto elf = minimal_elf64(0x1000, 0x1000, words({kWfi}));
  check_refused(run_emu({"run", dir.write("low.elf", elf)}), cli::kExitBadInput, "outside RAM");
}

TEST_CASE("CLI: an image whose segment overlaps the PL011 UART is refused with status 65") {
  TempDir dir;
  const auto elf = minimal_elf64(0x0900'0000, 0x0900'0000, words({kWfi, kWfi}));
  check_refused(run_emu({"run", dir.write("uart.elf", elf)}), cli::kExitBadInput, "PL011");
}

TEST_CASE("CLI: an image whose entry point lies outside RAM is refused with status 65") {
  TempDir dir;
  const auto elf = minimal_elf64(kRawAddress, 0x1000, words({kWfi}));
  check_refused(run_emu({"run", dir.write("entry.elf", elf)}), cli::kExitBadInput, "entry point");
}

TEST_CASE("CLI: a raw image larger than --memory is refused with status 65") {
  TempDir dir;
  const std::vector<std::uint8_t> big(2u << 20, 0);
  check_refused(run_emu({"run", "--format=raw", "--memory", "1M", dir.write("big.bin", big)}), cli::kExitBadInput,
                "RAM");
}

TEST_CASE("CLI: a --console-input file that cannot be opened is refused with status 65") {
  TempDir dir;
  check_refused(run_emu({"run", "--console-input", (dir.path() / "no-such-input").string(), demo()}),
                cli::kExitBadInput, "--console-input");
}

// ---- bad command lines: status 64 ----

TEST_CASE("CLI: an unknown option is a usage error with status 64") {
  check_refused(run_emu({"run", "--no-such-option", demo()}), cli::kExitUsage, "--no-such-option");
}

TEST_CASE("CLI: --cpus 0 is a usage error with status 64") {
  check_refused(run_emu({"run", "--cpus", "0", demo()}), cli::kExitUsage, "--cpus");
}

TEST_CASE("CLI: --cpus 65 is a usage error with status 64") {
  check_refused(run_emu({"run", "--cpus", "65", demo()}), cli::kExitUsage, "--cpus");
}

TEST_CASE("CLI: --memory that is not a multiple of 4K is a usage error with status 64") {
  check_refused(run_emu({"run", "--memory", "12345", demo()}), cli::kExitUsage, "--memory");
  // 1 MiB + 1 KiB: in range, so only the 4 KiB rule can refuse it.
  check_refused(run_emu({"run", "--memory", "1049600", demo()}), cli::kExitUsage, "4 KiB");
}

TEST_CASE("CLI: --memory 100G (above the 64 GiB limit) is a usage error with status 64") {
  check_refused(run_emu({"run", "--memory", "100G", demo()}), cli::kExitUsage, "--memory");
}

TEST_CASE("CLI: --memory that is not a size is a usage error with status 64") {
  check_refused(run_emu({"run", "--memory", "banana", demo()}), cli::kExitUsage, "banana");
}

TEST_CASE("CLI: an unknown --format is a usage error with status 64") {
  check_refused(run_emu({"run", "--format=xyz", demo()}), cli::kExitUsage, "--format");
}

TEST_CASE("CLI: run without an image is a usage error with status 64") {
  check_refused(run_emu({"run"}), cli::kExitUsage, "IMAGE");
}

TEST_CASE("CLI: an unknown --trace category is a usage error with status 64") {
  check_refused(run_emu({"run", "--trace=bogus", demo()}), cli::kExitUsage, "--trace");
}

// ---- guests that end badly ----

TEST_CASE("CLI: an undefined instruction with no vector table is a guest fault with status 66, registers and code") {
  TempDir dir;
  const Outcome r = run_emu({"run", "--format=raw", dir.write("udf.bin", words({kUdf}))});
  SYSTEST_SHOW(r);
  CHECK(r.status == cli::kExitGuestFault);
  CHECK(first_line(r.err).starts_with("smccc-emu: "));
  CHECK(contains(r.err, " x0 "));
  CHECK(contains(r.err, " pc "));
  bool marked = false;
  for (const std::string& line : systest::split_lines(r.err)) {
    if (line.find("=>") != std::string::npos && line.find("40080000") != std::string::npos &&
        line.find("udf") != std::string::npos) {
      marked = true;
    }
  }
  CHECK(marked);
  CHECK(crash_marker(r.err) == "");
  CHECK(r.out.empty());
}

TEST_CASE("CLI: a guest spinning in b . stops at --max-instructions with status 67") {
  TempDir dir;
  const Outcome r = run_emu({"run", "--format=raw", "--max-instructions", "1000", dir.write("spin.bin", words({kBranchToSelf}))});
  SYSTEST_SHOW(r);
  CHECK(!r.timed_out);
  CHECK(r.status == cli::kExitInstructionLimit);
  CHECK(first_line(r.err).starts_with("smccc-emu: "));
}

TEST_CASE("CLI: a lone vCPU waiting in WFI is a deadlock with status 68") {
  TempDir dir;
  const Outcome r = run_emu({"run", "--format=raw", dir.write("wfi.bin", words({kWfi}))});
  SYSTEST_SHOW(r);
  CHECK(!r.timed_out);
  CHECK(r.status == cli::kExitDeadlock);
  CHECK(first_line(r.err).starts_with("smccc-emu: "));
}

TEST_CASE("CLI: PSCI SYSTEM_RESET with --on-reset=exit ends the run with status 69") {
  TempDir dir;
  const auto image = dir.write("reset.bin", words({kMovzX0_9, kMovkX0_8400_Lsl16, kHvc0}));
  const Outcome r = run_emu({"run", "--format=raw", "--on-reset=exit", image});
  SYSTEST_SHOW(r);
  CHECK(!r.timed_out);
  CHECK(r.status == cli::kExitReset);
  CHECK(first_line(r.err).starts_with("smccc-emu: "));
}

TEST_CASE("CLI: a guest that keeps calling SYSTEM_RESET under the default restart stops at --max-instructions with status 67") {
  TempDir dir;
  const auto image = dir.write("reset.bin", words({kMovzX0_9, kMovkX0_8400_Lsl16, kHvc0}));
  // Traced, so the restarts can be counted; tracing does not change how the run ends.
  const Outcome r = run_emu({"run", "--format=raw", "--max-instructions", "5000", "--trace=calls", image},
                            std::chrono::seconds(20));
  INFO("status " << r.status << ", signal " << r.signal << ", timed out " << r.timed_out);
  INFO("stdout:\n" << r.out);
  const std::vector<std::string> err_lines = systest::split_lines(r.err);
  INFO("last line of stderr: " << (err_lines.empty() ? std::string() : err_lines.back()));
  CHECK(!r.timed_out);
  CHECK(r.status == cli::kExitInstructionLimit);
  CHECK(count_lines_containing(r.err, "> PSCI_SYSTEM_RESET()") > 1);
}
