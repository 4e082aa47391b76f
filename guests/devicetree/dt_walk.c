/*
 * dt-walk.elf: finds the platform through the device tree in x0, as a guest written for
 * QEMU's virt machine would, and checks every node against the machine: the configuration
 * comes from the command line (/chosen/bootargs) and from the firmware itself (PSCI,
 * SDEI and PV-time answers over the conduit the tree names; every CPU the tree lists is
 * started and reports its MPIDR). TAP on the console; exit status = number of failures.
 *
 * Bootargs: "cpus=N mem=BYTES method=hvc|smc pvtime=0|1 initrd=0|1" (decimal or 0x-hex).
 * With initrd=1 the initrd must start with "smccc-emu initrd".
 */
#include <stdbool.h>
#include <stdint.h>

#include "guest/fdt.h"
#include "guest/smccc.h"
#include "guest/smp.h"
#include "guest/tap.h"

#define RAM_BASE 0x40000000ull
#define PL011_BASE_ADDR 0x09000000ull
#define BOOT_ALIGN (2ull << 20)
#define START_POLL_LIMIT 10000000u

int memcmp(const void* a, const void* b, unsigned long n);
extern char __stacks_end[];

struct expect {
  unsigned cpus;
  uint64_t mem;
  enum conduit conduit;
  bool smc;
  bool pvtime;
  bool initrd;
};

static struct gfdt tree;
static uint32_t reported[GUEST_MAX_CPUS]; /* Aff fields each secondary read from MPIDR_EL1 */
static uint32_t reported_count;

void secondary_main(unsigned cpu, uint64_t context_id) {
  uint64_t mpidr;
  __asm__ volatile("mrs %0, mpidr_el1" : "=r"(mpidr));
  if (context_id < GUEST_MAX_CPUS) smp_store(&reported[context_id], (uint32_t)(mpidr & 0xFFFFFF) | 0x80000000u);
  (void)cpu;
  smp_fetch_add(&reported_count, 1);
}

static uint64_t number(const char* s) {
  uint64_t v = 0;
  unsigned base = 10;
  if (s[0] == '0' && s[1] == 'x') s += 2, base = 16;
  for (;; ++s) {
    unsigned d = (*s >= '0' && *s <= '9')                 ? (unsigned)(*s - '0')
                 : (base == 16 && *s >= 'a' && *s <= 'f') ? (unsigned)(*s - 'a' + 10)
                                                          : 99;
    if (d >= base) return v;
    v = v * base + d;
  }
}

/* The value after "key=" in the bootargs, or 0. */
static const char* arg(const char* args, const char* key) {
  for (const char* p = args; *p; ++p) {
    if (p != args && p[-1] != ' ') continue;
    const char *k = key, *q = p;
    while (*k && *q == *k) ++k, ++q;
    if (*k == '\0' && *q == '=') return q + 1;
  }
  return 0;
}

static void read_expectations(struct expect* e, const char* args) {
  const char* v;
  e->cpus = (v = arg(args, "cpus")) ? (unsigned)number(v) : 1;
  e->mem = (v = arg(args, "mem")) ? number(v) : 0;
  e->smc = (v = arg(args, "method")) && v[0] == 's';
  e->conduit = e->smc ? CONDUIT_SMC : CONDUIT_HVC;
  e->pvtime = (v = arg(args, "pvtime")) && v[0] == '1';
  e->initrd = (v = arg(args, "initrd")) && v[0] == '1';
}

static uint64_t reg_cell64(const void* v, unsigned i) {
  return ((uint64_t)gfdt_cell(v, i) << 32) | gfdt_cell(v, i + 1);
}

#define STRINGS(node, name, list) gfdt_strings_equal(&tree, node, name, list, sizeof(list))

static void check_root(void) {
  int root = gfdt_root(&tree);
  tap_ok(STRINGS(root, "compatible", "linux,dummy-virt"), "/: compatible = \"linux,dummy-virt\"");
  tap_eq(gfdt_u32(&tree, root, "#address-cells", 0), 2, "/: #address-cells = 2");
  tap_eq(gfdt_u32(&tree, root, "#size-cells", 0), 2, "/: #size-cells = 2");
  int gic = gfdt_path(&tree, "/intc@8000000");
  uint32_t phandle = gic >= 0 ? gfdt_u32(&tree, gic, "phandle", 0) : 0;
  tap_ok(phandle != 0 && gfdt_u32(&tree, root, "interrupt-parent", 0) == phandle,
         "/: interrupt-parent = <&intc@8000000>");
}

