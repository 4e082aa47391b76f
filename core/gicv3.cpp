#include "core/gicv3.h"

#include <algorithm>
#include <bit>

#include "firmware/vm_state.h"

namespace emu::core {
namespace {

// GICD / GICR_SGI_base register blocks (IHI 0069H §12.9, §12.11): one bit per INTID.
constexpr std::uint64_t kIgroupr = 0x080;
constexpr std::uint64_t kIsenabler = 0x100;
constexpr std::uint64_t kIcenabler = 0x180;
constexpr std::uint64_t kIspendr = 0x200;
constexpr std::uint64_t kIcpendr = 0x280;
constexpr std::uint64_t kIsactiver = 0x300;
constexpr std::uint64_t kIcactiver = 0x380;
constexpr std::uint64_t kBitsEnd = 0x400;
constexpr std::uint64_t kIpriorityr = 0x400;  // one byte per INTID
constexpr std::uint64_t kIpriorityrEnd = 0x800;
constexpr std::uint64_t kIcfgr = 0xC00;       // two bits per INTID; bit 1 = edge-triggered
constexpr std::uint64_t kIcfgrEnd = 0xD00;
constexpr std::uint64_t kIrouter = 0x6000;    // eight bytes per SPI (GICD only)
constexpr std::uint64_t kIrouterEnd = 0x6000 + 8 * Gicv3::kIntids;

constexpr std::uint64_t kGicdCtlr = 0x0000;
constexpr std::uint64_t kGicdTyper = 0x0004;
constexpr std::uint64_t kGicdIidr = 0x0008;
constexpr std::uint32_t kCtlrEnableGrp1 = 1u << 1;
constexpr std::uint32_t kCtlrAre = 1u << 4;  // affinity routing: RAO/WI, the only mode modelled
constexpr std::uint32_t kCtlrDs = 1u << 6;   // single security state: RAO/WI
constexpr std::uint32_t kIidrArm = 0x43B;    // JEP106 code of Arm, as QEMU's GICv3 reports

constexpr std::uint64_t kGicrCtlr = 0x0000;
constexpr std::uint64_t kGicrIidr = 0x0004;
constexpr std::uint64_t kGicrTyper = 0x0008;
constexpr std::uint64_t kGicrWaker = 0x0014;
constexpr std::uint64_t kSgiBase = 0x1'0000;
constexpr std::uint64_t kWakerProcessorSleep = 1u << 1;
constexpr std::uint64_t kWakerChildrenAsleep = 1u << 2;

constexpr std::uint8_t kPriorityMask = 0xF8;  // 5 implemented bits
constexpr std::uint8_t kMinBpr0 = 2;          // 7 - kPriorityBits: group priority [7:3]
constexpr std::uint8_t kMinBpr1 = kMinBpr0 + 1;
constexpr std::uint64_t kIrouterMask = 0xFF'0000'0000ull | 0x8000'0000u | 0xFF'FFFFu;  // Aff3, IRM, Aff2..0
constexpr std::uint64_t kIrouterIrm = 0x8000'0000u;

// The ID registers at 0xFFD0..0xFFFC of every frame: PIDR4..7, PIDR0..3, CIDR0..3. PIDR2
// ArchRev [7:4] = 3 is what drivers check (Linux's gic_validate_dist_version).
constexpr std::uint8_t kIds[12] = {0x44, 0, 0, 0, 0x92, 0xB4, 0x3B, 0, 0x0D, 0xF0, 0x05, 0xB1};
constexpr std::uint64_t kIdBase = 0xFFD0;

constexpr std::uint64_t affinity_to_irouter(std::uint64_t aff) {  // Aff1:Aff0 -> IROUTER layout
  return aff & 0xFF'FFFFu;
}
}  // namespace

Gicv3::Gicv3(unsigned cpus, GicListener* listener)
    : cpus_(cpus), listener_(nullptr), banked_(cpus), spis_(kSpis), cpu_(cpus), cache_(cpus, 0) {
  reset();  // without telling anyone: the listener may not be ready while its owner is built
  listener_ = listener;
}

void Gicv3::reset() {
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
  changed_all();
}

// ---- who gets what ----

std::optional<unsigned> Gicv3::spi_target(const Irq& spi) const {
  if ((spi.route & kIrouterIrm) != 0) {
    for (unsigned c = 0; c < cpus_; ++c) {
      if (cpu_[c].igrpen1) return c;
    }
    return std::nullopt;
  }
  // Aff3 must be 0; Aff2.Aff1.Aff0 name the CPU (fw::affinity_of).
  if ((spi.route >> 32) != 0) return std::nullopt;
  return fw::vcpu_of(spi.route & 0xFF'FFFFu, cpus_);
}

// The highest-priority interrupt that could be signalled to `cpu` (lowest INTID on ties).
Gicv3::Best Gicv3::highest_pending(unsigned cpu) const {
  Best best;
  if (!enable_grp1_) return best;
  const auto consider = [&](const Irq& i, unsigned intid) {
    if (!i.pending() || !i.enabled || i.active || !i.group1 || i.priority >= best.priority) return;
    best = {intid, i.priority};
  };
  for (unsigned n = 0; n < 32; ++n) consider(banked_[cpu][n], n);
  for (unsigned n = 0; n < kSpis; ++n) {
    const Irq& spi = spis_[n];
    if (spi.pending() && spi.enabled && spi_target(spi) == cpu) consider(spi, 32 + n);
  }
  return best;
}

// Group priority (IHI 0069H §4.8.3): BPR1 = b keeps priority bits [7:b]; with CBPR the Group 1
// interrupts use BPR0, which keeps bits [7:b+1].
std::uint8_t Gicv3::group_priority(unsigned cpu, std::uint8_t priority) const {
  const CpuInterface& c = cpu_[cpu];
  const unsigned shift = c.cbpr ? c.bpr0 + 1u : c.bpr1;
  return static_cast<std::uint8_t>(priority & (0xFFu << shift));
}

// The running priority is that of the highest active group priority (ICC_AP1R0_EL1 bit n =
// group priority n << 3 active), or idle.
std::uint8_t Gicv3::running_priority(unsigned cpu) const {
  const std::uint32_t ap = cpu_[cpu].ap1r;
  return ap == 0 ? kIdlePriority : static_cast<std::uint8_t>(std::countr_zero(ap) << (8 - kPriorityBits));
}

bool Gicv3::signalled_now(unsigned cpu) const {
  const CpuInterface& c = cpu_[cpu];
  if (!c.igrpen1) return false;
  const Best best = highest_pending(cpu);
  return best.intid != kSpurious && best.priority < c.pmr && group_priority(cpu, best.priority) < running_priority(cpu);
}

bool Gicv3::irq_signalled(unsigned cpu) const {
  if (cache_[cpu] == 0) cache_[cpu] = signalled_now(cpu) ? 2 : 1;
  return cache_[cpu] == 2;
}

void Gicv3::changed(unsigned cpu) {
  cache_[cpu] = 0;
  if (listener_ != nullptr) listener_->gic_changed(cpu);
}

void Gicv3::changed_spi(const Irq& spi) {
  if (const std::optional<unsigned> target = spi_target(spi)) changed(*target);
}

void Gicv3::changed_all() {
  for (unsigned c = 0; c < cpus_; ++c) changed(c);
}

// ---- the CPU interface ----

std::optional<Gicv3::Icc> Gicv3::icc_register(unsigned op0, unsigned op1, unsigned crn, unsigned crm, unsigned op2) {
  if (op0 != 3 || op1 != 0) return std::nullopt;
  if (crn == 4 && crm == 6 && op2 == 0) return Icc::Pmr;
  if (crn != 12) return std::nullopt;
  static constexpr Icc kCrm8[8] = {Icc::Iar0, Icc::Eoir0, Icc::Hppir0, Icc::Bpr0, Icc::Ap0r0, Icc::Ap0r1, Icc::Ap0r2, Icc::Ap0r3};
  static constexpr Icc kCrm12[8] = {Icc::Iar1, Icc::Eoir1, Icc::Hppir1, Icc::Bpr1, Icc::Ctlr, Icc::Sre, Icc::Igrpen0, Icc::Igrpen1};
  switch (crm) {
    case 8: return kCrm8[op2];
    case 9: return op2 < 4 ? std::optional<Icc>(static_cast<Icc>(static_cast<unsigned>(Icc::Ap1r0) + op2)) : std::nullopt;
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
  const CpuInterface& c = cpu_[cpu];
  switch (reg) {
    case Icc::Iar1: return acknowledge(cpu);
    case Icc::Hppir1: return c.igrpen1 ? highest_pending(cpu).intid : kSpurious;
    case Icc::Iar0:
    case Icc::Hppir0: return kSpurious;  // Group 0 is never signalled
    case Icc::Bpr0: return c.bpr0;
    case Icc::Bpr1: return c.cbpr ? std::min<unsigned>(c.bpr0 + 1u, 7u) : c.bpr1;
    case Icc::Ap1r0: return c.ap1r;
    case Icc::Rpr: return running_priority(cpu);
    // EOImode [1], CBPR [0], PRIbits [10:8] = bits - 1, IDbits [13:11] = 0 (16 bits), A3V [15].
    case Icc::Ctlr: return (c.eoi_mode ? 2u : 0u) | (c.cbpr ? 1u : 0u) | ((kPriorityBits - 1u) << 8) | (1u << 15);
    case Icc::Sre: return 0x7;  // SRE, DFB, DIB: the system-register interface only
    case Icc::Igrpen1: return c.igrpen1 ? 1 : 0;
    case Icc::Pmr: return c.pmr;
    default: return 0;  // Group 0 state, AP1R1..3 and the write-only registers
  }
}

void Gicv3::icc_write(unsigned cpu, Icc reg, std::uint64_t value) {
  CpuInterface& c = cpu_[cpu];
  switch (reg) {
    case Icc::Eoir1: end_of_interrupt(cpu, static_cast<unsigned>(value & 0xFF'FFFF)); return;
    case Icc::Dir:
      if (c.eoi_mode) deactivate(cpu, static_cast<unsigned>(value & 0xFF'FFFF));  // else UNPREDICTABLE: ignored
      return;
    case Icc::Bpr0: c.bpr0 = std::max<std::uint8_t>(value & 7, kMinBpr0); break;
    case Icc::Bpr1:
      if (c.cbpr) return;  // with CBPR set, BPR1 is an alias of BPR0 + 1 and writes are ignored
      c.bpr1 = std::max<std::uint8_t>(value & 7, kMinBpr1);
      break;
    case Icc::Ap1r0: c.ap1r = static_cast<std::uint32_t>(value); break;
    case Icc::Ctlr:
      c.eoi_mode = (value & 2) != 0;
      c.cbpr = (value & 1) != 0;
      break;
    case Icc::Igrpen1:
      c.igrpen1 = (value & 1) != 0;
      changed_all();  // 1-of-N SPIs may now go to this CPU, or not
      return;
    case Icc::Pmr: c.pmr = static_cast<std::uint8_t>(value & kPriorityMask); break;
    case Icc::Sgi1r:
    case Icc::Asgi1r: send_sgi(cpu, value, true); return;  // one security state: one Group 1
    case Icc::Sgi0r: send_sgi(cpu, value, false); return;
    default: return;  // read-only, Group 0 (RAZ/WI) and AP1R1..3
  }
  changed(cpu);
}

// Acknowledge (IHI 0069H §4.1.1): the interrupt becomes active (its edge or software pending
// state is consumed; a level stays pending while the line is high) and its group priority
// becomes the running priority.
unsigned Gicv3::acknowledge(unsigned cpu) {
  if (!signalled_now(cpu)) return kSpurious;
  const Best best = highest_pending(cpu);
  Irq& i = irq(cpu, best.intid);
  i.active = true;
  i.latch = false;
  cpu_[cpu].ap1r |= 1u << (group_priority(cpu, best.priority) >> (8 - kPriorityBits));
  changed(cpu);
  return best.intid;
}

// ICC_EOIR1_EL1 (§4.1.1): priority drop of the highest active priority; with EOImode = 0
// also the deactivation of the INTID written. The special INTIDs 1020..1023 do nothing.
void Gicv3::end_of_interrupt(unsigned cpu, unsigned intid) {
  if (intid >= 1020 && intid <= 1023) return;
  std::uint32_t& ap = cpu_[cpu].ap1r;
  if (ap != 0) ap &= ap - 1;  // clears the lowest set bit: the highest priority
  if (!cpu_[cpu].eoi_mode) deactivate(cpu, intid);
  changed(cpu);
}

void Gicv3::deactivate(unsigned cpu, unsigned intid) {
  if (intid >= kIntids) return;
  Irq& i = irq(cpu, intid);
  if (!i.active) return;
  i.active = false;
  if (intid < 32) changed(cpu);
  else changed_spi(i);
}

// ICC_SGI1R_EL1 (§12.2.21): INTID [27:24], TargetList [15:0] with Aff1 [23:16], Aff2 [39:32],
// Aff3 [55:48] and RS [47:44] (Aff0 = RS * 16 + bit), or IRM [40] = every CPU but the sender.
// The SGI becomes pending at a target only if it is in the group the register generates.
void Gicv3::send_sgi(unsigned cpu, std::uint64_t value, bool group1) {
  const unsigned intid = (value >> 24) & 0xF;
  const bool all_but_self = ((value >> 40) & 1) != 0;
  const std::uint64_t aff321 = ((value >> 16) & 0xFF) | (((value >> 32) & 0xFF) << 8) | (((value >> 48) & 0xFF) << 16);
  const unsigned rs = (value >> 44) & 0xF;
  for (unsigned t = 0; t < cpus_; ++t) {
    const std::uint64_t aff = fw::affinity_of(t);
    bool hit = false;
    if (all_but_self) {
      hit = t != cpu;
    } else if ((aff >> 8) == aff321 && (aff & 0xFF) / 16 == rs) {
      hit = ((value >> ((aff & 0xFF) % 16)) & 1) != 0;
    }
    if (!hit) continue;
    Irq& sgi = banked_[t][intid];
    if (sgi.group1 != group1) continue;
    sgi.latch = true;
    changed(t);
  }
}

// ---- device inputs ----

void Gicv3::set_ppi_line(unsigned cpu, unsigned intid, bool high) {
  if (cpu >= cpus_ || intid < 16 || intid >= 32) return;
  Irq& i = banked_[cpu][intid];
  if (i.line == high) return;
  if (high && i.edge) i.latch = true;  // an edge-triggered input latches the rising edge
  i.line = high;
  changed(cpu);
}

void Gicv3::set_spi_line(unsigned intid, bool high) {
  if (intid < 32 || intid >= kIntids) return;
  Irq& i = spis_[intid - 32];
  if (i.line == high) return;
  if (high && i.edge) i.latch = true;
  i.line = high;
  changed_spi(i);
}

// ---- MMIO ----

std::uint64_t Gicv3::id_register(std::uint64_t offset) const {
  if (offset < kIdBase || offset % 4 != 0 || offset >= kIdBase + 4 * sizeof kIds) return 0;
  return kIds[(offset - kIdBase) / 4];
}

// The per-INTID registers of GICD (first_intid 32: INTIDs 0..31 are RAZ/WI there under
// affinity routing) and of GICR_SGI_base (first_intid 0: INTIDs 0..31 only).
std::uint64_t Gicv3::bank_read(unsigned cpu, unsigned first_intid, std::uint64_t offset, unsigned size) const {
  const unsigned limit = first_intid == 0 ? 32 : kIntids;
  const auto valid = [&](unsigned intid) { return intid >= first_intid && intid < limit; };
  if (offset >= kIgroupr && offset < kBitsEnd) {
    if (size != 4 || offset % 4 != 0) return 0;
    const std::uint64_t block = (offset - kIgroupr) / 0x80;
    const unsigned base = static_cast<unsigned>((offset - kIgroupr) % 0x80) * 8;
    std::uint64_t bits = 0;
    for (unsigned b = 0; b < 32; ++b) {
      if (!valid(base + b)) continue;
      const Irq& i = irq(cpu, base + b);
      const bool set = block == 0 ? i.group1 : block <= 2 ? i.enabled : block <= 4 ? i.pending() : i.active;
      bits |= std::uint64_t{set} << b;
    }
    return bits;
  }
  if (offset >= kIpriorityr && offset < kIpriorityrEnd) {
    if ((size != 1 && size != 4) || offset % size != 0) return 0;
    std::uint64_t v = 0;
    for (unsigned k = 0; k < size; ++k) {
      const unsigned intid = static_cast<unsigned>(offset - kIpriorityr) + k;
      if (valid(intid)) v |= std::uint64_t{irq(cpu, intid).priority} << (8 * k);
    }
    return v;
  }
  if (offset >= kIcfgr && offset < kIcfgrEnd) {
    if (size != 4 || offset % 4 != 0) return 0;
    const unsigned base = static_cast<unsigned>(offset - kIcfgr) * 4;
    std::uint64_t v = 0;
    for (unsigned k = 0; k < 16; ++k) {
      if (valid(base + k) && irq(cpu, base + k).edge) v |= std::uint64_t{2} << (2 * k);
    }
    return v;
  }
  return 0;  // IGRPMODR and NSACR are RAZ/WI with one security state; reserved offsets too
}

void Gicv3::bank_write(unsigned cpu, unsigned first_intid, std::uint64_t offset, unsigned size, std::uint64_t value) {
  const unsigned limit = first_intid == 0 ? 32 : kIntids;
  const auto valid = [&](unsigned intid) { return intid >= first_intid && intid < limit; };
  const auto touched = [&](unsigned intid) {
    if (intid < 32) changed(cpu);
    else changed_spi(spis_[intid - 32]);
  };
  if (offset >= kIgroupr && offset < kBitsEnd) {
    if (size != 4 || offset % 4 != 0) return;
    const std::uint64_t block = (offset - kIgroupr) / 0x80;
    const unsigned base = static_cast<unsigned>((offset - kIgroupr) % 0x80) * 8;
    for (unsigned b = 0; b < 32; ++b) {
      const bool one = ((value >> b) & 1) != 0;
      if (!valid(base + b) || (block != 0 && !one)) continue;  // write-1-to-set/clear registers
      Irq& i = irq(cpu, base + b);
      switch (block) {
        case 0: i.group1 = one; break;
        case 1: i.enabled = true; break;
        case 2: i.enabled = false; break;
        case 3: i.latch = true; break;
        case 4: i.latch = false; break;  // a level input stays pending while its line is high
        case 5: i.active = true; break;
        default: i.active = false; break;
      }
      touched(base + b);
    }
    return;
  }
  if (offset >= kIpriorityr && offset < kIpriorityrEnd) {
    if ((size != 1 && size != 4) || offset % size != 0) return;
    for (unsigned k = 0; k < size; ++k) {
      const unsigned intid = static_cast<unsigned>(offset - kIpriorityr) + k;
      if (!valid(intid)) continue;
      irq(cpu, intid).priority = static_cast<std::uint8_t>((value >> (8 * k)) & kPriorityMask);
      touched(intid);
    }
    return;
  }
  if (offset >= kIcfgr && offset < kIcfgrEnd) {
    if (size != 4 || offset % 4 != 0) return;
    const unsigned base = static_cast<unsigned>(offset - kIcfgr) * 4;
    for (unsigned k = 0; k < 16; ++k) {
      if (!valid(base + k) || base + k < 16) continue;  // SGIs are always edge-triggered
      irq(cpu, base + k).edge = ((value >> (2 * k + 1)) & 1) != 0;
      touched(base + k);
    }
  }
}

std::uint64_t Gicv3::dist_read(std::uint64_t offset, unsigned size) const {
  if (offset >= kIrouter && offset < kIrouterEnd) {
    const unsigned intid = static_cast<unsigned>((offset - kIrouter) / 8);
    if (intid < 32 || (size != 8 && size != 4) || offset % size != 0) return 0;
    const std::uint64_t route = spis_[intid - 32].route;
    return size == 8 ? route : (offset % 8 == 0 ? route & 0xFFFF'FFFF : route >> 32);
  }
  if (offset >= kIdBase) return size == 4 ? id_register(offset) : 0;
  if (offset < kIgroupr) {
    if (size != 4) return 0;
    switch (offset) {
      case kGicdCtlr: return kCtlrDs | kCtlrAre | (enable_grp1_ ? kCtlrEnableGrp1 : 0);
      // ITLinesNumber [4:0], CPUNumber [7:5], IDbits [23:19] = 16 bits, A3V [24]; no LPIs, MBIS
      // or security extension.
      case kGicdTyper: return (kIntids / 32 - 1) | (std::min(cpus_ - 1, 7u) << 5) | (15u << 19) | (1u << 24);
      case kGicdIidr: return kIidrArm;
      default: return 0;
    }
  }
  return bank_read(0, 32, offset, size);
}

void Gicv3::dist_write(std::uint64_t offset, unsigned size, std::uint64_t value) {
  if (offset >= kIrouter && offset < kIrouterEnd) {
    const unsigned intid = static_cast<unsigned>((offset - kIrouter) / 8);
    if (intid < 32 || (size != 8 && size != 4) || offset % size != 0) return;
    Irq& spi = spis_[intid - 32];
    if (const auto old = spi_target(spi)) changed(*old);
    std::uint64_t route = spi.route;
    if (size == 8) route = value;
    else if (offset % 8 == 0) route = (route & ~0xFFFF'FFFFull) | (value & 0xFFFF'FFFF);
    else route = (route & 0xFFFF'FFFFull) | (value << 32);
    spi.route = route & kIrouterMask;
    changed_spi(spi);
    return;
  }
  if (offset == kGicdCtlr) {
    if (size != 4) return;
    enable_grp1_ = (value & kCtlrEnableGrp1) != 0;
    changed_all();
    return;
  }
  if (offset >= kIgroupr && offset < kIdBase) bank_write(0, 32, offset, size, value);
}

std::uint64_t Gicv3::rd_read(unsigned cpu, std::uint64_t offset, unsigned size) const {
  const std::uint64_t typer = (affinity_to_irouter(fw::affinity_of(cpu)) << 32) | (std::uint64_t{cpu} << 8) |
                              (cpu + 1 == cpus_ ? 1u << 4 : 0u);
  if (offset == kGicrTyper && size == 8) return typer;
  if (size != 4) return 0;
  switch (offset) {
    case kGicrCtlr: return 0;
    case kGicrIidr: return kIidrArm;
    case kGicrTyper: return typer & 0xFFFF'FFFF;
    case kGicrTyper + 4: return typer >> 32;
    case kGicrWaker: {
      const std::uint64_t sleep = cpu_[cpu].waker & kWakerProcessorSleep;
      return sleep | (sleep != 0 ? kWakerChildrenAsleep : 0);
    }
    default: return id_register(offset);
  }
}

std::uint64_t Gicv3::redist_read(std::uint64_t offset, unsigned size) const {
  const std::uint64_t cpu = offset / kRedistStride;
  if (cpu >= cpus_) return 0;
  const std::uint64_t in = offset % kRedistStride;
  if (in < kSgiBase) return rd_read(static_cast<unsigned>(cpu), in, size);
  if (in - kSgiBase >= kIdBase) return size == 4 ? id_register(in - kSgiBase) : 0;
  return bank_read(static_cast<unsigned>(cpu), 0, in - kSgiBase, size);
}

void Gicv3::redist_write(std::uint64_t offset, unsigned size, std::uint64_t value) {
  const std::uint64_t cpu = offset / kRedistStride;
  if (cpu >= cpus_) return;
  const std::uint64_t in = offset % kRedistStride;
  if (in == kGicrWaker && size == 4) {
    cpu_[cpu].waker = value & kWakerProcessorSleep;
    return;
  }
  if (in >= kSgiBase && in - kSgiBase < kIdBase) bank_write(static_cast<unsigned>(cpu), 0, in - kSgiBase, size, value);
}

// ---- snapshots ----

namespace {
constexpr std::uint32_t kTagGic = 0x47'49'43'33;  // "GIC3"
}

void Gicv3::save(fw::StateWriter& out) const {
  out.tag(kTagGic);
  out.u32(cpus_);
  out.boolean(enable_grp1_);
  const auto put = [&](const Irq& i) {
    out.u8(i.priority);
    out.u8(static_cast<std::uint8_t>(i.group1 | i.enabled << 1 | i.latch << 2 | i.line << 3 | i.active << 4 | i.edge << 5));
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
    out.u8(static_cast<std::uint8_t>(c.eoi_mode | c.cbpr << 1 | c.igrpen1 << 2));
    out.u32(c.ap1r);
    out.u64(c.waker);
  }
}

void Gicv3::load(fw::StateReader& in) {
  in.tag(kTagGic);
  if (in.u32() != cpus_) throw fw::StateError("the state's GIC has another number of CPUs");
  const bool grp1 = in.boolean();
  const auto get = [&](Irq& i, bool sgi, bool spi) {
    i.priority = in.u8();
    const std::uint8_t f = in.u8();
    i.route = in.u64();
    if ((i.priority & ~kPriorityMask) != 0 || f > 0x3F || (sgi && (f & 0x20) == 0) || (i.route & ~kIrouterMask) != 0 ||
        (!spi && i.route != 0)) {
      throw fw::StateError("corrupt state: a GIC interrupt");
    }
    i.group1 = f & 1, i.enabled = f & 2, i.latch = f & 4, i.line = f & 8, i.active = f & 16, i.edge = f & 32;
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
    c.waker = in.u64();
    if ((c.pmr & ~kPriorityMask) != 0 || c.bpr0 < kMinBpr0 || c.bpr0 > 7 || c.bpr1 < kMinBpr1 || c.bpr1 > 7 || f > 7 ||
        (c.waker & ~kWakerProcessorSleep) != 0) {
      throw fw::StateError("corrupt state: a GIC CPU interface");
    }
    c.eoi_mode = f & 1, c.cbpr = f & 2, c.igrpen1 = f & 4;
  }
  enable_grp1_ = grp1;
  banked_ = std::move(banked);
  spis_ = std::move(spis);
  cpu_ = std::move(cpus);
  changed_all();
}

}  // namespace emu::core
