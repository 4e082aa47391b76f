// Software Delegated Exception Interface 1.1, owner 4 functions 0x20-0x3F, SMC64 only
// (DEN0054C). The firmware keeps every event's state and the interrupted
// contexts; core performs the two things only it can do, entering a handler and resuming the
// interrupted context, when the firmware tells it to (docs/architecture.md, "The call path").
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

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

/// An SDEI event the platform offers. Events are fixed when the VM is created (the spec has
/// no discovery call; the host announces the numbers out of band, DEN0054C's event model).
struct SdeiEventDecl {
  std::uint32_t number = 0;  ///< event number; bit 31 clear (DEN0054C event numbers)
  bool shared = false;       ///< shared (one instance, routed) or private (one per PE); default private
  bool critical = false;     ///< critical priority (may preempt a normal handler); default normal
  bool signalable = false;   ///< SDEI_EVENT_SIGNAL may raise it (DEN0054C: event 0); default no
  /// A bind slot (DEN0054C SDEI_INTERRUPT_BIND): an event with no source until the guest binds
  /// it to an interrupt, normal priority and not signalable. The firmware declares these
  /// itself; default no.
  bool dynamic = false;
};

/// One instance of an event: per PE for private events, one VM-wide for shared events.
/// running && !registered is the handler-unregister-pending state (DEN0054C event states; TF-A's sdei_state.c).
struct SdeiInstance {
  bool registered = false;
  bool enabled = false;
  bool running = false;
  bool pending = false;          ///< triggered, waiting for the dispatch conditions (DEN0054C event dispatch)
  std::uint64_t entry = 0;       ///< handler address given at REGISTER
  std::uint64_t arg = 0;         ///< ep_argument, passed to the handler in x1
  bool route_pe = false;         ///< shared: RM_PE (else RM_ANY)
  std::uint64_t affinity = 0;    ///< shared RM_PE: the target's affinity
  std::uint32_t running_on = 0;  ///< shared: the vCPU running its handler
};

/// The context an SDEI dispatch interrupted (DEN0054C event handler entry): restored by COMPLETE.
struct SdeiContext {
  std::array<std::uint64_t, 18> x{};  ///< x0..x17
  std::uint64_t pc = 0;               ///< where execution would have continued
  std::uint64_t pstate = 0;           ///< PSTATE in SPSR format
  std::uint32_t event = 0;            ///< index into SdeiService::events() of the handler
};

/// Handlers nest at most twice per PE: a critical one inside a normal one (DEN0054C event priorities).
inline constexpr std::size_t kSdeiMaxNesting = 2;

/// Whether a PE can take an event (DEN0054C dispatch: only a running PE does), as SDEI follows
/// the PSCI calls that change it through the lifecycle hooks (Service::on_request,
/// on_vcpu_resumed, on_system_reset) rather than by reading PSCI's state.
enum class SdeiPe : std::uint8_t {
  Off,     ///< never started, or CPU_OFF called (PSCI's Off or OffPending)
  On,      ///< started: the boot vCPU after reset, a CPU_ON target, a vCPU woken from a suspend
  Asleep,  ///< called CPU_SUSPEND or SYSTEM_SUSPEND and has not woken
};

/// SDEI's state of one PE (DEN0054C: event states, dispatch, completion, PE masking).
struct SdeiVcpu {
  bool masked = true;                                ///< PE_MASK state; every PE starts masked (DEN0054C SDEI_PE_MASK)
  SdeiPe pe = SdeiPe::Off;                           ///< whether it runs; default off
  std::vector<SdeiInstance> events;                  ///< private event instances, indexed like events()
  std::array<SdeiContext, kSdeiMaxNesting> stack{};  ///< interrupted contexts, innermost last
  std::uint8_t depth = 0;                            ///< handlers running on this PE
  /// The context the last COMPLETE / COMPLETE_AND_RESUME popped, for core to restore.
  SdeiContext resume{};
};

/// Everything SDEI owns besides the event declarations: guest state, private to SdeiService.
struct SdeiState {
  std::vector<SdeiVcpu> vcpus;       ///< one per PE, sized at creation
  std::vector<SdeiInstance> shared;  ///< shared event instances, indexed like events() (private entries unused)
  /// Per event, indexed like events(): the INTID a bind slot is bound to, 0 if it is free
  /// (INTIDs below 16 are SGIs and never bound). Guest state: a reset frees every slot.
  std::vector<std::uint32_t> bound;
};

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
  /// Offers event 0 and `extra` (see declare); `interrupts` may be null: then there is nothing to
  /// bind to and no event is dynamic. Starts in the power-on state.
  SdeiService(const VmState& vm, std::span<const SdeiEventDecl> extra, InterruptController* interrupts);

  std::string_view name() const override { return "SDEI"; }
  std::span<const FunctionRange> ranges() const override;
  std::span<const FunctionDesc> functions() const override;
  std::span<const StatusName> statuses() const override { return kSdeiStatuses; }

  void on_vcpu_power_on(unsigned vcpu) override;
  void on_vcpu_resumed(unsigned vcpu) override;
  void on_request(unsigned vcpu, const Request& request) override;
  void on_system_reset() override;

  /// Tag "SDEI": each PE's mask, run state, contexts and private instances; the shared
  /// instances; the bindings. The declarations are configuration: only their count is saved.
  std::uint32_t state_tag() const override { return kStateTag; }
  void save_section(StateWriter& out) const override;
  void load_section(StateReader& in) override;
  void commit_loaded() override;
  /// Between load_section and commit_loaded: the run state the staged section gives `vcpu`.
  SdeiPe staged_pe(unsigned vcpu) const { return loaded_->vcpus.at(vcpu).pe; }
  static constexpr std::uint32_t kStateTag = 0x53'44'45'49;  // "SDEI"

  /// The events on offer, fixed at creation; event 0 is first (DEN0054C: the software-signalled event).
  const std::vector<SdeiEventDecl>& events() const { return events_; }
  /// `vcpu`'s SDEI state (the context COMPLETE popped, for core to restore; mask and depth for tests).
  const SdeiVcpu& vcpu(unsigned vcpu) const { return state_.vcpus.at(vcpu); }

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

 private:
  // The table functions() returns: defined in the .cpp, where its handlers may name private members.
  static const FunctionDesc kFunctions[];
  /// Recounts pending instances and bound slots after the state was replaced (reset, snapshot load).
  void recount();
  void reset_state();
  void load_bindings(StateReader& in, std::vector<std::uint32_t>& bound) const;
  SdeiInstance& instance(unsigned vcpu, std::size_t index);
  const SdeiInstance& instance(unsigned vcpu, std::size_t index) const;
  std::optional<std::size_t> find(std::uint64_t number) const;
  std::optional<std::size_t> next_event(unsigned vcpu) const;
  bool routed_to(const SdeiInstance& shared, unsigned vcpu) const;
  void set_pending(SdeiInstance& inst, bool pending);
  std::uint32_t bound_intid(std::size_t index) const { return state_.bound[index]; }
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

  const VmState& vm_;
  InterruptController* ic_;
  std::vector<SdeiEventDecl> events_;  ///< fixed at creation (declare)
  SdeiState state_;
  std::optional<SdeiState> loaded_;  ///< staged by load_section until commit_loaded
  std::uint32_t pending_ = 0;        ///< instances with pending set, so deliverable() is one test
  std::uint32_t bound_ = 0;          ///< bind slots in use: their interrupts are asked only then
};

}  // namespace emu::fw
