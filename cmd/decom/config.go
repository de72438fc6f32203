package main

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/pflag"
	"gopkg.in/yaml.v3"

	"github.com/decom-project/decom/certificates"
)

// defaultConfig is read when neither --config nor DECOM_CONFIG names a file.
const defaultConfig = "/etc/decom/config.yaml"

// fileConfig is the config file: what a technician sets once. Every key can also be
// given as a flag or an environment variable; flags win over the environment, which
// wins over the file.
type fileConfig struct {
	Operator           personConfig      `yaml:"operator"`
	Validator          personConfig      `yaml:"validator"`
	Organization       string            `yaml:"organization"`
	Customer           string            `yaml:"customer"`
	Destination        string            `yaml:"destination"`
	DestinationDetails string            `yaml:"destination_details"`
	DataBackedUp       string            `yaml:"data_backed_up"`
	PreCategorization  string            `yaml:"pre_categorization"`
	PostCategorization string            `yaml:"post_categorization"`
	Notes              string            `yaml:"notes"`
	Job                string            `yaml:"job"`
	AssetNumbers       map[string]string `yaml:"asset_numbers"`

	Key      string `yaml:"key"`
	CertDir  string `yaml:"cert_dir"`
	PDF      *bool  `yaml:"pdf"`
	Method   string `yaml:"method"`
	Verify   string `yaml:"verify"`
	Coverage string `yaml:"coverage"`

	Registry      string `yaml:"registry"`
	RegistryToken string `yaml:"registry_token"`

	Boot bootConfig `yaml:"boot"`
	// Station is decom station's (and decom.mode=station's) section.
	Station stationConfig `yaml:"station"`
}

// bootConfig is the boot agent's own section of the config file (agent.Config says
// what each key does); decom outside the boot image ignores it.
type bootConfig struct {
	Countdown         *int     `yaml:"countdown"`
	Machines          []string `yaml:"machines"`
	CmdlineRegistries []string `yaml:"cmdline_registries"`
	AllowInsecureHTTP bool     `yaml:"allow_insecure_http"`
	AllowUnverified   bool     `yaml:"allow_unverified"`
	Plan              string   `yaml:"plan"`
	// KeySHA256 pins a key: given as an http(s):// URL (a network boot's).
	KeySHA256 string `yaml:"key_sha256"`
}

// stationConfig is how the intake station takes drives (see decom station).
type stationConfig struct {
	Auto           *bool `yaml:"auto"`
	IncludePresent *bool `yaml:"include_present"`
	Max            *int  `yaml:"max"`
}

type personConfig struct {
	Name         string `yaml:"name"`
	Title        string `yaml:"title"`
	Organization string `yaml:"organization"`
	Location     string `yaml:"location"`
	Contact      string `yaml:"contact"`
}

