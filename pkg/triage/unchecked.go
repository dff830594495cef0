package triage

import (
	"errors"
	"fmt"

	"github.com/verdict-dev/verdict/pkg/model"
)

// ErrUnchecked means some alert's risk verdict is UNCHECKED: it had
// indicators to check and no source answered for any of them.
var ErrUnchecked = errors.New("alerts UNCHECKED")

// CheckUnchecked is the test behind --fail-on-unchecked: it returns nil when
// every alert of the summary was checked (or had nothing to check), and
// otherwise an error wrapping ErrUnchecked that says how many were not. The
// command maps that error to exit status 3 (CONTRACT.md), as it does
// --fail-on.
func CheckUnchecked(s *model.Summary) error {
	if s == nil || s.ByVerdict.Unchecked == 0 {
		return nil
	}
	return fmt.Errorf("%w: %d of %d alert(s) could not be checked by any source (--fail-on-unchecked)", ErrUnchecked, s.ByVerdict.Unchecked, s.Alerts)
}
