// Core rules, written as raw instruction words: the trap bridge (PC after a trap, register
// write-back), exception entry (Arm ARM D1.10), semihosting and the console, and the
// run-ending conditions.
#include <doctest/doctest.h>

#include <algorithm>

#include "core/direct_regs.h"
#include "core/vcpu.h"
#include "tests/core/program.h"

using namespace emu;
using namespace emu::test;
using core::ExitKind;
using core::Reg;

namespace {

constexpr std::uint64_t kSmcccVersion = 0x8000'0000;
constexpr std::uint64_t kVectors = kBase + 0x800;  // VBAR_EL1 must be 2 KiB aligned
constexpr std::uint64_t kAllOnes = ~std::uint64_t{0};

// Sets VBAR_EL1 to kVectors (uses x20).
Words install_vectors() {
  return join({imm64(20, kVectors), {a64::msr(a64::kVbarEl1, 20)}});
}

// ERET to EL0t at `target` with DAIF clear and SP_EL0 = `sp0` (uses x21..x23).
Words eret_to_el0(std::uint64_t target, std::uint64_t sp0) {
  return join({imm64(21, target),
               imm64(22, 0),
               imm64(23, sp0),
               {a64::msr(a64::kElrEl1, 21), a64::msr(a64::kSpsrEl1, 22), a64::msr(a64::kSpEl0, 23), a64::kEret}});
}

// A vector body that records ESR, ELR, SPSR, SP and SP_EL0 in x10..x14, then waits.
const Words kRecordAndStop = {a64::mrs(10, a64::kEsrEl1), a64::mrs(11, a64::kElrEl1), a64::mrs(12, a64::kSpsrEl1),
                              a64::mov_from_sp(13),       a64::mrs(14, a64::kSpEl0),  a64::kWfi};

std::size_t count_containing(const std::vector<std::string>& lines, std::string_view needle) {
  return static_cast<std::size_t>(std::count_if(
      lines.begin(), lines.end(), [&](const std::string& l) { return l.find(needle) != std::string::npos; }));
}

}  // namespace

