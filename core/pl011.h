// The Arm PrimeCell UART PL011 (TRM DDI 0183, r1p5) as QEMU virt has it at 0x0900_0000 on SPI 1,
// with what Linux's amba-pl011 driver uses: DR, RSR/ECR, FR, ILPR, IBRD, FBRD, LCR_H, CR, IFLS,
// IMSC, RIS, MIS, ICR, DMACR and the identification registers. Plain C++, no engine.
//
// Time is virtual: every access passes the vCPU's virtual time. Transmission is instant (a byte
// written to DR is on the console at once; the FIFO is always empty). Reception takes one
// character time per byte (start bit, WLEN data bits, parity and stop bits at the baud rate of
// IBRD/FBRD from the 24 MHz UARTCLK; 115200 8N1 while the divisor is 0), only while UARTEN and
// RXE are set and the FIFO has room: bytes the FIFO cannot take wait at the host, none is lost
// and no overrun is reported. So the virtual times at which a guest sees bytes depend only on
// the bytes and the guest — with a regular file as input, a run is deterministic.
//
// Interrupts (§2.8, §3.3.13): TX is raised by each DR write (the FIFO has drained, so it is at
// or below any trigger level) and cleared by ICR, as QEMU 7.2 does; RX while the FIFO holds at
// least the IFLS trigger level (FIFO off: one character); receive timeout (RT) when the FIFO is
// not empty and nothing has arrived for 32 bit periods, cleared by ICR or by emptying the FIFO.
// The FIFOs are 16 deep, as in QEMU 7.2. The line to the GIC is MIS != 0.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>

#include "core/console.h"
#include "firmware/state_io.h"

namespace emu::core {

class Pl011 {
 public:
  static constexpr std::uint64_t kDr = 0x000;
  static constexpr std::uint64_t kRsr = 0x004;  ///< RSR on read, ECR on write
  static constexpr std::uint64_t kFr = 0x018;
  static constexpr std::uint64_t kIlpr = 0x020;
  static constexpr std::uint64_t kIbrd = 0x024;
  static constexpr std::uint64_t kFbrd = 0x028;
  static constexpr std::uint64_t kLcrH = 0x02C;
  static constexpr std::uint64_t kCr = 0x030;
  static constexpr std::uint64_t kIfls = 0x034;
  static constexpr std::uint64_t kImsc = 0x038;
  static constexpr std::uint64_t kRis = 0x03C;
  static constexpr std::uint64_t kMis = 0x040;
  static constexpr std::uint64_t kIcr = 0x044;
  static constexpr std::uint64_t kDmacr = 0x048;
  /// UARTPeriphID0..3 at 0xFE0..0xFEC, then UARTPCellID0..3 at 0xFF0..0xFFC: QEMU's values
  /// (part 0x011, designer Arm, revision 1), which is how Linux's AMBA bus recognises it.
  static constexpr std::uint64_t kPeriphId0 = 0xFE0;
  static constexpr std::uint8_t kIds[8] = {0x11, 0x10, 0x14, 0x00, 0x0D, 0xF0, 0x05, 0xB1};

  static constexpr std::uint32_t kFrBusy = 1u << 3;
  static constexpr std::uint32_t kFrRxfe = 1u << 4;  ///< receive FIFO empty
  static constexpr std::uint32_t kFrTxff = 1u << 5;
  static constexpr std::uint32_t kFrRxff = 1u << 6;
  static constexpr std::uint32_t kFrTxfe = 1u << 7;  ///< transmit FIFO empty
  static constexpr std::uint32_t kIntRx = 1u << 4;   ///< RIS/MIS/IMSC/ICR bits
  static constexpr std::uint32_t kIntTx = 1u << 5;
  static constexpr std::uint32_t kIntRt = 1u << 6;
  static constexpr std::uint32_t kCrUarten = 1u << 0;
  static constexpr std::uint32_t kCrTxe = 1u << 8;
  static constexpr std::uint32_t kCrRxe = 1u << 9;
  static constexpr std::uint32_t kLcrFen = 1u << 4;
  static constexpr unsigned kFifoDepth = 16;

  explicit Pl011(Console& console) : console_(console) {}

  std::uint64_t read(std::uint64_t offset, std::uint64_t now_ns);
  void write(std::uint64_t offset, std::uint64_t value, std::uint64_t now_ns);
  /// Receives the input that is due by `now_ns` and raises the receive timeout when it is due.
  void advance(std::uint64_t now_ns);
  /// When something will happen without a guest access: the next byte's arrival or the receive
  /// timeout; none when nothing will (no input waiting, receiver off, FIFO full).
  std::optional<std::uint64_t> next_event_ns() const;
  /// Whether the machine should wait for host input: the receiver is on, with an RX or RT
  /// interrupt unmasked, and the host may still send something.
  bool wants_input() const;

  /// The interrupt output (UARTINTR): MIS != 0.
  bool irq_line() const { return (ris_ & imsc_) != 0; }

  /// Every register at its reset value and the FIFO empty (the host's pending input is kept).
  void reset();
  void save(fw::StateWriter& out) const;
  void load(fw::StateReader& in);

  /// One character time in ns at the current line settings.
  std::uint64_t char_ns() const;

 private:
  bool receiving() const { return (cr_ & (kCrUarten | kCrRxe)) == (kCrUarten | kCrRxe); }
  unsigned depth() const { return (lcr_h_ & kLcrFen) != 0 ? kFifoDepth : 1; }
  unsigned rx_trigger() const;
  /// Takes the next host byte, if any, and stamps its arrival at the earliest `not_before`.
  void pull(std::uint64_t not_before);
  void update_rx_level();
  std::uint32_t pop(std::uint64_t now_ns);

  Console& console_;
  std::uint32_t ibrd_ = 0, fbrd_ = 0, lcr_h_ = 0, cr_ = 0x300, ifls_ = 0x12, imsc_ = 0, ris_ = 0, dmacr_ = 0, ilpr_ = 0;
  std::deque<std::uint8_t> fifo_;
  std::optional<std::uint8_t> held_;   // the next host byte, arriving at held_at_ns_
  std::uint64_t held_at_ns_ = 0;
  std::uint64_t last_rx_ns_ = 0;       // when the last byte arrived
  bool rt_armed_ = false;              // a byte arrived since the last timeout or ICR
  bool input_ended_ = false;
  std::uint64_t taken_ = 0;            // bytes taken from the host since boot (saved)
  std::uint64_t skip_ = 0;             // after a restore: bytes of a replayable input to pass over
};

}  // namespace emu::core
