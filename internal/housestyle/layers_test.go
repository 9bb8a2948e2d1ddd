package housestyle

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// layers lists, for each package of the stack, the project's packages it
// may import: imports flow one way, shm → ring → dispatch → wire → plane →
// coordinator and the client (the root package), which import neither each
// other nor anything above them; netdev is a leaf (the style guide,
// "Layout and boundaries").
var layers = map[string][]string{
	"shm":         {mod + "/internal/errno"},
	"ring":        {mod + "/internal/errno", mod + "/shm"},
	"dispatch":    {mod + "/internal/errno", mod + "/shm", mod + "/ring"},
	"wire":        {mod + "/internal/errno", mod + "/dispatch"},
	"plane":       {mod + "/shm", mod + "/ring", mod + "/wire"},
	"netdev":      {},
	"vxlan":       {mod + "/internal/errno"},
	"coordinator": {mod + "/internal/", mod + "/shm", mod + "/ring", mod + "/dispatch", mod + "/wire", mod + "/plane", mod + "/netdev"},
	"":            {mod + "/internal/errno", mod + "/internal/fdpass", mod + "/shm", mod + "/ring", mod + "/dispatch", mod + "/wire", mod + "/plane"},
}

// mod is the module path.
const mod = "github.com/ipn-project/ipn"

// TestImportsFlowOneWay keeps each package's own (non-test) imports of the
// project within its layer.
func TestImportsFlowOneWay(t *testing.T) {
	root := filepath.Join("..", "..")
	for pkg, allowed := range layers {
		files, err := filepath.Glob(filepath.Join(root, pkg, "*.go"))
		if err != nil || len(files) == 0 {
			t.Fatalf("package %s: no files (%v)", pkg, err)
		}
		for _, file := range files {
			if strings.HasSuffix(file, "_test.go") {
				continue
			}
			src, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			f, err := parser.ParseFile(token.NewFileSet(), file, src, parser.ImportsOnly)
			if err != nil {
				t.Fatal(err)
			}
			for _, imp := range f.Imports {
				p, _ := strconv.Unquote(imp.Path.Value)
				if p != "github.com/ipn-project/ipn" && !strings.HasPrefix(p, "github.com/ipn-project/ipn/") {
					continue
				}
				if !allowedImport(p, allowed) {
					t.Errorf("%s imports %s, against the layering (%s may import %v)", file, p, pkg, allowed)
				}
			}
		}
	}
}

func allowedImport(p string, allowed []string) bool {
	for _, a := range allowed {
		if p == a || strings.HasSuffix(a, "/") && strings.HasPrefix(p, a) {
			return true
		}
	}
	return false
}
