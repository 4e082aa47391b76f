// The load/store decoder behind abort syndromes (core/a64_access.h). Every word is what GNU as
// (aarch64-linux-gnu-as 2.40, -march=armv8.5-a+lse+rcpc) produces for the instruction in
// its comment; the expected address is the Arm ARM's (C6.2) before any writeback.
#include <doctest/doctest.h>

#include <ios>

#include "core/a64_access.h"

using emu::core::a64::Access;
using emu::core::a64::decode_access;

namespace {

constexpr std::uint64_t kX2 = 0x4010'0000;            // the base register in every case
constexpr std::uint64_t kX3 = 0x0000'0001'FFFF'FFF0;  // an index: w3 = -16 signed
constexpr std::uint64_t kSp = 0x4080'0000;
constexpr std::uint64_t kPc = 0x4008'1000;

std::uint64_t reg(unsigned n) {
  if (n == 2) return kX2;
  if (n == 3) return kX3;
  if (n == 31) return kSp;
  return 0xDEAD'0000u + n;  // anything else must not matter
}

Access decode(std::uint32_t word) {
  return decode_access(word, kPc, reg, 64);
}

struct Want {
  std::uint64_t va;
  std::uint32_t size;
  bool write = false;
  bool rmw = false;
  std::uint32_t align = 1;
  bool unprivileged = false;
  bool cache_maint = false;
};

void check(std::uint32_t word, const Want& w) {
  INFO("word 0x" << std::hex << word);
  const Access a = decode(word);
  REQUIRE(a.ok);
  CHECK(a.va == w.va);
  CHECK(a.size == w.size);
  CHECK(a.is_write == w.write);
  CHECK(a.is_rmw == w.rmw);
  CHECK(a.align == w.align);
  CHECK(a.unprivileged == w.unprivileged);
  CHECK(a.is_cache_maint == w.cache_maint);
}

}  // namespace

