// Image loading failures that the CLI tests cannot see: resources and special files.
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iterator>
#include <string>
#include <vector>

#include "core/image.h"
#include "core/platform.h"

using namespace emu;

namespace {

core::ImageLayout layout() {
  return {.ram_base = core::kRamBase,
          .ram_size = core::kDefaultRamSize,
          .devices = {{core::kUartBase, core::kUartSize, "PL011 UART"}}};
}

std::size_t open_descriptors() {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) ++n;
  return n;
}

std::string temp_path(const char* stem) {
  return (std::filesystem::temp_directory_path() / (std::string(stem) + std::to_string(::getpid()))).string();
}

}  // namespace

TEST_CASE("Loader: refusing an image leaks no file descriptor") {
  const std::string path = temp_path("smccc-emu-empty-");
  std::fclose(std::fopen(path.c_str(), "w"));
  const std::size_t before = open_descriptors();
  for (int i = 0; i < 50; ++i)
    CHECK_THROWS_AS(core::load_image(path, core::ImageFormat::Auto, layout()), core::ImageError);
  CHECK(open_descriptors() == before);
  std::filesystem::remove(path);
}

TEST_CASE("Loader: a FIFO is refused at once instead of waiting for a writer") {
  const std::string path = temp_path("smccc-emu-fifo-");
  REQUIRE(::mkfifo(path.c_str(), 0600) == 0);
  CHECK_THROWS_WITH_AS(core::load_image(path, core::ImageFormat::Auto, layout()),
                       doctest::Contains("not a regular file"), core::ImageError);
  std::filesystem::remove(path);
}

namespace {
// A Linux arm64 Image header (booting.rst section 4) followed by `body` bytes.
std::vector<std::uint8_t> linux_image(std::uint64_t text_offset, std::uint64_t image_size, std::uint64_t flags,
                                      std::size_t body = 64) {
  std::vector<std::uint8_t> f(64 + body, 0);
  const auto put = [&f](std::size_t at, std::uint64_t v) {
    for (int i = 0; i < 8; ++i) f[at + i] = static_cast<std::uint8_t>(v >> (8 * i));
  };
  put(8, text_offset);
  put(16, image_size);
  put(24, flags);
  f[56] = 'A', f[57] = 'R', f[58] = 'M', f[59] = 0x64;
  return f;
}
}  // namespace

