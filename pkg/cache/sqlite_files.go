package cache

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// access is what this process may do with a cache file.
type access struct {
	exists   bool
	writable bool
	why      string // why not writable
}

// probeAccess finds out whether the cache file (and the directory, where
// SQLite creates the -wal and -shm files) can be written. Permission bits
// alone do not tell (root, ACLs, read-only mounts), so it tries.
func probeAccess(path string) (access, error) {
	var a access
	st, err := os.Stat(path)
	switch {
	case err == nil:
		if !st.Mode().IsRegular() {
			return a, fmt.Errorf("%s is not a regular file", path)
		}
		a.exists = true
	case !errors.Is(err, fs.ErrNotExist):
		return a, err
	}
	dir := filepath.Dir(path)
	probe, err := os.CreateTemp(dir, ".verdict-probe-*")
	if err != nil {
		if isNotWritable(err) {
			a.why = fmt.Sprintf("directory %s is not writable", dir)
			return a, nil
		}
		return a, err
	}
	name := probe.Name()
	_ = probe.Close()
	_ = os.Remove(name)
	for _, f := range []string{path, path + "-wal", path + "-shm"} {
		h, err := os.OpenFile(f, os.O_RDWR, 0)
		if err == nil {
			_ = h.Close()
			continue
		}
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if isNotWritable(err) {
			a.why = fmt.Sprintf("%s is not writable", f)
			return a, nil
		}
		return a, err
	}
	a.writable = true
	return a, nil
}

func isNotWritable(err error) bool {
	return errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EROFS)
}

// sniffed is what the first bytes of a cache file say about it.
type sniffed struct {
	size  int64
	ident os.FileInfo
	bad   string // why this is not a usable SQLite file; "" if it may be
	short bool   // the header promises more pages than the file holds
}

var sqliteMagic = []byte("SQLite format 3\x00")

// sniff reads the 100-byte header: cheap enough for every open, whatever
// the file's size, and it catches files that are not SQLite at all.
func sniff(path string) sniffed {
	f, err := os.Open(path)
	if err != nil {
		return sniffed{} // probeAccess has already vouched for it
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return sniffed{}
	}
	sn := sniffed{size: st.Size(), ident: st}
	if sn.size == 0 {
		return sn // a new database nobody has written yet
	}
	hdr := make([]byte, 100)
	n, err := io.ReadFull(f, hdr)
	if err != nil {
		sn.bad = fmt.Sprintf("not a SQLite database: %d-byte file", n)
		return sn
	}
	if !bytes.Equal(hdr[:16], sqliteMagic) {
		sn.bad = "not a SQLite database: wrong header"
		return sn
	}
	pageSize := int64(binary.BigEndian.Uint16(hdr[16:18]))
	if pageSize == 1 {
		pageSize = 65536
	}
	if pageSize < 512 || pageSize&(pageSize-1) != 0 {
		sn.bad = fmt.Sprintf("corrupt header: page size %d", pageSize)
		return sn
	}
	// The in-header page count is valid when the change counter matches
	// "version-valid-for". A file shorter than that count was truncated,
	// but a concurrent checkpoint can briefly look the same way, so this
	// only asks for a full check.
	change, pages, valid := binary.BigEndian.Uint32(hdr[24:28]), int64(binary.BigEndian.Uint32(hdr[28:32])), binary.BigEndian.Uint32(hdr[92:96])
	if pages > 0 && change == valid && sn.size < pages*pageSize {
		sn.short = true
	}
	return sn
}
