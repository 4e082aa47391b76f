// One vCPU: a Unicorn engine over the shared guest RAM, and the trap bridge — the only code
// that reads or writes guest registers and the PC (docs/architecture.md, "Layers", "The call path").
// Internal to core; users go through Machine.
#pragma once

#include <unicorn/unicorn.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <exception>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/machine.h"
#include "firmware/smccc.h"
#include "firmware/state_io.h"

namespace emu::core {

namespace a64 {
struct Access;
}

/// A system register as UC_ARM64_REG_CP_REG names it (op0, op1, CRn, CRm, op2).
struct SysReg {
  std::uint32_t op0, op1, crn, crm, op2;
};

/// Every Unicorn call in core goes through this: an error the engine should never return
/// becomes std::runtime_error naming the call ("Unicorn: uc_reg_read: ..."), which ends the
/// run with status 70 (internal error). Never called where an exception cannot unwind.
void check(uc_err err, const char* what);

/// Why Vcpu::run() returned (declared in machine.h so Machine can name it).
enum class VcpuStop : std::uint8_t {
  Budget,  ///< the instruction budget of this slice is spent (or the step is done)
  Wfi,     ///< the guest executed WFI; PC is past it
  SystemOff,
  SystemReset,
  SemihostExit,
  CpuOff,      ///< PSCI CPU_OFF
  Suspend,     ///< PSCI CPU_SUSPEND or SYSTEM_SUSPEND; see request()
  Hypercall,   ///< the SMCCC filter forwarded a call to the host; see forwarded_fid()
  Fault,       ///< see summary()/report()
  Breakpoint,  ///< the PC reached a debugger breakpoint (Machine::set_breakpoint); not executed yet
};

class Vcpu final : public fw::RegisterSource {
 public:
  using Stop = VcpuStop;

  /// Opens the engine, maps RAM and devices, installs the hooks, and puts the vCPU in its
  /// reset state. `clock` is the vCPU's counters, kept by the machine across engines: the
  /// vCPU advances stats.virtual_ns and stats.instructions as it runs. Throws
  /// std::runtime_error if Unicorn refuses.
  Vcpu(unsigned index, Machine& machine, VcpuStats& clock);
  ~Vcpu();
  Vcpu(const Vcpu&) = delete;
  Vcpu& operator=(const Vcpu&) = delete;

  /// Starts a freshly created vCPU at `entry` in the boot state of Linux's booting.rst: EL1h,
  /// DAIF masked, MMU and caches off (the engine's reset values), x0 = `x0`, every other GPR
  /// zero. Machine calls it only on an engine that has never run, creating a new one if needed.
  void power_on(std::uint64_t entry, std::uint64_t x0);
  bool powered_on() const { return powered_on_; }
  /// True once the engine has executed anything: its state is no longer the reset state.
  bool has_run() const { return has_run_; }
  /// The trap path uses the engine's register file in place (core/direct_regs.h).
  bool direct_registers() const { return regs_ != nullptr; }

  /// Runs until a stop, for about `budget` instructions: the first translated block always
  /// runs, even when it is larger than the budget, unless `hard` (the instruction limit is
  /// what bounds the budget); after that, no block starts that would exceed it. Rethrows here
  /// anything a hook caught (a throwing console writer or trace sink, std::bad_alloc):
  /// exceptions never unwind through Unicorn's C frames.
  Stop run(std::uint64_t budget, bool hard);

