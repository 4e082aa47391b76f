// The machine: RAM, devices, firmware, and the scheduler that runs every vCPU round-robin
// on one host thread in deterministic virtual time (docs/architecture.md, "Virtual time and determinism").
#include "core/machine.h"

#include <fmt/format.h>
#include <algorithm>
#include <cstring>
#include <limits>

#include "core/entropy.h"
#include "core/vcpu.h"

#include <sys/eventfd.h>
#include <unistd.h>
#include <cerrno>
#include <csignal>
#include <ctime>

namespace emu::core {
namespace {

// booting.rst: "The device tree blob (dtb) must ... not exceed 2 megabytes in size."
constexpr std::size_t kMaxDtbSize = 2u << 20;
constexpr std::uint64_t align_up(std::uint64_t v, std::uint64_t a) {
  return (v + a - 1) & ~(a - 1);
}

// The lowest `align`-aligned address at or above `from` where `size` bytes lie in RAM clear of
// every window of layout() (the PV-time records among them); 0 if there is none.
std::uint64_t find_room(const ImageLayout& layout, std::uint64_t from, std::uint64_t size, std::uint64_t align) {
  const std::uint64_t ram_end = layout.ram_base + layout.ram_size;
  std::uint64_t at = align_up(std::max(from, layout.ram_base), align);
  for (;;) {
    if (at >= ram_end || size > ram_end - at) return 0;
    const auto hit = std::find_if(layout.devices.begin(), layout.devices.end(), [&](const ImageLayout::Device& d) {
      return at < d.base + d.size && d.base < at + size;
    });
    if (hit == layout.devices.end()) return at;
    at = align_up(hit->base + hit->size, align);
  }
}

// IC IVAU ranges kept per slice before falling back to dropping everything.
constexpr std::size_t kMaxCodeRanges = 256;

// RAM and scheduling are core's rules; vCPU count and SoC identity are the firmware's
// (fw::Firmware checks them), reported here as ConfigError.
const MachineConfig& validated(const MachineConfig& c) {
  // The firmware's rule, with its words, checked here as well: the GIC, built before the
  // firmware, sizes its per-vCPU state by the count (a state file may claim 2^32 - 2 vCPUs).
  if (c.cpus == 0 || c.cpus > kMaxVcpus) {
    throw ConfigError("cpus", fmt::format("vCPU count must be 1..{}, not {}", kMaxVcpus, c.cpus));
  }
  if (c.memory < kMinRamSize || c.memory > kMaxRamSize) {
    throw ConfigError("memory", fmt::format("memory size must be between 1 MiB and 64 GiB, not {} bytes", c.memory));
  }
  if (c.memory % kPageSize != 0) {
    throw ConfigError("memory", fmt::format("memory size {} is not a multiple of 4 KiB", c.memory));
  }
  if (c.pcpus > kMaxVcpus) {
    throw ConfigError("pcpus", fmt::format("physical CPU count must be 0..{}, not {}", kMaxVcpus, c.pcpus));
  }
  if (c.quantum == 0) throw ConfigError("quantum", "the scheduling quantum must be at least 1 instruction");
  if (c.code_buffer < (std::uint64_t{4} << 20) || c.code_buffer > (std::uint64_t{1} << 30)) {
    throw ConfigError("code_buffer",
                      fmt::format("the code buffer must be 4 MiB..1 GiB per vCPU, not {} bytes", c.code_buffer));
  }
  // Bounds that keep 64-bit virtual time from wrapping for centuries of guest time.
  if (c.cost.instruction_ns < 1 || c.cost.instruction_ns > 1000) {
    throw ConfigError("instruction_ns",
                      fmt::format("instruction cost must be 1..1000 ns, not {}", c.cost.instruction_ns));
  }
  if (c.cost.trap_ns > 1'000'000'000) {
    throw ConfigError("trap_ns", fmt::format("trap cost must be 0..1e9 ns, not {}", c.cost.trap_ns));
  }
  if (c.initrd.size() > c.memory) {
    throw ConfigError("initrd",
                      fmt::format("the initrd is {} bytes, more than RAM ({} bytes)", c.initrd.size(), c.memory));
  }
  if (c.dtb.size() > kMaxDtbSize) {
    throw ConfigError("dtb", fmt::format("the device tree is {} bytes; Linux's limit is 2 MiB", c.dtb.size()));
  }
  if (!c.dtb.empty()) {
    if (const std::string problem = device_tree_problem(c.dtb); !problem.empty()) {
      throw ConfigError("dtb", fmt::format("the device tree {}", problem));
    }
  }
  if (c.epoch_ns && *c.epoch_ns >= kMaxEpochNs) {
    throw ConfigError("epoch_ns", fmt::format("PTP epoch must be below 2^62 ns (year 2116), not {}", *c.epoch_ns));
  }
  return c;
}

std::uint64_t host_realtime_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<std::uint64_t>(ts.tv_nsec);
}

}  // namespace

// The only host time the guest can see is this epoch, read once, and only when the user did
// not fix it with MachineConfig::epoch_ns (--epoch): KVM PTP reports wall-clock time.
fw::FirmwareConfig Machine::firmware_config() {
  if (config_.seed) {
    entropy_ = std::make_unique<SeededEntropy>(*config_.seed);
  } else {
    entropy_ = std::make_unique<HostEntropy>();
  }
  return {.vcpu_count = config_.cpus,
          .ram_base = kRamBase,
          .ram_size = config_.memory,
          .soc = config_.soc,
          .platform = {.memory = &ram_access_, .entropy = entropy_.get(), .clock = &clock_access_, .interrupts = &gic_},
          .epoch_ns = config_.epoch_ns.value_or(host_realtime_ns()),
          .sdei_events = config_.sdei_events,
          .impl_cpus = config_.impl_cpus,
          .faults = config_.faults,
          .fault_seed = config_.seed.value_or(0)};
}

std::uint64_t Machine::ClockAccess::counter(unsigned vcpu) {
  return machine.slots_.at(vcpu).cpu->counter();
}

