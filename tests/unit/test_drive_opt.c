/* -drive / -hdX parsing (frontend/drive_opt.c), suite `drive`: QEMU's
 * spellings, ",," escapes, bus/unit, automatic positions, and the messages
 * for what bt86 does not support. */
#include <criterion/criterion.h>

#include <string.h>

#include "frontend/drive_opt.h"

static void parse_ok(const char *arg, struct drive_opt *d)
{
    char err[256] = "";
    cr_assert_eq(drive_parse(arg, d, err, sizeof(err)), 0, "%s: %s", arg, err);
}

static void parse_err(const char *arg, const char *want)
{
    struct drive_opt d;
    char err[256] = "";
    cr_assert_eq(drive_parse(arg, &d, err, sizeof(err)), -1, "%s", arg);
    cr_assert_str_eq(err, want);
}

Test(drive, qemu_spellings)
{
    struct drive_opt d;
    parse_ok("file=build/guests/bootdisk.img,format=raw,index=0", &d);
    cr_assert_str_eq(d.file, "build/guests/bootdisk.img");
    cr_assert_eq(d.index, 0);
    cr_assert(!d.snapshot);
    cr_assert(!d.readonly);
    parse_ok("file=a.img,index=3,if=ide,media=disk,snapshot=on,readonly=yes,cache=none,id=d0", &d);
    cr_assert_eq(d.index, 3);
    cr_assert(d.snapshot);
    cr_assert(d.readonly);
    parse_ok("file=a.img", &d);
    cr_assert_eq(d.index, -1);
    parse_ok("file=x,,y.img,bus=1,unit=1", &d);
    cr_assert_str_eq(d.file, "x,y.img");
    cr_assert_eq(d.index, 3);
    parse_ok("bus=1,file=b.img", &d);
    cr_assert_eq(d.index, 2);
    parse_ok("unit=1,file=b.img,snapshot=off", &d);
    cr_assert_eq(d.index, 1);
    cr_assert(!d.snapshot);
}

Test(drive, refusals)
{
    parse_err("index=0", "-drive: file= is required");
    parse_err("file=", "-drive: file= is empty");
    parse_err("file=a.img,index=4", "-drive: index=4: expected 0 to 3");
    parse_err("file=a.img,index=x", "-drive: index=x: expected 0 to 3");
    parse_err("file=a.img,format=qcow2", "-drive: format=qcow2: only raw images are supported");
    parse_err("file=a.img,if=virtio", "-drive: if=virtio: only IDE disks are supported");
    parse_err("file=a.iso,media=cdrom", "-drive: media=cdrom: only disks are supported");
    parse_err("file=a.img,snapshot=maybe", "-drive: snapshot=maybe: expected on or off");
    parse_err("file=a.img,cache=fast", "-drive: cache=fast: unknown cache mode");
    parse_err("file=a.img,werror=stop", "-drive: unknown parameter 'werror'");
    parse_err("a.img", "-drive: 'a.img' is not key=value");
    parse_err("file=a.img,index=1,bus=0", "-drive: index cannot be used with bus and unit");
    parse_err("file=a.img,unit=2", "-drive: unit=2: expected 0 to 1");
}

Test(drive, positions_and_boot_disk)
{
    struct drive_set s;
    memset(&s, 0, sizeof(s));
    char err[256];
    cr_assert_eq(drive_add(&s, "file=data.img", err, sizeof(err)), 0);
    cr_assert_eq(drive_add_hd(&s, 0, "boot.img", err, sizeof(err)), 0);
    cr_assert_eq(drive_add(&s, "file=c.img,index=2", err, sizeof(err)), 0);
    cr_assert_eq(drive_add(&s, "file=d.img", err, sizeof(err)), 0);
    cr_assert_eq(drive_set_finish(&s, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(s.d[0].index, 1, "the first free position after the explicit ones");
    cr_assert_eq(s.d[1].index, 0);
    cr_assert_eq(s.d[2].index, 2);
    cr_assert_eq(s.d[3].index, 3);
    cr_assert_str_eq(drive_set_boot(&s)->file, "boot.img");
    cr_assert_eq(drive_add(&s, "file=e.img", err, sizeof(err)), -1);
    cr_assert_str_eq(err, "too many disks (at most 4 IDE disks)");

    memset(&s, 0, sizeof(s));
    cr_assert_null(drive_set_boot(&s));
    cr_assert_eq(drive_add_hd(&s, 1, "b.img", err, sizeof(err)), 0);
    cr_assert_eq(drive_add(&s, "file=x.img,index=1", err, sizeof(err)), 0);
    cr_assert_eq(drive_set_finish(&s, err, sizeof(err)), -1);
    cr_assert_str_eq(err, "two disks at index=1 (bus=0, unit=1)");

    memset(&s, 0, sizeof(s));
    cr_assert_eq(drive_add_hd(&s, 3, "only.img", err, sizeof(err)), 0);
    cr_assert_eq(drive_set_finish(&s, err, sizeof(err)), 0);
    cr_assert_eq(drive_set_boot(&s)->index, 3, "the first disk there is, as SeaBIOS");
    cr_assert_eq(drive_add_hd(&s, 2, "", err, sizeof(err)), -1);
    cr_assert_str_eq(err, "-hdc: empty file name");
}
