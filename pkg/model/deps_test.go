package model_test

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/verdict-dev/verdict/"

// TestDependencyRules keeps the layering the architecture relies on: the
// data model is a leaf, scoring and reports never reach a provider or the
// network, and the cache knows nothing of threat intel.
func TestDependencyRules(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("the go command is not on PATH")
	}
	network := []string{
		module + "pkg/intel", module + "pkg/cache", module + "pkg/classify/gemini", module + "pkg/safehttp",
		"google.golang.org/genai", "github.com/jackc/pgx", "modernc.org/sqlite",
	}
	rules := []struct {
		pkg       string
		forbidden []string // import path prefixes
		onlySelf  bool     // no other package of the module at all
	}{
		{pkg: "pkg/model", onlySelf: true},
		{pkg: "pkg/score", forbidden: network},
		{pkg: "pkg/report", forbidden: network},
		{pkg: "pkg/cache", forbidden: []string{module + "pkg/intel"}},
	}
	for _, r := range rules {
		t.Run(r.pkg, func(t *testing.T) {
			out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", module+r.pkg).CombinedOutput()
			if err != nil {
				t.Fatalf("go list: %v\n%s", err, out)
			}
			for _, dep := range strings.Fields(string(out)) {
				if dep == module+r.pkg {
					continue
				}
				if r.onlySelf && strings.HasPrefix(dep, module) {
					t.Errorf("%s imports %s: it must import nothing of the project", r.pkg, dep)
				}
				for _, f := range r.forbidden {
					if dep == f || strings.HasPrefix(dep, f+"/") {
						t.Errorf("%s depends on %s", r.pkg, dep)
					}
				}
			}
		})
	}
}
