// The gdb stub's protocol layer (core/gdb_protocol.h) against a fake target: framing,
// checksums and escapes as the GDB manual's "Overview" of the Remote Protocol defines them,
// the replies of each command, and malformed input, which must get an error or the empty
// reply and never an exception.
#include <doctest/doctest.h>

#include <fmt/format.h>

#include <map>
#include <random>

#include "core/gdb_protocol.h"

using namespace emu::core::gdb;

namespace {

// "+" and then the framed reply: what the stub sends for a packet it accepted. (Spelled out:
// "+" + std::string trips GCC 12's -Wrestrict at -O3.)
std::string acked(const std::string& reply) {
  std::string wire = "+";
  wire += frame(reply);
  return wire;
}

struct FakeTarget final : Target {
  unsigned threads = 2;
  std::array<Registers, 2> regs{};
  std::map<std::uint64_t, std::uint8_t> memory;  // readable bytes
  std::vector<std::uint64_t> inserted;
  std::vector<std::optional<unsigned>> resumes;
  StopEvent next_stop{StopEvent::Kind::Signal, 1, 5, 0, true};

  unsigned thread_count() override { return threads; }
  Registers registers(unsigned vcpu) override { return regs.at(vcpu); }
  void set_registers(unsigned vcpu, const Registers& r, const RegisterMask& which) override {
    if (which[kRegPc]) regs.at(vcpu).pc = r.pc;
    for (unsigned i = 0; i <= 30; ++i) {
      if (which[i]) regs.at(vcpu).x[i] = r.x[i];
    }
    if (which[kRegV0]) regs.at(vcpu).v[0] = r.v[0];
  }
  std::size_t read_memory(unsigned, std::uint64_t address, std::span<std::uint8_t> out) override {
    for (std::size_t i = 0; i < out.size(); ++i) {
      const auto it = memory.find(address + i);
      if (it == memory.end()) return i;
      out[i] = it->second;
    }
    return out.size();
  }
  std::size_t write_memory(unsigned, std::uint64_t address, std::span<const std::uint8_t> bytes) override {
    for (std::size_t i = 0; i < bytes.size(); ++i) {
      if (!memory.contains(address + i)) return i;
      memory[address + i] = bytes[i];
    }
    return bytes.size();
  }
  bool insert_breakpoint(std::uint64_t address) override {
    inserted.push_back(address);
    return true;
  }
  void remove_breakpoint(std::uint64_t address) override { std::erase(inserted, address); }
  StopEvent resume(std::optional<unsigned> step) override {
    resumes.push_back(step);
    return next_stop;
  }
};

struct Wire final : Sender {
  std::string sent;
  void send(std::string_view bytes) override { sent += bytes; }
};

struct Fixture {
  FakeTarget target;
  Wire wire;
  Session session{target, wire, {StopEvent::Kind::Signal, 0, 5, 0, false}};
  std::string reply(std::string_view packet) { return session.handle(packet); }
};

}  // namespace

TEST_CASE("gdb: a packet is $payload#checksum, the checksum the modulo-256 sum of the payload") {
  CHECK(checksum("") == 0);
  CHECK(checksum("OK") == 0x9a);  // 'O' 0x4f + 'K' 0x4b
  CHECK(frame("OK") == "$OK#9a");
  CHECK(frame("") == "$#00");
}

TEST_CASE("gdb: $, #, } and * in a reply are escaped as } and the character XOR 0x20") {
  CHECK(frame("a$b") ==
        "$a}\x04"
        "b#" +
            fmt::format("{:02x}", checksum("a}\x04"
                                           "b")));
  const std::string framed = frame("#}*");
  CHECK(framed.substr(0, 7) == "$}\x03}]}\x0a");
}