/* Exactly the nodes of the machine, in QEMU virt's names, and nothing else. */
static void check_node_set(const struct expect* e) {
  static const char* const always[] = {"psci",  "firmware", "memory@40000000", "cpus",  "intc@8000000",
                                       "timer", "apb-pclk", "pl011@9000000",   "chosen"};
  unsigned found = 0, children = 0;
  for (int n = gfdt_first_child(&tree, 0); n >= 0; n = gfdt_next_sibling(&tree, n)) {
    ++children;
    for (unsigned i = 0; i < sizeof always / sizeof always[0]; ++i) {
      const char *a = always[i], *b = gfdt_name(&tree, n);
      while (*a && *a == *b) ++a, ++b;
      if (*a == '\0' && *b == '\0') ++found;
    }
  }
  unsigned want = sizeof always / sizeof always[0] + (e->pvtime ? 1 : 0);
  tap_eq(found, sizeof always / sizeof always[0],
         "/: has psci, firmware, memory, cpus, intc, timer, apb-pclk, pl011, chosen");
  tap_eq(children, want, "/: no other node (%s)", e->pvtime ? "plus reserved-memory" : "no reserved-memory");
}

static void check_memory(const struct expect* e) {
  int m = gfdt_path(&tree, "/memory@40000000");
  uint32_t len = 0;
  const void* reg = m >= 0 ? gfdt_prop(&tree, m, "reg", &len) : 0;
  tap_ok(m >= 0 && STRINGS(m, "device_type", "memory"), "/memory@40000000: device_type = \"memory\"");
  tap_ok(reg && len == 16 && reg_cell64(reg, 0) == RAM_BASE && reg_cell64(reg, 2) == e->mem,
         "/memory@40000000: reg = <0x40000000 0x%llx>", (unsigned long long)e->mem);
  /* The last byte of RAM is RAM: write and read it back (below PV time, which is reserved). */
  volatile uint8_t* top = (volatile uint8_t*)(uintptr_t)(RAM_BASE + e->mem - 0x10001);
  *top = 0x5A;
  tap_eq(*top, 0x5A, "/memory: RAM near its end is writable");
}

static void check_firmware(const struct expect* e) {
  int psci = gfdt_path(&tree, "/psci");
  const char* method = e->smc ? "smc" : "hvc";
  tap_ok(psci >= 0 && STRINGS(psci, "compatible", "arm,psci-1.0\0arm,psci-0.2"),
         "/psci: compatible = \"arm,psci-1.0\", \"arm,psci-0.2\"");
  tap_ok(psci >= 0 && (e->smc ? STRINGS(psci, "method", "smc") : STRINGS(psci, "method", "hvc")),
         "/psci: method = \"%s\"", method);
  tap_eq(smccc(e->conduit, PSCI_VERSION, 0, 0, 0), 0x10001, "/psci: PSCI_VERSION over %s is 1.1 (a 1.x for psci-1.0)",
         method);
  int sdei = gfdt_path(&tree, "/firmware/sdei");
  tap_ok(sdei >= 0 && STRINGS(sdei, "compatible", "arm,sdei-1.0"), "/firmware/sdei: compatible = \"arm,sdei-1.0\"");
  tap_ok(sdei >= 0 && (e->smc ? STRINGS(sdei, "method", "smc") : STRINGS(sdei, "method", "hvc")),
         "/firmware/sdei: method = \"%s\"", method);
  tap_eq(smccc(e->conduit, SDEI_VERSION, 0, 0, 0) >> SDEI_VERSION_MINOR_SHIFT, 0x10001,
         "/firmware/sdei: SDEI_VERSION over %s is 1.1", method);
}

static void check_cpus(const struct expect* e) {
  int cpus = gfdt_path(&tree, "/cpus");
  tap_ok(cpus >= 0 && gfdt_u32(&tree, cpus, "#address-cells", 0) == 1 && gfdt_u32(&tree, cpus, "#size-cells", 9) == 0,
         "/cpus: #address-cells = 1, #size-cells = 0");
  uint64_t mpidr;
  __asm__ volatile("mrs %0, mpidr_el1" : "=r"(mpidr));
  unsigned n = 0, good = 0, started = 0;
  uint32_t regs[GUEST_MAX_CPUS];
  /* CPUs are the children with device_type "cpu" (QEMU adds a cpu-map node beside them). */
  for (int c = cpus >= 0 ? gfdt_first_child(&tree, cpus) : -1; c >= 0 && n < GUEST_MAX_CPUS;
       c = gfdt_next_sibling(&tree, c)) {
    if (!STRINGS(c, "device_type", "cpu")) continue;
    regs[n] = gfdt_u32(&tree, c, "reg", ~0u);
    good += STRINGS(c, "enable-method", "psci") && regs[n] == psci_target_of(n);
    /* Start it through the conduit the tree names, as Linux's psci driver would. */
    if (n != 0) started += smccc(e->conduit, PSCI_CPU_ON_64, regs[n], (uint64_t)(uintptr_t)_start, n) == 0;
    ++n;
  }
  tap_eq(n, e->cpus, "/cpus: one cpu node per vCPU");
  tap_eq(good, n, "/cpus/cpu@N: device_type \"cpu\", enable-method \"psci\", reg = Aff1 << 8 | Aff0");
  tap_eq(n ? regs[0] : ~0u, mpidr & 0xFFFFFF, "/cpus: the first cpu's reg is the boot vCPU's MPIDR affinity");
  tap_eq(started, n ? n - 1 : 0, "/cpus: CPU_ON of every other cpu's reg succeeds");
  tap_ok(spin_until_equal(&reported_count, started, START_POLL_LIMIT), "/cpus: every started vCPU ran");
  unsigned match = 0;
  for (unsigned i = 1; i < n; ++i) match += smp_load(&reported[i]) == (regs[i] | 0x80000000u);
  tap_eq(match, n ? n - 1 : 0, "/cpus: each started vCPU reads its node's reg in MPIDR_EL1");
}

