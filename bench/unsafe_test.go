package bench

import (
	"go/parser"
	"go/token"
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestUnsafeOnlyInUnsafeFiles keeps the house rule: package unsafe is
// imported only by files named *_unsafe.go.
func TestUnsafeOnlyInUnsafeFiles(t *testing.T) {
	ents, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, e := range ents {
		name := e.Name()
		if !strings.HasSuffix(name, ".go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		allowed := strings.HasSuffix(strings.TrimSuffix(name, "_test.go"), "_unsafe.go") ||
			strings.HasSuffix(name, "_unsafe_test.go")
		for _, imp := range f.Imports {
			if path, _ := strconv.Unquote(imp.Path.Value); path == "unsafe" && !allowed {
				t.Errorf("%s imports unsafe, want it only in *_unsafe.go files", name)
			}
		}
	}
}
