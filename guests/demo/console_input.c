/*
 * console-input.elf: reads lines from the PL011 (TRM DDI 0183) with its RX and receive-timeout
 * interrupts on SPI 1 (INTID 33) through the GICv3, and echoes each as `got: <line>` with the
 * counter value at which its newline was read. It stops at a line `quit`, or when no byte has
 * arrived for 20 ms of counter time (the input ended), and reports how many bytes and lines
 * arrived. Exit status 0, or 1 if a byte arrived while the handler was not expecting one.
 * Under QEMU: `-serial stdio` with input from a file or a pipe.
 */
#include <stdbool.h>
#include <stdint.h>

#include "guest/console.h"
#include "guest/counter.h"
#include "guest/gic.h"
#include "guest/irq.h"

#define UART 0x09000000ul
#define UART_DR 0x000u
#define UART_FR 0x018u
#define UART_LCR_H 0x02Cu
#define UART_CR 0x030u
#define UART_IMSC 0x038u
#define UART_MIS 0x040u
#define UART_ICR 0x044u
#define FR_RXFE (1u << 4)
#define INT_RX (1u << 4)
#define INT_RT (1u << 6)
#define QUIET_TICKS (20u * 62500u) /* 20 ms */
#define LINE_MAX 80u

static volatile uint32_t *uart(uint32_t off) { return (volatile uint32_t *)(UART + off); }

static char line[LINE_MAX + 1];
static unsigned line_len;
static volatile unsigned bytes, lines, uart_irqs;
static volatile bool quit;
static volatile uint64_t last_byte;

static bool is_quit(void)
{
    return line_len == 4 && line[0] == 'q' && line[1] == 'u' && line[2] == 'i' && line[3] == 't';
}

static void take_byte(char c)
{
    ++bytes;
    last_byte = read_cntvct();
    if (c == '\r')
        return;
    if (c != '\n') {
        if (line_len < LINE_MAX)
            line[line_len++] = c;
        return;
    }
    line[line_len] = '\0';
    ++lines;
    gprintf("got: %s (at counter %llu)\n", line, (unsigned long long)last_byte);
    if (is_quit())
        quit = true;
    line_len = 0;
}

/* Drain the receive FIFO: that clears RX (below its level) and RT (empty) (TRM 3.3.13). */
static void on_irq(uint64_t elr, uint64_t spsr)
{
    (void)elr, (void)spsr;
    const unsigned intid = gic_ack();
    if (intid == GIC_SPURIOUS)
        return;
    if (intid == GIC_INTID_UART) {
        ++uart_irqs;
        while (!(*uart(UART_FR) & FR_RXFE))
            take_byte((char)(*uart(UART_DR) & 0xFF));
    } else if (intid == GIC_INTID_VTIMER) {
        set_cntv_ctl(0);
    }
    gic_eoi(intid);
}

int main(void)
{
    gic_init_distributor();
    gic_init_cpu(0, false);
    gic_route_spi(GIC_INTID_UART, 0);
    gic_enable(0, GIC_INTID_UART, 0x80);
    gic_enable(0, GIC_INTID_VTIMER, 0x80);
    guest_set_irq_handler(on_irq);
    *uart(UART_LCR_H) = 0x70;                  /* 8 bits, FIFOs on */
    *uart(UART_IMSC) = INT_RX | INT_RT;
    *uart(UART_CR) = 0x301;                    /* UARTEN, TXE, RXE */
    gprintf("console-input: type lines, `quit` ends\n");
    last_byte = read_cntvct();
    irq_unmask();
    while (!quit) {
        /* Wake at least every QUIET_TICKS to notice that input has stopped. */
        set_cntv_cval(last_byte + QUIET_TICKS);
        set_cntv_ctl(TIMER_ENABLE);
        __asm__ volatile("wfi");
        if (read_cntvct() >= last_byte + QUIET_TICKS)
            break;
    }
    irq_mask();
    gprintf("console-input: %u bytes, %u lines, %u UART interrupts, %s\n", bytes, lines, uart_irqs,
            quit ? "quit" : "input ended");
    return 0;
}
