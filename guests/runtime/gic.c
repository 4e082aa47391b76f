/*
 * The GICv3 driver of guest/gic.h (GIC architecture specification IHI 0069H). Register
 * accesses are 32-bit except the byte-wide IPRIORITYR and the 64-bit IROUTER, the widths
 * §12.1.3 requires a GIC to support.
 */
#include "guest/gic.h"

#include "guest/smp.h"

/* The register block holding `intid`: GICR_SGI_base of `cpu` for SGIs and PPIs (with
 * affinity routing the distributor's copies are RAZ/WI, §12.9), else the distributor. */
static uintptr_t bank_base(unsigned cpu, unsigned intid) {
  return intid < 32 ? gicr_sgi(cpu) : GICD_BASE;
}

/* The word of a one-bit-per-INTID register (IGROUPR, IS/ICENABLER, IS/ICPENDR, IS/ICACTIVER). */
static volatile uint32_t* bit_reg(unsigned cpu, unsigned intid, uint32_t reg) {
  return (volatile uint32_t*)(bank_base(cpu, intid) + reg + 4 * (intid / 32));
}

static uint32_t bit_of(unsigned intid) {
  return 1u << (intid % 32);
}

void gic_init_distributor(void) {
  *gicd32(GICD_CTLR) = 0;
  while (*gicd32(GICD_CTLR) & GICD_CTLR_RWP) /* §12.9.4: wait for the disable to take effect */
    ;
  const unsigned lines = 32 * ((*gicd32(GICD_TYPER) & 0x1Fu) + 1);
  for (unsigned n = 1; n < lines / 32; ++n) {
    *gicd32(GICD_IGROUPR + 4 * n) = 0xFFFFFFFFu;
    *gicd32(GICD_ICENABLER + 4 * n) = 0xFFFFFFFFu;
  }
  for (unsigned i = 32; i < lines; ++i) *gicd8(GICD_IPRIORITYR + i) = 0xA0;
  *gicd32(GICD_CTLR) = GICD_CTLR_ARE | GICD_CTLR_ENABLE_GRP1;
}

static void redistributor_wake(unsigned cpu) {
  volatile uint32_t* waker = gicr_rd32(cpu, GICR_WAKER);
  *waker &= ~GICR_WAKER_PROCESSOR_SLEEP;
  while (*waker & GICR_WAKER_CHILDREN_ASLEEP)
    ;
}

void gic_init_cpu(unsigned cpu, bool eoi_mode) {
  redistributor_wake(cpu);
  *gicr_sgi32(cpu, GICD_IGROUPR) = 0xFFFFFFFFu;
  *gicr_sgi32(cpu, GICD_ICENABLER) = 0xFFFFFFFFu;
  gic_write_icc(icc_sre_el1, 7);    /* SRE (system registers), DFB, DIB */
  gic_write_icc(icc_pmr_el1, 0xFF); /* nothing masked by priority */
  gic_write_icc(icc_bpr1_el1, 0);   /* reads back as the minimum the GIC implements */
  gic_set_eoi_mode(eoi_mode);
  gic_write_icc(icc_igrpen1_el1, 1);
}

void gic_set_priority(unsigned cpu, unsigned intid, uint8_t priority) {
  *(volatile uint8_t*)(bank_base(cpu, intid) + GICD_IPRIORITYR + intid) = priority;
}

void gic_enable(unsigned cpu, unsigned intid, uint8_t priority) {
  gic_set_priority(cpu, intid, priority);
  *bit_reg(cpu, intid, GICD_ISENABLER) = bit_of(intid);
}

void gic_disable(unsigned cpu, unsigned intid) {
  *bit_reg(cpu, intid, GICD_ICENABLER) = bit_of(intid);
}

void gic_set_group1(unsigned cpu, unsigned intid, bool group1) {
  volatile uint32_t* r = bit_reg(cpu, intid, GICD_IGROUPR);
  *r = group1 ? (*r | bit_of(intid)) : (*r & ~bit_of(intid));
}

/* ICFGR: two bits per INTID, bit 1 of the pair = edge-triggered (§12.9.9). */
void gic_set_edge(unsigned cpu, unsigned intid, bool edge) {
  volatile uint32_t* r = (volatile uint32_t*)(bank_base(cpu, intid) + GICD_ICFGR + 4 * (intid / 16));
  const uint32_t bit = 2u << (2 * (intid % 16));
  *r = edge ? (*r | bit) : (*r & ~bit);
}

void gic_route_spi(unsigned intid, unsigned cpu) {
  *gicd64(GICD_IROUTER + 8 * intid) = psci_target_of(cpu); /* Aff1 << 8 | Aff0, IRM = 0 */
}

void gic_set_pending(unsigned cpu, unsigned intid) {
  *bit_reg(cpu, intid, GICD_ISPENDR) = bit_of(intid);
}
void gic_clear_pending(unsigned cpu, unsigned intid) {
  *bit_reg(cpu, intid, GICD_ICPENDR) = bit_of(intid);
}
bool gic_is_pending(unsigned cpu, unsigned intid) {
  return (*bit_reg(cpu, intid, GICD_ISPENDR) & bit_of(intid)) != 0;
}
bool gic_is_active(unsigned cpu, unsigned intid) {
  return (*bit_reg(cpu, intid, GICD_ISACTIVER) & bit_of(intid)) != 0;
}

void gic_send_sgi_list(unsigned intid, unsigned aff1, uint16_t target_list) {
  gic_write_icc(icc_sgi1r_el1, ((uint64_t)(intid & 0xFu) << ICC_SGI1R_INTID_SHIFT) |
                                   ((uint64_t)(aff1 & 0xFFu) << ICC_SGI1R_AFF1_SHIFT) | target_list);
}

void gic_send_sgi(unsigned intid, unsigned target) {
  gic_send_sgi_list(intid, target / GUEST_CPUS_PER_CLUSTER, (uint16_t)(1u << (target % GUEST_CPUS_PER_CLUSTER)));
}

void gic_send_sgi_others(unsigned intid) {
  gic_write_icc(icc_sgi1r_el1, ((uint64_t)(intid & 0xFu) << ICC_SGI1R_INTID_SHIFT) | ICC_SGI1R_IRM);
}
