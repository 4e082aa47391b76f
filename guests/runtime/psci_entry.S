/*
 * psci_entry: where vCPUs enter from PSCI CPU_ON and wake from a power-down CPU_SUSPEND or
 * SYSTEM_SUSPEND (guest/smp.h). DEN0022F.b CPU_ON entry state: EL1h, DAIF masked, MMU off, x0 =
 * context_id; smccc-emu zeroes the other GPRs.
 *
 * Before anything is clobbered, x0 and x1 are parked in TPIDR_EL1 / TPIDR_EL0 so that the
 * record address can be computed; then x0..x30 and CurrentEL, DAIF, SPSel, SCTLR_EL1 go to
 * psci_entry_states[index]. The stack, CPACR_EL1 and VBAR_EL1 are set as _start sets them,
 * and psci_entry_main(index, context_id) is called. .bss is left alone.
 */
#include "guest/smp.h"

#define PSCI_CPU_OFF 0x84000002
#define CPACR_EL1_FPEN_ALL (3 << 20)

    .text
    .global psci_entry
    .type psci_entry, %function
    .balign 8
psci_entry:
    msr     tpidr_el1, x0               // free x0 and x1 without losing them
    msr     tpidr_el0, x1
    mrs     x0, mpidr_el1
    and     x1, x0, #0xff               // Aff0
    ubfx    x0, x0, #8, #8              // Aff1
    add     x0, x1, x0, lsl #4          // x0 = vCPU index
    cmp     x0, #GUEST_MAX_CPUS
    b.hs    psci_entry_park             // no record and no stack for it

    adrp    x1, psci_entry_states
    add     x1, x1, :lo12:psci_entry_states
    add     x1, x1, x0, lsl #8          // + index * 256
    add     x1, x1, x0, lsl #6          // + index * 64: x1 = &psci_entry_states[index]
    stp     x2, x3, [x1, #PSCI_ENTRY_X0 + 16]
    stp     x4, x5, [x1, #PSCI_ENTRY_X0 + 32]
    stp     x6, x7, [x1, #PSCI_ENTRY_X0 + 48]
    stp     x8, x9, [x1, #PSCI_ENTRY_X0 + 64]
    stp     x10, x11, [x1, #PSCI_ENTRY_X0 + 80]
    stp     x12, x13, [x1, #PSCI_ENTRY_X0 + 96]
    stp     x14, x15, [x1, #PSCI_ENTRY_X0 + 112]
    stp     x16, x17, [x1, #PSCI_ENTRY_X0 + 128]
    stp     x18, x19, [x1, #PSCI_ENTRY_X0 + 144]
    stp     x20, x21, [x1, #PSCI_ENTRY_X0 + 160]
    stp     x22, x23, [x1, #PSCI_ENTRY_X0 + 176]
    stp     x24, x25, [x1, #PSCI_ENTRY_X0 + 192]
    stp     x26, x27, [x1, #PSCI_ENTRY_X0 + 208]
    stp     x28, x29, [x1, #PSCI_ENTRY_X0 + 224]
    str     x30, [x1, #PSCI_ENTRY_X0 + 240]
    mrs     x2, tpidr_el1               // x0 on entry: context_id
    mrs     x3, tpidr_el0               // x1 on entry
    stp     x2, x3, [x1, #PSCI_ENTRY_X0]
    mrs     x4, CurrentEL
    mrs     x5, DAIF
    stp     x4, x5, [x1, #PSCI_ENTRY_CURRENT_EL]
    mrs     x4, SPSel
    mrs     x5, sctlr_el1
    stp     x4, x5, [x1, #PSCI_ENTRY_SPSEL]
    ldr     x4, [x1, #PSCI_ENTRY_COUNT]
    add     x4, x4, #1
    str     x4, [x1, #PSCI_ENTRY_COUNT]
    dmb     ish                         // the record before anything C publishes

    mov     x19, x0                     // index
    mov     x20, x2                     // context_id
    ldr     x4, =__stacks_start
    ldr     x5, =__guest_stack_size
    madd    x4, x19, x5, x4             // base of this vCPU's stack
    add     sp, x4, x5                  // SP_EL1 = its top
    mov     x4, #CPACR_EL1_FPEN_ALL
    msr     cpacr_el1, x4
    adrp    x4, guest_vectors
    add     x4, x4, :lo12:guest_vectors
    msr     vbar_el1, x4
    isb

    mov     w0, w19
    mov     x1, x20
    bl      psci_entry_main
    ldr     x0, =PSCI_CPU_OFF
    hvc     #0                          // returns only if CPU_OFF was refused
psci_entry_park:
    wfi
    b       psci_entry_park
    .size psci_entry, . - psci_entry

    .bss
    .balign 16
    .global psci_entry_states
    .type psci_entry_states, %object
psci_entry_states:
    .skip   GUEST_MAX_CPUS * PSCI_ENTRY_STATE_SIZE
    .size psci_entry_states, . - psci_entry_states
