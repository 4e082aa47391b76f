#include "core/guest_ram.h"

#include <sys/mman.h>

#include <cerrno>
#include <cstring>
#include <system_error>

namespace emu::core {

GuestRam::GuestRam(std::uint64_t base, std::uint64_t size) : base_(base), size_(size) {
  void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) throw std::system_error(errno, std::generic_category(), "cannot reserve guest RAM");
  host_ = static_cast<std::uint8_t*>(p);
}

GuestRam::~GuestRam() { ::munmap(host_, size_); }

bool GuestRam::write(std::uint64_t addr, std::span<const std::uint8_t> bytes) {
  std::uint8_t* dst = at(addr, bytes.size());
  if (dst == nullptr) return bytes.empty();
  std::memcpy(dst, bytes.data(), bytes.size());
  return true;
}

void GuestRam::clear() {
  // MADV_DONTNEED on private anonymous memory gives back zero pages without touching them.
  if (::madvise(host_, size_, MADV_DONTNEED) != 0) std::memset(host_, 0, size_);
}

}  // namespace emu::core
