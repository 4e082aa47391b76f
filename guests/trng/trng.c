/*
 * trng.elf: TRNG 1.0 (DEN0098) as the smccc-emu firmware model answers it, checked once over
 * HVC and once over SMC and reported as TAP; then, after the plan, a bulk draw of random bits
 * for the host's randomness test. Exit status = number of failures (capped at 255); a bulk
 * draw that stops on an error adds one.
 *
 * Expected values are the model's decided answers: DEN0098 (TRNG firmware interface) and
 * README "What the firmware answers today".
 *
 * Bulk draw (over HVC): BULK_LINES lines "RNG " + 48 lowercase hex digits, the x1, x2, x3 of
 * one TRNG_RND64(192) call, 16 digits each, in that order; then "# bulk: done". The host
 * turns the digits back into bytes (24 per line) and feeds them to rngtest.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#include "guest/console.h"
#include "guest/smccc.h"
#include "guest/tap.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MAX_EXIT_STATUS 255 /* statuses above are truncated by the host */

#define TRNG_VERSION_1_0 0x10000u
#define W0_INVALID_UUID 0xFFFFFFFFu        /* DEN0098 TRNG_GET_UUID: a valid UUID never has this W0 */
#define HIGH_GARBAGE 0xA5A5A5A500000000ull /* bits 63:32 the calls must ignore */
#define NARROWED (1ull << 32)              /* N + NARROWED is N once the low 32 bits are taken */

/* Draws per valid N: every usable bit must be seen as 1 and as 0 (fails with p ~ 2^-57). */
#define VARIATION_DRAWS 64u

/* 109228 draws of 192 bits = 2,621,472 bytes, just above the 2.5 MiB rngtest is given. */
#define BULK_LINES 109228u
#define BULK_BITS TRNG_RND64_MAX_BITS

/* The model's entropy-source UUIDs, in SMCCC UID packing (DEN0028 General Service Queries). */
static const uint32_t host_source_uuid[4] = {0x266D7094u, 0xA5440A12u, 0x1D72A5BCu, 0xBEAA82D4u};
static const uint32_t seeded_source_uuid[4] = {0x5D9E2C16u, 0x3F47BB72u, 0x089528B1u, 0x40308A0Cu};

/* --- Calls with sentinels ------------------------------------------------------------- */

/* x0..x3 after a call: the status and the three result registers. */
struct outcome {
  uint64_t x[4];
};

/* Every call of a pass checks that x4..x17 come back unchanged; the first clobber is kept. */
struct preservation {
  unsigned calls;
  unsigned clobbered;
  uint32_t fid;
  unsigned reg;
  uint64_t value;
};

static enum conduit conduit;
static struct preservation preservation;

static uint64_t sentinel(unsigned reg) {
  return 0x5E57000000000000ull | ((uint64_t)reg << 32) | (0xC0DE0000u + reg);
}

/* x0 = fid, x1 = a1; x2..x17 hold sentinels (x2, x3 are results and must be overwritten). */
static struct outcome trng_call(uint32_t fid, uint64_t a1) {
  struct smccc_regs r = {.x = {fid, a1}};
  for (unsigned i = 2; i < SMCCC_NUM_REGS; ++i) r.x[i] = sentinel(i);
  smccc_call(conduit, &r);

  ++preservation.calls;
  for (unsigned i = 4; i < SMCCC_NUM_REGS; ++i) {
    if (r.x[i] != sentinel(i) && preservation.clobbered++ == 0) {
      preservation.fid = fid;
      preservation.reg = i;
      preservation.value = r.x[i];
    }
  }
  return (struct outcome){{r.x[0], r.x[1], r.x[2], r.x[3]}};
}

/* A call without arguments: x1 holds a sentinel too. */
static struct outcome trng_call0(uint32_t fid) {
  return trng_call(fid, sentinel(1));
}

/* --- Reporting ------------------------------------------------------------------------ */

static void diag_outcome(const struct outcome* o) {
  tap_diag("  x0 = 0x%016lx, x1 = 0x%016lx, x2 = 0x%016lx, x3 = 0x%016lx", o->x[0], o->x[1], o->x[2], o->x[3]);
}

static bool results_zero(const struct outcome* o) {
  return o->x[1] == 0 && o->x[2] == 0 && o->x[3] == 0;
}

static bool words_equal(const struct outcome* o, const uint32_t want[4]) {
  for (unsigned i = 0; i < 4; ++i) {
    if (o->x[i] != want[i]) return false;
  }
  return true;
}

/* --- VERSION, FEATURES, GET_UUID ------------------------------------------------------ */

