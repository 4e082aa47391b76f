// A firmware service: one specification (PSCI, TRNG, ...) answering a range of function
// numbers inside one owner. Services declare their functions in a static table; the
// dispatcher routes through that table and every discovery call is derived from it
// (docs/architecture.md, "Services, state and discovery"), so a function cannot be served without being advertised or
// advertised without being served.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>
#include <type_traits>

#include "firmware/smccc.h"
#include "firmware/state_io.h"

namespace emu::fw {

class Dispatcher;
class Service;

/// Answers one call of the function whose table entry holds it: the registers the entry's
/// `args` name are loaded (and narrowed for SMC32), `result.x[0..3]` are zero, `result.count`
/// is the entry's `results` and no request is set. `service` is the service that declared the
/// entry. The dispatcher calls it straight from the entry, so the function is routed once
/// (as TF-A's rt_svc_desc_t handlers, with one entry per function here).
using Handler = void (*)(Service& service, const SmcccCall& call, SmcccResult& result);

namespace detail {
template <typename C, typename R, typename... A>
C* class_of(R (C::*)(A...));
template <typename C, typename R, typename... A>
C* class_of(R (C::*)(A...) const);
}  // namespace detail

/// Inside a Handler: the declaring service as its own class (`self<PsciService>(service)`).
template <typename C>
C& self(Service& service) {
  return static_cast<C&>(service);
}

/// The Handler that calls `Method`, a member `void (const SmcccCall&, SmcccResult&)` of the
/// declaring service. Take its address where the member is accessible (inside the service's
/// functions()): `.handler = member_handler<&PsciService::cpu_on>`.
template <auto Method>
void member_handler(Service& service, const SmcccCall& call, SmcccResult& result) {
  using C = std::remove_pointer_t<decltype(detail::class_of(Method))>;
  (self<C>(service).*Method)(call, result);
}

/// Which calling conventions a function exists in.
enum Form : std::uint8_t { kSmc32 = 1, kSmc64 = 2, kBothForms = kSmc32 | kSmc64 };

/// How the trace prints x0 of the answer.
enum class ResultKind : std::uint8_t {
  Status,    ///< a status code (0 = SUCCESS)
  Value,     ///< a value; negative values are status codes
  NoReturn,  ///< the call does not return on success (SYSTEM_OFF, ...)
};

/// ARCH_FEATURES answer for a function that SMCCC_ARCH_FEATURES does not report: services
/// with their own discovery (PSCI_FEATURES, TRNG_FEATURES, ...) answer -1 there, as KVM does
/// (DEN0028 SMCCC_ARCH_FEATURES; Linux arch/arm64/kvm/hypercalls.c).
inline constexpr std::int32_t kNotAdvertised = -1;

struct FunctionDesc {
  /// Registers x0..x(n-1) the function reads: x0 and every argument it names.
  constexpr int registers_read() const {
    int n = 1;
    for (std::size_t i = 0; i < args.size(); ++i) {
      if (!args[i].empty()) n = static_cast<int>(i) + 2;
    }
    return n;
  }

  std::uint16_t number = 0;     ///< function number, FID bits [15:0]
  std::uint8_t forms = kSmc32;  ///< conventions in which the function exists
  std::string_view name;        ///< spec name, greppable (e.g. "PSCI_VERSION")
  std::string_view name64;      ///< name of the SMC64 form if not name + "64" (e.g. "TRNG_RND64")
  /// Names of the argument registers x1..x5, for the trace. They are also the registers the
  /// function reads: the dispatcher loads x1..xN where N is the last named one.
  std::array<std::string_view, 5> args{};
  ResultKind result = ResultKind::Status;
  std::uint8_t results = 4;                     ///< result registers written back, x0..x(results-1)
  std::int32_t arch_features = kNotAdvertised;  ///< SMCCC_ARCH_FEATURES answer (DEN0028)
  std::int32_t own_features = 0;                ///< the owning service's FEATURES answer (e.g. PSCI_FEATURES)
  std::uint32_t since = 0;                      ///< version of the owning specification that introduced it
  /// The SMC64 form has its own availability (Service::offers_smc64): it came later than the
  /// SMC32 form (SMCCC_ARCH_SOC_ID). Default no.
  bool gated64 = false;
  /// Answers the call; required (Dispatcher::add refuses an entry without one).
  Handler handler = nullptr;
};

/// A contiguous block of function numbers inside one owner that a service answers.
struct FunctionRange {
  std::uint8_t owner = 0;
  std::uint16_t first = 0;
  std::uint16_t last = 0;
};

class Service {
 public:
  Service() = default;
  Service(const Service&) = delete;  // tables and the dispatcher hold pointers into services
  Service& operator=(const Service&) = delete;
  virtual ~Service() = default;