// QEMU 7.2 (-M virt -kernel) runs guests/devicetree's dt-walk.Image, linked at 0x40200000, at
// that address: text_offset 0 lands 2 MiB above RAM base, as here.
TEST_CASE("Linux Image: text_offset 0 is placed at RAM base + 2 MiB and entered at its first byte") {
  const core::Image img = core::image_from_linux_bytes(linux_image(0, 0x10'0000, 0xA), "k", layout());
  REQUIRE(img.segments.size() == 1);
  CHECK(img.segments[0].address == 0x4020'0000u);
  CHECK(img.entry == 0x4020'0000u);
  CHECK(img.segments[0].size == 0x10'0000u);  // image_size: the whole footprint, zero beyond the file
  CHECK(img.segments[0].bytes.size() == 128u);
}

TEST_CASE("Linux Image: text_offset 0x80000 is placed at RAM base + 0x80000 (an old kernel's 2 MiB-aligned base)") {
  const core::Image img = core::image_from_linux_bytes(linux_image(0x8'0000, 0x1000, 0x2), "k", layout());
  CHECK(img.entry == 0x4008'0000u);
}

TEST_CASE("Linux Image: image_size 0 means a pre-3.17 kernel, text_offset 0x80000 whatever the field says") {
  const core::Image img = core::image_from_linux_bytes(linux_image(0x1234, 0, 0), "k", layout());
  CHECK(img.entry == 0x4008'0000u);
  CHECK(img.segments[0].size == 128u);  // the file itself
}

TEST_CASE("Linux Image: big-endian, no magic, or an image_size beyond RAM are refused") {
  CHECK_THROWS_AS(core::image_from_linux_bytes(linux_image(0, 0x1000, 0x1), "k", layout()), core::ImageError);
  std::vector<std::uint8_t> no_magic = linux_image(0, 0x1000, 0);
  no_magic[59] = 0;
  CHECK_THROWS_AS(core::image_from_linux_bytes(no_magic, "k", layout()), core::ImageError);
  CHECK_THROWS_AS(core::image_from_linux_bytes(linux_image(0, core::kDefaultRamSize, 0), "k", layout()),
                  core::ImageError);
}

TEST_CASE("Loader: auto tells a Linux Image from ELF by its magic, a raw file without either is refused") {
  const std::string path = temp_path("smccc-emu-image-");
  const auto write = [&](const std::vector<std::uint8_t>& bytes) {
    std::FILE* f = std::fopen(path.c_str(), "wb");
    std::fwrite(bytes.data(), 1, bytes.size(), f);
    std::fclose(f);
  };
  write(linux_image(0, 0x2000, 0xA));
  CHECK(core::load_image(path, core::ImageFormat::Auto, layout()).entry == 0x4020'0000u);
  std::vector<std::uint8_t> plain(128, 0x11);
  write(plain);
  CHECK_THROWS_AS(core::load_image(path, core::ImageFormat::Auto, layout()), core::ImageError);
  CHECK_THROWS_AS(core::load_image(path, core::ImageFormat::LinuxImage, layout()), core::ImageError);
  CHECK(core::load_image(path, core::ImageFormat::Raw, layout()).entry == core::kRawImageAddress);
  std::filesystem::remove(path);
}

// Issue 14 F3: nothing makes e_phoff a multiple of 8; the loader copies the program headers out
// of the file instead of reading them in place (a misaligned load, which UBSan reports and
// -fno-sanitize-recover turns into an abort in the sanitizer build).
TEST_CASE("Loader: an ELF whose program headers start at an odd offset loads") {
  constexpr std::size_t kEhdr = 64, kPhdr = 56, kPad = 3;
  const std::uint32_t code[] = {0xD503'207Fu};  // wfi
  std::vector<std::uint8_t> f(kEhdr + kPad + kPhdr + sizeof code, 0);
  const auto put = [&f](std::size_t at, std::uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) f[at + i] = static_cast<std::uint8_t>(v >> (8 * i));
  };
  const std::uint8_t ident[] = {0x7F, 'E', 'L', 'F', 2 /* ELFCLASS64 */, 1 /* LSB */, 1 /* EV_CURRENT */};
  std::copy(std::begin(ident), std::end(ident), f.begin());
  put(16, 2, 2);                       // e_type ET_EXEC
  put(18, 183, 2);                     // e_machine EM_AARCH64
  put(20, 1, 4);                       // e_version
  put(24, core::kRawImageAddress, 8);  // e_entry
  put(32, kEhdr + kPad, 8);            // e_phoff: 67
  put(52, kEhdr, 2);                   // e_ehsize
  put(54, kPhdr, 2);                   // e_phentsize
  put(56, 1, 2);                       // e_phnum
  const std::size_t ph = kEhdr + kPad;
  const std::size_t code_at = ph + kPhdr;
  put(ph + 0, 1, 4);                        // p_type PT_LOAD
  put(ph + 4, 5, 4);                        // p_flags R+X
  put(ph + 8, code_at, 8);                  // p_offset
  put(ph + 16, core::kRawImageAddress, 8);  // p_vaddr
  put(ph + 24, core::kRawImageAddress, 8);  // p_paddr
  put(ph + 32, sizeof code, 8);             // p_filesz
  put(ph + 40, 0x10000, 8);                 // p_memsz: 64 KiB, most of it zero-fill
  std::memcpy(f.data() + code_at, code, sizeof code);
  const core::Image image = core::image_from_elf_bytes(f, "odd-phoff.elf", layout());
  REQUIRE(image.segments.size() == 1);
  CHECK(image.segments[0].address == core::kRawImageAddress);
  CHECK(image.segments[0].size == 0x10000);
  CHECK(image.segments[0].bytes.size() == sizeof code);
  CHECK(image.entry == core::kRawImageAddress);
}
