package classify

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
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
	encoded      string   // an encoded or obfuscated command line ("powershell -enc")
	offHours     string   // "03:12 UTC" or "Saturday"
	knownService string   // a source's word that an address is a known benign service or scanner (GreyNoise)
	labelledBad  string   // a source's malicious label that scores no points (GreyNoise)
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
				hit := fmt.Sprintf("%s %s is listed in %s", i.Type, i.Value, m.Feed)
				if m.Category != "" {
					hit += " (" + m.Category + ")"
				}
				s.feedHits = append(s.feedHits, hit)
				// Feeds from before categories existed are told by name.
				if m.Category == model.CategoryAnonymizer || (m.Category == "" && strings.Contains(strings.ToLower(m.Feed), "tor")) {
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
			if s.knownService == "" {
				s.knownService = knownService(name, i.Value, r)
			}
			if s.labelledBad == "" && name == "greynoise" && strings.EqualFold(r.Classification, "malicious") {
				s.labelledBad = "GreyNoise classifies " + i.Value + " as malicious"
				if noise, _ := r.Attrs["noise"].(bool); noise {
					s.labelledBad += " (seen scanning the internet)"
				}
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
		if kind == alert.KindString && s.encoded == "" {
			s.encoded = encodedCommand(v)
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

// knownService words a source's statement that an address is harmless:
// GreyNoise's RIOT (a common business service such as 8.8.8.8) or its
// benign label (a known research scanner). "" when the answer says neither.
func knownService(source, value string, r *model.Result) string {
	title := source
	if source == "greynoise" {
		title = "GreyNoise"
	}
	name, _ := r.Attrs["name"].(string)
	name = strings.Join(strings.Fields(name), " ")
	if len(name) > 80 {
		name = strings.ToValidUTF8(name[:80], "")
	}
	switch {
	case r.RIOT != nil && *r.RIOT && name != "":
		return fmt.Sprintf("%s: %s is %s, a known benign service (RIOT)", title, value, name)
	case r.RIOT != nil && *r.RIOT:
		return fmt.Sprintf("%s: %s is a known benign service (RIOT)", title, value)
	case strings.EqualFold(r.Classification, "benign") && name != "":
		return fmt.Sprintf("%s: %s is classified benign (%s)", title, value, name)
	case strings.EqualFold(r.Classification, "benign"):
		return fmt.Sprintf("%s: %s is classified benign", title, value)
	}
	return ""
}

// encodedPatterns spot command lines that hide what they run: PowerShell's
// -EncodedCommand (any unambiguous abbreviation, followed by base64),
// in-line base64 decoding, and certutil used as a decoder.
var encodedPatterns = []struct {
	re   *regexp.Regexp
	name string
}{
	{regexp.MustCompile(`(?i)(?:^|[\s"'])[-/]e(?:c|n|nc|nco|ncod|ncode|ncoded|ncodedc\w*)?\s+[A-Za-z0-9+/]{24,}={0,2}`), "PowerShell -EncodedCommand"},
	{regexp.MustCompile(`(?i)frombase64string\s*\(`), "FromBase64String"},
	{regexp.MustCompile(`(?i)\bbase64\s+(?:-d|--decode)\b`), "base64 --decode"},
	{regexp.MustCompile(`(?i)\bcertutil(?:\.exe)?\b.*\s[-/]decode\b`), "certutil -decode"},
}

// encodedCommand names the obfuscation in v, or "".
func encodedCommand(v string) string {
	if len(v) < 12 || len(v) > 1<<16 {
		return ""
	}
	for _, p := range encodedPatterns {
		if p.re.MatchString(v) {
			return p.name
		}
	}
	return ""
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

// coverage is what threat intel checked of an alert: which of its
// indicators some source answered for, which sources, and why the others
// were not asked.
type coverage struct {
	toCheck   int            // indicators not skipped
	checked   int            // of those, answered by at least one source
	bySource  map[string]int // source -> indicators it answered (found or not found)
	notAsked  map[string]map[string]bool
	noSource  map[string]bool // indicator types no source takes
	skipped   map[string]int  // skip reason -> indicators
	reputable bool            // a source other than the local feeds answered
}

func (c Case) coverage() coverage {
	cv := coverage{bySource: map[string]int{}, notAsked: map[string]map[string]bool{}, noSource: map[string]bool{}, skipped: map[string]int{}}
	for _, i := range c.IOCs {
		if i.Skipped != "" {
			cv.skipped[i.Skipped]++
			continue
		}
		cv.toCheck++
		answered := false
		res := c.Enrichment[i.Value]
		for name, r := range res {
			if r == nil {
				continue
			}
			switch r.Status {
			case model.StatusFound, model.StatusNotFound:
				answered = true
				cv.bySource[name]++
				if name != "feeds" {
					cv.reputable = true
				}
				continue
			case model.StatusSkipped:
				cv.addNotAsked(name, r.Reason)
			default:
				cv.addNotAsked(name, "lookup failed")
			}
		}
		if len(res) == 0 {
			cv.noSource[i.Type] = true
		}
		if answered {
			cv.checked++
		}
	}
	return cv
}

func (cv *coverage) addNotAsked(source, why string) {
	if why == "" {
		why = "skipped"
	}
	if cv.notAsked[source] == nil {
		cv.notAsked[source] = map[string]bool{}
	}
	cv.notAsked[source][strings.ReplaceAll(why, "_", " ")] = true
}

// sources lists "feeds: 4, virustotal: 2", sorted by name.
func (cv coverage) sources() string {
	names := slices.Sorted(maps.Keys(cv.bySource))
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = fmt.Sprintf("%s: %d", n, cv.bySource[n])
	}
	return strings.Join(parts, ", ")
}

// gaps lists what was not checked and why: "virustotal (offline),
// abuseipdb (no api key), no source takes domain".
func (cv coverage) gaps() string {
	var parts []string
	for _, n := range slices.Sorted(maps.Keys(cv.notAsked)) {
		parts = append(parts, n+" ("+strings.Join(slices.Sorted(maps.Keys(cv.notAsked[n])), ", ")+")")
	}
	for _, t := range slices.Sorted(maps.Keys(cv.noSource)) {
		parts = append(parts, "no source takes "+t)
	}
	return strings.Join(parts, ", ")
}

func (cv coverage) skippedText() string {
	n := 0
	var parts []string
	for _, r := range slices.Sorted(maps.Keys(cv.skipped)) {
		n += cv.skipped[r]
		parts = append(parts, fmt.Sprintf("%d %s", cv.skipped[r], r))
	}
	if n == 0 {
		return ""
	}
	return " (" + strings.Join(parts, ", ") + " skipped)"
}

// line says, in one sentence, which sources checked what and what was not
// checked. The heuristic must never claim a check that did not happen.
func (cv coverage) line() string {
	gaps := cv.gaps()
	switch {
	case cv.toCheck == 0:
		return "The alert holds no indicator threat intel could check" + cv.skippedText() + "; the label rests on its own context."
	case cv.checked == 0:
		return fmt.Sprintf("None of its %d indicator(s) was checked by any source (%s); nothing is known about them.", cv.toCheck, gaps)
	case cv.checked < cv.toCheck:
		return fmt.Sprintf("Only %d of %d indicator(s) were checked (%s), none reported malicious; not checked: %s.", cv.checked, cv.toCheck, cv.sources(), gaps)
	case gaps != "":
		return fmt.Sprintf("All %d indicator(s) were checked (%s), none reported malicious; not asked: %s.", cv.toCheck, cv.sources(), gaps)
	}
	return fmt.Sprintf("All %d indicator(s) were checked (%s), none reported malicious.", cv.toCheck, cv.sources())
}

// Heuristic classifies an alert with deterministic rules over its risk
// verdict, feed and provider hits, what threat intel could check, and
// context (failed logins then a success, encoded commands, off-hours, Tor,
// severity, rule names). why says why the model was not used.
//
// It is honest about coverage: its reasons say which sources checked which
// indicators and what was not checked, and it never says FALSE_POSITIVE
// about an alert nobody could check (UNCHECKED), nor about a CLEAN one whose
// own context is suspicious; those get NEEDS_REVIEW with the reason. On
// partial evidence (some indicators unchecked, or only local feeds asked,
// which list known-bad values and clear nothing) it says FALSE_POSITIVE only
// when the alert's context looks routine (a policy or informational rule,
// low severity), and then with a lower confidence.
//
// Its techniques are attack.Suggestions' for the alert's rule names,
// signatures, categories and technique fields: a suggestion, not a finding.
func Heuristic(c Case, why string) *model.Classification {
	s := c.signals()
	cv := c.coverage()
	var label string
	var conf int
	var reasons []string
	add := func(r string) { reasons = append(reasons, r) }
	// An alert whose own description names an attack technique with some
	// confidence (attack.Suggestions) is concerning context too: "Add
	// delegated permission grant" is how an OAuth token theft looks.
	technique := describedTechnique(s.describing)
	// A malicious label that scores nothing by default is still no ground
	// for a false positive: the heuristic never says nothing was reported.
	concerning := s.failThenOK || s.highSeverity != "" || s.badRule != "" || s.encoded != "" || technique != "" || s.labelledBad != ""
	hit := len(s.feedHits) > 0 || s.vtHits > 0 || s.abuseHigh > 0
	unchecked := c.Risk.Verdict == model.Unchecked || (cv.toCheck > 0 && cv.checked == 0 && !hit)
	switch {
	case c.Risk.Verdict == model.Malicious:
		label, conf = TruePositive, 85
		add(fmt.Sprintf("Risk verdict MALICIOUS (score %d) from threat-intel evidence.", c.Risk.Score))
	case c.Risk.Verdict == model.Suspicious:
		label, conf = NeedsReview, 60
		if s.tor || concerning {
			label, conf = TruePositive, 70
		}
		add(fmt.Sprintf("Risk verdict SUSPICIOUS (score %d).", c.Risk.Score))
	case c.Risk.Verdict == model.PotentiallySuspicious:
		label, conf = NeedsReview, 50
		add(fmt.Sprintf("Risk verdict POTENTIALLY_SUSPICIOUS (score %d): weak threat-intel signal.", c.Risk.Score))
	case unchecked:
		// Nothing was checked: a FALSE_POSITIVE here would close an alert
		// on no evidence at all.
		label, conf = NeedsReview, 50
		add("Risk verdict UNCHECKED: no threat-intel source could check its indicators, so it cannot be called a false positive.")
	case concerning:
		label, conf = NeedsReview, 45
		add("No threat-intel hit, but the alert's own context is concerning.")
	default:
		// A known benign service or scanner is what a false positive on an
		// address looks like (GreyNoise RIOT exists for exactly this).
		benign := s.benignRule != "" || s.lowSeverity || s.knownService != ""
		full := cv.toCheck == 0 || (cv.checked == cv.toCheck && cv.reputable)
		switch {
		case full || benign:
			label, conf = FalsePositive, 55
			if benign {
				conf = 70
			}
			if cv.checked < cv.toCheck {
				conf -= 15 // some indicators were never checked
			}
			if cv.toCheck > 0 && !cv.reputable {
				conf -= 10 // only local feeds were asked: absence from a feed is weak evidence
			}
			if cv.toCheck == 0 {
				conf -= 5 // nothing to check: context alone
			}
			add("No checked indicator is reported malicious, and nothing in the alert's context is concerning.")
		case cv.checked < cv.toCheck:
			label, conf = NeedsReview, 40
			add("Too little evidence for a false positive: some of its indicators were never checked, and its context does not look routine.")
		default:
			// Only local feeds answered: they list known-bad values, so not
			// being listed does not clear an indicator.
			label, conf = NeedsReview, 40
			add("Too little evidence for a false positive: only local feeds checked its indicators, and not being on a blocklist does not make them benign.")
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
	case len(c.IOCs) == 0:
		add("The alert holds no indicator to check; the label rests on its own context.")
	default:
		add(cv.line())
	}
	for _, ctx := range []struct {
		on   bool
		text string
	}{
		{s.labelledBad != "", s.labelledBad + "."},
		{s.knownService != "" && label != TruePositive, s.knownService + "."},
		{s.failThenOK, "Failed logins and a successful one appear together: possible brute force that worked."},
		{s.encoded != "", "It carries an encoded or obfuscated command (" + s.encoded + ")."},
		{s.tor, "Traffic involves a Tor exit node."},
		{s.badRule != "", fmt.Sprintf("The rule or signature names an attack technique (%q).", s.badRule)},
		{s.highSeverity != "", "The source rated it severe (" + s.highSeverity + ")."},
		{s.badRule == "" && technique != "", "What the alert describes matches ATT&CK " + technique + "."},
		{hit && cv.checked < cv.toCheck, fmt.Sprintf("Only %d of %d indicator(s) were checked; not checked: %s.", cv.checked, cv.toCheck, cv.gaps())},
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
			add(cv.line())
		default:
			add("Heuristic verdict: a model classification was not available (" + why + ").")
		}
	}
	conf = min(max(conf, 0), 100)
	return &model.Classification{Label: label, Confidence: conf, Reasoning: reasons[:3], Source: SourceHeuristic, Why: why,
		Techniques: suggestTechniques(s.describing)}
}
