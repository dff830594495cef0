package report

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/verdict-dev/verdict/pkg/model"
)

// okAlert is a valid alert line that each case below breaks in one place.
const okAlert = `{"id":"a-1","source":{"file":"x.json","record":1},"alert":{"msg":"hi"},` +
	`"iocs":[{"type":"ipv4","value":"185.220.101.45","fields":["dst"]}],` +
	`"enrichment":{"185.220.101.45":{"virustotal":{"status":"found","malicious":3}}},` +
	`"risk":{"score":70,"verdict":"MALICIOUS","factors":["IP 185.220.101.45: 3 VirusTotal malicious detections (+40)"]},` +
	`"classification":{"label":"TRUE_POSITIVE","confidence":90,"reasoning":["a"],"source":"gemini","prompt_tokens":1,"output_tokens":1,"thought_tokens":0,"cost_usd":0}}`

func reportWith(alert string) string {
	return `{"schema_version":1,"tool":{"name":"verdict","version":"t"},"generated_at":"2026-11-22T00:00:00Z","inputs":["x.json"],"input_errors":[],` +
		`"summary":{"alerts":1,"by_verdict":{"MALICIOUS":1,"SUSPICIOUS":0,"POTENTIALLY_SUSPICIOUS":0,"CLEAN":0,"UNCHECKED":0},` +
		`"by_classification":{"TRUE_POSITIVE":1,"FALSE_POSITIVE":0,"NEEDS_REVIEW":0},"iocs":{"unique":1,"skipped":0},"providers":{}},` +
		`"alerts":[` + alert + `]}`
}

