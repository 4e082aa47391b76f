/*
 * EL1 exception vector table (VBAR_EL1, 2 KiB aligned, 16 entries of 0x80 bytes).
 *
 * Synchronous entries (current EL with SP0 or SPx, lower EL AArch64) build a struct
 * exception_frame (frame.h) on the EL1 stack and call guest_sync_handler(frame); the IRQ
 * entries of the same three groups do the same with guest_irq_handler(frame) (guest/irq.h).
 * When the handler returns, ELR/SPSR/SP_EL0 and x0..x30 are reloaded from the frame and the
 * entry ERETs. Every other entry calls guest_unexpected_exception(kind), which prints and exits.
 */
#include "frame.h"

.macro sync_entry
    .balign 0x80
    sub     sp, sp, #FRAME_SIZE
    stp     x0, x1, [sp, #FRAME_X0]
    b       sync_common
.endm

.macro irq_entry
    .balign 0x80
    sub     sp, sp, #FRAME_SIZE
    stp     x0, x1, [sp, #FRAME_X0]
    adr     x1, guest_irq_handler
    b       frame_common
.endm

.macro unexpected_entry kind
    .balign 0x80
    adr     x0, \kind
    b       unexpected_common
.endm

    .text
    .balign 0x800
    .global guest_vectors
guest_vectors:
    // Current EL with SP_EL0
    sync_entry
    irq_entry
    unexpected_entry kind_fiq
    unexpected_entry kind_serror
    // Current EL with SP_ELx
    sync_entry
    irq_entry
    unexpected_entry kind_fiq
    unexpected_entry kind_serror
    // Lower EL, AArch64
    sync_entry
    irq_entry
    unexpected_entry kind_fiq
    unexpected_entry kind_serror
    // Lower EL, AArch32 (never used by these guests)
    unexpected_entry kind_aarch32_sync
    unexpected_entry kind_aarch32_irq
    unexpected_entry kind_aarch32_fiq
    unexpected_entry kind_aarch32_serror

sync_common:
    adr     x1, guest_sync_handler
    // x1 (saved already) = the C handler to call with the frame.
frame_common:
    stp     x2, x3, [sp, #FRAME_X0 + 16]
    stp     x4, x5, [sp, #FRAME_X0 + 32]
    stp     x6, x7, [sp, #FRAME_X0 + 48]
    stp     x8, x9, [sp, #FRAME_X0 + 64]
    stp     x10, x11, [sp, #FRAME_X0 + 80]
    stp     x12, x13, [sp, #FRAME_X0 + 96]
    stp     x14, x15, [sp, #FRAME_X0 + 112]
    stp     x16, x17, [sp, #FRAME_X0 + 128]
    stp     x18, x19, [sp, #FRAME_X0 + 144]
    stp     x20, x21, [sp, #FRAME_X0 + 160]
    stp     x22, x23, [sp, #FRAME_X0 + 176]
    stp     x24, x25, [sp, #FRAME_X0 + 192]
    stp     x26, x27, [sp, #FRAME_X0 + 208]
    stp     x28, x29, [sp, #FRAME_X0 + 224]
    mrs     x10, sp_el0
    stp     x30, x10, [sp, #FRAME_X0 + 240]     // x30, then SP_EL0 at FRAME_SP_EL0
    mrs     x10, elr_el1
    mrs     x11, spsr_el1
    stp     x10, x11, [sp, #FRAME_ELR]
    mrs     x10, esr_el1
    mrs     x11, far_el1
    stp     x10, x11, [sp, #FRAME_ESR]

    mov     x16, x1                             // x16 is saved already; x1 held the handler
    mov     x0, sp
    blr     x16

    ldp     x10, x11, [sp, #FRAME_ELR]
    msr     elr_el1, x10
    msr     spsr_el1, x11
    ldp     x30, x10, [sp, #FRAME_X0 + 240]
    msr     sp_el0, x10
    ldp     x0, x1, [sp, #FRAME_X0]
    ldp     x2, x3, [sp, #FRAME_X0 + 16]
    ldp     x4, x5, [sp, #FRAME_X0 + 32]
    ldp     x6, x7, [sp, #FRAME_X0 + 48]
    ldp     x8, x9, [sp, #FRAME_X0 + 64]
    ldp     x10, x11, [sp, #FRAME_X0 + 80]
    ldp     x12, x13, [sp, #FRAME_X0 + 96]
    ldp     x14, x15, [sp, #FRAME_X0 + 112]
    ldp     x16, x17, [sp, #FRAME_X0 + 128]
    ldp     x18, x19, [sp, #FRAME_X0 + 144]
    ldp     x20, x21, [sp, #FRAME_X0 + 160]
    ldp     x22, x23, [sp, #FRAME_X0 + 176]
    ldp     x24, x25, [sp, #FRAME_X0 + 192]
    ldp     x26, x27, [sp, #FRAME_X0 + 208]
    ldp     x28, x29, [sp, #FRAME_X0 + 224]
    add     sp, sp, #FRAME_SIZE
    eret

unexpected_common:
    bl      guest_unexpected_exception      // does not return
1:  wfi
    b       1b

    .section .rodata.vectors, "a"
kind_irq:           .asciz "IRQ"
kind_fiq:           .asciz "FIQ"
kind_serror:        .asciz "SError"
kind_aarch32_sync:  .asciz "AArch32 synchronous"
kind_aarch32_irq:   .asciz "AArch32 IRQ"
kind_aarch32_fiq:   .asciz "AArch32 FIQ"
kind_aarch32_serror: .asciz "AArch32 SError"
