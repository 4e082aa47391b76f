// The SMCCC dispatcher: the one place where a trapped call is decoded, routed by owner and
// sub-range to a service, and answered NOT_SUPPORTED when nothing matches (DEN0028 Unknown
// Function Identifier; docs/architecture.md, "The call path").
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "firmware/fault_inject.h"
#include "firmware/service.h"
#include "firmware/smccc.h"
#include "firmware/smccc_filter.h"

namespace emu::fw {

/// What a call trace line is about, for sinks that keep more than the text (core/trace.h).
struct CallTraceInfo {
  unsigned vcpu = 0;      ///< the calling vCPU
  std::uint32_t fid = 0;  ///< the function ID as routed (x0's low 32 bits, SVE hint bit clear)
  bool answer = false;    ///< false: the call ('>' line); true: its answer ('<' line)
  std::string_view name;  ///< the function's trace name ("PSCI_CPU_ON64"), "UNKNOWN" if none
};

/// Receives one trace line per call and per answer. Set on the dispatcher; services never print.
/// An exception from line() propagates out of dispatch() (core passes it to its caller).
class TraceSink {
 public:
  virtual ~TraceSink() = default;
  virtual void line(std::string_view text) = 0;
  /// A call or answer line with what it is about; the default passes the text to line().
  virtual void call_line(const CallTraceInfo& info, std::string_view text) {
    static_cast<void>(info);
    line(text);
  }
};

/// Thrown while building the dispatcher when a service table is inconsistent (empty or
/// overlapping range, owner out of range, function outside its ranges, duplicate number).
class TableError : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

class Dispatcher {
 public:
  Dispatcher() = default;
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  /// Registers a service (not owned; it must outlive the dispatcher). Validates its ranges
  /// and function table against everything registered so far; throws TableError.
  void add(Service& service);

  /// Decodes, routes and answers one call into `result`. Anything unmatched gets
  /// NOT_SUPPORTED with count = 1, so only x0 changes. Needs x0 loaded; loads the function's
  /// argument registers through `call.source` if they are not. A request the answer carries
  /// is passed to every registered service (Service::on_request) before this returns. Throws
  /// only what the trace sink throws. Inline, so that the fast path costs the trap no call of
  /// its own.
  void dispatch(SmcccCall& call, SmcccResult& result) {
    // The fast path: the frozen table, no trace, no fault rules, immediate #0 and a well-formed
    // fast call whose entry the filter lets through. Bit 16 (the SVE hint) is not part of the
    // table's index, so it is ignored here as in decode().
    const auto w0 = static_cast<std::uint32_t>(call.x[0]);
    if (fast_ && call.imm == 0 && flat_shape(w0)) [[likely]] {
      const FlatEntry& e = flat_entry(w0);
      if (e.direct) [[likely]] {
        answer_direct(e, w0, call, result);
        return;
      }
    }
    dispatch_slow(call, result);
  }
  SmcccResult dispatch(SmcccCall& call) {
    SmcccResult result;
    dispatch(call, result);
    return result;
  }

  /// The function a FID names, if some service currently offers it in that form. Discovery
  /// calls (ARCH_FEATURES, PSCI_FEATURES, Call Count) use this, so they agree with routing.
  struct Found {
    Service* service = nullptr;
    const FunctionDesc* fn = nullptr;
    std::uint8_t reads = 0;  ///< fn->registers_read(), computed once when the table was built
    explicit operator bool() const { return fn != nullptr; }
  };
  Found find(std::uint32_t fid) const;

  /// Number of (function, form) pairs currently offered inside `owner_number`, excluding the
  /// general-query block 0xFF00..0xFFFF (DEN0028 "Call Count").
  std::uint32_t call_count(std::uint8_t owner_number) const;

  /// Builds the flat per-FID table from what is offered now, with the filter's verdict folded
  /// in, and routes through it from then on. Firmware calls it when the first vCPU runs (and
  /// after a restore of a VM that had run): from then on the service-selection registers and
  /// the filter are frozen (HostStatus::Busy), so the table cannot go stale. Calling it again
  /// rebuilds the table. Allocates; dispatch() never does.
  void freeze();
  /// Back to routing through the service tables (a restore into a VM that has not run).
  void thaw() {
    frozen_ = false;
    update_fast();
  }
  bool frozen() const { return frozen_; }

  /// Trace output; nullptr (the default) disables tracing at the cost of one branch per call.
  void set_trace(TraceSink* sink) {
    trace_ = sink;
    update_fast();
  }
  TraceSink* trace() const { return trace_; }
  /// The SMCCC filter consulted before routing (not owned); nullptr (the default): none.
  void set_filter(const SmcccFilter* filter) { filter_ = filter; }
  /// Fault injection consulted after routing (not owned); nullptr (the default): none.
  void set_faults(FaultInjector* faults) {
    faults_ = faults;
    update_fast();
  }

 private:
  static constexpr std::uint8_t kNoFunction = 0xFF;
  static constexpr std::uint64_t kLow32 = 0xFFFF'FFFFu;
  static constexpr int kSmc32ArgRegisters = 7;  // SMCCC 1.2: W1..W7 carry SMC32 arguments

  struct Route {
    FunctionRange range;
    Service* service = nullptr;
    std::span<const FunctionDesc> functions;  // service->functions(), cached off the hot path
    std::vector<std::uint8_t> slot;           // number - range.first -> index in functions, or kNoFunction
    std::vector<std::uint8_t> reads;          // index -> registers the function reads (x0..)
  };
  struct OwnerRoutes {
    std::vector<Route> routes;
  };

