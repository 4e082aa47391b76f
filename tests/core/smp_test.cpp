// Several vCPUs, the scheduler and virtual time (docs/architecture.md, "Virtual time and
// determinism"), as raw instruction words through the Machine API.
#include <doctest/doctest.h>

#include "tests/core/program.h"

using namespace emu;
using namespace emu::test;
using core::ExitKind;
using core::Reg;

namespace {

constexpr std::uint64_t kCpuOn64 = 0xC400'0003;
constexpr std::uint64_t kCpuOff = 0x8400'0002;
constexpr std::uint64_t kCpuSuspend64 = 0xC400'0001;
constexpr std::uint64_t kSystemOff = 0x8400'0008;

// CPU_ON(target, entry, context) over HVC (uses x0..x3).
Words cpu_on(unsigned target, std::uint64_t entry, std::uint64_t context) {
  return join({imm64(0, kCpuOn64), imm64(1, target), imm64(2, entry), imm64(3, context), {a64::hvc(0)}});
}
Words psci(std::uint64_t fid) {
  return join({imm64(0, fid), {a64::hvc(0)}});
}

core::MachineConfig cpus(unsigned n, std::uint64_t limit = 0) {
  core::MachineConfig c;
  c.cpus = n;
  c.max_instructions = limit;
  return c;
}

}  // namespace

