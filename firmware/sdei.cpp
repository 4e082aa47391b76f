// SDEI 1.1 (DEN0054C). The per-event state machine is TF-A's table (sdei_state.c);
// bind slots and the interrupts they own follow TF-A's dispatcher (sdei_main.c).
#include "firmware/sdei.h"

#include <algorithm>
#include <array>
#include <string>

#include "firmware/platform.h"

namespace emu::fw {
namespace {

constexpr std::array kRanges{FunctionRange{owner::kStandardSecure, 0x20, 0x3F}};

// Numbers are FID bits [15:0]; SDEI exists only in the SMC64 form (DEN0054C function IDs).
constexpr FunctionDesc sdei_fn(std::uint32_t fid, std::string_view name, std::array<std::string_view, 5> args,
                               ResultKind result, Handler handler) {
  return {.number = static_cast<std::uint16_t>(fid & 0xFFFF),
          .forms = kSmc64,
          .name = name,
          .name64 = name,
          .args = args,
          .result = result,
          .results = 1,
          .handler = handler};
}

// x0 of an SDEI answer: a status or a value (DEN0054C function descriptions).
void answer(SmcccResult& result, std::int64_t x0) {
  result.x[0] = static_cast<std::uint64_t>(x0);
}

// SDEI's calls compute their answer as a signed x0 (a status or a value).
constexpr std::int64_t kOk = static_cast<std::int64_t>(SdeiStatus::Success);
constexpr std::int64_t kInvalid = static_cast<std::int64_t>(SdeiStatus::InvalidParameters);
constexpr std::int64_t kDenied = static_cast<std::int64_t>(SdeiStatus::Denied);
constexpr std::int64_t kPending = static_cast<std::int64_t>(SdeiStatus::Pending);
constexpr std::int64_t kOutOfResource = static_cast<std::int64_t>(SdeiStatus::OutOfResource);

// MPIDR arguments: the affinity fields, with MPIDR_EL1's RES1 bit 31 allowed so a guest can
// pass the register as read (DEN0054C target PE arguments; TF-A's sdei_main.c).
std::optional<unsigned> vcpu_of_mpidr(std::uint64_t mpidr, unsigned count) {
  return vcpu_of(mpidr & ~(std::uint64_t{1} << 31), count);
}

}  // namespace

SdeiService::SdeiService(const VmState& vm, std::span<const SdeiEventDecl> extra, InterruptController* interrupts)
    : vm_(vm), ic_(interrupts), events_(declare(extra, interrupts != nullptr)) {
  state_.vcpus.resize(vm.vcpu_count());
  reset_state();
}

std::span<const FunctionRange> SdeiService::ranges() const {
  return kRanges;
}
// Every SDEI call answers in x0 alone (DEN0054C function descriptions). The handlers name the
// member that does the work and put its answer in x0.
namespace {
using R = ResultKind;
using C = const SmcccCall&;
using Out = SmcccResult&;
}  // namespace

const FunctionDesc SdeiService::kFunctions[] = {
    sdei_fn(sdei::kVersion, "SDEI_VERSION", {}, R::Value, [](Service&, C, Out r) { r.x[0] = sdei::kVersion1_1; }),
    sdei_fn(sdei::kEventRegister, "SDEI_EVENT_REGISTER", {"event", "entry", "arg", "flags", "affinity"}, R::Status,
            [](Service& s, C c, Out r) { answer(r, self<SdeiService>(s).reg(c)); }),
    sdei_fn(sdei::kEventEnable, "SDEI_EVENT_ENABLE", {"event"}, R::Status,
            [](Service& s, C c, Out r) { answer(r, self<SdeiService>(s).enable(c.vcpu, c.x[1], true)); }),
    sdei_fn(sdei::kEventDisable, "SDEI_EVENT_DISABLE", {"event"}, R::Status,
            [](Service& s, C c, Out r) { answer(r, self<SdeiService>(s).enable(c.vcpu, c.x[1], false)); }),
    sdei_fn(sdei::kEventContext, "SDEI_EVENT_CONTEXT", {"index"}, R::Value,
            member_handler<&SdeiService::event_context>),
    sdei_fn(sdei::kEventComplete, "SDEI_EVENT_COMPLETE", {"status"}, R::Status,
            [](Service& s, C c, Out r) { answer(r, self<SdeiService>(s).complete(c.vcpu, r, std::nullopt)); }),
    sdei_fn(sdei::kEventCompleteAndResume, "SDEI_EVENT_COMPLETE_AND_RESUME", {"resume"}, R::Status,
            [](Service& s, C c, Out r) { answer(r, self<SdeiService>(s).complete(c.vcpu, r, c.x[1])); }),
    sdei_fn(sdei::kEventUnregister, "SDEI_EVENT_UNREGISTER", {"event"}, R::Status,
            [](Service& s, C c, Out r) { answer(r, self<SdeiService>(s).unregister(c.vcpu, c.x[1])); }),
    sdei_fn(sdei::kEventStatus, "SDEI_EVENT_STATUS", {"event"}, R::Value, member_handler<&SdeiService::event_status>),
    sdei_fn(sdei::kEventGetInfo, "SDEI_EVENT_GET_INFO", {"event", "info"}, R::Value,
            [](Service& s, C c, Out r) { answer(r, self<SdeiService>(s).get_info(c.vcpu, c.x[1], c.x[2])); }),
    sdei_fn(sdei::kEventRoutingSet, "SDEI_EVENT_ROUTING_SET", {"event", "mode", "affinity"}, R::Status,
            [](Service& s, C c, Out r) { answer(r, self<SdeiService>(s).routing_set(c.x[1], c.x[2], c.x[3])); }),
    sdei_fn(sdei::kPeMask, "SDEI_PE_MASK", {}, R::Value, member_handler<&SdeiService::pe_mask>),
    sdei_fn(sdei::kPeUnmask, "SDEI_PE_UNMASK", {}, R::Status, member_handler<&SdeiService::pe_unmask>),
    sdei_fn(sdei::kInterruptBind, "SDEI_INTERRUPT_BIND", {"intid"}, R::Value,
            [](Service& s, C c, Out r) { answer(r, self<SdeiService>(s).bind(c.x[1])); }),
    sdei_fn(sdei::kInterruptRelease, "SDEI_INTERRUPT_RELEASE", {"event"}, R::Status,
            [](Service& s, C c, Out r) { answer(r, self<SdeiService>(s).release(c.x[1])); }),
    sdei_fn(sdei::kEventSignal, "SDEI_EVENT_SIGNAL", {"event", "target"}, R::Status,
            [](Service& s, C c, Out r) { answer(r, self<SdeiService>(s).signal_call(c.x[1], c.x[2])); }),
    sdei_fn(sdei::kFeatures, "SDEI_FEATURES", {"feature"}, R::Value, member_handler<&SdeiService::features>),
    sdei_fn(sdei::kPrivateReset, "SDEI_PRIVATE_RESET", {}, R::Status,
            [](Service& s, C c, Out r) { answer(r, self<SdeiService>(s).private_reset(c.vcpu)); }),
    sdei_fn(sdei::kSharedReset, "SDEI_SHARED_RESET", {}, R::Status,
            [](Service& s, C, Out r) { answer(r, self<SdeiService>(s).shared_reset()); }),
};

std::span<const FunctionDesc> SdeiService::functions() const {
  return kFunctions;
}

std::vector<SdeiEventDecl> SdeiService::declare(std::span<const SdeiEventDecl> extra, bool bind_slots) {
  std::vector<SdeiEventDecl> events{{.number = 0, .shared = false, .critical = false, .signalable = true}};
  if (bind_slots) {
    for (unsigned i = 0; i < sdei::kBindSlots; ++i) {
      events.push_back({.number = sdei::kFirstPrivateSlot + i, .shared = false, .dynamic = true});
    }
    for (unsigned i = 0; i < sdei::kBindSlots; ++i) {
      events.push_back({.number = sdei::kFirstSharedSlot + i, .shared = true, .dynamic = true});
    }
  }
  for (const SdeiEventDecl& e : extra) {
    if (e.number == 0) throw ConfigError("sdei_events", "SDEI event 0 is built in (private, normal, signalable)");
    if ((e.number >> 31) != 0) {
      throw ConfigError("sdei_events", "SDEI event " + std::to_string(e.number) + ": numbers are below 2^31");
    }
    if (e.dynamic) throw ConfigError("sdei_events", "SDEI bind slots are the firmware's, not declared");
    for (const SdeiEventDecl& d : events) {
      if (d.number != e.number) continue;
      throw ConfigError("sdei_events", "SDEI event " + std::to_string(e.number) +
                                           (d.dynamic ? " is a bind slot (SDEI_INTERRUPT_BIND)" : " twice"));
    }
    events.push_back(e);
  }
  // By number, so that the first of several pending events in table order is the lowest.
  std::stable_sort(events.begin(), events.end(),
                   [](const SdeiEventDecl& a, const SdeiEventDecl& b) { return a.number < b.number; });
  return events;
}

SdeiInstance& SdeiService::instance(unsigned vcpu, std::size_t index) {
  return events_[index].shared ? state_.shared[index] : state_.vcpus[vcpu].events[index];
}
const SdeiInstance& SdeiService::instance(unsigned vcpu, std::size_t index) const {
  return events_[index].shared ? state_.shared[index] : state_.vcpus[vcpu].events[index];
}

std::optional<std::size_t> SdeiService::find(std::uint64_t number) const {
  for (std::size_t i = 0; i < events_.size(); ++i) {
    if (events_[i].number == number) return i;
  }
  return std::nullopt;
}

void SdeiService::set_pending(SdeiInstance& inst, bool pending) {
  if (inst.pending == pending) return;
  inst.pending = pending;
  pending ? ++pending_ : --pending_;
}

// SDEI_EVENT_CONTEXT (DEN0054C): x0 is the value, or the status when it cannot be read.
void SdeiService::event_context(const SmcccCall& call, SmcccResult& result) const {
  std::uint64_t value = 0;
  const std::int64_t status = context(call.vcpu, call.x[1], value);
  answer(result, status == kOk ? static_cast<std::int64_t>(value) : status);
}

// SDEI_EVENT_STATUS (DEN0054C): the registered, enabled and running bits. A shared handler runs
// on one PE; STATUS reports it from every PE (TF-A keeps one state word for a shared event).
void SdeiService::event_status(const SmcccCall& call, SmcccResult& result) const {
  const std::optional<std::size_t> index = find(call.x[1]);
  if (!index) {
    answer(result, kInvalid);
    return;
  }
  const SdeiInstance& inst = instance(call.vcpu, *index);
  result.x[0] = (inst.registered ? sdei::kStatusRegistered : 0) | (inst.enabled ? sdei::kStatusEnabled : 0) |
                (inst.running ? sdei::kStatusRunning : 0);
}

// SDEI_PE_MASK: 1 if this call masked the PE, 0 if it was masked already (DEN0054C SDEI_PE_MASK, TF-A).
void SdeiService::pe_mask(const SmcccCall& call, SmcccResult& result) {
  SdeiVcpu& v = state_.vcpus[call.vcpu];
  result.x[0] = v.masked ? 0 : 1;
  v.masked = true;
}

// SDEI_PE_UNMASK (DEN0054C): always SUCCESS.
void SdeiService::pe_unmask(const SmcccCall& call, SmcccResult& result) {
  state_.vcpus[call.vcpu].masked = false;
  answer(result, kOk);
}

// SDEI_FEATURES (DEN0054C): only BIND_SLOTS is a feature here; RELATIVE_MODE (1) and the rest
// are INVALID_PARAMETERS, as TF-A answers, since relative entry points are not supported.
void SdeiService::features(const SmcccCall& call, SmcccResult& result) const {
  if (call.x[1] == sdei::kFeatureBindSlots) {
    result.x[0] = bind_slots();
    return;
  }
  answer(result, kInvalid);
}

// REGISTER(event, entry, arg, flags, affinity) (DEN0054C SDEI_EVENT_REGISTER). RM_PE needs the affinity of
// a PE that exists, for any event (TF-A validate_flags); a private event always targets the
// calling PE, so for it the mode is then ignored. Registering a bound event takes its
// interrupt from the guest, unless the guest has it active (TF-A sdei_event_register).
std::int64_t SdeiService::reg(const SmcccCall& call) {
  const std::optional<std::size_t> index = find(call.x[1]);
  const std::uint64_t entry = call.x[2];
  const std::uint64_t flags = call.x[4];
  if (!index || entry == 0 || (flags & ~sdei::kFlagRoutePe) != 0) return kInvalid;  // incl. relative mode
  if (!vm_.in_ram(entry, 4)) return kInvalid;  // platform validation of the entry point
  const SdeiEventDecl& decl = events_[*index];
  const bool route_pe = decl.shared && (flags & sdei::kFlagRoutePe) != 0;
  if ((flags & sdei::kFlagRoutePe) != 0 && !vcpu_of_mpidr(call.x[5], vm_.vcpu_count())) return kInvalid;
  SdeiInstance& inst = instance(call.vcpu, *index);
  if (inst.registered || inst.running) return kDenied;
  if (decl.dynamic) {
    const std::uint32_t intid = bound_intid(*index);
    if (intid == 0 || ic_->active(call.vcpu, intid)) return kDenied;
    ic_->claim(call.vcpu, intid, true);
  }
  inst.registered = true;
  inst.enabled = false;
  inst.entry = entry;
  inst.arg = call.x[3];
  inst.route_pe = route_pe;
  inst.affinity = route_pe ? (call.x[5] & ~(std::uint64_t{1} << 31)) : 0;
  return kOk;
}

std::int64_t SdeiService::enable(unsigned vcpu, std::uint64_t event, bool on) {
  const std::optional<std::size_t> index = find(event);
  if (!index) return kInvalid;
  SdeiInstance& inst = instance(vcpu, *index);
  if (!inst.registered) return kDenied;
  if (inst.enabled != on && bound_intid(*index) != 0) ic_->enable(vcpu, bound_intid(*index), on);
  inst.enabled = on;
  return kOk;
}

// An unregistered bound event's interrupt goes back to the guest, even while its handler
// still runs: COMPLETE then only deactivates it (TF-A sdei_event_unregister).
void SdeiService::give_back(unsigned vcpu, std::size_t index) {
  if (bound_intid(index) != 0) ic_->claim(vcpu, bound_intid(index), false);
}

// Always disables; a running handler makes it PENDING: unregistered when it completes.
std::int64_t SdeiService::unregister(unsigned vcpu, std::uint64_t event) {
  const std::optional<std::size_t> index = find(event);
  if (!index) return kInvalid;
  SdeiInstance& inst = instance(vcpu, *index);
  if (!inst.registered) return inst.running ? kPending : kDenied;
  inst.registered = false;
  inst.enabled = false;
  set_pending(inst, false);
  give_back(vcpu, *index);
  return inst.running ? kPending : kOk;
}

// GET_INFO selectors (DEN0054C SDEI_EVENT_GET_INFO); selector 1 answers 1 for a signalable
// event, as Linux names it (EV_SIGNALED in include/uapi/linux/arm_sdei.h); TF-A answers the
// inverse (EV_NOT_SIGNALED).
std::int64_t SdeiService::get_info(unsigned vcpu, std::uint64_t event, std::uint64_t selector) {
  const std::optional<std::size_t> index = find(event);
  if (!index) return kInvalid;
  const SdeiEventDecl& decl = events_[*index];
  const SdeiInstance& inst = instance(vcpu, *index);
  switch (selector) {
    case 0: return decl.shared ? 1 : 0;
    case 1: return decl.signalable ? 1 : 0;
    case 2: return decl.critical ? 1 : 0;
    case 3:
      if (!decl.shared) return kInvalid;
      if (!inst.registered) return kDenied;
      return inst.route_pe ? 1 : 0;
    case 4:
      if (!decl.shared) return kInvalid;
      if (!inst.registered) return kDenied;
      if (!inst.route_pe) return kInvalid;
      return static_cast<std::int64_t>(inst.affinity);
    default: return kInvalid;
  }
}

// ROUTING_SET: shared events only, registered + disabled + not running (DEN0054C SDEI_EVENT_ROUTING_SET). The
// spec limits it to bound events; every shared event here is platform-triggered, so any
// shared event qualifies.
std::int64_t SdeiService::routing_set(std::uint64_t event, std::uint64_t mode, std::uint64_t affinity) {
  const std::optional<std::size_t> index = find(event);
  if (!index || !events_[*index].shared || mode > 1) return kInvalid;
  if (mode == 1 && !vcpu_of_mpidr(affinity, vm_.vcpu_count())) return kInvalid;
  SdeiInstance& inst = state_.shared[*index];
  if (!inst.registered || inst.enabled || inst.running) return kDenied;
  inst.route_pe = mode == 1;
  inst.affinity = mode == 1 ? (affinity & ~(std::uint64_t{1} << 31)) : 0;
  return kOk;
}

std::int64_t SdeiService::context(unsigned vcpu, std::uint64_t index, std::uint64_t& value) const {
  const SdeiVcpu& v = state_.vcpus[vcpu];
  if (v.depth == 0) return kDenied;
  if (index >= kCallRegisters) return kInvalid;
  value = v.stack[v.depth - 1].x[index];
  return kOk;
}

// COMPLETE / COMPLETE_AND_RESUME (DEN0054C): pop the topmost context into the PE's resume context and
// ask core to restore it; the call does not return to the handler.
std::int64_t SdeiService::complete(unsigned vcpu, SmcccResult& result, std::optional<std::uint64_t> resume) {
  SdeiVcpu& v = state_.vcpus[vcpu];
  if (v.depth == 0) return kDenied;
  if (resume && !vm_.in_ram(*resume, 4)) return kDenied;  // platform validation of the address
  v.resume = v.stack[--v.depth];
  SdeiInstance& inst = instance(vcpu, v.resume.event);
  inst.running = false;  // an unregister-pending event is now simply unregistered
  // The end of the interrupt: a level still high triggers the event again (TF-A EOIs here).
  if (bound_intid(v.resume.event) != 0) ic_->deactivate(vcpu, bound_intid(v.resume.event));
  result.request.kind = resume ? RequestKind::SdeiCompleteAndResume : RequestKind::SdeiComplete;
  result.request.entry = resume.value_or(0);
  result.count = 0;  // nothing is written back: the interrupted registers are restored
  return kOk;
}

// EVENT_SIGNAL(event, target) (DEN0054C SDEI_EVENT_SIGNAL, TF-A rules). TF-A accepts only event 0; here any
// event declared signalable may be raised (GET_INFO's EV_SIGNALED is a per-event property),
// which lets a guest test critical-over-normal nesting without an interrupt source.
std::int64_t SdeiService::signal_call(std::uint64_t event, std::uint64_t target) {
  const std::optional<std::size_t> index = find(event);
  if (!index || !events_[*index].signalable) return kInvalid;
  const std::optional<unsigned> t = vcpu_of_mpidr(target, vm_.vcpu_count());
  if (!t || state_.vcpus[*t].masked) return kInvalid;
  SdeiInstance& inst = instance(*t, *index);
  if (!inst.registered || !inst.enabled) return kInvalid;
  set_pending(inst, true);
  return kOk;
}

// INTERRUPT_BIND(intid) (TF-A sdei_interrupt_bind): a PPI takes a private slot, an SPI a
// shared one; an interrupt already bound answers its event again. SGIs and INTIDs the GIC
// does not implement are INVALID_PARAMETERS; no free slot of the kind is OUT_OF_RESOURCE.
// The interrupt changes hands only when the event is registered.
std::int64_t SdeiService::bind(std::uint64_t intid) {
  if (ic_ == nullptr) return kOutOfResource;  // nothing to bind to: no slots
  const InterruptController::Kind kind =
      intid > 0xFFFF'FFFFu ? InterruptController::Kind::None : ic_->kind(static_cast<std::uint32_t>(intid));
  if (kind != InterruptController::Kind::Ppi && kind != InterruptController::Kind::Spi) return kInvalid;
  const bool shared = kind == InterruptController::Kind::Spi;
  std::optional<std::size_t> free;
  for (std::size_t i = 0; i < events_.size(); ++i) {
    const SdeiEventDecl& d = events_[i];
    if (!d.dynamic || d.shared != shared) continue;
    if (bound_intid(i) == intid) return d.number;
    if (bound_intid(i) == 0 && !free) free = i;
  }
  if (!free) return kOutOfResource;
  state_.bound[*free] = static_cast<std::uint32_t>(intid);
  ++bound_;
  return events_[*free].number;
}

// INTERRUPT_RELEASE(event) (TF-A sdei_interrupt_release): only a bound slot, unregistered on
// every PE and with its interrupt inactive, is freed.
std::int64_t SdeiService::release(std::uint64_t event) {
  const std::optional<std::size_t> index = find(event);
  if (!index || !events_[*index].dynamic || bound_intid(*index) == 0) return kInvalid;
  const bool shared = events_[*index].shared;
  for (unsigned v = 0; v < vm_.vcpu_count(); ++v) {
    const SdeiInstance& inst = instance(v, *index);
    if (inst.registered || inst.running || ic_->active(v, bound_intid(*index))) return kDenied;
    if (shared) break;
  }
  state_.bound[*index] = 0;
  --bound_;
  return kOk;
}

std::uint64_t SdeiService::bind_slots() const {
  std::uint64_t priv = 0;
  std::uint64_t shared = 0;
  for (const SdeiEventDecl& d : events_) {
    if (d.dynamic) ++(d.shared ? shared : priv);
  }
  return (priv & 0xFFFF) | ((shared & 0xFFFF) << 16);
}

std::int64_t SdeiService::private_reset(unsigned vcpu) {
  std::int64_t status = kOk;
  for (std::size_t i = 0; i < events_.size(); ++i) {
    if (events_[i].shared) continue;
    SdeiInstance& inst = state_.vcpus[vcpu].events[i];
    if (inst.running) {
      status = kDenied;  // the others are still unregistered (DEN0054C SDEI_PRIVATE_RESET)
      continue;
    }
    if (inst.registered) give_back(vcpu, i);
    set_pending(inst, false);
    inst = SdeiInstance{};
  }
  return status;
}

// Unregisters every shared event, then frees every bind slot, private ones too (TF-A
// sdei_shared_reset); a slot some PE still has registered stays bound, and the call is DENIED.
std::int64_t SdeiService::shared_reset() {
  std::int64_t status = kOk;
  for (std::size_t i = 0; i < events_.size(); ++i) {
    if (!events_[i].shared) continue;
    SdeiInstance& inst = state_.shared[i];
    if (inst.running) {
      status = kDenied;
      continue;
    }
    if (inst.registered) give_back(0, i);
    set_pending(inst, false);
    inst = SdeiInstance{};
  }
  if (status != kOk) return status;
  for (std::size_t i = 0; i < events_.size(); ++i) {
    if (bound_intid(i) != 0 && release(events_[i].number) != kOk) status = kDenied;
  }
  return status;
}

HostStatus SdeiService::signal(std::uint32_t event, unsigned vcpu) {
  const std::optional<std::size_t> index = find(event);
  if (!index || vcpu >= vm_.vcpu_count() || events_[*index].dynamic) return HostStatus::Invalid;
  SdeiInstance& inst = instance(vcpu, *index);
  if (!inst.registered || !inst.enabled) return HostStatus::Busy;
  set_pending(inst, true);
  return HostStatus::Ok;
}

bool SdeiService::routed_to(const SdeiInstance& shared, unsigned vcpu) const {
  if (shared.route_pe) return vcpu_of(shared.affinity, vm_.vcpu_count()) == vcpu;
  // RM_ANY: the lowest-numbered PE that could take it now, so the choice is deterministic.
  for (unsigned i = 0; i < vm_.vcpu_count(); ++i) {
    const SdeiVcpu& v = state_.vcpus[i];
    if (v.pe == SdeiPe::On && !v.masked && v.depth == 0) return i == vcpu;
  }
  return false;
}

// The most urgent event that may dispatch on `vcpu` (DEN0054C dispatch conditions): registered, enabled, not
// running, pending; the PE unmasked and on; critical before normal, lowest number first;
// a running normal handler admits only a critical event, a critical one nothing.
std::optional<std::size_t> SdeiService::next_event(unsigned vcpu) const {
  const SdeiVcpu& v = state_.vcpus[vcpu];
  if (v.masked || v.pe != SdeiPe::On || !any_pending()) return std::nullopt;
  bool in_critical = false;
  if (v.depth != 0) {
    in_critical = events_[v.stack[v.depth - 1].event].critical;
    if (in_critical || v.depth >= kSdeiMaxNesting) return std::nullopt;
  }
  std::optional<std::size_t> best;
  for (std::size_t i = 0; i < events_.size(); ++i) {
    const SdeiEventDecl& decl = events_[i];
    const SdeiInstance& inst = instance(vcpu, i);
    if (!triggered(vcpu, i, inst) || !inst.registered || !inst.enabled || inst.running) continue;
    if (v.depth != 0 && !decl.critical) continue;
    if (decl.shared && !routed_to(inst, vcpu) &&
        !(v.depth != 0 && inst.route_pe && vcpu_of(inst.affinity, vm_.vcpu_count()) == vcpu)) {
      continue;
    }
    if (!best || (decl.critical && !events_[*best].critical)) best = i;
  }
  return best;
}

// A bound event triggers through its interrupt: pending and enabled in the GIC, not active
// (so not again until COMPLETE). For an SPI the GIC's routing is not asked: SDEI routes it.
bool SdeiService::triggered(unsigned vcpu, std::size_t index, const SdeiInstance& inst) const {
  const std::uint32_t intid = bound_intid(index);
  return intid == 0 ? inst.pending : ic_->triggered(vcpu, intid);
}

bool SdeiService::bound_triggered() const {
  for (std::size_t i = 0; i < events_.size(); ++i) {
    const std::uint32_t intid = bound_intid(i);
    if (intid == 0) continue;
    const unsigned pes = events_[i].shared ? 1 : vm_.vcpu_count();
    for (unsigned v = 0; v < pes; ++v) {
      if (ic_->triggered(v, intid)) return true;
    }
  }
  return false;
}

bool SdeiService::deliverable(unsigned vcpu) const {
  return any_pending() && next_event(vcpu).has_value();
}

std::optional<SdeiEntry> SdeiService::begin_dispatch(unsigned vcpu, const SdeiContext& interrupted) {
  const std::optional<std::size_t> index = next_event(vcpu);
  if (!index) return std::nullopt;
  SdeiVcpu& v = state_.vcpus[vcpu];
  SdeiInstance& inst = instance(vcpu, *index);
  set_pending(inst, false);
  if (bound_intid(*index) != 0) ic_->acknowledge(vcpu, bound_intid(*index));
  inst.running = true;
  inst.running_on = vcpu;
  SdeiContext& saved = v.stack[v.depth++];
  saved = interrupted;
  saved.event = static_cast<std::uint32_t>(*index);
  return SdeiEntry{.event = events_[*index].number, .arg = inst.arg, .entry = inst.entry};
}

// A PE that (re)starts (boot, CPU_ON, power-down wake-up) is masked and runs no handler; its
// private registrations are kept until PRIVATE_RESET (DEN0054C PE masking; TF-A
// sdei_cpu_on_init only masks). A handler it was running is over: unregister-pending
// events become unregistered.
void SdeiService::on_vcpu_power_on(unsigned vcpu) {
  SdeiVcpu& v = state_.vcpus[vcpu];
  v.masked = true;
  for (std::uint8_t i = 0; i < v.depth; ++i) {
    const std::uint32_t event = v.stack[i].event;
    instance(vcpu, event).running = false;
    if (bound_intid(event) != 0) ic_->deactivate(vcpu, bound_intid(event));  // nobody will COMPLETE it
  }
  v.depth = 0;
}

// Whether a PE can take an event follows the PSCI calls as they return (DEN0022F.b: CPU_ON's
// target is ON at once; CPU_OFF's and CPU_SUSPEND's callers are not ON from then on) and the
// wake-up core reports, so SDEI needs neither PSCI's state nor a place after PSCI in any order.
void SdeiService::on_request(unsigned vcpu, const Request& request) {
  switch (request.kind) {
    case RequestKind::CpuOn:
      if (request.target < state_.vcpus.size()) state_.vcpus[request.target].pe = SdeiPe::On;
      return;
    case RequestKind::CpuOff: state_.vcpus[vcpu].pe = SdeiPe::Off; return;
    case RequestKind::CpuSuspend:
    case RequestKind::SystemSuspend: state_.vcpus[vcpu].pe = SdeiPe::Asleep; return;
    default: return;
  }
}

// A wake-up from CPU_SUSPEND or SYSTEM_SUSPEND: running again (a power-down wake-up is also a
// power-on, which masks the PE).
void SdeiService::on_vcpu_resumed(unsigned vcpu) {
  if (state_.vcpus[vcpu].pe == SdeiPe::Asleep) state_.vcpus[vcpu].pe = SdeiPe::On;
}

// A reset returns every event, mask and binding to its boot value, the boot PE running and the
// others off (DEN0054C: the state after a system reset is the state at boot).
void SdeiService::on_system_reset() {
  reset_state();
}

void SdeiService::reset_state() {
  for (SdeiVcpu& v : state_.vcpus) v = SdeiVcpu{.events = std::vector<SdeiInstance>(events_.size())};
  if (!state_.vcpus.empty()) state_.vcpus[0].pe = SdeiPe::On;
  state_.shared.assign(events_.size(), SdeiInstance{});
  state_.bound.assign(events_.size(), 0);
  recount();
}

void SdeiService::recount() {
  bound_ = static_cast<std::uint32_t>(
      std::count_if(state_.bound.begin(), state_.bound.end(), [](std::uint32_t intid) { return intid != 0; }));
  pending_ = 0;
  for (const SdeiInstance& inst : state_.shared) pending_ += inst.pending ? 1 : 0;
  for (const SdeiVcpu& v : state_.vcpus) {
    for (const SdeiInstance& inst : v.events) pending_ += inst.pending ? 1 : 0;
  }
}

namespace {
void save_instance(StateWriter& out, const SdeiInstance& i) {
  out.u8(static_cast<std::uint8_t>((i.registered ? 1 : 0) | (i.enabled ? 2 : 0) | (i.running ? 4 : 0) |
                                   (i.pending ? 8 : 0) | (i.route_pe ? 16 : 0)));
  out.u64(i.entry);
  out.u64(i.arg);
  out.u64(i.affinity);
  out.u64(i.running_on);
}

// Enabled implies registered (DEN0054C event states); a vCPU number and an RM_PE target must
// name a vCPU of this VM.
SdeiInstance load_instance(StateReader& in, unsigned vcpus) {
  SdeiInstance i;
  const std::uint8_t bits = in.u8();
  if (bits > 31 || ((bits & 2) != 0 && (bits & 1) == 0)) throw StateError("corrupt state: an SDEI event state");
  i.registered = (bits & 1) != 0;
  i.enabled = (bits & 2) != 0;
  i.running = (bits & 4) != 0;
  i.pending = (bits & 8) != 0;
  i.route_pe = (bits & 16) != 0;
  i.entry = in.u64();
  i.arg = in.u64();
  i.affinity = in.u64();
  i.running_on = static_cast<std::uint32_t>(in.below(vcpus, "SDEI vCPU"));
  if (i.route_pe && !vcpu_of(i.affinity, vcpus)) throw StateError("corrupt state: an SDEI affinity");
  return i;
}

void save_context(StateWriter& out, const SdeiContext& c) {
  for (const std::uint64_t x : c.x) out.u64(x);
  out.u64(c.pc);
  out.u64(c.pstate);
  out.u64(c.event);
}

SdeiContext load_context(StateReader& in, std::size_t events) {
  SdeiContext c;
  for (std::uint64_t& x : c.x) x = in.u64();
  c.pc = in.u64();
  c.pstate = in.u64();
  c.event = static_cast<std::uint32_t>(in.below(events, "SDEI event index"));
  return c;
}
}  // namespace

void SdeiService::save_section(StateWriter& out) const {
  out.u64(events_.size());
  for (const SdeiVcpu& v : state_.vcpus) {
    out.boolean(v.masked);
    out.u8(static_cast<std::uint8_t>(v.pe));
    out.u64(v.depth);
    for (std::uint8_t i = 0; i < v.depth; ++i) save_context(out, v.stack[i]);
    save_context(out, v.resume);
    for (const SdeiInstance& i : v.events) save_instance(out, i);
  }
  for (const SdeiInstance& i : state_.shared) save_instance(out, i);
  for (const std::uint32_t intid : state_.bound) out.u32(intid);
}

void SdeiService::load_section(StateReader& in) {
  if (in.u64() != events_.size()) throw StateError("the state is for another set of SDEI events");
  SdeiState s{.vcpus = std::vector<SdeiVcpu>(state_.vcpus.size()),
              .shared = std::vector<SdeiInstance>(events_.size()),
              .bound = std::vector<std::uint32_t>(events_.size())};
  for (SdeiVcpu& v : s.vcpus) {
    v.masked = in.boolean();
    const std::uint8_t pe = in.u8();
    if (pe > static_cast<std::uint8_t>(SdeiPe::Asleep)) throw StateError("corrupt state: an SDEI PE state");
    v.pe = static_cast<SdeiPe>(pe);
    v.depth = static_cast<std::uint8_t>(in.below(kSdeiMaxNesting + 1, "SDEI nesting depth"));
    for (std::uint8_t i = 0; i < v.depth; ++i) v.stack[i] = load_context(in, events_.size());
    v.resume = load_context(in, events_.size());
    v.events.resize(events_.size());
    for (SdeiInstance& i : v.events) i = load_instance(in, vm_.vcpu_count());
  }
  for (SdeiInstance& i : s.shared) i = load_instance(in, vm_.vcpu_count());
  load_bindings(in, s.bound);
  loaded_ = std::move(s);
}

// Bind slots: free (0), or a PPI for a private slot or an SPI for a shared one, each bound once
// (the rules of SDEI_INTERRUPT_BIND; the INTID ranges are GICv3's, IHI 0069H §2.2).
void SdeiService::load_bindings(StateReader& in, std::vector<std::uint32_t>& bound) const {
  for (std::size_t i = 0; i < events_.size(); ++i) {
    const std::uint32_t intid = in.u32();
    const SdeiEventDecl& d = events_[i];
    const bool fits = intid == 0 || (d.dynamic && (d.shared ? intid >= 32 && intid < 1020 : intid >= 16 && intid < 32));
    const auto before = bound.begin() + static_cast<std::ptrdiff_t>(i);
    if (!fits || (intid != 0 && std::find(bound.begin(), before, intid) != before)) {
      throw StateError("corrupt state: an SDEI interrupt binding");
    }
    bound[i] = intid;
  }
}

void SdeiService::commit_loaded() {
  state_ = std::move(*loaded_);
  loaded_.reset();
  recount();
}

}  // namespace emu::fw
