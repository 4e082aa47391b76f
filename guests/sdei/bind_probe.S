/*
 * void bind_spin_probe(struct spin_probe *p), for sdei_bind.c: the code an interrupt-bound
 * SDEI event interrupts. It loads x1..x30, NZCV, DAIF, ELR_EL1 and SPSR_EL1 from p, points x0
 * at p->flag and spins (bind_spin_loop: ldr x28, [x0]; cbz x28) until the handler writes a
 * non-zero flag, then stores every register as the loop left it. Nothing in the loop sets
 * flags or touches the stack, so after a dispatch and COMPLETE every register must read back
 * as loaded, but x0 (&p->flag) and x28 (the flag).
 */
#define SP_IN_SAVE 96       /* frame: x19..x30, p, scratch, DAIF at entry */

#define P_IN 0              /* x0..x30 to load (x0 unused) */
#define P_NZCV_IN 248
#define P_DAIF_IN 256
#define P_ELR_IN 264
#define P_SPSR_IN 272
#define P_FLAG 280
#define P_SP_IN 288
#define P_OUT 296           /* x0..x30 after the loop */
#define P_NZCV_OUT 544
#define P_DAIF_OUT 552
#define P_ELR_OUT 560
#define P_SPSR_OUT 568
#define P_SP_OUT 576

    .text
    .global bind_spin_probe
    .type bind_spin_probe, %function
bind_spin_probe:
    stp     x29, x30, [sp, #-128]!
    stp     x19, x20, [sp, #16]
    stp     x21, x22, [sp, #32]
    stp     x23, x24, [sp, #48]
    stp     x25, x26, [sp, #64]
    stp     x27, x28, [sp, #80]
    str     x0, [sp, #SP_IN_SAVE]
    mrs     x1, daif
    str     x1, [sp, #112]
    mov     x1, sp
    str     x1, [x0, #P_SP_IN]
    ldr     x1, [x0, #P_ELR_IN]
    msr     elr_el1, x1
    ldr     x1, [x0, #P_SPSR_IN]
    msr     spsr_el1, x1
    ldr     x1, [x0, #P_DAIF_IN]
    msr     daif, x1
    ldr     x1, [x0, #P_NZCV_IN]
    msr     nzcv, x1
    ldp     x2, x3, [x0, #P_IN + 16]
    ldp     x4, x5, [x0, #P_IN + 32]
    ldp     x6, x7, [x0, #P_IN + 48]
    ldp     x8, x9, [x0, #P_IN + 64]
    ldp     x10, x11, [x0, #P_IN + 80]
    ldp     x12, x13, [x0, #P_IN + 96]
    ldp     x14, x15, [x0, #P_IN + 112]
    ldp     x16, x17, [x0, #P_IN + 128]
    ldp     x18, x19, [x0, #P_IN + 144]
    ldp     x20, x21, [x0, #P_IN + 160]
    ldp     x22, x23, [x0, #P_IN + 176]
    ldp     x24, x25, [x0, #P_IN + 192]
    ldp     x26, x27, [x0, #P_IN + 208]
    ldp     x28, x29, [x0, #P_IN + 224]
    ldr     x30, [x0, #P_IN + 240]
    ldr     x1, [x0, #P_IN + 8]
    add     x0, x0, #P_FLAG
    .global bind_spin_loop
bind_spin_loop:
    ldr     x28, [x0]
    cbz     x28, bind_spin_loop
    .global bind_spin_end
bind_spin_end:
    str     x1, [sp, #104]              // x1 to the scratch slot: it becomes the base
    ldr     x1, [sp, #SP_IN_SAVE]
    add     x1, x1, #P_OUT              // offsets below are from p->out (ldp/stp reach 504)
    str     x0, [x1]
    ldr     x0, [sp, #104]
    str     x0, [x1, #8]
    mrs     x0, nzcv                    // before anything could set the flags
    str     x0, [x1, #P_NZCV_OUT - P_OUT]
    stp     x2, x3, [x1, #16]
    stp     x4, x5, [x1, #32]
    stp     x6, x7, [x1, #48]
    stp     x8, x9, [x1, #64]
    stp     x10, x11, [x1, #80]
    stp     x12, x13, [x1, #96]
    stp     x14, x15, [x1, #112]
    stp     x16, x17, [x1, #128]
    stp     x18, x19, [x1, #144]
    stp     x20, x21, [x1, #160]
    stp     x22, x23, [x1, #176]
    stp     x24, x25, [x1, #192]
    stp     x26, x27, [x1, #208]
    stp     x28, x29, [x1, #224]
    str     x30, [x1, #240]
    mrs     x0, daif
    str     x0, [x1, #P_DAIF_OUT - P_OUT]
    mrs     x0, elr_el1
    str     x0, [x1, #P_ELR_OUT - P_OUT]
    mrs     x0, spsr_el1
    str     x0, [x1, #P_SPSR_OUT - P_OUT]
    mov     x0, sp
    str     x0, [x1, #P_SP_OUT - P_OUT]
    ldr     x0, [sp, #112]
    msr     daif, x0
    ldp     x19, x20, [sp, #16]
    ldp     x21, x22, [sp, #32]
    ldp     x23, x24, [sp, #48]
    ldp     x25, x26, [sp, #64]
    ldp     x27, x28, [sp, #80]
    ldp     x29, x30, [sp], #128
    ret
    .size bind_spin_probe, . - bind_spin_probe
