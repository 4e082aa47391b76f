// The host API of smccc-emu: build a VM, load an image, run it until it exits.
//
// Everything the CLI can do goes through this header (docs/architecture.md, "Layers" and "Host API"), so
// host-side tests and VMM-like programs use the same path as `smccc-emu run`.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/console.h"
#include "core/device_tree.h"
#include "core/generic_timer.h"
#include "core/gicv3.h"
#include "core/guest_ram.h"
#include "core/image.h"
#include "core/pl011.h"
#include "core/platform.h"
#include "core/semihosting.h"
#include "core/trace.h"
#include "firmware/firmware.h"
#include "firmware/state_io.h"

namespace emu::core {

/// What SYSTEM_RESET / SYSTEM_RESET2 do to the run. Either way the machine is reset: a cold
/// reset (SYSTEM_RESET) zeroes RAM, a warm one (SYSTEM_RESET2 type 0) keeps it; then the image
/// is reloaded and the boot vCPU starts again at its entry.
enum class ResetAction {
  Restart,  ///< carry on running the rebooted machine (the default)
  Exit,     ///< end run() with ExitKind::SystemReset; the next run() boots the reset machine
};

/// Virtual time each guest action costs (docs/architecture.md, "Virtual time and determinism").
/// Virtual time is in ns; the generic counter ticks every 16 ns (62.5 MHz) and the cycle counter
/// every ns (1 GHz).
struct CostModel {
  std::uint64_t instruction_ns = 1;  ///< per guest instruction, 1..1000; default 1 (a 1 GHz core)
  std::uint64_t trap_ns = 100;       ///< per firmware call, semihosting call or exception the
                                     ///< host delivers, 0..1e9; default 100
};

/// The host triggers SDEI event `event` when virtual time reaches `at_ns` (as the platform's
/// error source or watchdog would). A private event triggers on `vcpu`; for a shared one
/// `vcpu` is ignored and the event's routing decides. A trigger for an event that is not
/// registered and enabled then is dropped, like an edge-triggered interrupt nobody claims.
struct SdeiSignal {
  std::uint32_t event = 0;
  unsigned vcpu = 0;
  std::uint64_t at_ns = 0;
};

/// Default MachineConfig::code_buffer: a Linux boot on one vCPU translates about 44 MiB (counted
/// as 119 MiB by the engine's over-estimate, so it never needs emptying).
inline constexpr std::uint64_t kDefaultCodeBuffer = std::uint64_t{256} << 20;

struct MachineConfig {
  unsigned cpus = 1;                            ///< vCPUs, 1..64; vCPU 0 boots, the others wait for CPU_ON
  unsigned pcpus = 0;                           ///< physical CPUs modelled; 0 (default) = one per vCPU
  std::uint64_t quantum = 10'000;               ///< instructions per scheduling slice, >= 1 (a slice
                                                ///< always runs at least one translated block); default 10000
  std::uint64_t memory = kDefaultRamSize;       ///< RAM bytes at kRamBase; multiple of 4 KiB, 1 MiB..64 GiB
  std::uint64_t max_instructions = 0;           ///< stop before exceeding this many guest instructions
                                                ///< (all vCPUs together); 0 = no limit
  ResetAction on_reset = ResetAction::Restart;  ///< see ResetAction; default Restart
  CostModel cost{};                             ///< see CostModel
  /// Bytes of each vCPU's buffer for translated code, 4 MiB..1 GiB; default 256 MiB. The engine
  /// empties it itself between slices before it can fill (README "Reliability", host memory), so
  /// it bounds the host memory a guest's code can take, not what code a guest can run.
  std::uint64_t code_buffer = kDefaultCodeBuffer;
  fw::SocIdConfig soc{};  ///< what SMCCC_ARCH_SOC_ID reports (see fw::SocIdConfig)
  /// TRNG entropy: none (default) = the host kernel's getrandom; a seed = a deterministic
  /// generator, for reproducible runs (not random).
  std::optional<std::uint64_t> seed;
  /// KVM PTP wall clock at virtual time 0, in ns since the Unix epoch, below kMaxEpochNs:
  /// none (default) = the host's real time when the machine is created. With it fixed (and a
  /// seed), a run is reproducible bit for bit.
  std::optional<std::uint64_t> epoch_ns;
  /// Give every vCPU a PV-time record in the region pv_time_region() describes, kept out of
  /// image placement. Default false: the host sets records with set_pv_time_ipa().
  bool pv_time = false;
  /// SDEI events offered besides the built-in event 0 (DEN0054; fw::SdeiEventDecl); default none.
  std::vector<fw::SdeiEventDecl> sdei_events{};
  /// Host-triggered SDEI events at fixed virtual times (see SdeiSignal); default none.
  std::vector<SdeiSignal> sdei_signals{};
  /// The CPU implementations KVM's DISCOVER_IMPL_VER / DISCOVER_IMPL_CPUS report (at most
  /// fw::kMaxImplCpus; MIDR bits 63:32 clear). Default none. The guest sees the calls only
  /// once the host sets VENDOR_HYP_BMAP_2 (reset value 0, as in KVM).
  std::vector<fw::ImplCpu> impl_cpus{};
  /// Firmware fault injection (fw::FaultRule): chosen calls of a function answer one of the
  /// errors its specification allows, deterministically (a Fraction rule's choice is seeded
  /// with `seed`, 0 without one). Default none.
  std::vector<fw::FaultRule> faults{};