  int exit_status() const { return exit_status_; }
  /// The firmware request behind a SystemReset or Suspend stop.
  const fw::Request& request() const { return request_; }
  /// The call behind a Hypercall stop: its (normalised) FID and conduit.
  std::uint32_t forwarded_fid() const { return call_.id.raw; }
  fw::Conduit forwarded_conduit() const { return call_.conduit; }
  /// Drops every translated block, so code changed by another vCPU or the host is seen.
  void flush_translations();
  /// Drops every cached translation of a virtual address: another vCPU's broadcast TLBI.
  void flush_tlb();
  /// Drops the translated blocks that overlap `ranges` (physical addresses; outside RAM ignored).
  void invalidate_code(std::span<const CodeRange> ranges);
  // ---- the debugger's view (Machine::set_breakpoint, step, read/write_virtual) ----
  /// A breakpoint at virtual address `va`: a UC_HOOK_CODE hook over that one instruction, so
  /// no other translated code pays for it. The caller drops translations that hold `va`.
  void add_breakpoint(std::uint64_t va);
  void remove_breakpoint(std::uint64_t va);
  /// Executes one instruction (with what it traps to: a firmware call, an exception entry).
  Stop step();
  /// Copies `bytes` to guest virtual address `va` (translated as an EL1 read: a debugger may
  /// write read-only code); returns how many bytes were written and the physical ranges.
  std::size_t write_guest(std::uint64_t va, std::span<const std::uint8_t> bytes, std::vector<CodeRange>& written);
  /// Copies guest memory at virtual address `va`; returns how many bytes were readable.
  std::size_t read_guest(std::uint64_t va, std::span<std::uint8_t> out);
  std::array<std::uint64_t, 2> vreg(unsigned n) const;
  void set_vreg(unsigned n, const std::array<std::uint64_t, 2>& value);

  const std::string& summary() const { return summary_; }
  const std::string& report() const { return report_; }

  std::uint64_t reg(Reg r) const;
  void set_reg(Reg r, std::uint64_t value);

  /// The generic counter as this vCPU reads it now (system-wide monotonic).
  std::uint64_t counter();
  /// The vCPU's virtual clock now, inside a slice too (to the start of the current block).
  std::uint64_t virtual_now();

  /// Whether the GIC signals an IRQ to this vCPU (Machine keeps it current while the vCPU
  /// runs). The IRQ is taken at the next block boundary where PSTATE.I is clear; a WFI ends
  /// while it is set, masked or not (Arm ARM D1.6.2).
  void set_irq_line(bool signalled) { attention_ = signalled ? attention_ | kIrqLine : attention_ & ~kIrqLine; }
  /// An interrupt the firmware owns has changed: look for an SDEI event to dispatch at the
  /// next block boundary (DEN0054C: a bound interrupt is taken whatever PSTATE.DAIF says).
  void request_sdei_check() { attention_ |= kSdeiCheck; }

  /// The vCPU's architectural state for a snapshot: GPRs, both SP banks, PC, PSTATE,
  /// FP/SIMD, and the EL0/EL1 system registers a guest can program. Only between slices.
  void save_state(fw::StateWriter& out) const;
  /// Puts a fresh engine in a saved state. Throws fw::StateError.
  void restore_state(fw::StateReader& in);

  /// fw::RegisterSource: reads the argument registers a matched function needs.
  void load(fw::SmcccCall& call, int count) override;

