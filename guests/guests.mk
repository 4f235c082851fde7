# Guest build rules (placeholder until guests/ lands).
GUEST_DEMO := build/guests/demo.elf
guests:
