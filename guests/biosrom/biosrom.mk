# bt86's own firmware ROM image (guests/biosrom/biosrom.asm): a 64 KiB -bios
# image entered at the reset vector, that reports on the debug console (port
# 0xe9) and exits through port 0xf4. Included from guests/guests.mk; builds
#   build/guests/biosrom.bin
# Run under bt86 and QEMU (tests/integration/cases.d/biosrom.sh):
#   ./bt86 -bios build/guests/biosrom.bin -debugcon stdio -serial none
#   qemu-system-i386 -bios build/guests/biosrom.bin -debugcon stdio -serial none \
#     -display none -device isa-debug-exit,iobase=0xf4,iosize=4
# Exit status 1 = every check passed.

BIOSROM_BIN := build/guests/biosrom.bin

.PHONY: biosrom-guest
biosrom-guest: $(BIOSROM_BIN)
guests: biosrom-guest

$(BIOSROM_BIN): guests/biosrom/biosrom.asm
	@mkdir -p $(dir $@)
	nasm -f bin -o $@ $<
