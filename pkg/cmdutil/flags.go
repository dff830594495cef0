package cmdutil

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// FlagKey maps a flag to the config key it sets, declared once per command
// (trivy's Flag{Name, ConfigName}).
type FlagKey struct {
	Flag string
	Key  string
}

// BindFlags binds flags to viper keys so that a flag given on the command
// line wins over the environment and the config file.
func BindFlags(f *Factory, fs *pflag.FlagSet, keys []FlagKey) error {
	for _, k := range keys {
		fl := fs.Lookup(k.Flag)
		if fl == nil {
			return fmt.Errorf("internal: flag --%s is not defined", k.Flag)
		}
		if err := f.Viper.BindPFlag(k.Key, fl); err != nil {
			return err
		}
	}
	return nil
}

// enumValue is a string flag restricted to an allow-list.
type enumValue struct {
	target  *string
	allowed []string
}

func (e *enumValue) String() string { return *e.target }
func (e *enumValue) Type() string   { return "string" }
func (e *enumValue) Set(v string) error {
	for _, a := range e.allowed {
		if strings.EqualFold(v, a) {
			*e.target = a
			return nil
		}
	}
	return fmt.Errorf("valid values are %s", strings.Join(e.allowed, ", "))
}

// StringEnumFlag defines a flag whose value must be one of allowed; the
// allowed values are listed in the help text and offered to completion.
func StringEnumFlag(cmd *cobra.Command, p *string, name, short, def string, allowed []string, usage string) {
	*p = def
	usage = fmt.Sprintf("%s: {%s}", usage, strings.Join(allowed, "|"))
	cmd.Flags().VarP(&enumValue{target: p, allowed: allowed}, name, short, usage)
	_ = cmd.RegisterFlagCompletionFunc(name, func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return allowed, cobra.ShellCompDirectiveNoFileComp
	})
}