  // What the boot vCPU finds besides the image, as QEMU virt's -append, -initrd and -dtb give
  // it (Linux Documentation/arm64/booting.rst). x0 of the boot vCPU holds the device tree's
  // address; the initrd and then the device tree are placed on the first free 2 MiB boundary
  // above the image (on a 4 KiB one when RAM is too small for that).
  std::string bootargs;              ///< /chosen/bootargs; default empty: no bootargs property
  std::vector<std::uint8_t> initrd;  ///< initrd/initramfs contents; default none
  /// A DTB to use instead of the generated one, at most 2 MiB (booting.rst); its /chosen gets
  /// bootargs and the initrd as with QEMU's -dtb. Default empty: generate the device tree.
  std::vector<std::uint8_t> dtb;
  /// The `method` the device tree gives PSCI and SDEI. Both conduits are always answered;
  /// this only says which one the guest is told to use. Default HVC, as KVM and QEMU virt.
  fw::Conduit conduit = fw::Conduit::Hvc;
  /// FEAT_PAuth (pointer authentication) in the guest's ID registers. Default true, as QEMU's
  /// `-cpu max`. false reads ID_AA64ISAR1_EL1.APA/API/GPA/GPI as 0, as `-cpu max,pauth=off`:
  /// Linux then never sets SCTLR_EL1.EnIA, so PACIASP/AUTIASP stay NOPs, and boots about 3x
  /// faster (the engine computes QARMA5 in C for every signed return). A guest that enables
  /// PAuth despite the ID register still gets working PAC instructions (they are not UNDEFINED).
  bool pauth = true;
  /// Semihosting's host side (core/semihosting.h): the directory guest files live in (none by
  /// default: no host file access) and SYS_GET_CMDLINE's command line (default empty).
  SemihostingConfig semihosting{};
};

/// Per-vCPU counters since the machine was created (they survive resets).
struct VcpuStats {
  std::uint64_t instructions = 0;  ///< guest instructions executed
  std::uint64_t virtual_ns = 0;    ///< the vCPU's virtual clock
  std::uint64_t stolen_ns = 0;     ///< runnable but waiting for a modelled physical CPU, plus
                                   ///< what the host injected
  std::uint64_t calls = 0;         ///< firmware calls made
  std::uint64_t irqs = 0;          ///< IRQ exceptions taken
};

/// A configuration the machine cannot be built with; `setting()` names the MachineConfig field
/// at fault ("cpus", "memory", "soc", ...). The same type as the firmware's.
using ConfigError = fw::ConfigError;

enum class ExitKind {
  SystemOff,         ///< PSCI SYSTEM_OFF, or SYSTEM_OFF2 (then `hibernate`); status 0
  SemihostingExit,   ///< SYS_EXIT / SYS_EXIT_EXTENDED; status from the guest
  SystemReset,       ///< SYSTEM_RESET(2) with ResetAction::Exit
  GuestFault,        ///< the guest cannot continue; `report` says why, with registers and code
  InstructionLimit,  ///< max_instructions reached
  Deadlock,          ///< every vCPU is off or waits (WFI) and nothing can wake it
  Hypercall,         ///< the SMCCC filter forwarded `fid` from `vcpu` over `conduit`: the host
                     ///< writes the results (x0..x17) with set_reg and calls run() again
  Checkpoint,        ///< the set_checkpoint() instruction count was reached: save() may be called
  Stopped,           ///< request_stop() was called; `status` is the signal it was given (0: none)
  Breakpoint,        ///< `vcpu` reached a set_breakpoint() address (its PC); it has not executed it
  Stepped,           ///< step() executed its instruction
};

/// How a run ended ([[nodiscard]]: the status is the run's result).
struct [[nodiscard]] RunExit {
  ExitKind kind = ExitKind::SystemOff;
  int status = 0;       ///< guest status for SystemOff / SemihostingExit; the signal for Stopped
  unsigned vcpu = 0;    ///< the vCPU that caused the exit
  std::string summary;  ///< one line, e.g. "guest fault: fetch from unmapped address 0x0"
  std::string report;   ///< GuestFault only: registers and disassembly, several lines
  /// Hypercall only: the function ID as the dispatcher and the filter see it: x0's low 32
  /// bits with the SVE hint bit 16 cleared (KVM reports W0 as is; docs/architecture.md, "The call path").
  std::uint32_t fid = 0;
  fw::Conduit conduit = fw::Conduit::Hvc;  ///< Hypercall only: HVC or SMC
  /// SystemOff only: the guest called PSCI 1.3 SYSTEM_OFF2 with HIBERNATE_OFF (its image is
  /// saved, it wants to resume from it), not SYSTEM_OFF: KVM's
  /// KVM_SYSTEM_EVENT_SHUTDOWN_FLAG_PSCI_OFF2. The CLI exits with status 72 for it.
  bool hibernate = false;
};

/// General-purpose registers and PSTATE/PC of one vCPU, for host API users and tests.
enum class Reg : std::uint8_t {
  X0 = 0,
  X30 = 30,
  Sp = 31,
  Pc,
  Pstate,
  ElrEl1,
  SpsrEl1,
  EsrEl1,
  FarEl1,
  VbarEl1,
  SctlrEl1,
  Fpsr,
  Fpcr,  ///< the FP status and control registers (32 bits)
};
inline constexpr Reg xreg(unsigned n) {
  return static_cast<Reg>(n);
}

class Vcpu;
enum class VcpuStop : std::uint8_t;

/// Physical bytes [address, address + size) whose translated code is stale.
struct CodeRange {
  std::uint64_t address = 0;
  std::uint64_t size = 0;
};

class Machine {
 public:
  /// Validates `config` (throws ConfigError) and creates RAM, devices, firmware and engines.
  /// Console writers and trace sinks given to the machine may throw: run() passes the
  /// exception on after stopping the engine.
  explicit Machine(const MachineConfig& config);
  ~Machine();
  Machine(const Machine&) = delete;
  Machine& operator=(const Machine&) = delete;

