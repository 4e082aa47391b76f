#include "core/guest_ram.h"

#include "core/platform.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>
#include <vector>

namespace emu::core {
namespace {

std::size_t host_page_size() {
  static const std::size_t size = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  return size;
}

bool all_zero(const std::uint8_t* p, std::size_t n) {
  for (std::size_t i = 0; i < n; i += 8) {
    std::uint64_t w;
    std::memcpy(&w, p + i, 8);
    if (w != 0) return false;
  }
  return true;
}

// /proc/self/pagemap (Linux Documentation/admin-guide/mm/pagemap.rst): one u64 per virtual
// page; bit 63 "present in RAM", bit 62 "swapped" (any swap-type entry, migration included).
// A page with neither is not populated: a private anonymous page that reads as zero.
constexpr std::uint64_t kPagemapPresent = 1ull << 63;
constexpr std::uint64_t kPagemapSwapped = 1ull << 62;

class Pagemap {
 public:
  Pagemap() : fd_(::open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC)) {
    if (fd_ >= 0 && !truthful()) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  ~Pagemap() {
    if (fd_ >= 0) ::close(fd_);
  }
  Pagemap(const Pagemap&) = delete;
  Pagemap& operator=(const Pagemap&) = delete;
  bool usable() const { return fd_ >= 0; }

  // The entries of `count` host pages from `addr` (page-aligned); false if they cannot be read.
  bool read(const void* addr, std::uint64_t* entries, std::size_t count) const {
    const auto offset = static_cast<off_t>(reinterpret_cast<std::uintptr_t>(addr) / host_page_size() * 8);
    std::size_t done = 0;
    while (done < count * 8) {
      const ssize_t n =
          ::pread(fd_, reinterpret_cast<char*>(entries) + done, count * 8 - done, offset + static_cast<off_t>(done));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      done += static_cast<std::size_t>(n);
    }
    return true;
  }

 private:
  // Whether pagemap tells a written page from an untouched one (an emulated /proc might answer
  // zeros, or all ones): skipping on a wrong answer would lose guest memory.
  bool truthful() const {
    const std::size_t page = host_page_size();
    void* p = ::mmap(nullptr, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return false;
    auto* bytes = static_cast<volatile std::uint8_t*>(p);
    bytes[0] = 1;  // the first page is populated, the second is not
    std::uint64_t entries[2] = {};
    const bool ok = read(p, entries, 2) && (entries[0] & kPagemapPresent) != 0 &&
                    (entries[1] & (kPagemapPresent | kPagemapSwapped)) == 0;
    ::munmap(p, 2 * page);
    return ok;
  }

  int fd_;
};

}  // namespace

GuestRam::GuestRam(std::uint64_t base, std::uint64_t size) : base_(base), size_(size) {
  void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) throw std::system_error(errno, std::generic_category(), "cannot reserve guest RAM");
  host_ = static_cast<std::uint8_t*>(p);
}

GuestRam::~GuestRam() {
  ::munmap(host_, size_);
}

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

namespace emu::core {

bool GuestRam::zero(std::uint64_t addr, std::uint64_t len) {
  std::uint8_t* const p = at(addr, len);
  if (p == nullptr) return len == 0;
  const std::uintptr_t page = host_page_size();
  const std::uintptr_t begin = reinterpret_cast<std::uintptr_t>(p);
  const std::uintptr_t end = begin + len;
  const std::uintptr_t first = (begin + page - 1) & ~(page - 1);  // whole host pages: [first, last)
  const std::uintptr_t last = end & ~(page - 1);
  if (first >= last) {
    std::memset(p, 0, len);
    return true;
  }
  std::memset(p, 0, first - begin);
  // MADV_DONTNEED on private anonymous memory gives back zero pages without touching them.
  if (::madvise(reinterpret_cast<void*>(first), last - first, MADV_DONTNEED) != 0) {
    std::memset(reinterpret_cast<void*>(first), 0, last - first);
  }
  std::memset(reinterpret_cast<void*>(last), 0, end - last);
  return true;
}

void GuestRam::for_each_nonzero_page(const std::function<void(std::uint64_t offset)>& visit) const {
  // Guest pages [from, to) of RAM, each read.
  const auto scan = [this, &visit](std::uint64_t from, std::uint64_t to) {
    for (std::uint64_t off = from; off < std::min(to, size_); off += kPageSize) {
      if (!all_zero(host_ + off, kPageSize)) visit(off);
    }
  };
  const Pagemap pagemap;
  const std::uint64_t page = host_page_size();
  if (!pagemap.usable() || page % kPageSize != 0) {
    scan(0, size_);
    return;
  }
  const std::uint64_t pages = (size_ + page - 1) / page;
  constexpr std::size_t kChunk = 1u << 16;  // host pages per pagemap read (512 KiB of entries)
  std::vector<std::uint64_t> entries(static_cast<std::size_t>(std::min<std::uint64_t>(kChunk, pages)));
  for (std::uint64_t first = 0; first < pages; first += kChunk) {
    const auto count = static_cast<std::size_t>(std::min<std::uint64_t>(kChunk, pages - first));
    if (!pagemap.read(host_ + first * page, entries.data(), count)) {
      scan(first * page, (first + count) * page);  // unknown: read them all
      continue;
    }
    for (std::size_t i = 0; i < count; ++i) {
      if ((entries[i] & (kPagemapPresent | kPagemapSwapped)) == 0) continue;  // never populated: zero
      scan((first + i) * page, (first + i + 1) * page);
    }
  }
}

}  // namespace emu::core
