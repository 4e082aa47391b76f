// smccc-emu: the command line. A thin shell over core::Machine (docs/architecture.md, "Layers").
#include <CLI/CLI.hpp>

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>
#include <string>

#include "cli/exit_codes.h"
#include "core/device_tree.h"
#include "core/file_io.h"
#include "core/gdb_server.h"
#include "core/machine.h"
#include "core/snapshot.h"
#include "core/trace.h"

#include <nlohmann/json.hpp>

namespace {

using emu::core::ExitKind;
namespace cli = emu::cli;

constexpr const char* kExitCodesHelp = R"(Numbers: every number in an option (N, SIZE, and those inside --filter,
--fw-reg, --impl-cpus, --inject, --sdei-event, --sdei-signal and --save-at) is decimal digits, or 0x
and hex digits; leading zeros change nothing (010 is ten); a sign, a fraction,
an exponent or a value too large for the option is refused with status 64.

Exit status:
  0       the guest powered off (PSCI SYSTEM_OFF) or exited with status 0, or
          --save-at saved the VM
  1-255   the guest's semihosting exit status (SYS_EXIT / SYS_EXIT_EXTENDED;
          statuses are 8 bits: a non-zero status with a zero low byte reads 1;
          64-74, 130 and 143 can also mean what follows: the summary line on
          stderr says which)
  64      bad command line
  65      the image, initrd, DTB, configuration or a state file cannot be used
          (also: no room in RAM for the initrd or device tree), or --save-at
          or --dump-dtb could not write its file
  66      the guest faulted and cannot continue (registers and code are printed)
  67      --max-instructions reached
  68      deadlock: every vCPU waits in WFI and nothing can wake it
  69      the guest asked for a system reset and --on-reset=exit was given
  70      internal error in the emulator or the engine
  71      a --filter range forwarded a call to the host, which the CLI cannot answer
          (the call's FID, conduit and vCPU are printed)
  72      the guest hibernated: PSCI 1.3 SYSTEM_OFF2 with type HIBERNATE_OFF
          (with --fw-reg psci-version=0x10003); SYSTEM_OFF is 0
  74      an output could not be written: stdout (e.g. its reader has gone: EPIPE),
          the trace file or stderr (e.g. the disk is full: ENOSPC); the run stops at
          the end of the slice and one line names the output and the error
  130     SIGINT (Ctrl-C) stopped the run at the end of the slice; the console and
          trace are flushed and the summary and --stats printed as for any end
          (a second SIGINT ends the process at once)
  137     the debugger killed the run (--gdb: gdb's kill)
  143     SIGTERM stopped the run, as for SIGINT

Guest platform: QEMU virt's memory map (RAM at 0x40000000, PL011 UART at
0x09000000); boot vCPU at EL1h with the MMU off and x0 = the device tree, which
lies on the first free 2 MiB boundary above the image and the initrd; with
--pv-time=on the last 64 KiB page of RAM holds the PV-time records; see README.md.)";

// The one rule for every number on the command line (README "Numbers"): decimal digits, or 0x
// (or 0X) and hex digits; leading zeros change nothing (010 is ten); no sign, space, fraction
// or exponent; at most `max`. A size (--memory) may end in K, M or G, alone or followed by B
// or iB (all 1024-based). A bad number is a usage error (status 64) with `problem` saying why.
struct Number {
  std::optional<std::uint64_t> value;  ///< set when the text follows the rule
  std::string problem;                 ///< why not, e.g. "'-1' is negative"
};
Number parse_number(std::string_view text, std::uint64_t max = UINT64_MAX, bool size = false) {
  const std::string shown(text);
  unsigned shift = 0;
  if (size) {
    for (const std::string_view unit : {"iB", "B"}) {
      if (text.size() > unit.size() && text.ends_with(unit)) {
        const char k = text[text.size() - unit.size() - 1];
        if (k == 'K' || k == 'k' || k == 'M' || k == 'm' || k == 'G' || k == 'g') text.remove_suffix(unit.size());
        break;
      }
    }
    if (!text.empty()) {
      switch (text.back()) {
        case 'K':
        case 'k': shift = 10; break;
        case 'M':
        case 'm': shift = 20; break;
        case 'G':
        case 'g': shift = 30; break;
        default: break;
      }
    }
    if (shift != 0) text.remove_suffix(1);
  }
  if (text.starts_with('-')) return {std::nullopt, fmt::format("'{}' is negative; numbers are 0 or more", shown)};
  int base = 10;
  if (text.starts_with("0x") || text.starts_with("0X")) {
    text.remove_prefix(2);
    base = 16;
  }
  const char* digits = base == 16 ? "0123456789abcdefABCDEF" : "0123456789";
  if (text.empty() || text.find_first_not_of(digits) != std::string_view::npos) {
    return {std::nullopt, fmt::format("'{}' is not a number (decimal, or 0x and hex digits{})", shown,
                                      size ? ", optionally followed by K, M or G" : "")};
  }
  std::uint64_t v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v, base);
  const bool fits = ec == std::errc{} && end == text.data() + text.size() && v <= (max >> shift);
  if (!fits) return {std::nullopt, fmt::format("'{}' is out of range (at most {})", shown, max)};
  return {v << shift, {}};
}

// A number option: the text is kept by CLI11 and converted here, by the one rule (a value
// CLI11 would convert itself would read 010 as octal and -1 or 2^64 as 2^64-1).
template <typename T>
CLI::Option* add_number(CLI::App* app, const std::string& name, T& target, const std::string& help,
                        std::uint64_t max = std::numeric_limits<T>::max(), bool size = false) {
  auto* opt = app->add_option_function<std::string>(
      name,
      [&target, name, max, size](const std::string& text) {
        const Number n = parse_number(text, max, size);
        if (!n.value) throw CLI::ValidationError(name, n.problem);
        target = static_cast<T>(*n.value);
      },
      help);
  return opt->type_name(size ? "SIZE" : "N");
}
CLI::Option* add_number(CLI::App* app, const std::string& name, std::optional<std::uint64_t>& target,
                        const std::string& help) {
  auto* opt = app->add_option_function<std::string>(
      name,
      [&target, name](const std::string& text) {
        const Number n = parse_number(text);
        if (!n.value) throw CLI::ValidationError(name, n.problem);
        target = *n.value;
      },
      help);
  return opt->type_name("N");
}

// The machine run() is executing, for the signal handlers and the output-error path.
emu::core::Machine* g_running = nullptr;

// SIGINT / SIGTERM: ask the machine to stop at the end of the current slice. Only
// Machine::request_stop() runs here, which is async-signal-safe (atomics and a write(2) to an
// eventfd). SA_RESETHAND: a second signal of the same kind ends the process at once.
extern "C" void on_stop_signal(int signal) {
  if (g_running != nullptr) g_running->request_stop(signal);
}