  /// The address ranges images are checked against.
  ImageLayout layout() const;
  /// Creates fresh vCPUs, copies the image into RAM, places the initrd and the device tree
  /// above it, and points the boot vCPU at the image's entry with x0 = the device tree. The
  /// device tree describes the firmware registers as they are now. The image is kept so a
  /// system reset can reload it (with a new device tree). Throws ImageError, also when RAM has
  /// no room for the initrd or the device tree.
  void load(Image image);

  /// The device tree the last boot placed in RAM, and its guest physical address (empty and 0
  /// before load()).
  std::span<const std::uint8_t> device_tree() const { return dtb_; }
  std::uint64_t device_tree_address() const { return dtb_address_; }

  /// Runs until the guest exits, faults or hits a limit. After a SystemReset exit the machine
  /// has been reset and run() boots it again. The instruction limit is checked at each
  /// translated block: the run stops before the first block that would take the count past
  /// max_instructions, so instructions() <= max_instructions.
  RunExit run();

  /// Asks run() to end with ExitKind::Stopped at the next scheduling boundary (the end of the
  /// slice running now, or at once if the machine waits for console input); `signal` (0 for
  /// none) comes back as RunExit::status. Thread-safe and async-signal-safe: it stores atomics
  /// and writes an eventfd (which ends the console-input wait), so another thread or a signal
  /// handler may call it while run() executes. A request made outside run() ends the next run()
  /// before anything runs; run() consumes the request when it returns Stopped. The run is at a
  /// scheduling boundary then, so it can be saved or run on.
  void request_stop(int signal = 0) noexcept;

