// The PL011 UART's guest-visible surface, as much as a console needs (Arm PrimeCell UART
// PL011 TRM, DDI 0183): writes to the data register print a byte; the flag register says
// the transmit FIFO is empty and never full, and the receive FIFO is empty. Everything else
// reads as zero and ignores writes.
#pragma once

#include <cstdint>

#include "core/console.h"

namespace emu::core {

class Pl011 {
 public:
  static constexpr std::uint64_t kDr = 0x000;      ///< data register
  static constexpr std::uint64_t kFr = 0x018;      ///< flag register
  static constexpr std::uint32_t kFrRxfe = 1u << 4;  ///< receive FIFO empty
  static constexpr std::uint32_t kFrTxfe = 1u << 7;  ///< transmit FIFO empty (TXFF, bit 5, stays 0)

  explicit Pl011(Console& console) : console_(console) {}

  std::uint64_t read(std::uint64_t offset) const { return offset == kFr ? (kFrRxfe | kFrTxfe) : 0; }
  void write(std::uint64_t offset, std::uint64_t value) {
    if (offset == kDr) console_.put(static_cast<char>(value & 0xFF));
  }

 private:
  Console& console_;
};

}  // namespace emu::core
