#include "core/snapshot.h"

#include "core/file_io.h"

#include "core/platform.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <span>
#include <stdexcept>

namespace emu::core {
namespace {

constexpr char kMagic[8] = {'S', 'M', 'C', 'C', 'C', 'E', 'M', 'U'};
constexpr std::size_t kHeaderSize = 8 + 4 + 4 + 8 + 8 + 8;
constexpr std::uint32_t kTagConfig = 0x43'4F'4E'46;  // "CONF"

constexpr std::uint64_t kFnvOffset = 0xCBF2'9CE4'8422'2325ull;

// FNV-1a over `bytes`, continuing from `h` (the hash of what came before).
std::uint64_t fnv1a(std::span<const std::uint8_t> bytes, std::uint64_t h = kFnvOffset) {
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
  out.u64(c.impl_cpus.size());
  for (const fw::ImplCpu& cpu : c.impl_cpus) {
    out.u64(cpu.midr);
    out.u64(cpu.revidr);
    out.u64(cpu.aidr);
  }
  out.u64(c.faults.size());
  for (const fw::FaultRule& r : c.faults) {
    out.u32(r.fid);
    out.u8(static_cast<std::uint8_t>(r.when));
    out.u64(r.n);
    out.u32(static_cast<std::uint32_t>(r.result));
  }
  out.string(c.bootargs);
  out.bytes(c.initrd);
  out.bytes(c.dtb);
  out.u64(static_cast<std::uint64_t>(c.conduit));
  out.boolean(c.pauth);
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
  // Bounded as the firmware bounds it; the firmware re-validates the values.
  c.impl_cpus.resize(in.below(fw::kMaxImplCpus + 1, "CPU implementation count"));
  for (fw::ImplCpu& cpu : c.impl_cpus) {
    cpu.midr = in.u64();
    cpu.revidr = in.u64();
    cpu.aidr = in.u64();
  }
  // Bounded; the firmware checks each rule again (fault_rule_problem).
  c.faults.resize(in.below(1u << 16, "fault rule count"));
  for (fw::FaultRule& r : c.faults) {
    r.fid = in.u32();
    const std::uint8_t when = in.u8();
    if (when > static_cast<std::uint8_t>(fw::FaultRule::When::Fraction))
      throw fw::StateError("corrupt state: a fault rule");
    r.when = static_cast<fw::FaultRule::When>(when);
    r.n = in.u64();
    r.result = static_cast<std::int32_t>(in.u32());
  }
  c.bootargs = in.string();
  const auto initrd = in.bytes();
  c.initrd.assign(initrd.begin(), initrd.end());
  const auto dtb = in.bytes();
  c.dtb.assign(dtb.begin(), dtb.end());
  c.conduit = static_cast<fw::Conduit>(in.below(2, "conduit"));
  c.pauth = in.boolean();
  return c;
}

std::uint64_t read_u64(const std::uint8_t* p) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}
std::uint32_t read_u32(const std::uint8_t* p) {
  return static_cast<std::uint32_t>(read_u64(p) & 0xFFFF'FFFFu);
}

// What a file that is not a regular file is, for the message refusing it.
const char* file_kind(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

// A state file opened for reading: a regular file, or SnapshotError naming why not. Every read
// error is a SnapshotError too (status 65: the file cannot be used), never an exception of the
// standard library.
class StateFile {
 public:
  explicit StateFile(const std::filesystem::path& path) : name_(path.string()) {
    // O_NONBLOCK: opening a FIFO must not wait for a writer (it is refused below); O_NOCTTY: a
    // terminal named here does not become the controlling one.
    fd_ = ::open(name_.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd_ < 0) throw SnapshotError(fmt::format("{}: cannot open: {}", name_, std::strerror(errno)));
    struct stat st {};
    if (::fstat(fd_, &st) != 0) {
      const int e = errno;
      ::close(fd_);
      throw SnapshotError(fmt::format("{}: cannot stat: {}", name_, std::strerror(e)));
    }
    if (!S_ISREG(st.st_mode)) {
      ::close(fd_);
      throw SnapshotError(
          fmt::format("{}: is {}, not a state file (only a regular file is read)", name_, file_kind(st.st_mode)));
    }
  }
  ~StateFile() { ::close(fd_); }
  StateFile(const StateFile&) = delete;
  StateFile& operator=(const StateFile&) = delete;

  const std::string& name() const { return name_; }

  // Reads up to `n` bytes into `dst`; fewer only at the end of the file.
  std::size_t read(std::uint8_t* dst, std::size_t n) {
    std::size_t done = 0;
    while (done < n) {
      const ssize_t got = ::read(fd_, dst + done, n - done);
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) throw SnapshotError(fmt::format("{}: cannot read: {}", name_, std::strerror(errno)));
      if (got == 0) break;
      done += static_cast<std::size_t>(got);
    }
    return done;
  }

 private:
  std::string name_;
  int fd_ = -1;
};

// The payload of a snapshot file, checked against its header; `ram` gets the header's RAM size.
// Reads at most the header's length plus one byte (to see that nothing follows).
std::vector<std::uint8_t> read_payload(const std::filesystem::path& path, std::uint64_t& ram) {
  StateFile file(path);
  const std::string& name = file.name();
  std::uint8_t header[kHeaderSize];
  const std::size_t got = file.read(header, 12);
  if (got < sizeof kMagic || std::memcmp(header, kMagic, sizeof kMagic) != 0) {
    throw SnapshotError(fmt::format("{}: not a smccc-emu state file", name));
  }
  if (got < 12) throw SnapshotError(fmt::format("{}: truncated (incomplete header)", name));
  const std::uint32_t version = read_u32(header + 8);
  if (version != kSnapshotVersion) {
    throw SnapshotError(
        fmt::format("{}: state format version {}; this smccc-emu reads version {}", name, version, kSnapshotVersion));
  }
  if (file.read(header + 12, kHeaderSize - 12) < kHeaderSize - 12) {
    throw SnapshotError(fmt::format("{}: truncated (incomplete header)", name));
  }
  if (read_u32(header + 12) != 0)
    throw SnapshotError(fmt::format("{}: corrupt (header bytes 12-15 are not zero)", name));
  ram = read_u64(header + 16);
  if (ram < kMinRamSize || ram > kMaxRamSize || ram % kPageSize != 0) {
    throw SnapshotError(fmt::format("{}: corrupt (header: {} bytes of RAM is impossible)", name, ram));
  }
  const std::uint64_t length = read_u64(header + 24);
  const std::uint64_t hash = read_u64(header + 32);
  if (length > max_snapshot_payload(ram)) {
    throw SnapshotError(
        fmt::format("{}: corrupt (header: a {}-byte payload, above the {} bytes a machine with {} "
                    "bytes of RAM can save)",
                    name, length, max_snapshot_payload(ram), ram));
  }
  // Grown as the bytes arrive, so a header claiming more than the file has allocates no more
  // than the file holds (plus one chunk).
  constexpr std::size_t kChunk = 64u << 20;
  std::vector<std::uint8_t> payload;
  while (payload.size() < length) {
    const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(kChunk, length - payload.size()));
    const std::size_t at = payload.size();
    payload.resize(at + want);
    const std::size_t n = file.read(payload.data() + at, want);
    if (n < want) {
      throw SnapshotError(fmt::format("{}: truncated ({} of {} payload bytes)", name, at + n, length));
    }
  }
  std::uint8_t extra = 0;
  if (file.read(&extra, 1) != 0) throw SnapshotError(fmt::format("{}: corrupt (data after the end)", name));
  if (fnv1a(payload, fnv1a({header, kHeaderSize - 8})) != hash) {
    throw SnapshotError(fmt::format("{}: corrupt (checksum mismatch)", name));
  }
  return payload;
}

// The stored configuration, which must agree with the header's RAM size.
MachineConfig load_checked_config(fw::StateReader& in, std::uint64_t header_ram) {
  MachineConfig c = load_config(in);
  if (c.memory != header_ram) throw fw::StateError("corrupt state: the RAM size differs from the header's");
  return c;
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
  const std::uint64_t ram = machine.config().memory;
  if (payload.data().size() > max_snapshot_payload(ram)) {
    throw std::logic_error("Machine::save() wrote more than max_snapshot_payload allows");
  }
  put(kSnapshotVersion, 4);
  put(0, 4);
  put(ram, 8);
  put(payload.data().size(), 8);
  put(fnv1a(payload.data(), fnv1a(header)), 8);

  if (const std::string problem = write_file_replacing(path, {header, payload.data()}); !problem.empty()) {
    throw SnapshotError(fmt::format("{}: {}", path.string(), problem));
  }
}

std::unique_ptr<Machine> load_snapshot(const std::filesystem::path& path, std::uint64_t max_instructions) {
  std::uint64_t ram = 0;
  const std::vector<std::uint8_t> payload = read_payload(path, ram);
  try {
    fw::StateReader in(payload);
    MachineConfig config = load_checked_config(in, ram);
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
  std::uint64_t ram = 0;
  const std::vector<std::uint8_t> payload = read_payload(path, ram);
  try {
    fw::StateReader in(payload);
    const MachineConfig stored = load_checked_config(in, ram);
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
