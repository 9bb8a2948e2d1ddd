package housestyle

import (
	"go/build"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
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
	"shm":               {mod + "/internal/errno"},
	"ring":              {mod + "/internal/errno", mod + "/shm"},
	"dispatch":          {mod + "/internal/errno", mod + "/shm", mod + "/ring"},
	"wire":              {mod + "/internal/errno", mod + "/ring", mod + "/dispatch"},
	"plane":             {mod + "/shm", mod + "/ring", mod + "/wire"},
	"netdev":            {},
	"netdev/netdevtest": {mod + "/netdev"},
	"internal/member":   {mod + "/internal/fdpass", mod + "/plane", mod + "/ring", mod + "/wire"},
	"vxlan":             {mod + "/internal/errno"},
	"coordinator":       {mod + "/internal/", mod + "/shm", mod + "/ring", mod + "/dispatch", mod + "/wire", mod + "/plane", mod + "/netdev"},
	"":                  {mod + "/internal/errno", mod + "/internal/fdpass", mod + "/shm", mod + "/ring", mod + "/dispatch", mod + "/wire", mod + "/plane"},
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

// benchLayers lists, for each package of the benchmark, the benchmark's
// packages it may import, from the bottom up: harness, transport/shmring,
// transport, matrix, netpath, report, and the top package bench. Outside
// bench a benchmark package may import any package of the product.
var benchLayers = map[string][]string{
	"bench/harness":           {},
	"bench/transport/shmring": {"harness"},
	"bench/transport":         {"harness", "transport/shmring"},
	"bench/matrix":            {"harness", "transport/shmring", "transport"},
	"bench/netpath":           {"harness", "transport/shmring", "transport", "matrix"},
	"bench/report":            {"harness", "transport/shmring", "transport", "matrix", "netpath"},
	"bench":                   {"harness", "transport/shmring", "transport", "matrix", "netpath", "report"},
}

// TestBenchImportsFlowOneWay keeps the benchmark's packages within their
// layers, and every package of the benchmark listed.
func TestBenchImportsFlowOneWay(t *testing.T) {
	root := filepath.Join("..", "..")
	err := filepath.WalkDir(filepath.Join(root, "bench"), func(dir string, d os.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, dir)
		p, err := build.ImportDir(dir, 0)
		if _, ok := err.(*build.NoGoError); ok {
			return nil
		} else if err != nil {
			return err
		}
		allowed, ok := benchLayers[filepath.ToSlash(rel)]
		if !ok {
			t.Errorf("%s: a benchmark package not in benchLayers", rel)
		}
		for _, imp := range p.Imports {
			below, ok := strings.CutPrefix(imp, mod+"/bench/")
			if (ok || imp == mod+"/bench") && !slices.Contains(allowed, below) {
				t.Errorf("%s imports %s, against the layering (it may import %v of the benchmark)", rel, imp, allowed)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
