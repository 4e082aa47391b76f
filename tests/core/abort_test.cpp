// MMU aborts delivered to the guest, as raw instruction words (Arm ARM D8.5, D17.2.40
// ESR_EL1): the guest builds nothing, the test places 4K-granule page tables in the image.
#include <doctest/doctest.h>

#include "tests/core/program.h"

using namespace emu;
using namespace emu::test;
using core::ExitKind;

namespace {

constexpr std::uint64_t kVectors = kBase + 0x800;
constexpr std::uint64_t kL1 = kBase + 0x1000;  // TTBR0_EL1: T0SZ = 25, lookup starts at level 1
constexpr std::uint64_t kL2 = kBase + 0x2000;  // for VA 0x4000_0000..0x7FFF_FFFF
constexpr std::uint64_t kHole = 0x4020'0000;   // L2 entry 1 is invalid: level 2 translation fault

// Words checked against GNU as (aarch64-linux-gnu-as 2.40) in the comments.
constexpr std::uint32_t kMrsSctlr = 0xD538'1001u;  // mrs x1, sctlr_el1
constexpr std::uint32_t kOrr1 = 0xB240'0021u;      // orr x1, x1, #0x1
constexpr std::uint32_t kMsrSctlr = 0xD518'1001u;  // msr sctlr_el1, x1
constexpr std::uint32_t kMsrTcr = 0xD518'2041u;    // msr tcr_el1, x1
constexpr std::uint32_t kMsrTtbr0 = 0xD518'2001u;  // msr ttbr0_el1, x1
constexpr std::uint32_t kMsrMair = 0xD518'A201u;   // msr mair_el1, x1
constexpr std::uint32_t kMrsFar = 0xD538'600Cu;    // mrs x12, far_el1
constexpr std::uint32_t kLdrX3 = 0xF940'0043u;     // ldr x3, [x2]
constexpr std::uint32_t kStrX3 = 0xF900'0043u;     // str x3, [x2]

// TCR_EL1: T0SZ 25 (39-bit VAs), inner/outer write-back, inner shareable, 4K, EPD1.
constexpr std::uint64_t kTcr = 25 | (1u << 8) | (1u << 10) | (3u << 12) | (1u << 23);
// A 2 MiB block at RAM's start, read-only at EL1 and EL0 (AP 0b11), AF set, MAIR index 0.
constexpr std::uint64_t kRoBlock = 0x4000'0000 | 0x1 | 0xC0 | 0x300 | 0x400;

Words set(std::uint64_t v, std::uint32_t msr) {
  return join({imm64(1, v), {msr}});
}

// VBAR_EL1, the tables, then the MMU on (uses x1, x20).
Words mmu_on() {
  return join({imm64(20, kVectors),
               {a64::msr(a64::kVbarEl1, 20)},
               set(0xFF, kMsrMair),
               set(kTcr, kMsrTcr),
               set(kL1, kMsrTtbr0),
               {a64::kIsb, kMrsSctlr, kOrr1, kMsrSctlr, a64::kIsb}});
}

// ESR, ELR, FAR, SPSR in x10, x11, x12, x13, then wait.
const Words kRecord = {a64::mrs(10, a64::kEsrEl1), a64::mrs(11, a64::kElrEl1), kMrsFar, a64::mrs(13, a64::kSpsrEl1),
                       a64::kWfi};

Program with_tables(Program p, bool alias = false) {
  p.at(0x1000 + 8, {static_cast<std::uint32_t>(kL2 | 3), 0});     // L1[1]: table
  p.at(0x2000, {static_cast<std::uint32_t>(kRoBlock), 0, 0, 0});  // L2[0]: block; L2[1]: invalid
  // With `alias`, L2[2] maps VA 0x4040_0000 to the same RAM as L2[0]: VA != PA.
  if (alias) p.at(0x2000 + 16, {static_cast<std::uint32_t>(kRoBlock), 0});
  return p;
}
constexpr std::uint64_t kAlias = 0x40'0000;  // VA = PA + kAlias in the alias block

}  // namespace

