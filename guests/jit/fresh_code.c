/*
 * fresh-code.elf: a guest that keeps generating new code, as a JIT compiler does, so that the
 * emulator's translated-code buffer fills again and again (README "Reliability", host memory).
 * Each round writes a routine of SIMD structure loads (the instructions with the largest
 * translations: LD4 of 16-byte vectors is 64 element loads) and counting adds into one code
 * area, makes it visible to instruction fetch (Arm ARM B2.4.4: DC CVAU, DSB ISH, IC IVAU,
 * DSB ISH, ISB), calls it and checks what it counted: 40 rounds, about 700 MiB of host code.
 * TAP; exit status = number of failures.
 */
#include <stdint.h>

#include "guest/tap.h"

#define ROUNDS 40u
#define ROUTINE_WORDS 4096u          /* 16 KiB of code per round */
#define LINE 64u                     /* CTR_EL0.IminLine/DminLine = 4 words on the CPU model */
#define LD4_V0_V3_16B_X1 0x4c400020u /* ld4 {v0.16b-v3.16b}, [x1] */
#define ADD_X0_X0_1 0x91000400u      /* add x0, x0, #1 */
#define RET 0xd65f03c0u

static uint32_t code[ROUTINE_WORDS + 1] __attribute__((aligned(4096)));
static uint8_t data[64] __attribute__((aligned(16)));

/* Round r: every fourth word counts (add), the others load; word r % 3 of each group of four
 * moves, so no two consecutive rounds write the same routine. Returns the adds written. */
static uint64_t write_routine(unsigned r) {
  uint64_t adds = 0;
  for (unsigned i = 0; i < ROUTINE_WORDS; ++i) {
    const int add = (i % 4) == (r % 3);
    code[i] = add ? ADD_X0_X0_1 : LD4_V0_V3_16B_X1;
    adds += add;
  }
  code[ROUTINE_WORDS] = RET;
  return adds;
}

static void sync_code(void) {
  const uintptr_t start = (uintptr_t)code, end = start + sizeof code;
  for (uintptr_t p = start; p < end; p += LINE) __asm__ volatile("dc cvau, %0" ::"r"(p) : "memory");
  __asm__ volatile("dsb ish" ::: "memory");
  for (uintptr_t p = start; p < end; p += LINE) __asm__ volatile("ic ivau, %0" ::"r"(p) : "memory");
  __asm__ volatile("dsb ish\n\tisb" ::: "memory");
}

static uint64_t call_routine(void) {
  register uint64_t x0 __asm__("x0") = 0;
  register uintptr_t x1 __asm__("x1") = (uintptr_t)data;
  __asm__ volatile("blr %2"
                   : "+r"(x0), "+r"(x1)
                   : "r"((uintptr_t)code)
                   : "x30", "v0", "v1", "v2", "v3", "memory", "cc");
  return x0;
}

int main(void) {
  const unsigned rounds = ROUNDS;
  unsigned wrong = 0;
  for (unsigned r = 0; r < rounds; ++r) {
    const uint64_t want = write_routine(r);
    sync_code();
    if (call_routine() != want) ++wrong;
  }
  tap_diag("%u rounds of %u fresh instructions", rounds, ROUTINE_WORDS);
  tap_eq(wrong, 0, "every round ran the code written for it");
  return tap_done();
}
