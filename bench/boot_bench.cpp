// Wall time of a Linux boot to /init: smccc-emu against QEMU's virt machine
// (`qemu-system-aarch64 -M virt -cpu max`), the same Debian kernel and initramfs, in one run.
//
// Each iteration starts the emulator as a user would (a new process), reads its console from a
// pipe and stops the clock when the kernel prints "Run /init as init process" (init/main.c);
// the run then goes on to our /init's PSCI SYSTEM_OFF and must exit with status 0 and the
// kernel's "reboot: Power down", else the benchmark reports an error. Counters:
//   to_poweroff_s      wall seconds from start to exit, the whole run
//   guest_instr_per_s  smccc-emu only: guest instructions (--stats) per wall second of the run
//
// Inputs come from the environment (`make bench` sets them):
//   SMCCC_EMU_BOOT_KERNEL   Debian's arm64 Image (scripts/fetch-debian-kernel.sh)
//   SMCCC_EMU_BOOT_INITRD   our initramfs (scripts/make-initramfs.sh)
//   SMCCC_EMU_CLI           the smccc-emu binary (default: the one built with this benchmark)
// QEMU's clock is the host's, so its guest sleeps take real time; smccc-emu's guest time is
// virtual, so a sleeping guest costs nothing. Both are what a user waits for.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <regex>
#include <string>
#include <vector>

extern char** environ;

namespace {

using Clock = std::chrono::steady_clock;
constexpr const char* kInitMarker = "Run /init as init process";
constexpr const char* kPowerDown = "reboot: Power down";

struct Boot {
  std::string error;     ///< empty when the run reached /init and powered off cleanly
  double to_init_s = 0;  ///< wall seconds until the kernel started /init
  double total_s = 0;    ///< wall seconds until the process exited
  std::string console;   ///< what the guest printed
  std::string stderr_text;
};

std::string env_or(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? v : fallback;
}

// Reads both pipes until the child closes them, noting when kInitMarker first appears.
void drain(int out_fd, int err_fd, Clock::time_point start, Boot& boot) {
  pollfd fds[2] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}};
  std::string* sinks[2] = {&boot.console, &boot.stderr_text};
  int open = 2;
  char buf[65536];
  while (open > 0) {
    if (poll(fds, 2, -1) < 0) continue;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      const ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n <= 0) {
        fds[i].fd = -1;
        --open;
        continue;
      }
      sinks[i]->append(buf, static_cast<std::size_t>(n));
      if (i == 0 && boot.to_init_s == 0 && boot.console.find(kInitMarker) != std::string::npos) {
        boot.to_init_s = std::chrono::duration<double>(Clock::now() - start).count();
      }
    }
  }
}

// Runs argv with stdin from /dev/null and both outputs captured.
Boot run(const std::vector<std::string>& argv) {
  Boot boot;
  int out[2], err[2];
  if (pipe(out) != 0 || pipe(err) != 0) return {.error = "pipe failed"};
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err[1], 2);
  posix_spawn_file_actions_addclose(&actions, out[0]);
  posix_spawn_file_actions_addclose(&actions, err[0]);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const Clock::time_point start = Clock::now();
  pid_t pid = 0;
  const int spawned = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(out[1]);
  close(err[1]);
  if (spawned == 0) drain(out[0], err[0], start, boot);
  close(out[0]);
  close(err[0]);
  if (spawned != 0) return {.error = "cannot start " + argv[0]};
  int status = 0;
  waitpid(pid, &status, 0);
  boot.total_s = std::chrono::duration<double>(Clock::now() - start).count();
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    boot.error = argv[0] + " did not exit with status 0: " + boot.stderr_text.substr(0, 400);
  } else if (boot.to_init_s == 0 || boot.console.find(kPowerDown) == std::string::npos) {
    boot.error = argv[0] + " did not reach /init and power off";
  }
  return boot;
}

// Sum of "instructions=N" over the vCPUs in smccc-emu's --stats.
std::uint64_t guest_instructions(const std::string& stats) {
  static const std::regex field("instructions=([0-9]+)");
  std::uint64_t total = 0;
  for (auto it = std::sregex_iterator(stats.begin(), stats.end(), field); it != std::sregex_iterator(); ++it) {
    total += std::stoull((*it)[1].str());
  }
  return total;
}

struct Inputs {
  std::string kernel, initrd;
};

bool inputs(benchmark::State& state, Inputs& in) {
  in = {env_or("SMCCC_EMU_BOOT_KERNEL", ""), env_or("SMCCC_EMU_BOOT_INITRD", "")};
  if (in.kernel.empty() || in.initrd.empty()) {
    state.SkipWithError("set SMCCC_EMU_BOOT_KERNEL and SMCCC_EMU_BOOT_INITRD (make bench does)");
    return false;
  }
  return true;
}

// One boot per iteration; the iteration's time is the time to /init.
void measure(benchmark::State& state, const std::vector<std::string>& argv, bool count_instructions) {
  double total = 0;
  std::uint64_t instructions = 0;
  for (auto _ : state) {
    const Boot boot = run(argv);
    if (!boot.error.empty()) {
      state.SkipWithError(boot.error.c_str());
      return;
    }
    state.SetIterationTime(boot.to_init_s);
    total += boot.total_s;
    if (count_instructions) instructions += guest_instructions(boot.stderr_text);
  }
  const auto n = static_cast<double>(state.iterations());
  state.counters["to_poweroff_s"] = total / n;
  if (count_instructions) state.counters["guest_instr_per_s"] = static_cast<double>(instructions) / total;
}

// Arguments: vCPUs, and 1 for the max CPU as it is or 0 for max,pauth=off (the same spelling
// for both emulators).
std::string cpu_model(benchmark::State& state) {
  return state.range(1) != 0 ? "max" : "max,pauth=off";
}

void BM_Boot_SmcccEmu(benchmark::State& state) {
  Inputs in;
  if (!inputs(state, in)) return;
  measure(state,
          {env_or("SMCCC_EMU_CLI", SMCCC_EMU_CLI_PATH), "run", "--cpus", std::to_string(state.range(0)), "--cpu",
           cpu_model(state), "--memory", "512M", "--seed", "1", "--console-input", "none", "--stats", "--initrd",
           in.initrd, "--append", "console=ttyAMA0 panic=-1", in.kernel},
          true);
}

void BM_Boot_Qemu(benchmark::State& state) {
  Inputs in;
  if (!inputs(state, in)) return;
  measure(state,
          {"qemu-system-aarch64", "-M", "virt", "-cpu", cpu_model(state), "-smp", std::to_string(state.range(0)), "-m",
           "512", "-nic", "none", "-nographic", "-no-reboot", "-kernel", in.kernel, "-initrd", in.initrd, "-append",
           "console=ttyAMA0 panic=-1"},
          false);
}

void boots(benchmark::internal::Benchmark* b) {
  b->ArgNames({"cpus", "pauth"})->ArgsProduct({{1, 4}, {1, 0}});
  b->UseManualTime()->Unit(benchmark::kSecond)->Iterations(1);
}
BENCHMARK(BM_Boot_Qemu)->Apply(boots);
BENCHMARK(BM_Boot_SmcccEmu)->Apply(boots);

}  // namespace

BENCHMARK_MAIN();
