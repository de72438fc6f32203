package kmod_test

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/decom-project/decom/internal/kmod"
)

// packModules is the image builder's part: the modules of the drivers it wants, with their
// dependencies, and the index of exactly those, written to w. It returns the modules in
// load order.
func packModules(modulesDir string, w io.Writer) ([]kmod.Module, error) {
	x, err := kmod.Scan(modulesDir)
	if err != nil {
		return nil, err
	}
	mods, err := x.Closure("nvme", "ahci", "usb_storage") // dependencies first
	if err != nil {
		return nil, err
	}
	byName := slices.SortedFunc(slices.Values(mods), func(a, b kmod.Module) int { return strings.Compare(a.Name, b.Name) })
	err = kmod.WriteIndex(w, &kmod.Index{Kernel: x.Kernel, Modules: byName, Builtin: x.Builtin})
	return mods, err
}

// loadModules is the agent's part: it reads the index in modulesDir, matches a device's
// modalias against it and loads what matched, dependencies first, with load (kmod.Load in
// the boot image).
func loadModules(modulesDir, modalias string, load func(modulesDir string, m kmod.Module) error) error {
	f, err := os.Open(filepath.Join(modulesDir, kmod.IndexFile))
	if err != nil {
		return err
	}
	defer f.Close()
	x, err := kmod.ReadIndex(f)
	if err != nil {
		return err
	}
	for _, m := range x.Match(modalias) {
		mods, err := x.Closure(m.Name)
		if err != nil {
			return err
		}
		for _, d := range mods {
			if err := load(modulesDir, d); err != nil { // kmod.Load: a module already loaded is no error
				return err
			}
		}
	}
	return nil
}

// Both parts over a made-up modules directory: a few modules whose .modinfo says what they
// depend on and which devices they drive, and scsi_mod built into the kernel. The device is
// QEMU's AHCI controller; the loader only prints.
func ExampleScan() {
	dir, err := os.MkdirTemp("", "kmod-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	for path, modinfo := range map[string][]string{
		"kernel/drivers/nvme/host/nvme-core.ko":     {"depends="},
		"kernel/drivers/nvme/host/nvme.ko":          {"depends=nvme-core", "alias=pci:v*d*sv*sd*bc01sc08i02*"},
		"kernel/drivers/ata/libata.ko":              {"depends=scsi_mod"},
		"kernel/drivers/ata/libahci.ko":             {"depends=libata"},
		"kernel/drivers/ata/ahci.ko":                {"depends=libahci,libata", "alias=pci:v*d*sv*sd*bc01sc06i01*"},
		"kernel/drivers/usb/core/usbcore.ko":        {"depends="},
		"kernel/drivers/usb/storage/usb-storage.ko": {"depends=usbcore,scsi_mod", "alias=usb:v*p*d*dc*dsc*dp*ic08isc06ip50in*"},
		"kernel/sound/core/snd.ko":                  {"depends="},
		"modules.builtin":                           {"kernel/drivers/scsi/scsi_mod.ko"},
	} {
		if err := writeModule(filepath.Join(dir, path), modinfo); err != nil {
			fmt.Println(err)
			return
		}
	}

	var index bytes.Buffer
	mods, err := packModules(dir, &index)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, m := range mods {
		fmt.Println("pack", m.Path)
	}
	if err := os.WriteFile(filepath.Join(dir, kmod.IndexFile), index.Bytes(), 0o644); err != nil {
		fmt.Println(err)
		return
	}
	err = loadModules(dir, "pci:v00008086d00002922sv00001AF4sd00001100bc01sc06i01", func(_ string, m kmod.Module) error {
		fmt.Println("load", m.Name)
		return nil
	})
	if err != nil {
		fmt.Println(err)
	}
	// Output:
	// pack kernel/drivers/nvme/host/nvme-core.ko
	// pack kernel/drivers/nvme/host/nvme.ko
	// pack kernel/drivers/ata/libata.ko
	// pack kernel/drivers/ata/libahci.ko
	// pack kernel/drivers/ata/ahci.ko
	// pack kernel/drivers/usb/core/usbcore.ko
	// pack kernel/drivers/usb/storage/usb-storage.ko
	// load libata
	// load libahci
	// load ahci
}

// In the boot image the agent loads the modules into the running kernel.
//
// This example is compile-only: Load changes the running kernel.
func ExampleLoad() {
	err := loadModules("/lib/modules/6.1.0-56-amd64", "pci:v00008086d00002922sv00001AF4sd00001100bc01sc06i01", kmod.Load)
	if err != nil {
		fmt.Println(err)
	}
}

// writeModule writes a kernel module file: the smallest ELF relocatable file Scan reads,
// with a .modinfo section holding the "key=value" entries modinfo, and a vermagic. A file
// that is not a module (modules.builtin) gets the entries as lines.
func writeModule(path string, modinfo []string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	if !strings.HasSuffix(path, ".ko") {
		return os.WriteFile(path, []byte(strings.Join(modinfo, "\n")+"\n"), 0o644)
	}
	info := []byte(strings.Join(append(modinfo, "vermagic=6.1.0-example SMP mod_unload"), "\x00") + "\x00")
	names := []byte("\x00.modinfo\x00.shstrtab\x00")
	const headerSize, sectionHeaderSize = 64, 64
	h := elf.Header64{
		Type: uint16(elf.ET_REL), Machine: uint16(elf.EM_X86_64), Version: uint32(elf.EV_CURRENT),
		Shoff:  uint64(headerSize + len(info) + len(names)),
		Ehsize: headerSize, Shentsize: sectionHeaderSize, Shnum: 3, Shstrndx: 2,
	}
	copy(h.Ident[:], elf.ELFMAG)
	h.Ident[elf.EI_CLASS] = byte(elf.ELFCLASS64)
	h.Ident[elf.EI_DATA] = byte(elf.ELFDATA2LSB)
	h.Ident[elf.EI_VERSION] = byte(elf.EV_CURRENT)
	sections := []elf.Section64{
		{},
		{Name: 1, Type: uint32(elf.SHT_PROGBITS), Off: headerSize, Size: uint64(len(info)), Addralign: 1},
		{Name: 10, Type: uint32(elf.SHT_STRTAB), Off: uint64(headerSize + len(info)), Size: uint64(len(names)), Addralign: 1},
	}
	var b bytes.Buffer
	binary.Write(&b, binary.LittleEndian, &h)
	b.Write(info)
	b.Write(names)
	binary.Write(&b, binary.LittleEndian, sections)
	return os.WriteFile(path, b.Bytes(), 0o644)
}
