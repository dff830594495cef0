package report

import (
	"encoding/json"
	"flag"
	"fmt"
	"strings"

	"github.com/verdict-dev/verdict/pkg/model"
)

var update = flag.Bool("update", false, "rewrite golden files")

// xssPayloads are written into every attacker-controlled field of a report.
// Each one, if it ever ran, would set window.__xss<N>; the browser test
// checks that none did. %d is the payload's number.
var xssPayloads = []string{
	`<script>window.__xss%d=1</script>`,
	`<img src=x onerror="window.__xss%d=1">`,
	`<svg onload="window.__xss%d=1"></svg>`,
	`"><script>window.__xss%d=1</script>`,
	`'><img src=x onerror=window.__xss%d=1>`,
	`</script><script>window.__xss%d=1</script>`,
	`</style><script>window.__xss%d=1</script>`,
	`javascript:window.__xss%d=1`,
	`<a href="javascript:window.__xss%d=1" id="xss-link">click</a>`,
	`<svg><script>window.__xss%d=1</script></svg>`,
	`<svg><animate onbegin="window.__xss%d=1" attributeName="x" dur="1s"/></svg>`,
	`<iframe srcdoc="<script>parent.__xss%d=1</script>"></iframe>`,
	`--><script>window.__xss%d=1</script><!--`,
	`<math><mtext><table><mglyph><style><img src=x onerror=window.__xss%d=1>`,
	`<details open ontoggle="window.__xss%d=1">`,
	`" autofocus onfocus="window.__xss%d=1" x="`,
	`' onmouseover='window.__xss%d=1`,
	`<ScRiPt >window.__xss%d=1</sCrIpT >`,
	`\u003cscript\u003ewindow.__xss%d=1\u003c/script\u003e`,
	"\uff1cscript\uff1ewindow.__xss%d=1\uff1c/script\uff1e",
	"\u202e<script>window.__xss%d=1</script>\u202c",
	"<scr\u0000ipt>window.__xss%d=1</scr\u0000ipt>",
	`<img src="http://tracker.example.org/%d.png">`,
	`<style>@import url("http://tracker.example.org/%d.css");</style>`,
	`<link rel=stylesheet href="http://tracker.example.org/%d.css">`,
	`<base href="http://tracker.example.org/%d/">`,
	`<meta http-equiv="refresh" content="0;url=javascript:window.__xss%d=1">`,
	`{{ printf "%d" }}`,
	"<object data=\"javascript:window.__xss%d=1\"></object>",
	"<body onload=window.__xss%d=1>",
}

// payload returns payload i with its sentinel number.
func payload(i int) string { return fmt.Sprintf(xssPayloads[i%len(xssPayloads)], i) }

// xssReport is a report whose every attacker-controlled string is hostile,
// plus a few ordinary alerts for sorting and filtering.
func xssReport() *model.Report {
	rep := &model.Report{
		SchemaVersion: model.SchemaVersion, Tool: model.Tool{Name: "verdict", Version: "test"}, GeneratedAt: "2026-11-22T00:00:00Z",
		Inputs:      []string{"alerts/" + payload(900) + ".json"},
		InputErrors: []model.InputError{{File: payload(901), Record: 2, Line: 2, Reason: "invalid JSON near " + payload(902)}},
	}
	verdicts := []model.Verdict{model.Malicious, model.Suspicious, model.PotentiallySuspicious, model.Clean}
	scores := []int{80, 40, 15, 0}
	var bv model.ByVerdict
	bc := &model.ByClassification{}
	for i := range xssPayloads {
		v := verdicts[i%4]
		raw, _ := json.Marshal(map[string]any{
			"rule":      map[string]any{"name": payload(i)},
			"message":   "connection to 185.220.101.45 " + payload(i),
			payload(i):  "field name is hostile too",
			"url":       "http://evil.example.com/" + payload(i),
			"signature": payload(i),
		})
		res := &model.Result{Status: model.StatusFound, Matches: []model.FeedMatch{{Feed: "feed-" + payload(i) + ".txt", Info: payload(i)}}}
		label := []string{"TRUE_POSITIVE", "NEEDS_REVIEW", "FALSE_POSITIVE"}[i%3]
		switch label {
		case "TRUE_POSITIVE":
			bc.TruePositive++
		case "NEEDS_REVIEW":
			bc.NeedsReview++
		default:
			bc.FalsePositive++
		}
		a := &model.Alert{
			ID:     fmt.Sprintf("xss-%02d %s", i, payload(i)),
			Source: model.Source{File: "alerts/" + payload(i), Record: i + 1, Line: i + 2},
			Alert:  raw,
			IOCs: []model.IOC{
				{Type: "ipv4", Value: "185.220.101.45", Fields: []string{"message", payload(i)}},
				{Type: "url", Value: "http://evil.example.com/x", Fields: []string{"url"}},
			},
			Enrichment: map[string]map[string]*model.Result{"185.220.101.45": {"feeds": res}},
			Risk: model.Risk{Score: scores[i%4], Verdict: v, Factors: []string{
				"IP 185.220.101.45: listed in local feed " + payload(i) + " (+40)"}},
			Classification: &model.Classification{Label: label, Confidence: 70, Source: "gemini", Model: payload(i),
				Reasoning: []string{payload(i), "second " + payload(i), "third"}, NextStep: payload(i),
				Techniques: []string{"T1059", payload(i)}},
		}
		if v == model.Clean {
			a.Risk.Factors = []string{}
		}
		bv.Add(v)
		rep.Alerts = append(rep.Alerts, a)
	}
	rep.Summary = model.Summary{
		Alerts: len(rep.Alerts), ByVerdict: bv, ByClassification: bc, IOCs: model.IOCCounts{Unique: 2},
		Providers: map[string]model.ProviderStats{"feeds": {Lookups: 1}, payload(950): {Lookups: 1}},
		Notes:     []string{"note " + payload(951)},
		Classification: &model.ClassificationStats{Requests: 3, PromptTokens: 100, OutputTokens: 50, CostUSD: 0.001,
			Model: payload(952)},
	}
	return rep
}

// renderAll turns a whole report into every view format.
func renderAll(rep *model.Report, f Format) (string, error) {
	vb := NewViewBuilder(ViewOptions{})
	if err := vb.Begin(rep); err != nil {
		return "", err
	}
	for _, a := range rep.Alerts {
		if err := vb.Alert(a); err != nil {
			return "", err
		}
	}
	if err := vb.End(rep); err != nil {
		return "", err
	}
	var b strings.Builder
	err := RenderView(&b, f, vb.Build())
	return b.String(), err
}
