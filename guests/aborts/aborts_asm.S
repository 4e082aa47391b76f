/*
 * The aborts guest's own vector table and fault cases (see aborts.c).
 *
 * Each case is a function case_<name>(x3 = address, x4 = operand) whose faulting
 * instruction is at case_<name>_at; it returns x3, so the caller sees that no writeback
 * happened. The synchronous vectors record {vector offset, ESR, FAR, ELR, SPSR} in
 * abort_record, count the exception and resume: after the faulting instruction for a data
 * abort, at x30 (the return address of the faulting BLR) for an instruction abort. An SVC
 * from EL0 ends run_at_el0 as the runtime's handler does.
 */
    .arch armv8.2-a+lse+rcpc

.macro sync_entry offset
    .balign 0x80
    msr     pan, #0                         // the handler may touch EL0-accessible memory
    sub     sp, sp, #32
    stp     x0, x1, [sp]
    stp     x2, x3, [sp, #16]
    mov     x0, #\offset
    b       abort_common
.endm

.macro other_entry
    .balign 0x80
    adr     x0, kind_other
    bl      guest_unexpected_exception
.endm

    .text
    .balign 0x800
    .global abort_vectors
abort_vectors:
    sync_entry 0x000
    other_entry
    other_entry
    other_entry
    sync_entry 0x200
    other_entry
    other_entry
    other_entry
    sync_entry 0x400
    other_entry
    other_entry
    other_entry
    other_entry
    other_entry
    other_entry
    other_entry

abort_common:
    mrs     x1, esr_el1
    lsr     x2, x1, #26
    cmp     x2, #0x15                       // SVC ...
    b.ne    1f
    mrs     x2, spsr_el1
    tst     x2, #0xc                        // ... from EL0: the way back from run_at_el0
    b.ne    1f
    and     x0, x1, #0xffff
    b       el0_return_to_caller
1:  adrp    x2, abort_record
    add     x2, x2, :lo12:abort_record
    str     x0, [x2, #0]
    str     x1, [x2, #8]
    mrs     x3, far_el1
    str     x3, [x2, #16]
    mrs     x3, elr_el1
    str     x3, [x2, #24]
    mrs     x3, spsr_el1
    str     x3, [x2, #32]
    ldr     x3, [x2, #40]
    add     x3, x3, #1
    str     x3, [x2, #40]
    lsr     x1, x1, #26
    cmp     x1, #0x20                       // instruction abort, lower or same EL
    b.eq    2f
    cmp     x1, #0x21
    b.eq    2f
    mrs     x3, elr_el1
    add     x3, x3, #4
    b       3f
2:  mov     x3, x30
3:  msr     elr_el1, x3
    ldp     x2, x3, [sp, #16]
    ldp     x0, x1, [sp]
    add     sp, sp, #32
    eret

/* uint64_t el1_case(fn, a, b) / int el0_case(fn, a, b): fn with x3 = a, x4 = b. */
    .global el1_case
el1_case:
    mov     x3, x1
    mov     x4, x2
    br      x0
    .global el0_case
el0_case:
    mov     x3, x1
    mov     x4, x2
    b       run_at_el0

.macro case name, insn:vararg
    .global case_\name, case_\name\()_at
    .type case_\name, %function
case_\name:
    stp     x29, x30, [sp, #-16]!
case_\name\()_at:
    \insn
    mov     x0, x3
    ldp     x29, x30, [sp], #16
    ret
.endm

    case ldr,           ldr x0, [x3]
    case str,           str x0, [x3]
    case blr,           blr x3
    case ldp_pre,       ldp x0, x1, [x3, #16]!
    case stp_off,       stp x0, x1, [x3, #-16]
    case ldr_post,      ldr x0, [x3], #16
    case str_pre,       str x0, [x3, #-8]!
    case ldur,          ldur x0, [x3, #-8]
    case ldrb_imm12,    ldrb w0, [x3, #0xfff]
    case ldr_lsl,       ldr x0, [x3, x4, lsl #3]
    case ldr_sxtw,      ldr w0, [x3, w4, sxtw]
    case ld1,           ld1 {v0.16b}, [x3]
    case ld1x2_post,    ld1 {v0.16b, v1.16b}, [x3], #32
    case ld4,           ld4 {v0.4s, v1.4s, v2.4s, v3.4s}, [x3]
    case st1_lane,      st1 {v0.s}[1], [x3]
    case ld1r_post,     ld1r {v0.8h}, [x3], x4
    case ldadd,         ldadd x4, x0, [x3]
    case swp,           swp x4, x0, [x3]
    case cas,           cas x0, x4, [x3]
    case ldapr,         ldapr x0, [x3]
    case ldxr,          ldxr x0, [x3]
    case ldar,          ldar x0, [x3]
    case stlr,          stlr x0, [x3]
    case ldtr,          ldtr x0, [x3]
    case sttr,          sttr x0, [x3, #8]
    case dc_zva,        dc zva, x3
    case dc_civac,      dc civac, x3
    case ldr_literal,   ldr x0, lit_hole + 0x20
/* Under PSTATE.PAN = 1, and without the stack: every page the guest writes is EL0-accessible. */
.macro pan_case name, insn:vararg
    .global case_\name, case_\name\()_at
    .type case_\name, %function
case_\name:
    msr     pan, #1
case_\name\()_at:
    \insn
    msr     pan, #0
    mov     x0, x3
    ret
.endm

    pan_case pan_ldr,   ldr x0, [x3]
    pan_case pan_str,   str x0, [x3]
    pan_case pan_ldtr,  ldtr x0, [x3]

    .section .rodata.aborts, "a"
kind_other: .asciz "non-synchronous"

/* A page of code space the page tables leave unmapped, for the literal load. */
    .section .text.lit_hole, "ax"
    .balign 4096
    .global lit_hole
lit_hole:
    .skip   4096
