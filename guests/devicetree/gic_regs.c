/*
 * gic-regs.elf: the GICv3's identification and reset values and the write-read-back behaviour
 * of its registers (GIC architecture specification IHI 0069H chapter 12), one line per value
 * (`gic NAME = 0x...`), so that a system test can compare the lines with QEMU 7.2's
 * (`tests/data/gic-regs-qemu72.txt`, from `qemu-system-aarch64 -M virt,gic-version=3 -cpu max
 * -smp 2 -semihosting`). Reads everything before writing anything. Exit status 0.
 */
#include <stdint.h>

#include "guest/console.h"
#include "guest/gic.h"
#include "guest/smccc.h"
#include "guest/smp.h"

static void show(const char *name, uint64_t value)
{
    gprintf("gic %s = 0x%llx\n", name, (unsigned long long)value);
}

static uint32_t rd32(uintptr_t a) { return *(volatile uint32_t *)a; }
static uint64_t rd64(uintptr_t a) { return *(volatile uint64_t *)a; }
static void wr32(uintptr_t a, uint32_t v) { *(volatile uint32_t *)a = v; }
static void wr64(uintptr_t a, uint64_t v) { *(volatile uint64_t *)a = v; }

static unsigned probe_cpus(void)
{
    unsigned n = 1;
    while (n < 8 && smccc(CONDUIT_HVC, PSCI_AFFINITY_INFO_64, psci_target_of(n), 0, 0) != PSCI_RET_INVALID_PARAMS)
        ++n;
    return n;
}

static void reset_values(unsigned cpus)
{
    show("GICD_CTLR", rd32(GICD_BASE + GICD_CTLR));
    show("GICD_TYPER.ITLinesNumber", rd32(GICD_BASE + GICD_TYPER) & 0x1F);
    show("GICD_TYPER.LPIS", (rd32(GICD_BASE + GICD_TYPER) >> 17) & 1);
    show("GICD_TYPER.SecurityExtn", (rd32(GICD_BASE + GICD_TYPER) >> 10) & 1);
    show("GICD_PIDR2.ArchRev", (rd32(GICD_BASE + GICD_PIDR2) >> 4) & 0xF);
    show("GICD_IIDR.Implementer", rd32(GICD_BASE + GICD_IIDR) & 0xFFF);
    show("GICD_IGROUPR1", rd32(GICD_BASE + GICD_IGROUPR + 4));
    show("GICD_ISENABLER1", rd32(GICD_BASE + GICD_ISENABLER + 4));
    show("GICD_IPRIORITYR8", rd32(GICD_BASE + GICD_IPRIORITYR + 32));
    show("GICD_ICFGR2", rd32(GICD_BASE + GICD_ICFGR + 8));
    show("GICD_IROUTER32", rd64(GICD_BASE + GICD_IROUTER + 8 * 32));
    for (unsigned c = 0; c < cpus; ++c) {
        const uint64_t typer = rd64(gicr_rd(c) + GICR_TYPER);
        gprintf("gic GICR%u_TYPER.Affinity = 0x%llx\n", c, (unsigned long long)(typer >> 32));
        gprintf("gic GICR%u_TYPER.Processor_Number = 0x%llx\n", c, (unsigned long long)((typer >> 8) & 0xFFFF));
        gprintf("gic GICR%u_TYPER.Last = 0x%llx\n", c, (unsigned long long)((typer >> 4) & 1));
        gprintf("gic GICR%u_TYPER.PLPIS = 0x%llx\n", c, (unsigned long long)(typer & 1));
    }
    show("GICR0_WAKER", rd32(gicr_rd(0) + GICR_WAKER));
    show("GICR0_PIDR2.ArchRev", (rd32(gicr_rd(0) + 0xFFE8) >> 4) & 0xF);
    show("GICR0_IGROUPR0", rd32(gicr_sgi(0) + GICD_IGROUPR));
    show("GICR0_ISENABLER0", rd32(gicr_sgi(0) + GICD_ISENABLER));
    show("GICR0_ICFGR0", rd32(gicr_sgi(0) + GICD_ICFGR));
    show("ICC_SRE_EL1", gic_read_icc(S3_0_C12_C12_5));
    show("ICC_PMR_EL1", gic_read_icc(S3_0_C4_C6_0));
    show("ICC_RPR_EL1", gic_read_icc(S3_0_C12_C11_3));
    show("ICC_IGRPEN1_EL1", gic_read_icc(S3_0_C12_C12_7));
    show("ICC_CTLR_EL1.EOImode", (gic_read_icc(S3_0_C12_C12_4) >> 1) & 1);
    show("ICC_IAR1_EL1", gic_read_icc(S3_0_C12_C12_0) & 0xFFFFFF);
    show("ICC_HPPIR1_EL1", gic_read_icc(S3_0_C12_C12_2) & 0xFFFFFF);
}

static void write_read_back(void)
{
    *gicd8(GICD_IPRIORITYR + 40) = 0xFF;
    show("GICD_IPRIORITYR40 after 0xff", *gicd8(GICD_IPRIORITYR + 40));
    gic_write_icc(S3_0_C4_C6_0, 0xFF);
    show("ICC_PMR_EL1 after 0xff", gic_read_icc(S3_0_C4_C6_0));
    gic_write_icc(S3_0_C12_C12_3, 0);
    show("ICC_BPR1_EL1 after 0", gic_read_icc(S3_0_C12_C12_3));
    wr32(GICD_BASE + GICD_IGROUPR + 4, 0xFFFFFFFFu);
    show("GICD_IGROUPR1 after ~0", rd32(GICD_BASE + GICD_IGROUPR + 4));
    wr32(GICD_BASE + GICD_ICFGR + 8, 0xFFFFFFFFu);
    show("GICD_ICFGR2 after ~0", rd32(GICD_BASE + GICD_ICFGR + 8));
    wr64(GICD_BASE + GICD_IROUTER + 8 * 40, ~0ull);
    show("GICD_IROUTER40 after ~0", rd64(GICD_BASE + GICD_IROUTER + 8 * 40));
    wr32(gicr_sgi(0) + GICD_ICFGR, 0);
    show("GICR0_ICFGR0 after 0", rd32(gicr_sgi(0) + GICD_ICFGR));
    wr32(GICD_BASE + GICD_ISENABLER + 4, 1u << 8);
    show("GICD_ISENABLER1 after bit 8", rd32(GICD_BASE + GICD_ISENABLER + 4));
    wr32(GICD_BASE + GICD_ICENABLER + 4, 1u << 8);
    show("GICD_ISENABLER1 after ICENABLER1 bit 8", rd32(GICD_BASE + GICD_ISENABLER + 4));
    wr32(GICD_BASE + GICD_CTLR, 0x12);
    show("GICD_CTLR after ARE|EnableGrp1", rd32(GICD_BASE + GICD_CTLR));
    wr32(gicr_rd(0) + GICR_WAKER, 0);
    show("GICR0_WAKER after 0", rd32(gicr_rd(0) + GICR_WAKER));
}

int main(void)
{
    const unsigned cpus = probe_cpus();
    gprintf("# gic-regs: %u vCPUs\n", cpus);
    reset_values(cpus);
    write_read_back();
    return 0;
}
