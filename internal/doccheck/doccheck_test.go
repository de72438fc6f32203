package doccheck

import (
	"go/ast"
	"go/doc/comment"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDocSnippetsAreExamples checks every package of the module.
func TestDocSnippetsAreExamples(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root not found: %v", err)
	}
	checked := 0
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		if name := d.Name(); path != root && (name == "testdata" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
			return filepath.SkipDir
		}
		rel, _ := filepath.Rel(root, path)
		problems, blocks, err := checkDir(path)
		if err != nil {
			return err
		}
		checked += blocks
		for _, p := range problems {
			t.Errorf("%s: %s", rel, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked == 0 {
		t.Fatal("no Go code block found in any package doc: the check is broken")
	}
	t.Logf("%d Go code blocks in package docs checked", checked)
}

// checkDir checks the package in dir: it returns what is wrong and how many Go blocks its
// doc comments hold.
func checkDir(dir string) (problems []string, blocks int, err error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, 0, err
	}
	fset := token.NewFileSet()
	var docs []*ast.CommentGroup
	examples := map[string]bool{} // trimmed lines of the example files
	hasExample := false
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, parser.ParseComments)
		if err != nil {
			return nil, 0, err
		}
		if !strings.HasSuffix(name, "_test.go") {
			if f.Doc != nil {
				docs = append(docs, f.Doc)
			}
			continue
		}
		if !declaresExample(f) {
			continue
		}
		hasExample = true
		src, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, 0, err
		}
		for _, line := range strings.Split(string(src), "\n") {
			examples[strings.TrimSpace(line)] = true
		}
	}
	for _, cg := range docs {
		var p comment.Parser
		for _, b := range p.Parse(cg.Text()).Content {
			code, ok := b.(*comment.Code)
			if !ok || !isGo(code.Text) {
				continue
			}
			blocks++
			if !hasExample {
				problems = append(problems, "the package doc shows Go code but no _test.go file has an Example function")
				continue
			}
			for _, line := range strings.Split(code.Text, "\n") {
				if l := strings.TrimSpace(line); l != "" && !examples[l] {
					problems = append(problems, "package doc line is in no example: "+l)
				}
			}
		}
	}
	return problems, blocks, nil
}

// declaresExample reports whether f declares a function named Example….
func declaresExample(f *ast.File) bool {
	for _, d := range f.Decls {
		if fn, ok := d.(*ast.FuncDecl); ok && fn.Recv == nil && strings.HasPrefix(fn.Name.Name, "Example") {
			return true
		}
	}
	return false
}

// isGo reports whether text parses as Go statements or as Go declarations.
func isGo(text string) bool {
	fset := token.NewFileSet()
	if _, err := parser.ParseFile(fset, "", "package p\nfunc _() {\n"+text+"\n}\n", 0); err == nil {
		return true
	}
	_, err := parser.ParseFile(fset, "", "package p\n"+text, 0)
	return err == nil
}
