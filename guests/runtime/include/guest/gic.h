/*
 * A small GICv3 driver (GIC architecture specification IHI 0069H) for QEMU virt's layout:
 * the distributor at 0x0800_0000, vCPU i's redistributor at 0x080A_0000 + i * 128 KiB, and
 * the system-register CPU interface. IRQ handlers: guest/irq.h.
 */
#ifndef GUEST_GIC_H
#define GUEST_GIC_H

#include <stdbool.h>
#include <stdint.h>

#define GICD_BASE 0x08000000ul
#define GICR_BASE 0x080A0000ul
#define GICR_STRIDE 0x20000ul
#define GICR_SGI_OFFSET 0x10000ul
#define GIC_SPURIOUS 1023u
#define GIC_INTID_VTIMER 27u
#define GIC_INTID_PTIMER 30u
#define GIC_INTID_UART 33u

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
#define GICR_TYPER 0x0008u
#define GICR_WAKER 0x0014u

static inline volatile uint32_t *gicd32(uint32_t off) { return (volatile uint32_t *)(GICD_BASE + off); }
static inline volatile uint64_t *gicd64(uint32_t off) { return (volatile uint64_t *)(GICD_BASE + off); }
static inline volatile uint8_t *gicd8(uint32_t off) { return (volatile uint8_t *)(GICD_BASE + off); }
/* vCPU `cpu`'s RD_base frame, and its SGI_base frame (the SGI/PPI registers). */
static inline uintptr_t gicr_rd(unsigned cpu) { return GICR_BASE + cpu * GICR_STRIDE; }
static inline uintptr_t gicr_sgi(unsigned cpu) { return gicr_rd(cpu) + GICR_SGI_OFFSET; }

#define gic_read_icc(name)                                   \
    ({                                                       \
        uint64_t v_;                                         \
        __asm__ volatile("mrs %0, " #name : "=r"(v_));       \
        v_;                                                  \
    })
#define gic_write_icc(name, v) __asm__ volatile("msr " #name ", %0\n\tisb" : : "r"((uint64_t)(v)) : "memory")

/* The distributor on (ARE, Group 1), every SPI in Group 1 at priority 0xA0. Once, on vCPU 0. */
void gic_init_distributor(void);
/* This vCPU's redistributor awake, SGIs and PPIs in Group 1, ICC_SRE, PMR 0xFF, BPR1 minimum,
 * ICC_CTLR.EOImode = eoi_mode, IGRPEN1 = 1. On every vCPU that takes interrupts. */
void gic_init_cpu(unsigned cpu, bool eoi_mode);
/* Enable / disable an INTID (an SGI or PPI on `cpu`'s redistributor, or an SPI), set its priority. */
void gic_enable(unsigned cpu, unsigned intid, uint8_t priority);
void gic_disable(unsigned cpu, unsigned intid);
/* Route SPI `intid` to vCPU `cpu` (GICD_IROUTER affinity). */
void gic_route_spi(unsigned intid, unsigned cpu);
/* ICC_SGI1R_EL1: SGI `intid` to vCPU `target` (Aff1.Aff0 and a one-bit target list). */
void gic_send_sgi(unsigned intid, unsigned target);
/* ICC_SGI1R_EL1 with IRM = 1: to every vCPU but this one. */
void gic_send_sgi_others(unsigned intid);
/* The INTID field of ICC_IAR1_EL1 (acknowledges), then ICC_EOIR1_EL1 and ICC_DIR_EL1. */
static inline unsigned gic_ack(void) { return (unsigned)(gic_read_icc(S3_0_C12_C12_0) & 0xFFFFFF); }
static inline void gic_eoi(unsigned intid) { gic_write_icc(S3_0_C12_C12_1, intid); }
static inline void gic_dir(unsigned intid) { gic_write_icc(S3_0_C12_C11_1, intid); }
static inline uint64_t gic_rpr(void) { return gic_read_icc(S3_0_C12_C11_3); }
static inline uint64_t gic_hppir(void) { return gic_read_icc(S3_0_C12_C12_2); }

/* The EL1 timers (Arm ARM D11.2.4). */
#define TIMER_ENABLE 1u
#define TIMER_IMASK 2u
#define TIMER_ISTATUS 4u
static inline uint64_t cntv_ctl(void) { return gic_read_icc(cntv_ctl_el0); }
static inline uint64_t cntv_cval(void) { return gic_read_icc(cntv_cval_el0); }
static inline int32_t cntv_tval(void) { return (int32_t)gic_read_icc(cntv_tval_el0); }
static inline void set_cntv_ctl(uint64_t v) { gic_write_icc(cntv_ctl_el0, v); }
static inline void set_cntv_cval(uint64_t v) { gic_write_icc(cntv_cval_el0, v); }
static inline void set_cntv_tval(int32_t v) { gic_write_icc(cntv_tval_el0, (uint64_t)(uint32_t)v); }
static inline uint64_t cntp_ctl(void) { return gic_read_icc(cntp_ctl_el0); }
static inline void set_cntp_ctl(uint64_t v) { gic_write_icc(cntp_ctl_el0, v); }
static inline void set_cntp_tval(int32_t v) { gic_write_icc(cntp_tval_el0, (uint64_t)(uint32_t)v); }
static inline uint64_t cntp_cval(void) { return gic_read_icc(cntp_cval_el0); }

static inline void irq_unmask(void) { __asm__ volatile("msr daifclr, #2" ::: "memory"); }
static inline void irq_mask(void) { __asm__ volatile("msr daifset, #2" ::: "memory"); }

#endif
