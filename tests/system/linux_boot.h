// Helpers of the Debian kernel tests (linux_test.cpp, linux_slow_test.cpp): the fixture that
// fetches the kernel and writes the initramfs, a boot through the CLI, and parsers for what the
// kernel and our /init (guests/linux/init.c) print.
//
// The expected kernel lines are the 6.1 kernel's format strings, with the values the firmware
// model's specifications give:
//   drivers/firmware/psci/psci.c    "psci: PSCIv%d.%d detected in firmware." (PSCI 1.1, DEN0022)
//                                   "psci: SMC Calling Convention v%d.%d" (SMCCC 1.2, DEN0028)
//   drivers/firmware/smccc/kvm_guest.c
//                                   "smccc: KVM: hypervisor services detected (0x%08lx 0x%08lx
//                                   0x%08lx 0x%08lx)" with a3 a2 a1 a0 of KVM_FEATURES: bits 0
//                                   (FEATURES) and 1 (PTP) = 0x00000003
//   arch/arm64/kernel/paravirt.c    "arm-pv: using stolen time PV"
//   drivers/firmware/arm_sdei.c     "sdei: SDEIv%d.%d (0x%x) detected in firmware." (SDEI 1.1,
//                                   vendor 0)
//   drivers/ptp/ptp_kvm_common.c    prints nothing on success, "fail to initialize ptp_kvm" on
//                                   failure; the clock it registers is named "KVM virtual PTP"
//   drivers/char/hw_random/arm_smccc_trng.c
//                                   prints nothing; registers the hwrng "smccc_trng"
//   kernel/smp.c                    "smp: Brought up %d node%s, %d CPU%s"
//   arch/arm64/kernel/smp.c         "CPU: All CPU(s) started at EL1"
//   init/main.c                     "Run %s as init process"
//   kernel/reboot.c                 "reboot: Power down"
// Set SMCCC_EMU_SKIP_LINUX=1 to skip these tests where the Debian archive cannot be reached;
// without it, a failed fetch fails every test here.
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "tests/system/run_cli.h"

/// For doctest: how a boot ended, the end of its console and its stderr, when a check fails.
#define LINUX_SHOW(r)                                                                            \
  INFO("status " << (r).status << ", signal " << (r).signal << ", timed out " << (r).timed_out); \
  INFO("last console lines:\n" << emu::linuxtest::console_tail((r).out));                        \
  INFO("stderr:\n" << (r).err)

