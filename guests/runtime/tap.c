/* TAP reporting on the console (plan printed last). */
#include "guest/tap.h"

#include "guest/console.h"

static unsigned tests_run;
static unsigned tests_failed;
static const char* description_prefix = "";

void tap_prefix(const char* prefix) {
  description_prefix = prefix ? prefix : "";
}

void tap_vok(int cond, const char* fmt, va_list ap) {
  ++tests_run;
  if (!cond) ++tests_failed;
  gprintf("%sok %u - %s", cond ? "" : "not ", tests_run, description_prefix);
  gvprintf(fmt, ap);
  console_putc('\n');
}

void tap_ok(int cond, const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  tap_vok(cond, fmt, ap);
  va_end(ap);
}

void tap_veq(uint64_t got, uint64_t want, const char* fmt, va_list ap) {
  tap_vok(got == want, fmt, ap);
  if (got != want) tap_diag("  got %ld (0x%lx), expected %ld (0x%lx)", (int64_t)got, got, (int64_t)want, want);
}

void tap_eq(uint64_t got, uint64_t want, const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  tap_veq(got, want, fmt, ap);
  va_end(ap);
}

void tap_skip(const char* reason, const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  ++tests_run;
  gprintf("ok %u - %s", tests_run, description_prefix);
  gvprintf(fmt, ap);
  gprintf(" # skip %s\n", reason);
  va_end(ap);
}

void tap_diag(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  console_puts("# ");
  gvprintf(fmt, ap);
  console_putc('\n');
  va_end(ap);
}

int tap_done(void) {
  gprintf("1..%u\n", tests_run);
  gprintf("# failed %u of %u\n", tests_failed, tests_run);
  return (int)tests_failed;
}