TEST_CASE("gdb: the reader checks checksums, unescapes, and reports 0x03 and acknowledgements") {
  PacketReader reader;
  std::vector<PacketReader::Event> events;
  reader.feed("+$OK#9a-\x03$OK#00", events);
  REQUIRE(events.size() == 5);
  CHECK(events[0].kind == PacketReader::Event::Kind::Ack);
  CHECK(events[1].kind == PacketReader::Event::Kind::Packet);
  CHECK(events[1].payload == "OK");
  CHECK(events[2].kind == PacketReader::Event::Kind::Nack);
  CHECK(events[3].kind == PacketReader::Event::Kind::Interrupt);
  CHECK(events[4].kind == PacketReader::Event::Kind::BadChecksum);
  // Escaped: X with a binary '#' (0x23 sent as } 0x03); the checksum covers the bytes as sent.
  events.clear();
  const std::string body = "X1,1:}\x03";
  reader.feed(fmt::format("${}#{:02x}", body, checksum(body)), events);
  REQUIRE(events.size() == 1);
  CHECK(events[0].payload == "X1,1:#");
  // Split across reads.
  events.clear();
  reader.feed("$O", events);
  CHECK(events.empty());
  reader.feed("K#9", events);
  reader.feed("a", events);
  REQUIRE(events.size() == 1);
  CHECK(events[0].payload == "OK");
}

TEST_CASE("gdb: a $ inside a packet or where its checksum should be starts a new packet") {
  PacketReader reader;
  std::vector<PacketReader::Event> events;
  reader.feed("$m0$OK#9a$g#$OK#9a", events);
  REQUIRE(events.size() == 4);
  CHECK(events[0].kind == PacketReader::Event::Kind::BadChecksum);
  CHECK(events[1].payload == "OK");
  CHECK(events[2].kind == PacketReader::Event::Kind::BadChecksum);
  CHECK(events[3].payload == "OK");
}

TEST_CASE("gdb: a packet longer than PacketSize is discarded as Overflow") {
  PacketReader reader;
  std::vector<PacketReader::Event> events;
  const std::string big(kPacketSize + 10, 'a');
  reader.feed(fmt::format("${}#{:02x}", big, checksum(big)), events);
  REQUIRE(events.size() == 1);
  CHECK(events[0].kind == PacketReader::Event::Kind::Overflow);
}

TEST_CASE("gdb: the session acknowledges each packet, sends - for a bad checksum and resends on -") {
  Fixture f;
  f.session.receive("$?#3f");
  CHECK(f.wire.sent == acked("T05thread:1;core:0;"));
  f.wire.sent.clear();
  f.session.receive("$?#00");
  CHECK(f.wire.sent == "-");
  f.wire.sent.clear();
  f.session.receive("-");
  CHECK(f.wire.sent == frame("T05thread:1;core:0;"));
}

TEST_CASE("gdb: qSupported announces PacketSize, the target description and the break kinds") {
  Fixture f;
  const std::string r = f.reply("qSupported:multiprocess+;swbreak+;hwbreak+;xmlRegisters=i386");
  CHECK(r.find("PacketSize=4000") != std::string::npos);
  CHECK(r.find("qXfer:features:read+") != std::string::npos);
  CHECK(r.find("swbreak+") != std::string::npos);
  CHECK(r.find("hwbreak+") != std::string::npos);
}

TEST_CASE("gdb: the target description names GDB's AArch64 core and FP features and is read in parts") {
  const std::string_view xml = target_xml();
  CHECK(xml.find("<feature name=\"org.gnu.gdb.aarch64.core\">") != std::string_view::npos);
  CHECK(xml.find("<feature name=\"org.gnu.gdb.aarch64.fpu\">") != std::string_view::npos);
  for (const char* reg :
       {"\"x0\"", "\"x30\"", "\"sp\"", "\"pc\"", "\"cpsr\"", "\"v0\"", "\"v31\"", "\"fpsr\"", "\"fpcr\""}) {
    CHECK(xml.find(fmt::format("name={}", reg)) != std::string_view::npos);
  }
  Fixture f;
  std::string whole;
  for (std::size_t off = 0;;) {
    const std::string r = f.reply(fmt::format("qXfer:features:read:target.xml:{:x},100", off));
    REQUIRE(!r.empty());
    REQUIRE((r[0] == 'm' || r[0] == 'l'));
    whole += r.substr(1);
    off += r.size() - 1;
    if (r[0] == 'l') break;
  }
  CHECK(whole == xml);
  CHECK(f.reply("qXfer:features:read:other.xml:0,100") == "E00");
  CHECK(f.reply("qXfer:features:read:target.xml:zz") == "E16");
}

