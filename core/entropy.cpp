#include "core/entropy.h"

#include <sys/random.h>

#include <cerrno>
#include <sstream>

#include "firmware/state_io.h"

namespace emu::core {
namespace {
// TRNG_GET_UUID answers (SMCCC packing of each UUID); one per kind of source, so a guest can
// tell seeded output from real entropy.
constexpr fw::CallUid kHostEntropyUuid{0x266D'7094, 0xA544'0A12, 0x1D72'A5BC,
                                       0xBEAA'82D4};  // 94706d26-120a-44a5-bca5-721dd482aabe
constexpr fw::CallUid kSeededUuid{0x5D9E'2C16, 0x3F47'BB72, 0x0895'28B1,
                                  0x4030'8A0C};  // 162c9e5d-72bb-473f-b128-95080c8a3040
}  // namespace

bool HostEntropy::fill(std::span<std::uint64_t> words) {
  for (std::uint64_t& w : words) {
    if (next_ == buffer_.size()) {
      auto* bytes = reinterpret_cast<std::uint8_t*>(buffer_.data());
      std::size_t got = 0;
      while (got < sizeof buffer_) {
        const ssize_t n = ::getrandom(bytes + got, sizeof buffer_ - got, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;  // TRNG answers NO_ENTROPY; the guest may retry
        got += static_cast<std::size_t>(n);
      }
      next_ = 0;
    }
    w = buffer_[next_];
    buffer_[next_++] = 0;  // handed out: never again
  }
  return true;
}

fw::CallUid HostEntropy::uuid() const {
  return kHostEntropyUuid;
}

SeededEntropy::SeededEntropy(std::uint64_t seed) {
  std::seed_seq seq{static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32)};
  engine_.seed(seq);
}

bool SeededEntropy::fill(std::span<std::uint64_t> words) {
  for (std::uint64_t& w : words) w = engine_();
  return true;
}

fw::CallUid SeededEntropy::uuid() const {
  return kSeededUuid;
}

std::string SeededEntropy::state() const {
  std::ostringstream out;
  out << engine_;
  return out.str();
}

void SeededEntropy::set_state(const std::string& state) {
  std::istringstream in(state);
  std::mt19937_64 engine;
  in >> engine;
  if (!in) throw fw::StateError("corrupt state: the TRNG generator");
  engine_ = engine;
}

}  // namespace emu::core
