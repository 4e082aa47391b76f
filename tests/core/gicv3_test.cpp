// The GICv3 model against the architecture (GIC architecture specification IHI 0069H) and
// QEMU 7.2's reset values and choices, without an engine: registers by MMIO offset and ICC_*
// by name. Each case is named after the rule it checks.
#include <doctest/doctest.h>

#include <functional>
#include <vector>

#include "core/gicv3.h"

namespace emu::core {
namespace {
using Icc = Gicv3::Icc;

struct Recorder final : GicListener {
  std::vector<unsigned> calls;
  unsigned firmware_calls = 0;
  void gic_changed(unsigned cpu) override { calls.push_back(cpu); }
  void gic_firmware_changed() override { ++firmware_calls; }
};

// GICD offsets and the redistributor frames (IHI 0069H register descriptions).
constexpr std::uint64_t kCtlr = 0x0, kTyper = 0x4, kIidr = 0x8;
constexpr std::uint64_t kIgroupr = 0x080, kIsenabler = 0x100, kIcenabler = 0x180, kIspendr = 0x200, kIcpendr = 0x280,
                        kIsactiver = 0x300, kIcactiver = 0x380, kIpriorityr = 0x400, kIcfgr = 0xC00, kIgrpmodr = 0xD00,
                        kNsacr = 0xE00, kIrouter = 0x6000;
constexpr std::uint64_t kWaker = 0x14, kSgi = 0x1'0000;
constexpr std::uint64_t rd(unsigned cpu) {
  return cpu * Gicv3::kRedistStride;
}
constexpr std::uint64_t word_of(unsigned intid) {
  return 4 * (intid / 32);
}
constexpr std::uint32_t bit_of(unsigned intid) {
  return 1u << (intid % 32);
}
constexpr std::uint64_t sgi1r(unsigned intid, unsigned aff1, std::uint16_t targets) {
  return (std::uint64_t{intid} << 24) | (std::uint64_t{aff1} << 16) | targets;
}
constexpr std::uint64_t kIrm = 1ull << 40;

// What Linux's gic_dist_init / gic_cpu_init leave: Group 1 everywhere, the distributor on,
// the CPU interfaces open (PMR 0xF0, IGRPEN1), every redistributor awake.
struct Gic {
  explicit Gic(unsigned cpus) : gic(cpus, &rec) {
    gic.dist_write(kCtlr, 4, 0x12);  // ARE | EnableGrp1
    for (unsigned n = 1; n < Gicv3::kIntids / 32; ++n) gic.dist_write(kIgroupr + 4 * n, 4, 0xFFFF'FFFF);
    for (unsigned c = 0; c < cpus; ++c) {
      gic.redist_write(rd(c) + kWaker, 4, 0);
      gic.redist_write(rd(c) + kSgi + kIgroupr, 4, 0xFFFF'FFFF);
      gic.icc_write(c, Icc::Pmr, 0xF0);
      gic.icc_write(c, Icc::Igrpen1, 1);
    }
    rec.calls.clear();
  }
  void enable(unsigned cpu, unsigned intid, std::uint8_t priority) {
    if (intid < 32) {
      gic.redist_write(rd(cpu) + kSgi + kIsenabler, 4, bit_of(intid));
      gic.redist_write(rd(cpu) + kSgi + kIpriorityr + intid, 1, priority);
    } else {
      gic.dist_write(kIsenabler + word_of(intid), 4, bit_of(intid));
      gic.dist_write(kIpriorityr + intid, 1, priority);
    }
  }
  void edge(unsigned intid) { gic.dist_write(kIcfgr + 4 * (intid / 16), 4, 2u << (2 * (intid % 16))); }
  void sgi(unsigned from, unsigned intid, unsigned to) {
    gic.icc_write(from, Icc::Sgi1r, sgi1r(intid, to / 16, static_cast<std::uint16_t>(1u << (to % 16))));
  }
  bool sgi_pending(unsigned cpu, unsigned intid) {
    return (gic.redist_read(rd(cpu) + kSgi + kIspendr, 4) & bit_of(intid)) != 0;
  }
  bool spi_bit(std::uint64_t block, unsigned intid) {
    return (gic.dist_read(block + word_of(intid), 4) & bit_of(intid)) != 0;
  }
  Recorder rec;
  Gicv3 gic;
};

// Every guest-visible register that can be read without side effects.
std::vector<std::uint64_t> dump(Gicv3& gic, unsigned cpus) {
  std::vector<std::uint64_t> v;
  for (std::uint64_t o = 0; o < 0x1000; o += 4) v.push_back(gic.dist_read(o, 4));
  for (std::uint64_t o = kIrouter; o < kIrouter + 8 * Gicv3::kIntids; o += 8) v.push_back(gic.dist_read(o, 8));
  for (std::uint64_t o = 0xFFD0; o < 0x10000; o += 4) v.push_back(gic.dist_read(o, 4));
  for (unsigned c = 0; c < cpus; ++c) {
    for (std::uint64_t o = 0; o < 0x100; o += 4) v.push_back(gic.redist_read(rd(c) + o, 4));
    for (std::uint64_t o = 0; o < 0x1000; o += 4) v.push_back(gic.redist_read(rd(c) + kSgi + o, 4));
    for (const Icc r :
         {Icc::Hppir1, Icc::Bpr0, Icc::Bpr1, Icc::Ap1r0, Icc::Rpr, Icc::Ctlr, Icc::Sre, Icc::Igrpen1, Icc::Pmr}) {
      v.push_back(gic.icc_read(c, r));
    }
    v.push_back(gic.irq_signalled(c) ? 1 : 0);
  }
  return v;
}

std::vector<std::uint8_t> saved(const Gicv3& gic) {
  fw::StateWriter out;
  gic.save(out);
  return out.data();
}
}  // namespace

// ---- distributor ----

TEST_CASE("GICv3: GICD_CTLR has DS and ARE RAO/WI and only EnableGrp1 writable, Group 0 RAZ/WI by the model's choice") {
  Gicv3 gic(4, nullptr);
  CHECK(gic.dist_read(kCtlr, 4) == 0x50);  // DS [6] | ARE [4]; RWP [31] = 0
  gic.dist_write(kCtlr, 4, 0xFFFF'FFFF);
  CHECK(gic.dist_read(kCtlr, 4) == 0x52);  // EnableGrp1 [1]; EnableGrp0 [0] and E1NWF [7] stay 0
  gic.dist_write(kCtlr, 4, 0);
  CHECK(gic.dist_read(kCtlr, 4) == 0x50);  // DS and ARE cannot be cleared
  gic.dist_write(kCtlr, 1, 0x2);           // not a 32-bit access: ignored
  CHECK(gic.dist_read(kCtlr, 4) == 0x50);
  CHECK(gic.dist_read(kCtlr, 8) == 0);
}

TEST_CASE(
    "GICv3: GICD_TYPER reports 256 INTIDs, 16 ID bits, A3V and 1-of-N, with CPUNumber 0 under affinity routing and no "
    "LPIs, MBIS or security") {
  Gicv3 gic(4, nullptr);
  CHECK(gic.dist_read(kTyper, 4) == 0x0178'0007);  // ITLinesNumber 7, IDbits 15 [23:19], A3V [24], No1N [25] 0
  gic.dist_write(kTyper, 4, 0);
  CHECK(gic.dist_read(kTyper, 4) == 0x0178'0007);  // read-only
  CHECK(gic.dist_read(0xC, 4) == 0);               // GICD_TYPER2
}

TEST_CASE("GICv3: GICD_IIDR and the CoreSight ID registers read as QEMU 7.2's GICv3, PIDR2.ArchRev = 3") {
  Gicv3 gic(2, nullptr);
  CHECK(gic.dist_read(kIidr, 4) == 0x43B);
  const std::uint64_t ids[12] = {0x44, 0, 0, 0, 0x92, 0xB4, 0x3B, 0, 0x0D, 0xF0, 0x05, 0xB1};
  for (unsigned n = 0; n < 12; ++n) {
    CAPTURE(n);
    CHECK(gic.dist_read(0xFFD0 + 4 * n, 4) == ids[n]);
    CHECK(gic.redist_read(rd(1) + 0xFFD0 + 4 * n, 4) == (n == 4 ? 0x93 : ids[n]));  // GICR PIDR0 is 0x93
    CHECK(gic.redist_read(rd(1) + kSgi + 0xFFD0 + 4 * n, 4) == 0);                  // none in the SGI frame
  }
  CHECK(gic.redist_read(rd(1) + 0x4, 4) == 0x43B);  // GICR_IIDR
}

TEST_CASE("GICv3: SPIs reset to Group 0, disabled, idle, priority 0, level-sensitive and routed to affinity 0.0.0.0") {
  Gicv3 gic(2, nullptr);
  for (std::uint64_t w = 1; w < Gicv3::kIntids / 32; ++w) {
    CAPTURE(w);
    for (const std::uint64_t block : {kIgroupr, kIsenabler, kIcenabler, kIspendr, kIcpendr, kIsactiver, kIcactiver}) {
      CHECK(gic.dist_read(block + 4 * w, 4) == 0);
    }
  }
  for (unsigned intid = 32; intid < Gicv3::kIntids; intid += 4) CHECK(gic.dist_read(kIpriorityr + intid, 4) == 0);
  for (unsigned intid = 32; intid < Gicv3::kIntids; intid += 16) CHECK(gic.dist_read(kIcfgr + intid / 4, 4) == 0);
  for (unsigned intid = 32; intid < Gicv3::kIntids; ++intid) CHECK(gic.dist_read(kIrouter + 8 * intid, 8) == 0);
}

TEST_CASE("GICv3: with affinity routing the distributor's SGI and PPI fields are RAZ/WI, the redistributor owns them") {
  Gicv3 gic(1, nullptr);
  for (const std::uint64_t block : {kIgroupr, kIsenabler, kIspendr, kIsactiver}) {
    gic.dist_write(block, 4, 0xFFFF'FFFF);
    CHECK(gic.dist_read(block, 4) == 0);
    CHECK(gic.redist_read(kSgi + block, 4) == 0);
  }
  gic.dist_write(kIpriorityr, 4, 0xFFFF'FFFF);
  CHECK(gic.dist_read(kIpriorityr + 28, 4) == 0);
  gic.dist_write(kIcfgr + 4, 4, 0xFFFF'FFFF);
  CHECK(gic.dist_read(kIcfgr + 4, 4) == 0);
  CHECK(gic.redist_read(kSgi + kIcfgr + 4, 4) == 0);
  gic.dist_write(kIrouter + 8 * 31, 8, 1);
  CHECK(gic.dist_read(kIrouter + 8 * 31, 8) == 0);
}

TEST_CASE(
    "GICv3: GICD_IGRPMODR, NSACR, SGIR, ITARGETSR, message-based SPIs, INTIDs past ITLinesNumber and reserved offsets "
    "are RAZ/WI") {
  Gicv3 gic(2, nullptr);
  const std::uint64_t offsets[] = {
      kIgrpmodr + 4,      kNsacr + 8,        0xF00,           0x820, 0x40, 0x48, 0x10, 0x24, kIgroupr + 4 * 8,
      kIsenabler + 4 * 8, kIpriorityr + 256, kIcfgr + 4 * 16, 0x8000};
  for (const std::uint64_t o : offsets) {
    CAPTURE(o);
    gic.dist_write(o, 4, 0xFFFF'FFFF);
    CHECK(gic.dist_read(o, 4) == 0);
  }
  gic.dist_write(kIrouter + 8 * 256, 8, 1);  // no INTID 256
  CHECK(gic.dist_read(kIrouter + 8 * 256, 8) == 0);
  gic.dist_write(0xF00, 4, 0x0001'0000);  // GICD_SGIR: no SGI under affinity routing
  CHECK(gic.redist_read(rd(0) + kSgi + kIspendr, 4) == 0);
  CHECK(gic.dist_read(Gicv3::kDistSize, 4) == 0);
}

TEST_CASE("GICv3: IPRIORITYR is byte-accessible and keeps the five implemented priority bits") {
  Gicv3 gic(1, nullptr);
  gic.dist_write(kIpriorityr + 40, 4, 0xFFFF'FFFF);
  CHECK(gic.dist_read(kIpriorityr + 40, 4) == 0xF8F8'F8F8);
  gic.dist_write(kIpriorityr + 41, 1, 0x17);
  CHECK(gic.dist_read(kIpriorityr + 41, 1) == 0x10);
  CHECK(gic.dist_read(kIpriorityr + 40, 4) == 0xF8F8'10F8);
  gic.dist_write(kIpriorityr + 42, 2, 0);  // halfwords are not supported: ignored
  CHECK(gic.dist_read(kIpriorityr + 42, 2) == 0);
  CHECK(gic.dist_read(kIpriorityr + 41, 4) == 0);  // unaligned: RAZ
  gic.redist_write(kSgi + kIpriorityr + 27, 1, 0xA5);
  CHECK(gic.redist_read(kSgi + kIpriorityr + 24, 4) == 0xA0'00'00'00u);
}

TEST_CASE("GICv3: GICD_IROUTER is 64 bits with 32-bit halves and keeps Aff3, IRM and Aff2..Aff0") {
  Gicv3 gic(2, nullptr);
  const std::uint64_t r40 = kIrouter + 8 * 40;
  gic.dist_write(r40, 8, ~std::uint64_t{0});
  CHECK(gic.dist_read(r40, 8) == 0xFF'80FF'FFFFull);
  gic.dist_write(r40, 4, 0x0000'0102);
  CHECK(gic.dist_read(r40, 8) == 0xFF'0000'0102ull);
  gic.dist_write(r40 + 4, 4, 0);
  CHECK(gic.dist_read(r40, 8) == 0x0102);
  CHECK(gic.dist_read(r40, 4) == 0x0102);
  CHECK(gic.dist_read(r40 + 4, 4) == 0);
  gic.dist_write(r40 + 2, 2, 0xFFFF);  // a halfword: ignored
  CHECK(gic.dist_read(r40, 8) == 0x0102);
}

TEST_CASE("GICv3: ICFGR has SGIs edge-triggered and read-only, PPIs and SPIs configurable in the odd bits only") {
  Gicv3 gic(1, nullptr);
  CHECK(gic.redist_read(kSgi + kIcfgr, 4) == 0xAAAA'AAAA);
  gic.redist_write(kSgi + kIcfgr, 4, 0);
  CHECK(gic.redist_read(kSgi + kIcfgr, 4) == 0xAAAA'AAAA);
  CHECK(gic.redist_read(kSgi + kIcfgr + 4, 4) == 0);  // PPIs reset level-sensitive
  gic.redist_write(kSgi + kIcfgr + 4, 4, 0xFFFF'FFFF);
  CHECK(gic.redist_read(kSgi + kIcfgr + 4, 4) == 0xAAAA'AAAA);
  gic.dist_write(kIcfgr + 8, 4, 0x5555'5559);  // SPIs 32..47: only INTID 33's edge bit is odd
  CHECK(gic.dist_read(kIcfgr + 8, 4) == 0x8);
}

// ---- redistributors ----

TEST_CASE("GICv3: GICR_TYPER gives each redistributor its affinity and processor number, Last on the last, no PLPIS") {
  Gicv3 gic(18, nullptr);
  CHECK(gic.redist_read(rd(0) + 0x8, 8) == (1u << 24));  // CommonLPIAff as QEMU; affinity 0, processor 0
  CHECK(gic.redist_read(rd(17) + 0x8, 8) ==
        ((0x0101ull << 32) | (1u << 24) | (17u << 8) | (1u << 4)));  // Aff1 1, Aff0 1
  CHECK(gic.redist_read(rd(17) + 0xC, 4) == 0x0101);                 // the upper half alone
  CHECK(gic.redist_read(rd(17) + 0x8, 4) == ((1u << 24) | (17u << 8) | (1u << 4)));
  CHECK(gic.redist_read(rd(5) + 0x8, 8) == ((0x05ull << 32) | (1u << 24) | (5u << 8)));
  CHECK((gic.redist_read(rd(16) + 0x8, 8) & (1u << 4)) == 0);
  CHECK((gic.redist_read(rd(3) + 0x8, 8) & 1) == 0);  // PLPIS
  CHECK(gic.redist_read(rd(18) + 0x8, 8) == 0);       // beyond the last frame: RAZ
  gic.redist_write(rd(17) + 0x8, 8, 0);
  CHECK(gic.redist_read(rd(17) + 0xC, 4) == 0x0101);  // read-only
}

TEST_CASE("GICv3: GICR_WAKER.ProcessorSleep resets to 1 and ChildrenAsleep follows it") {
  Gicv3 gic(2, nullptr);
  CHECK(gic.redist_read(rd(1) + kWaker, 4) == 0x6);
  gic.redist_write(rd(1) + kWaker, 4, 0xFFFF'FFF9);  // ProcessorSleep 0; ChildrenAsleep and the rest are not writable
  CHECK(gic.redist_read(rd(1) + kWaker, 4) == 0);
  CHECK(gic.redist_read(rd(0) + kWaker, 4) == 0x6);  // one per redistributor
  gic.redist_write(rd(1) + kWaker, 4, 0x2);
  CHECK(gic.redist_read(rd(1) + kWaker, 4) == 0x6);
}

TEST_CASE(
    "GICv3: without LPIs or a second security state GICR_CTLR, PROPBASER, PENDBASER, IGRPMODR0 and NSACR are RAZ/WI") {
  Gicv3 gic(1, nullptr);
  for (const std::uint64_t o :
       {std::uint64_t{0x0}, std::uint64_t{0x70}, std::uint64_t{0x78}, kSgi + kIgrpmodr, kSgi + kNsacr}) {
    CAPTURE(o);
    gic.redist_write(o, 4, 0xFFFF'FFFF);
    CHECK(gic.redist_read(o, 4) == 0);
  }
  gic.redist_write(0x70, 8, ~std::uint64_t{0});
  CHECK(gic.redist_read(0x70, 8) == 0);
}

TEST_CASE("GICv3: each redistributor banks its own SGIs and PPIs, reset to Group 0, disabled, idle and priority 0") {
  Gicv3 gic(2, nullptr);
  for (const std::uint64_t block : {kIgroupr, kIsenabler, kIspendr, kIsactiver})
    CHECK(gic.redist_read(rd(1) + kSgi + block, 4) == 0);
  for (unsigned n = 0; n < 8; ++n) CHECK(gic.redist_read(rd(1) + kSgi + kIpriorityr + 4 * n, 4) == 0);
  gic.redist_write(rd(1) + kSgi + kIgroupr, 4, 0x8000'0001);
  gic.redist_write(rd(1) + kSgi + kIsenabler, 4, 0x0800'0000);
  CHECK(gic.redist_read(rd(1) + kSgi + kIgroupr, 4) == 0x8000'0001);
  CHECK(gic.redist_read(rd(1) + kSgi + kIcenabler, 4) == 0x0800'0000);  // set and clear registers read the same
  CHECK(gic.redist_read(rd(0) + kSgi + kIgroupr, 4) == 0);
  CHECK(gic.redist_read(rd(0) + kSgi + kIsenabler, 4) == 0);
  gic.redist_write(rd(1) + kSgi + kIcenabler, 4, 0xFFFF'FFFF);
  CHECK(gic.redist_read(rd(1) + kSgi + kIsenabler, 4) == 0);
  CHECK(gic.redist_read(rd(1) + kSgi + kIgroupr + 4, 4) == 0);  // no second word in a redistributor
}

// ---- CPU interface registers ----

TEST_CASE(
    "GICv3: the CPU interface resets with PMR 0, minimum binary points, idle running priority and Group 1 disabled") {
  Gicv3 gic(1, nullptr);
  CHECK(gic.icc_read(0, Icc::Pmr) == 0);
  CHECK(gic.icc_read(0, Icc::Bpr0) == 2);
  CHECK(gic.icc_read(0, Icc::Bpr1) == 3);
  CHECK(gic.icc_read(0, Icc::Rpr) == 0xFF);
  CHECK(gic.icc_read(0, Icc::Ap1r0) == 0);
  CHECK(gic.icc_read(0, Icc::Igrpen1) == 0);
  CHECK(gic.icc_read(0, Icc::Ctlr) == 0x8C00);  // PRIbits 4 (five bits), IDbits 1, A3V; EOImode and CBPR 0
  CHECK(gic.icc_read(0, Icc::Sre) == 0x7);
  CHECK(gic.icc_read(0, Icc::Hppir1) == Gicv3::kSpurious);
  CHECK(gic.icc_read(0, Icc::Iar1) == Gicv3::kSpurious);
}

TEST_CASE("GICv3: ICC_SRE_EL1 is RAO/WI and ICC_CTLR_EL1 has only EOImode and CBPR writable") {
  Gicv3 gic(1, nullptr);
  gic.icc_write(0, Icc::Sre, 0);
  CHECK(gic.icc_read(0, Icc::Sre) == 0x7);
  gic.icc_write(0, Icc::Ctlr, ~std::uint64_t{0});
  CHECK(gic.icc_read(0, Icc::Ctlr) == 0x8C03);
  gic.icc_write(0, Icc::Ctlr, 0);
  CHECK(gic.icc_read(0, Icc::Ctlr) == 0x8C00);
}

TEST_CASE("GICv3: Group 0 is never signalled, so IGRPEN0 and AP0Rn are RAZ/WI and IAR0 and HPPIR0 read 1023") {
  Gic g(1);
  g.gic.redist_write(kSgi + kIgroupr, 4, 0);  // every SGI and PPI Group 0
  g.enable(0, 2, 0x10);
  g.sgi(0, 2, 0);
  g.gic.icc_write(0, Icc::Igrpen0, 1);
  CHECK(g.gic.icc_read(0, Icc::Igrpen0) == 0);
  for (const Icc r : {Icc::Ap0r0, Icc::Ap0r1, Icc::Ap0r2, Icc::Ap0r3, Icc::Ap1r1, Icc::Ap1r2, Icc::Ap1r3}) {
    g.gic.icc_write(0, r, 0xFFFF'FFFF);
    CHECK(g.gic.icc_read(0, r) == 0);
  }
  CHECK(g.sgi_pending(0, 2));
  CHECK_FALSE(g.gic.irq_signalled(0));
  CHECK(g.gic.icc_read(0, Icc::Iar0) == Gicv3::kSpurious);
  CHECK(g.gic.icc_read(0, Icc::Hppir0) == Gicv3::kSpurious);
  CHECK(g.gic.icc_read(0, Icc::Iar1) == Gicv3::kSpurious);
  g.gic.icc_write(0, Icc::Eoir0, 2);
  CHECK(g.sgi_pending(0, 2));
}

TEST_CASE(
    "GICv3: ICC_PMR_EL1 keeps five bits and the binary points clamp to their minimum, BPR1 reading BPR0 + 1 under "
    "CBPR") {
  Gicv3 gic(1, nullptr);
  gic.icc_write(0, Icc::Pmr, 0xFF);
  CHECK(gic.icc_read(0, Icc::Pmr) == 0xF8);
  gic.icc_write(0, Icc::Bpr1, 0);
  CHECK(gic.icc_read(0, Icc::Bpr1) == 3);
  gic.icc_write(0, Icc::Bpr0, 1);
  CHECK(gic.icc_read(0, Icc::Bpr0) == 2);
  gic.icc_write(0, Icc::Bpr1, 0xF5);
  CHECK(gic.icc_read(0, Icc::Bpr1) == 5);
  gic.icc_write(0, Icc::Bpr0, 4);
  gic.icc_write(0, Icc::Ctlr, 1);  // CBPR
  CHECK(gic.icc_read(0, Icc::Bpr1) == 5);
  gic.icc_write(0, Icc::Bpr1, 7);  // ignored under CBPR
  gic.icc_write(0, Icc::Bpr0, 7);
  CHECK(gic.icc_read(0, Icc::Bpr1) == 7);  // saturated
  gic.icc_write(0, Icc::Ctlr, 0);
  CHECK(gic.icc_read(0, Icc::Bpr1) == 5);
}

TEST_CASE("GICv3: icc_register decodes the EL1 ICC_* encodings and nothing else") {
  struct Enc {
    unsigned crn, crm, op2;
    Icc reg;
  };
  const Enc table[] = {
      {4, 6, 0, Icc::Pmr},       {12, 8, 0, Icc::Iar0},     {12, 8, 1, Icc::Eoir0}, {12, 8, 2, Icc::Hppir0},
      {12, 8, 3, Icc::Bpr0},     {12, 8, 4, Icc::Ap0r0},    {12, 8, 7, Icc::Ap0r3}, {12, 9, 0, Icc::Ap1r0},
      {12, 9, 3, Icc::Ap1r3},    {12, 11, 1, Icc::Dir},     {12, 11, 3, Icc::Rpr},  {12, 11, 5, Icc::Sgi1r},
      {12, 11, 6, Icc::Asgi1r},  {12, 11, 7, Icc::Sgi0r},   {12, 12, 0, Icc::Iar1}, {12, 12, 1, Icc::Eoir1},
      {12, 12, 2, Icc::Hppir1},  {12, 12, 3, Icc::Bpr1},    {12, 12, 4, Icc::Ctlr}, {12, 12, 5, Icc::Sre},
      {12, 12, 6, Icc::Igrpen0}, {12, 12, 7, Icc::Igrpen1},
  };
  for (const Enc& e : table) {
    CAPTURE(e.crn);
    CAPTURE(e.crm);
    CAPTURE(e.op2);
    CHECK(Gicv3::icc_register(3, 0, e.crn, e.crm, e.op2) == e.reg);
  }
  CHECK(Gicv3::icc_register(3, 4, 12, 9, 5) == std::nullopt);   // ICC_SRE_EL2
  CHECK(Gicv3::icc_register(3, 6, 12, 12, 4) == std::nullopt);  // ICC_CTLR_EL3
  CHECK(Gicv3::icc_register(3, 4, 12, 11, 0) == std::nullopt);  // ICH_HCR_EL2
  CHECK(Gicv3::icc_register(3, 0, 12, 9, 4) == std::nullopt);
  CHECK(Gicv3::icc_register(3, 0, 12, 11, 0) == std::nullopt);
  CHECK(Gicv3::icc_register(3, 0, 12, 10, 0) == std::nullopt);
  CHECK(Gicv3::icc_register(3, 0, 4, 6, 1) == std::nullopt);
  CHECK(Gicv3::icc_register(2, 0, 12, 12, 0) == std::nullopt);
}

// ---- inputs ----

TEST_CASE("GICv3: a level-sensitive PPI is pending while its line is high and not after it drops") {
  Gic g(1);
  g.enable(0, 27, 0xA0);
  CHECK_FALSE(g.gic.irq_signalled(0));
  g.gic.set_ppi_line(0, 27, true);
  CHECK(g.gic.irq_signalled(0));
  CHECK(g.gic.redist_read(kSgi + kIspendr, 4) == bit_of(27));
  g.gic.set_ppi_line(0, 27, false);
  CHECK_FALSE(g.gic.irq_signalled(0));
  CHECK(g.gic.redist_read(kSgi + kIspendr, 4) == 0);
  CHECK(g.gic.icc_read(0, Icc::Iar1) == Gicv3::kSpurious);
  CHECK(g.rec.calls == std::vector<unsigned>{0, 0});  // the signal rose and fell
}

TEST_CASE(
    "GICv3: for a level-sensitive interrupt ICPENDR clears only the software latch and the line keeps it pending") {
  Gic g(1);
  g.enable(0, 23, 0x80);
  g.gic.redist_write(kSgi + kIspendr, 4, bit_of(23));
  CHECK(g.gic.irq_signalled(0));  // pending by software with the line low
  g.gic.redist_write(kSgi + kIcpendr, 4, bit_of(23));
  CHECK_FALSE(g.gic.irq_signalled(0));
  g.gic.set_ppi_line(0, 23, true);
  g.gic.redist_write(kSgi + kIcpendr, 4, bit_of(23));
  CHECK(g.gic.irq_signalled(0));  // the line is still high
  CHECK(g.gic.redist_read(kSgi + kIcpendr, 4) == bit_of(23));
  g.gic.set_ppi_line(0, 23, false);
  CHECK_FALSE(g.gic.irq_signalled(0));
}

TEST_CASE("GICv3: an edge-triggered SPI latches the rising edge and stays pending until acknowledged") {
  Gic g(1);
  g.edge(40);
  g.enable(0, 40, 0x80);
  g.gic.set_spi_line(40, true);
  g.gic.set_spi_line(40, false);
  CHECK(g.spi_bit(kIspendr, 40));
  CHECK(g.gic.irq_signalled(0));
  CHECK(g.gic.icc_read(0, Icc::Iar1) == 40);
  CHECK_FALSE(g.spi_bit(kIspendr, 40));  // the edge is consumed
  CHECK(g.spi_bit(kIsactiver, 40));
  CHECK_FALSE(g.gic.irq_signalled(0));
  g.gic.set_spi_line(40, true);  // a new edge while active: active and pending
  g.gic.icc_write(0, Icc::Eoir1, 40);
  CHECK(g.gic.icc_read(0, Icc::Iar1) == 40);
  g.gic.icc_write(0, Icc::Eoir1, 40);
  CHECK(g.gic.icc_read(0, Icc::Iar1) == Gicv3::kSpurious);  // the line staying high is no new edge
}

TEST_CASE("GICv3: acknowledging a level-sensitive interrupt whose line stays high leaves it active and pending") {
  Gic g(1);
  g.enable(0, 30, 0x60);
  g.gic.set_ppi_line(0, 30, true);
  CHECK(g.gic.icc_read(0, Icc::Iar1) == 30);
  CHECK(g.gic.redist_read(kSgi + kIsactiver, 4) == bit_of(30));
  CHECK(g.gic.redist_read(kSgi + kIspendr, 4) == bit_of(30));
  CHECK_FALSE(g.gic.irq_signalled(0));  // not while it is active
  g.gic.icc_write(0, Icc::Eoir1, 30);
  CHECK(g.gic.irq_signalled(0));  // deactivated with the line high: signalled again
}

TEST_CASE("GICv3: ISACTIVER and ICACTIVER set and clear the active state, and an active interrupt is not signalled") {
  Gic g(1);
  g.enable(0, 50, 0x40);
  g.gic.set_spi_line(50, true);
  g.gic.dist_write(kIsactiver + word_of(50), 4, bit_of(50));
  CHECK(g.spi_bit(kIcactiver, 50));
  CHECK_FALSE(g.gic.irq_signalled(0));
  g.gic.dist_write(kIcactiver + word_of(50), 4, bit_of(50));
  CHECK(g.gic.irq_signalled(0));
}

// ---- acknowledge, end of interrupt, priorities ----

TEST_CASE("GICv3: with EOImode 0 ICC_EOIR1_EL1 drops the running priority and deactivates") {
  Gic g(1);
  g.enable(0, 3, 0x40);
  g.sgi(0, 3, 0);
  CHECK(g.gic.icc_read(0, Icc::Iar1) == 3);
  CHECK(g.gic.icc_read(0, Icc::Rpr) == 0x40);
  CHECK(g.gic.icc_read(0, Icc::Ap1r0) == (1u << (0x40 >> 3)));
  CHECK(g.gic.redist_read(kSgi + kIsactiver, 4) == bit_of(3));
  g.gic.icc_write(0, Icc::Eoir1, 3);
  CHECK(g.gic.icc_read(0, Icc::Rpr) == 0xFF);
  CHECK(g.gic.redist_read(kSgi + kIsactiver, 4) == 0);
  g.sgi(0, 3, 0);
  CHECK(g.gic.irq_signalled(0));
}

TEST_CASE("GICv3: with EOImode 1 ICC_EOIR1_EL1 only drops the priority and ICC_DIR_EL1 deactivates") {
  Gic g(1);
  g.gic.icc_write(0, Icc::Ctlr, 2);
  g.enable(0, 3, 0x40);
  g.sgi(0, 3, 0);
  CHECK(g.gic.icc_read(0, Icc::Iar1) == 3);
  g.gic.icc_write(0, Icc::Eoir1, 3);
  CHECK(g.gic.icc_read(0, Icc::Rpr) == 0xFF);
  CHECK(g.gic.redist_read(kSgi + kIsactiver, 4) == bit_of(3));  // still active
  g.sgi(0, 3, 0);
  CHECK_FALSE(g.gic.irq_signalled(0));  // an active SGI is not signalled again
  g.gic.icc_write(0, Icc::Dir, 3);
  CHECK(g.gic.redist_read(kSgi + kIsactiver, 4) == 0);
  CHECK(g.gic.irq_signalled(0));
}

TEST_CASE(
    "GICv3: ICC_DIR_EL1 with EOImode 0, and EOIR1 of a special INTID or with no active priority, change nothing") {
  Gic g(1);
  g.enable(0, 3, 0x40);
  g.sgi(0, 3, 0);
  CHECK(g.gic.icc_read(0, Icc::Iar1) == 3);
  g.gic.icc_write(0, Icc::Dir, 3);  // UNPREDICTABLE with EOImode 0: ignored
  CHECK(g.gic.redist_read(kSgi + kIsactiver, 4) == bit_of(3));
  g.gic.icc_write(0, Icc::Eoir1, Gicv3::kSpurious);
  CHECK(g.gic.icc_read(0, Icc::Rpr) == 0x40);
  g.gic.icc_write(0, Icc::Eoir1, 3);
  g.gic.redist_write(kSgi + kIsactiver, 4, bit_of(3));
  g.gic.icc_write(0, Icc::Eoir1, 3);  // nothing active in AP1R0: ignored, not deactivated
  CHECK(g.gic.redist_read(kSgi + kIsactiver, 4) == bit_of(3));
}

TEST_CASE("GICv3: ICC_PMR_EL1 masks every priority equal to or lower than it") {
  Gic g(1);
  g.enable(0, 1, 0x80);
  g.gic.icc_write(0, Icc::Pmr, 0x80);
  g.sgi(0, 1, 0);
  CHECK_FALSE(g.gic.irq_signalled(0));  // 0x80 is not above a mask of 0x80
  CHECK(g.gic.icc_read(0, Icc::Iar1) == Gicv3::kSpurious);
  CHECK(g.gic.icc_read(0, Icc::Hppir1) == 1);  // still the highest pending
  g.gic.icc_write(0, Icc::Pmr, 0x88);
  CHECK(g.gic.irq_signalled(0));
  g.gic.icc_write(0, Icc::Pmr, 0);
  CHECK_FALSE(g.gic.irq_signalled(0));
  CHECK(g.rec.calls == std::vector<unsigned>{0, 0});
}

TEST_CASE("GICv3: a pending interrupt preempts only with a group priority higher than the running priority") {
  Gic g(1);
  g.enable(0, 1, 0x80);
  g.enable(0, 2, 0x40);
  g.enable(0, 5, 0x80);
  g.enable(0, 6, 0xA0);
  g.sgi(0, 1, 0);
  CHECK(g.gic.icc_read(0, Icc::Iar1) == 1);
  g.sgi(0, 5, 0);
  g.sgi(0, 6, 0);
  CHECK_FALSE(g.gic.irq_signalled(0));  // equal and lower priorities do not preempt
  CHECK(g.gic.icc_read(0, Icc::Iar1) == Gicv3::kSpurious);
  CHECK(g.gic.icc_read(0, Icc::Hppir1) == 5);  // but they are pending
  g.sgi(0, 2, 0);
  CHECK(g.gic.irq_signalled(0));  // higher priority preempts
  CHECK(g.gic.icc_read(0, Icc::Iar1) == 2);
  CHECK(g.gic.icc_read(0, Icc::Rpr) == 0x40);
  CHECK(g.gic.icc_read(0, Icc::Ap1r0) == ((1u << (0x40 >> 3)) | (1u << (0x80 >> 3))));
  g.gic.icc_write(0, Icc::Eoir1, 2);
  CHECK(g.gic.icc_read(0, Icc::Rpr) == 0x80);  // back to the preempted one's priority
  CHECK_FALSE(g.gic.irq_signalled(0));
  g.gic.icc_write(0, Icc::Eoir1, 1);
  CHECK(g.gic.icc_read(0, Icc::Iar1) == 5);  // then the highest pending, lowest INTID first
  g.gic.icc_write(0, Icc::Eoir1, 5);
  CHECK(g.gic.icc_read(0, Icc::Iar1) == 6);
}

TEST_CASE("GICv3: the binary point groups priorities, so a higher priority in the same group does not preempt") {
  Gic g(1);
  g.gic.icc_write(0, Icc::Bpr1, 6);  // group priority = bits [7:6]
  g.enable(0, 1, 0x60);
  g.enable(0, 2, 0x48);
  g.enable(0, 3, 0x38);
  g.sgi(0, 1, 0);
  CHECK(g.gic.icc_read(0, Icc::Iar1) == 1);
  CHECK(g.gic.icc_read(0, Icc::Rpr) == 0x40);  // the group priority of 0x60
  g.sgi(0, 2, 0);
  CHECK_FALSE(g.gic.irq_signalled(0));  // 0x48 is in the same group
  g.sgi(0, 3, 0);
  CHECK(g.gic.icc_read(0, Icc::Iar1) == 3);  // 0x38 is in group 0x00
  g.gic.icc_write(0, Icc::Eoir1, 3);
  g.gic.icc_write(0, Icc::Eoir1, 1);
  CHECK(g.gic.icc_read(0, Icc::Iar1) == 2);  // taken once the first has ended
}

TEST_CASE("GICv3: with ICC_CTLR_EL1.CBPR Group 1 preemption uses BPR0, one bit coarser than the same BPR1 value") {
  Gic g(1);
  g.gic.icc_write(0, Icc::Bpr0, 5);
  g.gic.icc_write(0, Icc::Ctlr, 1);  // CBPR: group priority = bits [7:6]
  g.enable(0, 1, 0x60);
  g.enable(0, 2, 0x48);
  g.sgi(0, 1, 0);
  CHECK(g.gic.icc_read(0, Icc::Iar1) == 1);
  CHECK(g.gic.icc_read(0, Icc::Rpr) == 0x40);
  g.sgi(0, 2, 0);
  CHECK_FALSE(g.gic.irq_signalled(0));
  g.gic.icc_write(0, Icc::Ctlr, 0);  // BPR1 = 3 again: 0x48 is still below the running 0x40
  CHECK_FALSE(g.gic.irq_signalled(0));
  g.gic.icc_write(0, Icc::Eoir1, 1);
  CHECK(g.gic.icc_read(0, Icc::Iar1) == 2);
  CHECK(g.gic.icc_read(0, Icc::Rpr) == 0x48);  // full five bits with BPR1 = 3
}

TEST_CASE(
    "GICv3: nothing is signalled with GICD_CTLR.EnableGrp1 or ICC_IGRPEN1_EL1 clear, or for a disabled interrupt") {
  Gic g(1);
  g.enable(0, 9, 0x20);
  g.sgi(0, 9, 0);
  CHECK(g.gic.irq_signalled(0));
  g.gic.dist_write(kCtlr, 4, 0x10);
  CHECK_FALSE(g.gic.irq_signalled(0));
  CHECK(g.gic.icc_read(0, Icc::Hppir1) == Gicv3::kSpurious);
  g.gic.dist_write(kCtlr, 4, 0x12);
  g.gic.icc_write(0, Icc::Igrpen1, 0);
  CHECK_FALSE(g.gic.irq_signalled(0));
  CHECK(g.gic.icc_read(0, Icc::Iar1) == Gicv3::kSpurious);
  g.gic.icc_write(0, Icc::Igrpen1, 1);
  g.gic.redist_write(kSgi + kIcenabler, 4, bit_of(9));
  CHECK_FALSE(g.gic.irq_signalled(0));
  CHECK(g.sgi_pending(0, 9));
  g.gic.redist_write(kSgi + kIsenabler, 4, bit_of(9));
  CHECK(g.gic.icc_read(0, Icc::Iar1) == 9);
}

// ---- SGIs ----

TEST_CASE("GICv3: ICC_SGI1R_EL1 pends its INTID at the CPUs its target list names within Aff3.Aff2.Aff1") {
  Gic g(20);
  for (unsigned c = 0; c < 20; ++c) g.enable(c, 7, 0x50);
  g.gic.icc_write(0, Icc::Sgi1r, sgi1r(7, 1, 0b110));  // Aff1 = 1, Aff0 1 and 2: CPUs 17, 18
  for (unsigned c = 0; c < 20; ++c) CHECK(g.sgi_pending(c, 7) == (c == 17 || c == 18));
  CHECK(g.rec.calls == std::vector<unsigned>{17, 18});
  CHECK(g.gic.icc_read(17, Icc::Iar1) == 7);
  CHECK(g.gic.redist_read(rd(17) + kSgi + kIspendr, 4) == 0);       // only INTID 7, and consumed
  g.gic.icc_write(0, Icc::Sgi1r, sgi1r(7, 0, 0b1) | (1ull << 32));  // Aff2 = 1: nobody
  CHECK_FALSE(g.sgi_pending(0, 7));
  g.gic.icc_write(0, Icc::Sgi1r, sgi1r(7, 0, 0b1) | (1ull << 48));  // Aff3 = 1: nobody
  CHECK_FALSE(g.sgi_pending(0, 7));
  g.gic.icc_write(3, Icc::Sgi1r, sgi1r(7, 0, 0b1000));  // to itself
  CHECK(g.gic.icc_read(3, Icc::Iar1) == 7);
}

TEST_CASE("GICv3: ICC_SGI1R_EL1.RS selects Aff0 16 and up, which no CPU has") {
  Gic g(20);
  for (unsigned c = 0; c < 20; ++c) g.enable(c, 7, 0x50);
  g.gic.icc_write(0, Icc::Sgi1r, sgi1r(7, 0, 0xFFFF) | (1ull << 44));
  g.gic.icc_write(0, Icc::Sgi1r, sgi1r(7, 1, 0xFFFF) | (1ull << 44));
  for (unsigned c = 0; c < 20; ++c) CHECK_FALSE(g.sgi_pending(c, 7));
  CHECK(g.rec.calls.empty());
}

TEST_CASE("GICv3: ICC_SGI1R_EL1.IRM = 1 pends the SGI at every CPU but the sender, ignoring the affinity fields") {
  Gic g(20);
  for (unsigned c = 0; c < 20; ++c) g.enable(c, 12, 0x50);
  g.gic.icc_write(3, Icc::Sgi1r, sgi1r(12, 1, 0b1) | kIrm);
  for (unsigned c = 0; c < 20; ++c) CHECK(g.sgi_pending(c, 12) == (c != 3));
  CHECK(g.rec.calls.size() == 19);
  CHECK(g.gic.icc_read(5, Icc::Iar1) == 12);
  CHECK(g.gic.icc_read(3, Icc::Iar1) == Gicv3::kSpurious);
}

TEST_CASE(
    "GICv3: with one security state ICC_SGI1R_EL1 pends an SGI of either group, ICC_SGI0R_EL1 and ICC_ASGI1R_EL1 only "
    "a Group 0 one") {
  Gic g(2);
  g.gic.redist_write(rd(1) + kSgi + kIgroupr, 4, ~bit_of(4));  // SGI 4 Group 0 at CPU 1, the rest Group 1
  g.enable(1, 4, 0x20);
  g.enable(1, 5, 0x20);
  g.gic.icc_write(0, Icc::Sgi0r, sgi1r(5, 0, 0b10));
  g.gic.icc_write(0, Icc::Asgi1r, sgi1r(5, 0, 0b10));
  CHECK_FALSE(g.sgi_pending(1, 5));
  g.gic.icc_write(0, Icc::Sgi0r, sgi1r(4, 0, 0b10));
  CHECK(g.sgi_pending(1, 4));
  g.gic.redist_write(rd(1) + kSgi + kIcpendr, 4, bit_of(4));
  g.gic.icc_write(0, Icc::Asgi1r, sgi1r(4, 0, 0b10));
  CHECK(g.sgi_pending(1, 4));
  g.gic.redist_write(rd(1) + kSgi + kIcpendr, 4, bit_of(4));
  g.gic.icc_write(0, Icc::Sgi1r, sgi1r(4, 0, 0b10));
  CHECK(g.sgi_pending(1, 4));
  CHECK_FALSE(g.gic.irq_signalled(1));  // Group 0: never signalled
  g.gic.icc_write(0, Icc::Sgi1r, sgi1r(5, 0, 0b10));
  CHECK(g.gic.icc_read(1, Icc::Iar1) == 5);
}

// ---- SPI routing ----

TEST_CASE("GICv3: GICD_IROUTER routes an SPI to the CPU its affinity names, CPU 17 for Aff1 1 and Aff0 1") {
  Gic g(18);
  g.enable(0, 50, 0x30);
  g.gic.dist_write(kIrouter + 8 * 50, 8, 0x0101);
  g.gic.set_spi_line(50, true);
  CHECK(g.rec.calls == std::vector<unsigned>{17});
  for (unsigned c = 0; c < 18; ++c) CHECK(g.gic.irq_signalled(c) == (c == 17));
  CHECK(g.gic.icc_read(0, Icc::Iar1) == Gicv3::kSpurious);
  CHECK(g.gic.icc_read(17, Icc::Iar1) == 50);
  g.gic.icc_write(17, Icc::Eoir1, 50);
  g.gic.dist_write(kIrouter + 8 * 50, 8, 0x0105);  // Aff0 5 in cluster 1: no such CPU
  for (unsigned c = 0; c < 18; ++c) CHECK_FALSE(g.gic.irq_signalled(c));
  g.gic.dist_write(kIrouter + 8 * 50, 8, 0x01'0000'0000ull);  // Aff3 1: nobody
  for (unsigned c = 0; c < 18; ++c) CHECK_FALSE(g.gic.irq_signalled(c));
}

TEST_CASE("GICv3: a 1-of-N SPI (IRM = 1) goes to the lowest-numbered CPU with Group 1 enabled") {
  Gic g(4);
  g.enable(0, 60, 0x30);
  g.gic.dist_write(kIrouter + 8 * 60, 8, 0x8000'0003);  // IRM: the affinity fields do not count
  g.gic.set_spi_line(60, true);
  CHECK(g.gic.irq_signalled(0));
  g.rec.calls.clear();
  g.gic.icc_write(0, Icc::Igrpen1, 0);
  CHECK(g.rec.calls == std::vector<unsigned>{0, 1});
  CHECK(g.gic.irq_signalled(1));
  g.gic.icc_write(1, Icc::Igrpen1, 0);
  CHECK(g.gic.irq_signalled(2));
  CHECK(g.gic.icc_read(2, Icc::Iar1) == 60);  // taken by one CPU: active, no longer offered
  g.gic.icc_write(2, Icc::Igrpen1, 0);
  CHECK_FALSE(g.gic.irq_signalled(3));
}

// ---- the listener ----

TEST_CASE(
    "GICv3: the listener hears each CPU whose IRQ signal changed, once, and nothing for a change that signals nothing "
    "new") {
  Recorder rec;
  {
    Gicv3 quiet(2, &rec);
    CHECK(rec.calls.empty());  // not from the constructor
  }
  Gic g(3);
  g.enable(0, 40, 0x80);
  g.enable(0, 41, 0x80);
  CHECK(g.rec.calls.empty());  // enabled but not pending
  g.gic.dist_write(kIspendr + 4, 4, bit_of(40) | bit_of(41));
  CHECK(g.rec.calls == std::vector<unsigned>{0});  // one write, two SPIs, one CPU: one call
  g.gic.dist_write(kIspendr + 4, 4, bit_of(40));   // already pending
  g.gic.dist_write(kIpriorityr + 40, 1, 0x80);     // the same priority
  g.gic.icc_write(0, Icc::Pmr, 0xF0);              // the same mask
  g.gic.dist_write(kIrouter + 8 * 40, 8, 0);       // the same route
  CHECK(g.rec.calls == std::vector<unsigned>{0});
  g.gic.dist_write(kIrouter + 8 * 40, 8, 2);  // SPI 40 to CPU 2; SPI 41 keeps CPU 0 signalled
  CHECK(g.rec.calls == std::vector<unsigned>{0, 2});
  g.gic.dist_write(kCtlr, 4, 0x10);  // Group 1 off: both signalled CPUs drop
  CHECK(g.rec.calls == std::vector<unsigned>{0, 2, 0, 2});
  g.rec.calls.clear();
  g.gic.reset();
  CHECK(g.rec.calls == std::vector<unsigned>{0, 1, 2});  // everyone on reset
}

TEST_CASE("GICv3: the listener is told after the whole change, so every CPU's signal is already current") {
  struct Observer final : GicListener {
    Gicv3* gic = nullptr;
    std::vector<std::vector<bool>> seen;
    void gic_changed(unsigned) override { seen.push_back({gic->irq_signalled(0), gic->irq_signalled(1)}); }
  } observer;
  Gicv3 gic(2, &observer);
  observer.gic = &gic;
  gic.dist_write(kCtlr, 4, 0x12);
  gic.dist_write(kIgroupr + 4, 4, 0xFFFF'FFFF);
  gic.icc_write(0, Icc::Pmr, 0xF0);
  gic.icc_write(1, Icc::Pmr, 0xF0);
  gic.icc_write(0, Icc::Igrpen1, 1);
  gic.icc_write(1, Icc::Igrpen1, 1);
  gic.dist_write(kIsenabler + 4, 4, bit_of(33));
  gic.set_spi_line(33, true);
  REQUIRE(observer.seen.size() == 1);
  CHECK(observer.seen.back() == std::vector<bool>{true, false});
  gic.dist_write(kIrouter + 8 * 33, 8, 1);  // moved from CPU 0 to CPU 1: two calls, both see the end state
  REQUIRE(observer.seen.size() == 3);
  CHECK(observer.seen[1] == std::vector<bool>{false, true});
  CHECK(observer.seen[2] == std::vector<bool>{false, true});
}

// ---- reset and state ----

TEST_CASE("GICv3: reset() returns every register to its reset value and keeps the input line levels") {
  Gic g(2);
  Gicv3 fresh(2, nullptr);
  const std::vector<std::uint64_t> clean = dump(fresh, 2);
  g.enable(1, 27, 0x90);
  g.gic.set_ppi_line(1, 27, true);
  g.edge(45);
  g.enable(0, 45, 0x10);
  g.gic.dist_write(kIrouter + 8 * 45, 8, 0x8000'0000);
  g.gic.icc_write(1, Icc::Ctlr, 3);
  g.gic.icc_write(1, Icc::Bpr0, 6);
  REQUIRE(g.gic.icc_read(1, Icc::Iar1) == 27);
  g.gic.reset();
  CHECK(g.gic.redist_read(rd(1) + kSgi + kIspendr, 4) == bit_of(27));  // the line is still high
  g.gic.set_ppi_line(1, 27, false);
  CHECK(dump(g.gic, 2) == clean);
  g.gic.set_ppi_line(1, 27, true);
  g.gic.dist_write(kCtlr, 4, 0x12);
  g.gic.redist_write(rd(1) + kSgi + kIgroupr, 4, bit_of(27));
  g.enable(1, 27, 0x90);
  g.gic.icc_write(1, Icc::Pmr, 0xF0);
  g.gic.icc_write(1, Icc::Igrpen1, 1);
  CHECK(g.gic.icc_read(1, Icc::Iar1) == 27);
}

namespace {
// A state with something in every saved field.
void busy(Gic& g) {
  g.enable(1, 27, 0x90);
  g.gic.set_ppi_line(1, 27, true);
  g.gic.icc_write(1, Icc::Ctlr, 2);
  g.gic.icc_write(0, Icc::Ctlr, 1);
  g.gic.icc_write(0, Icc::Bpr0, 4);
  g.gic.icc_write(1, Icc::Bpr1, 5);
  g.gic.icc_write(0, Icc::Pmr, 0xC8);
  g.edge(77);
  g.enable(0, 77, 0x18);
  g.gic.set_spi_line(77, true);
  g.gic.set_spi_line(77, false);
  g.gic.dist_write(kIrouter + 8 * 77, 8, 1);
  g.gic.dist_write(kIrouter + 8 * 90, 8, 0x8000'0000);
  g.gic.dist_write(kIgroupr + word_of(100), 4, 0);
  g.gic.dist_write(kIsactiver + word_of(200), 4, bit_of(200));
  g.enable(0, 6, 0x28);
  g.gic.icc_write(1, Icc::Sgi1r, sgi1r(6, 0, 1));
  g.gic.redist_write(rd(1) + kWaker, 4, 2);
  REQUIRE(g.gic.icc_read(1, Icc::Iar1) == 77);  // CPU 1 has AP1R0 set and SPI 77 active
  REQUIRE(g.gic.irq_signalled(0));
}
}  // namespace

TEST_CASE("GICv3: save then load reproduces every guest-visible register, the input lines and the IRQ signals") {
  Gic g(2);
  busy(g);
  const std::vector<std::uint8_t> bytes = saved(g.gic);
  Recorder rec;
  Gicv3 copy(2, &rec);
  fw::StateReader in(bytes);
  copy.load(in);
  CHECK(in.at_end());
  CHECK(rec.calls == std::vector<unsigned>{0, 1});
  CHECK(dump(copy, 2) == dump(g.gic, 2));
  CHECK(saved(copy) == bytes);
  // And both go on alike: the PPI line is still high at CPU 1 once SPI 77 is done.
  for (Gicv3* gic : {&g.gic, &copy}) {
    CHECK(gic->icc_read(0, Icc::Iar1) == 6);
    gic->icc_write(1, Icc::Eoir1, 77);
    gic->icc_write(1, Icc::Dir, 77);
    CHECK(gic->icc_read(1, Icc::Iar1) == 27);
  }
}

TEST_CASE("GICv3: load refuses a state no GIC could hold and leaves the model unchanged") {
  Gic g(2);
  busy(g);
  const std::vector<std::uint8_t> good = saved(g.gic);
  // Layout: tag 4, CPU count 4, EnableGrp1 1, then 10 bytes per interrupt (priority, flags,
  // route): 32 per CPU, then the SPIs; then 16 bytes per CPU interface.
  constexpr std::size_t kFirst = 9, kSpi0 = kFirst + 2 * 32 * 10, kCpu0 = kSpi0 + Gicv3::kSpis * 10;
  const std::vector<std::function<void(std::vector<std::uint8_t>&)>> corruptions = {
      [](auto& b) { b[0] ^= 1; },                                                        // the section tag
      [](auto& b) { b[4] = 3; },                                                         // the CPU count
      [](auto& b) { b[8] = 2; },                                                         // EnableGrp1 neither 0 nor 1
      [](auto& b) { b[kFirst] = 0x07; },                                                 // unimplemented priority bits
      [](auto& b) { b[kFirst + 1] = static_cast<std::uint8_t>(b[kFirst + 1] & 0xDF); },  // an SGI not edge-triggered
      [](auto& b) { b[kFirst + 1] = static_cast<std::uint8_t>(b[kFirst + 1] | 0x08); },  // an SGI with an input line
      [](auto& b) { b[kFirst + 1] = static_cast<std::uint8_t>(b[kFirst + 1] | 0x40); },  // an unknown flag
      [](auto& b) { b[kFirst + 16 * 10 + 2] = 1; },                                      // a route on a PPI
      [](auto& b) { b[kSpi0 + 2 + 3] = 0x01; },                                          // a reserved IROUTER bit
      [](auto& b) { b[kCpu0] = 0x0F; },                                                  // PMR with unimplemented bits
      [](auto& b) { b[kCpu0 + 1] = 1; },                                                 // BPR0 below its minimum
      [](auto& b) { b[kCpu0 + 2] = 8; },                                                 // BPR1 above 7
      [](auto& b) { b[kCpu0 + 3] = 0x08; },     // an unknown CPU-interface flag
      [](auto& b) { b[kCpu0 + 8] = 0x04; },     // GICR_WAKER.ChildrenAsleep saved
      [](auto& b) { b.resize(b.size() - 1); },  // truncated
  };
  Gicv3 target(2, nullptr);
  {
    fw::StateReader in(good);
    target.load(in);
  }
  const std::vector<std::uint64_t> before = dump(target, 2);
  for (std::size_t n = 0; n < corruptions.size(); ++n) {
    CAPTURE(n);
    std::vector<std::uint8_t> bad = good;
    corruptions[n](bad);
    REQUIRE(bad != good);
    fw::StateReader in(bad);
    CHECK_THROWS_AS(target.load(in), fw::StateError);
    CHECK(dump(target, 2) == before);
    CHECK(saved(target) == good);
  }
  Gicv3 three(3, nullptr);
  fw::StateReader in(good);
  CHECK_THROWS_AS(three.load(in), fw::StateError);
}

// ---- interrupts the firmware owns (SDEI bind slots, fw::InterruptController) ----

TEST_CASE("GICv3: kind() names SGIs, PPIs and the 224 SPIs, and INTIDs past them are not implemented") {
  Gic g(1);
  using Kind = fw::InterruptController::Kind;
  CHECK(g.gic.kind(0) == Kind::Sgi);
  CHECK(g.gic.kind(15) == Kind::Sgi);
  CHECK(g.gic.kind(16) == Kind::Ppi);
  CHECK(g.gic.kind(31) == Kind::Ppi);
  CHECK(g.gic.kind(32) == Kind::Spi);
  CHECK(g.gic.kind(255) == Kind::Spi);
  CHECK(g.gic.kind(256) == Kind::None);
  CHECK(g.gic.kind(1020) == Kind::None);
}

TEST_CASE(
    "GICv3: a PPI the firmware owns is RAZ/WI to the guest, as a Secure interrupt is to Non-secure accesses "
    "(IHI 0069H 12.1.9), and is never signalled as an IRQ") {
  Gic g(2);
  g.enable(0, 30, 0x80);
  g.gic.set_ppi_line(0, 30, true);
  REQUIRE(g.gic.irq_signalled(0));
  g.gic.claim(0, 30, true);
  CHECK_FALSE(g.gic.irq_signalled(0));  // disabled and taken away
  const std::uint64_t sgi_base = rd(0) + kSgi;
  CHECK((g.gic.redist_read(sgi_base + kIgroupr, 4) & bit_of(30)) == 0);
  CHECK((g.gic.redist_read(sgi_base + kIspendr, 4) & bit_of(30)) == 0);   // the line is high, yet RAZ
  CHECK((g.gic.redist_read(sgi_base + kIpriorityr + 28, 4) >> 16) == 0);  // bytes of 30 and 31
  CHECK((g.gic.redist_read(sgi_base + kIcfgr + 4, 4) >> 28) == 0);
  g.gic.redist_write(sgi_base + kIsenabler, 4, bit_of(30));
  CHECK((g.gic.redist_read(sgi_base + kIsenabler, 4) & bit_of(30)) == 0);
  CHECK_FALSE(g.gic.triggered(0, 30));  // the guest's write did not enable it
  // vCPU 1's PPI 30 is still the guest's.
  g.enable(1, 30, 0x80);
  g.gic.set_ppi_line(1, 30, true);
  CHECK(g.gic.irq_signalled(1));
  // The firmware's enable makes it trigger; still no IRQ, IAR1 still sees nothing.
  g.gic.enable(0, 30, true);
  CHECK(g.gic.triggered(0, 30));
  CHECK_FALSE(g.gic.irq_signalled(0));
  CHECK(g.gic.icc_read(0, Icc::Hppir1) == Gicv3::kSpurious);
  CHECK(g.gic.icc_read(0, Icc::Iar1) == Gicv3::kSpurious);
}

TEST_CASE(
    "GICv3: a firmware-owned level interrupt is active from acknowledge to deactivate, and the guest cannot end "
    "it") {
  Gic g(1);
  g.gic.claim(0, 27, true);
  g.gic.enable(0, 27, true);
  g.rec.firmware_calls = 0;
  g.gic.set_ppi_line(0, 27, true);
  CHECK(g.rec.firmware_calls == 1);  // the machine is told the event may have triggered
  CHECK(g.gic.triggered(0, 27));
  g.gic.acknowledge(0, 27);
  CHECK(g.gic.active(0, 27));
  CHECK_FALSE(g.gic.triggered(0, 27));
  g.gic.icc_write(0, Icc::Eoir1, 27);
  g.gic.icc_write(0, Icc::Ctlr, 2);  // EOImode 1, then DIR
  g.gic.icc_write(0, Icc::Dir, 27);
  CHECK(g.gic.active(0, 27));
  g.gic.deactivate(0, 27);
  CHECK_FALSE(g.gic.active(0, 27));
  CHECK(g.gic.triggered(0, 27));  // the level is still high: it triggers again
  g.gic.set_ppi_line(0, 27, false);
  CHECK_FALSE(g.gic.triggered(0, 27));
}

TEST_CASE("GICv3: an edge owned by the firmware latches and is consumed by acknowledge") {
  Gic g(1);
  g.edge(40);
  g.gic.claim(0, 40, true);
  g.gic.enable(0, 40, true);
  g.gic.set_spi_line(40, true);
  g.gic.set_spi_line(40, false);
  CHECK(g.gic.triggered(0, 40));
  CHECK(g.gic.triggered(3, 40));  // an SPI: the same state whoever asks
  g.gic.acknowledge(0, 40);
  g.gic.deactivate(0, 40);
  CHECK_FALSE(g.gic.triggered(0, 40));
  // GICD_IROUTER and every per-INTID bit of an owned SPI are RAZ/WI to the guest.
  g.gic.dist_write(kIrouter + 8 * 40, 8, 0x1);
  CHECK(g.gic.dist_read(kIrouter + 8 * 40, 8) == 0);
  g.gic.dist_write(kIspendr + word_of(40), 4, bit_of(40));
  CHECK_FALSE(g.gic.triggered(0, 40));
  CHECK_FALSE(g.spi_bit(kIsenabler, 40));
}

TEST_CASE("GICv3: given back, an interrupt is the guest's again: Group 1, lowest priority, disabled, latch cleared") {
  Gic g(1);
  g.enable(0, 33, 0x40);
  g.edge(33);
  g.gic.claim(0, 33, true);
  g.gic.set_spi_line(33, true);  // latched while the firmware owns it
  g.gic.claim(0, 33, false);
  CHECK(g.spi_bit(kIgroupr, 33));
  CHECK_FALSE(g.spi_bit(kIsenabler, 33));
  CHECK_FALSE(g.spi_bit(kIspendr, 33));
  CHECK(((g.gic.dist_read(kIpriorityr + 32, 4) >> 8) & 0xFF) == 0xF8);  // the lowest of 5 priority bits
  g.gic.dist_write(kIsenabler + word_of(33), 4, bit_of(33));
  g.gic.dist_write(kIspendr + word_of(33), 4, bit_of(33));
  CHECK_FALSE(g.gic.irq_signalled(0));  // 0xF8 is below the priority mask, 0xF0
  g.gic.dist_write(kIpriorityr + 33, 1, 0x40);
  CHECK(g.gic.irq_signalled(0));
}

TEST_CASE("GICv3: save then load keeps which interrupts the firmware owns") {
  Gic g(2);
  g.gic.claim(1, 30, true);
  g.gic.enable(1, 30, true);
  g.gic.set_ppi_line(1, 30, true);
  fw::StateWriter out;
  g.gic.save(out);
  Gic h(2);
  fw::StateReader in(out.data());
  h.gic.load(in);
  CHECK(h.gic.triggered(1, 30));
  CHECK_FALSE(h.gic.triggered(0, 30));
  CHECK((h.gic.redist_read(rd(1) + kSgi + kIsenabler, 4) & bit_of(30)) == 0);
}

}  // namespace emu::core