func TestDecodeRejectsReportsThatBreakTheSchema(t *testing.T) {
	t.Parallel()
	r := strings.NewReplacer
	tests := []struct {
		name    string
		in      string
		wantErr string
	}{
		{name: "the valid report reads", in: reportWith(okAlert)},
		{name: "schema_version 2", in: `{"schema_version":2,"alerts":[]}`, wantErr: "schema_version 2 is not supported (want 1)"},
		{name: "unknown verdict", in: reportWith(r(`"MALICIOUS"`, `"PWNED"`).Replace(okAlert)), wantErr: `alert 1 (id "a-1"): risk.verdict: "PWNED" is not a risk verdict`},
		{name: "score out of range", in: reportWith(r(`"score":70`, `"score":700`).Replace(okAlert)), wantErr: "risk.score: 700 is not in 0-100"},
		{name: "unknown label", in: reportWith(r(`"TRUE_POSITIVE"`, `"BENIGN"`).Replace(okAlert)), wantErr: `classification.label: "BENIGN" is not a classification`},
		{name: "confidence out of range", in: reportWith(r(`"confidence":90`, `"confidence":-1`).Replace(okAlert)), wantErr: "classification.confidence: -1 is not in 0-100"},
		{name: "classification source with an escape", in: reportWith(r(`"source":"gemini"`, `"source":"\u001b[31mgemini"`).Replace(okAlert)), wantErr: "classification.source"},
		{name: "unknown IOC type", in: reportWith(r(`"type":"ipv4"`, `"type":"ip"`).Replace(okAlert)), wantErr: `iocs[0].type: "ip" is not an IOC type`},
		{name: "an IP with a line break", in: reportWith(r(`"value":"185.220.101.45"`, `"value":"185.220.101.45\n0.0.0.0/0"`).Replace(okAlert)), wantErr: "iocs[0].value"},
		{name: "an IPv4 that is IPv6", in: reportWith(r(`"value":"185.220.101.45"`, `"value":"2001:db8::1"`).Replace(okAlert)), wantErr: "not an ipv4 address"},
		{name: "a URL with markup", in: reportWith(r(`"type":"ipv4","value":"185.220.101.45"`, `"type":"url","value":"http://x.com/<img src=y>"`).Replace(okAlert)), wantErr: "not a URL"},
		{name: "a domain with a space", in: reportWith(r(`"type":"ipv4","value":"185.220.101.45"`, `"type":"domain","value":"evil.com x"`).Replace(okAlert)), wantErr: "not a domain name"},
		{name: "a short hash", in: reportWith(r(`"type":"ipv4","value":"185.220.101.45"`, `"type":"sha256","value":"abc"`).Replace(okAlert)), wantErr: "want 64 hex digits"},
		{name: "a skip reason with markup", in: reportWith(r(`"fields":["dst"]`, `"fields":["dst"],"skipped":"<b>"`).Replace(okAlert)), wantErr: "iocs[0].skipped"},
		{name: "unknown lookup status", in: reportWith(r(`"status":"found"`, `"status":"pwned"`).Replace(okAlert)), wantErr: `"pwned" is not a lookup status`},
		{name: "a provider name with an escape", in: reportWith(r(`"virustotal":`, `"virus\u001btotal":`).Replace(okAlert)), wantErr: "provider name"},
		{name: "an AbuseIPDB score of 500", in: reportWith(r(`"malicious":3`, `"abuse_confidence_score":500`).Replace(okAlert)), wantErr: "abuse_confidence_score: 500 is not in 0-100"},
		{name: "no id", in: reportWith(r(`"id":"a-1",`, ``).Replace(okAlert)), wantErr: "alert 1: id is missing"},
		{name: "the record is not an object", in: reportWith(r(`"alert":{"msg":"hi"}`, `"alert":"<script>"`).Replace(okAlert)), wantErr: "not a JSON object"},
		{name: "a generated_at that is no time", in: r(`"2026-11-22T00:00:00Z"`, `"\u001b]52;c;AAAA\u0007"`).Replace(reportWith(okAlert)), wantErr: "generated_at"},
		{name: "a negative summary count", in: r(`"alerts":1,`, `"alerts":-1,`).Replace(reportWith(okAlert)), wantErr: "summary: negative count"},
		{name: "alerts twice", in: r(`]}`, `],"alerts":[]}`).Replace(reportWith(okAlert)), wantErr: `"alerts": the field appears twice`},
		{name: "a header field after the alerts", in: r(`"summary":`, `"x":`, `]}`, `],"summary":{}}`).Replace(reportWith(okAlert)), wantErr: "header fields must come before alerts"},
		{name: "data after the report", in: reportWith(okAlert) + `{"schema_version":1}`, wantErr: "more data after the report"},
		{name: "a wrong type", in: reportWith(r(`"score":70`, `"score":"70"`).Replace(okAlert)), wantErr: "alert 1"},
		{name: "unknown fields are fine (more may be added)", in: r(`"inputs"`, `"future":{"x":[1]},"inputs"`).Replace(reportWith(r(`"id":"a-1"`, `"id":"a-1","later":true`).Replace(okAlert)))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := ReadAll(strings.NewReader(tt.in))
			if tt.wantErr == "" {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantErr)
			assert.True(t, utf8.ValidString(err.Error()))
			assert.NotContains(t, err.Error(), "\x1b", "an error message quotes, never replays, what it read")
		})
	}
}

func TestDecodeAppliesTheGuardAgain(t *testing.T) {
	t.Parallel()
	in := reportWith(strings.NewReplacer(`"label":"TRUE_POSITIVE","confidence":90`, `"label":"FALSE_POSITIVE","confidence":99`).Replace(okAlert))
	in = strings.Replace(in, `"by_classification":{"TRUE_POSITIVE":1,"FALSE_POSITIVE":0`, `"by_classification":{"TRUE_POSITIVE":0,"FALSE_POSITIVE":1`, 1)
	rep, err := ReadAll(strings.NewReader(in))
	require.NoError(t, err)
	c := rep.Alerts[0].Classification
	assert.Equal(t, model.LabelNeedsReview, c.Label)
	assert.LessOrEqual(t, c.Confidence, 50)
	assert.True(t, strings.HasPrefix(c.Reasoning[0], "Conflict:"), c.Reasoning[0])
	assert.Equal(t, &model.ByClassification{NeedsReview: 1}, rep.Summary.ByClassification, "the summary follows the guard")
	assert.Contains(t, strings.Join(rep.Summary.Notes, "\n"), "changed to NEEDS_REVIEW")
}

