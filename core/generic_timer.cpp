#include "core/generic_timer.h"

namespace emu::core {

std::uint64_t GenericTimer::ctl(Kind k, std::uint64_t counter) const {
  const Channel& c = at(k);
  const bool fired = (c.ctl & kEnable) != 0 && counter >= c.cval;
  return c.ctl | (fired ? kIstatus : 0);
}

void GenericTimer::set_tval(Kind k, std::uint64_t value, std::uint64_t counter) {
  const auto delta = static_cast<std::uint64_t>(static_cast<std::int64_t>(static_cast<std::int32_t>(value)));
  at(k).cval = counter + delta;
}

bool GenericTimer::line(Kind k, std::uint64_t counter) const {
  return (ctl(k, counter) & (kEnable | kImask | kIstatus)) == (kEnable | kIstatus);
}

std::optional<std::uint64_t> GenericTimer::next_edge(std::uint64_t counter) const {
  std::optional<std::uint64_t> best;
  for (const Channel& c : channels_) {
    if ((c.ctl & (kEnable | kImask)) != kEnable || c.cval <= counter) continue;
    if (!best || c.cval < *best) best = c.cval;
  }
  return best;
}

void GenericTimer::save(fw::StateWriter& out) const {
  for (const Channel& c : channels_) {
    out.u64(c.ctl);
    out.u64(c.cval);
  }
}

void GenericTimer::load(fw::StateReader& in) {
  for (Channel& c : channels_) {
    c.ctl = in.u64();
    if ((c.ctl & ~(kEnable | kImask)) != 0) throw fw::StateError("corrupt state: a timer's CTL");
    c.cval = in.u64();
  }
}

}  // namespace emu::core
