// smccc-emu: the command line. A thin shell over core::Machine (DESIGN.md section 1).
#include <CLI/CLI.hpp>

#include <cstdio>
#include <fmt/format.h>
#include <memory>
#include <optional>
#include <string>

#include "cli/exit_codes.h"
#include "core/machine.h"

namespace {

using emu::core::ExitKind;
namespace cli = emu::cli;

constexpr const char* kExitCodesHelp = R"(Exit status:
  0       the guest powered off (PSCI SYSTEM_OFF) or exited with status 0
  1-255   the guest's semihosting exit status (SYS_EXIT / SYS_EXIT_EXTENDED;
          statuses are 8 bits: a non-zero status with a zero low byte reads 1;
          64-70 can also mean what follows: the summary line on stderr says which)
  64      bad command line
  65      the image or configuration cannot be used
  66      the guest faulted and cannot continue (registers and code are printed)
  67      --max-instructions reached
  68      deadlock: every vCPU waits in WFI and nothing can wake it
  69      the guest asked for a system reset and --on-reset=exit was given
  70      internal error in the emulator or the engine

Guest platform: RAM at 0x40000000, PL011 UART at 0x09000000, boot vCPU at EL1h
with the MMU off; with --pv-time=on the last 64 KiB page of RAM holds the PV-time
records; see README.md.)";

// "128M", "1G", "65536", "64KiB" -> bytes.
std::optional<std::uint64_t> parse_size(std::string text) {
  if (text.empty()) return std::nullopt;
  std::uint64_t shift = 0;
  for (const char* suffix : {"iB", "B"}) {
    const std::string s(suffix);
    if (text.size() > s.size() && text.ends_with(s)) {
      text.resize(text.size() - s.size());
      break;
    }
  }
  switch (text.back()) {
    case 'K': case 'k': shift = 10; break;
    case 'M': case 'm': shift = 20; break;
    case 'G': case 'g': shift = 30; break;
    default: break;
  }
  if (shift != 0) text.pop_back();
  if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos || text.size() > 19) {
    return std::nullopt;
  }
  const std::uint64_t value = std::stoull(text);
  if (value > (UINT64_MAX >> shift)) return std::nullopt;
  return value << shift;
}

class FileTrace final : public emu::fw::TraceSink {
 public:
  explicit FileTrace(std::FILE* f) : f_(f) {}
  void line(std::string_view text) override {
    std::fwrite(text.data(), 1, text.size(), f_);
    std::fputc('\n', f_);
  }

 private:
  std::FILE* f_;
};

// Defaults come from MachineConfig: the CLI restates none of them.
const emu::core::MachineConfig kDefaults{};

struct RunOptions {
  unsigned cpus = kDefaults.cpus;
  unsigned pcpus = kDefaults.pcpus;
  std::uint64_t quantum = kDefaults.quantum;
  std::uint64_t trap_cost = kDefaults.cost.trap_ns;
  bool stats = false;
  std::optional<std::uint64_t> seed;
  std::optional<std::uint64_t> epoch;
  std::string pv_time = "on";
  std::string memory = "128M";
  std::uint64_t max_instructions = kDefaults.max_instructions;
  std::string format = "auto";
  std::vector<std::string> trace;
  std::string trace_file;
  std::string on_reset = "restart";
  bool quiet = false;
  std::string image;
};

// The option behind a MachineConfig setting, for error messages.
std::string flag_for(const std::string& setting) {
  static const std::pair<const char*, const char*> kFlags[] = {
      {"cpus", "--cpus"},       {"pcpus", "--pcpus"},         {"memory", "--memory"},
      {"quantum", "--quantum"}, {"trap_ns", "--trap-cost"},   {"epoch_ns", "--epoch"},
      {"pv_time", "--pv-time"},
  };
  for (const auto& [name, flag] : kFlags) {
    if (setting == name) return flag;
  }
  return "configuration";
}

