#include "core/pl011.h"

#include <algorithm>

#include "core/platform.h"

namespace emu::core {
namespace {
constexpr std::uint32_t kLcrPen = 1u << 1;
constexpr std::uint32_t kLcrStp2 = 1u << 3;
constexpr std::uint64_t kDefaultCharNs = 86'806;  // 10 bits at 115200 baud
constexpr unsigned kTimeoutBits = 32;             // receive timeout: 32 bit periods (§2.8.3)
}  // namespace

// Bits per character: a start bit, WLEN + 5 data bits, the parity bit, one or two stop bits.
static unsigned char_bits(std::uint32_t lcr_h) {
  return 1 + (5 + ((lcr_h >> 5) & 3)) + ((lcr_h & kLcrPen) != 0 ? 1 : 0) + ((lcr_h & kLcrStp2) != 0 ? 2 : 1);
}

// Baud = UARTCLK / (16 × (IBRD + FBRD / 64)) (§2.4.3), so one character takes
// bits × 16 × (64 × IBRD + FBRD) / (64 × UARTCLK) seconds.
std::uint64_t Pl011::char_ns() const {
  const std::uint64_t div64 = std::uint64_t{ibrd_} * 64 + fbrd_;
  if (div64 == 0) return kDefaultCharNs;
  return char_bits(lcr_h_) * div64 * 1'000'000'000ull / (4ull * kUartClockHz);
}

// IFLS.RXIFLSEL [5:3]: 1/8, 1/4, 1/2, 3/4, 7/8 of the FIFO (§3.3.9); one character with the
// FIFO off.
unsigned Pl011::rx_trigger() const {
  if (depth() == 1) return 1;
  static constexpr unsigned kEighths[8] = {1, 2, 4, 6, 7, 4, 4, 4};  // reserved values: 1/2
  return kFifoDepth * kEighths[(ifls_ >> 3) & 7] / 8;
}

void Pl011::reset() {
  ibrd_ = fbrd_ = lcr_h_ = imsc_ = ris_ = dmacr_ = ilpr_ = 0;
  cr_ = 0x300;  // TXE | RXE, UARTEN clear
  ifls_ = 0x12;
  fifo_.clear();
  rt_armed_ = false;
}

void Pl011::pull(std::uint64_t not_before) {
  ConsoleInput* in = console_.input();
  if (held_ || input_ended_ || in == nullptr) return;
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
      held_at_ns_ = std::max(last_rx_ns_, not_before) + char_ns();
      return;
    case ConsoleInput::Read::End: input_ended_ = true; return;
    case ConsoleInput::Read::Later: return;
  }
}

void Pl011::update_rx_level() {
  if (fifo_.size() >= rx_trigger()) ris_ |= kIntRx;
  else ris_ &= ~kIntRx;
}

void Pl011::advance(std::uint64_t now_ns) {
  while (receiving()) {
    if (!held_) pull(std::max(last_rx_ns_, now_ns));
    if (!held_ || held_at_ns_ > now_ns || fifo_.size() >= depth()) break;
    fifo_.push_back(*held_);
    held_.reset();
    last_rx_ns_ = held_at_ns_;
    rt_armed_ = true;
    if (fifo_.size() >= rx_trigger()) ris_ |= kIntRx;
    pull(last_rx_ns_);  // a file streams back to back, one character time apart
  }
  const std::uint64_t timeout = kTimeoutBits * char_ns() / char_bits(lcr_h_);
  if (rt_armed_ && !fifo_.empty() && now_ns >= last_rx_ns_ + timeout) {
    ris_ |= kIntRt;
    rt_armed_ = false;
  }
}

std::optional<std::uint64_t> Pl011::next_event_ns() const {
  std::optional<std::uint64_t> next;
  if (receiving() && held_ && fifo_.size() < depth()) next = held_at_ns_;
  if (rt_armed_ && !fifo_.empty()) {
    const std::uint64_t t = last_rx_ns_ + kTimeoutBits * char_ns() / char_bits(lcr_h_);
    next = next ? std::min(*next, t) : t;
  }
  return next;
}

bool Pl011::wants_input() const {
  return receiving() && (imsc_ & (kIntRx | kIntRt)) != 0 && !held_ && !input_ended_ && console_.input() != nullptr;
}

