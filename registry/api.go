package registry

// The JSON bodies of the registry's API, shared by the server and the client. The
// server's files are left out of the boot image's build (tag agentimage); these are
// not: the agent uploads with the client.

// apiError is the JSON body of every error response.
type apiError struct {
	Error string `json:"error"`
}

// Receipt is what the registry answers an accepted upload with, and serves for any
// stored certificate: where the certificate is in the log, and the proof of it
// against a signed checkpoint.
type Receipt struct {
	ID             string   `json:"id"`
	LogIndex       uint64   `json:"log_index"`
	TreeSize       uint64   `json:"tree_size"`
	InclusionProof []string `json:"inclusion_proof"` // base64 hashes
	Checkpoint     string   `json:"checkpoint"`      // the signed note, verbatim
	LogOrigin      string   `json:"log_origin"`
	Created        bool     `json:"created"`
	// Logged is the signed evidence of when the registry logged the certificate
	// (see VerifyLogged); absent from registries that do not sign it.
	Logged *LoggedTime `json:"logged,omitempty"`
}

// ConsistencyProof proves that the log at size To extends the log at size From.
type ConsistencyProof struct {
	From  uint64   `json:"from"`
	To    uint64   `json:"to"`
	Proof []string `json:"proof"`
}