func TestDecodeRecountsASummaryItsAlertsContradict(t *testing.T) {
	t.Parallel()
	in := strings.Replace(reportWith(okAlert), `"MALICIOUS":1,`, `"MALICIOUS":0,`, 1)
	in = strings.Replace(in, `"CLEAN":0`, `"CLEAN":7`, 1)
	in = strings.Replace(in, `"TRUE_POSITIVE":1,`, `"TRUE_POSITIVE":3,`, 1)
	var header *model.Report
	rep, err := Decode(strings.NewReader(in), func(h *model.Report) error { header = h; return nil }, nil)
	require.NoError(t, err)
	assert.Same(t, header, rep, "sinks see the recounted summary at End")
	assert.Equal(t, model.ByVerdict{Malicious: 1}, rep.Summary.ByVerdict)
	assert.Equal(t, 1, rep.Summary.Alerts)
	assert.Contains(t, strings.Join(rep.Summary.Notes, "\n"), "recounted from the alerts")

	rep, err = ReadAll(strings.NewReader(reportWith(okAlert)))
	require.NoError(t, err)
	assert.Empty(t, rep.Summary.Notes, "an honest report gets no note")
}

func TestDecodeRepairsInvalidUTF8(t *testing.T) {
	t.Parallel()
	in := strings.Replace(reportWith(okAlert), `"msg":"hi"`, "\"msg\":\"h\xffi\"", 1)
	rep, err := ReadAll(strings.NewReader(in))
	require.NoError(t, err)
	assert.True(t, utf8.Valid(rep.Alerts[0].Alert))
	assert.Contains(t, string(rep.Alerts[0].Alert), "h\uFFFDi")
}

// hostileReport is a report that is valid against the schema but whose
// every free-text string tries something: terminal escapes (OSC 52 writes
// the clipboard), bidi overrides, Markdown images and links, autolinks,
// HTML, spreadsheet formulas.
func hostileReport() string {
	evil := "\u001b]52;c;cm0gLXJmIH4=\u0007\u001b[2J\u202e<img src=http://tracker.example.org/x.png> ![x](http://tracker.example.org/y.png) " +
		"[click](javascript:alert(1)) www.evil.example/x mailto:a@b.example user@evil.example &lt;b&gt; =HYPERLINK(\"http://e.example\") \t\r\n# heading"
	q, _ := json.Marshal(evil)
	s := string(q)
	alert := strings.NewReplacer(
		`"id":"a-1"`, `"id":`+s,
		`"file":"x.json"`, `"file":`+s,
		`"alert":{"msg":"hi"}`, `"alert":{"msg":`+s+`,`+s+`:`+s+`}`,
		`"fields":["dst"]`, `"fields":[`+s+`]`,
		`"status":"found","malicious":3`, `"status":"found","malicious":3,"threat_label":`+s+`,"tags":[`+s+`],"as_owner":`+s,
		`"factors":["IP 185.220.101.45: 3 VirusTotal malicious detections (+40)"]`, `"factors":[`+s+`]`,
		`"reasoning":["a"]`, `"reasoning":[`+s+`],"why":`+s+`,"model":`+s+`,"mitre_techniques":[`+s+`],"recommended_next_step":`+s,
	).Replace(okAlert)
	rep := reportWith(alert + "," + strings.Replace(alert, `"TRUE_POSITIVE"`, `"FALSE_POSITIVE"`, 1))
	return strings.NewReplacer(
		`"version":"t"`, `"version":`+s,
		`"inputs":["x.json"]`, `"inputs":[`+s+`]`,
		`"input_errors":[]`, `"input_errors":[{"file":`+s+`,"record":1,"line":1,"reason":`+s+`}]`,
		`"providers":{}`, `"providers":{"virustotal":{"lookups":1,"requests":1,"cache_hits":0,"errors":0}},"notes":[`+s+`]`,
		`"alerts":1,`, `"alerts":2,`, `"MALICIOUS":1`, `"MALICIOUS":2`, `"FALSE_POSITIVE":0`, `"FALSE_POSITIVE":1`,
	).Replace(rep)
}

