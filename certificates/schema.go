package certificates

import _ "embed"

// JSONSchema is the JSON Schema (draft 2020-12) of the certificate predicate, the
// JSON of Certificate, schema versions 1 and 2: certificate.schema.json in this
// package's folder. The registry publishes it at /api/v1/schema/certificate.json.
// A test holds it to the Go type, field by field, and every certificate the tests
// make to it.
//
//go:embed certificate.schema.json
var JSONSchema []byte

// signedHook, when set (by tests), is given the in-toto Statement of every
// certificate Sign signs.
var signedHook func(statement []byte)
