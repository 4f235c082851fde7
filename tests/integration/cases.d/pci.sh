# PCI guest (guests/pci): configuration mechanism #1 and the 440FX host
# bridge at 00:00.0, probed as Linux does. QEMU's bus has more devices (PIIX3,
# IDE, ACPI, VGA, NIC); the guest prints only the bridge and checks generic
# properties, so the run is compared with QEMU byte for byte. Sourced by
# guests.sh.
#          name  guest status max-insns timeout append serial input
guest_case pci   pci   1      20000000  20      ""     ""
