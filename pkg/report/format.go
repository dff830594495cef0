package report

import (
	"fmt"
	"strings"
)

// Format is an output format.
type Format string

// Output formats.
const (
	FormatJSON     Format = "json"
	FormatTXT      Format = "txt"
	FormatHTML     Format = "html"
	FormatMarkdown Format = "md"
	FormatCSV      Format = "csv"
	// FormatTemplate is the user's --template.
	FormatTemplate Format = "template"
)

// AllFormats lists the built-in formats, for help texts and validation.
var AllFormats = []Format{FormatJSON, FormatTXT, FormatHTML, FormatMarkdown, FormatCSV}

// FormatNames is AllFormats as a comma-separated list.
func FormatNames() string {
	s := make([]string, len(AllFormats))
	for i, f := range AllFormats {
		s[i] = string(f)
	}
	return strings.Join(s, ", ")
}

// ParseFormat reads one format name ("markdown" is md, "text" is txt).
func ParseFormat(s string) (Format, error) {
	switch f := Format(strings.ToLower(strings.TrimSpace(s))); f {
	case FormatJSON, FormatTXT, FormatHTML, FormatMarkdown, FormatCSV, FormatTemplate:
		return f, nil
	case "markdown":
		return FormatMarkdown, nil
	case "text":
		return FormatTXT, nil
	}
	return "", fmt.Errorf("unknown format %q (want one of %s)", s, FormatNames())
}

// ParseFormats reads a comma-separated list, dropping duplicates.
func ParseFormats(list string) ([]Format, error) {
	var out []Format
	seen := map[Format]bool{}
	for _, p := range strings.Split(list, ",") {
		if strings.TrimSpace(p) == "" {
			continue
		}
		f, err := ParseFormat(p)
		if err != nil {
			return nil, err
		}
		if !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no output format given (want one or more of %s)", FormatNames())
	}
	return out, nil
}
