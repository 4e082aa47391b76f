// Guest images: ELF64 aarch64 executables (loaded at their physical addresses, entered at
// e_entry), Linux arm64 Images (header at the start, placed as QEMU virt places them) and raw
// binaries (loaded at kRawImageAddress, entered at their first byte).
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

enum class ImageFormat {
  Auto,        ///< ELF or Linux Image, told apart by their magic numbers; anything else is refused
  Elf,         ///< ELF64 aarch64 ET_EXEC
  LinuxImage,  ///< Linux arm64 Image (booting.rst: "ARM\x64" magic at offset 56)
  Raw,         ///< a flat binary loaded and entered at kRawImageAddress
};

/// One piece of guest memory the image defines. `bytes` may be shorter than `size`: the
/// rest is zero (an ELF segment's p_memsz beyond p_filesz).
struct ImageSegment {
  std::uint64_t address = 0;        ///< guest physical address of the first byte; default 0
  std::uint64_t size = 0;           ///< bytes of guest memory the segment covers; default 0
  std::vector<std::uint8_t> bytes;  ///< initial contents, at most `size` bytes; default empty
};

struct Image {
  std::string name;                    ///< file name, for messages; default empty
  std::uint64_t entry = 0;             ///< where the boot vCPU starts; default 0
  std::vector<ImageSegment> segments;  ///< sorted by address, non-overlapping; default none
};

/// Where an image may put things: RAM and the device windows it must stay out of.
struct ImageLayout {
  std::uint64_t ram_base = 0;  ///< first RAM address; default 0
  std::uint64_t ram_size = 0;  ///< RAM bytes; default 0 (nothing fits)
  struct Device {
    std::uint64_t base = 0;  ///< first address of the device window
    std::uint64_t size = 0;  ///< bytes of the window
    const char* name = "";   ///< for messages, e.g. "PL011 UART"
  };
  std::vector<Device> devices;  ///< windows an image may not overlap; default none
};

/// Reads and validates an image file. Auto picks ELF when the file starts with the ELF
/// magic and refuses anything else (a raw binary must be asked for with Raw), so a wrong
/// file is an error rather than garbage executed. Throws ImageError.
Image load_image(const std::filesystem::path& path, ImageFormat format, const ImageLayout& layout);

/// The contents of a regular file of at most `max_size` bytes (an initrd, a DTB), refusing
/// directories, FIFOs, devices, empty and oversized files. Throws ImageError naming `path`.
std::vector<std::uint8_t> read_boot_file(const std::filesystem::path& path, std::uint64_t max_size);

/// Builds an image from bytes already in memory (tests, API users). Throws ImageError.
Image image_from_elf_bytes(std::span<const std::uint8_t> file, std::string name, const ImageLayout& layout);
/// A Linux arm64 Image, placed as QEMU virt places it: text_offset above RAM base, plus 2 MiB
/// when text_offset is below 4 KiB (QEMU's boot stub occupies RAM's first 4 KiB); the segment
/// covers image_size (the kernel's whole footprint), and entry is its first byte.
Image image_from_linux_bytes(std::span<const std::uint8_t> file, std::string name, const ImageLayout& layout);
Image image_from_raw_bytes(std::span<const std::uint8_t> file, std::string name, const ImageLayout& layout,
                           std::uint64_t address);

}  // namespace emu::core