 private:
  static void on_interrupt(uc_engine* uc, std::uint32_t intno, void* self);
  /// on_interrupt for everything but HVC and SMC: undefined instructions, SVC, BRK, MMU aborts.
  [[gnu::noinline]] void on_other_exception(std::uint32_t intno);
  static void on_block(uc_engine* uc, std::uint64_t address, std::uint32_t size, void* self);
  [[gnu::noinline]] void block_slow_path(std::uint64_t address, std::uint64_t n);
  bool attend_before_block(std::uint64_t address);
  void begin_block(std::uint64_t address, std::uint64_t n);
  static void on_breakpoint(uc_engine* uc, std::uint64_t address, std::uint32_t size, void* self);
  static void on_step(uc_engine* uc, std::uint64_t address, std::uint32_t size, void* self);
  /// Stops the engine before the instruction at `address` in the current block, counting only
  /// the instructions before it.
  void halt_at(std::uint64_t address, Stop why);
  /// Counts the instructions of the current block before `address` only.
  void count_to(std::uint64_t address);
  void end_step(uc_hook hook);
  /// The block hook's stop: before the block at `address` runs.
  void stop_before_block(std::uint64_t address) noexcept;
  static void on_translated(uc_engine* uc, uc_tb* tb, uc_tb* previous, void* self);
  void warm_up_translation_hook();
  void note_translated(std::uint64_t va, std::uint64_t size);
  static bool on_unmapped(uc_engine* uc, uc_mem_type type, std::uint64_t address, int size, std::int64_t value,
                          void* self);
  static std::uint32_t on_mrs(uc_engine* uc, uc_arm64_reg reg, const uc_arm64_cp_reg* cp, void* self);
  static std::uint32_t on_msr(uc_engine* uc, uc_arm64_reg reg, const uc_arm64_cp_reg* cp, void* self);
  static std::uint32_t on_sys(uc_engine* uc, uc_arm64_reg reg, const uc_arm64_cp_reg* cp, void* self);
  // The hooks' bodies, run inside guarded(): 1 = handled here (Rt written, PC stepped).
  std::uint32_t mrs_access(uc_arm64_reg reg, const uc_arm64_cp_reg& cp);
  std::uint32_t msr_access(uc_arm64_reg reg, const uc_arm64_cp_reg& cp);
  std::uint32_t sys_instruction(const uc_arm64_cp_reg& cp);
  /// The CPU model's own answers for registers of hidden or inert features (see vcpu.cpp).
  bool model_read(const uc_arm64_cp_reg& cp, std::uint64_t& value);
  bool model_write(const uc_arm64_cp_reg& cp, uc_arm64_reg reg);
  std::uint64_t read_random();
  /// An unknown system register that belongs to a feature the ID registers report absent.
  static bool hidden_feature_register(std::uint32_t word);
  /// At EL0, whether CNTKCTL_EL1 / PMUSERENR_EL0 let the guest read this register.
  bool el0_may_read(const uc_arm64_cp_reg& cp) const;
  bool el0_trapped_sysreg(std::uint32_t word) const;
  static std::uint32_t sysreg_trap_iss(std::uint32_t word);
  static std::uint64_t on_uart_read(uc_engine* uc, std::uint64_t offset, unsigned size, void* self);
  static void on_uart_write(uc_engine* uc, std::uint64_t offset, unsigned size, std::uint64_t value, void* self);
  static std::uint64_t on_gicd_read(uc_engine* uc, std::uint64_t offset, unsigned size, void* self);
  static void on_gicd_write(uc_engine* uc, std::uint64_t offset, unsigned size, std::uint64_t value, void* self);
  static std::uint64_t on_gicr_read(uc_engine* uc, std::uint64_t offset, unsigned size, void* self);
  static void on_gicr_write(uc_engine* uc, std::uint64_t offset, unsigned size, std::uint64_t value, void* self);
  /// CNTP_* / CNTV_* CTL, CVAL and TVAL (Arm ARM D11.2.4), kept in the machine's timer model.
  bool timer_read(const uc_arm64_cp_reg& cp, std::uint64_t& value);
  bool timer_write(const uc_arm64_cp_reg& cp, uc_arm64_reg reg);
  /// After a timer write: the PPIs follow, and the slice ends no later than the next edge.
  void timer_changed(std::uint64_t counter);
  /// The GIC's system-register CPU interface (ICC_*): EL1 only; EL0 leaves it to the
  /// engine, which makes it UNDEFINED (GICv3 IHI 0069H §12.1).
  bool icc_access(const uc_arm64_cp_reg& cp, uc_arm64_reg reg, bool write);
  /// Writes Rt of an emulated MRS.
  void write_rt(uc_arm64_reg reg, std::uint64_t value);

