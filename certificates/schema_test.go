package certificates_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/decom-project/decom/certificates"
	"github.com/decom-project/decom/internal/schematest"
)

// signed holds the statement of every certificate this package's tests signed.
var signed struct {
	sync.Mutex
	statements [][]byte
}

// TestMain runs the package's tests, then checks every certificate they signed
// against the JSON Schema.
func TestMain(m *testing.M) {
	certificates.SetSignedHook(func(st []byte) {
		signed.Lock()
		signed.statements = append(signed.statements, bytes.Clone(st))
		signed.Unlock()
	})
	code := m.Run()
	if code == 0 {
		signed.Lock()
		n := len(signed.statements)
		for i, st := range signed.statements {
			if err := schematest.ValidateStatement(st); err != nil {
				fmt.Fprintf(os.Stderr, "FAIL: certificate %d of %d signed by the tests does not match the schema: %v\n%s\n", i+1, n, err, st)
				code = 1
			}
		}
		signed.Unlock()
		if code == 0 && n == 0 && !testing.Short() && flagRunAll() {
			fmt.Fprintln(os.Stderr, "FAIL: the tests signed no certificate to check against the schema")
			code = 1
		}
	}
	os.Exit(code)
}

// flagRunAll reports whether the whole package ran (no -run): only then must some
// test have signed a certificate.
func flagRunAll() bool {
	for _, a := range os.Args[1:] {
		if strings.HasPrefix(a, "-test.run") {
			return false
		}
	}
	return true
}

