// The PL011 model against its TRM (Arm DDI 0183, r1p5) and QEMU 7.2's choices, without an
// engine: registers by offset, virtual time passed in, input from a scripted source.
#include <doctest/doctest.h>

#include <string>
#include <utility>

#include "core/pl011.h"

namespace emu::core {
namespace {

// A host input: the bytes, then Later (a terminal with nothing typed) or End (a file's end).
// More bytes can be appended, as if the user typed them.
struct Script final : ConsoleInput {
  std::string bytes;
  std::size_t next = 0;
  bool more_later = false;
  bool replay = false;  // the same bytes again each time (as a regular file is)
  bool replayable() const override { return replay; }
  Read read(std::uint8_t& b) override {
    if (next < bytes.size()) {
      b = static_cast<std::uint8_t>(bytes[next++]);
      return Read::Byte;
    }
    return more_later ? Read::Later : Read::End;
  }
  void wait(int) override {}
};

// 115200 8N1 with Linux's divisor at 24 MHz: 64 × 13 + 1 = 833, one bit = 833 / (4 × 24 MHz).
constexpr std::uint64_t linux_ns(std::uint64_t bits) {
  return bits * 833 * 1'000'000'000 / (4 * 24'000'000ull);
}
constexpr std::uint64_t kLinuxChar = linux_ns(10);     // 86 770 ns
constexpr std::uint64_t kLinuxTimeout = linux_ns(32);  // 277 666 ns

struct Uart {
  explicit Uart(std::string input = {}, bool later = false) {
    auto s = std::make_unique<Script>();
    s->bytes = std::move(input);
    s->more_later = later;
    script = s.get();
    console.set_writer([this](std::string_view t) { out.append(t); });
    console.set_input(std::move(s));
  }
  // What Linux's pl011_startup and set_termios leave at 115200 8N1: IBRD 13, FBRD 1, then LCR_H
  // (which latches them) with the FIFOs on, RX and RT unmasked, the UART on with TX and RX.
  void linux_setup(std::uint64_t now = 0, std::uint32_t imsc = Pl011::kIntRx | Pl011::kIntRt) {
    uart.write(Pl011::kIbrd, 13, now);
    uart.write(Pl011::kFbrd, 1, now);
    uart.write(Pl011::kLcrH, 0x70, now);  // WLEN 8, FEN
    uart.write(Pl011::kImsc, imsc, now);
    uart.write(Pl011::kCr, 0x301, now);
  }
  std::uint64_t reg(std::uint64_t offset, std::uint64_t now = 0) { return uart.read(offset, now); }
  bool rx_empty(std::uint64_t now) { return (reg(Pl011::kFr, now) & Pl011::kFrRxfe) != 0; }
  Console console;
  Script* script = nullptr;
  std::string out;
  Pl011 uart{console};
};

std::string alphabet(unsigned n) {
  std::string s;
  for (unsigned i = 0; i < n; ++i) s.push_back(static_cast<char>('a' + i % 26));
  return s;
}
}  // namespace

// ---- registers ----

TEST_CASE("PL011 reset values (TRM 3.3): CR TXE|RXE, IFLS half full, FR TXFE|RXFE, the rest 0, QEMU's IDs") {
  Uart u;
  CHECK(u.reg(Pl011::kCr) == 0x300);
  CHECK(u.reg(Pl011::kIfls) == 0x12);
  CHECK(u.reg(Pl011::kFr) == (Pl011::kFrTxfe | Pl011::kFrRxfe));
  for (const std::uint64_t r : {Pl011::kDr, Pl011::kRsr, Pl011::kIlpr, Pl011::kIbrd, Pl011::kFbrd, Pl011::kLcrH,
                                Pl011::kImsc, Pl011::kRis, Pl011::kMis, Pl011::kIcr, Pl011::kDmacr}) {
    CAPTURE(r);
    CHECK(u.reg(r) == 0);
  }
  const std::uint8_t ids[8] = {0x11, 0x10, 0x14, 0x00, 0x0D, 0xF0, 0x05, 0xB1};
  for (unsigned i = 0; i < 8; ++i) CHECK(u.reg(0xFE0 + 4 * i) == ids[i]);
  CHECK_FALSE(u.uart.irq_line());
  CHECK_FALSE(u.uart.next_event_ns().has_value());
}

TEST_CASE("PL011 registers keep their fields only, read-only registers ignore writes, reserved offsets are RAZ/WI") {
  Uart u;
  const std::pair<std::uint64_t, std::uint64_t> fields[] = {
      {Pl011::kIlpr, 0xFF}, {Pl011::kIbrd, 0xFFFF}, {Pl011::kFbrd, 0x3F},  {Pl011::kLcrH, 0xFF},
      {Pl011::kCr, 0xFF87}, {Pl011::kIfls, 0x3F},   {Pl011::kImsc, 0x7FF}, {Pl011::kDmacr, 0x7}};
  for (const auto& field : fields) {
    const std::uint64_t r = field.first;  // not a structured binding: clang < 16 cannot CAPTURE one
    const std::uint64_t mask = field.second;
    CAPTURE(r);
    u.uart.write(r, 0xFFFF'FFFF, 0);
    CHECK(u.reg(r) == mask);
  }
  u.uart.write(Pl011::kImsc, 0, 0);
  for (const std::uint64_t r : {Pl011::kFr, Pl011::kRis, Pl011::kMis}) u.uart.write(r, 0xFFFF'FFFF, 0);
  CHECK(u.reg(Pl011::kRis) == 0);
  CHECK((u.reg(Pl011::kFr) & Pl011::kFrTxfe) != 0);
  for (const std::uint64_t r : {0x008ull, 0x01Cull, 0x04Cull, 0x800ull, 0xFDCull, 0xFE2ull}) {
    CAPTURE(r);
    u.uart.write(r, 0xFFFF'FFFF, 0);
    CHECK(u.reg(r) == 0);
  }
  for (unsigned i = 0; i < 8; ++i) u.uart.write(0xFE0 + 4 * i, 0, 0);
  CHECK(u.reg(0xFE0) == 0x11);
  CHECK(u.reg(0xFFC) == 0xB1);
}

TEST_CASE("PL011 ECR writes are ignored and RSR and the DR error bits read 0 (no receive errors)") {
  Uart u("z");
  u.linux_setup();
  u.uart.write(Pl011::kRsr, 0xF, 0);
  CHECK(u.reg(Pl011::kRsr, kLinuxChar) == 0);
  CHECK(u.reg(Pl011::kDr, kLinuxChar) == 'z');  // bits [11:8] clear
}

// ---- transmission and the interrupt registers ----

TEST_CASE("PL011 a DR write prints the byte at once, also with UARTEN clear, and raises TX as QEMU 7.2 does") {
  Uart u;
  CHECK((u.reg(Pl011::kRis) & Pl011::kIntTx) == 0);  // not raised at reset: it is a transition
  u.uart.write(Pl011::kDr, 'A', 0);
  u.uart.write(Pl011::kDr, 0x142, 0);  // only [7:0] is data
  CHECK(u.out == "AB");
  CHECK(u.reg(Pl011::kFr) == (Pl011::kFrTxfe | Pl011::kFrRxfe));  // TX empty, not full, not busy
  CHECK(u.reg(Pl011::kRis) == Pl011::kIntTx);
  CHECK_FALSE(u.uart.irq_line());  // masked
  u.uart.write(Pl011::kImsc, Pl011::kIntTx, 0);
  CHECK(u.uart.irq_line());
  u.uart.write(Pl011::kIcr, Pl011::kIntTx, 0);
  CHECK(u.reg(Pl011::kRis) == 0);
  CHECK_FALSE(u.uart.irq_line());
  u.uart.write(Pl011::kDr, 'C', 0);  // each write raises it again
  CHECK(u.uart.irq_line());
}

TEST_CASE("PL011 MIS is RIS AND IMSC for every combination, and the line is MIS != 0") {
  Uart u(alphabet(8));
  u.linux_setup(0, 0);
  u.uart.write(Pl011::kDr, '!', 0);
  u.uart.advance(8 * kLinuxChar);  // 8 of 16: RX at half full
  const std::uint32_t ris = Pl011::kIntTx | Pl011::kIntRx;
  REQUIRE(u.reg(Pl011::kRis, 8 * kLinuxChar) == ris);
  for (std::uint32_t imsc = 0; imsc < 0x800; ++imsc) {
    CAPTURE(imsc);
    u.uart.write(Pl011::kImsc, imsc, 8 * kLinuxChar);
    CHECK(u.reg(Pl011::kMis, 8 * kLinuxChar) == (ris & imsc));
    CHECK(u.uart.irq_line() == ((ris & imsc) != 0));
  }
}

TEST_CASE("PL011 ICR clears the RIS bits written as 1 and leaves the others") {
  Uart u(alphabet(8));
  u.linux_setup(0, 0x7FF);
  u.uart.write(Pl011::kDr, '!', 0);
  u.uart.advance(8 * kLinuxChar);
  REQUIRE(u.reg(Pl011::kRis, 8 * kLinuxChar) == (Pl011::kIntTx | Pl011::kIntRx));
  u.uart.write(Pl011::kIcr, Pl011::kIntTx, 8 * kLinuxChar);
  CHECK(u.reg(Pl011::kRis, 8 * kLinuxChar) == Pl011::kIntRx);
  u.uart.write(Pl011::kIcr, 0x7FF & ~Pl011::kIntRx, 8 * kLinuxChar);
  CHECK(u.reg(Pl011::kRis, 8 * kLinuxChar) == Pl011::kIntRx);
  u.uart.write(Pl011::kIcr, Pl011::kIntRx, 8 * kLinuxChar);
  CHECK(u.reg(Pl011::kRis, 8 * kLinuxChar) == 0);
  CHECK_FALSE(u.uart.irq_line());
}

// ---- the character time ----

TEST_CASE("PL011 character time from IBRD and FBRD at UARTCLK 24 MHz: Linux's 13 and 1 give 115 246 baud") {
  Uart u;
  u.linux_setup();
  CHECK(u.uart.char_ns() == 86'770);  // 10 bits × 833 / 96 MHz
  CHECK(u.uart.timeout_ns() == 277'666);
  CHECK(4 * 24'000'000 / 833 == 115'246);
  u.uart.write(Pl011::kLcrH, 0x70 | Pl011::kLcrPen | Pl011::kLcrStp2, 0);  // 8 data, parity, 2 stop: 12 bits
  CHECK(u.uart.char_ns() == linux_ns(12));
  u.uart.write(Pl011::kLcrH, 0x00, 0);  // 5 data bits, no parity, 1 stop: 7 bits
  CHECK(u.uart.char_ns() == linux_ns(7));
  u.uart.write(Pl011::kLcrH, 0x40, 0);  // 7 data bits
  CHECK(u.uart.char_ns() == linux_ns(9));
  CHECK(u.uart.timeout_ns() == kLinuxTimeout);  // bit periods do not depend on the frame
}

TEST_CASE("PL011 with the divisor 0 the line is 115200 8N1") {
  Uart u;
  CHECK(u.uart.char_ns() == 10ull * 1'000'000'000 / 115'200);
  CHECK(u.uart.timeout_ns() == 32ull * 1'000'000'000 / 115'200);
  u.uart.write(Pl011::kFbrd, 5, 0);  // IBRD 0 is invalid whatever FBRD says
  u.uart.write(Pl011::kLcrH, 0x00, 0);
  CHECK(u.uart.char_ns() == 86'805);
}

TEST_CASE("PL011 IBRD and FBRD take effect at the next LCR_H write, which latches all three (TRM 3.3.7)") {
  Uart u;
  u.linux_setup();
  u.uart.write(Pl011::kIbrd, 26, 0);  // 57600 baud once latched
  CHECK(u.uart.char_ns() == kLinuxChar);
  CHECK(u.reg(Pl011::kIbrd) == 26);  // reads back what was written
  u.uart.write(Pl011::kLcrH, 0x70, 0);
  CHECK(u.uart.char_ns() == 10ull * (26 * 64 + 1) * 1'000'000'000 / (4 * 24'000'000ull));
}

// ---- reception in virtual time ----

TEST_CASE("PL011 input arrives one character time apart from when UARTEN and RXE are both set") {
  Uart u("ab");
  u.uart.write(Pl011::kCr, 0x301 & ~Pl011::kCrRxe, 0);  // UARTEN without RXE
  u.uart.advance(1'000'000);
  CHECK(u.rx_empty(1'000'000));
  CHECK_FALSE(u.uart.next_event_ns().has_value());
  u.uart.write(Pl011::kCr, Pl011::kCrRxe, 1'000'000);  // RXE without UARTEN
  u.uart.advance(2'000'000);
  CHECK(u.rx_empty(2'000'000));
  const std::uint64_t t = 3'000'000;
  u.linux_setup(t);
  CHECK(u.uart.next_event_ns() == t + kLinuxChar);
  CHECK(u.rx_empty(t + kLinuxChar - 1));
  CHECK_FALSE(u.rx_empty(t + kLinuxChar));
  CHECK(u.reg(Pl011::kDr, t + kLinuxChar) == 'a');
  CHECK(u.uart.next_event_ns() == t + 2 * kLinuxChar);  // back to back: started as 'a' ended
  CHECK(u.reg(Pl011::kDr, t + 5 * kLinuxChar) == 'b');
  CHECK(u.rx_empty(t + 5 * kLinuxChar));
  CHECK(u.reg(Pl011::kDr, t + 5 * kLinuxChar) == 0);  // empty: reads 0
}

TEST_CASE("PL011 FR flags with data: RXFE clear with one byte, RXFF at 16, TXFE set and TXFF and BUSY clear") {
  Uart u(alphabet(16));
  u.linux_setup();
  CHECK(u.reg(Pl011::kFr, 0) == (Pl011::kFrTxfe | Pl011::kFrRxfe));
  CHECK(u.reg(Pl011::kFr, kLinuxChar) == Pl011::kFrTxfe);
  CHECK(u.reg(Pl011::kFr, 15 * kLinuxChar) == Pl011::kFrTxfe);
  CHECK(u.reg(Pl011::kFr, 16 * kLinuxChar) == (Pl011::kFrTxfe | Pl011::kFrRxff));
  u.reg(Pl011::kDr, 16 * kLinuxChar);
  CHECK(u.reg(Pl011::kFr, 16 * kLinuxChar) == Pl011::kFrTxfe);
}

TEST_CASE("PL011 RX rises when the FIFO reaches the IFLS trigger level and falls below it") {
  const unsigned levels[8] = {2, 4, 8, 12, 14, 8, 8, 8};  // 1/8 .. 7/8 of 16; reserved values as 1/2
  for (std::uint32_t sel = 0; sel < 8; ++sel) {
    CAPTURE(sel);
    Uart u(alphabet(16));
    u.uart.write(Pl011::kIfls, (sel << 3) | 0x2, 0);
    u.linux_setup();
    const unsigned level = levels[sel];
    CHECK((u.reg(Pl011::kRis, (level - 1) * kLinuxChar) & Pl011::kIntRx) == 0);
    CHECK((u.reg(Pl011::kRis, level * kLinuxChar) & Pl011::kIntRx) != 0);
    CHECK(u.uart.irq_line());
    // Reading one takes it below the level (the next byte is one character time away).
    u.reg(Pl011::kDr, level * kLinuxChar);
    CHECK((u.reg(Pl011::kRis, level * kLinuxChar) & Pl011::kIntRx) == 0);
  }
}

TEST_CASE("PL011 the receive timeout is raised exactly 32 bit periods after the last character") {
  Uart u("0123");
  u.linux_setup();
  const std::uint64_t last = 4 * kLinuxChar;  // 4 of 16: below the RX level
  u.uart.advance(last);
  CHECK(u.reg(Pl011::kRis, last) == 0);
  CHECK(u.uart.next_event_ns() == last + kLinuxTimeout);
  CHECK(u.reg(Pl011::kRis, last + kLinuxTimeout - 1) == 0);
  CHECK(u.reg(Pl011::kRis, last + kLinuxTimeout) == Pl011::kIntRt);
  CHECK(u.uart.irq_line());
  CHECK_FALSE(u.uart.next_event_ns().has_value());  // once per burst
  u.uart.write(Pl011::kIcr, Pl011::kIntRt, last + kLinuxTimeout);
  CHECK(u.reg(Pl011::kRis, last + 10 * kLinuxTimeout) == 0);  // no new character: not again
  CHECK(u.reg(Pl011::kDr, last + 10 * kLinuxTimeout) == '0');
}

TEST_CASE("PL011 reading the FIFO empty clears the receive timeout, and the next character re-arms it") {
  Uart u("ab", true);
  u.linux_setup();
  const std::uint64_t rt = 2 * kLinuxChar + kLinuxTimeout;
  CHECK(u.reg(Pl011::kRis, rt) == Pl011::kIntRt);
  u.reg(Pl011::kDr, rt);
  CHECK(u.reg(Pl011::kRis, rt) == Pl011::kIntRt);  // one left
  u.reg(Pl011::kDr, rt);
  CHECK(u.reg(Pl011::kRis, rt) == 0);
  u.script->bytes += "c";  // typed later
  const std::uint64_t typed = rt + 1'000'000;
  u.uart.advance(typed);
  CHECK(u.uart.next_event_ns() == typed + kLinuxChar);
  CHECK(u.reg(Pl011::kRis, typed + kLinuxChar + kLinuxTimeout - 1) == 0);
  CHECK(u.reg(Pl011::kRis, typed + kLinuxChar + kLinuxTimeout) == Pl011::kIntRt);
}

TEST_CASE("PL011 a receive timeout due before a later arrival is raised at its own time") {
  Uart u(alphabet(17));
  u.linux_setup(0, 0);
  const std::uint64_t full = 16 * kLinuxChar;
  u.uart.advance(full);
  REQUIRE((u.reg(Pl011::kFr, full) & Pl011::kFrRxff) != 0);
  // Room at full + 2.5 characters: the 17th arrives a character later, after the timeout (3.2).
  const std::uint64_t read_at = full + 5 * kLinuxChar / 2;
  CHECK(u.reg(Pl011::kDr, read_at) == 'a');
  CHECK(u.uart.next_event_ns() == full + kLinuxTimeout);
  const std::uint64_t after = read_at + kLinuxChar + 1;  // the 17th is in; its own timeout is not due
  CHECK((u.reg(Pl011::kFr, after) & Pl011::kFrRxff) != 0);
  CHECK(u.reg(Pl011::kRis, after) == (Pl011::kIntRx | Pl011::kIntRt));
}

TEST_CASE("PL011 while the FIFO is full the input waits at the host and starts once there is room") {
  const std::string input = alphabet(20);
  Uart u(input);
  u.linux_setup();
  const std::uint64_t late = 100 * kLinuxChar;
  u.uart.advance(late);
  CHECK((u.reg(Pl011::kFr, late) & Pl011::kFrRxff) != 0);
  CHECK_FALSE(u.uart.next_event_ns().has_value());  // nothing on the line, the timeout has fired
  CHECK(u.script->next == 16);                      // nothing taken from the host that the FIFO could not hold
  CHECK_FALSE(u.uart.wants_input());
  std::string got;
  got.push_back(static_cast<char>(u.reg(Pl011::kDr, late)));
  CHECK(u.uart.next_event_ns() == late + kLinuxChar);  // the 17th starts when room appears
  CHECK((u.reg(Pl011::kFr, late + kLinuxChar - 1) & Pl011::kFrRxff) == 0);
  CHECK((u.reg(Pl011::kFr, late + kLinuxChar) & Pl011::kFrRxff) != 0);
  for (unsigned i = 1; i < 20; ++i) got.push_back(static_cast<char>(u.reg(Pl011::kDr, late + (10 + i) * kLinuxChar)));
  CHECK(got == input);  // none lost, in order
  CHECK(u.reg(Pl011::kDr, late + 40 * kLinuxChar) == 0);
}

TEST_CASE("PL011 with the FIFO off the receiver holds one character and the next waits until it is read") {
  Uart u("xy");
  u.uart.write(Pl011::kImsc, Pl011::kIntRx, 0);
  u.uart.write(Pl011::kCr, 0x301, 0);  // LCR_H 0: FEN clear; divisor 0: 115200 8N1
  const std::uint64_t c = u.uart.char_ns();
  CHECK_FALSE(u.uart.irq_line());
  u.uart.advance(2 * c);
  CHECK(u.reg(Pl011::kFr, 2 * c) == (Pl011::kFrTxfe | Pl011::kFrRxff));  // full with one
  CHECK(u.reg(Pl011::kRis, 2 * c) == Pl011::kIntRx);                     // trigger level 1, whatever IFLS says
  CHECK(u.uart.irq_line());
  CHECK(u.reg(Pl011::kDr, 2 * c) == 'x');
  CHECK_FALSE(u.uart.irq_line());
  CHECK(u.rx_empty(3 * c - 1));
  CHECK(u.reg(Pl011::kDr, 3 * c) == 'y');
}

TEST_CASE("PL011 switching the FIFOs on or off empties them and clears RX and RT, as QEMU 7.2 does") {
  Uart u("01234567");
  u.linux_setup(0, Pl011::kIntRt);
  const std::uint64_t rt = 8 * kLinuxChar + kLinuxTimeout;
  CHECK(u.reg(Pl011::kRis, rt) == (Pl011::kIntRx | Pl011::kIntRt));
  u.uart.write(Pl011::kLcrH, 0x60, rt);  // FEN off
  CHECK(u.rx_empty(rt));
  CHECK(u.reg(Pl011::kRis, rt) == 0);
  CHECK_FALSE(u.uart.next_event_ns().has_value());
  u.uart.write(Pl011::kLcrH, 0x60, rt);  // no change of FEN: nothing flushed
  CHECK(u.reg(Pl011::kRis, rt) == 0);
}

TEST_CASE("PL011 a character on the line completes when the receiver is switched off, and the next waits") {
  Uart u("pq");
  u.linux_setup();
  u.uart.write(Pl011::kCr, 0x001, kLinuxChar / 2);  // RXE off mid-character
  CHECK(u.uart.next_event_ns() == kLinuxChar);
  CHECK_FALSE(u.rx_empty(kLinuxChar));
  CHECK(u.reg(Pl011::kDr, 10 * kLinuxChar) == 'p');
  CHECK(u.rx_empty(10 * kLinuxChar));
  u.uart.write(Pl011::kCr, 0x301, 20 * kLinuxChar);
  CHECK(u.uart.next_event_ns() == 21 * kLinuxChar);
  CHECK(u.reg(Pl011::kDr, 21 * kLinuxChar) == 'q');
}

TEST_CASE("PL011 a host that has nothing yet: nothing arrives, the machine may wait, a typed byte starts then") {
  Uart u("", true);
  CHECK_FALSE(u.uart.wants_input());  // receiver off
  u.linux_setup();
  CHECK(u.uart.wants_input());
  CHECK_FALSE(u.uart.next_event_ns().has_value());
  u.uart.write(Pl011::kImsc, 0, 0);
  CHECK_FALSE(u.uart.wants_input());  // nothing unmasked could wake the guest
  u.uart.write(Pl011::kImsc, Pl011::kIntRt, 0);
  u.script->bytes.push_back('k');  // typed now
  u.uart.advance(7'000);
  CHECK_FALSE(u.uart.wants_input());  // the byte is on the line
  CHECK(u.uart.next_event_ns() == 7'000 + kLinuxChar);
  CHECK(u.reg(Pl011::kDr, 7'000 + kLinuxChar) == 'k');
  Uart file("");  // at its end: nothing will ever come
  file.linux_setup();
  CHECK_FALSE(file.uart.wants_input());
  Console none;  // no input at all
  Pl011 bare(none);
  bare.write(Pl011::kImsc, Pl011::kIntRx, 0);
  bare.write(Pl011::kCr, 0x301, 0);
  bare.advance(1'000'000'000);
  CHECK_FALSE(bare.wants_input());
  CHECK((bare.read(Pl011::kFr, 1'000'000'000) & Pl011::kFrRxfe) != 0);
}

TEST_CASE("PL011 reset puts the registers back and keeps the host's byte for the next time the receiver is on") {
  Uart u("rs");
  u.linux_setup();
  u.uart.write(Pl011::kDr, '.', 0);
  u.uart.advance(kLinuxChar + 10);  // 'r' in the FIFO, 's' on the line
  u.uart.reset();
  CHECK(u.reg(Pl011::kCr) == 0x300);
  CHECK(u.reg(Pl011::kLcrH) == 0);
  CHECK(u.reg(Pl011::kImsc) == 0);
  CHECK(u.reg(Pl011::kRis) == 0);
  CHECK(u.reg(Pl011::kFr) == (Pl011::kFrTxfe | Pl011::kFrRxfe));
  CHECK_FALSE(u.uart.next_event_ns().has_value());
  CHECK(u.uart.char_ns() == 86'805);  // the latched divisor is reset too
  u.uart.write(Pl011::kCr, 0x301, 1'000'000);
  CHECK(u.reg(Pl011::kDr, 1'000'000 + u.uart.char_ns()) == 's');
}

// ---- snapshots ----

TEST_CASE("PL011 save and load round trip: registers, latched divisor, FIFO, the character on the line, timeout") {
  Uart u("hello");
  u.uart.write(Pl011::kIbrd, 13, 0);
  u.uart.write(Pl011::kFbrd, 1, 0);
  u.uart.write(Pl011::kLcrH, 0x70, 0);
  u.uart.write(Pl011::kIbrd, 26, 0);  // written, not latched
  u.uart.write(Pl011::kIfls, 0x09, 0);
  u.uart.write(Pl011::kImsc, Pl011::kIntRx | Pl011::kIntRt | Pl011::kIntTx, 0);
  u.uart.write(Pl011::kCr, 0x301, 0);
  u.uart.write(Pl011::kDr, '>', 0);
  const std::uint64_t t = 3 * kLinuxChar + 5;  // three in the FIFO, the fourth on the line
  u.uart.advance(t);
  fw::StateWriter out;
  u.uart.save(out);
  Uart v;  // no input of its own: what was taken from the host comes with the state
  fw::StateReader in(out.data());
  v.uart.load(in);
  CHECK(in.at_end());
  for (const std::uint64_t r : {Pl011::kIbrd, Pl011::kFbrd, Pl011::kLcrH, Pl011::kCr, Pl011::kIfls, Pl011::kImsc,
                                Pl011::kRis, Pl011::kMis, Pl011::kFr}) {
    CAPTURE(r);
    CHECK(v.reg(r, t) == u.reg(r, t));
  }
  CHECK(v.uart.char_ns() == kLinuxChar);
  CHECK(v.uart.next_event_ns() == 4 * kLinuxChar);
  CHECK(v.uart.irq_line() == u.uart.irq_line());
  // The copy receives the fourth at the same time, then times out where the original would have.
  const std::uint64_t rt = 4 * kLinuxChar + kLinuxTimeout;
  CHECK((v.reg(Pl011::kRis, rt - 1) & Pl011::kIntRt) == 0);
  CHECK((v.reg(Pl011::kRis, rt) & Pl011::kIntRt) != 0);
  std::string got;
  for (int i = 0; i < 5; ++i) got.push_back(static_cast<char>(v.reg(Pl011::kDr, rt)));
  CHECK(got == std::string("hell\0", 5));  // "o" is still in the original's host input
}

TEST_CASE(
    "PL011 after a load a replayable input reads on after the bytes the saved UART took, another from where it is") {
  Uart u("hello");
  u.linux_setup();
  u.uart.advance(3 * kLinuxChar + 5);  // "hel" in the FIFO, "l" on the line: four taken
  fw::StateWriter out;
  u.uart.save(out);
  for (const bool replay : {true, false}) {
    CAPTURE(replay);
    Uart v("hello");
    v.script->replay = replay;
    fw::StateReader in(out.data());
    v.uart.load(in);
    std::string got;
    for (unsigned i = 0; i < 6; ++i) got.push_back(static_cast<char>(v.reg(Pl011::kDr, (4 + 2 * i) * kLinuxChar)));
    CHECK(got == (replay ? std::string("hello\0", 6) : std::string("hellhe")));
  }
}

TEST_CASE("PL011 load refuses a state no guest could produce and leaves the UART as it was") {
  Uart u("ab");
  u.linux_setup();
  u.uart.advance(kLinuxChar);
  fw::StateWriter out;
  u.uart.save(out);
  auto corrupt = [&](std::size_t at, std::uint8_t value) {
    std::vector<std::uint8_t> bad = out.data();
    bad.at(at) = value;
    Uart v;
    v.uart.write(Pl011::kIlpr, 0x5A, 0);
    fw::StateReader in(bad);
    CHECK_THROWS_AS(v.uart.load(in), fw::StateError);
    CHECK(v.reg(Pl011::kIlpr) == 0x5A);
    CHECK(v.reg(Pl011::kCr) == 0x300);
  };
  corrupt(4 + 2, 0x01);      // IBRD above 16 bits
  corrupt(4 + 4 * 3, 0x78);  // CR reserved bits [6:3]
  corrupt(4 + 4 * 2, 0x60);  // LCR_H with FEN off: a byte in the 1-deep FIFO and one on the line
  corrupt(0, 0x00);          // not the PL011's tag
}

}  // namespace emu::core
