// Software Delegated Exception Interface 1.1, owner 4 functions 0x20-0x3F, SMC64 only
// (DEN0054C). The firmware keeps every event's state and the interrupted
// contexts; core performs the two things only it can do, entering a handler and resuming the
// interrupted context, when the firmware tells it to (docs/architecture.md, "The call path").
#pragma once

#include <cstdint>
#include <optional>

#include "firmware/platform.h"
#include "firmware/service.h"
#include "firmware/vm_state.h"

namespace emu::fw {

namespace sdei {
inline constexpr std::uint32_t kVersion = 0xC400'0020;
inline constexpr std::uint32_t kEventRegister = 0xC400'0021;
inline constexpr std::uint32_t kEventEnable = 0xC400'0022;
inline constexpr std::uint32_t kEventDisable = 0xC400'0023;
inline constexpr std::uint32_t kEventContext = 0xC400'0024;
inline constexpr std::uint32_t kEventComplete = 0xC400'0025;
inline constexpr std::uint32_t kEventCompleteAndResume = 0xC400'0026;
inline constexpr std::uint32_t kEventUnregister = 0xC400'0027;
inline constexpr std::uint32_t kEventStatus = 0xC400'0028;
inline constexpr std::uint32_t kEventGetInfo = 0xC400'0029;
inline constexpr std::uint32_t kEventRoutingSet = 0xC400'002A;
inline constexpr std::uint32_t kPeMask = 0xC400'002B;
inline constexpr std::uint32_t kPeUnmask = 0xC400'002C;
inline constexpr std::uint32_t kInterruptBind = 0xC400'002D;
inline constexpr std::uint32_t kInterruptRelease = 0xC400'002E;
inline constexpr std::uint32_t kEventSignal = 0xC400'002F;
inline constexpr std::uint32_t kFeatures = 0xC400'0030;
inline constexpr std::uint32_t kPrivateReset = 0xC400'0031;
inline constexpr std::uint32_t kSharedReset = 0xC400'0032;

/// SDEI 1.1, vendor field 0 (DEN0054C SDEI_VERSION: major in [62:48], minor in [47:32]).
inline constexpr std::uint64_t kVersion1_1 = 0x0001'0001'0000'0000ull;
/// REGISTER flags (DEN0054C SDEI_EVENT_REGISTER): bit 0 routing mode RM_PE, bit 1 relative entry (unsupported).
inline constexpr std::uint64_t kFlagRoutePe = 1;
inline constexpr std::uint64_t kFlagRelative = 2;
/// EVENT_STATUS bits (DEN0054C SDEI_EVENT_STATUS).
inline constexpr std::uint64_t kStatusRegistered = 1;
inline constexpr std::uint64_t kStatusEnabled = 2;
inline constexpr std::uint64_t kStatusRunning = 4;
/// Handler entry PSTATE: EL1h with D, A, I, F masked (DEN0054C event handler entry, AArch64 client).
inline constexpr std::uint64_t kHandlerPstate = 0x3C5;
/// Bind slots (DEN0054C SDEI_INTERRUPT_BIND), numbered as TF-A's Arm platforms number their
/// dynamic events: private 1000.., shared 2000...
inline constexpr std::uint32_t kFirstPrivateSlot = 1000;
inline constexpr std::uint32_t kFirstSharedSlot = 2000;
inline constexpr unsigned kBindSlots = 3;  ///< of each kind, as TF-A's Arm platforms
/// SDEI_FEATURES(BIND_SLOTS): private slots in [15:0], shared slots in [31:16].
inline constexpr std::uint64_t kFeatureBindSlots = 0;
}  // namespace sdei

/// SDEI return codes (DEN0054C, "Return error codes"; Linux include/uapi/linux/arm_sdei.h).
#define EMU_FW_SDEI_STATUSES(X)                  \
  X(Success, 0, "SUCCESS")                       \
  X(NotSupported, -1, "NOT_SUPPORTED")           \
  X(InvalidParameters, -2, "INVALID_PARAMETERS") \
  X(Denied, -3, "DENIED")                        \
  X(Pending, -5, "PENDING")                      \
  X(OutOfResource, -10, "OUT_OF_RESOURCE")

enum class SdeiStatus : std::int32_t { EMU_FW_SDEI_STATUSES(EMU_FW_STATUS_ENUMERATOR) };
inline constexpr StatusName kSdeiStatuses[] = {EMU_FW_SDEI_STATUSES(EMU_FW_STATUS_ROW)};

/// What core needs to enter a handler (DEN0054C event handler entry).
struct SdeiEntry {
  std::uint32_t event = 0;  ///< event number, for x0
  std::uint64_t arg = 0;    ///< ep_argument, for x1
  std::uint64_t entry = 0;  ///< the handler's address, the new PC
};

class SdeiService final : public Service {
 public:
  /// `interrupts` may be null: then there is nothing to bind to and no event is dynamic.
  SdeiService(VmState& vm, InterruptController* interrupts) : vm_(vm), ic_(interrupts) { recount(); }

