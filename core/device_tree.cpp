// Device tree generation with libfdt's sequential-write API. Node names, compatible strings and
// interrupt specifiers follow QEMU's virt board (hw/arm/virt.c) and the Linux bindings in
// Documentation/devicetree/bindings (arm/psci.yaml, arm/cpus.yaml, timer/arm,arch_timer.yaml,
// serial/pl011.yaml, firmware/sdei.txt, reserved-memory/reserved-memory.yaml).
#include "core/device_tree.h"

#include <libfdt.h>

#include <fmt/format.h>
#include <cstring>
#include <stdexcept>

#include "core/platform.h"
#include "firmware/vm_state.h"

namespace emu::core {
namespace {

// Interrupt specifier cells of the Arm GIC bindings (arm,gic-v3.yaml): type, number, flags.
constexpr std::uint32_t kGicSpi = 0;
constexpr std::uint32_t kGicPpi = 1;
constexpr std::uint32_t kIrqLevelHigh = 4;
constexpr std::uint32_t kApbClockPhandle = 1;
constexpr std::uint32_t kGicPhandle = 2;

void ok(int err, const char* what) {
  if (err < 0) throw DeviceTreeError(fmt::format("libfdt: {}: {}", what, fdt_strerror(err)));
}

// Writes one tree into a fixed buffer. The first libfdt error sticks (later calls fail on the
// broken tree and are ignored), so the node functions need no error plumbing; NOSPACE means
// "retry with a larger buffer".
class Writer {
 public:
  explicit Writer(std::vector<std::uint8_t>& buf) : buf_(buf) {
    step(fdt_create(buf_.data(), static_cast<int>(buf_.size())));
    step(fdt_finish_reservemap(buf_.data()));
  }
  int error() const { return err_; }
  void begin(const std::string& name) { step(fdt_begin_node(buf_.data(), name.c_str())); }
  void end() { step(fdt_end_node(buf_.data())); }
  void str(const char* name, const std::string& value) { raw(name, value.c_str(), value.size() + 1); }
  // A list of strings ("a\0b\0").
  void strs(const char* name, std::initializer_list<const char*> values) {
    std::string joined;
    for (const char* v : values) joined.append(v).push_back('\0');
    raw(name, joined.data(), joined.size());
  }
  void u32(const char* name, std::uint32_t v) { step(fdt_property_u32(buf_.data(), name, v)); }
  void u64(const char* name, std::uint64_t v) { step(fdt_property_u64(buf_.data(), name, v)); }
  void cells(const char* name, std::initializer_list<std::uint32_t> values) {
    std::vector<fdt32_t> be;
    for (const std::uint32_t v : values) be.push_back(cpu_to_fdt32(v));
    raw(name, be.data(), be.size() * sizeof(fdt32_t));
  }
  // reg with #address-cells = #size-cells = 2.
  void reg(std::uint64_t base, std::uint64_t size) { cells("reg", {hi(base), lo(base), hi(size), lo(size)}); }
  void empty(const char* name) { raw(name, nullptr, 0); }
  void bytes(const char* name, std::span<const std::uint8_t> v) { raw(name, v.data(), v.size()); }
  void finish() { step(fdt_finish(buf_.data())); }