void install_stop_signals() {
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  // SA_RESTART: a write to an output interrupted by the signal goes on instead of failing with
  // EINTR (poll(2), where the machine waits for console input, returns EINTR regardless).
  sa.sa_flags = SA_RESTART | SA_RESETHAND;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

// The first output that could not be written (EPIPE: its reader has gone; ENOSPC: the disk is
// full; or any other write error). The run is stopped at the end of the slice and the CLI
// exits with kExitOutput, naming the output.
struct OutputFailure {
  std::string output;  // "stdout", "stderr", "trace file 'PATH'"
  int error = 0;       // errno
};
std::optional<OutputFailure> g_output_failure;

void output_failed(std::string output, int error) {
  if (g_output_failure) return;
  g_output_failure = OutputFailure{std::move(output), error};
  if (g_running != nullptr) g_running->request_stop();
}

// Writes to stderr; a failure is an output failure (a closed pipe or a full disk on stderr).
void print_stderr(const std::string& text) {
  if (std::fwrite(text.data(), 1, text.size(), stderr) != text.size() || std::fflush(stderr) != 0) {
    output_failed("stderr", errno);
  }
}

// The trace, as whole lines: each line() is one '\n'-ended line, and only whole lines are ever
// written. To a file, lines are collected and written in large writes (and at the end of the
// run); to stderr, each line is written by itself (ordered with the CLI's messages). A write
// error stops the run; if a write to a regular file got part of the buffer out before failing,
// the file is cut back to its last whole line, so it never ends in half a line.
class FileTrace final : public emu::fw::TraceSink {
 public:
  FileTrace(int fd, std::string name, bool each_line) : fd_(fd), name_(std::move(name)), each_line_(each_line) {
    struct stat st {};
    regular_ = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
    if (!each_line_) buffer_.reserve(kBatch + 4096);
  }
  FileTrace(const FileTrace&) = delete;
  FileTrace& operator=(const FileTrace&) = delete;

  void line(std::string_view text) override {
    if (failed_) return;
    buffer_.append(text);
    buffer_.push_back('\n');
    if (each_line_ || buffer_.size() >= kBatch) flush();
  }
  /// Text that need not end a line (the Perfetto writer's JSON), written in large writes.
  void chunk(std::string_view text) {
    if (failed_) return;
    buffer_.append(text);
    if (buffer_.size() >= kBatch) flush();
  }

  /// Writes out what is collected; false after a write error (reported through output_failed).
  bool flush() {
    std::size_t done = 0;
    while (!failed_ && done < buffer_.size()) {
      const ssize_t n = ::write(fd_, buffer_.data() + done, buffer_.size() - done);
      if (n > 0) {
        done += static_cast<std::size_t>(n);
      } else if (n < 0 && errno == EINTR) {
        continue;
      } else {
        const int error = n == 0 ? ENOSPC : errno;
        failed_ = true;
        if (regular_ && done != 0) {
          // Cut the partly written buffer back to its last whole line.
          const std::size_t keep = buffer_.rfind('\n', done - 1);
          const std::size_t whole = keep == std::string::npos ? 0 : keep + 1;
          if (::ftruncate(fd_, static_cast<off_t>(offset_ + whole)) == 0) done = whole;
        }
        output_failed(name_, error);
      }
    }
    offset_ += done;
    buffer_.clear();
    return !failed_;
  }

 private:
  static constexpr std::size_t kBatch = 64 * 1024;
  int fd_;
  std::string name_;
  bool each_line_;
  bool regular_ = false;
  bool failed_ = false;
  std::uint64_t offset_ = 0;  // bytes written so far (a file opened empty)
  std::string buffer_;        // whole lines not written yet
};

// Defaults come from MachineConfig: the CLI restates none of them.
const emu::core::MachineConfig kDefaults{};

struct RunOptions {
  unsigned cpus = kDefaults.cpus;
  unsigned pcpus = kDefaults.pcpus;
  std::uint64_t quantum = kDefaults.quantum;
  std::uint64_t trap_cost = kDefaults.cost.trap_ns;
  std::string stats;                  // "", "text" (--stats) or "json"
  std::string trace_format = "text";  // or "perfetto"
  std::optional<std::uint64_t> seed;
  std::optional<std::uint64_t> epoch;
  std::string pv_time = "on";
  std::vector<std::string> disable;
  std::vector<std::string> fw_regs;
  std::vector<std::string> filters;
  std::vector<std::string> sdei_events;
  std::vector<std::string> sdei_signals;
  std::vector<std::string> impl_cpus;
  std::vector<std::string> injects;
  std::vector<std::string> save_at;
  std::uint64_t memory = kDefaults.memory;
  std::uint64_t max_instructions = kDefaults.max_instructions;
  std::string format = "auto";
  std::string append;
  std::string initrd;
  std::string dtb;
  std::string dump_dtb;
  std::string conduit = "hvc";
  std::string cpu = "max";
  std::vector<std::string> trace;
  std::string trace_file;
  std::string on_reset = "restart";
  std::string console_input = "-";
  std::string semihosting_root;  // --semihosting-root DIR: none by default (no host files)
  std::string semihosting_cmdline;
  bool quiet = false;
  std::string image;
  // The gdb stub (core/gdb_server.h): --gdb PORT, --gdb-host ADDR, --gdb-wait.
  std::optional<std::uint64_t> gdb_port;
  std::string gdb_host = "127.0.0.1";
  bool gdb_wait = false;
};

// The option behind a MachineConfig setting, for error messages.
std::string flag_for(const std::string& setting) {
  static const std::pair<const char*, const char*> kFlags[] = {
      {"cpus", "--cpus"},
      {"pcpus", "--pcpus"},
      {"memory", "--memory"},
      {"quantum", "--quantum"},
      {"trap_ns", "--trap-cost"},
      {"epoch_ns", "--epoch"},
      {"pv_time", "--pv-time"},
      {"sdei_events", "--sdei-event"},
      {"sdei_signals", "--sdei-signal"},
      {"dtb", "--dtb"},
      {"initrd", "--initrd"},
      {"impl_cpus", "--impl-cpus"},
      {"faults", "--inject"},
      {"semihosting_root", "--semihosting-root"},
  };
  for (const auto& [name, flag] : kFlags) {
    if (setting == name) return flag;
  }
  return "configuration";
}

int exit_code_for(const emu::core::RunExit& e) {
  switch (e.kind) {
    case ExitKind::SystemOff: return e.hibernate ? cli::kExitHibernated : cli::kExitOk;
    case ExitKind::SemihostingExit: return e.status;
    case ExitKind::SystemReset: return cli::kExitReset;
    case ExitKind::GuestFault: return cli::kExitGuestFault;
    case ExitKind::InstructionLimit: return cli::kExitInstructionLimit;
    case ExitKind::Deadlock: return cli::kExitDeadlock;
    case ExitKind::Hypercall: return cli::kExitForwarded;
    case ExitKind::Checkpoint: return cli::kExitOk;
    case ExitKind::Stopped: return e.status > 0 && e.status < 128 ? 128 + e.status : cli::kExitInternal;
    case ExitKind::Breakpoint:  // the gdb stub's stops: a run never ends with them
    case ExitKind::Stepped: return cli::kExitInternal;
  }
  return cli::kExitInternal;
}

int error(int code, const std::string& message) {
  std::fflush(stdout);
  const std::string line = fmt::format("smccc-emu: {}\n", message);
  std::fwrite(line.data(), 1, line.size(), stderr);  // nothing better to do if stderr has gone
  return code;
}

const char* status_text(emu::fw::HostStatus s) {
  switch (s) {
    case emu::fw::HostStatus::Ok: return "ok";
    case emu::fw::HostStatus::Invalid: return "invalid value";
    case emu::fw::HostStatus::Exists: return "overlaps an existing or reserved range";
    case emu::fw::HostStatus::Busy: return "the VM has already run";
    case emu::fw::HostStatus::NotFound: return "no such register";
  }
  return "?";
}

// --disable NAME: the service-selection bit behind each name (KVM's bitmap pseudo-registers,
// Documentation/virt/kvm/arm/hypercalls.rst).
struct ServiceBit {
  const char* name;
  std::uint64_t reg;
  std::uint64_t bit;
};
constexpr ServiceBit kServiceBits[] = {
    {"trng", emu::fw::fw_reg::kStdBmap, emu::fw::fw_reg::kStdBitTrng},
    {"pv-time", emu::fw::fw_reg::kStdHypBmap, emu::fw::fw_reg::kStdHypBitPvTime},
    {"ptp", emu::fw::fw_reg::kVendorHypBmap, emu::fw::fw_reg::kVendorHypBitPtp},
    {"kvm", emu::fw::fw_reg::kVendorHypBmap, emu::fw::fw_reg::kVendorHypBitFuncFeat},
};

struct FilterSpec {
  std::uint32_t base;
  std::uint32_t count;
  emu::fw::FilterAction action;
};

// A number inside an option's value (the same rule); the first bad one's message goes to
// `problem`, which the caller reports instead of the value's expected shape.
std::optional<std::uint64_t> field(std::string_view text, std::uint64_t max, std::string& problem) {
  Number n = parse_number(text, max);
  if (!n.value && problem.empty()) problem = std::move(n.problem);
  return n.value;
}

// BASE:COUNT:ACTION, ACTION handle | deny | forward.
std::optional<FilterSpec> parse_filter(std::string_view spec, std::string& problem) {
  const std::size_t c1 = spec.find(':');
  if (c1 == std::string_view::npos) return std::nullopt;
  const std::size_t c2 = spec.find(':', c1 + 1);
  if (c2 == std::string_view::npos) return std::nullopt;
  const std::optional<std::uint64_t> base = field(spec.substr(0, c1), 0xFFFF'FFFFu, problem);
  const std::optional<std::uint64_t> count = field(spec.substr(c1 + 1, c2 - c1 - 1), 0xFFFF'FFFFu, problem);
  const std::string_view action = spec.substr(c2 + 1);
  std::optional<emu::fw::FilterAction> act;
  if (action == "handle") act = emu::fw::FilterAction::Handle;
  if (action == "deny") act = emu::fw::FilterAction::Deny;
  if (action == "forward") act = emu::fw::FilterAction::ForwardToHost;
  if (!base || !count || !act) return std::nullopt;
  return FilterSpec{static_cast<std::uint32_t>(*base), static_cast<std::uint32_t>(*count), *act};
}

// NUM:private|shared:normal|critical[:signalable] (DEN0054C event types and priorities).
std::optional<emu::fw::SdeiEventDecl> parse_sdei_event(std::string_view spec, std::string& problem) {
  std::vector<std::string_view> parts;
  for (std::size_t start = 0;;) {
    const std::size_t colon = spec.find(':', start);
    parts.push_back(spec.substr(start, colon == std::string_view::npos ? std::string_view::npos : colon - start));
    if (colon == std::string_view::npos) break;
    start = colon + 1;
  }
  if (parts.size() < 3 || parts.size() > 4) return std::nullopt;
  const std::optional<std::uint64_t> number = field(parts[0], 0xFFFF'FFFFu, problem);
  if (!number) return std::nullopt;
  if (parts[1] != "private" && parts[1] != "shared") return std::nullopt;
  if (parts[2] != "normal" && parts[2] != "critical") return std::nullopt;
  if (parts.size() == 4 && parts[3] != "signalable") return std::nullopt;
  return emu::fw::SdeiEventDecl{.number = static_cast<std::uint32_t>(*number),
                                .shared = parts[1] == "shared",
                                .critical = parts[2] == "critical",
                                .signalable = parts.size() == 4};
}

// EVENT@NS[:VCPU].
std::optional<emu::core::SdeiSignal> parse_sdei_signal(std::string_view spec, std::string& problem) {
  const std::size_t at = spec.find('@');
  if (at == std::string_view::npos) return std::nullopt;
  const std::size_t colon = spec.find(':', at);
  const std::optional<std::uint64_t> event = field(spec.substr(0, at), 0xFFFF'FFFFu, problem);
  const std::optional<std::uint64_t> ns =
      field(spec.substr(at + 1, colon == std::string_view::npos ? std::string_view::npos : colon - at - 1), UINT64_MAX,
            problem);
  const std::optional<std::uint64_t> vcpu = colon == std::string_view::npos
                                                ? std::optional<std::uint64_t>(0)
                                                : field(spec.substr(colon + 1), 0xFFFF'FFFFu, problem);
  if (!event || !ns || !vcpu) return std::nullopt;
  return emu::core::SdeiSignal{
      .event = static_cast<std::uint32_t>(*event), .vcpu = static_cast<unsigned>(*vcpu), .at_ns = *ns};
}

// --cpu MODEL[,PROPERTY=on|off]...: QEMU's -cpu syntax. The one model is Unicorn's "max";
// the one property is pauth (FEAT_PAuth in the ID registers). The problem, or nothing.
std::optional<std::string> parse_cpu(std::string_view spec, emu::core::MachineConfig& config) {
  std::size_t comma = spec.find(',');
  if (spec.substr(0, comma) != "max")
    return fmt::format("unknown model '{}' (the one model is max)", spec.substr(0, comma));
  while (comma != std::string_view::npos) {
    const std::size_t start = comma + 1;
    comma = spec.find(',', start);
    const std::string_view prop = spec.substr(start, comma == std::string_view::npos ? comma : comma - start);
    if (prop == "pauth=on" || prop == "pauth=off") {
      config.pauth = prop == "pauth=on";
    } else {
      return fmt::format("unknown property '{}' (expected pauth=on or pauth=off)", prop);
    }
  }
  return std::nullopt;
}

// MIDR:REVIDR:AIDR, one CPU implementation for KVM's DISCOVER_IMPL_CPUS. MIDR_EL1's bits
// 63:32 are RES0 (Arm ARM), so it is a 32-bit number here.
std::optional<emu::fw::ImplCpu> parse_impl_cpu(std::string_view spec, std::string& problem) {
  const std::size_t c1 = spec.find(':');
  if (c1 == std::string_view::npos) return std::nullopt;
  const std::size_t c2 = spec.find(':', c1 + 1);
  if (c2 == std::string_view::npos) return std::nullopt;
  const auto midr = field(spec.substr(0, c1), 0xFFFF'FFFFu, problem);
  const auto revidr = field(spec.substr(c1 + 1, c2 - c1 - 1), UINT64_MAX, problem);
  const auto aidr = field(spec.substr(c2 + 1), UINT64_MAX, problem);
  if (!midr || !revidr || !aidr) return std::nullopt;
  return emu::fw::ImplCpu{.midr = *midr, .revidr = *revidr, .aidr = *aidr};
}

// FID[@N|%P]:RESULT: every call of FID, its Nth call, or P percent of its calls answer RESULT,
// an error name FID's specification gives (NO_ENTROPY, DENIED, ...).
std::optional<emu::fw::FaultRule> parse_fault_rule(std::string_view spec, std::string& problem) {
  const std::size_t colon = spec.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  std::string_view call = spec.substr(0, colon);
  const std::string_view result = spec.substr(colon + 1);
  emu::fw::FaultRule rule;
  const std::size_t at = call.find_first_of("@%");
  if (at != std::string_view::npos) {
    rule.when = call[at] == '@' ? emu::fw::FaultRule::When::Nth : emu::fw::FaultRule::When::Fraction;
    const auto n = field(call.substr(at + 1), UINT64_MAX, problem);
    if (!n) return std::nullopt;
    rule.n = *n;
    call = call.substr(0, at);
  }
  const auto fid = field(call, 0xFFFF'FFFFu, problem);
  if (!fid) return std::nullopt;
  rule.fid = emu::fw::FunctionId::decode(*fid).raw;
  const auto code = emu::fw::spec_error_code(rule.fid, result);
  if (!code) {
    const std::string allowed = emu::fw::spec_errors_text(rule.fid);
    problem = allowed.empty() ? emu::fw::fault_rule_problem(rule)
                              : fmt::format(
                                    "'{}' is not an error {:#010x} may return per its specification; it "
                                    "may return {}",
                                    result, rule.fid, allowed);
    return std::nullopt;
  }
  rule.result = *code;
  problem = emu::fw::fault_rule_problem(rule);
  if (!problem.empty()) return std::nullopt;
  return rule;
}

// "--OPTION 'VALUE': " and what is wrong with it: the number rule's message, or its shape.
std::string refused(const char* option, std::string_view value, const std::string& problem, const char* shape) {
  return fmt::format("{} '{}': {}", option, value, problem.empty() ? std::string(shape) : problem);
}

// --disable, --fw-reg and --filter, applied through the host API as a VMM would; the
// message of a refused one, or nothing.
std::optional<std::string> apply_firmware_options(emu::core::Machine& m, const RunOptions& o) {
  for (const std::string& name : o.disable) {
    const ServiceBit* sb = nullptr;
    for (const ServiceBit& c : kServiceBits) sb = name == c.name ? &c : sb;
    if (sb == nullptr) return fmt::format("--disable: unknown service '{}' (trng, pv-time, ptp, kvm)", name);
    std::uint64_t value = 0;
    emu::fw::HostStatus st = m.get_fw_reg(0, sb->reg, value);
    if (st == emu::fw::HostStatus::Ok) st = m.set_fw_reg(0, sb->reg, value & ~sb->bit);
    if (st != emu::fw::HostStatus::Ok) return fmt::format("--disable {}: {}", name, status_text(st));
  }
  // As QEMU does for its target-implementation list: a VMM that has a list offers the calls
  // (VENDOR_HYP_BMAP_2 resets to 0). --fw-reg below can still change that.
  if (!o.impl_cpus.empty()) {
    const emu::fw::HostStatus st =
        m.set_fw_reg(0, emu::fw::fw_reg::kVendorHypBmap2, emu::fw::service_bit::kVendorHyp2Supported);
    if (st != emu::fw::HostStatus::Ok) return fmt::format("--impl-cpus: {}", status_text(st));
  }
  for (const std::string& assignment : o.fw_regs) {
    const std::size_t eq = assignment.find('=');
    const auto id = emu::fw::fw_reg_by_name(std::string_view(assignment).substr(0, eq));
    std::string problem;
    const auto value = eq == std::string::npos
                           ? std::nullopt
                           : field(std::string_view(assignment).substr(eq + 1), UINT64_MAX, problem);
    if (!id) problem.clear();  // the name is the first thing wrong
    if (!id || !value) {
      return refused("--fw-reg", assignment, problem, "expected NAME=VALUE with a register from 'smccc-emu fw-regs'");
    }
    const emu::fw::HostStatus st = m.set_fw_reg(0, *id, *value);
    if (st != emu::fw::HostStatus::Ok) return fmt::format("--fw-reg {}: {}", assignment, status_text(st));
  }
  for (const std::string& spec : o.filters) {
    std::string problem;
    const std::optional<FilterSpec> f = parse_filter(spec, problem);
    if (!f) return refused("--filter", spec, problem, "expected BASE:COUNT:ACTION, ACTION handle, deny or forward");
    const emu::fw::HostStatus st = m.add_filter_range(f->base, f->count, f->action);
    if (st != emu::fw::HostStatus::Ok) return fmt::format("--filter {}: {}", spec, status_text(st));
  }
  return std::nullopt;
}

// Writes guest console text to stdout (line-buffered): a failure stops the run (status 74).
void write_stdout(std::string_view text) {
  if (g_output_failure) return;
  // A line-buffered stream can take the bytes and fail the write of the line: its error flag
  // says so (errno is still the write's).
  if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size() || std::ferror(stdout)) {
    output_failed("stdout", errno);
  }
}

bool same_file(int a, int b) {
  struct stat x {};
  struct stat y {};
  return ::fstat(a, &x) == 0 && ::fstat(b, &y) == 0 && x.st_dev == y.st_dev && x.st_ino == y.st_ino;
}

// --trace, --trace-file and --trace-format: the trace writer and where its output goes, and the
// guest console, which shares stdout with a text trace when both reach the same file (a
// terminal, 2>&1, --trace-file /dev/stdout). Then trace lines go through stdout in emulation
// order, at console line boundaries only (README "Tracing"): a trace line that comes while the
// guest's console line is unfinished is held until the guest ends that line (or 64 KiB of trace
// is held, or the run ends) and written right after it.
class TraceOutput {
 public:
  TraceOutput() = default;
  TraceOutput(const TraceOutput&) = delete;
  TraceOutput& operator=(const TraceOutput&) = delete;
  /// An early return or an exception out of the run still leaves complete JSON.
  ~TraceOutput() {
    try {
      finish();
    } catch (...) {  // nothing more can be reported from here
    }
  }
  /// Opens the outputs; the message of a usage error (status 64), or nothing.
  std::optional<std::string> open(const RunOptions& o, unsigned cpus);
  void attach(emu::core::Machine& machine) const {
    if (writer_) machine.set_tracer(writer_.get(), categories_);
  }
  /// Guest console output.
  void console(std::string_view text);
  /// Ends the trace (a complete JSON document) and writes out what is held.
  void finish();

 private:
  void shared_line(std::string_view line);
  static constexpr std::size_t kMaxHeld = 64 * 1024;
  struct Fd {
    int fd = -1;
    ~Fd() {
      if (fd > 2) ::close(fd);
    }
  } fd_;
  std::optional<FileTrace> file_;
  std::unique_ptr<emu::core::TraceWriter> writer_;
  emu::core::PerfettoTraceWriter* perfetto_ = nullptr;  // writer_ when it is one
  unsigned categories_ = 0;
  bool shared_ = false;           // trace lines go through stdout, between console lines
  bool console_at_start_ = true;  // the guest's console is at the start of a line
  std::string held_;              // trace lines waiting for the console line to end
};

std::optional<std::string> TraceOutput::open(const RunOptions& o, unsigned cpus) {
  if (o.trace.empty()) {
    if (!o.trace_file.empty()) return "--trace-file needs --trace (which categories to write)";
    if (o.trace_format != "text") return "--trace-format needs --trace (which categories to write)";
    return std::nullopt;
  }
  for (const std::string& name : o.trace) {
    const auto c = emu::core::trace_category_by_name(name);
    categories_ |= c ? emu::core::trace_bit(*c) : emu::core::kAllTraceCategories;  // "all" (checked by CLI11)
  }
  const bool perfetto = o.trace_format == "perfetto";
  if (perfetto && o.trace_file.empty()) return "--trace-format=perfetto needs --trace-file (the JSON's own file)";
  if (o.trace_file.empty()) {
    shared_ = same_file(STDOUT_FILENO, STDERR_FILENO);
    file_.emplace(STDERR_FILENO, "stderr", true);
  } else {
    // Truncated only once it is known to be the trace's own file: a refused --trace-file that
    // is the console's stdout keeps what it holds.
    fd_.fd = ::open(o.trace_file.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0666);
    if (fd_.fd < 0) return fmt::format("--trace-file: cannot open '{}': {}", o.trace_file, std::strerror(errno));
    shared_ = same_file(fd_.fd, STDOUT_FILENO);
    if (shared_ && perfetto) return "--trace-format=perfetto: the --trace-file must not be the console's stdout";
    struct stat st {};
    if (!shared_ && ::fstat(fd_.fd, &st) == 0 && S_ISREG(st.st_mode) && ::ftruncate(fd_.fd, 0) != 0) {
      return fmt::format("--trace-file: cannot truncate '{}': {}", o.trace_file, std::strerror(errno));
    }
    file_.emplace(fd_.fd, fmt::format("trace file '{}'", o.trace_file), false);
  }
  if (perfetto) {
    auto w = std::make_unique<emu::core::PerfettoTraceWriter>([this](std::string_view c) { file_->chunk(c); }, cpus);
    perfetto_ = w.get();
    writer_ = std::move(w);
  } else if (shared_) {
    writer_ = std::make_unique<emu::core::TextTraceWriter>([this](std::string_view l) { shared_line(l); });
  } else {
    writer_ = std::make_unique<emu::core::TextTraceWriter>([this](std::string_view l) { file_->line(l); });
  }
  return std::nullopt;
}

void TraceOutput::shared_line(std::string_view line) {
  if (console_at_start_) {
    write_stdout(line);
    write_stdout("\n");
    return;
  }
  held_.append(line);
  held_.push_back('\n');
  if (held_.size() >= kMaxHeld) {  // the guest never ends its line: stop holding
    write_stdout(held_);
    held_.clear();
  }
}

void TraceOutput::console(std::string_view text) {
  if (text.empty()) return;
  if (!held_.empty()) {
    const std::size_t nl = text.find('\n');
    if (nl != std::string_view::npos) {
      write_stdout(text.substr(0, nl + 1));
      write_stdout(held_);
      held_.clear();
      text.remove_prefix(nl + 1);
      console_at_start_ = true;
      if (text.empty()) return;
    }
  }
  write_stdout(text);
  console_at_start_ = text.back() == '\n';
}

void TraceOutput::finish() {
  if (perfetto_ != nullptr) perfetto_->finish();
  if (!held_.empty()) {
    write_stdout("\n");  // the console line stays unfinished: the held trace starts a line of its own
    write_stdout(held_);
    held_.clear();
  }
  if (file_) file_->flush();
}

// --stats: one line per vCPU; --stats=json: one JSON object on one line (README "Statistics").
std::string stats_text(emu::core::Machine& machine, const emu::core::CallStats* calls) {
  std::string lines;
  nlohmann::json vcpus = nlohmann::json::array();
  for (unsigned i = 0; i < machine.config().cpus; ++i) {
    const emu::core::VcpuStats& st = machine.stats(i);
    lines += fmt::format("vcpu{}: instructions={} virtual_ns={} stolen_ns={} calls={} irqs={}\n", i, st.instructions,
                         st.virtual_ns, st.stolen_ns, st.calls, st.irqs);
    vcpus.push_back({{"vcpu", i},
                     {"instructions", st.instructions},
                     {"virtual_ns", st.virtual_ns},
                     {"stolen_ns", st.stolen_ns},
                     {"calls", st.calls},
                     {"irqs", st.irqs}});
  }
  const char* registers = machine.direct_registers(0) ? "direct" : "api";
  if (calls == nullptr) return lines + fmt::format("registers: {}\n", registers);
  nlohmann::json functions = nlohmann::json::array();
  for (const auto& [fid, f] : calls->functions) {
    std::vector<std::uint64_t> per_vcpu = f.per_vcpu;
    per_vcpu.resize(machine.config().cpus);
    functions.push_back(
        {{"fid", fmt::format("{:#010x}", fid)}, {"name", f.name}, {"count", f.count}, {"per_vcpu", per_vcpu}});
  }
  const nlohmann::json doc{
      {"instructions", machine.instructions()}, {"vcpus", vcpus}, {"functions", functions}, {"registers", registers}};
  return doc.dump() + "\n";
}

// Runs a loaded (or restored) machine to its end with the output options, prints how it ended
// and returns the exit status. With --save-at the run stops at the checkpoint after saving.
// A descriptor the run reads its console input from; closed at the end unless it is stdin.
struct InputFd {
  int fd = -1;
  ~InputFd() {
    if (fd > 2) ::close(fd);
  }
};

// The PL011's receiver reads stdin, a file, or nothing; the descriptor lives as long as the
// run. A status if the file cannot be opened.
std::optional<int> open_console_input(emu::core::Machine& machine, const RunOptions& o, InputFd& input) {
  if (o.console_input == "-") {
    input.fd = STDIN_FILENO;
  } else if (o.console_input != "none") {
    input.fd = ::open(o.console_input.c_str(), O_RDONLY | O_CLOEXEC);
    if (input.fd < 0) {
      return error(cli::kExitBadInput, fmt::format("--console-input: cannot open '{}'", o.console_input));
    }
  }
  if (input.fd >= 0) machine.console().set_input(std::make_unique<emu::core::FdInput>(input.fd));
  return std::nullopt;
}

// --gdb: the stub listens before the guest runs. A status if it cannot.
std::optional<int> start_gdb(emu::core::Machine& machine, const RunOptions& o,
                             std::optional<emu::core::GdbServer>& gdb) {
  if (!o.gdb_port) return std::nullopt;
  try {
    gdb.emplace(machine, emu::core::GdbConfig{.host = o.gdb_host,
                                              .port = static_cast<std::uint16_t>(*o.gdb_port),
                                              .wait = o.gdb_wait,
                                              .exit_status = exit_code_for});
  } catch (const emu::core::GdbError& e) {
    return error(cli::kExitUsage, e.what());
  }
  print_stderr(fmt::format("smccc-emu: gdb stub listening on {}:{}{}\n", o.gdb_host, gdb->port(),
                           o.gdb_wait ? "; waiting for gdb to attach" : ""));
  return std::nullopt;
}

// How the run ended, on stderr; at a --save-at checkpoint, the state file written. A status if
// that fails.
std::optional<int> report_end(emu::core::Machine& machine, const RunOptions& o, const emu::core::RunExit& result) {
  if (g_output_failure) {
    // Reported even with --quiet: the run did not end by itself.
    print_stderr(fmt::format("smccc-emu: cannot write {}: {}; the run was stopped after {} instructions\n",
                             g_output_failure->output, std::strerror(g_output_failure->error), machine.instructions()));
  } else if (result.kind == ExitKind::Checkpoint) {
    try {
      emu::core::save_snapshot(machine, o.save_at.at(1));
    } catch (const emu::core::SnapshotError& e) {
      return error(cli::kExitBadInput, e.what());
    }
    if (!o.quiet) {
      print_stderr(
          fmt::format("smccc-emu: saved the VM after {} instructions to {}\n", machine.instructions(), o.save_at[1]));
    }
  } else if (result.kind == ExitKind::GuestFault) {
    print_stderr(fmt::format("smccc-emu: {}\n{}", result.summary, result.report));
  } else if (result.kind == ExitKind::Hypercall) {
    print_stderr(fmt::format("smccc-emu: {}; the command line has no host to answer it\n", result.summary));
  } else if (!o.quiet || result.kind == ExitKind::Stopped) {
    print_stderr(fmt::format("smccc-emu: {}{}\n", result.summary,
                             o.save_at.empty() ? "" : " (before the --save-at point: nothing was saved)"));
  }
  return std::nullopt;
}

int execute(emu::core::Machine& machine, const RunOptions& o) {
  InputFd input;
  TraceOutput trace;
  if (const auto problem = trace.open(o, machine.config().cpus)) return error(cli::kExitUsage, *problem);
  trace.attach(machine);
  emu::core::CallStats call_stats;
  if (o.stats == "json") machine.set_call_stats(&call_stats);
  // stdout is line-buffered (main) and flushed at the end of every slice in which the guest
  // wrote: a run killed from outside loses at most the line it is writing in that slice. A
  // write error (SIGPIPE is ignored: EPIPE) stops the run at the end of the slice; what the
  // guest writes until then is dropped.
  machine.console().set_writer([&trace](std::string_view text) { trace.console(text); },
                               [] {
                                 if (!g_output_failure && (std::fflush(stdout) != 0 || std::ferror(stdout)))
                                   output_failed("stdout", errno);
                               });
  if (const auto status = open_console_input(machine, o, input)) return *status;
  std::optional<emu::core::GdbServer> gdb;
  if (const auto status = start_gdb(machine, o, gdb)) return *status;

  // SIGINT and SIGTERM stop the run at the end of the slice; it then ends as any other run
  // does (console and trace flushed, summary, --stats), with status 130 or 143.
  g_running = &machine;
  install_stop_signals();
  const emu::core::RunExit result = gdb ? gdb->serve() : machine.run();
  g_running = nullptr;
  trace.finish();
  if (!g_output_failure && (std::fflush(stdout) != 0 || std::ferror(stdout))) output_failed("stdout", errno);
  machine.set_tracer(nullptr);
  machine.set_call_stats(nullptr);

  if (const auto status = report_end(machine, o, result)) return *status;
  if (!o.stats.empty()) print_stderr(stats_text(machine, o.stats == "json" ? &call_stats : nullptr));
  // Any output that could not be written makes the status 74, whatever the guest did.
  return g_output_failure ? cli::kExitOutput : exit_code_for(result);
}

int resume(const RunOptions& o) {
  std::unique_ptr<emu::core::Machine> machine;
  try {
    machine = emu::core::load_snapshot(o.image, o.max_instructions);
  } catch (const emu::core::SnapshotError& e) {
    return error(cli::kExitBadInput, e.what());
  }
  return execute(*machine, o);
}

// --impl-cpus MIDR:REVIDR:AIDR,...: the list KVM's DISCOVER_IMPL_CPUS reports.
std::optional<std::string> impl_cpus_config(const RunOptions& o, emu::core::MachineConfig& config) {
  for (const std::string& spec : o.impl_cpus) {
    std::string problem;
    const auto cpu = parse_impl_cpu(spec, problem);
    if (!cpu) return refused("--impl-cpus", spec, problem, "expected MIDR:REVIDR:AIDR[,MIDR:REVIDR:AIDR...]");
    config.impl_cpus.push_back(*cpu);
  }
  return std::nullopt;
}

int print_fw_regs(const RunOptions& o) {
  emu::core::MachineConfig config{.memory = emu::core::kMinRamSize};
  if (const auto problem = impl_cpus_config(o, config)) return error(cli::kExitUsage, *problem);
  std::unique_ptr<emu::core::Machine> made;
  try {
    made = std::make_unique<emu::core::Machine>(config);
  } catch (const emu::core::ConfigError& e) {
    return error(cli::kExitUsage, fmt::format("{}: {}", flag_for(e.setting()), e.what()));
  }
  emu::core::Machine& machine = *made;
  if (const auto problem = apply_firmware_options(machine, o)) return error(cli::kExitUsage, *problem);
  for (const emu::fw::FwRegInfo& r : emu::fw::fw_reg_list()) {
    std::uint64_t value = 0;
    if (machine.get_fw_reg(0, r.id, value) != emu::fw::HostStatus::Ok) continue;  // every listed ID is readable
    // smccc-emu's own registers say so: a VMM will not find them in KVM.
    const std::string line =
        fmt::format("{:#018x} {:<17} {:#x}{}\n", r.id, r.name, value, r.kvm ? "" : " (smccc-emu's own, not KVM's)");
    std::fwrite(line.data(), 1, line.size(), stdout);
  }
  if (std::fflush(stdout) != 0 || std::ferror(stdout)) {
    return error(cli::kExitOutput, fmt::format("cannot write stdout: {}", std::strerror(errno)));
  }
  return cli::kExitOk;
}

// --initrd and --dtb: regular files, the DTB checked with libfdt (status 65 when unusable).
std::optional<std::string> read_boot_files(const RunOptions& o, emu::core::MachineConfig& config) {
  try {
    if (!o.initrd.empty()) config.initrd = emu::core::read_boot_file(o.initrd, config.memory);
    if (!o.dtb.empty()) config.dtb = emu::core::read_boot_file(o.dtb, 2u << 20);
  } catch (const emu::core::ImageError& e) {
    return e.what();
  }
  if (!o.dtb.empty()) {
    if (const std::string problem = emu::core::device_tree_problem(config.dtb); !problem.empty()) {
      return fmt::format("{}: {}", o.dtb, problem);
    }
  }
  return std::nullopt;
}

// --dump-dtb: the device tree the guest would get, written whole or not at all; nothing runs.
int dump_device_tree(const emu::core::Machine& machine, const std::string& path) {
  if (const std::string problem = emu::core::write_file_replacing(path, {machine.device_tree()}); !problem.empty()) {
    return error(cli::kExitBadInput, fmt::format("--dump-dtb {}: {}", path, problem));
  }
  return cli::kExitOk;
}

// --gdb-host and --gdb-wait need --gdb; a run that saves itself is not debugged.
std::optional<std::string> gdb_options_problem(const RunOptions& o) {
  if (!o.gdb_port && (o.gdb_wait || o.gdb_host != "127.0.0.1")) return "--gdb-host and --gdb-wait need --gdb PORT";
  if (o.gdb_port && *o.gdb_port > 65535) return fmt::format("--gdb: port {} is above 65535", *o.gdb_port);
  if (o.gdb_port && !o.save_at.empty()) return "--gdb and --save-at cannot be combined";
  return std::nullopt;
}

// The MachineConfig the options ask for; the message of a bad option (status 64), or nothing.
std::optional<std::string> machine_config(const RunOptions& o, emu::core::MachineConfig& config) {
  config.cpus = o.cpus;
  config.pcpus = o.pcpus;
  config.quantum = o.quantum;
  config.cost.trap_ns = o.trap_cost;
  config.seed = o.seed;
  config.epoch_ns = o.epoch;
  config.pv_time = o.pv_time == "on";
  config.memory = o.memory;
  config.max_instructions = o.max_instructions;
  config.on_reset = o.on_reset == "exit" ? emu::core::ResetAction::Exit : emu::core::ResetAction::Restart;
  for (const std::string& spec : o.sdei_events) {
    std::string problem;
    const auto event = parse_sdei_event(spec, problem);
    if (!event)
      return refused("--sdei-event", spec, problem, "expected NUM:private|shared:normal|critical[:signalable]");
    config.sdei_events.push_back(*event);
  }
  for (const std::string& spec : o.sdei_signals) {
    std::string problem;
    const auto signal = parse_sdei_signal(spec, problem);
    if (!signal) return refused("--sdei-signal", spec, problem, "expected EVENT@NS[:VCPU]");
    config.sdei_signals.push_back(*signal);
  }
  if (const auto problem = impl_cpus_config(o, config)) return problem;
  for (const std::string& spec : o.injects) {
    std::string problem;
    const auto rule = parse_fault_rule(spec, problem);
    if (!rule) return refused("--inject", spec, problem, "expected FID[@N|%P]:RESULT, RESULT an error name");
    config.faults.push_back(*rule);
  }
  config.bootargs = o.append;
  config.semihosting = {.root = o.semihosting_root, .cmdline = o.semihosting_cmdline};
  config.conduit = o.conduit == "smc" ? emu::fw::Conduit::Smc : emu::fw::Conduit::Hvc;
  if (const auto problem = parse_cpu(o.cpu, config)) return fmt::format("--cpu '{}': {}", o.cpu, *problem);
  return std::nullopt;
}

int run(const RunOptions& o) {
  emu::core::MachineConfig config;
  if (const auto problem = machine_config(o, config)) return error(cli::kExitUsage, *problem);
  if (const auto problem = read_boot_files(o, config)) return error(cli::kExitBadInput, *problem);
  std::unique_ptr<emu::core::Machine> machine;
  try {
    machine = std::make_unique<emu::core::Machine>(config);
  } catch (const emu::core::ConfigError& e) {
    return error(cli::kExitUsage, fmt::format("{}: {}", flag_for(e.setting()), e.what()));
  }
  if (const auto problem = apply_firmware_options(*machine, o)) return error(cli::kExitUsage, *problem);
  const auto format = o.format == "elf"     ? emu::core::ImageFormat::Elf
                      : o.format == "image" ? emu::core::ImageFormat::LinuxImage
                      : o.format == "raw"   ? emu::core::ImageFormat::Raw
                                            : emu::core::ImageFormat::Auto;
  try {
    machine->load(emu::core::load_image(o.image, format, machine->layout()));
  } catch (const emu::core::ImageError& e) {
    return error(cli::kExitBadInput, e.what());
  }
  if (!o.dump_dtb.empty()) return dump_device_tree(*machine, o.dump_dtb);
  if (const auto problem = gdb_options_problem(o)) return error(cli::kExitUsage, *problem);
  if (o.save_at.size() == 2) {
    const Number at = parse_number(o.save_at[0]);
    if (!at.value) return error(cli::kExitUsage, fmt::format("--save-at: {}", at.problem));
    // Checked now, not after the guest has run: a run that cannot be saved is not started.
    if (const std::string problem = emu::core::replace_problem(o.save_at[1]); !problem.empty()) {
      return error(cli::kExitBadInput, fmt::format("--save-at {}: {}", o.save_at[1], problem));
    }
    machine->set_checkpoint(*at.value);
  }
  return execute(*machine, o);
}

}  // namespace

// --trace's categories, checked as CLI11 parses them.
CLI::Validator trace_categories() {
  return CLI::Validator(
      [](std::string& name) {
        if (name == "all" || emu::core::trace_category_by_name(name)) return std::string();
        return fmt::format("unknown trace category '{}' (calls, exceptions, irq, psci, sdei or all)", name);
      },
      "CATEGORY");
}

// Options of `run` for the vCPUs, their scheduling in virtual time and the host values the
// guest may see (--seed, --epoch).
void add_scheduling_options(CLI::App* cmd, RunOptions& o) {
  add_number(cmd, "--cpus", o.cpus,
             "Number of vCPUs, 1..64 (vCPU 0 boots; the others stay off until PSCI "
             "CPU_ON). All run round-robin on one host thread in virtual time",
             emu::core::kMaxVcpus)
      ->default_str(std::to_string(o.cpus));
  add_number(cmd, "--pcpus", o.pcpus,
             "Physical CPUs to model, 0..64; with fewer than --cpus, vCPUs wait for "
             "one and the wait is stolen time (0, the default: one per vCPU)",
             emu::core::kMaxVcpus)
      ->default_str(std::to_string(o.pcpus));
  add_number(cmd, "--quantum", o.quantum,
             "Instructions a vCPU runs before the next one gets its turn "
             "(checked per translated block; a slice runs at least one block)")
      ->default_str(std::to_string(o.quantum));
  add_number(cmd, "--trap-cost", o.trap_cost,
             "Virtual ns each firmware call, semihosting call or delivered "
             "exception costs, 0..1000000000; every instruction costs 1 ns")
      ->default_str(std::to_string(o.trap_cost));
  add_number(cmd, "--seed", o.seed,
             "TRNG: draw from a deterministic generator seeded with S, so the bits repeat "
             "(with --epoch too, the whole run does). Seeded output is NOT random. Default: "
             "the host kernel's entropy");
  add_number(cmd, "--epoch", o.epoch,
             "KVM PTP: the wall-clock time (ns since 1970, below 2^62) at virtual time 0. "
             "Default: the host's real time when the run starts");
}

// Options of `run` for the firmware model: services, fw pseudo-registers, the SMCCC filter,
// fault injection and SDEI events.
void add_firmware_options(CLI::App* cmd, RunOptions& o) {
  cmd->add_option("--pv-time", o.pv_time,
                  "PV stolen time: on gives every vCPU a 64-byte record in the last "
                  "64 KiB page of RAM (keep the guest out of it); off makes PV_TIME_ST "
                  "NOT_SUPPORTED")
      ->capture_default_str()
      ->check(CLI::IsMember({"on", "off"}));
  cmd->add_option("--disable", o.disable,
                  "Hide services from the guest, comma-separated: trng, pv-time, ptp, "
                  "kvm (KVM_FEATURES and the vendor UID). Their calls answer "
                  "NOT_SUPPORTED and discovery stops advertising them")
      ->delimiter(',');
  cmd->add_option("--fw-reg", o.fw_regs,
                  "Set a firmware pseudo-register, NAME=VALUE (names and KVM IDs as "
                  "'smccc-emu fw-regs' prints them), e.g. psci-version=0x10000");
  cmd->add_option("--filter", o.filters,
                  "SMCCC filter range BASE:COUNT:ACTION over function IDs, ACTION "
                  "handle, deny (NOT_SUPPORTED) or forward (the run stops with "
                  "status 71), e.g. 0x82000000:0x10000:deny. Repeatable");
  cmd->add_option("--impl-cpus", o.impl_cpus,
                  "CPU implementations MIDR:REVIDR:AIDR,... that KVM's "
                  "DISCOVER_IMPL_CPUS reports to the guest (0xC6000041; the count through "
                  "DISCOVER_IMPL_VER, 0xC6000040); sets vendor-hyp-bmap-2 to 0x3 so the guest sees both")
      ->delimiter(',');
  cmd->add_option("--inject", o.injects,
                  "Fault injection FID[@N|%P]:RESULT: every call of function FID, "
                  "only its Nth call, or P percent of its calls (seeded with --seed) answer RESULT, an error "
                  "its specification lists (e.g. 0xC4000053@2:NO_ENTROPY); repeatable")
      ->type_name("FID[@N|%P]:RESULT");
  cmd->add_option("--sdei-event", o.sdei_events,
                  "Offer SDEI event NUM:private|shared:normal|critical"
                  "[:signalable] besides the built-in event 0 (private, normal, signalable); repeatable");
  cmd->add_option("--sdei-signal", o.sdei_signals,
                  "Trigger SDEI event EVENT@NS[:VCPU] when virtual time reaches "
                  "NS ns, on VCPU (default 0) for a private event; dropped unless the event is registered and "
                  "enabled then; repeatable");
}

// Options of `run` that bound or end the run and report on it: --save-at, --stats, --memory,
// --max-instructions.
void add_run_control_options(CLI::App* cmd, RunOptions& o) {
  cmd->add_option("--save-at", o.save_at,
                  "Save the whole VM to FILE at the first scheduling boundary after N "
                  "instructions (all vCPUs), then stop (status 0). 'smccc-emu resume "
                  "FILE' goes on exactly as the run would have. FILE is checked before "
                  "the guest runs: its directory must take a new file, and only a "
                  "regular file there is replaced (status 65 otherwise)")
      ->expected(2)
      ->type_name("N FILE");
  cmd->add_flag("--stats{text}", o.stats,
                "At the end, print each vCPU's instructions, virtual time, stolen time, "
                "firmware calls and IRQs taken, and the trap path's register access (direct or api), to stderr; "
                "--stats=json: one JSON line with those and the calls of each function ID (README \"Statistics\")")
      ->check(CLI::IsMember({"text", "json"}));
  add_number(cmd, "--memory", o.memory,
             "Guest RAM size at 0x40000000: a number of bytes, or followed by K, "
             "M or G (KiB, MiB, GiB; also KB, MB, GB, all 1024-based); 1M..64G, "
             "a multiple of 4K",
             UINT64_MAX, true)
      ->default_str("128M");
  add_number(cmd, "--max-instructions", o.max_instructions,
             "Stop before the guest executes more than N instructions (checked at each translated "
             "block, so the run may stop up to one block early; 0 = no limit)")
      ->default_str(std::to_string(o.max_instructions));
}

// Options of `run` for what the guest boots with: the image format, kernel command line,
// initrd, console input, semihosting, device tree, conduit and CPU model.
void add_boot_options(CLI::App* cmd, RunOptions& o) {
  cmd->add_option("--format", o.format,
                  "Image format: auto (ELF or Linux Image by their magic; anything else "
                  "is refused), elf, image (Linux arm64 Image, placed as QEMU virt places "
                  "it: 0x40200000 + text_offset when that is below 4 KiB, else RAM base + "
                  "text_offset; entered at its start), or raw (a flat binary loaded and "
                  "entered at 0x40080000)")
      ->default_val("auto")
      ->check(CLI::IsMember({"auto", "elf", "image", "raw"}));
  cmd->add_option("--append", o.append, "Kernel command line: the device tree's /chosen/bootargs")->type_name("ARGS");
  cmd->add_option("--initrd", o.initrd,
                  "Load FILE as the initrd (initramfs) on the first free 2 MiB boundary "
                  "above the image; /chosen/linux,initrd-start and -end say where")
      ->type_name("FILE");
  cmd->add_option("--console-input", o.console_input,
                  "Where the PL011 receiver's input comes from: - (stdin, the default), FILE, or none (no "
                  "input ever). Deterministic: a regular file or /dev/null, named or as stdin (< FILE): its "
                  "bytes arrive one character time apart in virtual time while the guest's receiver is on and "
                  "its FIFO has room, and none is lost. Not deterministic: a terminal or pipe, read without "
                  "blocking, so bytes arrive when the host sends them (the terminal's mode is not changed)")
      ->type_name("FILE|-|none");
  cmd->add_option("--semihosting-root", o.semihosting_root,
                  "Semihosting (HLT #0xF000): the host directory the guest's SYS_OPEN, SYS_REMOVE and SYS_RENAME "
                  "names resolve in. Default: none, so no host file is reachable (':tt', the console, still is). "
                  "Absolute names and '..' are refused and symbolic links never followed; only regular files open")
      ->type_name("DIR");
  cmd->add_option("--semihosting-cmdline", o.semihosting_cmdline,
                  "What semihosting SYS_GET_CMDLINE returns (default empty); picolibc makes its words argv[1..]")
      ->type_name("STR");
  cmd->add_option("--dtb", o.dtb,
                  "Give the guest this device tree blob instead of the generated one (checked "
                  "with libfdt; at most 2 MiB); --append and --initrd update its /chosen")
      ->type_name("FILE");
  cmd->add_option("--dump-dtb", o.dump_dtb,
                  "Write the device tree the guest would get to FILE and exit 0 "
                  "without running (decompile with 'dtc -I dtb -O dts FILE')")
      ->type_name("FILE");
  cmd->add_option("--conduit", o.conduit,
                  "The PSCI and SDEI conduit the device tree names: hvc or smc (both "
                  "are always answered)")
      ->capture_default_str()
      ->check(CLI::IsMember({"hvc", "smc"}));
  cmd->add_option("--cpu", o.cpu,
                  "CPU model and properties, as QEMU's -cpu: max (Unicorn's max CPU, the only "
                  "model), optionally ,pauth=off to hide pointer authentication from the "
                  "guest (Linux then boots about 3x faster here; README \"CPU model\")")
      ->type_name("max[,pauth=on|off]")
      ->capture_default_str();
}

// Options of `run` for tracing, the reset policy and the summary.
void add_output_options(CLI::App* cmd, RunOptions& o) {
  cmd->add_option("--trace", o.trace,
                  "Trace categories, comma-separated: calls (a '>' line per firmware call with its "
                  "decoded name and arguments, a '<' line per answer), exceptions (taken by the guest), "
                  "irq (IRQs taken, ICC_IAR1 acks, EOIs), psci (power changes), sdei (handler entry and "
                  "completion), or all. Each line starts with the vCPU's virtual time in ns (README \"Tracing\")")
      ->delimiter(',')
      ->check(trace_categories());
  cmd->add_option("--trace-file", o.trace_file,
                  "Write the trace to FILE instead of stderr (whole lines "
                  "only, in large writes; a write error stops the run, status 74); needs --trace");
  cmd->add_option("--trace-format", o.trace_format,
                  "text, or perfetto: Chrome trace event JSON for ui.perfetto.dev, one track per vCPU "
                  "(needs --trace-file)")
      ->capture_default_str()
      ->check(CLI::IsMember({"text", "perfetto"}));
  cmd->add_option("--on-reset", o.on_reset,
                  "On PSCI SYSTEM_RESET/SYSTEM_RESET2: restart (reload the image "
                  "and boot again) or exit (status 69)")
      ->default_val("restart")
      ->check(CLI::IsMember({"restart", "exit"}));
  cmd->add_flag("-q,--quiet", o.quiet,
                "Do not print the one-line summary of how the run ended "
                "(faults are always reported)");
}

// Options of `run` for the gdb stub, and the image operand.
void add_gdb_options(CLI::App* cmd, RunOptions& o) {
  add_number(cmd, "--gdb", o.gdb_port,
             "Serve the GDB remote protocol on TCP PORT (0: any free port), on "
             "127.0.0.1 unless --gdb-host says otherwise; the port is printed on "
             "stderr. Connect with gdb-multiarch: target remote :PORT. Threads are "
             "vCPUs; breakpoints and single steps are the emulator's own")
      ->type_name("PORT");
  cmd->add_option("--gdb-host", o.gdb_host,
                  "IPv4 address the gdb stub listens on (default 127.0.0.1: this "
                  "machine only; 0.0.0.0 lets any host that reaches it control the "
                  "guest)")
      ->type_name("ADDR");
  cmd->add_flag("--gdb-wait", o.gdb_wait,
                "With --gdb: stop before the guest's first instruction until gdb "
                "attaches (otherwise the guest runs, and stops when gdb connects)");
  cmd->add_option("IMAGE", o.image,
                  "Guest image: an ELF64 aarch64 executable, a Linux arm64 Image, or a raw "
                  "binary with --format=raw")
      ->required();
}

// The `resume` subcommand: a state file and the output options of run.
CLI::App* add_resume_command(CLI::App& app, RunOptions& resume_opts) {
  CLI::App* resume_cmd = app.add_subcommand("resume",
                                            "Continue a VM saved with 'run --save-at'; the output "
                                            "options are those of run");
  add_number(resume_cmd, "--max-instructions", resume_opts.max_instructions, "As for run (a total since boot)")
      ->default_str(std::to_string(resume_opts.max_instructions));
  resume_cmd->add_option("--trace", resume_opts.trace, "As for run")->delimiter(',')->check(trace_categories());
  resume_cmd->add_option("--trace-file", resume_opts.trace_file, "As for run");
  resume_cmd->add_option("--trace-format", resume_opts.trace_format, "As for run")
      ->check(CLI::IsMember({"text", "perfetto"}));
  resume_cmd->add_flag("--stats{text}", resume_opts.stats, "As for run (function counts: since the resume)")
      ->check(CLI::IsMember({"text", "json"}));
  resume_cmd
      ->add_option("--console-input", resume_opts.console_input,
                   "As for run; the same regular file carries on after the bytes the saved run had read")
      ->type_name("FILE|-|none");
  resume_cmd->add_flag("-q,--quiet", resume_opts.quiet, "As for run");
  resume_cmd->add_option("FILE", resume_opts.image, "A state file written by --save-at")->required();
  resume_cmd->footer(kExitCodesHelp);
  return resume_cmd;
}

int main(int argc, char** argv) {
  CLI::App app{
      "smccc-emu: run aarch64 guest binaries and answer their HVC/SMC calls with a firmware model "
      "(SMCCC 1.2, PSCI 1.1)"};
  app.set_version_flag("--version", "smccc-emu " SMCCC_EMU_VERSION);
  app.require_subcommand(1);

  // Guest output is line-buffered even into a pipe or a file, as on a terminal (issue 14 F15).
  std::setvbuf(stdout, nullptr, _IOLBF, BUFSIZ);
  // A reader that has gone is a write error (EPIPE) the run reports and stops on (status 74),
  // not a SIGPIPE that kills the process with 141 and loses the summary and --stats.
  std::signal(SIGPIPE, SIG_IGN);

  RunOptions o;
  CLI::App* run_cmd = app.add_subcommand("run", "Run a guest image until it powers off, exits or faults");
  run_cmd->footer(kExitCodesHelp);
  add_scheduling_options(run_cmd, o);
  add_firmware_options(run_cmd, o);
  add_run_control_options(run_cmd, o);
  add_boot_options(run_cmd, o);
  add_output_options(run_cmd, o);
  add_gdb_options(run_cmd, o);
  RunOptions resume_opts;
  CLI::App* resume_cmd = add_resume_command(app, resume_opts);

  RunOptions regs_opts;
  CLI::App* regs_cmd = app.add_subcommand("fw-regs",
                                          "Print the firmware pseudo-registers (KVM IDs, names, values) "
                                          "a VM starts with, after --disable and --fw-reg");
  regs_cmd->add_option("--disable", regs_opts.disable, "As for run")->delimiter(',');
  regs_cmd->add_option("--fw-reg", regs_opts.fw_regs, "As for run");
  regs_cmd->add_option("--impl-cpus", regs_opts.impl_cpus, "As for run")->delimiter(',');

  // `smccc-emu --help` shows everything.
  app.footer([run_cmd, resume_cmd, regs_cmd] {
    return "\n" + run_cmd->help("smccc-emu") + "\n" + resume_cmd->help("smccc-emu") + "\n" +
           regs_cmd->help("smccc-emu");
  });

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
    if (regs_cmd->parsed()) return print_fw_regs(regs_opts);
    if (resume_cmd->parsed()) return resume(resume_opts);
    return run(o);
  } catch (const std::exception& e) {
    return error(cli::kExitInternal, fmt::format("internal error: {}", e.what()));
  }
}