  Console& console() { return console_; }
  /// Raw firmware-call trace lines, without time (nullptr disables them), for tests of the
  /// dispatcher's text. The dispatcher has one sink: set_tracer() and set_call_stats() replace it.
  void set_trace(fw::TraceSink* sink) { firmware_.dispatcher().set_trace(sink); }
  /// The machine's trace (core/trace.h): events of `categories` (trace_bit()s; default all) go
  /// to `writer`, stamped with their vCPU and its virtual time; nullptr (the default) traces
  /// nothing. A call's answer is stamped with the time it reaches the guest (the call's time plus
  /// CostModel::trap_ns). Not owned; outside run() only.
  void set_tracer(TraceWriter* writer, unsigned categories = kAllTraceCategories);
  /// Counts every firmware call into `stats` (not owned; nullptr, the default: none). Outside run() only.
  void set_call_stats(CallStats* stats);
  /// Whether events of `c` are being traced (cheap: the hot paths test it first).
  bool tracing(TraceCategory c) const { return tracer_ != nullptr && (trace_mask_ & trace_bit(c)) != 0; }
  /// vCPU `vcpu`'s virtual time now: the running vCPU's clock up to its current instruction.
  std::uint64_t virtual_now(unsigned vcpu);

  /// A register of vCPU `vcpu` (0..cpus-1; std::out_of_range otherwise). A vCPU that is off
  /// holds the state it had when it stopped; one started by CPU_ON already holds its entry PC
  /// and context in x0. Not callable while run() executes (from a console writer or trace
  /// sink): std::logic_error.
  std::uint64_t reg(unsigned vcpu, Reg r);
  void set_reg(unsigned vcpu, Reg r, std::uint64_t value);

  /// Copies `bytes` into guest RAM and makes every engine drop translated code, so the guest
  /// sees new code too. Throws std::out_of_range if it does not fit in RAM.
  void write_memory(std::uint64_t address, std::span<const std::uint8_t> bytes);

  const VcpuStats& stats(unsigned vcpu) const { return slots_.at(vcpu).stats; }
  /// Whether vCPU `vcpu`'s firmware calls read and write x0..x17 and the PC in the engine's own
  /// CPU state (Unicorn 2.1.1 only, verified when the engine is made; docs/architecture.md, "The
  /// trap path") instead of through Unicorn's register API. False while it has no engine.
  bool direct_registers(unsigned vcpu) const;

