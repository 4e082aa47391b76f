// Generic timers in virtual time, WFI and WFE through the engine (Arm ARM DDI 0487 D11.2.4,
// D1.6.2), with raw instruction words. The guests under guests/timer cover the GIC path.
#include <doctest/doctest.h>

#include "tests/core/program.h"

namespace emu::test {
namespace {
using core::ExitKind;
constexpr std::uint32_t kSystemOff = 0x8400'0008;
Words system_off() {
  return join({imm64(0, kSystemOff), {a64::hvc(0)}});
}
constexpr std::uint64_t kTickNs = 16;  // the counter runs at 62.5 MHz (README, "The guest platform")
}  // namespace

TEST_CASE("Timer: CNTV_CTL.ISTATUS is set once the virtual counter reaches CVAL, on virtual time") {
  // x2 = 100 ticks; TVAL = x2; CTL = ENABLE; spin until CTL reads ENABLE|ISTATUS (5).
  const Words code =
      join({{a64::movz(1, 1), a64::movz(2, 100), a64::mrs(6, a64::kCntvctEl0), a64::msr(a64::kCntvTvalEl0, 2),
             a64::msr(a64::kCntvCtlEl0, 1), a64::mrs(3, a64::kCntvCtlEl0), a64::cmp(3, 5), a64::b_cond(a64::kNe, -2),
             a64::mrs(4, a64::kCntvctEl0), a64::mrs(5, a64::kCntvCvalEl0), a64::mrs(7, a64::kCntvTvalEl0)},
            system_off()});
  TestMachine m(Program().at(0, code));
  REQUIRE(m.run().kind == ExitKind::SystemOff);
  CHECK(m.x(5) >= m.x(6) + 100);  // CVAL = the counter at the TVAL write + 100
  CHECK(m.x(5) <= m.x(6) + 101);
  CHECK(m.x(4) >= m.x(5));      // ISTATUS only once the condition holds
  CHECK(m.x(4) - m.x(5) <= 2);  // and at once: the spin loop is 3 instructions
  // TVAL is CVAL - counter as a signed 32-bit value: 0 or negative once expired (bits 63:32 zero).
  CHECK(m.x(7) <= 0xFFFF'FFFFu);
  CHECK(static_cast<std::int32_t>(m.x(7)) <= 0);
  CHECK(static_cast<std::int32_t>(m.x(7)) >= -2);
}

TEST_CASE("Timer: a vCPU in WFI sleeps until its timer fires, and the skipped time costs no instructions") {
  constexpr std::uint32_t kOneSecondTicks = 62'500'000;
  const Words code = join({imm64(2, kOneSecondTicks),
                           {a64::movz(1, 1), a64::msr(a64::kCntvTvalEl0, 2), a64::msr(a64::kCntvCtlEl0, 1), a64::kWfi,
                            a64::mrs(4, a64::kCntvctEl0), a64::mrs(5, a64::kCntvCvalEl0)},
                           system_off()});
  TestMachine m(Program().at(0, code));
  REQUIRE(m.run().kind == ExitKind::SystemOff);
  CHECK(m.x(4) >= m.x(5));
  CHECK(m.x(4) - m.x(5) <= 1);
  const core::VcpuStats& st = m.machine->stats(0);
  CHECK(st.virtual_ns >= kOneSecondTicks * kTickNs);
  CHECK(st.instructions < 40);
}

TEST_CASE("Timer: with the output masked (CTL.IMASK) WFI has nothing to wait for: the machine deadlocks") {
  const Words code = join({{a64::movz(1, 3), a64::movz(2, 100), a64::msr(a64::kCntvTvalEl0, 2),
                            a64::msr(a64::kCntvCtlEl0, 1), a64::kWfi, a64::b(-1)}});
  TestMachine m(Program().at(0, code));
  CHECK(m.run().kind == ExitKind::Deadlock);
}

TEST_CASE("Timer: the physical and virtual timers are separate, and CVAL writes read back") {
  const Words code =
      join({imm64(1, 0x1234'5678'9ABCull),
            imm64(2, 0x42),
            {a64::msr(a64::kCntpCvalEl0, 1), a64::msr(a64::kCntvCvalEl0, 2), a64::movz(3, 2),
             a64::msr(a64::kCntpCtlEl0, 3), a64::mrs(4, a64::kCntpCvalEl0), a64::mrs(5, a64::kCntvCvalEl0),
             a64::mrs(6, a64::kCntpCtlEl0), a64::mrs(7, a64::kCntvCtlEl0)},
            system_off()});
  TestMachine m(Program().at(0, code));
  REQUIRE(m.run().kind == ExitKind::SystemOff);
  CHECK(m.x(4) == 0x1234'5678'9ABCull);
  CHECK(m.x(5) == 0x42);
  CHECK(m.x(6) == 2);  // IMASK only: not enabled, so no ISTATUS
  CHECK(m.x(7) == 0);
}

TEST_CASE("WFE: the guest goes on (no event is ever lost: WFE may complete at any time)") {
  const Words code = join({{a64::kWfe, a64::movz(9, 7)}, system_off()});
  TestMachine m(Program().at(0, code));
  CHECK(m.run().kind == ExitKind::SystemOff);
  CHECK(m.x(9) == 7);
}

namespace {
constexpr std::uint64_t kGicd = 0x0800'0000;
constexpr std::uint64_t kGicrSgi0 = 0x080A'0000 + 0x1'0000;  // vCPU 0's SGI_base frame
constexpr std::uint32_t kVectors = 0x800;                    // VBAR_EL1 = kBase + 0x800 (2 KiB aligned)
constexpr std::uint32_t kIrqCurrentSpx = kVectors + 0x280;

// Enables INTID 27 (the virtual timer) as Group 1 on vCPU 0: GICR_WAKER.ProcessorSleep = 0,
// IGROUPR0 and ISENABLER0 bit 27, GICD_CTLR = ARE | EnableGrp1, PMR = 0xFF, IGRPEN1 = 1
// (GICv3 IHI 0069H §12.11, §12.9.4, §12.2). Uses x10..x13.
Words enable_vtimer_ppi() {
  return join(
      {imm64(10, 0x080A'0014),
       {a64::str_w(31, 10)},
       imm64(10, kGicrSgi0 + 0x80),
       imm64(11, 1u << 27),
       {a64::str_w(11, 10)},
       imm64(10, kGicrSgi0 + 0x100),
       {a64::str_w(11, 10)},
       imm64(10, kGicd),
       {a64::movz(12, 0x12), a64::str_w(12, 10)},
       {a64::movz(13, 0xFF), a64::msr(a64::kIccPmrEl1, 13), a64::movz(13, 1), a64::msr(a64::kIccIgrpen1El1, 13)},
       imm64(10, kBase + kVectors),
       {a64::msr(a64::kVbarEl1, 10)}});
}
// The IRQ handler: x20 = IAR1, x21 = CNTVCT, x22 = ELR; the timer off, EOI, power off.
Words irq_handler() {
  return join({{a64::mrs(20, a64::kIccIar1El1), a64::mrs(21, a64::kCntvctEl0), a64::mrs(22, a64::kElrEl1),
                a64::msr(a64::kCntvCtlEl0, 31), a64::msr(a64::kIccEoir1El1, 20)},
               system_off()});
}
}  // namespace

TEST_CASE(
    "IRQ: the virtual timer's PPI 27 is taken at the first block boundary after CVAL, at VBAR + 0x280 from EL1h") {
  const Words main =
      join({enable_vtimer_ppi(),
            {a64::movz(2, 200), a64::msr(a64::kCntvTvalEl0, 2), a64::movz(1, 1), a64::msr(a64::kCntvCtlEl0, 1),
             a64::mrs(5, a64::kCntvCvalEl0), a64::kDaifClrI, a64::add(6, 6, 1), a64::b(-1)}});
  auto run = [&] {
    TestMachine m(Program().at(0, main).at(kIrqCurrentSpx, irq_handler()));
    const core::RunExit e = m.run();
    INFO(e.summary);
    REQUIRE(e.kind == ExitKind::SystemOff);
    CHECK(m.x(20) == 27);      // IAR1: the INTID
    CHECK(m.x(21) >= m.x(5));  // not before CVAL
    // and at once: the entry's --trap-cost (100 ns) and a tick or two of instructions later
    CHECK(m.x(21) - m.x(5) <= (100 + 2 * kTickNs) / kTickNs);
    CHECK(m.x(22) == kBase + 4 * (main.size() - 2));  // ELR: the interrupted ADD (a block of its own loop)
    CHECK(m.reg(core::Reg::SpsrEl1) == 0x345);        // EL1h, D, A, F masked, I clear: the interrupted PSTATE
    CHECK(m.machine->stats(0).irqs == 1);
    return std::pair{m.x(21), m.machine->stats(0).instructions};
  };
  CHECK(run() == run());  // the same virtual time and instruction count every run
}

TEST_CASE("IRQ: masked by PSTATE.I a signalled timer interrupt is not taken, but WFI completes and IAR1 reads it") {
  const Words main =
      join({enable_vtimer_ppi(),
            {a64::movz(2, 200), a64::msr(a64::kCntvTvalEl0, 2), a64::movz(1, 1), a64::msr(a64::kCntvCtlEl0, 1),
             a64::kWfi, a64::mrs(20, a64::kIccIar1El1), a64::msr(a64::kIccEoir1El1, 20)},
            system_off()});
  TestMachine m(Program().at(0, main).at(kIrqCurrentSpx, {a64::movz(9, 1), a64::b(0)}));
  REQUIRE(m.run().kind == ExitKind::SystemOff);
  CHECK(m.x(20) == 27);
  CHECK(m.x(9) == 0);  // the handler never ran
  CHECK(m.machine->stats(0).irqs == 0);
}

}  // namespace emu::test
