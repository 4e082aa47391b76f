/* Device tree walking (Devicetree Specification v0.4, 5.2 header, 5.4 structure block). */
#include "guest/fdt.h"

#include <stddef.h>

int memcmp(const void* a, const void* b, size_t n); /* string.c */

static size_t str_len(const char* s) {
  size_t n = 0;
  while (s[n] != '\0') ++n;
  return n;
}

static int str_eq(const char* a, const char* b) {
  while (*a != '\0' && *a == *b) ++a, ++b;
  return *a == *b;
}

#define FDT_MAGIC 0xD00DFEEDu
#define FDT_BEGIN_NODE 1u
#define FDT_END_NODE 2u
#define FDT_PROP 3u
#define FDT_NOP 4u
#define FDT_END 9u

uint32_t gfdt_cell(const void* value, unsigned i) {
  const uint8_t* p = (const uint8_t*)value + 4 * i;
  return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static uint32_t token(const struct gfdt* t, uint32_t off) {
  return off + 4 <= t->structs_size ? gfdt_cell(t->structs + off, 0) : FDT_END;
}

static uint32_t align4(uint32_t v) {
  return (v + 3) & ~3u;
}

int gfdt_init(struct gfdt* t, const void* blob) {
  const uint8_t* b = blob;
  if (gfdt_cell(b, 0) != FDT_MAGIC) return -1;
  t->blob = b;
  t->totalsize = gfdt_cell(b, 1);
  t->version = gfdt_cell(b, 5);
  uint32_t off_struct = gfdt_cell(b, 2), off_strings = gfdt_cell(b, 3);
  t->strings_size = gfdt_cell(b, 8);
  t->structs_size = gfdt_cell(b, 9);
  if (t->version < 16) return -2;
  if (off_struct > t->totalsize || t->structs_size > t->totalsize - off_struct) return -3;
  if (off_strings > t->totalsize || t->strings_size > t->totalsize - off_strings) return -3;
  t->structs = b + off_struct;
  t->strings = (const char*)b + off_strings;
  return token(t, 0) == FDT_BEGIN_NODE ? 0 : -4;
}

int gfdt_root(const struct gfdt* t) {
  (void)t;
  return 0;
}

const char* gfdt_name(const struct gfdt* t, int node) {
  return (const char*)t->structs + node + 4;
}

/* Offset of the first token after a BEGIN_NODE's name. */
static uint32_t after_name(const struct gfdt* t, int node) {
  return align4((uint32_t)node + 4 + (uint32_t)str_len(gfdt_name(t, node)) + 1);
}

/* Offset after a property token. */
static uint32_t after_prop(const struct gfdt* t, uint32_t off) {
  return align4(off + 12 + gfdt_cell(t->structs + off, 1));
}

/* Skips NOPs and properties from `off`; the offset of the next node or END_NODE token. */
static uint32_t skip_props(const struct gfdt* t, uint32_t off) {
  for (;;) {
    uint32_t tok = token(t, off);
    if (tok == FDT_PROP)
      off = after_prop(t, off);
    else if (tok == FDT_NOP)
      off += 4;
    else
      return off;
  }
}

/* The offset just after the END_NODE that closes `node`. */
static uint32_t node_end(const struct gfdt* t, int node) {
  uint32_t off = after_name(t, node);
  for (unsigned depth = 1;;) {
    off = skip_props(t, off);
    uint32_t tok = token(t, off);
    if (tok == FDT_BEGIN_NODE) {
      ++depth;
      off = after_name(t, (int)off);
    } else if (tok == FDT_END_NODE) {
      off += 4;
      if (--depth == 0) return off;
    } else {
      return t->structs_size; /* FDT_END or garbage: stop */
    }
  }
}

int gfdt_first_child(const struct gfdt* t, int node) {
  uint32_t off = skip_props(t, after_name(t, node));
  return token(t, off) == FDT_BEGIN_NODE ? (int)off : -1;
}

int gfdt_next_sibling(const struct gfdt* t, int node) {
  uint32_t off = node_end(t, node);
  while (token(t, off) == FDT_NOP) off += 4;
  return token(t, off) == FDT_BEGIN_NODE ? (int)off : -1;
}

int gfdt_path(const struct gfdt* t, const char* path) {
  int node = gfdt_root(t);
  while (*path == '/') ++path;
  while (*path != '\0' && node >= 0) {
    size_t n = 0;
    while (path[n] != '\0' && path[n] != '/') ++n;
    int child = gfdt_first_child(t, node);
    while (child >= 0) {
      const char* name = gfdt_name(t, child);
      if (str_len(name) == n && memcmp(name, path, n) == 0) break;
      child = gfdt_next_sibling(t, child);
    }
    node = child;
    path += n;
    while (*path == '/') ++path;
  }
  return node;
}

const void* gfdt_prop(const struct gfdt* t, int node, const char* name, uint32_t* len) {
  for (uint32_t off = after_name(t, node);;) {
    uint32_t tok = token(t, off);
    if (tok == FDT_NOP) {
      off += 4;
      continue;
    }
    if (tok != FDT_PROP) return 0;
    uint32_t nameoff = gfdt_cell(t->structs + off, 2);
    if (nameoff < t->strings_size && str_eq(t->strings + nameoff, name)) {
      if (len) *len = gfdt_cell(t->structs + off, 1);
      return t->structs + off + 12;
    }
    off = after_prop(t, off);
  }
}

unsigned gfdt_prop_count(const struct gfdt* t, int node) {
  unsigned n = 0;
  for (uint32_t off = after_name(t, node);;) {
    uint32_t tok = token(t, off);
    if (tok == FDT_NOP)
      off += 4;
    else if (tok == FDT_PROP) {
      ++n;
      off = after_prop(t, off);
    } else
      return n;
  }
}

uint32_t gfdt_u32(const struct gfdt* t, int node, const char* name, uint32_t fallback) {
  uint32_t len = 0;
  const void* v = gfdt_prop(t, node, name, &len);
  return v && len == 4 ? gfdt_cell(v, 0) : fallback;
}

uint64_t gfdt_u64(const struct gfdt* t, int node, const char* name, uint64_t fallback) {
  uint32_t len = 0;
  const void* v = gfdt_prop(t, node, name, &len);
  return v && len == 8 ? ((uint64_t)gfdt_cell(v, 0) << 32) | gfdt_cell(v, 1) : fallback;
}

int gfdt_strings_equal(const struct gfdt* t, int node, const char* name, const char* list, uint32_t len) {
  uint32_t got = 0;
  const void* v = gfdt_prop(t, node, name, &got);
  return v && got == len && memcmp(v, list, len) == 0;
}
