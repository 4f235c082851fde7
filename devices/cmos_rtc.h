/* The MC146818 real-time clock and CMOS memory at ports 0x70/0x71: time and
 * date registers (BCD or binary, 12/24 hour), status registers A-D with the
 * update-in-progress window, periodic / alarm / update-ended interrupts on
 * IRQ 8, the NMI mask bit, and the memory-size bytes BIOSes leave behind. */
#ifndef BT86_DEVICES_CMOS_RTC_H
#define BT86_DEVICES_CMOS_RTC_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/vclock.h"

struct iobus;

struct cmos_rtc {
    uint8_t ram[128];
    uint8_t index;
    bool nmi_disabled;        /* port 0x70 bit 7 */
    struct vclock *clock;
    int64_t base_unix;        /* wall-clock seconds at virtual time 0 */
    int64_t set_offset;       /* seconds added by guest writes of the time */
    struct vtimer periodic, update;
    void (*set_irq)(void *opaque, bool level);
    void *opaque;
};

/* base_unix: the time the guest should see at start (e.g. time(NULL)). */
void cmos_init(struct cmos_rtc *r, struct vclock *clock, int64_t base_unix, uint32_t ram_bytes,
               void (*set_irq)(void *, bool), void *opaque);
int  cmos_register(struct cmos_rtc *r, struct iobus *bus);
uint8_t cmos_read(struct cmos_rtc *r, uint16_t port);
void    cmos_write(struct cmos_rtc *r, uint16_t port, uint8_t val);

#endif