Machine::Machine(const MachineConfig& config) try
    : config_(validated(config)),
      ram_(kRamBase, config.memory),
      gic_(config_.cpus, &gic_events_),
      firmware_(firmware_config()) {
  slots_.resize(config_.cpus);
  code_ranges_.reserve(kMaxCodeRanges);
  // P >= N physical CPUs never contend: no pCPU bookkeeping is needed.
  if (config_.pcpus != 0 && config_.pcpus < config_.cpus) pcpu_free_ns_.assign(config_.pcpus, 0);
  for (unsigned i = 0; i < config_.cpus; ++i) slots_[i].cpu = std::make_unique<Vcpu>(i, *this, slots_[i].stats);
  if (config_.pv_time) {
    const std::uint64_t region = pv_time_region(ram_.end());
    for (unsigned i = 0; i < config_.cpus; ++i) {
      if (firmware_.set_pv_time_ipa(i, region + i * fw::pv_time::kRecordSize) != fw::HostStatus::Ok) {
        throw ConfigError("pv_time", "cannot place the PV-time records");
      }
    }
  }
  sdei_signals_ = config_.sdei_signals;
  std::stable_sort(sdei_signals_.begin(), sdei_signals_.end(),
                   [](const SdeiSignal& a, const SdeiSignal& b) { return a.at_ns < b.at_ns; });
  for (const SdeiSignal& sig : sdei_signals_) {
    const auto& events = firmware_.sdei_events();
    const auto decl =
        std::find_if(events.begin(), events.end(), [&](const fw::SdeiEventDecl& d) { return d.number == sig.event; });
    if (decl == events.end()) {
      throw ConfigError("sdei_signals", fmt::format("SDEI signal for event {}, which is not declared", sig.event));
    }
    if (decl->dynamic) {
      throw ConfigError(
          "sdei_signals",
          fmt::format("SDEI signal for event {}, a bind slot: only its interrupt triggers it", sig.event));
    }
    if (sig.vcpu >= config_.cpus) {
      throw ConfigError("sdei_signals",
                        fmt::format("SDEI signal for vcpu{}, but there are {} vCPUs", sig.vcpu, config_.cpus));
    }
  }
  // Last, so nothing can throw after it (the destructor closes it). Without one (fd limit),
  // request_stop() still works but does not end a console-input wait.
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
} catch (const fw::ConfigError& e) {
  // The firmware checks the vCPU count and the SoC identity.
  throw ConfigError(e.setting() == "vcpu_count" ? "cpus" : e.setting(), e.what());
}

