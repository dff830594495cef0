package cmdutil

import (
	"log/slog"
	"sync"
	"time"

	"github.com/spf13/viper"

	"github.com/verdict-dev/verdict/pkg/config"
	"github.com/verdict-dev/verdict/pkg/iostreams"
)

// Factory hands commands their dependencies, built lazily and once per run.
type Factory struct {
	IOStreams *iostreams.IOStreams
	Viper     *viper.Viper // one per run, never the global
	Logger    *slog.Logger
	Now       func() time.Time

	once   sync.Once
	cfg    *config.Config
	cfgErr error
}

// NewFactory returns a factory with a fresh viper instance.
func NewFactory(ios *iostreams.IOStreams) *Factory {
	v := viper.New()
	config.Defaults(v)
	return &Factory{IOStreams: ios, Viper: v, Logger: slog.Default(), Now: time.Now}
}

// Config loads and validates the configuration the first time it is asked
// for (after flags are bound), then returns the same result.
func (f *Factory) Config() (*config.Config, error) {
	f.once.Do(func() { f.cfg, f.cfgErr = config.Load(f.Viper) })
	return f.cfg, f.cfgErr
}
