// Image loading and validation. ELF parsing is elfutils' libelf; this file only decides what
// the platform accepts (docs/architecture.md, "The platform").
#include "core/image.h"

#include "core/platform.h"

#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>
#include <algorithm>
#include <cerrno>
#include <cstring>

namespace emu::core {
namespace {

constexpr std::uint8_t kElfMagic[4] = {0x7F, 'E', 'L', 'F'};

bool has_elf_magic(std::span<const std::uint8_t> file) {
  return file.size() >= sizeof kElfMagic && std::memcmp(file.data(), kElfMagic, sizeof kElfMagic) == 0;
}

[[noreturn]] void fail(const std::string& name, const std::string& what) {
  throw ImageError(fmt::format("{}: {}", name, what));
}

std::string range_text(std::uint64_t begin, std::uint64_t size) {
  return fmt::format("[{:#x}, {:#x})", begin, begin + size);
}

// Every byte of [address, address + size) must be RAM and no device window may be touched.
void check_placement(const std::string& name, const std::string& what, std::uint64_t address, std::uint64_t size,
                     const ImageLayout& layout) {
  if (size > UINT64_MAX - address) fail(name, fmt::format("{} at {:#x} wraps around the address space", what, address));
  for (const auto& dev : layout.devices) {
    if (address < dev.base + dev.size && dev.base < address + size) {
      fail(name, fmt::format("{} {} overlaps the {} at {:#x}", what, range_text(address, size), dev.name, dev.base));
    }
  }
  const std::uint64_t ram_end = layout.ram_base + layout.ram_size;
  if (address < layout.ram_base || address + size > ram_end) {
    fail(name, fmt::format("{} {} lies outside RAM {}", what, range_text(address, size),
                           range_text(layout.ram_base, layout.ram_size)));
  }
}

void check_entry(const std::string& name, std::uint64_t entry, const ImageLayout& layout) {
  if (entry < layout.ram_base || entry >= layout.ram_base + layout.ram_size) {
    fail(name, fmt::format("entry point {:#x} is outside RAM {}", entry, range_text(layout.ram_base, layout.ram_size)));
  }
  if (entry % 4 != 0) fail(name, fmt::format("entry point {:#x} is not 4-byte aligned", entry));
}

const char* machine_name(unsigned machine) {
  switch (machine) {
    case EM_X86_64: return "x86-64";
    case EM_386: return "i386";
    case EM_ARM: return "32-bit Arm";
    case EM_RISCV: return "RISC-V";
    default: return "another architecture";
  }
}

// The image file mapped read-only. Every member is released by its own destructor, so the
// errors thrown while opening leak nothing.
class MappedFile {
 public:
  explicit MappedFile(const std::filesystem::path& path) {
    const std::string name = path.string();
    // O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below.
    fd_.reset(::open(name.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
    if (fd_.get() < 0) fail(name, fmt::format("cannot open: {}", std::strerror(errno)));
    struct stat st {};
    if (::fstat(fd_.get(), &st) != 0) fail(name, fmt::format("cannot stat: {}", std::strerror(errno)));
    if (S_ISDIR(st.st_mode)) fail(name, "is a directory, not an image");
    if (!S_ISREG(st.st_mode)) fail(name, "is not a regular file");
    if (st.st_size == 0) fail(name, "is empty");
    const auto size = static_cast<std::size_t>(st.st_size);
    // MAP_PRIVATE + PROT_WRITE: libelf's API takes a non-const buffer; nothing writes the file.
    void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd_.get(), 0);
    if (p == MAP_FAILED) fail(name, fmt::format("cannot map: {}", std::strerror(errno)));
    map_ = Mapping(static_cast<std::uint8_t*>(p), size);
  }
  std::span<const std::uint8_t> bytes() const { return {map_.data, map_.size}; }

 private:
  struct Fd {
    int fd = -1;
    Fd() = default;
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    ~Fd() {
      if (fd >= 0) ::close(fd);
    }
    void reset(int f) { fd = f; }
    int get() const { return fd; }
  };
  struct Mapping {
    std::uint8_t* data = nullptr;
    std::size_t size = 0;
    Mapping() = default;
    Mapping(std::uint8_t* d, std::size_t n) : data(d), size(n) {}
    Mapping(const Mapping&) = delete;
    Mapping& operator=(Mapping&& o) noexcept {
      std::swap(data, o.data);
      std::swap(size, o.size);
      return *this;
    }
    ~Mapping() {
      if (data != nullptr) ::munmap(data, size);
    }
  };
  Fd fd_;
  Mapping map_;
};

class ElfHandle {
 public:
  explicit ElfHandle(std::span<const std::uint8_t> file) {
    if (elf_version(EV_CURRENT) == EV_NONE) throw ImageError("libelf is unusable");
    // libelf only reads the buffer; the cast is its API's, not a write.
    elf_ = elf_memory(const_cast<char*>(reinterpret_cast<const char*>(file.data())), file.size());
  }
  ~ElfHandle() {
    if (elf_ != nullptr) elf_end(elf_);
  }
  ElfHandle(const ElfHandle&) = delete;
  ElfHandle& operator=(const ElfHandle&) = delete;
  Elf* get() const { return elf_; }

