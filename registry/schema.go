//go:build !agentimage

package registry

import (
	"net/http"

	"github.com/decom-project/decom/certificates"
)

// SchemaPath is where the registry publishes the JSON Schema of the certificate
// predicate (certificates.JSONSchema).
const SchemaPath = "/api/v1/schema/certificate.json"

func (s *Server) getSchema(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/schema+json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	_, _ = w.Write(certificates.JSONSchema)
}
