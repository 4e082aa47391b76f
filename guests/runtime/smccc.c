/* C helpers around smccc_call (smccc.S). */
#include "guest/smccc.h"

uint64_t smccc(enum conduit conduit, uint32_t fid, uint64_t a1, uint64_t a2, uint64_t a3) {
  struct smccc_regs r = {.x = {fid, a1, a2, a3}};
  smccc_call(conduit, &r);
  return r.x[0];
}

int smccc_unpack_string(const struct smccc_regs* r, unsigned first, char* buf, unsigned size) {
  if (size == 0 || first >= SMCCC_NUM_REGS) return -1;

  unsigned capacity = (SMCCC_NUM_REGS - first) * 8u;
  for (unsigned k = 0; k < capacity && k < size; ++k) {
    buf[k] = (char)smccc_regs_byte(r, first, k);
    if (buf[k] == '\0') return (int)k;
  }
  buf[capacity < size ? capacity : size - 1] = '\0';
  return -1;
}

uint64_t psci_system_off(enum conduit conduit) {
  return smccc(conduit, PSCI_SYSTEM_OFF, 0, 0, 0);
}