 private:
  Elf* elf_ = nullptr;
};

}  // namespace

Image image_from_elf_bytes(std::span<const std::uint8_t> file, std::string name, const ImageLayout& layout) {
  if (!has_elf_magic(file)) fail(name, "is not an ELF file");
  if (file.size() < EI_NIDENT) fail(name, "is truncated (shorter than an ELF identification)");
  if (file[EI_CLASS] != ELFCLASS64) fail(name, "is a 32-bit ELF file; smccc-emu runs ELF64 aarch64 images");
  if (file[EI_DATA] != ELFDATA2LSB) fail(name, "is a big-endian ELF file; smccc-emu runs little-endian aarch64 images");

  ElfHandle elf(file);
  if (elf.get() == nullptr || elf_kind(elf.get()) != ELF_K_ELF) fail(name, "is not a valid ELF file");
  // libelf checks the structure; the values are copied out of the file with memcpy, never read
  // through libelf's pointers, which point into the file (and so may be misaligned: nothing
  // makes e_phoff a multiple of 8).
  if (elf64_getehdr(elf.get()) == nullptr || file.size() < sizeof(Elf64_Ehdr)) {
    fail(name, "is truncated (incomplete ELF header)");
  }
  Elf64_Ehdr header;
  std::memcpy(&header, file.data(), sizeof header);
  const Elf64_Ehdr* eh = &header;
  if (eh->e_machine != EM_AARCH64) {
    fail(name, fmt::format("is an ELF64 image for {} (e_machine {}), not aarch64", machine_name(eh->e_machine),
                           eh->e_machine));
  }
  if (eh->e_type != ET_EXEC) fail(name, "is not an executable ELF (e_type is not ET_EXEC)");

  std::size_t phnum = 0;
  if (elf_getphdrnum(elf.get(), &phnum) != 0) fail(name, "has an unreadable program header count");
  if (phnum != 0 && eh->e_phentsize != sizeof(Elf64_Phdr)) {
    fail(name, fmt::format("has program headers of {} bytes; ELF64 ones are {}", eh->e_phentsize, sizeof(Elf64_Phdr)));
  }
  if (eh->e_phoff > file.size() || phnum * sizeof(Elf64_Phdr) > file.size() - eh->e_phoff) {
    fail(name, "is truncated (program headers run past the end of the file)");
  }
  if (elf64_getphdr(elf.get()) == nullptr) fail(name, "is truncated or malformed (cannot read program headers)");
  // The program header at index i, copied: see above.
  const auto program_header = [&file, eh](std::size_t i) {
    Elf64_Phdr p;
    std::memcpy(&p, file.data() + eh->e_phoff + i * sizeof(Elf64_Phdr), sizeof p);
    return p;
  };

  Image image;
  image.name = name;
  image.entry = eh->e_entry;
  for (std::size_t i = 0; i < phnum; ++i) {
    const Elf64_Phdr p = program_header(i);
    if (p.p_type != PT_LOAD || p.p_memsz == 0) continue;
    const std::string what = fmt::format("segment {}", i);
    if (p.p_filesz > p.p_memsz) fail(name, fmt::format("{} is malformed (file size above memory size)", what));
    if (p.p_offset > file.size() || p.p_filesz > file.size() - p.p_offset) {
      fail(name, fmt::format("is truncated: {} needs file bytes up to {:#x} but the file has {:#x}", what,
                             p.p_offset + p.p_filesz, file.size()));
    }
    check_placement(name, what, p.p_paddr, p.p_memsz, layout);
    ImageSegment seg;
    seg.address = p.p_paddr;
    seg.size = p.p_memsz;
    seg.bytes.assign(file.begin() + static_cast<std::ptrdiff_t>(p.p_offset),
                     file.begin() + static_cast<std::ptrdiff_t>(p.p_offset + p.p_filesz));
    image.segments.push_back(std::move(seg));
  }
  if (image.segments.empty()) fail(name, "has no loadable segment");
  std::sort(image.segments.begin(), image.segments.end(),
            [](const ImageSegment& a, const ImageSegment& b) { return a.address < b.address; });
  for (std::size_t i = 1; i < image.segments.size(); ++i) {
    const ImageSegment& prev = image.segments[i - 1];
    if (image.segments[i].address < prev.address + prev.size) {
      fail(name, fmt::format("loadable segments overlap at {:#x}", image.segments[i].address));
    }
  }
  check_entry(name, image.entry, layout);
  return image;
}

namespace {
// The arm64 Image header (Linux Documentation/arm64/booting.rst section 4), little-endian.
constexpr std::size_t kLinuxHeaderSize = 64;
constexpr std::size_t kLinuxMagicOffset = 56;
constexpr std::uint8_t kLinuxMagic[4] = {'A', 'R', 'M', 0x64};
constexpr std::uint64_t kLinuxFlagBigEndian = 1u << 0;
// Kernels before 3.17 leave image_size 0; their text_offset is then 0x80000 (booting.rst).
constexpr std::uint64_t kLegacyTextOffset = 0x8'0000;
// QEMU keeps a boot stub at the bottom of RAM and so moves an Image whose text_offset would
// land on it (hw/arm/boot.c): below 4 KiB it adds 2 MiB. Same placement here.
constexpr std::uint64_t kBootStubSize = 0x1000;

bool has_linux_magic(std::span<const std::uint8_t> file) {
  return file.size() >= kLinuxHeaderSize &&
         std::memcmp(file.data() + kLinuxMagicOffset, kLinuxMagic, sizeof kLinuxMagic) == 0;
}

std::uint64_t le64(std::span<const std::uint8_t> file, std::size_t offset) {
  std::uint64_t v = 0;
  for (std::size_t i = 8; i-- > 0;) v = (v << 8) | file[offset + i];
  return v;
}
}  // namespace

Image image_from_linux_bytes(std::span<const std::uint8_t> file, std::string name, const ImageLayout& layout) {
  if (!has_linux_magic(file)) fail(name, "is not a Linux arm64 Image (no \"ARM\\x64\" magic at offset 56)");
  const std::uint64_t image_size = le64(file, 16);
  const std::uint64_t text_offset = image_size == 0 ? kLegacyTextOffset : le64(file, 8);
  const std::uint64_t flags = le64(file, 24);
  if (image_size != 0 && (flags & kLinuxFlagBigEndian) != 0) {
    fail(name, "is a big-endian Linux Image; smccc-emu runs little-endian aarch64 guests");
  }
  if (text_offset >= layout.ram_size) fail(name, fmt::format("text_offset {:#x} lies outside RAM", text_offset));
  const std::uint64_t address = layout.ram_base + text_offset + (text_offset < kBootStubSize ? kBootAlign : 0);
  const std::uint64_t size = std::max<std::uint64_t>(image_size, file.size());
  check_placement(name, "Linux Image", address, size, layout);
  Image image;
  image.name = std::move(name);
  image.entry = address;
  image.segments.push_back({address, size, {file.begin(), file.end()}});
  check_entry(image.name, image.entry, layout);
  return image;
}

Image image_from_raw_bytes(std::span<const std::uint8_t> file, std::string name, const ImageLayout& layout,
                           std::uint64_t address) {
  if (file.empty()) fail(name, "is empty");
  if (file.size() > layout.ram_size) {
    fail(name, fmt::format("is {} bytes, larger than RAM ({} bytes)", file.size(), layout.ram_size));
  }
  check_placement(name, "raw image", address, file.size(), layout);
  Image image;
  image.name = std::move(name);
  image.entry = address;
  image.segments.push_back({address, file.size(), {file.begin(), file.end()}});
  check_entry(image.name, image.entry, layout);
  return image;
}

std::vector<std::uint8_t> read_boot_file(const std::filesystem::path& path, std::uint64_t max_size) {
  const MappedFile file(path);
  const auto bytes = file.bytes();
  if (bytes.size() > max_size) {
    fail(path.string(), fmt::format("is {} bytes, more than the {} bytes it may have", bytes.size(), max_size));
  }
  return {bytes.begin(), bytes.end()};
}

Image load_image(const std::filesystem::path& path, ImageFormat format, const ImageLayout& layout) {
  const std::string name = path.string();
  const MappedFile file(path);
  const auto bytes = file.bytes();
  switch (format) {
    case ImageFormat::Elf: return image_from_elf_bytes(bytes, name, layout);
    case ImageFormat::LinuxImage: return image_from_linux_bytes(bytes, name, layout);
    case ImageFormat::Raw: return image_from_raw_bytes(bytes, name, layout, layout.ram_base + kRawImageOffset);
    case ImageFormat::Auto: break;
  }
  if (has_elf_magic(bytes)) return image_from_elf_bytes(bytes, name, layout);
  if (has_linux_magic(bytes)) return image_from_linux_bytes(bytes, name, layout);
  fail(name,
       "is neither an ELF file nor a Linux arm64 Image (to load a raw binary at RAM base + 0x80000, "
       "pass --format=raw)");
}

}  // namespace emu::core
