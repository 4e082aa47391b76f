/*
 * A small GICv3 driver (GIC architecture specification IHI 0069H) for QEMU virt's layout:
 * the distributor at 0x0800_0000, vCPU i's redistributor at 0x080A_0000 + i * 128 KiB (an
 * RD_base frame, then the SGI_base frame with the SGI/PPI registers, §12.10), and the
 * system-register CPU interface (ICC_*_EL1, §12.2). Affinity routing is on (GICD_CTLR.ARE)
 * and everything is Group 1: the platform has one security state (GICD_CTLR.DS = 1) and
 * signals Group 1 as IRQ. IRQ handlers: guest/irq.h; the timers: guest/timer.h.
 *
 * `cpu` arguments are vCPU indices (Aff1 * 16 + Aff0, guest/smp.h): they pick the
 * redistributor for an SGI or PPI (INTID < 32) and are ignored for an SPI.
 */
#ifndef GUEST_GIC_H
#define GUEST_GIC_H

#include <stdbool.h>
#include <stdint.h>

#define GICD_BASE 0x08000000ul
#define GICR_BASE 0x080A0000ul
#define GICR_STRIDE 0x20000ul     /* RD_base + SGI_base, 64 KiB each */
#define GICR_SGI_OFFSET 0x10000ul /* SGI_base from RD_base */

#define GIC_SPURIOUS 1023u      /* ICC_IAR1_EL1 / ICC_HPPIR1_EL1 with nothing to give (§2.2.1) */
#define GIC_IDLE_PRIORITY 0xFFu /* ICC_RPR_EL1 with nothing active */
#define GIC_INTID_VTIMER 27u    /* EL1 virtual timer PPI (Arm BSA; QEMU virt) */
#define GIC_INTID_PTIMER 30u    /* EL1 physical timer PPI */
#define GIC_INTID_UART 33u      /* the PL011, SPI 1 */

/* Distributor registers (§12.9); the per-INTID blocks are also in the SGI_base frame (§12.11). */
#define GICD_CTLR 0x0000u
#define GICD_TYPER 0x0004u
#define GICD_IIDR 0x0008u
#define GICD_IGROUPR 0x0080u
#define GICD_ISENABLER 0x0100u
#define GICD_ICENABLER 0x0180u
#define GICD_ISPENDR 0x0200u
#define GICD_ICPENDR 0x0280u
#define GICD_ISACTIVER 0x0300u
#define GICD_ICACTIVER 0x0380u
#define GICD_IPRIORITYR 0x0400u
#define GICD_ICFGR 0x0C00u
#define GICD_IROUTER 0x6000u
#define GICD_PIDR2 0xFFE8u
#define GICD_CTLR_ENABLE_GRP0 (1u << 0)
#define GICD_CTLR_ENABLE_GRP1 (1u << 1) /* EnableGrp1 with DS = 1 (§12.9.4) */
#define GICD_CTLR_ARE (1u << 4)
#define GICD_CTLR_DS (1u << 6)
#define GICD_CTLR_RWP (1u << 31)
#define GICD_IROUTER_IRM (1ull << 31)

/* Redistributor RD_base registers (§12.10). */
#define GICR_CTLR 0x0000u
#define GICR_IIDR 0x0004u
#define GICR_TYPER 0x0008u
#define GICR_WAKER 0x0014u
#define GICR_PIDR2 0xFFE8u
#define GICR_TYPER_LAST (1ull << 4)
#define GICR_WAKER_PROCESSOR_SLEEP (1u << 1)
#define GICR_WAKER_CHILDREN_ASLEEP (1u << 2)

/* ICC_SGI1R_EL1 fields (§12.2.21). */
#define ICC_SGI1R_INTID_SHIFT 24
#define ICC_SGI1R_AFF1_SHIFT 16
#define ICC_SGI1R_IRM (1ull << 40)
#define ICC_CTLR_EOIMODE (1u << 1)
#define ICC_CTLR_CBPR (1u << 0)

static inline volatile uint32_t* gicd32(uint32_t off) {
  return (volatile uint32_t*)(GICD_BASE + off);
}
static inline volatile uint64_t* gicd64(uint32_t off) {
  return (volatile uint64_t*)(GICD_BASE + off);
}
static inline volatile uint8_t* gicd8(uint32_t off) {
  return (volatile uint8_t*)(GICD_BASE + off);
}
/* vCPU `cpu`'s RD_base frame, and its SGI_base frame (the SGI/PPI registers). */
static inline uintptr_t gicr_rd(unsigned cpu) {
  return GICR_BASE + cpu * GICR_STRIDE;
}
static inline uintptr_t gicr_sgi(unsigned cpu) {
  return gicr_rd(cpu) + GICR_SGI_OFFSET;
}
static inline volatile uint32_t* gicr_rd32(unsigned cpu, uint32_t off) {
  return (volatile uint32_t*)(gicr_rd(cpu) + off);
}
static inline volatile uint64_t* gicr_rd64(unsigned cpu, uint32_t off) {
  return (volatile uint64_t*)(gicr_rd(cpu) + off);
}
static inline volatile uint32_t* gicr_sgi32(unsigned cpu, uint32_t off) {
  return (volatile uint32_t*)(gicr_sgi(cpu) + off);
}
static inline volatile uint8_t* gicr_sgi8(unsigned cpu, uint32_t off) {
  return (volatile uint8_t*)(gicr_sgi(cpu) + off);
}

