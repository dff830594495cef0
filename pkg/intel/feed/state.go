package feed

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// StateFile is the record `verdict feeds update` keeps in a feeds
// directory: when each file was fetched, its validators for conditional
// GETs, and the last error. The leading dot keeps Load from reading it as a
// feed.
const StateFile = ".verdict-feeds.json"

// stateVersion is the layout of StateFile.
const stateVersion = 1

// maxStateBytes bounds StateFile: it holds a few lines per feed, and a
// larger file is not ours.
const maxStateBytes = 1 << 20

// State is the content of StateFile: one Record per feed file of the
// directory, by file name.
type State struct {
	Version int                `json:"version"`
	Feeds   map[string]*Record `json:"feeds"`
}

// Record is what `verdict feeds update` knows about one feed file.
type Record struct {
	// Source is the catalog name of the feed (Sources) and URL where it
	// was fetched from.
	Source string `json:"source"`
	URL    string `json:"url"`
	// FetchedAt is when the file's content was last downloaded (a 200).
	FetchedAt time.Time `json:"fetched_at,omitzero"`
	// CheckedAt is when the publisher last confirmed the content current:
	// a download, or a 304 Not Modified to a conditional GET.
	CheckedAt time.Time `json:"checked_at,omitzero"`
	// AttemptedAt is when a request was last sent, whatever came of it:
	// the publishers' minimum intervals count from here.
	AttemptedAt time.Time `json:"attempted_at,omitzero"`
	// ETag and LastModified are the validators of the content on disk.
	ETag         string `json:"etag,omitempty"`
	LastModified string `json:"last_modified,omitempty"`
	// Size, ModTime and SHA256 identify the file this record describes: a
	// file replaced by hand is another file, and its record says nothing
	// about it.
	Size    int64     `json:"size,omitempty"`
	ModTime time.Time `json:"mtime,omitzero"`
	SHA256  string    `json:"sha256,omitempty"`
	Entries int       `json:"entries,omitempty"`
	// LastError is why the last attempt failed (the old file was kept);
	// empty after a success.
	LastError   string    `json:"last_error,omitempty"`
	LastErrorAt time.Time `json:"last_error_at,omitzero"`
}

// Describes reports whether r is the record of the file fi: same size and
// modification time as when it was written.
func (r *Record) Describes(fi fs.FileInfo) bool {
	return r != nil && fi != nil && fi.Mode().IsRegular() && !r.ModTime.IsZero() &&
		r.Size == fi.Size() && r.ModTime.Equal(fi.ModTime())
}

// ErrState wraps a StateFile that cannot be read as one.
var ErrState = errors.New("unreadable feeds state file")

// ReadState reads dir's StateFile. A directory without one has an empty
// State and no error.
func ReadState(dir string) (*State, error) {
	st := &State{Version: stateVersion, Feeds: map[string]*Record{}}
	f, err := os.Open(filepath.Join(dir, StateFile))
	if errors.Is(err, fs.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("read feeds state: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxStateBytes+1))
	if err != nil {
		return st, fmt.Errorf("read feeds state: %w", err)
	}
	if len(b) > maxStateBytes {
		return st, fmt.Errorf("%w %s: larger than %d bytes", ErrState, f.Name(), maxStateBytes)
	}
	var got State
	if err := json.Unmarshal(b, &got); err != nil {
		return st, fmt.Errorf("%w %s: %w", ErrState, f.Name(), err)
	}
	if got.Version != stateVersion {
		return st, fmt.Errorf("%w %s: version %d, want %d", ErrState, f.Name(), got.Version, stateVersion)
	}
	for name, r := range got.Feeds {
		if r != nil && name == filepath.Base(name) && name != "." && name != ".." {
			st.Feeds[name] = r
		}
	}
	return st, nil
}

// Write replaces dir's StateFile atomically: a temporary file in dir,
// synced, then renamed over the old one.
func (s *State) Write(dir string) error {
	s.Version = stateVersion
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("encode feeds state: %w", err)
	}
	return writeAtomic(dir, StateFile, append(b, '\n'), 0o644)
}

// writeAtomic writes data to dir/name through a hidden temporary file in
// dir (so a concurrent Load never reads it as a feed) and a rename, so a
// reader sees the old file or the new one, never half of one.
func writeAtomic(dir, name string, data []byte, perm os.FileMode) (err error) {
	tmp, err := os.CreateTemp(dir, ".verdict-tmp-*-"+name)
	if err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err = tmp.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err = tmp.Chmod(perm); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err = os.Rename(tmp.Name(), filepath.Join(dir, name)); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}