Machine::~Machine() {
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

void Machine::request_stop(int signal) noexcept {
  stop_signal_.store(signal, std::memory_order_relaxed);
  stop_requested_.store(true, std::memory_order_release);
  if (wake_fd_ >= 0) {
    const int saved = errno;  // a signal handler must leave errno as it found it
    const std::uint64_t one = 1;
    [[maybe_unused]] const ssize_t n = ::write(wake_fd_, &one, sizeof one);  // full (EAGAIN): already awake
    errno = saved;
  }
}

namespace {
std::string signal_name(int signal) {
  switch (signal) {
    case SIGINT: return "SIGINT";
    case SIGTERM: return "SIGTERM";
    case SIGHUP: return "SIGHUP";
    default: return fmt::format("signal {}", signal);
  }
}
}  // namespace

RunExit Machine::stopped() {
  stop_requested_.store(false, std::memory_order_relaxed);
  const int signal = stop_signal_.exchange(0, std::memory_order_acquire);
  if (wake_fd_ >= 0) {
    std::uint64_t count = 0;
    [[maybe_unused]] const ssize_t n = ::read(wake_fd_, &count, sizeof count);  // non-blocking: drains it
  }
  return {ExitKind::Stopped, signal, 0,
          signal != 0 ? fmt::format("stopped by {} after {} instructions", signal_name(signal), instructions_)
                      : fmt::format("stopped by the host after {} instructions", instructions_)};
}

ImageLayout Machine::layout() const {
  ImageLayout layout{.ram_base = ram_.base(), .ram_size = ram_.size(), .devices = {}};
  for (const Region& r : kMemoryMap) {
    if (r.kind != RegionKind::Ram) layout.devices.push_back({r.base, r.size, r.name});
  }
  if (config_.pv_time) layout.devices.push_back({pv_time_region(ram_.end()), kPvTimeRegionSize, "PV-time region"});
  for (unsigned i = 0; i < firmware_.vcpu_count(); ++i) {
    if (const auto ipa = firmware_.pv_time_ipa(i))
      layout.devices.push_back({*ipa, fw::pv_time::kRecordSize, "PV-time record"});
  }
  return layout;
}

fw::HostStatus Machine::set_pv_time_ipa(unsigned vcpu, std::uint64_t ipa) {
  if (running_) throw std::logic_error("Machine::set_pv_time_ipa() while run() is executing");
  if (loaded_) {
    // PV_TIME_ST zeroes the record: it may not land on the image (which a reset reloads).
    for (const ImageSegment& seg : image_.segments) {
      if (ipa < seg.address + seg.size && seg.address < ipa + fw::pv_time::kRecordSize) return fw::HostStatus::Exists;
    }
  }
  return firmware_.set_pv_time_ipa(vcpu, ipa);
}

fw::HostStatus Machine::get_fw_reg(unsigned vcpu, std::uint64_t id, std::uint64_t& value) const {
  if (vcpu >= slots_.size()) return fw::HostStatus::NotFound;
  return firmware_.get_fw_reg(id, value);
}

fw::HostStatus Machine::set_fw_reg(unsigned vcpu, std::uint64_t id, std::uint64_t value) {
  if (running_) throw std::logic_error("Machine::set_fw_reg() while run() is executing");
  if (vcpu >= slots_.size()) return fw::HostStatus::NotFound;
  return firmware_.set_fw_reg(id, value);
}

fw::HostStatus Machine::add_filter_range(std::uint32_t base, std::uint32_t count, std::uint8_t action) {
  if (running_) throw std::logic_error("Machine::add_filter_range() while run() is executing");
  return firmware_.add_filter_range(base, count, action);
}

void Machine::inject_stolen_time(unsigned vcpu, std::uint64_t ns) {
  if (running_) throw std::logic_error("Machine::inject_stolen_time() while run() is executing");
  if (ns > kMaxInjectNs) throw std::invalid_argument("at most 1000 s of stolen time can be injected at once");
  slots_.at(vcpu).pending_stolen_ns += ns;
}

void Machine::load(Image image) {
  for (const ImageSegment& seg : image.segments) {
    // load_image validated placement against layout(); check again for API users who
    // build an Image by hand.
    if (!ram_.contains(seg.address, seg.size) || seg.bytes.size() > seg.size) {
      throw ImageError(fmt::format("{}: segment at {:#x} does not fit in RAM", image.name, seg.address));
    }
  }
  for (const ImageSegment& seg : image.segments) {
    std::uint8_t* dst = ram_.at(seg.address, seg.size);
    std::copy(seg.bytes.begin(), seg.bytes.end(), dst);
    ram_.zero(seg.address + seg.bytes.size(), seg.size - seg.bytes.size());  // without touching whole pages
  }
  image_ = std::move(image);
  place_boot_payload();  // may throw: then the machine is not loaded
  loaded_ = true;
  boot();
}

// On a 2 MiB boundary (booting.rst: the kernel maps the DTB with blocks of up to 2 MiB), or on
// a 4 KiB one when RAM is too small for that.
std::uint64_t Machine::place(const char* what, std::uint64_t from, std::uint64_t size) const {
  const ImageLayout room = layout();
  for (const std::uint64_t align : {kBootAlign, kPageSize}) {
    if (const std::uint64_t at = find_room(room, from, size, align); at != 0) return at;
  }
  throw ImageError(fmt::format("{}: no room in RAM for the {} ({} bytes) above {:#x}; give the machine more --memory",
                               image_.name, what, size, from));
}

// The initrd, then the device tree, above everything the image occupies (booting.rst: the DTB
// above the kernel is what kvm-unit-tests asserts, and QEMU places both after the kernel).
void Machine::place_boot_payload() {
  std::uint64_t end = ram_.base();
  for (const ImageSegment& seg : image_.segments) end = std::max(end, seg.address + seg.size);
  std::optional<AddressRange> initrd;
  if (!config_.initrd.empty()) {
    initrd = AddressRange{place("initrd", end, config_.initrd.size()), config_.initrd.size()};
    ram_.write(initrd->base, config_.initrd);
    end = initrd->base + initrd->size;
  }
  try {
    dtb_ = config_.dtb.empty() ? generated_device_tree(initrd) : update_chosen(config_.dtb, config_.bootargs, initrd);
  } catch (const DeviceTreeError& e) {
    throw ImageError(fmt::format("{}: the device tree: {}", image_.name, e.what()));
  }
  if (dtb_.size() > kMaxDtbSize) {
    throw ImageError(fmt::format("{}: the device tree with /chosen updated is {} bytes; Linux's limit is 2 MiB",
                                 image_.name, dtb_.size()));
  }
  dtb_address_ = place("device tree", end, dtb_.size());
  ram_.write(dtb_address_, dtb_);
}

// The heap starts at the first 16-byte boundary above the image, the initrd and the device
// tree (the device tree is placed above both); the top 1 MiB of usable RAM (less if RAM is
// short) is the stack, which grows down from RAM's end or from the PV-time region below it.
std::array<std::uint64_t, 4> Machine::semihosting_heap() const {
  constexpr std::uint64_t kStack = 1ull << 20;
  const std::uint64_t top = config_.pv_time ? pv_time_region(ram_.end()) : ram_.end();
  std::uint64_t base = dtb_address_ + dtb_.size();
  for (const ImageSegment& seg : image_.segments) base = std::max(base, seg.address + seg.size);
  base = std::min((base + 15) & ~std::uint64_t{15}, top);
  const std::uint64_t limit = top - std::min(kStack, top - base);
  return {base, limit, top, limit};
}

std::vector<std::uint8_t> Machine::generated_device_tree(const std::optional<AddressRange>& initrd) {
  DeviceTreeSpec spec{.cpus = config_.cpus,
                      .ram = {ram_.base(), ram_.size()},
                      .smc = config_.conduit == fw::Conduit::Smc,
                      .psci_version = firmware_.psci_version(),
                      .bootargs = config_.bootargs,
                      .initrd = initrd,
                      .seeds = false};
  // PV-time records: the configured region, or the 4 KiB page of each record the host placed.
  if (config_.pv_time) spec.reserved.push_back({pv_time_region(ram_.end()), kPvTimeRegionSize});
  for (unsigned i = 0; i < firmware_.vcpu_count(); ++i) {
    const std::optional<std::uint64_t> ipa = firmware_.pv_time_ipa(i);
    if (!ipa) continue;
    const AddressRange page{*ipa & ~(kPageSize - 1), kPageSize};
    const bool covered = std::any_of(spec.reserved.begin(), spec.reserved.end(), [&](const AddressRange& r) {
      return page.base >= r.base && page.base < r.base + r.size;
    });
    if (!covered) spec.reserved.push_back(page);
  }
  // kaslr-seed and rng-seed from the TRNG's source: with --seed they repeat (QEMU draws new ones
  // at every reset too). A failing host source leaves both out: Linux may credit rng-seed as
  // entropy, so zeros must never stand in for it.
  std::array<std::uint64_t, 5> words{};
  if (entropy_->fill(words)) {
    spec.seeds = true;
    spec.kaslr_seed = words[0];
    std::memcpy(spec.rng_seed.data(), &words[1], spec.rng_seed.size());
  }
  return build_device_tree(spec);
}

// Every vCPU gets an engine in its reset state (a new one if it has run: no translated code
// from before, every register at reset); the firmware forgets guest-owned state (PSCI power
// states, statistics); the boot vCPU starts at the image entry, the others are off. Clocks
// keep running.
void Machine::boot() {
  firmware_.system_reset();
  semihosting_.reset();
  gic_.reset();
  uart_.reset();
  uart_changed();
  std::uint64_t now = 0;
  for (const Slot& s : slots_) now = std::max(now, s.stats.virtual_ns);
  for (unsigned i = 0; i < slots_.size(); ++i) {
    Slot& s = slots_[i];
    if (s.cpu->has_run()) s.cpu = std::make_unique<Vcpu>(i, *this, s.stats);
    s.state = RunState::Off;
    s.start_pending = false;
    s.stats.virtual_ns = now;
  }
  std::fill(pcpu_free_ns_.begin(), pcpu_free_ns_.end(), now);
  // booting.rst: x0 = the device tree's physical address, x1..x3 = 0.
  start_vcpu(0, image_.entry, dtb_address_, now);
}

void Machine::request_cpu_on(const fw::Request& request, std::uint64_t now_ns) {
  Slot& s = slots_[request.target];
  s.start_pending = true;
  s.start_entry = request.entry;
  s.start_context = request.context;
  s.state = RunState::Runnable;
  s.stats.virtual_ns = std::max(s.stats.virtual_ns, now_ns);  // it starts now, not in the past
}

// A started vCPU begins as DEN0022F.b CPU_ON and KVM's vCPU reset say: a fresh engine (reset values everywhere, MMU
// off), EL1h with DAIF masked, PC = entry, x0 = context.
void Machine::start_vcpu(unsigned index, std::uint64_t entry, std::uint64_t context, std::uint64_t now_ns) {
  Slot& s = slots_[index];
  if (s.cpu->has_run()) s.cpu = std::make_unique<Vcpu>(index, *this, s.stats);  // else still at reset
  s.cpu->power_on(entry, context);
  s.start_pending = false;
  s.state = RunState::Runnable;
  s.wake_set = false;
  s.stats.virtual_ns = std::max(s.stats.virtual_ns, now_ns);
  s.timer.reset();  // a PE out of reset: both timers disabled (their outputs drop)
  update_timer_lines(index, counter_of(index));
  firmware_.vcpu_powered_on(index);  // every (re)start: boot, CPU_ON, power-down wake-up
  if (tracing(TraceCategory::Psci)) [[unlikely]] {
    const std::string text = fmt::format("cpu{} psci powered on: entry {:#x} context {:#x}", index, entry, context);
    trace_event(TraceCategory::Psci, TracePhase::Instant, index, "powered on", text);
  }
}

void Machine::apply_pending_starts() {
  for (unsigned i = 0; i < slots_.size(); ++i) {
    Slot& s = slots_[i];
    if (!s.start_pending) continue;
    start_vcpu(i, s.start_entry, s.start_context, s.stats.virtual_ns);
  }
}

Vcpu& Machine::engine(unsigned index) {
  // Engines are created and destroyed only outside Unicorn hooks.
  if (running_) throw std::logic_error("Machine register access while run() is executing");
  apply_pending_starts();  // so a vCPU started by CPU_ON already shows its entry state
  return *slots_.at(index).cpu;
}

void Machine::wake(unsigned index) {
  Slot& s = slots_[index];
  s.stats.virtual_ns = s.wake_ns;
  firmware_.vcpu_resumed(index);
  if (s.resume.power_down) {
    // Power-down states lose the core's context: resume like CPU_ON (DEN0022F.b CPU_SUSPEND).
    start_vcpu(index, s.resume.entry, s.resume.context, s.wake_ns);
  } else {
    s.state = RunState::Runnable;  // standby: CPU_SUSPEND returns; x0 was written before
    if (tracing(TraceCategory::Psci)) [[unlikely]]
      trace_event(TraceCategory::Psci, TracePhase::Instant, index, "resumed", fmt::format("cpu{} psci resumed", index));
  }
}

void Machine::note_code_range(unsigned by, std::uint64_t address, std::uint64_t size) {
  code_changed_by_ = by;
  if (code_changed_all_) return;
  if (!code_ranges_.empty()) {
    CodeRange& last = code_ranges_.back();
    if (address >= last.address && address <= last.address + last.size) {  // a loop over lines
      last.size = std::max(last.size, address + size - last.address);
      return;
    }
  }
  if (code_ranges_.size() == kMaxCodeRanges) {
    code_changed_all_ = true;
    code_ranges_.clear();
    return;
  }
  code_ranges_.push_back({address, size});  // within the capacity reserved: no allocation
}

// What this slice's IC maintenance asked for so far, applied to the engine of the vCPU that
// executed it. The engine notices a store to code only through the virtual address the code
// was translated from (Unicorn marks that TLB entry), so code patched through another mapping
// (Linux's alternatives and jump labels write through the linear map or a fixmap) would run
// stale: the translations go before the vCPU runs on (Arm ARM D7.5.9: after IC and a context
// synchronization event, the PE fetches the new instructions).
void Machine::apply_code_changes(unsigned index) {
  Vcpu& cpu = *slots_[index].cpu;
  if (code_changed_all_) {
    cpu.flush_translations();
  } else {
    cpu.invalidate_code(code_ranges_);
  }
}

// Applies what one slice's IC maintenance asked for to every other engine (Arm ARM D7.5.9:
// maintenance to the PoU is broadcast in the Inner Shareable domain with IALLUIS, and IVAU
// is by address).
void Machine::flush_translations(unsigned except) {
  for (unsigned i = 0; i < slots_.size(); ++i) {
    if (i == except) continue;
    if (code_changed_all_) {
      slots_[i].cpu->flush_translations();
    } else {
      slots_[i].cpu->invalidate_code(code_ranges_);
    }
  }
  code_changed_all_ = false;
  code_ranges_.clear();
}

// ---- tracing (core/trace.h) ----

void Machine::set_tracer(TraceWriter* writer, unsigned categories) {
  if (running_) throw std::logic_error("set_tracer while the machine runs");
  tracer_ = writer;
  trace_mask_ = writer != nullptr ? categories & kAllTraceCategories : 0;
  update_call_trace();
}

void Machine::set_call_stats(CallStats* stats) {
  if (running_) throw std::logic_error("set_call_stats while the machine runs");
  call_stats_ = stats;
  update_call_trace();
}

// The dispatcher formats call lines only while someone wants them: the call trace or the counts.
void Machine::update_call_trace() {
  const bool wanted = tracing(TraceCategory::Calls) || call_stats_ != nullptr;
  firmware_.dispatcher().set_trace(wanted ? &call_trace_ : nullptr);
}

std::uint64_t Machine::virtual_now(unsigned vcpu) {
  Slot& s = slots_.at(vcpu);
  return running_vcpu_ == vcpu && s.cpu ? s.cpu->virtual_now() : s.stats.virtual_ns;
}

void Machine::trace_event(TraceCategory category, TracePhase phase, unsigned vcpu, std::string_view name,
                          std::string_view text) {
  tracer_->event(
      {.category = category, .phase = phase, .vcpu = vcpu, .ns = virtual_now(vcpu), .name = name, .text = text});
}

// The answer reaches the guest after the call's cost (Vcpu::firmware_call charges it once the
// dispatcher returns), so its End is stamped then: the call's span lasts trap_ns.
void Machine::CallTrace::call_line(const fw::CallTraceInfo& info, std::string_view text) {
  if (!info.answer && machine.call_stats_ != nullptr) machine.call_stats_->count(info.vcpu, info.fid, info.name);
  if (!machine.tracing(TraceCategory::Calls)) return;
  const std::uint64_t now = machine.virtual_now(info.vcpu);
  machine.tracer_->event({.category = TraceCategory::Calls,
                          .phase = info.answer ? TracePhase::End : TracePhase::Begin,
                          .vcpu = info.vcpu,
                          .ns = info.answer ? now + machine.config_.cost.trap_ns : now,
                          .name = info.name,
                          .text = text,
                          .fid = info.fid});
}

fw::HostStatus Machine::sdei_signal(std::uint32_t event, unsigned vcpu) {
  if (running_) throw std::logic_error("Machine::sdei_signal() while run() is executing");
  return firmware_.sdei_signal(event, vcpu);
}

// A pending SDEI event wakes a vCPU in WFI as an interrupt would (DEN0054C dispatch); it resumes
// no earlier than the moment the event was triggered.
void Machine::wake_sdei_waiters(std::uint64_t now_ns) {
  for (unsigned i = 0; i < slots_.size(); ++i) {
    Slot& s = slots_[i];
    if (s.state == RunState::Waiting && firmware_.sdei_deliverable(i)) end_wait(i, now_ns);
  }
}

// Fires the host's timed SDEI signals that are due by the time the next vCPU would run
// (or, when every vCPU waits, the next one: it is what can wake them).
void Machine::fire_due_sdei_signals(std::optional<unsigned>& next) {
  if (sdei_signals_done_ == sdei_signals_.size()) return;
  const std::uint64_t now = next ? due_ns(*next) : sdei_signals_[sdei_signals_done_].at_ns;
  bool fired = false;
  while (sdei_signals_done_ < sdei_signals_.size() && sdei_signals_[sdei_signals_done_].at_ns <= now) {
    const SdeiSignal& sig = sdei_signals_[sdei_signals_done_++];
    // Not registered and enabled there: the signal is dropped, as a host's KVM signal would be.
    static_cast<void>(firmware_.sdei_signal(sig.event, sig.vcpu));
    wake_sdei_waiters(sig.at_ns);
    fired = true;
  }
  if (fired) next = pick_next();
}

std::uint64_t Machine::due_ns(unsigned index) const {
  return due_at(slots_[index]).value_or(slots_[index].stats.virtual_ns);
}

std::optional<std::uint64_t> Machine::due_at(const Slot& s) {
  switch (s.state) {
    case RunState::Runnable: return s.stats.virtual_ns;
    case RunState::Sleeping: return s.wake_ns;
    case RunState::Waiting: return s.wake_set ? std::optional<std::uint64_t>(s.wake_ns) : std::nullopt;
    case RunState::Off: return std::nullopt;
  }
  return std::nullopt;
}

// The next vCPU to run: the runnable, sleeping or timer-waiting one with the earliest virtual
// clock (a sleeping or waiting vCPU counts at its wake time), lowest index first on ties.
// Deterministic. A machine whose vCPUs all wait skips straight to the earliest wake-up.
std::optional<unsigned> Machine::pick_next() const {
  std::optional<unsigned> best;
  std::uint64_t best_ns = 0;
  for (unsigned i = 0; i < slots_.size(); ++i) {
    const std::optional<std::uint64_t> at = due_at(slots_[i]);
    if (at && (!best || *at < best_ns)) {
      best = i;
      best_ns = *at;
    }
  }
  return best;
}

std::string Machine::deadlock_summary() const {
  const bool any_waiting =
      std::any_of(slots_.begin(), slots_.end(), [](const Slot& s) { return s.state == RunState::Waiting; });
  return any_waiting ? "deadlock: every vCPU is off or waits in WFI, and nothing can wake it"
                     : "deadlock: every vCPU is off";
}

RunExit Machine::run() {
  if (!loaded_) throw std::logic_error("Machine::run() before load()");
  if (running_) throw std::logic_error("Machine::run() called from inside run()");
  running_ = true;
  forwarded_call_pending_ = false;  // the host has written its answer, if any
  firmware_.mark_run();             // VM-wide firmware configuration is frozen from the first run
  struct Running {
    bool& flag;
    ~Running() { flag = false; }
  } running{running_};
  for (;;) {
    // A stop request is seen here, between slices: the hot path inside a slice never looks.
    if (stop_requested_.load(std::memory_order_acquire)) return stopped();
    apply_pending_starts();
    if (checkpoint_ && instructions_ >= *checkpoint_) {
      checkpoint_.reset();
      return {ExitKind::Checkpoint, 0, 0, fmt::format("checkpoint after {} instructions", instructions_)};
    }
    std::optional<unsigned> next = pick_next();
    fire_due_sdei_signals(next);
    if (device_event(next)) continue;
    if (!next) return {ExitKind::Deadlock, 0, 0, deadlock_summary()};
    if (wake_if_due(*next)) continue;
    if (std::optional<RunExit> exit = run_slice(*next)) return *exit;
  }
}

// The vCPU pick_next chose is asleep or waits in WFI: it wakes now (its time has come), and
// the scheduler picks again.
bool Machine::wake_if_due(unsigned index) {
  Slot& slot = slots_[index];
  if (slot.state == RunState::Sleeping) {
    wake(index);
    return true;
  }
  if (slot.state == RunState::Waiting) {  // its timer fires: the WFI completes
    end_wait(index, slot.wake_ns);
    return true;
  }
  return false;
}

// Time the vCPU spends off a CPU before it runs (DEN0057A stolen time). Returns the modelled
// physical CPU it runs on, if --pcpus limits them.
std::uint64_t* Machine::charge_waits(Slot& slot) {
  // Stolen time the host injected: the vCPU was kept off a CPU that long, now that it is
  // about to run (so a sleeping or powered-off vCPU is not charged while it does not want
  // to run).
  if (slot.pending_stolen_ns != 0) {
    slot.stats.stolen_ns += slot.pending_stolen_ns;
    slot.stats.virtual_ns += slot.pending_stolen_ns;
    slot.pending_stolen_ns = 0;
  }
  // With fewer physical CPUs than vCPUs, wait for the earliest free one: that wait is
  // stolen time (DEN0057A; docs/architecture.md, "Virtual time and determinism").
  if (pcpu_free_ns_.empty()) return nullptr;
  std::uint64_t* pcpu = &*std::min_element(pcpu_free_ns_.begin(), pcpu_free_ns_.end());
  if (*pcpu > slot.stats.virtual_ns) {
    slot.stats.stolen_ns += *pcpu - slot.stats.virtual_ns;
    slot.stats.virtual_ns = *pcpu;
  }
  return pcpu;
}

// How many instructions the slice may run: the quantum, cut to what --max-instructions leaves
// (then a hard limit: `limited`) or to the vCPU's next timer event.
Machine::SliceBudget Machine::slice_budget(unsigned index) {
  SliceBudget b{config_.quantum, false};
  if (const std::uint64_t limit = config_.max_instructions; limit != 0) {
    const std::uint64_t left = limit > instructions_ ? limit - instructions_ : 0;
    if (left <= b.instructions) b = {left, true};
  }
  if (const auto to_timer = instructions_to_timer(index, counter_of(index)); to_timer && *to_timer < b.instructions)
    b = {*to_timer, false};
  return b;
}

// One slice of vCPU `index`, with the devices brought up to its time first.
std::optional<RunExit> Machine::run_slice(unsigned index) {
  Slot& slot = slots_[index];
  std::uint64_t* pcpu = charge_waits(slot);
  const SliceBudget budget = slice_budget(index);
  device_now_ns_ = std::max(device_now_ns_, slot.stats.virtual_ns);
  uart_.advance(slot.stats.virtual_ns);  // input due by now is in the FIFO before the vCPU looks
  uart_changed();
  firmware_.vcpu_scheduled(index);  // PV-time records are current before the vCPU runs
  Vcpu::Stop stop{};
  {
    running_vcpu_ = index;
    struct NotRunning {
      std::optional<unsigned>& vcpu;
      ~NotRunning() { vcpu.reset(); }
    } not_running{running_vcpu_};
    stop = slot.cpu->run(budget.instructions, budget.limited);
  }
  if (pcpu != nullptr) *pcpu = slot.stats.virtual_ns;
  return finish_slice(index, stop, budget.limited);
}

std::optional<RunExit> Machine::finish_slice(unsigned index, Vcpu::Stop stop, bool limited) {
  Slot& slot = slots_[index];
  Vcpu& cpu = *slot.cpu;
  console_.flush();  // what the guest printed is out before the next slice (issue 14 F15)
  if (code_changed_by_) {
    flush_translations(*code_changed_by_);
    code_changed_by_.reset();
  }
  if (tlb_broadcast_by_) {
    // The vCPUs run one at a time, so the others see the TLBI complete before they next
    // run, as a DSB after it would guarantee (Arm ARM D8.13.2).
    for (unsigned i = 0; i < slots_.size(); ++i) {
      if (i != *tlb_broadcast_by_) slots_[i].cpu->flush_tlb();
    }
    tlb_broadcast_by_.reset();
  }
  if (firmware_.sdei_any_pending()) wake_sdei_waiters(slot.stats.virtual_ns);

  switch (stop) {
    case Vcpu::Stop::Budget:
      // When the budget was what is left of the limit, the next block would exceed it.
      if (limited) {
        return RunExit{ExitKind::InstructionLimit, 0, index,
                       fmt::format("instruction limit reached after {} instructions (limit {})", instructions_,
                                   config_.max_instructions)};
      }
      return std::nullopt;
    case Vcpu::Stop::Wfi: enter_wait(index); return std::nullopt;
    case Vcpu::Stop::CpuOff:
      slot.state = RunState::Off;
      firmware_.vcpu_stopped(index);
      return std::nullopt;
    case Vcpu::Stop::Suspend:
      slot.state = RunState::Sleeping;
      slot.resume = cpu.request();
      slot.wake_ns = slot.stats.virtual_ns + cpu.request().duration_ns;
      return std::nullopt;
    case Vcpu::Stop::SystemOff:
      if (cpu.request().hibernate) {
        RunExit exit{ExitKind::SystemOff, 0, index, "guest hibernated (PSCI SYSTEM_OFF2, HIBERNATE_OFF)"};
        exit.hibernate = true;
        return exit;
      }
      return RunExit{ExitKind::SystemOff, 0, index, "guest powered off (PSCI SYSTEM_OFF)"};
    case Vcpu::Stop::Hypercall: {
      // The vCPU stays runnable: when the host has written its answer, run() goes on.
      RunExit exit{ExitKind::Hypercall, 0, index,
                   fmt::format("call {:#010x} from vcpu{} over {} forwarded to the host", cpu.forwarded_fid(), index,
                               cpu.forwarded_conduit() == fw::Conduit::Hvc ? "HVC" : "SMC")};
      exit.fid = cpu.forwarded_fid();
      exit.conduit = cpu.forwarded_conduit();
      forwarded_call_pending_ = true;
      return exit;
    }
    case Vcpu::Stop::SemihostExit:
      return RunExit{ExitKind::SemihostingExit, cpu.exit_status(), index,
                     fmt::format("guest exited with status {} (semihosting)", cpu.exit_status())};
    case Vcpu::Stop::SystemReset: {
      const bool warm = cpu.request().reset == fw::ResetType::Warm;
      // A cold reset boots from a clean machine, and so does any reset while PSCI
      // MEM_PROTECT is on (DEN0022F.b MEM_PROTECT); a warm reset otherwise keeps RAM. Either way the
      // image is reloaded over it.
      if (!warm || firmware_.mem_protect()) ram_.clear();
      load(std::move(image_));
      if (config_.on_reset == ResetAction::Exit) {
        return RunExit{ExitKind::SystemReset, 0, index,
                       fmt::format("guest requested a {} reset", warm ? "warm" : "cold")};
      }
      return std::nullopt;
    }
    case Vcpu::Stop::Fault:
      return RunExit{ExitKind::GuestFault, 0, index, fmt::format("guest fault on vcpu{}: {}", index, cpu.summary()),
                     cpu.report()};
    case Vcpu::Stop::Breakpoint:
      // The vCPU stays runnable; the rest of its slice is given up.
      return RunExit{ExitKind::Breakpoint, 0, index,
                     fmt::format("vcpu{} reached the breakpoint at {:#x}", index, cpu.reg(Reg::Pc))};
  }
  return std::nullopt;
}

// ---- debugging ----

void Machine::set_breakpoint(std::uint64_t address) {
  if (running_) throw std::logic_error("Machine::set_breakpoint() while run() is executing");
  if (std::find(breakpoints_.begin(), breakpoints_.end(), address) != breakpoints_.end()) return;
  breakpoints_.push_back(address);
  // A hook is compiled into code translated after it is added: drop what is translated.
  for (Slot& s : slots_) {
    s.cpu->add_breakpoint(address);
    s.cpu->flush_translations();
  }
}

void Machine::clear_breakpoint(std::uint64_t address) {
  if (running_) throw std::logic_error("Machine::clear_breakpoint() while run() is executing");
  const auto it = std::find(breakpoints_.begin(), breakpoints_.end(), address);
  if (it == breakpoints_.end()) return;
  breakpoints_.erase(it);
  for (Slot& s : slots_) {
    s.cpu->remove_breakpoint(address);
    s.cpu->flush_translations();  // translated code would still call the (now empty) hook list
  }
}

RunExit Machine::step(unsigned index) {
  if (!loaded_) throw std::logic_error("Machine::step() before load()");
  if (running_) throw std::logic_error("Machine::step() while run() is executing");
  if (index >= slots_.size()) throw std::out_of_range(fmt::format("no vcpu{}", index));
  apply_pending_starts();
  RunExit stepped{ExitKind::Stepped, 0, index, fmt::format("vcpu{} stepped", index)};
  Slot& slot = slots_[index];
  if (slot.state != RunState::Runnable) return stepped;
  running_ = true;
  struct Running {
    bool& flag;
    ~Running() { flag = false; }
  } running{running_};
  forwarded_call_pending_ = false;
  firmware_.mark_run();
  device_now_ns_ = std::max(device_now_ns_, slot.stats.virtual_ns);
  uart_.advance(slot.stats.virtual_ns);
  uart_changed();
  firmware_.vcpu_scheduled(index);
  running_vcpu_ = index;
  struct NotRunning {
    std::optional<unsigned>& vcpu;
    ~NotRunning() { vcpu.reset(); }
  } not_running{running_vcpu_};
  const Vcpu::Stop stop = slot.cpu->step();
  running_vcpu_.reset();
  if (std::optional<RunExit> exit = finish_slice(index, stop, false)) return *exit;
  return stepped;
}

std::size_t Machine::read_virtual(unsigned vcpu, std::uint64_t address, std::span<std::uint8_t> out) {
  return engine(vcpu).read_guest(address, out);
}

std::size_t Machine::write_virtual(unsigned vcpu, std::uint64_t address, std::span<const std::uint8_t> bytes) {
  std::vector<CodeRange> written;
  const std::size_t done = engine(vcpu).write_guest(address, bytes, written);
  for (Slot& s : slots_) s.cpu->invalidate_code(written);  // Unicorn does not watch host writes
  return done;
}

std::array<std::uint64_t, 2> Machine::vreg(unsigned vcpu, unsigned n) {
  return engine(vcpu).vreg(n);
}
void Machine::set_vreg(unsigned vcpu, unsigned n, const std::array<std::uint64_t, 2>& value) {
  engine(vcpu).set_vreg(n, value);
}

bool Machine::direct_registers(unsigned vcpu) const {
  const Slot& slot = slots_.at(vcpu);
  return slot.cpu != nullptr && slot.cpu->direct_registers();
}

std::uint64_t Machine::reg(unsigned vcpu, Reg r) {
  return engine(vcpu).reg(r);
}
void Machine::set_reg(unsigned vcpu, Reg r, std::uint64_t value) {
  engine(vcpu).set_reg(r, value);
}

void Machine::write_memory(std::uint64_t address, std::span<const std::uint8_t> bytes) {
  if (running_) throw std::logic_error("Machine::write_memory() while run() is executing");
  if (!ram_.write(address, bytes)) {
    throw std::out_of_range(fmt::format("write of {} bytes at {:#x} does not fit in RAM", bytes.size(), address));
  }
  // Only what was written: an engine may hold translations of it (Unicorn does not watch
  // host writes).
  const CodeRange written{address, bytes.size()};
  for (Slot& s : slots_) s.cpu->invalidate_code({&written, 1});
}

// ---- snapshots ----

namespace {
constexpr std::uint32_t kTagMachine = 0x4D'41'43'48;  // "MACH"
constexpr std::uint32_t kTagSlot = 0x53'4C'4F'54;     // "SLOT"
constexpr std::uint32_t kTagRam = 0x52'41'4D'30;      // "RAM0"

void save_request(fw::StateWriter& out, const fw::Request& r) {
  out.u8(static_cast<std::uint8_t>(r.kind));
  out.u32(r.target);
  out.boolean(r.power_down);
  out.u8(static_cast<std::uint8_t>(r.reset));
  out.u64(r.entry);
  out.u64(r.context);
  out.u64(r.duration_ns);
}

fw::Request load_request(fw::StateReader& in, unsigned cpus) {
  fw::Request r;
  const std::uint8_t kind = in.u8();
  if (kind > static_cast<std::uint8_t>(fw::RequestKind::ForwardToHost))
    throw fw::StateError("corrupt state: a request");
  r.kind = static_cast<fw::RequestKind>(kind);
  r.target = in.u32();
  if (r.target >= cpus) throw fw::StateError("corrupt state: a request's target");
  r.power_down = in.boolean();
  const std::uint8_t reset = in.u8();
  if (reset > 1) throw fw::StateError("corrupt state: a reset type");
  r.reset = static_cast<fw::ResetType>(reset);
  r.entry = in.u64();
  r.context = in.u64();
  r.duration_ns = in.u64();
  return r;
}
}  // namespace

void Machine::save(fw::StateWriter& out) const {
  if (running_) throw std::logic_error("Machine::save() while run() is executing");
  if (!loaded_) throw std::logic_error("Machine::save() before load()");
  if (forwarded_call_pending_) {
    throw std::logic_error("Machine::save() while a forwarded call waits for the host: answer it and run() first");
  }
  out.tag(kTagMachine);
  out.u64(instructions_);
  out.u64(sdei_signals_done_);
  out.u64(counter_high_water_);
  out.u64(pcpu_free_ns_.size());
  for (const std::uint64_t t : pcpu_free_ns_) out.u64(t);
  out.bytes(dtb_);
  out.u64(dtb_address_);
  out.string(image_.name);
  out.u64(image_.entry);
  out.u64(image_.segments.size());
  for (const ImageSegment& seg : image_.segments) {
    out.u64(seg.address);
    out.u64(seg.size);
    out.bytes(seg.bytes);
  }
  for (const Slot& s : slots_) {
    out.tag(kTagSlot);
    out.u8(static_cast<std::uint8_t>(s.state));
    out.u64(s.stats.instructions);
    out.u64(s.stats.virtual_ns);
    out.u64(s.stats.stolen_ns);
    out.u64(s.stats.calls);
    out.u64(s.stats.irqs);
    out.u64(s.wake_ns);
    out.boolean(s.wake_set);
    s.timer.save(out);
    save_request(out, s.resume);
    out.boolean(s.start_pending);
    out.u64(s.start_entry);
    out.u64(s.start_context);
    out.u64(s.pending_stolen_ns);
    s.cpu->save_state(out);
  }
  firmware_.save(out);
  gic_.save(out);
  uart_.save(out);
  out.u64(device_now_ns_);
  const auto* seeded = dynamic_cast<const SeededEntropy*>(entropy_.get());
  out.boolean(seeded != nullptr);
  if (seeded != nullptr) out.string(seeded->state());
  // RAM, skipping pages of zeros: most of a guest's RAM is never touched.
  out.tag(kTagRam);
  ram_.for_each_nonzero_page([&out, this](std::uint64_t off) {
    out.u64(off / kPageSize);
    out.bytes({ram_.host() + off, kPageSize});
  });
  out.u64(~std::uint64_t{0});  // end of pages
}

// What restore() has read and checked so far; nothing of the machine changes until all of
// it is valid (the firmware and devices are put back if a later part is not).
struct Machine::RestoredMachine {
  std::uint64_t instructions = 0;
  std::uint64_t signals_done = 0;
  std::uint64_t high_water = 0;
  std::vector<std::uint64_t> pcpus;
  std::vector<std::uint8_t> dtb;
  std::uint64_t dtb_address = 0;
  Image image;
  std::vector<Slot> slots;
  std::uint64_t device_now = 0;
  std::optional<SeededEntropy> generator;
  /// RAM pages (page number, contents) still in the reader's buffer.
  std::vector<std::pair<std::uint64_t, std::span<const std::uint8_t>>> pages;
};

void Machine::restore(fw::StateReader& in) {
  if (running_) throw std::logic_error("Machine::restore() while run() is executing");
  RestoredMachine r;
  read_machine_record(in, r);
  for (unsigned i = 0; i < config_.cpus; ++i) r.slots.push_back(read_slot(in, i));
  load_devices_and_ram(in, r);
  adopt(r);
}

void Machine::read_machine_record(fw::StateReader& in, RestoredMachine& r) const {
  in.tag(kTagMachine);
  r.instructions = in.u64();
  r.signals_done = in.below(sdei_signals_.size() + 1, "SDEI signals fired");
  r.high_water = in.u64();
  if (in.u64() != pcpu_free_ns_.size()) throw fw::StateError("the state is for another number of physical CPUs");
  r.pcpus.resize(pcpu_free_ns_.size());
  for (std::uint64_t& t : r.pcpus) t = in.u64();
  const auto dtb_bytes = in.bytes();
  r.dtb.assign(dtb_bytes.begin(), dtb_bytes.end());
  r.dtb_address = in.u64();
  if (!r.dtb.empty() && !ram_.contains(r.dtb_address, r.dtb.size()))
    throw fw::StateError("corrupt state: the device tree");
  r.image.name = in.string();
  r.image.entry = in.u64();
  const std::uint64_t segments = in.below(1u << 16, "segment count");
  for (std::uint64_t i = 0; i < segments; ++i) {
    ImageSegment seg;
    seg.address = in.u64();
    seg.size = in.u64();
    const auto bytes = in.bytes();
    seg.bytes.assign(bytes.begin(), bytes.end());
    if (!ram_.contains(seg.address, seg.size) || seg.bytes.size() > seg.size)
      throw fw::StateError("corrupt state: the image");
    r.image.segments.push_back(std::move(seg));
  }
}

// One vCPU's slot, with a new engine holding its registers (bound to the current slot's
// counters until adopt() recreates it).
Machine::Slot Machine::read_slot(fw::StateReader& in, unsigned index) {
  Slot s;
  in.tag(kTagSlot);
  const std::uint8_t state = in.u8();
  if (state > static_cast<std::uint8_t>(RunState::Sleeping)) throw fw::StateError("corrupt state: a run state");
  s.state = static_cast<RunState>(state);
  s.stats.instructions = in.u64();
  s.stats.virtual_ns = in.u64();
  s.stats.stolen_ns = in.u64();
  s.stats.calls = in.u64();
  s.stats.irqs = in.u64();
  s.wake_ns = in.u64();
  s.wake_set = in.boolean();
  if (s.wake_set && s.state != RunState::Waiting) throw fw::StateError("corrupt state: a wake-up time");
  s.timer.load(in);
  s.resume = load_request(in, config_.cpus);
  s.start_pending = in.boolean();
  s.start_entry = in.u64();
  s.start_context = in.u64();
  s.pending_stolen_ns = in.u64();
  s.cpu = std::make_unique<Vcpu>(index, *this, slots_[index].stats);
  s.cpu->restore_state(in);
  return s;
}

// The firmware and devices load straight into the machine, so they are saved first and put
// back if anything after them is invalid; RAM is replaced only once everything checked out.
void Machine::load_devices_and_ram(fw::StateReader& in, RestoredMachine& r) {
  fw::StateWriter current;
  firmware_.save(current);
  gic_.save(current);
  uart_.save(current);
  firmware_.load(in);
  try {
    gic_.load(in);
    uart_.load(in);
    read_entropy_and_ram(in, r);
    check_pv_time_records(r.image);
    if (r.generator) static_cast<SeededEntropy&>(*entropy_) = std::move(*r.generator);
    ram_.clear();
    for (const auto& [page, bytes] : r.pages) std::memcpy(ram_.host() + page * kPageSize, bytes.data(), kPageSize);
  } catch (...) {
    fw::StateReader back(current.data());
    firmware_.load(back);
    gic_.load(back);
    uart_.load(back);
    throw;
  }
}

void Machine::read_entropy_and_ram(fw::StateReader& in, RestoredMachine& r) const {
  r.device_now = in.u64();
  const bool seeded = in.boolean();
  if (seeded != config_.seed.has_value()) throw fw::StateError("the state was saved with another entropy source");
  if (seeded) {
    r.generator.emplace(0);
    r.generator->set_state(in.string());
  }
  in.tag(kTagRam);
  for (;;) {
    const std::uint64_t page = in.u64();
    if (page == ~std::uint64_t{0}) break;
    const auto bytes = in.bytes();
    if (page >= ram_.size() / kPageSize || bytes.size() != kPageSize) throw fw::StateError("corrupt state: a RAM page");
    r.pages.emplace_back(page, bytes);
  }
  if (!in.at_end()) throw fw::StateError("corrupt state: data after the end");
}

// A PV-time record over the image would have PV_TIME_ST zero guest code.
void Machine::check_pv_time_records(const Image& image) const {
  for (unsigned i = 0; i < firmware_.vcpu_count(); ++i) {
    const std::optional<std::uint64_t> ipa = firmware_.pv_time_ipa(i);
    if (!ipa) continue;
    for (const ImageSegment& seg : image.segments) {
      if (*ipa < seg.address + seg.size && seg.address < *ipa + fw::pv_time::kRecordSize) {
        throw fw::StateError("corrupt state: a PV-time record over the image");
      }
    }
  }
}

// Everything is valid: the machine takes the restored scalars and slots.
void Machine::adopt(RestoredMachine& r) {
  instructions_ = r.instructions;
  device_now_ns_ = r.device_now;
  sdei_signals_done_ = static_cast<std::size_t>(r.signals_done);
  counter_high_water_ = r.high_water;
  pcpu_free_ns_ = std::move(r.pcpus);
  image_ = std::move(r.image);
  dtb_ = std::move(r.dtb);
  dtb_address_ = r.dtb_address;
  loaded_ = true;
  code_changed_by_.reset();
  code_changed_all_ = false;
  tlb_broadcast_by_.reset();
  code_ranges_.clear();
  // Semihosting handles are not in the state file: the restored guest starts with none open,
  // as after a boot, so a handle number in its RAM cannot reach a file opened since.
  semihosting_.reset();
  // The engines hold a reference to their slot's counters: move the slots in, then rebind by
  // recreating each engine over the restored state (cheap next to the RAM copy).
  for (unsigned i = 0; i < config_.cpus; ++i) {
    Slot& from = r.slots[i];
    fw::StateWriter regs;
    from.cpu->save_state(regs);
    from.cpu.reset();
    slots_[i].cpu.reset();
    slots_[i] = std::move(from);
    slots_[i].cpu = std::make_unique<Vcpu>(i, *this, slots_[i].stats);
    fw::StateReader again(regs.data());
    slots_[i].cpu->restore_state(again);
  }
}

}  // namespace emu::core
