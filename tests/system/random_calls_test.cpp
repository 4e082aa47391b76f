// The random-call guest (guests/random/random_calls.c; issue 14): tens of thousands of seeded
// firmware calls with random arguments from 4 vCPUs, each answer checked by the guest against the
// register rules of README "What the firmware answers" (DEN0028 §2.6 and §3.1). Run twice, it must
// print the same bytes (determinism: virtual time, --seed, --epoch) and power off normally.
#include <doctest/doctest.h>

#include <cstdio>
#include <set>
#include <string>

#include "firmware/firmware.h"
#include "tests/firmware/fake_platform.h"
#include "tests/system/run_cli.h"

using namespace emu;
using systest::count_lines_containing;
using systest::crash_marker;
using systest::guest_path;
using systest::run_emu;
using systest::split_lines;

namespace {

constexpr unsigned kCalls = 15000;  // per vCPU: 60000 in all

systest::Outcome run_random_calls(unsigned calls_per_cpu) {
  // --quantum 997: slices end at odd places, so the vCPUs' calls interleave densely. The newest
  // SMCCC and PSCI versions and an implementation list, so that every function is routed.
  return run_emu({"run",
                  "-q",
                  "--stats",
                  "--cpus",
                  "4",
                  "--quantum",
                  "997",
                  "--seed",
                  "7",
                  "--epoch",
                  "0",
                  "--fw-reg",
                  "smccc-version=0x10006",
                  "--fw-reg",
                  "psci-version=0x10003",
                  "--impl-cpus",
                  "0x410fd0c0:0:0,0x410fd400:1:2",
                  "--append",
                  "seed=20261202 calls=" + std::to_string(calls_per_cpu),
                  guest_path("random-calls.elf")},
                 std::chrono::seconds(120));
}

// The FIDs some service of a firmware with every platform interface, the newest versions and
// every vendor bit routes (Dispatcher::find), as run_random_calls configures it.
std::set<std::uint32_t> routable_fids() {
  test::FakePlatform platform;
  fw::Firmware firmware(platform.config(4));
  REQUIRE(firmware.set_fw_reg(fw::fw_reg::kSmcccVersion, 0x1'0006) == fw::HostStatus::Ok);
  REQUIRE(firmware.set_fw_reg(fw::fw_reg::kPsciVersion, 0x1'0003) == fw::HostStatus::Ok);
  REQUIRE(firmware.set_fw_reg(fw::fw_reg::kVendorHypBmap2, 3) == fw::HostStatus::Ok);
  std::set<std::uint32_t> fids;
  for (std::uint32_t owner = 0; owner < fw::owner::kCount; ++owner) {
    for (std::uint32_t number = 0; number <= 0xFFFF; ++number) {
      for (const bool smc64 : {false, true}) {
        const std::uint32_t fid =
            fw::make_fast_fid(smc64, static_cast<std::uint8_t>(owner), static_cast<std::uint16_t>(number));
        if (firmware.dispatcher().find(fid)) fids.insert(fid);
      }
    }
  }
  return fids;
}

// The FIDs the guest's table lists: "# fid 0x..." and "# never at random 0x..." lines.
std::set<std::uint32_t> guest_fids(const std::string& out) {
  std::set<std::uint32_t> fids;
  for (const std::string& line : split_lines(out)) {
    unsigned fid = 0;
    if (std::sscanf(line.c_str(), "# fid 0x%x", &fid) == 1 ||
        std::sscanf(line.c_str(), "# never at random 0x%x", &fid) == 1) {
      fids.insert(fid);
    }
  }
  return fids;
}

}  // namespace

TEST_CASE("Random firmware calls on 4 vCPUs: no register rule broken, a normal power-off, the same bytes twice") {
  const systest::Outcome first = run_random_calls(kCalls);
  const systest::Outcome second = run_random_calls(kCalls);
  for (const systest::Outcome* run : {&first, &second}) {
    CHECK_FALSE(run->timed_out);
    CHECK(run->signal == 0);
    CHECK(run->status == 0);  // PSCI SYSTEM_OFF after the summary; 1 if a rule was broken
    CHECK(crash_marker(run->err).empty());
    CHECK(count_lines_containing(run->out, "# 60000 calls on 4 vCPUs, 0 broken rules") == 1);
    for (unsigned cpu = 0; cpu < 4; ++cpu) {
      CHECK(count_lines_containing(run->out, "cpu" + std::to_string(cpu) + ": calls 15000,") == 1);
    }
  }
  CHECK(first.out == second.out);  // every answer's hash, per vCPU, and the per-function counts
  CHECK(first.err == second.err);  // --stats: instructions, virtual and stolen time, calls per vCPU
}

TEST_CASE("Random firmware calls: the guest's table lists exactly the functions the firmware routes") {
  const systest::Outcome run = run_random_calls(0);
  REQUIRE(run.status == 0);
  const std::set<std::uint32_t> routed = routable_fids();
  const std::set<std::uint32_t> listed = guest_fids(run.out);
  for (const std::uint32_t fid : routed) {
    CAPTURE(fid);
    CHECK_MESSAGE(listed.count(fid) == 1, "add it to the table of guests/random/random_calls.c");
  }
  for (const std::uint32_t fid : listed) {
    CAPTURE(fid);
    CHECK_MESSAGE(routed.count(fid) == 1, "the guest's table names a function the firmware does not route");
  }
}

// README `resume`: the saved run's output followed by the resumed run's is the uninterrupted
// run's, and so is --stats. Mid-run, the random calls have left PSCI, SDEI (registrations,
// bindings, masks, pending events, the host's timed signal) and TRNG state all over the VM.
TEST_CASE("Random firmware calls: saved mid-run and resumed, the output and --stats are the uninterrupted run's") {
  const systest::TempDir dir;
  const std::string state = (dir.path() / "mid.state").string();
  const std::vector<std::string> machine = {"--cpus",        "4",
                                            "--quantum",     "997",
                                            "--seed",        "7",
                                            "--epoch",       "0",
                                            "--sdei-event",  "1:private:critical:signalable",
                                            "--sdei-event",  "2:shared:normal",
                                            "--sdei-signal", "2@3000000",
                                            "--append",      "seed=99 calls=12500"};
  const auto run = [&machine](std::vector<std::string> head) {
    head.insert(head.end(), machine.begin(), machine.end());
    head.push_back(guest_path("random-calls.elf"));
    return run_emu(head, std::chrono::seconds(120));
  };
  const systest::Outcome whole = run({"run", "-q", "--stats"});
  const systest::Outcome saved = run({"run", "-q", "--save-at", "3000000", state});
  const systest::Outcome resumed = run_emu({"resume", "-q", "--stats", state}, std::chrono::seconds(120));
  REQUIRE(whole.status == 0);
  CHECK(count_lines_containing(whole.out, "# 50000 calls on 4 vCPUs, 0 broken rules") == 1);
  CHECK(saved.status == 0);
  CHECK(count_lines_containing(saved.out, "# 50000 calls") == 0);  // saved before the end
  CHECK(resumed.status == 0);
  CHECK(saved.out + resumed.out == whole.out);
  CHECK(resumed.err == whole.err);
}