  // The frozen table (docs/architecture.md, "The call path"): W0 bits 30:24 (SMC64 and owner)
  // and 15:8 pick one of 256-entry blocks, bits 7:0 the entry. Block 0 is all empty, so every
  // lookup is two loads and no test. Only fast calls with bits 23:17 clear are looked up.
  struct FlatEntry {
    Service* service = nullptr;        // null: nothing offered at this FID
    Handler handler = nullptr;         // fn->handler, one load nearer
    const FunctionDesc* fn = nullptr;  // the function, in the service's own table
    std::uint8_t reads = 0;            // fn->registers_read()
    std::uint8_t results = 0;          // fn->results
    FunctionId id{};                   // the FID decoded once, SVE hint clear
    bool direct = false;               // the filter handles it: the fast path may answer it
  };
  using FlatBlock = std::array<FlatEntry, 256>;
  static constexpr std::size_t kFlatKeys = 128 * 256;  // (W0 bits 30:24) x (bits 15:8)

  const FlatEntry& flat_entry(std::uint32_t w0) const {
    const std::size_t key = ((w0 >> 16) & 0x7F00u) | ((w0 >> 8) & 0xFFu);
    return flat_blocks_[flat_index_[key]][w0 & 0xFFu];
  }
  static bool flat_shape(std::uint32_t w0) {
    return (w0 & (FunctionId::kFastBit | FunctionId::kReservedMask)) == FunctionId::kFastBit;
  }
  // SMC32 arguments: the callee ignores the upper halves of W1..W7 (DEN0028 SMC32/HVC32 argument
  // passing). Only the registers the function reads (x1..x(reads-1), at most x5) are narrowed:
  // the others are never written back, so the guest cannot tell.
  static void narrow_smc32_arguments(SmcccCall& call, int reads) {
    for (int i = 1; i < reads; ++i) call.x[static_cast<std::size_t>(i)] &= kLow32;
  }
  // SMC32 results: only W0..W7 are defined. A negative status in x0 is kept sign-extended
  // (Linux's arm-smccc.h users and KVM compare the full 64-bit value); everything else is
  // truncated. Most functions return at most four registers: those are masked without a loop
  // (registers past count are not written back, so masking them is harmless).
  static void truncate_smc32_results(SmcccResult& result) {
    const auto x0 = static_cast<std::int64_t>(result.x[0]);
    if (!(x0 < 0 && x0 >= INT32_MIN)) result.x[0] &= kLow32;
    result.x[1] &= kLow32;
    result.x[2] &= kLow32;
    result.x[3] &= kLow32;
    if (result.count <= 4) [[likely]]
      return;
    const int count = result.count < 1 + kSmc32ArgRegisters ? result.count : 1 + kSmc32ArgRegisters;
    for (int i = 4; i < count; ++i) result.x[static_cast<std::size_t>(i)] &= kLow32;
  }
  // A call the frozen table answers directly: the same steps as dispatch_found, without the
  // trace and fault tests.
  void answer_direct(const FlatEntry& e, std::uint32_t w0, SmcccCall& call, SmcccResult& result) const {
    call.id = e.id;
    call.id.sve_hint = (w0 & FunctionId::kSveHintBit) != 0;
    result.request = {};  // before anything that may throw: the request is this call's or none
    if (call.loaded < e.reads) call.source->load(call, e.reads);
    const bool smc32 = (w0 & FunctionId::kSmc64Bit) == 0;
    if (smc32) narrow_smc32_arguments(call, e.reads);
    result.x[0] = result.x[1] = result.x[2] = result.x[3] = 0;
    result.count = e.results;
    e.handler(*e.service, call, result);
    if (smc32) truncate_smc32_results(result);
    if (result.request.kind != RequestKind::None) [[unlikely]]
      announce(call.vcpu, result.request);
  }
  // Passes a call's request to every registered service (Service::on_request): before the
  // answer is traced, so that a trace sink that throws cannot keep it from them.
  void announce(unsigned vcpu, const Request& request) const;

  // The fast path is open when the table is frozen and neither tracing nor fault rules are on.
  void update_fast() { fast_ = frozen_ && trace_ == nullptr && faults_ == nullptr; }
  void dispatch_found(SmcccCall& call, const Found& found, SmcccResult& result);
  void dispatch_slow(SmcccCall& call, SmcccResult& result);
  Found find_routed(const FunctionId& id) const;
  std::uint32_t count_routed(std::uint8_t owner_number) const;
  const Route* route_for(std::uint8_t owner_number, std::uint16_t number) const;
  Found find(const FunctionId& id) const;
  void trace_call(const SmcccCall& call, const Found& found) const;
  bool inject_fault(const SmcccCall& call, const Found& found, SmcccResult& result);
  void trace_result(const SmcccCall& call, const Found& found, const SmcccResult& result,
                    std::string_view note = {}) const;

  std::array<OwnerRoutes, owner::kCount> owners_{};
  bool frozen_ = false;
  bool fast_ = false;                     // update_fast()
  std::vector<std::uint8_t> flat_index_;  // kFlatKeys block numbers; 0 = the empty block
  std::vector<FlatBlock> flat_blocks_;
  std::array<std::uint32_t, owner::kCount> flat_counts_{};  // call_count() per owner, frozen
  std::vector<Service*> services_;
  TraceSink* trace_ = nullptr;
  const SmcccFilter* filter_ = nullptr;
  FaultInjector* faults_ = nullptr;
};

}  // namespace emu::fw
