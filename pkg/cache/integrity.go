package cache

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
)

// ErrCorrupt is wrapped by CheckFile when the file is not a sound SQLite
// database.
var ErrCorrupt = errors.New("cache database is corrupt")

// CheckFile checks the SQLite cache file at path without changing it:
// its header, then PRAGMA quick_check on a read-only connection, whatever
// the file's size. Unlike Open, which moves a corrupt file aside and starts
// afresh, it only reports, so `verdict doctor` can say what the next run
// will find. It wraps ErrCorrupt for a damaged file and fs.ErrNotExist for
// a missing one.
func CheckFile(ctx context.Context, path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("check cache %s: %w", path, err)
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("check cache %s: not a regular file", path)
	}
	sn := sniff(path)
	switch {
	case sn.bad != "":
		return fmt.Errorf("check cache %s: %w: %s", path, ErrCorrupt, sn.bad)
	case sn.size == 0:
		return nil // created, never written: the first run sets it up
	}
	// mode=ro needs the -shm to exist or be creatable; immutable=1 opens a
	// file in a read-only directory (see openReadOnly).
	var errs []error
	for _, mode := range []string{"ro", "immutable"} {
		err := quickCheckDSN(ctx, sqliteDSN(path, mode))
		if err == nil {
			return nil
		}
		if isCorrupt(err) {
			return fmt.Errorf("check cache %s: %w: %s", path, ErrCorrupt, err.Error())
		}
		errs = append(errs, err)
	}
	return fmt.Errorf("check cache %s: %w", path, errors.Join(errs...))
}

func quickCheckDSN(ctx context.Context, dsn string) error {
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	s := &SQLite{db: db}
	return s.quickCheck(ctx)
}
