// The newer specifications through the guests, the CLI and the Machine API: SMCCC 1.1..1.6
// selected with smccc-emu's smccc-version register (DEN0028) and PSCI 1.3's SYSTEM_OFF2
// (DEN0022F.b), over HVC and SMC.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "core/machine.h"
#include "tests/system/run_cli.h"

using namespace emu;
using systest::count_lines_containing;
using systest::guest_path;
using systest::run_emu;

namespace {

systest::Outcome run_at_smccc(unsigned minor, const std::string& guest) {
  return run_emu({"run", "-q", "--fw-reg", "smccc-version=0x1000" + std::to_string(minor), guest_path(guest)});
}

void check_tap_passes(const systest::Outcome& r) {
  SYSTEST_SHOW(r);
  CHECK(!r.timed_out);
  CHECK(r.status == 0);
  CHECK(count_lines_containing(r.out, "not ok") == 0);
  CHECK(count_lines_containing(r.out, "# failed 0 of") == 1);
}

}  // namespace

TEST_CASE("SMCCC versions: at each of 1.1..1.6 the guest sees that version and exactly its calls, over HVC and SMC") {
  // The number of checks grows with what the version offers: 1.5 adds FEATURE_AVAILABILITY's
  // bitmask checks, 1.6 the WORKAROUND_4 call and the SoC name.
  const std::vector<std::pair<unsigned, int>> plans{{1, 31}, {2, 31}, {3, 31}, {4, 31}, {5, 59}, {6, 63}};
  for (const auto& [minor, plan] : plans) {
    CAPTURE(minor);
    const systest::Outcome r = run_at_smccc(minor, "smccc-versions.elf");
    check_tap_passes(r);
    CHECK(count_lines_containing(
              r.out, "SMCCC_VERSION 0x1000" + std::to_string(minor) + " (1." + std::to_string(minor) + ")") == 1);
    CHECK(count_lines_containing(r.out, "1.." + std::to_string(plan)) == 1);
    CHECK(count_lines_containing(r.out, "SoC name \"") == (minor >= 6 ? 2 : 0));
  }
}

TEST_CASE("SMCCC versions: the default is 1.2, which never offers the SMCCC 1.5 and 1.6 calls") {
  const systest::Outcome r = run_emu({"run", "-q", "--trace=calls", guest_path("smccc-versions.elf")});
  check_tap_passes(r);
  CHECK(count_lines_containing(r.out, "SMCCC_VERSION 0x10002 (1.2)") == 1);
  // Every call to a 1.5/1.6 function is unknown to the dispatcher, on both conduits.
  CHECK(count_lines_containing(r.err, "> UNKNOWN(fid=0xc0000003)") == 2);
  CHECK(count_lines_containing(r.err, "> UNKNOWN(fid=0xc0000002)") == 2);
  CHECK(count_lines_containing(r.err, "> UNKNOWN(fid=0x80000004)") == 2);
  CHECK(count_lines_containing(r.err, "SMCCC_ARCH_FEATURE_AVAILABILITY(") == 0);
}

TEST_CASE("SMCCC versions: at 1.6 the trace names FEATURE_AVAILABILITY, WORKAROUND_4 and SOC_ID64") {
  const systest::Outcome r =
      run_emu({"run", "-q", "--trace=calls", "--fw-reg", "smccc-version=0x10006", guest_path("smccc-versions.elf")});
  check_tap_passes(r);
  CHECK(count_lines_containing(r.err, "cpu0 hvc > SMCCC_ARCH_FEATURE_AVAILABILITY(reg=0x1e1100)") >= 1);
  CHECK(count_lines_containing(r.err, "cpu0 smc > SMCCC_ARCH_WORKAROUND_4()") >= 1);
  CHECK(count_lines_containing(r.err, "cpu0 hvc > SMCCC_ARCH_SOC_ID64(type=0x2)") >= 1);
}

TEST_CASE("SMCCC versions: the conformance guest passes at 1.2 and at 1.6, the SoC name only at 1.6") {
  for (unsigned minor : {2u, 6u}) {
    CAPTURE(minor);
    const systest::Outcome r = run_at_smccc(minor, "smccc-conformance.elf");
    check_tap_passes(r);
    CHECK(count_lines_containing(r.out, "# SoC name") == (minor == 6 ? 2 : 0));
  }
}

TEST_CASE("PSCI SYSTEM_OFF2: before PSCI 1.3 the guest sees it NOT_SUPPORTED on both conduits and exits itself") {
  for (const char* version : {"0x10001", "0x10002"}) {
    CAPTURE(version);
    const systest::Outcome r =
        run_emu({"run", "--fw-reg", std::string("psci-version=") + version, guest_path("system-off2.elf")});
    check_tap_passes(r);
    CHECK(count_lines_containing(r.out, "1..10") == 1);
    CHECK(count_lines_containing(r.err, "guest exited with status 0 (semihosting)") == 1);
  }
}

