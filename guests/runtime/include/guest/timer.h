/*
 * The EL1 generic timers (Arm ARM DDI 0487 D11.2.4 "Timers"): the virtual timer (CNTV_*,
 * compared with CNTVCT_EL0, PPI 27 on QEMU virt) and the physical timer (CNTP_*, CNTPCT_EL0,
 * PPI 30). CVAL is the 64-bit compare value; TVAL reads CVAL - counter as a signed 32-bit value
 * and a write sets CVAL = counter + sign-extended TVAL. ISTATUS (read-only) is set while
 * ENABLE is 1 and the counter is at or past CVAL; the interrupt line is ENABLE && ISTATUS &&
 * !IMASK. Each write is followed by an ISB, so the next instruction sees its effect.
 */
#ifndef GUEST_TIMER_H
#define GUEST_TIMER_H

#include <stdint.h>

#define TIMER_ENABLE 1u
#define TIMER_IMASK 2u
#define TIMER_ISTATUS 4u

#define timer_read_(name)                                              \
  ({                                                                   \
    uint64_t v_;                                                       \
    __asm__ volatile("isb\n\tmrs %0, " #name : "=r"(v_) : : "memory"); \
    v_;                                                                \
  })
#define timer_write_(name, v) __asm__ volatile("msr " #name ", %0\n\tisb" : : "r"((uint64_t)(v)) : "memory")

static inline uint64_t cntv_ctl(void) {
  return timer_read_(cntv_ctl_el0);
}
static inline uint64_t cntv_cval(void) {
  return timer_read_(cntv_cval_el0);
}
static inline int32_t cntv_tval(void) {
  return (int32_t)timer_read_(cntv_tval_el0);
}
static inline void set_cntv_ctl(uint64_t v) {
  timer_write_(cntv_ctl_el0, v);
}
static inline void set_cntv_cval(uint64_t v) {
  timer_write_(cntv_cval_el0, v);
}
static inline void set_cntv_tval(int32_t v) {
  timer_write_(cntv_tval_el0, (uint64_t)(uint32_t)v);
}

static inline uint64_t cntp_ctl(void) {
  return timer_read_(cntp_ctl_el0);
}
static inline uint64_t cntp_cval(void) {
  return timer_read_(cntp_cval_el0);
}
static inline int32_t cntp_tval(void) {
  return (int32_t)timer_read_(cntp_tval_el0);
}
static inline void set_cntp_ctl(uint64_t v) {
  timer_write_(cntp_ctl_el0, v);
}
static inline void set_cntp_cval(uint64_t v) {
  timer_write_(cntp_cval_el0, v);
}
static inline void set_cntp_tval(int32_t v) {
  timer_write_(cntp_tval_el0, (uint64_t)(uint32_t)v);
}

#endif
