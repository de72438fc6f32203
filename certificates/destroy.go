package certificates

import (
	"crypto/rand"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Certificates of destruction: NIST SP 800-88's third method type, for media that
// could not be sanitized (dead, failed, refused by every technique) or that policy
// sends to the shredder. They are Certificates like the others, under the same
// predicate type, so decom cert verify, the registry and cosign's --type take them
// unchanged; schema version 3 adds the outcome "destroyed" (status
// certificate-of-destruction) and the Destruction section, which only they carry.

// SchemaVersion3 is the schema of certificates of destruction: version 2 with the
// outcome OutcomeDestroyed and Certificate.Destruction. Certificates of
// sanitization are still written under SchemaVersion.
const SchemaVersion3 = "3"

// The outcome and status of a certificate of destruction.
const (
	OutcomeDestroyed      = "destroyed"
	StatusDestructionCert = "certificate-of-destruction"
)

// Destruction methods.
const (
	DestroyShred        = "shred"
	DestroyDisintegrate = "disintegrate"
	DestroyPulverize    = "pulverize"
	DestroyIncinerate   = "incinerate"
	DestroyDegauss      = "degauss"
)

// DestructionMethods lists the accepted destruction methods.
var DestructionMethods = []string{DestroyShred, DestroyDisintegrate, DestroyPulverize, DestroyIncinerate, DestroyDegauss}

// NeedsParticleSize reports whether a destruction method leaves particles whose size
// a certificate must state (shred, disintegrate, pulverize).
func NeedsParticleSize(method string) bool {
	return method == DestroyShred || method == DestroyDisintegrate || method == DestroyPulverize
}

// NeedsDevice reports whether a destruction method's certificate must name the
// device used: a degausser's make, model and serial are what make its field strength
// checkable.
func NeedsDevice(method string) bool { return method == DestroyDegauss }

// Destruction is how, where and when the media were destroyed. The operator is the
// certificate's PerformedBy, the witness its ValidatedBy.
type Destruction struct {
	// Method is one of DestructionMethods.
	Method string `json:"method"`
	// ParticleSizeMM is the largest particle left, in millimetres (shred, disintegrate,
	// pulverize).
	ParticleSizeMM float64 `json:"particle_size_mm,omitempty"`
	// Device is the shredder, disintegrator or degausser used (make, model, serial).
	Device string    `json:"device,omitempty"`
	Place  string    `json:"place"`
	Time   time.Time `json:"time"`
	// Follows is the ID of the record of the failed, aborted or unverified
	// sanitization of the same media that the destruction concludes, when there was one.
	Follows string `json:"follows,omitempty"`
	// Evidence are files (photographs, a shredder's ticket) the certificate vouches
	// for by digest; the files themselves are kept elsewhere.
	Evidence []EvidenceFile `json:"evidence"`
}

// EvidenceFile is one evidence file, named and identified by its SHA-256.
type EvidenceFile struct {
	Name      string `json:"name"`
	SHA256    string `json:"sha256"`
	SizeBytes int64  `json:"size_bytes"`
}

// validateDestruction checks what schema 3 adds: a certificate of destruction and its
// Destruction section go together, and the section is complete.
func (c *Certificate) validateDestruction() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
	}
	d := c.Destruction
	switch {
	case d == nil && c.Outcome == OutcomeDestroyed:
		return bad("destroyed, but the certificate has no destruction section")
	case d == nil:
		return nil
	case c.Outcome != OutcomeDestroyed:
		return bad("a destruction section in a certificate whose outcome is %q", c.Outcome)
	case c.Sanitization.Category != CategoryDestroy:
		return bad("destroyed, but the method type is %q", c.Sanitization.Category)
	case !slices.Contains(DestructionMethods, d.Method):
		return bad("unknown destruction method %q", d.Method)
	case c.Sanitization.Technique != d.Method:
		return bad("technique %q is not the destruction method %q", c.Sanitization.Technique, d.Method)
	case NeedsParticleSize(d.Method) && !(d.ParticleSizeMM > 0):
		return bad("%s: no particle size", d.Method)
	case d.ParticleSizeMM < 0:
		return bad("negative particle size")
	case NeedsDevice(d.Method) && d.Device == "":
		return bad("%s: the device used is not named", d.Method)
	case d.Place == "":
		return bad("no place of destruction")
	case d.Time.IsZero():
		return bad("no time of destruction")
	case c.Media.Serial == "" && c.Media.WWN == "" && c.Media.Path == "":
		return bad("destroyed media with neither serial, WWN nor path")
	case c.Verification.Method != "none" || len(c.Verification.Checks) > 0 || len(c.Sanitization.Passes) > 0:
		return bad("a certificate of destruction holds passes or checks of a reading back")
	}
	for i, e := range d.Evidence {
		if e.Name == "" || !isSHA256Hex(e.SHA256) || e.SizeBytes < 0 {
			return bad("evidence %d: want a name, a SHA-256 in lower-case hex and a size", i+1)
		}
	}
	return nil
}

// SubjectForm is one name the signed statement gives the media, and the blob whose
// SHA-256 it carries: the file an auditor hands cosign verify-blob-attestation.
type SubjectForm struct {
	Name string
	Blob []byte
}