  // ---- debugging (the gdb stub, core/gdb_server.h); none of it costs anything unless used ----
  /// Every vCPU stops before it executes the instruction at virtual address `address`: run()
  /// returns ExitKind::Breakpoint with that vCPU's PC at `address`. Resumed, the vCPU executes
  /// that instruction first without stopping there again. The emulator's own breakpoint (a
  /// code hook over the one instruction), not the guest's debug registers or a BRK in memory:
  /// the guest cannot see it. Engines created later (CPU_ON, reset) get it too.
  void set_breakpoint(std::uint64_t address);
  void clear_breakpoint(std::uint64_t address);
  const std::vector<std::uint64_t>& breakpoints() const { return breakpoints_; }
  /// Executes one instruction of `vcpu` (with the firmware call or exception entry it causes);
  /// the other vCPUs do not run. ExitKind::Stepped, or how the instruction ended the run. A
  /// vCPU that is not runnable (off, in WFI, suspended) executes nothing: Stepped at once.
  RunExit step(unsigned vcpu);
  /// Guest memory at virtual address `address` as `vcpu`'s stage 1 MMU maps it for EL1 (the
  /// address itself while its MMU is off); only RAM. Returns the bytes done: fewer than asked
  /// at the first page that does not translate or is not RAM. A write is seen by every
  /// engine's translated code, as write_memory()'s.
  std::size_t read_virtual(unsigned vcpu, std::uint64_t address, std::span<std::uint8_t> out);
  std::size_t write_virtual(unsigned vcpu, std::uint64_t address, std::span<const std::uint8_t> bytes);
  /// FP/SIMD register Vn (0..31) of `vcpu`: low doubleword first.
  std::array<std::uint64_t, 2> vreg(unsigned vcpu, unsigned n);
  void set_vreg(unsigned vcpu, unsigned n, const std::array<std::uint64_t, 2>& value);
  /// Whether a request_stop() waits for run() (safe from any thread).
  bool stop_requested() const noexcept { return stop_requested_.load(std::memory_order_acquire); }

  /// Where `vcpu`'s PV-time stolen-time record lives (DEN0057A): 64-byte aligned, inside RAM,
  /// set once (KVM_ARM_VCPU_PVTIME_IPA). Invalid / Exists (already set, another vCPU's, or
  /// over the loaded image), NotFound (no such vCPU). Records are kept out of image placement.
  fw::HostStatus set_pv_time_ipa(unsigned vcpu, std::uint64_t ipa);

  /// Triggers SDEI event `event` now (between runs), on `vcpu` for a private event. Ok,
  /// Invalid (unknown event or vCPU), Busy (not registered and enabled: dropped).
  fw::HostStatus sdei_signal(std::uint32_t event, unsigned vcpu);

  /// Adds `ns` (at most kMaxInjectNs) of stolen time to `vcpu`, as if the host had kept it off
  /// a physical CPU that long when it was next about to run: its clock moves on and its
  /// PV-time record shows it before it runs. Throws std::invalid_argument beyond the bound.
  void inject_stolen_time(unsigned vcpu, std::uint64_t ns);
  static constexpr std::uint64_t kMaxInjectNs = 1'000'000'000'000;  // 1000 s

  /// Firmware pseudo-registers (KVM's IDs; see firmware/fw_regs.h) through `vcpu`'s accessor;
  /// the values are VM-wide. Ok, NotFound (unknown ID or vCPU), Invalid, Busy (a changed value
  /// after the first run).
  fw::HostStatus get_fw_reg(unsigned vcpu, std::uint64_t id, std::uint64_t& value) const;
  fw::HostStatus set_fw_reg(unsigned vcpu, std::uint64_t id, std::uint64_t value);

  /// Adds an SMCCC filter range (KVM_ARM_VM_SMCCC_FILTER): `action` 0 handle, 1 deny (the
  /// guest gets NOT_SUPPORTED), 2 forward (run() ends with ExitKind::Hypercall). Invalid /
  /// Exists / Busy as fw::SmcccFilter::add.
  fw::HostStatus add_filter_range(std::uint32_t base, std::uint32_t count, std::uint8_t action);
  /// The same, with the action named rather than KVM's raw value.
  fw::HostStatus add_filter_range(std::uint32_t base, std::uint32_t count, fw::FilterAction action) {
    return add_filter_range(base, count, static_cast<std::uint8_t>(action));
  }

