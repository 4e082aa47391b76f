/* PL011 console output and a small printf (docs/architecture.md "The platform"). */
#include "guest/console.h"

#include <stdbool.h>
#include <stdint.h>

static volatile uint32_t* pl011_reg(uint32_t offset) {
  return (volatile uint32_t*)(PL011_BASE + offset);
}

void console_putc(char c) {
  while (*pl011_reg(PL011_FR) & PL011_FR_TXFF) {
  }
  *pl011_reg(PL011_DR) = (uint8_t)c;
}

void console_puts(const char* s) {
  while (*s) console_putc(*s++);
}

/* A parsed conversion: flags, width, length and the conversion character. */
struct conversion {
  bool left; /* '-' */
  bool zero; /* '0' */
  unsigned width;
  unsigned longs; /* number of 'l' (z counts as one) */
  char kind;
};

static void put_repeated(char c, unsigned n) {
  while (n--) console_putc(c);
}

/* Writes text (len bytes) padded to the field width; zero padding goes after the sign. */
static void put_field(const struct conversion* cv, const char* sign, const char* text, unsigned len) {
  unsigned sign_len = sign[0] ? 1u : 0u;
  unsigned pad = cv->width > len + sign_len ? cv->width - len - sign_len : 0u;

  if (!cv->left && !cv->zero) put_repeated(' ', pad);
  console_puts(sign);
  if (!cv->left && cv->zero) put_repeated('0', pad);
  for (unsigned i = 0; i < len; ++i) console_putc(text[i]);
  if (cv->left) put_repeated(' ', pad);
}

static void put_unsigned(const struct conversion* cv, const char* sign, uint64_t value, unsigned base, bool upper) {
  const char* digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  char buf[24];
  unsigned pos = sizeof buf;

  do {
    buf[--pos] = digits[value % base];
    value /= base;
  } while (value);
  put_field(cv, sign, buf + pos, (unsigned)(sizeof buf - pos));
}

static uint64_t fetch_unsigned(const struct conversion* cv, va_list* ap) {
  if (cv->longs >= 2) return va_arg(*ap, unsigned long long);
  if (cv->longs == 1) return va_arg(*ap, unsigned long);
  return va_arg(*ap, unsigned int);
}

static int64_t fetch_signed(const struct conversion* cv, va_list* ap) {
  if (cv->longs >= 2) return va_arg(*ap, long long);
  if (cv->longs == 1) return va_arg(*ap, long);
  return va_arg(*ap, int);
}

/* Parses the conversion after '%'; returns a pointer to its last character. */
static const char* parse_conversion(const char* p, struct conversion* cv) {
  *cv = (struct conversion){0};
  for (;; ++p) {
    if (*p == '-')
      cv->left = true;
    else if (*p == '0')
      cv->zero = true;
    else
      break;
  }
  while (*p >= '0' && *p <= '9') cv->width = cv->width * 10u + (unsigned)(*p++ - '0');
  for (; *p == 'l' || *p == 'z'; ++p) ++cv->longs; /* size_t is unsigned long: 'z' counts as one 'l' */
  cv->kind = *p;
  return p;
}

static void put_conversion(const struct conversion* cv, va_list* ap) {
  switch (cv->kind) {
    case 'd':
    case 'i': {
      int64_t v = fetch_signed(cv, ap);
      uint64_t magnitude = v < 0 ? 0u - (uint64_t)v : (uint64_t)v;
      put_unsigned(cv, v < 0 ? "-" : "", magnitude, 10, false);
      break;
    }
    case 'u': put_unsigned(cv, "", fetch_unsigned(cv, ap), 10, false); break;
    case 'x':
    case 'X': put_unsigned(cv, "", fetch_unsigned(cv, ap), 16, cv->kind == 'X'); break;
    case 'p': {
      const struct conversion hex = {.zero = true, .width = 16};
      console_puts("0x");
      put_unsigned(&hex, "", (uintptr_t)va_arg(*ap, void*), 16, false);
      break;
    }
    case 'c': {
      char c = (char)va_arg(*ap, int);
      put_field(cv, "", &c, 1);
      break;
    }
    case 's': {
      const char* s = va_arg(*ap, const char*);
      unsigned len = 0;
      if (!s) s = "(null)";
      while (s[len]) ++len;
      put_field(cv, "", s, len);
      break;
    }
    case '%': console_putc('%'); break;
    default: /* unknown conversion: show it verbatim */
      console_putc('%');
      console_putc(cv->kind);
      break;
  }
}

void gvprintf(const char* fmt, va_list ap) {
  va_list args;
  va_copy(args, ap);
  for (const char* p = fmt; *p; ++p) {
    if (*p != '%') {
      console_putc(*p);
      continue;
    }
    struct conversion cv;
    p = parse_conversion(p + 1, &cv);
    if (!cv.kind) break; /* format ends inside a conversion */
    put_conversion(&cv, &args);
  }
  va_end(args);
}

void gprintf(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  gvprintf(fmt, ap);
  va_end(ap);
}
