// A64 load/store decoding for abort syndromes. Section numbers are the Arm ARM's (DDI 0487):
// C4.1.66 gives the encoding classes of the "Loads and Stores" group; each class's fields
// are described with its instructions in C6.2.
#include "core/a64_access.h"

namespace emu::core::a64 {
namespace {

constexpr std::uint32_t bits(std::uint32_t w, unsigned hi, unsigned lo) {
  return (w >> lo) & ((1u << (hi - lo + 1)) - 1);
}
constexpr bool bit(std::uint32_t w, unsigned n) {
  return ((w >> n) & 1) != 0;
}
constexpr std::uint64_t sext(std::uint64_t v, unsigned width) {
  const std::uint64_t sign = std::uint64_t{1} << (width - 1);
  return (v ^ sign) - sign;
}

// The base register Xn|SP (Rn = 31 is SP) and a register operand Xm (Rm = 31 is XZR).
std::uint64_t base(std::uint32_t w, const RegisterReader& x) {
  return x(bits(w, 9, 5));
}
std::uint64_t xzr_or(unsigned n, const RegisterReader& x) {
  return n == 31 ? 0 : x(n);
}

Access make(std::uint64_t va, std::uint32_t size, std::uint32_t element, bool write) {
  return {.va = va, .size = size, .align = 1, .element = element, .is_write = write, .ok = true};
}
Access aligned(Access a) {
  a.align = a.size;
  return a;
}

// Load/store exclusive, load-acquire/store-release, CAS and CASP (C4.1.66, "Load/store
// exclusive pair/register", "Load/store ordered", "Compare and swap"): base only, and every
// form must be aligned to its whole size (B2.5.2).
Access exclusive_or_ordered(std::uint32_t w, const RegisterReader& x) {
  const std::uint32_t size = bits(w, 31, 30);
  const bool o2 = bit(w, 23), load = bit(w, 22), o1 = bit(w, 21);
  const std::uint64_t va = base(w, x);
  if (!o1) return aligned(make(va, 1u << size, 1u << size, !load));  // LDXR/STXR, LDAR/STLR
  if (o2) {                                                          // CAS
    Access a = aligned(make(va, 1u << size, 1u << size, true));
    a.is_rmw = true;
    return a;
  }
  const std::uint32_t element = 4u << (size & 1);
  if (bit(w, 31)) return aligned(make(va, 2 * element, element, !load));  // LDXP/STXP
  Access a = aligned(make(va, 2 * element, element, true));               // CASP
  a.is_rmw = true;
  return a;
}

// Load register (literal), C6.2 LDR (literal): PC + imm19 * 4, never a store.
Access literal(std::uint32_t w, std::uint64_t pc) {
  const std::uint32_t opc = bits(w, 31, 30);
  static constexpr std::uint32_t kGpr[] = {4, 8, 4, 0};  // LDR W, LDR X, LDRSW, PRFM
  static constexpr std::uint32_t kSimd[] = {4, 8, 16, 0};
  const std::uint32_t size = bit(w, 26) ? kSimd[opc] : kGpr[opc];
  if (size == 0) return {};  // a prefetch never aborts
  return make(pc + (sext(bits(w, 23, 5), 19) << 2), size, size, false);
}

// Load/store pair: no-allocate offset, post-index, signed offset, pre-index (bits 24:23).
Access pair(std::uint32_t w, const RegisterReader& x) {
  const std::uint32_t opc = bits(w, 31, 30);
  const bool load = bit(w, 22);
  if (opc == 3) return {};
  // GPR: 32-bit, LDPSW (or STGP, which stores 16 bytes), 64-bit; SIMD: S, D, Q.
  unsigned scale = bit(w, 26) ? 2 + opc : (opc == 0 ? 2 : opc == 2 ? 3 : (load ? 2 : 3));
  const bool post = bits(w, 24, 23) == 1;
  const std::uint64_t offset = sext(bits(w, 21, 15), 7) << scale;
  return make(base(w, x) + (post ? 0 : offset), 2u << scale, 1u << scale, !load);
}

// Register offset: Xm extended by `option` (UXTW, LSL, SXTW, SXTX) and shifted if S.
bool register_offset(std::uint32_t w, unsigned scale, const RegisterReader& x, std::uint64_t& offset) {
  const std::uint32_t option = bits(w, 15, 13);
  if ((option & 2) == 0) return false;  // UXTB/UXTH/SXTB/SXTH are unallocated here
  std::uint64_t m = xzr_or(bits(w, 20, 16), x);
  if (option == 2) m = static_cast<std::uint32_t>(m);
  if (option == 6) m = sext(static_cast<std::uint32_t>(m), 32);
  offset = m << (bit(w, 12) ? scale : 0);
  return true;
}

// Atomic memory operations (LDADD..LDUMIN, SWP, LDAPR): base only, naturally aligned.
Access atomic(std::uint32_t w, const RegisterReader& x) {
  const std::uint32_t size = 1u << bits(w, 31, 30);
  const bool o3 = bit(w, 15);
  const std::uint32_t opc = bits(w, 14, 12);
  Access a = aligned(make(base(w, x), size, size, false));
  if (o3 && opc == 4) return a;   // LDAPR: an ordered load
  if (o3 && opc != 0) return {};  // LD64B, ST64B and the like
  a.is_write = a.is_rmw = true;   // LD<op>, ST<op> (Rt = XZR) and SWP read and write
  return a;
}

// LDRAA/LDRAB: Xn + (S:imm9 << 3), 8 bytes. The pointer is taken as it is, which is
// exact when pointer authentication is off or the pointer carries no PAC.
Access pointer_auth_load(std::uint32_t w, const RegisterReader& x) {
  if (bits(w, 31, 30) != 3 || bit(w, 26)) return {};
  const std::uint64_t offset = sext((std::uint64_t{bit(w, 22)} << 9) | bits(w, 20, 12), 10) << 3;
  return make(base(w, x) + offset, 8, 8, false);
}

// The size and direction of the single-register classes (C6.2 LDR/STR and friends).
bool single_register_kind(std::uint32_t w, unsigned& scale, bool& write) {
  const std::uint32_t size = bits(w, 31, 30), opc = bits(w, 23, 22);
  if (bit(w, 26)) {  // SIMD&FP: B, H, S, D, or Q when opc<1> is set
    if ((opc & 2) != 0 && size != 0) return false;
    scale = (opc & 2) != 0 ? 4 : size;
    write = (opc & 1) == 0;
    return true;
  }
  if (opc == 2 && size == 3) return false;  // PRFM: no access
  if (opc == 3 && size >= 2) return false;
  scale = size;
  write = opc == 0;
  return true;
}

// Load/store register: unsigned imm12, imm9 (unscaled, post, unprivileged, pre), register
// offset, and in the same space the atomics and LDRAA/LDRAB.
Access single_register(std::uint32_t w, const RegisterReader& x) {
  const bool imm12 = bit(w, 24);
  if (!imm12 && bit(w, 21)) {
    if (bit(w, 10)) return pointer_auth_load(w, x);
    if (bits(w, 11, 10) == 0) return bit(w, 26) ? Access{} : atomic(w, x);
  }
  unsigned scale = 0;
  bool write = false;
  if (!single_register_kind(w, scale, write)) return {};
  const std::uint64_t xn = base(w, x);
  const std::uint32_t size = 1u << scale;
  if (imm12) return make(xn + (std::uint64_t{bits(w, 21, 10)} << scale), size, size, write);
  if (bit(w, 21)) {  // register offset (bits 11:10 = 10)
    std::uint64_t offset = 0;
    if (!register_offset(w, scale, x, offset)) return {};
    return make(xn + offset, size, size, write);
  }
  const std::uint64_t imm9 = sext(bits(w, 20, 12), 9);
  switch (bits(w, 11, 10)) {
    case 1: return make(xn, size, size, write);  // post-index: the base itself
    case 2: {                                    // LDTR/STTR
      if (bit(w, 26)) return {};
      Access a = make(xn + imm9, size, size, write);
      a.unprivileged = true;
      return a;
    }
    default: return make(xn + imm9, size, size, write);  // unscaled, pre-index
  }
}

// LDAPUR/STLUR (FEAT_LRCPC2): Xn + imm9, ordered, so aligned.
Access rcpc_unscaled(std::uint32_t w, const RegisterReader& x) {
  const std::uint32_t size = bits(w, 31, 30), opc = bits(w, 23, 22);
  if ((size == 3 && opc >= 2) || (size == 2 && opc == 3)) return {};
  const std::uint32_t bytes = 1u << size;
  return aligned(make(base(w, x) + sext(bits(w, 20, 12), 9), bytes, bytes, opc == 0));
}

// Advanced SIMD load/store multiple structures (LD1..LD4, ST1..ST4): the number of
// registers from the opcode, 8 or 16 bytes each (Q); post-index reports the base.
Access simd_multiple(std::uint32_t w, const RegisterReader& x) {
  std::uint32_t regs = 0;
  switch (bits(w, 15, 12)) {
    case 0x0:
    case 0x2: regs = 4; break;
    case 0x4:
    case 0x6: regs = 3; break;
    case 0x7: regs = 1; break;
    case 0x8:
    case 0xA: regs = 2; break;
    default: return {};
  }
  const std::uint32_t bytes = regs * (bit(w, 30) ? 16 : 8);
  return make(base(w, x), bytes, 1u << bits(w, 11, 10), !bit(w, 22));
}

// Advanced SIMD load/store single structure (one lane, or LDnR replicate): selem elements
// of 1 << scale bytes.
Access simd_single(std::uint32_t w, const RegisterReader& x) {
  const std::uint32_t opcode = bits(w, 15, 13), size = bits(w, 11, 10);
  const bool load = bit(w, 22);
  const std::uint32_t selem = (((opcode & 1) << 1) | (bit(w, 21) ? 1 : 0)) + 1;
  unsigned scale = 0;
  switch (opcode >> 1) {
    case 0: scale = 0; break;
    case 1:
      if ((size & 1) != 0) return {};
      scale = 1;
      break;
    case 2:
      if ((size & 2) != 0 || ((size & 1) != 0 && bit(w, 12))) return {};
      scale = (size & 1) != 0 ? 3 : 2;
      break;
    default:
      if (!load || bit(w, 12)) return {};
      scale = size;
  }
  return make(base(w, x), selem << scale, 1u << scale, !load);
}

// DC ZVA and the cache maintenance instructions by VA (C5.3: SYS with op0 = 1, CRn = 7).
// Maintenance reports CM = 1 and WnR = 1 (D17.2.40); DC ZVA is an ordinary write of one
// block, reported at the address the instruction gives.
Access cache_by_va(std::uint32_t w, const RegisterReader& x, std::uint32_t zva_bytes) {
  const std::uint32_t op1 = bits(w, 18, 16), crn = bits(w, 15, 12), crm = bits(w, 11, 8), op2 = bits(w, 7, 5);
  if (crn != 7 || op2 != 1) return {};
  const std::uint64_t va = xzr_or(bits(w, 4, 0), x);
  // DC ZVA zeroes the aligned block holding va: the size runs to that block's end, so the
  // access never reaches into the next page although FAR stays the address given.
  if (op1 == 3 && crm == 4) return make(va, zva_bytes - static_cast<std::uint32_t>(va & (zva_bytes - 1)), 1, true);
  const bool maintenance = (op1 == 0 && crm == 6) ||                              // DC IVAC
                           (op1 == 3 && (crm == 5 || (crm >= 10 && crm <= 14)));  // IC IVAU, DC CVAC..CIVAC
  if (!maintenance) return {};
  Access a = make(va, 1, 1, true);
  a.is_cache_maint = true;
  return a;
}

}  // namespace

Access decode_access(std::uint32_t word, std::uint64_t pc, const RegisterReader& x, std::uint32_t zva_bytes) {
  const std::uint32_t w = word;
  if ((w & 0x3F00'0000u) == 0x0800'0000u) return exclusive_or_ordered(w, x);
  if ((w & 0x3F20'0C00u) == 0x1900'0000u) return rcpc_unscaled(w, x);
  if ((w & 0x3B00'0000u) == 0x1800'0000u) return literal(w, pc);
  if ((w & 0x3A00'0000u) == 0x2800'0000u) return pair(w, x);
  if ((w & 0x3A00'0000u) == 0x3800'0000u) return single_register(w, x);
  if ((w & 0xBFBF'0000u) == 0x0C00'0000u || (w & 0xBFA0'0000u) == 0x0C80'0000u) return simd_multiple(w, x);
  if ((w & 0xBF9F'0000u) == 0x0D00'0000u || (w & 0xBF80'0000u) == 0x0D80'0000u) return simd_single(w, x);
  if ((w & 0xFFF8'0000u) == 0xD508'0000u) return cache_by_va(w, x, zva_bytes);
  return {};
}

}  // namespace emu::core::a64