TEST_CASE("A64 access decoder: exclusive, ordered, CAS and CASP take the base and need alignment") {
  check(0xC85F'7C41u, {kX2, 8, false, false, 8});    // ldxr x1, [x2]
  check(0xC803'7C41u, {kX2, 8, true, false, 8});     // stxr w3, x1, [x2]
  check(0x085F'FFE1u, {kSp, 1, false, false, 1});    // ldaxrb w1, [sp]
  check(0x88DF'FC41u, {kX2, 4, false, false, 4});    // ldar w1, [x2]
  check(0xC89F'FC41u, {kX2, 8, true, false, 8});     // stlr x1, [x2]
  check(0xC87F'1041u, {kX2, 16, false, false, 16});  // ldxp x1, x4, [x2]
  check(0x8825'9041u, {kX2, 8, true, false, 8});     // stlxp w5, w1, w4, [x2]
  check(0xC8A1'7C44u, {kX2, 8, true, true, 8});      // cas x1, x4, [x2]
  check(0x4864'FC46u, {kX2, 16, true, true, 16});    // caspal x4, x5, x6, x7, [x2]
  check(0x08A1'7C44u, {kX2, 1, true, true, 1});      // casb w1, w4, [x2]
}

TEST_CASE("A64 access decoder: literal loads are PC-relative, and PRFM (literal) is no access") {
  check(0x5800'0801u, {kPc + 0x100, 8});  // ldr x1, .+0x100
  check(0x9CFF'FFC1u, {kPc - 8, 16});     // ldr q1, .-8
  check(0x9800'0021u, {kPc + 4, 4});      // ldrsw x1, .+4
  CHECK_FALSE(decode(0xD800'0040u).ok);   // prfm pldl1keep, .+8
}

TEST_CASE("A64 access decoder: pairs report base + offset before pre-index writeback, the base for post-index") {
  check(0xA9C1'1041u, {kX2 + 16, 16});        // ldp x1, x4, [x2, #16]!
  check(0x28FF'1041u, {kX2, 8});              // ldp w1, w4, [x2], #-8
  check(0xAD3F'1041u, {kX2 - 32, 32, true});  // stp q1, q4, [x2, #-32]
  check(0x6C40'9041u, {kX2 + 8, 16});         // ldnp d1, d4, [x2, #8]
  check(0x6940'9041u, {kX2 + 4, 8});          // ldpsw x1, x4, [x2, #4]
}

TEST_CASE("A64 access decoder: single register, unsigned imm12 scaled by the size") {
  check(0xF940'9441u, {kX2 + 0x128, 8});       // ldr x1, [x2, #296]
  check(0x393F'FC41u, {kX2 + 4095, 1, true});  // strb w1, [x2, #4095]
  check(0x7940'0441u, {kX2 + 2, 2});           // ldrh w1, [x2, #2]
  check(0x3DC0'0841u, {kX2 + 32, 16});         // ldr q1, [x2, #32]
  check(0x3980'0441u, {kX2 + 1, 1});           // ldrsb x1, [x2, #1]
  CHECK_FALSE(decode(0xF980'0040u).ok);        // prfm pldl1keep, [x2]
}

TEST_CASE("A64 access decoder: imm9 unscaled, pre-index, post-index and unprivileged forms") {
  check(0xF85F'F041u, {kX2 - 1, 8});                         // ldur x1, [x2, #-1]
  check(0x3CC0'3041u, {kX2 + 3, 16});                        // ldur q1, [x2, #3]
  check(0xF801'0C41u, {kX2 + 16, 8, true});                  // str x1, [x2, #16]!
  check(0xF841'0441u, {kX2, 8});                             // ldr x1, [x2], #16
  check(0xF840'8841u, {kX2 + 8, 8, false, false, 1, true});  // ldtr x1, [x2, #8]
  check(0x381F'F841u, {kX2 - 1, 1, true, false, 1, true});   // sttrb w1, [x2, #-1]
}

TEST_CASE("A64 access decoder: register offset with LSL, SXTW and UXTW, shifted or not") {
  check(0xF863'7841u, {kX2 + (kX3 << 3), 8});                   // ldr x1, [x2, x3, lsl #3]
  check(0xB863'C841u, {kX2 - 16, 4});                           // ldr w1, [x2, w3, sxtw]
  check(0x7823'5841u, {kX2 + (0xFFFF'FFF0ull << 1), 2, true});  // strh w1, [x2, w3, uxtw #1]
  check(0xF863'6841u, {kX2 + kX3, 8});                          // ldr x1, [x2, x3]
}

TEST_CASE("A64 access decoder: atomics and SWP read and write, LDAPR only reads, and LDRAA/LDRAB") {
  check(0xF821'0044u, {kX2, 8, true, true, 8});        // ldadd x1, x4, [x2]
  check(0xB821'005Fu, {kX2, 4, true, true, 4});        // stadd w1, [x2]
  check(0x3821'8044u, {kX2, 1, true, true, 1});        // swpb w1, w4, [x2]
  check(0x78BF'C041u, {kX2, 2, false, false, 2});      // ldaprh w1, [x2]
  check(0xF8BF'C041u, {kX2, 8, false, false, 8});      // ldapr x1, [x2]
  check(0xF87F'F441u, {kX2 - 8, 8});                   // ldraa x1, [x2, #-8]
  check(0xF8BF'FC41u, {kX2 + 4088, 8});                // ldrab x1, [x2, #4088]!
  check(0x995F'C041u, {kX2 - 4, 4, false, false, 4});  // ldapur w1, [x2, #-4]
  check(0xD900'8041u, {kX2 + 8, 8, true, false, 8});   // stlur x1, [x2, #8]
}

TEST_CASE("A64 access decoder: SIMD multiple and single structures, post-index reports the base") {
  check(0x4C40'7040u, {kX2, 16});        // ld1 {v0.16b}, [x2]
  check(0x4CDF'2040u, {kX2, 64});        // ld1 {v0.16b-v3.16b}, [x2], #64
  check(0x4C83'8840u, {kX2, 32, true});  // st2 {v0.4s, v1.4s}, [x2], x3
  check(0x0C40'4040u, {kX2, 24});        // ld3 {v0.8b-v2.8b}, [x2]
  check(0x0D40'9040u, {kX2, 4});         // ld1 {v0.s}[1], [x2]
  check(0x4DBF'A440u, {kX2, 32, true});  // st4 {v0.d-v3.d}[1], [x2], #32
  check(0x4D60'C440u, {kX2, 4});         // ld2r {v0.8h, v1.8h}, [x2]
  check(0x0DC3'0C40u, {kX2, 1});         // ld1 {v0.b}[3], [x2], x3
}

TEST_CASE("A64 access decoder: DC ZVA is a write of one block, DC/IC by VA are cache maintenance") {
  check(0xD50B'7422u, {kX2, 64, true});                        // dc zva, x2
  check(0xD50B'7E22u, {kX2, 1, true, false, 1, false, true});  // dc civac, x2
  check(0xD508'7622u, {kX2, 1, true, false, 1, false, true});  // dc ivac, x2
  check(0xD50B'7522u, {kX2, 1, true, false, 1, false, true});  // ic ivau, x2
  CHECK_FALSE(decode(0xD508'7E42u).ok);                        // dc cisw, x2: set/way, no VA
}

TEST_CASE("A64 access decoder: anything else is not a memory access") {
  CHECK_FALSE(decode(0x8B03'0041u).ok);  // add x1, x2, x3
  CHECK_FALSE(decode(0xD503'201Fu).ok);  // nop
  CHECK_FALSE(decode(0x0000'0000u).ok);  // udf #0
}