/* DEN0098 TRNG_VERSION: version 1.0, nothing else in x1..x3. */
static void test_version(void) {
  struct outcome o = trng_call0(TRNG_VERSION);
  bool ok = o.x[0] == TRNG_VERSION_1_0 && results_zero(&o);
  tap_ok(ok, "TRNG_VERSION is 1.0 (0x10000) with x1..x3 zero");
  if (!ok) diag_outcome(&o);
}

struct expectation {
  uint64_t arg;
  uint64_t want;
  const char* name;
};

/* DEN0098 function IDs: the five TRNG functions are implemented, nothing else is. */
static const struct expectation trng_features[] = {
    {TRNG_VERSION, TRNG_RET_SUCCESS, "TRNG_VERSION"},
    {TRNG_FEATURES, TRNG_RET_SUCCESS, "TRNG_FEATURES"},
    {TRNG_GET_UUID, TRNG_RET_SUCCESS, "TRNG_GET_UUID"},
    {TRNG_RND32, TRNG_RET_SUCCESS, "TRNG_RND32"},
    {TRNG_RND64, TRNG_RET_SUCCESS, "TRNG_RND64"},
    {HIGH_GARBAGE | TRNG_RND64, TRNG_RET_SUCCESS, "TRNG_RND64 with bits 63:32 of x1 set"},
    {0xC4000050u, TRNG_RET_NOT_SUPPORTED, "0xC4000050, no SMC64 TRNG_VERSION"},
    {0xC4000052u, TRNG_RET_NOT_SUPPORTED, "0xC4000052, no SMC64 TRNG_GET_UUID"},
    {0x84000054u, TRNG_RET_NOT_SUPPORTED, "0x84000054, reserved TRNG range"},
    {0x8400005Fu, TRNG_RET_NOT_SUPPORTED, "0x8400005F, reserved TRNG range"},
    {PSCI_VERSION, TRNG_RET_NOT_SUPPORTED, "PSCI_VERSION, not a TRNG function"},
};

static void test_features(void) {
  for (unsigned i = 0; i < ARRAY_SIZE(trng_features); ++i) {
    const struct expectation* e = &trng_features[i];
    tap_eq(trng_call(TRNG_FEATURES, e->arg).x[0], e->want, "TRNG_FEATURES(%s) = %ld", e->name, (int64_t)e->want);
  }
}

static struct outcome first_uuid;
static bool have_first_uuid;

/* DEN0098 TRNG_GET_UUID: one of the model's two entropy-source UUIDs, the same on both conduits. */
static void test_uuid(void) {
  struct outcome o = trng_call0(TRNG_GET_UUID);
  bool host = words_equal(&o, host_source_uuid);
  bool seeded = words_equal(&o, seeded_source_uuid);

  tap_diag("TRNG_GET_UUID: 0x%08lx 0x%08lx 0x%08lx 0x%08lx (%s)", o.x[0], o.x[1], o.x[2], o.x[3],
           host     ? "host entropy source"
           : seeded ? "seeded source, --seed"
                    : "unknown");
  tap_ok(host || seeded, "TRNG_GET_UUID is the host or the seeded entropy source's UUID");
  tap_ok((uint32_t)o.x[0] != W0_INVALID_UUID, "TRNG_GET_UUID: W0 is not 0xFFFFFFFF");
  if (!have_first_uuid) {
    first_uuid = o;
    have_first_uuid = true;
  } else {
    bool same = true;
    for (unsigned i = 0; i < 4; ++i) same = same && o.x[i] == first_uuid.x[i];
    tap_ok(same, "TRNG_GET_UUID is the same as in the first pass");
  }
}

/* --- RND32 / RND64 ------------------------------------------------------------------- */

struct rnd_function {
  uint32_t fid;
  const char* name;
  unsigned max_bits;
  unsigned reg_bits; /* bits per result register: 32 (RND32) or 64 (RND64) */
};

static const struct rnd_function rnd32 = {TRNG_RND32, "TRNG_RND32", TRNG_RND32_MAX_BITS, 32};
static const struct rnd_function rnd64 = {TRNG_RND64, "TRNG_RND64", TRNG_RND64_MAX_BITS, 64};

/*
 * DEN0098 TRNG_RND result packing: the bits that may be set in x1..x3 for N bits. The lowest bits
 * live in x3, the next ones in x2, the top ones in x1; for RND32 the upper 32 bits of each register
 * are zero.
 */
static uint64_t usable_mask(const struct rnd_function* f, unsigned n, unsigned reg) {
  unsigned base = (3u - reg) * f->reg_bits;
  unsigned count = n > base ? n - base : 0u;
  if (count > f->reg_bits) count = f->reg_bits;
  return count == 64u ? ~0ull : (1ull << count) - 1u;
}

