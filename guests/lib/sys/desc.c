/* GDT, TSS and IDT of the system test guests (sys.h). */
#include "sys.h"

uint64_t gdt[GDT_ENTRIES] __attribute__((aligned(8)));
uint64_t idt[256] __attribute__((aligned(8)));
struct tss32 tss __attribute__((aligned(128)));

static uint8_t kstack0[16384] __attribute__((aligned(16)));

extern char isr_table[];

uint32_t kstack0_top(void) { return (uint32_t)(kstack0 + sizeof(kstack0)); }

void gdt_set(unsigned index, uint32_t base, uint32_t limit, uint8_t access, uint8_t flags)
{
    uint64_t d = (limit & 0xffffu) | ((uint64_t)(base & 0xffffffu) << 16) | ((uint64_t)access << 40) |
                 ((uint64_t)((limit >> 16) & 0xfu) << 48) | ((uint64_t)(flags & 0xfu) << 52) |
                 ((uint64_t)(base >> 24) << 56);
    gdt[index] = d;
}

void idt_set_gate(unsigned vec, uint16_t sel, uint32_t off, unsigned type, unsigned dpl, int present)
{
    uint8_t acc = (uint8_t)((type & 0xf) | (dpl & 3) << 5 | (present ? 0x80 : 0));
    idt[vec] = (off & 0xffffu) | ((uint64_t)sel << 16) | ((uint64_t)acc << 40) | ((uint64_t)(off >> 16) << 48);
}

void idt_set_task_gate(unsigned vec, uint16_t tss_sel, unsigned dpl)
{
    uint8_t acc = (uint8_t)(0x5 | (dpl & 3) << 5 | 0x80);
    idt[vec] = ((uint64_t)tss_sel << 16) | ((uint64_t)acc << 40);
}

uint32_t idt_stub(unsigned vec) { return (uint32_t)isr_table + 16 * vec; }

void idt_restore(unsigned vec)
{
    idt_set_gate(vec, SEL_KCODE, idt_stub(vec), vec == 0x80 ? 0xF : 0xE, vec == 0x80 ? 3 : 0, 1);
}

/* Both 8259s reinitialised (vectors 0x20/0x28) and fully masked: a BIOS
 * leaves IRQ0 unmasked at vector 8, which a stray STI would turn into a
 * fake #DF. Guests that want IRQs program the PICs themselves. */
static void pic_quiesce(void)
{
    static const uint8_t icw[2][4] = {{0x11, 0x20, 0x04, 0x01}, {0x11, 0x28, 0x02, 0x01}};
    for (int p = 0; p < 2; p++) {
        uint16_t base = p ? 0xa0 : 0x20;
        outb(base, icw[p][0]);
        for (int i = 1; i < 4; i++)
            outb((uint16_t)(base + 1), icw[p][i]);
        outb((uint16_t)(base + 1), 0xff);
    }
}

void sys_init(void)
{
    pic_quiesce();
    gdt[0] = 0;
    gdt_set(1, 0, 0xfffff, ACC_P | ACC_S | ACC_CODE | ACC_READ, FLG_G | FLG_DB);
    gdt_set(2, 0, 0xfffff, ACC_P | ACC_S | ACC_WRITE, FLG_G | FLG_DB);
    gdt_set(3, 0, 0xfffff, ACC_P | ACC_DPL(3) | ACC_S | ACC_CODE | ACC_READ, FLG_G | FLG_DB);
    gdt_set(4, 0, 0xfffff, ACC_P | ACC_DPL(3) | ACC_S | ACC_WRITE, FLG_G | FLG_DB);
    memset(&tss, 0, sizeof(tss));
    tss.esp0 = kstack0_top();
    tss.ss0 = SEL_KDATA;
    tss.iomap = sizeof(tss);            /* beyond the limit: no I/O bitmap */
    gdt_set(5, (uint32_t)&tss, sizeof(tss) - 1, ACC_P | 0x09, 0);
    gdt_set(6, 0, 0xffff, ACC_P | ACC_S | ACC_CODE | ACC_READ, 0);
    gdt_set(7, 0, 0xffff, ACC_P | ACC_S | ACC_WRITE, 0);
    for (unsigned i = 8; i < GDT_ENTRIES; i++)
        gdt[i] = 0;
    for (unsigned v = 0; v < 256; v++)
        idt_restore(v);

    struct __attribute__((packed)) { uint16_t limit; uint32_t base; } g, i;
    g.limit = sizeof(gdt) - 1;
    g.base = (uint32_t)gdt;
    i.limit = sizeof(idt) - 1;
    i.base = (uint32_t)idt;
    __asm__ volatile("lgdt %0\n\t"
                     "ljmp $0x08, $1f\n"
                     "1:\n\t"
                     "movw $0x10, %%ax\n\t"
                     "movw %%ax, %%ds\n\t"
                     "movw %%ax, %%es\n\t"
                     "movw %%ax, %%fs\n\t"
                     "movw %%ax, %%gs\n\t"
                     "movw %%ax, %%ss\n\t"
                     "lidt %1\n\t"
                     "movw $0x28, %%ax\n\t"
                     "ltr %%ax"
                     : : "m"(g), "m"(i) : "eax", "memory");
}
