// A few A64 encodings (Arm ARM C6), enough to write core tests as raw instruction words.
// core_test.cpp checks each encoder against the word GNU as (aarch64-linux-gnu-as) produces.
#pragma once

#include <cstdint>

namespace emu::test::a64 {

inline constexpr std::uint32_t kNop = 0xD503'201F;
inline constexpr std::uint32_t kWfi = 0xD503'207F;
inline constexpr std::uint32_t kWfe = 0xD503'205F;
inline constexpr std::uint32_t kDaifClrI = 0xD503'42FF;  // MSR DAIFClr, #2: unmask IRQs
inline constexpr std::uint32_t kDaifSetI = 0xD503'42DF;  // MSR DAIFSet, #2
inline constexpr std::uint32_t kEret = 0xD69F'03E0;
inline constexpr std::uint32_t kUdf0 = 0x0000'0000;

/// MOVZ Xd, #imm16, LSL #(16 * hw)
constexpr std::uint32_t movz(unsigned rd, std::uint16_t imm, unsigned hw = 0) {
  return 0xD280'0000u | (hw << 21) | (std::uint32_t{imm} << 5) | rd;
}
/// MOVK Xd, #imm16, LSL #(16 * hw)
constexpr std::uint32_t movk(unsigned rd, std::uint16_t imm, unsigned hw = 0) {
  return 0xF280'0000u | (hw << 21) | (std::uint32_t{imm} << 5) | rd;
}
constexpr std::uint32_t hvc(std::uint16_t imm) {
  return 0xD400'0002u | (std::uint32_t{imm} << 5);
}
constexpr std::uint32_t smc(std::uint16_t imm) {
  return 0xD400'0003u | (std::uint32_t{imm} << 5);
}
constexpr std::uint32_t svc(std::uint16_t imm) {
  return 0xD400'0001u | (std::uint32_t{imm} << 5);
}
constexpr std::uint32_t brk(std::uint16_t imm) {
  return 0xD420'0000u | (std::uint32_t{imm} << 5);
}
constexpr std::uint32_t hlt(std::uint16_t imm) {
  return 0xD440'0000u | (std::uint32_t{imm} << 5);
}
/// B to `words` instructions from here (negative = backwards).
constexpr std::uint32_t b(std::int32_t words) {
  return 0x1400'0000u | (static_cast<std::uint32_t>(words) & 0x3FF'FFFF);
}
/// BR Xn
constexpr std::uint32_t br(unsigned rn) {
  return 0xD61F'0000u | (rn << 5);
}
/// MOV Xd, SP (ADD Xd, SP, #0) and MOV SP, Xn (ADD SP, Xn, #0)
constexpr std::uint32_t mov_from_sp(unsigned rd) {
  return 0x9100'03E0u | rd;
}
constexpr std::uint32_t mov_to_sp(unsigned rn) {
  return 0x9100'001Fu | (rn << 5);
}

inline constexpr std::uint32_t kRet = 0xD65F'03C0;
inline constexpr std::uint32_t kIcIalluis = 0xD508'711F;
inline constexpr std::uint32_t kDsbIsh = 0xD503'3B9F;
inline constexpr std::uint32_t kIsb = 0xD503'3FDF;

