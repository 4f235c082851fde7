/* The POST diagnostic port 0x80: writes are accepted and ignored, reads give
 * all ones. Claiming it keeps firmware-style delay writes out of the
 * unclaimed-port statistics. */
#ifndef BT86_DEVICES_PORT80_H
#define BT86_DEVICES_PORT80_H

#include "devices/iobus.h"

int port80_init(struct iobus *bus); /* 0 or -1 */

#endif