TEST_CASE("gdb: g is x0..x30, sp, pc (8 bytes), cpsr (4), v0..v31 (16), fpsr and fpcr (4), little-endian") {
  Fixture f;
  f.target.regs[0].x[0] = 0x1122334455667788;
  f.target.regs[0].pc = 0x40080000;
  f.target.regs[0].cpsr = 0x3c5;
  const std::string g = f.reply("g");
  CHECK(g.size() == 2 * (33 * 8 + 4 + 32 * 16 + 4 + 4));
  CHECK(g.substr(0, 16) == "8877665544332211");
  CHECK(g.substr(32 * 16, 16) == "0000084000000000");
  CHECK(g.substr(33 * 16, 8) == "c5030000");
  CHECK(f.reply("p20") == "0000084000000000");  // register 0x20: pc
  CHECK(f.reply("p21") == "c5030000");
  CHECK(f.reply("P20=0400084000000000") == "OK");
  CHECK(f.target.regs[0].pc == 0x40080004);
  CHECK(f.reply("P22=0102030405060708090a0b0c0d0e0f10") == "OK");  // v0
  CHECK(f.target.regs[0].v[0][0] == 0x0807060504030201);
  CHECK(f.target.regs[0].v[0][1] == 0x100f0e0d0c0b0a09);
  CHECK(f.reply("G" + g) == "OK");
}

TEST_CASE("gdb: Hg selects the thread whose registers g reads, and threads are the vCPUs") {
  Fixture f;
  f.target.regs[1].pc = 0x1234;
  CHECK(f.reply("qfThreadInfo") == "m1,2");
  CHECK(f.reply("qsThreadInfo") == "l");
  CHECK(f.reply("Hg2") == "OK");
  CHECK(f.reply("p20") == "3412000000000000");
  CHECK(f.reply("qC") == "QC2");
  CHECK(f.reply("Hg3") == "E03");
  CHECK(f.reply("T2") == "OK");
  CHECK(f.reply("T3") == "E03");
  CHECK(f.reply("Hc-1") == "OK");
  CHECK(f.reply("qAttached") == "1");
  CHECK(f.reply("qThreadExtraInfo,2") == "7663707531");  // "vcpu1"
}

TEST_CASE("gdb: m reads what is readable, E0e when nothing is, M and X write") {
  Fixture f;
  for (std::uint64_t a = 0x100; a < 0x104; ++a) f.target.memory[a] = static_cast<std::uint8_t>(a);
  CHECK(f.reply("m100,4") == "00010203");
  CHECK(f.reply("m102,8") == "0203");  // a partial read: the rest is not readable
  CHECK(f.reply("m200,4") == "E0e");
  CHECK(f.reply("M100,2:aabb") == "OK");
  CHECK(f.target.memory[0x100] == 0xaa);
  CHECK(f.reply("X102,1:#") == "OK");
  CHECK(f.target.memory[0x102] == '#');
  CHECK(f.reply("X100,0:") == "OK");
  CHECK(f.reply("M200,1:00") == "E0e");
}

TEST_CASE("gdb: Z0 and Z1 set one emulator breakpoint per address and report swbreak or hwbreak") {
  Fixture f;
  CHECK(f.reply("Z0,40080010,4") == "OK");
  CHECK(f.reply("Z1,40080010,4") == "OK");
  CHECK(f.target.inserted == std::vector<std::uint64_t>{0x40080010});
  CHECK(f.reply("z0,40080010,4") == "OK");
  CHECK(f.target.inserted.size() == 1);  // still a hardware breakpoint there
  f.target.regs[1].pc = 0x40080010;
  CHECK(f.reply("c") == "T05thread:2;core:1;hwbreak:;");
  CHECK(f.reply("z1,40080010,4") == "OK");
  CHECK(f.target.inserted.empty());
  CHECK(f.reply("Z2,1000,4") == "");  // watchpoints: not supported
  CHECK(f.reply("Z0,zz,4") == "E16");
  CHECK(f.reply("Z9,1000,4") == "E16");
}

