// Helpers for firmware tests: build a call the way core does and dispatch it.
#pragma once

#include <initializer_list>

#include "firmware/firmware.h"

namespace emu::test {

/// Registers x0..x17 set to distinct sentinels, so a test can tell which ones changed.
inline fw::SmcccCall sentinel_call(std::uint64_t x0, fw::Conduit conduit = fw::Conduit::Hvc) {
  fw::SmcccCall call;
  for (std::size_t i = 0; i < call.x.size(); ++i) call.x[i] = 0x5EC0'0000'0000'0000ull | (i << 8) | i;
  call.x[0] = x0;
  call.conduit = conduit;
  return call;
}

inline fw::SmcccResult dispatch(fw::Firmware& firmware, std::uint64_t x0,
                                std::initializer_list<std::uint64_t> args = {},
                                fw::Conduit conduit = fw::Conduit::Hvc) {
  fw::SmcccCall call = sentinel_call(x0, conduit);
  std::size_t i = 1;
  for (std::uint64_t a : args) call.x[i++] = a;
  return firmware.dispatch(call);
}

/// A call from `vcpu` (x0 = fid, x1.. = args, the rest sentinels).
inline fw::SmcccResult call_from(fw::Firmware& firmware, unsigned vcpu, std::uint64_t fid,
                                 std::initializer_list<std::uint64_t> args = {}) {
  fw::SmcccCall call = sentinel_call(fid);
  call.vcpu = vcpu;
  std::size_t i = 1;
  for (std::uint64_t a : args) call.x[i++] = a;
  return firmware.dispatch(call);
}

constexpr std::uint64_t kNotSupported = ~std::uint64_t{0};
constexpr std::uint64_t neg(std::int64_t v) {
  return static_cast<std::uint64_t>(v);
}

}  // namespace emu::test
