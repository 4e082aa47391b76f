/*
 * run_at_el0 / el0_return_to_caller: drop to EL0t and come back on SVC.
 *
 * run_at_el0(fn) saves the EL1 callee-saved state (x19..x30, SP) in el0_caller, points
 * SP_EL0 at a private EL0 stack and ERETs to el0_trampoline at EL0t (SPSR 0x3C0). The
 * trampoline calls fn and issues `svc #0`. guest_sync_handler() sees the SVC from EL0 and
 * calls el0_return_to_caller(imm16), which restores that state: run_at_el0 "returns" the
 * SVC immediate on the EL1 stack it was called on (the exception frame is discarded).
 */
#include "frame.h"

    .text
    .global run_at_el0
    .type run_at_el0, %function
run_at_el0:                                 // x0 = fn
    adrp    x9, el0_caller
    add     x9, x9, :lo12:el0_caller
    stp     x19, x20, [x9, #0]
    stp     x21, x22, [x9, #16]
    stp     x23, x24, [x9, #32]
    stp     x25, x26, [x9, #48]
    stp     x27, x28, [x9, #64]
    stp     x29, x30, [x9, #80]
    mov     x10, sp
    str     x10, [x9, #96]

    adrp    x10, el0_stack_top
    add     x10, x10, :lo12:el0_stack_top
    msr     sp_el0, x10
    adrp    x10, el0_trampoline
    add     x10, x10, :lo12:el0_trampoline
    msr     elr_el1, x10
    mov     x10, #SPSR_EL0T_DAIF_MASKED
    msr     spsr_el1, x10
    eret                                    // x0 still holds fn
    .size run_at_el0, . - run_at_el0

el0_trampoline:                             // runs at EL0t
    blr     x0
    svc     #0
    b       el0_trampoline                  // not reached

    .global el0_return_to_caller
    .type el0_return_to_caller, %function
el0_return_to_caller:                       // x0 = value for run_at_el0 to return
    adrp    x9, el0_caller
    add     x9, x9, :lo12:el0_caller
    ldp     x19, x20, [x9, #0]
    ldp     x21, x22, [x9, #16]
    ldp     x23, x24, [x9, #32]
    ldp     x25, x26, [x9, #48]
    ldp     x27, x28, [x9, #64]
    ldp     x29, x30, [x9, #80]
    ldr     x10, [x9, #96]
    mov     sp, x10
    ret
    .size el0_return_to_caller, . - el0_return_to_caller

    .bss
    .balign 16
el0_caller:                                 // x19..x30, SP of the run_at_el0 caller
    .skip   112
el0_stack:
    .skip   EL0_STACK_SIZE
el0_stack_top:
