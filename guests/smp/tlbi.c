/*
 * tlbi.elf: TLB maintenance broadcast between vCPUs (Arm ARM D8.13 "TLB maintenance
 * instructions": an Inner Shareable TLBI affects every PE in the domain once a DSB completes
 * it). vCPU 0 and vCPU 1 share one set of translation tables (4 KiB granule, T0SZ 25, lookup
 * from level 1): VA 0 .. 1 GiB is Device memory (the GIC and the PL011), VA 0x4000_0000 .. 2
 * GiB is RAM as is, and VA 0x8000_0000 is a 2 MiB block that maps either page A or page B
 * (two 2 MiB-aligned areas of RAM, each holding its own marker). For each broadcast form
 * (TLBI VMALLE1IS, VAE1IS, VALE1IS, ASIDE1IS, VAAE1IS, VAALE1IS, and VMALLE1OS where
 * ID_AA64ISAR0_EL1.TLB says FEAT_TLBIOS is there):
 *  - vCPU 1 reads the marker through the window (its TLB now holds the mapping) and says so;
 *  - vCPU 0 rewrites the block descriptor to the other page, DSB ISHST, the TLBI, DSB ISH;
 *  - vCPU 1 reads through the window again and must see the other page's marker.
 * With a TLB per vCPU that the TLBI does not reach, vCPU 1 keeps reading the old page.
 * N must be >= 2 (`--cpus 2`); TAP; exit status = number of failures.
 * Runs unchanged under `qemu-system-aarch64 -M virt -cpu max -smp 2 -semihosting`.
 */
#include <stdbool.h>
#include <stdint.h>

#include "guest/smccc.h"
#include "guest/smp.h"
#include "guest/tap.h"

#define WINDOW_VA 0x80000000ull
#define PAGE_A 0x44000000ull /* 2 MiB aligned, inside the default 128 MiB of RAM */
#define PAGE_B 0x44200000ull
#define MARKER_A 0xAAAA00000000AAAAull
#define MARKER_B 0xBBBB00000000BBBBull

/* Descriptors (Arm ARM D8.3): block = 0b01, table = 0b11; AttrIndx [4:2]; SH [9:8]; AF [10]. */
#define DESC_BLOCK 0x1ull
#define DESC_TABLE 0x3ull
#define ATTR_DEVICE (0ull << 2)
#define ATTR_NORMAL (1ull << 2)
#define SH_INNER (3ull << 8)
#define AF (1ull << 10)
#define MAIR_VALUE 0xFF00ull /* Attr0 Device-nGnRnE, Attr1 Normal write-back */
/* TCR_EL1: T0SZ 25, IRGN0/ORGN0 write-back, SH0 inner, TG0 4 KiB, EPD1, IPS 36 bits. */
#define TCR_VALUE (25ull | (1ull << 8) | (1ull << 10) | (3ull << 12) | (1ull << 23) | (1ull << 32))

static uint64_t l1[512] __attribute__((aligned(4096)));
static uint64_t l2_window[512] __attribute__((aligned(4096)));

enum { TLBI_VMALLE1IS, TLBI_VAE1IS, TLBI_VALE1IS, TLBI_ASIDE1IS, TLBI_VAAE1IS, TLBI_VAALE1IS, TLBI_VMALLE1OS, FORMS };
static const char* const form_names[FORMS] = {"VMALLE1IS", "VAE1IS",   "VALE1IS",  "ASIDE1IS",
                                              "VAAE1IS",   "VAALE1IS", "VMALLE1OS"};

static uint32_t step;           /* vCPU 1 sets 2k + 1 after its first read, vCPU 0 2k + 2 after the TLBI */
static uint64_t seen[FORMS][2]; /* what vCPU 1 read before and after */

static void map_window(uint64_t pa) {
  l2_window[0] = pa | DESC_BLOCK | ATTR_NORMAL | SH_INNER | AF;
}

static void build_tables(void) {
  l1[0] = 0x00000000ull | DESC_BLOCK | ATTR_DEVICE | AF;
  l1[1] = 0x40000000ull | DESC_BLOCK | ATTR_NORMAL | SH_INNER | AF;
  l1[2] = (uintptr_t)l2_window | DESC_TABLE;
  map_window(PAGE_A);
  *(volatile uint64_t*)PAGE_A = MARKER_A;
  *(volatile uint64_t*)PAGE_B = MARKER_B;
  __asm__ volatile("dsb ish" ::: "memory");
}

static void mmu_on(void) {
  __asm__ volatile(
      "msr mair_el1, %0\n\t"
      "msr tcr_el1, %1\n\t"
      "msr ttbr0_el1, %2\n\t"
      "isb\n\t"
      "tlbi vmalle1\n\t"
      "dsb nsh\n\t"
      "mrs x9, sctlr_el1\n\t"
      "orr x9, x9, #1\n\t"         /* M */
      "orr x9, x9, #(1 << 2)\n\t"  /* C */
      "orr x9, x9, #(1 << 12)\n\t" /* I */
      "msr sctlr_el1, x9\n\t"
      "isb"
      :
      : "r"(MAIR_VALUE), "r"(TCR_VALUE), "r"((uintptr_t)l1)
      : "x9", "memory");
}

