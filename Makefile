# decom — build, test and demo. Run as root on Debian: the tests attach loop devices.
GO      ?= go
export CGO_ENABLED := 0

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
LDFLAGS := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)

# Debian packages the tests and the demo use, as command=package. The mkfs tools,
# cryptsetup and genisoimage make the real filesystems the signature tests probe;
# poppler and zbar read the certificate PDFs back, QR code included; QEMU boots the
# emulated NVMe/SATA/SCSI disks of internal/qemutest, and with OVMF (its UEFI firmware: a
# file, not a command; ensure-tools.sh checks that an absolute path exists) the boot
# images; ipxe-qemu's option ROM (a file) PXE-boots the network boot's test guest
# through QEMU's own TFTP server; fsck.fat checks the images' FAT filesystems; ansible-core runs the Ansible
# collection's playbook against sshd hosts (openssh-server) the test starts itself.
TEST_TOOLS := losetup=mount mount=mount blkid=util-linux mkswap=util-linux curl=curl \
	mkfs.ext4=e2fsprogs mkfs.vfat=dosfstools fsck.fat=dosfstools mkfs.xfs=xfsprogs mkfs.btrfs=btrfs-progs \
	mkfs.ntfs=ntfs-3g mkfs.exfat=exfatprogs cryptsetup=cryptsetup-bin genisoimage=genisoimage \
	pdftotext=poppler-utils pdfinfo=poppler-utils pdftoppm=poppler-utils zbarimg=zbar-tools \
	chromium=chromium chromedriver=chromium-driver pg_ctlcluster=postgresql \
	qemu-system-x86_64=qemu-system-x86 /usr/share/OVMF/OVMF_CODE.fd=ovmf \
	/usr/lib/ipxe/qemu/pxe-virtio.rom=ipxe-qemu \
	ansible-playbook=ansible-core /usr/sbin/sshd=openssh-server ssh-keygen=openssh-client

# Debian packages the benchmarks use; nwipe is there to compare with.
BENCH_TOOLS := fio=fio jq=jq /usr/bin/time=time losetup=mount fallocate=util-linux nwipe=nwipe

# Tools built from the Go module proxy, kept outside the checkout so that CI's fresh
# clones reuse them: cosign, for the test that checks certificates the way an auditor
# would with it.
TOOLS_DIR ?= $(HOME)/.cache/decom/tools
COSIGN_VERSION := v3.1.3
COSIGN := $(TOOLS_DIR)/cosign-$(COSIGN_VERSION)

.PHONY: all build agent image test demo lint bench bench-go bench-wipe bench-journal bench-cpu bench-parallel bench-registry bench-image deps tools fuzz clean

all: build

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/decom ./cmd/decom

## agent: bin/decom-agent, the boot image's decom: built with the tag agentimage, it
## leaves out what the agent on site cannot use (KMS clients, the registry server and
## its databases, the image builder); about a third of bin/decom's size.
AGENT_TAGS := agentimage
agent:
	$(GO) build -trimpath -tags $(AGENT_TAGS) -ldflags '$(LDFLAGS)' -o bin/decom-agent ./cmd/decom

## deps: install the host tools the tests need (apt-get, as root) when they are missing,
## build cosign, fetch Debian's kernel (for the QEMU tests and the boot image) into
## ~/.cache/decom/kernel and systemd-boot (for the boot image) into ~/.cache/decom/boot.
deps: tools
	@scripts/ensure-tools.sh $(TEST_TOOLS)
	@scripts/fetch-kernel.sh
	@scripts/fetch-boot.sh

tools: $(COSIGN)

$(COSIGN):
	@mkdir -p $(TOOLS_DIR)
	@echo "building cosign $(COSIGN_VERSION) into $(TOOLS_DIR) (a few minutes, once)"
	GOBIN=$(TOOLS_DIR)/.build CGO_ENABLED=0 $(GO) install github.com/sigstore/cosign/v3/cmd/cosign@$(COSIGN_VERSION)
	mv $(TOOLS_DIR)/.build/cosign $@

