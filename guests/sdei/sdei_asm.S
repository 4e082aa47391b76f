/*
 * SDEI client plumbing for sdei_conformance.c:
 *
 *  - sdei_entry_normal / sdei_entry_critical: the entry points given to EVENT_REGISTER.
 *    The dispatcher enters with x0 = event, x1 = argument, x2 = interrupted PC, x3 =
 *    interrupted PSTATE, x4..x30 and SP as interrupted (DEN0054C handler entry). The stub records all
 *    of it in the record of its vCPU and level (sdei_asm.h), moves to that level's own
 *    stack, calls sdei_handler_c(record, level), then puts back x18..x30 and SP (which the
 *    dispatcher does not restore) and issues EVENT_COMPLETE or COMPLETE_AND_RESUME as told.
 *  - sdei_call_probe: one HVC/SMC with chosen x0..x30, NZCV and DAIF, recording every
 *    register right after it; sdei_probe_{hvc,smc}_return label the instruction after the
 *    call, which is the interrupted PC when an event is dispatched as the call returns.
 *  - sdei_resume_target: a COMPLETE_AND_RESUME target that records what it was entered
 *    with and ERETs to the interrupted code.
 */
#include "guest/smp.h"
#include "sdei_asm.h"

    .text

/*
 * Entry stub for one nesting level. Before the stub may use a register it saves x4..x7 on
 * the interrupted stack (AArch64 code keeps nothing live below SP, and the interrupted SP
 * is the guest's own), reads NZCV before anything could change it, and finds its record:
 * sdei_records + (index * 2 + level) * REC_SIZE, index = Aff1 * 16 + Aff0.
 */
.macro sdei_entry name, level
    .global \name
    .type \name, %function
    .balign 16