  /// Makes run() stop with ExitKind::Checkpoint at the first scheduling boundary at which all
  /// vCPUs together have executed at least `instructions` (none: never). Stopping between
  /// slices changes nothing in the schedule, so a run saved there and restored goes on
  /// exactly as it would have.
  void set_checkpoint(std::optional<std::uint64_t> instructions) { checkpoint_ = instructions; }

  /// The whole VM (scheduler and clocks, every vCPU's registers, firmware state, the image,
  /// guest RAM) at a scheduling boundary: after load(), outside run(), and not while a
  /// forwarded call waits for the host's answer (std::logic_error). restore() needs a
  /// Machine built with the same MachineConfig; it reads and checks everything first and
  /// throws fw::StateError, leaving the Machine as it was, for anything that does not fit.
  void save(fw::StateWriter& out) const;
  void restore(fw::StateReader& in);

  /// Changes the instruction limit (a total over all vCPUs, 0 = none), e.g. to run a guest
  /// in steps: run() after an InstructionLimit exit continues where it stopped.
  void set_max_instructions(std::uint64_t limit) { config_.max_instructions = limit; }

  /// Guest RAM. Host writes through this reference are seen by guest loads at once, but code
  /// an engine has already translated keeps running (Unicorn does not watch host writes, so
  /// only write_memory() and load() invalidate translated code): change code through those.
  GuestRam& ram() { return ram_; }
  fw::Firmware& firmware() { return firmware_; }
  const MachineConfig& config() const { return config_; }
  /// Guest instructions executed so far by all vCPUs, counted per translated block entered.
  std::uint64_t instructions() const { return instructions_; }

 private:
  friend class Vcpu;

  /// Scheduling state of one vCPU (docs/architecture.md, "Virtual time and determinism").
  enum class RunState : std::uint8_t {
    Off,       ///< powered off (never started, or CPU_OFF)
    Runnable,  ///< wants a physical CPU
    Waiting,   ///< in WFI: until an interrupt is signalled to it, or `wake_ns` if `wake_set`
    Sleeping,  ///< suspended until `wake_ns`
  };
  // The engine is replaced only when it has run; a never-run engine is still at reset.
  struct Slot {
    std::unique_ptr<Vcpu> cpu;  ///< the engine
    RunState state = RunState::Off;
    VcpuStats stats;
    std::uint64_t wake_ns = 0;            ///< Sleeping (and Waiting with wake_set): when it wakes
    bool wake_set = false;                ///< Waiting: a timer deadline will wake it at wake_ns
    GenericTimer timer;                   ///< its EL1 physical and virtual timers
    fw::Request resume{};                 ///< Sleeping: power-down entry and context, if any
    std::uint64_t pending_stolen_ns = 0;  ///< injected by the host; applied when it next runs
    bool start_pending = false;           ///< CPU_ON accepted; the engine is created outside hooks
    std::uint64_t start_entry = 0;
    std::uint64_t start_context = 0;
  };

