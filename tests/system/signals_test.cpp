// Signals and pipes (issue 14 item 3): SIGINT and SIGTERM stop a run at the end of the slice
// and it ends as any run does (console and trace flushed, summary, --stats) with 130 / 143;
// an output that cannot be written (a stdout pipe whose reader has gone, a trace file on a
// full disk) stops the run with one line naming it and status 74.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <vector>

#include "cli/exit_codes.h"
#include "tests/core/a64.h"
#include "tests/system/run_cli.h"

using namespace emu;
using namespace emu::test::a64;
using systest::count_lines_containing;
using systest::Interaction;
using systest::Outcome;
using systest::run_emu;
using systest::split_lines;
using systest::TempDir;

namespace {

using Words = std::vector<std::uint32_t>;

// x1 = the PL011 (0x09000000); then "r\n" through its data register.
const Words kPrintReady = {movz(1, 0x0900, 1), movz(2, 'r'), str_w(2, 1), movz(2, '\n'), str_w(2, 1)};

std::vector<std::uint8_t> image(const std::vector<Words>& parts) {
  std::vector<std::uint8_t> out;
  for (const Words& p : parts) {
    for (std::uint32_t w : p) {
      for (int shift = 0; shift < 32; shift += 8) out.push_back(static_cast<std::uint8_t>(w >> shift));
    }
  }
  return out;
}

// Prints "r\n", then spins forever.
std::vector<std::uint8_t> spin_guest() {
  return image({kPrintReady, {b(0)}});
}
// Prints "r\n", then calls PSCI_VERSION over HVC forever.
std::vector<std::uint8_t> calls_guest() {
  return image({kPrintReady, {movz(0, 0x8400, 1), hvc(0), b(-2)}});
}
// Prints "y\n" forever.
std::vector<std::uint8_t> printing_guest() {
  return image({{movz(1, 0x0900, 1), movz(2, 'y'), str_w(2, 1), movz(2, '\n'), str_w(2, 1), b(-4)}});
}
// Prints "r\n", turns the PL011 receiver and its RX/RT interrupts on and waits in WFI with no
// timer: only console input can wake it, so the emulator blocks waiting for host input.
std::vector<std::uint8_t> input_waiting_guest() {
  return image({kPrintReady,
                {add(1, 1, 0x30), movz(2, 0x301), str_w(2, 1),  // UARTCR = UARTEN | TXE | RXE
                 add(1, 1, 0x08), movz(2, 0x50), str_w(2, 1),   // UARTIMSC = RXIM | RTIM
                 kWfi, b(-1)}});
}

constexpr auto kLimit = std::chrono::seconds(60);
// A backstop: without the fix, a run that does not stop ends here (status 67), not by timeout.
const std::string kBackstop = "2000000000";

void check_stopped_by(const Outcome& r, int status, const char* name) {
  CHECK(r.signal == 0);
  CHECK(r.status == status);
  CHECK(r.out == "r\n");  // what the guest printed before the signal, whole
  CHECK(count_lines_containing(r.err, std::string("smccc-emu: stopped by ") + name + " after ") == 1);
  CHECK(count_lines_containing(r.err, "vcpu0: instructions=") == 1);  // --stats
  CHECK(systest::crash_marker(r.err).empty());
}

}  // namespace

TEST_CASE("CLI: SIGINT stops a running guest with status 130, its console output whole and --stats printed") {
  TempDir dir;
  const Outcome r =
      run_emu({"run", "--stats", "--format=raw", "--max-instructions", kBackstop, dir.write("spin.bin", spin_guest())},
              kLimit, Interaction{.after = "r\n", .signal = SIGINT});
  SYSTEST_SHOW(r);
  check_stopped_by(r, cli::kExitSigint, "SIGINT");
}

TEST_CASE("CLI: SIGTERM stops a running guest with status 143, its console output whole and --stats printed") {
  TempDir dir;
  const Outcome r = run_emu(
      {"run", "--stats", "-q", "--format=raw", "--max-instructions", kBackstop, dir.write("spin.bin", spin_guest())},
      kLimit, Interaction{.after = "r\n", .signal = SIGTERM});
  SYSTEST_SHOW(r);
  check_stopped_by(r, cli::kExitSigterm, "SIGTERM");  // the summary line even with -q
}