TEST_CASE("A64 encoders in the tests match GNU as") {
  // Reference words from aarch64-linux-gnu-as 2.40 for the instruction in each comment.
  CHECK(a64::movz(0, 0x8000, 1) == 0xD2B0'0000u);        // movz x0, #0x8000, lsl #16
  CHECK(a64::movk(0, 0x8) == 0xF280'0100u);              // movk x0, #0x8
  CHECK(a64::hvc(0) == 0xD400'0002u);                    // hvc #0
  CHECK(a64::smc(0) == 0xD400'0003u);                    // smc #0
  CHECK(a64::svc(5) == 0xD400'00A1u);                    // svc #5
  CHECK(a64::brk(3) == 0xD420'0060u);                    // brk #3
  CHECK(a64::hlt(0xF000) == 0xD45E'0000u);               // hlt #0xf000
  CHECK(a64::b(-2) == 0x17FF'FFFEu);                     // b .-8
  CHECK(a64::br(1) == 0xD61F'0020u);                     // br x1
  CHECK(a64::mov_from_sp(13) == 0x9100'03EDu);           // mov x13, sp
  CHECK(a64::mov_to_sp(2) == 0x9100'005Fu);              // mov sp, x2
  CHECK(a64::msr(a64::kVbarEl1, 1) == 0xD518'C001u);     // msr vbar_el1, x1
  CHECK(a64::msr(a64::kElrEl1, 2) == 0xD518'4022u);      // msr elr_el1, x2
  CHECK(a64::msr(a64::kSpsrEl1, 3) == 0xD518'4003u);     // msr spsr_el1, x3
  CHECK(a64::msr(a64::kSpEl0, 4) == 0xD518'4104u);       // msr sp_el0, x4
  CHECK(a64::mrs(10, a64::kEsrEl1) == 0xD538'520Au);     // mrs x10, esr_el1
  CHECK(a64::mrs(11, a64::kElrEl1) == 0xD538'402Bu);     // mrs x11, elr_el1
  CHECK(a64::mrs(12, a64::kSpsrEl1) == 0xD538'400Cu);    // mrs x12, spsr_el1
  CHECK(a64::mrs(14, a64::kSpEl0) == 0xD538'410Eu);      // mrs x14, sp_el0
  CHECK(a64::mrs(0, a64::kMpidrEl1) == 0xD538'00A0u);    // mrs x0, mpidr_el1
  CHECK(a64::mrs(0, a64::kIccIar1El1) == 0xD538'CC00u);  // mrs x0, s3_0_c12_c12_0
  CHECK(a64::kEret == 0xD69F'03E0u);
  CHECK(a64::kWfi == 0xD503'207Fu);
}

TEST_CASE(
    "Boot state (booting.rst): EL1h with DAIF masked, MMU off, x0 = the device tree, x1..x3 = 0, PC at the entry") {
  TestMachine m(Program().at(0, {a64::kWfi}));
  CHECK(m.reg(Reg::Pstate) == 0x3C5);
  CHECK((m.reg(Reg::SctlrEl1) & 1) == 0);
  // The first 2 MiB boundary above the image (which ends below 0x40200000).
  CHECK(m.x(0) == 0x4020'0000u);
  CHECK(m.x(0) == m.machine->device_tree_address());
  const std::uint8_t* dtb = m.machine->ram().at(m.x(0), 4);
  REQUIRE(dtb != nullptr);
  CHECK(std::vector<std::uint8_t>(dtb, dtb + 4) == std::vector<std::uint8_t>{0xD0, 0x0D, 0xFE, 0xED});  // FDT magic
  for (unsigned r = 1; r <= 3; ++r) CHECK(m.x(r) == 0);
  CHECK(m.reg(Reg::Pc) == kBase);
}

TEST_CASE("MPIDR_EL1 of vCPU 0 reads Aff0 = 0 with bit 31 set (Arm ARM MPIDR_EL1 RES1)") {
  TestMachine m(Program().at(0, {a64::mrs(5, a64::kMpidrEl1), a64::kWfi}));
  CHECK(m.run().kind == ExitKind::Deadlock);
  CHECK(m.x(5) == 0x8000'0000u);
}

TEST_CASE("HVC: the guest resumes at the instruction after the HVC, with the answer in x0") {
  TestMachine m(Program().at(0, join({imm64(0, kSmcccVersion), {a64::hvc(0), a64::movz(9, 1), a64::kWfi}})));
  CHECK(m.run().kind == ExitKind::Deadlock);
  CHECK(m.x(0) == 0x1'0002);
  CHECK(m.x(9) == 1);                      // the instruction after the HVC ran, once
  CHECK(m.reg(Reg::Pc) == kBase + 7 * 4);  // past the WFI that ended the run
  CHECK(m.trace.lines.size() == 2);        // exactly one call and its answer
}

TEST_CASE("SMC: the guest resumes at the instruction after the SMC, with the answer in x0") {
  TestMachine m(Program().at(0, join({imm64(0, kSmcccVersion), {a64::smc(0), a64::movz(9, 1), a64::kWfi}})));
  CHECK(m.run().kind == ExitKind::Deadlock);
  CHECK(m.x(0) == 0x1'0002);
  CHECK(m.x(9) == 1);
  REQUIRE(m.trace.lines.size() == 2);
  CHECK(m.trace.lines[0] == "cpu0 smc > SMCCC_VERSION()");
}

// x1..x17 and x18/x30 loaded with distinct values, then one call.
Words call_with_sentinels(std::uint64_t fid) {
  Words w;
  for (unsigned r = 1; r <= 18; ++r) w.push_back(a64::movz(r, static_cast<std::uint16_t>(0x100 + r)));
  w.push_back(a64::movz(30, 0x130));
  return join({w, imm64(0, fid), {a64::hvc(0), a64::kWfi}});
}

TEST_CASE("Write-back: a defined call sets x0..x3 (x1..x3 zero) and preserves x4..x30") {
  TestMachine m(Program().at(0, call_with_sentinels(kSmcccVersion)));
  CHECK(m.run().kind == ExitKind::Deadlock);
  CHECK(m.x(0) == 0x1'0002);
  for (unsigned r = 1; r <= 3; ++r) CHECK(m.x(r) == 0);
  for (unsigned r = 4; r <= 18; ++r) CHECK(m.x(r) == 0x100 + r);
  CHECK(m.x(30) == 0x130);
}

// The two write-back tests above run on the direct register path wherever it exists, and on the
// public API path under SMCCC_EMU_REGS=api (make test runs the core tests both ways).
TEST_CASE("Write-back: the trap path uses the engine's register file unless SMCCC_EMU_REGS=api asks otherwise") {
  TestMachine m(Program().at(0, call_with_sentinels(kSmcccVersion)));
  const bool direct_possible = UC_API_MAJOR == 2 && UC_API_MINOR == 1 && UC_API_PATCH == 1;
  CHECK(m.machine->direct_registers(0) == (direct_possible && !core::register_api_forced()));
}

TEST_CASE("Write-back: an unknown call sets x0 = -1 and preserves every other register") {
  TestMachine m(Program().at(0, call_with_sentinels(0x8200'0000)));
  CHECK(m.run().kind == ExitKind::Deadlock);
  CHECK(m.x(0) == kAllOnes);
  for (unsigned r = 1; r <= 18; ++r) CHECK(m.x(r) == 0x100 + r);
}

TEST_CASE("HVC #1 is not an SMCCC call: NOT_SUPPORTED, other registers preserved") {
  TestMachine m(Program().at(0, join({imm64(0, kSmcccVersion), {a64::movz(1, 7), a64::hvc(1), a64::kWfi}})));
  CHECK(m.run().kind == ExitKind::Deadlock);
  CHECK(m.x(0) == kAllOnes);
  CHECK(m.x(1) == 7);
}

TEST_CASE("HVC at EL0 is an undefined-instruction exception to EL1, never a firmware call") {
  const std::uint64_t el0_code = kBase + 0x100;
  Program p;
  p.at(0, join({install_vectors(), eret_to_el0(el0_code, kBase + 0x3000)}));
  p.at(0x100, join({imm64(0, kSmcccVersion), {a64::hvc(0), a64::kUdf0}}));
  p.at(0x800 + 0x400, kRecordAndStop);  // synchronous, lower EL, AArch64
  TestMachine m(p);
  CHECK(m.run().kind == ExitKind::Deadlock);
  CHECK(m.x(10) == 0x0200'0000u);      // ESR: EC 0 (unknown reason), IL 1
  CHECK(m.x(11) == el0_code + 4 * 4);  // ELR: the HVC itself
  CHECK(m.x(12) == 0);                 // SPSR: EL0t, flags and DAIF as they were
  CHECK(m.x(0) == kSmcccVersion);      // no firmware call happened
  CHECK(m.trace.lines.empty());
  CHECK(m.reg(Reg::Pstate) == 0x3C5);  // now EL1h, DAIF masked
}

TEST_CASE("SMC at EL0 is an undefined-instruction exception to EL1, never a firmware call") {
  const std::uint64_t el0_code = kBase + 0x100;
  Program p;
  p.at(0, join({install_vectors(), eret_to_el0(el0_code, kBase + 0x3000)}));
  p.at(0x100, join({imm64(0, kSmcccVersion), {a64::smc(0), a64::kUdf0}}));
  p.at(0x800 + 0x400, kRecordAndStop);
  TestMachine m(p);
  CHECK(m.run().kind == ExitKind::Deadlock);
  CHECK(m.x(10) == 0x0200'0000u);
  CHECK(m.x(11) == el0_code + 4 * 4);
  CHECK(m.x(0) == kSmcccVersion);
  CHECK(m.trace.lines.empty());
}

TEST_CASE("SVC at EL0: EC 0x15 with the immediate, ELR after the SVC, SP_EL0 saved, SP_EL1 in use") {
  const std::uint64_t el0_code = kBase + 0x100;
  const std::uint64_t sp_el1 = kBase + 0x8000;
  const std::uint64_t sp_el0 = kBase + 0x3000;
  Program p;
  p.at(0, join({install_vectors(), imm64(2, sp_el1), {a64::mov_to_sp(2)}, eret_to_el0(el0_code, sp_el0)}));
  p.at(0x100, {a64::svc(0x42), a64::kUdf0});
  p.at(0x800 + 0x400, kRecordAndStop);
  TestMachine m(p);
  CHECK(m.run().kind == ExitKind::Deadlock);
  CHECK(m.x(10) == ((0x15u << 26) | (1u << 25) | 0x42u));
  CHECK(m.x(11) == el0_code + 4);  // preferred return: after the SVC
  CHECK(m.x(13) == sp_el1);        // the handler runs on SP_EL1
  CHECK(m.x(14) == sp_el0);        // and SP_EL0 still holds EL0's stack pointer
}

TEST_CASE("Undefined instruction at EL1h: vector +0x200, ELR at the instruction, SPSR the old PSTATE") {
  Program p;
  p.at(0, join({install_vectors(), {a64::kUdf0}}));
  p.at(0x800 + 0x200, kRecordAndStop);  // synchronous, current EL with SP_ELx
  TestMachine m(p);
  CHECK(m.run().kind == ExitKind::Deadlock);
  CHECK(m.x(10) == 0x0200'0000u);
  CHECK(m.x(11) == kBase + 5 * 4);
  CHECK(m.x(12) == 0x3C5);
}

TEST_CASE("BRK at EL1: EC 0x3C with the immediate, ELR at the BRK") {
  Program p;
  p.at(0, join({install_vectors(), {a64::brk(7)}}));
  p.at(0x800 + 0x200, kRecordAndStop);
  TestMachine m(p);
  CHECK(m.run().kind == ExitKind::Deadlock);
  CHECK(m.x(10) == ((0x3Cu << 26) | (1u << 25) | 7u));
  CHECK(m.x(11) == kBase + 5 * 4);
}

TEST_CASE("An exception with no usable vector table is a guest fault with registers and code") {
  TestMachine m(Program().at(0, {a64::movz(3, 0x33), a64::kUdf0}));
  const auto e = m.run();
  CHECK(e.kind == ExitKind::GuestFault);
  CHECK(e.summary.find("no usable vector table") != std::string::npos);
  CHECK(e.report.find("x3  0000000000000033") != std::string::npos);
  CHECK(e.report.find("=> 0000000040080004: 00000000  udf #0") != std::string::npos);
}

TEST_CASE("A fault inside the vector table is a guest fault, not an endless loop") {
  Program p;
  p.at(0, join({install_vectors(), {a64::kUdf0}}));
  p.at(0x800 + 0x200, {a64::kUdf0});
  TestMachine m(p);
  const auto e = m.run();
  CHECK(e.kind == ExitKind::GuestFault);
  CHECK(e.summary.find("inside the vector table") != std::string::npos);
}

TEST_CASE("A fetch from an unmapped address is a guest fault") {
  TestMachine m(Program().at(0, join({imm64(1, 0x1000'0000), {a64::br(1)}})));
  const auto e = m.run();
  CHECK(e.kind == ExitKind::GuestFault);
  CHECK(e.summary.find("fetch from unmapped address 0x10000000") != std::string::npos);
}

TEST_CASE("A system register the model cannot emulate at EL1 is a guest fault naming it") {
  TestMachine m(Program().at(0, {a64::mrs(0, a64::kImpdefS3_0_C15_C0_0)}));
  const auto e = m.run();
  CHECK(e.kind == ExitKind::GuestFault);
  CHECK(e.summary.find("system register") != std::string::npos);
  CHECK(e.summary.find("mrs x0, s3_0_c15_c0_0") != std::string::npos);  // Capstone's name for it
}

TEST_CASE("Semihosting and the PL011 write to one console, in program order") {
  Program p;
  // x1 -> "AB\0" at +0x400; 'C' through the UART; SYS_WRITEC of "Z" at +0x408; then WFI.
  p.at(0, join({imm64(1, kBase + 0x400),
                {a64::movz(0, 0x04), a64::hlt(0xF000)},
                imm64(2, core::kUartBase),
                {a64::movz(3, 'C'), 0xB900'0043u /* str w3, [x2] */},
                imm64(1, kBase + 0x408),
                {a64::movz(0, 0x03), a64::hlt(0xF000), a64::kWfi}}));
  p.at(0x400, {0x0000'4241u, 0, 0x0000'005Au});
  TestMachine m(p);
  CHECK(m.run().kind == ExitKind::Deadlock);
  CHECK(m.console == "ABCZ");
}

// Opens :tt for writing, keeps the handle at +0x430, spins, then SYS_WRITEs "Q" with it.
Program write_through_saved_handle() {
  Program p;
  p.at(0, join({imm64(1, kBase + 0x410),
                {a64::movz(0, 0x01), a64::hlt(0xF000)},  // SYS_OPEN(":tt", "w")
                imm64(2, kBase + 0x430),
                {a64::str(0, 2)},
                imm64(19, 5'000),
                {a64::subs(19, 19, 1), a64::b_cond(a64::kNe, -1)},
                imm64(1, kBase + 0x430),
                {a64::movz(0, 0x05), a64::hlt(0xF000), a64::kWfi}}));  // SYS_WRITE(handle, "Q", 1)
  p.at(0x400, {0x0074'743Au, 0, 0x0000'0051u});
  p.at(0x410, {static_cast<std::uint32_t>(kBase + 0x400), 0, 4, 0, 3, 0});
  p.at(0x430, {0, 0, static_cast<std::uint32_t>(kBase + 0x408), 0, 1, 0});
  return p;
}

// Handles are not in the state file (semihosting.h), so a restore must leave none open: a
// handle number in the restored RAM then names nothing (EBADF), not a file opened since.
TEST_CASE("Semihosting handles are closed by an in-process restore as by a boot") {
  TestMachine straight(write_through_saved_handle());
  REQUIRE(straight.run().kind == ExitKind::Deadlock);
  CHECK(straight.x(0) == 0);  // every byte written
  CHECK(straight.console == "Q");

  core::MachineConfig config;
  config.quantum = 100;
  TestMachine m(write_through_saved_handle(), config);
  m.machine->set_checkpoint(1'000);  // inside the spin, after the open
  REQUIRE(m.run().kind == ExitKind::Checkpoint);
  fw::StateWriter state;
  m.machine->save(state);
  fw::StateReader in(state.data());
  m.machine->restore(in);
  REQUIRE(m.run().kind == ExitKind::Deadlock);
  CHECK(m.x(0) == kAllOnes);  // SYS_WRITE on a handle that is not open
  CHECK(m.console.empty());
}

TEST_CASE("Semihosting SYS_EXIT_EXTENDED with ADP_Stopped_ApplicationExit reports the subcode") {
  Program p;
  p.at(0, join({imm64(1, kBase + 0x400), {a64::movz(0, 0x20), a64::hlt(0xF000)}}));
  p.at(0x400, {0x0002'0026u, 0, 42, 0});
  TestMachine m(p);
  const auto e = m.run();
  CHECK(e.kind == ExitKind::SemihostingExit);
  CHECK(e.status == 42);
}

TEST_CASE("Semihosting SYS_EXIT with another reason reports failure (1)") {
  Program p;
  p.at(0, join({imm64(1, kBase + 0x400), {a64::movz(0, 0x18), a64::hlt(0xF000)}}));
  p.at(0x400, {0x0002'0023u, 0, 0, 0});  // ADP_Stopped_RunTimeErrorUnknown
  TestMachine m(p);
  const auto e = m.run();
  CHECK(e.kind == ExitKind::SemihostingExit);
  CHECK(e.status == 1);
}

TEST_CASE("Semihosting: an operation the model does not offer returns -1 and the guest continues") {
  TestMachine m(
      Program().at(0, {a64::movz(0, 0x100) /* a user operation */, a64::hlt(0xF000), a64::movz(9, 1), a64::kWfi}));
  CHECK(m.run().kind == ExitKind::Deadlock);
  CHECK(m.x(0) == kAllOnes);
  CHECK(m.x(9) == 1);
}

// Arm semihosting v2.0 §6.9 SYS_HEAPINFO and §6.3 SYS_ELAPSED through the engine: the stack
// ends below the PV-time region (the last 64 KiB of RAM), and the tick count is virtual time.
TEST_CASE("Semihosting SYS_HEAPINFO and SYS_ELAPSED through the machine") {
  Program p;
  p.at(0,
       join({imm64(1, kBase + 0x400),
             {a64::movz(0, 0x16), a64::hlt(0xF000)},
             imm64(1, kBase + 0x600),
             {a64::movz(0, 0x30), a64::hlt(0xF000), a64::mov(5, 1), a64::movz(0, 0x10), a64::hlt(0xF000), a64::kWfi}}));
  p.at(0x400, {static_cast<std::uint32_t>(kBase + 0x500), static_cast<std::uint32_t>((kBase + 0x500) >> 32)});
  core::MachineConfig config;
  config.memory = 64ull << 20;  // RAM ends at 0x44000000
  config.pv_time = true;        // its region: the last 64 KiB
  std::array<std::uint64_t, 5> seen[2]{};
  for (auto& words : seen) {
    TestMachine m(p, config);
    CHECK(m.run().kind == ExitKind::Deadlock);
    CHECK(m.x(5) == kBase + 0x600);  // X1 unchanged on success
    CHECK(m.x(0) == 0);              // SYS_CLOCK: under a centisecond of virtual time
    REQUIRE(m.machine->read_virtual(0, kBase + 0x500, std::span(reinterpret_cast<std::uint8_t*>(words.data()), 32)) ==
            32);
    REQUIRE(m.machine->read_virtual(0, kBase + 0x600, std::span(reinterpret_cast<std::uint8_t*>(&words[4]), 8)) == 8);
  }
  const auto [heap_base, heap_limit, stack_base, stack_limit, ticks] = seen[0];
  CHECK(heap_base > kBase + 0x600);
  CHECK(heap_base % 16 == 0);
  CHECK(stack_base == 0x43FF'0000);   // the PV-time region's start
  CHECK(stack_limit == 0x43EF'0000);  // 1 MiB of stack
  CHECK(heap_limit == stack_limit);
  CHECK(ticks > 0);
  CHECK(seen[0] == seen[1]);  // the same run gives the same ticks: no host time
}

TEST_CASE("WFI with nothing that can wake the vCPU ends the run as a deadlock") {
  TestMachine m(Program().at(0, {a64::kWfi}));
  CHECK(m.run().kind == ExitKind::Deadlock);
}

TEST_CASE("The instruction limit stops a spinning guest exactly at a block boundary") {
  core::MachineConfig config;
  config.max_instructions = 1000;
  TestMachine m(Program().at(0, {a64::b(0)}), config);
  CHECK(m.run().kind == ExitKind::InstructionLimit);
  CHECK(m.machine->instructions() == 1000);  // a one-instruction block: the count is exact
  CHECK(m.reg(Reg::Pc) == kBase);
}

TEST_CASE("The instruction limit ends the run when the next block is larger than what is left") {
  core::MachineConfig config;
  config.max_instructions = 1001;  // the loop body is a 2-instruction block: 500 fit, then 1 is left
  TestMachine m(Program().at(0, {a64::kNop, a64::b(-1)}), config);
  CHECK(m.run().kind == ExitKind::InstructionLimit);
  CHECK(m.machine->instructions() <= 1001);
  CHECK(m.machine->instructions() >= 999);
  CHECK(m.run().kind == ExitKind::InstructionLimit);  // and again, rather than spinning
}

TEST_CASE("SYSTEM_OFF ends the run with status 0") {
  TestMachine m(Program().at(0, join({imm64(0, 0x8400'0008), {a64::hvc(0), a64::kUdf0}})));
  const auto e = m.run();
  CHECK(e.kind == ExitKind::SystemOff);
  CHECK(e.status == 0);
}

TEST_CASE("SYSTEM_RESET with ResetAction::Exit ends the run and reloads the image") {
  core::MachineConfig config;
  config.on_reset = core::ResetAction::Exit;
  Program p;
  // Overwrite the data word at +0x400 with 0xAB, then SYSTEM_RESET.
  p.at(0, join({imm64(1, kBase + 0x400),
                {a64::movz(2, 0xAB), 0xF900'0022u /* str x2, [x1] */},
                imm64(0, 0x8400'0009),
                {a64::hvc(0), a64::kUdf0}}));
  p.at(0x400, {0x1234, 0});
  TestMachine m(p, config);
  const auto e = m.run();
  CHECK(e.kind == ExitKind::SystemReset);
  std::uint64_t word = 0;
  std::memcpy(&word, m.machine->ram().at(kBase + 0x400, 8), 8);
  CHECK(word == 0x1234);  // the image's value, not the guest's store
  CHECK(m.reg(Reg::Pc) == kBase);
}

TEST_CASE("SYSTEM_RESET restarts the guest from its image by default") {
  core::MachineConfig config;
  config.max_instructions = 200;
  TestMachine m(Program().at(0, join({imm64(0, 0x8400'0009), {a64::hvc(0), a64::kUdf0}})), config);
  CHECK(m.run().kind == ExitKind::InstructionLimit);
  CHECK(count_containing(m.trace.lines, "> PSCI_SYSTEM_RESET()") > 1);
}

TEST_CASE("An EL2 system register accessed at EL1 is UNDEFINED for the guest, as under KVM") {
  Program p;
  p.at(0, join({install_vectors(), {0xD53C'1100u /* mrs x0, hcr_el2 */}}));
  p.at(0x800 + 0x200, kRecordAndStop);
  TestMachine m(p);
  CHECK(m.run().kind == ExitKind::Deadlock);
  CHECK(m.x(10) == 0x0200'0000u);
  CHECK(m.x(11) == kBase + 5 * 4);
}

TEST_CASE("Exception entry with SCTLR_EL1.SPAN = 1 leaves PSTATE.PAN as it was (FEAT_PAN)") {
  Program p;
  // SCTLR_EL1.SPAN = 1; PSTATE.PAN = 1; UDF. The handler reads PAN into x15.
  p.at(0, join({install_vectors(),
                {0xD538'1001u /* mrs x1, sctlr_el1 */, 0xB269'0021u /* orr x1, x1, #0x800000 */,
                 0xD518'1001u /* msr sctlr_el1, x1 */, 0xD503'3FDFu /* isb */, 0xD500'419Fu /* msr pan, #1 */,
                 a64::kUdf0}}));
  p.at(0x800 + 0x200, {0xD538'426Fu /* mrs x15, pan */, a64::mrs(12, a64::kSpsrEl1), a64::kWfi});
  TestMachine m(p);
  CHECK(m.run().kind == ExitKind::Deadlock);
  CHECK((m.x(12) & (1u << 22)) != 0);  // SPSR: PAN was set when the exception was taken
  CHECK(m.x(15) == (1u << 22));        // and it still is in the handler
}

TEST_CASE("Exception entry with SCTLR_EL1.SPAN = 0 sets PSTATE.PAN (FEAT_PAN)") {
  Program p;
  p.at(0, join({install_vectors(),
                {0xD538'1001u /* mrs x1, sctlr_el1 */, 0x9268'F821u /* bic x1, x1, #0x800000 */,
                 0xD518'1001u /* msr sctlr_el1, x1 */, 0xD503'3FDFu /* isb */, a64::kUdf0}}));
  p.at(0x800 + 0x200, {0xD538'426Fu /* mrs x15, pan */, a64::mrs(12, a64::kSpsrEl1), a64::kWfi});
  TestMachine m(p);
  CHECK(m.run().kind == ExitKind::Deadlock);
  CHECK((m.x(12) & (1u << 22)) == 0);
  CHECK(m.x(15) == (1u << 22));
}

TEST_CASE("Loading a new image after a run executes the new code, not stale translations") {
  TestMachine m(Program().at(0, {a64::movz(5, 1), a64::kWfi}));
  CHECK(m.run().kind == ExitKind::Deadlock);
  CHECK(m.x(5) == 1);
  m.machine->load(core::image_from_raw_bytes(Program().at(0, {a64::movz(5, 2), a64::kWfi}).bytes(), "second",
                                             m.machine->layout(), kBase));
  CHECK(m.run().kind == ExitKind::Deadlock);
  CHECK(m.x(5) == 2);
}

TEST_CASE("A console writer that throws stops the run and the exception reaches the caller") {
  TestMachine m(Program().at(
      0, join({imm64(2, core::kUartBase), {a64::movz(3, 'C'), 0xB900'0043u /* str w3, [x2] */, a64::kWfi}})));
  m.machine->console().set_writer([](std::string_view) { throw std::runtime_error("console is gone"); });
  CHECK_THROWS_WITH_AS(static_cast<void>(m.run()), "console is gone", std::runtime_error);
}

namespace {
// Writes 0xAB to RAM outside the image, then issues `reset_words`.
Program store_then(const Words& reset_words) {
  return Program().at(0, join({imm64(1, kBase + 0x10000),
                               {a64::movz(2, 0xAB), 0xF900'0022u /* str x2, [x1] */},
                               reset_words,
                               {a64::hvc(0), a64::kUdf0}}));
}
std::uint64_t ram_word(TestMachine& m, std::uint64_t addr) {
  std::uint64_t v = 0;
  std::memcpy(&v, m.machine->ram().at(addr, 8), 8);
  return v;
}
}  // namespace

TEST_CASE("A cold reset (SYSTEM_RESET) boots with RAM cleared") {
  core::MachineConfig config;
  config.on_reset = core::ResetAction::Exit;
  TestMachine m(store_then(imm64(0, 0x8400'0009)), config);
  CHECK(m.run().kind == ExitKind::SystemReset);
  CHECK(ram_word(m, kBase + 0x10000) == 0);
}

TEST_CASE("A warm reset (SYSTEM_RESET2 type 0) keeps RAM") {
  core::MachineConfig config;
  config.on_reset = core::ResetAction::Exit;
  TestMachine m(store_then(join({imm64(0, 0x8400'0012), {a64::movz(1, 0)}})), config);
  CHECK(m.run().kind == ExitKind::SystemReset);
  CHECK(ram_word(m, kBase + 0x10000) == 0xAB);
}

TEST_CASE("A64 encoders for the GIC CPU interface, DAIF and WFE match GNU as") {
  CHECK(a64::kDaifClrI == 0xD503'42FFu);                    // msr daifclr, #2
  CHECK(a64::kDaifSetI == 0xD503'42DFu);                    // msr daifset, #2
  CHECK(a64::kWfe == 0xD503'205Fu);                         // wfe
  CHECK(a64::msr(a64::kIccEoir1El1, 1) == 0xD518'CC21u);    // msr icc_eoir1_el1, x1
  CHECK(a64::msr(a64::kIccPmrEl1, 2) == 0xD518'4602u);      // msr icc_pmr_el1, x2
  CHECK(a64::msr(a64::kIccIgrpen1El1, 3) == 0xD518'CCE3u);  // msr icc_igrpen1_el1, x3
  CHECK(a64::mrs(4, a64::kCntvCtlEl0) == 0xD53B'E324u);     // mrs x4, cntv_ctl_el0
  CHECK(a64::msr(a64::kIccSgi1rEl1, 5) == 0xD518'CBA5u);    // msr icc_sgi1r_el1, x5
}

TEST_CASE("A64 encoders for the timer registers match GNU as") {
  CHECK(a64::msr(a64::kCntvCvalEl0, 1) == 0xD51B'E341u);  // msr cntv_cval_el0, x1
  CHECK(a64::mrs(2, a64::kCntvTvalEl0) == 0xD53B'E302u);  // mrs x2, cntv_tval_el0
  CHECK(a64::msr(a64::kCntvTvalEl0, 3) == 0xD51B'E303u);  // msr cntv_tval_el0, x3
  CHECK(a64::mrs(4, a64::kCntvCvalEl0) == 0xD53B'E344u);  // mrs x4, cntv_cval_el0
  CHECK(a64::b_cond(a64::kEq, -2) == 0x54FF'FFC0u);       // b.eq .-8
  CHECK(a64::mrs(1, a64::kCntvctEl0) == 0xD53B'E041u);    // mrs x1, cntvct_el0
  CHECK(a64::msr(a64::kPmccntrEl0, 3) == 0xD51B'9D03u);   // msr pmccntr_el0, x3
}

TEST_CASE("Timer TVAL reads and writes use virtual time, never host time (same on every run)") {
  // CVAL = 0: TVAL reads as -counter (32 bits). Then TVAL = 1000 sets CVAL = counter + 1000.
  const Program p = Program().at(0, {a64::msr(a64::kCntvCvalEl0, 31), a64::mrs(2, a64::kCntvTvalEl0),
                                     a64::mrs(5, a64::kCntvctEl0), a64::movz(3, 1000), a64::msr(a64::kCntvTvalEl0, 3),
                                     a64::mrs(6, a64::kCntvctEl0), a64::mrs(4, a64::kCntvCvalEl0), a64::kWfi});
  TestMachine a(p);
  TestMachine b(p);
  CHECK(a.run().kind == ExitKind::Deadlock);
  CHECK(b.run().kind == ExitKind::Deadlock);
  CHECK(a.x(2) == b.x(2));
  CHECK(a.x(2) == static_cast<std::uint32_t>(0 - a.x(5)));  // 1 ns apart: the same 16 ns tick
  CHECK(a.x(4) == a.x(6) + 1000);
  CHECK(a.x(4) == b.x(4));
}

TEST_CASE("PMCCNTR_EL0 counts on from a value the guest writes") {
  TestMachine m(
      Program().at(0, {a64::movz(3, 0x7000), a64::msr(a64::kPmccntrEl0, 3), a64::mrs(4, a64::kPmccntrEl0), a64::kWfi}));
  CHECK(m.run().kind == ExitKind::Deadlock);
  // Exact to the instruction: the read counts the MSR itself, one cycle after the write.
  CHECK(m.x(4) == 0x7000 + 1);
}

TEST_CASE("EL0 reading CNTVCT_EL0 without CNTKCTL_EL1.EL0VCTEN traps to EL1 with EC 0x18") {
  const std::uint64_t el0_code = kBase + 0x100;
  Program p;
  p.at(0, join({install_vectors(), eret_to_el0(el0_code, kBase + 0x3000)}));
  p.at(0x100, {a64::mrs(1, a64::kCntvctEl0), a64::kUdf0});
  p.at(0x800 + 0x400, kRecordAndStop);
  TestMachine m(p);
  CHECK(m.run().kind == ExitKind::Deadlock);
  // EC 0x18, IL, ISS: Op0 3, Op2 2, Op1 3, CRn 14, Rt 1, CRm 0, read.
  const std::uint32_t iss = (3u << 20) | (2u << 17) | (3u << 14) | (14u << 10) | (1u << 5) | 1u;
  CHECK(m.x(10) == ((0x18u << 26) | (1u << 25) | iss));
  CHECK(m.x(11) == el0_code);
}

TEST_CASE("A quantum smaller than a translated block still makes progress") {
  core::MachineConfig config;
  config.quantum = 1;
  Words body;
  for (int i = 0; i < 50; ++i) body.push_back(a64::kNop);
  TestMachine m(Program().at(0, join({body, imm64(0, 0x8400'0008), {a64::hvc(0)}})), config);
  CHECK(m.run().kind == ExitKind::SystemOff);
}

TEST_CASE("PL011: the peripheral and PrimeCell ID registers read part 0x011 by Arm, 0xB105F00D (DDI 0183 3.3.14-15)") {
  // ldr w<n>, [x2, #0xFE0 + 4 * k] for the eight ID registers, x2 = the UART.
  Words code = imm64(2, core::kUartBase);
  for (unsigned k = 0; k < 8; ++k) code.push_back(0xB940'0040u | (((0xFE0u + 4 * k) / 4) << 10) | (3 + k));
  code.push_back(a64::kWfi);
  TestMachine m(Program().at(0, code));
  CHECK(m.run().kind == ExitKind::Deadlock);
  const std::uint64_t want[8] = {0x11, 0x10, 0x14, 0x00, 0x0D, 0xF0, 0x05, 0xB1};
  for (unsigned k = 0; k < 8; ++k) CHECK(m.x(3 + k) == want[k]);
}

TEST_CASE("Unicorn errors: core::check names the call and the engine's reason, and lets success through") {
  CHECK_NOTHROW(core::check(UC_ERR_OK, "uc_reg_read"));
  CHECK_THROWS_WITH_AS(core::check(UC_ERR_ARG, "uc_reg_read"), doctest::Contains("Unicorn: uc_reg_read: "),
                       std::runtime_error);
  CHECK_THROWS_WITH_AS(core::check(UC_ERR_ARG, "uc_reg_read"), doctest::Contains(uc_strerror(UC_ERR_ARG)),
                       std::runtime_error);
}
