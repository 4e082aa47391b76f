// A GICv3 interrupt controller (Arm GIC architecture specification, IHI 0069H) as QEMU's
// `virt` board has it with gic-version=3: a distributor, one redistributor per vCPU and the
// system-register CPU interface (ICC_*_EL1). No ITS, no LPIs, no virtualization (ICH_*), and a
// single security state (GICD_CTLR.DS = 1). Plain C++, no engine: core/vcpu.cpp bridges the
// MMIO frames and the ICC_* accesses to it.
//
// Model choices (where the architecture leaves a choice, QEMU 7.2's unless said otherwise):
// * 224 SPIs (INTIDs 32..255; GICD_TYPER.ITLinesNumber = 7, as QEMU 7.2 virt reads) and 5
//   bits of priority (ICC_CTLR_EL1.PRIbits = 4): priority fields keep bits [7:3] (QEMU's
//   distributor keeps all 8), so there are 32 priority levels and one active-priority
//   register per group (AP1R0; AP1R1..3 are RAZ/WI). GICD_IROUTER's RES0 bits read 0.
// * Group 0 is never signalled: the platform has no FIQ. GICD_CTLR.EnableGrp0 and
//   ICC_IGRPEN0_EL1 are RAZ/WI and ICC_IAR0_EL1 / ICC_HPPIR0_EL1 read 1023, so a Group 0
//   interrupt stays pending for ever. (Linux and the bundled guests use Group 1 only.)
// * A 1-of-N SPI (GICD_IROUTER.IRM = 1) goes to the lowest-numbered vCPU whose CPU interface
//   has Group 1 enabled, so the choice is deterministic.
// * GICR_WAKER.ProcessorSleep is kept and read back but does not gate delivery.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <vector>

#include "firmware/state_io.h"

namespace emu::core {

/// Told when what the CPU interface of `cpu` signals may have changed (an SGI, a pending,
/// enable, priority, PMR or group-enable change...). Called synchronously from inside the
/// model's methods; it may call irq_signalled() but must not modify the GIC.
class GicListener {
 public:
  virtual void gic_changed(unsigned cpu) = 0;

 protected:
  ~GicListener() = default;
};

class Gicv3 {
 public:
  static constexpr unsigned kSpis = 224;  ///< INTIDs 32..255, as QEMU 7.2 virt (GICD_TYPER.ITLinesNumber = 7)
  static constexpr unsigned kIntids = 32 + kSpis;
  static constexpr std::uint64_t kDistSize = 0x10000;
  static constexpr std::uint64_t kRedistStride = 0x20000;  ///< RD_base + SGI_base frames per CPU
  static constexpr unsigned kSpurious = 1023;
  static constexpr unsigned kPriorityBits = 5;
  static constexpr std::uint8_t kIdlePriority = 0xFF;  ///< ICC_RPR_EL1 with nothing active

  /// `cpus` CPU interfaces and redistributors; CPU i has affinity fw::affinity_of(i)
  /// (Aff0 = i % 16, Aff1 = i / 16). `listener` may be null; it is not called from here.
  Gicv3(unsigned cpus, GicListener* listener);
  Gicv3(const Gicv3&) = delete;
  Gicv3& operator=(const Gicv3&) = delete;

  /// Every register at its reset value; input line levels are kept (they are the devices').
  void reset();

  // MMIO: offset from the GICD base / from the GICR base (CPU i's frames at i * kRedistStride).
  // size is 1, 2, 4 or 8 bytes as the guest accessed; accesses of a width a register does not
  // support read 0 and are ignored (the bus is RAZ/WI there, as for reserved offsets).
  std::uint64_t dist_read(std::uint64_t offset, unsigned size) const;
  void dist_write(std::uint64_t offset, unsigned size, std::uint64_t value);
  std::uint64_t redist_read(std::uint64_t offset, unsigned size) const;
  void redist_write(std::uint64_t offset, unsigned size, std::uint64_t value);

  /// The system-register CPU interface (EL1 registers only: the model has no EL2/EL3).
  enum class Icc : std::uint8_t {
    Iar0, Eoir0, Hppir0, Bpr0, Ap0r0, Ap0r1, Ap0r2, Ap0r3, Ap1r0, Ap1r1, Ap1r2, Ap1r3,
    Dir, Rpr, Sgi1r, Asgi1r, Sgi0r, Iar1, Eoir1, Hppir1, Bpr1, Ctlr, Sre, Igrpen0, Igrpen1, Pmr,
  };
  /// The ICC_* register an MRS/MSR encoding names (op0, op1, CRn, CRm, op2), if any.
  static std::optional<Icc> icc_register(unsigned op0, unsigned op1, unsigned crn, unsigned crm, unsigned op2);
  std::uint64_t icc_read(unsigned cpu, Icc reg);               ///< IAR1 acknowledges
  void icc_write(unsigned cpu, Icc reg, std::uint64_t value);  ///< SGI1R etc. send SGIs from `cpu`

