/*
 * console-input.elf: reads lines from the PL011 with its receive interrupts through the GICv3
 * and echoes each one as `got: <line>`.
 *
 * The UART is programmed as a driver would (PL011 TRM DDI 0183 §3.3.8 CR, §3.3.7 LCR_H): off,
 * 115200 8N1 from the 24 MHz UARTCLK, FIFOs on, RX interrupt at half full (IFLS), RX and
 * receive-timeout (RT) interrupts unmasked, then UARTEN | TXE | RXE. Its level interrupt is
 * SPI 1 (INTID 33), routed to vCPU 0. The handler empties the receive FIFO into a ring; the
 * main loop sleeps in WFI (IRQs masked around the check, so no wake-up is lost) and takes lines
 * ending in CR, LF or CR LF out of the ring. It stops at the line `quit`, or when no byte has
 * come for QUIET_MS (FIRST_BYTE_MS before the first byte) on the virtual timer (PPI 27): that
 * is how the end of the input shows, since a UART has no end-of-file. Then it prints the bytes
 * and lines it took (up to and including the `quit` line) and the interrupts it saw, and checks
 * the set-up read back, that every UART interrupt had a cause in UARTMIS, that only INTIDs 27
 * and 33 arrived, and, when the input ended, that no byte was left in the FIFO.
 *
 * On smccc-emu the input is `--console-input FILE` (or stdin); bytes arrive one character time
 * (86.8 us at 115200 8N1) apart in virtual time, so with a file the run is deterministic, and
 * RX comes every 8 bytes with RT for the rest. A terminal does not work there: a WFI with the
 * timer armed skips to the timeout at once. Under QEMU 7.2 use
 * `-nographic -serial stdio -monitor none` with input from a file or pipe; its PL011 raises RX
 * at every byte, has no receive timeout, receives from reset on and flushes its FIFO when FEN
 * changes: a byte that arrives just as the guest turns the FIFOs on can be lost, so start the
 * input after the guest, e.g. `(sleep 0.5; cat FILE) | qemu-system-aarch64 ...`.
 * TAP; exit status = number of failures.
 */
#include <stdbool.h>
#include <stdint.h>

#include "guest/console.h"
#include "guest/counter.h"
#include "guest/gic.h"
#include "guest/irq.h"
#include "guest/pl011.h"
#include "guest/platform.h"
#include "guest/tap.h"
#include "guest/timer.h"

#define FIRST_BYTE_MS 2000u /* the wait for the first byte (under QEMU, host time) */
#define QUIET_MS 100u       /* then the input has ended when nothing came for this long */
#define TICKS_PER_MS 62500u
#define RING_SIZE 4096u /* a power of two */
#define LINE_MAX 256u
#define UART_PRIORITY 0x80u
#define TIMER_PRIORITY 0x90u

static volatile uint8_t ring[RING_SIZE];
static volatile unsigned ring_head; /* written by the handler */
static unsigned ring_tail;          /* read by the main loop */
static volatile unsigned dropped;   /* bytes the full ring could not take */
static volatile bool quiet_expired;
static volatile unsigned uart_irqs, uart_irqs_rx, uart_irqs_rt, uart_irqs_without_cause, other_irqs;

static unsigned early_bytes; /* received before the FIFOs were on */
static char line[LINE_MAX];
static unsigned line_len;
static bool last_was_cr;
static unsigned bytes, lines;

/* --- interrupt side ------------------------------------------------------------------- */

static void push_byte(uint8_t byte) {
  if (ring_head - ring_tail < RING_SIZE) {
    ring[ring_head % RING_SIZE] = byte;
    __atomic_store_n(&ring_head, ring_head + 1, __ATOMIC_RELEASE);
  } else {
    ++dropped;
  }
}

static void drain_fifo(void) {
  while (!(*pl011(PL011_FR) & PL011_FR_RXFE)) push_byte((uint8_t)*pl011(PL011_DR));
}

/* Emptying the FIFO clears both RX (below its trigger level) and RT (TRM §3.3.13). UARTICR is
 * not written: a byte arriving after the last FR read would raise RX again, and clearing it
 * then would leave that byte without an interrupt (QEMU 7.2 raises RX only on the FIFO's
 * first byte, so its input would stall). */
static void on_uart(void) {
  const uint32_t mis = *pl011(PL011_MIS);
  ++uart_irqs;
  uart_irqs_rx += (mis & PL011_INT_RX) != 0;
  uart_irqs_rt += (mis & PL011_INT_RT) != 0;
  uart_irqs_without_cause += mis == 0;
  drain_fifo();
}

static void on_irq(uint64_t elr, uint64_t spsr) {
  (void)elr, (void)spsr;
  const unsigned intid = gic_ack();
  if (intid == GIC_SPURIOUS) return;
  if (intid == GIC_INTID_UART) {
    on_uart();
  } else if (intid == GIC_INTID_VTIMER) {
    set_cntv_ctl(0);
    quiet_expired = true;
  } else {
    ++other_irqs;
  }
  gic_eoi(intid);
}

/* --- set-up ------------------------------------------------------------------------------- */

/* 115200 baud from UARTCLK: divisor 24e6 / (16 * 115200) = 13.02 -> IBRD 13, FBRD 1 (§2.4.3). */
static void uart_setup(void) {
  *pl011(PL011_CR) = 0;
  while (*pl011(PL011_FR) & PL011_FR_BUSY)
    ;
  *pl011(PL011_IMSC) = 0;
  *pl011(PL011_ICR) = PL011_INT_ALL;
  *pl011(PL011_IBRD) = 13;
  *pl011(PL011_FBRD) = 1;
  /* A receiver that is on from reset (QEMU's is) may hold a byte already. Switching the
   * FIFOs on flushes them (QEMU 7.2 does), so take what is there first. */
  drain_fifo();
  early_bytes = ring_head;
  *pl011(PL011_LCR_H) = PL011_LCR_H_WLEN8 | PL011_LCR_H_FEN;
  *pl011(PL011_IFLS) = PL011_IFLS_RX_HALF | PL011_IFLS_TX_HALF;
  *pl011(PL011_IMSC) = PL011_INT_RX | PL011_INT_RT;
  *pl011(PL011_CR) = PL011_CR_UARTEN | PL011_CR_TXE | PL011_CR_RXE;
}