## image: the boot media: bin/decom.img (USB stick, GPT: EFI System Partition and
## DECOM-DATA) and bin/decom.iso (BMC virtual media), UEFI, booting bin/decom-agent
## (make agent; bin/decom builds the media); what they hold goes to bin/decom.img.json.
## Same commit, same bytes: files are dated with the commit's time (SOURCE_DATE_EPOCH).
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 1735689600)
image: build agent
	@scripts/fetch-kernel.sh
	@scripts/fetch-boot.sh
	SOURCE_DATE_EPOCH=$(SOURCE_DATE_EPOCH) bin/decom image build --binary bin/decom-agent \
		--image bin/decom.img --iso bin/decom.iso --report bin/decom.img.json

## test: every test. Needs root: tests attach loop devices of their own. A package
## may take longer than go test's default 10 minutes on a busy machine (QEMU boots under TCG).
test: deps lint
	DECOM_COSIGN=$(COSIGN) $(GO) test -count=1 -timeout 30m ./...

## demo: inventory of this machine with a scratch loop device in it.
demo: build deps
	@scripts/demo.sh bin/decom

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

## bench: the Go benchmarks, decom against fio (and nwipe) on loop devices it makes,
## and the registry under load (loopback only, 20,000 uploads, bounded in time).
bench: bench-go bench-wipe bench-registry

bench-go:
	$(GO) test -run='^$$' -bench=. -benchmem ./...

## bench-wipe: SIZE per device (default 2G) and REPEAT (default 3), e.g. make bench-wipe SIZE=1G;
## then the resume journal's cost: decom wipe of a JSIZE (default 4G) loop device with and
## without it, JREPEAT (default 5) runs of each, interleaved; then CPU s/GiB and peak RSS per
## pattern with the random/zero throughput ratios (bench-cpu) and 1 to 16 devices at once
## against fio (bench-parallel).
bench-wipe: build
	@scripts/ensure-tools.sh $(BENCH_TOOLS)
	scripts/bench-wipe.sh bin/decom

## bench-journal: only the journal's cost (the last table of bench-wipe), e.g.
## make bench-journal JREPEAT=9 JINTERVAL=1s JBACKING=tmpfs   (JINTERVAL: --journal-interval, default 5s;
## JBACKING: the device image on disk, the default, or in a tmpfs)
bench-journal: build
	@scripts/ensure-tools.sh jq=jq /usr/bin/time=time losetup=mount fallocate=util-linux
	PARTS=journal scripts/bench-wipe.sh bin/decom

## bench-cpu: only CPU seconds per GiB and peak RSS per pattern against fio, and the random
## pass's throughput over the zero pass's (tmpfs- and disk-backed), e.g. make bench-cpu CSIZE=2G CREPEAT=5
bench-cpu: build
	@scripts/ensure-tools.sh $(BENCH_TOOLS)
	PARTS=cpu scripts/bench-wipe.sh bin/decom

## bench-parallel: only many devices at once, decom in one process against fio with one job per
## device, e.g. make bench-parallel PCOUNTS="1 4 8 16" PSIZE=256M PREPEAT=3
bench-parallel: build
	@scripts/ensure-tools.sh $(BENCH_TOOLS)
	PARTS=parallel scripts/bench-wipe.sh bin/decom

## bench-registry: 20,000 uploads arriving at 1,300/s, then 64 agents uploading in a
## closed loop; the reports go to bin/.
bench-registry:
	@mkdir -p bin
	DECOM_LOAD_FULL=1 DECOM_LOAD_RATE=1300 DECOM_LOAD_REPORT=$(CURDIR)/bin/registry-load-rate.md \
		$(GO) test -count=1 -run 'TestLoad$$' -v ./registry/loadtest/
	DECOM_LOAD_FULL=1 DECOM_LOAD_REPORT=$(CURDIR)/bin/registry-load-agents.md \
		$(GO) test -count=1 -run 'TestLoad$$' -v ./registry/loadtest/

## bench-image: the boot image with bin/decom-agent's build against one with the full
## decom: binary and initramfs sizes, and boots under QEMU (TCG, OVMF) to the agent's
## first write on a drive, median of 3 each (about 15 minutes); the report goes to bin/.
bench-image:
	@mkdir -p bin
	DECOM_IMAGE_REPORT=$(CURDIR)/bin/image-size.md $(GO) test -count=1 -timeout 60m -run 'TestImageSizes$$' -v ./images/

## fuzz: run each parser fuzzer for FUZZTIME (default 30s).
FUZZTIME ?= 30s
fuzz:
	@scripts/fuzz.sh $(FUZZTIME)

clean:
	rm -rf bin
