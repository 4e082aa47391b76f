// The GICv3 model's state machine against the architecture (GIC architecture specification
// IHI 0069H), without an engine: registers by MMIO offset and ICC_* by name.
#include <doctest/doctest.h>

#include <vector>

#include "core/gicv3.h"

namespace emu::core {
namespace {
using Icc = Gicv3::Icc;

struct Recorder final : GicListener {
  std::vector<unsigned> calls;
  void gic_changed(unsigned cpu) override { calls.push_back(cpu); }
};

constexpr std::uint64_t kSgi = 0x1'0000;  // SGI_base within a redistributor's 128 KiB
constexpr std::uint64_t rd(unsigned cpu) { return cpu * Gicv3::kRedistStride; }

// What Linux's gic_dist_init / gic_cpu_init leave: Group 1 everywhere, distributor on, the
// CPU interfaces open (PMR 0xF0, IGRPEN1), every redistributor awake.
struct Gic {
  explicit Gic(unsigned cpus) : gic(cpus, &rec) {
    gic.dist_write(0x0, 4, 0x12);  // ARE | EnableGrp1
    for (unsigned n = 1; n < Gicv3::kIntids / 32; ++n) gic.dist_write(0x80 + 4 * n, 4, 0xFFFF'FFFF);
    for (unsigned c = 0; c < cpus; ++c) {
      gic.redist_write(rd(c) + 0x14, 4, 0);
      gic.redist_write(rd(c) + kSgi + 0x80, 4, 0xFFFF'FFFF);
      gic.icc_write(c, Icc::Pmr, 0xF0);
      gic.icc_write(c, Icc::Igrpen1, 1);
    }
    rec.calls.clear();
  }
  void enable(unsigned cpu, unsigned intid, std::uint8_t priority) {
    if (intid < 32) {
      gic.redist_write(rd(cpu) + kSgi + 0x100, 4, 1u << intid);
      gic.redist_write(rd(cpu) + kSgi + 0x400 + intid, 1, priority);
    } else {
      gic.dist_write(0x100 + 4 * (intid / 32), 4, 1u << (intid % 32));
      gic.dist_write(0x400 + intid, 1, priority);
    }
  }
  Recorder rec;
  Gicv3 gic;
};
}  // namespace

TEST_CASE("GICv3: distributor identification, GICD_CTLR.DS and ARE read as one, Group 0 cannot be enabled") {
  Gicv3 gic(4, nullptr);
  CHECK(gic.dist_read(0x0, 4) == 0x50);                   // DS | ARE, both groups disabled
  gic.dist_write(0x0, 4, 0x3);
  CHECK(gic.dist_read(0x0, 4) == 0x52);                   // EnableGrp1 only: the model has no FIQ
  CHECK((gic.dist_read(0x4, 4) & 0x1F) == 8);             // ITLinesNumber: 288 INTIDs, 256 SPIs
  CHECK(((gic.dist_read(0x4, 4) >> 5) & 7) == 0);         // CPUNumber: 0 under affinity routing
  CHECK((gic.dist_read(0x4, 4) & (1u << 17)) == 0);       // no LPIs
  CHECK(gic.dist_read(0xFFE8, 4) == 0x3B);                // PIDR2.ArchRev = 3 (GICv3)
  CHECK(gic.dist_read(0x8, 4) == 0x43B);                  // IIDR: Arm
}

TEST_CASE("GICv3: GICR_TYPER gives each redistributor its affinity and processor number, Last on the last") {
  Gicv3 gic(18, nullptr);
  CHECK(gic.redist_read(rd(0) + 0x8, 8) == (1u << 24));  // CommonLPIAff as QEMU
  CHECK(gic.redist_read(rd(17) + 0x8, 8) == ((0x0101ull << 32) | (1u << 24) | (17u << 8) | (1u << 4)));  // Aff1 1, Aff0 1
  CHECK(gic.redist_read(rd(17) + 0xC, 4) == 0x0101);      // the upper half alone
  CHECK((gic.redist_read(rd(16) + 0x8, 8) & (1u << 4)) == 0);
  CHECK(gic.redist_read(rd(18) + 0x8, 8) == 0);           // beyond the last frame: RAZ
}

TEST_CASE("GICv3: GICR_WAKER.ProcessorSleep resets to 1 and ChildrenAsleep follows it") {
  Gicv3 gic(1, nullptr);
  CHECK(gic.redist_read(0x14, 4) == 0x6);
  gic.redist_write(0x14, 4, 0);
  CHECK(gic.redist_read(0x14, 4) == 0);
}

TEST_CASE("GICv3: CPU interface reset values and read-only fields") {
  Gicv3 gic(1, nullptr);
  CHECK(gic.icc_read(0, Icc::Sre) == 0x7);
  CHECK(gic.icc_read(0, Icc::Pmr) == 0);
  CHECK(gic.icc_read(0, Icc::Rpr) == 0xFF);  // idle
  CHECK(gic.icc_read(0, Icc::Ctlr) == ((4u << 8) | (1u << 11) | (1u << 15)));  // PRIbits = 4 (5 bits), IDbits, A3V
  gic.icc_write(0, Icc::Pmr, 0xFF);
  CHECK(gic.icc_read(0, Icc::Pmr) == 0xF8);  // 5 bits of priority
  gic.icc_write(0, Icc::Bpr1, 0);
  CHECK(gic.icc_read(0, Icc::Bpr1) == 3);    // the minimum for 5 bits
  gic.icc_write(0, Icc::Igrpen0, 1);
  CHECK(gic.icc_read(0, Icc::Igrpen0) == 0);
  CHECK(gic.icc_read(0, Icc::Iar1) == Gicv3::kSpurious);
}

TEST_CASE("GICv3: priority fields keep their five implemented bits, IROUTER its defined fields") {
  Gicv3 gic(2, nullptr);
  gic.dist_write(0x400 + 40, 1, 0xFF);
  CHECK(gic.dist_read(0x400 + 40, 1) == 0xF8);
  gic.dist_write(0x6000 + 8 * 40, 8, ~std::uint64_t{0});
  CHECK(gic.dist_read(0x6000 + 8 * 40, 8) == 0xFF'80FF'FFFFull);
  CHECK(gic.dist_read(0x6000 + 8 * 5, 8) == 0);  // no IROUTER for SGIs and PPIs
  gic.dist_write(0x100, 4, 0xFFFF'FFFF);           // GICD_ISENABLER0 is RAZ/WI under affinity routing
  CHECK(gic.dist_read(0x100, 4) == 0);
  CHECK(gic.redist_read(kSgi + 0xC00, 4) == 0xAAAA'AAAA);  // SGIs are edge-triggered, read-only
}

TEST_CASE("GICv3: a level PPI is pending while its line is high, and only then") {
  Gic g(1);
  g.enable(0, 27, 0xA0);
  CHECK_FALSE(g.gic.irq_signalled(0));
  g.gic.set_ppi_line(0, 27, true);
  CHECK(g.gic.irq_signalled(0));
  CHECK(g.gic.redist_read(kSgi + 0x200, 4) == (1u << 27));
  g.gic.set_ppi_line(0, 27, false);
  CHECK_FALSE(g.gic.irq_signalled(0));
  CHECK(g.gic.icc_read(0, Icc::Iar1) == Gicv3::kSpurious);
  CHECK(g.rec.calls == std::vector<unsigned>{0, 0});  // the signal rose and fell
}

TEST_CASE("GICv3: an edge SPI latches the rising edge and stays pending after the line drops until acknowledged") {
  Gic g(1);
  g.gic.dist_write(0xC00 + 4 * (40 / 16), 4, 2u << (2 * (40 % 16)));  // ICFGR: INTID 40 edge
  g.enable(0, 40, 0x80);
  g.gic.set_spi_line(40, true);
  g.gic.set_spi_line(40, false);
  CHECK(g.gic.irq_signalled(0));
  CHECK(g.gic.icc_read(0, Icc::Iar1) == 40);
  CHECK_FALSE(g.gic.irq_signalled(0));  // active, and no longer pending
  g.gic.icc_write(0, Icc::Eoir1, 40);
  CHECK(g.gic.icc_read(0, Icc::Iar1) == Gicv3::kSpurious);
}

TEST_CASE("GICv3: EOImode 0 drops priority and deactivates, EOImode 1 leaves the interrupt active until DIR") {
  for (const bool split : {false, true}) {
    CAPTURE(split);
    Gic g(1);
    g.gic.icc_write(0, Icc::Ctlr, split ? 2 : 0);
    g.enable(0, 3, 0x40);
    g.gic.icc_write(0, Icc::Sgi1r, (3ull << 24) | 1);  // SGI 3 to Aff0 = 0
    CHECK(g.gic.icc_read(0, Icc::Iar1) == 3);
    CHECK(g.gic.icc_read(0, Icc::Rpr) == 0x40);
    g.gic.icc_write(0, Icc::Eoir1, 3);
    CHECK(g.gic.icc_read(0, Icc::Rpr) == 0xFF);     // the priority drop, either way
    const bool active = (g.gic.redist_read(kSgi + 0x300, 4) & (1u << 3)) != 0;
    CHECK(active == split);
    g.gic.icc_write(0, Icc::Sgi1r, (3ull << 24) | 1);
    CHECK(g.gic.irq_signalled(0) == !split);          // an active SGI is not signalled again
    g.gic.icc_write(0, Icc::Dir, 3);
    CHECK(g.gic.irq_signalled(0));
  }
}

TEST_CASE("GICv3: the priority mask and the running priority decide what preempts") {
  Gic g(1);
  g.enable(0, 1, 0x80);
  g.enable(0, 2, 0x40);
  g.enable(0, 5, 0x80);
  g.gic.icc_write(0, Icc::Pmr, 0x80);
  g.gic.icc_write(0, Icc::Sgi1r, (1ull << 24) | 1);
  CHECK_FALSE(g.gic.irq_signalled(0));                // priority 0x80 is not above a mask of 0x80
  g.gic.icc_write(0, Icc::Pmr, 0xF0);
  CHECK(g.gic.icc_read(0, Icc::Iar1) == 1);
  g.gic.icc_write(0, Icc::Sgi1r, (5ull << 24) | 1);
  CHECK_FALSE(g.gic.irq_signalled(0));                // equal priority does not preempt
  CHECK(g.gic.icc_read(0, Icc::Hppir1) == 5);         // but it is the highest pending
  g.gic.icc_write(0, Icc::Sgi1r, (2ull << 24) | 1);
  CHECK(g.gic.irq_signalled(0));                      // higher priority preempts
  CHECK(g.gic.icc_read(0, Icc::Iar1) == 2);
  CHECK(g.gic.icc_read(0, Icc::Rpr) == 0x40);
  CHECK(g.gic.icc_read(0, Icc::Ap1r0) == ((1u << (0x40 >> 3)) | (1u << (0x80 >> 3))));
  g.gic.icc_write(0, Icc::Eoir1, 2);
  CHECK(g.gic.icc_read(0, Icc::Rpr) == 0x80);         // back to the preempted one's priority
  g.gic.icc_write(0, Icc::Eoir1, 1);
  CHECK(g.gic.icc_read(0, Icc::Iar1) == 5);
}

TEST_CASE("GICv3: the binary point groups priorities, so a higher priority in the same group does not preempt") {
  Gic g(1);
  g.gic.icc_write(0, Icc::Bpr1, 6);                   // group priority = bits [7:6]
  g.enable(0, 1, 0x60);
  g.enable(0, 2, 0x48);
  g.gic.icc_write(0, Icc::Sgi1r, (1ull << 24) | 1);
  CHECK(g.gic.icc_read(0, Icc::Iar1) == 1);
  CHECK(g.gic.icc_read(0, Icc::Rpr) == 0x40);         // the group priority of 0x60
  g.gic.icc_write(0, Icc::Sgi1r, (2ull << 24) | 1);
  CHECK_FALSE(g.gic.irq_signalled(0));                // 0x48 is in the same group
  g.gic.icc_write(0, Icc::Eoir1, 1);
  CHECK(g.gic.icc_read(0, Icc::Iar1) == 2);           // taken once the first has ended
}

TEST_CASE("GICv3: ICC_SGI1R_EL1 targets by Aff1 and target list, by range selector, and with IRM to all but the sender") {
  Gic g(20);
  for (unsigned c = 0; c < 20; ++c) g.enable(c, 7, 0x50);
  const auto pending = [&](unsigned c) { return (g.gic.redist_read(rd(c) + kSgi + 0x200, 4) & (1u << 7)) != 0; };
  g.rec.calls.clear();
  g.gic.icc_write(0, Icc::Sgi1r, (7ull << 24) | (1ull << 16) | 0b110);  // Aff1 = 1, Aff0 1 and 2: CPUs 17, 18
  for (unsigned c = 0; c < 20; ++c) CHECK(pending(c) == (c == 17 || c == 18));
  CHECK(g.rec.calls == std::vector<unsigned>{17, 18});
  g.gic.icc_write(17, Icc::Iar1, 0);
  Gic h(20);
  for (unsigned c = 0; c < 20; ++c) h.enable(c, 7, 0x50);
  h.gic.icc_write(3, Icc::Sgi1r, (7ull << 24) | (1ull << 40));  // IRM: everyone but CPU 3
  for (unsigned c = 0; c < 20; ++c) CHECK(((h.gic.redist_read(rd(c) + kSgi + 0x200, 4) >> 7) & 1) == (c != 3));
  CHECK(h.gic.icc_read(5, Icc::Iar1) == 7);
  // RS = 1 names Aff0 16..31: no CPU in cluster 0 has them.
  Gic r(20);
  r.enable(1, 7, 0x50);
  r.gic.icc_write(0, Icc::Sgi1r, (7ull << 24) | (1ull << 44) | 0b10);
  CHECK_FALSE(r.gic.irq_signalled(1));
}

TEST_CASE("GICv3: an SPI goes where GICD_IROUTER names, or with IRM to the lowest CPU with Group 1 enabled") {
  Gic g(18);
  g.enable(0, 50, 0x30);
  g.gic.dist_write(0x6000 + 8 * 50, 8, 0x0101);  // Aff1 1, Aff0 1: CPU 17
  g.gic.set_spi_line(50, true);
  CHECK(g.gic.irq_signalled(17));
  CHECK_FALSE(g.gic.irq_signalled(0));
  g.gic.dist_write(0x6000 + 8 * 50, 8, 0x8000'0000);  // 1 of N
  CHECK(g.gic.irq_signalled(0));
  g.gic.icc_write(0, Icc::Igrpen1, 0);
  CHECK(g.gic.irq_signalled(1));
  g.gic.dist_write(0x6000 + 8 * 50, 8, 0x0105);  // Aff0 5 in cluster 1: no such CPU
  for (unsigned c = 0; c < 18; ++c) CHECK_FALSE(g.gic.irq_signalled(c));
}

TEST_CASE("GICv3: nothing is signalled with GICD_CTLR.EnableGrp1 or ICC_IGRPEN1_EL1 clear, or for Group 0") {
  Gic g(1);
  g.enable(0, 9, 0x20);
  g.gic.icc_write(0, Icc::Sgi1r, (9ull << 24) | 1);
  CHECK(g.gic.irq_signalled(0));
  g.gic.dist_write(0x0, 4, 0x10);
  CHECK_FALSE(g.gic.irq_signalled(0));
  g.gic.dist_write(0x0, 4, 0x12);
  g.gic.icc_write(0, Icc::Igrpen1, 0);
  CHECK_FALSE(g.gic.irq_signalled(0));
  g.gic.icc_write(0, Icc::Igrpen1, 1);
  g.gic.redist_write(kSgi + 0x80, 4, 0);  // every SGI and PPI Group 0
  CHECK_FALSE(g.gic.irq_signalled(0));
  CHECK(g.gic.icc_read(0, Icc::Iar0) == Gicv3::kSpurious);
}

TEST_CASE("GICv3: the state survives save and load, and a corrupt state is refused with the model unchanged") {
  Gic g(2);
  g.enable(1, 27, 0x90);
  g.gic.set_ppi_line(1, 27, true);
  g.gic.icc_write(1, Icc::Ctlr, 2);
  fw::StateWriter out;
  g.gic.save(out);
  Gicv3 copy(2, nullptr);
  fw::StateReader in(out.data());
  copy.load(in);
  CHECK(in.at_end());
  CHECK(copy.irq_signalled(1));
  CHECK(copy.icc_read(1, Icc::Ctlr) == g.gic.icc_read(1, Icc::Ctlr));
  CHECK(copy.icc_read(1, Icc::Iar1) == 27);

  std::vector<std::uint8_t> bad = out.data();
  bad[4 + 4 + 1] = 0x07;  // CPU 0's SGI 0 priority with unimplemented bits
  Gicv3 other(2, nullptr);
  fw::StateReader corrupt(bad);
  CHECK_THROWS_AS(other.load(corrupt), fw::StateError);
  CHECK(other.icc_read(0, Icc::Sre) == 0x7);
  Gicv3 three(3, nullptr);
  fw::StateReader wrong(out.data());
  CHECK_THROWS_AS(three.load(wrong), fw::StateError);
}

}  // namespace emu::core
