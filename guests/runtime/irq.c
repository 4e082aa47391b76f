/* IRQ dispatch (guest/irq.h) and the GICv3 helpers (guest/gic.h). */
#include "guest/irq.h"

#include "frame.h"
#include "guest/arch.h"
#include "guest/exceptions.h"
#include "guest/gic.h"
#include "guest/smp.h"

void guest_irq_handler(uint64_t *frame); /* from vectors.S */
__attribute__((noreturn)) void guest_unexpected_exception(const char *kind);

static guest_irq_fn handlers[GUEST_MAX_CPUS];

void guest_set_irq_handler(guest_irq_fn fn) { handlers[cpu_index()] = fn; }

void guest_irq_handler(uint64_t *frame)
{
    guest_irq_fn fn = handlers[cpu_index()];
    if (!fn)
        guest_unexpected_exception("IRQ");
    /* ELR/SPSR from the frame: a nested IRQ inside the handler overwrites the registers. */
    fn(frame[FRAME_ELR / 8], frame[FRAME_SPSR / 8]);
}

void gic_init_distributor(void)
{
    *gicd32(GICD_CTLR) = 0;
    const unsigned lines = (*gicd32(GICD_TYPER) & 0x1Fu) + 1; /* 32 INTIDs each */
    for (unsigned n = 1; n < lines; ++n) {
        *gicd32(GICD_IGROUPR + 4 * n) = 0xFFFFFFFFu;
        *gicd32(GICD_ICENABLER + 4 * n) = 0xFFFFFFFFu;
    }
    for (unsigned i = 32; i < 32 * lines; ++i)
        *gicd8(GICD_IPRIORITYR + i) = 0xA0;
    *gicd32(GICD_CTLR) = (1u << 4) | (1u << 1); /* ARE, EnableGrp1 */
}

void gic_init_cpu(unsigned cpu, bool eoi_mode)
{
    volatile uint32_t *waker = (volatile uint32_t *)(gicr_rd(cpu) + GICR_WAKER);
    *waker &= ~2u; /* ProcessorSleep */
    while (*waker & 4u) /* ChildrenAsleep */
        ;
    *(volatile uint32_t *)(gicr_sgi(cpu) + GICD_IGROUPR) = 0xFFFFFFFFu;
    *(volatile uint32_t *)(gicr_sgi(cpu) + GICD_ICENABLER) = 0xFFFFFFFFu;
    gic_write_icc(S3_0_C12_C12_5, 7);                     /* ICC_SRE_EL1: SRE, DFB, DIB */
    gic_write_icc(S3_0_C4_C6_0, 0xFF);                    /* ICC_PMR_EL1: nothing masked */
    gic_write_icc(S3_0_C12_C12_3, 0);                     /* ICC_BPR1_EL1: the minimum */
    gic_write_icc(S3_0_C12_C12_4, eoi_mode ? 2u : 0u);    /* ICC_CTLR_EL1.EOImode */
    gic_write_icc(S3_0_C12_C12_7, 1);                     /* ICC_IGRPEN1_EL1 */
}

void gic_enable(unsigned cpu, unsigned intid, uint8_t priority)
{
    if (intid < 32) {
        *(volatile uint8_t *)(gicr_sgi(cpu) + GICD_IPRIORITYR + intid) = priority;
        *(volatile uint32_t *)(gicr_sgi(cpu) + GICD_ISENABLER) = 1u << intid;
    } else {
        *gicd8(GICD_IPRIORITYR + intid) = priority;
        *gicd32(GICD_ISENABLER + 4 * (intid / 32)) = 1u << (intid % 32);
    }
}

void gic_disable(unsigned cpu, unsigned intid)
{
    if (intid < 32)
        *(volatile uint32_t *)(gicr_sgi(cpu) + GICD_ICENABLER) = 1u << intid;
    else
        *gicd32(GICD_ICENABLER + 4 * (intid / 32)) = 1u << (intid % 32);
}

void gic_route_spi(unsigned intid, unsigned cpu)
{
    *gicd64(GICD_IROUTER + 8 * intid) = psci_target_of(cpu); /* Aff1 << 8 | Aff0 */
}

void gic_send_sgi(unsigned intid, unsigned target)
{
    const uint64_t aff1 = target / GUEST_CPUS_PER_CLUSTER, aff0 = target % GUEST_CPUS_PER_CLUSTER;
    gic_write_icc(S3_0_C12_C11_5, ((uint64_t)intid << 24) | (aff1 << 16) | (1u << aff0));
}

void gic_send_sgi_others(unsigned intid)
{
    gic_write_icc(S3_0_C12_C11_5, ((uint64_t)intid << 24) | (1ull << 40));
}
