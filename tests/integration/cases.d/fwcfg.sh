# fw_cfg guest (guests/fwcfg): QEMU's firmware configuration device as a
# guest sees it after -m 64 and -m 200 (signature, ID, RAM size, CPU counts,
# the file directory's form and etc/e820). Sourced by guests.sh.

#          name       guest  status max-insns timeout options
opts_case  fwcfg-m64  fwcfg  1      20000000  20      -m 64
opts_case  fwcfg-m200 fwcfg  1      20000000  20      -m 200
