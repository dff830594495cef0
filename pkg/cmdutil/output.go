package cmdutil

import (
	"io"

	"github.com/spf13/cobra"

	"github.com/verdict-dev/verdict/pkg/model"
	"github.com/verdict-dev/verdict/pkg/report"
)

// OutputFlags are the report flags every writing command shares.
type OutputFlags struct {
	Dir             string
	Name            string
	FormatList      string
	Formats         []report.Format
	Stdout          string
	Template        string
	ExportBlocklist string
	BlocklistMin    string
}

// AddOutputFlags defines the output flags with the command's default formats.
func AddOutputFlags(cmd *cobra.Command, o *OutputFlags, defaultFormats, nameHelp string) {
	fl := cmd.Flags()
	fl.StringVarP(&o.Dir, "output-dir", "o", "reports", "directory for the reports")
	fl.StringVar(&o.Name, "output-name", "", nameHelp)
	fl.StringVarP(&o.FormatList, "format", "f", defaultFormats, "comma-separated report formats: "+report.FormatNames())
	fl.StringVar(&o.Stdout, "stdout", "", "write this one format to standard output instead of files ("+report.FormatNames()+", template)")
	fl.StringVar(&o.Template, "template", "", "also render this Go template (text/template, or html/template for *.html.tmpl) over the JSON report data")
	fl.StringVar(&o.ExportBlocklist, "export-blocklist", "", "write the IOCs of alerts at or above --blocklist-min to this file, one per line")
	fl.StringVar(&o.BlocklistMin, "blocklist-min", string(model.Malicious), "lowest risk verdict whose IOCs go to --export-blocklist")
	_ = cmd.MarkFlagDirname("output-dir")
	_ = cmd.RegisterFlagCompletionFunc("blocklist-min", VerdictCompletion)
}

// VerdictCompletion offers the risk verdicts to shell completion.
func VerdictCompletion(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	out := make([]string, len(model.AllVerdicts))
	for i, v := range model.AllVerdicts {
		out[i] = string(v)
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// Parse validates the flags and normalises their values.
func (o *OutputFlags) Parse() error {
	formats, err := report.ParseFormats(o.FormatList)
	if err != nil {
		return FlagErrorf("--format: %v", err)
	}
	o.Formats = formats
	if o.Stdout != "" {
		sf, err := report.ParseFormat(o.Stdout)
		if err != nil {
			return FlagErrorf("--stdout: %v", err)
		}
		o.Stdout = string(sf)
		if sf == report.FormatTemplate && o.Template == "" {
			return FlagErrorf("--stdout template needs --template FILE")
		}
	}
	v, err := model.ParseVerdict(o.BlocklistMin)
	if err != nil {
		return FlagErrorf("--blocklist-min: %v", err)
	}
	o.BlocklistMin = string(v)
	return nil
}

// OutputOptions turns the flags into report.OutputOptions for a report name.
func (o *OutputFlags) OutputOptions(name string, stdout io.Writer, view report.ViewOptions) report.OutputOptions {
	return report.OutputOptions{
		Dir: o.Dir, Name: name, Formats: o.Formats, Stdout: report.Format(o.Stdout), StdoutWriter: stdout,
		Template: o.Template, View: view, Blocklist: o.ExportBlocklist, BlocklistMin: model.Verdict(o.BlocklistMin),
	}
}
