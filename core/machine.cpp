#include "core/machine.h"

#include <fmt/format.h>
#include <limits>

#include "core/vcpu.h"

namespace emu::core {
namespace {

// RAM is core's rule; vCPU count and SoC identity are the firmware's (fw::Firmware checks
// them), reported here as ConfigError.
const MachineConfig& validated(const MachineConfig& c) {
  if (c.memory < kMinRamSize || c.memory > kMaxRamSize) {
    throw ConfigError(fmt::format("memory size must be between 1 MiB and 64 GiB, not {} bytes", c.memory));
  }
  if (c.memory % kPageSize != 0) throw ConfigError(fmt::format("memory size {} is not a multiple of 4 KiB", c.memory));
  return c;
}

fw::FirmwareConfig firmware_config(const MachineConfig& c) { return {.vcpu_count = c.cpus, .soc = c.soc}; }

}  // namespace

Machine::Machine(const MachineConfig& config) try
    : config_(validated(config)), ram_(kRamBase, config.memory), firmware_(firmware_config(config)) {
  reset_vcpus();
} catch (const std::invalid_argument& e) {
  throw ConfigError(e.what());
}

Machine::~Machine() = default;

ImageLayout Machine::layout() const {
  return {.ram_base = ram_.base(), .ram_size = ram_.size(), .devices = {{kUartBase, kUartSize, "PL011 UART"}}};
}

void Machine::reset_vcpus() {
  // A fresh engine per vCPU is the simplest complete architectural reset.
  vcpus_.clear();
  for (unsigned i = 0; i < config_.cpus; ++i) vcpus_.push_back(std::make_unique<Vcpu>(i, *this));
}

void Machine::load(Image image) {
  // Fresh engines: none has translated code from before, and every register is at reset.
  reset_vcpus();
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
    std::fill(dst + seg.bytes.size(), dst + seg.size, std::uint8_t{0});
  }
  image_ = std::move(image);
  loaded_ = true;
  // DESIGN.md section 6: x0 = device-tree address, 0 until a DTB exists.
  vcpus_[0]->power_on(image_.entry, 0);
}

RunExit Machine::run() {
  if (!loaded_) throw std::logic_error("Machine::run() before load()");
  for (;;) {
    // Looked up every slice: a system reset replaces the vCPUs.
    Vcpu& boot = *vcpus_[0];  // secondaries stay off until PSCI CPU_ON exists
    const std::uint64_t limit = config_.max_instructions;
    const std::uint64_t budget = limit == 0 ? std::numeric_limits<std::uint64_t>::max() : limit - instructions_;
    switch (boot.run(budget)) {
      case Vcpu::Stop::Budget:
        // With one vCPU the budget is the instruction limit: the next block would exceed it.
        // (Continuing would stop before the same block again, forever.)
        return {ExitKind::InstructionLimit, 0, 0,
                fmt::format("instruction limit reached after {} instructions (limit {})", instructions_, limit)};
      case Vcpu::Stop::Wfi:
        // One vCPU and no interrupt source yet: nothing can ever wake it.
        return {ExitKind::Deadlock, 0, 0, "deadlock: every vCPU waits in WFI and nothing can wake it"};
      case Vcpu::Stop::SystemOff:
        return {ExitKind::SystemOff, 0, 0, "guest powered off (PSCI SYSTEM_OFF)"};
      case Vcpu::Stop::SemihostExit:
        return {ExitKind::SemihostingExit, boot.exit_status(), 0,
                fmt::format("guest exited with status {} (semihosting)", boot.exit_status())};
      case Vcpu::Stop::SystemReset: {
        const bool warm = boot.reset_type() == fw::ResetType::Warm;
        // A cold reset boots from a clean machine; a warm reset keeps RAM, as warm resets do,
        // and reloads the image over it.
        if (!warm) ram_.clear();
        load(std::move(image_));
        if (config_.on_reset == ResetAction::Exit) {
          return {ExitKind::SystemReset, 0, 0, fmt::format("guest requested a {} reset", warm ? "warm" : "cold")};
        }
        continue;
      }
      case Vcpu::Stop::Fault:
        return {ExitKind::GuestFault, 0, 0, "guest fault: " + boot.summary(), boot.report()};
    }
  }
}

std::uint64_t Machine::reg(unsigned vcpu, Reg r) const { return vcpus_.at(vcpu)->reg(r); }
void Machine::set_reg(unsigned vcpu, Reg r, std::uint64_t value) { vcpus_.at(vcpu)->set_reg(r, value); }

}  // namespace emu::core
