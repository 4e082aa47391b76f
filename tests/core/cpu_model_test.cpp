// The CPU model a guest sees (README "CPU model"): features hidden in the ID registers are
// UNDEFINED or RAZ/WI for the guest and never reach Unicorn paths that crash the host
// process; PAuth works at EL1; RNDR draws from the machine's entropy source; counters read
// exactly at the instruction. Raw instruction words (encodings from GNU as in the comments).
#include <doctest/doctest.h>

#include "tests/core/program.h"

using namespace emu;
using namespace emu::test;
using core::ExitKind;

namespace {

constexpr std::uint64_t kVectors = kBase + 0x800;
constexpr std::uint32_t kIsb = a64::kIsb;

// VBAR_EL1 = kVectors (uses x20).
Words install_vectors() {
  return join({imm64(20, kVectors), {a64::msr(a64::kVbarEl1, 20)}});
}

// Synchronous handler at EL1h: x10 = ESR, x28 += 1, skip the instruction, ERET. The run goes on.
const Words kCountAndSkip = {a64::mrs(10, a64::kEsrEl1), a64::add(28, 28, 1),        a64::mrs(11, a64::kElrEl1),
                             a64::add(11, 11, 4),        a64::msr(a64::kElrEl1, 11), a64::kEret};

Program with_handler(const Words& body) {
  Program p;
  p.at(0, join({install_vectors(), body}));
  p.at(0x800 + 0x200, kCountAndSkip);
  return p;
}

std::uint64_t field(std::uint64_t v, unsigned shift) {
  return (v >> shift) & 0xF;
}

}  // namespace