/* A fixed-size text buffer for descriptions (no snprintf in the runtime). */
struct text {
  char* buf;
  unsigned size;
  unsigned len;
};

static void text_putc(struct text* t, char c) {
  if (t->len + 1 < t->size) t->buf[t->len++] = c;
  t->buf[t->len] = '\0';
}

static void text_puts(struct text* t, const char* s) {
  while (*s) text_putc(t, *s++);
}

static void text_put_unsigned(struct text* t, uint64_t v, unsigned base) {
  char digits[24];
  unsigned n = 0;
  do {
    digits[n++] = "0123456789abcdef"[v % base];
    v /= base;
  } while (v);
  if (base == 16) text_puts(t, "0x");
  while (n) text_putc(t, digits[--n]);
}

/* "N=33", "N=0xffffffff", or "N=0x100000020 (32 once narrowed to 32 bits)". */
static void describe_n(char* buf, unsigned size, uint64_t x1) {
  struct text t = {buf, size, 0};
  buf[0] = '\0';
  text_puts(&t, "N=");
  if (x1 > 0xFFFFu && !(x1 >> 32)) {
    text_put_unsigned(&t, x1, 16);
  } else if (x1 >> 32) {
    text_put_unsigned(&t, x1, 16);
    text_puts(&t, " (");
    text_put_unsigned(&t, (uint32_t)x1, 10);
    text_puts(&t, " once narrowed to 32 bits)");
  } else {
    text_put_unsigned(&t, x1, 10);
  }
}

/*
 * DEN0098 TRNG_RND result packing: VARIATION_DRAWS draws of N bits. Each returns x0 = 0 with no bit
 * set outside the N usable ones, and each usable bit is seen as 1 and as 0 (random data: the chance
 * that a given bit never changes over 64 draws is 2^-63).
 */
static void test_rnd_valid(const struct rnd_function* f, uint64_t x1) {
  const unsigned n = (uint32_t)x1;
  char name[64];
  uint64_t ones[4] = {0}, zeros[4] = {0};
  unsigned bad_status = 0, outside = 0;
  struct outcome first_bad = {{0}};

  describe_n(name, sizeof name, x1);
  for (unsigned d = 0; d < VARIATION_DRAWS; ++d) {
    struct outcome o = trng_call(f->fid, x1);
    bool inside = true;
    for (unsigned reg = 1; reg <= 3; ++reg) {
      uint64_t mask = usable_mask(f, n, reg);
      if (o.x[reg] & ~mask) inside = false;
      ones[reg] |= o.x[reg] & mask;
      zeros[reg] |= ~o.x[reg] & mask;
    }
    if (o.x[0] != TRNG_RET_SUCCESS)
      ++bad_status;
    else if (!inside)
      ++outside;
    else
      continue;
    if (bad_status + outside == 1) first_bad = o;
  }
  tap_ok(bad_status == 0 && outside == 0, "%s(%s): x0 = 0 and no bit above bit %u set in x1..x3 (%u draws)", f->name,
         name, n - 1, VARIATION_DRAWS);
  if (bad_status + outside) {
    tap_diag("  %u draws failed, %u had bits outside the %u usable ones; the first:", bad_status, outside, n);
    diag_outcome(&first_bad);
  }

  bool varies = true;
  for (unsigned reg = 1; reg <= 3; ++reg) {
    uint64_t mask = usable_mask(f, n, reg);
    if (ones[reg] != mask || zeros[reg] != mask) {
      varies = false;
      tap_diag("  x%u: usable 0x%016lx, seen as 1 0x%016lx, seen as 0 0x%016lx", reg, mask, ones[reg], zeros[reg]);
    }
  }
  tap_ok(varies, "%s(%s): each usable bit is 1 in some draw and 0 in another", f->name, name);
}

/* DEN0098 return codes, docs/architecture.md "Model decisions": N = 0 or N above the maximum is
 * INVALID_PARAMETERS with x1..x3 zero. */
static void test_rnd_invalid(const struct rnd_function* f, uint64_t x1) {
  char name[64];
  describe_n(name, sizeof name, x1);
  struct outcome o = trng_call(f->fid, x1);
  bool ok = o.x[0] == TRNG_RET_INVALID_PARAMS && results_zero(&o);
  tap_ok(ok, "%s(%s) is INVALID_PARAMETERS (-2) with x1..x3 zero", f->name, name);
  if (!ok) diag_outcome(&o);
}

