/* The 8254 programmable interval timer (ports 0x40-0x43) and the port 0x61
 * bits that go with it (channel 2 gate, speaker enable, OUT2 status, refresh
 * toggle). Counters are computed from virtual time (devices/vclock.h), so
 * reading them costs nothing and runs are deterministic in -icount mode. */
#ifndef BT86_DEVICES_PIT8254_H
#define BT86_DEVICES_PIT8254_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/vclock.h"

#define PIT_HZ 1193182u

struct iobus;

struct pit_channel {
    uint32_t count;         /* reload value: 1..65536 (0 written means 65536) */
    uint8_t mode;           /* 0-5 */
    uint8_t rw;             /* 1 LSB, 2 MSB, 3 LSB then MSB */
    bool bcd;
    bool gate;
    bool armed;             /* a count has been written since the mode was set */
    uint64_t load_ns;       /* virtual time the count started */
    uint32_t frozen;        /* counter value while the gate stops counting */
    bool write_lsb_done;    /* LSB of a 16-bit write received */
    uint8_t write_lsb;
    bool read_msb_next;     /* next read of a 16-bit value returns the MSB */
    bool latched;           /* a latched count is waiting to be read */
    uint16_t latch;
    bool latched_msb_next;
    bool status_latched;
    uint8_t status;
    bool null_count;
};

struct pit {
    struct pit_channel ch[3];
    struct vclock *clock;
    struct vtimer timer;    /* channel 0's next IRQ 0 edge */
    bool speaker_data;      /* port 0x61 bit 1 */
    void (*set_irq0)(void *opaque, bool level);
    void *opaque;
    uint64_t irqs;          /* statistics */
};

void pit_init(struct pit *p, struct vclock *clock, void (*set_irq0)(void *, bool), void *opaque);
int  pit_register(struct pit *p, struct iobus *bus);
/* Register access, for the bus and tests: port 0x40-0x43 and 0x61. */
uint8_t pit_read(struct pit *p, uint16_t port);
void    pit_write(struct pit *p, uint16_t port, uint8_t val);
/* Current counter value and OUT pin of a channel. */
uint32_t pit_counter(struct pit *p, int ch);
bool     pit_out(struct pit *p, int ch);

#endif
