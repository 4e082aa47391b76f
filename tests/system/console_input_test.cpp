// Console input through the PL011's receive interrupts (guests/uart, PL011 TRM DDI 0183 §3.3):
// the guest echoes each line it gets as `got: <line>` until `quit` or until no byte came for
// 100 ms of virtual time. With a regular file as input, bytes arrive one character time apart
// in virtual time, so a run is deterministic: with the FIFO half-full trigger (8 bytes) the RX
// interrupt delivers every full 8 bytes and the receive timeout (RT) the rest.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "core/console.h"
#include "core/machine.h"
#include "tests/system/run_cli.h"

using namespace emu;
using systest::count_lines_containing;
using systest::guest_path;
using systest::Outcome;
using systest::run_emu;
using systest::split_lines;
using systest::TempDir;

namespace {

Outcome run_with_input(const std::string& input) {
  TempDir dir;
  const std::string file = dir.write("input.txt", input);
  return run_emu({"run", "-q", "--console-input", file, guest_path("console-input.elf")});
}

std::vector<std::string> echoed(const std::string& console) {
  std::vector<std::string> out;
  for (const std::string& line : split_lines(console)) {
    if (line.rfind("got: ", 0) == 0) out.push_back(line.substr(5));
  }
  return out;
}

bool has_line(const std::string& console, const std::string& line) {
  for (const std::string& l : split_lines(console)) {
    if (l == line) return true;
  }
  return false;
}

// What RX at 8 bytes and RT for the remainder give for `bytes` bytes streamed back to back.
std::string interrupts_line(std::size_t bytes) {
  const std::size_t rx = bytes / 8, rt = bytes % 8 != 0 ? 1 : 0;
  return "# uart interrupts: " + std::to_string(rx + rt) + " (rx " + std::to_string(rx) + ", rt " + std::to_string(rt) +
         ")";
}

void check_passes(const Outcome& r) {
  CHECK(r.status == 0);
  CHECK(count_lines_containing(r.out, "not ok") == 0);
  CHECK(count_lines_containing(r.out, "# failed 0 of") == 1);
}

}  // namespace

TEST_CASE("Console input: lines ended by LF, CR LF and CR are echoed until the line quit, which stops the guest") {
  const std::string input = "hello\nworld\r\nthird\rquit\nnot read\n";
  const Outcome r = run_with_input(input);
  SYSTEST_SHOW(r);
  check_passes(r);
  CHECK(echoed(r.out) == std::vector<std::string>{"hello", "world", "third", "quit"});
  CHECK(has_line(r.out, "# stopped by: quit"));
  CHECK(has_line(r.out, "# bytes: 24, lines: 4"));  // up to and including "quit\n"
  CHECK(has_line(r.out, "ok 10 - at the end of input the receive FIFO is empty # skip stopped at quit"));
}

TEST_CASE("Console input: without quit the input ends by the virtual-time timeout, a last line without LF included") {
  const std::string input = "one\ntwo\nno newline at end";
  const Outcome r = run_with_input(input);
  SYSTEST_SHOW(r);
  check_passes(r);
  CHECK(echoed(r.out) == std::vector<std::string>{"one", "two", "no newline at end"});
  CHECK(has_line(r.out, "# stopped by: end of input"));
  CHECK(has_line(r.out, "# bytes: 25, lines: 3"));
  CHECK(has_line(r.out, interrupts_line(input.size())));  // 3 RX, then RT for the last byte
}

TEST_CASE("Console input: 200 lines (8460 bytes) come through 16-byte FIFO interrupts with nothing lost") {
  std::string input;
  std::vector<std::string> lines;
  for (int i = 0; i < 200; ++i) {
    lines.push_back("line " + std::to_string(i) + " " +
                    std::string(static_cast<std::size_t>(i % 61), static_cast<char>('a' + i % 26)));
    input += lines.back() + "\n";
  }
  const Outcome r = run_with_input(input);
  SYSTEST_SHOW(r);
  check_passes(r);
  CHECK(echoed(r.out) == lines);
  CHECK(has_line(r.out, "# bytes: " + std::to_string(input.size()) + ", lines: 200"));
  CHECK(has_line(r.out, interrupts_line(input.size())));
  CHECK(run_with_input(input).out == r.out);  // deterministic: the same bytes again
}

TEST_CASE("Console input: a line longer than the guest's 255-byte buffer is echoed in pieces") {
  const Outcome r = run_with_input(std::string(300, 'x') + "\nquit\n");
  SYSTEST_SHOW(r);
  check_passes(r);
  CHECK(echoed(r.out) == std::vector<std::string>{std::string(255, 'x'), std::string(45, 'x'), "quit"});
}

TEST_CASE("Console input: no input at all (--console-input none and an empty file) ends by the timeout with 0 bytes") {
  for (const char* where : {"none", "/dev/null"}) {
    CAPTURE(where);
    const Outcome r = run_emu({"run", "-q", "--console-input", where, guest_path("console-input.elf")});
    SYSTEST_SHOW(r);
    check_passes(r);
    CHECK(echoed(r.out).empty());
    CHECK(has_line(r.out, "# stopped by: end of input"));
    CHECK(has_line(r.out, "# bytes: 0, lines: 0"));
    CHECK(has_line(r.out, "# uart interrupts: 0 (rx 0, rt 0)"));
  }
}

TEST_CASE("Console input (API): an FdInput on a file feeds the PL011 as --console-input does") {
  TempDir dir;
  const std::string file = dir.write("input.txt", std::string("abc\nquit\n"));
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  std::string console;
  {
    core::Machine machine(core::MachineConfig{});
    machine.console().set_writer([&console](std::string_view text) { console.append(text); });
    machine.console().set_input(std::make_unique<core::FdInput>(fd));
    machine.load(core::load_image(guest_path("console-input.elf"), core::ImageFormat::Auto, machine.layout()));
    const core::RunExit exit = machine.run();
    INFO("console:\n" << console << "\nsummary: " << exit.summary);
    CHECK(exit.kind == core::ExitKind::SemihostingExit);
    CHECK(exit.status == 0);
  }
  ::close(fd);
  CHECK(echoed(console) == std::vector<std::string>{"abc", "quit"});
  CHECK(has_line(console, "# bytes: 9, lines: 2"));
  CHECK(has_line(console, "# uart interrupts: 2 (rx 1, rt 1)"));
}
