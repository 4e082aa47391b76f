/*
 * TAP (Test Anything Protocol) output on the console, plan at the end:
 *
 *   ok 1 - hvc: SMCCC_VERSION is 1.2 (0x10002)
 *   not ok 2 - ...
 *   # a diagnostic line
 *   1..2
 *   # failed 1 of 2
 */
#ifndef GUEST_TAP_H
#define GUEST_TAP_H

#include <stdarg.h>
#include <stdint.h>

/* Text printed before every following test description (e.g. "hvc: "); "" for none. */
void tap_prefix(const char* prefix);

/* One test point: "ok N - <prefix><desc>" or "not ok N - <prefix><desc>". */
void tap_ok(int cond, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
void tap_vok(int cond, const char* fmt, va_list ap) __attribute__((format(printf, 2, 0)));

/* A test point for got == want; on a mismatch, a diagnostic with both values in decimal and hex. */
void tap_eq(uint64_t got, uint64_t want, const char* fmt, ...) __attribute__((format(printf, 3, 4)));
void tap_veq(uint64_t got, uint64_t want, const char* fmt, va_list ap) __attribute__((format(printf, 3, 0)));

/* A skipped test point, counted as passed: "ok N - <prefix><desc> # skip <reason>". */
void tap_skip(const char* reason, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

/* "# <text>" */
void tap_diag(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prints the plan "1..N" and "# failed K of N"; returns K. */
int tap_done(void);

#endif
