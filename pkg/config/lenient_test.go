package config

import (
	"testing"

	"github.com/spf13/viper"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// verdict doctor reports unknown keys itself and checks the rest: Load
// refuses the configuration, LoadIgnoringUnknown reads what is known.
func TestLoadIgnoringUnknown(t *testing.T) {
	clearEnv(t)
	p := writeFile(t, "feeds:\n  dir: /srv/typo\n  max_age: 3d\nvirustotal:\n  raet: 4/m\n  daily_quota: 77\n")
	t.Setenv("VERDICT_VIRUSTOTAL_RAET", "1/s")
	v := viper.New()
	Defaults(v)
	_, err := ReadFile(v, p)
	require.NoError(t, err)

	_, err = Load(v)
	require.ErrorIs(t, err, ErrUnknownKey)

	c, err := LoadIgnoringUnknown(v)
	require.NoError(t, err)
	assert.Equal(t, 77, vt(c).DailyQuota)
	assert.Equal(t, "3d", FormatDuration(c.Feeds.MaxAge))
	assert.Empty(t, c.Feeds.Dirs, "the misspelt key is not read")
	assert.Equal(t, p, c.File)

	// Values are still validated.
	p = writeFile(t, "feeds:\n  dir: x\n  max_age: -1h\n")
	v = viper.New()
	Defaults(v)
	_, err = ReadFile(v, p)
	require.NoError(t, err)
	_, err = LoadIgnoringUnknown(v)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "feeds.max_age")
}