  void boot();
  void place_boot_payload();
  // restore() in steps (core/machine.cpp): read and check everything, then replace.
  struct RestoredMachine;
  void read_machine_record(fw::StateReader& in, RestoredMachine& r) const;
  Slot read_slot(fw::StateReader& in, unsigned index);
  void load_devices_and_ram(fw::StateReader& in, RestoredMachine& r);
  void read_entropy_and_ram(fw::StateReader& in, RestoredMachine& r) const;
  void check_pv_time_records(const Image& image) const;
  void adopt(RestoredMachine& r);
  // SYS_HEAPINFO's block (heap base, limit, stack base, limit): above the image and the boot payload.
  std::array<std::uint64_t, 4> semihosting_heap() const;
  std::uint64_t place(const char* what, std::uint64_t from, std::uint64_t size) const;
  std::vector<std::uint8_t> generated_device_tree(const std::optional<AddressRange>& initrd);
  void start_vcpu(unsigned index, std::uint64_t entry, std::uint64_t context, std::uint64_t now_ns);
  void apply_pending_starts();
  Vcpu& engine(unsigned index);
  void wake(unsigned index);
  void flush_translations(unsigned except);
  void apply_code_changes(unsigned index);
  std::optional<unsigned> pick_next() const;
  /// Whether slot `s` takes part in scheduling, and at what virtual time.
  static std::optional<std::uint64_t> due_at(const Slot& s);
  // ---- interrupts (core/machine_irq.cpp) ----
  /// The generic counter vCPU `index` would read now (the system-wide value never goes back).
  std::uint64_t counter_of(unsigned index) const;
  /// Drives the timer PPIs of vCPU `index` into the GIC from its timers at `counter`.
  void update_timer_lines(unsigned index, std::uint64_t counter);
  /// Guest instructions vCPU `index` may run before its next timer edge, if one is armed.
  std::optional<std::uint64_t> instructions_to_timer(unsigned index, std::uint64_t counter) const;
  /// A vCPU stopped at WFI with nothing signalled: it waits for an interrupt or its timer.
  void enter_wait(unsigned index);
  /// Makes a waiting vCPU runnable from virtual time `now_ns` (its clock never goes back).
  void end_wait(unsigned index, std::uint64_t now_ns);
  void gic_changed(unsigned cpu);
  void gic_firmware_changed();
  /// The PL011's interrupt line into the GIC (SPI kUartSpi).
  void uart_changed();
  /// Runs what the devices have due before the next vCPU would run (`next`), or waits for host
  /// input when nothing else can wake the machine; false when there was nothing to do.
  bool device_event(const std::optional<unsigned>& next);
  std::uint64_t due_ns(unsigned index) const;
  void fire_due_sdei_signals(std::optional<unsigned>& next);
  void wake_sdei_waiters(std::uint64_t now_ns);
  std::string deadlock_summary() const;
  /// What follows a slice of vCPU `index` that ended with `stop`: code and TLB maintenance
  /// for the others, the vCPU's new run state, and the RunExit if the run ends here.
  bool wake_if_due(unsigned index);
  std::uint64_t* charge_waits(Slot& slot);
  struct SliceBudget {
    std::uint64_t instructions;
    bool limited;  // a hard limit (--max-instructions), not the quantum or a timer
  };
  SliceBudget slice_budget(unsigned index);
  std::optional<RunExit> run_slice(unsigned index);
  std::optional<RunExit> finish_slice(unsigned index, VcpuStop stop, bool limited);

  // Called by Vcpu from inside a hook: record, never create or destroy engines there.
  void request_cpu_on(const fw::Request& request, std::uint64_t now_ns);
  // IC IALLU(IS): every engine drops all its translations: the one that executed it at once
  // (Vcpu::run), the others before they run again.
  void note_code_changed(unsigned by) {
    code_changed_by_ = by;
    code_changed_all_ = true;
  }
  // IC IVAU: only the line at physical `address` changed (ranges are merged; too many: all).
  void note_code_range(unsigned by, std::uint64_t address, std::uint64_t size);
  /// vCPU `by` executed a broadcast TLBI: every other vCPU drops its TLB after this slice.
  void note_tlb_broadcast(unsigned by) { tlb_broadcast_by_ = by; }

