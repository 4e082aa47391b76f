/*
 * Instruction-level probes for smccc_conformance.c. Labels mark the exact instruction
 * whose address the exception record must report.
 */
#define SMCCC_VERSION 0x80000000

    .text

/*
 * EL0 functions for run_at_el0: x0 = SMCCC_VERSION, then HVC/SMC, which must be
 * UNDEFINED at EL0 (the handler skips it). x0 after the instruction goes to el0_probe_x0.
 */
.macro el0_probe name, insn
    .global \name, \name\()_insn
    .type \name, %function
\name:
    mov     x0, #SMCCC_VERSION
\name\()_insn:
    \insn   #0
    adrp    x1, el0_probe_x0
    str     x0, [x1, :lo12:el0_probe_x0]
    ret
    .size \name, . - \name
.endm

    el0_probe el0_hvc_probe, hvc
    el0_probe el0_smc_probe, smc

/* int el1_udf_probe(void): UDF #0 at EL1; returns 1 if execution continued after it. */
    .global el1_udf_probe, el1_udf_insn
    .type el1_udf_probe, %function
el1_udf_probe:
    mov     w0, #0
el1_udf_insn:
    .inst   0x00000000                  // UDF #0
    mov     w0, #1
    ret
    .size el1_udf_probe, . - el1_udf_probe

/*
 * void smccc_call_high(enum conduit c, struct smccc_regs *r, uint64_t high[13])
 * Like smccc_call, but also loads x18..x30 from high[] before the HVC/SMC and stores
 * them back after it, so the caller sees whether the firmware preserved them. Only SP
 * anchors the frame across the call (the saved caller state lives below it).
 */
    .global smccc_call_high
    .type smccc_call_high, %function
smccc_call_high:
    sub     sp, sp, #128
    stp     x18, x19, [sp, #0]
    stp     x20, x21, [sp, #16]
    stp     x22, x23, [sp, #32]
    stp     x24, x25, [sp, #48]
    stp     x26, x27, [sp, #64]
    stp     x28, x29, [sp, #80]
    stp     x30, x1, [sp, #96]          // LR, regs
    str     x2, [sp, #112]              // high

    cmp     w0, #0                      // flags select the conduit after the loads
    mov     x16, x1
    mov     x17, x2
    ldp     x18, x19, [x17, #0]
    ldp     x20, x21, [x17, #16]
    ldp     x22, x23, [x17, #32]
    ldp     x24, x25, [x17, #48]
    ldp     x26, x27, [x17, #64]
    ldp     x28, x29, [x17, #80]
    ldr     x30, [x17, #96]
    ldp     x0, x1, [x16, #0]
    ldp     x2, x3, [x16, #16]
    ldp     x4, x5, [x16, #32]
    ldp     x6, x7, [x16, #48]
    ldp     x8, x9, [x16, #64]
    ldp     x10, x11, [x16, #80]
    ldp     x12, x13, [x16, #96]
    ldp     x14, x15, [x16, #112]
    ldp     x16, x17, [x16, #128]
    b.ne    1f
    hvc     #0
    b       2f
1:  smc     #0
2:
    stp     x0, x1, [sp, #-16]!         // free x0 as a base register
    ldr     x0, [sp, #16 + 112]         // high
    stp     x18, x19, [x0, #0]
    stp     x20, x21, [x0, #16]
    stp     x22, x23, [x0, #32]
    stp     x24, x25, [x0, #48]
    stp     x26, x27, [x0, #64]
    stp     x28, x29, [x0, #80]
    str     x30, [x0, #96]
    ldr     x0, [sp, #16 + 104]         // regs
    stp     x2, x3, [x0, #16]
    stp     x4, x5, [x0, #32]
    stp     x6, x7, [x0, #48]
    stp     x8, x9, [x0, #64]
    stp     x10, x11, [x0, #80]
    stp     x12, x13, [x0, #96]
    stp     x14, x15, [x0, #112]
    stp     x16, x17, [x0, #128]
    mov     x2, x0
    ldp     x0, x1, [sp], #16
    stp     x0, x1, [x2, #0]

    ldp     x18, x19, [sp, #0]
    ldp     x20, x21, [sp, #16]
    ldp     x22, x23, [sp, #32]
    ldp     x24, x25, [sp, #48]
    ldp     x26, x27, [sp, #64]
    ldp     x28, x29, [sp, #80]
    ldr     x30, [sp, #96]
    add     sp, sp, #128
    ret
    .size smccc_call_high, . - smccc_call_high

    .bss
    .balign 8
    .global el0_probe_x0
el0_probe_x0:
    .skip   8
