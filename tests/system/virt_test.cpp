// The QEMU-virt machine seen by a guest: dt-walk finds memory, CPUs, PSCI, SDEI, PV time and the
// console through the device tree in x0 and checks each against the machine (its expectations
// come in through --append), as an ELF, as a raw .flat and as a Linux Image; and the CLI's
// device-tree options.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "tests/system/run_cli.h"

using emu::systest::crash_marker;
using emu::systest::guest_path;
using emu::systest::Outcome;
using emu::systest::run_command;
using emu::systest::run_emu;
using emu::systest::TempDir;

namespace {

bool contains(const std::string& haystack, std::string_view needle) {
  return haystack.find(needle) != std::string::npos;
}

// What dt-walk is told to expect, in its bootargs syntax.
std::string expectation(unsigned cpus, const char* method, bool pvtime, bool initrd, const char* mem = "0x8000000") {
  return "cpus=" + std::to_string(cpus) + " mem=" + mem + " method=" + method + " pvtime=" + (pvtime ? "1" : "0") +
         " initrd=" + (initrd ? "1" : "0");
}

void check_passes(const Outcome& r) {
  SYSTEST_SHOW(r);
  CHECK(r.status == 0);
  CHECK(contains(r.out, "# failed 0 of"));
  CHECK_FALSE(contains(r.out, "not ok"));
  CHECK(crash_marker(r.err).empty());
}

}  // namespace

TEST_CASE("Virt machine: dt-walk on 1 vCPU over HVC finds every node the machine has and nothing else") {
  check_passes(run_emu({"run", "--append", expectation(1, "hvc", true, false), guest_path("dt-walk.elf")}));
}

TEST_CASE("Virt machine: dt-walk on 8 vCPUs starts every CPU of /cpus through PSCI and each reads its reg in MPIDR") {
  const Outcome r =
      run_emu({"run", "--cpus", "8", "--append", expectation(8, "hvc", true, false), guest_path("dt-walk.elf")});
  check_passes(r);
  CHECK(contains(r.out, "CPU_ON of every other cpu's reg succeeds"));
}

TEST_CASE("Virt machine: --conduit smc names SMC in /psci and /firmware/sdei, --pv-time off drops /reserved-memory") {
  check_passes(run_emu({"run", "--cpus", "2", "--conduit", "smc", "--pv-time", "off", "--memory", "256M", "--append",
                        expectation(2, "smc", false, false, "0x10000000"), guest_path("dt-walk.elf")}));
}

TEST_CASE("Virt machine: the guest fails when the tree disagrees with what it was told (the checks can fail)") {
  const Outcome r =
      run_emu({"run", "--cpus", "2", "--append", expectation(3, "smc", true, false), guest_path("dt-walk.elf")});
  SYSTEST_SHOW(r);
  CHECK(r.status == 4);  // cpu count, PSCI method, SDEI method, the GIC redistributor region
  CHECK(contains(r.out, "not ok"));
}

TEST_CASE(
    "Virt machine: --initrd is loaded on a 2 MiB boundary above the image, named in /chosen, below the device tree") {
  TempDir dir;
  const std::string initrd = dir.write("initrd.img", std::string("smccc-emu initrd\n") + std::string(5000, 'x'));
  check_passes(
      run_emu({"run", "--initrd", initrd, "--append", expectation(1, "hvc", true, true), guest_path("dt-walk.elf")}));
}

TEST_CASE("Virt machine: the same guest as a raw .flat (--format raw) and as a Linux Image (auto and --format image)") {
  const std::string args = expectation(4, "hvc", true, false);
  check_passes(run_emu({"run", "--cpus", "4", "--format", "raw", "--append", args, guest_path("dt-walk.flat")}));
  const Outcome image = run_emu({"run", "--cpus", "4", "--append", args, guest_path("dt-walk.Image")});
  check_passes(image);
  CHECK(contains(image.out, "x0 = 0x40400000"));  // Image at 0x40200000 + 1 MiB footprint -> next 2 MiB
  check_passes(run_emu({"run", "--cpus", "4", "--format", "image", "--append", args, guest_path("dt-walk.Image")}));
}