TEST_CASE("CPU_ON: the target starts at the entry with x0 = context and its own MPIDR") {
  Program p;
  p.at(0, join({cpu_on(1, kBase + 0x200, 0x55), {a64::mov(9, 0), a64::kWfi}}));
  p.at(0x200, join({{a64::mov(9, 0), a64::mrs(5, a64::kMpidrEl1)}, psci(kSystemOff)}));
  TestMachine m(p, cpus(2));
  CHECK(m.run().kind == ExitKind::SystemOff);
  CHECK(m.x(9) == 0);  // the caller got SUCCESS
  CHECK(m.machine->reg(1, core::xreg(9)) == 0x55);
  CHECK(m.machine->reg(1, core::xreg(5)) == 0x8000'0001u);
}

TEST_CASE("CPU_ON: a target that has not run yet already holds its entry PC and context") {
  Program p;
  p.at(0, join({cpu_on(1, kBase + 0x200, 0x66), {a64::kWfi}}));
  p.at(0x200, {a64::kWfi});
  core::MachineConfig config = cpus(2);
  config.quantum = 1'000'000;  // vCPU 0 reaches its WFI before vCPU 1 gets a turn
  TestMachine m(p, config);
  config.max_instructions = 0;
  CHECK(m.run().kind == ExitKind::Deadlock);
  CHECK(m.machine->reg(1, Reg::Pc) == kBase + 0x200 + 4);  // it ran, up to its WFI
  TestMachine fresh(p, cpus(2, 17));                       // stop after vCPU 0's CPU_ON, before vCPU 1 runs
  CHECK(fresh.run().kind == ExitKind::InstructionLimit);
  CHECK(fresh.machine->reg(1, Reg::Pc) == kBase + 0x200);
  CHECK(fresh.machine->reg(1, core::xreg(0)) == 0x66);
  CHECK(fresh.machine->reg(1, Reg::Pstate) == 0x3C5);
}

TEST_CASE("Deadlock: when every vCPU is off the run ends with Deadlock") {
  TestMachine m(Program().at(0, psci(kCpuOff)), cpus(2));
  const auto e = m.run();
  CHECK(e.kind == ExitKind::Deadlock);
  CHECK(e.summary.find("every vCPU is off") != std::string::npos);
}

TEST_CASE("WFI idles one vCPU while the others run on") {
  Program p;
  p.at(0, join({cpu_on(1, kBase + 0x200, 0), {a64::kWfi}}));
  p.at(0x200, join({imm64(19, 50'000), {a64::subs(19, 19, 1), a64::b_cond(a64::kNe, -1)}, psci(kSystemOff)}));
  TestMachine m(p, cpus(2));
  CHECK(m.run().kind == ExitKind::SystemOff);
  CHECK(m.machine->stats(1).instructions > 100'000);
}

TEST_CASE("CPU_SUSPEND standby returns SUCCESS after 10 us of virtual time") {
  TestMachine m(Program().at(0, join({imm64(1, 0),
                                      {a64::mrs(20, a64::kPmccntrEl0)},
                                      imm64(0, kCpuSuspend64),
                                      {a64::hvc(0), a64::mrs(21, a64::kPmccntrEl0), a64::kWfi}})));
  CHECK(m.run().kind == ExitKind::Deadlock);
  CHECK(m.x(0) == 0);
  CHECK(m.x(21) - m.x(20) >= 10'000);
  CHECK(m.x(21) - m.x(20) < 11'000);
}

TEST_CASE("CPU_SUSPEND power-down resumes at the entry point with x0 = context") {
  Program p;
  p.at(0, join({imm64(1, 0x10000),
                imm64(2, kBase + 0x200),
                imm64(3, 0x77),
                imm64(0, kCpuSuspend64),
                {a64::hvc(0), a64::kUdf0}}));
  p.at(0x200, {a64::mov(9, 0), a64::kWfi});
  TestMachine m(p);
  CHECK(m.run().kind == ExitKind::Deadlock);
  CHECK(m.x(9) == 0x77);
  CHECK(m.machine->stats(0).virtual_ns >= 10'000);
}

TEST_CASE("Generic counter: CNTFRQ is 62.5 MHz and CNTVCT advances one tick per 16 instructions") {
  // x1 = CNTVCT; 160000 iterations of a 2-instruction loop; x2 = CNTVCT; x3 = CNTFRQ.
  TestMachine m(Program().at(0, join({imm64(19, 160'000),
                                      {a64::mrs(1, a64::kCntvctEl0)},
                                      {a64::subs(19, 19, 1), a64::b_cond(a64::kNe, -1)},
                                      {a64::mrs(2, a64::kCntvctEl0), a64::mrs(3, a64::kCntfrqEl0), a64::kWfi}})));
  CHECK(m.run().kind == ExitKind::Deadlock);
  CHECK(m.x(3) == 62'500'000);
  const std::uint64_t ticks = m.x(2) - m.x(1);
  CHECK(ticks >= 320'000 / 16);
  CHECK(ticks <= 320'000 / 16 + 2);  // time is counted per block: the reads' blocks add a few ns
}

TEST_CASE("Virtual time is the same on every run: identical registers, clocks and counts") {
  Program p;
  p.at(0, join({cpu_on(1, kBase + 0x200, 0),
                imm64(19, 30'000),
                {a64::subs(19, 19, 1), a64::b_cond(a64::kNe, -1)},
                {a64::mrs(7, a64::kCntvctEl0), a64::kWfi}}));
  p.at(0x200, join({imm64(19, 20'000),
                    {a64::subs(19, 19, 1), a64::b_cond(a64::kNe, -1)},
                    {a64::mrs(7, a64::kCntvctEl0), a64::kWfi}}));
  TestMachine a(p, cpus(2));
  TestMachine b(p, cpus(2));
  CHECK(a.run().kind == ExitKind::Deadlock);
  CHECK(b.run().kind == ExitKind::Deadlock);
  for (unsigned i = 0; i < 2; ++i) {
    CHECK(a.machine->stats(i).virtual_ns == b.machine->stats(i).virtual_ns);
    CHECK(a.machine->stats(i).instructions == b.machine->stats(i).instructions);
    CHECK(a.machine->reg(i, core::xreg(7)) == b.machine->reg(i, core::xreg(7)));
  }
  CHECK(a.trace.lines == b.trace.lines);
}

namespace {
// Two vCPUs spinning for about `iterations` * 2 instructions each.
Program two_spinners(std::uint64_t iterations) {
  Program p;
  p.at(0, join({cpu_on(1, kBase + 0x200, 0),
                imm64(19, iterations),
                {a64::subs(19, 19, 1), a64::b_cond(a64::kNe, -1)},
                {a64::kWfi}}));
  p.at(0x200, join({imm64(19, iterations), {a64::subs(19, 19, 1), a64::b_cond(a64::kNe, -1)}, {a64::kWfi}}));
  return p;
}
}  // namespace

TEST_CASE("Stolen time: two vCPUs on one modelled physical CPU each lose about half of the time") {
  core::MachineConfig config = cpus(2);
  config.pcpus = 1;
  TestMachine m(two_spinners(500'000), config);
  CHECK(m.run().kind == ExitKind::Deadlock);
  for (unsigned i = 0; i < 2; ++i) {
    const auto& s = m.machine->stats(i);
    CAPTURE(i);
    CAPTURE(s.stolen_ns);
    CAPTURE(s.virtual_ns);
    // Each runs ~1e6 ns of its own work and waits while the other runs: stolen ~ work.
    CHECK(s.stolen_ns > 900'000);
    CHECK(s.stolen_ns < 1'100'000);
  }
}

TEST_CASE("Stolen time: with a physical CPU per vCPU nothing is stolen") {
  core::MachineConfig config = cpus(2);
  config.pcpus = 2;
  TestMachine m(two_spinners(500'000), config);
  CHECK(m.run().kind == ExitKind::Deadlock);
  CHECK(m.machine->stats(0).stolen_ns == 0);
  CHECK(m.machine->stats(1).stolen_ns == 0);
}

namespace {
// vCPU 0 starts vCPU 1, waits until it has called the function at kBase + 0x400 100 times,
// rewrites the function's first instruction to "movz x7, #2", then runs `maintenance` (with
// x2 = the function, x5 = the function + 0x100) between DSBs and spins. vCPU 1 calls the
// function and counts until it returns x7 == 2, then SYSTEM_OFF.
Program rewriting_program(std::uint32_t maintenance) {
  const std::uint64_t counter = kBase + 0x600;
  const std::uint64_t function = kBase + 0x400;
  Program p;
  p.at(0, join({cpu_on(1, kBase + 0x200, 0),
                imm64(1, counter),
                {a64::ldr(4, 1), a64::cmp(4, 100), a64::b_cond(a64::kLo, -2)},
                imm64(2, function),
                imm64(3, a64::movz(7, 2)),
                imm64(5, function + 0x100),
                {a64::str_w(3, 2), a64::kDsbIsh, maintenance, a64::kDsbIsh, a64::kIsb, a64::b(0)}}));
  p.at(0x200, join({imm64(1, counter),
                    {a64::bl((0x400 - 0x210) / 4), a64::ldr(4, 1), a64::add(4, 4, 1), a64::str(4, 1), a64::cmp(7, 2),
                     a64::b_cond(a64::kNe, -5)},
                    psci(kSystemOff)}));
  p.at(0x400, {a64::movz(7, 1), a64::kRet});
  p.at(0x600, {0, 0});
  return p;
}
constexpr std::uint32_t kIcIvauX2 = 0xD50B'7522u;  // ic ivau, x2
constexpr std::uint32_t kIcIvauX5 = 0xD50B'7525u;  // ic ivau, x5
}  // namespace

TEST_CASE("Code coherence: after IC IALLUIS another vCPU runs the rewritten code, not stale code") {
  TestMachine m(rewriting_program(a64::kIcIalluis), cpus(2, 5'000'000));
  CHECK(m.run().kind == ExitKind::SystemOff);
}

TEST_CASE("Code coherence: IC IALLUIS reaches the very first block another vCPU translated") {
  // vCPU 1's entry block is its loop: the first code its engine ever translates. vCPU 0
  // rewrites that block's first word once vCPU 1 has looped 100 times, then IC IALLUIS.
  const std::uint64_t counter = kBase + 0x600;
  Program p;
  p.at(0, join({cpu_on(1, kBase + 0x200, 0),
                imm64(1, counter),
                {a64::ldr(4, 1), a64::cmp(4, 100), a64::b_cond(a64::kLo, -2)},
                imm64(2, kBase + 0x200),
                imm64(3, a64::movz(7, 2)),
                {a64::str_w(3, 2), a64::kDsbIsh, a64::kIcIalluis, a64::kDsbIsh, a64::kIsb, a64::b(0)}}));
  p.at(0x200, join({{a64::movz(7, 1)},
                    imm64(1, counter),
                    {a64::ldr(4, 1), a64::add(4, 4, 1), a64::str(4, 1), a64::cmp(7, 2), a64::b_cond(a64::kNe, -9)},
                    psci(kSystemOff)}));
  p.at(0x600, {0, 0});
  TestMachine m(p, cpus(2, 5'000'000));
  CHECK(m.run().kind == ExitKind::SystemOff);
}

TEST_CASE("Code coherence: IC IVAU of the rewritten line makes another vCPU run the new code") {
  TestMachine m(rewriting_program(kIcIvauX2), cpus(2, 5'000'000));
  CHECK(m.run().kind == ExitKind::SystemOff);
}

TEST_CASE("Code coherence: IC IVAU of another line leaves the stale code in place (the range is honoured)") {
  // The line 0x100 bytes away: vCPU 1 keeps running its translation of the old function, so
  // it never sees x7 == 2 and the limit ends the run.
  TestMachine m(rewriting_program(kIcIvauX5), cpus(2, 200'000));
  CHECK(m.run().kind == ExitKind::InstructionLimit);
}

namespace {
// The MMU on with one 1 GiB identity block over RAM (4 KiB granule, T0SZ = 25: the walk starts
// at level 1; Arm ARM D8.3): tables at kBase + 0x3000, built by page_tables(). Uses x10.
constexpr std::uint64_t kTables = kBase + 0x3000;
Words enable_mmu() {
  constexpr std::uint64_t kTcr = 25 | (1u << 8) | (1u << 10) | (3u << 12) | (1u << 23);  // EPD1
  return join({imm64(10, kTables),
               {0xD518'200Au /* msr ttbr0_el1, x10 */},
               imm64(10, 0xFF),
               {0xD518'A20Au /* msr mair_el1, x10 */},
               imm64(10, kTcr),
               {0xD518'204Au /* msr tcr_el1, x10 */, a64::kIsb, 0xD538'100Au /* mrs x10, sctlr_el1 */,
                0xB240'014Au /* orr x10, x10, #1 */, 0xD518'100Au /* msr sctlr_el1, x10 */, a64::kIsb}});
}
// Level-1 entry 1: block at 0x4000_0000, AF, inner shareable, MAIR attribute 0.
void page_tables(Program& p) {
  p.at(0x3000, {0, 0, 0x4000'0701u, 0});
}
}  // namespace

TEST_CASE("Code coherence with the MMU on: IC IALLUIS and IC IVAU through the guest's page tables") {
  // Both vCPUs run with the MMU on, so the translated pages and the IC IVAU address go
  // through address translation (AT), not the identity of MMU-off.
  const std::uint64_t counter = kBase + 0x600;
  const std::uint64_t function = kBase + 0x400;
  for (const std::uint32_t ic : {a64::kIcIalluis, 0xD50B'7522u /* ic ivau, x2 */}) {
    CAPTURE(ic);
    Program p;
    p.at(0, join({enable_mmu(),
                  cpu_on(1, kBase + 0x200, 0),
                  imm64(1, counter),
                  {a64::ldr(4, 1), a64::cmp(4, 100), a64::b_cond(a64::kLo, -2)},
                  imm64(2, function),
                  imm64(3, a64::movz(7, 2)),
                  {a64::str_w(3, 2), a64::kDsbIsh, ic, a64::kDsbIsh, a64::kIsb, a64::b(0)}}));
    const Words body = join(
        {imm64(1, counter),
         {a64::bl(0), a64::ldr(4, 1), a64::add(4, 4, 1), a64::str(4, 1), a64::cmp(7, 2), a64::b_cond(a64::kNe, -5)},
         psci(kSystemOff)});
    Words second = join({enable_mmu(), body});
    const std::size_t bl_at = enable_mmu().size() + 4;  // the BL: after imm64(1, counter)
    second[bl_at] = a64::bl(static_cast<std::int32_t>((0x400 - 0x200) / 4 - bl_at));
    p.at(0x200, second);
    p.at(0x400, {a64::movz(7, 1), a64::kRet});
    p.at(0x600, {0, 0});
    page_tables(p);
    TestMachine m(p, cpus(2, 5'000'000));
    CHECK(m.run().kind == ExitKind::SystemOff);
    CHECK((m.machine->reg(1, Reg::SctlrEl1) & 1) == 1);
  }
}

// Linux patches its own text (alternatives, jump labels) through another mapping of the same
// page, then IC IVAU / IC IALLUIS, DSB, ISB (Arm ARM D7.5.9, B2.2.5): the PE must then run the
// new instructions. The engine notices stores to code only through the virtual address it
// translated the code from, so the IC must drop this vCPU's own stale translations too.
TEST_CASE("Code coherence: code rewritten through an alias mapping runs new on the same vCPU after IC and ISB") {
  const std::uint64_t function = kBase + 0x400;
  const std::uint64_t alias = function + 0x4000'0000;  // level-1 entry 2 maps the same RAM
  for (const std::uint32_t ic : {a64::kIcIalluis, 0xD50B'7522u /* ic ivau, x2 */}) {
    CAPTURE(ic);
    // The first store (of the old instruction) makes the engine's TLB entry for the alias
    // writable without a check; after that it sees no store through it.
    Words code = join({enable_mmu(),
                       imm64(2, function),
                       imm64(6, alias),
                       imm64(3, a64::movz(7, 1)),
                       {a64::str_w(3, 6), a64::kDsbIsh, a64::kIsb},
                       imm64(3, a64::movz(7, 2)),
                       {a64::kNop /* bl function */, a64::mov(8, 7), a64::str_w(3, 6), a64::kDsbIsh, ic, a64::kDsbIsh,
                        a64::kIsb, a64::kNop /* bl function */, a64::mov(9, 7), a64::kWfi}});
    for (const std::size_t at : {code.size() - 10, code.size() - 3}) {
      code[at] = a64::bl(static_cast<std::int32_t>(0x400 / 4 - at));
    }
    Program p;
    p.at(0, code);
    p.at(0x400, {a64::movz(7, 1), a64::kRet});
    p.at(0x3000, {0, 0, 0x4000'0701u, 0, 0x4000'0701u, 0});  // VA 0x4000_0000 and 0x8000_0000
    TestMachine m(p);
    CHECK(m.run().kind == ExitKind::Deadlock);
    CHECK(m.x(8) == 1);  // the first call ran the old code
    CHECK(m.x(9) == 2);  // the second the rewritten one
  }
}

TEST_CASE("Host writes through write_memory() are seen by code already translated") {
  core::MachineConfig config;
  config.max_instructions = 1000;
  TestMachine m(Program().at(0, {a64::movz(5, 1), a64::b(-1)}), config);
  CHECK(m.run().kind == ExitKind::InstructionLimit);
  CHECK(m.x(5) == 1);
  const std::uint32_t word = a64::movz(5, 2);
  std::uint8_t bytes[4];
  std::memcpy(bytes, &word, 4);
  m.machine->write_memory(kBase, bytes);
  m.machine->set_max_instructions(2000);
  CHECK(m.run().kind == ExitKind::InstructionLimit);
  CHECK(m.x(5) == 2);
  CHECK(m.machine->instructions() == 2000);  // two-instruction blocks: the second run resumed
}

TEST_CASE("The generic counter never runs backwards across vCPUs") {
  // vCPU 0 runs ahead, publishes its counter; vCPU 1 (whose own clock is behind) waits for
  // it, then reads the counter: it must not see a smaller value.
  const std::uint64_t mailbox = kBase + 0x600;
  Program p;
  p.at(0, join({cpu_on(1, kBase + 0x200, 0),
                imm64(19, 2'000),
                {a64::subs(19, 19, 1), a64::b_cond(a64::kNe, -1)},
                imm64(1, mailbox),
                {a64::mrs(2, a64::kCntvctEl0), a64::str(2, 1), a64::kWfi}}));
  p.at(0x200,
       join({imm64(1, mailbox),
             {a64::ldr(4, 1), a64::cmp(4, 0), a64::b_cond(a64::kEq, -2), a64::mrs(5, a64::kCntvctEl0), a64::kWfi}}));
  p.at(0x600, {0, 0});
  core::MachineConfig config = cpus(2);
  config.quantum = 100'000;  // vCPU 0 finishes its loop before vCPU 1 first runs
  TestMachine m(p, config);
  CHECK(m.run().kind == ExitKind::Deadlock);
  CHECK(m.x(2) > 0);
  CHECK(m.machine->reg(1, core::xreg(5)) >= m.x(2));
}

TEST_CASE("Loading an image again resets PSCI: secondaries can be started again") {
  Program p;
  p.at(0, join({cpu_on(1, kBase + 0x200, 0), {a64::mov(9, 0), a64::kWfi}}));
  p.at(0x200, {a64::kWfi});
  TestMachine m(p, cpus(2));
  CHECK(m.run().kind == ExitKind::Deadlock);
  CHECK(m.x(9) == 0);
  m.machine->load(core::image_from_raw_bytes(p.bytes(), "again", m.machine->layout(), kBase));
  CHECK(m.run().kind == ExitKind::Deadlock);
  CHECK(m.x(9) == 0);  // SUCCESS again, not ALREADY_ON
}

TEST_CASE("Machine register access from inside run() is refused") {
  TestMachine m(Program().at(0, join({imm64(2, core::kUartBase), {a64::movz(3, 'C'), a64::str_w(3, 2), a64::kWfi}})));
  core::Machine* machine = m.machine.get();
  m.machine->console().set_writer([machine](std::string_view) { (void)machine->reg(0, Reg::Pc); });
  CHECK_THROWS_AS(static_cast<void>(m.run()), std::logic_error);
}

TEST_CASE("PV time: stolen time the host injects appears exactly in the record before the vCPU runs") {
  const std::uint64_t record = kBase + 0x10000;
  core::MachineConfig config;
  config.max_instructions = 100;
  // x20 = PV_TIME_ST(); then spin.
  Program p = Program().at(0, join({imm64(0, 0xC500'0021), {a64::hvc(0), a64::mov(20, 0), a64::b(0)}}));
  auto machine = std::make_unique<core::Machine>(config);
  REQUIRE(machine->set_pv_time_ipa(0, record) == fw::HostStatus::Ok);
  machine->load(core::image_from_raw_bytes(p.bytes(), "pv", machine->layout(), kBase));
  CHECK(machine->run().kind == ExitKind::InstructionLimit);
  CHECK(machine->reg(0, core::xreg(20)) == record);
  std::uint64_t stolen = ~0ull;
  std::memcpy(&stolen, machine->ram().at(record + 8, 8), 8);
  CHECK(stolen == 0);
  const std::uint64_t before = machine->stats(0).virtual_ns;
  machine->inject_stolen_time(0, 12'345);
  machine->set_max_instructions(200);
  CHECK(machine->run().kind == ExitKind::InstructionLimit);
  std::memcpy(&stolen, machine->ram().at(record + 8, 8), 8);
  CHECK(stolen == 12'345);
  CHECK(machine->stats(0).stolen_ns == 12'345);
  CHECK(machine->stats(0).virtual_ns >= before + 12'345);  // the vCPU lost that time
  CHECK_THROWS_AS(machine->inject_stolen_time(0, core::Machine::kMaxInjectNs + 1), std::invalid_argument);
}

TEST_CASE("PV time: stolen time injected into a sleeping vCPU is charged when it runs, its clock never goes back") {
  // vCPU 0 suspends (standby, 10 us); the run stops while it sleeps; the host injects 1 ms.
  core::MachineConfig config = cpus(2, 1'000);
  Program p;
  p.at(0, join({cpu_on(1, kBase + 0x200, 0), imm64(1, 0), imm64(0, kCpuSuspend64), {a64::hvc(0), a64::b(0)}}));
  p.at(0x200, {a64::b(0)});
  TestMachine m(p, config);
  CHECK(m.run().kind == ExitKind::InstructionLimit);
  const std::uint64_t before = m.machine->stats(0).virtual_ns;
  m.machine->inject_stolen_time(0, 1'000'000);
  m.machine->set_max_instructions(2'000'000);
  CHECK(m.run().kind == ExitKind::InstructionLimit);
  const core::VcpuStats& s = m.machine->stats(0);
  CHECK(s.virtual_ns >= before + 1'000'000);
  CHECK(s.stolen_ns == 1'000'000);
  CHECK(s.stolen_ns <= s.virtual_ns);
}

TEST_CASE("PV time: with MachineConfig::pv_time every vCPU has a record in the last 64 KiB page of RAM") {
  core::MachineConfig config = cpus(2);
  config.memory = (2ull << 20) + 4096;  // not a multiple of 64 KiB: the page is rounded down
  config.pv_time = true;
  core::Machine machine(config);
  CHECK(machine.set_pv_time_ipa(0, 0x4000'0000) == fw::HostStatus::Exists);  // already has one
  const std::uint64_t page = (machine.ram().end() - 0x10000) & ~0xFFFFull;
  CHECK(page % 0x10000 == 0);
  bool reserved = false;
  for (const auto& d : machine.layout().devices) reserved = reserved || (d.base == page && d.size == 0x10000);
  CHECK(reserved);
}

TEST_CASE("PV time: a record may not be set over the loaded image") {
  core::Machine machine(core::MachineConfig{});
  machine.load(
      core::image_from_raw_bytes(Program().at(0, {a64::kWfi, 0, 0, 0}).bytes(), "img", machine.layout(), kBase));
  CHECK(machine.set_pv_time_ipa(0, kBase) == fw::HostStatus::Exists);
  CHECK(machine.set_pv_time_ipa(0, kBase + 0x1000) == fw::HostStatus::Ok);
}

TEST_CASE("PV time: an image may not overlap a stolen-time record") {
  core::Machine machine(core::MachineConfig{});
  REQUIRE(machine.set_pv_time_ipa(0, kBase + 0x40) == fw::HostStatus::Ok);
  CHECK_THROWS_WITH_AS(core::image_from_raw_bytes(
                           Program().at(0, {a64::kWfi, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}).bytes(),
                           "img", machine.layout(), kBase),
                       doctest::Contains("PV-time record"), core::ImageError);
}

namespace {
// x1..x17 = 0x100 + n, then the call over `conduit`, then WFI.
Program forwarded_call(std::uint64_t fid, bool smc) {
  Words w;
  for (unsigned r = 1; r <= 17; ++r) w.push_back(a64::movz(r, static_cast<std::uint16_t>(0x100 + r)));
  return Program().at(0, join({w, imm64(0, fid), {smc ? a64::smc(0) : a64::hvc(0), a64::movz(20, 1), a64::kWfi}}));
}
}  // namespace

TEST_CASE("Filter FWD_TO_USER: run() stops with a hypercall exit, the guest continues with the host's x0..x3") {
  for (const bool smc : {false, true}) {
    CAPTURE(smc);
    core::Machine m(core::MachineConfig{});
    REQUIRE(m.add_filter_range(0xC600'0040, 2, 2) == fw::HostStatus::Ok);
    m.load(core::image_from_raw_bytes(forwarded_call(0xC600'0041, smc).bytes(), "fwd", m.layout(), kBase));
    const core::RunExit e = m.run();
    REQUIRE(e.kind == ExitKind::Hypercall);
    CHECK(e.fid == 0xC600'0041u);
    CHECK(e.conduit == (smc ? fw::Conduit::Smc : fw::Conduit::Hvc));
    CHECK(e.vcpu == 0);
    CHECK(m.reg(0, core::xreg(0)) == 0xC600'0041u);  // nothing written yet: the host answers
    CHECK(m.reg(0, core::xreg(1)) == 0x101);
    CHECK(m.reg(0, Reg::Pc) == kBase + (17 + 4 + 1) * 4);  // already past the HVC/SMC
    for (unsigned r = 0; r < 4; ++r) m.set_reg(0, core::xreg(r), 0xA0 + r);
    CHECK(m.run().kind == ExitKind::Deadlock);
    for (unsigned r = 0; r < 4; ++r) CHECK(m.reg(0, core::xreg(r)) == 0xA0 + r);
    CHECK(m.reg(0, core::xreg(4)) == 0x104);  // untouched
    CHECK(m.reg(0, core::xreg(20)) == 1);     // the guest went on after its call, once
  }
}

TEST_CASE("Filter and selection are frozen by the first run, the host API says Busy") {
  core::Machine m(core::MachineConfig{});
  m.load(core::image_from_raw_bytes(Program().at(0, {a64::kWfi}).bytes(), "x", m.layout(), kBase));
  CHECK(m.set_fw_reg(0, fw::fw_reg::kStdBmap, 0) == fw::HostStatus::Ok);
  CHECK(m.run().kind == ExitKind::Deadlock);
  CHECK(m.set_fw_reg(0, fw::fw_reg::kStdBmap, 1) == fw::HostStatus::Busy);
  CHECK(m.set_fw_reg(0, fw::fw_reg::kStdBmap, 0) == fw::HostStatus::Ok);
  CHECK(m.add_filter_range(0x8200'0000, 1, 1) == fw::HostStatus::Busy);
  std::uint64_t v = 0;
  CHECK(m.get_fw_reg(5, fw::fw_reg::kStdBmap, v) == fw::HostStatus::NotFound);  // no vCPU 5
}

TEST_CASE("A disabled service answers NOT_SUPPORTED over HVC and SMC, other registers intact") {
  for (const bool smc : {false, true}) {
    CAPTURE(smc);
    core::Machine m(core::MachineConfig{});
    REQUIRE(m.set_fw_reg(0, fw::fw_reg::kStdBmap, 0) == fw::HostStatus::Ok);
    m.load(core::image_from_raw_bytes(forwarded_call(0x8400'0050, smc).bytes(), "trng", m.layout(), kBase));
    CHECK(m.run().kind == ExitKind::Deadlock);
    CHECK(m.reg(0, core::xreg(0)) == ~0ull);
    CHECK(m.reg(0, core::xreg(1)) == 0x101);
    CHECK(m.reg(0, core::xreg(17)) == 0x111);
  }
}

namespace {
// Checkpoint `m` at `at` instructions, save, restore into a fresh machine of the same
// configuration, and return it.
std::unique_ptr<core::Machine> save_and_restore(core::Machine& m, const core::MachineConfig& config, std::uint64_t at) {
  m.set_checkpoint(at);
  REQUIRE(m.run().kind == ExitKind::Checkpoint);
  fw::StateWriter state;
  m.save(state);
  auto copy = std::make_unique<core::Machine>(config);
  fw::StateReader in(state.data());
  copy->restore(in);
  return copy;
}
}  // namespace

TEST_CASE("Snapshot: PMU control, cache selection, thread registers and PAuth keys survive a save and restore") {
  const a64::Sys pmcr = a64::sysreg(3, 3, 9, 12, 0), pmselr = a64::sysreg(3, 3, 9, 12, 5),
                 csselr = a64::sysreg(3, 2, 0, 0, 0), tpidr = a64::sysreg(3, 3, 13, 0, 2),
                 apia_lo = a64::sysreg(3, 0, 2, 1, 0), apga_hi = a64::sysreg(3, 0, 2, 3, 1);
  Program p =
      Program().at(0, join({{a64::movz(1, 1), a64::msr(pmcr, 1), a64::movz(1, 5), a64::msr(pmselr, 1), a64::movz(1, 2),
                             a64::msr(csselr, 1), a64::movz(1, 0x77), a64::msr(tpidr, 1), a64::movz(1, 0x1234),
                             a64::msr(apia_lo, 1), a64::movz(1, 0x5678), a64::msr(apga_hi, 1)},
                            imm64(19, 5'000),
                            {a64::subs(19, 19, 1), a64::b_cond(a64::kNe, -1)},
                            {a64::mrs(2, pmcr), a64::mrs(3, pmselr), a64::mrs(4, csselr), a64::mrs(5, tpidr),
                             a64::mrs(6, apia_lo), a64::mrs(7, apga_hi), a64::kWfi}}));
  core::MachineConfig config;
  config.quantum = 100;
  core::Machine m(config);
  m.load(core::image_from_raw_bytes(p.bytes(), "pmu", m.layout(), kBase));
  auto copy = save_and_restore(m, config, 1'000);
  CHECK(copy->run().kind == ExitKind::Deadlock);
  CHECK((copy->reg(0, core::xreg(2)) & 1) == 1);  // PMCR_EL0.E
  CHECK(copy->reg(0, core::xreg(3)) == 5);
  CHECK(copy->reg(0, core::xreg(4)) == 2);
  CHECK(copy->reg(0, core::xreg(5)) == 0x77);
  CHECK(copy->reg(0, core::xreg(6)) == 0x1234);
  CHECK(copy->reg(0, core::xreg(7)) == 0x5678);
}

TEST_CASE("Snapshot: a refused restore leaves the machine exactly as it was") {
  core::MachineConfig config;
  config.seed = 3;
  core::Machine m(config);
  m.load(core::image_from_raw_bytes(Program().at(0, {a64::b(0)}).bytes(), "spin", m.layout(), kBase));
  m.set_checkpoint(1'000);
  REQUIRE(m.run().kind == ExitKind::Checkpoint);
  fw::StateWriter before;
  m.save(before);
  core::Machine other(config);
  other.load(core::image_from_raw_bytes(Program().at(0, {a64::kNop, a64::b(-1)}).bytes(), "x", other.layout(), kBase));
  other.set_checkpoint(5'000);
  REQUIRE(other.run().kind == ExitKind::Checkpoint);
  fw::StateWriter theirs;
  other.save(theirs);
  std::vector<std::uint8_t> bad = theirs.data();
  bad.push_back(0);  // one byte after the end
  fw::StateReader in(bad);
  CHECK_THROWS_AS(m.restore(in), fw::StateError);
  fw::StateWriter after;
  m.save(after);
  CHECK(after.data() == before.data());
}

TEST_CASE("Snapshot: no save while a forwarded call waits for the host's answer") {
  core::Machine m(core::MachineConfig{});
  REQUIRE(m.add_filter_range(0x8200'0000, 1, 2) == fw::HostStatus::Ok);
  m.load(core::image_from_raw_bytes(Program().at(0, join({imm64(0, 0x8200'0000), {a64::hvc(0), a64::b(0)}})).bytes(),
                                    "fwd", m.layout(), kBase));
  REQUIRE(m.run().kind == ExitKind::Hypercall);
  fw::StateWriter state;
  CHECK_THROWS_AS(m.save(state), std::logic_error);
  m.set_reg(0, core::xreg(0), 0);
  m.set_checkpoint(m.instructions() + 100);
  CHECK(m.run().kind == ExitKind::Checkpoint);
  CHECK_NOTHROW(m.save(state));
}

// MachineConfig::cpus is 1..64 (README --cpus). The GIC sizes its per-vCPU state by it before the
// firmware's own check runs, so a count near 2^32 (as a corrupt state file can hold: found by
// fuzz/fuzz_state_file.cpp, `smccc-emu resume` then ended with "internal error: std::bad_alloc",
// status 70) must be refused first, with the ConfigError every other bad count gets.
TEST_CASE("Machine: a vCPU count outside 1..64 is a ConfigError naming cpus, even near 2^32") {
  for (const unsigned n : {0u, 65u, 0xFFFF'FFFEu}) {
    CAPTURE(n);
    core::MachineConfig config;
    config.cpus = n;
    try {
      core::Machine m(config);
      FAIL("accepted");
    } catch (const core::ConfigError& e) {
      CHECK(e.setting() == "cpus");
      CHECK(std::string(e.what()) == "vCPU count must be 1..64, not " + std::to_string(n));
    }
  }
}
