// Package images builds decom's boot media: a raw GPT disk image for USB sticks and an ISO
// for a server's virtual media, both booting with UEFI into Debian's kernel and an
// initramfs whose /init is the static decom binary (its PID-1 side is package
// agent). One call makes both (ExampleBuild):
//
//	res, err := images.Build(ctx, images.Config{Image: "bin/decom.img", ISO: "bin/decom.iso"})
//
// The USB image holds a GPT with two FAT32 partitions: the EFI System Partition (DECOM-ESP)
// and the data partition (DECOM-DATA: config.yaml, certificates, logs). The EFI System
// Partition holds systemd-boot as \EFI\BOOT\BOOTX64.EFI, its \loader\loader.conf and two
// entries (\loader\entries\decom.conf, auto mode, the default; decom-interactive.conf), the
// kernel as \decom\vmlinuz and the initramfs as \decom\initrd.img. The ISO is plain
// ISO9660 whose El Torito catalog names one EFI boot image: a FAT32 image holding the same
// files.
//
// The initramfs is a gzip-compressed newc cpio archive: /init, /dev/console, empty mount
// points, and under /lib/modules/<release>/ the kernel modules DefaultClasses select from
// the kernel's tree, with every module they depend on (package internal/kmod), stored
// decompressed, and decom-modules.json, the kmod.Index of exactly those modules.
//
// The kernel and systemd-boot are Debian's packages, unpacked into caches by
// scripts/fetch-kernel.sh and scripts/fetch-boot.sh (internal/debcache); nothing is
// installed on the build machine. Everything else is Go: go-diskfs writes the partition
// table, the FAT filesystems and the ISO, u-root's cpio package the initramfs. Build fixes
// what go-diskfs leaves nondeterministic or unfinished (timestamps, GUIDs, FAT serial
// numbers, the FSInfo sector, ".." entries, ISO volume descriptor dates), so that the same
// inputs give the same bytes.
package images
