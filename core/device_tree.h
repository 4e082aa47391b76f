// The flattened device tree the boot vCPU finds in x0 (Devicetree Specification v0.4; Linux
// Documentation/arm64/booting.rst). It describes exactly what the machine has, with the node
// names and properties of QEMU's `virt` machine, so guests written for that board find memory,
// CPUs, PSCI, the timer and the console where they look. Generated and checked with libfdt;
// no Unicorn here.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace emu::core {

/// A range of guest physical addresses.
struct AddressRange {
  std::uint64_t base = 0;  ///< first address; default 0
  std::uint64_t size = 0;  ///< bytes; default 0
};

/// Everything the generated tree says about the machine.
struct DeviceTreeSpec {
  unsigned cpus = 1;                        ///< one /cpus/cpu@N per vCPU, reg = its MPIDR affinity; default 1
  AddressRange ram{};                       ///< /memory@...; default empty
  bool smc = false;                         ///< PSCI and SDEI `method`: "smc" if true, else "hvc" (default)
  std::uint32_t psci_version = 0x1'0001;    ///< PSCI_VERSION encoding: 1.x lists "arm,psci-1.0" and
                                            ///< "arm,psci-0.2", 0.2 only the latter; default 1.1
  bool sdei = true;                         ///< /firmware/sdei ("arm,sdei-1.0"); default true
  std::vector<AddressRange> reserved{};     ///< /reserved-memory no-map children (PV-time pages); default none
  std::string bootargs;                     ///< /chosen/bootargs, omitted when empty (default)
  std::optional<AddressRange> initrd;       ///< /chosen/linux,initrd-start and -end; default none
  bool seeds = true;                        ///< write kaslr-seed and rng-seed; default true (false when
                                            ///< there is no entropy to put in them)
  std::uint64_t kaslr_seed = 0;             ///< /chosen/kaslr-seed; default 0
  std::array<std::uint8_t, 32> rng_seed{};  ///< /chosen/rng-seed (QEMU passes 32 bytes); default zeros
  /// The GICv3 node `intc@8000000` ("arm,gic-v3": distributor and one redistributor region
  /// of 128 KiB per vCPU), the root's interrupt-parent, and the timer's and PL011's
  /// `interrupts`; default true. False describes a machine without interrupts: no such
  /// properties at all, since they would dangle.
  bool gic = true;
};

/// A device tree libfdt cannot build or update (the message is one line for the user).
class DeviceTreeError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// The device tree for `spec`, as a DTB (version 17). Throws DeviceTreeError only if libfdt
/// fails, which would be a bug here.
std::vector<std::uint8_t> build_device_tree(const DeviceTreeSpec& spec);

/// Checks a user-supplied DTB with libfdt (header, structure, strings, every offset): an empty
/// string if it is usable, else one line saying what is wrong.
std::string device_tree_problem(std::span<const std::uint8_t> dtb);

/// A copy of a user DTB with /chosen updated as QEMU does for -dtb with -append/-initrd:
/// bootargs set when `bootargs` is not empty, linux,initrd-start/end set when `initrd` is given.
/// The DTB must have passed device_tree_problem(). Throws DeviceTreeError if libfdt fails.
std::vector<std::uint8_t> update_chosen(std::span<const std::uint8_t> dtb, const std::string& bootargs,
                                        const std::optional<AddressRange>& initrd);

}  // namespace emu::core
