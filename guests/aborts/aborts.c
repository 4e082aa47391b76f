/*
 * MMU aborts (Arm ARM D8.5, D17.2.40 ESR_EL1): builds 4 KiB-granule stage 1 tables
 * (identity for the image and the UART, plus test pages that are invalid at L3 or L2, have
 * AF = 0, are EL1 read-only, EL1-only, EL0-accessible, PXN, UXN, read-only at both ELs, or
 * map a physical address with nothing there), turns the MMU on and provokes each fault at
 * EL1 or EL0. For every case it prints one line with what the exception entry recorded:
 *
 *   abort case=<name> vec=0x200 esr=0x96000007 far=+0x128 elr=+0x0 spsr=0x3c5
 *
 * FAR is relative to the case's test page (or branch target), ELR to the faulting
 * instruction (or branch target), so the line does not depend on where the image lies;
 * "vec=none" means no exception. The same ELF runs under QEMU (-M virt -cpu max -kernel),
 * whose lines are the reference (tests/data/aborts-qemu72.txt). TAP checks that each case
 * took exactly the expected number of exceptions and that no base register was written
 * back; exit status = number of failures.
 */
#include <stdint.h>

#include "guest/arch.h"
#include "guest/console.h"
#include "guest/tap.h"

struct abort_rec {
  uint64_t vec, esr, far, elr, spsr, count;
};
volatile struct abort_rec abort_record; /* written by aborts_asm.S */

extern char _start[], __data_start[], __stacks_end[], lit_hole[], abort_vectors[];
uint64_t el1_case(void* fn, uint64_t a, uint64_t b);
int el0_case(void* fn, uint64_t a, uint64_t b);

#define PAGE 4096u
#define RAM_BASE 0x40000000ul
#define TEST_VA 0x40800000ul    /* L2 entry 4 -> the test pages' L3 table */
#define L2_HOLE_VA 0x40A00000ul /* L2 entry 5 stays invalid */
#define HOLE_PA 0x48000000ul    /* past 128 MiB of RAM: nothing there */
#define UART_PA 0x09000000ul

/* Stage 1 descriptor fields (Arm ARM D8.3). MAIR index 0: Normal write-back; 1: Device. */
#define D_TABLE 3ul
#define D_PAGE 3ul
#define D_BLOCK 1ul
#define NORMAL (0ul << 2)
#define DEVICE (1ul << 2)
#define AP_EL1_RW (0ul << 6)
#define AP_RW (1ul << 6)
#define AP_EL1_RO (2ul << 6)
#define AP_RO (3ul << 6)
#define SH_INNER (3ul << 8)
#define AF (1ul << 10)
#define PXN (1ul << 53)
#define UXN (1ul << 54)
#define XN (PXN | UXN)

enum page { P_INVALID, P_AF0, P_EL1_RO, P_EL1_RW, P_EL0_RW, P_INVALID2, P_RO, P_PXN, P_UXN, P_HOLE, NPAGES };

static uint64_t l1[512] __attribute__((aligned(PAGE)));
static uint64_t l2_low[512] __attribute__((aligned(PAGE)));
static uint64_t l2_ram[512] __attribute__((aligned(PAGE)));
static uint64_t l3_img[2][512] __attribute__((aligned(PAGE)));
static uint64_t l3_test[512] __attribute__((aligned(PAGE)));
static uint8_t backing[NPAGES][PAGE] __attribute__((aligned(PAGE)));

static uint64_t va_of(enum page p) {
  return TEST_VA + (uint64_t)p * PAGE;
}

static uint64_t test_page(enum page p) {
  uint64_t pa = (uint64_t)(uintptr_t)backing[p] | D_PAGE | NORMAL | SH_INNER;
  switch (p) {
    case P_AF0: return pa | AP_RW | XN;
    case P_EL1_RO: return pa | AF | AP_EL1_RO | XN;
    case P_EL1_RW: return pa | AF | AP_EL1_RW | XN;
    case P_EL0_RW: return pa | AF | AP_RW | XN;
    case P_RO: return pa | AF | AP_RO | XN;
    case P_PXN: return pa | AF | AP_RO | PXN;
    case P_UXN: return pa | AF | AP_RO | UXN;
    case P_HOLE: return HOLE_PA | D_PAGE | NORMAL | SH_INNER | AF | AP_RO;
    default: return 0; /* P_INVALID, P_INVALID2 */
  }
}

