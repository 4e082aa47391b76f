// SMCCC dispatch (DEN0028: function identifiers, argument and result registers, Unknown Function Identifier).
#include "firmware/dispatcher.h"

#include <fmt/format.h>
#include <algorithm>
#include <bit>

namespace emu::fw {
namespace {

std::string_view request_text(const Request& r) {
  switch (r.kind) {
    case RequestKind::SystemOff: return r.hibernate ? "(system off: hibernate)" : "(system off)";
    case RequestKind::SystemReset: return r.reset == ResetType::Warm ? "(system warm reset)" : "(system cold reset)";
    case RequestKind::CpuOff: return "(cpu off)";
    case RequestKind::CpuSuspend: return "(cpu powered down)";
    case RequestKind::SystemSuspend: return "(system suspended)";
    case RequestKind::SdeiComplete: return "(handler complete: interrupted context resumed)";
    case RequestKind::SdeiCompleteAndResume: return "(handler complete: resumed at the given address)";
    default: return "";
  }
}

void append_hex(fmt::memory_buffer& out, std::uint64_t v) {
  if (v == 0) {
    out.push_back('0');
  } else {
    fmt::format_to(std::back_inserter(out), "{:#x}", v);
  }
}

}  // namespace

void Dispatcher::add(Service& service) {
  const auto fail = [&](const std::string& what) {
    throw TableError(fmt::format("firmware table of service '{}': {}", service.name(), what));
  };
  const auto ranges = service.ranges();
  const auto functions = service.functions();
  if (ranges.empty()) fail("declares no function range");
  if (functions.size() >= kNoFunction) fail("too many functions");

  std::vector<Route> added;
  for (const FunctionRange& r : ranges) {
    // A FunctionDesc has no owner, so a service lives in exactly one.
    if (r.owner != ranges[0].owner) fail("declares ranges in more than one owner");
    if (r.owner >= owner::kCount) fail(fmt::format("owner {} is outside 0..63", r.owner));
    if (r.first > r.last) fail(fmt::format("empty range {:#x}..{:#x}", r.first, r.last));
    const auto overlaps = [&](const FunctionRange& o) {
      return o.owner == r.owner && r.first <= o.last && o.first <= r.last;
    };
    for (const Route& existing : owners_[r.owner].routes) {
      if (overlaps(existing.range)) {
        fail(fmt::format("range {}:{:#x}..{:#x} overlaps service '{}'", r.owner, r.first, r.last,
                         existing.service->name()));
      }
    }
    for (const Route& mine : added) {
      if (overlaps(mine.range)) fail(fmt::format("its own ranges overlap at owner {}", r.owner));
    }
    Route route{r, &service, functions, std::vector<std::uint8_t>(std::size_t{r.last} - r.first + 1u, kNoFunction),
                std::vector<std::uint8_t>(functions.size())};
    for (std::size_t i = 0; i < functions.size(); ++i)
      route.reads[i] = static_cast<std::uint8_t>(functions[i].registers_read());
    added.push_back(std::move(route));
  }
  for (std::size_t i = 0; i < functions.size(); ++i) {
    const FunctionDesc& fn = functions[i];
    if (fn.forms == 0 || (fn.forms & ~kBothForms) != 0) fail(fmt::format("{} has no valid form", fn.name));
    if (fn.results < 1 || fn.results > kCallRegisters) fail(fmt::format("{} has a bad result count", fn.name));
    if (fn.handler == nullptr) fail(fmt::format("{} has no handler", fn.name));
    bool placed = false;
    for (Route& route : added) {
      if (fn.number < route.range.first || fn.number > route.range.last) continue;
      std::uint8_t& slot = route.slot[fn.number - route.range.first];
      if (slot != kNoFunction) fail(fmt::format("function number {:#x} is declared twice", fn.number));
      slot = static_cast<std::uint8_t>(i);
      placed = true;
    }
    if (!placed) fail(fmt::format("{} ({:#x}) lies outside the service's ranges", fn.name, fn.number));
  }
  for (Route& route : added) owners_[route.range.owner].routes.push_back(std::move(route));
  services_.push_back(&service);
  service.attach(*this);
}

const Dispatcher::Route* Dispatcher::route_for(std::uint8_t owner_number, std::uint16_t number) const {
  for (const Route& route : owners_[owner_number].routes) {
    if (number >= route.range.first && number <= route.range.last) return &route;
  }
  return nullptr;
}

Dispatcher::Found Dispatcher::find(std::uint32_t fid) const {
  if (frozen_) {
    // The table's index ignores bit 16 as decode() does; no need to decode.
    if (!flat_shape(fid)) return {};
    const FlatEntry& e = flat_entry(fid);
    return {e.service, e.fn, e.reads};
  }
  return find(FunctionId::decode(fid));
}

Dispatcher::Found Dispatcher::find(const FunctionId& id) const {
  if (!frozen_) return find_routed(id);
  // The table the fast path answers from, so discovery and routing cannot disagree.
  if (!flat_shape(id.raw)) return {};
  const FlatEntry& e = flat_entry(id.raw);
  return {e.service, e.fn, e.reads};
}

Dispatcher::Found Dispatcher::find_routed(const FunctionId& id) const {
  // Yielding calls exist only for Trusted OS owners, and this model has none (DEN0028 Yielding Calls).
  if (!id.fast || id.reserved_set) return {};
  const Route* route = route_for(id.owner, id.number);
  if (route == nullptr) return {};
  const std::uint8_t index = route->slot[id.number - route->range.first];
  if (index == kNoFunction) return {};
  const FunctionDesc& fn = route->functions[index];
  if ((fn.forms & (id.smc64 ? kSmc64 : kSmc32)) == 0) return {};
  if (!route->service->available(fn)) return {};
  if (fn.gated64 && id.smc64 && !route->service->offers_smc64(fn)) return {};
  return {route->service, &fn, route->reads[index]};
}

std::uint32_t Dispatcher::call_count(std::uint8_t owner_number) const {
  return frozen_ ? flat_counts_[owner_number] : count_routed(owner_number);
}

std::uint32_t Dispatcher::count_routed(std::uint8_t owner_number) const {
  // Counted from the routing slots, so a function is counted once and only if it is routable.
  std::uint32_t count = 0;
  for (const Route& route : owners_[owner_number].routes) {
    if (route.range.first >= 0xFF00) continue;
    for (const std::uint8_t index : route.slot) {
      if (index == kNoFunction) continue;
      const FunctionDesc& fn = route.functions[index];
      if (!route.service->available(fn)) continue;
      if ((fn.forms & kSmc32) != 0) ++count;
      if ((fn.forms & kSmc64) != 0 && (!fn.gated64 || route.service->offers_smc64(fn))) ++count;
    }
  }
  return count;
}

// Every (form, function) the services offer now gets its entry; the filter's verdict decides
// whether the fast path may answer it. Anything without an entry takes the slow path, which
// consults the filter (a forwarded range may cover FIDs no service defines).
void Dispatcher::freeze() {
  frozen_ = false;  // find() below must ask the services, not the table being built
  update_fast();
  flat_index_.assign(kFlatKeys, 0);
  flat_blocks_.assign(1, FlatBlock{});
  for (std::uint8_t o = 0; o < owner::kCount; ++o) {
    for (const Route& route : owners_[o].routes) {
      for (std::uint32_t n = route.range.first; n <= route.range.last; ++n) {
        if (route.slot[n - route.range.first] == kNoFunction) continue;
        for (const bool smc64 : {false, true}) {
          const std::uint32_t fid = make_fast_fid(smc64, o, static_cast<std::uint16_t>(n));
          const FunctionId id = FunctionId::decode(fid);
          const Found found = find_routed(id);
          if (!found) continue;
          std::uint8_t& block = flat_index_[((fid >> 16) & 0x7F00u) | ((fid >> 8) & 0xFFu)];
          if (block == 0) {
            if (flat_blocks_.size() > 0xFF) throw TableError("firmware table: more than 255 blocks of 256 FIDs");
            block = static_cast<std::uint8_t>(flat_blocks_.size());
            flat_blocks_.emplace_back();
          }
          const bool direct = filter_ == nullptr || filter_->action(fid) == FilterAction::Handle;
          flat_blocks_[block][fid & 0xFFu] = {
              found.service, found.fn->handler, found.fn, found.reads, found.fn->results, id, direct};
        }
      }
    }
    flat_counts_[o] = count_routed(o);
  }
  frozen_ = true;
  update_fast();
}

void Dispatcher::announce(unsigned vcpu, const Request& request) const {
  for (Service* s : services_) s->on_request(vcpu, request);
}

void Dispatcher::dispatch_slow(SmcccCall& call, SmcccResult& result) {
  call.id = FunctionId::decode(call.x[0]);
  result.request = {};
  // SMCCC calls use immediate #0; other immediates are outside SMCCC (DEN0028) and are neither
  // filtered nor forwarded (as KVM's handle_smc in arch/arm64/kvm/handle_exit.c).
  const FilterAction action = call.imm == 0 && filter_ != nullptr ? filter_->action(call.id.raw) : FilterAction::Handle;

  if (action == FilterAction::ForwardToHost) [[unlikely]] {
    // The host answers: nothing is written back here (KVM_EXIT_HYPERCALL, Documentation/virt/kvm/api.rst).
    const Found named = trace_ != nullptr ? find(call.id) : Found{};
    // The trace prints the arguments: read them first (the host reads the rest itself).
    if (named && call.loaded < named.reads) call.source->load(call, named.reads);
    if (trace_ != nullptr) trace_call(call, named);
    result.count = 0;
    result.request = {.kind = RequestKind::ForwardToHost};
    announce(call.vcpu, result.request);
    if (trace_ != nullptr) trace_result(call, named, result, "(forwarded to the host)");
    return;
  }

  // The filter first, then the service-selection bitmaps (inside find, through available()).
  const Found found = call.imm == 0 && action == FilterAction::Handle ? find(call.id) : Found{};
  if (!found) {
    if (trace_ != nullptr) trace_call(call, found);
    set_not_supported(result);
    if (trace_ != nullptr) {
      trace_result(call, found, result, action == FilterAction::Deny ? "(denied by the filter)" : "");
    }
    return;
  }
  if (call.loaded < found.reads) call.source->load(call, found.reads);
  dispatch_found(call, found, result);
}

// A defined call on the slow path: narrow the argument registers for SMC32, trace,
// answer (or inject a fault), apply the SMC32 result rule, trace the answer.
void Dispatcher::dispatch_found(SmcccCall& call, const Found& found, SmcccResult& result) {
  if (!call.id.smc64) narrow_smc32_arguments(call, found.reads);
  if (trace_ != nullptr) trace_call(call, found);

  result.x[0] = result.x[1] = result.x[2] = result.x[3] = 0;
  result.count = found.fn->results;
  if (faults_ != nullptr && inject_fault(call, found, result)) [[unlikely]]
    return;
  found.fn->handler(*found.service, call, result);
  if (!call.id.smc64) truncate_smc32_results(result);
  if (result.request.kind != RequestKind::None) announce(call.vcpu, result.request);

  if (trace_ != nullptr) trace_result(call, found, result);
}

// A fault rule fires: the function is not run (no side effect, no request), x0 is the error
// and x1..x3 are zero, as for any error the model answers itself.
bool Dispatcher::inject_fault(const SmcccCall& call, const Found& found, SmcccResult& result) {
  const std::optional<std::int32_t> code = faults_->on_call(call.id.raw);
  if (!code) return false;
  result.x[0] = status_reg(*code);
  if (!call.id.smc64) truncate_smc32_results(result);
  if (trace_ != nullptr) trace_result(call, found, result, "(injected fault)");
  return true;
}

// Trace format: "cpu0 hvc > PSCI_FEATURES(fid=0x80000000)" then "cpu0 hvc < SUCCESS".
namespace {
// The function's trace name as the call uses it: its SMC64 name, or the name with "64" for a
// function offered in both forms.
void append_name(fmt::memory_buffer& out, const FunctionDesc& fn, bool smc64) {
  if (smc64 && !fn.name64.empty()) {
    out.append(fn.name64);
  } else {
    out.append(fn.name);
    if (fn.forms == kBothForms && smc64) out.append(std::string_view("64"));
  }
}

CallTraceInfo call_info(const SmcccCall& call, const Dispatcher::Found& found, bool answer,
                        const fmt::memory_buffer& name) {
  return {.vcpu = call.vcpu,
          .fid = call.id.raw,
          .answer = answer,
          .name = found ? std::string_view(name.data(), name.size()) : std::string_view("UNKNOWN")};
}
}  // namespace

// Trace format: "cpu0 hvc > PSCI_FEATURES(fid=0x80000000)" then "cpu0 hvc < SUCCESS".
void Dispatcher::trace_call(const SmcccCall& call, const Found& found) const {
  fmt::memory_buffer out;
  fmt::memory_buffer name;
  fmt::format_to(std::back_inserter(out), "cpu{} {} > ", call.vcpu, call.conduit == Conduit::Hvc ? "hvc" : "smc");
  if (!found) {
    fmt::format_to(std::back_inserter(out), "UNKNOWN(fid={:#010x}", static_cast<std::uint32_t>(call.x[0]));
    if (call.imm != 0) fmt::format_to(std::back_inserter(out), " imm={:#x}", call.imm);
    out.push_back(')');
  } else {
    const FunctionDesc& fn = *found.fn;
    append_name(name, fn, call.id.smc64);
    out.append(name);
    out.push_back('(');
    bool first = true;
    for (std::size_t i = 0; i < fn.args.size(); ++i) {
      if (fn.args[i].empty()) continue;
      if (!first) out.push_back(' ');
      first = false;
      out.append(fn.args[i]);
      out.push_back('=');
      append_hex(out, call.x[i + 1]);
    }
    out.push_back(')');
  }
  trace_->call_line(call_info(call, found, false, name), std::string_view(out.data(), out.size()));
}

void Dispatcher::trace_result(const SmcccCall& call, const Found& found, const SmcccResult& result,
                              std::string_view note) const {
  fmt::memory_buffer out;
  fmt::memory_buffer fn_name;
  if (found) append_name(fn_name, *found.fn, call.id.smc64);
  const CallTraceInfo info = call_info(call, found, true, fn_name);
  fmt::format_to(std::back_inserter(out), "cpu{} {} < ", call.vcpu, call.conduit == Conduit::Hvc ? "hvc" : "smc");
  if (result.request.kind == RequestKind::ForwardToHost) {
    out.append(note);
    trace_->call_line(info, std::string_view(out.data(), out.size()));
    return;
  }
  if (result.request.ends_caller()) {
    // The call does not return to the guest; say what happens instead of a status.
    out.append(request_text(result.request));
    trace_->call_line(info, std::string_view(out.data(), out.size()));
    return;
  }
  const auto x0 = static_cast<std::int64_t>(result.x[0]);
  const ResultKind kind = found ? found.fn->result : ResultKind::Status;
  std::string_view name;
  if (x0 < 0) {
    name = found ? found.service->status_name(x0) : std::string_view("NOT_SUPPORTED");
  } else if (x0 == 0 && kind != ResultKind::Value) {
    name = "SUCCESS";
  }
  if (!name.empty()) {
    out.append(name);
  } else if (x0 < 0) {
    fmt::format_to(std::back_inserter(out), "{}", x0);
  } else {
    append_hex(out, result.x[0]);
  }
  if (result.count > 1) {
    bool any = false;
    for (int i = 1; i < result.count && i < 4; ++i) any = any || result.x[i] != 0;
    for (int i = 1; any && i < result.count && i < 4; ++i) {
      fmt::format_to(std::back_inserter(out), " x{}=", i);
      append_hex(out, result.x[i]);
    }
    if (result.count > 4) fmt::format_to(std::back_inserter(out), " (+x4..x{})", result.count - 1);
  }
  if (!note.empty()) {
    out.push_back(' ');
    out.append(note);
  }
  trace_->call_line(info, std::string_view(out.data(), out.size()));
}

}  // namespace emu::fw
