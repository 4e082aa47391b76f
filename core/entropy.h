// TRNG entropy sources (fw::EntropySource). The default is the host kernel's CSPRNG; a seeded
// generator makes runs reproducible and is, plainly, not random.
#pragma once

#include <array>
#include <cstdint>
#include <random>
#include <string>

#include "firmware/platform.h"

namespace emu::core {

/// Host kernel entropy through getrandom(2), read in 4 KiB batches: every bit handed out is
/// consumed, so no bits are ever returned twice.
class HostEntropy final : public fw::EntropySource {
 public:
  bool fill(std::span<std::uint64_t> words) override;
  fw::CallUid uuid() const override;

 private:
  std::array<std::uint64_t, 512> buffer_{};
  std::size_t next_ = buffer_.size();  // all used: refill on first use
};

/// A deterministic generator (std::mt19937_64) seeded by the user: the same seed gives the
/// same "random" bits on every run. For reproducible tests only; it is not a TRNG.
class SeededEntropy final : public fw::EntropySource {
 public:
  explicit SeededEntropy(std::uint64_t seed);
  bool fill(std::span<std::uint64_t> words) override;
  fw::CallUid uuid() const override;
  /// The generator's state as text (for snapshots), and back; set_state throws fw::StateError.
  std::string state() const;
  void set_state(const std::string& state);

 private:
  std::mt19937_64 engine_;
};

}  // namespace emu::core
