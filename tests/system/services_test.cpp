// TRNG, KVM PTP and PV stolen time, through the guests and the CLI (issue: TRNG, the KVM
// vendor service with PTP, and paravirtualised stolen time).
#include <doctest/doctest.h>

#include <charconv>
#include <cstdio>
#include <string>
#include <vector>

#include "tests/system/run_cli.h"

using namespace emu;
using systest::count_lines_containing;
using systest::guest_path;
using systest::run_emu;
using systest::split_lines;

namespace {

void check_tap_passes(const systest::Outcome& r) {
  SYSTEST_SHOW(r);
  CHECK(r.status == 0);
  CHECK(count_lines_containing(r.out, "not ok") == 0);
  CHECK(count_lines_containing(r.out, "# failed 0 of") == 1);
}

// The bytes of the guest's "RNG <48 hex digits>" lines.
std::vector<std::uint8_t> rng_bytes(const std::string& out) {
  std::vector<std::uint8_t> bytes;
  for (const std::string& line : split_lines(out)) {
    if (!line.starts_with("RNG ") || line.size() != 4 + 48) continue;
    for (std::size_t i = 4; i < line.size(); i += 2) {
      unsigned v = 0;
      std::from_chars(line.data() + i, line.data() + i + 2, v, 16);
      bytes.push_back(static_cast<std::uint8_t>(v));
    }
  }
  return bytes;
}

// rngtest's "FIPS 140-2 failures: N" over the bytes, or -1 if it did not report.
long fips_failures(const std::vector<std::uint8_t>& bytes) {
  systest::TempDir dir;
  const std::string input = dir.write("rng.bin", bytes);
  const systest::Outcome r = systest::run_command({"/bin/sh", "-c", "exec rngtest < '" + input + "'"});
  const std::string key = "FIPS 140-2 failures: ";
  const std::size_t at = r.err.find(key);
  if (at == std::string::npos) return -1;
  return std::stol(r.err.substr(at + key.size()));
}

// "# pv-time vcpu <i> elapsed_ns <e> stolen_ns <s>" lines: {elapsed, stolen} per vCPU.
std::vector<std::pair<double, double>> pv_time_samples(const std::string& out) {
  std::vector<std::pair<double, double>> samples;
  for (const std::string& line : split_lines(out)) {
    unsigned vcpu = 0;
    unsigned long long elapsed = 0, stolen = 0;
    if (std::sscanf(line.c_str(), "# pv-time vcpu %u elapsed_ns %llu stolen_ns %llu", &vcpu, &elapsed, &stolen) == 3) {
      samples.emplace_back(static_cast<double>(elapsed), static_cast<double>(stolen));
    }
  }
  return samples;
}

}  // namespace

TEST_CASE("TRNG guest: every TRNG 1.0 rule holds over HVC and SMC, with host entropy and seeded") {
  check_tap_passes(run_emu({"run", "-q", guest_path("trng.elf")}));
  check_tap_passes(run_emu({"run", "-q", "--seed", "42", guest_path("trng.elf")}));
}

// FIPS 140-2 fails about 1 block in 1,000 for random data (about 0.8 expected here over the
// 1,048 blocks of 20,000 bits). Six or more failures would happen by chance with probability
// below 0.1 % (Poisson, mean 1): more means the bits are not random.
TEST_CASE("TRNG: 2.5 MiB drawn by the guest through RND64 pass rngtest (FIPS 140-2)") {
  const systest::Outcome r = run_emu({"run", "-q", guest_path("trng.elf")});
  const std::vector<std::uint8_t> bytes = rng_bytes(r.out);
  REQUIRE(bytes.size() >= 2'621'440);
  const long failures = fips_failures(bytes);
  CHECK(failures >= 0);
  CHECK(failures <= 5);
}

TEST_CASE("TRNG --seed: the same seed repeats the bits exactly, host entropy never does") {
  const auto seeded = [](const char* seed) { return run_emu({"run", "-q", "--seed", seed, guest_path("trng.elf")}); };
  const systest::Outcome a = seeded("7");
  const systest::Outcome b = seeded("7");
  const systest::Outcome c = seeded("8");
  CHECK(a.out == b.out);
  CHECK(rng_bytes(a.out) != rng_bytes(c.out));
  const systest::Outcome h1 = run_emu({"run", "-q", guest_path("trng.elf")});
  const systest::Outcome h2 = run_emu({"run", "-q", guest_path("trng.elf")});
  CHECK(rng_bytes(h1.out) != rng_bytes(h2.out));
  CHECK(fips_failures(rng_bytes(a.out)) <= 5);  // seeded output is not random, but is well mixed
}

TEST_CASE("PTP guest: KVM UID, FEATURES with PTP, and a consistent snapshot, --epoch fixes the epoch") {
  const systest::Outcome r = run_emu({"run", "-q", "--epoch", "1700000000123456789", guest_path("ptp.elf")});
  check_tap_passes(r);
  CHECK(count_lines_containing(r.out, "# ptp epoch 1700000000123456789") >= 1);
  const systest::Outcome again = run_emu({"run", "-q", "--epoch", "1700000000123456789", guest_path("ptp.elf")});
  CHECK(r.out == again.out);
}

TEST_CASE("PV time guest: discovery, record layout and monotonic stolen time, and with --pv-time=off") {
  check_tap_passes(run_emu({"run", "-q", guest_path("pvtime.elf")}));
  const systest::Outcome off = run_emu({"run", "-q", "--pv-time=off", guest_path("pvtime.elf")});
  check_tap_passes(off);
  CHECK(count_lines_containing(off.out, "# pv-time: not configured") >= 1);
}

// Four vCPUs on one modelled physical CPU, round-robin: each runs one quantum in four, so
// in steady state three quarters of its elapsed virtual time is stolen. The measured window
// is 2,000,000 instructions (200 quanta) per vCPU; start-up and finish differ by at most a
// round of quanta, a few per cent of the window: accept 0.70..0.80.
TEST_CASE("PV time with --cpus 4 --pcpus 1: each vCPU's stolen time is about 3/4 of elapsed time") {
  const systest::Outcome r = run_emu({"run", "-q", "--cpus", "4", "--pcpus", "1", guest_path("pvtime.elf")});
  check_tap_passes(r);
  const auto samples = pv_time_samples(r.out);
  REQUIRE(samples.size() == 4);
  for (const auto& [elapsed, stolen] : samples) {
    CAPTURE(elapsed);
    CAPTURE(stolen);
    REQUIRE(elapsed > 0);
    CHECK(stolen / elapsed >= 0.70);
    CHECK(stolen / elapsed <= 0.80);
  }
}

TEST_CASE("PV time with --cpus 4 --pcpus 4: no stolen time at all") {
  const systest::Outcome r = run_emu({"run", "-q", "--cpus", "4", "--pcpus", "4", guest_path("pvtime.elf")});
  check_tap_passes(r);
  const auto samples = pv_time_samples(r.out);
  REQUIRE(samples.size() == 4);
  for (const auto& [elapsed, stolen] : samples) CHECK(stolen == 0);
}
