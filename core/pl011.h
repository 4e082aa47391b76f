// The Arm PrimeCell UART PL011 (TRM DDI 0183, r1p5) as QEMU virt has it at 0x0900_0000 on SPI 1,
// with what Linux's amba-pl011 driver uses: DR, RSR/ECR, FR, ILPR, IBRD, FBRD, LCR_H, CR, IFLS,
// IMSC, RIS, MIS, ICR, DMACR and the identification registers. Plain C++, no engine.
//
// Time is virtual: every access passes the vCPU's virtual time. Transmission is instant (a byte
// written to DR is on the console at once; the TX FIFO is always empty, TXFE=1, BUSY=0), and it
// does not wait for UARTEN/TXE, as in QEMU 7.2: boot code prints before enabling the UART.
//
// Reception takes one character time per byte: a start bit, WLEN data bits, the parity bit and
// one or two stop bits, at the baud rate of the divisor IBRD/FBRD latched by the last LCR_H write
// (§3.3.7) from the 24 MHz UARTCLK; 115200 8N1 while the latched IBRD is 0 (§3.3.5: invalid).
// A character starts only while UARTEN and RXE are set and the FIFO has room for it, as from a
// sender under flow control: the host holds the rest, none is lost and no overrun is reported
// (OE, BE, PE, FE and the modem-status interrupts stay 0). A character on the line when the
// receiver is switched off still completes (§3.3.8, UARTEN). So the virtual times at which a
// guest sees bytes depend only on the bytes and the guest: with a regular file as the input, a
// run is deterministic.
//
// Interrupts (§3.4):
//  * TX (§3.4.3) is raised by each DR write and cleared by ICR, as QEMU 7.2 does: the TRM asserts
//    it when the TX FIFO drops through its trigger level, which an instantly drained FIFO does
//    after every write; it is not raised at reset (a level transition, not a level).
//  * RX (§3.4.2) when the FIFO reaches the IFLS trigger level (FIFO off: one character); cleared
//    by ICR or when reads take the FIFO below the level. (QEMU 7.2 triggers at one character
//    whatever IFLS says; the receive timeout below is what lets Linux see fewer characters.)
//  * RT (§3.4.4) when the FIFO is not empty and no character has arrived for 32 bit periods;
//    cleared by ICR or by emptying the FIFO. It fires once per burst: the next character re-arms.
// The FIFOs are 16 deep, as in QEMU 7.2 (PeriphID2 says revision 1: Linux's and FreeBSD's
// drivers assume 16 for it; r1p5 hardware has 32). The line to the GIC is MIS != 0.
// Not modelled: loopback (CR.LBE), break, IrDA, modem lines, DMA (DMACR is stored only).
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
  static constexpr std::uint32_t kLcrPen = 1u << 1;   ///< parity enable
  static constexpr std::uint32_t kLcrStp2 = 1u << 3;  ///< two stop bits
  static constexpr std::uint32_t kLcrFen = 1u << 4;   ///< FIFOs on (else a 1-character holding register)
  static constexpr unsigned kFifoDepth = 16;
  static constexpr unsigned kTimeoutBits = 32;            ///< the receive timeout, in bit periods (§3.4.4)
  static constexpr std::uint64_t kDefaultBaud = 115'200;  ///< with 8N1, while the latched IBRD is 0

  /// The console takes what the guest transmits; its input (if any) is what the receiver gets.
  explicit Pl011(Console& console) : console_(console) {}

  /// A 32-bit register read at offset `offset` at virtual time `now_ns` (input due by then is
  /// received first). Reserved offsets, ICR and RSR read 0.
  std::uint64_t read(std::uint64_t offset, std::uint64_t now_ns);
  /// A register write at `now_ns`; reserved and read-only offsets ignore it.
  void write(std::uint64_t offset, std::uint64_t value, std::uint64_t now_ns);
  /// Receives the input that is due by `now_ns` and raises the receive timeout when it is due.
  void advance(std::uint64_t now_ns);
  /// When something will happen without a guest access: the arrival of the character on the line
  /// or the receive timeout; none when nothing will (no input taken, receiver off, FIFO full, no
  /// timeout pending). May be before the last `advance` time when it is due already.
  std::optional<std::uint64_t> next_event_ns() const;
  /// Whether the machine should wait for host input: the receiver is on with room in the FIFO
  /// and an RX or RT interrupt unmasked, nothing is on the line, and the host may still send.
  bool wants_input() const;

  /// The interrupt output (UARTINTR): MIS != 0.
  bool irq_line() const { return (ris_ & imsc_) != 0; }

  /// Every register at its reset value and the FIFO empty; a character on the line is not lost:
  /// it goes back to the host side and is sent again once the receiver is on.
  void reset();
  void save(fw::StateWriter& out) const;
  /// Throws fw::StateError for a state no guest could have produced; leaves this UART as it
  /// was then. A replayable input (the same regular file) is read on after the bytes the saved
  /// UART had taken from it; any other input is read from where it is.
  void load(fw::StateReader& in);

  /// One character time in ns at the current line settings (LCR_H and the latched divisor).
  std::uint64_t char_ns() const;
  /// The receive timeout after the last arrival: kTimeoutBits bit periods, in ns.
  std::uint64_t timeout_ns() const { return bits_ns(kTimeoutBits); }

 private:
  std::uint64_t bits_ns(unsigned bits) const;
  /// IBRD 0 is invalid (§3.3.5): until the guest latches a divisor, the line is 115200 8N1.
  bool line_set_up() const { return divisor_ >= 64; }
  bool receiving() const { return (cr_ & (kCrUarten | kCrRxe)) == (kCrUarten | kCrRxe); }
  unsigned depth() const { return (lcr_h_ & kLcrFen) != 0 ? kFifoDepth : 1; }
  unsigned rx_trigger() const;
  bool take_from_host();
  void start_next(std::uint64_t now_ns);
  void receive();
  void check_timeout(std::uint64_t now_ns);
  void update_rx_level();
  void write_lcr_h(std::uint32_t value);
  std::uint32_t pop(std::uint64_t now_ns);

  Console& console_;
  // Registers as the guest wrote them (masked to their fields), at their reset values.
  std::uint32_t ibrd_ = 0;                   // UARTIBRD, 16 bits; 0
  std::uint32_t fbrd_ = 0;                   // UARTFBRD, 6 bits; 0
  std::uint32_t lcr_h_ = 0;                  // UARTLCR_H, 8 bits; 0 (5N1, FIFOs off)
  std::uint32_t cr_ = 0x300;                 // UARTCR: TXE | RXE, UARTEN clear
  std::uint32_t ifls_ = 0x12;                // UARTIFLS: both FIFOs at half full
  std::uint32_t imsc_ = 0;                   // UARTIMSC, 11 bits; all masked
  std::uint32_t ris_ = 0;                    // UARTRIS; none raised
  std::uint32_t dmacr_ = 0;                  // UARTDMACR, 3 bits; 0
  std::uint32_t ilpr_ = 0;                   // UARTILPR, 8 bits; 0
  std::uint32_t divisor_ = 0;                // 64 × IBRD + FBRD as latched by the last LCR_H write; 0
  std::deque<std::uint8_t> fifo_;            // the receive FIFO, oldest first; empty
  std::optional<std::uint8_t> held_;         // taken from the host, not yet in the FIFO; none
  std::optional<std::uint64_t> arrives_ns_;  // held_ is on the line, complete at this time; none
  std::uint64_t last_rx_ns_ = 0;             // when the last character completed; 0
  bool rt_armed_ = false;                    // a character arrived since the last timeout; false
  bool input_ended_ = false;                 // the host said End; false (host state: not saved)
  std::uint64_t taken_ = 0;                  // bytes taken from the host since construction (saved); 0
  std::uint64_t skip_ = 0;                   // after a load: bytes of a replayable input to pass over; 0
};

}  // namespace emu::core
