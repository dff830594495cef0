package cmdutil

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/verdict-dev/verdict/pkg/ioc"
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
	BlocklistTypes  string   // --blocklist-types as given
	BlocklistFormat string   // --blocklist-format
	blocklistTypes  []string // BlocklistTypes expanded (nil: every type)
}

// AddOutputFlags defines the output flags with the command's default formats.
func AddOutputFlags(cmd *cobra.Command, o *OutputFlags, defaultFormats, nameHelp string) {
	fl := cmd.Flags()
	fl.StringVarP(&o.Dir, "output-dir", "o", "reports", "directory for the reports")
	fl.StringVar(&o.Name, "output-name", "", nameHelp+"; an explicit name overwrites, the default never does (it adds -2, -3, ...)")
	fl.StringVarP(&o.FormatList, "format", "f", defaultFormats, "comma-separated report formats: "+report.FormatNames())
	fl.StringVar(&o.Stdout, "stdout", "", "write this one format to standard output instead of files ("+report.FormatNames()+", template)")
	fl.StringVar(&o.Template, "template", "", "also render this Go template over the JSON report data (html/template for *.html.tmpl, else text/template), written beside the reports")
	fl.StringVar(&o.ExportBlocklist, "export-blocklist", "", "write the IOCs a source flagged (feed hit, VirusTotal malicious, AbuseIPDB >= 75) in alerts at or above --blocklist-min to this file")
	fl.StringVar(&o.BlocklistMin, "blocklist-min", string(model.Malicious), "lowest risk verdict whose flagged IOCs go to --export-blocklist")
	fl.StringVar(&o.BlocklistTypes, "blocklist-types", "", "comma-separated IOC types kept in --export-blocklist (default all): ipv4, ipv6, domain, url, md5, sha1, sha256, or ip, hash")
	StringEnumFlag(cmd, &o.BlocklistFormat, "blocklist-format", "", string(report.BlocklistPlain), blocklistFormatNames(),
		"--export-blocklist format: plain is one value per line (firewall lists, ipset), annotated adds '# type: reason' lines, csv is type,value,reason,alerts")
	_ = cmd.MarkFlagDirname("output-dir")
	_ = cmd.RegisterFlagCompletionFunc("blocklist-min", VerdictCompletion)
}

func blocklistFormatNames() []string {
	out := make([]string, len(report.BlocklistFormats))
	for i, f := range report.BlocklistFormats {
		out[i] = string(f)
	}
	return out
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
	if o.Name != "" {
		if err := report.ValidateName(o.Name); err != nil {
			return FlagErrorf("%v", err)
		}
	}
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
	if o.BlocklistFormat == "" {
		o.BlocklistFormat = string(report.BlocklistPlain)
	}
	bf, err := report.ParseBlocklistFormat(o.BlocklistFormat)
	if err != nil {
		return FlagErrorf("--blocklist-format: %v", err)
	}
	o.BlocklistFormat = string(bf)
	o.blocklistTypes = nil
	if strings.TrimSpace(o.BlocklistTypes) != "" {
		types, err := ioc.ExpandTypes(strings.Split(o.BlocklistTypes, ","))
		if err != nil {
			return FlagErrorf("--blocklist-types: %v", err)
		}
		for _, t := range types {
			o.blocklistTypes = append(o.blocklistTypes, string(t))
		}
	}
	if o.ExportBlocklist == "" && (o.blocklistTypes != nil || bf != report.BlocklistPlain) {
		return FlagErrorf("--blocklist-types and --blocklist-format need --export-blocklist FILE")
	}
	return nil
}

// OutputOptions turns the flags into report.OutputOptions for a report
// name. The name is the user's when --output-name was given (it
// overwrites); otherwise it is the command's default, which never
// overwrites another run's reports (report.OutputOptions.Unique). Callers
// set the Context of the result to the run's context, so that a signal
// stops rendering.
func (o *OutputFlags) OutputOptions(name string, stdout io.Writer, view report.ViewOptions) report.OutputOptions {
	return report.OutputOptions{
		Dir: o.Dir, Name: name, Unique: o.Name == "", Formats: o.Formats, Stdout: report.Format(o.Stdout), StdoutWriter: stdout,
		Template: o.Template, View: view, Blocklist: o.ExportBlocklist, BlocklistMin: model.Verdict(o.BlocklistMin),
		BlocklistTypes: o.blocklistTypes, BlocklistFormat: report.BlocklistFormat(o.BlocklistFormat),
	}
}

// HumanBytes writes a size with a binary unit, as people read it: "512 B",
// "5.0 MiB".
func HumanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