// renderReport runs a report through `verdict report`'s path, Decode into
// Outputs, in every format at once, and returns each format's bytes.
func renderReport(in string) (map[Format]string, *model.Report, error) {
	formats := []Format{FormatJSON, FormatTXT, FormatHTML, FormatMarkdown, FormatCSV}
	bufs := make([]*bytes.Buffer, len(formats))
	outs := make([]*Output, len(formats))
	var sinks Multi
	for i, f := range formats {
		bufs[i] = &bytes.Buffer{}
		out, err := NewOutput(OutputOptions{Context: context.Background(), Stdout: f, StdoutWriter: bufs[i]})
		if err != nil {
			return nil, nil, err
		}
		outs[i] = out
		sinks = append(sinks, out.Sink())
	}
	rep, err := Decode(strings.NewReader(in), sinks.Begin, sinks.Alert)
	if err != nil {
		return nil, nil, err
	}
	if err := sinks.End(rep); err != nil {
		return nil, nil, err
	}
	res := map[Format]string{}
	for i, out := range outs {
		if _, err := out.Commit(); err != nil {
			return nil, nil, err
		}
		res[formats[i]] = bufs[i].String()
	}
	return res, rep, nil
}

// inertProblems lists what a rendered report must never hold, whatever the
// report it came from: raw control, bidi or invisible characters in TXT,
// Markdown and CSV; anything active in Markdown or HTML; a FALSE_POSITIVE
// on a MALICIOUS alert anywhere.
func inertProblems(outs map[Format]string) []string {
	var problems []string
	for _, f := range []Format{FormatTXT, FormatMarkdown, FormatCSV} {
		for i, r := range outs[f] {
			if r != '\n' && (r < 0x20 || unsafeRune(r, false) || r == '\u2028' || r == '\u2029') {
				problems = append(problems, fmt.Sprintf("%s: raw %U at byte %d", f, r, i))
				break
			}
		}
	}
	if p := markdownActive(outs[FormatMarkdown]); p != "" {
		problems = append(problems, "md: "+p)
	}
	problems = append(problems, htmlProblems(outs[FormatHTML])...)
	rows, err := csv.NewReader(strings.NewReader(outs[FormatCSV])).ReadAll()
	if err != nil {
		problems = append(problems, "csv: "+err.Error())
	}
	for _, row := range rows {
		if len(row) > 3 && row[1] == "MALICIOUS" && row[3] == "FALSE_POSITIVE" {
			problems = append(problems, "csv: a FALSE_POSITIVE on a MALICIOUS alert")
		}
	}
	if js := outs[FormatJSON]; js != "" {
		_, err := Decode(strings.NewReader(js), nil, func(a *model.Alert) error {
			if a.Risk.Verdict == model.Malicious && a.Classification != nil && a.Classification.Label == model.LabelFalsePositive {
				problems = append(problems, "json: a FALSE_POSITIVE on a MALICIOUS alert")
			}
			return nil
		})
		if err != nil {
			problems = append(problems, "json: the written report does not read back: "+err.Error())
		}
	}
	return problems
}

// ourMarkdownHTML is the HTML the Markdown template itself writes.
var ourMarkdownHTML = strings.NewReplacer("<details>", "", "</details>", "", "<summary>", "", "</summary>", "", "<sub>", "", "</sub>", "")

