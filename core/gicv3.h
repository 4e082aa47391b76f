// A GICv3 interrupt controller (Arm GIC architecture specification, IHI 0069H) as QEMU 7.2's
// `virt` board has it with gic-version=3: a distributor, one redistributor per vCPU and the
// system-register CPU interface (ICC_*_EL1). No ITS, no LPIs, no virtualization (ICH_*), and a
// single security state (GICD_CTLR.DS = 1). Plain C++, no engine: core/vcpu.cpp bridges the
// MMIO frames and the ICC_* accesses to it.
//
// Model choices (where the architecture leaves one, QEMU 7.2's unless said otherwise):
// * 224 SPIs (INTIDs 32..255, GICD_TYPER.ITLinesNumber = 7, as QEMU 7.2 virt reads) and 5
//   bits of priority, as QEMU 7.2 gives every Cortex-A and `max` CPU (ICC_CTLR_EL1.PRIbits =
//   4): priority fields keep bits
//   [7:3], so there are 32 levels, the minimum binary points are BPR0 = 2 and BPR1 = 3, and one
//   active-priority register per group is enough (ICC_AP1R0_EL1; AP1R1..3 are RAZ/WI).
// * Group 0 is never signalled: the platform has no FIQ. GICD_CTLR.EnableGrp0 and
//   ICC_IGRPEN0_EL1 are RAZ/WI, ICC_AP0Rn_EL1 are RAZ/WI, ICC_IAR0_EL1 / ICC_HPPIR0_EL1 read
//   1023 and ICC_EOIR0_EL1 is ignored, so a Group 0 interrupt stays pending for ever. (Linux
//   and the bundled guests use Group 1 only.) QEMU would signal it as FIQ.
// * A 1-of-N SPI (GICD_IROUTER.IRM = 1) goes to the lowest-numbered CPU whose interface has
//   Group 1 enabled, so the choice is deterministic; GICD_TYPER.No1N is 0 to say 1-of-N is
//   supported. (QEMU 7.2 sets No1N and routes by the affinity fields alone.)
// * ICC_SGI1R_EL1 with RS != 0 names Aff0 values 16 and up, which no CPU has (affinity_of
//   keeps Aff0 below 16), so it reaches nobody. (QEMU 7.2 ignores RS.)
// * GICR_WAKER.ProcessorSleep is kept and read back but does not gate delivery.
// * GICR_PROPBASER / GICR_PENDBASER are RAZ/WI: there are no LPIs (QEMU 7.2 keeps them).
// * An interrupt the firmware owns (an SDEI bind slot's, fw::InterruptController) is hidden
//   from the guest as a Secure interrupt is from Non-secure accesses when GICD_CTLR.DS = 0
//   (IHI 0069H §12.1.9): its bits in every per-INTID register are RAZ/WI and it is never
//   signalled as an IRQ. Its enable and active state are the firmware's to drive.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <vector>

#include "firmware/platform.h"
#include "firmware/state_io.h"

namespace emu::core {

/// Told when what the CPU interface of `cpu` signals may have changed (an SGI, a pending,
/// enable, priority, PMR or group-enable change...). Called synchronously from inside the
/// model's methods, once the change is complete; it may call irq_signalled() but must not
/// modify the GIC. This model calls it only for a CPU whose irq_signalled() value did change
/// (and for every CPU on reset() and load()), never from the constructor.
class GicListener {
 public:
  virtual void gic_changed(unsigned cpu) = 0;
  /// An interrupt the firmware owns may have triggered or stopped triggering (its input line,
  /// enable or active state changed). Same calling rules as gic_changed().
  virtual void gic_firmware_changed() {}

 protected:
  ~GicListener() = default;
};

class Gicv3 final : public fw::InterruptController {
 public:
  static constexpr unsigned kSpis = 224;  ///< INTIDs 32..255, as QEMU 7.2 virt (GICD_TYPER.ITLinesNumber = 7)
  static constexpr unsigned kIntids = 32 + kSpis;
  static constexpr std::uint64_t kDistSize = 0x10000;
  static constexpr std::uint64_t kRedistStride = 0x20000;  ///< RD_base + SGI_base frames per CPU
  static constexpr unsigned kSpurious = 1023;
  static constexpr unsigned kPriorityBits = 5;         ///< ICC_CTLR_EL1.PRIbits + 1
  static constexpr std::uint8_t kIdlePriority = 0xFF;  ///< ICC_RPR_EL1 with nothing active

  /// `cpus` CPU interfaces and redistributors; CPU i has affinity fw::affinity_of(i)
  /// (firmware/vm_state.h: Aff0 = i % 16, Aff1 = i / 16). `listener` may be null; the
  /// constructor does not call it (the owner may still be under construction).
  Gicv3(unsigned cpus, GicListener* listener);
  Gicv3(const Gicv3&) = delete;
  Gicv3& operator=(const Gicv3&) = delete;