/* Returns 0, or 1 if the image does not fit in the two L3 tables. */
static int build_tables(void) {
  uint64_t start = (uint64_t)(uintptr_t)_start, data = (uint64_t)(uintptr_t)__data_start;
  uint64_t end = (uint64_t)(uintptr_t)__stacks_end, hole = (uint64_t)(uintptr_t)lit_hole;
  if (end > RAM_BASE + 2 * 512 * PAGE) return 1;
  l1[0] = (uint64_t)(uintptr_t)l2_low | D_TABLE;
  l1[1] = (uint64_t)(uintptr_t)l2_ram | D_TABLE;
  l2_low[UART_PA >> 21] = UART_PA | D_BLOCK | DEVICE | AF | XN;
  l2_ram[0] = (uint64_t)(uintptr_t)l3_img[0] | D_TABLE;
  l2_ram[1] = (uint64_t)(uintptr_t)l3_img[1] | D_TABLE;
  for (uint64_t va = start; va < end; va += PAGE) {
    uint64_t i = (va - RAM_BASE) / PAGE;
    if (va == hole) continue; /* the literal load's unmapped page */
    /* Code read-only at both ELs (executable at both); data EL0-accessible, never executable. */
    l3_img[i / 512][i % 512] = va | D_PAGE | NORMAL | SH_INNER | AF | (va < data ? AP_RO : AP_RW | XN);
  }
  l2_ram[(TEST_VA - RAM_BASE) >> 21] = (uint64_t)(uintptr_t)l3_test | D_TABLE;
  for (int p = 0; p < NPAGES; ++p) l3_test[p] = test_page((enum page)p);
  return 0;
}

static void mmu_on(void) {
  /* MAIR: attr0 Normal inner/outer write-back, attr1 Device-nGnRnE. TCR: T0SZ 25 (39-bit
   * VAs, lookup from level 1), write-back walks, inner shareable, 4 KiB, TTBR1 disabled. */
  uint64_t mair = 0x00FF, tcr = 25 | (1u << 8) | (1u << 10) | (3u << 12) | (1u << 23);
  uint64_t sctlr;
  __asm__ volatile(
      "msr mair_el1, %0\n msr tcr_el1, %1\n msr ttbr0_el1, %2\n dsb ish\n tlbi vmalle1\n"
      "dsb ish\n isb" ::"r"(mair),
      "r"(tcr), "r"(l1)
      : "memory");
  sctlr = read_sysreg(sctlr_el1);
  sctlr |= (1u << 0) | (1u << 2) | (1u << 12) | (1u << 14) | (1u << 23); /* M, C, I, DZE, SPAN */
  sctlr &= ~((1ul << 1) | (1ul << 19));                                  /* A, WXN */
  __asm__ volatile("msr vbar_el1, %0\n msr sctlr_el1, %1\n isb" ::"r"(abort_vectors), "r"(sctlr) : "memory");
}

enum kind { DATA, FETCH };

struct fault_case {
  const char* name;
  char *fn, *at; /* case_<x>, case_<x>_at */
  int el0;
  uint64_t a, b;
  uint64_t far_ref; /* FAR is printed relative to this */
  enum kind kind;
  unsigned aborts; /* exceptions expected */
};

// A list of declarations, one macro each, on which clang-format cannot settle.
// clang-format off
#define FN(x) extern char case_##x[], case_##x##_at[];
FN(ldr) FN(str) FN(blr) FN(ldp_pre) FN(stp_off) FN(ldr_post) FN(str_pre) FN(ldur) FN(ldrb_imm12)
FN(ldr_lsl) FN(ldr_sxtw) FN(ld1) FN(ld1x2_post) FN(ld4) FN(st1_lane) FN(ld1r_post) FN(ldadd) FN(swp)
FN(cas) FN(ldapr) FN(ldxr) FN(ldar) FN(stlr) FN(ldtr) FN(sttr) FN(dc_zva) FN(dc_civac) FN(ldr_literal)
FN(pan_ldr) FN(pan_str) FN(pan_ldtr)
// clang-format on
#define C(x) case_##x, case_##x##_at

            static void print_offset(const char* key, uint64_t value, uint64_t ref) {
  int64_t d = (int64_t)(value - ref);
  gprintf(" %s=%c0x%lx", key, d < 0 ? '-' : '+', d < 0 ? (uint64_t)-d : (uint64_t)d);
}

