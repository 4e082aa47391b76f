// The generated device tree, read back with libfdt, and where the machine puts it (Devicetree
// Specification v0.4; Linux Documentation/arm64/booting.rst; the Linux DT bindings named).
#include <doctest/doctest.h>
#include <libfdt.h>

#include <string>
#include <vector>

#include "core/device_tree.h"
#include "core/machine.h"
#include "tests/core/program.h"

using namespace emu;
using core::DeviceTreeSpec;

namespace {

struct Tree {
  std::vector<std::uint8_t> blob;
  explicit Tree(const DeviceTreeSpec& spec) : blob(core::build_device_tree(spec)) {}
  explicit Tree(std::span<const std::uint8_t> b) : blob(b.begin(), b.end()) {}
  int node(const char* path) const { return fdt_path_offset(blob.data(), path); }
  // A property as bytes; empty optional if absent.
  std::optional<std::string> prop(const char* path, const char* name) const {
    int len = 0;
    const void* v = fdt_getprop(blob.data(), node(path), name, &len);
    if (v == nullptr) return std::nullopt;
    return std::string(static_cast<const char*>(v), static_cast<std::size_t>(len));
  }
  std::uint64_t u64(const char* path, const char* name) const {
    const auto p = prop(path, name);
    REQUIRE(p);
    REQUIRE(p->size() == 8);
    return fdt64_to_cpu(*reinterpret_cast<const fdt64_t*>(p->data()));
  }
  std::uint32_t u32(const char* path, const char* name) const {
    const auto p = prop(path, name);
    REQUIRE(p);
    REQUIRE(p->size() == 4);
    return fdt32_to_cpu(*reinterpret_cast<const fdt32_t*>(p->data()));
  }
};

std::string strs(std::initializer_list<const char*> list) {
  std::string out;
  for (const char* s : list) out.append(s).push_back('\0');
  return out;
}

DeviceTreeSpec base_spec() {
  return {.cpus = 1, .ram = {0x4000'0000, 128u << 20}};
}

}  // namespace

TEST_CASE("Device tree: libfdt accepts it whole, and the root is QEMU virt's linux,dummy-virt with 2 address cells") {
  const Tree t(base_spec());
  CHECK(fdt_check_full(t.blob.data(), t.blob.size()) == 0);
  CHECK(fdt_version(t.blob.data()) == 17);
  CHECK(t.prop("/", "compatible") == strs({"linux,dummy-virt"}));
  CHECK(t.u32("/", "#address-cells") == 2);
  CHECK(t.u32("/", "#size-cells") == 2);
  CHECK(t.prop("/memory@40000000", "device_type") == strs({"memory"}));
  const auto reg = t.prop("/memory@40000000", "reg");
  REQUIRE(reg);
  CHECK(*reg == std::string("\0\0\0\0\x40\0\0\0\0\0\0\0\x08\0\0\0", 16));
}

TEST_CASE(
    "Device tree: one cpu node per vCPU with reg = MPIDR Aff1 << 8 | Aff0 and enable-method psci (arm/cpus.yaml)") {
  DeviceTreeSpec spec = base_spec();
  spec.cpus = 18;
  const Tree t(spec);
  CHECK(t.u32("/cpus", "#address-cells") == 1);
  CHECK(t.u32("/cpus", "#size-cells") == 0);
  CHECK(t.u32("/cpus/cpu@0", "reg") == 0);
  CHECK(t.u32("/cpus/cpu@f", "reg") == 0xF);
  CHECK(t.u32("/cpus/cpu@100", "reg") == 0x100);  // vCPU 16: cluster 1, core 0
  CHECK(t.u32("/cpus/cpu@101", "reg") == 0x101);
  CHECK(t.node("/cpus/cpu@102") < 0);
  CHECK(t.prop("/cpus/cpu@101", "enable-method") == strs({"psci"}));
  CHECK(t.prop("/cpus/cpu@101", "device_type") == strs({"cpu"}));
}

TEST_CASE(
    "Device tree: PSCI and SDEI name the configured conduit, PSCI 0.2 drops the psci-1.0 compatible (arm/psci.yaml)") {
  DeviceTreeSpec spec = base_spec();
  CHECK(Tree(spec).prop("/psci", "compatible") == strs({"arm,psci-1.0", "arm,psci-0.2"}));
  CHECK(Tree(spec).prop("/psci", "method") == strs({"hvc"}));
  CHECK(Tree(spec).prop("/firmware/sdei", "compatible") == strs({"arm,sdei-1.0"}));
  spec.smc = true;
  spec.psci_version = 0x2;
  const Tree t(spec);
  CHECK(t.prop("/psci", "compatible") == strs({"arm,psci-0.2"}));
  CHECK(t.prop("/psci", "method") == strs({"smc"}));
  CHECK(t.prop("/firmware/sdei", "method") == strs({"smc"}));
  spec.sdei = false;
  CHECK(Tree(spec).node("/firmware") < 0);
}

TEST_CASE(
    "Device tree: without an interrupt controller no node carries interrupts, with one, the timer has 4 PPIs and the "
    "PL011 SPI 1") {
  DeviceTreeSpec spec = base_spec();
  spec.gic = false;
  const Tree none(spec);
  CHECK_FALSE(none.prop("/", "interrupt-parent"));
  CHECK_FALSE(none.prop("/intc@8000000", "compatible"));
  CHECK_FALSE(none.prop("/timer", "interrupts"));
  CHECK_FALSE(none.prop("/pl011@9000000", "interrupts"));
  CHECK(none.prop("/timer", "always-on"));
  spec.gic = true;
  const Tree gic(spec);
  CHECK(gic.u32("/", "interrupt-parent") == gic.u32("/intc@8000000", "phandle"));
  const auto timer = gic.prop("/timer", "interrupts");
  REQUIRE(timer);
  REQUIRE(timer->size() == 48u);
  const auto cell = [&](std::size_t i) { return fdt32_to_cpu(reinterpret_cast<const fdt32_t*>(timer->data())[i]); };
  CHECK((cell(0) == 1 && cell(1) == 13 && cell(2) == 4));    // secure physical, PPI, level-high
  CHECK((cell(9) == 1 && cell(10) == 10 && cell(11) == 4));  // hypervisor
  CHECK(gic.prop("/pl011@9000000", "interrupts") == std::string("\0\0\0\0\0\0\0\x01\0\0\0\x04", 12));
}

// Linux's arm,gic-v3 binding: 3 interrupt cells, the distributor then one redistributor region
// covering 128 KiB per CPU (GICR_TYPER.Last ends the walk), as QEMU virt's `intc` node.
TEST_CASE("Device tree: the GICv3 node describes the distributor and a redistributor region of 128 KiB per vCPU") {
  DeviceTreeSpec spec = base_spec();
  spec.cpus = 3;
  const Tree t(spec);
  CHECK(t.prop("/intc@8000000", "compatible") == std::string("arm,gic-v3\0", 11));
  CHECK(t.u32("/intc@8000000", "#interrupt-cells") == 3);
  CHECK(t.prop("/intc@8000000", "interrupt-controller"));
  CHECK(t.u32("/intc@8000000", "#redistributor-regions") == 1);
  const auto reg = t.prop("/intc@8000000", "reg");
  REQUIRE(reg);
  REQUIRE(reg->size() == 32u);
  const auto cell = [&](std::size_t i) { return fdt32_to_cpu(reinterpret_cast<const fdt32_t*>(reg->data())[i]); };
  CHECK((cell(1) == 0x0800'0000u && cell(3) == 0x1'0000u && cell(5) == 0x080A'0000u && cell(7) == 3 * 0x2'0000u));
}

TEST_CASE("Device tree: the PL011 is stdout-path with a 24 MHz apb-pclk for both its clocks (serial/pl011.yaml)") {
  const Tree t(base_spec());
  CHECK(t.prop("/chosen", "stdout-path") == strs({"/pl011@9000000"}));
  CHECK(t.prop("/pl011@9000000", "compatible") == strs({"arm,pl011", "arm,primecell"}));
  CHECK(t.prop("/pl011@9000000", "clock-names") == strs({"uartclk", "apb_pclk"}));
  const std::uint32_t ph = t.u32("/apb-pclk", "phandle");
  CHECK(fdt_node_offset_by_phandle(t.blob.data(), ph) == t.node("/apb-pclk"));
  CHECK(t.u32("/apb-pclk", "clock-frequency") == 24'000'000);
}

TEST_CASE("Device tree: /chosen has bootargs only when given, the initrd as 64-bit start and end, and the seeds") {
  DeviceTreeSpec spec = base_spec();
  CHECK_FALSE(Tree(spec).prop("/chosen", "bootargs"));
  CHECK_FALSE(Tree(spec).prop("/chosen", "linux,initrd-start"));
  spec.bootargs = "console=ttyAMA0 earlycon";
  spec.initrd = core::AddressRange{0x4060'0000, 0x1234};
  spec.kaslr_seed = 0x1122'3344'5566'7788;
  spec.rng_seed[31] = 0xAB;
  const Tree t(spec);
  CHECK(t.prop("/chosen", "bootargs") == strs({"console=ttyAMA0 earlycon"}));
  CHECK(t.u64("/chosen", "linux,initrd-start") == 0x4060'0000u);
  CHECK(t.u64("/chosen", "linux,initrd-end") == 0x4060'1234u);
  CHECK(t.u64("/chosen", "kaslr-seed") == 0x1122'3344'5566'7788u);
  CHECK(t.prop("/chosen", "rng-seed")->size() == 32u);
  CHECK(static_cast<std::uint8_t>(t.prop("/chosen", "rng-seed")->back()) == 0xAB);
  spec.seeds = false;  // no entropy: no seed at all rather than zeros Linux might credit
  CHECK_FALSE(Tree(spec).prop("/chosen", "rng-seed"));
  CHECK_FALSE(Tree(spec).prop("/chosen", "kaslr-seed"));
}

TEST_CASE("Device tree: PV-time pages are no-map children of /reserved-memory (reserved-memory.yaml)") {
  DeviceTreeSpec spec = base_spec();
  CHECK(Tree(spec).node("/reserved-memory") < 0);
  spec.reserved.push_back({0x47FF'0000, 0x1'0000});
  const Tree t(spec);
  CHECK(t.prop("/reserved-memory", "ranges") == std::string());
  CHECK(t.prop("/reserved-memory/pvtime@47ff0000", "no-map"));
}

TEST_CASE("Device tree: a user DTB is refused when truncated, of another magic or structurally broken") {
  std::vector<std::uint8_t> good = core::build_device_tree(base_spec());
  CHECK(core::device_tree_problem(good).empty());
  CHECK_FALSE(core::device_tree_problem(std::span(good).first(good.size() - 1)).empty());
  CHECK_FALSE(core::device_tree_problem(std::span(good).first(20)).empty());
  std::vector<std::uint8_t> magic = good;
  magic[0] = 0;
  CHECK_FALSE(core::device_tree_problem(magic).empty());
  std::vector<std::uint8_t> broken = good;
  const std::uint32_t off_struct = fdt_off_dt_struct(good.data());
  broken[off_struct + 3] = 0x7F;  // the first token is no longer FDT_BEGIN_NODE
  CHECK_FALSE(core::device_tree_problem(broken).empty());
}

// Devicetree Specification v0.4 §5.4.2: the structure block starts with the root node's
// FDT_BEGIN_NODE. libfdt's fdt_check_full accepts a block that is only FDT_END (no node at all),
// yet fdt_path_offset() then fails (FDT_ERR_BADOFFSET); found by fuzz/fuzz_device_tree.cpp, where
// update_chosen failed on a DTB the check had accepted.
TEST_CASE("Device tree: a user DTB whose structure block does not start with the root node is refused") {
  const std::vector<std::uint8_t> good = core::build_device_tree(base_spec());
  const std::uint32_t off_struct = fdt_off_dt_struct(good.data());
  std::vector<std::uint8_t> bad = good;
  bad[off_struct + 3] = FDT_END;  // big-endian: the first token's low byte (FDT_BEGIN_NODE is 1)
  CHECK(core::device_tree_problem(bad).find("root node") != std::string::npos);
}

// Devicetree Specification v0.4 §5.3: the memory reservation block is a list of (address, size)
// pairs ended by a pair of zeros, and §5.1 places it before the structure block. libfdt's
// fdt_check_full does not check where the list ends: a list running on into the structure block
// passes, and fdt_open_into then needs more room than the file (FDT_ERR_NOSPACE in
// update_chosen). Found by fuzz/fuzz_device_tree.cpp.
TEST_CASE("Device tree: a user DTB whose memory reservation block runs into another block is refused") {
  const std::vector<std::uint8_t> good = core::build_device_tree(base_spec());
  const std::uint32_t off_rsvmap = fdt_off_mem_rsvmap(good.data());
  REQUIRE(fdt_num_mem_rsv(good.data()) == 0);  // only the terminating pair
  std::vector<std::uint8_t> bad = good;
  bad[off_rsvmap + 10] = 0x40;  // the terminator's size becomes 0x0040'0000'0000'0000
  CHECK(core::device_tree_problem(bad).find("memory reservation block") != std::string::npos);
}

// Devicetree Specification v0.4 §5.2: version 17, compatible with 16. libfdt 1.6.1's
// fdt_check_full crashes (null pointer) on a version-15 header with last_comp_version 0, so the
// version is checked first. Found by fuzz/fuzz_device_tree.cpp (smccc-emu --dtb died of SIGSEGV).
TEST_CASE("Device tree: a user DTB of a version before 16 is refused without libfdt walking it") {
  std::vector<std::uint8_t> old = core::build_device_tree(base_spec());
  const auto put32 = [&old](std::size_t at, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) old[at + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(v >> (24 - 8 * i));
  };
  put32(20, 15);  // version
  put32(24, 0);   // last_comp_version
  CHECK(core::device_tree_problem(old) == "is a device tree blob of version 15; smccc-emu reads versions 16 and 17");
}

// Devicetree Specification v0.4 §5.4.1: FDT_PROP is followed by the value's length and its
// bytes, inside the structure block. libfdt 1.6.1's fdt_check_full loops forever on a length of
// 0xFFFFFFF4 (its offset goes back by 12 - 12 = 0 each step), so smccc-emu --dtb hung; the
// tokens are now walked with every length checked first. Found by fuzz/fuzz_device_tree.cpp.
TEST_CASE("Device tree: a user DTB with a property longer than its structure block is refused") {
  std::vector<std::uint8_t> bad = core::build_device_tree(base_spec());
  const std::uint32_t off_struct = fdt_off_dt_struct(bad.data());
  // Root node: FDT_BEGIN_NODE, its empty name padded to 4 bytes, then the first FDT_PROP and its length.
  REQUIRE(bad[off_struct + 11] == FDT_PROP);
  for (int i = 0; i < 4; ++i) bad[off_struct + 12 + static_cast<std::size_t>(i)] = i < 3 ? 0xFF : 0xF4;
  CHECK(core::device_tree_problem(bad).find("a property runs past the structure block") != std::string::npos);
}

namespace {
// `dtb` with the big-endian header word at byte `at` set to `v`.
std::vector<std::uint8_t> with_header_word(std::vector<std::uint8_t> dtb, std::size_t at, std::uint32_t v) {
  REQUIRE(dtb.size() >= at + 4);
  for (std::size_t i = 0; i < 4; ++i) dtb[at + i] = static_cast<std::uint8_t>(v >> (24 - 8 * i));
  return dtb;
}
constexpr std::size_t kVersionWord = 20;      // fdt_header.version
constexpr std::size_t kOffStringsWord = 12;   // fdt_header.off_dt_strings
constexpr std::size_t kSizeStringsWord = 32;  // fdt_header.size_dt_strings
}  // namespace

// A version-16 header does not give the structure block's size (Devicetree Specification v0.4
// §5.2), and libfdt checks names only against the whole blob then. A version-16 tree whose
// strings block starts inside its structure block, or whose last property name runs past the
// strings block, passed the check, and update_chosen made of it a version-17 tree libfdt calls
// truncated (FDT_ERR_TRUNCATED). Found by fuzz/fuzz_device_tree.cpp.
TEST_CASE("Device tree: a version-16 user DTB whose blocks overlap or whose names leave the strings block is refused") {
  const std::vector<std::uint8_t> good = core::build_device_tree(base_spec());
  const std::vector<std::uint8_t> v16 = with_header_word(good, kVersionWord, 16);
  REQUIRE(core::device_tree_problem(v16).empty());
  const std::vector<std::uint8_t> overlapping =
      with_header_word(v16, kOffStringsWord, fdt_off_dt_strings(good.data()) - 0x20);
  CHECK(core::device_tree_problem(overlapping).find("overlap") != std::string::npos);
  // The strings block ends with the last name ("compatible" or another): cut off its NUL.
  const std::vector<std::uint8_t> short_strings =
      with_header_word(v16, kSizeStringsWord, fdt_size_dt_strings(good.data()) - 1);
  CHECK(core::device_tree_problem(short_strings).find("property name") != std::string::npos);
}

TEST_CASE("Device tree: a user DTB keeps its nodes and gets bootargs and the initrd in /chosen, as QEMU's -dtb does") {
  std::vector<std::uint8_t> user = core::build_device_tree(base_spec());
  const std::vector<std::uint8_t> out =
      core::update_chosen(user, "root=/dev/vda", core::AddressRange{0x4100'0000, 0x100});
  const Tree t(out);
  CHECK(fdt_check_full(out.data(), out.size()) == 0);
  CHECK(t.prop("/chosen", "bootargs") == strs({"root=/dev/vda"}));
  CHECK(t.u64("/chosen", "linux,initrd-end") == 0x4100'0100u);
  CHECK(t.node("/psci") >= 0);
}

// ---- placement by the machine ----

TEST_CASE("Boot payload: the initrd, then the device tree, each on the first free 2 MiB boundary above the image") {
  core::MachineConfig config;
  config.initrd.assign(3u << 20, 0x5A);  // 3 MiB
  test::TestMachine m(test::Program().at(0, {test::a64::kWfi}), config);
  const Tree t(m.machine->device_tree());
  CHECK(t.u64("/chosen", "linux,initrd-start") == 0x4020'0000u);
  CHECK(t.u64("/chosen", "linux,initrd-end") == 0x4050'0000u);
  CHECK(m.machine->device_tree_address() == 0x4060'0000u);
  CHECK(m.x(0) == 0x4060'0000u);
  CHECK(*m.machine->ram().at(0x404F'FFFF) == 0x5A);
}

TEST_CASE(
    "Boot payload: with RAM too small for a 2 MiB boundary the device tree goes on a 4 KiB one, no room at all is an "
    "ImageError") {
  core::MachineConfig config;
  config.memory = 1u << 20;
  config.pv_time = true;
  test::TestMachine m(test::Program().at(0, {test::a64::kWfi}), config);
  CHECK(m.x(0) == 0x4008'1000u);        // just above the one-page image
  config.initrd.assign(900u << 10, 1);  // leaves no room below the PV-time page
  core::Machine big(config);
  CHECK_THROWS_AS(
      big.load(core::image_from_raw_bytes(std::vector<std::uint8_t>(4096), "t", big.layout(), core::kRawImageAddress)),
      core::ImageError);
  CHECK_THROWS_AS(static_cast<void>(big.run()), std::logic_error);  // a refused load leaves nothing to run
}

TEST_CASE("Boot payload: the same seed gives the same device tree (kaslr-seed, rng-seed), another seed another") {
  const auto dtb_for = [](std::uint64_t seed) {
    core::MachineConfig config;
    config.seed = seed;
    test::TestMachine m(test::Program().at(0, {test::a64::kWfi}), config);
    const auto d = m.machine->device_tree();
    return std::vector<std::uint8_t>(d.begin(), d.end());
  };
  CHECK(dtb_for(7) == dtb_for(7));
  CHECK(Tree(dtb_for(7)).u64("/chosen", "kaslr-seed") != Tree(dtb_for(8)).u64("/chosen", "kaslr-seed"));
}

TEST_CASE("Boot payload: MachineConfig::dtb must be a valid DTB of at most 2 MiB (ConfigError naming dtb)") {
  core::MachineConfig config;
  config.dtb = {1, 2, 3, 4};
  try {
    core::Machine m(config);
    FAIL("accepted");
  } catch (const core::ConfigError& e) {
    CHECK(e.setting() == "dtb");
  }
  config.dtb = core::build_device_tree(base_spec());
  config.bootargs = "x=1";
  test::TestMachine m(test::Program().at(0, {test::a64::kWfi}), config);
  CHECK(Tree(m.machine->device_tree()).prop("/chosen", "bootargs") == strs({"x=1"}));
}
