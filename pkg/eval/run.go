package eval

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

// Invoker runs verdict with args (without the program name) and returns its
// exit status; what verdict prints for people goes to stderr. Exec runs the
// binary; a test can call pkg/cmd/root.Main in-process instead.
type Invoker func(ctx context.Context, args []string, stderr io.Writer) (int, error)

// Exec returns an Invoker that runs the verdict binary at path with this
// process's environment (GEMINI_API_KEY reaches it that way, never through
// arguments).
func Exec(path string) Invoker {
	return func(ctx context.Context, args []string, stderr io.Writer) (int, error) {
		cmd := exec.CommandContext(ctx, path, args...)
		// Nothing is asked of stdout (no --stdout); keep any stray output
		// with the messages rather than mixed into the table.
		cmd.Stdout, cmd.Stderr = stderr, stderr
		err := cmd.Run()
		var ee *exec.ExitError
		if errors.As(err, &ee) && ee.Exited() {
			return ee.ExitCode(), nil
		}
		if err != nil {
			return -1, fmt.Errorf("run %s: %w", path, err)
		}
		return 0, nil
	}
}

// Names inside a set's directory.
const (
	LabelsName   = "labels.csv"
	AlertsName   = "alerts"
	BaselineName = "baseline.json"
)

// Set is a labelled evaluation set on disk: labels.csv next to an alerts/
// directory of alert files in any format verdict reads.
type Set struct {
	Dir string
}

// AlertsDir is the directory of the set's alert files.
func (s Set) AlertsDir() string { return filepath.Join(s.Dir, AlertsName) }

// LabelsFile is the set's labels CSV.
func (s Set) LabelsFile() string { return filepath.Join(s.Dir, LabelsName) }

// BaselineFile is where the heuristic's committed figures live.
func (s Set) BaselineFile() string { return filepath.Join(s.Dir, BaselineName) }

// AlertFiles lists the set's alert files in name order; README files and
// dotfiles are skipped, and subdirectories are not read.
func (s Set) AlertFiles() ([]string, error) {
	entries, err := os.ReadDir(s.AlertsDir())
	if err != nil {
		return nil, fmt.Errorf("list alert files: %w", err)
	}
	var files []string
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() || strings.HasPrefix(name, ".") || strings.HasPrefix(strings.ToUpper(name), "README") {
			continue
		}
		files = append(files, filepath.Join(s.AlertsDir(), name))
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("list alert files: no alert file in %s", s.AlertsDir())
	}
	slices.Sort(files)
	return files, nil
}

// Evaluate reads the labels and a JSON report written over the set, and
// compares them (see Compare). Labels naming a file the alerts directory
// does not hold are reported as labels with no alert.
func (s Set) Evaluate(reportFile string) ([]Outcome, error) {
	labels, err := LoadLabelsFile(s.LabelsFile())
	if err != nil {
		return nil, err
	}
	rep, err := ReadReportFile(reportFile)
	if err != nil {
		return nil, err
	}
	return Compare(labels, rep, s.AlertsDir())
}

// Run is one evaluation run of verdict over a set.
type Run struct {
	Verdict Invoker
	Set     Set
	Feeds   []string // --feeds, each
	// Config is passed as --config. Empty: an empty file in WorkDir, so a
	// ./verdict.yaml or the user's config cannot change the figures.
	Config  string
	WorkDir string    // where the reports are written; required
	Stderr  io.Writer // verdict's messages; nil keeps them for the error of a failed run
}

// Offline classifies the set with the heuristic, exactly as `make eval`
// documents: verdict classify --offline --no-cache --feeds FEEDS FILES. It
// returns the JSON report's path.
func (r Run) Offline(ctx context.Context) (string, error) {
	files, err := r.Set.AlertFiles()
	if err != nil {
		return "", err
	}
	args := []string{"classify", "--offline", "--no-cache"}
	for _, f := range r.Feeds {
		args = append(args, "--feeds", f)
	}
	return r.classify(ctx, "heuristic", args, files)
}

// Online classifies the set with the model (GEMINI_API_KEY must reach
// verdict). Without lookups it classifies the offline report, which makes
// no lookup at all: the model sees exactly the evidence the heuristic saw,
// and no VirusTotal or AbuseIPDB quota is spent. With lookups it runs the
// whole pipeline online over the alert files. cache reuses cached model
// answers (their source is "cache" and they cost 0); without it every alert
// is asked afresh, so tokens and cost per alert are measured.
func (r Run) Online(ctx context.Context, offlineReport string, lookups, cache bool) (string, error) {
	args := []string{"classify"}
	if !cache {
		args = append(args, "--no-cache")
	}
	if !lookups {
		return r.classify(ctx, "model", args, []string{offlineReport})
	}
	files, err := r.Set.AlertFiles()
	if err != nil {
		return "", err
	}
	for _, f := range r.Feeds {
		args = append(args, "--feeds", f)
	}
	return r.classify(ctx, "model", args, files)
}

func (r Run) classify(ctx context.Context, name string, args, files []string) (string, error) {
	if r.WorkDir == "" {
		return "", errors.New("classify: no work directory")
	}
	if r.Verdict == nil {
		return "", errors.New("classify: no way to run verdict")
	}
	cfg := r.Config
	if cfg == "" {
		cfg = filepath.Join(r.WorkDir, "empty-config.yaml")
		if err := os.WriteFile(cfg, nil, 0o600); err != nil {
			return "", fmt.Errorf("write empty config: %w", err)
		}
	}
	args = append(args, "--config", cfg, "--quiet", "-o", r.WorkDir, "--output-name", name, "-f", "json", "--")
	args = append(args, files...)
	var kept bytes.Buffer
	stderr := r.Stderr
	if stderr == nil {
		stderr = &kept
	}
	code, err := r.Verdict(ctx, args, stderr)
	if err != nil {
		return "", fmt.Errorf("run verdict classify: %w", err)
	}
	if code != 0 {
		// The tail of what verdict said, escaped: its messages can quote
		// attacker-written alert text.
		lines := strings.Split(strings.TrimSpace(kept.String()), "\n")
		if len(lines) > 20 {
			lines = lines[len(lines)-20:]
		}
		msg := ""
		for _, l := range lines {
			if l != "" {
				msg += "\n  " + Sanitize(l)
			}
		}
		if msg != "" {
			msg = ":" + msg
		}
		return "", fmt.Errorf("run verdict %s: exit status %d%s", strings.Join(args[:1], " "), code, msg)
	}
	return filepath.Join(r.WorkDir, name+".json"), nil
}