/* Linux's arm,gic-v3 binding: the distributor, then one region of 128 KiB per CPU. */
static void check_gic(const struct expect* e) {
  int gic = gfdt_path(&tree, "/intc@8000000");
  uint32_t len = 0;
  const void* reg = gic >= 0 ? gfdt_prop(&tree, gic, "reg", &len) : 0;
  tap_ok(gic >= 0 && STRINGS(gic, "compatible", "arm,gic-v3") && gfdt_prop(&tree, gic, "interrupt-controller", 0) &&
             gfdt_u32(&tree, gic, "#interrupt-cells", 0) == 3 && gfdt_u32(&tree, gic, "#redistributor-regions", 0) == 1,
         "/intc: arm,gic-v3, interrupt-controller, 3 interrupt cells, 1 redistributor region");
  tap_ok(reg && len == 32 && reg_cell64(reg, 0) == 0x08000000 && reg_cell64(reg, 2) == 0x10000 &&
             reg_cell64(reg, 4) == 0x080A0000 && reg_cell64(reg, 6) == 0x20000ull * e->cpus,
         "/intc: reg = <GICD 0x8000000 64 KiB>, <GICR 0x80a0000 %u x 128 KiB>", e->cpus);
}

/* <type number flags>: PPI 13, 14, 11, 10 (secure, non-secure physical, virtual, hypervisor), level-high. */
static void check_timer(void) {
  int timer = gfdt_path(&tree, "/timer");
  tap_ok(timer >= 0 && STRINGS(timer, "compatible", "arm,armv8-timer\0arm,armv7-timer") &&
             gfdt_prop(&tree, timer, "always-on", 0) != 0,
         "/timer: arm,armv8-timer, always-on");
  uint32_t len = 0;
  const void* irqs = timer >= 0 ? gfdt_prop(&tree, timer, "interrupts", &len) : 0;
  static const uint32_t ppis[4] = {13, 14, 11, 10};
  unsigned good = 0;
  for (unsigned i = 0; irqs && len == 48 && i < 4; ++i)
    good += gfdt_cell(irqs, 3 * i) == 1 && gfdt_cell(irqs, 3 * i + 1) == ppis[i] && gfdt_cell(irqs, 3 * i + 2) == 4;
  tap_eq(good, 4, "/timer: interrupts = PPIs 13, 14, 11, 10, level-high");
}

static void check_devices(void) {
  check_timer();
  int clk = gfdt_path(&tree, "/apb-pclk");
  uint32_t phandle = clk >= 0 ? gfdt_u32(&tree, clk, "phandle", 0) : 0;
  tap_ok(clk >= 0 && STRINGS(clk, "compatible", "fixed-clock") &&
             gfdt_u32(&tree, clk, "clock-frequency", 0) == 24000000 && phandle != 0,
         "/apb-pclk: fixed-clock, 24 MHz, with a phandle");
  int uart = gfdt_path(&tree, "/pl011@9000000");
  uint32_t len = 0;
  const void* reg = uart >= 0 ? gfdt_prop(&tree, uart, "reg", &len) : 0;
  const void* clocks = uart >= 0 ? gfdt_prop(&tree, uart, "clocks", &len) : 0;
  tap_ok(uart >= 0 && STRINGS(uart, "compatible", "arm,pl011\0arm,primecell"), "/pl011: arm,pl011, arm,primecell");
  tap_ok(reg && reg_cell64(reg, 0) == PL011_BASE_ADDR && reg_cell64(reg, 2) == 0x1000,
         "/pl011: reg = <0x9000000 0x1000>");
  tap_ok(clocks && len == 8 && gfdt_cell(clocks, 0) == phandle && gfdt_cell(clocks, 1) == phandle &&
             STRINGS(uart, "clock-names", "uartclk\0apb_pclk"),
         "/pl011: clocks = <&apb-pclk &apb-pclk>, clock-names = \"uartclk\", \"apb_pclk\"");
  const void* irq = uart >= 0 ? gfdt_prop(&tree, uart, "interrupts", &len) : 0;
  tap_ok(irq && len == 12 && gfdt_cell(irq, 0) == 0 && gfdt_cell(irq, 1) == 1 && gfdt_cell(irq, 2) == 4,
         "/pl011: interrupts = <SPI 1 level-high>");
}

