// libFuzzer target: the --dtb reader (core/device_tree.h). A user DTB is checked with
// device_tree_problem(); one it accepts gets /chosen updated by update_chosen() with the
// bootargs and initrd range of --append and --initrd, as Machine::load does. Invariants: the
// check never throws and answers one line; a tree it accepts can always be updated (a
// DeviceTreeError there would reach the user as an internal error, status 70, for a file that
// was declared usable), and the updated tree passes the check again and holds exactly the
// bootargs and the initrd range given (Devicetree Specification v0.4 §3.5; Linux
// Documentation/devicetree/bindings/chosen.txt: linux,initrd-start/-end).
#include <libfdt.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <fuzzer/FuzzedDataProvider.h>

#include "core/device_tree.h"

namespace {

[[noreturn]] void violated(const char* what) {
  std::fprintf(stderr, "fuzz_device_tree: invariant violated: %s\n", what);
  std::abort();
}

std::uint64_t be64(const void* p) {
  std::uint8_t b[8];
  std::memcpy(b, p, 8);
  std::uint64_t v = 0;
  for (const std::uint8_t byte : b) v = (v << 8) | byte;
  return v;
}

void check_chosen(std::span<const std::uint8_t> dtb, const std::string& bootargs,
                  const std::optional<emu::core::AddressRange>& initrd) {
  if (!emu::core::device_tree_problem(dtb).empty()) violated("the updated tree does not pass the check");
  const void* fdt = dtb.data();
  const int chosen = fdt_path_offset(fdt, "/chosen");
  if (chosen < 0) violated("the updated tree has no /chosen");
  int len = 0;
  if (!bootargs.empty()) {
    const void* p = fdt_getprop(fdt, chosen, "bootargs", &len);
    if (p == nullptr || static_cast<std::size_t>(len) != bootargs.size() + 1 ||
        std::memcmp(p, bootargs.c_str(), bootargs.size() + 1) != 0) {
      violated("/chosen/bootargs is not the bootargs given");
    }
  }
  if (initrd) {
    const void* start = fdt_getprop(fdt, chosen, "linux,initrd-start", &len);
    if (start == nullptr || len != 8 || be64(start) != initrd->base) violated("linux,initrd-start is wrong");
    const void* end = fdt_getprop(fdt, chosen, "linux,initrd-end", &len);
    if (end == nullptr || len != 8 || be64(end) != initrd->base + initrd->size) violated("linux,initrd-end is wrong");
  }
}

}  // namespace

// Input (FuzzedDataProvider takes integers from the end, bytes from the front): the last byte
// holds flags; with bit 0 the 16 bytes before it are the initrd's base and size; with bit 1
// the byte before those is the length of the bootargs at the front. The rest is the DTB, so a
// DTB followed by one zero byte is a plain --dtb file.
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  const std::uint8_t flags = in.ConsumeIntegral<std::uint8_t>();
  std::optional<emu::core::AddressRange> initrd;
  if ((flags & 1) != 0) {
    const std::uint64_t base = in.ConsumeIntegral<std::uint64_t>() & 0x0000'FFFF'FFFF'F000ull;
    const std::uint64_t length = in.ConsumeIntegral<std::uint64_t>() & 0xFFFF'FFFFull;
    initrd = emu::core::AddressRange{base, length};
  }
  std::string bootargs;
  if ((flags & 2) != 0) {
    bootargs = in.ConsumeBytesAsString(in.ConsumeIntegral<std::uint8_t>());
    bootargs.erase(std::remove(bootargs.begin(), bootargs.end(), '\0'), bootargs.end());  // argv has no NUL
  }
  const std::vector<std::uint8_t> dtb = in.ConsumeRemainingBytes<std::uint8_t>();

  const std::string problem = emu::core::device_tree_problem(dtb);
  if (problem.find('\n') != std::string::npos) violated("a message of several lines");
  if (!problem.empty()) return 0;
  std::vector<std::uint8_t> updated;
  try {
    updated = emu::core::update_chosen(dtb, bootargs, initrd);
  } catch (const emu::core::DeviceTreeError& e) {
    std::fprintf(stderr, "fuzz_device_tree: %s\n", e.what());
    violated("update_chosen failed on a tree device_tree_problem accepted");
  }
  check_chosen(updated, bootargs, initrd);
  return 0;
}