// Subjects are all the names of the media the signed statement carries, strongest
// binding first. The first is Subject (serial:…, else wwn:…, else path:…), as in
// every certificate before; then, when known and not already first:
//
//   - wwn:WWN, blob WWN as the certificate states it (e.g. "naa.5000c500a1b2c3d4");
//   - drive:VENDOR/MODEL/SERIAL, blob "VENDOR/MODEL/SERIAL", each part escaped as a
//     URL path segment (a space is %20, a slash %2F), the vendor part empty when the
//     vendor is unknown; given when the media have a serial and a model.
func (c *Certificate) Subjects() []SubjectForm {
	name, blob := c.Subject()
	out := []SubjectForm{{name, blob}}
	m := c.Media
	if m.WWN != "" && m.Serial != "" {
		out = append(out, SubjectForm{"wwn:" + m.WWN, []byte(m.WWN)})
	}
	if m.Serial != "" && m.Model != "" {
		v := DriveSubject(m.Manufacturer, m.Model, m.Serial)
		out = append(out, SubjectForm{"drive:" + v, []byte(v)})
	}
	return out
}

// DriveSubject is the vendor+model+serial form of a drive's identity, as the
// drive:… subject and its blob spell it.
func DriveSubject(vendor, model, serial string) string {
	return url.PathEscape(vendor) + "/" + url.PathEscape(model) + "/" + url.PathEscape(serial)
}

// NewDestruction builds the certificate of destruction of media m: d says who, for
// whom and where the media go (d.ValidatedBy is the witness), dest how, where and when
// they were destroyed. The certificate's ID is a new random UUID and it is issued at
// now; it is validated before it is returned.
func NewDestruction(m Media, d Details, dest Destruction, tool Tool, now time.Time) (*Certificate, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, err
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	if m.HiddenAreas == "" {
		m.HiddenAreas = "unknown"
	}
	if n, ok := d.AssetNumbers[m.Serial]; ok && m.Serial != "" {
		m.AssetNumber = n
	} else if n, ok := d.AssetNumbers[m.Path]; ok && m.Path != "" {
		m.AssetNumber = n
	}
	dest.Time = dest.Time.UTC()
	if dest.Evidence == nil {
		dest.Evidence = []EvidenceFile{}
	}
	c := &Certificate{
		SchemaVersion: SchemaVersion3, ID: fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]),
		Outcome: OutcomeDestroyed, Status: StatusDestructionCert, Issued: now.UTC(),
		PerformedBy: d.PerformedBy, ValidatedBy: d.ValidatedBy, Organization: d.Organization, Customer: d.Customer,
		Media: m,
		Sanitization: Sanitization{Category: CategoryDestroy, Technique: dest.Method, Method: "destroy-" + dest.Method,
			MethodTitle: "NIST SP 800-88 Destroy (" + dest.Method + ")", Standard: "NIST SP 800-88 Rev. 1",
			Passes: []Pass{}, Tool: tool, Started: dest.Time, Finished: dest.Time},
		Verification: Verification{Method: "none", Checks: []Check{}},
		Destination:  d.Destination, DataBackedUp: d.DataBackedUp,
		PreCategorization: d.PreCategorization, PostCategorization: d.PostCategorization, Notes: d.Notes,
		Destruction: &dest,
	}
	if c.DataBackedUp == "" {
		c.DataBackedUp = "unknown"
	}
	if c.Destination.Kind == "" {
		c.Destination.Kind = DestUnknown
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// destructionRows are the PDF's rows of section 3 for a certificate of destruction,
// in place of the passes and their reading back.
func destructionRows(c *Certificate, d *Destruction) [][]field {
	particles := ""
	if d.ParticleSizeMM > 0 {
		particles = strconv.FormatFloat(d.ParticleSizeMM, 'f', -1, 64) + " mm"
	}
	witness := ""
	if c.ValidatedBy != nil {
		witness = joinNonEmpty(", ", c.ValidatedBy.Name, c.ValidatedBy.Title, c.ValidatedBy.Organization)
	}
	evidence := make([]string, 0, len(d.Evidence))
	for _, e := range d.Evidence {
		evidence = append(evidence, e.Name+" (sha256 "+e.SHA256[:12]+"…)")
	}
	return [][]field{
		{{label: "Destruction", value: c.Sanitization.MethodTitle, bold: true}, {label: "Particle size", value: particles}},
		{{label: "Device used", value: d.Device}},
		{{label: "Place", value: d.Place}, {label: "Destroyed at", value: stamp(d.Time)}},
		{{label: "Witness", value: witness}, {label: "Follows record", value: d.Follows, mono: true}},
		{{label: "Evidence", value: strings.Join(evidence, "; ")}},
		{{label: "Confidentiality after", value: c.PostCategorization}},
	}
}

// DestructionSummary says in one line how, with what, where and when the media were
// destroyed, and who witnessed it; "" for a certificate of sanitization.
func (c *Certificate) DestructionSummary() string {
	d := c.Destruction
	if d == nil {
		return ""
	}
	parts := []string{d.Method}
	if d.ParticleSizeMM > 0 {
		parts[0] += ", particles up to " + strconv.FormatFloat(d.ParticleSizeMM, 'f', -1, 64) + " mm"
	}
	if d.Device != "" {
		parts = append(parts, "with "+d.Device)
	}
	parts = append(parts, "at "+d.Place, d.Time.UTC().Format(time.RFC3339))
	if c.ValidatedBy != nil && c.ValidatedBy.Name != "" {
		parts = append(parts, "witnessed by "+c.ValidatedBy.Name)
	}
	switch n := len(d.Evidence); n {
	case 0:
	case 1:
		parts = append(parts, "1 evidence file")
	default:
		parts = append(parts, strconv.Itoa(n)+" evidence files")
	}
	return strings.Join(parts, "; ")
}