/* MRS / MSR of an ICC register by name (icc_pmr_el1, or an S3_0_C12_Cm_n encoding). The
 * write is followed by an ISB, so its effect is seen by the next instruction (§12.1.6). */
#define GIC_STR_(x) #x
#define GIC_STR(x) GIC_STR_(x)
#define gic_read_icc(name)                                 \
  ({                                                       \
    uint64_t v_;                                           \
    __asm__ volatile("mrs %0, " GIC_STR(name) : "=r"(v_)); \
    v_;                                                    \
  })
#define gic_write_icc(name, v) __asm__ volatile("msr " GIC_STR(name) ", %0\n\tisb" : : "r"((uint64_t)(v)) : "memory")

/* The distributor off, every SPI disabled, in Group 1 at priority 0xA0, then on (ARE,
 * EnableGrp1). Once, on vCPU 0, before any vCPU takes interrupts. */
void gic_init_distributor(void);
/* This vCPU's redistributor awake (GICR_WAKER, §12.10.21), its SGIs and PPIs disabled and in
 * Group 1, ICC_SRE_EL1.SRE, PMR 0xFF (nothing masked), BPR1 0 (the minimum the GIC keeps),
 * ICC_CTLR_EL1.EOImode = eoi_mode, ICC_IGRPEN1_EL1 = 1. On every vCPU that takes interrupts. */
void gic_init_cpu(unsigned cpu, bool eoi_mode);

/* Per-INTID configuration. */
void gic_enable(unsigned cpu, unsigned intid, uint8_t priority); /* sets the priority, then enables */
void gic_disable(unsigned cpu, unsigned intid);
void gic_set_priority(unsigned cpu, unsigned intid, uint8_t priority);
void gic_set_group1(unsigned cpu, unsigned intid, bool group1);
/* GICD_ICFGR / GICR_ICFGR1: edge-triggered or level-sensitive (SGIs are always edge). */
void gic_set_edge(unsigned cpu, unsigned intid, bool edge);
/* Route SPI `intid` to vCPU `cpu` (GICD_IROUTER Aff1.Aff0, IRM = 0). */
void gic_route_spi(unsigned intid, unsigned cpu);
/* GICD/GICR ISPENDR and ICPENDR; the state bits of ISPENDR and ISACTIVER. */
void gic_set_pending(unsigned cpu, unsigned intid);
void gic_clear_pending(unsigned cpu, unsigned intid);
bool gic_is_pending(unsigned cpu, unsigned intid);
bool gic_is_active(unsigned cpu, unsigned intid);

/* ICC_SGI1R_EL1 (§12.2.21): SGI `intid` to vCPU `target` (its Aff1 and one target-list bit). */
void gic_send_sgi(unsigned intid, unsigned target);
/* ... to the vCPUs of cluster `aff1` whose Aff0 bits are set in `target_list`, in one write. */
void gic_send_sgi_list(unsigned intid, unsigned aff1, uint16_t target_list);
/* ... with IRM = 1: to every vCPU but this one. */
void gic_send_sgi_others(unsigned intid);

/* The CPU interface (§12.2): ICC_IAR1_EL1's INTID field (acknowledges), ICC_EOIR1_EL1 (priority
 * drop; with EOImode 0 also deactivation), ICC_DIR_EL1 (deactivation with EOImode 1),
 * ICC_RPR_EL1, ICC_HPPIR1_EL1's INTID field. */
static inline unsigned gic_ack(void) {
  return (unsigned)(gic_read_icc(icc_iar1_el1) & 0xFFFFFF);
}
static inline void gic_eoi(unsigned intid) {
  gic_write_icc(icc_eoir1_el1, intid);
}
static inline void gic_dir(unsigned intid) {
  gic_write_icc(icc_dir_el1, intid);
}
static inline uint64_t gic_rpr(void) {
  return gic_read_icc(icc_rpr_el1);
}
static inline uint64_t gic_hppir(void) {
  return gic_read_icc(icc_hppir1_el1) & 0xFFFFFF;
}
static inline void gic_set_pmr(uint8_t pmr) {
  gic_write_icc(icc_pmr_el1, pmr);
}
/* ICC_CTLR_EL1: EOImode = split (1: EOIR drops the priority, DIR deactivates), CBPR = 0. */
static inline void gic_set_eoi_mode(bool split) {
  gic_write_icc(icc_ctlr_el1, split ? ICC_CTLR_EOIMODE : 0u);
}

#endif