static uint64_t read_window(void) {
  return *(volatile uint64_t*)WINDOW_VA;
}

/* The TLBI of one form for the window (ASID 0: TTBR0_EL1.ASID is 0 here). */
static void broadcast(unsigned form) {
  const uint64_t va = WINDOW_VA >> 12; /* VA[55:12] in bits [43:0], ASID [63:48] = 0 */
  __asm__ volatile("dsb ishst" ::: "memory");
  switch (form) {
    case TLBI_VMALLE1IS: __asm__ volatile("tlbi vmalle1is" ::: "memory"); break;
    case TLBI_VAE1IS: __asm__ volatile("tlbi vae1is, %0" ::"r"(va) : "memory"); break;
    case TLBI_VALE1IS: __asm__ volatile("tlbi vale1is, %0" ::"r"(va) : "memory"); break;
    case TLBI_ASIDE1IS: __asm__ volatile("tlbi aside1is, %0" ::"r"(0ull) : "memory"); break;
    case TLBI_VAAE1IS: __asm__ volatile("tlbi vaae1is, %0" ::"r"(va) : "memory"); break;
    case TLBI_VAALE1IS: __asm__ volatile("tlbi vaale1is, %0" ::"r"(va) : "memory"); break;
    case TLBI_VMALLE1OS: __asm__ volatile(".inst 0xd508811f" ::: "memory"); break; /* tlbi vmalle1os */
  }
  __asm__ volatile("dsb ish\n\tisb" ::: "memory");
}

static bool has_tlbios(void) {
  uint64_t isar0;
  __asm__ volatile("mrs %0, id_aa64isar0_el1" : "=r"(isar0));
  return ((isar0 >> 56) & 0xF) != 0;
}

void secondary_main(unsigned cpu, uint64_t context_id) {
  (void)context_id;
  if (cpu != 1) return;
  mmu_on();
  for (unsigned form = 0; form < FORMS; ++form) {
    seen[form][0] = read_window();
    smp_store(&step, 2 * form + 1);
    if (!spin_until_equal(&step, 2 * form + 2, SPIN_LIMIT)) return;
    seen[form][1] = read_window();
  }
  smp_store(&step, 2 * FORMS + 1);
}

int main(void) {
  tap_diag("tlbi: broadcast TLB maintenance between vCPU 0 and vCPU 1");
  build_tables();
  mmu_on();
  tap_eq(read_window(), MARKER_A, "vCPU 0 reads page A through the window");
  if (smccc(CONDUIT_HVC, PSCI_CPU_ON_64, psci_target_of(1), (uintptr_t)_start, 0) != 0) {
    tap_ok(0, "CPU_ON(vCPU 1) (run with --cpus 2 or more)");
    return tap_done();
  }
  uint64_t now = PAGE_A;
  for (unsigned form = 0; form < FORMS; ++form) {
    const uint64_t before = now == PAGE_A ? MARKER_A : MARKER_B;
    if (!spin_until_equal(&step, 2 * form + 1, SPIN_LIMIT)) {
      tap_ok(0, "vCPU 1 read the window before TLBI %s", form_names[form]);
      break;
    }
    if (form == TLBI_VMALLE1OS && !has_tlbios()) {
      /* Without FEAT_TLBIOS the OS forms are not there to use: vCPU 1 waits for nothing. */
      tap_skip("ID_AA64ISAR0_EL1.TLB = 0: no FEAT_TLBIOS", "TLBI %s", form_names[form]);
      smp_store(&step, 2 * form + 2);
      spin_until_equal(&step, 2 * form + 3, SPIN_LIMIT);
      break;
    }
    now = now == PAGE_A ? PAGE_B : PAGE_A;
    const uint64_t after = now == PAGE_A ? MARKER_A : MARKER_B;
    map_window(now);
    broadcast(form);
    tap_eq(read_window(), after, "TLBI %s: vCPU 0 reads the new page", form_names[form]);
    smp_store(&step, 2 * form + 2);
    /* vCPU 1 reads again, then moves on to the next form (or finishes): 2 * form + 3. */
    if (!spin_until_equal(&step, 2 * form + 3, SPIN_LIMIT)) {
      tap_ok(0, "vCPU 1 read the window after TLBI %s", form_names[form]);
      break;
    }
    tap_eq(seen[form][0], before, "TLBI %s: vCPU 1 read the old page before it", form_names[form]);
    tap_eq(seen[form][1], after, "TLBI %s: vCPU 1 reads the new page after it (its TLB was invalidated)",
           form_names[form]);
  }
  return tap_done();
}