static void check_pvtime(const struct expect* e) {
  int rm = gfdt_path(&tree, "/reserved-memory");
  uint64_t ipa = smccc(e->conduit, PV_TIME_ST, 0, 0, 0);
  if (!e->pvtime) {
    tap_ok(rm < 0, "/reserved-memory: absent with --pv-time=off");
    return;
  }
  int child = rm >= 0 ? gfdt_first_child(&tree, rm) : -1;
  uint32_t len = 0;
  const void* reg = child >= 0 ? gfdt_prop(&tree, child, "reg", &len) : 0;
  tap_ok(child >= 0 && gfdt_prop(&tree, child, "no-map", 0) != 0, "/reserved-memory: a no-map child");
  tap_ok(reg && len == 16 && ipa >= reg_cell64(reg, 0) && ipa + 64 <= reg_cell64(reg, 0) + reg_cell64(reg, 2),
         "/reserved-memory: covers vCPU 0's PV-time record (PV_TIME_ST = 0x%llx)", (unsigned long long)ipa);
}

static void check_chosen(const struct expect* e, const char* args, uint64_t dtb) {
  int chosen = gfdt_path(&tree, "/chosen");
  uint32_t len = 0;
  const char* stdout_path = chosen >= 0 ? gfdt_prop(&tree, chosen, "stdout-path", &len) : 0;
  tap_ok(stdout_path && gfdt_path(&tree, stdout_path) == gfdt_path(&tree, "/pl011@9000000"),
         "/chosen: stdout-path names the PL011");
  tap_ok(args[0] != '\0', "/chosen: bootargs present (\"%s\")", args);
  tap_ok(gfdt_prop(&tree, chosen, "kaslr-seed", &len) && len == 8, "/chosen: kaslr-seed is 8 bytes");
  const uint8_t* rng = gfdt_prop(&tree, chosen, "rng-seed", &len);
  tap_ok(rng && len == 32, "/chosen: rng-seed is 32 bytes");
  tap_diag("kaslr-seed 0x%llx rng-seed[0..3] %02x%02x%02x%02x",
           (unsigned long long)gfdt_u64(&tree, chosen, "kaslr-seed", 0), rng ? rng[0] : 0, rng ? rng[1] : 0,
           rng ? rng[2] : 0, rng ? rng[3] : 0);
  uint64_t start = gfdt_u64(&tree, chosen, "linux,initrd-start", 0);
  uint64_t end = gfdt_u64(&tree, chosen, "linux,initrd-end", 0);
  if (!e->initrd) {
    tap_ok(start == 0 && end == 0, "/chosen: no initrd properties without --initrd");
    return;
  }
  tap_ok(start % BOOT_ALIGN == 0 && start >= (uint64_t)(uintptr_t)__stacks_end && end > start && dtb >= end,
         "/chosen: initrd on a 2 MiB boundary above the image, below the device tree [0x%llx, 0x%llx)",
         (unsigned long long)start, (unsigned long long)end);
  tap_ok(start && memcmp((const void*)(uintptr_t)start, "smccc-emu initrd", 16) == 0,
         "/chosen: the initrd holds the file's bytes");
}

int main(void) {
  uint64_t dtb = guest_boot_x0;
  tap_ok(dtb != 0 && gfdt_init(&tree, (const void*)(uintptr_t)dtb) == 0, "x0 = 0x%llx holds a device tree",
         (unsigned long long)dtb);
  if (tree.blob == 0) return tap_done();
  tap_eq(tree.version, 17, "the device tree is version 17");
  tap_ok(dtb % BOOT_ALIGN == 0 && dtb >= (uint64_t)(uintptr_t)__stacks_end,
         "the device tree lies on a 2 MiB boundary above the image");
  int chosen = gfdt_path(&tree, "/chosen");
  const char* args = chosen >= 0 ? gfdt_prop(&tree, chosen, "bootargs", 0) : 0;
  struct expect e;
  read_expectations(&e, args ? args : "");
  check_root();
  check_node_set(&e);
  check_memory(&e);
  check_firmware(&e);
  check_cpus(&e);
  check_gic(&e);
  check_devices();
  check_pvtime(&e);
  check_chosen(&e, args ? args : "", dtb);
  return tap_done();
}