// loadConfig reads the config file named by --config or DECOM_CONFIG, else the
// default one if it exists. An unknown key is an error: a typo must not silently
// drop the operator's name from certificates.
func loadConfig(path string) (fileConfig, error) {
	var c fileConfig
	explicit := path != ""
	if !explicit {
		path = os.Getenv("DECOM_CONFIG")
		explicit = path != ""
	}
	if !explicit {
		path = defaultConfig
	}
	b, err := os.ReadFile(path)
	if err != nil {
		if !explicit && errors.Is(err, fs.ErrNotExist) {
			return c, nil
		}
		return c, usageErrorf("config file: %v", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) { // io.EOF: an empty file
		return c, usageErrorf("config file %s: %s", path, strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	return c, nil
}

// setting binds one value to its flag, environment variable and config file entry.
type setting struct {
	flag string
	env  string
	file string
	dst  *string
}

// resolve fills every setting whose flag was not given: from the environment, else
// from the config file; what remains keeps the flag's default.
func resolve(flags *pflag.FlagSet, settings []setting) {
	for _, s := range settings {
		if flags.Changed(s.flag) {
			continue
		}
		if v, ok := os.LookupEnv(s.env); ok && v != "" {
			*s.dst = v
		} else if s.file != "" {
			*s.dst = s.file
		}
	}
}

// certOptions are the certificate settings of decom wipe.
type certOptions struct {
	Operator, Validator                        personConfig
	Organization, Customer                     string
	Destination, DestinationDetails            string
	DataBackedUp, PreCategorization, PostCateg string
	Notes                                      string
	Job                                        string
	Assets                                     []string
	Key, CertDir                               string
	PDF, NoCertificate                         bool
	fileAssets                                 map[string]string
}

func (o *certOptions) AddFlags(f *pflag.FlagSet) {
	person := func(p *personConfig, role, what string) {
		f.StringVar(&p.Name, role, "", "name of the person "+what)
		f.StringVar(&p.Title, role+"-title", "", "their title")
		f.StringVar(&p.Organization, role+"-org", "", "their organisation")
		f.StringVar(&p.Location, role+"-location", "", "their location")
		f.StringVar(&p.Contact, role+"-contact", "", "how to reach them (phone, e-mail)")
	}
	person(&o.Operator, "operator", "performing the sanitization")
	person(&o.Validator, "validator", "validating the sanitization (optional)")
	f.StringVar(&o.Organization, "organization", "", "organisation the media belong to")
	f.StringVar(&o.Customer, "customer", "", "customer the sanitization is done for")
	f.StringVar(&o.Destination, "destination", "", "where the media go: "+strings.Join(certificates.Destinations, ", "))
	f.StringVar(&o.DestinationDetails, "destination-details", "", "details of the destination")
	f.StringVar(&o.DataBackedUp, "data-backed-up", "unknown", "whether the data were backed up: yes, no or unknown")
	f.StringVar(&o.PreCategorization, "pre-categorization", "", "confidentiality categorisation before sanitization")
	f.StringVar(&o.PostCateg, "post-categorization", "", "confidentiality categorisation after sanitization")
	f.StringVar(&o.Notes, "notes", "", "notes for the certificate")
	f.StringVar(&o.Job, "job", "", "name of the decommissioning job, stated in each certificate for the registry's job view")
	f.StringArrayVar(&o.Assets, "asset", nil, "SERIAL=NUMBER: the organisation's property number of a drive (repeatable; a path works for drives without a serial)")
	f.StringVar(&o.Key, "key", "", "signing key: a key file (decom keys generate) or a KMS URI")
	f.StringVar(&o.CertDir, "cert-dir", "/var/lib/decom/certificates", "where certificates are written")
	f.BoolVar(&o.PDF, "pdf", false, "also write each certificate as a PDF, beside its JSON")
	f.BoolVar(&o.NoCertificate, "no-certificate", false, "wipe without writing a certificate (not recommended)")
}

// apply fills the settings not given as flags from the environment and the config
// file.
func (o *certOptions) apply(flags *pflag.FlagSet, c fileConfig) {
	person := func(p *personConfig, role, env string, from personConfig) []setting {
		return []setting{
			{role, env + "_NAME", from.Name, &p.Name},
			{role + "-title", env + "_TITLE", from.Title, &p.Title},
			{role + "-org", env + "_ORG", from.Organization, &p.Organization},
			{role + "-location", env + "_LOCATION", from.Location, &p.Location},
			{role + "-contact", env + "_CONTACT", from.Contact, &p.Contact},
		}
	}
	settings := append(person(&o.Operator, "operator", "DECOM_OPERATOR", c.Operator),
		person(&o.Validator, "validator", "DECOM_VALIDATOR", c.Validator)...)
	settings = append(settings,
		setting{"organization", "DECOM_ORGANIZATION", c.Organization, &o.Organization},
		setting{"customer", "DECOM_CUSTOMER", c.Customer, &o.Customer},
		setting{"destination", "DECOM_DESTINATION", c.Destination, &o.Destination},
		setting{"destination-details", "DECOM_DESTINATION_DETAILS", c.DestinationDetails, &o.DestinationDetails},
		setting{"data-backed-up", "DECOM_DATA_BACKED_UP", c.DataBackedUp, &o.DataBackedUp},
		setting{"pre-categorization", "DECOM_PRE_CATEGORIZATION", c.PreCategorization, &o.PreCategorization},
		setting{"post-categorization", "DECOM_POST_CATEGORIZATION", c.PostCategorization, &o.PostCateg},
		setting{"notes", "DECOM_NOTES", c.Notes, &o.Notes},
		setting{"job", "DECOM_JOB", c.Job, &o.Job},
		setting{"key", "DECOM_KEY", c.Key, &o.Key},
		setting{"cert-dir", "DECOM_CERT_DIR", c.CertDir, &o.CertDir},
	)
	resolve(flags, settings)
	if !flags.Changed("pdf") {
		if v, err := strconv.ParseBool(os.Getenv("DECOM_PDF")); err == nil {
			o.PDF = v
		} else if c.PDF != nil {
			o.PDF = *c.PDF
		}
	}
	o.fileAssets = c.AssetNumbers
}

// details checks the certificate settings and turns them into certificate details.
func (o *certOptions) details() (certificates.Details, error) {
	d := certificates.Details{
		PerformedBy: certificates.Person(o.Operator), Organization: o.Organization, Customer: o.Customer,
		Destination:  certificates.Destination{Kind: o.Destination, Details: o.DestinationDetails},
		DataBackedUp: o.DataBackedUp, PreCategorization: o.PreCategorization, PostCategorization: o.PostCateg,
		Notes: o.Notes, AssetNumbers: map[string]string{},
	}
	if o.Validator.Name != "" {
		v := certificates.Person(o.Validator)
		d.ValidatedBy = &v
	}
	if d.PerformedBy.Name == "" {
		return d, usageErrorf("a certificate names the person performing the sanitization: --operator, DECOM_OPERATOR_NAME or operator: in the config file")
	}
	if d.Destination.Kind == "" {
		d.Destination.Kind = certificates.DestUnknown
	} else if !slices.Contains(certificates.Destinations, d.Destination.Kind) {
		return d, usageErrorf("--destination %q: want one of %s", d.Destination.Kind, strings.Join(certificates.Destinations, ", "))
	}
	if !slices.Contains([]string{"yes", "no", "unknown"}, d.DataBackedUp) {
		return d, usageErrorf("--data-backed-up %q: want yes, no or unknown", d.DataBackedUp)
	}
	if err := checkJob(o.Job); err != nil {
		return d, err
	}
	for k, v := range o.fileAssets {
		d.AssetNumbers[k] = v
	}
	for _, a := range o.Assets {
		k, v, ok := strings.Cut(a, "=")
		if !ok || k == "" || v == "" {
			return d, usageErrorf("--asset %q: want SERIAL=NUMBER", a)
		}
		d.AssetNumbers[k] = v
	}
	return d, nil
}
