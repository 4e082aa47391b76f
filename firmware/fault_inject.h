// Firmware fault injection: a host makes chosen calls of a function answer one of the errors
// its specification lets it return, to test how a guest copes (smccc-emu's own; no
// specification or KVM interface defines it). The rules are configuration; which call a rule
// has reached is VM state, saved with it, so an injected fault lands on the same call every run.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace emu::fw {

struct FaultRule {
  enum class When : std::uint8_t {
    Every,     ///< every call of the function
    Nth,       ///< only the `n`th call (from 1)
    Fraction,  ///< `n` percent of the calls (1..100), chosen by a generator seeded with the VM's seed
  };
  std::uint32_t fid = 0;  ///< the function ID, as the dispatcher sees it (SVE hint bit clear)
  When when = When::Every;
  std::uint64_t n = 0;      ///< Nth: the call number; Fraction: the percentage
  std::int32_t result = 0;  ///< the error x0 gets, one of spec_errors(fid)
};

/// An error a function may return, with its specification's name ("NO_ENTROPY").
struct SpecError {
  std::int32_t code;
  std::string_view name;
};

/// The errors the specification of `fid` lists for it (DEN0022 §5, DEN0098 §2, DEN0054C §5,
/// DEN0028 §7, DEN0057A, Linux's hypercalls.rst); empty for a function the model cannot fail.
std::span<const SpecError> spec_errors(std::uint32_t fid);
/// The code `name` stands for among `fid`'s spec_errors, if it is one of them.
std::optional<std::int32_t> spec_error_code(std::uint32_t fid, std::string_view name);
/// spec_errors(fid) as text: "NOT_SUPPORTED (-1), NO_ENTROPY (-3)".
std::string spec_errors_text(std::uint32_t fid);
/// Why `rule` cannot be injected ("" if it can): a function with no listed error, a result it
/// may not return, N = 0, a percentage outside 1..100.
std::string fault_rule_problem(const FaultRule& rule);

class FaultInjector {
 public:
  FaultInjector(std::vector<FaultRule> rules, std::uint64_t seed);

  bool empty() const { return rules_.empty(); }
  const std::vector<FaultRule>& rules() const { return rules_; }
  /// Counts this call of `fid` for every rule naming it; the result to inject, if one fires
  /// (the first rule that does).
  std::optional<std::int32_t> on_call(std::uint32_t fid);

  /// Calls each rule has counted (VM state).
  const std::vector<std::uint64_t>& counts() const { return counts_; }
  void set_counts(std::vector<std::uint64_t> counts) { counts_ = std::move(counts); }

 private:
  bool fires(std::size_t index, std::uint64_t call) const;

  std::vector<FaultRule> rules_;
  std::vector<std::uint64_t> counts_;
  std::uint64_t seed_;
};

}  // namespace emu::fw
