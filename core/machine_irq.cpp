// The machine's side of interrupts: timer outputs into the GIC, vCPUs waiting in WFI, and
// the GIC telling the machine what changed (Arm ARM D1.6.2 "Wait For Interrupt"; GICv3
// IHI 0069H §4.1 "The CPU interface signals an interrupt"). The vCPU's side (IRQ entry at a
// block boundary) is in core/vcpu.cpp.
#include <algorithm>

#include "core/machine.h"
#include "core/vcpu.h"

namespace emu::core {

using fw::kCounterTickNs;

std::uint64_t Machine::counter_of(unsigned index) const {
  return std::max(counter_high_water_, slots_[index].stats.virtual_ns / kCounterTickNs);
}

void Machine::update_timer_lines(unsigned index, std::uint64_t counter) {
  const GenericTimer& t = slots_[index].timer;
  for (const auto k : {GenericTimer::Kind::Virtual, GenericTimer::Kind::Physical}) {
    gic_.set_ppi_line(index, GenericTimer::intid(k), t.line(k, counter));
  }
}

// The first instruction boundary at or after the next timer edge: the slice must end there so
// the interrupt is taken on time, and no block hook needs to look at the clock.
std::optional<std::uint64_t> Machine::instructions_to_timer(unsigned index, std::uint64_t counter) const {
  const std::optional<std::uint64_t> edge = slots_[index].timer.next_edge(counter);
  if (!edge || *edge > ~std::uint64_t{0} / kCounterTickNs) return std::nullopt;
  const std::uint64_t at_ns = *edge * kCounterTickNs;
  const std::uint64_t now_ns = slots_[index].stats.virtual_ns;
  if (at_ns <= now_ns) return 1;
  const std::uint64_t per = config_.cost.instruction_ns;
  return (at_ns - now_ns + per - 1) / per;
}

// WFI with no interrupt signalled (Vcpu::run has already let a signalled one end the WFI):
// the vCPU sleeps until its earliest timer edge, or until the GIC signals it something.
void Machine::enter_wait(unsigned index) {
  Slot& s = slots_[index];
  s.state = RunState::Waiting;
  const std::optional<std::uint64_t> edge = s.timer.next_edge(counter_of(index));
  s.wake_set = edge && *edge <= ~std::uint64_t{0} / kCounterTickNs;
  s.wake_ns = s.wake_set ? std::max(*edge * kCounterTickNs, s.stats.virtual_ns) : 0;
}

void Machine::end_wait(unsigned index, std::uint64_t now_ns) {
  Slot& s = slots_[index];
  s.state = RunState::Runnable;
  s.wake_set = false;
  s.stats.virtual_ns = std::max(s.stats.virtual_ns, now_ns);
}

// The running vCPU mirrors its IRQ signal, so its block hook tests one flag; a waiting vCPU
// is woken at the virtual time of whoever raised the interrupt (an SGI's sender, a device).
void Machine::gic_changed(unsigned cpu) {
  Slot& s = slots_[cpu];
  const bool signalled = gic_.irq_signalled(cpu);
  if (running_vcpu_ == cpu) {
    s.cpu->set_irq_line(signalled);
    return;
  }
  if (!signalled || s.state != RunState::Waiting) return;
  end_wait(cpu, running_vcpu_ ? slots_[*running_vcpu_].cpu->virtual_now() : device_now_ns_);
}

// An interrupt the firmware owns for an SDEI bind slot changed: the running vCPU looks for
// an event to dispatch at its next block boundary, and a vCPU waiting in WFI wakes if one can
// be dispatched on it (at the virtual time of whoever changed the line).
void Machine::gic_firmware_changed() {
  if (running_vcpu_) slots_[*running_vcpu_].cpu->request_sdei_check();
  if (firmware_.sdei_any_pending()) {
    wake_sdei_waiters(running_vcpu_ ? slots_[*running_vcpu_].cpu->virtual_now() : device_now_ns_);
  }
}

void Machine::uart_changed() {
  gic_.set_spi_line(32 + kUartSpi, uart_.irq_line());
}

// Console input arrives in virtual time: a byte due before the next vCPU runs is received at
// its own time (which can wake a vCPU waiting for the UART's interrupt). With every vCPU
// waiting and no timer armed, only the host can still send something.
bool Machine::device_event(const std::optional<unsigned>& next) {
  const std::optional<std::uint64_t> at = uart_.next_event_ns();
  if (at && (!next || *at < due_ns(*next))) {
    device_now_ns_ = std::max(device_now_ns_, *at);
    uart_.advance(*at);
    uart_changed();
    return true;
  }
  if (next || !uart_.wants_input()) return false;
  console_.input()->wait(wake_fd_);  // request_stop() ends the wait too
  for (const Slot& s : slots_) device_now_ns_ = std::max(device_now_ns_, s.stats.virtual_ns);
  uart_.advance(device_now_ns_);
  uart_changed();
  return true;
}

}  // namespace emu::core