static void gic_setup(void) {
  gic_init_distributor();
  gic_init_cpu(0, false);
  gic_set_edge(0, GIC_INTID_UART, false);
  gic_route_spi(GIC_INTID_UART, 0);
  gic_enable(0, GIC_INTID_UART, UART_PRIORITY);
  gic_enable(0, GIC_INTID_VTIMER, TIMER_PRIORITY);
  guest_set_irq_handler(on_irq);
}

static void check_setup(void) {
  tap_eq(*pl011(PL011_CR) & (PL011_CR_UARTEN | PL011_CR_TXE | PL011_CR_RXE),
         PL011_CR_UARTEN | PL011_CR_TXE | PL011_CR_RXE, "UARTCR: UARTEN, TXE and RXE read back");
  tap_eq(*pl011(PL011_LCR_H), PL011_LCR_H_WLEN8 | PL011_LCR_H_FEN, "UARTLCR_H: 8 bits, FIFOs on");
  tap_eq(*pl011(PL011_IBRD), 13, "UARTIBRD reads back 13");
  tap_eq(*pl011(PL011_FBRD), 1, "UARTFBRD reads back 1");
  tap_eq(*pl011(PL011_IMSC), PL011_INT_RX | PL011_INT_RT, "UARTIMSC: RX and RT unmasked");
}

/* --- lines -------------------------------------------------------------------------------- */

static bool is_quit(void) {
  return line_len == 4 && line[0] == 'q' && line[1] == 'u' && line[2] == 'i' && line[3] == 't';
}

/* Prints the line; returns true for `quit`. */
static bool end_line(void) {
  line[line_len] = '\0';
  gprintf("got: %s\n", line);
  ++lines;
  const bool quit = is_quit();
  line_len = 0;
  return quit;
}

/* One received byte; returns true once the `quit` line is complete. */
static bool take_byte(uint8_t c) {
  ++bytes;
  const bool lf_after_cr = c == '\n' && last_was_cr;
  last_was_cr = c == '\r';
  if (lf_after_cr) return false;
  if (c == '\r' || c == '\n') return end_line();
  line[line_len++] = (char)c;
  if (line_len == LINE_MAX - 1) return end_line(); /* an over-long line is echoed in pieces */
  return false;
}

static void arm_quiet_timer(unsigned ms) {
  quiet_expired = false;
  set_cntv_cval(read_cntvct() + ms * TICKS_PER_MS);
  set_cntv_ctl(TIMER_ENABLE);
}

/* Sleeps until a byte or the quiet timeout is there: the check runs with IRQs masked, and WFI
 * wakes for a pending interrupt even so (Arm ARM D1.6.2); unmasking then takes it. */
static void wait_for_input(void) {
  irq_mask();
  if (__atomic_load_n(&ring_head, __ATOMIC_ACQUIRE) == ring_tail && !quiet_expired) __asm__ volatile("wfi");
  irq_unmask();
}

/* Returns true if the input ended (quiet timeout), false at `quit`. */
static bool read_lines(void) {
  arm_quiet_timer(FIRST_BYTE_MS);
  for (;;) {
    wait_for_input();
    const unsigned head = __atomic_load_n(&ring_head, __ATOMIC_ACQUIRE);
    if (head != ring_tail) arm_quiet_timer(QUIET_MS);
    while (ring_tail != head) {
      const uint8_t c = ring[ring_tail % RING_SIZE];
      ++ring_tail;
      if (take_byte(c)) return false;
    }
    if (quiet_expired && __atomic_load_n(&ring_head, __ATOMIC_ACQUIRE) == ring_tail) return true;
  }
}

int main(void) {
  tap_diag("platform: %s", guest_platform_name());
  gic_setup();
  uart_setup();
  check_setup();
  const bool ended = read_lines();
  irq_mask();
  set_cntv_ctl(0);
  *pl011(PL011_IMSC) = 0;
  if (ended && line_len > 0) end_line(); /* the input's last line had no line end */
  tap_diag("stopped by: %s", ended ? "end of input" : "quit");
  tap_diag("bytes: %u, lines: %u", bytes, lines);
  if (early_bytes != 0) /* only under QEMU, whose receiver runs from reset */
    tap_diag("%u byte(s) waited before the FIFOs were on: one arriving as they went on may be lost", early_bytes);
  tap_diag("uart interrupts: %u (rx %u, rt %u)", uart_irqs, uart_irqs_rx, uart_irqs_rt);
  tap_eq(dropped, 0, "no byte was dropped (the ring never filled)");
  tap_eq(uart_irqs_without_cause, 0, "every UART interrupt had RX or RT set in UARTMIS");
  tap_eq(other_irqs, 0, "only INTIDs 33 (UART) and 27 (virtual timer) arrived");
  tap_ok(bytes == 0 || uart_irqs > 0, "the bytes came through UART interrupts");
  if (ended)
    tap_ok((*pl011(PL011_FR) & PL011_FR_RXFE) && (*pl011(PL011_RIS) & (PL011_INT_RX | PL011_INT_RT)) == 0,
           "at the end of input the receive FIFO is empty and RX / RT are clear");
  else
    tap_skip("stopped at quit", "at the end of input the receive FIFO is empty");
  return tap_done();
}