 private:
  static std::uint32_t hi(std::uint64_t v) { return static_cast<std::uint32_t>(v >> 32); }
  static std::uint32_t lo(std::uint64_t v) { return static_cast<std::uint32_t>(v); }
  void raw(const char* name, const void* data, std::size_t size) {
    step(fdt_property(buf_.data(), name, data, static_cast<int>(size)));
  }
  void step(int result) {
    if (err_ == 0 && result < 0) err_ = result;
  }
  std::vector<std::uint8_t>& buf_;
  int err_ = 0;
};

void write_cpus(Writer& w, const DeviceTreeSpec& s) {
  w.begin("cpus");
  w.u32("#address-cells", 1);
  w.u32("#size-cells", 0);
  for (unsigned i = 0; i < s.cpus; ++i) {
    // reg = MPIDR_EL1 Aff2..Aff0 (arm/cpus.yaml with #address-cells = 1).
    const auto affinity = static_cast<std::uint32_t>(fw::affinity_of(i));
    w.begin(fmt::format("cpu@{:x}", affinity));
    w.str("device_type", "cpu");
    w.str("compatible", "arm,arm-v8");
    w.str("enable-method", "psci");
    w.u32("reg", affinity);
    w.end();
  }
  w.end();
}

void write_firmware(Writer& w, const DeviceTreeSpec& s) {
  const char* method = s.smc ? "smc" : "hvc";
  w.begin("psci");
  if (s.psci_version >= 0x1'0000) {
    w.strs("compatible", {"arm,psci-1.0", "arm,psci-0.2"});
  } else {
    w.strs("compatible", {"arm,psci-0.2"});
  }
  w.str("method", method);
  w.end();
  if (!s.sdei) return;
  w.begin("firmware");
  w.begin("sdei");
  w.str("compatible", "arm,sdei-1.0");
  w.str("method", method);
  w.end();
  w.end();
}

void write_reserved(Writer& w, const DeviceTreeSpec& s) {
  if (s.reserved.empty()) return;
  w.begin("reserved-memory");
  w.u32("#address-cells", 2);
  w.u32("#size-cells", 2);
  w.empty("ranges");
  for (const AddressRange& r : s.reserved) {
    w.begin(fmt::format("pvtime@{:x}", r.base));
    w.reg(r.base, r.size);
    w.empty("no-map");
    w.end();
  }
  w.end();
}

// Linux Documentation/devicetree/bindings/interrupt-controller/arm,gic-v3.yaml, as QEMU virt
// writes it (without the maintenance interrupt: the model has no virtualization).
void write_gic(Writer& w, const DeviceTreeSpec& s) {
  if (!s.gic) return;
  w.begin(fmt::format("intc@{:x}", kGicDist.base));
  w.str("compatible", "arm,gic-v3");
  w.u32("#interrupt-cells", 3);
  w.empty("interrupt-controller");
  w.u32("#address-cells", 2);
  w.u32("#size-cells", 2);
  w.empty("ranges");
  w.cells("reg", {0, static_cast<std::uint32_t>(kGicDist.base), 0, static_cast<std::uint32_t>(kGicDist.size), 0,
                  static_cast<std::uint32_t>(kGicRedist.base), 0, s.cpus * kGicRedistFrameSize});
  w.u32("#redistributor-regions", 1);
  w.u32("phandle", kGicPhandle);
  w.end();
}

// Interrupt specifiers only with a controller to resolve them (Devicetree Specification 2.4).
void write_devices(Writer& w, const DeviceTreeSpec& s) {
  const bool irqs = s.gic;
  w.begin("timer");
  w.strs("compatible", {"arm,armv8-timer", "arm,armv7-timer"});
  if (irqs) {
    w.cells("interrupts", {kGicPpi, kTimerPpis[0], kIrqLevelHigh, kGicPpi, kTimerPpis[1], kIrqLevelHigh, kGicPpi,
                           kTimerPpis[2], kIrqLevelHigh, kGicPpi, kTimerPpis[3], kIrqLevelHigh});
  }
  w.empty("always-on");
  w.end();

  w.begin("apb-pclk");
  w.str("compatible", "fixed-clock");
  w.u32("#clock-cells", 0);
  w.u32("clock-frequency", kUartClockHz);
  w.str("clock-output-names", "clk24mhz");
  w.u32("phandle", kApbClockPhandle);
  w.end();

  w.begin(fmt::format("pl011@{:x}", kUart.base));
  w.strs("compatible", {"arm,pl011", "arm,primecell"});
  w.reg(kUart.base, kUart.size);
  if (irqs) w.cells("interrupts", {kGicSpi, kUartSpi, kIrqLevelHigh});
  w.strs("clock-names", {"uartclk", "apb_pclk"});
  w.cells("clocks", {kApbClockPhandle, kApbClockPhandle});
  w.end();
}

void write_chosen(Writer& w, const DeviceTreeSpec& s) {
  w.begin("chosen");
  w.str("stdout-path", fmt::format("/pl011@{:x}", kUart.base));
  if (!s.bootargs.empty()) w.str("bootargs", s.bootargs);
  if (s.initrd) {
    w.u64("linux,initrd-start", s.initrd->base);
    w.u64("linux,initrd-end", s.initrd->base + s.initrd->size);
  }
  if (s.seeds) {
    w.u64("kaslr-seed", s.kaslr_seed);
    w.bytes("rng-seed", s.rng_seed);
  }
  w.end();
}

}  // namespace

std::vector<std::uint8_t> build_device_tree(const DeviceTreeSpec& spec) {
  for (std::size_t size = 16 * 1024;; size *= 2) {
    std::vector<std::uint8_t> buf(size);
    Writer w(buf);
    w.begin("");
    w.str("compatible", "linux,dummy-virt");
    w.str("model", "linux,dummy-virt");
    w.u32("#address-cells", 2);
    w.u32("#size-cells", 2);
    if (spec.gic) w.u32("interrupt-parent", kGicPhandle);
    write_firmware(w, spec);
    w.begin(fmt::format("memory@{:x}", spec.ram.base));
    w.str("device_type", "memory");
    w.reg(spec.ram.base, spec.ram.size);
    w.end();
    write_reserved(w, spec);
    write_cpus(w, spec);
    write_gic(w, spec);
    write_devices(w, spec);
    write_chosen(w, spec);
    w.end();
    w.finish();
    if (w.error() == -FDT_ERR_NOSPACE) continue;
    ok(w.error(), "building the device tree");
    buf.resize(fdt_totalsize(buf.data()));
    return buf;
  }
}

namespace {
std::uint32_t be32_at(std::span<const std::uint8_t> b, std::uint64_t at) {
  return (std::uint32_t{b[at]} << 24) | (std::uint32_t{b[at + 1]} << 16) | (std::uint32_t{b[at + 2]} << 8) | b[at + 3];
}

constexpr const char* kBadBlob = "is not a valid device tree blob: ";

// An FDT_PROP's length and name offset, at `at` (just past the token): its value lies in the
// structure block (ending at `end`) and its name is a NUL-terminated string inside the strings
// block (Devicetree Specification v0.4 §5.4.1). libfdt checks the name against the strings
// block's size only from version 17 on; a version-16 name running past it comes out of
// fdt_open_into as a version-17 tree libfdt itself calls truncated.
std::string property_problem(std::span<const std::uint8_t> dtb, std::uint64_t at, std::uint64_t end) {
  if (end - at < 8 || be32_at(dtb, at) > end - at - 8) {
    return fmt::format("{}a property runs past the structure block", kBadBlob);
  }
  const std::uint64_t strings = fdt_off_dt_strings(dtb.data());
  const std::uint64_t strings_size = fdt_size_dt_strings(dtb.data());
  const std::uint64_t name = be32_at(dtb, at + 4);
  if (strings > dtb.size() || strings_size > dtb.size() - strings || name >= strings_size ||
      std::memchr(dtb.data() + strings + name, 0, strings_size - name) == nullptr) {
    return fmt::format("{}a property name lies outside the strings block", kBadBlob);
  }
  return {};
}

// The structure block's tokens (Devicetree Specification v0.4 §5.4.1), walked with every name
// and property length checked against the block, so that libfdt's own walks afterwards always
// move forward: libfdt 1.6.1's fdt_next_tag adds a property's length to its offset unchecked, and
// a length near 2^32 takes fdt_check_full backwards forever (found by fuzz/fuzz_device_tree.cpp).
// `struct_end` gets the offset just past FDT_END: a version-16 header does not say where the block ends.
std::string token_problem(std::span<const std::uint8_t> dtb, std::uint64_t& struct_end) {
  const void* fdt = dtb.data();
  const std::uint64_t begin = fdt_off_dt_struct(fdt);
  const std::uint64_t end = fdt_version(fdt) >= 17 ? begin + fdt_size_dt_struct(fdt) : fdt_totalsize(fdt);
  if (begin > end || end > dtb.size()) return fmt::format("{}its structure block lies outside it", kBadBlob);
  const auto align4 = [](std::uint64_t v) { return (v + 3) & ~std::uint64_t{3}; };
  for (std::uint64_t at = begin; at + 4 <= end;) {
    const std::uint32_t token = be32_at(dtb, at);
    at += 4;
    switch (token) {
      case FDT_BEGIN_NODE: {
        const auto* name = dtb.data() + at;
        const auto* nul = static_cast<const std::uint8_t*>(std::memchr(name, 0, end - at));
        if (nul == nullptr) return fmt::format("{}a node name runs past the structure block", kBadBlob);
        at = align4(at + static_cast<std::uint64_t>(nul - name) + 1);
        break;
      }
      case FDT_PROP:
        if (std::string problem = property_problem(dtb, at, end); !problem.empty()) return problem;
        at = align4(at + 8 + be32_at(dtb, at));
        break;
      case FDT_END_NODE:
      case FDT_NOP: break;
      case FDT_END: struct_end = at; return {};
      default: return fmt::format("{}unknown token {:#x} in the structure block", kBadBlob, token);
    }
  }
  return fmt::format("{}its structure block has no FDT_END", kBadBlob);
}

// Devicetree Specification v0.4 §5.1 and §5.3: the memory reservation block (pairs of
// (address, size) ended by a pair of zeros), the structure block and the strings block are
// separate. fdt_check_full checks each lies inside the blob but neither where the reservation
// list ends nor that the blocks are apart; update_chosen's fdt_open_into copies each block
// whole and would need more room than the blob when they overlap.
std::string block_overlap(std::span<const std::uint8_t> dtb, std::uint64_t struct_end) {
  const void* fdt = dtb.data();
  const int reservations = fdt_num_mem_rsv(fdt);
  if (reservations < 0) {
    return fmt::format("is not a valid device tree blob: its memory reservation block is not terminated ({})",
                       fdt_strerror(reservations));
  }
  struct Block {
    std::uint64_t begin, end;
  };
  const std::uint64_t rsv = fdt_off_mem_rsvmap(fdt);
  // The header gives the structure block's size from version 17 on; for version 16 the walk of
  // token_problem found where its tokens end.
  const std::uint64_t struct_size =
      fdt_version(fdt) >= 17 ? fdt_size_dt_struct(fdt) : struct_end - fdt_off_dt_struct(fdt);
  const Block blocks[3] = {
      {rsv, rsv + (static_cast<std::uint64_t>(reservations) + 1) * sizeof(fdt_reserve_entry)},
      {fdt_off_dt_struct(fdt), std::uint64_t{fdt_off_dt_struct(fdt)} + struct_size},
      {fdt_off_dt_strings(fdt), std::uint64_t{fdt_off_dt_strings(fdt)} + fdt_size_dt_strings(fdt)},
  };
  const auto overlap = [](const Block& a, const Block& b) { return a.begin < b.end && b.begin < a.end; };
  if (overlap(blocks[0], blocks[1]) || overlap(blocks[0], blocks[2])) {
    return "is not a valid device tree blob: its memory reservation block runs into another block";
  }
  if (overlap(blocks[1], blocks[2])) return "is not a valid device tree blob: its structure and strings blocks overlap";
  return {};
}
}  // namespace

std::string device_tree_problem(std::span<const std::uint8_t> dtb) {
  if (dtb.size() < sizeof(fdt_header)) return "is not a device tree blob (shorter than an FDT header)";
  if (fdt_magic(dtb.data()) != FDT_MAGIC) return "is not a device tree blob (bad magic number)";
  if (fdt_totalsize(dtb.data()) > dtb.size()) {
    return fmt::format("is truncated: its header says {} bytes, the file has {}", fdt_totalsize(dtb.data()),
                       dtb.size());
  }
  // Devicetree Specification v0.4 §5.2: version 17, backwards compatible with 16. Older layouts
  // are refused before libfdt walks them: libfdt 1.6.1's fdt_check_full dereferences a null
  // pointer on a version-15 tree (found by fuzz/fuzz_device_tree.cpp).
  if (fdt_version(dtb.data()) < 16) {
    return fmt::format("is a device tree blob of version {}; smccc-emu reads versions 16 and 17",
                       fdt_version(dtb.data()));
  }
  if (const int err = fdt_check_header(dtb.data()); err != 0) {
    return fmt::format("is not a valid device tree blob: {}", fdt_strerror(err));
  }
  std::uint64_t struct_end = 0;
  if (const std::string problem = token_problem(dtb, struct_end); !problem.empty()) return problem;
  if (const int err = fdt_check_full(dtb.data(), dtb.size()); err != 0) {
    return fmt::format("is not a valid device tree blob: {}", fdt_strerror(err));
  }
  if (const std::string overlap = block_overlap(dtb, struct_end); !overlap.empty()) return overlap;
  // Devicetree Specification v0.4 §5.4.2: the structure block starts with the root node.
  // fdt_check_full also accepts one that is only FDT_END, where every path lookup then fails.
  int next = 0;
  if (fdt_next_tag(dtb.data(), 0, &next) != FDT_BEGIN_NODE) {
    return "is not a valid device tree blob: its structure block does not start with the root node";
  }
  return {};
}

std::vector<std::uint8_t> update_chosen(std::span<const std::uint8_t> dtb, const std::string& bootargs,
                                        const std::optional<AddressRange>& initrd) {
  std::vector<std::uint8_t> out(dtb.size() + bootargs.size() + 1024);
  ok(fdt_open_into(dtb.data(), out.data(), static_cast<int>(out.size())), "opening the device tree");
  int chosen = fdt_path_offset(out.data(), "/chosen");
  if (chosen == -FDT_ERR_NOTFOUND) chosen = fdt_add_subnode(out.data(), 0, "chosen");
  ok(chosen, "finding /chosen");
  if (!bootargs.empty()) {
    ok(fdt_setprop(out.data(), chosen, "bootargs", bootargs.c_str(), static_cast<int>(bootargs.size() + 1)),
       "setting bootargs");
  }
  if (initrd) {
    ok(fdt_setprop_u64(out.data(), chosen, "linux,initrd-start", initrd->base), "setting linux,initrd-start");
    ok(fdt_setprop_u64(out.data(), chosen, "linux,initrd-end", initrd->base + initrd->size),
       "setting linux,initrd-end");
  }
  ok(fdt_pack(out.data()), "packing the device tree");
  out.resize(fdt_totalsize(out.data()));
  return out;
}

}  // namespace emu::core
