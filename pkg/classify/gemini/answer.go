package gemini

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/verdict-dev/verdict/pkg/classify"
	"github.com/verdict-dev/verdict/pkg/model"
)

// modelAnswer is the structured output ResponseSchema asks for, decoded
// loosely so validation can say exactly what is wrong.
type modelAnswer struct {
	Classification string      `json:"classification"`
	Confidence     json.Number `json:"confidence"`
	Reasons        []string    `json:"reasons"`
	Techniques     []string    `json:"mitre_techniques"`
	NextStep       string      `json:"next_step"`
}

// parseAnswer validates the model's JSON: model output is untrusted input.
// Technique ids come back as given; the classifier checks them against the
// ATT&CK matrix.
func parseAnswer(text string) (*model.Classification, error) {
	text = strings.TrimSpace(text)
	text = strings.TrimPrefix(strings.TrimSuffix(strings.TrimPrefix(text, "```json"), "```"), "```")
	if text == "" {
		return nil, errors.New("empty answer")
	}
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	var m modelAnswer
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("answer is not JSON: %v", err)
	}
	if !classify.ValidLabel(m.Classification) {
		return nil, fmt.Errorf("classification %q is not one of %s", classify.Clip(m.Classification, 40), strings.Join(classify.Labels, ", "))
	}
	conf, err := m.Confidence.Int64()
	if err != nil || conf < 0 || conf > 100 {
		return nil, fmt.Errorf("confidence %q is not an integer from 0 to 100", classify.Clip(m.Confidence.String(), 20))
	}
	if len(m.Reasons) != 3 {
		return nil, fmt.Errorf("%d reasons, not exactly three", len(m.Reasons))
	}
	c := &model.Classification{Label: m.Classification, Confidence: int(conf)}
	for _, r := range m.Reasons {
		r = classify.Clip(strings.Join(strings.Fields(r), " "), 500)
		if r == "" {
			return nil, errors.New("an empty reason")
		}
		c.Reasoning = append(c.Reasoning, r)
	}
	c.Techniques = m.Techniques
	c.NextStep = classify.Clip(strings.Join(strings.Fields(m.NextStep), " "), 500)
	return c, nil
}
