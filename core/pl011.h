// The PL011 UART's guest-visible surface, as much as a console needs (Arm PrimeCell UART
// PL011 TRM, DDI 0183): writes to the data register print a byte; the flag register says
// the transmit FIFO is empty and never full, and the receive FIFO is empty; the peripheral and
// PrimeCell identification registers (3.3.14, 3.3.15) read what QEMU's PL011 reads (part 0x011,
// designer Arm, revision 1), which is how an AMBA bus driver (Linux's) recognises the device. Everything else reads as zero and ignores
// writes.
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

  /// UARTPeriphID0..3 at 0xFE0..0xFEC, then UARTPCellID0..3 at 0xFF0..0xFFC.
  static constexpr std::uint64_t kPeriphId0 = 0xFE0;
  static constexpr std::uint8_t kIds[8] = {0x11, 0x10, 0x14, 0x00, 0x0D, 0xF0, 0x05, 0xB1};

  std::uint64_t read(std::uint64_t offset) const {
    if (offset == kFr) return kFrRxfe | kFrTxfe;
    if (offset >= kPeriphId0 && offset < kPeriphId0 + 4 * sizeof kIds && offset % 4 == 0) {
      return kIds[(offset - kPeriphId0) / 4];
    }
    return 0;
  }
  void write(std::uint64_t offset, std::uint64_t value) {
    if (offset == kDr) console_.put(static_cast<char>(value & 0xFF));
  }

 private:
  Console& console_;
};

}  // namespace emu::core
