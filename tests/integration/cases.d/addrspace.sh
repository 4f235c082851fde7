# addrspace (guests/addrspace): six address spaces entered by MOV CR3 in
# turn while their page tables change under them (PTEs and PDEs of inactive
# spaces without INVLPG, PTEs of the active space with it, a table shared by
# two spaces, a global page). bt86 keeps the TLB entries of recent spaces
# across MOV CR3 (memory/tlb.h) and reuses those whose PDE/PTE are
# unchanged; every read must still give the architected value, byte for
# byte the same under the interpreter, the translator, the ASan build and
# QEMU.
#          name      guest     status max-insns timeout append input
guest_case addrspace addrspace 1      50000000  20      ""     ""