  std::string_view name() const override { return "SDEI"; }
  std::span<const FunctionRange> ranges() const override;
  std::span<const FunctionDesc> functions() const override;
  std::span<const StatusName> statuses() const override { return kSdeiStatuses; }

  void on_vcpu_power_on(unsigned vcpu) override;
  void on_system_reset() override;

  /// Validates a list of events for a new VM and puts event 0 (private, normal,
  /// signalable: DEN0054C, event 0) first; with `bind_slots`, kBindSlots private and shared bind
  /// slots follow. Throws ConfigError for a bad or repeated number, or one a slot uses.
  static std::vector<SdeiEventDecl> declare(std::span<const SdeiEventDecl> extra, bool bind_slots);

  /// Host side: the event with this number triggers (e.g. a platform error, DEN0054C platform events).
  /// A private event triggers on `vcpu`; a shared one is routed when it dispatches.
  /// Unknown event or vCPU, or a bind slot (its interrupt triggers it): InvalidArgument. Not
  /// registered and enabled (on that vCPU for a private event): Busy, nothing pends (an
  /// unregistered event cannot be pending).
  HostStatus signal(std::uint32_t event, unsigned vcpu);

  /// Whether an event can be dispatched on `vcpu` now (DEN0054C dispatch conditions). Cheap when nothing pends.
  bool deliverable(unsigned vcpu) const;
  /// Whether any event has triggered and waits: one test while no event is bound.
  bool any_pending() const { return pending_ != 0 || (bound_ != 0 && bound_triggered()); }
  /// Dispatches the most urgent deliverable event on `vcpu`: saves `interrupted`, marks the
  /// event running and says where the handler starts. nullopt when nothing is deliverable.
  std::optional<SdeiEntry> begin_dispatch(unsigned vcpu, const SdeiContext& interrupted);
  /// Recounts pending instances after the state was replaced (snapshot load).
  void recount();

 private:
  SdeiInstance& instance(unsigned vcpu, std::size_t index);
  const SdeiInstance& instance(unsigned vcpu, std::size_t index) const;
  std::optional<std::size_t> find(std::uint64_t number) const;
  std::optional<std::size_t> next_event(unsigned vcpu) const;
  bool routed_to(const SdeiInstance& shared, unsigned vcpu) const;
  void set_pending(SdeiInstance& inst, bool pending);
  std::uint32_t bound_intid(std::size_t index) const { return vm_.sdei_bound[index]; }
  bool triggered(unsigned vcpu, std::size_t index, const SdeiInstance& inst) const;
  bool bound_triggered() const;
  void give_back(unsigned vcpu, std::size_t index);

  void event_context(const SmcccCall& call, SmcccResult& result) const;
  void event_status(const SmcccCall& call, SmcccResult& result) const;
  void pe_mask(const SmcccCall& call, SmcccResult& result);
  void pe_unmask(const SmcccCall& call, SmcccResult& result);
  void features(const SmcccCall& call, SmcccResult& result) const;
  std::int64_t reg(const SmcccCall& call);
  std::int64_t enable(unsigned vcpu, std::uint64_t event, bool on);
  std::int64_t unregister(unsigned vcpu, std::uint64_t event);
  std::int64_t get_info(unsigned vcpu, std::uint64_t event, std::uint64_t selector);
  std::int64_t routing_set(std::uint64_t event, std::uint64_t mode, std::uint64_t affinity);
  std::int64_t context(unsigned vcpu, std::uint64_t index, std::uint64_t& value) const;
  std::int64_t complete(unsigned vcpu, SmcccResult& result, std::optional<std::uint64_t> resume);
  std::int64_t signal_call(std::uint64_t event, std::uint64_t target);
  std::int64_t bind(std::uint64_t intid);
  std::int64_t release(std::uint64_t event);
  std::uint64_t bind_slots() const;
  std::int64_t private_reset(unsigned vcpu);
  std::int64_t shared_reset();

  VmState& vm_;
  InterruptController* ic_;
  std::uint32_t pending_ = 0;  ///< instances with pending set, so deliverable() is one test
  std::uint32_t bound_ = 0;    ///< bind slots in use: their interrupts are asked only then
};

}  // namespace emu::fw
