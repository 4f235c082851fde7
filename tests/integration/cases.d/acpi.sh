# acpi (guests/acpi): the ACPI tables found the way an OS finds them (RSDP
# scan, every checksum), the MADT and FADT fields any PIIX4-style PC agrees
# on, the PM timer's rate against the PIT and the TSC, and power-off through
# \_S5: the run ends with status 0 (bt86 and QEMU alike), not through 0xf4.
# The SCI check waits for one PM timer carry (2.3 s, halted).
#          name  guest status max-insns timeout append serial input
guest_case acpi  acpi  0      300000000 30      ""     ""
