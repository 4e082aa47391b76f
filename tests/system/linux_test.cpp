// Debian's own arm64 kernel on smccc-emu (issue 12) on 1 and 4 vCPUs: every firmware service
// detected, stolen time, determinism, console input, save and resume. The kernel and busybox come
// from the Debian archive through scripts/fetch-debian-kernel.sh (cached); the initramfs is our
// /init (guests/linux/init.c) packed by scripts/make-initramfs.sh. Where each expected line comes
// from in the kernel's source: tests/system/linux_boot.h.
#include <doctest/doctest.h>

#include <map>
#include <string>

#include "tests/system/linux_boot.h"

using namespace emu;
using namespace emu::linuxtest;

TEST_CASE("Debian's kernel boots to our /init on 1 vCPU with every firmware service detected") {
  if (!linux_ready()) return;
  const Outcome r = boot({.cpus = 1});
  check_booted_with_every_service(r, 1);
  // One vCPU never waits for a physical CPU.
  CHECK(steal_ticks(r.out) == std::map<std::string, long>{{"cpu", 0}, {"cpu0", 0}});
  // The max CPU offers FEAT_PAuth, which the kernel enables (arch/arm64/kernel/cpufeature.c;
  // QEMU 7.2's -cpu max prints the same line).
  CHECK(has_kernel_line(r.out, "CPU features: detected: Address authentication (architected QARMA5 algorithm)"));
}

// ID_AA64ISAR1_EL1.APA/API/GPA/GPI = 0 (Arm ARM D19.2.62) is "no pointer authentication": the
// kernel must neither detect nor enable it, and everything else must boot as before.
TEST_CASE("with --cpu max,pauth=off the kernel finds no pointer authentication and boots with every service") {
  if (!linux_ready()) return;
  const Outcome r = boot({.cpus = 1, .extra = {"--cpu", "max,pauth=off"}});
  check_booted_with_every_service(r, 1);
  CHECK(systest::count_lines_containing(r.out, "authentication") == 0);
}

// KASLR takes its seed from /chosen/kaslr-seed (or RNDR), and the hwrng reads TRNG_RND64: with
// another --seed both change, so neither comes from a constant; with the same seed they repeat
// (the two-boot test). The first /proc/kallsyms line is the lowest kernel text symbol.
TEST_CASE("KASLR's offset and the hwrng's bytes follow --seed") {
  if (!linux_ready()) return;
  const Outcome one = boot({.cpus = 1});
  const Outcome two = boot({.cpus = 1, .seed = "2"});
  check_booted_with_every_service(two, 1);
  const std::string text1 = line_after(one.out, "init: kallsyms: ");
  const std::string text2 = line_after(two.out, "init: kallsyms: ");
  CHECK(text1 != text2);
  CHECK(line_after(one.out, "init: hwrng 32 bytes: ") != line_after(two.out, "init: hwrng 32 bytes: "));
  // arch/arm64/kernel/kaslr.c
  CHECK(has_kernel_line(one.out, "KASLR enabled"));
  CHECK(has_kernel_line(two.out, "KASLR enabled"));
}

TEST_CASE("Debian's kernel boots to our /init on 4 vCPUs with every firmware service detected") {
  if (!linux_ready()) return;
  const Outcome r = boot({.cpus = 4});
  check_booted_with_every_service(r, 4);
  // One modelled physical CPU per vCPU (the default): nothing is stolen.
  const std::map<std::string, long> steal = steal_ticks(r.out);
  CHECK(steal.size() == 5);
  for (const auto& [name, ticks] : steal) CHECK_MESSAGE(ticks == 0, name);
}

// 4 vCPUs spinning for 100 ms on 2 physical CPUs each run about half the time: ~50 ms, i.e.
// ~5 USER_HZ ticks of steal per CPU in /proc/stat.
TEST_CASE("with --pcpus 2 --cpus 4 the kernel's /proc/stat shows steal on every CPU") {
  if (!linux_ready()) return;
  const Outcome r = boot({.cpus = 4, .pcpus = 2, .append = "smccc.busy_ms=100"});
  check_booted_with_every_service(r, 4);
  CHECK(has_line(r.out, "init: spun 100 ms on 4 CPUs, 0 failed"));
  const std::map<std::string, long> steal = steal_ticks(r.out);
  CHECK(steal.size() == 5);
  for (const auto& [name, ticks] : steal) {
    INFO(name);
    CHECK(ticks >= (name == "cpu" ? 12 : 3));
    CHECK(ticks <= (name == "cpu" ? 40 : 10));
  }
}

