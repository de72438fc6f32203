// Package qemutest runs a test's program inside a QEMU virtual machine whose disks are emulated
// NVMe, SATA (AHCI or IDE), virtio-scsi or virtio-blk drives backed by image files the test
// made: the one place where decom's code meets drive firmware, real kernel drivers and real
// device nodes without any risk to this machine's own disks.
//
// A test asks for disks and a command (ExampleRun; it only compiles):
//
//	res := qemutest.Run(t, qemutest.Config{
//		Disks: []qemutest.Disk{
//			{Path: qemutest.Image(t, "nvme.img", 64<<20), Bus: qemutest.NVMe, Serial: "NV1"},
//			{Path: qemutest.Image(t, "sata.img", 64<<20), Bus: qemutest.AHCI, Serial: "SA1"},
//		},
//		Programs: map[string]string{"/decom": "github.com/decom-project/decom/cmd/decom"},
//		Command:  []string{"/decom", "inventory", "-o", "json"},
//	})
//	if res.ExitCode != 0 {
//		t.Fatalf("decom inventory: exit code %d\n%s", res.ExitCode, res.Stderr)
//	}
//	t.Logf("inventory:\n%s", res.Stdout)
//
// Run builds the Programs static for the guest, packs them, the Files and a small init
// (./guestinit) into a newc initramfs with the kernel modules the buses need, and boots Debian's
// kernel under `qemu-system-x86_64 -accel tcg`. The init loads the modules in dependency order,
// waits until every disk shows in /sys/block, runs the command with its stdout and stderr
// framed on the serial console (package wire), and powers the machine off. Run returns the
// output and exit code; a boot that fails or outlasts Config.Timeout (3 minutes by default)
// fails the test with the console's tail. QEMU is killed and every file removed when the test
// ends. DECOM_QEMUTEST_CONSOLE=1 logs the whole console; DECOM_QEMU_ACCEL=kvm uses KVM where it
// works (not on this project's machines).
//
// Under /dev in the guest: NVMe disks are /dev/nvmeN and /dev/nvmeNn1, one controller each;
// AHCI, IDE and virtio-scsi disks are /dev/sdX (with /dev/sgN), in an order the kernel's
// probing decides, so find a disk by its serial or its sysfs path, not its name; virtio-blk
// disks are /dev/vdX.
//
// What it needs: qemu-system-x86_64 (Debian's qemu-system-x86) and the kernel that
// scripts/fetch-kernel.sh unpacks into ~/.cache/decom/kernel (Debian's linux-image-amd64, apt-get
// download, nothing installed); `make deps` provides both. Without them the tests skip, and
// fail under CI. The host needs neither root nor KVM.
//
// What it costs: on this project's machines (2 cores, TCG, Debian's 6.1 kernel), one boot
// that loads 22 modules, probes three disks, runs a small program and powers off takes about
// 7 to 9 seconds of wall time when the machine is otherwise idle, and 20 to 35 seconds while
// other builds and fuzzers load both cores. Building the guest programs adds about a second
// each with a warm Go build cache. Boot several disks in one VM rather than one VM per disk.
package qemutest