/// MOV Xd, Xm (ORR Xd, XZR, Xm)
constexpr std::uint32_t mov(unsigned rd, unsigned rm) {
  return 0xAA00'03E0u | (rm << 16) | rd;
}
/// BL to `words` instructions from here.
constexpr std::uint32_t bl(std::int32_t words) {
  return 0x9400'0000u | (static_cast<std::uint32_t>(words) & 0x3FF'FFFF);
}
enum Cond : std::uint32_t { kEq = 0, kNe = 1, kLo = 3 };
/// B.cond to `words` instructions from here.
constexpr std::uint32_t b_cond(Cond c, std::int32_t words) {
  return 0x5400'0000u | ((static_cast<std::uint32_t>(words) & 0x7'FFFF) << 5) | c;
}
/// LDR Xt, [Xn] / STR Xt, [Xn] / STR Wt, [Xn]
constexpr std::uint32_t ldr(unsigned rt, unsigned rn) {
  return 0xF940'0000u | (rn << 5) | rt;
}
constexpr std::uint32_t str(unsigned rt, unsigned rn) {
  return 0xF900'0000u | (rn << 5) | rt;
}
constexpr std::uint32_t str_w(unsigned rt, unsigned rn) {
  return 0xB900'0000u | (rn << 5) | rt;
}
/// ADD Xd, Xn, #imm12 / SUBS Xd, Xn, #imm12 / CMP Xn, #imm12
constexpr std::uint32_t add(unsigned rd, unsigned rn, std::uint32_t imm) {
  return 0x9100'0000u | (imm << 10) | (rn << 5) | rd;
}
constexpr std::uint32_t subs(unsigned rd, unsigned rn, std::uint32_t imm) {
  return 0xF100'0000u | (imm << 10) | (rn << 5) | rd;
}
constexpr std::uint32_t cmp(unsigned rn, std::uint32_t imm) {
  return subs(31, rn, imm);
}

/// A system register as MRS/MSR encode it: op0:op1:CRn:CRm:op2 in bits [20:5].
struct Sys {
  std::uint32_t field;
};
constexpr Sys sysreg(unsigned op0, unsigned op1, unsigned crn, unsigned crm, unsigned op2) {
  return {((op0 & 3u) << 14) | (op1 << 11) | (crn << 7) | (crm << 3) | op2};
}
inline constexpr Sys kVbarEl1 = sysreg(3, 0, 12, 0, 0);
inline constexpr Sys kElrEl1 = sysreg(3, 0, 4, 0, 1);
inline constexpr Sys kSpsrEl1 = sysreg(3, 0, 4, 0, 0);
inline constexpr Sys kEsrEl1 = sysreg(3, 0, 5, 2, 0);
inline constexpr Sys kSpEl0 = sysreg(3, 0, 4, 1, 0);
inline constexpr Sys kMpidrEl1 = sysreg(3, 0, 0, 0, 5);
inline constexpr Sys kIccIar1El1 = sysreg(3, 0, 12, 12, 0);          // GIC CPU interface (the GICv3 model)
inline constexpr Sys kImpdefS3_0_C15_C0_0 = sysreg(3, 0, 15, 0, 0);  // IMPLEMENTATION DEFINED: unknown to the model
inline constexpr Sys kCntfrqEl0 = sysreg(3, 3, 14, 0, 0);
inline constexpr Sys kCntvctEl0 = sysreg(3, 3, 14, 0, 2);
inline constexpr Sys kPmccntrEl0 = sysreg(3, 3, 9, 13, 0);
inline constexpr Sys kCntvTvalEl0 = sysreg(3, 3, 14, 3, 0);
inline constexpr Sys kCntvCvalEl0 = sysreg(3, 3, 14, 3, 2);
inline constexpr Sys kCntvCtlEl0 = sysreg(3, 3, 14, 3, 1);
inline constexpr Sys kIccEoir1El1 = sysreg(3, 0, 12, 12, 1);
inline constexpr Sys kIccPmrEl1 = sysreg(3, 0, 4, 6, 0);
inline constexpr Sys kIccIgrpen1El1 = sysreg(3, 0, 12, 12, 7);
inline constexpr Sys kIccSgi1rEl1 = sysreg(3, 0, 12, 11, 5);
inline constexpr Sys kCntpTvalEl0 = sysreg(3, 3, 14, 2, 0);
inline constexpr Sys kCntpCtlEl0 = sysreg(3, 3, 14, 2, 1);
inline constexpr Sys kCntpCvalEl0 = sysreg(3, 3, 14, 2, 2);

constexpr std::uint32_t mrs(unsigned rt, Sys r) {
  return 0xD530'0000u | (r.field << 5) | rt;
}
constexpr std::uint32_t msr(Sys r, unsigned rt) {
  return 0xD510'0000u | (r.field << 5) | rt;
}

}  // namespace emu::test::a64
