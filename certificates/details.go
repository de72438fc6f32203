package certificates

// Details are what the wipe itself cannot know: the people, the organisation and
// customer, where the media go, the asset number. A technician sets them once, in a
// config file or the environment.
type Details struct {
	PerformedBy        Person
	ValidatedBy        *Person
	Organization       string
	Customer           string
	Destination        Destination
	DataBackedUp       string // yes, no or unknown (the default)
	PreCategorization  string
	PostCategorization string
	Notes              string
	// AssetNumbers maps a drive's serial (or its path) to the organisation's property
	// number for it.
	AssetNumbers map[string]string
}