func TestSchemaGoldenCertificates(t *testing.T) {
	files, _ := filepath.Glob("../sanitize/testdata/certificates/*.json")
	if len(files) < 6 {
		t.Fatalf("%d golden certificates, want the 6 of sanitize/testdata/certificates", len(files))
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := schematest.Validate(raw); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

func TestSchemaLegacyBundles(t *testing.T) {
	files, _ := filepath.Glob("testdata/legacy/*.sigstore.json")
	if len(files) == 0 {
		t.Fatal("no legacy bundles")
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := schematest.ValidateBundle(raw); err != nil {
			t.Errorf("%s (schema 1): %v", f, err)
		}
	}
}

// TestSchemaTestCertificates: the certificates the package's tests build, as JSON.
func TestSchemaTestCertificates(t *testing.T) {
	base := certificates.PDFTestCertificate()
	for name, c := range map[string]*certificates.Certificate{
		"sign": certificates.SigTestCertificate(), "pdf": base, "gutmann": certificates.PDFGutmann(certificates.PDFTestCertificate()),
		"failed": certificates.PDFFailed(certificates.PDFTestCertificate()), "aborted": certificates.PDFAborted(certificates.PDFTestCertificate()),
		"longest": certificates.PDFLongest(),
	} {
		raw, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		if err := schematest.Validate(raw); err != nil {
			t.Errorf("%s: %v\n%s", name, err, raw)
		}
	}
}

// TestSchemaRejects: the schema refuses what Validate refuses.
func TestSchemaRejects(t *testing.T) {
	good, err := json.Marshal(certificates.SigTestCertificate())
	if err != nil {
		t.Fatal(err)
	}
	if err := schematest.Validate(good); err != nil {
		t.Fatalf("the good certificate: %v", err)
	}
	for name, edit := range map[string]func(m map[string]any){
		"missing id":           func(m map[string]any) { delete(m, "id") },
		"missing media path":   func(m map[string]any) { delete(m["media"].(map[string]any), "path") },
		"unknown outcome":      func(m map[string]any) { m["outcome"] = "mostly-sanitized" },
		"status not outcome's": func(m map[string]any) { m["status"] = "record-of-failed-sanitization" },
		"unknown category":     func(m map[string]any) { m["sanitization"].(map[string]any)["category"] = "scrub" },
		"schema 2 empty class": func(m map[string]any) { m["sanitization"].(map[string]any)["category"] = "" },
		"unverified in schema 1": func(m map[string]any) {
			m["schema_version"], m["outcome"], m["status"] = "1", "unverified", "record-of-unverified-sanitization"
		},
		"unknown destination": func(m map[string]any) { m["destination"].(map[string]any)["kind"] = "landfill" },
		"data backed up":      func(m map[string]any) { m["data_backed_up"] = "maybe" },
		"verification method": func(m map[string]any) { m["verification"].(map[string]any)["method"] = "glance" },
		"schema version 3":    func(m map[string]any) { m["schema_version"] = "3" },
		"unknown field":       func(m map[string]any) { m["colour"] = "blue" },
		"issued not a time":   func(m map[string]any) { m["issued"] = "yesterday" },
		"negative size":       func(m map[string]any) { m["media"].(map[string]any)["size_bytes"] = -1 },
		"seed not digits": func(m map[string]any) {
			m["verification"].(map[string]any)["checks"].([]any)[0].(map[string]any)["seed"] = "0x12"
		},
		"bad plan digest":    func(m map[string]any) { m["sanitization"].(map[string]any)["approved_plan_sha256"] = "ABC" },
		"empty job":          func(m map[string]any) { m["sanitization"].(map[string]any)["job"] = "" },
		"job with a control": func(m map[string]any) { m["sanitization"].(map[string]any)["job"] = "rack\u00077" },
		"job too long":       func(m map[string]any) { m["sanitization"].(map[string]any)["job"] = strings.Repeat("x", 129) },
	} {
		var m map[string]any
		if err := json.Unmarshal(good, &m); err != nil {
			t.Fatal(err)
		}
		edit(m)
		raw, _ := json.Marshal(m)
		if err := schematest.Validate(raw); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestSchemaCoversStruct: every field of Certificate (and of every struct in it) has
// a property in the schema at the same place, and every property a field: the
// schema cannot fall behind the Go type.
func TestSchemaCoversStruct(t *testing.T) {
	var doc map[string]any
	if err := json.Unmarshal(certificates.JSONSchema, &doc); err != nil {
		t.Fatal(err)
	}
	defs := doc["$defs"].(map[string]any)
	// resolve follows a $ref to its definition.
	resolve := func(s map[string]any) map[string]any {
		if ref, ok := s["$ref"].(string); ok {
			return defs[strings.TrimPrefix(ref, "#/$defs/")].(map[string]any)
		}
		return s
	}
	timeType := reflect.TypeFor[time.Time]()
	var walk func(path string, typ reflect.Type, schema map[string]any)
	walk = func(path string, typ reflect.Type, schema map[string]any) {
		for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice {
			typ = typ.Elem()
			if items, ok := schema["items"].(map[string]any); ok {
				schema = resolve(items)
			}
		}
		if typ.Kind() != reflect.Struct || typ == timeType {
			return
		}
		props, _ := schema["properties"].(map[string]any)
		if props == nil {
			t.Errorf("%s (%s): the schema has no properties for it", path, typ)
			return
		}
		if schema["additionalProperties"] != false {
			t.Errorf("%s: the schema allows properties it does not name", path)
		}
		fields := map[string]bool{}
		for f := range typ.Fields() {
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "" || name == "-" || !f.IsExported() {
				continue
			}
			fields[name] = true
			p, ok := props[name].(map[string]any)
			if !ok {
				t.Errorf("%s.%s (%s.%s): no property in the schema", path, name, typ.Name(), f.Name)
				continue
			}
			walk(path+"."+name, f.Type, resolve(p))
		}
		for name := range props {
			if !fields[name] {
				t.Errorf("%s.%s: in the schema, not in %s", path, name, typ.Name())
			}
		}
	}
	walk("certificate", reflect.TypeFor[certificates.Certificate](), doc)
}

// The schema holds a certificate of destruction to what Validate holds it to.
func TestSchemaDestruction(t *testing.T) {
	good, err := json.Marshal(certificates.DestroyTestCertificate(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := schematest.Validate(good); err != nil {
		t.Fatalf("the good certificate of destruction: %v", err)
	}
	destruction := func(m map[string]any) map[string]any { return m["destruction"].(map[string]any) }
	for name, edit := range map[string]func(m map[string]any){
		"no destruction section":   func(m map[string]any) { delete(m, "destruction") },
		"status not destruction's": func(m map[string]any) { m["status"] = "certificate-of-sanitization" },
		"schema version 2":         func(m map[string]any) { m["schema_version"] = "2" },
		"category not destroy":     func(m map[string]any) { m["sanitization"].(map[string]any)["category"] = "purge" },
		"unknown method":           func(m map[string]any) { destruction(m)["method"] = "microwave" },
		"shred without a size":     func(m map[string]any) { delete(destruction(m), "particle_size_mm") },
		"degauss without a device": func(m map[string]any) { destruction(m)["method"] = "degauss"; delete(destruction(m), "device") },
		"no place":                 func(m map[string]any) { delete(destruction(m), "place") },
		"evidence digest not hex":  func(m map[string]any) { destruction(m)["evidence"].([]any)[0].(map[string]any)["sha256"] = "photo" },
		"destruction on a sanitized": func(m map[string]any) {
			m["outcome"], m["status"], m["schema_version"] = "sanitized", "certificate-of-sanitization", "2"
		},
	} {
		var m map[string]any
		if err := json.Unmarshal(good, &m); err != nil {
			t.Fatal(err)
		}
		edit(m)
		raw, _ := json.Marshal(m)
		if err := schematest.Validate(raw); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
