# biosstate (guests/biosstate): the machine as a BIOS leaves it at a -kernel
# entry: 8259 masks, PIT channel 0 in mode 2 at 18.2 Hz, IVT IRQ vectors in
# the F000 segment, and IRQ 0 / RTC IRQ 8 taken in real mode through vectors
# 0x08 / 0x70 by firmware handlers that count the BDA tick and send EOI.
#          name      guest     status max-insns timeout append serial input
guest_case biosstate biosstate 1      200000000 30      ""     ""