TEST_CASE("CLI: SIGINT ends a wait for console input from a FIFO with status 130") {
  TempDir dir;
  const std::string fifo = (dir.path() / "input").string();
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  // A writer that never writes keeps the FIFO open: the emulator's open and reads never see EOF.
  const int writer = ::open(fifo.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC);
  REQUIRE(writer >= 0);
  const Outcome r =
      run_emu({"run", "--stats", "--format=raw", "--console-input", fifo, dir.write("wait.bin", input_waiting_guest())},
              std::chrono::seconds(20), Interaction{.after = "r\n", .signal = SIGINT});
  ::close(writer);
  SYSTEST_SHOW(r);
  CHECK_FALSE(r.timed_out);
  check_stopped_by(r, cli::kExitSigint, "SIGINT");
}

TEST_CASE("CLI: SIGINT leaves a trace file of whole lines, one call line per firmware call counted by --stats") {
  TempDir dir;
  const std::string trace = (dir.path() / "trace.txt").string();
  const Outcome r = run_emu({"run", "--stats", "--trace", "calls", "--trace-file", trace, "--format=raw",
                             "--max-instructions", kBackstop, dir.write("calls.bin", calls_guest())},
                            kLimit, Interaction{.after = "r\n", .signal = SIGINT});
  SYSTEST_SHOW(r);
  check_stopped_by(r, cli::kExitSigint, "SIGINT");
  const std::vector<std::uint8_t> bytes = systest::read_file(trace);
  const std::string text(bytes.begin(), bytes.end());
  REQUIRE_FALSE(text.empty());
  CHECK(text.back() == '\n');  // no line cut in the middle
  std::size_t calls = 0, answers = 0;
  for (const std::string& line : split_lines(text)) {
    // After the 12-digit virtual time: the line itself.
    const std::string body = line.size() > 13 ? line.substr(13) : std::string();
    const bool call = body.rfind("cpu0 hvc > PSCI_VERSION()", 0) == 0, answer = body == "cpu0 hvc < 0x10001";
    CHECK_MESSAGE((call || answer), line);
    calls += call ? 1 : 0;
    answers += answer ? 1 : 0;
  }
  CHECK(calls > 0);
  CHECK(calls == answers);
  CHECK(count_lines_containing(r.err, "calls=" + std::to_string(calls) + " ") == 1);
}

TEST_CASE("CLI: a stdout pipe whose reader has gone stops the run at once with status 74 and says so") {
  TempDir dir;
  const Outcome r = run_emu(
      {"run", "--stats", "--format=raw", "--max-instructions", kBackstop, dir.write("print.bin", printing_guest())},
      kLimit, Interaction{.after = "y\n", .close_stdout = true});
  SYSTEST_SHOW(r);
  CHECK(r.signal == 0);  // not killed by SIGPIPE (141 from a shell)
  CHECK(r.status == cli::kExitOutput);
  CHECK(count_lines_containing(r.err, "smccc-emu: cannot write stdout: Broken pipe; the run was stopped after ") == 1);
  CHECK(count_lines_containing(r.err, "vcpu0: instructions=") == 1);
  CHECK(r.elapsed < std::chrono::seconds(10));
  CHECK(systest::crash_marker(r.err).empty());
}

TEST_CASE("CLI: a trace file on a full disk (/dev/full) stops the run with status 74 and names the file") {
  TempDir dir;
  const Outcome r = run_emu({"run", "--stats", "--trace", "calls", "--trace-file", "/dev/full", "--format=raw",
                             "--max-instructions", "50000000", dir.write("calls.bin", calls_guest())});
  SYSTEST_SHOW(r);
  CHECK(r.status == cli::kExitOutput);
  CHECK(count_lines_containing(
            r.err,
            "smccc-emu: cannot write trace file '/dev/full': No space left on device; the run was stopped after ") ==
        1);
  CHECK(count_lines_containing(r.err, "vcpu0: instructions=") == 1);
  CHECK(r.out == "r\n");
}