TEST_CASE("MMU abort: a load at EL0 from an unmapped VA goes to VBAR+0x400 with EC 0x24 and the exact FAR") {
  const std::uint64_t el0_code = kBase + 0x100;
  Program p;
  p.at(0, join({mmu_on(),
                imm64(21, el0_code),
                imm64(22, 0),
                {a64::msr(a64::kElrEl1, 21), a64::msr(a64::kSpsrEl1, 22), a64::kEret}}));
  p.at(0x100, join({imm64(2, kHole + 0x128), {kLdrX3, a64::kUdf0}}));
  p.at(0x800 + 0x400, kRecord);
  TestMachine m(with_tables(p));
  const core::RunExit e = m.run();
  INFO(e.summary << "\n" << e.report);
  CHECK(e.kind == ExitKind::Deadlock);
  CHECK(m.x(10) == 0x9200'0006u);   // EC 0x24, IL, DFSC translation fault level 2
  CHECK(m.x(11) == el0_code + 16);  // ELR: the load
  CHECK(m.x(12) == kHole + 0x128);
  CHECK(m.x(13) == 0);  // SPSR: EL0t
  CHECK(m.x(3) == 0);   // the load did not happen
}

TEST_CASE("MMU abort: a store at EL1 to a read-only block is a permission fault with WnR at VBAR+0x200") {
  Program p;
  p.at(0, join({mmu_on(), imm64(2, kBase + 0x3008), {kStrX3, a64::kUdf0}}));
  p.at(0x800 + 0x200, kRecord);
  TestMachine m(with_tables(p));
  const core::RunExit e = m.run();
  INFO(e.summary << "\n" << e.report);
  CHECK(e.kind == ExitKind::Deadlock);
  CHECK(m.x(10) == 0x9600'004Eu);  // EC 0x25, WnR, DFSC permission fault level 2
  CHECK(m.x(11) == kBase + 4 * (static_cast<std::uint64_t>(mmu_on().size()) + 4));
  CHECK(m.x(12) == kBase + 0x3008);
  CHECK(m.x(13) == 0x3C5);
}

TEST_CASE("A fetch from a physical address with nothing there is an instruction abort, IFSC 0x10, FAR = PC") {
  Program p;
  p.at(0, join({imm64(20, kVectors), {a64::msr(a64::kVbarEl1, 20)}, imm64(1, 0x1000'0000), {a64::br(1)}}));
  p.at(0x800 + 0x200, kRecord);
  TestMachine m(p);
  const core::RunExit e = m.run();
  INFO(e.summary << "\n" << e.report);
  CHECK(e.kind == ExitKind::Deadlock);
  CHECK(m.x(10) == 0x8600'0010u);  // EC 0x21 (same EL), IL, IFSC synchronous external abort
  CHECK(m.x(11) == 0x1000'0000u);
  CHECK(m.x(12) == 0x1000'0000u);
}

TEST_CASE("A data access to a physical address with nothing there stays a guest fault that names itself") {
  TestMachine m(Program().at(0, join({imm64(2, 0x1000'0000), {kLdrX3, a64::kUdf0}})));
  const core::RunExit e = m.run();
  CHECK(e.kind == ExitKind::GuestFault);
  CHECK(e.summary.find("data external abort") != std::string::npos);
  CHECK(e.summary.find("cannot be delivered") != std::string::npos);
}

TEST_CASE("With the MMU on and VA != PA, the HVC immediate and semihosting pointers are translated") {
  // Code at +0x300 runs through the alias: HVC #1 must be seen as #1 (NOT_SUPPORTED), not as
  // #0 read from the physical address equal to the VA; SYS_WRITE0's string is at an alias VA.
  Program p;
  p.at(0, join({mmu_on(), imm64(1, kBase + kAlias + 0x300), {a64::br(1)}}));
  p.at(0x300, join({imm64(0, 0x8000'0000),
                    {a64::hvc(1), a64::mov(9, 0)},  // SMCCC_VERSION over HVC #1
                    imm64(1, kBase + kAlias + 0x400),
                    {a64::movz(0, 0x04), a64::hlt(0xF000), a64::kWfi}}));
  p.at(0x400, {0x0021'6968u});  // "hi!"
  p.at(0x800 + 0x200, kRecord);
  TestMachine m(with_tables(p, true));
  const core::RunExit e = m.run();
  INFO(e.summary << "\n" << e.report);
  CHECK(e.kind == ExitKind::Deadlock);
  CHECK(m.x(9) == ~std::uint64_t{0});  // NOT_SUPPORTED: the immediate was read as 1
  CHECK(m.console == "hi!");
  CHECK(m.reg(core::Reg::Pc) >= kBase + kAlias + 0x300);  // still running from the alias
}