  /// Every register at its reset value; the input line levels are kept (they are the devices').
  void reset();

  // MMIO: offset from the GICD base / from the GICR base (CPU i's frames at i * kRedistStride).
  // size is 1, 2, 4 or 8 bytes as the guest accessed; unaligned or unsupported widths read 0 /
  // are ignored (no exception: the bus is RAZ/WI there, as for reserved offsets).
  std::uint64_t dist_read(std::uint64_t offset, unsigned size);
  void dist_write(std::uint64_t offset, unsigned size, std::uint64_t value);
  std::uint64_t redist_read(std::uint64_t offset, unsigned size);
  void redist_write(std::uint64_t offset, unsigned size, std::uint64_t value);

  /// The system-register CPU interface (EL1 registers only: the model has no EL2/EL3).
  // clang-format off
  enum class Icc : std::uint8_t {
    Iar0, Eoir0, Hppir0, Bpr0, Ap0r0, Ap0r1, Ap0r2, Ap0r3, Ap1r0, Ap1r1, Ap1r2, Ap1r3,
    Dir, Rpr, Sgi1r, Asgi1r, Sgi0r, Iar1, Eoir1, Hppir1, Bpr1, Ctlr, Sre, Igrpen0, Igrpen1, Pmr,
  };
  // clang-format on

  /// The ICC_* register an MRS/MSR encoding names (op0, op1, CRn, CRm, op2), if any.
  static std::optional<Icc> icc_register(unsigned op0, unsigned op1, unsigned crn, unsigned crm, unsigned op2);
  std::uint64_t icc_read(unsigned cpu, Icc reg);               ///< IAR1 acknowledges
  void icc_write(unsigned cpu, Icc reg, std::uint64_t value);  ///< SGI1R etc. send SGIs from `cpu`

  /// Interrupt inputs from devices (level-sensitive lines): timers on PPIs, the PL011 on an SPI.
  /// Out-of-range CPUs and INTIDs are ignored.
  void set_ppi_line(unsigned cpu, unsigned intid, bool high);  ///< intid 16..31
  void set_spi_line(unsigned intid, bool high);                ///< intid 32..kIntids-1

  /// Whether CPU `cpu`'s interface asserts IRQ now (IHI 0069H "Interrupt prioritization"):
  /// the highest-priority pending, enabled, inactive Group 1 interrupt routed to it has a
  /// priority above the priority mask and a group priority above the running priority, with
  /// Group 1 enabled in GICD_CTLR and ICC_IGRPEN1_EL1. O(1): kept up to date by every method
  /// that changes state. False for a CPU that does not exist.
  bool irq_signalled(unsigned cpu) const { return cpu < cpus_ && signalled_[cpu] != 0; }

  // fw::InterruptController: the firmware's side, for SDEI bind slots (firmware/platform.h).
  Kind kind(std::uint32_t intid) const override;
  void claim(unsigned cpu, std::uint32_t intid, bool firmware) override;
  void enable(unsigned cpu, std::uint32_t intid, bool on) override;
  bool active(unsigned cpu, std::uint32_t intid) const override;
  bool triggered(unsigned cpu, std::uint32_t intid) const override;
  void acknowledge(unsigned cpu, std::uint32_t intid) override;
  void deactivate(unsigned cpu, std::uint32_t intid) override;

  void save(fw::StateWriter& out) const;  ///< firmware/state_io.h
  /// Throws fw::StateError on anything a saved GIC could not hold; the model is unchanged then.
  void load(fw::StateReader& in);

