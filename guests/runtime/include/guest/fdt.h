/*
 * A small read-only walker for flattened device trees (Devicetree Specification v0.4,
 * chapter 5), enough for a guest to find its platform the way a boot loader would. Nodes are
 * handles: the offset of their FDT_BEGIN_NODE token in the structure block; -1 = none.
 */
#ifndef GUEST_FDT_H
#define GUEST_FDT_H
#include <stdint.h>

struct gfdt {
  const uint8_t* blob;
  uint32_t totalsize;
  uint32_t version;
  const uint8_t* structs; /* structure block */
  uint32_t structs_size;
  const char* strings; /* strings block */
  uint32_t strings_size;
};

/* x0 of the boot vCPU at entry: the device tree's physical address (start.S). */
extern uint64_t guest_boot_x0;

/* Checks the header (magic, version >= 16, blocks inside totalsize); 0 if usable, else < 0. */
int gfdt_init(struct gfdt* t, const void* blob);
/* The root node, a node by absolute path ("/cpus/cpu@0"), children and siblings. */
int gfdt_root(const struct gfdt* t);
int gfdt_path(const struct gfdt* t, const char* path);
int gfdt_first_child(const struct gfdt* t, int node);
int gfdt_next_sibling(const struct gfdt* t, int node);
/* The node's name with its unit address ("cpu@0"; "" for the root). */
const char* gfdt_name(const struct gfdt* t, int node);
/* A property's value and length, or 0 if the node has no such property. */
const void* gfdt_prop(const struct gfdt* t, int node, const char* name, uint32_t* len);
/* Number of properties of a node (to check a node has nothing unexpected). */
unsigned gfdt_prop_count(const struct gfdt* t, int node);
/* A property holding one u32 / u64 cell value; `fallback` when absent or of another size. */
uint32_t gfdt_u32(const struct gfdt* t, int node, const char* name, uint32_t fallback);
uint64_t gfdt_u64(const struct gfdt* t, int node, const char* name, uint64_t fallback);
/* True if the string-list property `name` holds exactly `list` ("a\0b\0", with its length). */
int gfdt_strings_equal(const struct gfdt* t, int node, const char* name, const char* list, uint32_t len);
/* Big-endian cell `i` of a property value. */
uint32_t gfdt_cell(const void* value, unsigned i);
#endif