static void run(const struct fault_case* c) {
  uint64_t base = c->a;
  abort_record.count = 0;
  if (c->el0)
    el0_case(c->fn, c->a, c->b);
  else
    base = el1_case(c->fn, c->a, c->b);
  struct abort_rec r = abort_record;
  gprintf("abort case=%s", c->name);
  if (r.count == 0) {
    gprintf(" vec=none\n");
  } else {
    uint64_t elr_ref = c->kind == FETCH ? c->a : (uint64_t)(uintptr_t)c->at;
    gprintf(" vec=0x%lx esr=0x%08lx", r.vec, r.esr);
    print_offset("far", r.far, c->far_ref);
    print_offset("elr", r.elr, elr_ref);
    gprintf(" spsr=0x%lx\n", r.spsr);
  }
  tap_eq(r.count, c->aborts, "%s: %u exception(s)", c->name, c->aborts);
  if (!c->el0) tap_eq(base, c->a, "%s: base register not written back", c->name);
}

int main(void) {
  if (build_tables() != 0) {
    gprintf("image too large for the page tables\n");
    return 1;
  }
  mmu_on();
  gprintf("# aborts: MMU on; DCZID_EL0 = 0x%lx\n", read_sysreg(dczid_el0));

  const uint64_t inv = va_of(P_INVALID), ro = va_of(P_RO), el0rw = va_of(P_EL0_RW);
  const uint64_t el1rw = va_of(P_EL1_RW), el1ro = va_of(P_EL1_RO), af0 = va_of(P_AF0);
  const uint64_t lit = (uint64_t)(uintptr_t)lit_hole;
  const struct fault_case cases[] = {
      {"ldr_l3_invalid", C(ldr), 0, inv + 0x128, 0, inv, DATA, 1},
      {"str_el1_ro", C(str), 0, el1ro + 0x10, 0, el1ro, DATA, 1},
      {"ldr_af0", C(ldr), 0, af0 + 0x8, 0, af0, DATA, 1},
      {"ldr_l2_invalid", C(ldr), 0, L2_HOLE_VA + 0x10, 0, L2_HOLE_VA, DATA, 1},
      {"blr_pxn", C(blr), 0, va_of(P_PXN) + 0x40, 0, va_of(P_PXN) + 0x40, FETCH, 1},
      {"blr_invalid", C(blr), 0, inv + 0x80, 0, inv + 0x80, FETCH, 1},
      {"blr_hole_pa", C(blr), 0, va_of(P_HOLE) + 0x100, 0, va_of(P_HOLE) + 0x100, FETCH, 1},
      {"ldp_pre_index", C(ldp_pre), 0, inv + 0x100, 0, inv, DATA, 1},
      {"stp_offset", C(stp_off), 0, inv + 0x100, 0, inv, DATA, 1},
      {"ldr_post_index", C(ldr_post), 0, inv + 0x100, 0, inv, DATA, 1},
      {"str_pre_index", C(str_pre), 0, inv + 0x100, 0, inv, DATA, 1},
      {"ldur_negative", C(ldur), 0, inv + 0x100, 0, inv, DATA, 1},
      {"ldrb_imm12", C(ldrb_imm12), 0, inv, 0, inv, DATA, 1},
      {"ldr_reg_lsl", C(ldr_lsl), 0, inv, 0x21, inv, DATA, 1},
      {"ldr_reg_sxtw", C(ldr_sxtw), 0, inv + 0x100, 0xFFFFFFF0u, inv, DATA, 1},
      {"ld1_16b", C(ld1), 0, inv + 0x40, 0, inv, DATA, 1},
      {"ld1_x2_post", C(ld1x2_post), 0, inv + 0x80, 0, inv, DATA, 1},
      {"ld4_4s", C(ld4), 0, inv + 0xc0, 0, inv, DATA, 1},
      {"st1_lane_ro", C(st1_lane), 0, ro + 0x20, 0, ro, DATA, 1},
      {"ld1r_post", C(ld1r_post), 0, inv + 0x30, 2, inv, DATA, 1},
      {"ldadd_ro", C(ldadd), 0, ro + 0x18, 1, ro, DATA, 1},
      {"ldadd_invalid", C(ldadd), 0, inv + 0x18, 1, inv, DATA, 1},
      {"swp_ro", C(swp), 0, ro + 0x28, 1, ro, DATA, 1},
      {"cas_invalid", C(cas), 0, inv + 0x28, 1, inv, DATA, 1},
      {"cas_ro", C(cas), 0, ro + 0x28, 1, ro, DATA, 1},
      {"ldapr_invalid", C(ldapr), 0, inv + 0x30, 0, inv, DATA, 1},
      {"ldxr_misaligned", C(ldxr), 0, el0rw + 4, 0, el0rw, DATA, 1},
      {"ldar_misaligned", C(ldar), 0, el0rw + 0xc, 0, el0rw, DATA, 1},
      {"stlr_ro", C(stlr), 0, ro + 0x8, 0, ro, DATA, 1},
      {"ldtr_el1_only", C(ldtr), 0, el1rw + 0x40, 0, el1rw, DATA, 1},
      {"sttr_el1_ro", C(sttr), 0, el1ro + 0x40, 0, el1ro, DATA, 1},
      {"str_ro_both", C(str), 0, ro + 0x50, 0, ro, DATA, 1},
      {"dc_zva_ro", C(dc_zva), 0, ro + 0x48, 0, ro, DATA, 1},
      {"dc_civac_invalid", C(dc_civac), 0, inv + 0x40, 0, inv, DATA, 0},
      {"ldr_literal_unmapped", C(ldr_literal), 0, 0, 0, lit, DATA, 1},
      {"ldr_cross_page", C(ldr), 0, el0rw + 0xffc, 0, el0rw, DATA, 1},
      {"pan_ldr_el0_page", C(pan_ldr), 0, el0rw + 0x60, 0, el0rw, DATA, 1},
      {"pan_str_el0_page", C(pan_str), 0, el0rw + 0x68, 0, el0rw, DATA, 1},
      {"pan_ldtr_el0_page", C(pan_ldtr), 0, el0rw + 0x70, 0, el0rw, DATA, 0},
      {"pan_ldr_el1_page", C(pan_ldr), 0, el1rw + 0x78, 0, el1rw, DATA, 0},
      {"el0_ldr_el1_page", C(ldr), 1, el1rw + 0x10, 0, el1rw, DATA, 1},
      {"el0_str_ro", C(str), 1, ro + 0x10, 0, ro, DATA, 1},
      {"el0_ldr_invalid", C(ldr), 1, inv + 0x10, 0, inv, DATA, 1},
      {"el0_ldr_af0", C(ldr), 1, af0 + 0x10, 0, af0, DATA, 1},
      {"el0_ldr_l2_invalid", C(ldr), 1, L2_HOLE_VA + 0x20, 0, L2_HOLE_VA, DATA, 1},
      {"el0_blr_uxn", C(blr), 1, va_of(P_UXN) + 0x40, 0, va_of(P_UXN) + 0x40, FETCH, 1},
      {"el0_blr_hole_pa", C(blr), 1, va_of(P_HOLE) + 0x40, 0, va_of(P_HOLE) + 0x40, FETCH, 1},
      {"el0_dc_zva_ro", C(dc_zva), 1, ro + 0x88, 0, ro, DATA, 1},
      {"el0_ldxr_misaligned", C(ldxr), 1, el0rw + 4, 0, el0rw, DATA, 1},
      {"el0_ldtr_invalid", C(ldtr), 1, inv + 0x8, 0, inv, DATA, 1},
      {"el0_st1_lane_el1_page", C(st1_lane), 1, el1rw + 0x20, 0, el1rw, DATA, 1},
  };
  tap_prefix("aborts: ");
  for (unsigned i = 0; i < sizeof cases / sizeof cases[0]; ++i) run(&cases[i]);
  return tap_done();
}
