// The PL011 model against its TRM (Arm DDI 0183, r1p5) and QEMU 7.2's choices, without an
// engine: registers by offset, time passed in, input from a scripted source.
#include <doctest/doctest.h>

#include <string>

#include "core/pl011.h"

namespace emu::core {
namespace {

struct Script final : ConsoleInput {
  std::string bytes;
  std::size_t next = 0;
  bool more_later = false;  // after the bytes: Later (a terminal) instead of End (a file)
  Read read(std::uint8_t& b) override {
    if (next < bytes.size()) {
      b = static_cast<std::uint8_t>(bytes[next++]);
      return Read::Byte;
    }
    return more_later ? Read::Later : Read::End;
  }
  void wait() override {}
};

struct Uart {
  explicit Uart(std::string input = {}, bool later = false) {
    auto s = std::make_unique<Script>();
    s->bytes = std::move(input);
    s->more_later = later;
    script = s.get();
    console.set_writer([this](std::string_view t) { out.append(t); });
    console.set_input(std::move(s));
  }
  // What Linux's pl011_startup leaves at 115200 8N1 with a 24 MHz clock: IBRD 13, FBRD 1,
  // FIFOs on, RX and RT unmasked, the UART on with TX and RX.
  void linux_setup(std::uint64_t now = 0) {
    uart.write(Pl011::kIbrd, 13, now);
    uart.write(Pl011::kFbrd, 1, now);
    uart.write(Pl011::kLcrH, 0x70, now);  // WLEN 8, FEN
    uart.write(Pl011::kImsc, Pl011::kIntRx | Pl011::kIntRt, now);
    uart.write(Pl011::kCr, 0x301, now);
  }
  Console console;
  Script* script = nullptr;
  std::string out;
  Pl011 uart{console};
};
}  // namespace

TEST_CASE("PL011: reset values (TRM 3.3): CR TXE|RXE, IFLS half full, FR TX and RX empty, no interrupt") {
  Uart u;
  CHECK(u.uart.read(Pl011::kCr, 0) == 0x300);
  CHECK(u.uart.read(Pl011::kIfls, 0) == 0x12);
  CHECK(u.uart.read(Pl011::kFr, 0) == (Pl011::kFrTxfe | Pl011::kFrRxfe));
  for (const std::uint64_t r : {Pl011::kIbrd, Pl011::kFbrd, Pl011::kLcrH, Pl011::kImsc, Pl011::kRis, Pl011::kMis,
                                Pl011::kDmacr, Pl011::kRsr}) {
    CHECK(u.uart.read(r, 0) == 0);
  }
  CHECK_FALSE(u.uart.irq_line());
  const std::uint8_t ids[8] = {0x11, 0x10, 0x14, 0x00, 0x0D, 0xF0, 0x05, 0xB1};
  for (unsigned i = 0; i < 8; ++i) CHECK(u.uart.read(0xFE0 + 4 * i, 0) == ids[i]);
}

TEST_CASE("PL011: the character time follows IBRD/FBRD and LCR_H (115200 8N1 from a 24 MHz UARTCLK)") {
  Uart u;
  CHECK(u.uart.char_ns() == 86'806);  // divisor 0: 115200 8N1
  u.linux_setup();
  // baud = 24e6 / (16 * (13 + 1/64)) = 115246; 10 bits = 86.77 us
  CHECK(u.uart.char_ns() == 10ull * 833 * 1'000'000'000 / (4ull * 24'000'000));
  u.uart.write(Pl011::kLcrH, 0x70 | 0x2 | 0x8, 0);  // parity and two stop bits: 12 bits
  CHECK(u.uart.char_ns() == 12ull * 833 * 1'000'000'000 / (4ull * 24'000'000));
}

TEST_CASE("PL011: a DR write prints the byte and raises TX, which ICR clears and IMSC masks") {
  Uart u;
  u.uart.write(Pl011::kDr, 'A', 0);
  CHECK(u.out == "A");
  CHECK(u.uart.read(Pl011::kRis, 0) == Pl011::kIntTx);
  CHECK_FALSE(u.uart.irq_line());  // masked
  u.uart.write(Pl011::kImsc, Pl011::kIntTx, 0);
  CHECK(u.uart.irq_line());
  CHECK(u.uart.read(Pl011::kMis, 0) == Pl011::kIntTx);
  u.uart.write(Pl011::kIcr, Pl011::kIntTx, 0);
  CHECK_FALSE(u.uart.irq_line());
}

TEST_CASE("PL011: input arrives one character time apart, only with UARTEN and RXE set") {
  Uart u("ab");
  u.uart.advance(1'000'000);
  CHECK((u.uart.read(Pl011::kFr, 1'000'000) & Pl011::kFrRxfe) != 0);  // receiver off: nothing taken
  u.linux_setup(1'000'000);
  const std::uint64_t c = u.uart.char_ns();
  CHECK(u.uart.next_event_ns() == 1'000'000 + c);
  CHECK((u.uart.read(Pl011::kFr, 1'000'000 + c - 1) & Pl011::kFrRxfe) != 0);
  CHECK((u.uart.read(Pl011::kFr, 1'000'000 + c) & Pl011::kFrRxfe) == 0);
  CHECK(u.uart.read(Pl011::kDr, 1'000'000 + c) == 'a');
  CHECK(u.uart.next_event_ns() == 1'000'000 + 2 * c);
  CHECK(u.uart.read(Pl011::kDr, 1'000'000 + 2 * c) == 'b');
  CHECK((u.uart.read(Pl011::kFr, 1'000'000 + 2 * c) & Pl011::kFrRxfe) != 0);
}

TEST_CASE("PL011: RX rises at the IFLS trigger level, and the receive timeout after 32 bit periods") {
  Uart u("0123456789");
  u.linux_setup();
  const std::uint64_t c = u.uart.char_ns();
  u.uart.advance(7 * c);
  CHECK(u.uart.read(Pl011::kRis, 7 * c) == 0);  // 7 of 16: below half full
  u.uart.advance(8 * c);
  CHECK((u.uart.read(Pl011::kRis, 8 * c) & Pl011::kIntRx) != 0);
  CHECK(u.uart.irq_line());
  for (int i = 0; i < 2; ++i) u.uart.read(Pl011::kDr, 8 * c);
  CHECK((u.uart.read(Pl011::kRis, 8 * c) & Pl011::kIntRx) == 0);  // below the level again
  // The last byte arrives at 10c; 32 bit periods of 10-bit characters later is the timeout.
  CHECK(u.uart.next_event_ns() == 9 * c);
  u.uart.advance(10 * c);
  const std::uint64_t timeout = 10 * c + 32 * c / 10;
  CHECK(u.uart.next_event_ns() == timeout);
  u.uart.advance(timeout - 1);
  CHECK((u.uart.read(Pl011::kRis, timeout - 1) & Pl011::kIntRt) == 0);
  u.uart.advance(timeout);
  CHECK((u.uart.read(Pl011::kRis, timeout) & Pl011::kIntRt) != 0);
  CHECK_FALSE(u.uart.next_event_ns().has_value());
  for (int i = 0; i < 8; ++i) u.uart.read(Pl011::kDr, timeout);
  CHECK(u.uart.read(Pl011::kRis, timeout) == 0);  // emptying the FIFO clears RT
}

TEST_CASE("PL011: with the FIFO full input waits at the host and none is lost") {
  std::string input;
  for (int i = 0; i < 20; ++i) input.push_back(static_cast<char>('a' + i));
  Uart u(input);
  u.linux_setup();
  const std::uint64_t c = u.uart.char_ns();
  u.uart.advance(100 * c);
  CHECK((u.uart.read(Pl011::kFr, 100 * c) & Pl011::kFrRxff) != 0);
  std::string got;
  for (int i = 0; i < 20; ++i) got.push_back(static_cast<char>(u.uart.read(Pl011::kDr, 100 * c + i * c)));
  CHECK(got == input);
}

TEST_CASE("PL011: with the FIFO off the receiver holds one character and RX rises with it") {
  Uart u("xy");
  u.uart.write(Pl011::kImsc, Pl011::kIntRx, 0);
  u.uart.write(Pl011::kCr, 0x301, 0);
  const std::uint64_t c = u.uart.char_ns();
  u.uart.advance(5 * c);
  CHECK((u.uart.read(Pl011::kFr, 5 * c) & Pl011::kFrRxff) != 0);  // full with one
  CHECK(u.uart.irq_line());
  CHECK(u.uart.read(Pl011::kDr, 5 * c) == 'x');
  CHECK(u.uart.read(Pl011::kDr, 5 * c) == 'y');  // it was due already: received at once
}

TEST_CASE("PL011: the machine waits for host input only while the receiver is on with RX or RT unmasked") {
  Uart u("", true);
  CHECK_FALSE(u.uart.wants_input());
  u.linux_setup();
  u.uart.advance(0);
  CHECK(u.uart.wants_input());
  Uart file("");  // at its end: nothing will ever come
  file.linux_setup();
  file.uart.advance(0);
  CHECK_FALSE(file.uart.wants_input());
}

TEST_CASE("PL011: registers, FIFO and the byte taken from the host survive save and load") {
  Uart u("hello");
  u.linux_setup();
  const std::uint64_t c = u.uart.char_ns();
  u.uart.advance(3 * c);
  fw::StateWriter out;
  u.uart.save(out);
  Uart v;  // no input of its own: what was taken from the host comes with the state
  fw::StateReader in(out.data());
  v.uart.load(in);
  CHECK(in.at_end());
  CHECK(v.uart.read(Pl011::kCr, 3 * c) == 0x301);
  std::string got;
  for (int i = 0; i < 4; ++i) got.push_back(static_cast<char>(v.uart.read(Pl011::kDr, 10 * c)));
  CHECK(got == "hell");  // three in the FIFO, the fourth held: "o" is still in the original's input
  std::vector<std::uint8_t> bad = out.data();
  bad[4] = 0xFF;
  bad[5] = 0xFF;
  bad[6] = 0x01;  // IBRD above 16 bits
  fw::StateReader corrupt(bad);
  CHECK_THROWS_AS(v.uart.load(corrupt), fw::StateError);
}

}  // namespace emu::core