TEST_CASE("two 4-vCPU boots with the same --seed and --epoch print the same bytes and count the same instructions") {
  if (!linux_ready()) return;
  const Outcome a = boot({.cpus = 4});
  const Outcome b = boot({.cpus = 4});
  CHECK(a.status == b.status);
  CHECK(first_difference(a.out, b.out) == "");
  CHECK(stats_text(a.err) == stats_text(b.err));
  CHECK(total_instructions(a.err) > 500'000'000);
  check_booted_with_every_service(a, 4);
}

TEST_CASE("a command typed through --console-input reaches busybox sh on the console and its output comes back") {
  if (!linux_ready()) return;
  systest::TempDir dir;
  // The file's first bytes reach the UART during boot, before anything opens the console; when
  // /dev/console is opened, the PL011 driver's pl011_enable_interrupts() reads and discards
  // what its RX FIFO holds (at most twice the FIFO's size, drivers/tty/serial/amba-pl011.c), as
  // it would a user's early keystrokes. So the file starts with a comment longer than that:
  // whatever prefix of it is lost, the rest is still a comment.
  const std::string padding(80, '#');
  const std::string input =
      dir.write("typed.txt", padding + "\necho smccc-$((6*7))\ncat /sys/devices/system/cpu/online\nexit 3\n");
  const Outcome r = boot({.cpus = 4, .append = "smccc.shell=1", .console_input = input});
  LINUX_SHOW(r);
  CHECK(r.status == 0);
  CHECK(has_line(r.out, "init: starting busybox sh"));
  // The result lines, not the tty's echo of what was typed.
  CHECK(has_line(r.out, "smccc-42"));
  CHECK(has_line(r.out, "0-3"));
  CHECK(has_line(r.out, "init: shell exited with status 3"));
  CHECK(has_kernel_line(r.out, "reboot: Power down"));
}

// A boot spinning 300 ms in /init is saved 150 M instructions before its end (so inside the
// spin, in userspace) and resumed by a new process: both halves together print byte for byte
// what the uninterrupted run printed, the kernel's timestamps included, and every vCPU's
// counters end the same. On 1 vCPU with the max CPU, on 4 with pointer authentication off.
TEST_CASE("a kernel saved with --save-at while /init runs resumes in a new process to the same bytes and counts") {
  if (!linux_ready()) return;
  for (const unsigned cpus : {1u, 4u}) {
    CAPTURE(cpus);
    Boot spin{.cpus = cpus, .append = "smccc.busy_ms=300"};
    if (cpus > 1) spin.extra = {"--cpu", "max,pauth=off"};
    const Outcome whole = boot(spin);
    check_booted_with_every_service(whole, cpus);
    const std::uint64_t total = total_instructions(whole.err);
    REQUIRE(total > 300'000'000);

    systest::TempDir dir;
    const std::string state = (dir.path() / "linux.state").string();
    Boot save = spin;
    save.extra.insert(save.extra.end(), {"--save-at", std::to_string(total - 150'000'000), state});
    const Outcome first = boot(save);
    LINUX_SHOW(first);
    REQUIRE(first.status == 0);
    CHECK(has_line(first.out, "init: smccc-emu test init"));
    CHECK(systest::count_lines_containing(first.out, "init: spun") == 0);

    const Outcome rest = run_emu({"resume", "--stats", state}, kBootLimit);
    LINUX_SHOW(rest);
    CHECK(rest.status == 0);
    CHECK(systest::crash_marker(rest.err) == "");
    CHECK(first_difference(first.out + rest.out, whole.out) == "");
    CHECK(stats_lines(rest.err) == stats_lines(whole.err));
  }
}
