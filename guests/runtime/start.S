/*
 * _start: the entry of every vCPU (e_entry, docs/architecture.md "The platform").
 *
 * Entered at EL1h with the MMU and caches off and DAIF masked. The boot vCPU (index 0)
 * has x0 = the device tree's address (kept in guest_boot_x0); a vCPU started by PSCI
 * CPU_ON has x0 = context_id. Index = Aff1 * 16 + Aff0 of MPIDR_EL1; each index owns one
 * __guest_stack_size stack above __stacks_start (link.ld).
 *
 * Boot vCPU:  zero .bss, status = main(), semihosting SYS_EXIT_EXTENDED(status).
 * Others:     secondary_main(index, context_id), then PSCI CPU_OFF over HVC.
 */
#define PSCI_CPU_OFF 0x84000002
#define CPACR_EL1_FPEN_ALL (3 << 20)

    .section .text.boot, "ax"
    .global _start
    .type _start, %function
_start:
    mov     x19, x0                     // context id, kept for secondary_main

    mrs     x1, mpidr_el1
    and     x2, x1, #0xff               // Aff0
    ubfx    x3, x1, #8, #8              // Aff1
    add     x20, x2, x3, lsl #4         // x20 = vCPU index
    ldr     x4, =__guest_max_cpus
    cmp     x20, x4
    b.hs    park                        // no stack for this vCPU

    ldr     x4, =__stacks_start
    ldr     x5, =__guest_stack_size
    madd    x4, x20, x5, x4             // base of this vCPU's stack
    add     sp, x4, x5                  // SP_EL1 = its top (16-byte aligned)

    mov     x4, #CPACR_EL1_FPEN_ALL     // FP/SIMD usable at EL1 and EL0
    msr     cpacr_el1, x4
    adrp    x4, guest_vectors
    add     x4, x4, :lo12:guest_vectors
    msr     vbar_el1, x4
    isb

    cbnz    x20, secondary

    adrp    x4, __bss_start             // zero .bss (16-byte aligned both ends)
    add     x4, x4, :lo12:__bss_start
    adrp    x5, __bss_end
    add     x5, x5, :lo12:__bss_end
1:  cmp     x4, x5
    b.hs    2f
    stp     xzr, xzr, [x4], #16
    b       1b
2:
    adrp    x4, guest_boot_x0           // after .bss is zeroed: it lives there
    str     x19, [x4, :lo12:guest_boot_x0]
    bl      main
    sxtw    x0, w0                      // int status
    bl      semihost_exit_extended      // does not return

secondary:
    mov     w0, w20
    mov     x1, x19
    bl      secondary_main
    ldr     x0, =PSCI_CPU_OFF
    hvc     #0                          // returns only if CPU_OFF was refused
park:
    wfi
    b       park
    .size _start, . - _start

    .bss
    .balign 8
    .global guest_boot_x0
guest_boot_x0:
    .quad   0
    .size guest_boot_x0, 8

    // Default for guests that start no secondaries.
    .text
    .weak secondary_main
    .type secondary_main, %function
secondary_main:
    ret
    .size secondary_main, . - secondary_main
