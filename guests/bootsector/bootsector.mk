# The boot-sector guest (guests/bootsector/boot.S) and its disks, for bt86's
# disk boot path and IDE controller. Include from guests/guests.mk; builds
#   build/guests/bootdisk.img  32 KiB: sector 0 = stage 1, then stage 2
#   build/guests/datadisk.img  64 KiB of zeros: the second disk (index 1),
#                              which the guest writes sectors 5-6 of
# Run under QEMU (SeaBIOS boots sector 0 with DL = 0x80):
#   qemu-system-i386 -accel tcg -display none -serial stdio \
#     -device isa-debug-exit,iobase=0xf4,iosize=4 \
#     -drive file=build/guests/bootdisk.img,format=raw,index=0 \
#     -drive file=build/guests/datadisk.img,format=raw,index=1
# Exit status 1 = every check passed. The data disk is rewritten on every run
# (same bytes each time); `make bootsector-guest-clean-data` recreates it.

BOOTSECTOR_OUT := build/guests
BOOTSECTOR_OBJ := build/guests/bootsector
BOOTDISK_IMG   := $(BOOTSECTOR_OUT)/bootdisk.img
DATADISK_IMG   := $(BOOTSECTOR_OUT)/datadisk.img

.PHONY: bootsector-guest bootsector-guest-clean-data
bootsector-guest: $(BOOTDISK_IMG) $(DATADISK_IMG)
guests: bootsector-guest

$(BOOTSECTOR_OBJ)/boot.o: guests/bootsector/boot.S
	@mkdir -p $(dir $@)
	as --32 -o $@ $<

# A flat binary linked at 0x7c00; boot.S pads it to the full 32 KiB.
$(BOOTDISK_IMG): $(BOOTSECTOR_OBJ)/boot.o
	@mkdir -p $(dir $@)
	ld -m elf_i386 -Ttext 0x7c00 -e _start --oformat binary -o $@ $<

# Made once, then left alone: the guest writes it (the same bytes every run).
$(DATADISK_IMG):
	@mkdir -p $(dir $@)
	head -c 65536 /dev/zero > $@

bootsector-guest-clean-data:
	rm -f $(DATADISK_IMG)
	$(MAKE) $(DATADISK_IMG)
