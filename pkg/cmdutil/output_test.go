package cmdutil

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/verdict-dev/verdict/pkg/model"
	"github.com/verdict-dev/verdict/pkg/report"
)

func TestOutputFlagsParse(t *testing.T) {
	t.Parallel()
	base := func() OutputFlags {
		return OutputFlags{Dir: "reports", FormatList: "json,txt", BlocklistMin: "MALICIOUS", BlocklistFormat: "plain"}
	}
	tests := []struct {
		name    string
		edit    func(o *OutputFlags)
		wantErr string
		check   func(t *testing.T, oo report.OutputOptions)
	}{
		{name: "happy path: defaults", edit: func(*OutputFlags) {}, check: func(t *testing.T, oo report.OutputOptions) {
			assert.True(t, oo.Unique)
			assert.Nil(t, oo.BlocklistTypes)
			assert.Equal(t, report.BlocklistPlain, oo.BlocklistFormat)
			assert.Equal(t, []report.Format{report.FormatJSON, report.FormatTXT}, oo.Formats)
		}},
		{name: "happy path: blocklist by type and format", edit: func(o *OutputFlags) {
			o.ExportBlocklist, o.BlocklistTypes, o.BlocklistFormat, o.BlocklistMin = "b.txt", "ip, url", "annotated", "suspicious"
		}, check: func(t *testing.T, oo report.OutputOptions) {
			assert.Equal(t, []string{"ipv4", "ipv6", "url"}, oo.BlocklistTypes)
			assert.Equal(t, report.BlocklistAnnotated, oo.BlocklistFormat)
			assert.Equal(t, model.Suspicious, oo.BlocklistMin)
		}},
		{name: "happy path: an explicit name overwrites", edit: func(o *OutputFlags) { o.Name = "nightly" }, check: func(t *testing.T, oo report.OutputOptions) {
			assert.False(t, oo.Unique)
		}},
		{name: "sad path: a name with a directory", edit: func(o *OutputFlags) { o.Name = "a/b" }, wantErr: "without directories"},
		{name: "sad path: a bad format", edit: func(o *OutputFlags) { o.FormatList = "pdf" }, wantErr: `--format: unknown format "pdf"`},
		{name: "sad path: a bad blocklist type", edit: func(o *OutputFlags) { o.ExportBlocklist, o.BlocklistTypes = "b", "email" }, wantErr: "--blocklist-types"},
		{name: "sad path: a bad blocklist format", edit: func(o *OutputFlags) { o.ExportBlocklist, o.BlocklistFormat = "b", "edl" }, wantErr: "--blocklist-format"},
		{name: "sad path: types without a blocklist", edit: func(o *OutputFlags) { o.BlocklistTypes = "ipv4" }, wantErr: "need --export-blocklist"},
		{name: "sad path: UNCHECKED is not a blocklist threshold", edit: func(o *OutputFlags) { o.BlocklistMin = "UNCHECKED" }, wantErr: "--blocklist-min"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := base()
			tt.edit(&o)
			err := o.Parse()
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				var fe *FlagError
				assert.True(t, errors.As(err, &fe), "a usage error")
				return
			}
			require.NoError(t, err)
			name := o.Name
			if name == "" {
				name = "verdict-20261122-000000"
			}
			tt.check(t, o.OutputOptions(name, nil, report.ViewOptions{}))
		})
	}
}

func TestHumanBytes(t *testing.T) {
	t.Parallel()
	for n, want := range map[int64]string{
		0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 1536: "1.5 KiB", 5 << 20: "5.0 MiB", 3 << 30: "3.0 GiB", 1 << 62: "4.0 EiB",
	} {
		if got := HumanBytes(n); got != want {
			t.Errorf("HumanBytes(%d) = %q, want %q", n, got, want)
		}
	}
}