static void test_rnd32(void) {
  static const uint64_t valid[] = {1, 8, 31, 32, 33, 64, 95, 96, NARROWED | 32};
  static const uint64_t invalid[] = {0, 97, 0xFFFFFFFFu, NARROWED};

  for (unsigned i = 0; i < ARRAY_SIZE(valid); ++i) test_rnd_valid(&rnd32, valid[i]);
  for (unsigned i = 0; i < ARRAY_SIZE(invalid); ++i) test_rnd_invalid(&rnd32, invalid[i]);
}

static void test_rnd64(void) {
  static const uint64_t valid[] = {1, 63, 64, 65, 128, 191, 192, NARROWED | 192};
  static const uint64_t invalid[] = {0, 193, 0xFFFFFFFFu, NARROWED};

  for (unsigned i = 0; i < ARRAY_SIZE(valid); ++i) test_rnd_valid(&rnd64, valid[i]);
  for (unsigned i = 0; i < ARRAY_SIZE(invalid); ++i) test_rnd_invalid(&rnd64, invalid[i]);
}

/* DEN0098 TRNG_RND: the source never hands out the same bits twice. */
static void test_consecutive_draws_differ(void) {
  struct outcome a = trng_call(TRNG_RND64, TRNG_RND64_MAX_BITS);
  struct outcome b = trng_call(TRNG_RND64, TRNG_RND64_MAX_BITS);
  bool ok = a.x[0] == TRNG_RET_SUCCESS && b.x[0] == TRNG_RET_SUCCESS &&
            (a.x[1] != b.x[1] || a.x[2] != b.x[2] || a.x[3] != b.x[3]);
  tap_ok(ok, "two consecutive TRNG_RND64(N=192) draws succeed and differ");
  if (!ok) {
    diag_outcome(&a);
    diag_outcome(&b);
  }
}

/* docs/architecture.md "The call path" (SMCCC 1.2): registers that are not results are preserved. */
static void test_preservation(void) {
  tap_ok(preservation.clobbered == 0, "x4..x17 are preserved by all %u TRNG calls", preservation.calls);
  if (preservation.clobbered)
    tap_diag("  %u calls clobbered a register; the first: FID 0x%08x, x%u = 0x%016lx", preservation.clobbered,
             preservation.fid, preservation.reg, preservation.value);
}

/* --- Passes and the bulk draw --------------------------------------------------------- */

static void run_pass(enum conduit c, const char* prefix) {
  conduit = c;
  preservation = (struct preservation){0};
  tap_prefix(prefix);

  test_version();
  test_features();
  test_uuid();
  test_rnd32();
  test_rnd64();
  test_consecutive_draws_differ();
  test_preservation();
}

static void put_hex64(char* out, uint64_t v) {
  static const char digits[] = "0123456789abcdef";
  for (int i = 15; i >= 0; --i) {
    out[i] = digits[v & 0xFu];
    v >>= 4;
  }
}

/*
 * BULK_LINES draws of TRNG_RND64(192) over HVC, one line each, written with one console call.
 * Returns 0, or 1 if a draw failed (the lines stop there).
 */
static int bulk_draw(void) {
  static const char head[] = "RNG ";
  char line[sizeof head - 1 + 48 + 2]; /* "RNG ", 3 x 16 digits, '\n', NUL */
  struct smccc_regs r = {{0}};

  for (unsigned i = 0; i < sizeof head - 1; ++i) line[i] = head[i];
  line[sizeof line - 2] = '\n';
  line[sizeof line - 1] = '\0';

  for (unsigned n = 0; n < BULK_LINES; ++n) {
    r.x[0] = TRNG_RND64;
    r.x[1] = BULK_BITS;
    smccc_call(CONDUIT_HVC, &r);
    if (r.x[0] != TRNG_RET_SUCCESS) {
      tap_diag("bulk: TRNG_RND64(N=192) failed at line %u: x0 = %ld; stopped", n + 1, (int64_t)r.x[0]);
      return 1;
    }
    put_hex64(line + 4, r.x[1]);
    put_hex64(line + 20, r.x[2]);
    put_hex64(line + 36, r.x[3]);
    console_puts(line);
  }
  tap_diag("bulk: done");
  return 0;
}

int main(void) {
  tap_diag("trng: TRNG 1.0 over HVC, then SMC; then %u lines of random bits", BULK_LINES);
  run_pass(CONDUIT_HVC, "hvc: ");
  run_pass(CONDUIT_SMC, "smc: ");
  tap_prefix("");
  int failed = tap_done();
  failed += bulk_draw();
  return failed > MAX_EXIT_STATUS ? MAX_EXIT_STATUS : failed;
}
