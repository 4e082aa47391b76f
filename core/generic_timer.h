// The EL1 physical and virtual timers of one PE (Arm ARM DDI 0487 D11.2 "The AArch64 view of
// the Generic Timer"), computed from the generic counter the caller passes in: the model has no
// clock of its own, so the timers run in virtual time and never in host time. The interrupt
// outputs are level-sensitive (D11.2.4): high while ENABLE = 1, IMASK = 0 and the counter has
// reached the compare value. Plain C++, no engine.
#pragma once

#include <cstdint>
#include <optional>

#include "firmware/state_io.h"

namespace emu::core {

class GenericTimer {
 public:
  /// Which timer: CNTP_* (EL1 physical) or CNTV_* (virtual; CNTVOFF_EL2 is 0 in the model).
  enum class Kind : std::uint8_t { Physical = 0, Virtual = 1 };

  /// CNTx_CTL_EL0 fields (D19.11): ENABLE [0], IMASK [1], ISTATUS [2] (read-only).
  static constexpr std::uint64_t kEnable = 1u << 0;
  static constexpr std::uint64_t kImask = 1u << 1;
  static constexpr std::uint64_t kIstatus = 1u << 2;

  /// The PPI INTIDs QEMU virt and the Arm BSA give the timers: virtual 27, non-secure EL1 physical 30.
  static constexpr unsigned kVirtualIntid = 27;
  static constexpr unsigned kPhysicalIntid = 30;
  static constexpr unsigned intid(Kind k) { return k == Kind::Virtual ? kVirtualIntid : kPhysicalIntid; }

  /// CTL as read at `counter`: ISTATUS is set when the timer is enabled and the condition
  /// CVAL <= counter holds (D11.2.4); with ENABLE = 0 it reads 0, as on QEMU.
  std::uint64_t ctl(Kind k, std::uint64_t counter) const;
  /// Only ENABLE and IMASK are writable; the other bits are RES0 or read-only.
  void set_ctl(Kind k, std::uint64_t value) { at(k).ctl = value & (kEnable | kImask); }
  std::uint64_t cval(Kind k) const { return at(k).cval; }
  void set_cval(Kind k, std::uint64_t value) { at(k).cval = value; }
  /// TVAL reads the low 32 bits of CVAL - counter (a signed down-counter; negative after expiry).
  std::uint64_t tval(Kind k, std::uint64_t counter) const { return static_cast<std::uint32_t>(at(k).cval - counter); }
  /// A TVAL write sets CVAL = counter + the value sign-extended from 32 bits.
  void set_tval(Kind k, std::uint64_t value, std::uint64_t counter);

  /// The interrupt output at `counter`: ENABLE && !IMASK && ISTATUS.
  bool line(Kind k, std::uint64_t counter) const;
  /// The earliest counter value above `counter` at which an output that is low now goes high,
  /// if any: the time the platform must look at the timers again.
  std::optional<std::uint64_t> next_edge(std::uint64_t counter) const;

  /// The values of a PE coming out of reset (CTL.ENABLE = 0; CVAL 0, as KVM resets it).
  void reset() { *this = GenericTimer{}; }

  void save(fw::StateWriter& out) const;
  void load(fw::StateReader& in);

 private:
  struct Channel {
    std::uint64_t ctl = 0;  // ENABLE and IMASK only
    std::uint64_t cval = 0;
  };
  Channel& at(Kind k) { return channels_[static_cast<unsigned>(k)]; }
  const Channel& at(Kind k) const { return channels_[static_cast<unsigned>(k)]; }
  Channel channels_[2];
};

}  // namespace emu::core