TEST_CASE("Virt machine: two runs with --seed print the same seeds, another seed prints others") {
  const auto run = [](const char* seed) {
    return run_emu({"run", "--seed", seed, "--append", expectation(1, "hvc", true, false), guest_path("dt-walk.elf")});
  };
  const Outcome a = run("5"), b = run("5"), c = run("6");
  CHECK(a.out == b.out);
  CHECK(contains(a.out, "# kaslr-seed 0x"));
  CHECK(a.out != c.out);
}

TEST_CASE(
    "CLI: --dump-dtb writes the generated tree, exits 0 without running, and dtc decompiles it without a warning") {
  TempDir dir;
  const std::string dtb = (dir.path() / "virt.dtb").string();
  const Outcome r =
      run_emu({"run", "--cpus", "4", "--append", "console=ttyAMA0", "--dump-dtb", dtb, guest_path("demo.elf")});
  SYSTEST_SHOW(r);
  CHECK(r.status == 0);
  CHECK(r.out.empty());  // the demo did not run
  const Outcome dts = run_command({"/usr/bin/dtc", "-I", "dtb", "-O", "dts", dtb});
  INFO(dts.err);
  CHECK(dts.status == 0);
  CHECK(dts.err.empty());
  CHECK(contains(dts.out, "compatible = \"linux,dummy-virt\""));
  CHECK(contains(dts.out, "cpu@3 {"));
  CHECK(contains(dts.out, "bootargs = \"console=ttyAMA0\""));
  CHECK(contains(dts.out, "stdout-path = \"/pl011@9000000\""));
}

TEST_CASE("CLI: --dtb runs the guest on the user's tree, its /chosen updated by --append") {
  TempDir dir;
  const std::string dtb = (dir.path() / "virt.dtb").string();
  REQUIRE(run_emu({"run", "--cpus", "2", "--dump-dtb", dtb, guest_path("demo.elf")}).status == 0);
  check_passes(run_emu(
      {"run", "--cpus", "2", "--dtb", dtb, "--append", expectation(2, "hvc", true, false), guest_path("dt-walk.elf")}));
}

TEST_CASE("CLI: an unusable --dtb or --initrd is refused with status 65 and one line naming the file") {
  TempDir dir;
  const std::string garbage = dir.write("bad.dtb", std::string(64, 'z'));
  const std::string empty = dir.write("empty.img", std::string());
  for (const std::vector<std::string>& args : {std::vector<std::string>{"--dtb", garbage},
                                               {"--dtb", (dir.path() / "missing.dtb").string()},
                                               {"--dtb", dir.path().string()},
                                               {"--initrd", empty},
                                               {"--initrd", "/dev/zero"}}) {
    std::vector<std::string> argv{"run"};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.push_back(guest_path("demo.elf"));
    const Outcome r = run_emu(argv);
    SYSTEST_SHOW(r);
    CHECK(r.status == 65);
    CHECK(contains(r.err, args[1]));
    CHECK(emu::systest::split_lines(r.err).size() == 1u);
    CHECK(r.out.empty());
    CHECK(crash_marker(r.err).empty());
  }
}

TEST_CASE("CLI: an initrd that does not fit above the image is refused with status 65, nothing run") {
  TempDir dir;
  const std::string big = dir.write("big.img", std::string(3u << 20, 'i'));
  const Outcome r = run_emu({"run", "--memory", "4M", "--initrd", big, guest_path("demo.elf")});
  SYSTEST_SHOW(r);
  CHECK(r.status == 65);
  CHECK(contains(r.err, "no room in RAM for the initrd"));
  CHECK(r.out.empty());
}
