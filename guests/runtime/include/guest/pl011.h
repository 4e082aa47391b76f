/*
 * The PL011 UART's registers (PrimeCell UART PL011 TRM, ARM DDI 0183, §3.2 and §3.3) at
 * QEMU virt's 0x0900_0000, for guests that program the receiver. guest/console.h prints
 * through the same UART (it only polls FR.TXFF and writes DR).
 */
#ifndef GUEST_PL011_H
#define GUEST_PL011_H

#include <stdint.h>

#include "guest/console.h"

#define PL011_RSR 0x004u   /* receive status / error clear */
#define PL011_IBRD 0x024u  /* integer baud rate divisor */
#define PL011_FBRD 0x028u  /* fractional baud rate divisor, in 64ths */
#define PL011_LCR_H 0x02Cu /* line control */
#define PL011_CR 0x030u    /* control */
#define PL011_IFLS 0x034u  /* FIFO interrupt level select */
#define PL011_IMSC 0x038u  /* interrupt mask set/clear: 1 = enabled */
#define PL011_RIS 0x03Cu   /* raw interrupt status */
#define PL011_MIS 0x040u   /* masked interrupt status: RIS & IMSC */
#define PL011_ICR 0x044u   /* interrupt clear: write 1 to clear */

#define PL011_FR_BUSY (1u << 3)
#define PL011_FR_RXFE (1u << 4) /* receive FIFO empty */
#define PL011_LCR_H_FEN (1u << 4)
#define PL011_LCR_H_WLEN8 (3u << 5)
#define PL011_CR_UARTEN (1u << 0)
#define PL011_CR_TXE (1u << 8)
#define PL011_CR_RXE (1u << 9)
#define PL011_INT_RX (1u << 4) /* receive: the FIFO reached its trigger level (§3.3.13) */
#define PL011_INT_RT (1u << 6) /* receive timeout: data waits, nothing arrived for 32 bit periods */
#define PL011_INT_ALL 0x7FFu
#define PL011_IFLS_RX_HALF (2u << 3) /* RXIFLSEL = 0b010: the FIFO half full */
#define PL011_IFLS_TX_HALF (2u << 0)
#define PL011_UARTCLK_HZ 24000000u /* QEMU virt's apb-pclk */

static inline volatile uint32_t* pl011(uint32_t offset) {
  return (volatile uint32_t*)(PL011_BASE + offset);
}

#endif
