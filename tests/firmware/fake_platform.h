// A fake machine for firmware tests: RAM as a byte vector, scripted entropy, a settable clock.
#pragma once

#include <cstring>
#include <vector>

#include "firmware/firmware.h"

namespace emu::test {

struct FakePlatform final : fw::GuestMemory, fw::EntropySource, fw::Clock {
  static constexpr std::uint64_t kRamBase = 0x4000'0000;
  static constexpr std::uint64_t kRamSize = 1 << 20;

  std::vector<std::uint8_t> ram = std::vector<std::uint8_t>(kRamSize, 0xEE);
  std::uint64_t next_word = 0x0123'4567'89AB'CDEF;  // each word handed out is the previous + 1
  bool entropy_fails = false;
  std::vector<std::uint64_t> counters = std::vector<std::uint64_t>(4, 0);
  std::vector<std::uint64_t> stolen = std::vector<std::uint64_t>(4, 0);

  bool write(std::uint64_t address, std::span<const std::uint8_t> bytes) override {
    if (address < kRamBase || address - kRamBase + bytes.size() > kRamSize) return false;
    std::memcpy(ram.data() + (address - kRamBase), bytes.data(), bytes.size());
    return true;
  }
  bool fill(std::span<std::uint64_t> words) override {
    if (entropy_fails) return false;
    for (std::uint64_t& w : words) w = next_word++;
    return true;
  }
  fw::CallUid uuid() const override { return {0x1111'1111, 0x2222'2222, 0x3333'3333, 0x4444'4444}; }
  std::uint64_t counter(unsigned vcpu) override { return counters.at(vcpu); }
  std::uint64_t stolen_ns(unsigned vcpu) override { return stolen.at(vcpu); }

  template <typename T>
  T read(std::uint64_t address) const {
    T v{};
    std::memcpy(&v, ram.data() + (address - kRamBase), sizeof v);
    return v;
  }

  fw::FirmwareConfig config(unsigned vcpus = 1, std::uint64_t epoch_ns = 0) {
    return {.vcpu_count = vcpus,
            .ram_base = kRamBase,
            .ram_size = kRamSize,
            .platform = {.memory = this, .entropy = this, .clock = this},
            .epoch_ns = epoch_ns};
  }
};

}  // namespace emu::test
