package inteltest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// GeminiRequest is one generateContent call the fake received.
type GeminiRequest struct {
	Model  string
	Key    string
	System string
	User   string
	Config map[string]any // generationConfig as sent
}

// GeminiReply is what the fake answers: either an error (Status >= 400) or
// a model answer with its usage.
type GeminiReply struct {
	Status        int
	ErrorBody     string // raw body for errors; empty means a Google RPC status JSON
	ErrStatus     string // e.g. "RESOURCE_EXHAUSTED"
	RetryDelay    string // RetryInfo for 429s
	Reason        string // ErrorInfo reason, e.g. "API_KEY_INVALID"
	Text          string // the candidate's text
	FinishReason  string
	BlockReason   string
	ModelVersion  string
	PromptTokens  int
	OutputTokens  int
	ThoughtTokens int
}

// Gemini is a fake of the Gemini API's generateContent (reference/apis.md
// section 3), for the real genai client pointed at it.
type Gemini struct {
	*httptest.Server
	Key string
	// Reply decides each answer; n counts calls from 1. The default answers
	// a valid TRUE_POSITIVE with usage 400/60/20.
	Reply func(req GeminiRequest, n int) GeminiReply

	mu       sync.Mutex
	requests []GeminiRequest
	usage    [3]int
}

// NewGemini starts the fake. Point gemini.base_url at its URL.
func NewGemini(t testing.TB, key string) *Gemini {
	g := &Gemini{Key: key}
	g.Server = httptest.NewServer(http.HandlerFunc(g.handle))
	t.Cleanup(g.Close)
	return g
}

// Requests returns the calls so far.
func (g *Gemini) Requests() []GeminiRequest {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]GeminiRequest(nil), g.requests...)
}

// Usage returns the summed prompt, output and thinking tokens the fake
// reported in successful answers.
func (g *Gemini) Usage() (prompt, output, thought int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.usage[0], g.usage[1], g.usage[2]
}

// ValidAnswer is a schema-shaped answer text.
func ValidAnswer(label string, confidence int) string {
	b, _ := json.Marshal(map[string]any{
		"classification": label, "confidence": confidence,
		"reasons":          []string{"first reason", "second reason", "third reason"},
		"mitre_techniques": []string{"T1071.001", "not-a-technique"},
		"next_step":        "Isolate the host and pull the process tree.",
	})
	return string(b)
}

func (g *Gemini) handle(w http.ResponseWriter, r *http.Request) {
	model, ok := strings.CutPrefix(r.URL.Path, "/v1beta/models/")
	if !ok || !strings.HasSuffix(model, ":generateContent") || r.Method != http.MethodPost {
		writeJSON(w, 404, map[string]any{"error": map[string]any{"code": 404, "message": "not found: " + r.URL.Path, "status": "NOT_FOUND"}})
		return
	}
	model = strings.TrimSuffix(model, ":generateContent")
	var body struct {
		SystemInstruction struct {
			Parts []struct{ Text string } `json:"parts"`
		} `json:"systemInstruction"`
		Contents []struct {
			Parts []struct{ Text string } `json:"parts"`
		} `json:"contents"`
		GenerationConfig map[string]any `json:"generationConfig"`
	}
	raw, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(raw, &body); err != nil {
		writeJSON(w, 400, map[string]any{"error": map[string]any{"code": 400, "message": "bad body", "status": "INVALID_ARGUMENT"}})
		return
	}
	req := GeminiRequest{Model: model, Key: r.Header.Get("x-goog-api-key"), Config: body.GenerationConfig}
	for _, p := range body.SystemInstruction.Parts {
		req.System += p.Text
	}
	for _, c := range body.Contents {
		for _, p := range c.Parts {
			req.User += p.Text
		}
	}
	g.mu.Lock()
	g.requests = append(g.requests, req)
	n := len(g.requests)
	reply := g.Reply
	g.mu.Unlock()
	if req.Key != g.Key {
		writeJSON(w, 400, map[string]any{"error": map[string]any{"code": 400, "message": "API key not valid. Please pass a valid API key.", "status": "INVALID_ARGUMENT",
			"details": []any{map[string]any{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID", "domain": "googleapis.com"}}}})
		return
	}
	var rep GeminiReply
	if reply != nil {
		rep = reply(req, n)
	}
	if rep.Status == 0 {
		rep.Status = 200
	}
	if rep.Status >= 400 {
		if rep.ErrorBody != "" {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(rep.Status)
			fmt.Fprint(w, rep.ErrorBody)
			return
		}
		details := []any{}
		if rep.RetryDelay != "" {
			details = append(details, map[string]any{"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": []any{map[string]any{"quotaId": "GenerateRequestsPerMinutePerProjectPerModel-FreeTier"}}},
				map[string]any{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": rep.RetryDelay})
		}
		if rep.Reason != "" {
			details = append(details, map[string]any{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": rep.Reason})
		}
		writeJSON(w, rep.Status, map[string]any{"error": map[string]any{"code": rep.Status, "message": "fake error " + rep.ErrStatus, "status": rep.ErrStatus, "details": details}})
		return
	}
	if rep.Text == "" && rep.BlockReason == "" && rep.FinishReason == "" {
		rep.Text = ValidAnswer("TRUE_POSITIVE", 90)
	}
	if rep.PromptTokens == 0 && rep.OutputTokens == 0 {
		rep.PromptTokens, rep.OutputTokens, rep.ThoughtTokens = 400, 60, 20
	}
	if rep.ModelVersion == "" {
		rep.ModelVersion = model
	}
	if rep.FinishReason == "" {
		rep.FinishReason = "STOP"
	}
	g.mu.Lock()
	g.usage[0] += rep.PromptTokens
	g.usage[1] += rep.OutputTokens
	g.usage[2] += rep.ThoughtTokens
	g.mu.Unlock()
	usage := map[string]any{"promptTokenCount": rep.PromptTokens, "candidatesTokenCount": rep.OutputTokens,
		"totalTokenCount": rep.PromptTokens + rep.OutputTokens + rep.ThoughtTokens}
	if rep.ThoughtTokens > 0 {
		usage["thoughtsTokenCount"] = rep.ThoughtTokens
	}
	resp := map[string]any{"usageMetadata": usage, "modelVersion": rep.ModelVersion, "responseId": fmt.Sprintf("resp-%d", n)}
	if rep.BlockReason != "" {
		resp["promptFeedback"] = map[string]any{"blockReason": rep.BlockReason}
	} else {
		resp["candidates"] = []any{map[string]any{
			"content":      map[string]any{"role": "model", "parts": []any{map[string]any{"text": rep.Text}}},
			"finishReason": rep.FinishReason, "index": 0,
		}}
	}
	writeJSON(w, 200, resp)
}
