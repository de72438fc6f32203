package images_test

import (
	"context"
	"fmt"
	"log"

	"github.com/decom-project/decom/images"
)

// Build makes the USB image and the ISO from the cached Debian kernel and systemd-boot
// (scripts/fetch-kernel.sh, scripts/fetch-boot.sh) and a decom binary it builds from the
// module around the working directory.
//
// This example is compile-only: a build takes minutes, needs those caches and writes
// files under bin/. The end-to-end tests (e2e_test.go, TestE2EAuto and others) build an
// image and boot it in QEMU.
func ExampleBuild() {
	ctx := context.Background()
	res, err := images.Build(ctx, images.Config{Image: "bin/decom.img", ISO: "bin/decom.iso"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Image.Path, res.Image.Size, res.Image.SHA256)
	fmt.Println(res.ISO.Path, res.ISO.Size, res.ISO.SHA256)
	fmt.Println("kernel", res.Kernel.Release, "with", len(res.Initramfs.Modules), "modules")
}
