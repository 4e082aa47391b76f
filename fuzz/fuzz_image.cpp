// libFuzzer target: the image loader (core/image.h) on arbitrary bytes, as ELF64, as a Linux
// arm64 Image, as a raw binary and through load_image() with --format auto (the file path
// the CLI takes, here a memfd). Beyond "no crash, no sanitizer report", every image the loader
// accepts must be one Machine::load can place: segments sorted, non-overlapping, inside RAM,
// clear of every device window, no more file bytes than memory bytes, and a 4-byte-aligned
// entry point inside RAM. Anything refused must be refused with ImageError.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string>

#include "core/image.h"
#include "core/platform.h"

namespace {

using emu::core::Image;
using emu::core::ImageError;
using emu::core::ImageLayout;

[[noreturn]] void violated(const char* what) {
  std::fprintf(stderr, "fuzz_image: invariant violated: %s\n", what);
  std::abort();
}

// The layout Machine::layout() gives a 16 MiB machine: RAM at kRamBase and the device
// windows of core/platform.h (kMemoryMap) that are not RAM.
ImageLayout test_layout() {
  ImageLayout layout{.ram_base = emu::core::kRamBase, .ram_size = 16u << 20, .devices = {}};
  for (const emu::core::Region& r : emu::core::kMemoryMap) {
    if (r.kind != emu::core::RegionKind::Ram) layout.devices.push_back({r.base, r.size, r.name});
  }
  return layout;
}

void check_accepted(const Image& image, const ImageLayout& layout) {
  if (image.segments.empty()) violated("an accepted image has no segment");
  const std::uint64_t ram_end = layout.ram_base + layout.ram_size;
  std::uint64_t previous_end = 0;
  for (const auto& seg : image.segments) {
    if (seg.size == 0) violated("an empty segment");
    if (seg.bytes.size() > seg.size) violated("a segment holds more file bytes than memory bytes");
    if (seg.address < layout.ram_base || seg.address > ram_end || seg.size > ram_end - seg.address) {
      violated("a segment outside RAM");
    }
    if (seg.address < previous_end) violated("segments unsorted or overlapping");
    previous_end = seg.address + seg.size;
    for (const auto& dev : layout.devices) {
      if (seg.address < dev.base + dev.size && dev.base < seg.address + seg.size) violated("a segment over a device");
    }
  }
  if (image.entry < layout.ram_base || image.entry >= ram_end) violated("entry point outside RAM");
  if (image.entry % 4 != 0) violated("entry point not 4-byte aligned");
}

template <typename F>
void try_load(F&& load, const ImageLayout& layout) {
  try {
    check_accepted(load(), layout);
  } catch (const ImageError& e) {
    if (std::string(e.what()).find('\n') != std::string::npos) violated("an ImageError message of several lines");
  }
  // Any other exception escapes and libFuzzer reports it as a crash (the loader promises
  // ImageError only).
}

// The bytes as a file the loader opens by path: a memfd is a regular file, like the CLI's.
void load_through_file(std::span<const std::uint8_t> bytes, const ImageLayout& layout) {
  const int fd = ::memfd_create("fuzz-image", MFD_CLOEXEC);
  if (fd < 0) return;
  if (!bytes.empty() && ::write(fd, bytes.data(), bytes.size()) != static_cast<ssize_t>(bytes.size())) {
    ::close(fd);
    return;
  }
  const std::string path = "/proc/self/fd/" + std::to_string(fd);
  try_load([&] { return emu::core::load_image(path, emu::core::ImageFormat::Auto, layout); }, layout);
  ::close(fd);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const ImageLayout layout = test_layout();
  const std::span<const std::uint8_t> bytes(data, size);
  try_load([&] { return emu::core::image_from_elf_bytes(bytes, "fuzz.elf", layout); }, layout);
  try_load([&] { return emu::core::image_from_linux_bytes(bytes, "fuzz.Image", layout); }, layout);
  try_load([&] { return emu::core::image_from_raw_bytes(bytes, "fuzz.bin", layout, emu::core::kRawImageAddress); },
           layout);
  load_through_file(bytes, layout);
  return 0;
}
