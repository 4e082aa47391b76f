// The guest's stage 1 MMU seen from the host: address translation for host reads of guest
// memory, and the delivery of MMU aborts. The engine reports an MMU fault only as "prefetch
// abort" or "data abort" with the PC at the faulting instruction, and no syndrome or fault
// address. The syndrome is rebuilt here: decode the instruction for the address, size and
// direction (core/a64_access.h), then ask the engine's own page-table walker with AT
// S1E{0,1}{R,W} (Arm ARM C5.5) and read the fault status PAR_EL1.FST. Only the faults AT
// cannot report (execute-never, PAN, alignment) are derived, with a walk of the tables.
#include <fmt/format.h>
#include <cstring>

#include "core/a64_access.h"
#include "core/fault_report.h"
#include "core/vcpu.h"

namespace emu::core {
namespace {

// AT S1E1R, S1E1W, S1E0R, S1E0W: op0 1, op1 0, CRn 7, CRm 8, op2 0..3 (Arm ARM C5.5).
constexpr SysReg at_register(std::uint32_t op2) {
  return {1, 0, 7, 8, op2};
}
constexpr SysReg kParEl1{3, 0, 7, 4, 0};
constexpr SysReg kTcrEl1{3, 0, 2, 0, 2};
constexpr SysReg kTtbr0El1{3, 0, 2, 0, 0};
constexpr SysReg kTtbr1El1{3, 0, 2, 0, 1};
constexpr SysReg kDczidEl0{3, 3, 0, 0, 7};
constexpr SysReg kSctlrEl1{3, 0, 1, 0, 0};

// PAR_EL1 (Arm ARM D17.2.113): F in bit 0; on a fault FST in bits 6:1, else PA in 47:12.
constexpr std::uint64_t kParF = 1;
constexpr std::uint32_t par_fst(std::uint64_t par) {
  return static_cast<std::uint32_t>((par >> 1) & 0x3F);
}
constexpr std::uint64_t kPaMask = 0x0000'FFFF'FFFF'F000;

// ESR_EL1 for aborts (Arm ARM D17.2.40): EC, IL = 1 (A64), ISS with the fault status code in
// bits 5:0, WnR bit 6, CM bit 8; ISV = 0, as for a stage 1 abort that carries no register
// information.
constexpr std::uint32_t kEcInstructionAbortLower = 0x20;
constexpr std::uint32_t kEcInstructionAbortSame = 0x21;
constexpr std::uint32_t kEcDataAbortLower = 0x24;
constexpr std::uint32_t kEcDataAbortSame = 0x25;
constexpr std::uint64_t abort_esr(std::uint32_t ec, std::uint32_t iss) {
  return (std::uint64_t{ec} << 26) | (1u << 25) | iss;
}
constexpr std::uint32_t kIssWnR = 1u << 6;
constexpr std::uint32_t kIssCm = 1u << 8;

// Fault status codes (Arm ARM D17.2.40, DFSC/IFSC).
constexpr std::uint32_t kFscPermission = 0x0C;  // + level
constexpr std::uint32_t kFscAlignment = 0x21;
constexpr std::uint32_t kFscSyncExternal = 0x10;

// PSTATE (Arm ARM D1.4): PAN (FEAT_PAN) and UAO (FEAT_UAO).
constexpr std::uint32_t kPstatePan = 1u << 22;
constexpr std::uint32_t kPstateUao = 1u << 23;

// Stage 1 descriptor bits (Arm ARM D8.3): AP[1] (EL0 access) and AP[2] (read-only), PXN,
// UXN, and the hierarchical PXNTable/UXNTable of table descriptors.
constexpr std::uint64_t kAp1 = 1ull << 6;
constexpr std::uint64_t kAp2 = 1ull << 7;
constexpr std::uint64_t kPxn = 1ull << 53;
constexpr std::uint64_t kUxn = 1ull << 54;
constexpr std::uint64_t kPxnTable = 1ull << 59;
constexpr std::uint64_t kUxnTable = 1ull << 60;
constexpr std::uint64_t kSctlrWxn = 1ull << 19;
constexpr std::uint64_t kSctlrA = 1ull << 1;

constexpr std::uint64_t kHostPage = 4096;  // the smallest granule: one translation covers it

}  // namespace

/// The last level of a walk: the block or page descriptor, its level, and the execute-never
/// bits inherited from the table descriptors above it.
struct Vcpu::Leaf {
  std::uint64_t descriptor = 0;
  unsigned level = 0;
  bool pxn_table = false;
  bool uxn_table = false;
};

std::uint64_t Vcpu::address_translate(std::uint64_t va, At at) {
  const std::uint64_t saved = read_sysreg(kParEl1);
  check(write_sysreg(at_register(static_cast<std::uint32_t>(at)), va), "AT");
  const std::uint64_t par = read_sysreg(kParEl1);
  check(write_sysreg(kParEl1, saved), "write PAR_EL1");
  return par;
}

// With the MMU off, AT reports PA = VA, so asking only once the MMU may be on is exact.
std::optional<std::uint64_t> Vcpu::guest_pa(std::uint64_t va) {
  if (!mmu_ever_on_) return va;
  const std::uint64_t par = address_translate(va, At::S1E1R);
  if ((par & kParF) != 0) return std::nullopt;
  return (par & kPaMask) | (va & (kHostPage - 1));
}

std::size_t Vcpu::read_guest(std::uint64_t va, std::span<std::uint8_t> out) {
  std::size_t done = 0;
  while (done < out.size()) {
    const std::uint64_t at = va + done;
    const std::size_t chunk = std::min<std::uint64_t>(out.size() - done, kHostPage - (at & (kHostPage - 1)));
    const std::optional<std::uint64_t> pa = guest_pa(at);
    const std::uint8_t* p = pa ? machine_.ram_.at(*pa, chunk) : nullptr;
    if (p == nullptr) break;
    std::memcpy(out.data() + done, p, chunk);
    done += chunk;
  }
  return done;
}

std::size_t Vcpu::write_guest(std::uint64_t va, std::span<const std::uint8_t> bytes, std::vector<CodeRange>& written) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    const std::uint64_t at = va + done;
    const std::size_t chunk = std::min<std::uint64_t>(bytes.size() - done, kHostPage - (at & (kHostPage - 1)));
    const std::optional<std::uint64_t> pa = guest_pa(at);
    std::uint8_t* p = pa ? machine_.ram_.at(*pa, chunk) : nullptr;
    if (p == nullptr) break;
    std::memcpy(p, bytes.data() + done, chunk);
    written.push_back({*pa, chunk});
    done += chunk;
  }
  return done;
}