std::uint32_t Pl011::pop(std::uint64_t now_ns) {
  advance(now_ns);
  if (fifo_.empty()) return 0;
  const std::uint32_t byte = fifo_.front();  // error bits [11:8] are always 0
  fifo_.pop_front();
  if (fifo_.size() < rx_trigger()) ris_ &= ~kIntRx;
  if (fifo_.empty()) ris_ &= ~kIntRt;
  advance(now_ns);  // a byte held back by a full FIFO may be due already
  return byte;
}

std::uint64_t Pl011::read(std::uint64_t offset, std::uint64_t now_ns) {
  switch (offset) {
    case kDr: return pop(now_ns);
    case kFr:
      advance(now_ns);
      return kFrTxfe | (fifo_.empty() ? kFrRxfe : 0) | (fifo_.size() >= depth() ? kFrRxff : 0);
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
  const auto v = static_cast<std::uint32_t>(value);
  switch (offset) {
    case kDr:
      console_.put(static_cast<char>(v & 0xFF));
      ris_ |= kIntTx;  // the FIFO drained at once: at or below its trigger level
      break;
    case kIlpr: ilpr_ = v & 0xFF; break;
    case kIbrd: ibrd_ = v & 0xFFFF; break;
    case kFbrd: fbrd_ = v & 0x3F; break;
    case kLcrH:
      if (((lcr_h_ ^ v) & kLcrFen) != 0) fifo_.clear();  // switching the FIFOs on or off flushes them
      lcr_h_ = v & 0xFF;
      update_rx_level();
      break;
    case kCr: cr_ = v & 0xFF87; break;
    case kIfls: ifls_ = v & 0x3F; update_rx_level(); break;
    case kImsc: imsc_ = v & 0x7FF; break;
    case kIcr: ris_ &= ~(v & 0x7FF); break;
    case kDmacr: dmacr_ = v & 0x7; break;
    default: break;  // ECR (no errors to clear), read-only and reserved offsets
  }
  advance(now_ns);
}

namespace {
constexpr std::uint32_t kTagUart = 0x50'4C'31'31;  // "PL11"
}

void Pl011::save(fw::StateWriter& out) const {
  out.tag(kTagUart);
  for (const std::uint32_t r : {ibrd_, fbrd_, lcr_h_, cr_, ifls_, imsc_, ris_, dmacr_, ilpr_}) out.u32(r);
  const std::vector<std::uint8_t> fifo(fifo_.begin(), fifo_.end());
  out.bytes(fifo);
  out.boolean(held_.has_value());  // taken from the host already: it belongs to the machine now
  out.u8(held_.value_or(0));
  out.u64(held_at_ns_);
  out.u64(last_rx_ns_);
  out.boolean(rt_armed_);
  out.u64(taken_);
}

void Pl011::load(fw::StateReader& in) {
  in.tag(kTagUart);
  std::uint32_t r[9];
  for (std::uint32_t& x : r) x = in.u32();
  const auto fifo = in.bytes();
  const bool held = in.boolean();
  const std::uint8_t held_byte = in.u8();
  const std::uint64_t held_at = in.u64();
  const std::uint64_t last = in.u64();
  const bool armed = in.boolean();
  const std::uint64_t taken = in.u64();
  if (fifo.size() > kFifoDepth || r[0] > 0xFFFF || r[1] > 0x3F || r[2] > 0xFF || r[4] > 0x3F || r[5] > 0x7FF ||
      r[6] > 0x7FF || r[7] > 7 || r[8] > 0xFF || (r[3] & ~0xFF87u) != 0) {
    throw fw::StateError("corrupt state: the PL011");
  }
  ibrd_ = r[0], fbrd_ = r[1], lcr_h_ = r[2], cr_ = r[3], ifls_ = r[4], imsc_ = r[5], ris_ = r[6], dmacr_ = r[7], ilpr_ = r[8];
  fifo_.assign(fifo.begin(), fifo.end());
  held_ = held ? std::optional<std::uint8_t>(held_byte) : std::nullopt;
  held_at_ns_ = held_at;
  last_rx_ns_ = last;
  rt_armed_ = armed;
  taken_ = skip_ = taken;
  input_ended_ = false;
}

}  // namespace emu::core