int exit_code_for(const emu::core::RunExit& e) {
  switch (e.kind) {
    case ExitKind::SystemOff: return cli::kExitOk;
    case ExitKind::SemihostingExit: return e.status;
    case ExitKind::SystemReset: return cli::kExitReset;
    case ExitKind::GuestFault: return cli::kExitGuestFault;
    case ExitKind::InstructionLimit: return cli::kExitInstructionLimit;
    case ExitKind::Deadlock: return cli::kExitDeadlock;
  }
  return cli::kExitInternal;
}

int error(int code, const std::string& message) {
  std::fflush(stdout);
  fmt::print(stderr, "smccc-emu: {}\n", message);
  return code;
}

int run(const RunOptions& o) {
  emu::core::MachineConfig config;
  config.cpus = o.cpus;
  config.pcpus = o.pcpus;
  config.quantum = o.quantum;
  config.cost.trap_ns = o.trap_cost;
  config.seed = o.seed;
  config.epoch_ns = o.epoch;
  config.pv_time = o.pv_time == "on";
  const auto memory = parse_size(o.memory);
  if (!memory) return error(cli::kExitUsage, fmt::format("--memory: '{}' is not a size (e.g. 128M, 1G, 65536)", o.memory));
  config.memory = *memory;
  config.max_instructions = o.max_instructions;
  config.on_reset = o.on_reset == "exit" ? emu::core::ResetAction::Exit : emu::core::ResetAction::Restart;
  const auto format = o.format == "elf"   ? emu::core::ImageFormat::Elf
                      : o.format == "raw" ? emu::core::ImageFormat::Raw
                                          : emu::core::ImageFormat::Auto;

  std::unique_ptr<emu::core::Machine> machine;
  try {
    machine = std::make_unique<emu::core::Machine>(config);
  } catch (const emu::core::ConfigError& e) {
    return error(cli::kExitUsage, fmt::format("{}: {}", flag_for(e.setting()), e.what()));
  }
  emu::core::Image image;
  try {
    image = emu::core::load_image(o.image, format, machine->layout());
  } catch (const emu::core::ImageError& e) {
    return error(cli::kExitBadInput, e.what());
  }

  std::unique_ptr<std::FILE, int (*)(std::FILE*)> trace_file(nullptr, &std::fclose);
  std::optional<FileTrace> trace;
  if (!o.trace.empty()) {
    std::FILE* out = stderr;
    if (!o.trace_file.empty()) {
      trace_file.reset(std::fopen(o.trace_file.c_str(), "w"));
      if (!trace_file) return error(cli::kExitUsage, fmt::format("--trace-file: cannot open '{}'", o.trace_file));
      out = trace_file.get();
    }
    trace.emplace(out);
    machine->set_trace(&*trace);
  }

  machine->console().set_writer([](std::string_view text) { std::fwrite(text.data(), 1, text.size(), stdout); });
  machine->load(std::move(image));
  const emu::core::RunExit result = machine->run();
  std::fflush(stdout);
  if (result.kind == ExitKind::GuestFault) {
    fmt::print(stderr, "smccc-emu: {}\n{}", result.summary, result.report);
  } else if (!o.quiet) {
    fmt::print(stderr, "smccc-emu: {}\n", result.summary);
  }
  if (o.stats) {
    for (unsigned i = 0; i < o.cpus; ++i) {
      const emu::core::VcpuStats& s = machine->stats(i);
      fmt::print(stderr, "vcpu{}: instructions={} virtual_ns={} stolen_ns={} calls={}\n", i, s.instructions,
                 s.virtual_ns, s.stolen_ns, s.calls);
    }
  }
  return exit_code_for(result);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"smccc-emu: run aarch64 guest binaries and answer their HVC/SMC calls with a firmware model "
               "(SMCCC 1.2, PSCI 1.1)"};
  app.set_version_flag("--version", "smccc-emu 0.1.0");
  app.require_subcommand(1);

  RunOptions o;
  CLI::App* run_cmd = app.add_subcommand("run", "Run a guest image until it powers off, exits or faults");
  run_cmd->footer(kExitCodesHelp);
  run_cmd->add_option("--cpus", o.cpus, "Number of vCPUs, 1..64 (vCPU 0 boots; the others stay off until PSCI "
                                         "CPU_ON). All run round-robin on one host thread in virtual time")
      ->capture_default_str();
  run_cmd->add_option("--pcpus", o.pcpus, "Physical CPUs to model, 0..64; with fewer than --cpus, vCPUs wait for "
                                          "one and the wait is stolen time (0, the default: one per vCPU)")
      ->capture_default_str();
  run_cmd->add_option("--quantum", o.quantum, "Instructions a vCPU runs before the next one gets its turn "
                                              "(checked per translated block; a slice runs at least one block)")
      ->capture_default_str();
  run_cmd->add_option("--trap-cost", o.trap_cost, "Virtual ns each firmware call, semihosting call or delivered "
                                                  "exception costs, 0..1e9; every instruction costs 1 ns")
      ->capture_default_str();
  run_cmd->add_option("--seed", o.seed, "TRNG: draw from a deterministic generator seeded with S, so the bits repeat "
                                        "(with --epoch too, the whole run does). Seeded output is NOT random. Default: "
                                        "the host kernel's entropy");
  run_cmd->add_option("--epoch", o.epoch, "KVM PTP: the wall-clock time (ns since 1970, below 2^62) at virtual time 0. "
                                          "Default: the host's real time when the run starts");
  run_cmd->add_option("--pv-time", o.pv_time, "PV stolen time: on gives every vCPU a 64-byte record in the last "
                                              "64 KiB page of RAM (keep the guest out of it); off makes PV_TIME_ST "
                                              "NOT_SUPPORTED")
      ->capture_default_str()->check(CLI::IsMember({"on", "off"}));
  run_cmd->add_flag("--stats", o.stats, "At the end, print each vCPU's instructions, virtual time, stolen time "
                                        "and firmware calls to stderr");
  run_cmd->add_option("--memory", o.memory, "Guest RAM size at 0x40000000: bytes or K/M/G suffix, "
                                            "1M..64G, a multiple of 4K")
      ->default_val("128M");
  run_cmd->add_option("--max-instructions", o.max_instructions,
                      "Stop before the guest executes more than N instructions (checked at each translated "
                      "block, so the run may stop up to one block early; 0 = no limit)")
      ->capture_default_str();
  run_cmd->add_option("--format", o.format, "Image format: auto (ELF only; anything else is refused), elf, or "
                                            "raw (a flat binary loaded and entered at 0x40080000)")
      ->default_val("auto")->check(CLI::IsMember({"auto", "elf", "raw"}));
  run_cmd->add_option("--trace", o.trace, "Trace categories, comma-separated. calls: one '>' line per firmware "
                                          "call with its decoded name and arguments, one '<' line per answer")
      ->delimiter(',')->check(CLI::IsMember({"calls"}));
  run_cmd->add_option("--trace-file", o.trace_file, "Write the trace to FILE instead of stderr");
  run_cmd->add_option("--on-reset", o.on_reset, "On PSCI SYSTEM_RESET/SYSTEM_RESET2: restart (reload the image "
                                                "and boot again) or exit (status 69)")
      ->default_val("restart")->check(CLI::IsMember({"restart", "exit"}));
  run_cmd->add_flag("-q,--quiet", o.quiet, "Do not print the one-line summary of how the run ended "
                                           "(faults are always reported)");
  run_cmd->add_option("IMAGE", o.image, "Guest image: an ELF64 aarch64 executable, or a raw binary with "
                                        "--format=raw")->required();
  // `smccc-emu --help` shows everything: the run subcommand is the whole interface today.
  app.footer([run_cmd] { return "\n" + run_cmd->help("smccc-emu"); });

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    fmt::print(stderr, "smccc-emu: {} (see 'smccc-emu run --help')\n", e.what());
    return cli::kExitUsage;
  }

  try {
    return run(o);
  } catch (const std::exception& e) {
    return error(cli::kExitInternal, fmt::format("internal error: {}", e.what()));
  }
}
