// The trap bridge and exception entry. The Unicorn 2.1.1 behaviour relied on here (the intno
// values of UC_HOOK_INTR, PC/PSTATE writes, exception entry) is pinned by tests/core.
#include "core/vcpu.h"

#include <fmt/format.h>
#include <algorithm>
#include <cstring>
#include <span>
#include <stdexcept>
#include <utility>

#include "core/direct_regs.h"
#include "core/fault_report.h"
#include "core/semihosting.h"

namespace emu::core {
namespace {

// QEMU's EXCP_* numbers as Unicorn 2.1 reports them in UC_HOOK_INTR (its intno argument).
constexpr std::uint32_t kExcpUdef = 1;
constexpr std::uint32_t kExcpSwi = 2;
constexpr std::uint32_t kExcpPrefetchAbort = 3;
constexpr std::uint32_t kExcpDataAbort = 4;
constexpr std::uint32_t kExcpBkpt = 7;
constexpr std::uint32_t kExcpHvc = 11;
constexpr std::uint32_t kExcpSmc = 13;

// Instruction encodings (Arm ARM C6).
constexpr std::uint32_t kExceptionGenMask = 0xFFE0'001F;
constexpr std::uint32_t kHvcBits = 0xD400'0002;
constexpr std::uint32_t kSmcBits = 0xD400'0003;
constexpr std::uint32_t kHltBits = 0xD440'0000;
constexpr std::uint32_t kWfi = 0xD503'207F;
constexpr std::uint32_t kSysRegMoveMask = 0xFFD0'0000;  // MRS (L=1) and MSR (register), op0 >= 2
constexpr std::uint32_t kSysRegMoveBits = 0xD510'0000;
std::uint16_t imm16(std::uint32_t word) {
  return static_cast<std::uint16_t>((word >> 5) & 0xFFFF);
}

// ESR_ELx (Arm ARM D17.2.37): EC in [31:26], IL in [25].
constexpr std::uint64_t kEsrIl = 1u << 25;
constexpr std::uint64_t esr(std::uint32_t ec, std::uint32_t iss = 0) {
  return (std::uint64_t{ec} << 26) | kEsrIl | iss;
}
constexpr std::uint32_t kEcUnknown = 0x00;
constexpr std::uint32_t kEcSvc64 = 0x15;
constexpr std::uint32_t kEcSysRegTrap = 0x18;
constexpr std::uint32_t kEcBrk64 = 0x3C;

// PSTATE / SPSR fields.
constexpr std::uint32_t kModeEl1h = 0x5;
constexpr std::uint32_t kDaifMask = 0xFu << 6;
constexpr std::uint32_t kPan = 1u << 22;
constexpr std::uint64_t kSctlrSpan = 1u << 23;
constexpr std::uint32_t kBootPstate = kModeEl1h | kDaifMask;  // 0x3C5, as KVM's reset value

// Vector offsets from VBAR_EL1 for synchronous exceptions (Arm ARM D1.10.2).
constexpr std::uint64_t kVectorCurrentSp0 = 0x000;
constexpr std::uint64_t kVectorCurrentSpx = 0x200;
constexpr std::uint64_t kVectorLowerA64 = 0x400;
constexpr std::uint64_t kVectorTableSize = 0x800;

constexpr SysReg kScrEl3{3, 6, 1, 1, 0};
constexpr SysReg kHcrEl2{3, 4, 1, 1, 0};
constexpr SysReg kVmpidrEl2{3, 4, 0, 0, 5};
constexpr SysReg kSctlrEl1{3, 0, 1, 0, 0};
constexpr SysReg kSpsrEl1{3, 0, 4, 0, 0};  // Unicorn has no named SPSR_EL1 register id
constexpr SysReg kVbarEl1{3, 0, 12, 0, 0};
constexpr std::uint64_t kScrNs = 1u << 0;
constexpr std::uint64_t kScrHce = 1u << 8;  // HVC is UNDEFINED at EL1 without it (Arm ARM SCR_EL3.HCE)
constexpr std::uint64_t kScrRw = 1u << 10;  // EL2/EL1 are AArch64; Unicorn's EL1 MMU needs it (SCR_EL3.RW)
constexpr std::uint64_t kHcrRw = 1ull << 31;
// Pointer authentication (FEAT_PAuth): without API/APK the PAC instructions and the key
// registers trap to EL3/EL2 (Arm ARM D19.2.117 SCR_EL3, D19.2.48 HCR_EL2).
constexpr std::uint64_t kScrApk = 1u << 16;
constexpr std::uint64_t kScrApi = 1u << 17;
constexpr std::uint64_t kHcrApk = 1ull << 40;
constexpr std::uint64_t kHcrApi = 1ull << 41;

using fw::kCounterHz;
using fw::kCounterTickNs;

// The FEAT_PAN rule of exception entry applies to the CPU model used (Unicorn's "max").
constexpr bool kHasPan = true;

int call_register(int i) {
  if (i < 29) return UC_ARM64_REG_X0 + i;
  return i == 29 ? UC_ARM64_REG_X29 : UC_ARM64_REG_X30;
}
// Unicorn's batch API takes non-const id arrays.
std::array<int, fw::kCallRegisters> make_call_ids() {
  std::array<int, fw::kCallRegisters> ids{};
  for (int i = 0; i < fw::kCallRegisters; ++i) ids[static_cast<std::size_t>(i)] = call_register(i);
  return ids;
}
std::array<int, fw::kCallRegisters> g_call_ids = make_call_ids();  // x0..x17
std::array<int, 2> g_entry_ids{UC_ARM64_REG_X0, UC_ARM64_REG_PC};

int uc_reg_id(Reg r) {
  const auto n = static_cast<unsigned>(r);
  if (n <= 30) return call_register(static_cast<int>(n));
  switch (r) {
    case Reg::Sp: return UC_ARM64_REG_SP;
    case Reg::Pc: return UC_ARM64_REG_PC;
    case Reg::Pstate: return UC_ARM64_REG_PSTATE;
    case Reg::ElrEl1: return UC_ARM64_REG_ELR_EL1;
    case Reg::EsrEl1: return UC_ARM64_REG_ESR_EL1;
    case Reg::FarEl1: return UC_ARM64_REG_FAR_EL1;
    case Reg::VbarEl1: return UC_ARM64_REG_VBAR_EL1;
    default: return UC_ARM64_REG_INVALID;
  }
}

}  // namespace

void check(uc_err err, const char* what) {
  if (err != UC_ERR_OK) throw std::runtime_error(fmt::format("Unicorn: {}: {}", what, uc_strerror(err)));
}

Vcpu::Vcpu(unsigned index, Machine& machine, VcpuStats& clock)
    : index_(index), machine_(machine), clock_(clock), cost_(machine.config_.cost) {
  check(uc_open(UC_ARCH_ARM64, UC_MODE_ARM, &uc_), "uc_open");
  try {
    check(uc_ctl_set_cpu_model(uc_, UC_CPU_ARM64_MAX), "select the cpu model");
    // Before the first mapping: Unicorn allocates the buffer in its lazy set-up.
    check(uc_ctl_set_tcg_buffer_size(uc_, static_cast<std::uint32_t>(machine_.config_.code_buffer)),
          "size the code buffer");
    code_limit_ = machine_.config_.code_buffer / 4 * 3;
    const GuestRam& ram = machine_.ram_;
    check(uc_mem_map_ptr(uc_, ram.base(), ram.size(), UC_PROT_ALL, ram.host()), "map guest RAM");
    check(uc_mmio_map(uc_, kUartBase, kUartSize, on_uart_read, this, on_uart_write, this), "map the PL011");
    check(uc_mmio_map(uc_, kGicDist.base, Gicv3::kDistSize, on_gicd_read, this, on_gicd_write, this),
          "map the GIC distributor");
    check(uc_mmio_map(uc_, kGicRedist.base, machine_.config_.cpus * Gicv3::kRedistStride, on_gicr_read, this,
                      on_gicr_write, this),
          "map the GIC redistributors");
    uc_hook h{};
    check(uc_hook_add(uc_, &h, UC_HOOK_INTR, reinterpret_cast<void*>(on_interrupt), this, 1, 0), "hook interrupts");
    check(uc_hook_add(uc_, &h, UC_HOOK_BLOCK, reinterpret_cast<void*>(on_block), this, 1, 0), "hook blocks");
    check(uc_hook_add(uc_, &h, UC_HOOK_MEM_UNMAPPED, reinterpret_cast<void*>(on_unmapped), this, 1, 0),
          "hook unmapped accesses");
    // Hooks are compiled into translated code, so all of them go in before anything runs.
    check(uc_hook_add(uc_, &h, UC_HOOK_INSN, reinterpret_cast<void*>(on_mrs), this, 1, 0, UC_ARM64_INS_MRS),
          "hook MRS");
    check(uc_hook_add(uc_, &h, UC_HOOK_INSN, reinterpret_cast<void*>(on_msr), this, 1, 0, UC_ARM64_INS_MSR),
          "hook MSR");
    check(uc_hook_add(uc_, &h, UC_HOOK_INSN, reinterpret_cast<void*>(on_sys), this, 1, 0, UC_ARM64_INS_SYS),
          "hook SYS");
    check(uc_hook_add(uc_, &h, UC_HOOK_EDGE_GENERATED, reinterpret_cast<void*>(on_translated), this, 1, 0),
          "hook translations");
    warm_up_translation_hook();
    // The debugger's breakpoints, before anything is translated (so nothing to drop).
    for (const std::uint64_t va : machine_.breakpoints_) add_breakpoint(va);

    // EL3 and EL2 exist in the model but never run guest code; configure them so that EL1 is
    // a non-secure AArch64 EL1 under a hypervisor: HVC enabled, MMU usable, and MPIDR_EL1
    // reads return VMPIDR_EL2 (docs/architecture.md, "The platform": Aff0 = i % 16, Aff1 = i / 16).
    // PAuth is enabled for EL1 and EL0 (Linux writes its keys early in boot). CPTR_EL3.EZ stays
    // 0: SVE is hidden, and enabling it makes Unicorn 2.1.1 abort the process.
    const std::uint64_t scr = read_sysreg(kScrEl3) | kScrNs | kScrHce | kScrRw | kScrApi | kScrApk;
    check(write_sysreg(kScrEl3, scr), "configure SCR_EL3");
    check(write_sysreg(kHcrEl2, kHcrRw | kHcrApi | kHcrApk), "configure HCR_EL2");
    check(write_sysreg(kVmpidrEl2, fw::mpidr_of(index)), "set the MPIDR");
    regs_ = locate_register_file(uc_);
  } catch (...) {
    uc_close(uc_);
    throw;
  }

  for (std::size_t i = 0; i < fw::kCallRegisters; ++i) {
    arg_ptrs_[i] = &call_.x[i];
    out_ptrs_[i] = &result_.x[i];
  }
  entry_ptrs_ = {&call_.x[0], &call_pc_};
  call_.vcpu = index;
  call_.source = this;
}

Vcpu::~Vcpu() {
  uc_close(uc_);
}

void Vcpu::power_on(std::uint64_t entry, std::uint64_t x0) {
  for (unsigned i = 0; i <= 30; ++i) set_reg(xreg(i), 0);
  set_reg(Reg::X0, x0);
  set_reg(Reg::Sp, 0);
  set_reg(Reg::Pstate, kBootPstate);
  // A CP_REG write after the PSTATE write makes Unicorn rebuild its cached hflags (a PSTATE
  // write alone leaves QEMU's cached translation flags stale in Unicorn 2.1).
  check(write_sysreg(kVbarEl1, 0), "reset VBAR_EL1");
  set_reg(Reg::Pc, entry);
  powered_on_ = true;
}

Vcpu::Stop Vcpu::run(std::uint64_t budget, bool hard) {
  budget_ = budget_left_ = budget;
  hard_budget_ = hard;
  synced_ = 0;
  block_left_ = budget;
  block_start_ = 0;
  stop_requested_ = false;
  summary_.clear();
  report_.clear();
  irq_entry_ = sdei_entry_ = code_sync_ = false;
  // Time has passed since the last slice: the timers' outputs first (they may trigger an SDEI
  // event bound to a timer), then an SDEI event that became deliverable while the vCPU was
  // not running (DEN0054C, the dispatch conditions), then what the GIC signals.
  machine_.update_timer_lines(index_, machine_.counter_of(index_));
  attention_ = 0;
  if (machine_.firmware_.sdei_any_pending()) enter_sdei_handler();
  set_irq_line(machine_.gic_.irq_signalled(index_));
  if (irq_line() && irq_unmasked()) take_irq();
  has_run_ = true;
  for (;;) {
    if (stop_requested_) return stop_;
    // until = 0 and no count: the slice ends only through uc_emu_stop from a hook.
    fetch_hole_.reset();
    const std::uint64_t pc = regs_ != nullptr ? regs_[kRegFilePc] : reg(Reg::Pc);
    // The instruction a debugger stop left the vCPU at runs without stopping there again;
    // once the PC is elsewhere (the host moved it, an IRQ was taken) that no longer applies.
    if (break_skip_ && *break_skip_ != pc) [[unlikely]]
      break_skip_.reset();
    const uc_err err = uc_emu_start(uc_, pc, 0, 0, 0);
    if (resume_pc_) [[unlikely]]
      set_reg(Reg::Pc, *std::exchange(resume_pc_, std::nullopt));
    sync_clock();
    if (hook_error_) std::rethrow_exception(std::exchange(hook_error_, nullptr));
    const bool emptied = code_full_;
    if (emptied) [[unlikely]]
      empty_code_buffer();
    const bool code_synced = std::exchange(code_sync_, false);
    attention_ &= ~kCodeSync;
    if (code_synced) machine_.apply_code_changes(index_);
    if (stop_requested_) return stop_;
    if (std::exchange(sdei_entry_, false)) {  // a firmware-owned interrupt changed
      attention_ &= ~kSdeiCheck;
      enter_sdei_handler();
      continue;
    }
    if (std::exchange(irq_entry_, false)) {  // the block hook saw an unmasked IRQ
      take_irq();
      continue;
    }
    if (err == UC_ERR_FETCH_UNMAPPED && fetch_hole_) {
      // An instruction fetch from nowhere: deliver the abort and go on with the slice.
      fetch_external_abort();
      continue;
    }
    if (err != UC_ERR_OK) {
      fatal(fmt::format("the engine stopped: {}", uc_strerror(err)));
      return Stop::Fault;
    }
    // Stopped after an IC instruction's block (a WFI in that block completes at once, as a
    // WFI may, Arm ARM D1.6.2).
    if (code_synced || emptied) continue;
    if (!wfi_completes()) return stop_requested_ ? stop_ : Stop::Wfi;
  }
}

// No hook asked to stop, so the guest halted itself: WFI returns from uc_emu_start with the
// PC past it (measured on Unicorn 2.1.1). The only other way is reaching `until`, address 0. With an interrupt
// signalled, even one PSTATE.I masks, the WFI completes at once (Arm ARM D1.6.2) and the slice
// goes on; otherwise the machine makes the vCPU wait.
bool Vcpu::wfi_completes() {
  const std::uint64_t now = reg(Reg::Pc);
  if (now == 0) {
    fatal("execution reached address 0");
    return false;
  }
  std::uint32_t word = 0;
  if (fetch_word(now - 4, word) && word != kWfi) {
    fatal(fmt::format("execution stopped unexpectedly at {:#x}", now));
    return false;
  }
  // An SDEI event ends the WFI as the interrupt that triggers it would (Arm ARM D1.6.2).
  if (machine_.firmware_.sdei_any_pending() && enter_sdei_handler()) return true;
  if (!irq_line()) return false;  // the WFI itself, or code the host cannot read (MMU on)
  if (irq_unmasked()) take_irq();
  return true;
}

void Vcpu::stop(Stop why) {
  stop_ = why;
  stop_requested_ = true;
  stop_engine();
}

// From hooks, so it never throws: a failure is kept and rethrown by run() (status 70).
void Vcpu::stop_engine() noexcept {
  const uc_err err = uc_emu_stop(uc_);
  if (err != UC_ERR_OK && !hook_error_) {
    hook_error_ =
        std::make_exception_ptr(std::runtime_error(fmt::format("Unicorn: uc_emu_stop: {}", uc_strerror(err))));
  }
}

void Vcpu::fatal(std::string summary) {
  RegisterSnapshot snap;
  for (unsigned i = 0; i <= 30; ++i) snap.x[i] = reg(xreg(i));
  snap.sp = reg(Reg::Sp);
  snap.pc = reg(Reg::Pc);
  snap.pstate = read_pstate();
  snap.elr_el1 = reg(Reg::ElrEl1);
  snap.spsr_el1 = reg(Reg::SpsrEl1);
  snap.esr_el1 = reg(Reg::EsrEl1);
  snap.far_el1 = reg(Reg::FarEl1);
  snap.vbar_el1 = reg(Reg::VbarEl1);
  snap.sctlr_el1 = reg(Reg::SctlrEl1);
  summary_ = std::move(summary);
  report_ = format_fault_report(index_, snap, machine_.ram_);
  stop(Stop::Fault);
}

// ---- hooks: C callbacks, so every body that can throw runs inside guarded() ----

template <typename Body>
void Vcpu::guarded(Body&& body) noexcept {
  try {
    body();
  } catch (...) {
    hook_error_ = std::current_exception();
    stop_requested_ = true;
    stop_engine();
  }
}

bool Vcpu::mmu_on() const {
  return (reg(Reg::SctlrEl1) & 1) != 0;
}

// Runs before every translated block: the whole cost of scheduling, time keeping and
// interrupts on the guest's hot path, so it does nothing but spend the budget, note where the
// block starts (for counter reads exact to the instruction, sync_clock_at_pc) and test the
// IRQ signal, which the GIC keeps current (the check is a flag, never a poll of the GIC).
void Vcpu::on_block(uc_engine* /*uc*/, std::uint64_t address, std::uint32_t size, void* self) {
  auto& v = *static_cast<Vcpu*>(self);
  const std::uint64_t n = size / 4;
  // Everything rare goes to a function of its own, reached by a tail call, so that this one
  // needs no stack frame: about 11 host instructions a block.
  if (v.attention_ != 0 || n > v.budget_left_) [[unlikely]]
    return v.block_slow_path(address, n);
  v.begin_block(address, n);
}

void Vcpu::begin_block(std::uint64_t address, std::uint64_t n) {
  block_start_ = address;
  block_left_ = budget_left_;
  budget_left_ -= n;
}

// on_block when attention_ is set or the block does not fit in what is left of the budget.
void Vcpu::block_slow_path(std::uint64_t address, std::uint64_t n) {
  if (attention_ != 0 && attend_before_block(address)) return;
  if (n > budget_left_) {
    if (budget_left_ == budget_ && !hard_budget_) {
      // A quantum smaller than the first block: run the block anyway, or no vCPU would ever
      // make progress.
      budget_ = budget_left_ = n;
    } else {
      stop_ = Stop::Budget;
      stop_requested_ = true;
      stop_before_block(address);  // takes effect before this block runs
      return;
    }
  }
  begin_block(address, n);
}

// What on_block does when attention_ is set; true if the block must not run now.
bool Vcpu::attend_before_block(std::uint64_t address) {
  if ((attention_ & kCodeSync) != 0) {  // an IC in the block before, while debugging
    attention_ &= ~kCodeSync;
    stop_before_block(address);
    return true;
  }
  if ((attention_ & kSdeiCheck) != 0) {  // before an IRQ: the SDEI handler masks it
    sdei_entry_ = true;
    stop_before_block(address);
    return true;
  }
  // Taken here, before the block runs, when PSTATE.I allows: ELR is this block's address.
  bool take = false;
  guarded([&] { take = irq_unmasked(); });
  if (!take) return false;
  irq_entry_ = true;
  stop_before_block(address);
  return true;
}

void Vcpu::sync_clock() {
  sync_to(budget_ - budget_left_);
}

// Unicorn 2.1.1 puts the PC back to the start of a block that a stop request kept from running
// only while no UC_HOOK_CODE hook exists (measured: with a breakpoint hook anywhere, a vCPU
// whose slice ended at a chained block resumed past it). While the debugger's hooks exist,
// run() puts it back itself.
void Vcpu::stop_before_block(std::uint64_t address) noexcept {
  if (debug_hooks_) [[unlikely]]
    resume_pc_ = address;
  stop_engine();
}

// ---- the debugger: breakpoints and single step ----

// A UC_HOOK_CODE hook is compiled only into the instructions of its [begin, end] range, and
// Unicorn 2.1.1 checks for a stop request right after calling it, so uc_emu_stop here takes
// effect before the instruction executes, with the PC at it (tests/core/debug_test.cpp).
void Vcpu::add_breakpoint(std::uint64_t va) {
  uc_hook h{};
  check(uc_hook_add(uc_, &h, UC_HOOK_CODE, reinterpret_cast<void*>(on_breakpoint), this, va, va), "hook a breakpoint");
  breakpoint_hooks_.emplace_back(va, h);
  debug_hooks_ = true;
}

void Vcpu::remove_breakpoint(std::uint64_t va) {
  const auto it =
      std::find_if(breakpoint_hooks_.begin(), breakpoint_hooks_.end(), [va](const auto& b) { return b.first == va; });
  if (it == breakpoint_hooks_.end()) return;
  check(uc_hook_del(uc_, it->second), "remove a breakpoint hook");
  breakpoint_hooks_.erase(it);
  debug_hooks_ = stepping_ || !breakpoint_hooks_.empty();
}

void Vcpu::on_breakpoint(uc_engine* /*uc*/, std::uint64_t address, std::uint32_t /*size*/, void* self) {
  auto& v = *static_cast<Vcpu*>(self);
  if (v.stepping_) return;  // the step hook stops at the next instruction, whatever it is
  if (v.break_skip_ == address) {
    v.break_skip_.reset();
    return;
  }
  v.halt_at(address, Stop::Breakpoint);
}

// The step hook covers every address: it sees the stepped instruction first, and stops the
// engine at whatever instruction comes next (after a branch, a trap's return or an exception
// entry alike).
void Vcpu::on_step(uc_engine* /*uc*/, std::uint64_t address, std::uint32_t /*size*/, void* self) {
  auto& v = *static_cast<Vcpu*>(self);
  if (!v.stepping_) return;
  if (!v.step_started_) {
    v.step_started_ = true;
    return;
  }
  v.halt_at(address, Stop::Budget);
}

// The block hook charged the whole block on entry; only the instructions before `address`
// have run (never less than a clock sync inside the block already counted: time is monotonic).
void Vcpu::halt_at(std::uint64_t address, Stop why) {
  count_to(address);
  break_skip_ = address;
  stop(why);
}

void Vcpu::count_to(std::uint64_t address) {
  const std::uint64_t charged = block_left_ - budget_left_;  // the block's instructions
  std::uint64_t done = address >= block_start_ ? (address - block_start_) / 4 : charged;
  done = std::min(done, charged);
  const std::uint64_t executed = std::max(budget_ - block_left_ + done, synced_);
  budget_left_ = budget_ - executed;
}

// One instruction through run(): a budget of 1 lets the first block start, and the step hook
// ends it after one instruction. The hook is compiled into code only when it is translated, so
// the engine's translations are dropped before the step and again after it (without the hook,
// code runs as fast as before the debugger stepped). Measured on Unicorn 2.1.1 over 1 MiB of
// translated code: 0.18 ms a step this way; uc_emu_start with count 1 took 11.5 ms, as the
// engine drops every translation when the next start is not counted.
Vcpu::Stop Vcpu::step() {
  uc_hook hook{};
  check(uc_hook_add(uc_, &hook, UC_HOOK_CODE, reinterpret_cast<void*>(on_step), this, 1, 0), "hook a single step");
  stepping_ = true;
  step_started_ = false;
  debug_hooks_ = true;
  Stop stop = Stop::Budget;
  try {
    flush_translations();
    stop = run(1, false);
  } catch (...) {
    end_step(hook);
    throw;
  }
  end_step(hook);
  return stop;
}

void Vcpu::end_step(uc_hook hook) {
  stepping_ = false;
  debug_hooks_ = !breakpoint_hooks_.empty();
  check(uc_hook_del(uc_, hook), "remove the single-step hook");
  flush_translations();
}

// Inside a block (MRS/MSR hooks): Unicorn 2.1.1 writes the PC of the hooked instruction
// before calling the hook, so the instructions executed are those before this block plus
// those of this block before the PC; the hooked instruction itself is not counted yet.
void Vcpu::sync_clock_at_pc() {
  std::uint64_t pc = 0;
  check(uc_reg_read(uc_, UC_ARM64_REG_PC, &pc), "uc_reg_read");
  const std::uint64_t entered = budget_ - budget_left_;
  const std::uint64_t before_block = budget_ - block_left_;
  std::uint64_t executed = entered;
  if (pc >= block_start_ && (pc - block_start_) / 4 < entered - before_block) {
    executed = before_block + (pc - block_start_) / 4;
  }
  sync_to(std::max(executed, synced_));  // never back: time stays monotonic
}

void Vcpu::sync_to(std::uint64_t executed) {
  const std::uint64_t delta = executed - synced_;
  synced_ = executed;
  machine_.instructions_ += delta;
  clock_.instructions += delta;
  clock_.virtual_ns += delta * cost_.instruction_ns;
}

// ---- virtual time (docs/architecture.md, "Virtual time and determinism") ----

namespace {
// System registers read through the MRS hook: {op0, op1, CRn, CRm, op2}.
constexpr bool is(const uc_arm64_cp_reg& cp, SysReg r) {
  return cp.op0 == r.op0 && cp.op1 == r.op1 && cp.crn == r.crn && cp.crm == r.crm && cp.op2 == r.op2;
}
constexpr SysReg kCntfrqEl0{3, 3, 14, 0, 0};
constexpr SysReg kCntpctEl0{3, 3, 14, 0, 1};
constexpr SysReg kCntvctEl0{3, 3, 14, 0, 2};
constexpr SysReg kCntpctssEl0{3, 3, 14, 0, 5};
constexpr SysReg kCntvctssEl0{3, 3, 14, 0, 6};
constexpr SysReg kPmccntrEl0{3, 3, 9, 13, 0};
constexpr SysReg kCntkctlEl1{3, 0, 14, 1, 0};
constexpr SysReg kPmuserenrEl0{3, 3, 9, 14, 0};
constexpr std::uint64_t kCntkctlEl0pcten = 1u << 0;
constexpr std::uint64_t kCntkctlEl0vcten = 1u << 1;
constexpr std::uint64_t kPmuserenrEn = 1u << 0;
constexpr std::uint64_t kPmuserenrCr = 1u << 2;
}  // namespace

// One system-wide counter (Arm ARM D11.1): a vCPU never reads a value below one another vCPU
// has already read, although vCPU clocks differ by up to a quantum. Deterministic: it only
// depends on the order of reads, which the scheduler fixes.
std::uint64_t Vcpu::counter() {
  sync_clock();
  return counter_synced();
}

std::uint64_t Vcpu::virtual_now() {
  sync_clock();
  return clock_.virtual_ns;
}

std::uint64_t Vcpu::counter_synced() {
  std::uint64_t& hwm = machine_.counter_high_water_;
  hwm = std::max(hwm, clock_.virtual_ns / kCounterTickNs);
  return hwm;
}

namespace {
constexpr std::uint64_t kCntkctlEl0vten = 1u << 8;  // EL0 access to CNTV_CTL/CVAL/TVAL (Arm ARM CNTKCTL_EL1)
constexpr std::uint64_t kCntkctlEl0pten = 1u << 9;  // EL0 access to CNTP_CTL/CVAL/TVAL

// CNTP_{TVAL,CTL,CVAL}_EL0 are CRm 2, CNTV_* CRm 3, with op2 0, 1, 2 (Arm ARM D19.11).
struct TimerRegister {
  GenericTimer::Kind kind;
  std::uint32_t op2;  // 0 TVAL, 1 CTL, 2 CVAL
};
constexpr std::optional<TimerRegister> timer_register(const uc_arm64_cp_reg& cp) {
  if (cp.op0 != 3 || cp.op1 != 3 || cp.crn != 14 || (cp.crm != 2 && cp.crm != 3) || cp.op2 > 2) return std::nullopt;
  return TimerRegister{cp.crm == 3 ? GenericTimer::Kind::Virtual : GenericTimer::Kind::Physical, cp.op2};
}
}  // namespace

// At EL0, CNTKCTL_EL1 opens the counters (EL0PCTEN, EL0VCTEN) and the timers (EL0PTEN,
// EL0VTEN) separately, and PMUSERENR_EL0 the cycle counter (Arm ARM D11.2.2, D13.3).
bool Vcpu::el0_may_read(const uc_arm64_cp_reg& cp) const {
  if (((read_pstate() >> 2) & 3) != 0) return true;
  if (is(cp, kPmccntrEl0)) return (read_sysreg(kPmuserenrEl0) & (kPmuserenrEn | kPmuserenrCr)) != 0;
  const std::uint64_t cntkctl = read_sysreg(kCntkctlEl1);
  if (const auto t = timer_register(cp)) {
    return (cntkctl & (t->kind == GenericTimer::Kind::Physical ? kCntkctlEl0pten : kCntkctlEl0vten)) != 0;
  }
  const bool physical = is(cp, kCntpctEl0) || is(cp, kCntpctssEl0);
  return (cntkctl & (physical ? kCntkctlEl0pcten : kCntkctlEl0vcten)) != 0;
}

void Vcpu::write_rt(uc_arm64_reg reg, std::uint64_t value) {
  if (reg != UC_ARM64_REG_XZR) check(uc_reg_write(uc_, reg, &value), "uc_reg_write");
}

// The generic counter, the timers and the cycle counter read virtual time, never host time:
// Unicorn computes all of them from CLOCK_MONOTONIC and never raises a timer interrupt.
// Skipping its handling in a UC_HOOK_INSN MRS hook and writing Rt ourselves is Unicorn's way to
// emulate a register. At EL0 a register the guest has not opened to EL0 is left to Unicorn,
// which makes the access trap as the architecture does.
std::uint32_t Vcpu::on_mrs(uc_engine* /*uc*/, uc_arm64_reg reg, const uc_arm64_cp_reg* cp, void* self) {
  auto& v = *static_cast<Vcpu*>(self);
  std::uint32_t handled = 0;
  v.guarded([&] { handled = v.mrs_access(reg, *cp); });
  return handled;
}

std::uint32_t Vcpu::mrs_access(uc_arm64_reg reg, const uc_arm64_cp_reg& cp) {
  const bool counter = is(cp, kCntvctEl0) || is(cp, kCntpctEl0) || is(cp, kCntvctssEl0) || is(cp, kCntpctssEl0);
  const bool cycles = is(cp, kPmccntrEl0);
  std::uint64_t value = 0;
  if (is(cp, kCntfrqEl0)) {
    value = kCounterHz;
  } else if (counter || cycles) {
    if (!el0_may_read(cp)) return 0;
    sync_clock_at_pc();
    // CNTVOFF is 0: virtual = physical. PMCCNTR counts at 1 GHz: one cycle per ns.
    value = counter ? counter_synced() : clock_.virtual_ns - pmccntr_offset_;
  } else if (icc_access(cp, reg, false)) {
    return 1;  // Rt is written and the PC stepped
  } else if (!timer_read(cp, value) && !model_read(cp, value)) {
    return 0;  // any other register: Unicorn's own handling
  }
  write_rt(reg, value);
  return 1;
}

// Timer writes go to the timer model (Unicorn's would compute from host time), PMCCNTR writes
// make the next reads count on from the value written; ICC_* go to the GIC.
std::uint32_t Vcpu::on_msr(uc_engine* /*uc*/, uc_arm64_reg reg, const uc_arm64_cp_reg* cp, void* self) {
  auto& v = *static_cast<Vcpu*>(self);
  std::uint32_t handled = 0;
  v.guarded([&] { handled = v.msr_access(reg, *cp); });
  return handled;
}

std::uint32_t Vcpu::msr_access(uc_arm64_reg reg, const uc_arm64_cp_reg& cp) {
  if (is(cp, kSctlrEl1) && (cp.val & 1) != 0) mmu_ever_on_ = true;  // see guest_pa()
  if (timer_write(cp, reg)) return 1;
  if (icc_access(cp, reg, true)) return 1;
  if (!is(cp, kPmccntrEl0)) return model_write(cp, reg) ? 1 : 0;
  if (((read_pstate() >> 2) & 3) == 0) return 0;  // EL0 writes: Unicorn's checks decide
  std::uint64_t written = 0;
  if (reg != UC_ARM64_REG_XZR) check(uc_reg_read(uc_, reg, &written), "uc_reg_read");
  sync_clock_at_pc();
  pmccntr_offset_ = clock_.virtual_ns - written;
  return 1;
}

bool Vcpu::timer_read(const uc_arm64_cp_reg& cp, std::uint64_t& value) {
  const std::optional<TimerRegister> t = timer_register(cp);
  if (!t || !el0_may_read(cp)) return false;
  sync_clock_at_pc();
  const std::uint64_t counter = counter_synced();
  const GenericTimer& timer = machine_.slots_[index_].timer;
  value = t->op2 == 0 ? timer.tval(t->kind, counter) : t->op2 == 1 ? timer.ctl(t->kind, counter) : timer.cval(t->kind);
  return true;
}

bool Vcpu::timer_write(const uc_arm64_cp_reg& cp, uc_arm64_reg reg) {
  const std::optional<TimerRegister> t = timer_register(cp);
  if (!t || !el0_may_read(cp)) return false;
  std::uint64_t written = 0;
  if (reg != UC_ARM64_REG_XZR) check(uc_reg_read(uc_, reg, &written), "uc_reg_read");
  sync_clock_at_pc();
  const std::uint64_t counter = counter_synced();
  GenericTimer& timer = machine_.slots_[index_].timer;
  if (t->op2 == 0)
    timer.set_tval(t->kind, written, counter);
  else if (t->op2 == 1)
    timer.set_ctl(t->kind, written);
  else
    timer.set_cval(t->kind, written);
  timer_changed(counter);
  return true;
}

// The outputs follow at once (the GIC tells the machine, which sets the IRQ line), and the
// slice is cut so that it ends at the next edge: the budget and what is left of it shrink
// together, which keeps the instructions already executed, and so the clock, unchanged.
void Vcpu::timer_changed(std::uint64_t counter) {
  machine_.update_timer_lines(index_, counter);
  const std::optional<std::uint64_t> to_edge = machine_.instructions_to_timer(index_, counter);
  if (!to_edge || synced_ + *to_edge >= budget_) return;
  const std::uint64_t cut = std::min(budget_ - (synced_ + *to_edge), budget_left_);
  budget_ -= cut;
  budget_left_ -= cut;
  block_left_ -= cut;
}

// GICv3 system registers (IHI 0069H §12.2): unknown to Unicorn, which would make them
// UNDEFINED, so the hook answers and steps over the instruction itself (measured on Unicorn
// 2.1.1: returning 1 without moving the PC runs the same MRS/MSR again, for ever).
bool Vcpu::icc_access(const uc_arm64_cp_reg& cp, uc_arm64_reg reg, bool write) {
  const std::optional<Gicv3::Icc> r = Gicv3::icc_register(cp.op0, cp.op1, cp.crn, cp.crm, cp.op2);
  if (!r || ((read_pstate() >> 2) & 3) == 0) return false;
  if (write) {
    std::uint64_t written = 0;
    if (reg != UC_ARM64_REG_XZR) check(uc_reg_read(uc_, reg, &written), "uc_reg_read");
    machine_.gic_.icc_write(index_, *r, written);
    if (*r == Gicv3::Icc::Eoir1 && machine_.tracing(TraceCategory::Irq)) [[unlikely]]
      trace_irq("EOI", written & kIntidMask);
  } else {
    const std::uint64_t value = machine_.gic_.icc_read(index_, *r);
    write_rt(reg, value);
    if (*r == Gicv3::Icc::Iar1 && machine_.tracing(TraceCategory::Irq)) [[unlikely]]
      trace_irq("ack", value & kIntidMask);
  }
  // Unicorn translated the access as UNDEFINED: returning 1 skips the exception but not the
  // instruction, so the PC (exact in a system-register hook on 2.1.1) moves past it here.
  std::uint64_t pc = 0;
  check(uc_reg_read(uc_, UC_ARM64_REG_PC, &pc), "uc_reg_read");
  pc += 4;
  check(uc_reg_write(uc_, UC_ARM64_REG_PC, &pc), "uc_reg_write");
  return true;
}

// ---- CPU model (Unicorn's "max" CPU, trimmed to what the model can run safely) ----

namespace {
// The GIC system-register interface (Arm ARM D19.2.64 ID_AA64PFR0_EL1.GIC): 1 = GICv3 CPU
// interface registers implemented, which the ICC_* hooks of icc_access() are.
constexpr bool kGicSystemRegisters = true;

constexpr SysReg kIdAa64Pfr0{3, 0, 0, 4, 0};
constexpr SysReg kIdAa64Pfr1{3, 0, 0, 4, 1};
constexpr SysReg kIdAa64Zfr0{3, 0, 0, 4, 4};
constexpr SysReg kIdAa64Smfr0{3, 0, 0, 4, 5};
constexpr SysReg kIdAa64Dfr0{3, 0, 0, 5, 0};
constexpr SysReg kIdAa64Isar1{3, 0, 0, 6, 1};
constexpr SysReg kRndr{3, 3, 2, 4, 0};
constexpr SysReg kRndrrs{3, 3, 2, 4, 1};
constexpr SysReg kMdscrEl1{2, 0, 0, 2, 2};
constexpr std::uint64_t kMdscrSs = 1u << 0;

constexpr std::uint64_t field(unsigned shift) {
  return std::uint64_t{0xF} << shift;
}
// ID_AA64PFR0_EL1: SVE [35:32] = 0 (Unicorn 2.1.1 aborts the process in sve_zcr_get_valid_len
// once SVE is enabled), GIC [27:24] from the switch above.
std::uint64_t model_pfr0(std::uint64_t v) {
  return (v & ~(field(32) | field(24))) | (std::uint64_t{kGicSystemRegisters ? 1u : 0u} << 24);
}
// ID_AA64PFR1_EL1 (D19.2.65): SME [27:24] and MTE [11:8] absent (Unicorn reads 0 already).
std::uint64_t model_pfr1(std::uint64_t v) {
  return v & ~(field(24) | field(8));
}
// ID_AA64DFR0_EL1 (D19.2.56): the debug breakpoint and watchpoint registers are RAZ/WI here,
// so report the architectural minimum: BRPs = 1 and WRPs = 1 (two of each; 0 is reserved),
// CTX_CMPs = 0 (one context-aware breakpoint).
std::uint64_t model_dfr0(std::uint64_t v) {
  return (v & ~(field(12) | field(20) | field(28))) | (std::uint64_t{1} << 12) | (std::uint64_t{1} << 20);
}
// ID_AA64ISAR1_EL1 (D19.2.62) without FEAT_PAuth: APA [7:4], API [11:8], GPA [27:24] and
// GPI [31:28] = 0, as QEMU's `-cpu max,pauth=off`. (Unicorn 2.1.1 has no ID_AA64ISAR2_EL1
// fields, so APA3/GPA3 read 0 already.)
std::uint64_t model_isar1(std::uint64_t v, bool pauth) {
  return pauth ? v : v & ~(field(4) | field(8) | field(24) | field(28));
}
// DBGBVR<n>_EL1, DBGBCR<n>_EL1, DBGWVR<n>_EL1, DBGWCR<n>_EL1 (D19.3): op0 2, op1 0, CRn 0,
// CRm n, op2 4..7. Unicorn 2.1.1 crashes the host process (SIGSEGV in translated code) as
// soon as a guest writes a DBGBCR with E = 1.
constexpr bool is_debug_point(const uc_arm64_cp_reg& cp) {
  return cp.op0 == 2 && cp.op1 == 0 && cp.crn == 0 && cp.op2 >= 4;
}
}  // namespace

// Reads the model answers instead of Unicorn: trimmed ID registers and RAZ debug points at
// EL1 (EL0 is left to Unicorn, which makes them UNDEFINED), and RNDR/RNDRRS at any EL.
bool Vcpu::model_read(const uc_arm64_cp_reg& cp, std::uint64_t& value) {
  if (is(cp, kRndr) || is(cp, kRndrrs)) {
    value = read_random();
    return true;
  }
  if (cp.op0 == 3 && cp.op1 == 0 && cp.crn == 0 && ((read_pstate() >> 2) & 3) != 0) {
    if (is(cp, kIdAa64Pfr0))
      value = model_pfr0(read_sysreg(kIdAa64Pfr0));
    else if (is(cp, kIdAa64Pfr1))
      value = model_pfr1(read_sysreg(kIdAa64Pfr1));
    else if (is(cp, kIdAa64Dfr0))
      value = model_dfr0(read_sysreg(kIdAa64Dfr0));
    else if (is(cp, kIdAa64Zfr0) || is(cp, kIdAa64Smfr0))
      value = 0;
    else if (is(cp, kIdAa64Isar1))
      value = model_isar1(read_sysreg(kIdAa64Isar1), machine_.config_.pauth);
    else
      return false;
    return true;
  }
  if (is_debug_point(cp) && ((read_pstate() >> 2) & 3) != 0) {
    value = 0;
    return true;
  }
  return false;
}

// Writes the model takes over at EL1: debug points are ignored (WI), and MDSCR_EL1.SS is
// ignored because Unicorn reports a software-step exception as an undefined instruction at
// the next PC, which cannot be told apart from a real one (software step is not modelled).
bool Vcpu::model_write(const uc_arm64_cp_reg& cp, uc_arm64_reg reg) {
  const bool debug_point = is_debug_point(cp);
  if (!debug_point && !is(cp, kMdscrEl1)) return false;
  if (((read_pstate() >> 2) & 3) == 0) return false;  // EL0: Unicorn's checks make it UNDEFINED
  if (debug_point) return true;
  std::uint64_t written = 0;
  if (reg != UC_ARM64_REG_XZR) check(uc_reg_read(uc_, reg, &written), "uc_reg_read");
  check(write_sysreg(kMdscrEl1, written & ~kMdscrSs), "write MDSCR_EL1");
  return true;
}

// FEAT_RNG (Arm ARM C5.2.15 RNDR): bits from the machine's entropy source, which --seed makes
// deterministic (Unicorn would call the host's getrandom). NZCV = 0b0000 on success; 0b0100
// with Xt = 0 when the source has nothing. The NZCV write is reloaded by the translated code
// after the hook returns (measured: a B.cond or CSET right after the MRS sees it).
std::uint64_t Vcpu::read_random() {
  std::uint64_t word = 0;
  const bool ok = machine_.entropy_->fill(std::span<std::uint64_t>(&word, 1));
  const std::uint32_t nzcv = ok ? 0u : (1u << 30);
  check(uc_reg_write(uc_, UC_ARM64_REG_NZCV, &nzcv), "uc_reg_write");
  return ok ? word : 0;
}

// Instruction-cache maintenance (IC IALLUIS, IC IALLU, IC IVAU) is a NOP in the engine, but it
// is how a guest says it changed code: other engines must drop what they translated before
// they run again (measured on Unicorn 2.1.1: every engine has its own translation cache).
// TLB maintenance to the Inner or Outer Shareable domain (Arm ARM D8.13) must reach every
// vCPU, and each engine has its own TLB: the others drop theirs before they run again.
std::uint32_t Vcpu::on_sys(uc_engine* /*uc*/, uc_arm64_reg /*reg*/, const uc_arm64_cp_reg* cp, void* self) {
  auto& v = *static_cast<Vcpu*>(self);
  std::uint32_t handled = 0;
  v.guarded([&] { handled = v.sys_instruction(*cp); });
  return handled;
}

std::uint32_t Vcpu::sys_instruction(const uc_arm64_cp_reg& cp) {
  if (cp.op0 == 1 && cp.crn == 8) {
    tlb_maintenance(cp);
    return 0;
  }
  if (cp.op0 != 1 || cp.crn != 7 || (cp.crm != 5 && cp.crm != 1)) return 0;
  // The engine stops at the end of this block (before the code the IC was for can run) and
  // run() drops this engine's stale translations; the others drop theirs after the slice.
  code_sync_ = true;
  if (debug_hooks_) [[unlikely]] {
    // The stop would take effect at the next block, whose PC Unicorn does not put back while a
    // UC_HOOK_CODE hook exists (see stop_before_block): the block hook stops there instead.
    attention_ |= kCodeSync;
  } else {
    stop_engine();
  }
  // IC IVAU (op1 3, CRm 5, op2 1; Arm ARM C5.3.13) names one line by VA: only that line of
  // physical memory is invalidated. IC IALLU(IS) (op1 0, op2 0): everything.
  if (cp.op1 == 3 && cp.op2 == 1) {
    constexpr std::uint64_t kLine = 64;  // CTR_EL0.IminLine = 4 in the CPU model: 16 words
    const std::optional<std::uint64_t> pa = translate(cp.val & ~(kLine - 1));
    if (pa) {
      machine_.note_code_range(index_, *pa, kLine);
      return 0;
    }
  }
  machine_.note_code_changed(index_);  // IALLU, or an IVAU whose VA does not translate
  return 0;
}

// TLBI at EL1 (op1 0; Arm ARM C5.5): CRm 3 is the Inner Shareable forms (VMALLE1IS, VAE1IS,
// ASIDE1IS, VAAE1IS, VALE1IS, VAALE1IS), 1 the Outer Shareable ones and 2 / 5 their range
// forms (FEAT_TLBIOS, FEAT_TLBIRANGE); 7 and 6 are this PE's alone, which the engine does
// itself. A broadcast drops every other engine's whole TLB (invalidating more than asked is
// always allowed), and this one's too, since the engine's CPU model predates the OS and range
// forms.
void Vcpu::tlb_maintenance(const uc_arm64_cp_reg& cp) {
  if (cp.op1 != 0 || (cp.crm != 1 && cp.crm != 2 && cp.crm != 3 && cp.crm != 5)) return;
  if (cp.crm != 3) flush_tlb();
  machine_.note_tlb_broadcast(index_);
}

void Vcpu::flush_tlb() {
  check(uc_ctl_flush_tlb(uc_), "flush the TLB");
}

// uc_ctl_remove_cache costs about 3 ns per 1 KiB page of the range (13 ms for 4 GiB, 0.34 us for
// one line); a full uc_ctl_flush_tb costs ~15 ms with Unicorn's 1 GiB code buffer, even empty.
// The range is a virtual address translated through this engine's current MMU, which may not
// map RAM where it is: with the MMU on, turn it off around the call (each CP_REG write makes
// Unicorn rebuild its cached state).
namespace {
// A scratch page for warm_up_translation_hook, in the I/O hole below RAM where no device is.
constexpr std::uint64_t kWarmUpPage = 0x0F00'0000;
constexpr std::uint64_t kCodePage = 4096;
}  // namespace

// Unicorn 2.1.1 reports a new translation (UC_HOOK_EDGE_GENERATED, from tb_find) only once the
// engine has left a translated block normally after the hook was added; the blocks translated
// before that are not reported (measured: the first block, and the one after an exception in
// the first slice). Two blocks run here on a scratch page, before any guest code, so that
// every guest block is reported.
void Vcpu::warm_up_translation_hook() {
  const std::array<std::uint32_t, 2> code{0x1400'0001u /* b .+4 */, kWfi};
  check(uc_mem_map(uc_, kWarmUpPage, kCodePage, UC_PROT_ALL), "map the warm-up page");
  check(uc_mem_write(uc_, kWarmUpPage, code.data(), sizeof code), "write the warm-up page");
  budget_ = budget_left_ = code.size();  // the block hook lets both blocks run
  check(uc_emu_start(uc_, kWarmUpPage, 0, 0, 0), "warm up the translation hook");
  check(uc_ctl_remove_cache(uc_, kWarmUpPage, kWarmUpPage + kCodePage), "uc_ctl_remove_cache");
  check(uc_mem_unmap(uc_, kWarmUpPage, kCodePage), "unmap the warm-up page");
  set_reg(Reg::Pc, 0);  // a vCPU never started shows the reset PC, not the scratch page
  budget_ = budget_left_ = 0;
  code_pages_.clear();
  code_bytes_ = 0;
}

void Vcpu::on_translated(uc_engine*, uc_tb* tb, uc_tb*, void* self) {
  auto& v = *static_cast<Vcpu*>(self);
  v.guarded([&] { v.note_translated(tb->pc, tb->size); });
}

// Runs once per translated block (rare next to executing them): records the physical pages
// the block's code came from, so that IC IALLU on another vCPU removes only those.
void Vcpu::note_translated(std::uint64_t va, std::uint64_t size) {
  // Counted in pages: a block in the top page of the address space must not wrap the loop.
  const std::uint64_t last = va + (size == 0 ? 0 : size - 1);
  const std::uint64_t pages = last / kCodePage - va / kCodePage + 1;
  std::uint64_t bytes = kBlockCodeBytes;
  for (std::uint64_t i = 0, page = va & ~(kCodePage - 1); i < pages; ++i, page += kCodePage) {
    const std::uint64_t from = std::max(va, page), to = std::min(last, page + (kCodePage - 1)) + 1;
    const std::optional<std::uint64_t> pa = translate(page);
    bytes += code_bytes_bound(pa ? std::optional(*pa + (from - page)) : std::nullopt, to - from);
    if (!pa) {
      code_pages_lost_ = true;  // unknown: the next full flush covers all of RAM
      continue;
    }
    const std::uint64_t n = *pa / kCodePage;
    if (!code_pages_.empty() && code_pages_.back() == n) continue;
    code_pages_.push_back(n);
  }
  if (code_pages_.size() > 2 * code_pages_compacted_ + 1024) {
    std::sort(code_pages_.begin(), code_pages_.end());
    code_pages_.erase(std::unique(code_pages_.begin(), code_pages_.end()), code_pages_.end());
    code_pages_compacted_ = code_pages_.size();
  }
  code_bytes_ += bytes;
  if (code_bytes_ > code_limit_ && !code_full_) {
    // Unicorn 2.1.1 crashes (SIGSEGV in tb_set_jmp_target) when it must empty a full buffer
    // itself; so the engine stops before this block runs and run() empties it.
    code_full_ = true;
    stop_before_block(va);
  }
}

// An upper bound of the host code and metadata Unicorn 2.1.1 writes into its buffer for `bytes`
// of guest code at physical address `pa`, measured per instruction over every load/store class
// (x86-64 host, the hooks of this engine): an AdvSIMD structure load/store (LD1..LD4, ST1..ST4,
// multiple or single, Arm ARM C4.1.66) up to 6.1 KiB (LD4 of 16-byte vectors is 64 element
// loads), every other instruction at most 420 bytes (LD4R), a block 200 bytes of its own.
// Unreadable code counts as the worst case.
std::uint64_t Vcpu::code_bytes_bound(std::optional<std::uint64_t> pa, std::uint64_t bytes) const {
  const GuestRam& ram = machine_.ram_;
  const std::uint64_t words = (bytes + 3) / 4;
  if (!pa || *pa < ram.base() || *pa + bytes > ram.end()) return words * kStructureCodeBytes;
  const std::uint8_t* p = ram.host() + (*pa - ram.base());
  std::uint64_t total = 0;
  for (std::uint64_t i = 0; i + 4 <= bytes; i += 4) {
    std::uint32_t w = 0;
    std::memcpy(&w, p + i, 4);
    // bit 31 = 0, bits 29:25 = 00110: the AdvSIMD load/store multiple and single structure classes.
    total += (w & 0xBE00'0000u) == 0x0C00'0000u ? kStructureCodeBytes : kOtherCodeBytes;
  }
  return total;
}

// The engine's whole translation cache, between two uc_emu_start calls (where Unicorn can empty
// it safely). Unicorn 2.1.1 touches every page of the buffer doing so (measured: all of a 64 MiB
// buffer resident after one flush, 13 ms), so from the first time on the buffer is committed.
void Vcpu::empty_code_buffer() {
  check(uc_ctl_flush_tb(uc_), "empty the code buffer");
  code_full_ = false;
  code_bytes_ = 0;
  code_pages_.clear();  // nothing is translated any more
  code_pages_compacted_ = 0;
  code_pages_lost_ = false;
}

// IC IALLU on another vCPU: only the pages this engine ever translated code from hold
// translations (contiguous pages merged into one range); all of RAM if one was unknown.
void Vcpu::flush_translations() {
  if (code_pages_lost_) {
    const CodeRange all{machine_.ram_.base(), machine_.ram_.size()};
    invalidate_code({&all, 1});
  } else {
    std::sort(code_pages_.begin(), code_pages_.end());
    code_pages_.erase(std::unique(code_pages_.begin(), code_pages_.end()), code_pages_.end());
    flush_ranges_.clear();
    for (const std::uint64_t n : code_pages_) {
      if (!flush_ranges_.empty() && flush_ranges_.back().address + flush_ranges_.back().size == n * kCodePage) {
        flush_ranges_.back().size += kCodePage;
      } else {
        flush_ranges_.push_back({n * kCodePage, kCodePage});
      }
    }
    invalidate_code(flush_ranges_);
  }
  code_pages_.clear();
  code_pages_compacted_ = 0;
  code_pages_lost_ = false;
}

void Vcpu::invalidate_code(std::span<const CodeRange> ranges) {
  if (ranges.empty()) return;
  const std::uint64_t sctlr = reg(Reg::SctlrEl1);
  const bool mmu = (sctlr & 1) != 0;
  if (mmu) check(write_sysreg(kSctlrEl1, sctlr & ~std::uint64_t{1}), "write SCTLR_EL1");
  const GuestRam& ram = machine_.ram_;
  for (const CodeRange& r : ranges) {
    const std::uint64_t start = std::max(r.address, ram.base());
    const std::uint64_t end = r.size > ram.end() - std::min(r.address, ram.end()) ? ram.end() : r.address + r.size;
    if (start < end) check(uc_ctl_remove_cache(uc_, start, end), "uc_ctl_remove_cache");
  }
  if (mmu) check(write_sysreg(kSctlrEl1, sctlr), "write SCTLR_EL1");
}

// The firmware calls first, with nothing else in this function, so that the hook every call
// enters through needs no more than a minimal frame; every other exception goes out of line.
void Vcpu::on_interrupt(uc_engine* /*uc*/, std::uint32_t intno, void* self) {
  auto& v = *static_cast<Vcpu*>(self);
  if (intno == kExcpHvc || intno == kExcpSmc) [[likely]] {
    v.guarded([&] { v.firmware_call(intno == kExcpHvc ? fw::Conduit::Hvc : fw::Conduit::Smc); });
    return;
  }
  v.on_other_exception(intno);
}

void Vcpu::on_other_exception(std::uint32_t intno) {
  guarded([&] {
    switch (intno) {
      case kExcpUdef: undefined_instruction(); return;
      case kExcpSwi: {
        // PC is already past the SVC, which is also the preferred return address.
        const std::uint64_t pc = reg(Reg::Pc);
        std::uint32_t word = 0;
        fetch_word(pc - 4, word);  // unreadable (MMU on): ISS imm16 reads 0
        take_exception(esr(kEcSvc64, imm16(word)), 0, pc, "SVC");
        return;
      }
      case kExcpBkpt: {
        const std::uint64_t pc = reg(Reg::Pc);
        std::uint32_t word = 0;
        fetch_word(pc, word);
        take_exception(esr(kEcBrk64, imm16(word)), 0, pc, "BRK");
        return;
      }
      case kExcpPrefetchAbort:
      case kExcpDataAbort:
        // An MMU fault, with the PC at the faulting instruction but no syndrome or address:
        // core/vcpu_mmu.cpp rebuilds them.
        mmu_abort(intno == kExcpPrefetchAbort);
        return;
      default: fatal(fmt::format("unexpected exception {} from the engine at {:#x}", intno, reg(Reg::Pc))); return;
    }
  });
}

bool Vcpu::on_unmapped(uc_engine* /*uc*/, uc_mem_type type, std::uint64_t address, int size, std::int64_t /*value*/,
                       void* self) {
  auto& v = *static_cast<Vcpu*>(self);
  v.guarded([&] {
    const char* kind = type == UC_MEM_WRITE_UNMAPPED ? "write to" : "read from";
    if (type == UC_MEM_FETCH_UNMAPPED) {
      // A fetch starts a translated block, so the PC is the fetch address once the engine
      // has returned: run() delivers the abort from there.
      v.fetch_hole_ = address;
    } else {
      // The engine reports a data access to a hole with the PC of the block, not of the
      // instruction, and the block's earlier stores have happened: it cannot be rewound.
      v.fatal(
          fmt::format("data external abort: {}-byte {} unmapped address {:#x} (no RAM or device there) cannot "
                      "be delivered: the engine does not report the faulting instruction exactly",
                      size, kind, address));
    }
  });
  return false;
}

// The PL011 at the vCPU's virtual time; its interrupt line follows every access. The time is
// that of the end of the current translated block (sync_clock), not of the accessing
// instruction as for a counter read (on_mrs, sync_clock_at_pc): Unicorn 2.1.1 does not sync
// the PC before an MMIO callback (measured: three stores in one block all read the block's
// start address as PC), so the instruction's place in the block is unknown. It is
// deterministic all the same: blocks, and so these times, depend only on the code.
std::uint64_t Vcpu::on_uart_read(uc_engine*, std::uint64_t offset, unsigned, void* self) {
  auto& v = *static_cast<Vcpu*>(self);
  std::uint64_t value = 0;
  v.guarded([&] {  // the console input is the host's
    value = v.machine_.uart_.read(offset, v.virtual_now());
    v.machine_.uart_changed();
  });
  return value;
}

void Vcpu::on_uart_write(uc_engine*, std::uint64_t offset, unsigned, std::uint64_t value, void* self) {
  auto& v = *static_cast<Vcpu*>(self);
  v.guarded([&] {  // the console writer is the host's
    v.machine_.uart_.write(offset, value, v.virtual_now());
    v.machine_.uart_changed();
  });
}

// The GIC's distributor and redistributors (GICv3 IHI 0069H §12.8-12.11). A write can signal
// an interrupt to any vCPU: the GIC tells the machine, which wakes or flags it.
std::uint64_t Vcpu::on_gicd_read(uc_engine*, std::uint64_t offset, unsigned size, void* self) {
  return static_cast<Vcpu*>(self)->machine_.gic_.dist_read(offset, size);
}

void Vcpu::on_gicd_write(uc_engine*, std::uint64_t offset, unsigned size, std::uint64_t value, void* self) {
  auto& v = *static_cast<Vcpu*>(self);
  v.guarded([&] { v.machine_.gic_.dist_write(offset, size, value); });
}

std::uint64_t Vcpu::on_gicr_read(uc_engine*, std::uint64_t offset, unsigned size, void* self) {
  return static_cast<Vcpu*>(self)->machine_.gic_.redist_read(offset, size);
}

void Vcpu::on_gicr_write(uc_engine*, std::uint64_t offset, unsigned size, std::uint64_t value, void* self) {
  auto& v = *static_cast<Vcpu*>(self);
  v.guarded([&] { v.machine_.gic_.redist_write(offset, size, value); });
}

// ---- the trap bridge ----

// fetch_word through the vCPU's translation regime (the MMU has been on).
bool Vcpu::fetch_word_mapped(std::uint64_t pc, std::uint32_t& word) {
  std::uint8_t bytes[4];
  if (read_guest(pc, bytes) != sizeof bytes) return false;
  std::memcpy(&word, bytes, sizeof word);
  return true;
}

// The result registers into the engine's register file. Nearly every answer is x0 alone
// (NOT_SUPPORTED, SDEI) or x0..x3, which are stored without a call (a variable-length copy
// becomes a memmove call).
inline void Vcpu::write_back_direct() {
  const std::array<std::uint64_t, fw::kCallRegisters>& x = result_.x;
  switch (result_.count) {
    case 1: regs_[0] = x[0]; return;
    case 4:
      regs_[0] = x[0];
      regs_[1] = x[1];
      regs_[2] = x[2];
      regs_[3] = x[3];
      return;
    default: std::copy_n(x.begin(), result_.count, regs_); return;
  }
}

void Vcpu::firmware_call(fw::Conduit conduit) {
  // x0 and the PC (already past the HVC/SMC when UC_HOOK_INTR runs); the dispatcher asks for the argument
  // registers it needs through load(), because each register read costs a few ns.
  if (regs_ != nullptr) [[likely]] {
    call_.x[0] = regs_[0];
    call_pc_ = regs_[kRegFilePc];
  } else {
    check(uc_reg_read_batch(uc_, g_entry_ids.data(), entry_ptrs_.data(), 2), "uc_reg_read_batch");
  }
  call_.loaded = 1;
  call_.conduit = conduit;
  std::uint32_t word = 0;
  const std::uint32_t expected = conduit == fw::Conduit::Hvc ? kHvcBits : kSmcBits;
  // The immediate is only readable when the code is identity-mapped RAM; otherwise assume #0.
  call_.imm = (fetch_word(call_pc_ - 4, word) && (word & kExceptionGenMask) == expected) ? imm16(word) : 0;

  machine_.firmware_.dispatch(call_, result_);
  if (regs_ != nullptr) [[likely]]
    write_back_direct();
  else
    check(uc_reg_write_batch(uc_, g_call_ids.data(), out_ptrs_.data(), result_.count), "uc_reg_write_batch");
  // Time is synced lazily (docs/architecture.md, "The trap path"): the trap's cost is added
  // now, the instructions before it when something looks at the clock (sync_to counts deltas,
  // so the order does not matter); a request or an SDEI entry syncs in act_on_request.
  clock_.virtual_ns += cost_.trap_ns;
  ++clock_.calls;
  // The call may have made an SDEI event deliverable here (PE_UNMASK, ENABLE, SIGNAL).
  if (result_.request.kind != fw::RequestKind::None || machine_.firmware_.sdei_any_pending()) [[unlikely]]
    act_on_request(result_.request);
}

// What a call asked of the machine beyond its result registers: an SDEI handler to enter,
// a context to resume, a power state change, or the host's answer.
void Vcpu::act_on_request(const fw::Request& request) {
  sync_clock();  // what follows may read this vCPU's clock (a CPU_ON target starts at its time)
  if (request.kind != fw::RequestKind::None && machine_.tracing(TraceCategory::Psci)) [[unlikely]]
    trace_power(request);
  switch (request.kind) {
    case fw::RequestKind::None:
      enter_sdei_handler();  // firmware_call saw one pending
      return;
    case fw::RequestKind::SdeiComplete:
    case fw::RequestKind::SdeiCompleteAndResume:
      resume_sdei_context(request);
      if (machine_.tracing(TraceCategory::Sdei)) [[unlikely]] {
        const std::string text =
            fmt::format("cpu{} sdei < handler complete ({})", index_,
                        request.kind == fw::RequestKind::SdeiComplete ? "interrupted context resumed"
                                                                      : "resumed at the given address");
        machine_.trace_event(TraceCategory::Sdei, TracePhase::End, index_, "", text);
      }
      if (machine_.firmware_.sdei_any_pending()) enter_sdei_handler();  // the next may run now
      return;
    case fw::RequestKind::CpuOn:
      // The caller goes on; the target's engine is created after this slice, outside hooks.
      machine_.request_cpu_on(request, clock_.virtual_ns);
      return;
    case fw::RequestKind::SystemOff:
      exit_status_ = 0;
      request_ = request;  // the machine reads `hibernate` (SYSTEM_OFF2)
      stop(Stop::SystemOff);
      return;
    case fw::RequestKind::SystemReset:
      request_ = request;
      stop(Stop::SystemReset);
      return;
    case fw::RequestKind::CpuOff: stop(Stop::CpuOff); return;
    case fw::RequestKind::CpuSuspend:
    case fw::RequestKind::SystemSuspend:
      request_ = request;
      stop(Stop::Suspend);
      return;
    case fw::RequestKind::ForwardToHost:
      // Nothing was written back; the PC is past the HVC/SMC already (as KVM_EXIT_HYPERCALL, api.rst).
      stop(Stop::Hypercall);
      return;
  }
}

void Vcpu::load(fw::SmcccCall& call, int count) {
  const auto first = static_cast<std::size_t>(call.loaded);
  if (regs_ != nullptr) [[likely]] {
    std::copy(regs_ + first, regs_ + count, call.x.begin() + call.loaded);
    call.loaded = static_cast<std::uint8_t>(count);
    return;
  }
  check(uc_reg_read_batch(uc_, g_call_ids.data() + first, arg_ptrs_.data() + first, count - call.loaded),
        "uc_reg_read_batch");
  call.loaded = static_cast<std::uint8_t>(count);
}

namespace {
// The fields of an MRS/MSR word: op0 = 2 + o0 (bit 19), op1, CRn, CRm, op2, Rt, L (bit 21).
uc_arm64_cp_reg sysreg_fields(std::uint32_t word) {
  return {(word >> 12) & 0xF, (word >> 8) & 0xF, 2 + ((word >> 19) & 1), (word >> 16) & 7, (word >> 5) & 7, 0};
}
}  // namespace

// Registers EL0 may use once EL1 allows it (CNTKCTL_EL1, PMUSERENR_EL0): without that, the
// access traps to EL1 with EC 0x18 (Arm ARM D11.2, D13.3), rather than being UNDEFINED.
bool Vcpu::el0_trapped_sysreg(std::uint32_t word) const {
  const uc_arm64_cp_reg cp = sysreg_fields(word);
  return is(cp, kCntvctEl0) || is(cp, kCntpctEl0) || is(cp, kCntvctssEl0) || is(cp, kCntpctssEl0) ||
         timer_register(cp).has_value() || is(cp, kPmccntrEl0);
}

// ISS of EC 0x18 (Arm ARM D17.2.37): Op0 [21:20], Op2 [19:17], Op1 [16:14], CRn [13:10],
// Rt [9:5], CRm [4:1], Direction [0] (1 = read).
std::uint32_t Vcpu::sysreg_trap_iss(std::uint32_t word) {
  const uc_arm64_cp_reg cp = sysreg_fields(word);
  return (cp.op0 << 20) | (cp.op2 << 17) | (cp.op1 << 14) | (cp.crn << 10) | ((word & 0x1F) << 5) | (cp.crm << 1) |
         ((word >> 21) & 1);
}

namespace {
// Unknown system registers of features hidden in the ID registers (Arm ARM D19 register
// index): op0, op1, CRn, CRm, op2; kAny matches every op2. An access to one is UNDEFINED
// (Arm ARM D1.10.4: system register accesses to unimplemented features).
constexpr std::uint32_t kAny = 0xFF;
struct HiddenRegs {
  std::uint32_t op0, op1, crn, crm, op2;
};
constexpr std::array<HiddenRegs, 22> kHiddenRegs{{
    {3, 0, 1, 2, 0},      // ZCR_EL1 (SVE)
    {3, 0, 1, 2, 4},      // SMPRI_EL1 (SME)
    {3, 0, 1, 2, 6},      // SMCR_EL1 (SME)
    {3, 3, 4, 2, 2},      // SVCR (SME)
    {3, 1, 0, 0, 6},      // SMIDR_EL1 (SME)
    {3, 3, 13, 0, 5},     // TPIDR2_EL0 (SME)
    {3, 0, 1, 0, 5},      // RGSR_EL1 (MTE)
    {3, 0, 1, 0, 6},      // GCR_EL1 (MTE)
    {3, 0, 5, 6, kAny},   // TFSR_EL1, TFSRE0_EL1 (MTE)
    {3, 1, 0, 0, 4},      // GMID_EL1 (MTE)
    {3, 0, 5, 3, kAny},   // ERRIDR_EL1, ERRSELR_EL1 (RAS)
    {3, 0, 5, 4, kAny},   // ERX* (RAS)
    {3, 0, 5, 5, kAny},   // ERX* (RAS)
    {3, 0, 12, 1, 1},     // DISR_EL1 (RAS)
    {3, 0, 9, 9, kAny},   // PMS* (SPE)
    {3, 0, 9, 10, kAny},  // PMB* (SPE)
    {3, 0, 9, 11, kAny},  // TRB* (TRBE)
    {3, 3, 13, 2, kAny},  // AMCR_EL0... (AMU)
    {3, 3, 13, 4, kAny},  // AMEVCNTR0<n>_EL0 (AMU)
    {3, 3, 13, 6, kAny},  // AMEVTYPER0<n>_EL0 (AMU)
    {3, 0, 10, 4, 4},     // MPAMIDR_EL1 (MPAM)
    {3, 0, 10, 5, kAny},  // MPAM1_EL1, MPAM0_EL1 (MPAM)
}};
}  // namespace

bool Vcpu::hidden_feature_register(std::uint32_t word) {
  if ((word & kSysRegMoveMask) != kSysRegMoveBits) return false;
  const uc_arm64_cp_reg cp = sysreg_fields(word);
  for (const HiddenRegs& h : kHiddenRegs) {
    if (cp.op0 == h.op0 && cp.op1 == h.op1 && cp.crn == h.crn && cp.crm == h.crm &&
        (h.op2 == kAny || cp.op2 == h.op2)) {
      return true;
    }
  }
  return false;
}

// UDEF arrives with the PC at the faulting instruction (Unicorn's UC_HOOK_INTR). Semihosting's HLT is
// one; HVC/SMC at EL0 and unallocated encodings are UNDEFINED for the guest; a system
// register access at EL1 that the CPU model does not know is a model gap, not a guest bug.
void Vcpu::undefined_instruction() {
  const std::uint64_t pc = reg(Reg::Pc);
  std::uint32_t word = 0;
  if (!fetch_word(pc, word)) {
    // Code the host cannot read (MMU on, not identity-mapped): the architectural default.
    take_exception(esr(kEcUnknown), 0, pc, "undefined instruction");
    return;
  }
  if (word == (kHltBits | (semihosting::kHltImmediate << 5))) {
    semihosting_call(pc);
    return;
  }
  const unsigned el = (read_pstate() >> 2) & 3;
  const std::uint32_t op1 = (word >> 16) & 7;
  // EL2 (op1 = 4), EL12/EL02 alias (op1 = 5) and EL3 (op1 = 6) registers are UNDEFINED at EL1
  // in a VM without nested virtualisation, as under KVM; so are the registers of features the
  // ID registers report absent (SVE's ZCR_EL1, SME, MTE, ...). Anything else the CPU model
  // rejects at EL1 is a gap of the model (a GIC CPU interface register, say), and running on
  // would mislead.
  const bool undefined_register = op1 == 4 || op1 == 5 || op1 == 6 || hidden_feature_register(word);
  if (el >= 1 && (word & kSysRegMoveMask) == kSysRegMoveBits && !undefined_register) {
    fatal(fmt::format("system register access the model cannot emulate at {:#x}: {}", pc, disassemble_one(word, pc)));
    return;
  }
  if (el == 0 && (word & kSysRegMoveMask) == kSysRegMoveBits && el0_trapped_sysreg(word)) {
    take_exception(esr(kEcSysRegTrap, sysreg_trap_iss(word)), 0, pc, "trapped system register access at EL0");
    return;
  }
  const bool call_at_el0 = (word & kExceptionGenMask) == kHvcBits || (word & kExceptionGenMask) == kSmcBits;
  take_exception(esr(kEcUnknown), 0, pc, call_at_el0 ? "HVC/SMC at EL0 (undefined)" : "undefined instruction");
}

void Vcpu::semihosting_call(std::uint64_t pc) {
  sync_clock();
  clock_.virtual_ns += cost_.trap_ns;
  const auto op = static_cast<std::uint32_t>(reg(Reg::X0));
  // Parameter blocks, strings and buffers go through the guest's translation (virtual
  // addresses). What the host writes is noted as changed code, as IC IVAU is: every engine
  // drops translations of it before it runs on (Machine::flush_translations).
  struct Memory final : GuestMemoryReader {
    Vcpu& vcpu;
    std::vector<CodeRange> written;
    explicit Memory(Vcpu& v) : vcpu(v) {}
    std::size_t read(std::uint64_t va, std::span<std::uint8_t> out) override { return vcpu.read_guest(va, out); }
    std::size_t write(std::uint64_t va, std::span<const std::uint8_t> bytes) override {
      written.clear();
      const std::size_t done = vcpu.write_guest(va, bytes, written);
      for (const CodeRange& r : written) vcpu.machine_.note_code_range(vcpu.index_, r.address, r.size);
      return done;
    }
  } memory{*this};
  const SemihostingContext context{
      .counter = counter(), .epoch_ns = machine_.firmware_.epoch_ns(), .heap = machine_.semihosting_heap()};
  const SemihostingOutcome outcome = machine_.semihosting_.call(op, reg(xreg(1)), memory, machine_.console_, context);
  if (outcome.exit_status) {
    exit_status_ = *outcome.exit_status;
    stop(Stop::SemihostExit);
    return;
  }
  set_reg(Reg::X0, outcome.x0);
  if (outcome.x1) set_reg(xreg(1), *outcome.x1);
  set_reg(Reg::Pc, pc + 4);
}

// Synchronous exception entry to EL1 (Arm ARM D1.10; docs/architecture.md, "Exceptions into the
// guest"): what the architecture does and Unicorn does not, since a hook that handles an
// exception swallows it (and its cached hflags must be rebuilt afterwards).
void Vcpu::take_exception(std::uint64_t syndrome, std::uint64_t far, std::uint64_t return_pc, std::string_view what) {
  if (!enter_el1(0, return_pc, what)) return;
  set_reg(Reg::EsrEl1, syndrome);
  set_reg(Reg::FarEl1, far);
  if (machine_.tracing(TraceCategory::Exceptions)) [[unlikely]] {
    const std::string text = fmt::format("cpu{} exception > {} at pc {:#x} (ESR_EL1 {:#x} FAR_EL1 {:#x})", index_, what,
                                         return_pc, syndrome, far);
    machine_.trace_event(TraceCategory::Exceptions, TracePhase::Instant, index_, what, text);
  }
}

// IRQ entry (Arm ARM D1.10.2: vector + 0x80 in each group of four); ESR_EL1 and FAR_EL1 are
// left alone. The preferred return address is the PC: the start of a block not yet run.
void Vcpu::take_irq() {
  constexpr std::uint64_t kIrqVector = 0x080;
  const std::uint64_t pc = reg(Reg::Pc);
  if (!enter_el1(kIrqVector, pc, "IRQ")) return;
  ++clock_.irqs;
  if (machine_.tracing(TraceCategory::Irq)) [[unlikely]] {
    // The entry's span: from the interrupted instruction to the vector, the exception's cost.
    const std::string text = fmt::format("cpu{} irq > IRQ taken at pc {:#x}", index_, pc);
    const std::uint64_t now = virtual_now();
    machine_.tracer_->event({.category = TraceCategory::Irq,
                             .phase = TracePhase::Begin,
                             .vcpu = index_,
                             .ns = now - std::min(now, cost_.trap_ns),
                             .name = "IRQ",
                             .text = text});
    machine_.tracer_->event(
        {.category = TraceCategory::Irq, .phase = TracePhase::End, .vcpu = index_, .ns = now, .name = "IRQ"});
  }
}

void Vcpu::trace_irq(std::string_view what, std::uint64_t intid) {
  const std::string text = fmt::format("cpu{} irq {} intid {}", index_, what, intid);
  machine_.trace_event(TraceCategory::Irq, TracePhase::Instant, index_, what, text);
}

// PSCI power changes, as the call's request says (DEN0022F.b); the target's own power-on is
// traced on its track when it starts (Machine::start_vcpu).
void Vcpu::trace_power(const fw::Request& request) {
  std::string text;
  std::string_view name;
  switch (request.kind) {
    case fw::RequestKind::CpuOn:
      name = "CPU_ON";
      text = fmt::format("cpu{} psci CPU_ON cpu{} entry {:#x}", index_, request.target, request.entry);
      break;
    case fw::RequestKind::CpuOff: name = "CPU_OFF"; break;
    case fw::RequestKind::CpuSuspend: name = request.power_down ? "CPU_SUSPEND (power down)" : "CPU_SUSPEND"; break;
    case fw::RequestKind::SystemSuspend: name = "SYSTEM_SUSPEND"; break;
    case fw::RequestKind::SystemOff: name = request.hibernate ? "SYSTEM_OFF2 (hibernate)" : "SYSTEM_OFF"; break;
    case fw::RequestKind::SystemReset:
      name = request.reset == fw::ResetType::Warm ? "SYSTEM_RESET (warm)" : "SYSTEM_RESET (cold)";
      break;
    default: return;  // SDEI completions and forwarded calls are not power changes
  }
  if (text.empty()) text = fmt::format("cpu{} psci {}", index_, name);
  machine_.trace_event(TraceCategory::Psci, TracePhase::Instant, index_, name, text);
}

bool Vcpu::irq_unmasked() const {
  constexpr std::uint32_t kPstateI = 1u << 7;
  return (read_pstate() & kPstateI) == 0;
}

bool Vcpu::enter_el1(std::uint64_t offset, std::uint64_t return_pc, std::string_view what) {
  const std::uint32_t pstate = read_pstate();
  const unsigned el = (pstate >> 2) & 3;
  const bool spx = (pstate & 1) != 0;
  const std::uint64_t vbar = reg(Reg::VbarEl1);
  if (el > 1) {
    fatal(fmt::format("{} at {:#x} at EL{}: guests run at EL0/EL1 only", what, return_pc, el));
    return false;
  }
  // VBAR_EL1 is a virtual address: with the MMU on only the guest's page tables know it.
  if (vbar == 0 || (!mmu_on() && !machine_.ram_.contains(vbar, kVectorTableSize))) {
    fatal(fmt::format("{} at {:#x} and no usable vector table (VBAR_EL1 = {:#x})", what, return_pc, vbar));
    return false;
  }
  if (return_pc >= vbar && return_pc < vbar + kVectorTableSize && offset == 0) {
    fatal(fmt::format("{} at {:#x}, inside the vector table: the exception handler itself faults", what, return_pc));
    return false;
  }
  const std::uint64_t base = el == 0 ? kVectorLowerA64 : (spx ? kVectorCurrentSpx : kVectorCurrentSp0);
  sync_clock();
  clock_.virtual_ns += cost_.trap_ns;
  set_reg(Reg::SpsrEl1, pstate);
  set_reg(Reg::ElrEl1, return_pc);
  set_pstate(entry_pstate(pstate));
  set_reg(Reg::Pc, vbar + base + offset);
  return true;
}

// PSTATE on entry to EL1h from `from` (Arm ARM D1.10.2): DAIF masked; FEAT_PAN sets PAN when
// SCTLR_EL1.SPAN is 0 and leaves it as it was otherwise.
std::uint32_t Vcpu::entry_pstate(std::uint32_t from) const {
  std::uint32_t target = kModeEl1h | kDaifMask;
  if (kHasPan) target |= (reg(Reg::SctlrEl1) & kSctlrSpan) == 0 ? kPan : (from & kPan);
  return target;
}

// Writes PSTATE as an exception entry or return would, including the SP_EL0/SP_EL1 switch
// that Unicorn's PSTATE write does not do: Unicorn's SP_ELx register of the active bank is stale,
// so the live SP is saved to its bank and the other bank's value becomes the live SP.
void Vcpu::set_pstate(std::uint32_t pstate) {
  const auto uses_sp0 = [](std::uint32_t p) { return ((p >> 2) & 3) == 0 || (p & 1) == 0; };
  const std::uint32_t current = read_pstate();
  if (current == pstate) return;  // nothing to switch, and the hflags rebuild is not free
  const bool from_sp0 = uses_sp0(current);
  const bool to_sp0 = uses_sp0(pstate);
  if (from_sp0 != to_sp0) {
    std::uint64_t other = 0;
    check(uc_reg_read(uc_, to_sp0 ? UC_ARM64_REG_SP_EL0 : UC_ARM64_REG_SP_EL1, &other), "uc_reg_read");
    const std::uint64_t live = reg(Reg::Sp);
    check(uc_reg_write(uc_, from_sp0 ? UC_ARM64_REG_SP_EL0 : UC_ARM64_REG_SP_EL1, &live), "uc_reg_write");
    set_reg(Reg::Pstate, pstate);
    set_reg(Reg::Sp, other);
  } else {
    set_reg(Reg::Pstate, pstate);
  }
  // A CP_REG write after the PSTATE write rebuilds the cached hflags (Unicorn 2.1.x).
  check(write_sysreg(kVbarEl1, reg(Reg::VbarEl1)), "write VBAR_EL1");
}

// SDEI dispatch (DEN0054C event handler entry): save x0..x17, PC and PSTATE of the interrupted context in the
// firmware, then enter the handler at EL1h with x0..x3 = event, argument, interrupted PC and
// PSTATE; x4..x17, SP_EL1 and the EL1 system registers are left as they were. NZCV is copied
// (TF-A create_spsr); the client's DAIF masks do not stop the dispatch.
bool Vcpu::enter_sdei_handler() {
  if (!machine_.firmware_.sdei_deliverable(index_)) return false;
  fw::SdeiContext interrupted;
  std::array<void*, fw::kCallRegisters> ptrs{};
  for (std::size_t i = 0; i < ptrs.size(); ++i) ptrs[i] = &interrupted.x[i];
  check(uc_reg_read_batch(uc_, g_call_ids.data(), ptrs.data(), fw::kCallRegisters), "uc_reg_read_batch");
  interrupted.pc = reg(Reg::Pc);
  const std::uint32_t pstate = read_pstate();
  interrupted.pstate = pstate;
  if (((pstate >> 2) & 3) > 1) return false;  // guests run at EL0/EL1 only
  const std::optional<fw::SdeiEntry> entry = machine_.firmware_.sdei_begin_dispatch(index_, interrupted);
  if (!entry) return false;
  sync_clock();
  clock_.virtual_ns += cost_.trap_ns;
  if (machine_.tracing(TraceCategory::Sdei)) [[unlikely]] {
    const std::string name = fmt::format("SDEI event {}", entry->event);
    const std::string text = fmt::format("cpu{} sdei > event {} handler {:#x} (interrupted pc {:#x})", index_,
                                         entry->event, entry->entry, interrupted.pc);
    machine_.trace_event(TraceCategory::Sdei, TracePhase::Begin, index_, name, text);
  }
  set_reg(Reg::X0, entry->event);
  set_reg(xreg(1), entry->arg);
  set_reg(xreg(2), interrupted.pc);
  set_reg(xreg(3), pstate);
  constexpr std::uint32_t kNzcv = 0xFu << 28;
  set_pstate(entry_pstate(pstate) | (pstate & kNzcv));
  set_reg(Reg::Pc, entry->entry);
  return true;
}

// SDEI_EVENT_COMPLETE restores the interrupted context exactly; COMPLETE_AND_RESUME restores
// x0..x17 and makes it look as if an exception had been taken at the interrupted PC, to the
// resume address (DEN0054C SDEI_EVENT_COMPLETE_AND_RESUME).
void Vcpu::resume_sdei_context(const fw::Request& request) {
  const fw::SdeiContext& saved = machine_.firmware_.sdei_resume(index_);
  std::array<void*, fw::kCallRegisters> ptrs{};  // the batch API takes non-const pointers; it only reads
  for (std::size_t i = 0; i < ptrs.size(); ++i) ptrs[i] = const_cast<std::uint64_t*>(&saved.x[i]);
  check(uc_reg_write_batch(uc_, g_call_ids.data(), ptrs.data(), fw::kCallRegisters), "uc_reg_write_batch");
  if (request.kind == fw::RequestKind::SdeiComplete) {
    set_pstate(static_cast<std::uint32_t>(saved.pstate));
    set_reg(Reg::Pc, saved.pc);
    return;
  }
  set_reg(Reg::ElrEl1, saved.pc);
  set_reg(Reg::SpsrEl1, saved.pstate);
  set_pstate(kModeEl1h | kDaifMask);
  set_reg(Reg::Pc, request.entry);
}

// ---- snapshots ----

namespace {
// The EL0/EL1 system registers a guest can program (Arm ARM D17), saved by value. EL2/EL3
// configuration is the model's and is set up again when the engine is created. Not saved:
// the PMU event counters (PMEVCNTR/PMEVTYPER) and the debug breakpoint/watchpoint registers.
// The timers' CTL and CVAL are the machine's (GenericTimer), saved with it.
constexpr std::array<SysReg, 40> kSavedSysRegs{{
    {3, 0, 1, 0, 0},    // SCTLR_EL1
    {3, 0, 1, 0, 1},    // ACTLR_EL1
    {3, 0, 1, 0, 2},    // CPACR_EL1
    {3, 0, 2, 0, 0},    // TTBR0_EL1
    {3, 0, 2, 0, 1},    // TTBR1_EL1
    {3, 0, 2, 0, 2},    // TCR_EL1
    {3, 0, 4, 0, 0},    // SPSR_EL1
    {3, 0, 4, 0, 1},    // ELR_EL1
    {3, 0, 5, 1, 0},    // AFSR0_EL1
    {3, 0, 5, 1, 1},    // AFSR1_EL1
    {3, 0, 5, 2, 0},    // ESR_EL1
    {3, 0, 6, 0, 0},    // FAR_EL1
    {3, 0, 7, 4, 0},    // PAR_EL1
    {3, 0, 10, 2, 0},   // MAIR_EL1
    {3, 0, 10, 3, 0},   // AMAIR_EL1
    {3, 0, 12, 0, 0},   // VBAR_EL1
    {3, 0, 13, 0, 1},   // CONTEXTIDR_EL1
    {3, 0, 13, 0, 4},   // TPIDR_EL1
    {3, 0, 14, 1, 0},   // CNTKCTL_EL1
    {3, 2, 0, 0, 0},    // CSSELR_EL1
    {3, 3, 13, 0, 2},   // TPIDR_EL0
    {3, 3, 13, 0, 3},   // TPIDRRO_EL0
    {3, 3, 9, 12, 0},   // PMCR_EL0
    {3, 3, 9, 12, 1},   // PMCNTENSET_EL0
    {3, 3, 9, 12, 5},   // PMSELR_EL0
    {3, 3, 9, 14, 0},   // PMUSERENR_EL0
    {3, 3, 9, 14, 3},   // PMOVSSET_EL0
    {3, 0, 9, 14, 1},   // PMINTENSET_EL1
    {3, 3, 14, 15, 7},  // PMCCFILTR_EL0
    {2, 0, 0, 2, 2},    // MDSCR_EL1
    // Pointer authentication keys (Arm ARM D17.2: APIAKeyLo_EL1 ... APGAKeyHi_EL1).
    {3, 0, 2, 1, 0},
    {3, 0, 2, 1, 1},
    {3, 0, 2, 1, 2},
    {3, 0, 2, 1, 3},
    {3, 0, 2, 2, 0},
    {3, 0, 2, 2, 1},
    {3, 0, 2, 2, 2},
    {3, 0, 2, 2, 3},
    {3, 0, 2, 3, 0},
    {3, 0, 2, 3, 1},
}};
constexpr std::uint32_t kTagCpu = 0x43'50'55'53;  // "CPUS"
}  // namespace

void Vcpu::save_state(fw::StateWriter& out) const {
  out.tag(kTagCpu);
  for (unsigned i = 0; i <= 30; ++i) out.u64(reg(xreg(i)));
  const std::uint32_t pstate = read_pstate();
  // The SP of the current bank is live in SP; Unicorn's stored copy of that bank is stale.
  const bool on_sp0 = ((pstate >> 2) & 3) == 0 || (pstate & 1) == 0;
  std::uint64_t sp_el0 = 0, sp_el1 = 0;
  check(uc_reg_read(uc_, UC_ARM64_REG_SP_EL0, &sp_el0), "uc_reg_read");
  check(uc_reg_read(uc_, UC_ARM64_REG_SP_EL1, &sp_el1), "uc_reg_read");
  (on_sp0 ? sp_el0 : sp_el1) = reg(Reg::Sp);
  out.u64(sp_el0);
  out.u64(sp_el1);
  out.u64(reg(Reg::Pc));
  out.u32(pstate);
  std::uint32_t fpcr = 0, fpsr = 0;
  check(uc_reg_read(uc_, UC_ARM64_REG_FPCR, &fpcr), "uc_reg_read");
  check(uc_reg_read(uc_, UC_ARM64_REG_FPSR, &fpsr), "uc_reg_read");
  out.u32(fpcr);
  out.u32(fpsr);
  for (int v = 0; v < 32; ++v) {
    std::array<std::uint64_t, 2> q{};  // a 128-bit register: low doubleword first
    check(uc_reg_read(uc_, UC_ARM64_REG_V0 + v, q.data()), "uc_reg_read");
    out.u64(q[0]);
    out.u64(q[1]);
  }
  for (const SysReg& r : kSavedSysRegs) {
    // A register the CPU model lacks is recorded as absent rather than as a made-up value.
    uc_arm64_cp_reg cp{r.crn, r.crm, r.op0, r.op1, r.op2, 0};
    const bool present = uc_reg_read(uc_, UC_ARM64_REG_CP_REG, &cp) == UC_ERR_OK;
    out.boolean(present);
    out.u64(present ? cp.val : 0);
  }
  out.u64(pmccntr_offset_);
  out.boolean(powered_on_);
}

void Vcpu::restore_state(fw::StateReader& in) {
  in.tag(kTagCpu);
  std::array<std::uint64_t, 31> x{};
  for (std::uint64_t& v : x) v = in.u64();
  const std::uint64_t sp_el0 = in.u64();
  const std::uint64_t sp_el1 = in.u64();
  const std::uint64_t pc = in.u64();
  const std::uint32_t pstate = in.u32();
  const unsigned mode = pstate & 0xF;
  if (mode != 0x0 && mode != 0x4 && mode != 0x5) throw fw::StateError("corrupt state: a vCPU is not at EL0 or EL1");
  const std::uint32_t fpcr = in.u32();
  const std::uint32_t fpsr = in.u32();
  // PSTATE first, then the system registers: a CP_REG write makes Unicorn rebuild its cached
  // state from the new PSTATE (a PSTATE write alone does not, in Unicorn 2.1).
  set_reg(Reg::Pstate, pstate);
  for (unsigned i = 0; i <= 30; ++i) set_reg(xreg(i), x[i]);
  check(uc_reg_write(uc_, UC_ARM64_REG_FPCR, &fpcr), "uc_reg_write");
  check(uc_reg_write(uc_, UC_ARM64_REG_FPSR, &fpsr), "uc_reg_write");
  for (int v = 0; v < 32; ++v) {
    std::array<std::uint64_t, 2> q{in.u64(), 0};
    q[1] = in.u64();
    check(uc_reg_write(uc_, UC_ARM64_REG_V0 + v, q.data()), "uc_reg_write");
  }
  for (const SysReg& r : kSavedSysRegs) {
    const bool present = in.boolean();
    const std::uint64_t value = in.u64();
    if (present && write_sysreg(r, value) != UC_ERR_OK) throw fw::StateError("corrupt state: a system register");
  }
  pmccntr_offset_ = in.u64();
  powered_on_ = in.boolean();
  mmu_ever_on_ = mmu_on();
  // Both SP banks, then the live SP of the current one.
  check(uc_reg_write(uc_, UC_ARM64_REG_SP_EL0, &sp_el0), "uc_reg_write");
  check(uc_reg_write(uc_, UC_ARM64_REG_SP_EL1, &sp_el1), "uc_reg_write");
  const bool on_sp0 = ((pstate >> 2) & 3) == 0 || (pstate & 1) == 0;
  set_reg(Reg::Sp, on_sp0 ? sp_el0 : sp_el1);
  set_reg(Reg::Pc, pc);
  has_run_ = true;  // its state is no longer the reset state
}

// ---- register access ----

std::uint32_t Vcpu::read_pstate() const {
  std::uint32_t v = 0;  // Unicorn writes 32 bits for PSTATE
  check(uc_reg_read(uc_, UC_ARM64_REG_PSTATE, &v), "uc_reg_read");
  return v;
}

std::uint64_t Vcpu::reg(Reg r) const {
  if (r == Reg::Pstate) return read_pstate();
  if (r == Reg::Fpsr || r == Reg::Fpcr) {
    std::uint32_t v32 = 0;  // Unicorn reads and writes 32 bits for both
    check(uc_reg_read(uc_, r == Reg::Fpsr ? UC_ARM64_REG_FPSR : UC_ARM64_REG_FPCR, &v32), "uc_reg_read");
    return v32;
  }
  if (r == Reg::SctlrEl1) return read_sysreg(kSctlrEl1);
  if (r == Reg::SpsrEl1) return read_sysreg(kSpsrEl1);
  std::uint64_t v = 0;
  check(uc_reg_read(uc_, uc_reg_id(r), &v), "uc_reg_read");
  return v;
}

void Vcpu::set_reg(Reg r, std::uint64_t value) {
  if (r == Reg::Pstate || r == Reg::Fpsr || r == Reg::Fpcr) {
    const auto v32 = static_cast<std::uint32_t>(value);
    const int id = r == Reg::Pstate ? UC_ARM64_REG_PSTATE : r == Reg::Fpsr ? UC_ARM64_REG_FPSR : UC_ARM64_REG_FPCR;
    check(uc_reg_write(uc_, id, &v32), "uc_reg_write");
    return;
  }
  if (r == Reg::SctlrEl1 || r == Reg::SpsrEl1) {
    if (r == Reg::SctlrEl1 && (value & 1) != 0) mmu_ever_on_ = true;
    check(write_sysreg(r == Reg::SctlrEl1 ? kSctlrEl1 : kSpsrEl1, value), "write a system register");
    return;
  }
  check(uc_reg_write(uc_, uc_reg_id(r), &value), "uc_reg_write");
}

std::array<std::uint64_t, 2> Vcpu::vreg(unsigned n) const {
  if (n >= 32) throw std::out_of_range("no such FP/SIMD register");
  std::array<std::uint64_t, 2> q{};  // a 128-bit register: low doubleword first
  check(uc_reg_read(uc_, UC_ARM64_REG_V0 + static_cast<int>(n), q.data()), "uc_reg_read");
  return q;
}

void Vcpu::set_vreg(unsigned n, const std::array<std::uint64_t, 2>& value) {
  if (n >= 32) throw std::out_of_range("no such FP/SIMD register");
  std::array<std::uint64_t, 2> q = value;
  check(uc_reg_write(uc_, UC_ARM64_REG_V0 + static_cast<int>(n), q.data()), "uc_reg_write");
}

std::uint64_t Vcpu::read_sysreg(const SysReg& r) const {
  uc_arm64_cp_reg cp{r.crn, r.crm, r.op0, r.op1, r.op2, 0};
  check(uc_reg_read(uc_, UC_ARM64_REG_CP_REG, &cp), "uc_reg_read");
  return cp.val;
}

uc_err Vcpu::write_sysreg(const SysReg& r, std::uint64_t value) {
  uc_arm64_cp_reg cp{r.crn, r.crm, r.op0, r.op1, r.op2, value};
  return uc_reg_write(uc_, UC_ARM64_REG_CP_REG, &cp);
}

}  // namespace emu::core