// IC IVAU's address, as the executing regime reads it (Arm ARM C5.3: IC IVAU is checked like a
// read at the current EL).
std::optional<std::uint64_t> Vcpu::translate(std::uint64_t va) {
  if (!mmu_on()) return va;
  const bool el0 = ((read_pstate() >> 2) & 3) == 0;
  const std::uint64_t par = address_translate(va, el0 ? At::S1E0R : At::S1E1R);
  if ((par & kParF) != 0) return std::nullopt;
  return (par & kPaMask) | (va & (kHostPage - 1));
}

// A walk of the EL1&0 stage 1 tables for `va` (Arm ARM D8.2), 4K, 16K or 64K granule, for
// what AT does not report: the leaf's level and permission bits. Descriptors are read from
// RAM by physical address; nullopt if the walk does not reach a leaf.
std::optional<Vcpu::Leaf> Vcpu::walk(std::uint64_t va) {
  const std::uint64_t tcr = read_sysreg(kTcrEl1);
  const bool upper = ((va >> 55) & 1) != 0;
  const unsigned tsz = static_cast<unsigned>((tcr >> (upper ? 16 : 0)) & 0x3F);
  const unsigned tg = static_cast<unsigned>((tcr >> (upper ? 30 : 14)) & 3);
  // TG0: 0 4K, 1 64K, 2 16K; TG1: 1 16K, 2 4K, 3 64K.
  const unsigned grain = upper ? (tg == 1 ? 14 : tg == 3 ? 16 : 12) : (tg == 1 ? 16 : tg == 2 ? 14 : 12);
  const unsigned stride = grain - 3;
  const unsigned input_bits = 64 - tsz;
  if (input_bits <= grain) return std::nullopt;
  const unsigned levels = (input_bits - grain + stride - 1) / stride;
  if (levels > 4) return std::nullopt;
  std::uint64_t table = read_sysreg(upper ? kTtbr1El1 : kTtbr0El1) & 0x0000'FFFF'FFFF'FFFEull;
  Leaf leaf;
  for (unsigned level = 4 - levels; level <= 3; ++level) {
    const unsigned shift = grain + (3 - level) * stride;
    const unsigned index_bits = std::min(stride, input_bits - shift);
    const std::uint64_t index = (va >> shift) & ((std::uint64_t{1} << index_bits) - 1);
    const std::uint8_t* p = machine_.ram_.at(table + index * 8, 8);
    if (p == nullptr) return std::nullopt;
    std::uint64_t desc = 0;
    std::memcpy(&desc, p, 8);
    if ((desc & 1) == 0) return std::nullopt;
    if (level == 3 || (desc & 2) == 0) {  // a page, or a block
      leaf.descriptor = desc;
      leaf.level = level;
      return leaf;
    }
    leaf.pxn_table |= (desc & kPxnTable) != 0;
    leaf.uxn_table |= (desc & kUxnTable) != 0;
    table = desc & kPaMask & ~((std::uint64_t{1} << grain) - 1);
  }
  return std::nullopt;
}