// Status 72 and the summary tell a hibernation from a SYSTEM_OFF (status 0).
TEST_CASE("PSCI SYSTEM_OFF2 at PSCI 1.3: every form and type hibernates, status 72, its own summary line") {
  const std::vector<std::pair<std::string, std::string>> calls{
      {"off2=hvc form=32 type=1", "cpu0 hvc > PSCI_SYSTEM_OFF2(type=0x1 cookie=0)"},
      {"off2=smc form=32 type=0", "cpu0 smc > PSCI_SYSTEM_OFF2(type=0 cookie=0)"},
      {"off2=hvc form=64 type=0", "cpu0 hvc > PSCI_SYSTEM_OFF2_64(type=0 cookie=0)"},
      {"off2=smc form=64 type=1", "cpu0 smc > PSCI_SYSTEM_OFF2_64(type=0x1 cookie=0)"},
  };
  for (const auto& [args, line] : calls) {
    CAPTURE(args);
    const systest::Outcome r = run_emu(
        {"run", "--trace=calls", "--fw-reg", "psci-version=0x10003", "--append", args, guest_path("system-off2.elf")});
    SYSTEST_SHOW(r);
    CHECK(r.status == 72);
    CHECK(count_lines_containing(r.out, "# failed 0 of 16") == 1);
    CHECK(count_lines_containing(r.err, line) == 1);
    CHECK(count_lines_containing(r.err, "< (system off: hibernate)") == 1);
    CHECK(count_lines_containing(r.err, "smccc-emu: guest hibernated (PSCI SYSTEM_OFF2, HIBERNATE_OFF)") == 1);
    CHECK(count_lines_containing(r.out, "SYSTEM_OFF2 returned") == 0);
  }
}

