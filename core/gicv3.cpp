#include "core/gicv3.h"

#include <algorithm>
#include <bit>
#include <utility>

#include "firmware/vm_state.h"

namespace emu::core {
namespace {

// Per-INTID register blocks, the same layout in GICD and GICR_SGI_base (IHI 0069H, the
// GICD_* and GICR_* register descriptions): one bit per INTID from IGROUPR to ICACTIVER, a
// byte per INTID in IPRIORITYR, two bits in ICFGR.
constexpr std::uint64_t kIgroupr = 0x080;
constexpr std::uint64_t kBitBlock = 0x080;  // IGROUPR, ISENABLER, ICENABLER, ISPENDR, ICPENDR, ISACTIVER, ICACTIVER
constexpr std::uint64_t kBitsEnd = 0x400;
constexpr std::uint64_t kIpriorityr = 0x400;
constexpr std::uint64_t kIpriorityrEnd = 0x800;
constexpr std::uint64_t kIcfgr = 0xC00;  // bit 2n+1: INTID n is edge-triggered; bit 2n RES0
constexpr std::uint64_t kIcfgrEnd = 0xD00;
enum Block : unsigned { kGroup, kSetEnable, kClearEnable, kSetPending, kClearPending, kSetActive, kClearActive };

// The distributor's own registers.
constexpr std::uint64_t kGicdCtlr = 0x0000;
constexpr std::uint64_t kGicdTyper = 0x0004;
constexpr std::uint64_t kGicdIidr = 0x0008;
constexpr std::uint64_t kIrouter = 0x6000;  // eight bytes per INTID; SPIs only
constexpr std::uint64_t kIrouterEnd = kIrouter + 8 * Gicv3::kIntids;
constexpr std::uint32_t kCtlrEnableGrp1 = 1u << 1;
constexpr std::uint32_t kCtlrAre = 1u << 4;  // affinity routing: RAO/WI, the only mode modelled
constexpr std::uint32_t kCtlrDs = 1u << 6;   // single security state: RAO/WI
constexpr std::uint64_t kIrouterIrm = 1u << 31;
constexpr std::uint64_t kIrouterMask = 0xFF'0000'0000ull | kIrouterIrm | 0xFF'FFFFu;  // Aff3, IRM, Aff2..0
// GICD_IIDR / GICR_IIDR: Arm (JEP106 0x43B), ProductID 0, r0p0, as QEMU reports.
constexpr std::uint32_t kIidr = 0x43B;

// GICR RD_base and the SGI_base frame 64 KiB above it.
constexpr std::uint64_t kGicrCtlr = 0x0000;
constexpr std::uint64_t kGicrIidr = 0x0004;
constexpr std::uint64_t kGicrTyper = 0x0008;
constexpr std::uint64_t kGicrWaker = 0x0014;
constexpr std::uint64_t kSgiBase = 0x1'0000;
constexpr std::uint32_t kWakerProcessorSleep = 1u << 1;
constexpr std::uint32_t kWakerChildrenAsleep = 1u << 2;
constexpr std::uint64_t kTyperCommonLpiAff = 1u << 24;  // as QEMU sets it, though it has no meaning without LPIs
constexpr std::uint64_t kTyperLast = 1u << 4;

// The CoreSight ID registers at 0xFFD0..0xFFFC of GICD and GICR RD_base: PIDR4..7, PIDR0..3,
// CIDR0..3, as QEMU 7.2 reads them. PIDR2.ArchRev [7:4] = 3 is what drivers check (Linux's
// gic_validate_dist_version); PIDR0 tells the frames apart (GICD 0x92, GICR 0x93).
constexpr std::uint64_t kIdBase = 0xFFD0;
constexpr std::uint8_t kIds[12] = {0x44, 0, 0, 0, 0, 0xB4, 0x3B, 0, 0x0D, 0xF0, 0x05, 0xB1};
constexpr std::uint8_t kPidr0Dist = 0x92;
constexpr std::uint8_t kPidr0Redist = 0x93;

// The CPU interface (IHI 0069H and Arm ARM DDI 0487, the ICC_*_EL1 register descriptions).
constexpr unsigned kPriorityShift = 8 - Gicv3::kPriorityBits;
constexpr std::uint8_t kPriorityMask = 0xFF & (0xFF << kPriorityShift);
constexpr std::uint8_t kMinBpr0 = kPriorityShift - 1;  // group priority bits [7:3] at the finest
constexpr std::uint8_t kMinBpr1 = kMinBpr0 + 1;        // BPR1 counts one more (ICC_BPR1_EL1)
constexpr std::uint32_t kIccCtlrEoiMode = 1u << 1;
constexpr std::uint32_t kIccCtlrCbpr = 1u << 0;
// ICC_CTLR_EL1 read-only fields as QEMU 7.2 reads them (tests/data/gic-regs-qemu72.txt):
// PRIbits [10:8], IDbits [13:11] = 1 (24 bits), A3V [15]. SEIS, RSS and ExtRange are 0.
constexpr std::uint32_t kIccCtlrFixed = ((Gicv3::kPriorityBits - 1) << 8) | (1u << 11) | (1u << 15);
constexpr std::uint64_t kIccSre = 0x7;  // SRE, DFB, DIB: RAO/WI, the system-register interface only

bool aligned(std::uint64_t offset, unsigned size) {
  return (size == 1 || size == 2 || size == 4 || size == 8) && offset % size == 0;
}

std::uint64_t id_register(std::uint64_t offset, unsigned size, std::uint8_t pidr0) {
  if (size != 4 || offset < kIdBase || offset >= kIdBase + 4 * sizeof kIds) return 0;
  const std::uint64_t n = (offset - kIdBase) / 4;
  return n == 4 ? pidr0 : kIds[n];
}

// Which INTIDs a per-INTID block serves: GICR_SGI_base the SGIs and PPIs, GICD the SPIs
// (its SGI/PPI fields are RAZ/WI under affinity routing).
bool serves(bool redist, unsigned intid) {
  return redist ? intid < 32 : intid >= 32 && intid < Gicv3::kIntids;
}

}  // namespace

Gicv3::Gicv3(unsigned cpus, GicListener* listener)
    : cpus_(cpus), listener_(listener), banked_(cpus), spis_(kSpis), cpu_(cpus), signalled_(cpus, 0), dirty_(cpus, 0) {
  reset_state();  // nothing is enabled yet, so nothing is signalled: no one to tell
}

void Gicv3::reset_state() {
  enable_grp1_ = false;
  const auto fresh = [](Irq& i, bool edge) {
    const bool line = i.line;
    i = Irq{};
    i.line = line;
    i.edge = edge;
  };
  for (auto& bank : banked_) {
    for (unsigned n = 0; n < 32; ++n) fresh(bank[n], n < 16);  // SGIs are edge-triggered
  }
  for (Irq& spi : spis_) fresh(spi, false);
  for (CpuInterface& c : cpu_) c = CpuInterface{};
}

void Gicv3::reset() {
  reset_state();
  publish(true);
}

// ---- who gets what ----

// GICD_IROUTER<n>: Aff3.Aff2.Aff1.Aff0 name one CPU, or IRM = 1 lets the GIC choose
// (the model's choice: the lowest-numbered CPU with Group 1 enabled).
std::optional<unsigned> Gicv3::spi_target(const Irq& spi) const {
  if ((spi.route & kIrouterIrm) != 0) {
    for (unsigned c = 0; c < cpus_; ++c) {
      if (cpu_[c].igrpen1) return c;
    }
    return std::nullopt;
  }
  if ((spi.route >> 32) != 0) return std::nullopt;  // Aff3: no CPU has one
  return fw::vcpu_of(spi.route & 0xFF'FFFFu, cpus_);
}

// The highest-priority pending interrupt of `cpu` (lowest INTID on ties, the model's
// choice): enabled, inactive, Group 1 with Group 1 enabled in GICD_CTLR and ICC_IGRPEN1_EL1,
// routed to `cpu`.
Gicv3::Best Gicv3::highest_pending(unsigned cpu) const {
  Best best;
  if (!enable_grp1_ || !cpu_[cpu].igrpen1) return best;
  const auto consider = [&](const Irq& i, unsigned intid) {
    if (!i.pending() || !i.enabled || i.active || !i.group1 || i.firmware || i.priority >= best.priority) return;
    best = {intid, i.priority};
  };
  for (unsigned n = 0; n < 32; ++n) consider(banked_[cpu][n], n);
  for (unsigned n = 0; n < kSpis; ++n) {
    const Irq& spi = spis_[n];
    if (spi.pending() && spi.enabled && spi_target(spi) == cpu) consider(spi, 32 + n);
  }
  return best;
}

// Group priority (IHI 0069H "Priority grouping"): ICC_BPR1_EL1 = b keeps priority bits
// [7:b]; with ICC_CTLR_EL1.CBPR Group 1 uses ICC_BPR0_EL1 = b, which keeps bits [7:b+1].
std::uint8_t Gicv3::group_priority(unsigned cpu, std::uint8_t priority) const {
  const CpuInterface& c = cpu_[cpu];
  const unsigned shift = c.cbpr ? c.bpr0 + 1u : c.bpr1;
  return static_cast<std::uint8_t>(priority & (0xFFu << shift));
}

// The running priority (ICC_RPR_EL1) is the highest active group priority: the lowest set
// bit of ICC_AP1R0_EL1, bit n standing for group priority n << 3; idle with no bit set.
std::uint8_t Gicv3::running_priority(unsigned cpu) const {
  const std::uint32_t ap = cpu_[cpu].ap1r;
  return ap == 0 ? kIdlePriority : static_cast<std::uint8_t>(std::countr_zero(ap) << kPriorityShift);
}

// IHI 0069H "Interrupt prioritization": signalled when the highest pending priority is above
// the priority mask and its group priority preempts the running priority.
bool Gicv3::signalled_now(unsigned cpu) const {
  const Best best = highest_pending(cpu);
  return best.intid != kSpurious && best.priority < cpu_[cpu].pmr &&
         group_priority(cpu, best.priority) < running_priority(cpu);
}

// ---- change tracking ----

void Gicv3::touch_irq(unsigned cpu, unsigned intid) {
  if (intid < 32) {
    touch(cpu);
  } else if (const std::optional<unsigned> target = spi_target(spis_[intid - 32])) {
    touch(*target);
  }
}

void Gicv3::touch_all() {
  std::fill(dirty_.begin(), dirty_.end(), std::uint8_t{1});
}

// Recompute every touched CPU first, then tell the listener: it may ask any CPU's signal.
void Gicv3::publish(bool tell_all) {
  for (unsigned c = 0; c < cpus_; ++c) {
    if (dirty_[c] == 0 && !tell_all) continue;
    const std::uint8_t now = signalled_now(c) ? 1 : 0;
    dirty_[c] = (now != signalled_[c] || tell_all) ? 2 : 0;
    signalled_[c] = now;
  }
  for (unsigned c = 0; c < cpus_; ++c) {
    if (dirty_[c] != 2) continue;
    dirty_[c] = 0;
    if (listener_ != nullptr) listener_->gic_changed(c);
  }
}

// ---- the CPU interface ----

std::optional<Gicv3::Icc> Gicv3::icc_register(unsigned op0, unsigned op1, unsigned crn, unsigned crm, unsigned op2) {
  if (op0 != 3 || op1 != 0 || op2 > 7) return std::nullopt;
  if (crn == 4 && crm == 6 && op2 == 0) return Icc::Pmr;
  if (crn != 12) return std::nullopt;
  static constexpr Icc kCrm8[8] = {Icc::Iar0,  Icc::Eoir0, Icc::Hppir0, Icc::Bpr0,
                                   Icc::Ap0r0, Icc::Ap0r1, Icc::Ap0r2,  Icc::Ap0r3};
  static constexpr Icc kCrm12[8] = {Icc::Iar1, Icc::Eoir1, Icc::Hppir1,  Icc::Bpr1,
                                    Icc::Ctlr, Icc::Sre,   Icc::Igrpen0, Icc::Igrpen1};
  switch (crm) {
    case 8: return kCrm8[op2];
    case 9:
      return op2 < 4 ? std::optional<Icc>(static_cast<Icc>(static_cast<unsigned>(Icc::Ap1r0) + op2)) : std::nullopt;
    case 11:
      if (op2 == 1) return Icc::Dir;
      if (op2 == 3) return Icc::Rpr;
      if (op2 >= 5) return static_cast<Icc>(static_cast<unsigned>(Icc::Sgi1r) + (op2 - 5));
      return std::nullopt;
    case 12: return kCrm12[op2];
    default: return std::nullopt;
  }
}

std::uint64_t Gicv3::icc_read(unsigned cpu, Icc reg) {
  if (cpu >= cpus_) return 0;
  if (reg != Icc::Iar1) return icc_value(cpu, reg);
  const unsigned intid = acknowledge(cpu);
  publish();
  return intid;
}

// The registers a read has no side effect on. Write-only registers read 0.
std::uint64_t Gicv3::icc_value(unsigned cpu, Icc reg) const {
  const CpuInterface& c = cpu_[cpu];
  switch (reg) {
    case Icc::Hppir1: return highest_pending(cpu).intid;
    case Icc::Iar0:
    case Icc::Hppir0: return kSpurious;  // Group 0 is never signalled
    case Icc::Bpr0: return c.bpr0;
    case Icc::Bpr1: return c.cbpr ? std::min<unsigned>(c.bpr0 + 1u, 7u) : c.bpr1;  // CBPR: BPR0 + 1, saturated
    case Icc::Ap1r0: return c.ap1r;
    case Icc::Rpr: return running_priority(cpu);
    case Icc::Ctlr: return kIccCtlrFixed | (c.eoi_mode ? kIccCtlrEoiMode : 0) | (c.cbpr ? kIccCtlrCbpr : 0);
    case Icc::Sre: return kIccSre;
    case Icc::Igrpen1: return c.igrpen1 ? 1 : 0;
    case Icc::Pmr: return c.pmr;
    default: return 0;  // Group 0 state, AP1R1..3 (5 priority bits need one) and the write-only registers
  }
}

void Gicv3::icc_write(unsigned cpu, Icc reg, std::uint64_t value) {
  if (cpu >= cpus_) return;
  const auto intid = static_cast<unsigned>(value & 0xFF'FFFF);
  switch (reg) {
    case Icc::Eoir1: end_of_interrupt(cpu, intid); break;
    case Icc::Dir:  // with EOImode = 0 a write is UNPREDICTABLE: ignored, as QEMU does
      if (cpu_[cpu].eoi_mode) guest_deactivate(cpu, intid);
      break;
    case Icc::Sgi1r: send_sgi(cpu, value, true); break;
    case Icc::Asgi1r:
    case Icc::Sgi0r: send_sgi(cpu, value, false); break;
    default: icc_control(cpu, reg, value); break;
  }
  publish();
}

// The plain read/write ICC registers. Group 0's (IGRPEN0, AP0Rn) are RAZ/WI, BPR0 is kept
// for CBPR's sake, and writes below the minimum binary point set the minimum (ICC_BPR0_EL1,
// ICC_BPR1_EL1).
void Gicv3::icc_control(unsigned cpu, Icc reg, std::uint64_t value) {
  CpuInterface& c = cpu_[cpu];
  const CpuInterface before = c;
  switch (reg) {
    case Icc::Bpr0: c.bpr0 = std::max<std::uint8_t>(value & 7, kMinBpr0); break;
    case Icc::Bpr1:
      if (!c.cbpr) c.bpr1 = std::max<std::uint8_t>(value & 7, kMinBpr1);  // with CBPR, writes are ignored
      break;
    case Icc::Ap1r0: c.ap1r = static_cast<std::uint32_t>(value); break;
    case Icc::Ctlr:  // only EOImode and CBPR are writable; PMHE is RAZ/WI
      c.eoi_mode = (value & kIccCtlrEoiMode) != 0;
      c.cbpr = (value & kIccCtlrCbpr) != 0;
      break;
    case Icc::Igrpen1: c.igrpen1 = (value & 1) != 0; break;
    case Icc::Pmr: c.pmr = static_cast<std::uint8_t>(value & kPriorityMask); break;
    default: return;  // read-only, Group 0 and AP1R1..3
  }
  if (c == before) return;
  touch(cpu);
  if (c.igrpen1 != before.igrpen1) touch_all();  // 1-of-N SPIs may now go to this CPU, or leave it
}

// Acknowledge (ICC_IAR1_EL1): the interrupt that is signalled becomes active (an edge
// or software pending state is consumed; a level stays pending while its line is high) and its
// group priority becomes the running priority. 1023 when nothing is signalled.
unsigned Gicv3::acknowledge(unsigned cpu) {
  if (!signalled_now(cpu)) return kSpurious;
  const Best best = highest_pending(cpu);
  Irq& i = irq(cpu, best.intid);
  i.active = true;
  i.latch = false;
  cpu_[cpu].ap1r |= 1u << (group_priority(cpu, best.priority) >> kPriorityShift);
  touch_irq(cpu, best.intid);
  touch(cpu);
  return best.intid;
}

// ICC_EOIR1_EL1 (IHI 0069H "Priority drop and interrupt deactivation"): drops the highest
// active priority, and with EOImode = 0 also deactivates the INTID written. Special and
// unimplemented INTIDs, and an EOI with no active priority, are ignored (UNPREDICTABLE;
// QEMU's choice).
void Gicv3::end_of_interrupt(unsigned cpu, unsigned intid) {
  std::uint32_t& ap = cpu_[cpu].ap1r;
  if (intid >= kIntids || ap == 0) return;
  ap &= ap - 1;  // clears the lowest set bit: the highest active priority
  touch(cpu);
  if (!cpu_[cpu].eoi_mode) guest_deactivate(cpu, intid);
}

void Gicv3::guest_deactivate(unsigned cpu, unsigned intid) {
  if (intid >= kIntids) return;
  Irq& i = irq(cpu, intid);
  if (!i.active || i.firmware) return;  // the firmware ends its own interrupts
  i.active = false;
  touch_irq(cpu, intid);
}

// ICC_SGI1R_EL1 / ICC_ASGI1R_EL1 / ICC_SGI0R_EL1: INTID [27:24], TargetList [15:0] for
// Aff0 = RS [47:44] * 16 + bit, within Aff3 [55:48].Aff2 [39:32].Aff1 [23:16]; or IRM [40] =
// every CPU but the sender. With one security state ("Forwarding an SGI to a target PE"),
// SGI1R pends the SGI whatever its group, while SGI0R and ASGI1R pend it only where it is
// Group 0. (QEMU 7.2 lets SGI1R reach Group 1 SGIs only; Linux's KVM follows the table.)
void Gicv3::send_sgi(unsigned cpu, std::uint64_t value, bool any_group) {
  const unsigned intid = (value >> 24) & 0xF;
  const bool all_but_self = ((value >> 40) & 1) != 0;
  const std::uint64_t aff321 = ((value >> 16) & 0xFF) | (((value >> 32) & 0xFF) << 8) | (((value >> 48) & 0xFF) << 16);
  const unsigned rs = (value >> 44) & 0xF;
  for (unsigned t = 0; t < cpus_; ++t) {
    const std::uint64_t aff = fw::affinity_of(t);
    const unsigned aff0 = aff & 0xFF;
    const bool hit =
        all_but_self ? t != cpu : (aff >> 8) == aff321 && aff0 / 16 == rs && ((value >> (aff0 % 16)) & 1) != 0;
    Irq& sgi = banked_[t][intid];
    if (!hit || (!any_group && sgi.group1) || sgi.latch) continue;
    sgi.latch = true;
    touch(t);
  }
}

// ---- device inputs: a level line is the pending state, an edge latches it (GICD_ICFGR<n>) ----

void Gicv3::set_ppi_line(unsigned cpu, unsigned intid, bool high) {
  if (cpu >= cpus_ || intid < 16 || intid >= 32) return;
  Irq& i = banked_[cpu][intid];
  if (i.line == high) return;
  if (high && i.edge) i.latch = true;
  i.line = high;
  touch(cpu);
  publish();
  if (i.firmware) firmware_changed();
}

void Gicv3::set_spi_line(unsigned intid, bool high) {
  if (intid < 32 || intid >= kIntids) return;
  Irq& i = spis_[intid - 32];
  if (i.line == high) return;
  if (high && i.edge) i.latch = true;
  i.line = high;
  touch_irq(0, intid);
  publish();
  if (i.firmware) firmware_changed();
}

// ---- the firmware's side (SDEI bind slots) ----

fw::InterruptController::Kind Gicv3::kind(std::uint32_t intid) const {
  if (intid < 16) return Kind::Sgi;
  if (intid < 32) return Kind::Ppi;
  return intid < kIntids ? Kind::Spi : Kind::None;
}

const Gicv3::Irq* Gicv3::owned_irq(unsigned cpu, std::uint32_t intid) const {
  if (intid < 16 || intid >= kIntids || (intid < 32 && cpu >= cpus_)) return nullptr;
  return &irq(intid < 32 ? cpu : 0, intid);
}

Gicv3::Irq* Gicv3::owned_irq(unsigned cpu, std::uint32_t intid) {
  return const_cast<Irq*>(std::as_const(*this).owned_irq(cpu, intid));
}

bool Gicv3::guest_sees(unsigned cpu, bool redist, unsigned intid) const {
  return serves(redist, intid) && !irq(cpu, intid).firmware;
}

void Gicv3::firmware_changed() {
  if (listener_ != nullptr) listener_->gic_firmware_changed();
}

// Either way the interrupt is left disabled with no latched pending state, as TF-A leaves it
// at REGISTER and UNREGISTER; given back it is Group 1 at the lowest priority (INTR_TYPE_NS,
// LOWEST_INTR_PRIORITY there). A level input stays pending while its line is high.
void Gicv3::claim(unsigned cpu, std::uint32_t intid, bool firmware) {
  Irq* i = owned_irq(cpu, intid);
  if (i == nullptr) return;
  touch_irq(cpu, intid);
  i->firmware = firmware;
  i->enabled = false;
  i->latch = false;
  if (!firmware) {
    i->group1 = true;
    i->priority = kPriorityMask;
  }
  touch_irq(cpu, intid);
  publish();
  firmware_changed();
}

void Gicv3::enable(unsigned cpu, std::uint32_t intid, bool on) {
  Irq* i = owned_irq(cpu, intid);
  if (i == nullptr || !i->firmware || i->enabled == on) return;
  i->enabled = on;
  firmware_changed();
}

bool Gicv3::active(unsigned cpu, std::uint32_t intid) const {
  const Irq* i = owned_irq(cpu, intid);
  return i != nullptr && i->active;
}

bool Gicv3::triggered(unsigned cpu, std::uint32_t intid) const {
  const Irq* i = owned_irq(cpu, intid);
  return i != nullptr && i->firmware && i->enabled && !i->active && i->pending();
}

void Gicv3::acknowledge(unsigned cpu, std::uint32_t intid) {
  Irq* i = owned_irq(cpu, intid);
  if (i == nullptr || !i->firmware) return;
  i->active = true;
  i->latch = false;
  firmware_changed();
}

// Also for an interrupt given back while its handler ran: the guest sees it inactive then.
void Gicv3::deactivate(unsigned cpu, std::uint32_t intid) {
  Irq* i = owned_irq(cpu, intid);
  if (i == nullptr || !i->active) return;
  i->active = false;
  touch_irq(cpu, intid);
  publish();
  if (i->firmware) firmware_changed();
}

// ---- per-INTID register blocks ----

std::uint64_t Gicv3::bank_read(unsigned cpu, bool redist, std::uint64_t offset, unsigned size) const {
  if (offset >= kIgroupr && offset < kBitsEnd && size == 4) {
    const auto block = static_cast<unsigned>((offset - kIgroupr) / kBitBlock);
    const auto base = static_cast<unsigned>((offset - kIgroupr) % kBitBlock) * 8;
    std::uint64_t bits = 0;
    for (unsigned b = 0; b < 32; ++b) {
      if (!guest_sees(cpu, redist, base + b)) continue;
      const Irq& i = irq(cpu, base + b);
      const bool set = block == kGroup          ? i.group1
                       : block <= kClearEnable  ? i.enabled
                       : block <= kClearPending ? i.pending()
                                                : i.active;
      bits |= std::uint64_t{set} << b;
    }
    return bits;
  }
  if (offset >= kIpriorityr && offset < kIpriorityrEnd && (size == 1 || size == 4)) {  // byte-accessible
    std::uint64_t v = 0;
    for (unsigned k = 0; k < size; ++k) {
      const auto intid = static_cast<unsigned>(offset - kIpriorityr) + k;
      if (guest_sees(cpu, redist, intid)) v |= std::uint64_t{irq(cpu, intid).priority} << (8 * k);
    }
    return v;
  }
  if (offset >= kIcfgr && offset < kIcfgrEnd && size == 4) {
    const auto base = static_cast<unsigned>(offset - kIcfgr) * 4;
    std::uint64_t v = 0;
    for (unsigned k = 0; k < 16; ++k) {
      if (guest_sees(cpu, redist, base + k) && irq(cpu, base + k).edge) v |= std::uint64_t{2} << (2 * k);
    }
    return v;
  }
  return 0;  // IGRPMODR and NSACR are RAZ/WI with GICD_CTLR.DS = 1; reserved offsets too
}

void Gicv3::bank_write(unsigned cpu, bool redist, std::uint64_t offset, unsigned size, std::uint64_t value) {
  const auto word = static_cast<std::uint32_t>(value);
  if (offset >= kIgroupr && offset < kBitsEnd && size == 4) {
    bits_write(cpu, redist, offset, word);
  } else if (offset >= kIpriorityr && offset < kIpriorityrEnd && (size == 1 || size == 4)) {
    priority_write(cpu, redist, offset, size, value);
  } else if (offset >= kIcfgr && offset < kIcfgrEnd && size == 4) {
    config_write(cpu, redist, offset, word);
  }
}

// IGROUPR is written as a whole; the others set or clear where a bit is 1.
void Gicv3::bits_write(unsigned cpu, bool redist, std::uint64_t offset, std::uint32_t value) {
  const auto block = static_cast<unsigned>((offset - kIgroupr) / kBitBlock);
  const auto base = static_cast<unsigned>((offset - kIgroupr) % kBitBlock) * 8;
  for (unsigned b = 0; b < 32; ++b) {
    const bool one = ((value >> b) & 1) != 0;
    if (!guest_sees(cpu, redist, base + b) || (block != kGroup && !one)) continue;
    Irq& i = irq(cpu, base + b);
    bool* field = block == kGroup          ? &i.group1
                  : block <= kClearEnable  ? &i.enabled
                  : block <= kClearPending ? &i.latch
                                           : &i.active;
    // A clear-pending leaves a level input pending while its line is high (GICD_ICPENDR<n>).
    const bool to = block == kGroup ? one : block % 2 == 1;
    if (*field == to) continue;
    *field = to;
    touch_irq(cpu, base + b);
  }
}

void Gicv3::priority_write(unsigned cpu, bool redist, std::uint64_t offset, unsigned size, std::uint64_t value) {
  for (unsigned k = 0; k < size; ++k) {
    const auto intid = static_cast<unsigned>(offset - kIpriorityr) + k;
    if (!guest_sees(cpu, redist, intid)) continue;
    const auto priority = static_cast<std::uint8_t>((value >> (8 * k)) & kPriorityMask);
    std::uint8_t& field = irq(cpu, intid).priority;
    if (field == priority) continue;
    field = priority;
    touch_irq(cpu, intid);
  }
}

// SGIs are always edge-triggered: GICR_ICFGR0 is read-only. PPIs are configurable.
void Gicv3::config_write(unsigned cpu, bool redist, std::uint64_t offset, std::uint32_t value) {
  const auto base = static_cast<unsigned>(offset - kIcfgr) * 4;
  for (unsigned k = 0; k < 16; ++k) {
    const unsigned intid = base + k;
    if (!guest_sees(cpu, redist, intid) || intid < 16) continue;
    const bool edge = ((value >> (2 * k + 1)) & 1) != 0;
    Irq& i = irq(cpu, intid);
    if (i.edge == edge) continue;
    i.edge = edge;
    touch_irq(cpu, intid);
  }
}

// ---- the distributor ----

std::uint64_t Gicv3::router_read(std::uint64_t offset, unsigned size) const {
  const auto intid = static_cast<unsigned>((offset - kIrouter) / 8);
  if (intid < 32 || (size != 8 && size != 4) || spis_[intid - 32].firmware) return 0;
  const std::uint64_t route = spis_[intid - 32].route;
  return size == 8 ? route : (offset % 8 == 0 ? route & 0xFFFF'FFFF : route >> 32);
}

// GICD_IROUTER is 64 bits, also accessible as two 32-bit halves.
void Gicv3::router_write(std::uint64_t offset, unsigned size, std::uint64_t value) {
  const auto intid = static_cast<unsigned>((offset - kIrouter) / 8);
  if (intid < 32 || (size != 8 && size != 4) || spis_[intid - 32].firmware) return;
  Irq& spi = spis_[intid - 32];
  std::uint64_t route = value;
  if (size == 4) {
    route = offset % 8 == 0 ? (spi.route & ~0xFFFF'FFFFull) | (value & 0xFFFF'FFFF)
                            : (spi.route & 0xFFFF'FFFFull) | (value << 32);
  }
  route &= kIrouterMask;
  if (route == spi.route) return;
  touch_irq(0, intid);  // where it was
  spi.route = route;
  touch_irq(0, intid);  // where it is now
}

std::uint64_t Gicv3::dist_control_read(std::uint64_t offset) const {
  switch (offset) {
    case kGicdCtlr:
      return kCtlrDs | kCtlrAre | (enable_grp1_ ? kCtlrEnableGrp1 : 0);  // RWP [31] = 0: no delays
    // GICD_TYPER: ITLinesNumber [4:0], CPUNumber [7:5] = 0 under affinity routing
    // (as QEMU), IDbits [23:19] = 16 bits, A3V [24]; No1N [25] = 0; no LPIs, MBIS, ESPI or
    // security extension.
    case kGicdTyper: return (kIntids / 32 - 1) | (15u << 19) | (1u << 24);
    case kGicdIidr: return kIidr;
    default: return 0;  // GICD_TYPER2, STATUSR, SETSPI/CLRSPI (no MBIS): RAZ
  }
}

std::uint64_t Gicv3::dist_read(std::uint64_t offset, unsigned size) {
  if (!aligned(offset, size) || offset >= kDistSize) return 0;
  if (offset >= kIrouter && offset < kIrouterEnd) return router_read(offset, size);
  if (offset >= kIdBase) return id_register(offset, size, kPidr0Dist);
  if (offset < kIgroupr) return size == 4 ? dist_control_read(offset) : 0;
  return bank_read(0, false, offset, size);
}

void Gicv3::dist_write(std::uint64_t offset, unsigned size, std::uint64_t value) {
  if (!aligned(offset, size) || offset >= kDistSize) return;
  if (offset >= kIrouter && offset < kIrouterEnd) {
    router_write(offset, size, value);
  } else if (offset == kGicdCtlr && size == 4) {
    // Only EnableGrp1 is writable: DS and ARE are RAO/WI, EnableGrp0 is the model's RAZ/WI.
    const bool grp1 = (value & kCtlrEnableGrp1) != 0;
    if (grp1 != enable_grp1_) touch_all();
    enable_grp1_ = grp1;
  } else if (offset >= kIgroupr && offset < kIcfgrEnd) {
    bank_write(0, false, offset, size, value);
  }  // the rest (TYPER, IGRPMODR, NSACR, SGIR, ITARGETSR, ID registers...) is read-only or RAZ/WI
  publish();
}

// ---- the redistributors ----

std::uint64_t Gicv3::rd_read(unsigned cpu, std::uint64_t offset, unsigned size) const {
  // GICR_TYPER: Affinity_Value [63:32], CommonLPIAff [25:24] (as QEMU),
  // Processor_Number [23:8], Last [4]; no PLPIS, VLPIS, DirectLPI or DPGS.
  const std::uint64_t typer = (fw::affinity_of(cpu) << 32) | kTyperCommonLpiAff | (std::uint64_t{cpu} << 8) |
                              (cpu + 1 == cpus_ ? kTyperLast : 0);
  if (offset == kGicrTyper && size == 8) return typer;
  if (size != 4) return 0;
  switch (offset) {
    case kGicrCtlr: return 0;  // no LPIs, nothing asynchronous (RWP, UWP 0), no DPG bits
    case kGicrIidr: return kIidr;
    case kGicrTyper: return typer & 0xFFFF'FFFF;
    case kGicrTyper + 4: return typer >> 32;
    // GICR_WAKER: the interface quiesces at once, so ChildrenAsleep follows ProcessorSleep.
    case kGicrWaker: return cpu_[cpu].sleep ? kWakerProcessorSleep | kWakerChildrenAsleep : 0;
    default: return id_register(offset, size, kPidr0Redist);  // PROPBASER, PENDBASER, STATUSR...: RAZ
  }
}

std::uint64_t Gicv3::redist_read(std::uint64_t offset, unsigned size) {
  const std::uint64_t cpu = offset / kRedistStride;
  if (!aligned(offset, size) || cpu >= cpus_) return 0;
  const std::uint64_t in = offset % kRedistStride;
  if (in < kSgiBase) return rd_read(static_cast<unsigned>(cpu), in, size);
  return bank_read(static_cast<unsigned>(cpu), true, in - kSgiBase, size);
}

void Gicv3::redist_write(std::uint64_t offset, unsigned size, std::uint64_t value) {
  const std::uint64_t cpu = offset / kRedistStride;
  if (!aligned(offset, size) || cpu >= cpus_) return;
  const std::uint64_t in = offset % kRedistStride;
  if (in == kGicrWaker && size == 4) {
    cpu_[cpu].sleep = (value & kWakerProcessorSleep) != 0;  // does not gate delivery: nothing to tell
  } else if (in >= kSgiBase) {
    bank_write(static_cast<unsigned>(cpu), true, in - kSgiBase, size, value);
  }
  publish();
}

// ---- snapshots ----

namespace {
constexpr std::uint32_t kTagGic = 0x47'49'43'33;  // "GIC3"
enum IrqFlag : std::uint8_t {
  kGroup1 = 1,
  kEnabled = 2,
  kLatch = 4,
  kLine = 8,
  kActive = 16,
  kEdge = 32,
  kFirmware = 64,
  kIrqFlags = 127
};
enum CpuFlag : std::uint8_t { kEoiMode = 1, kCbpr = 2, kIgrpen1 = 4, kCpuFlags = 7 };
}  // namespace

void Gicv3::save(fw::StateWriter& out) const {
  out.tag(kTagGic);
  out.u32(cpus_);
  out.boolean(enable_grp1_);
  const auto put = [&](const Irq& i) {
    out.u8(i.priority);
    out.u8(static_cast<std::uint8_t>((i.group1 ? kGroup1 : 0) | (i.enabled ? kEnabled : 0) | (i.latch ? kLatch : 0) |
                                     (i.line ? kLine : 0) | (i.active ? kActive : 0) | (i.edge ? kEdge : 0) |
                                     (i.firmware ? kFirmware : 0)));
    out.u64(i.route);
  };
  for (const auto& bank : banked_) {
    for (const Irq& i : bank) put(i);
  }
  for (const Irq& i : spis_) put(i);
  for (const CpuInterface& c : cpu_) {
    out.u8(c.pmr);
    out.u8(c.bpr0);
    out.u8(c.bpr1);
    out.u8(static_cast<std::uint8_t>((c.eoi_mode ? kEoiMode : 0) | (c.cbpr ? kCbpr : 0) | (c.igrpen1 ? kIgrpen1 : 0)));
    out.u32(c.ap1r);
    out.u64(c.sleep ? kWakerProcessorSleep : 0);  // GICR_WAKER as written
  }
}

namespace {
// An interrupt as saved; what no guest could have set is refused: unimplemented priority
// bits, a level-sensitive SGI or one with an input line or owned by the firmware, a route on anything but an
// SPI or outside its fields.
void read_irq(fw::StateReader& in, bool sgi, bool spi, std::uint8_t& priority, std::uint8_t& flags,
              std::uint64_t& route) {
  priority = in.u8();
  flags = in.u8();
  route = in.u64();
  const bool bad = (priority & ~kPriorityMask) != 0 || (flags & ~kIrqFlags) != 0 ||
                   (sgi && ((flags & kEdge) == 0 || (flags & (kLine | kFirmware)) != 0)) ||
                   (route & ~kIrouterMask) != 0 || (!spi && route != 0);
  if (bad) throw fw::StateError("corrupt state: a GIC interrupt");
}
}  // namespace

void Gicv3::load(fw::StateReader& in) {
  in.tag(kTagGic);
  if (in.u32() != cpus_) throw fw::StateError("the state's GIC has another number of CPUs");
  const bool grp1 = in.boolean();
  const auto get = [&](Irq& i, bool sgi, bool spi) {
    std::uint8_t f = 0;
    read_irq(in, sgi, spi, i.priority, f, i.route);
    i.group1 = f & kGroup1, i.enabled = f & kEnabled, i.latch = f & kLatch, i.line = f & kLine;
    i.active = f & kActive, i.edge = f & kEdge, i.firmware = f & kFirmware;
  };
  std::vector<std::array<Irq, 32>> banked(cpus_);
  for (auto& bank : banked) {
    for (unsigned n = 0; n < 32; ++n) get(bank[n], n < 16, false);
  }
  std::vector<Irq> spis(kSpis);
  for (Irq& i : spis) get(i, false, true);
  std::vector<CpuInterface> cpus(cpus_);
  for (CpuInterface& c : cpus) {
    c.pmr = in.u8();
    c.bpr0 = in.u8();
    c.bpr1 = in.u8();
    const std::uint8_t f = in.u8();
    c.ap1r = in.u32();
    const std::uint64_t waker = in.u64();
    if ((c.pmr & ~kPriorityMask) != 0 || c.bpr0 < kMinBpr0 || c.bpr0 > 7 || c.bpr1 < kMinBpr1 || c.bpr1 > 7 ||
        (f & ~kCpuFlags) != 0 || (waker & ~std::uint64_t{kWakerProcessorSleep}) != 0) {
      throw fw::StateError("corrupt state: a GIC CPU interface");
    }
    c.eoi_mode = f & kEoiMode, c.cbpr = f & kCbpr, c.igrpen1 = f & kIgrpen1, c.sleep = waker != 0;
  }
  enable_grp1_ = grp1;
  banked_ = std::move(banked);
  spis_ = std::move(spis);
  cpu_ = std::move(cpus);
  publish(true);
}

}  // namespace emu::core
