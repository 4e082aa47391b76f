#include "core/pl011.h"

#include <algorithm>
#include <vector>

#include "core/platform.h"

namespace emu::core {
namespace {
constexpr std::uint64_t kNsPerSecond = 1'000'000'000;
constexpr std::uint32_t kMaxDivisor = 0xFFFF * 64 + 0x3F;
constexpr unsigned kDefaultCharBits = 10;  // 8N1

// Bits per character (§3.3.7, UARTLCR_H): a start bit, WLEN + 5 data bits, the parity bit when
// PEN is set, one stop bit or two with STP2.
unsigned char_bits(std::uint32_t lcr_h) {
  return 1 + (5 + ((lcr_h >> 5) & 3)) + ((lcr_h & Pl011::kLcrPen) != 0 ? 1 : 0) +
         ((lcr_h & Pl011::kLcrStp2) != 0 ? 2 : 1);
}
}  // namespace

// Baud = UARTCLK / (16 × (IBRD + FBRD / 64)) (§3.3.6), so one bit takes 64 × IBRD + FBRD
// periods of 4 × UARTCLK. Computed for `bits` at once so that 32 bit periods are exact to the ns.
std::uint64_t Pl011::bits_ns(unsigned bits) const {
  if (!line_set_up()) return bits * kNsPerSecond / kDefaultBaud;
  return bits * std::uint64_t{divisor_} * kNsPerSecond / (4 * std::uint64_t{kUartClockHz});
}

std::uint64_t Pl011::char_ns() const {
  return bits_ns(line_set_up() ? char_bits(lcr_h_) : kDefaultCharBits);
}

// IFLS.RXIFLSEL [5:3] (§3.3.9): the FIFO becomes 1/8, 1/4, 1/2, 3/4 or 7/8 full; reserved values
// as 1/2. With the FIFO off, the holding register's one character.
unsigned Pl011::rx_trigger() const {
  if (depth() == 1) return 1;
  static constexpr unsigned kEighths[8] = {1, 2, 4, 6, 7, 4, 4, 4};
  return kFifoDepth * kEighths[(ifls_ >> 3) & 7] / 8;
}

void Pl011::reset() {
  ibrd_ = fbrd_ = lcr_h_ = imsc_ = ris_ = dmacr_ = ilpr_ = divisor_ = 0;
  cr_ = 0x300;
  ifls_ = 0x12;
  fifo_.clear();
  arrives_ns_.reset();  // held_ stays: the host's byte is sent again
  rt_armed_ = false;
}

// ---- reception in virtual time ----

bool Pl011::take_from_host() {
  ConsoleInput* in = console_.input();
  if (held_) return true;
  if (input_ended_ || in == nullptr) return false;
  std::uint8_t byte = 0;
  // A resumed run given the same file carries on where the saved one stopped reading it.
  for (; skip_ > 0 && in->replayable(); --skip_) {
    if (in->read(byte) != ConsoleInput::Read::Byte) break;
  }
  skip_ = 0;
  switch (in->read(byte)) {
    case ConsoleInput::Read::Byte:
      held_ = byte;
      ++taken_;
      return true;
    case ConsoleInput::Read::End: input_ended_ = true; return false;
    case ConsoleInput::Read::Later: return false;
  }
  return false;
}

// The next host byte goes on the line when the receiver could take it: on, and room in the FIFO
// (so it never overruns). It starts at `now_ns`, or when the previous character ended if later.
void Pl011::start_next(std::uint64_t now_ns) {
  if (arrives_ns_ || !receiving() || fifo_.size() >= depth() || !take_from_host()) return;
  arrives_ns_ = std::max(now_ns, last_rx_ns_) + char_ns();
}

// The character on the line is complete: into the FIFO, RX when that reaches the trigger level
// (§3.4.2), and the receive timeout counts from here.
void Pl011::receive() {
  const std::uint64_t at = *arrives_ns_;
  arrives_ns_.reset();
  if (fifo_.size() >= depth()) return;  // cannot happen (room was there at the start); kept held
  fifo_.push_back(*held_);
  held_.reset();
  last_rx_ns_ = at;
  rt_armed_ = true;
  if (fifo_.size() == rx_trigger()) ris_ |= kIntRx;
}

void Pl011::check_timeout(std::uint64_t now_ns) {
  if (rt_armed_ && !fifo_.empty() && now_ns >= last_rx_ns_ + timeout_ns()) {
    ris_ |= kIntRt;
    rt_armed_ = false;
  }
}

// In time order: a timeout due before the next arrival fires before it; a file's bytes stream
// back to back, each starting as the previous one ends.
void Pl011::advance(std::uint64_t now_ns) {
  start_next(now_ns);
  for (;;) {
    const bool due = arrives_ns_ && *arrives_ns_ <= now_ns;
    check_timeout(due ? *arrives_ns_ : now_ns);
    if (!due) return;
    receive();
    start_next(last_rx_ns_);
  }
}

std::optional<std::uint64_t> Pl011::next_event_ns() const {
  std::optional<std::uint64_t> next = arrives_ns_;
  if (rt_armed_ && !fifo_.empty()) {
    const std::uint64_t t = last_rx_ns_ + timeout_ns();
    next = next ? std::min(*next, t) : t;
  }
  return next;
}

bool Pl011::wants_input() const {
  return receiving() && fifo_.size() < depth() && (imsc_ & (kIntRx | kIntRt)) != 0 && !held_ && !input_ended_ &&
         console_.input() != nullptr;
}

// ---- registers ----

void Pl011::update_rx_level() {
  if (fifo_.size() >= rx_trigger())
    ris_ |= kIntRx;
  else
    ris_ &= ~kIntRx;
}

std::uint32_t Pl011::pop(std::uint64_t now_ns) {
  advance(now_ns);
  if (fifo_.empty()) return 0;
  const std::uint32_t byte = fifo_.front();  // error bits [11:8] are always 0
  fifo_.pop_front();
  if (fifo_.size() < rx_trigger()) ris_ &= ~kIntRx;
  if (fifo_.empty()) ris_ &= ~kIntRt;
  advance(now_ns);  // room again: the next byte may start
  return byte;
}

// LCR_H also latches IBRD and FBRD (§3.3.7: the three form one register updated by the LCR_H
// write). Switching the FIFOs on or off empties them, as QEMU 7.2 does.
void Pl011::write_lcr_h(std::uint32_t value) {
  if (((lcr_h_ ^ value) & kLcrFen) != 0) {
    fifo_.clear();
    ris_ &= ~kIntRt;
  }
  lcr_h_ = value & 0xFF;
  divisor_ = ibrd_ * 64 + fbrd_;
  update_rx_level();
}

std::uint64_t Pl011::read(std::uint64_t offset, std::uint64_t now_ns) {
  switch (offset) {
    case kDr: return pop(now_ns);
    case kFr: advance(now_ns); return kFrTxfe | (fifo_.empty() ? kFrRxfe : 0) | (fifo_.size() >= depth() ? kFrRxff : 0);
    case kIlpr: return ilpr_;
    case kIbrd: return ibrd_;
    case kFbrd: return fbrd_;
    case kLcrH: return lcr_h_;
    case kCr: return cr_;
    case kIfls: return ifls_;
    case kImsc: return imsc_;
    case kRis: advance(now_ns); return ris_;
    case kMis: advance(now_ns); return ris_ & imsc_;
    case kDmacr: return dmacr_;
    default: break;
  }
  if (offset >= kPeriphId0 && offset < kPeriphId0 + 4 * sizeof kIds && offset % 4 == 0) {
    return kIds[(offset - kPeriphId0) / 4];
  }
  return 0;  // RSR (no receive errors), ICR (write-only) and reserved offsets
}

void Pl011::write(std::uint64_t offset, std::uint64_t value, std::uint64_t now_ns) {
  advance(now_ns);  // what was due happened under the old settings
  const auto v = static_cast<std::uint32_t>(value);
  switch (offset) {
    case kDr:
      console_.put(static_cast<char>(v & 0xFF));
      ris_ |= kIntTx;  // the TX FIFO drained at once: through its trigger level (§3.4.3)
      break;
    case kIlpr: ilpr_ = v & 0xFF; break;
    case kIbrd: ibrd_ = v & 0xFFFF; break;
    case kFbrd: fbrd_ = v & 0x3F; break;
    case kLcrH: write_lcr_h(v); break;
    case kCr: cr_ = v & 0xFF87; break;  // [6:3] reserved
    case kIfls:
      ifls_ = v & 0x3F;
      update_rx_level();
      break;
    case kImsc: imsc_ = v & 0x7FF; break;
    case kIcr: ris_ &= ~(v & 0x7FF); break;
    case kDmacr: dmacr_ = v & 0x7; break;
    default: break;  // ECR (no errors to clear), read-only and reserved offsets
  }
  advance(now_ns);  // e.g. the receiver just switched on, or the FIFO was emptied
}

// ---- snapshots ----

namespace {
constexpr std::uint32_t kTagUart = 0x50'4C'31'31;  // "PL11"
}

void Pl011::save(fw::StateWriter& out) const {
  out.tag(kTagUart);
  for (const std::uint32_t r : {ibrd_, fbrd_, lcr_h_, cr_, ifls_, imsc_, ris_, dmacr_, ilpr_, divisor_}) out.u32(r);
  const std::vector<std::uint8_t> fifo(fifo_.begin(), fifo_.end());
  out.bytes(fifo);
  out.boolean(held_.has_value());  // taken from the host already: it belongs to the machine now
  out.u8(held_.value_or(0));
  out.boolean(arrives_ns_.has_value());
  out.u64(arrives_ns_.value_or(0));
  out.u64(last_rx_ns_);
  out.boolean(rt_armed_);
  out.u64(taken_);
}

void Pl011::load(fw::StateReader& in) {
  in.tag(kTagUart);
  std::uint32_t r[10];
  for (std::uint32_t& x : r) x = in.u32();
  const auto fifo = in.bytes();
  const bool held = in.boolean();
  const std::uint8_t held_byte = in.u8();
  const bool on_line = in.boolean();
  const std::uint64_t arrives = in.u64();
  const std::uint64_t last = in.u64();
  const bool armed = in.boolean();
  const std::uint64_t taken = in.u64();
  const std::size_t depth = (r[2] & kLcrFen) != 0 ? kFifoDepth : 1;
  if (r[0] > 0xFFFF || r[1] > 0x3F || r[2] > 0xFF || (r[3] & ~0xFF87u) != 0 || r[4] > 0x3F || r[5] > 0x7FF ||
      r[6] > 0x7FF || r[7] > 7 || r[8] > 0xFF || r[9] > kMaxDivisor || fifo.size() > depth || (on_line && !held) ||
      (on_line && fifo.size() >= depth)) {
    throw fw::StateError("corrupt state: the PL011");
  }
  ibrd_ = r[0], fbrd_ = r[1], lcr_h_ = r[2], cr_ = r[3], ifls_ = r[4], imsc_ = r[5], ris_ = r[6], dmacr_ = r[7];
  ilpr_ = r[8], divisor_ = r[9];
  fifo_.assign(fifo.begin(), fifo.end());
  held_ = held ? std::optional<std::uint8_t>(held_byte) : std::nullopt;
  arrives_ns_ = on_line ? std::optional<std::uint64_t>(arrives) : std::nullopt;
  last_rx_ns_ = last;
  rt_armed_ = armed;
  taken_ = skip_ = taken;
  input_ended_ = false;  // the input is the resumed run's own
}

}  // namespace emu::core
