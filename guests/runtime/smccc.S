/*
 * smccc_call / smccc_call_imm1 (void (enum conduit, struct smccc_regs *r)):
 * load x0..x17 from r->x[], issue HVC or SMC, store x0..x17 back into r->x[].
 * x19/x20 hold r and the conduit across the call; x18..x30 and SP are preserved for the
 * caller as AAPCS64 requires (and as SMCCC requires of the firmware, DEN0028 register use).
 */

.macro load_args base
    ldp     x0, x1, [\base, #0]
    ldp     x2, x3, [\base, #16]
    ldp     x4, x5, [\base, #32]
    ldp     x6, x7, [\base, #48]
    ldp     x8, x9, [\base, #64]
    ldp     x10, x11, [\base, #80]
    ldp     x12, x13, [\base, #96]
    ldp     x14, x15, [\base, #112]
    ldp     x16, x17, [\base, #128]
.endm

.macro store_results base
    stp     x0, x1, [\base, #0]
    stp     x2, x3, [\base, #16]
    stp     x4, x5, [\base, #32]
    stp     x6, x7, [\base, #48]
    stp     x8, x9, [\base, #64]
    stp     x10, x11, [\base, #80]
    stp     x12, x13, [\base, #96]
    stp     x14, x15, [\base, #112]
    stp     x16, x17, [\base, #128]
.endm

.macro define_call name, imm
    .global \name
    .type \name, %function
\name:                                      // w0 = conduit (0 HVC, 1 SMC), x1 = regs
    stp     x29, x30, [sp, #-32]!
    mov     x29, sp
    stp     x19, x20, [sp, #16]
    mov     x19, x1
    mov     w20, w0
    load_args x19
    cbnz    w20, 1f
    hvc     #\imm
    b       2f
1:  smc     #\imm
2:  store_results x19
    ldp     x19, x20, [sp, #16]
    ldp     x29, x30, [sp], #32
    ret
    .size \name, . - \name
.endm

    .text
    define_call smccc_call, 0
    define_call smccc_call_imm1, 1
