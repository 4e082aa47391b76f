// A little-endian byte stream for saving and restoring VM state (issue: save/restore). Pure
// C++ so that the firmware can describe its own state; core adds the file framing.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace emu::fw {

/// A saved state that cannot be read back (truncated, corrupt, inconsistent).
class StateError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class StateWriter {
 public:
  void u8(std::uint8_t v) { bytes_.push_back(v); }
  void u32(std::uint32_t v) { put(v); }
  void u64(std::uint64_t v) { put(v); }
  void boolean(bool v) { u8(v ? 1 : 0); }
  void bytes(std::span<const std::uint8_t> data) {
    u64(data.size());
    bytes_.insert(bytes_.end(), data.begin(), data.end());
  }
  void string(std::string_view s) { bytes({reinterpret_cast<const std::uint8_t*>(s.data()), s.size()}); }
  /// A section tag: readers check it, so a reader out of step fails loudly, not silently.
  void tag(std::uint32_t t) { u32(t); }

  const std::vector<std::uint8_t>& data() const { return bytes_; }

 private:
  template <typename T>
  void put(T v) {
    for (std::size_t i = 0; i < sizeof v; ++i) bytes_.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
  }
  std::vector<std::uint8_t> bytes_;
};

class StateReader {
 public:
  explicit StateReader(std::span<const std::uint8_t> data) : data_(data) {}

  std::uint8_t u8() { return take(1)[0]; }
  std::uint32_t u32() { return get<std::uint32_t>(); }
  std::uint64_t u64() { return get<std::uint64_t>(); }
  bool boolean() {
    const std::uint8_t v = u8();
    if (v > 1) throw StateError("corrupt state: a flag is neither 0 nor 1");
    return v == 1;
  }
  std::span<const std::uint8_t> bytes() {
    const std::uint64_t n = u64();
    if (n > data_.size() - pos_) throw StateError("truncated state");
    return take(static_cast<std::size_t>(n));
  }
  std::string string() {
    const auto b = bytes();
    return {reinterpret_cast<const char*>(b.data()), b.size()};
  }
  void tag(std::uint32_t expected) {
    if (u32() != expected) throw StateError("corrupt state: a section is not where it should be");
  }
  /// A value that must be below `limit` (an index, an enum); StateError otherwise.
  std::uint64_t below(std::uint64_t limit, const char* what) {
    const std::uint64_t v = u64();
    if (v >= limit) throw StateError(std::string("corrupt state: bad ") + what);
    return v;
  }
  bool at_end() const { return pos_ == data_.size(); }

 private:
  std::span<const std::uint8_t> take(std::size_t n) {
    if (n > data_.size() - pos_) throw StateError("truncated state");
    const auto s = data_.subspan(pos_, n);
    pos_ += n;
    return s;
  }
  template <typename T>
  T get() {
    const auto b = take(sizeof(T));
    T v = 0;
    for (std::size_t i = 0; i < sizeof(T); ++i) v |= static_cast<T>(static_cast<T>(b[i]) << (8 * i));
    return v;
  }

  std::span<const std::uint8_t> data_;
  std::size_t pos_ = 0;
};

}  // namespace emu::fw
