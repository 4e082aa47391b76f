// Raw-word guest programs for core tests: place instruction words at byte offsets from the
// raw-image address, run them on a Machine, and look at registers, console and trace.
#pragma once

#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "core/machine.h"
#include "tests/core/a64.h"

namespace emu::test {

inline constexpr std::uint64_t kBase = core::kRawImageAddress;

class Program {
 public:
  /// Places `words` at byte `offset`; gaps are filled with UDF #0 so stray execution faults.
  Program& at(std::size_t offset, const std::vector<std::uint32_t>& words) {
    const std::size_t first = offset / 4;
    if (words_.size() < first + words.size()) words_.resize(first + words.size(), a64::kUdf0);
    std::size_t i = first;
    for (std::uint32_t w : words) words_[i++] = w;
    return *this;
  }
  std::vector<std::uint8_t> bytes() const {
    std::vector<std::uint8_t> out(words_.size() * 4);
    std::memcpy(out.data(), words_.data(), out.size());
    return out;
  }

 private:
  std::vector<std::uint32_t> words_;
};

using Words = std::vector<std::uint32_t>;

/// The four words that put `v` in Xrd (MOVZ then three MOVK).
inline Words imm64(unsigned rd, std::uint64_t v) {
  return {a64::movz(rd, static_cast<std::uint16_t>(v), 0), a64::movk(rd, static_cast<std::uint16_t>(v >> 16), 1),
          a64::movk(rd, static_cast<std::uint16_t>(v >> 32), 2), a64::movk(rd, static_cast<std::uint16_t>(v >> 48), 3)};
}

/// Concatenates word sequences.
inline Words join(std::initializer_list<Words> parts) {
  Words out;
  for (const Words& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

struct TraceLines final : fw::TraceSink {
  std::vector<std::string> lines;
  void line(std::string_view text) override { lines.emplace_back(text); }
};

/// A machine with `program` loaded, console and trace captured.
struct TestMachine {
  explicit TestMachine(const Program& program, core::MachineConfig config = {})
      : machine(std::make_unique<core::Machine>(config)) {
    machine->console().set_writer([this](std::string_view t) { console.append(t); });
    machine->set_trace(&trace);
    machine->load(core::image_from_raw_bytes(program.bytes(), "test", machine->layout(), kBase));
  }
  core::RunExit run() { return machine->run(); }
  std::uint64_t x(unsigned n) const { return machine->reg(0, core::xreg(n)); }
  std::uint64_t reg(core::Reg r) const { return machine->reg(0, r); }

  std::unique_ptr<core::Machine> machine;
  std::string console;
  TraceLines trace;
};

}  // namespace emu::test