void Vcpu::mmu_abort(bool fetch) {
  const std::uint64_t pc = reg(Reg::Pc);
  const std::uint32_t pstate = read_pstate();
  const bool el0 = ((pstate >> 2) & 3) == 0;
  if (fetch) {
    instruction_abort(pc, el0);
  } else {
    data_abort(pc, el0, pstate);
  }
}

// An instruction abort at `pc` (Arm ARM D8.5): a translation, access-flag or permission
// fault that AT reports for a read of the same page, or else an execute-never fault, which
// AT cannot report (it checks reads and writes only). FAR = the PC.
void Vcpu::instruction_abort(std::uint64_t pc, bool el0) {
  const std::uint32_t ec = el0 ? kEcInstructionAbortLower : kEcInstructionAbortSame;
  const std::uint64_t par = address_translate(pc, el0 ? At::S1E0R : At::S1E1R);
  if ((par & kParF) != 0) {
    take_exception(abort_esr(ec, par_fst(par)), pc, pc, "instruction abort");
    return;
  }
  const std::optional<Leaf> leaf = mmu_on() ? walk(pc) : std::nullopt;
  if (leaf) {
    const std::uint64_t d = leaf->descriptor;
    // At EL1, memory EL0 can write is never executable (D8.4.1), nor is writable memory
    // under SCTLR_EL1.WXN.
    const bool writable = (d & kAp2) == 0;
    const bool el0_writable = writable && (d & kAp1) != 0;
    const bool wxn = writable && (read_sysreg(kSctlrEl1) & kSctlrWxn) != 0;
    const bool xn =
        el0 ? ((d & kUxn) != 0 || leaf->uxn_table || wxn) : ((d & kPxn) != 0 || leaf->pxn_table || el0_writable || wxn);
    if (xn) {
      take_exception(abort_esr(ec, kFscPermission + leaf->level), pc, pc, "instruction abort (execute-never)");
      return;
    }
  }
  fatal(fmt::format("undecodable abort: instruction abort at {:#x} that neither AT nor the page tables explain", pc));
}