 private:
  /// One interrupt's state: per CPU for SGIs and PPIs (the redistributor's), shared for SPIs.
  struct Irq {
    std::uint8_t priority = 0;  ///< IPRIORITYR, implemented bits only; resets to 0
    bool group1 = false;        ///< IGROUPR; resets to Group 0
    bool enabled = false;       ///< ISENABLER / ICENABLER; resets to disabled
    bool latch = false;         ///< pending by an edge, ISPENDR or an SGI (cleared by ICPENDR, acknowledge)
    bool line = false;          ///< the input level (PPIs and SPIs only); kept over reset()
    bool active = false;        ///< ISACTIVER / ICACTIVER; resets to inactive
    bool edge = false;          ///< ICFGR: edge-triggered; SGIs always, PPIs and SPIs reset to level
    std::uint64_t route = 0;    ///< GICD_IROUTER (SPIs only, defined bits); resets to CPU 0
    bool firmware = false;      ///< owned by the firmware (PPIs and SPIs only); resets to the guest's
    bool pending() const { return latch || (line && !edge); }
  };
  /// One CPU interface's registers (and its redistributor's GICR_WAKER).
  struct CpuInterface {
    std::uint8_t pmr = 0;    ///< ICC_PMR_EL1; resets to 0 (everything masked)
    std::uint8_t bpr0 = 2;   ///< ICC_BPR0_EL1; resets to the minimum, 2
    std::uint8_t bpr1 = 3;   ///< ICC_BPR1_EL1; resets to the minimum, 3
    bool eoi_mode = false;   ///< ICC_CTLR_EL1.EOImode; resets to 0
    bool cbpr = false;       ///< ICC_CTLR_EL1.CBPR; resets to 0
    bool igrpen1 = false;    ///< ICC_IGRPEN1_EL1.Enable; resets to 0
    std::uint32_t ap1r = 0;  ///< ICC_AP1R0_EL1: bit n = group priority n << 3 active; resets to 0
    bool sleep = true;       ///< GICR_WAKER.ProcessorSleep; resets to 1
    bool operator==(const CpuInterface&) const = default;
  };
  struct Best {
    unsigned intid = kSpurious;
    std::uint8_t priority = kIdlePriority;
  };

  void reset_state();
  Irq& irq(unsigned cpu, unsigned intid) { return intid < 32 ? banked_[cpu][intid] : spis_[intid - 32]; }
  const Irq& irq(unsigned cpu, unsigned intid) const { return intid < 32 ? banked_[cpu][intid] : spis_[intid - 32]; }
  /// The interrupt the firmware names, if it is a PPI of an existing CPU or an SPI.
  const Irq* owned_irq(unsigned cpu, std::uint32_t intid) const;
  Irq* owned_irq(unsigned cpu, std::uint32_t intid);
  /// Whether a per-INTID block shows `intid` to the guest: its own and not the firmware's.
  bool guest_sees(unsigned cpu, bool redist, unsigned intid) const;
  void firmware_changed();

  // Who gets what, and what the CPU interface signals.
  std::optional<unsigned> spi_target(const Irq& spi) const;
  Best highest_pending(unsigned cpu) const;
  std::uint8_t group_priority(unsigned cpu, std::uint8_t priority) const;
  std::uint8_t running_priority(unsigned cpu) const;
  bool signalled_now(unsigned cpu) const;

  // The CPU interface's actions.
  std::uint64_t icc_value(unsigned cpu, Icc reg) const;
  void icc_control(unsigned cpu, Icc reg, std::uint64_t value);
  unsigned acknowledge(unsigned cpu);
  void end_of_interrupt(unsigned cpu, unsigned intid);
  void guest_deactivate(unsigned cpu, unsigned intid);
  void send_sgi(unsigned cpu, std::uint64_t value, bool any_group);

  // Register blocks shared by GICD (SPIs) and GICR's SGI frame (SGIs and PPIs).
  std::uint64_t bank_read(unsigned cpu, bool redist, std::uint64_t offset, unsigned size) const;
  void bank_write(unsigned cpu, bool redist, std::uint64_t offset, unsigned size, std::uint64_t value);
  void bits_write(unsigned cpu, bool redist, std::uint64_t offset, std::uint32_t value);
  void priority_write(unsigned cpu, bool redist, std::uint64_t offset, unsigned size, std::uint64_t value);
  void config_write(unsigned cpu, bool redist, std::uint64_t offset, std::uint32_t value);
  std::uint64_t router_read(std::uint64_t offset, unsigned size) const;
  void router_write(std::uint64_t offset, unsigned size, std::uint64_t value);
  std::uint64_t dist_control_read(std::uint64_t offset) const;
  std::uint64_t rd_read(unsigned cpu, std::uint64_t offset, unsigned size) const;

  // Change tracking: touch() marks a CPU whose signal may have changed; publish() recomputes
  // the marked CPUs and tells the listener about those whose signal did change.
  void touch(unsigned cpu) { dirty_[cpu] = 1; }
  void touch_irq(unsigned cpu, unsigned intid);
  void touch_all();
  void publish(bool tell_all = false);

  unsigned cpus_;
  GicListener* listener_;
  bool enable_grp1_ = false;                 // GICD_CTLR.EnableGrp1; resets to 0
  std::vector<std::array<Irq, 32>> banked_;  // SGIs and PPIs per CPU
  std::vector<Irq> spis_;
  std::vector<CpuInterface> cpu_;
  std::vector<std::uint8_t> signalled_;  // per CPU: irq_signalled()
  std::vector<std::uint8_t> dirty_;      // per CPU: touched since the last publish()
};

}  // namespace emu::core
