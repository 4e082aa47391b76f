// End-to-end trap round trip: a guest loop of HVC calls through the whole emulator, beside a
// raw Unicorn engine running the same loop whose interrupt hook only writes x0.
// Each iteration runs kCalls calls; items/s is calls per second.
#include <benchmark/benchmark.h>
#include <unicorn/unicorn.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "core/machine.h"

namespace {

constexpr std::uint64_t kCalls = 100'000;
constexpr std::uint64_t kCode = emu::core::kRawImageAddress;

// loop: movz x0, #0x8000, lsl #16 ; hvc #0 ; subs x19, x19, #1 ; b.ne loop ; wfi
// (words from aarch64-linux-gnu-as)
constexpr std::array<std::uint32_t, 5> kLoop{0xD2B0'0000, 0xD400'0002, 0xF100'0673, 0x54FF'FFA1, 0xD503'207F};

std::vector<std::uint8_t> loop_bytes() {
  std::vector<std::uint8_t> bytes(kLoop.size() * 4);
  std::memcpy(bytes.data(), kLoop.data(), bytes.size());
  return bytes;
}

void check(uc_err err) {
  if (err != UC_ERR_OK) throw std::runtime_error(uc_strerror(err));
}

void BM_Trap_RawUnicornHvc(benchmark::State& state) {
  uc_engine* uc = nullptr;
  check(uc_open(UC_ARCH_ARM64, UC_MODE_ARM, &uc));
  check(uc_ctl_set_cpu_model(uc, UC_CPU_ARM64_MAX));
  check(uc_mem_map(uc, emu::core::kRamBase, 1 << 20, UC_PROT_ALL));
  const auto bytes = loop_bytes();
  check(uc_mem_write(uc, kCode, bytes.data(), bytes.size()));
  uc_arm64_cp_reg scr{1, 1, 3, 6, 0, 0};  // SCR_EL3: HVC needs HCE at EL1
  check(uc_reg_read(uc, UC_ARM64_REG_CP_REG, &scr));
  scr.val |= (1u << 0) | (1u << 8) | (1u << 10);
  check(uc_reg_write(uc, UC_ARM64_REG_CP_REG, &scr));
  uc_hook hook{};
  auto on_intr = +[](uc_engine* engine, std::uint32_t, void*) {
    const std::uint64_t version = 0x1'0002;
    uc_reg_write(engine, UC_ARM64_REG_X0, &version);
  };
  check(uc_hook_add(uc, &hook, UC_HOOK_INTR, reinterpret_cast<void*>(on_intr), nullptr, 1, 0));
  for (auto _ : state) {
    const std::uint64_t n = kCalls;
    uc_reg_write(uc, UC_ARM64_REG_X19, &n);
    check(uc_emu_start(uc, kCode, 0, 0, 0));  // returns at the WFI
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kCalls));
  uc_close(uc);
}
BENCHMARK(BM_Trap_RawUnicornHvc)->Unit(benchmark::kMillisecond);

// The same loop, ended by a call the SMCCC filter forwards to the host instead of the WFI: a
// vCPU in WFI could not be resumed, a vCPU stopped at a forwarded call can.
void BM_Trap_SmcccEmuHvc(benchmark::State& state) {
  constexpr std::uint32_t kStop = 0xC600'0040;  // a vendor FID nothing else uses
  std::vector<std::uint8_t> bytes = loop_bytes();
  // in place of the wfi: movz x0, #0x40; movk x0, #0xc600, lsl #16; hvc #0
  const std::array<std::uint32_t, 3> stop{0xD280'0800, 0xF2B8'C000, 0xD400'0002};
  bytes.resize(bytes.size() - 4);
  for (std::uint32_t w : stop) {
    for (int i = 0; i < 4; ++i) bytes.push_back(static_cast<std::uint8_t>(w >> (8 * i)));
  }
  emu::core::Machine machine({.memory = 1 << 20});
  if (machine.add_filter_range(kStop, 1, 2) != emu::fw::HostStatus::Ok) state.SkipWithError("filter");
  machine.load(emu::core::image_from_raw_bytes(bytes, "loop", machine.layout(), kCode));
  std::uint64_t calls = 0;
  std::uint64_t virtual_ns = 0;
  for (auto _ : state) {
    machine.set_reg(0, emu::core::Reg::Pc, kCode);
    machine.set_reg(0, emu::core::xreg(19), kCalls);
    const std::uint64_t before = machine.stats(0).calls;
    const std::uint64_t before_ns = machine.stats(0).virtual_ns;
    const emu::core::RunExit exit = machine.run();
    if (exit.kind != emu::core::ExitKind::Hypercall || exit.fid != kStop) state.SkipWithError("the loop did not end");
    calls += machine.stats(0).calls - before - 1;  // the loop's calls, not the stop
    virtual_ns += machine.stats(0).virtual_ns - before_ns;
  }
  if (calls != state.iterations() * kCalls) state.SkipWithError("the loop made a wrong number of calls");
  state.SetItemsProcessed(static_cast<std::int64_t>(calls));
  // Guest-visible cost: virtual ns per loop iteration (the call, its trap cost and the loop).
  state.counters["virtual_ns_per_item"] = static_cast<double>(virtual_ns) / static_cast<double>(calls);
}
BENCHMARK(BM_Trap_SmcccEmuHvc)->Unit(benchmark::kMillisecond);

// SDEI round trip (issue 5): the guest signals event 0 to itself (SDEI_EVENT_SIGNAL), the
// handler is entered as the call returns and issues SDEI_EVENT_COMPLETE, which resumes the
// loop. Items are round trips: two HVCs, one handler entry and one context restore each;
// compare with BM_Trap_SmcccEmuHvc (one plain call) in the same run.
void BM_Trap_SdeiSignalRoundTrip(benchmark::State& state) {
  // start: REGISTER(0, handler, 0, 0, 0); ENABLE(0); PE_UNMASK
  // loop:  SIGNAL(0, 0); subs x19, x19, #1; b.ne loop; HVC 0xC6000040 (forwarded: stop)
  // handler: COMPLETE(0)
  // (words from aarch64-linux-gnu-as)
  constexpr std::array<std::uint32_t, 29> kWords{
      0xD280'0420, 0xF2B8'8000, 0xD280'0001, 0x1000'02C2, 0xD280'0003, 0xD280'0004, 0xD280'0005, 0xD400'0002,
      0xD280'0440, 0xF2B8'8000, 0xD280'0001, 0xD400'0002, 0xD280'0580, 0xF2B8'8000, 0xD400'0002, 0xD280'05E0,
      0xF2B8'8000, 0xD280'0001, 0xD280'0002, 0xD400'0002, 0xF100'0673, 0x54FF'FF41, 0xD280'0800, 0xF2B8'C000,
      0xD400'0002, 0xD280'04A0, 0xF2B8'8000, 0xD280'0001, 0xD400'0002};
  constexpr std::uint32_t kStop = 0xC600'0040;
  std::vector<std::uint8_t> bytes(kWords.size() * 4);
  std::memcpy(bytes.data(), kWords.data(), bytes.size());
  emu::core::Machine machine({.memory = 1 << 20});
  if (machine.add_filter_range(kStop, 1, 2) != emu::fw::HostStatus::Ok) state.SkipWithError("filter");
  machine.load(emu::core::image_from_raw_bytes(bytes, "sdei-loop", machine.layout(), kCode));
  std::uint64_t calls = 0;
  std::uint64_t virtual_ns = 0;
  for (auto _ : state) {
    machine.set_reg(0, emu::core::Reg::Pc, kCode);  // REGISTER again is DENIED: harmless
    machine.set_reg(0, emu::core::xreg(19), kCalls);
    const std::uint64_t before = machine.stats(0).calls;
    const std::uint64_t before_ns = machine.stats(0).virtual_ns;
    const emu::core::RunExit exit = machine.run();
    if (exit.kind != emu::core::ExitKind::Hypercall || exit.fid != kStop) state.SkipWithError("the loop did not end");
    calls += machine.stats(0).calls - before - 4;  // setup (3) and the stop
    virtual_ns += machine.stats(0).virtual_ns - before_ns;
  }
  if (calls != state.iterations() * kCalls * 2) state.SkipWithError("the handler did not run once per signal");
  state.SetItemsProcessed(static_cast<std::int64_t>(calls / 2));
  // Guest-visible cost: two calls and a handler entry at --trap-cost each, plus instructions.
  state.counters["virtual_ns_per_item"] = static_cast<double>(virtual_ns) / static_cast<double>(calls / 2);
}
BENCHMARK(BM_Trap_SdeiSignalRoundTrip)->Unit(benchmark::kMillisecond);

// MMU abort round trip: a guest loop of loads from an unmapped VA (MMU on, 4K tables), each a
// translation fault delivered to VBAR_EL1 + 0x200, whose handler adds 4 to ELR_EL1 and ERETs.
// Items are aborts. Arg 0 is the same loop with a mapped address (no abort): the baseline.
void BM_Trap_DataAbortRoundTrip(benchmark::State& state) {
  // start: VBAR = +0x800, MAIR, TCR (T0SZ 25, 4K), TTBR0 = +0x1000, MMU on
  // loop:  ldr x3, [x2]; subs x19, x19, #1; b.ne loop; HVC 0xC6000040 (forwarded: stop)
  // +0xA00: mrs x10, elr_el1; add x10, x10, #4; msr elr_el1, x10; eret
  // (words from aarch64-linux-gnu-as)
  constexpr std::array<std::uint32_t, 23> kWords{
      0x1000'4001, 0xD518'C001, 0xD280'1FE1, 0xD518'A201, 0xD286'A321, 0xF2A0'1001, 0xD518'2041, 0x1000'7F21,
      0xD518'2001, 0xD503'3B9F, 0xD508'871F, 0xD503'3B9F, 0xD503'3FDF, 0xD538'1001, 0xB240'0021, 0xD518'1001,
      0xD503'3FDF, 0xF940'0043, 0xF100'0673, 0x54FF'FFC1, 0xD280'0800, 0xF2B8'C000, 0xD400'0002};
  constexpr std::array<std::uint32_t, 4> kHandler{0xD538'402A, 0x9100'114A, 0xD518'402A, 0xD69F'03E0};
  constexpr std::uint32_t kStop = 0xC600'0040;
  const bool abort = state.range(0) != 0;
  std::vector<std::uint8_t> bytes(0x3000);
  std::memcpy(bytes.data(), kWords.data(), kWords.size() * 4);
  std::memcpy(bytes.data() + 0xA00, kHandler.data(), kHandler.size() * 4);
  // L1[1] -> L2 at +0x2000; L2[0]: 2 MiB block at RAM's start, read-only, AF; L2[1] invalid.
  const std::uint64_t l1_entry = (kCode + 0x2000) | 3, block = 0x4000'0000 | 0x7C1;
  std::memcpy(bytes.data() + 0x1008, &l1_entry, 8);
  std::memcpy(bytes.data() + 0x2000, &block, 8);
  emu::core::Machine machine({.memory = 1 << 20});
  if (machine.add_filter_range(kStop, 1, 2) != emu::fw::HostStatus::Ok) state.SkipWithError("filter");
  machine.load(emu::core::image_from_raw_bytes(bytes, "abort-loop", machine.layout(), kCode));
  std::uint64_t virtual_ns = 0;
  for (auto _ : state) {
    machine.set_reg(0, emu::core::Reg::Pc, kCode);
    machine.set_reg(0, emu::core::xreg(19), kCalls);
    machine.set_reg(0, emu::core::xreg(2), abort ? 0x4020'0000 : kCode + 0x2000);
    const std::uint64_t before_ns = machine.stats(0).virtual_ns;
    const emu::core::RunExit exit = machine.run();
    if (exit.kind != emu::core::ExitKind::Hypercall || exit.fid != kStop) state.SkipWithError("the loop did not end");
    virtual_ns += machine.stats(0).virtual_ns - before_ns;
  }
  const std::uint64_t items = state.iterations() * kCalls;
  state.SetItemsProcessed(static_cast<std::int64_t>(items));
  // Guest-visible cost per loop iteration: the abort's --trap-cost and the handler's
  // instructions, plus the loop.
  state.counters["virtual_ns_per_item"] = static_cast<double>(virtual_ns) / static_cast<double>(items);
}
BENCHMARK(BM_Trap_DataAbortRoundTrip)->Arg(1)->Arg(0)->Unit(benchmark::kMillisecond);

// IRQ round trip: the guest sends SGI 1 to itself (ICC_SGI1R_EL1) and the IRQ is taken at the
// next block boundary; the handler acknowledges (ICC_IAR1_EL1), ends it (ICC_EOIR1_EL1) and
// ERETs. Items are interrupts: an SGI write, an IRQ entry and two ICC accesses each; compare
// with BM_Trap_SmcccEmuHvc (one plain call) in the same run.
void BM_Trap_IrqSgiRoundTrip(benchmark::State& state) {
  // start: GICR_WAKER = 0; IGROUPR0 = ISENABLER0 = bit 1; GICD_CTLR = ARE | EnableGrp1;
  //        PMR = 0xFF; IGRPEN1 = 1; VBAR = +0x800; DAIFClr #2; x5 = SGI 1 to Aff0 0
  // loop:  msr icc_sgi1r_el1, x5; isb; subs x19, x19, #1; b.ne loop; HVC 0xC6000040 (stop)
  // +0xA80: mrs x20, icc_iar1_el1; msr icc_eoir1_el1, x20; add x21, x21, #1; eret
  // (words from aarch64-linux-gnu-as)
  constexpr std::array<std::uint32_t, 29> kWords{
      0xD280'028A, 0xF2A1'014A, 0xB900'015F, 0xD280'100A, 0xF2A1'016A, 0x5280'004B, 0xB900'014B, 0x9102'014A,
      0xB900'014B, 0xD2A1'000A, 0x5280'024C, 0xB900'014C, 0xD280'1FED, 0xD518'460D, 0xD280'002D, 0xD518'CCED,
      0x1000'3E0A, 0xD518'C00A, 0xD503'3FDF, 0xD503'42FF, 0xD280'0025, 0xF2A0'2005, 0xD518'CBA5, 0xD503'3FDF,
      0xF100'0673, 0x54FF'FFA1, 0xD280'0800, 0xF2B8'C000, 0xD400'0002};
  constexpr std::array<std::uint32_t, 4> kHandler{0xD538'CC14, 0xD518'CC34, 0x9100'06B5, 0xD69F'03E0};
  constexpr std::uint32_t kStop = 0xC600'0040;
  std::vector<std::uint8_t> bytes(0x1000);
  std::memcpy(bytes.data(), kWords.data(), kWords.size() * 4);
  std::memcpy(bytes.data() + 0xA80, kHandler.data(), kHandler.size() * 4);
  emu::core::Machine machine({.memory = 1 << 20});
  if (machine.add_filter_range(kStop, 1, 2) != emu::fw::HostStatus::Ok) state.SkipWithError("filter");
  machine.load(emu::core::image_from_raw_bytes(bytes, "sgi-loop", machine.layout(), kCode));
  std::uint64_t virtual_ns = 0;
  std::uint64_t irqs = 0;
  for (auto _ : state) {
    machine.set_reg(0, emu::core::Reg::Pc, kCode);
    machine.set_reg(0, emu::core::xreg(19), kCalls);
    const std::uint64_t before_ns = machine.stats(0).virtual_ns;
    const std::uint64_t before_irqs = machine.stats(0).irqs;
    const emu::core::RunExit exit = machine.run();
    if (exit.kind != emu::core::ExitKind::Hypercall || exit.fid != kStop) state.SkipWithError("the loop did not end");
    virtual_ns += machine.stats(0).virtual_ns - before_ns;
    irqs += machine.stats(0).irqs - before_irqs;
  }
  if (irqs != state.iterations() * kCalls) state.SkipWithError("not one IRQ per SGI");
  state.SetItemsProcessed(static_cast<std::int64_t>(irqs));
  state.counters["virtual_ns_per_item"] = static_cast<double>(virtual_ns) / static_cast<double>(irqs);
}
BENCHMARK(BM_Trap_IrqSgiRoundTrip)->Unit(benchmark::kMillisecond);

// SGI ping-pong between two vCPUs: vCPU 0 sends SGI 1 to vCPU 1, whose handler sends it back;
// vCPU 0's handler counts and pings again. Both wait in WFI in between, so each round trip is
// two SGIs, two IRQ entries, two WFI wake-ups and the scheduler switching engines twice.
void BM_Trap_SgiPingPong(benchmark::State& state) {
  // vCPU 0: GICD_CTLR = ARE | EnableGrp1; set up its GIC; CPU_ON(1, second); wait for `ready`;
  //   DAIFClr #2; SGI 1 to vCPU 1; loop: wfi; cbnz x19, loop; HVC 0xC6000040 (stop)
  // second (vCPU 1): set up its GIC; ready = 1; DAIFClr #2; wfi loop
  // cpu_setup: GICR_WAKER = 0, IGROUPR0 = ISENABLER0 = bit 1, PMR 0xFF, IGRPEN1, VBAR = +0x800
  // +0xA80: IAR1; EOIR1; on vCPU 0: subs x19 and ping vCPU 1 unless done; on vCPU 1: SGI 1 to vCPU 0; eret
  // (words from aarch64-linux-gnu-as)
  constexpr std::array<std::uint32_t, 49> kWords{
      0xD2A1'000A, 0x5280'024C, 0xB900'014C, 0x9400'001A, 0xD280'0060, 0xF2B8'8000, 0xD280'0021,
      0x1000'01E2, 0xD280'0003, 0xD400'0002, 0x1000'04E9, 0xB940'0128, 0x34FF'FFE8, 0xD503'42FF,
      0xD280'0045, 0xF2A0'2005, 0xD518'CBA5, 0xD503'207F, 0xB5FF'FFF3, 0xD280'0800, 0xF2B8'C000,
      0xD400'0002, 0x9400'0007, 0x1000'0349, 0x5280'0028, 0xB900'0128, 0xD503'42FF, 0xD503'207F,
      0x17FF'FFFF, 0xD538'00AB, 0x9240'1D6B, 0xD280'028A, 0xF2A1'014A, 0x8B0B'454A, 0xB900'015F,
      0x9140'414A, 0xD100'514A, 0x9102'014A, 0x5280'004C, 0xB900'014C, 0xB900'814C, 0xD280'1FED,
      0xD518'460D, 0xD280'002D, 0xD518'CCED, 0x1000'3A6A, 0xD518'C00A, 0xD503'3FDF, 0xD65F'03C0};
  constexpr std::array<std::uint32_t, 15> kHandler{0xD538'CC14, 0xD518'CC34, 0xD538'00AB, 0x9240'1D6B, 0xB500'00EB,
                                                   0xF100'0673, 0x5400'0080, 0xD280'0045, 0xF2A0'2005, 0xD518'CBA5,
                                                   0xD69F'03E0, 0xD280'0025, 0xF2A0'2005, 0xD518'CBA5, 0xD69F'03E0};
  constexpr std::uint32_t kStop = 0xC600'0040;
  std::vector<std::uint8_t> bytes(0x1000);  // the `ready` word after the code is 0
  std::memcpy(bytes.data(), kWords.data(), kWords.size() * 4);
  std::memcpy(bytes.data() + 0xA80, kHandler.data(), kHandler.size() * 4);
  emu::core::Machine machine({.cpus = 2, .memory = 1 << 20});
  if (machine.add_filter_range(kStop, 1, 2) != emu::fw::HostStatus::Ok) state.SkipWithError("filter");
  machine.load(emu::core::image_from_raw_bytes(bytes, "sgi-ping-pong", machine.layout(), kCode));
  constexpr std::uint64_t kRounds = kCalls / 10;
  std::uint64_t irqs = 0;
  for (auto _ : state) {
    machine.set_reg(0, emu::core::Reg::Pc, kCode);  // CPU_ON again is ALREADY_ON: harmless
    machine.set_reg(0, emu::core::xreg(19), kRounds);
    const std::uint64_t before = machine.stats(0).irqs + machine.stats(1).irqs;
    const emu::core::RunExit exit = machine.run();
    if (exit.kind != emu::core::ExitKind::Hypercall || exit.fid != kStop) state.SkipWithError("the loop did not end");
    irqs += machine.stats(0).irqs + machine.stats(1).irqs - before;
  }
  if (irqs != state.iterations() * kRounds * 2) state.SkipWithError("not two IRQs per round trip");
  state.SetItemsProcessed(static_cast<std::int64_t>(irqs / 2));
}
BENCHMARK(BM_Trap_SgiPingPong)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