TEST_CASE(
    "CPU model: the ID registers report the GICv3 system registers, no SVE, SME or MTE, two breakpoints and two "
    "watchpoints") {
  TestMachine m(Program().at(0, {0xD538'0401u /* mrs x1, id_aa64pfr0_el1 */, 0xD538'0482u /* mrs x2, id_aa64zfr0_el1 */,
                                 0xD538'0503u /* mrs x3, id_aa64dfr0_el1 */, 0xD538'0424u /* mrs x4, id_aa64pfr1_el1 */,
                                 0xD538'0605u /* mrs x5, id_aa64isar0_el1 */, a64::kWfi}));
  CHECK(m.run().kind == ExitKind::Deadlock);
  CHECK(field(m.x(1), 32) == 0);  // SVE
  CHECK(field(m.x(1), 24) == 1);  // GIC system registers: GICv3 CPU interface (D19.2.64)
  CHECK(field(m.x(1), 0) != 0);   // EL0 still AArch64: the register is the model's, not zero
  CHECK(m.x(2) == 0);             // ID_AA64ZFR0_EL1
  CHECK(field(m.x(3), 12) == 1);  // BRPs: 2 breakpoints
  CHECK(field(m.x(3), 20) == 1);  // WRPs: 2 watchpoints
  CHECK(field(m.x(3), 28) == 0);  // CTX_CMPs: 1 context-aware breakpoint
  CHECK(field(m.x(3), 8) != 0);   // PMUVer: the PMU is still there
  CHECK(field(m.x(4), 24) == 0);  // SME
  CHECK(field(m.x(4), 8) == 0);   // MTE
  CHECK(field(m.x(5), 60) == 1);  // RNDR: served from the entropy source
}

TEST_CASE("CPU model: SVE, SME and MTE registers and SVE instructions are UNDEFINED (EC 0) and the run goes on") {
  TestMachine m(with_handler(
      {0xD518'1200u /* msr zcr_el1, x0 */, 0xD53D'1200u /* mrs x0, zcr_el12 */, 0x04BF'5020u /* rdvl x0, #1 */,
       0xD538'12C0u /* mrs x0, smcr_el1 */, 0xD538'10C0u /* mrs x0, gcr_el1 */,
       // CPACR_EL1.ZEN = 0b11, as kvm-unit-tests' start code does; then SVE again
       0xD2A0'0600u /* mov x0, #0x300000 */, 0xD518'1040u /* msr cpacr_el1, x0 */, kIsb, 0x04BF'5020u /* rdvl x0, #1 */,
       0xD518'1200u /* msr zcr_el1, x0 */, a64::movz(9, 1), a64::kWfi}));
  CHECK(m.run().kind == ExitKind::Deadlock);
  CHECK(m.x(28) == 7);
  CHECK(m.x(10) == 0x0200'0000u);  // EC 0 (unknown reason), IL 1
  CHECK(m.x(9) == 1);
}

TEST_CASE("CPU model: a hardware breakpoint the guest arms is inert (it crashed the host process), RAZ/WI") {
  // DBGBVR0 = target, DBGBCR0 = E | PMC EL1+EL0 | BAS, OS lock off, MDSCR.MDE|KDE, PSTATE.D
  // clear, then branch to the target. On Unicorn 2.1.1 the DBGBCR write alone was a SIGSEGV.
  TestMachine m(with_handler(
      {0x1000'01A1u /* adr x1, target (+13 words) */, 0xD510'0081u /* msr dbgbvr0_el1, x1 */,
       0xD280'3CE2u /* mov x2, #0x1e7 */, 0xD510'00A2u /* msr dbgbcr0_el1, x2 */, 0xD510'109Fu /* msr oslar_el1, xzr */,
       0xD294'0003u /* mov x3, #0xa000 */, 0xD510'0243u /* msr mdscr_el1, x3 */, kIsb,
       0xD503'48FFu /* msr daifclr, #8 */, kIsb, a64::b(3), a64::kNop, a64::kNop,
       // target:
       0xD530'00A3u /* mrs x3, dbgbcr0_el1 */, 0xD510'01E2u /* msr dbgwcr1_el1, x2 */,
       0xD530'01E4u /* mrs x4, dbgwcr1_el1 */, 0xD530'0086u /* mrs x6, dbgbvr0_el1 */, a64::movz(5, 1), a64::kWfi}));
  CHECK(m.run().kind == ExitKind::Deadlock);
  CHECK(m.x(5) == 1);
  CHECK(m.x(3) == 0);
  CHECK(m.x(4) == 0);
  CHECK(m.x(6) == 0);
  CHECK(m.x(28) == 0);  // no exception: no breakpoint fired, no register was UNDEFINED
}

TEST_CASE("CPU model: MDSCR_EL1.SS is ignored, so software step never delivers a bogus exception") {
  // MDSCR = KDE | SS, OS lock off, then ERET to EL1h with SPSR.SS = 1 and D clear. Unicorn
  // would report the step as an undefined instruction at the next PC.
  TestMachine m(with_handler({0xD510'109Fu /* msr oslar_el1, xzr */, 0xD284'0023u /* mov x3, #0x2001 */,
                              0xD510'0243u /* msr mdscr_el1, x3 */, 0xD530'0244u /* mrs x4, mdscr_el1 */, kIsb,
                              0x1000'00C1u /* adr x1, target (+6 words) */, 0xD518'4021u /* msr elr_el1, x1 */,
                              0xD280'00A2u /* mov x2, #0x5 */, 0xF2A0'0402u /* movk x2, #0x20, lsl #16 */,
                              0xD518'4002u /* msr spsr_el1, x2 */, a64::kEret,
                              // target:
                              a64::movz(5, 1), a64::movz(6, 2), a64::movz(7, 3), a64::kWfi}));
  CHECK(m.run().kind == ExitKind::Deadlock);
  CHECK(m.x(4) == 0x2000);  // KDE kept, SS reads 0
  CHECK(m.x(7) == 3);
  CHECK(m.x(28) == 0);
}

// Arm ARM D19.2.62 ID_AA64ISAR1_EL1: APA [7:4] / API [11:8] say which address-authentication
// algorithm exists, GPA [27:24] / GPI [31:28] the generic one; all 0 = no FEAT_PAuth.
TEST_CASE("CPU model: ID_AA64ISAR1_EL1 offers PAuth (QARMA5) by default and no PAuth with pauth off") {
  const Program p = Program().at(0, {0xD538'0621u /* mrs x1, id_aa64isar1_el1 */, a64::kWfi});
  TestMachine on(p);
  CHECK(on.run().kind == ExitKind::Deadlock);
  CHECK(field(on.x(1), 4) != 0);   // APA: the architected algorithm
  CHECK(field(on.x(1), 24) != 0);  // GPA
  core::MachineConfig off_config;
  off_config.pauth = false;
  TestMachine off(p, off_config);
  CHECK(off.run().kind == ExitKind::Deadlock);
  CHECK(field(off.x(1), 4) == 0);
  CHECK(field(off.x(1), 8) == 0);
  CHECK(field(off.x(1), 24) == 0);
  CHECK(field(off.x(1), 28) == 0);
  CHECK((off.x(1) & ~0xFF00'0FF0ull) == (on.x(1) & ~0xFF00'0FF0ull));  // the other features stay
  CHECK(off.x(1) != 0);
}

TEST_CASE("CPU model: PACIA/AUTIA round trip at EL1, and the key registers no longer UNDEF") {
  TestMachine m(with_handler(
      {a64::movz(2, 0x12), 0xD518'2102u /* msr apiakeylo_el1, x2 */, 0xD518'2122u /* msr apiakeyhi_el1, x2 */,
       a64::movz(9, 16), 0xD518'2049u /* msr tcr_el1, x9 (T0SZ = 16) */, 0xD538'1009u /* mrs x9, sctlr_el1 */,
       0xB261'0129u /* orr x9, x9, #0x80000000 (EnIA) */, 0xD518'1009u /* msr sctlr_el1, x9 */, kIsb,
       a64::movz(0, 0x4000, 1), a64::movz(1, 3), 0xDAC1'0020u /* pacia x0, x1 */, a64::mov(4, 0),
       0xDAC1'1020u /* autia x0, x1 */, a64::mov(6, 4), 0xDAC1'1046u /* autia x6, x2 (wrong modifier) */, a64::kWfi}));
  CHECK(m.run().kind == ExitKind::Deadlock);
  CHECK(m.x(28) == 0);            // no UNDEFINED key write or PAC instruction
  CHECK(m.x(4) != 0x4000'0000u);  // a PAC was inserted
  CHECK((m.x(4) & 0xFFFF'FFFFu) == 0x4000'0000u);
  CHECK(m.x(0) == 0x4000'0000u);  // and authenticated away
  CHECK(m.x(6) != 0x4000'0000u);  // a wrong modifier fails authentication
}

namespace {
// x20 = 0, CMP sets Z; RNDR into x0 and CSET x1, NE (1 if the hook cleared Z); RNDRRS into x2.
const Words kRndr = {a64::movz(20, 0),
                     a64::cmp(20, 0),
                     0xD53B'2400u /* mrs x0, rndr */,
                     0x9A9F'07E1u /* cset x1, ne */,
                     0xD53B'2422u /* mrs x2, rndrrs */,
                     a64::kWfi};
core::MachineConfig seeded(std::uint64_t seed) {
  core::MachineConfig c;
  c.seed = seed;
  return c;
}
}  // namespace

TEST_CASE("CPU model: RNDR/RNDRRS come from the seeded entropy source with NZCV = 0, the same on every run") {
  TestMachine a(Program().at(0, kRndr), seeded(7));
  TestMachine b(Program().at(0, kRndr), seeded(7));
  TestMachine c(Program().at(0, kRndr), seeded(8));
  CHECK(a.run().kind == ExitKind::Deadlock);
  CHECK(b.run().kind == ExitKind::Deadlock);
  CHECK(c.run().kind == ExitKind::Deadlock);
  CHECK(a.x(1) == 1);  // success: Z cleared (NZCV = 0b0000)
  CHECK(a.x(0) == b.x(0));
  CHECK(a.x(2) == b.x(2));
  CHECK(a.x(0) != a.x(2));
  CHECK(a.x(0) != c.x(0));
}

namespace {
// `mrs x1, <r>`, 64 NOPs, `mrs x2, <r>`, WFI: one translated block. A read counts every
// instruction before it, so the two reads are 65 instructions apart (the first read and the
// 64 NOPs).
Program two_reads(a64::Sys r) {
  Words w{a64::mrs(1, r)};
  for (int i = 0; i < 64; ++i) w.push_back(a64::kNop);
  w.push_back(a64::mrs(2, r));
  w.push_back(a64::kWfi);
  return Program().at(0, w);
}
}  // namespace

TEST_CASE("Exact counter: two CNTVCT_EL0 reads in one block differ by the instructions between them") {
  core::MachineConfig config;
  config.cost.instruction_ns = 16;  // one counter tick per instruction
  TestMachine m(two_reads(a64::kCntvctEl0), config);
  CHECK(m.run().kind == ExitKind::Deadlock);
  CHECK(m.x(2) - m.x(1) == 65);
  CHECK(m.machine->stats(0).instructions == 67);  // the slice's accounting is not double counted
  CHECK(m.machine->stats(0).virtual_ns == 67 * 16);
}

TEST_CASE("Exact counter: two PMCCNTR_EL0 reads in one block differ by 65 cycles at 1 ns per instruction") {
  TestMachine m(two_reads(a64::kPmccntrEl0));
  CHECK(m.run().kind == ExitKind::Deadlock);
  CHECK(m.x(2) - m.x(1) == 65);
  CHECK(m.x(1) == 0);  // nothing ran before the first read
}

TEST_CASE("Exact counter: CNTVCT, TVAL and a TVAL write in one block see each instruction") {
  core::MachineConfig config;
  config.cost.instruction_ns = 16;
  // x5 = CNTVCT at instruction 1; TVAL = 1000 written at instruction 3 sets CVAL = counter + 1000
  // there; x4 = CVAL; x6 = TVAL read at instruction 5: 1000 - 2.
  TestMachine m(
      Program().at(0, {a64::kNop, a64::mrs(5, a64::kCntvctEl0), a64::movz(3, 1000), a64::msr(a64::kCntvTvalEl0, 3),
                       a64::mrs(4, a64::kCntvCvalEl0), a64::mrs(6, a64::kCntvTvalEl0), a64::kWfi}),
      config);
  CHECK(m.run().kind == ExitKind::Deadlock);
  CHECK(m.x(5) == 1);
  CHECK(m.x(4) == 3 + 1000);
  CHECK(m.x(6) == 1000 - 2);
}
