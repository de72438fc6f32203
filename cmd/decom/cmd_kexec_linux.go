package main

import (
	"os"

	"golang.org/x/sys/unix"
)

// linuxKexec is kexecSystem through kexec_file_load(2) and reboot(2).
type linuxKexec struct{}

func (linuxKexec) Load(kernel, initrd *os.File, cmdline string) error {
	return unix.KexecFileLoad(int(kernel.Fd()), int(initrd.Fd()), cmdline, 0)
}

func (linuxKexec) Unload() error {
	return unix.KexecFileLoad(-1, -1, "", unix.KEXEC_FILE_UNLOAD|unix.KEXEC_FILE_NO_INITRAMFS)
}

func (linuxKexec) Sync() { unix.Sync() }

func (linuxKexec) Exec() error { return unix.Reboot(unix.LINUX_REBOOT_CMD_KEXEC) }

// memFile is a file in RAM: the initramfs handed to the kernel is never written to
// a disk.
func memFile(name string) (*os.File, error) {
	fd, err := unix.MemfdCreate(name, unix.MFD_CLOEXEC)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), name), nil
}
