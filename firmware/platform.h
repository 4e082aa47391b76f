// What the firmware needs from the machine (docs/architecture.md, "Layers"): small interfaces that core
// implements over Unicorn and guest RAM, and that tests implement with fakes. A service whose
// interface is missing is simply not offered: its calls are NOT_SUPPORTED.
#pragma once

#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>

#include "firmware/general_queries.h"

namespace emu::fw {

/// Guest physical memory, for records the firmware keeps in guest RAM (PV-time).
class GuestMemory {
 public:
  virtual ~GuestMemory() = default;
  /// Writes `bytes` at guest physical `address`; false (nothing written) outside RAM.
  virtual bool write(std::uint64_t address, std::span<const std::uint8_t> bytes) = 0;
};

/// Entropy for TRNG (DEN0098). Implementations never return the same bits twice.
class EntropySource {
 public:
  virtual ~EntropySource() = default;
  /// Fills `words` with fresh random bits; false if the source cannot now (NO_ENTROPY).
  virtual bool fill(std::span<std::uint64_t> words) = 0;
  /// The UUID TRNG_GET_UUID reports for this source (SMCCC register packing).
  virtual CallUid uuid() const = 0;
};

/// Virtual time as the vCPUs see it.
class Clock {
 public:
  virtual ~Clock() = default;
  /// The generic counter (CNTVCT_EL0 = CNTPCT_EL0) as `vcpu` would read it now.
  virtual std::uint64_t counter(unsigned vcpu) = 0;
  /// Stolen ns of `vcpu` since the machine was created: virtual time it was runnable while
  /// the modelled physical CPUs ran others, plus what the host injected.
  virtual std::uint64_t stolen_ns(unsigned vcpu) = 0;
};

/// The interrupt controller, for SDEI events bound to interrupts (DEN0054C SDEI_INTERRUPT_BIND;
/// TF-A does the same through its GIC driver). While such an event is registered the firmware owns
/// its interrupt, as EL3 owns a Secure Group 0 interrupt: the guest's view of the controller
/// no longer shows it, and it is taken as the SDEI event instead of as an IRQ. A PPI is owned
/// per vCPU (each PE registers its own instance of a private event); for an SPI `vcpu` is
/// ignored. Only INTIDs kind() reports as Ppi or Spi are ever passed.
class InterruptController {
 public:
  enum class Kind : std::uint8_t { None, Sgi, Ppi, Spi };  ///< None: not implemented
  virtual ~InterruptController() = default;
  virtual Kind kind(std::uint32_t intid) const = 0;
  /// Takes the interrupt from the guest (`firmware` true) or gives it back. Either way it is
  /// left disabled with no software or edge pending state; given back, at the lowest priority.
  virtual void claim(unsigned vcpu, std::uint32_t intid, bool firmware) = 0;
  virtual void enable(unsigned vcpu, std::uint32_t intid, bool on) = 0;
  virtual bool active(unsigned vcpu, std::uint32_t intid) const = 0;
  /// An owned interrupt that is pending, enabled and not active: the event has triggered.
  virtual bool triggered(unsigned vcpu, std::uint32_t intid) const = 0;
  /// Dispatch: the interrupt becomes active (an edge is consumed; a level stays pending).
  virtual void acknowledge(unsigned vcpu, std::uint32_t intid) = 0;
  /// COMPLETE: the interrupt is inactive again and may trigger anew.
  virtual void deactivate(unsigned vcpu, std::uint32_t intid) = 0;
};

/// The machine services use; any member may be null (that service is then not offered).
/// The objects must outlive the Firmware and may not be used by it during its construction.
struct Platform {
  GuestMemory* memory = nullptr;              ///< default none: no PV-time records
  EntropySource* entropy = nullptr;           ///< default none: no TRNG
  Clock* clock = nullptr;                     ///< default none: no PTP, no PV-time
  InterruptController* interrupts = nullptr;  ///< default none: SDEI has no bind slots
};

/// A configuration that cannot be built (message fit for the user); `setting` names the field at
/// fault. The one configuration error of the project: the firmware throws it naming its
/// FirmwareConfig field, core::Machine rethrows it naming the MachineConfig field.
class ConfigError : public std::invalid_argument {
 public:
  ConfigError(std::string setting, const std::string& message)
      : std::invalid_argument(message), setting_(std::move(setting)) {}
  const std::string& setting() const { return setting_; }

 private:
  std::string setting_;
};

/// Results of host-side configuration calls (after KVM's errnos: EINVAL, EBUSY, EEXIST, ENOENT).
/// [[nodiscard]]: a refused setting must not pass unnoticed.
// clang-format 14 misreads an attribute after `enum class`:
// clang-format off
enum class [[nodiscard]] HostStatus : std::uint8_t {
  Ok,
  Invalid,   ///< EINVAL: a value the call does not accept
  Exists,    ///< EEXIST: already set, or overlapping something set
  Busy,      ///< EBUSY: no longer changeable (the VM has run)
  NotFound,  ///< ENOENT: no such register or object
};
// clang-format on

/// The generic counter's rate: 62.5 MHz, QEMU virt's, one tick per 16 ns of virtual time.
inline constexpr std::uint64_t kCounterTickNs = 16;
inline constexpr std::uint64_t kCounterHz = 1'000'000'000 / kCounterTickNs;

}  // namespace emu::fw
