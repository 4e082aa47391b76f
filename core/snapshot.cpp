#include "core/snapshot.h"

#include "core/file_io.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fmt/format.h>
#include <fstream>
#include <span>
#include <iterator>

namespace emu::core {
namespace {

constexpr char kMagic[8] = {'S', 'M', 'C', 'C', 'C', 'E', 'M', 'U'};
constexpr std::size_t kHeaderSize = 8 + 4 + 4 + 8 + 8;
constexpr std::uint32_t kTagConfig = 0x43'4F'4E'46;  // "CONF"

std::uint64_t fnv1a(std::span<const std::uint8_t> bytes) {
  std::uint64_t h = 0xCBF2'9CE4'8422'2325ull;
  for (const std::uint8_t b : bytes) {
    h ^= b;
    h *= 0x100'0000'01B3ull;
  }
  return h;
}

// The parts of a MachineConfig that define the VM (everything but the run policy).
void save_config(fw::StateWriter& out, const MachineConfig& c) {
  out.tag(kTagConfig);
  out.u32(c.cpus);
  out.u32(c.pcpus);
  out.u64(c.quantum);
  out.u64(c.memory);
  out.u8(static_cast<std::uint8_t>(c.on_reset));
  out.u64(c.cost.instruction_ns);
  out.u64(c.cost.trap_ns);
  out.u8(c.soc.jep106_bank);
  out.u8(c.soc.jep106_id);
  out.u32(c.soc.soc_id);
  out.u32(c.soc.revision);
  out.string(c.soc.name);
  out.boolean(c.seed.has_value());
  out.u64(c.seed.value_or(0));
  out.boolean(c.epoch_ns.has_value());
  out.u64(c.epoch_ns.value_or(0));
  out.boolean(c.pv_time);
  out.u64(c.sdei_events.size());
  for (const fw::SdeiEventDecl& e : c.sdei_events) {
    out.u32(e.number);
    out.u64((e.shared ? 1u : 0u) | (e.critical ? 2u : 0u) | (e.signalable ? 4u : 0u));
  }
  out.u64(c.sdei_signals.size());
  for (const SdeiSignal& sig : c.sdei_signals) {
    out.u32(sig.event);
    out.u32(sig.vcpu);
    out.u64(sig.at_ns);
  }
  out.string(c.bootargs);
  out.bytes(c.initrd);
  out.bytes(c.dtb);
  out.u64(static_cast<std::uint64_t>(c.conduit));
}

MachineConfig load_config(fw::StateReader& in) {
  in.tag(kTagConfig);
  MachineConfig c;
  c.cpus = in.u32();
  c.pcpus = in.u32();
  c.quantum = in.u64();
  c.memory = in.u64();
  const std::uint8_t on_reset = in.u8();
  if (on_reset > 1) throw fw::StateError("corrupt state: the reset action");
  c.on_reset = static_cast<ResetAction>(on_reset);
  c.cost.instruction_ns = in.u64();
  c.cost.trap_ns = in.u64();
  c.soc.jep106_bank = in.u8();
  c.soc.jep106_id = in.u8();
  c.soc.soc_id = static_cast<std::uint16_t>(in.u32());
  c.soc.revision = in.u32();
  c.soc.name = in.string();
  const bool seeded = in.boolean();
  const std::uint64_t seed = in.u64();
  if (seeded) c.seed = seed;
  const bool epoch = in.boolean();
  const std::uint64_t epoch_ns = in.u64();
  if (epoch) c.epoch_ns = epoch_ns;
  c.pv_time = in.boolean();
  // Bounded so a corrupt count cannot allocate without limit; Machine re-validates the values.
  c.sdei_events.resize(in.below(1u << 16, "SDEI event count"));
  for (fw::SdeiEventDecl& e : c.sdei_events) {
    e.number = in.u32();
    const std::uint8_t bits = static_cast<std::uint8_t>(in.below(8, "SDEI event class"));
    e.shared = (bits & 1) != 0;
    e.critical = (bits & 2) != 0;
    e.signalable = (bits & 4) != 0;
  }
  c.sdei_signals.resize(in.below(1u << 20, "SDEI signal count"));
  for (SdeiSignal& sig : c.sdei_signals) {
    sig.event = in.u32();
    sig.vcpu = in.u32();
    sig.at_ns = in.u64();
  }
  c.bootargs = in.string();
  const auto initrd = in.bytes();
  c.initrd.assign(initrd.begin(), initrd.end());
  const auto dtb = in.bytes();
  c.dtb.assign(dtb.begin(), dtb.end());
  c.conduit = static_cast<fw::Conduit>(in.below(2, "conduit"));
  return c;
}

std::uint64_t read_u64(const std::uint8_t* p) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}
std::uint32_t read_u32(const std::uint8_t* p) { return static_cast<std::uint32_t>(read_u64(p) & 0xFFFF'FFFFu); }

// The payload of a snapshot file, checked against its header.
std::vector<std::uint8_t> read_payload(const std::filesystem::path& path) {
  const std::string name = path.string();
  std::ifstream file(path, std::ios::binary);
  if (!file) throw SnapshotError(fmt::format("{}: cannot open: {}", name, std::strerror(errno)));
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw SnapshotError(fmt::format("{}: is a directory", name));
  std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  if (bytes.size() < sizeof kMagic || std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0) {
    throw SnapshotError(fmt::format("{}: not a smccc-emu state file", name));
  }
  if (bytes.size() < kHeaderSize) throw SnapshotError(fmt::format("{}: truncated (incomplete header)", name));
  const std::uint32_t version = read_u32(bytes.data() + 8);
  if (version != kSnapshotVersion) {
    throw SnapshotError(fmt::format("{}: state format version {}; this smccc-emu reads version {}", name, version,
                                    kSnapshotVersion));
  }
  const std::uint64_t length = read_u64(bytes.data() + 16);
  const std::uint64_t hash = read_u64(bytes.data() + 24);
  if (bytes.size() - kHeaderSize < length) {
    throw SnapshotError(fmt::format("{}: truncated ({} of {} payload bytes)", name, bytes.size() - kHeaderSize, length));
  }
  if (bytes.size() - kHeaderSize > length) throw SnapshotError(fmt::format("{}: corrupt (data after the end)", name));
  std::vector<std::uint8_t> payload(bytes.begin() + kHeaderSize, bytes.end());
  if (fnv1a(payload) != hash) throw SnapshotError(fmt::format("{}: corrupt (checksum mismatch)", name));
  return payload;
}

}  // namespace

// Whole or not at all (write_file_replacing).
void save_snapshot(const Machine& machine, const std::filesystem::path& path) {
  fw::StateWriter payload;
  save_config(payload, machine.config());
  machine.save(payload);
  std::vector<std::uint8_t> header(kMagic, kMagic + sizeof kMagic);
  const auto put = [&header](std::uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) header.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
  };
  put(kSnapshotVersion, 4);
  put(0, 4);
  put(payload.data().size(), 8);
  put(fnv1a(payload.data()), 8);

  if (const std::string problem = write_file_replacing(path, {header, payload.data()}); !problem.empty()) {
    throw SnapshotError(fmt::format("{}: {}", path.string(), problem));
  }
}

std::unique_ptr<Machine> load_snapshot(const std::filesystem::path& path, std::uint64_t max_instructions) {
  const std::vector<std::uint8_t> payload = read_payload(path);
  try {
    fw::StateReader in(payload);
    MachineConfig config = load_config(in);
    config.max_instructions = max_instructions;
    auto machine = std::make_unique<Machine>(config);
    machine->restore(in);
    return machine;
  } catch (const fw::StateError& e) {
    throw SnapshotError(fmt::format("{}: {}", path.string(), e.what()));
  } catch (const ConfigError& e) {
    throw SnapshotError(fmt::format("{}: corrupt (impossible configuration: {})", path.string(), e.what()));
  }
}

void restore_snapshot(Machine& machine, const std::filesystem::path& path) {
  const std::vector<std::uint8_t> payload = read_payload(path);
  try {
    fw::StateReader in(payload);
    const MachineConfig stored = load_config(in);
    fw::StateWriter mine;
    fw::StateWriter theirs;
    save_config(mine, machine.config());
    save_config(theirs, stored);
    if (mine.data() != theirs.data()) {
      throw SnapshotError(fmt::format("{}: made for another configuration ({} vCPUs, {} bytes of RAM)", path.string(),
                                      stored.cpus, stored.memory));
    }
    machine.restore(in);
  } catch (const fw::StateError& e) {
    throw SnapshotError(fmt::format("{}: {}", path.string(), e.what()));
  }
}

}  // namespace emu::core