TEST_CASE("gdb: vCont steps the named thread and continues all otherwise, s and c as well") {
  Fixture f;
  CHECK(f.reply("vCont?") == "vCont;c;C;s;S");
  f.target.next_stop = {StopEvent::Kind::Signal, 1, 5, 0, false};
  CHECK(f.reply("vCont;s:2;c") == "T05thread:2;core:1;");
  CHECK(f.reply("vCont;c") == "T05thread:2;core:1;");
  CHECK(f.reply("s") == "T05thread:2;core:1;");  // the thread that stopped is the one stepped
  REQUIRE(f.target.resumes.size() == 3);
  CHECK(f.target.resumes[0] == std::optional<unsigned>(1));
  CHECK(f.target.resumes[1] == std::nullopt);
  CHECK(f.target.resumes[2] == std::optional<unsigned>(1));
  CHECK(f.reply("vCont;s:9") == "E03");
  CHECK(f.reply("vCont;q") == "E16");
  CHECK(f.reply("vCont;") == "E16");
  CHECK(f.reply("vCont;C0") == "E16");
  CHECK(f.target.resumes.size() == 3);  // none of the bad ones ran the target
}

TEST_CASE("gdb: an exit is reported as W, a termination as X, and ends the session") {
  Fixture f;
  f.target.next_stop = {StopEvent::Kind::Exited, 0, 0, 3, false};
  CHECK(f.reply("c") == "W03");
  CHECK(f.session.end() == Session::End::Exited);
  Fixture g;
  g.target.next_stop = {StopEvent::Kind::Terminated, 0, 11, 0, false};
  CHECK(g.reply("c") == "X0b");
}

TEST_CASE("gdb: k ends the session without a reply, D with OK") {
  Fixture f;
  f.session.receive("$k#6b");
  CHECK(f.wire.sent == "+");
  CHECK(f.session.end() == Session::End::Kill);
  Fixture g;
  g.session.receive("$D#44");
  CHECK(g.wire.sent == acked("OK"));
  CHECK(g.session.end() == Session::End::Detach);
}

TEST_CASE("gdb: malformed packets get an error or the empty reply") {
  Fixture f;
  for (const char* p : {"m",        "m,",      "m1",      "m1,", "mzz,4", "m10000000000000000,1",
                        "M1,2:abc", "M1,1:zz", "M1,2:00", "p",   "p44",   "pzz",
                        "P1",       "P20=12",  "G00",     "Hx1", "H",     "Hgzz",
                        "Tzz",      "czz",     "X1"}) {
    const std::string r = f.reply(p);
    INFO(p << " -> " << r);
    CHECK((r.starts_with("E") && r.size() == 3));
  }
  CHECK(f.reply("") == "");
  CHECK(f.reply("vUnknown") == "");
  CHECK(f.reply("!") == "");
}

TEST_CASE("gdb: random bytes never make the session throw") {
  std::mt19937 rng(15);  // fixed seed: the same bytes every run
  std::uniform_int_distribution<int> byte(0, 255);
  Fixture f;
  for (int round = 0; round < 2000; ++round) {
    std::string chunk;
    const int n = byte(rng) % 64;
    for (int i = 0; i < n; ++i) chunk += static_cast<char>(byte(rng));
    CHECK_NOTHROW(f.session.receive(chunk));
  }
  // A valid packet after all that is still understood.
  f.wire.sent.clear();
  f.session.receive("#00$?#3f");  // a stray checksum first, then the packet
  CHECK(f.wire.sent.find(frame("T05thread:1;core:0;")) != std::string::npos);
}
