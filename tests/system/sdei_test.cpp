// SDEI (issue 5) end to end: the sdei-conformance guest checks dispatch, the handler's entry
// state, COMPLETE / COMPLETE_AND_RESUME, nesting, masking and per-PE state against DEN0054C,
// through the CLI as a user runs it.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "tests/system/run_cli.h"

using namespace emu;

using systest::count_lines_containing;
using systest::guest_path;
using systest::run_emu;

namespace {

// The events the guest expects: 1 private critical signalable, 2 shared normal, signalled by
// the host at 3 ms of virtual time.
std::vector<std::string> sdei_args(const std::string& cpus, std::vector<std::string> extra = {}) {
  std::vector<std::string> args{"run",
                                "--cpus",
                                cpus,
                                "--sdei-event",
                                "1:private:critical:signalable",
                                "--sdei-event",
                                "2:shared:normal",
                                "--sdei-signal",
                                "2@3000000"};
  args.insert(args.end(), extra.begin(), extra.end());
  args.push_back(guest_path("sdei-conformance.elf"));
  return args;
}

void check_passes(const systest::Outcome& r) {
  SYSTEST_SHOW(r);
  CHECK(r.status == 0);
  CHECK(count_lines_containing(r.out, "not ok") == 0);
  CHECK(count_lines_containing(r.out, "# failed 0 of") == 1);
}

}  // namespace

TEST_CASE("SDEI guest: every check passes on one vCPU") {
  check_passes(run_emu(sdei_args("1")));
}

TEST_CASE("SDEI guest: every check passes on four vCPUs, including the cross-PE ones") {
  const systest::Outcome r = run_emu(sdei_args("4"));
  check_passes(r);
  CHECK(count_lines_containing(r.out, "vCPU 1's handler") > 0);  // the second-PE checks ran
}

TEST_CASE("SDEI guest: passes with one-instruction slices and with two vCPUs on one physical CPU") {
  check_passes(run_emu(sdei_args("2", {"--quantum", "1"})));
  check_passes(run_emu(sdei_args("2", {"--pcpus", "1"})));
}

TEST_CASE("SDEI guest: two runs give the same output and trace, handler entries included") {
  const systest::Outcome a = run_emu(sdei_args("4", {"--trace=calls,sdei", "--stats"}));
  const systest::Outcome b = run_emu(sdei_args("4", {"--trace=calls,sdei", "--stats"}));
  CHECK(a.out == b.out);
  CHECK(count_lines_containing(a.err, "sdei > event") > 0);
  CHECK(a.err == b.err);  // the trace, the summary and the per-vCPU stats
}

TEST_CASE("SDEI guest: without the host-declared events the guest's checks fail (the test can fail)") {
  const systest::Outcome r = run_emu({"run", "--cpus", "1", guest_path("sdei-conformance.elf")});
  CHECK(r.status != 0);
}

TEST_CASE("CLI: bad --sdei-event and --sdei-signal values are usage errors") {
  const std::string guest = guest_path("sdei-conformance.elf");
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"run", "--sdei-event", "1:private", guest},
                                             {"run", "--sdei-event", "1:both:normal", guest},
                                             {"run", "--sdei-event", "1:private:urgent", guest},
                                             {"run", "--sdei-event", "x:private:normal", guest},
                                             {"run", "--sdei-signal", "2", guest},
                                             {"run", "--sdei-signal", "2@soon", guest}}) {
    const systest::Outcome r = run_emu(args);
    CAPTURE(args[2]);
    CHECK(r.status == 64);
    CHECK(r.out.empty());
  }
  // Well-formed but impossible: a configuration error naming the option.
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"run", "--sdei-event", "0:private:normal", guest},
           {"run", "--sdei-event", "3:shared:normal", "--sdei-event", "3:shared:normal", guest},
           {"run", "--sdei-signal", "9@100", guest},
           {"run", "--sdei-signal", "0@100:4", guest}}) {
    const systest::Outcome r = run_emu(args);
    CAPTURE(args[2]);
    CHECK(r.status == 64);
    CHECK(r.err.find("--sdei-") != std::string::npos);
  }
}

// SDEI events bound to interrupts (DEN0054C SDEI_INTERRUPT_BIND): the sdei-bind guest binds
// the EL1 physical timer's PPI and the PL011's SPI and checks dispatch into a fully masked
// loop, the interrupted context after COMPLETE register for register, re-delivery of a level,
// masking, WFI and the hand-back of the interrupt to the guest.
TEST_CASE("SDEI bind guest: a timer-bound event restores the interrupted context bit for bit, on 1 and 4 vCPUs") {
  for (const char* cpus : {"1", "4"}) {
    CAPTURE(cpus);
    const systest::Outcome r =
        run_emu({"run", "--cpus", cpus, "--max-instructions", "50000000", guest_path("sdei-bind.elf")});
    check_passes(r);
    // Entry at the first block boundary after CNTP_CVAL: the 100 ns entry cost plus at most a
    // block, 20 ticks at most (as for timer IRQs).
    for (const std::string& line : systest::split_lines(r.out)) {
      const auto at = line.find("latency ");
      if (at == std::string::npos) continue;
      CAPTURE(line);
      CHECK(std::stoul(line.substr(at + 8)) <= 20);
    }
  }
}

TEST_CASE("SDEI bind guest: passes with one-instruction slices, and two runs print the same bytes") {
  check_passes(run_emu({"run", "--quantum", "1", "--max-instructions", "50000000", guest_path("sdei-bind.elf")}));
  const systest::Outcome a = run_emu({"run", "--stats", "--trace=calls,sdei", guest_path("sdei-bind.elf")});
  const systest::Outcome b = run_emu({"run", "--stats", "--trace=calls,sdei", guest_path("sdei-bind.elf")});
  CHECK(a.out == b.out);
  CHECK(a.err == b.err);
  CHECK(count_lines_containing(a.err, "sdei > event 1000") == 7);  // 1 + 3 + 3 dispatches of the timer's event
}
