/*
 * Console output on the PL011 UART at 0x09000000 (docs/architecture.md "The platform").
 * Not locked: two vCPUs printing at once interleave characters.
 */
#ifndef GUEST_CONSOLE_H
#define GUEST_CONSOLE_H

#include <stdarg.h>

#define PL011_BASE 0x09000000ul
#define PL011_DR 0x00u /* data register */
#define PL011_FR 0x18u /* flag register */
#define PL011_FR_TXFF (1u << 5)

void console_putc(char c);
void console_puts(const char* s); /* no newline appended */

/*
 * printf subset: %s %c %d %i %u %x %X %p %%, length l / ll (z = l), flags '0' and '-',
 * a decimal field width (e.g. %016lx, %-12s). %p prints 0x and 16 hex digits.
 */
void gprintf(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void gvprintf(const char* fmt, va_list ap) __attribute__((format(printf, 1, 0)));

#endif
