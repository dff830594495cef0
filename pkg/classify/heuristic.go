package classify

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/verdict-dev/verdict/pkg/alert"
	"github.com/verdict-dev/verdict/pkg/model"
)

// signals is what the heuristic reads out of an alert and its enrichment.
type signals struct {
	feedHits     []string // "185.220.101.45 in tor-exits.txt"
	vtHits       int      // indicators VirusTotal calls malicious
	abuseHigh    int      // addresses with AbuseIPDB confidence >= 75
	tor          bool
	highSeverity string // why the source rated it severe
	lowSeverity  bool
	badRule      string   // a rule name that names an attack
	benignRule   string   // a rule name that names policy or housekeeping
	failThenOK   bool     // failed logins and a success in one alert
	offHours     string   // "03:12 UTC" or "Saturday"
	describing   []string // rule names, signatures, categories, techniques: for attack.Suggestions
}

var attackWords = []string{"malware", "trojan", "ransom", "c2", "cnc", "command and control", "beacon", "exploit",
	"brute force", "brute-force", "credential", "mimikatz", "exfil", "backdoor", "webshell", "web shell",
	"sql injection", "lateral", "phishing", "cobalt", "botnet", "miner", "persistence", "privilege escalation"}

var benignWords = []string{"policy", "user-agent", "user agent", "informational", "inventory", "update",
	"heartbeat", "audit success", "authentication success", "logged-in", "ldapsearch", "not suspicious"}

func (c Case) signals() signals {
	var s signals
	for _, i := range c.IOCs {
		if i.Skipped != "" {
			continue
		}
		for name, r := range c.Enrichment[i.Value] {
			if r == nil || r.Status != model.StatusFound {
				continue
			}
			for _, m := range r.Matches {
				s.feedHits = append(s.feedHits, fmt.Sprintf("%s %s is listed in %s", i.Type, i.Value, m.Feed))
				if strings.Contains(strings.ToLower(m.Feed), "tor") {
					s.tor = true
				}
			}
			if name == "virustotal" && r.Malicious != nil && *r.Malicious > 0 {
				s.vtHits++
			}
			if r.AbuseConfidenceScore != nil && *r.AbuseConfidenceScore >= 75 {
				s.abuseHigh++
			}
			if r.IsTor != nil && *r.IsTor {
				s.tor = true
			}
		}
	}
	var texts []string
	failures, successes := 0, 0
	_ = alert.Walk(c.Raw, func(p *alert.Path, kind alert.Kind, v string) {
		key := p.Normalized()
		lv := strings.ToLower(v)
		if kind == alert.KindString && v != "" && describesDetection(p) && len(s.describing) < 32 {
			s.describing = append(s.describing, v)
		}
		switch {
		case strings.HasSuffix(key, "severity") || strings.HasSuffix(key, "level") || strings.HasSuffix(key, "urgency") || strings.HasSuffix(key, "priority"):
			s.rateSeverity(key, p.String(), lv)
		case strings.Contains(key, "name") || strings.Contains(key, "signature") || strings.Contains(key, "description") ||
			strings.Contains(key, "title") || strings.HasSuffix(key, "msg") || strings.Contains(key, "message") ||
			strings.HasSuffix(key, "action") || strings.Contains(key, "category") || strings.Contains(key, "groups"):
			texts = append(texts, lv)
		case strings.HasSuffix(key, "outcome"):
			if lv == "success" {
				successes++
			} else if lv == "failure" {
				failures++
			}
		case strings.HasSuffix(key, "timestamp") || key == "@timestamp" || key == "timegenerated" || key == "ts":
			s.rateTime(v)
		}
		if kind == alert.KindString && (strings.Contains(lv, "failed password") || strings.Contains(lv, "invalid user") || strings.Contains(lv, "authentication failure")) {
			failures++
		}
		if kind == alert.KindString && (strings.Contains(lv, "accepted password") || strings.Contains(lv, "accepted publickey") || strings.Contains(lv, "logged-in")) {
			successes++
		}
	})
	s.failThenOK = failures > 0 && successes > 0
	joined := strings.Join(texts, " | ")
	for _, w := range attackWords {
		if strings.Contains(joined, w) {
			s.badRule = w
			break
		}
	}
	for _, w := range benignWords {
		if strings.Contains(joined, w) {
			s.benignRule = w
			break
		}
	}
	return s
}

func (s *signals) rateSeverity(key, field, v string) {
	switch v {
	case "critical", "high", "severe", "emergency", "alert":
		s.highSeverity = field + " " + v
		return
	case "low", "informational", "info", "information", "notice":
		s.lowSeverity = true
		return
	}
	n, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return
	}
	switch {
	case strings.HasSuffix(key, "alert.severity") && n == 1: // Suricata: 1 is the highest
		s.highSeverity = fmt.Sprintf("%s %g, Suricata's highest", field, n)
	case strings.HasSuffix(key, "rule.level") && n >= 10: // Wazuh: 10+ is high
		s.highSeverity = fmt.Sprintf("%s %g", field, n)
	case strings.HasSuffix(key, "rule.level") && n <= 4, strings.HasSuffix(key, "alert.severity") && n >= 3:
		s.lowSeverity = true
	}
}

