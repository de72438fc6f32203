// Package agent is what decom's boot image runs: PID 1 (Init) and the agent it starts
// (Run), which inventories the machine, wipes its drives with decom's own wipe command,
// keeps the certificates and tells the technician what happened.
//
// # The boot
//
// The kernel starts the decom binary as /init. cmd/decom sees that it is PID 1 (or
// /init) on an initramfs and calls Init, which mounts /proc, /sys, /dev (devtmpfs), /run
// and /tmp, makes /dev/console its standard input, output and error, and starts
// "decom agent --boot" as a process of its own, whose death it survives: it reaps every
// orphan, and should the agent's process end, says so, syncs, detaches /data and halts
// (or powers off after two minutes in auto mode). PID 1 never exits, so the kernel
// never panics.
//
// The agent (Run) then, each step reported on the console and a failing one reported
// and passed over:
//
//  1. reads the kernel command line (below);
//  2. loads kernel modules as udev's coldplug would: every modalias under /sys/devices is
//     matched against the image's module index (/lib/modules/<release>/decom-modules.json,
//     see internal/kmod) and what matches is loaded, dependencies first, round after round
//     while loaded drivers make new devices appear (PCI → NVMe, AHCI, xHCI → USB →
//     usb-storage/uas → SCSI disks); the FAT modules (FilesystemModules) always;
//  3. waits until no new device, module or disk has appeared for 2 s (decom.settle), 30 s
//     at most;
//  4. finds the partition whose GPT name or FAT label is DECOM-DATA and mounts it on
//     /data (vfat); certificates, PDFs and logs go to /data/certs and /data/logs. Without
//     one (an ISO boot) they go to /run/decom, in RAM, and the summary says so;
//  5. reads /data/config.yaml with decom's own config loader (same schema as
//     `decom --config`, plus the agent's own boot: section, see Config); a relative
//     key: is on the data partition; an encrypted key's passphrase comes from
//     /data/key-passphrase (first line), else is asked at the console; /data/ca.pem,
//     when present, holds the CA certificates to trust for an https registry;
//  6. when a registry is configured (registry: and registry_token: in the config, or
//     a decom.registry= the config allows), brings up every wired interface and
//     configures the first DHCPv4 lease (address, routes, /etc/resolv.conf);
//  7. lists the drives (package inventory) and never wipes its own boot medium: a drive
//     that holds a DECOM-DATA or DECOM-ESP partition, or an ISO 9660 volume whose
//     identifier starts with DECOM, is left out by device number (and the mounted /data
//     makes the inventory refuse the stick too); optical drives are never wiped;
//  8. auto: shows the plan (drives, method, verification) and counts down (boot:
//     countdown, 15 s by default), during which any key at the console switches to
//     interactive mode; on a machine that boot: machines does not list it switches
//     at once; then wipes every other wipeable drive in parallel with package sanitize,
//     in process: Options.Prepare (cmd/decom's) turns a WipeRequest — the config file,
//     decom.method/decom.verify, /data/certs, the key on /data and its passphrase, the
//     registry (or none) and /data/ca.pem — into the run's options as decom wipe
//     would make them, and the run's events become the console's lines;
//     with an approved plan (decom.plan= or boot: plan:, see approved.go) auto mode
//     wipes exactly the plan's section for this machine (DMI serial and UUID) with its
//     method, after the same countdown; a plan it cannot read, another host's, or a
//     machine that differs from the plan in any drive wipes nothing, with each
//     difference on a "decom: drift:" line;
//     interactive: lists the drives, asks for the serial numbers of those to wipe and a
//     "yes", then does the same; shell: explains that there is no shell;
//  9. prints the summary, closes the log, syncs, unmounts /data, and powers off
//     (decom.poweroff=1, the default, 10 s after the summary) or halts.
//
// # Kernel command line
//
//	decom.mode=auto|interactive|shell  what to do (default auto); another word asks (interactive)
//	decom.method=NAME                  overwrite method (decom methods); default: config, else nist-clear
//	decom.verify=sample|full|none      read-back; default: config, else sample
//	decom.poweroff=0|1                 power off at the end (default 1); 0 halts and waits
//	decom.registry=URL                 registry to upload to, in the config's place: only one the config allows
//	decom.debug=1                      debug lines on the console, the kernel's messages not quietened
//	decom.settle=SECONDS               quiet time before the disks count as settled (default 2)
//	decom.plan=PATH                    approved plan auto mode follows: in the initramfs, or /data/… on the stick
//	decom.config=URL                   a network boot's config file, http:// or https://
//	decom.config.sha256=HEX            its SHA-256: required with decom.config=
//
// # Network boot
//
// decom image build --netboot writes the kernel, the initramfs and an iPXE script whose
// kernel command line carries decom.config= and decom.config.sha256=. The agent then
// brings up the network before step 5, fetches the config (three tries), checks its
// SHA-256, writes it to /run/decom/config.yaml and reads it as a stick's; a key: given as
// an http(s):// URL is fetched the same way, pinned by the config's boot: key_sha256:,
// to /run/decom/signing.key (an encrypted one's passphrase is asked at the console). A
// missing or malformed pin, a mismatch, or a URL that cannot be fetched wipes nothing;
// decom's defaults never stand in for the config (netconfig.go).
//
// A boot with no DECOM-DATA partition and no boot medium (a network boot or kexec) keeps
// certificates only in RAM: it wipes nothing unless the registry is configured and
// answers, sends certificates whose upload failed again (six rounds, pauses doubling from
// 5 s to 2 min), and does not power off while one is only in RAM: it says so and tries
// every 5 min until the registry has them (ramonly.go). An ISO boot keeps its rule: the
// certificates stay in RAM and the summary warns.
//
// Unknown decom.* keys are reported and ignored. A bad decom.method or decom.verify
// makes auto and interactive mode wipe nothing: they decide what is done to drives.
//
// Anyone at the boot menu can type these; only whoever prepared the stick wrote its
// config, so the config bounds them. decom.registry= receives the config's registry
// token, so it is refused (reported, and the config's own registry used, or none)
// unless it names the config's registry or one in boot: cmdline_registries, and
// unless it is https:// or boot: allow_insecure_http is true (which a plain-http
// registry of the config's own needs too). decom.verify=none is
// refused, and nothing wiped, unless boot: allow_unverified is true or the config
// itself says verify: none. Auto mode's countdown is the config's alone
// (decom.countdown= is ignored). decom.plan= cannot widen anything: a plan is
// followed only when its section is for this machine and matches every drive.
//
// # kexec
//
// decom kexec (cmd/decom) boots this agent from a running host: it appends to the
// boot image's initramfs an archive with /etc/decom/config.yaml (read as decom's
// default config when there is no data partition), the signing key, its passphrase
// (/etc/decom/key-passphrase, which unlockKey reads after /data's) and the plan, and
// sets decom.mode=auto decom.plan=/etc/decom/plan.json. TestQEMUKexec runs it.
//
// # Console
//
// Every line of the agent starts with "decom: "; the run's own log lines (time,
// level, message) come between them. Lines a test can wait for:
//
//	decom: decom VERSION boot agent: mode auto
//	decom: modules: N loaded, M failed
//	decom: disks: nvme0n1 sda vda (settled after 2.5s)
//	decom: data partition: /dev/sda2 (GPT partition name DECOM-DATA) mounted on /data
//	decom: network: eth0: 10.0.2.15 via 10.0.2.2, DNS 10.0.2.3
//	decom: never wiped: /dev/sda (8:0): boot medium: holds the DECOM-DATA partition (/dev/sda2)
//	decom: plan: wipe 3 drives with nist-clear, verification sample:
//	decom: approved plan /etc/decom/plan.json (sha256 …): the section of hostname …, 2 targets, method zero
//	decom: drive /dev/vdc: …: not in the approved plan: not wiped
//	decom: drift: /dev/vdb: serial: approved "A", now "B"   (then nothing is wiped)
//	decom:   /dev/nvme0n1   S6PTNM0T1            Samsung 980, S6PTNM0T1, nvme, 931.5 GiB
//	decom: wiping in 15s: press any key at this console to choose the drives instead (interactive mode)
//	decom: wiping in 10s               (and 5s, 3s, 2s, 1s)
//	decom: key pressed: switching to interactive mode
//	decom: wiping 3 drives in parallel with nist-clear, verification sample: /dev/nvme0n1 /dev/sdb /dev/vda
//	decom: progress /dev/vda pass 1/1 (0x00) 42.0% 1.2 GiB/s ETA 3s
//	decom: drive /dev/vda: completed, verified yes (sample 10.0%), certificate /data/certs/….sigstore.json
//	decom: summary
//	decom:   DEVICE  SERIAL  MODEL  SIZE  OUTCOME  VERIFIED  CERTIFICATE
//	decom:   …
//	decom: certificates: 3 in /data/certs (DECOM-DATA partition /dev/sda2)
//	decom: registry: all 3 uploaded to http://10.0.2.2:8443
//	decom: log: /data/logs/decom-20260301T120000Z.log
//	decom: problem: …                  (one per failed step)
//	decom: result: 3 sanitized, 0 with exceptions, 0 failed, 1 not wiped
//	decom: data partition unmounted: it is safe to remove the stick
//	decom: powering off in 10s (decom.poweroff=0 keeps the machine on)
//	decom: powering off
//	decom: halted: it is safe to switch the machine off   (decom.poweroff=0, shell mode)
//	decom: FATAL: …                    (then halt, or power off after 2 minutes)
//
// # Testing
//
// Everything that touches the kernel goes through System (Linux in the boot image), the
// drive list through Options.Inventory and decom itself through Options.CLI, and every
// path lives below Options.Root, so the tests run Run against fake sysfs trees with a
// fake kernel. TestQEMUAgent runs `decom agent --cmdline …` in a qemutest virtual
// machine; TestQEMUBootPID1 boots decom as /init of an initramfs with a NIC and a
// registry on the host.
package agent
