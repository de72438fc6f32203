// Package schematest checks certificates against the certificate JSON Schema
// (certificates.JSONSchema) in tests, with github.com/santhosh-tekuri/jsonschema/v6,
// formats asserted. Only tests import it: the validator is not linked into decom.
package schematest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/decom-project/decom/certificates"
)

// SchemaURL is the schema's $id.
const SchemaURL = "https://github.com/decom-project/decom/certificate-of-sanitization/v1/schema.json"

var (
	once     sync.Once
	compiled *jsonschema.Schema
	compErr  error
)

// Schema is the compiled certificate schema.
func Schema() (*jsonschema.Schema, error) {
	once.Do(func() { compiled, compErr = Compile(certificates.JSONSchema) })
	return compiled, compErr
}

// Compile compiles a schema document (a changed copy, in tests of the schema).
func Compile(doc []byte) (*jsonschema.Schema, error) {
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return nil, fmt.Errorf("certificate schema: %w", err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	if err := c.AddResource(SchemaURL, v); err != nil {
		return nil, fmt.Errorf("certificate schema: %w", err)
	}
	return c.Compile(SchemaURL)
}

// Validate checks a certificate predicate (Certificate JSON) against the schema.
func Validate(predicate []byte) error {
	s, err := Schema()
	if err != nil {
		return err
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(predicate))
	if err != nil {
		return fmt.Errorf("certificate JSON: %w", err)
	}
	return s.Validate(v)
}

// Predicate returns the predicate of an in-toto Statement, as its bytes.
func Predicate(statement []byte) ([]byte, error) {
	var st struct {
		Predicate json.RawMessage `json:"predicate"`
	}
	if err := json.Unmarshal(statement, &st); err != nil || len(st.Predicate) == 0 {
		return nil, fmt.Errorf("not an in-toto statement with a predicate: %v", err)
	}
	return st.Predicate, nil
}

// ValidateStatement checks the predicate of an in-toto Statement.
func ValidateStatement(statement []byte) error {
	p, err := Predicate(statement)
	if err != nil {
		return err
	}
	return Validate(p)
}

// ValidateBundle checks the predicate of a Sigstore bundle's statement, as signed.
func ValidateBundle(bundle []byte) error {
	p, err := BundlePredicate(bundle)
	if err != nil {
		return err
	}
	return Validate(p)
}

// BundlePredicate returns the predicate of a Sigstore bundle's statement, as signed.
func BundlePredicate(bundle []byte) ([]byte, error) {
	var b struct {
		DSSE *struct {
			Payload string `json:"payload"`
		} `json:"dsseEnvelope"`
	}
	if err := json.Unmarshal(bundle, &b); err != nil || b.DSSE == nil {
		return nil, errors.New("not a Sigstore bundle with a DSSE envelope")
	}
	st, err := base64.StdEncoding.DecodeString(b.DSSE.Payload)
	if err != nil {
		return nil, fmt.Errorf("bundle payload: %w", err)
	}
	return Predicate(st)
}