func (s *signals) rateTime(v string) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999-0700", "2006-01-02T15:04:05.999Z0700", "2006-01-02 15:04:05"} {
		t, err := time.Parse(layout, strings.TrimSpace(v))
		if err != nil {
			continue
		}
		t = t.UTC()
		switch {
		case t.Weekday() == time.Saturday || t.Weekday() == time.Sunday:
			s.offHours = t.Weekday().String()
		case t.Hour() < 6 || t.Hour() >= 20:
			s.offHours = t.Format("15:04") + " UTC"
		}
		return
	}
}

// Heuristic classifies an alert with deterministic rules over its risk
// verdict, feed and provider hits, and context (failed logins then a
// success, off-hours, Tor, severity, rule names). why says why the model
// was not used. Its techniques are attack.Suggestions' for the alert's rule
// names, signatures, categories and technique fields: a suggestion, not a
// finding.
func Heuristic(c Case, why string) *model.Classification {
	s := c.signals()
	var label string
	var conf int
	var reasons []string
	add := func(r string) { reasons = append(reasons, r) }
	evidence := len(s.feedHits) + s.vtHits + s.abuseHigh
	switch c.Risk.Verdict {
	case model.Malicious:
		label, conf = TruePositive, 85
		add(fmt.Sprintf("Risk verdict MALICIOUS (score %d) from threat-intel evidence.", c.Risk.Score))
	case model.Suspicious:
		label, conf = NeedsReview, 60
		if s.tor || s.badRule != "" || s.highSeverity != "" || s.failThenOK {
			label, conf = TruePositive, 70
		}
		add(fmt.Sprintf("Risk verdict SUSPICIOUS (score %d).", c.Risk.Score))
	case model.PotentiallySuspicious:
		label, conf = NeedsReview, 50
		add(fmt.Sprintf("Risk verdict POTENTIALLY_SUSPICIOUS (score %d): weak threat-intel signal.", c.Risk.Score))
	default:
		switch {
		case s.failThenOK || s.highSeverity != "" || s.badRule != "":
			label, conf = NeedsReview, 45
			add("No threat-intel hit, but the alert's own context is concerning.")
		case s.benignRule != "" || s.lowSeverity:
			label, conf = FalsePositive, 70
			add("No indicator is known to any feed or provider.")
		default:
			label, conf = FalsePositive, 55
			add("No indicator is known to any feed or provider.")
		}
	}
	switch {
	case len(s.feedHits) > 0:
		more := ""
		if len(s.feedHits) > 1 {
			more = fmt.Sprintf(" (and %d more)", len(s.feedHits)-1)
		}
		add("Local feed hit: " + s.feedHits[0] + more + ".")
	case s.vtHits > 0:
		add(fmt.Sprintf("%d indicator(s) have VirusTotal malicious detections.", s.vtHits))
	case s.abuseHigh > 0:
		add(fmt.Sprintf("%d address(es) have AbuseIPDB confidence of 75 or more.", s.abuseHigh))
	case evidence == 0 && len(c.IOCs) == 0:
		add("The alert holds no indicator to check.")
	case evidence == 0:
		add(fmt.Sprintf("%d indicator(s) checked, none reported as malicious.", len(c.IOCs)))
	}
	for _, ctx := range []struct {
		on   bool
		text string
	}{
		{s.failThenOK, "Failed logins and a successful one appear together: possible brute force that worked."},
		{s.tor, "Traffic involves a Tor exit node."},
		{s.badRule != "", fmt.Sprintf("The rule or signature names an attack technique (%q).", s.badRule)},
		{s.highSeverity != "", "The source rated it severe (" + s.highSeverity + ")."},
		{s.offHours != "" && label != FalsePositive, "It happened off-hours (" + s.offHours + ")."},
		{s.benignRule != "" && label == FalsePositive, fmt.Sprintf("The rule describes policy or housekeeping (%q).", s.benignRule)},
		{s.lowSeverity && label == FalsePositive, "The source rated it low severity."},
	} {
		if ctx.on && len(reasons) < 3 {
			add(ctx.text)
		}
	}
	for len(reasons) < 3 {
		switch len(reasons) {
		case 1:
			add("No contextual signal (severity, rule name, login pattern, time) changes that.")
		default:
			add("Heuristic verdict: a model classification was not available (" + why + ").")
		}
	}
	return &model.Classification{Label: label, Confidence: conf, Reasoning: reasons[:3], Source: SourceHeuristic, Why: why,
		Techniques: suggestTechniques(s.describing)}
}
