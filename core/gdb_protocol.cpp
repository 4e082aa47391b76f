// The GDB Remote Serial Protocol stub's framing and commands (see gdb_protocol.h). Every
// input is untrusted: a malformed packet gets an error reply ("E01"-style) or the empty reply,
// never an exception out of receive() or a hang.
#include "core/gdb_protocol.h"

#include <fmt/format.h>
#include <algorithm>
#include <charconv>
#include <cstring>

namespace emu::core::gdb {
namespace {

constexpr char kEscape = '}';
constexpr char kEscapeXor = 0x20;
constexpr char kInterrupt = 0x03;

// Error replies "E NN": the number is not specified by the protocol; GDB prints it. These
// follow errno as other stubs do.
constexpr const char* kErrBadArgs = "E16";     // EINVAL: a malformed packet
constexpr const char* kErrNoThread = "E03";    // ESRCH: no such thread
constexpr const char* kErrMemory = "E0e";      // EFAULT: memory that does not translate or is not RAM
constexpr const char* kErrBreakpoint = "E05";  // EIO: a breakpoint the target refused

// GDB's signal numbers (include/gdb/signals.def): the same as Linux's for these.
constexpr int kSigTrap = 5;

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// `bytes` little-endian bytes of `value` as hex (registers travel in target byte order).
void append_le(std::string& out, std::uint64_t value, unsigned bytes) {
  for (unsigned i = 0; i < bytes; ++i) out += fmt::format("{:02x}", (value >> (8 * i)) & 0xFF);
}
std::optional<std::uint64_t> read_le(std::string_view hex, unsigned bytes) {
  if (hex.size() != 2 * bytes) return std::nullopt;
  std::uint64_t v = 0;
  for (unsigned i = 0; i < bytes; ++i) {
    const int hi = hex_digit(hex[2 * i]);
    const int lo = hex_digit(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    v |= std::uint64_t(hi * 16 + lo) << (8 * i);
  }
  return v;
}

// The size in bytes of register `n` in the g packet and in p/P.
unsigned register_bytes(unsigned n) {
  if (n == kRegCpsr || n == kRegFpsr || n == kRegFpcr) return 4;
  if (n >= kRegV0 && n < kRegV0 + 32) return 16;
  return 8;
}

std::string register_hex(const Registers& r, unsigned n) {
  std::string out;
  if (n <= 30) {
    append_le(out, r.x[n], 8);
  } else if (n == kRegSp) {
    append_le(out, r.sp, 8);
  } else if (n == kRegPc) {
    append_le(out, r.pc, 8);
  } else if (n == kRegCpsr) {
    append_le(out, r.cpsr, 4);
  } else if (n < kRegFpsr) {
    append_le(out, r.v[n - kRegV0][0], 8);
    append_le(out, r.v[n - kRegV0][1], 8);
  } else {
    append_le(out, n == kRegFpsr ? r.fpsr : r.fpcr, 4);
  }
  return out;
}

bool set_register_hex(Registers& r, unsigned n, std::string_view hex) {
  if (n >= kRegV0 && n < kRegFpsr) {
    const auto lo = read_le(hex.substr(0, std::min<std::size_t>(hex.size(), 16)), 8);
    const auto hi = hex.size() == 32 ? read_le(hex.substr(16), 8) : std::nullopt;
    if (!lo || !hi) return false;
    r.v[n - kRegV0] = {*lo, *hi};
    return true;
  }
  const auto v = read_le(hex, register_bytes(n));
  if (!v) return false;
  if (n <= 30) r.x[n] = *v;
  if (n == kRegSp) r.sp = *v;
  if (n == kRegPc) r.pc = *v;
  if (n == kRegCpsr) r.cpsr = static_cast<std::uint32_t>(*v);
  if (n == kRegFpsr) r.fpsr = static_cast<std::uint32_t>(*v);
  if (n == kRegFpcr) r.fpcr = static_cast<std::uint32_t>(*v);
  return true;
}

// "ADDR,LENGTH" of m, M, X, Z and qXfer.
struct AddressLength {
  std::uint64_t address;
  std::uint64_t length;
};
std::optional<AddressLength> address_length(std::string_view text) {
  const std::size_t comma = text.find(',');
  if (comma == std::string_view::npos) return std::nullopt;
  const auto a = parse_hex(text.substr(0, comma));
  const auto l = parse_hex(text.substr(comma + 1));
  if (!a || !l) return std::nullopt;
  return AddressLength{*a, *l};
}

// The target description (GDB manual, "Target Descriptions" and "AArch64 Features"): the core
// feature must name x0..x30, sp, pc and cpsr; the FP feature v0..v31, fpsr and fpcr. Register
// numbers are given explicitly and are those of the g packet.
std::string make_target_xml() {
  std::string xml =
      "<?xml version=\"1.0\"?>\n"
      "<!DOCTYPE target SYSTEM \"gdb-target.dtd\">\n"
      "<target version=\"1.0\">\n"
      "  <architecture>aarch64</architecture>\n"
      "  <feature name=\"org.gnu.gdb.aarch64.core\">\n";
  for (unsigned i = 0; i <= 30; ++i) {
    xml += fmt::format("    <reg name=\"x{}\" bitsize=\"64\" type=\"int\" regnum=\"{}\"/>\n", i, i);
  }
  xml += fmt::format(
      "    <reg name=\"sp\" bitsize=\"64\" type=\"data_ptr\" regnum=\"{}\"/>\n"
      "    <reg name=\"pc\" bitsize=\"64\" type=\"code_ptr\" regnum=\"{}\"/>\n"
      "    <reg name=\"cpsr\" bitsize=\"32\" type=\"int\" regnum=\"{}\"/>\n"
      "  </feature>\n",
      kRegSp, kRegPc, kRegCpsr);
  xml +=
      "  <feature name=\"org.gnu.gdb.aarch64.fpu\">\n"
      "    <vector id=\"lanes_d\" type=\"uint64\" count=\"2\"/>\n"
      "    <vector id=\"lanes_s\" type=\"uint32\" count=\"4\"/>\n"
      "    <vector id=\"lanes_h\" type=\"uint16\" count=\"8\"/>\n"
      "    <vector id=\"lanes_b\" type=\"uint8\" count=\"16\"/>\n"
      "    <union id=\"vreg\">\n"
      "      <field name=\"d\" type=\"lanes_d\"/>\n"
      "      <field name=\"s\" type=\"lanes_s\"/>\n"
      "      <field name=\"h\" type=\"lanes_h\"/>\n"
      "      <field name=\"b\" type=\"lanes_b\"/>\n"
      "      <field name=\"q\" type=\"uint128\"/>\n"
      "    </union>\n";
  for (unsigned i = 0; i < 32; ++i) {
    xml += fmt::format("    <reg name=\"v{}\" bitsize=\"128\" type=\"vreg\" regnum=\"{}\"/>\n", i, kRegV0 + i);
  }
  xml += fmt::format(
      "    <reg name=\"fpsr\" bitsize=\"32\" type=\"int\" regnum=\"{}\"/>\n"
      "    <reg name=\"fpcr\" bitsize=\"32\" type=\"int\" regnum=\"{}\"/>\n"
      "  </feature>\n"
      "</target>\n",
      kRegFpsr, kRegFpcr);
  return xml;
}

}  // namespace

std::uint8_t checksum(std::string_view payload) {
  unsigned sum = 0;
  for (const char c : payload) sum += static_cast<unsigned char>(c);
  return static_cast<std::uint8_t>(sum);
}

std::string frame(std::string_view payload) {
  std::string body;
  body.reserve(payload.size() + 8);
  for (const char c : payload) {
    if (c == '$' || c == '#' || c == kEscape || c == '*') {
      body += kEscape;
      body += static_cast<char>(c ^ kEscapeXor);
    } else {
      body += c;
    }
  }
  return fmt::format("${}#{:02x}", body, checksum(body));
}

std::string to_hex(std::span<const std::uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const std::uint8_t b : bytes) {
    out += kDigits[b >> 4];
    out += kDigits[b & 0xF];
  }
  return out;
}

std::optional<std::vector<std::uint8_t>> from_hex(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  std::vector<std::uint8_t> out(hex.size() / 2);
  for (std::size_t i = 0; i < out.size(); ++i) {
    const int hi = hex_digit(hex[2 * i]);
    const int lo = hex_digit(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out[i] = static_cast<std::uint8_t>(hi * 16 + lo);
  }
  return out;
}

std::optional<std::uint64_t> parse_hex(std::string_view text) {
  if (text.empty() || text.size() > 16) return std::nullopt;
  std::uint64_t v = 0;
  for (const char c : text) {
    const int d = hex_digit(c);
    if (d < 0) return std::nullopt;
    v = v << 4 | static_cast<unsigned>(d);
  }
  return v;
}

std::string_view target_xml() {
  static const std::string xml = make_target_xml();
  return xml;
}

// ---- framing ----

void PacketReader::feed(std::string_view bytes, std::vector<Event>& out) {
  for (const char c : bytes) {
    switch (state_) {
      case State::Idle:
        if (c == '$') {
          start_packet();
        } else if (c == kInterrupt) {
          out.push_back({Event::Kind::Interrupt, {}});
        } else if (c == '+') {
          out.push_back({Event::Kind::Ack, {}});
        } else if (c == '-') {
          out.push_back({Event::Kind::Nack, {}});
        }
        break;  // anything else between packets is noise
      case State::Payload:
      case State::Escape:
        if (c == '#') {  // '#' ends the packet even after a lone '}'
          state_ = State::Check1;
          break;
        }
        if (c == '$') {  // a new packet: the unfinished one is dropped, as a corrupt one
          out.push_back({Event::Kind::BadChecksum, {}});
          start_packet();
          break;
        }
        sum_ = static_cast<std::uint8_t>(sum_ + static_cast<unsigned char>(c));
        if (state_ == State::Payload && c == kEscape) {
          state_ = State::Escape;
          break;
        }
        if (payload_.size() >= kPacketSize) {
          overflow_ = true;
        } else {
          payload_ += state_ == State::Escape ? static_cast<char>(c ^ kEscapeXor) : c;
        }
        state_ = State::Payload;
        break;
      case State::Check1:
      case State::Check2:
        if (c == '$') {  // a new packet where the checksum should be: this one was cut short
          out.push_back({Event::Kind::BadChecksum, {}});
          start_packet();
          break;
        }
        check_digit(c, out);
        break;
    }
  }
}

void PacketReader::check_digit(char c, std::vector<Event>& out) {
  const int d = hex_digit(c);
  if (state_ == State::Check1) {
    expected_ = static_cast<std::uint8_t>(d < 0 ? 0 : d << 4);
    state_ = d < 0 ? State::Idle : State::Check2;
    if (d < 0) out.push_back({Event::Kind::BadChecksum, {}});
    return;
  }
  state_ = State::Idle;
  if (d < 0 || static_cast<std::uint8_t>(expected_ | d) != sum_) {
    out.push_back({Event::Kind::BadChecksum, {}});
  } else if (overflow_) {
    out.push_back({Event::Kind::Overflow, {}});
  } else {
    out.push_back({Event::Kind::Packet, std::move(payload_)});
  }
  payload_.clear();
}

void PacketReader::start_packet() {
  state_ = State::Payload;
  payload_.clear();
  sum_ = 0;
  overflow_ = false;
}

// ---- the session ----

Session::Session(Target& target, Sender& sender, StopEvent stopped)
    : target_(target),
      sender_(sender),
      stop_(stopped),
      general_thread_(stopped.thread),
      continue_thread_(stopped.thread) {}

void Session::receive(std::string_view bytes) {
  events_.clear();
  reader_.feed(bytes, events_);
  for (std::size_t i = 0; i < events_.size() && end_ == End::None; ++i) {
    PacketReader::Event& e = events_[i];
    switch (e.kind) {
      case PacketReader::Event::Kind::Packet: {
        sender_.send("+");
        std::string reply;
        try {
          reply = handle(e.payload);
        } catch (const std::exception&) {
          if (resuming_) throw;  // the machine failed while running: not the debugger's input
          reply = kErrBadArgs;   // e.g. a register the engine refuses
        }
        last_reply_ = frame(reply);
        if (end_ != End::Kill) sender_.send(last_reply_);  // k has no reply
        break;
      }
      case PacketReader::Event::Kind::Overflow:
        sender_.send("+");
        last_reply_ = frame(kErrBadArgs);
        sender_.send(last_reply_);
        break;
      case PacketReader::Event::Kind::BadChecksum:
        sender_.send("-");  // the debugger sends the packet again
        break;
      case PacketReader::Event::Kind::Nack:
        if (!last_reply_.empty()) sender_.send(last_reply_);
        break;
      case PacketReader::Event::Kind::Ack:
      case PacketReader::Event::Kind::Interrupt:  // the target is already stopped
        break;
    }
  }
}

std::string Session::handle(std::string_view p) {
  if (p.empty()) return "";
  const std::string_view args = p.substr(1);
  switch (p[0]) {
    case '?': return stop_reply(stop_);
    case 'g': return read_registers();
    case 'G': return write_registers(args);
    case 'p': return read_register(args);
    case 'P': return write_register(args);
    case 'm': return read_memory(args);
    case 'M': return write_memory(args, false);
    case 'X': return write_memory(args, true);
    case 'Z': return breakpoint(args, true);
    case 'z': return breakpoint(args, false);
    case 'H': return set_thread(args);
    case 'T': return thread_alive(args);
    case 'c': return continue_or_step(args, false);
    case 's': return continue_or_step(args, true);
    case 'k': end_ = End::Kill; return "";
    case 'D': end_ = End::Detach; return "OK";
    case 'q': return query(p);
    case 'v':
      if (p == "vCont?") return "vCont;c;C;s;S";
      if (p.starts_with("vCont;")) return vcont(p.substr(6));
      if (p.starts_with("vKill")) {
        end_ = End::Kill;
        return "OK";
      }
      return "";
    default: return "";  // unsupported: the empty reply (GDB manual, "Packets")
  }
}

std::string Session::read_registers() {
  const Registers r = target_.registers(general_thread_);
  std::string out;
  for (unsigned n = 0; n < kRegisterCount; ++n) out += register_hex(r, n);
  return out;
}

std::string Session::write_registers(std::string_view hex) {
  Registers r = target_.registers(general_thread_);
  RegisterMask which;
  std::size_t at = 0;
  for (unsigned n = 0; n < kRegisterCount && at < hex.size(); ++n) {
    const std::size_t len = 2 * register_bytes(n);
    if (hex.size() - at < len || !set_register_hex(r, n, hex.substr(at, len))) return kErrBadArgs;
    which.set(n);
    at += len;
  }
  if (at != hex.size()) return kErrBadArgs;
  target_.set_registers(general_thread_, r, which);
  return "OK";
}

std::string Session::read_register(std::string_view args) {
  const auto n = parse_hex(args);
  if (!n || *n >= kRegisterCount) return kErrBadArgs;
  return register_hex(target_.registers(general_thread_), static_cast<unsigned>(*n));
}

std::string Session::write_register(std::string_view args) {
  const std::size_t eq = args.find('=');
  if (eq == std::string_view::npos) return kErrBadArgs;
  const auto n = parse_hex(args.substr(0, eq));
  if (!n || *n >= kRegisterCount) return kErrBadArgs;
  Registers r = target_.registers(general_thread_);
  if (!set_register_hex(r, static_cast<unsigned>(*n), args.substr(eq + 1))) return kErrBadArgs;
  RegisterMask which;
  which.set(static_cast<std::size_t>(*n));
  target_.set_registers(general_thread_, r, which);
  return "OK";
}

std::string Session::read_memory(std::string_view args) {
  const auto al = address_length(args);
  if (!al) return kErrBadArgs;
  // The reply is hex: at most half a packet of data, as PacketSize allows.
  std::vector<std::uint8_t> bytes(std::min<std::uint64_t>(al->length, kPacketSize / 2));
  const std::size_t n = target_.read_memory(general_thread_, al->address, bytes);
  if (n == 0 && !bytes.empty()) return kErrMemory;
  return to_hex({bytes.data(), n});  // a shorter reply: the rest is not readable
}

std::string Session::write_memory(std::string_view args, bool binary) {
  const std::size_t colon = args.find(':');
  if (colon == std::string_view::npos) return kErrBadArgs;
  const auto al = address_length(args.substr(0, colon));
  if (!al) return kErrBadArgs;
  const std::string_view data = args.substr(colon + 1);
  std::vector<std::uint8_t> bytes;
  if (binary) {
    bytes.assign(data.begin(), data.end());  // already unescaped by the framing
  } else {
    auto decoded = from_hex(data);
    if (!decoded) return kErrBadArgs;
    bytes = std::move(*decoded);
  }
  if (bytes.size() != al->length) return kErrBadArgs;
  if (bytes.empty()) return "OK";  // X with length 0: GDB's probe for X support
  return target_.write_memory(general_thread_, al->address, bytes) == bytes.size() ? "OK" : kErrMemory;
}

// Z0 (software) and Z1 (hardware) are both the emulator's own breakpoints; they are kept apart
// only to report swbreak or hwbreak. Z2..Z4 (watchpoints) are not supported: "".
std::string Session::breakpoint(std::string_view args, bool insert) {
  if (args.size() < 2 || (args[0] != '0' && args[0] != '1') || args[1] != ',') {
    return args.empty() || args[0] < '0' || args[0] > '4' ? kErrBadArgs : "";
  }
  std::string_view rest = args.substr(2);
  rest = rest.substr(0, rest.find(';'));  // conditions and commands are GDB's to evaluate
  const auto al = address_length(rest);   // ADDR,KIND: KIND 4 for an A64 instruction
  if (!al) return kErrBadArgs;
  std::set<std::uint64_t>& mine = args[0] == '0' ? software_ : hardware_;
  std::set<std::uint64_t>& other = args[0] == '0' ? hardware_ : software_;
  const bool set_before = software_.contains(al->address) || hardware_.contains(al->address);
  if (insert) {
    if (!set_before && !target_.insert_breakpoint(al->address)) return kErrBreakpoint;
    mine.insert(al->address);
  } else {
    mine.erase(al->address);
    if (set_before && !other.contains(al->address)) target_.remove_breakpoint(al->address);
  }
  return "OK";
}

std::optional<long> Session::thread_id(std::string_view text) {
  if (text == "-1") return -1;
  const auto id = parse_hex(text);
  if (!id) return std::nullopt;
  if (*id == 0) return 0;
  if (*id > target_.thread_count()) return std::nullopt;
  return static_cast<long>(*id);
}

std::string Session::set_thread(std::string_view args) {
  if (args.empty() || (args[0] != 'g' && args[0] != 'c')) return kErrBadArgs;
  const auto id = thread_id(args.substr(1));
  if (!id) return kErrNoThread;
  unsigned& which = args[0] == 'g' ? general_thread_ : continue_thread_;
  if (*id > 0) which = static_cast<unsigned>(*id - 1);  // -1 (all) and 0 (any) keep the current one
  return "OK";
}

std::string Session::thread_alive(std::string_view args) {
  const auto id = thread_id(args);
  return id && *id > 0 ? "OK" : kErrNoThread;
}

std::string Session::query(std::string_view p) {
  if (p.starts_with("qSupported")) {
    return fmt::format("PacketSize={:x};qXfer:features:read+;swbreak+;hwbreak+;vContSupported+", kPacketSize);
  }
  if (p.starts_with("qXfer:features:read:")) return features(p.substr(20));
  if (p == "qfThreadInfo") {
    std::string out = "m";
    for (unsigned i = 0; i < target_.thread_count(); ++i) out += fmt::format("{}{:x}", i == 0 ? "" : ",", i + 1);
    return out;
  }
  if (p == "qsThreadInfo") return "l";
  if (p == "qC") return fmt::format("QC{:x}", general_thread_ + 1);
  if (p.starts_with("qAttached")) return "1";  // an existing process: D detaches, it is not killed
  if (p.starts_with("qThreadExtraInfo,")) {
    const auto id = thread_id(p.substr(17));
    if (!id || *id <= 0) return kErrNoThread;
    const std::string name = fmt::format("vcpu{}", *id - 1);
    return to_hex({reinterpret_cast<const std::uint8_t*>(name.data()), name.size()});
  }
  return "";
}

// qXfer:features:read:ANNEX:OFFSET,LENGTH -> "m" + more data, or "l" + the last of it.
std::string Session::features(std::string_view args) {
  const std::size_t colon = args.find(':');
  if (colon == std::string_view::npos) return kErrBadArgs;
  if (args.substr(0, colon) != "target.xml") return "E00";  // no such object
  const auto al = address_length(args.substr(colon + 1));
  if (!al) return kErrBadArgs;
  const std::string_view xml = target_xml();
  if (al->address >= xml.size()) return "l";
  // Escapes can double the size: half a packet of XML always fits.
  const std::uint64_t length = std::min<std::uint64_t>(al->length, kPacketSize / 2);
  const std::string_view part = xml.substr(static_cast<std::size_t>(al->address), static_cast<std::size_t>(length));
  const bool last = al->address + part.size() >= xml.size();
  std::string reply(1, last ? 'l' : 'm');
  reply.append(part);  // (operator+ of two temporaries trips GCC 12's -Wrestrict at -O3)
  return reply;
}

// c [ADDR] and s [ADDR]: resume at ADDR if given (GDB manual, "Packets"). s steps the Hc thread.
std::string Session::continue_or_step(std::string_view args, bool step) {
  const unsigned thread = continue_thread_;
  if (!args.empty()) {
    const auto pc = parse_hex(args);
    if (!pc) return kErrBadArgs;
    Registers r = target_.registers(thread);
    r.pc = *pc;
    RegisterMask which;
    which.set(kRegPc);
    target_.set_registers(thread, r, which);
  }
  return run(step ? std::optional<unsigned>(thread) : std::nullopt);
}

// vCont;ACTION[:THREAD]...: the first action naming a thread, or without a thread, applies to
// it. A step action for any thread steps that one vCPU (the others stay stopped, which all-stop
// mode allows); otherwise every vCPU continues. C and S carry a signal, which a vCPU has no
// use for: they act as c and s.
std::string Session::vcont(std::string_view args) {
  std::optional<unsigned> step;
  bool any = false;
  while (!args.empty()) {
    const std::size_t semi = args.find(';');
    std::string_view action = args.substr(0, semi);
    args = semi == std::string_view::npos ? std::string_view{} : args.substr(semi + 1);
    if (action.empty()) return kErrBadArgs;
    const char kind = action[0];
    const std::size_t colon = action.find(':');
    std::optional<long> thread;
    if (colon != std::string_view::npos) {
      thread = thread_id(action.substr(colon + 1));
      if (!thread) return kErrNoThread;
      action = action.substr(0, colon);
    }
    if (kind == 'C' || kind == 'S') {
      if (action.size() != 3 || !parse_hex(action.substr(1))) return kErrBadArgs;
    } else if ((kind != 'c' && kind != 's') || action.size() != 1) {
      return kErrBadArgs;
    }
    any = true;
    if ((kind == 's' || kind == 'S') && !step) {
      step = thread && *thread > 0 ? static_cast<unsigned>(*thread - 1) : continue_thread_;
    }
  }
  if (!any) return kErrBadArgs;
  return run(step);
}

std::string Session::run(std::optional<unsigned> step) {
  if (stop_.kind != StopEvent::Kind::Signal) return stop_reply(stop_);  // it has ended
  resuming_ = true;
  stop_ = target_.resume(step);
  resuming_ = false;
  if (stop_.kind == StopEvent::Kind::Signal) {
    general_thread_ = continue_thread_ = stop_.thread;  // GDB switches to the thread that stopped
  }
  return stop_reply(stop_);
}

std::string Session::stop_reply(const StopEvent& stop) {
  switch (stop.kind) {
    case StopEvent::Kind::Exited: end_ = End::Exited; return fmt::format("W{:02x}", stop.status & 0xFF);
    case StopEvent::Kind::Terminated: end_ = End::Exited; return fmt::format("X{:02x}", stop.signal & 0xFF);
    case StopEvent::Kind::Signal: break;
  }
  std::string reply = fmt::format("T{:02x}thread:{:x};core:{:x};", stop.signal & 0xFF, stop.thread + 1, stop.thread);
  if (stop.breakpoint && stop.signal == kSigTrap) {
    const std::uint64_t pc = target_.registers(stop.thread).pc;
    if (software_.contains(pc)) {
      reply += "swbreak:;";
    } else if (hardware_.contains(pc)) {
      reply += "hwbreak:;";
    }
  }
  return reply;
}

}  // namespace emu::core::gdb
