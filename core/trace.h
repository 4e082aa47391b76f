// The machine's trace: one event stream (firmware calls, exceptions, IRQs, power changes, SDEI
// handlers), each event stamped with its vCPU and virtual time, and the writers that turn it
// into text lines or Chrome trace event JSON (docs/architecture.md, "Tracing").
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace emu::core {

/// What an event is about; --trace names them in lower case.
enum class TraceCategory : std::uint8_t {
  Calls,       ///< firmware calls (HVC/SMC) and their answers
  Exceptions,  ///< synchronous exceptions the host delivers to the guest (aborts, UNDEFINED, ...)
  Irq,         ///< IRQ exceptions taken, interrupts acknowledged and ended (ICC_IAR1 / ICC_EOIR1)
  Psci,        ///< power changes: CPU_ON, CPU_OFF, suspend, resume, SYSTEM_OFF, SYSTEM_RESET
  Sdei,        ///< SDEI handler entry (dispatch) and completion
};
inline constexpr unsigned kTraceCategoryCount = 5;
/// A set of categories, one bit per TraceCategory.
constexpr unsigned trace_bit(TraceCategory c) {
  return 1u << static_cast<unsigned>(c);
}
inline constexpr unsigned kAllTraceCategories = (1u << kTraceCategoryCount) - 1;
/// "calls", "exceptions", "irq", "psci", "sdei".
std::string_view trace_category_name(TraceCategory c);
/// The category named `name`, if any.
std::optional<TraceCategory> trace_category_by_name(std::string_view name);

/// Begin and End bracket a span of virtual time on one vCPU (a firmware call, an SDEI handler,
/// an IRQ's entry); spans on one vCPU nest, and an End closes the latest open Begin. Instant
/// has no duration (a power change, an exception taken).
enum class TracePhase : std::uint8_t { Begin, End, Instant };

/// One event. The views live only for the call that passes it.
struct TraceEvent {
  TraceCategory category = TraceCategory::Calls;
  TracePhase phase = TracePhase::Instant;
  unsigned vcpu = 0;      ///< the vCPU it happened on
  std::uint64_t ns = 0;   ///< that vCPU's virtual time, in ns
  std::string_view name;  ///< short name: the function ("PSCI_VERSION"), "IRQ", "CPU_ON", "event 2"
  std::string_view text;  ///< the human-readable line, starting "cpuN ..." (no time, no '\n')
  std::uint32_t fid = 0;  ///< Calls, Begin only: the function ID (x0's low 32 bits, hint bit clear)
};

/// Receives the events of the categories the machine was asked for, in emulation order.
/// Exceptions thrown from event() propagate out of Machine::run() as a console writer's do.
class TraceWriter {
 public:
  virtual ~TraceWriter() = default;
  virtual void event(const TraceEvent& e) = 0;
};

/// Text: one line per event, "<virtual time in ns, 12 digits> <text>", e.g.
/// "000000012345 cpu0 hvc > PSCI_VERSION()". The ns field is zero-padded so that lines sort
/// and align; it is the vCPU's own clock (vCPUs run round-robin, so lines of different vCPUs
/// may step back in time by up to a quantum). Events with no text (an IRQ entry's end) are
/// not printed.
class TextTraceWriter final : public TraceWriter {
 public:
  using LineOut = std::function<void(std::string_view line)>;  ///< one line, without its newline
  explicit TextTraceWriter(LineOut out) : out_(std::move(out)) {}
  void event(const TraceEvent& e) override;

 private:
  LineOut out_;
  std::string line_;  // reused buffer
};

/// Chrome trace event JSON ("Trace Event Format"), which Perfetto and chrome://tracing open:
/// {"traceEvents":[...]} with one thread (track) per vCPU of process 1, named "vCPU N" by a
/// metadata event; spans as "B"/"E" pairs, instants as "i" (thread scope); "ts" in
/// microseconds of virtual time (fractions down to the ns). Events are streamed to `out` as
/// they come; finish() closes every span still open (at its track's last time) and the JSON
/// array, so the document is complete however the run ended. finish() is also called by the
/// destructor if it was not called.
class PerfettoTraceWriter final : public TraceWriter {
 public:
  using ChunkOut = std::function<void(std::string_view chunk)>;
  PerfettoTraceWriter(ChunkOut out, unsigned vcpus);
  ~PerfettoTraceWriter() override;
  PerfettoTraceWriter(const PerfettoTraceWriter&) = delete;
  PerfettoTraceWriter& operator=(const PerfettoTraceWriter&) = delete;
  void event(const TraceEvent& e) override;
  void finish();

 private:
  void emit(std::string_view json_object);
  struct Track {
    std::vector<std::string> open;  // names of the spans begun and not ended
    std::uint64_t last_ns = 0;      // time of its latest event (spans never go back)
  };
  ChunkOut out_;
  std::vector<Track> tracks_;
  bool finished_ = false;
};

/// Firmware-call counts gathered from the call events: per function ID (with its name) and
/// per vCPU. Attach it with Machine::set_call_stats; deterministic for a deterministic run.
struct CallStats {
  struct Function {
    std::string name;  ///< as the trace prints it, e.g. "PSCI_CPU_ON64"; "UNKNOWN" if none
    std::uint64_t count = 0;
    std::vector<std::uint64_t> per_vcpu;  ///< calls from each vCPU (index = vCPU)
  };
  std::map<std::uint32_t, Function> functions;  ///< by function ID, ascending
  void count(unsigned vcpu, std::uint32_t fid, std::string_view name);
};

}  // namespace emu::core
