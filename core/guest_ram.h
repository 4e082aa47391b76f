// Guest RAM: one host allocation that every vCPU engine maps with uc_mem_map_ptr, so the
// firmware, devices and loader read and write it without going through Unicorn.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>

namespace emu::core {

class GuestRam {
 public:
  /// Reserves `size` bytes at guest physical `base` (both page-aligned; checked by the
  /// caller). Memory is zero-filled and committed lazily. Throws std::system_error.
  GuestRam(std::uint64_t base, std::uint64_t size);
  ~GuestRam();
  GuestRam(const GuestRam&) = delete;
  GuestRam& operator=(const GuestRam&) = delete;

  std::uint64_t base() const { return base_; }
  std::uint64_t size() const { return size_; }
  std::uint64_t end() const { return base_ + size_; }
  std::uint8_t* host() const { return host_; }

  /// True if [addr, addr + len) lies inside RAM (no wrap-around).
  bool contains(std::uint64_t addr, std::uint64_t len = 1) const {
    return addr >= base_ && len <= size_ && addr - base_ <= size_ - len;
  }
  /// Host pointer for guest physical `addr`, or nullptr if [addr, addr+len) is not RAM.
  std::uint8_t* at(std::uint64_t addr, std::uint64_t len = 1) const {
    return contains(addr, len) ? host_ + (addr - base_) : nullptr;
  }
  /// Copies `bytes` to `addr`; false (and nothing written) if it does not fit.
  bool write(std::uint64_t addr, std::span<const std::uint8_t> bytes);
  /// Zeroes all of RAM (a cold system reset does).
  void clear();
  /// Makes [addr, addr + len) zero without writing the host pages it covers whole: those are
  /// given back to the host (they read as zero and take no host memory until written); only
  /// the partial pages at its ends are written. An image's zero-fill (.bss, a Linux Image's
  /// image_size) therefore costs nothing however large. False (nothing done) if the range is
  /// not RAM.
  bool zero(std::uint64_t addr, std::uint64_t len);
  /// Calls `visit(offset)`, offsets from base() in ascending order, for each 4 KiB page of RAM
  /// that holds a non-zero byte. Pages the host has never populated (or has been given back)
  /// are skipped without being touched, as /proc/self/pagemap reports them; only populated or
  /// swapped-out pages are read. When pagemap cannot be read, or fails a check on pages of
  /// known state, every page is read instead (the answer is the same, only slower).
  void for_each_nonzero_page(const std::function<void(std::uint64_t offset)>& visit) const;

 private:
  std::uint64_t base_;
  std::uint64_t size_;
  std::uint8_t* host_;
};

}  // namespace emu::core