\name:
    sub     sp, sp, #32
    stp     x4, x5, [sp]
    stp     x6, x7, [sp, #16]
    mrs     x4, nzcv
    mrs     x6, mpidr_el1
    and     x7, x6, #0xff               // Aff0
    ubfx    x6, x6, #8, #8              // Aff1
    add     x6, x7, x6, lsl #4          // vCPU index
    lsl     x6, x6, #1
    add     x6, x6, #\level             // slot = index * 2 + level
    adrp    x7, sdei_records
    add     x7, x7, :lo12:sdei_records
    mov     x5, #REC_SIZE
    madd    x7, x6, x5, x7              // x7 = record
    ldr     x5, [x7, #REC_BUSY]
    cbnz    x5, sdei_entry_reentered    // a handler of this level already runs here
    mov     x5, #1
    str     x5, [x7, #REC_BUSY]
    b       sdei_entry_common
    .size \name, . - \name
.endm

    sdei_entry sdei_entry_normal, SDEI_LEVEL_NORMAL
    sdei_entry sdei_entry_critical, SDEI_LEVEL_CRITICAL

/* x4 = NZCV at entry, x6 = slot, x7 = record; [sp] = interrupted x4..x7. */
sdei_entry_common:
    str     x4, [x7, #REC_NZCV]
    stp     x0, x1, [x7, #REC_X0]
    stp     x2, x3, [x7, #REC_X0 + 16]
    ldp     x0, x1, [sp]                // interrupted x4, x5
    stp     x0, x1, [x7, #REC_X0 + 32]
    ldp     x0, x1, [sp, #16]           // interrupted x6, x7
    stp     x0, x1, [x7, #REC_X0 + 48]
    stp     x8, x9, [x7, #REC_X0 + 64]
    stp     x10, x11, [x7, #REC_X0 + 80]
    stp     x12, x13, [x7, #REC_X0 + 96]
    stp     x14, x15, [x7, #REC_X0 + 112]
    stp     x16, x17, [x7, #REC_X0 + 128]
    stp     x18, x19, [x7, #REC_X0 + 144]
    stp     x20, x21, [x7, #REC_X0 + 160]
    stp     x22, x23, [x7, #REC_X0 + 176]
    stp     x24, x25, [x7, #REC_X0 + 192]
    stp     x26, x27, [x7, #REC_X0 + 208]
    stp     x28, x29, [x7, #REC_X0 + 224]
    str     x30, [x7, #REC_X0 + 240]
    add     x0, sp, #32                 // SP as interrupted
    str     x0, [x7, #REC_SP]
    mrs     x0, daif
    mrs     x1, CurrentEL
    stp     x0, x1, [x7, #REC_DAIF]
    mrs     x0, SPSel
    mrs     x1, elr_el1
    stp     x0, x1, [x7, #REC_SPSEL]
    mrs     x0, spsr_el1
    str     x0, [x7, #REC_SPSR]

    adrp    x0, sdei_stacks             // top of this slot's stack
    add     x0, x0, :lo12:sdei_stacks
    add     x6, x6, #1
    mov     x1, #SDEI_STACK_SIZE
    madd    x0, x6, x1, x0
    mov     sp, x0
    sub     x6, x6, #1

    mov     x19, x7                     // the record, across the call
    mov     x0, x7
    and     x1, x6, #1                  // level
    bl      sdei_handler_c              // x0 = status or resume address, x1 = HOW_*

    mov     x9, x0
    mov     x10, x1
    str     xzr, [x19, #REC_BUSY]       // before COMPLETE: it may dispatch this level again
    ldr     x11, [x19, #REC_SP]
    mov     sp, x11
    ldp     x20, x21, [x19, #REC_X0 + 160]
    ldp     x22, x23, [x19, #REC_X0 + 176]
    ldp     x24, x25, [x19, #REC_X0 + 192]
    ldp     x26, x27, [x19, #REC_X0 + 208]
    ldp     x28, x29, [x19, #REC_X0 + 224]
    ldr     x30, [x19, #REC_X0 + 240]
    ldp     x18, x19, [x19, #REC_X0 + 144] // x19 last: it was the base
    mov     x1, x9
    tbnz    x10, #1, 1f
    ldr     x0, =FID_SDEI_EVENT_COMPLETE
    b       2f
1:  ldr     x0, =FID_SDEI_EVENT_COMPLETE_AND_RESUME
2:  tbnz    x10, #0, 3f
    hvc     #0
    b       4f
3:  smc     #0
4:  // Only a refused completion comes back here (x0 = its error).
    bl      sdei_complete_returned      // does not return
5:  wfi
    b       5b
    .size sdei_entry_common, . - sdei_entry_common

/* x6 = slot. Still on the interrupted stack, 32 bytes below its SP. */
sdei_entry_reentered:
    and     x0, x6, #1                  // level
    bl      sdei_entry_reentered_c      // does not return
1:  wfi
    b       1b

/*
 * void sdei_call_probe(struct call_probe *p)
 * Saves the callee-saved registers and &p->out on the stack, sets DAIF and NZCV, loads
 * x0..x30 from p->in and issues HVC or SMC (#0). Right after it: stores x0..x30, NZCV,
 * DAIF and SP in p->out, masks DAIF again, restores the callee-saved registers. Reentrant:
 * nothing but the stack holds the probe across the call.
 */
.macro load_in base
    ldp     x2, x3, [\base, #PROBE_IN + 16]
    ldp     x4, x5, [\base, #PROBE_IN + 32]
    ldp     x6, x7, [\base, #PROBE_IN + 48]
    ldp     x8, x9, [\base, #PROBE_IN + 64]
    ldp     x10, x11, [\base, #PROBE_IN + 80]
    ldp     x12, x13, [\base, #PROBE_IN + 96]
    ldp     x14, x15, [\base, #PROBE_IN + 112]
    ldp     x16, x17, [\base, #PROBE_IN + 128]
    ldp     x18, x19, [\base, #PROBE_IN + 144]
    ldp     x20, x21, [\base, #PROBE_IN + 160]
    ldp     x22, x23, [\base, #PROBE_IN + 176]
    ldp     x24, x25, [\base, #PROBE_IN + 192]
    ldp     x26, x27, [\base, #PROBE_IN + 208]
    ldp     x28, x29, [\base, #PROBE_IN + 224]
    ldr     x30, [\base, #PROBE_IN + 240]
    ldp     x0, x1, [\base, #PROBE_IN]  // base is x0: no writeback, so this is fine
.endm

    .global sdei_call_probe, sdei_probe_hvc_return, sdei_probe_smc_return
    .type sdei_call_probe, %function
    .balign 16
sdei_call_probe:
    sub     sp, sp, #112
    stp     x29, x30, [sp, #0]
    stp     x19, x20, [sp, #16]
    stp     x21, x22, [sp, #32]
    stp     x23, x24, [sp, #48]
    stp     x25, x26, [sp, #64]
    stp     x27, x28, [sp, #80]
    add     x1, x0, #PROBE_OUT
    str     x1, [sp, #96]               // &p->out, found again after the call
    mov     x1, sp
    str     x1, [x0, #PROBE_SP_BEFORE]
    ldr     x1, [x0, #PROBE_DAIF_IN]
    msr     daif, x1
    ldr     x1, [x0, #PROBE_NZCV_IN]
    msr     nzcv, x1
    ldr     x1, [x0, #PROBE_CONDUIT]
    cbnz    x1, 1f                      // no flags touched from here to the call
    load_in x0
    hvc     #0
sdei_probe_hvc_return:
    b       2f
1:  load_in x0
    smc     #0
sdei_probe_smc_return:
2:  stp     x0, x1, [sp, #-16]!
    mrs     x0, nzcv                    // first: nothing before changes flags
    ldr     x1, [sp, #16 + 96]          // &p->out
    str     x0, [x1, #OUT_NZCV]
    mrs     x0, daif
    str     x0, [x1, #OUT_DAIF]
    msr     daifset, #0xf
    stp     x2, x3, [x1, #OUT_X0 + 16]
    stp     x4, x5, [x1, #OUT_X0 + 32]
    stp     x6, x7, [x1, #OUT_X0 + 48]
    stp     x8, x9, [x1, #OUT_X0 + 64]
    stp     x10, x11, [x1, #OUT_X0 + 80]
    stp     x12, x13, [x1, #OUT_X0 + 96]
    stp     x14, x15, [x1, #OUT_X0 + 112]
    stp     x16, x17, [x1, #OUT_X0 + 128]
    stp     x18, x19, [x1, #OUT_X0 + 144]
    stp     x20, x21, [x1, #OUT_X0 + 160]
    stp     x22, x23, [x1, #OUT_X0 + 176]
    stp     x24, x25, [x1, #OUT_X0 + 192]
    stp     x26, x27, [x1, #OUT_X0 + 208]
    stp     x28, x29, [x1, #OUT_X0 + 224]
    str     x30, [x1, #OUT_X0 + 240]
    ldp     x2, x3, [sp], #16           // x0, x1 right after the call
    stp     x2, x3, [x1, #OUT_X0]
    mov     x2, sp
    str     x2, [x1, #OUT_SP]
    ldp     x29, x30, [sp, #0]
    ldp     x19, x20, [sp, #16]
    ldp     x21, x22, [sp, #32]
    ldp     x23, x24, [sp, #48]
    ldp     x25, x26, [sp, #64]
    ldp     x27, x28, [sp, #80]
    add     sp, sp, #112
    ret
    .size sdei_call_probe, . - sdei_call_probe

/*
 * COMPLETE_AND_RESUME target: entered like an exception (DEN0054C SDEI_EVENT_COMPLETE_AND_RESUME:
 * ELR_EL1 = interrupted PC, SPSR_EL1 = interrupted PSTATE, x0..x17 as interrupted). Records
 * x0..x30, SP, ELR, SPSR, DAIF, CurrentEL, SPSel in sdei_resume_record, counts, and ERETs with
 * every register as it found it.
 */
    .global sdei_resume_target
    .type sdei_resume_target, %function
    .balign 16
sdei_resume_target:
    sub     sp, sp, #32
    stp     x0, x1, [sp]
    stp     x2, x3, [sp, #16]
    adrp    x1, sdei_resume_record
    add     x1, x1, :lo12:sdei_resume_record
    ldp     x2, x3, [sp]
    stp     x2, x3, [x1, #RES_X0]
    ldp     x2, x3, [sp, #16]
    stp     x2, x3, [x1, #RES_X0 + 16]
    stp     x4, x5, [x1, #RES_X0 + 32]
    stp     x6, x7, [x1, #RES_X0 + 48]
    stp     x8, x9, [x1, #RES_X0 + 64]
    stp     x10, x11, [x1, #RES_X0 + 80]
    stp     x12, x13, [x1, #RES_X0 + 96]
    stp     x14, x15, [x1, #RES_X0 + 112]
    stp     x16, x17, [x1, #RES_X0 + 128]
    stp     x18, x19, [x1, #RES_X0 + 144]
    stp     x20, x21, [x1, #RES_X0 + 160]
    stp     x22, x23, [x1, #RES_X0 + 176]
    stp     x24, x25, [x1, #RES_X0 + 192]
    stp     x26, x27, [x1, #RES_X0 + 208]
    stp     x28, x29, [x1, #RES_X0 + 224]
    str     x30, [x1, #RES_X0 + 240]
    add     x2, sp, #32
    str     x2, [x1, #RES_SP]
    mrs     x2, elr_el1
    mrs     x3, spsr_el1
    stp     x2, x3, [x1, #RES_ELR]
    mrs     x2, daif
    mrs     x3, CurrentEL
    stp     x2, x3, [x1, #RES_DAIF]
    mrs     x2, SPSel
    str     x2, [x1, #RES_SPSEL]
    ldr     x2, [x1, #RES_COUNT]
    add     x2, x2, #1
    str     x2, [x1, #RES_COUNT]
    ldp     x0, x1, [sp]
    ldp     x2, x3, [sp, #16]
    add     sp, sp, #32
    eret
    .size sdei_resume_target, . - sdei_resume_target

    .ltorg

    .bss
    .balign 16
    .global sdei_records
    .type sdei_records, %object
sdei_records:
    .skip   GUEST_MAX_CPUS * SDEI_LEVELS * REC_SIZE
    .size sdei_records, . - sdei_records

    .global sdei_resume_record
    .type sdei_resume_record, %object
sdei_resume_record:
    .skip   RES_SIZE
    .size sdei_resume_record, . - sdei_resume_record

    .balign 16
sdei_stacks:
    .skip   GUEST_MAX_CPUS * SDEI_LEVELS * SDEI_STACK_SIZE
