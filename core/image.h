// Guest images: ELF64 aarch64 executables (loaded at their physical addresses, entered at
// e_entry) and raw binaries (loaded at kRawImageAddress, entered at their first byte).
// Loading validates everything against the platform before a byte reaches guest RAM.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace emu::core {

/// A bad image: the message is one line, fit to print after "smccc-emu: ".
class ImageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class ImageFormat { Auto, Elf, Raw };

/// One piece of guest memory the image defines. `bytes` may be shorter than `size`: the
/// rest is zero (an ELF segment's p_memsz beyond p_filesz).
struct ImageSegment {
  std::uint64_t address = 0;
  std::uint64_t size = 0;
  std::vector<std::uint8_t> bytes;
};

struct Image {
  std::string name;                   ///< file name, for messages
  std::uint64_t entry = 0;            ///< where the boot vCPU starts
  std::vector<ImageSegment> segments; ///< sorted by address, non-overlapping
};

/// Where an image may put things: RAM and the device windows it must stay out of.
struct ImageLayout {
  std::uint64_t ram_base = 0;
  std::uint64_t ram_size = 0;
  struct Device {
    std::uint64_t base;
    std::uint64_t size;
    const char* name;
  };
  std::vector<Device> devices;
};

/// Reads and validates an image file. Auto picks ELF when the file starts with the ELF
/// magic and refuses anything else (a raw binary must be asked for with Raw), so a wrong
/// file is an error rather than garbage executed. Throws ImageError.
Image load_image(const std::filesystem::path& path, ImageFormat format, const ImageLayout& layout);

/// Builds an image from bytes already in memory (tests, API users). Throws ImageError.
Image image_from_elf_bytes(std::span<const std::uint8_t> file, std::string name, const ImageLayout& layout);
Image image_from_raw_bytes(std::span<const std::uint8_t> file, std::string name, const ImageLayout& layout,
                           std::uint64_t address);

}  // namespace emu::core
