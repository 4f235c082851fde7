/* QEMU's isa-debug-exit device at port 0xf4: a guest write of V ends bt86 with
 * exit status (V << 1) | 1, so test guests can report pass/fail. */
#ifndef BT86_DEVICES_DEBUG_EXIT_H
#define BT86_DEVICES_DEBUG_EXIT_H

#include <stdint.h>

#include "devices/iobus.h"

#define DEBUG_EXIT_PORT 0xf4

struct vcpu;

struct debug_exit {
    /* The vCPU whose OUT reached the port: the board points this at its
     * "current vCPU" slot, set before every cpu_run (the I/O bus does not
     * pass the vCPU through). */
    struct vcpu *const *cur;
    uint32_t last_value;
    int written;        /* the guest has written the port */
};

/* Claims DEBUG_EXIT_PORT; byte, word and dword writes all count. 0 or -1. */
int debug_exit_init(struct debug_exit *d, struct iobus *bus, struct vcpu *const *cur);

/* The exit status for a written value: (V << 1) | 1, as the host sees it (8 bits). */
static inline int debug_exit_status(uint32_t value) { return (int)(((value << 1) | 1u) & 0xffu); }

#endif