  // The firmware's view of the machine (fw::Platform).
  struct RamAccess final : fw::GuestMemory {
    GuestRam& ram;
    explicit RamAccess(GuestRam& r) : ram(r) {}
    bool write(std::uint64_t address, std::span<const std::uint8_t> bytes) override {
      return ram.write(address, bytes);
    }
  };
  struct ClockAccess final : fw::Clock {
    Machine& machine;
    explicit ClockAccess(Machine& m) : machine(m) {}
    std::uint64_t counter(unsigned vcpu) override;
    std::uint64_t stolen_ns(unsigned vcpu) override { return machine.slots_.at(vcpu).stats.stolen_ns; }
  };
  struct GicEvents final : GicListener {
    Machine& machine;
    explicit GicEvents(Machine& m) : machine(m) {}
    void gic_changed(unsigned cpu) override { machine.gic_changed(cpu); }
    void gic_firmware_changed() override { machine.gic_firmware_changed(); }
  };
  fw::FirmwareConfig firmware_config();
  // Call lines from the dispatcher become TraceEvents and CallStats counts (core/trace.cpp's
  // writers never see the firmware).
  struct CallTrace final : fw::TraceSink {
    Machine& machine;
    explicit CallTrace(Machine& m) : machine(m) {}
    void line(std::string_view text) override { static_cast<void>(text); }
    void call_line(const fw::CallTraceInfo& info, std::string_view text) override;
  };
  void update_call_trace();
  /// Emits an event of `category` on `vcpu` at its current virtual time (callers test tracing()).
  void trace_event(TraceCategory category, TracePhase phase, unsigned vcpu, std::string_view name,
                   std::string_view text);

  MachineConfig config_;
  GuestRam ram_;
  RamAccess ram_access_{ram_};
  ClockAccess clock_access_{*this};
  std::unique_ptr<fw::EntropySource> entropy_;
  std::vector<Slot> slots_;  // declared before firmware_: services' Clock reads it
  GicEvents gic_events_{*this};
  Gicv3 gic_;
  std::optional<unsigned> running_vcpu_;  // the vCPU inside Vcpu::run, if any
  std::uint64_t device_now_ns_ = 0;       // the virtual time of the last device event outside a vCPU
  Console console_;
  Pl011 uart_{console_};
  Semihosting semihosting_{config_.semihosting};  // open handles: closed at every boot()
  fw::Firmware firmware_;
  std::vector<std::uint64_t> pcpu_free_ns_;  // when each modelled physical CPU is next free
  Image image_;
  std::vector<std::uint8_t> dtb_;  // the device tree of the last boot
  std::uint64_t dtb_address_ = 0;  // where it is: x0 of the boot vCPU
  bool loaded_ = false;
  std::uint64_t instructions_ = 0;
  std::optional<unsigned> code_changed_by_;
  bool code_changed_all_ = false;
  std::optional<unsigned> tlb_broadcast_by_;  // a broadcast TLBI ran in this slice
  std::vector<CodeRange> code_ranges_;        // reserved once: hooks never allocate
  std::uint64_t counter_high_water_ = 0;      // highest generic-counter value any vCPU has read
  std::optional<std::uint64_t> checkpoint_;
  std::vector<std::uint64_t> breakpoints_;  // set_breakpoint() addresses
  std::vector<SdeiSignal> sdei_signals_;    // config_.sdei_signals by time (stable)
  std::size_t sdei_signals_done_ = 0;       // how many of them have fired
  bool forwarded_call_pending_ = false;     // a Hypercall exit the host has not resumed yet
  bool running_ = false;
  TraceWriter* tracer_ = nullptr;  // set_tracer(); none
  unsigned trace_mask_ = 0;        // its categories
  CallStats* call_stats_ = nullptr;
  CallTrace call_trace_{*this};
  // request_stop(): checked once per scheduling step of run(), never inside a slice.
  std::atomic<bool> stop_requested_{false};
  std::atomic<int> stop_signal_{0};
  int wake_fd_ = -1;  // an eventfd request_stop() writes to; -1 if none could be made
  static_assert(std::atomic<bool>::is_always_lock_free && std::atomic<int>::is_always_lock_free,
                "request_stop() must be async-signal-safe");
  RunExit stopped();
};

}  // namespace emu::core