  /// Interrupt inputs from devices (level-sensitive lines): timers on PPIs, the PL011 on an SPI.
  void set_ppi_line(unsigned cpu, unsigned intid, bool high);  ///< intid 16..31
  void set_spi_line(unsigned intid, bool high);                ///< intid 32..kIntids-1

  /// Whether CPU `cpu`'s interface asserts IRQ now (IHI 0069H §4.8): the highest-priority
  /// pending, enabled, inactive Group 1 interrupt routed to it has a priority above the
  /// priority mask and a group priority above the running priority, with Group 1 enabled in
  /// GICD_CTLR and ICC_IGRPEN1_EL1. Cached: cheap to call at every scheduling slice.
  bool irq_signalled(unsigned cpu) const;

  void save(fw::StateWriter& out) const;
  /// Throws fw::StateError on anything a saved GIC could not hold; the model is unchanged then.
  void load(fw::StateReader& in);

 private:
  struct Irq {
    std::uint8_t priority = 0;
    bool group1 = false;
    bool enabled = false;
    bool latch = false;  // pending by an edge, ISPENDR or an SGI (cleared by ICPENDR, acknowledge)
    bool line = false;   // the input level (level-sensitive)
    bool active = false;
    bool edge = false;   // ICFGR: edge-triggered
    std::uint64_t route = 0;  // GICD_IROUTER (SPIs only)
    bool pending() const { return latch || (line && !edge); }
  };
  struct CpuInterface {
    std::uint8_t pmr = 0;
    std::uint8_t bpr0 = 2;
    std::uint8_t bpr1 = 3;
    bool eoi_mode = false;  // ICC_CTLR_EL1.EOImode
    bool cbpr = false;
    bool igrpen1 = false;
    std::uint32_t ap1r = 0;  // bit n: group priority n << 3 is active
    std::uint64_t waker = 0b10;  // GICR_WAKER.ProcessorSleep
  };
  struct Best {
    unsigned intid = kSpurious;
    std::uint8_t priority = kIdlePriority;
  };

  Irq& irq(unsigned cpu, unsigned intid) { return intid < 32 ? banked_[cpu][intid] : spis_[intid - 32]; }
  const Irq& irq(unsigned cpu, unsigned intid) const { return intid < 32 ? banked_[cpu][intid] : spis_[intid - 32]; }
  std::optional<unsigned> spi_target(const Irq& spi) const;
  Best highest_pending(unsigned cpu) const;
  std::uint8_t group_priority(unsigned cpu, std::uint8_t priority) const;
  std::uint8_t running_priority(unsigned cpu) const;
  bool signalled_now(unsigned cpu) const;
  unsigned acknowledge(unsigned cpu);
  void end_of_interrupt(unsigned cpu, unsigned intid);
  void deactivate(unsigned cpu, unsigned intid);
  void send_sgi(unsigned cpu, std::uint64_t value, bool group1);

  // Register banks shared by GICD (SPIs) and GICR's SGI frame (SGIs and PPIs).
  std::uint64_t bank_read(unsigned cpu, unsigned first_intid, std::uint64_t offset, unsigned size) const;
  void bank_write(unsigned cpu, unsigned first_intid, std::uint64_t offset, unsigned size, std::uint64_t value);
  std::uint64_t id_register(std::uint64_t offset) const;
  std::uint64_t rd_read(unsigned cpu, std::uint64_t offset, unsigned size) const;

  void changed(unsigned cpu);
  void changed_spi(const Irq& spi);
  void changed_all();

  unsigned cpus_;
  GicListener* listener_;
  bool enable_grp1_ = false;  // GICD_CTLR.EnableGrp1
  std::vector<std::array<Irq, 32>> banked_;  // SGIs and PPIs per CPU
  std::vector<Irq> spis_;
  std::vector<CpuInterface> cpu_;
  mutable std::vector<std::uint8_t> cache_;  // per CPU: 0 stale, 1 not signalled, 2 signalled
};

}  // namespace emu::core