  /// Short name used in error messages ("PSCI", "Arm architecture").
  virtual std::string_view name() const = 0;
  /// The number ranges this service owns. Validated by the dispatcher when it is built.
  virtual std::span<const FunctionRange> ranges() const = 0;
  /// Every function the service implements; each number must lie in one of ranges().
  virtual std::span<const FunctionDesc> functions() const = 0;
  /// Whether `fn` is currently offered (e.g. a PSCI function newer than the configured
  /// version is not). Unavailable functions are unknown to routing and to discovery alike.
  virtual bool available(const FunctionDesc& /*fn*/) const { return true; }
  /// For a function with `gated64` set: whether its SMC64 form is offered too (asked only
  /// when available(fn) holds, so other functions pay nothing for it). Default: yes.
  virtual bool offers_smc64(const FunctionDesc& /*fn*/) const { return true; }
  /// The status codes of the service's specification (its X-macro's table), for the trace.
  virtual std::span<const StatusName> statuses() const = 0;
  /// The specification's name of a status code, "" if it has none.
  std::string_view status_name(std::int64_t code) const { return status_name_in(statuses(), code); }

  // Lifecycle hooks (docs/architecture.md, "Services, state and discovery"): core reports what it
  // did with a request, and the firmware passes it to every service, so services never call each
  // other.

  /// `vcpu` has started at a CPU_ON entry point (fresh architectural state).
  virtual void on_vcpu_power_on(unsigned /*vcpu*/) {}
  /// `vcpu` has stopped after CPU_OFF.
  virtual void on_vcpu_stopped(unsigned /*vcpu*/) {}
  /// `vcpu` has woken from CPU_SUSPEND or SYSTEM_SUSPEND.
  virtual void on_vcpu_resumed(unsigned /*vcpu*/) {}
  /// The whole system has been reset; guest-owned state goes back to its boot values.
  virtual void on_system_reset() {}
  /// `vcpu` is about to run a slice (PV-time updates its stolen-time record here).
  virtual void on_vcpu_scheduled(unsigned /*vcpu*/) {}
  /// A call on `vcpu` has just returned `request` for core to carry out (never RequestKind::None).
  /// The dispatcher passes it to every service as the call returns, before it traces the
  /// answer: PSCI's power-state changes take effect then (DEN0022F.b: CPU_ON's target is ON,
  /// and CPU_OFF's or CPU_SUSPEND's caller no longer ON, before core acts), so a service that
  /// needs them (SDEI's dispatch conditions, DEN0054C) follows them here without reading
  /// PSCI's state.
  virtual void on_request(unsigned /*vcpu*/, const Request& /*request*/) {}

  // Snapshot hooks (docs/architecture.md, "Services, state and discovery"): a service saves and
  // restores only its own guest-owned state, in its own tagged section, and Firmware::save/load
  // visit the services in registration order. Loading is in two phases so that it is
  // all-or-nothing across the firmware: every section is parsed and validated into a staged copy
  // first, and only when all of them (and the firmware's own) have been read does each service
  // adopt its staged copy.

  /// The 4-character tag of the service's section (StateWriter::tag); 0, the default: the service
  /// keeps no guest state and has no section.
  virtual std::uint32_t state_tag() const { return 0; }
  /// Writes the section's body (the firmware writes the tag).
  virtual void save_section(StateWriter& /*out*/) const {}
  /// Phase 1: reads the body into a staged copy (replacing any earlier one), through the same
  /// rules the guest and host interfaces apply; throws StateError. The live state is untouched.
  virtual void load_section(StateReader& /*in*/) {}
  /// Phase 2: the staged copy becomes the state. Called only after every section loaded.
  virtual void commit_loaded() {}

  /// Called once by the dispatcher when the service is registered; services that answer
  /// discovery questions about other functions keep the pointer.
  void attach(const Dispatcher& dispatcher) { dispatcher_ = &dispatcher; }

 protected:
  const Dispatcher* dispatcher_ = nullptr;
};

}  // namespace emu::fw