  void firmware_call(fw::Conduit conduit);
  [[gnu::noinline]] void act_on_request(const fw::Request& request);
  /// Writes result_.count result registers into the engine's register file (regs_).
  [[gnu::always_inline]] inline void write_back_direct();
  void undefined_instruction();
  void semihosting_call(std::uint64_t pc);
  void take_exception(std::uint64_t esr, std::uint64_t far, std::uint64_t return_pc, std::string_view what);
  /// IRQ exception entry at the PC (a block boundary): the IRQ vector, no syndrome (D1.10.2).
  void take_irq();
  // Trace events of the irq and psci categories (core/trace.h); called when they are traced.
  void trace_irq(std::string_view what, std::uint64_t intid);
  void trace_power(const fw::Request& request);
  static constexpr std::uint64_t kIntidMask = 0xFF'FFFF;  // ICC_IAR1_EL1 / ICC_EOIR1_EL1 INTID (IHI 0069H §12.2)
  bool wfi_completes();
  void tlb_maintenance(const uc_arm64_cp_reg& cp);
  /// The common part of exception entry to EL1h at VBAR_EL1 + `offset` (+ the EL/SP base);
  /// false (after fatal()) when there is no usable vector table.
  bool enter_el1(std::uint64_t offset, std::uint64_t return_pc, std::string_view what);
  bool irq_unmasked() const;
  void set_pstate(std::uint32_t pstate);
  std::uint32_t entry_pstate(std::uint32_t from) const;
  bool enter_sdei_handler();  ///< false when no event could be dispatched
  void resume_sdei_context(const fw::Request& request);
  void fatal(std::string summary);
  void stop(Stop why);
  void stop_engine() noexcept;
  /// Brings the clock and instruction counts up to date with the blocks entered so far. The
  /// block hook only decrements the budget; everything else is derived here when needed.
  void sync_clock();
  /// The same, exact to the hooked instruction at the PC (MRS/MSR hooks only).
  void sync_clock_at_pc();
  void sync_to(std::uint64_t executed);
  /// The generic counter from the clock as last synced.
  std::uint64_t counter_synced();
  /// Runs a hook body; an exception stops the engine and is kept for run() to rethrow.
  template <typename Body>
  void guarded(Body&& body) noexcept;
  bool mmu_on() const;
  /// The physical address of `va` through this engine's MMU (AT S1E1R, or S1E0R at EL0; PAR_EL1
  /// kept); none if it does not translate.
  std::optional<std::uint64_t> translate(std::uint64_t va);

  std::uint32_t read_pstate() const;
  std::uint64_t read_sysreg(const SysReg& r) const;
  uc_err write_sysreg(const SysReg& r, std::uint64_t value);
  /// The instruction word at guest virtual address `pc`, translated as EL1 reads it. Every
  /// firmware call fetches its HVC/SMC here: with the MMU never on, VA = PA and an aligned word
  /// is one bounds check away (read_guest's page loop costs about 80 host instructions a
  /// call), so that case is inline.
  bool fetch_word(std::uint64_t pc, std::uint32_t& word) {
    if (!mmu_ever_on_) [[likely]] {
      const std::uint8_t* p = machine_.ram_.at(pc, sizeof word);
      if (p == nullptr) return false;
      std::memcpy(&word, p, sizeof word);
      return true;
    }
    return fetch_word_mapped(pc, word);
  }
  bool fetch_word_mapped(std::uint64_t pc, std::uint32_t& word);

  // ---- the guest's MMU, seen from the host (core/vcpu_mmu.cpp) ----
  /// The stage 1 address translation instructions the host issues (Arm ARM C5.5).
  enum class At : std::uint8_t { S1E1R, S1E1W, S1E0R, S1E0W };
  /// PAR_EL1 as AT `at` of `va` leaves it; the guest's own PAR_EL1 is preserved.
  std::uint64_t address_translate(std::uint64_t va, At at);
  /// The guest physical address of `va` for a read at EL1: itself with the MMU off.
  std::optional<std::uint64_t> guest_pa(std::uint64_t va);
  /// An MMU fault reported by the engine (intno 3 or 4): deliver it, or stop naming why not.
  void mmu_abort(bool fetch);
  void instruction_abort(std::uint64_t pc, bool el0);
  void data_abort(std::uint64_t pc, bool el0, std::uint32_t pstate);
  /// An instruction fetch from a physical address with nothing there (UC_ERR_FETCH_UNMAPPED).
  void fetch_external_abort();
  struct Leaf;
  std::optional<Leaf> walk(std::uint64_t va);
  struct DataFault {
    std::uint32_t fsc = 0;
    std::uint64_t far = 0;
    bool wnr = false;
  };
  std::optional<DataFault> data_fault(const a64::Access& a, bool el0_regime, std::uint32_t pstate);

  unsigned index_;
  Machine& machine_;
  VcpuStats& clock_;
  const CostModel cost_;
  uc_engine* uc_ = nullptr;
  bool powered_on_ = false;
  bool has_run_ = false;

