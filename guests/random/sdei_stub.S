/*
 * random_sdei_handler: the SDEI handler the random-call guest registers (DEN0054C §5.1.2
 * SDEI_EVENT_REGISTER). Entered at EL1h with x0 = event, x1 = argument (DEN0054C §3.2); it
 * counts the dispatch for its vCPU and completes at once with SDEI_EVENT_COMPLETE(HANDLED),
 * which gives back x0..x17, PC and PSTATE of the interrupted context (§5.1.5). Only x0..x3
 * are used, and no stack, so nothing of the interrupted context beyond them is touched.
 */
#define SDEI_EVENT_COMPLETE 0xC4000025
#define SDEI_EV_HANDLED 0

    .text
    .global random_sdei_handler
    .type random_sdei_handler, %function
    .balign 4
random_sdei_handler:
    mrs     x1, mpidr_el1
    and     x2, x1, #0xff               // Aff0
    ubfx    x3, x1, #8, #8              // Aff1
    add     x1, x2, x3, lsl #4          // vCPU index
    adrp    x2, random_sdei_dispatches
    add     x2, x2, :lo12:random_sdei_dispatches
    add     x2, x2, x1, lsl #3
    ldr     x3, [x2]
    add     x3, x3, #1
    str     x3, [x2]
    ldr     x0, =SDEI_EVENT_COMPLETE
    mov     x1, #SDEI_EV_HANDLED
    hvc     #0
1:  b       1b                          // COMPLETE does not return
    .size random_sdei_handler, . - random_sdei_handler