// A data abort at `pc` (Arm ARM D8.5): the faulting access is decoded from the instruction,
// then its fault found as the access would meet it (data_fault).
void Vcpu::data_abort(std::uint64_t pc, bool el0, std::uint32_t pstate) {
  std::uint32_t word = 0;
  if (!fetch_word(pc, word)) {
    fatal(fmt::format("undecodable abort: data abort at {:#x}, whose instruction the host cannot read", pc));
    return;
  }
  const a64::Access a = a64::decode_access(
      word, pc, [this](unsigned n) { return reg(n == 31 ? Reg::Sp : xreg(n)); }, 4u << (read_sysreg(kDczidEl0) & 0xF));
  if (!a.ok) {
    fatal(fmt::format("undecodable abort: data abort at {:#x} from an instruction the host does not decode: {}", pc,
                      disassemble_one(word, pc)));
    return;
  }
  const bool el0_regime = el0 || (a.unprivileged && (pstate & kPstateUao) == 0);
  const std::optional<DataFault> f = data_fault(a, el0_regime, pstate);
  if (!f) {
    fatal(
        fmt::format("undecodable abort: data abort at {:#x} ({}, address {:#x}) that neither AT nor the page "
                    "tables explain",
                    pc, disassemble_one(word, pc), a.va));
    return;
  }
  const std::uint32_t iss = f->fsc | (f->wnr ? kIssWnR : 0) | (a.is_cache_maint ? kIssCm : 0);
  take_exception(abort_esr(el0 ? kEcDataAbortLower : kEcDataAbortSame, iss), f->far, pc, "data abort");
}

// The fault an access meets, in the architecture's order (Arm ARM D8.14, fault
// prioritisation): alignment an instruction requires (exclusive, ordered, atomic) comes
// before translation; then AT checks each page the access touches, with EL0 permissions in
// the EL0 regime, for a write if it stores; a read-modify-write is checked for the read,
// then the write. A page-crossing access that faults on its second page reports the first
// address of that page. Last, what AT does not check: PAN, and alignment under SCTLR_EL1.A.
std::optional<Vcpu::DataFault> Vcpu::data_fault(const a64::Access& a, bool el0_regime, std::uint32_t pstate) {
  const bool plain_write = a.is_write && !a.is_rmw && !a.is_cache_maint;
  const bool wnr = plain_write || a.is_cache_maint;  // CM: WnR is 1 (D17.2.40)
  if (a.va % a.align != 0) return DataFault{kFscAlignment, a.va, wnr};
  const At read = el0_regime ? At::S1E0R : At::S1E1R;
  const At write = el0_regime ? At::S1E0W : At::S1E1W;
  const std::uint64_t first_page = a.va & ~(kHostPage - 1);
  const std::uint64_t last_page = (a.va + (a.size == 0 ? 0 : a.size - 1)) & ~(kHostPage - 1);
  for (const std::uint64_t address : {a.va, last_page}) {
    std::uint64_t par = address_translate(address, plain_write ? write : read);
    bool fault_on_write = wnr;
    if ((par & kParF) == 0 && a.is_rmw) {
      par = address_translate(address, write);
      fault_on_write = true;
    }
    if ((par & kParF) != 0) return DataFault{par_fst(par), address, fault_on_write};
    if (last_page == first_page) break;
  }
  if (!el0_regime && (pstate & kPstatePan) != 0 && !a.is_cache_maint && mmu_on()) {
    // FEAT_PAN: EL1 may not access memory EL0 can access (D8.4.2).
    const std::optional<Leaf> leaf = walk(a.va);
    if (leaf && (leaf->descriptor & kAp1) != 0) return DataFault{kFscPermission + leaf->level, a.va, wnr};
  }
  if ((read_sysreg(kSctlrEl1) & kSctlrA) != 0 && a.va % a.element != 0) return DataFault{kFscAlignment, a.va, wnr};
  return std::nullopt;
}

void Vcpu::fetch_external_abort() {
  const std::uint64_t pc = reg(Reg::Pc);
  const std::uint64_t where = fetch_hole_.value_or(pc);
  fetch_hole_.reset();
  const bool el0 = ((read_pstate() >> 2) & 3) == 0;
  // A synchronous external abort on the fetch (Arm ARM D8.5.2): IFSC 0x10, FAR = the PC.
  take_exception(abort_esr(el0 ? kEcInstructionAbortLower : kEcInstructionAbortSame, kFscSyncExternal), pc, pc,
                 fmt::format("instruction abort: fetch from unmapped address {:#x}", where));
}

}  // namespace emu::core