// markdownActive returns the first construct in md that GitHub would turn
// into an element or a fetch: raw HTML, an entity, a link or image
// bracket, or an autolink (scheme://, www., an e-mail address). A construct
// preceded by a backslash is escaped text.
func markdownActive(md string) string {
	md = ourMarkdownHTML.Replace(md)
	escaped := func(i int) bool {
		n := 0
		for j := i - 1; j >= 0 && md[j] == '\\'; j-- {
			n++
		}
		return n%2 == 1
	}
	for i := 0; i < len(md); i++ {
		c := md[i]
		switch {
		case c == '<' && i+1 < len(md) && (isLetter(md[i+1]) || strings.IndexByte("/!?", md[i+1]) >= 0):
			return "raw HTML " + quoted(md[i:min(len(md), i+20)])
		case c == '&' && !strings.HasPrefix(md[i:], "&lt;") && !strings.HasPrefix(md[i:], "&gt;") && !strings.HasPrefix(md[i:], "&amp;"):
			return "an entity " + quoted(md[i:min(len(md), i+12)])
		case (c == '[' || c == ']') && !escaped(i):
			return "a link bracket " + quoted(md[max(0, i-10):min(len(md), i+20)])
		case c == ':' && strings.HasPrefix(md[i:], "://") && !escaped(i):
			return "a URL autolink " + quoted(md[max(0, i-10):min(len(md), i+20)])
		case c == '@' && !escaped(i):
			return "an e-mail autolink " + quoted(md[max(0, i-10):min(len(md), i+20)])
		case (c == 'w' || c == 'W') && i+4 <= len(md) && strings.EqualFold(md[i:i+4], "www.") && (i == 0 || !isLetter(md[i-1])):
			return "a www autolink " + quoted(md[max(0, i-10):min(len(md), i+20)])
		}
	}
	return ""
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

func TestHandMadeReportRendersInert(t *testing.T) {
	t.Parallel()
	outs, rep, err := renderReport(hostileReport())
	require.NoError(t, err)
	require.Len(t, rep.Alerts, 0, "ReadAll is not used: alerts streamed")
	for _, p := range inertProblems(outs) {
		t.Error(p)
	}
	for f, out := range outs {
		if f == FormatJSON {
			continue
		}
		assert.NotContains(t, out, "http://tracker", "%s: a URL shown live", f)
	}
	assert.Contains(t, outs[FormatTXT], `\u001b]52;c;`, "the escape is shown, escaped")
	assert.Contains(t, outs[FormatMarkdown], "NEEDS_REVIEW", "the guard ran on the second alert")
	assert.NotContains(t, outs[FormatMarkdown], "FALSE_POSITIVE 99")
	assert.Contains(t, outs[FormatJSON], "Conflict:", "the JSON re-render carries the guard's reason")
}

// The checks themselves can fail: a rendering that let each thing through
// is caught.
func TestInertChecksCatchProblems(t *testing.T) {
	t.Parallel()
	for _, md := range []string{"![x](http://a)", "<img src=x>", "see www.evil.com", "a@b.com", "http://x", "&#60;", "[a](b)"} {
		assert.NotEmpty(t, markdownActive(md), md)
	}
	for _, md := range []string{`\!\[x\](hxxp\://a)`, "&lt;img src=x&gt;", `see www\.evil.com`, `a\@b.com`, "<details><summary>x</summary></details>", `\\\[`} {
		assert.Empty(t, markdownActive(md), md)
	}
	bad := inertProblems(map[Format]string{FormatTXT: "a\x1b[2Jb", FormatCSV: "id,risk_verdict,score,classification\nx,MALICIOUS,80,FALSE_POSITIVE\n"})
	assert.GreaterOrEqual(t, len(bad), 2, "%v", bad)
}

func FuzzReport(f *testing.F) {
	f.Add(reportWith(okAlert))
	f.Add(hostileReport())
	f.Add(reportWith(strings.Replace(okAlert, `"TRUE_POSITIVE"`, `"FALSE_POSITIVE"`, 1)))
	f.Add(`{"schema_version":1,"alerts":[{"id":"a","alert":{},"iocs":[],"enrichment":{},"risk":{"score":1,"verdict":"UNCHECKED","factors":[]}}]}`)
	f.Add(`{"schema_version":1,"summary":{"alerts":1},"alerts":null}`)
	var b bytes.Buffer
	jw := NewJSONWriter(&b)
	x := xssReport()
	_ = jw.Begin(x)
	for _, a := range x.Alerts[:6] {
		_ = jw.Alert(a)
	}
	_ = jw.End(x)
	f.Add(b.String())
	f.Fuzz(func(t *testing.T, in string) {
		outs, _, err := renderReport(in)
		if err != nil {
			return // refused with an error: nothing rendered
		}
		for _, p := range inertProblems(outs) {
			t.Error(p)
		}
	})
}

// FuzzReportFields is FuzzReport for the strings inside a well-formed
// report: each fuzzed string goes into every free-text field (ids, factors,
// the raw record's keys and values, reasoning, provider answers, notes,
// file names), with any verdict and label, so that the renderers, not the
// JSON parser, meet the hostile bytes.
func FuzzReportFields(f *testing.F) {
	f.Add("\x1b]52;c;AAAA\x07", "<img src=http://x.example/y>", uint8(3), uint8(1))
	f.Add("www.evil.example", "a@b.example ![x](y) [l](javascript:z)", uint8(0), uint8(1))
	f.Add("\u202e\u2028\t\r\n", "&#60;script&#62; &lt;", uint8(4), uint8(2))
	f.Add("=cmd|' /C calc'!A0", "http://185.220.101.45/x", uint8(3), uint8(1))
	f.Fuzz(func(t *testing.T, s1, s2 string, verdict, label uint8) {
		q := func(s string) string { b, _ := json.Marshal(s); return string(b) }
		v := verdictNames[int(verdict)%len(verdictNames)]
		l := model.Labels[int(label)%len(model.Labels)]
		alert := strings.NewReplacer(
			`"id":"a-1"`, `"id":`+q("x"+s1),
			`"file":"x.json"`, `"file":`+q(s2),
			`"alert":{"msg":"hi"}`, `"alert":{"msg":`+q(s1)+`,`+q(s2)+`:[`+q(s2)+`,{"n":1}]}`,
			`"fields":["dst"]`, `"fields":[`+q(s1)+`]`,
			`"status":"found","malicious":3`, `"status":"found","malicious":3,"threat_label":`+q(s2)+`,"matches":[{"feed":`+q(s1)+`,"info":`+q(s2)+`}]`,
			`"verdict":"MALICIOUS"`, `"verdict":"`+v+`"`,
			`"factors":["IP 185.220.101.45: 3 VirusTotal malicious detections (+40)"]`, `"factors":[`+q(s1)+`,`+q(s2)+`]`,
			`"label":"TRUE_POSITIVE"`, `"label":"`+l+`"`,
			`"reasoning":["a"]`, `"reasoning":[`+q(s2)+`],"why":`+q(s1)+`,"recommended_next_step":`+q(s2),
		).Replace(okAlert)
		in := strings.NewReplacer(
			`"version":"t"`, `"version":`+q(s1),
			`"inputs":["x.json"]`, `"inputs":[`+q(s2)+`]`,
			`"providers":{}`, `"providers":{},"notes":[`+q(s1)+`]`,
		).Replace(reportWith(alert))
		outs, _, err := renderReport(in)
		if err != nil {
			t.Fatalf("a well-formed report was refused: %v", err)
		}
		for _, p := range inertProblems(outs) {
			t.Error(p)
		}
	})
}
