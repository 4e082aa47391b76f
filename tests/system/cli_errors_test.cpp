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

bool contains(const std::string& haystack, std::string_view needle) {
  return haystack.find(needle) != std::string::npos;
}

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

std::string demo() {
  return guest_path("demo.elf");
}

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

TEST_CASE("CLI: --cpu with another model or an unknown property is a usage error with status 64") {
  check_refused(run_emu({"run", "--cpu", "cortex-a72", demo()}), cli::kExitUsage, "cortex-a72");
  check_refused(run_emu({"run", "--cpu", "max,sve=on", demo()}), cli::kExitUsage, "sve=on");
  check_refused(run_emu({"run", "--cpu", "max,pauth=maybe", demo()}), cli::kExitUsage, "pauth=maybe");
  // The control: both accepted spellings run the demo to SYSTEM_OFF.
  CHECK(run_emu({"run", "-q", "--cpu", "max,pauth=off", demo()}).status == 0);
  CHECK(run_emu({"run", "-q", "--cpu", "max,pauth=on", demo()}).status == 0);
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
  const Outcome r =
      run_emu({"run", "--format=raw", "--max-instructions", "1000", dir.write("spin.bin", words({kBranchToSelf}))});
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

TEST_CASE(
    "CLI: a guest that keeps calling SYSTEM_RESET under the default restart stops at --max-instructions with status "
    "67") {
  TempDir dir;
  const auto image = dir.write("reset.bin", words({kMovzX0_9, kMovkX0_8400_Lsl16, kHvc0}));
  // Traced, so the restarts can be counted; tracing does not change how the run ends.
  const Outcome r =
      run_emu({"run", "--format=raw", "--max-instructions", "5000", "--trace=calls", image}, std::chrono::seconds(20));
  INFO("status " << r.status << ", signal " << r.signal << ", timed out " << r.timed_out);
  INFO("stdout:\n" << r.out);
  const std::vector<std::string> err_lines = systest::split_lines(r.err);
  INFO("last line of stderr: " << (err_lines.empty() ? std::string() : err_lines.back()));
  CHECK(!r.timed_out);
  CHECK(r.status == cli::kExitInstructionLimit);
  CHECK(count_lines_containing(r.err, "> PSCI_SYSTEM_RESET()") > 1);
}

// ---- the one number rule (issue 14 F9) ----
// Every number on the command line is decimal, or 0x and hex; leading zeros are decimal; a sign,
// a fraction or a value too large is refused (64). Before, CLI11 read --cpus 010 as octal (8),
// wrapped --quantum -1 and --max-instructions -1 to 2^64-1, saturated --seed above 2^64-1, and
// --memory refused hex.

namespace {
// demo.elf's --stats lines: one per vCPU.
std::size_t vcpus_of(const Outcome& r) {
  return count_lines_containing(r.err, ": instructions=");
}
}  // namespace

TEST_CASE("CLI numbers: leading zeros are decimal and 0x is hex, for --cpus as for every option") {
  const Outcome ten = run_emu({"run", "-q", "--stats", "--cpus", "010", demo()});
  SYSTEST_SHOW(ten);
  CHECK(ten.status == 0);
  CHECK(vcpus_of(ten) == 10);
  const Outcome hex = run_emu({"run", "-q", "--stats", "--cpus", "0x3", "--quantum", "0x2710", demo()});
  CHECK(hex.status == 0);
  CHECK(vcpus_of(hex) == 3);
  // --memory takes hex too, with or without a suffix, and the suffixes it always took.
  for (const char* size : {"0x8000000", "0x80M", "128M", "128MiB", "128MB", "131072K", "134217728"}) {
    CAPTURE(size);
    CHECK(run_emu({"run", "-q", "--memory", size, demo()}).status == 0);
  }
  // Numbers inside option values follow the same rule: 010 is event ten.
  const Outcome sdei =
      run_emu({"run", "-q", "--sdei-event", "010:shared:normal", "--sdei-signal", "0x0a@0010", demo()});
  CHECK(sdei.status == 0);
}

TEST_CASE("CLI numbers: negative, fractional, non-numeric and too large values are refused with status 64") {
  const std::string g = demo();
  struct Case {
    std::vector<std::string> args;
    std::string mention;
  };
  const std::vector<Case> cases{
      {{"--quantum", "-1"}, "--quantum: '-1' is negative"},
      {{"--quantum=-1"}, "--quantum: '-1' is negative"},
      {{"--max-instructions", "-1"}, "--max-instructions: '-1' is negative"},
      {{"--cpus", "-2"}, "--cpus: '-2' is negative"},
      {{"--seed", "18446744073709551616"}, "--seed: '18446744073709551616' is out of range"},
      {{"--seed", "99999999999999999999"}, "out of range"},
      {{"--epoch", "0x10000000000000000"}, "out of range"},
      {{"--cpus", "4294967297"}, "--cpus: '4294967297' is out of range (at most 64)"},
      {{"--trap-cost", "1e9"}, "--trap-cost: '1e9' is not a number"},
      {{"--quantum", "1.5"}, "is not a number"},
      {{"--quantum", "+5"}, "is not a number"},
      {{"--quantum", "0x"}, "is not a number"},
      {{"--memory", "-128M"}, "--memory: '-128M' is negative"},
      {{"--memory", "0x1p20"}, "is not a number"},
      {{"--memory", "17179869184G"}, "out of range"},
      {{"--filter", "0x82000000:-1:deny"}, "--filter '0x82000000:-1:deny': '-1' is negative"},
      {{"--filter", "0x182000000:1:deny"}, "'0x182000000' is out of range (at most 4294967295)"},
      {{"--fw-reg", "psci-version=-1"}, "'-1' is negative"},
      {{"--sdei-event", "-5:private:normal"}, "'-5' is negative"},
      {{"--sdei-signal", "0@-100"}, "'-100' is negative"},
      {{"--save-at", "-1", "/tmp/never-written.state"}, "--save-at: '-1' is negative"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> args{"run"};
    args.insert(args.end(), c.args.begin(), c.args.end());
    args.push_back(g);
    CAPTURE(args.at(1));
    CAPTURE(args.at(2));
    check_refused(run_emu(args), cli::kExitUsage, c.mention);
  }
  check_refused(run_emu({"resume", "--max-instructions", "-1", "/tmp/no-such.state"}), cli::kExitUsage,
                "--max-instructions: '-1' is negative");
}

TEST_CASE("CLI numbers: 2^64-1 is the largest seed, decimal or hex (control for the out-of-range refusal)") {
  // 2^64-1 is a valid seed; 2^64 is refused (above). Seeds 2^64-1 and 2^64-2 give other bits.
  const Outcome a = run_emu({"run", "-q", "--seed", "18446744073709551615", "--epoch", "0", guest_path("trng.elf")});
  const Outcome b = run_emu({"run", "-q", "--seed", "0xfffffffffffffffe", "--epoch", "0", guest_path("trng.elf")});
  SYSTEST_SHOW(a);
  CHECK(a.status == 0);
  CHECK(b.status == 0);
  CHECK(a.out != b.out);
}

// ---- console output survives a kill (issue 14 F15) ----

TEST_CASE("CLI: console output reaches a pipe before the run is killed from outside") {
  // Prints "hello\n" and "part" through the PL011, then spins: killed with SIGKILL at the
  // time limit. With stdout fully buffered into the pipe, all of it was lost.
  TempDir dir;
  std::vector<std::uint32_t> code{0xD2A1'2001u};  // movz x1, #0x0900, lsl #16: the PL011
  for (const char c : std::string_view("hello\npart")) {
    code.push_back(0x5280'0002u | (static_cast<std::uint32_t>(static_cast<unsigned char>(c)) << 5));  // movz w2, #c
    code.push_back(0xB900'0022u);                                                                     // str w2, [x1]
  }
  code.push_back(kBranchToSelf);
  std::vector<std::uint8_t> image;
  for (const std::uint32_t w : code) {
    for (int i = 0; i < 4; ++i) image.push_back(static_cast<std::uint8_t>(w >> (8 * i)));
  }
  const Outcome r = run_emu({"run", "--format=raw", dir.write("print-spin.bin", image)}, std::chrono::seconds(2));
  SYSTEST_SHOW(r);
  CHECK(r.timed_out);
  CHECK(r.out == "hello\npart");
}