namespace emu::linuxtest {

using systest::Outcome;
using systest::run_command;
using systest::run_emu;

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif

// A boot takes 7-15 s here (README); ASan makes it several times slower.
const auto kBootLimit = std::chrono::seconds(kSanitized ? 1200 : 240);

constexpr const char* kSeed = "1";
constexpr const char* kEpoch = "1700000000000000000";

struct Fixture {
  std::string error;     ///< why the kernel or the initramfs is not there; empty when ready
  std::string vmlinuz;   ///< Debian's arm64 Image
  std::string initrd;    ///< our initramfs
  std::string versions;  ///< the packages' exact versions (versions.txt)
};

inline std::string last_line(const std::string& text) {
  const std::vector<std::string> lines = systest::split_lines(text);
  return lines.empty() ? std::string() : lines.back();
}

inline std::string read_text(const std::string& path) {
  const std::vector<std::uint8_t> bytes = systest::read_file(path);
  return std::string(bytes.begin(), bytes.end());
}

// Fetches (or finds cached) the Debian files and writes the initramfs, once per process.
inline Fixture prepare(const systest::TempDir& dir) {
  Fixture f;
  const std::string scripts = SMCCC_EMU_SCRIPTS_DIR;
  const Outcome fetch = run_command({"/bin/bash", scripts + "/fetch-debian-kernel.sh"}, std::chrono::minutes(10));
  if (fetch.status != 0) {
    f.error = "scripts/fetch-debian-kernel.sh failed (status " + std::to_string(fetch.status) +
              "); set SMCCC_EMU_SKIP_LINUX=1 to skip the Linux tests without network:\n" + fetch.err;
    return f;
  }
  const std::string files = last_line(fetch.out);
  f.vmlinuz = files + "/vmlinuz";
  f.versions = read_text(files + "/versions.txt");
  f.initrd = (dir.path() / "initrd.cpio").string();
  const Outcome pack =
      run_command({"/bin/bash", scripts + "/make-initramfs.sh", f.initrd, systest::guest_path("linux-init"), files});
  if (pack.status != 0) f.error = "scripts/make-initramfs.sh failed:\n" + pack.err;
  return f;
}

inline const Fixture& fixture() {
  static const systest::TempDir dir;
  static const Fixture f = prepare(dir);
  return f;
}

// False (and a message) when SMCCC_EMU_SKIP_LINUX=1; otherwise the fixture must be ready.
inline bool linux_ready() {
  const char* skip = std::getenv("SMCCC_EMU_SKIP_LINUX");
  if (skip != nullptr && std::string(skip) == "1") {
    MESSAGE("SMCCC_EMU_SKIP_LINUX=1: the Debian kernel tests are skipped");
    return false;
  }
  const Fixture& f = fixture();
  INFO(f.error);
  REQUIRE(f.error.empty());
  MESSAGE("Debian packages:\n" << f.versions);
  return true;
}

struct Boot {
  unsigned cpus = 1;
  unsigned pcpus = 0;
  std::string seed = kSeed;            ///< --seed: the TRNG and KASLR's seeds
  std::string append;                  ///< after "console=ttyAMA0 panic=-1"
  std::string console_input = "none";  ///< --console-input
  std::vector<std::string> extra;      ///< more options for run
};

// panic=-1 turns a kernel panic into SYSTEM_RESET, which --on-reset exit ends with status 69.
inline std::vector<std::string> boot_args(const Boot& b) {
  const Fixture& f = fixture();
  std::vector<std::string> args{"run",
                                "--cpus",
                                std::to_string(b.cpus),
                                "--on-reset",
                                "exit",
                                "--format",
                                "image",
                                "--memory",
                                "512M",
                                "--seed",
                                b.seed,
                                "--epoch",
                                kEpoch,
                                "--console-input",
                                b.console_input,
                                "--stats",
                                "--initrd",
                                f.initrd,
                                "--append",
                                "console=ttyAMA0 panic=-1" + (b.append.empty() ? "" : " " + b.append)};
  if (b.pcpus != 0) args.insert(args.end(), {"--pcpus", std::to_string(b.pcpus)});
  args.insert(args.end(), b.extra.begin(), b.extra.end());
  args.push_back(f.vmlinuz);
  return args;
}

inline Outcome boot(const Boot& b) {
  return run_emu(boot_args(b), kBootLimit);
}

// The console's lines, without the '\r' the tty and the PL011 console add before '\n'.
inline std::vector<std::string> console_lines(const std::string& out) {
  std::vector<std::string> lines = systest::split_lines(out);
  for (std::string& l : lines)
    if (!l.empty() && l.back() == '\r') l.pop_back();
  return lines;
}

inline bool has_line(const std::string& out, const std::string& line) {
  for (const std::string& l : console_lines(out))
    if (l == line) return true;
  return false;
}

// A kernel console line: "[ seconds.micros] text" with exactly this text.
inline bool has_kernel_line(const std::string& out, const std::string& text) {
  for (const std::string& l : console_lines(out)) {
    const std::size_t close = l.find("] ");
    if (l.starts_with("[") && close != std::string::npos && l.substr(close + 2) == text) return true;
  }
  return false;
}

// "init: steal <name> <ticks>" lines: name ("cpu", "cpu0", ...) -> ticks.
inline std::map<std::string, long> steal_ticks(const std::string& out) {
  std::map<std::string, long> steal;
  for (const std::string& l : console_lines(out)) {
    char name[16] = {};
    long ticks = 0;
    if (std::sscanf(l.c_str(), "init: steal %15s %ld", name, &ticks) == 2) steal[name] = ticks;
  }
  return steal;
}

// --stats lines on stderr: "vcpuN: instructions=..." (everything a deterministic run repeats).
inline std::vector<std::string> stats_lines(const std::string& err) {
  std::vector<std::string> lines;
  for (const std::string& l : systest::split_lines(err))
    if (l.starts_with("vcpu")) lines.push_back(l);
  return lines;
}

/// The --stats lines as one string, which doctest can print when two of them differ.
inline std::string stats_text(const std::string& err) {
  std::string text;
  for (const std::string& l : stats_lines(err)) text += l + "\n";
  return text;
}

inline std::uint64_t total_instructions(const std::string& err) {
  std::uint64_t total = 0;
  for (const std::string& l : stats_lines(err)) {
    unsigned vcpu = 0;
    unsigned long long n = 0;
    if (std::sscanf(l.c_str(), "vcpu%u: instructions=%llu", &vcpu, &n) == 2) total += n;
  }
  return total;
}

/// What follows `prefix` on the first console line starting with it, or "".
inline std::string line_after(const std::string& out, const std::string& prefix) {
  for (const std::string& l : console_lines(out))
    if (l.starts_with(prefix)) return l.substr(prefix.size());
  return "";
}

inline std::size_t cpuinfo_processors(const std::string& out) {
  std::size_t n = 0;
  for (const std::string& l : console_lines(out))
    if (l.starts_with("processor\t: ")) n++;
  return n;
}

/// "" when a and b are the same bytes, else the first line where they differ (both versions).
inline std::string first_difference(const std::string& a, const std::string& b) {
  if (a == b) return "";
  const std::vector<std::string> la = console_lines(a), lb = console_lines(b);
  for (std::size_t i = 0; i < std::max(la.size(), lb.size()); i++) {
    const std::string x = i < la.size() ? la[i] : "<end>", y = i < lb.size() ? lb[i] : "<end>";
    if (x != y) return "line " + std::to_string(i + 1) + ":\n  " + x + "\n  " + y;
  }
  return "the same lines, different line ends";
}

/// The last `n` lines of a boot's console: where it stopped, without the whole 30 KB log.
inline std::string console_tail(const std::string& out, std::size_t n = 60) {
  const std::vector<std::string> lines = console_lines(out);
  std::string tail;
  for (std::size_t i = lines.size() > n ? lines.size() - n : 0; i < lines.size(); i++) tail += lines[i] + "\n";
  return tail;
}

// Every service line of issue 12 item 4, the boot reaching our /init and powering off.
inline void check_booted_with_every_service(const Outcome& r, unsigned cpus) {
  LINUX_SHOW(r);
  // A panic or a hang makes every line below fail for the same reason: stop at it.
  REQUIRE(!r.timed_out);
  REQUIRE(systest::count_lines_containing(r.out, "Kernel panic") == 0);
  CHECK(r.status == 0);
  CHECK(systest::crash_marker(r.err) == "");
  CHECK(systest::count_lines_containing(r.out, "Internal error") == 0);
  CHECK(systest::count_lines_containing(r.out, "BUG:") == 0);
  CHECK(systest::count_lines_containing(r.out, "WARNING:") == 0);

  // PSCI and SMCCC (psci.c), KVM vendor services (kvm_guest.c), PV time (paravirt.c), SDEI.
  CHECK(has_kernel_line(r.out, "psci: PSCIv1.1 detected in firmware."));
  CHECK(has_kernel_line(r.out, "psci: SMC Calling Convention v1.2"));
  CHECK(
      has_kernel_line(r.out, "smccc: KVM: hypervisor services detected (0x00000000 0x00000000 0x00000000 0x00000003)"));
  CHECK(has_kernel_line(r.out, "arm-pv: using stolen time PV"));
  CHECK(has_kernel_line(r.out, "sdei: SDEIv1.1 (0x0) detected in firmware."));
  CHECK(has_kernel_line(r.out, cpus == 1 ? "smp: Brought up 1 node, 1 CPU"
                                         : "smp: Brought up 1 node, " + std::to_string(cpus) + " CPUs"));
  CHECK(has_kernel_line(r.out, "CPU: All CPU(s) started at EL1"));
  CHECK(has_kernel_line(r.out, "Run /init as init process"));

  // Our /init: the mounts, the module, what the kernel saw.
  CHECK(has_line(r.out, "init: smccc-emu test init"));
  CHECK(has_line(r.out, "init: mount proc /proc: ok"));
  CHECK(has_line(r.out, "init: mount sysfs /sys: ok"));
  CHECK(has_line(r.out, "init: mount devtmpfs /dev: ok"));
  CHECK(has_line(r.out, "init: finit_module arm_smccc_trng.ko: ok"));
  CHECK(cpuinfo_processors(r.out) == cpus);
  CHECK(!line_after(r.out, "init: kallsyms: ").empty());
  // The same service lines as the kernel log holds them (syslog(2)), not only the console.
  CHECK(systest::count_lines_containing(r.out, "] psci: PSCIv1.1 detected in firmware.") == 2);
  CHECK(systest::count_lines_containing(r.out, "] sdei: SDEIv1.1 (0x0) detected in firmware.") == 2);

  // ptp_kvm registered its clock; arm_smccc_trng registered the hwrng and it gives bytes.
  CHECK(systest::count_lines_containing(r.out, "fail to initialize ptp_kvm") == 0);
  CHECK(has_line(r.out, "init: ptp0 clock_name: KVM virtual PTP"));
  CHECK(has_line(r.out, "init: hwrng rng_current: smccc_trng"));
  CHECK(systest::count_lines_containing(r.out, "init: hwrng 32 bytes: ") == 1);
  CHECK(!has_line(r.out,
                  "init: hwrng 32 bytes: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 "
                  "00 00 00 00 00 00 00 00 00 00"));

  CHECK(has_line(r.out, "init: powering off"));
  CHECK(has_kernel_line(r.out, "reboot: Power down"));
  CHECK(stats_lines(r.err).size() == cpus);
}

}  // namespace emu::linuxtest
