// The host controls through the CLI: --disable, --fw-reg, --filter and `smccc-emu fw-regs`.
#include <doctest/doctest.h>

#include <string>

#include "tests/system/run_cli.h"

using namespace emu;
using systest::count_lines_containing;
using systest::first_line;
using systest::guest_path;
using systest::run_emu;

TEST_CASE("CLI fw-regs: lists KVM's registers with their IDs and default values, then smccc-emu's own") {
  const systest::Outcome r = run_emu({"fw-regs"});
  SYSTEST_SHOW(r);
  CHECK(r.status == 0);
  CHECK(count_lines_containing(r.out, "0x6030000000140000 psci-version      0x10001") == 1);
  CHECK(count_lines_containing(r.out, "0x6030000000160000 std-bmap          0x1") == 1);
  CHECK(count_lines_containing(r.out, "0x6030000000160002 vendor-hyp-bmap   0x3") == 1);
  CHECK(count_lines_containing(r.out, "0x603000000fff0000 smccc-version     0x10002 (smccc-emu's own, not KVM's)") ==
        1);
  CHECK(count_lines_containing(r.out, "not KVM's") == 1);
  CHECK(count_lines_containing(r.out, "0x6030000000160003 vendor-hyp-bmap-2 0x0") == 1);  // KVM 6.15: reset 0
  CHECK(systest::split_lines(r.out).size() == 9);
}

TEST_CASE("CLI fw-regs: --fw-reg smccc-version selects 1.1 to 1.6 and refuses 1.7 with status 64") {
  const systest::Outcome r = run_emu({"fw-regs", "--fw-reg", "smccc-version=0x10006"});
  CHECK(r.status == 0);
  CHECK(count_lines_containing(r.out, "smccc-version     0x10006") == 1);
  const systest::Outcome bad = run_emu({"fw-regs", "--fw-reg", "smccc-version=0x10007"});
  CHECK(bad.status == 64);
  CHECK(first_line(bad.err).starts_with("smccc-emu: --fw-reg smccc-version=0x10007"));
}

TEST_CASE("CLI fw-regs: --disable and --fw-reg show what the guest would get") {
  const systest::Outcome r = run_emu({"fw-regs", "--disable", "trng,ptp", "--fw-reg", "psci-version=0x10000"});
  CHECK(r.status == 0);
  CHECK(count_lines_containing(r.out, "psci-version      0x10000") == 1);
  CHECK(count_lines_containing(r.out, "std-bmap          0x0") == 1);
  CHECK(count_lines_containing(r.out, "vendor-hyp-bmap   0x1") == 1);
  const systest::Outcome by_id = run_emu({"fw-regs", "--fw-reg", "0x6030000000160001=0"});
  CHECK(count_lines_containing(by_id.out, "std-hyp-bmap      0x0") == 1);
}

TEST_CASE("CLI: refused register values, unknown services and bad filters are usage errors (64)") {
  for (const std::vector<std::string>& args : {std::vector<std::string>{"--fw-reg", "std-bmap=0x2"},
                                               {"--fw-reg", "nonsense=1"},
                                               {"--fw-reg", "std-bmap"},
                                               {"--disable", "sdeii"},
                                               {"--filter", "0x80000000:1:deny"},
                                               {"--filter", "0x82000000:0:deny"},
                                               {"--filter", "0x82000000:1:maybe"},
                                               {"--filter", "0x82000000"}}) {
    std::vector<std::string> argv{"run"};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.push_back(guest_path("demo.elf"));
    const systest::Outcome r = run_emu(argv);
    CAPTURE(args[1]);
    SYSTEST_SHOW(r);
    CHECK(r.status == 64);
    CHECK(first_line(r.err).starts_with("smccc-emu: " + args[0]));
    CHECK(r.out.empty());
  }
}

TEST_CASE("CLI --disable trng: the TRNG guest sees TRNG_VERSION answer NOT_SUPPORTED") {
  const systest::Outcome r = run_emu({"run", "-q", "--disable", "trng", "--trace=calls", guest_path("trng.elf")});
  CHECK(r.status != 0);  // the guest's TRNG checks fail: the service is hidden
  CHECK(count_lines_containing(r.err, "> UNKNOWN(fid=0x84000050)") >= 1);
}

TEST_CASE("CLI --filter deny: the call answers NOT_SUPPORTED and the trace says why") {
  const systest::Outcome r =
      run_emu({"run", "-q", "--trace=calls", "--filter", "0x82000000:0x10000:deny", guest_path("demo.elf")});
  CHECK(r.status == 0);
  CHECK(count_lines_containing(r.err, "< NOT_SUPPORTED (denied by the filter)") == 1);
}

TEST_CASE("CLI --filter forward: the run stops with status 71 and names the call") {
  const systest::Outcome r = run_emu({"run", "-q", "--filter", "0x84000000:1:forward", guest_path("demo.elf")});
  CHECK(r.status == 71);
  CHECK(count_lines_containing(r.err, "call 0x84000000 from vcpu0 over HVC forwarded to the host") == 1);
}

TEST_CASE("CLI fw-regs: --impl-cpus sets vendor-hyp-bmap-2 to 0x3, and --fw-reg can clear it again") {
  const systest::Outcome r = run_emu({"fw-regs", "--impl-cpus", "0x410fd0c0:0:0"});
  CHECK(r.status == 0);
  CHECK(count_lines_containing(r.out, "vendor-hyp-bmap-2 0x3") == 1);
  const systest::Outcome cleared =
      run_emu({"fw-regs", "--impl-cpus", "0x410fd0c0:0:0", "--fw-reg", "vendor-hyp-bmap-2=0x1"});
  CHECK(count_lines_containing(cleared.out, "vendor-hyp-bmap-2 0x1") == 1);
}

TEST_CASE("CLI --impl-cpus: a malformed entry, a 64-bit MIDR or a BMAP_2 bit KVM lacks is refused with status 64") {
  for (const std::vector<std::string>& args : {std::vector<std::string>{"--impl-cpus", "0x410fd0c0:0"},
                                               {"--impl-cpus", "0x1410fd0c0:0:0"},
                                               {"--impl-cpus", "x:0:0"},
                                               {"--fw-reg", "vendor-hyp-bmap-2=0x4"}}) {
    std::vector<std::string> argv{"run"};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.push_back(guest_path("demo.elf"));
    const systest::Outcome r = run_emu(argv);
    CAPTURE(args[1]);
    CHECK(r.status == 64);
    CHECK(first_line(r.err).starts_with("smccc-emu: " + args[0]));
  }
}