TEST_CASE("PSCI SYSTEM_OFF2 through the API: ExitKind::SystemOff with RunExit::hibernate, SYSTEM_OFF without") {
  core::Machine machine(core::MachineConfig{});
  REQUIRE(machine.set_fw_reg(0, fw::fw_reg::kPsciVersion, 0x1'0003) == fw::HostStatus::Ok);
  machine.load(core::load_image(guest_path("system-off2.elf"), core::ImageFormat::Auto, machine.layout()));
  const core::RunExit off2 = machine.run();
  CHECK(off2.kind == core::ExitKind::SystemOff);
  CHECK(off2.hibernate);
  CHECK(off2.summary == "guest hibernated (PSCI SYSTEM_OFF2, HIBERNATE_OFF)");

  core::Machine plain(core::MachineConfig{});
  plain.load(core::load_image(guest_path("demo.elf"), core::ImageFormat::Auto, plain.layout()));
  const core::RunExit off = plain.run();
  CHECK(off.kind == core::ExitKind::SystemOff);
  CHECK(!off.hibernate);
}

TEST_CASE("KVM DISCOVER_IMPL_*: hidden by default (VENDOR_HYP_BMAP_2 = 0), on both conduits") {
  const systest::Outcome r = run_emu({"run", "-q", guest_path("kvm-impl.elf")});
  check_tap_passes(r);
  CHECK(count_lines_containing(r.out, "1..8") == 1);
}

TEST_CASE("KVM DISCOVER_IMPL_*: --impl-cpus reaches the guest entry by entry, on both conduits") {
  const systest::Outcome r = run_emu({"run", "-q", "--impl-cpus", "0x413fd0c1:0x11:0x22,0x481fd010:0x100000033:0x44",
                                      "--append", "impl=2", guest_path("kvm-impl.elf")});
  check_tap_passes(r);
  CHECK(count_lines_containing(r.out, "# impl 0 midr=0x413fd0c1 revidr=0x11 aidr=0x22") == 1);
  CHECK(count_lines_containing(r.out, "# impl 1 midr=0x481fd010 revidr=0x100000033 aidr=0x44") == 1);
  CHECK(count_lines_containing(r.out, "1..28") == 1);
}

TEST_CASE("KVM DISCOVER_IMPL_*: a guest expecting another count fails, and with BMAP_2 cleared it sees them hidden") {
  const systest::Outcome wrong =
      run_emu({"run", "-q", "--impl-cpus", "0x413fd0c1:0:0", "--append", "impl=2", guest_path("kvm-impl.elf")});
  CHECK(wrong.status != 0);
  const systest::Outcome cleared = run_emu(
      {"run", "-q", "--impl-cpus", "0x413fd0c1:0:0", "--fw-reg", "vendor-hyp-bmap-2=0", guest_path("kvm-impl.elf")});
  check_tap_passes(cleared);
}

namespace {
// The host's own answers to forwarded DISCOVER_IMPL_* calls (a VMM answering KVM_EXIT_HYPERCALL).
void answer_forwarded(core::Machine& m, const core::RunExit& exit) {
  const unsigned v = exit.vcpu;
  const std::uint64_t index = m.reg(v, core::xreg(1));
  for (unsigned i = 0; i < 18; ++i) m.set_reg(v, core::xreg(i), 0);
  if (exit.fid == fw::kvm::kDiscoverImplVer) {
    m.set_reg(v, core::xreg(1), 0x1'0000);
    m.set_reg(v, core::xreg(2), 1);
  } else if (index == 0) {
    m.set_reg(v, core::xreg(1), 0x410F'D4F0);
    m.set_reg(v, core::xreg(2), 0x7);
    m.set_reg(v, core::xreg(3), 0x9);
  } else {
    m.set_reg(v, core::xreg(0), static_cast<std::uint64_t>(-3));
  }
}
}  // namespace

TEST_CASE("KVM DISCOVER_IMPL_*: with a forwarding filter the host answers them, through the API") {
  core::MachineConfig config;
  config.bootargs = "impl=1";
  core::Machine machine(config);
  REQUIRE(machine.set_fw_reg(0, fw::fw_reg::kVendorHypBmap2, 0x3) == fw::HostStatus::Ok);
  REQUIRE(machine.add_filter_range(fw::kvm::kDiscoverImplVer, 2, 2) == fw::HostStatus::Ok);
  std::string console;
  machine.console().set_writer([&console](std::string_view text) { console.append(text); });
  machine.load(core::load_image(guest_path("kvm-impl.elf"), core::ImageFormat::Auto, machine.layout()));
  core::RunExit exit = machine.run();
  unsigned forwarded = 0;
  while (exit.kind == core::ExitKind::Hypercall && forwarded < 100) {
    CHECK((exit.fid == fw::kvm::kDiscoverImplVer || exit.fid == fw::kvm::kDiscoverImplCpus));
    answer_forwarded(machine, exit);
    ++forwarded;
    exit = machine.run();
  }
  INFO("console:\n" << console);
  CHECK(exit.kind == core::ExitKind::SemihostingExit);
  CHECK(exit.status == 0);
  CHECK(console.find("# impl 0 midr=0x410fd4f0 revidr=0x7 aidr=0x9") != std::string::npos);
  // Per conduit: VER, CPUS(0), and the three out-of-range CPUS calls.
  CHECK(forwarded == 10);
}

// Firmware fault injection (smccc-emu's own): `--inject FID[@N|%P]:RESULT`.
TEST_CASE("Fault injection: the 3rd TRNG_RND64 and the 1st CPU_ON64 answer the errors asked for, and nothing else") {
  const systest::Outcome r = run_emu({"run", "--cpus", "2", "--trace=calls", "--inject", "0xC4000053@3:NO_ENTROPY",
                                      "--inject", "0xC4000003@1:INTERNAL_FAILURE", guest_path("inject-probe.elf")});
  check_tap_passes(r);
  CHECK(count_lines_containing(r.out, "# rnd64 hvc: 0 0 -3 0 0 0 0 0 0 0 0 0") == 1);
  CHECK(count_lines_containing(r.out, "# rnd64 smc: 0 0 0 0 0 0 0 0 0 0 0 0") == 1);
  CHECK(count_lines_containing(r.out, "# cpu_on: x0 -6, affinity 1") == 1);
  CHECK(count_lines_containing(r.err, "(injected fault)") == 2);
  CHECK(count_lines_containing(r.err, "cpu0 hvc < NO_ENTROPY (injected fault)") == 1);
  CHECK(count_lines_containing(r.err, "cpu0 smc < INTERNAL_FAILURE (injected fault)") == 1);
}

TEST_CASE("Fault injection %P: a seeded fraction lands on the same calls twice, and elsewhere with another seed") {
  const auto run = [](const char* seed) {
    return run_emu({"run", "-q", "--cpus", "2", "--seed", seed, "--inject", "0xC4000053%25:INVALID_PARAMETERS",
                    guest_path("inject-probe.elf")});
  };
  const systest::Outcome a = run("5");
  const systest::Outcome b = run("5");
  const systest::Outcome c = run("6");
  check_tap_passes(a);
  CHECK(a.out == b.out);
  CHECK(a.out != c.out);
  CHECK(count_lines_containing(a.out, "-2") >= 1);
}

TEST_CASE("Fault injection: a result the function may not return, or an unknown name, is refused with status 64") {
  for (const char* spec : {"0xC4000053:DENIED", "0x84000000:NOT_SUPPORTED", "0xC4000053@0:NO_ENTROPY",
                           "0xC4000053%101:NO_ENTROPY", "0xC4000053@2", "0x84000002:ALREADY_ON"}) {
    CAPTURE(spec);
    const systest::Outcome r = run_emu({"run", "--inject", spec, guest_path("demo.elf")});
    CHECK(r.status == 64);
    CHECK(systest::first_line(r.err).starts_with(std::string("smccc-emu: --inject '") + spec + "'"));
    CHECK(r.out.empty());
  }
}