  // The current slice.
  std::uint64_t budget_ = 0;       // instructions this slice may run
  bool hard_budget_ = false;       // the budget is the instruction limit: never exceed it
  std::uint64_t budget_left_ = 0;  // what is left; the block hook's only state
  std::uint64_t synced_ = 0;       // instructions of this slice already in the clock
  std::uint64_t block_left_ = 0;   // budget_left_ before that block was entered
  bool stop_requested_ = false;
  // What the block hook must look at, one byte so the hot path tests once: kIrqLine (see
  // set_irq_line()), kSdeiCheck (see request_sdei_check()) and kCodeSync.
  static constexpr std::uint8_t kIrqLine = 1;
  static constexpr std::uint8_t kSdeiCheck = 2;
  static constexpr std::uint8_t kCodeSync = 4;  // while debugging: stop before the next block (sys_instruction)
  std::uint8_t attention_ = 0;
  bool irq_line() const { return (attention_ & kIrqLine) != 0; }
  bool irq_entry_ = false;   // the block hook stopped the engine to take an IRQ
  bool sdei_entry_ = false;  // the block hook stopped the engine to look for an SDEI event
  // Address of the block being executed. Not beside block_left_: two adjacent stores in
  // on_block become four vector instructions (GCC's SLP vectorizer), two more a block.
  std::uint64_t block_start_ = 0;
  bool code_sync_ = false;  // an IC instruction stopped the engine: drop stale translations
  Stop stop_ = Stop::Budget;
  int exit_status_ = 0;
  fw::Request request_{};
  std::string summary_;
  std::string report_;
  std::exception_ptr hook_error_;
  std::uint64_t pmccntr_offset_ = 0;         // PMCCNTR_EL0 = virtual ns - offset (set by MSR writes)
  std::optional<std::uint64_t> fetch_hole_;  // the address Unicorn reported for a failed fetch, until run() delivers it
  // SCTLR_EL1.M has been set since the engine's reset (by a guest MSR, the host or a restore).
  // Until then guest virtual addresses are physical and host reads skip AT: the HVC path
  // stays as cheap as without an MMU. Once set it stays set, which is only slower.
  bool mmu_ever_on_ = false;
  // 4 KiB physical pages this engine has translated code from since its last full flush
  // (unsorted, may repeat); when a page could not be translated, the whole of RAM counts.
  std::vector<std::uint64_t> code_pages_;
  std::size_t code_pages_compacted_ = 0;
  bool code_pages_lost_ = false;
  std::vector<CodeRange> flush_ranges_;  // code other engines changed: drop it before the next slice
  // The translation buffer (MachineConfig::code_buffer): code_bytes_ over-counts what the engine
  // has written into it since it was last emptied; past code_limit_ (3/4 of it) the engine
  // stops and run() empties it (empty_code_buffer), before Unicorn would have to.
  static constexpr std::uint64_t kBlockCodeBytes = 512;
  static constexpr std::uint64_t kOtherCodeBytes = 512;
  static constexpr std::uint64_t kStructureCodeBytes = 8192;
  std::uint64_t code_bytes_ = 0;
  std::uint64_t code_limit_ = 0;
  bool code_full_ = false;
  std::uint64_t code_bytes_bound(std::optional<std::uint64_t> pa, std::uint64_t bytes) const;
  void empty_code_buffer();

  // The debugger's breakpoints on this engine, and the debugger's stop: the instruction the
  // vCPU stopped at runs first when it resumes, without stopping at a breakpoint there again.
  std::vector<std::pair<std::uint64_t, uc_hook>> breakpoint_hooks_;
  std::optional<std::uint64_t> break_skip_;
  bool stepping_ = false;  // step(): the step hook stops at the second instruction it sees
  bool step_started_ = false;
  bool debug_hooks_ = false;                // a breakpoint or the step hook exists (see stop_before_block)
  std::optional<std::uint64_t> resume_pc_;  // where run() puts the PC back after a block-hook stop

  // Trap-bridge buffers, reused on every call so the hot path allocates nothing.
  fw::SmcccCall call_{};
  fw::SmcccResult result_{};
  std::uint64_t call_pc_ = 0;
  std::array<void*, 2> entry_ptrs_{};                 // x0 and the PC, read at every trap
  std::array<void*, fw::kCallRegisters> arg_ptrs_{};  // call_.x[i]
  std::array<void*, fw::kCallRegisters> out_ptrs_{};  // result_.x[i]
  // x0..x31 and the PC in the engine's own CPU state (core/direct_regs.h), or null: the trap
  // path then goes through the public register API.
  std::uint64_t* regs_ = nullptr;
};

}  // namespace emu::core
