// Package nvme builds the NVMe admin commands decom needs to identify and sanitize an NVMe
// drive, and parses what the drive answers. It does no I/O of its own: commands go to a
// devio.NVMe, which is the Linux passthrough transport in production and a simulator in tests.
//
// Three kinds of thing live here:
//
//   - Builders (Identify, GetLogPage, FormatNVM, Sanitize) return a *devio.NVMeAdminCommand
//     with its data buffer allocated and its command dwords laid out as the NVM Express Base
//     Specification 2.0 describes. They check their arguments and never touch a device.
//   - Parsers (ParseController, ParseNamespace, ParseNamespaceList, ParseSanitizeStatus) are
//     pure functions over the bytes a command returned. They reject data too short to hold the
//     structure and never panic on hostile input (each has a fuzz test).
//   - Exec sends a command and turns a non-zero completion status into a *StatusError that
//     names the command, explains the status and matches sentinels such as ErrInvalidOpcode
//     with errors.Is. IdentifyController, IdentifyNamespace, ActiveNamespaces and
//     ReadSanitizeStatus combine a builder, Exec and a parser for the common read-only queries.
//
// A typical check before a sanitize (ExampleIdentifyController runs it against simulated
// controllers):
//
//	func cryptoErase(dev devio.NVMe) (string, error) {
//		c, err := nvme.IdentifyController(dev)
//		if err != nil {
//			return "", err
//		}
//		if !c.Sanitize.CryptoErase {
//			if c.FormatNVM && c.Format.CryptoErase {
//				return "Format NVM, SES=2", nil
//			}
//			return "", fmt.Errorf("%s: no cryptographic erase", c.Model)
//		}
//		return "Sanitize, crypto erase", nil
//	}
//
// Section numbers in comments refer to the NVM Express Base Specification, revision 2.0
// ("Base 2.0"), or to the NVM Command Set Specification, revision 1.0 ("NVM CS 1.0"), which
// since 2.0 holds the parts of Identify Namespace and Format NVM that are specific to
// logical-block namespaces. All multi-byte fields are little-endian.
package nvme
