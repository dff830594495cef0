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
	"time"
)

// GeminiRequest is one generateContent call the fake received, directly or
// as one inline request of a batch job.
type GeminiRequest struct {
	Model       string
	Key         string
	System      string
	User        string
	Config      map[string]any // generationConfig as sent
	ServiceTier string         // the request's top-level serviceTier ("" when not sent)
	Batch       string         // the batch job it came in ("" for a direct call)
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

// Gemini is a fake of the Gemini API (reference/apis.md section 3) for the
// real genai client pointed at it: generateContent, models.get, and the
// Batch API (batchGenerateContent with inline requests, batches.get,
// batches.cancel). It enforces the thinking rules of the models it knows,
// as the real API does with a 400: a level and a budget together, a level
// to a budget model, and gemini-3.8-flash's missing "minimal".
type Gemini struct {
	*httptest.Server
	Key string
	// Reply decides each answer; n counts generateContent calls from 1
	// (inline batch requests included). The default answers a valid
	// TRUE_POSITIVE with usage 400/60/20.
	Reply func(req GeminiRequest, n int) GeminiReply
	// ModelStatus answers models.get: 200 (the default) or an error status
	// such as 404 for a model that does not exist.
	ModelStatus func(model string) int
	// BatchPolls is how many batches.get calls a job stays running for
	// before it ends (default 1); BatchEnd is the state it ends in
	// (default "BATCH_STATE_SUCCEEDED").
	BatchPolls int
	BatchEnd   string
	// BatchDoneAtCreate ends every job as soon as it is created, so a test
	// need not wait for the client's first poll.
	BatchDoneAtCreate bool

	mu        sync.Mutex
	requests  []GeminiRequest
	usage     [3]int
	modelGets []string
	jobs      map[string]*fakeBatch
	batchLog  []string
}

type fakeBatch struct {
	name, model, display string
	state                string
	polls                int
	output               []any // inline responses
	created              time.Time
}

// NewGemini starts the fake. Point gemini.base_url at its URL.
func NewGemini(t testing.TB, key string) *Gemini {
	g := &Gemini{Key: key, jobs: map[string]*fakeBatch{}}
	g.Server = httptest.NewServer(http.HandlerFunc(g.handle))
	t.Cleanup(g.Close)
	return g
}

// Requests returns the generateContent calls so far (inline batch requests
// included).
func (g *Gemini) Requests() []GeminiRequest {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]GeminiRequest(nil), g.requests...)
}

// ModelGets returns the models asked for with models.get, in order.
func (g *Gemini) ModelGets() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.modelGets...)
}

// BatchCalls returns the Batch API calls so far: "create batches/1 (3
// requests)", "get batches/1", "cancel batches/1".
func (g *Gemini) BatchCalls() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.batchLog...)
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

// rpcError is a Google RPC status body.
func rpcError(code int, status, message string, details ...any) map[string]any {
	if details == nil {
		details = []any{}
	}
	return map[string]any{"error": map[string]any{"code": code, "message": message, "status": status, "details": details}}
}

func (g *Gemini) handle(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	if r.Header.Get("x-goog-api-key") != g.Key {
		writeJSON(w, 400, rpcError(400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.",
			map[string]any{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID", "domain": "googleapis.com"}))
		g.countRejected(r)
		return
	}
	switch {
	case r.Method == http.MethodPost && strings.HasPrefix(path, "/v1beta/models/") && strings.HasSuffix(path, ":generateContent"):
		g.generate(w, r, strings.TrimSuffix(strings.TrimPrefix(path, "/v1beta/models/"), ":generateContent"))
	case r.Method == http.MethodPost && strings.HasPrefix(path, "/v1beta/models/") && strings.HasSuffix(path, ":batchGenerateContent"):
		g.batchCreate(w, r, strings.TrimSuffix(strings.TrimPrefix(path, "/v1beta/models/"), ":batchGenerateContent"))
	case r.Method == http.MethodGet && strings.HasPrefix(path, "/v1beta/models/"):
		g.modelGet(w, strings.TrimPrefix(path, "/v1beta/models/"))
	case r.Method == http.MethodPost && strings.HasPrefix(path, "/v1beta/batches/") && strings.HasSuffix(path, ":cancel"):
		g.batchCancel(w, strings.TrimSuffix(strings.TrimPrefix(path, "/v1beta/"), ":cancel"))
	case r.Method == http.MethodGet && strings.HasPrefix(path, "/v1beta/batches/"):
		g.batchGet(w, strings.TrimPrefix(path, "/v1beta/"))
	default:
		writeJSON(w, 404, rpcError(404, "NOT_FOUND", "not found: "+path))
	}
}

// countRejected records a generateContent or models.get call made with a
// wrong key, so a test can count what was sent.
func (g *Gemini) countRejected(r *http.Request) {
	model, ok := strings.CutPrefix(r.URL.Path, "/v1beta/models/")
	if !ok {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	switch {
	case r.Method == http.MethodGet:
		g.modelGets = append(g.modelGets, model)
	case strings.HasSuffix(model, ":generateContent"):
		g.requests = append(g.requests, GeminiRequest{Model: strings.TrimSuffix(model, ":generateContent"), Key: r.Header.Get("x-goog-api-key")})
	}
}

// wireRequest is a generateContent body, direct or inline in a batch.
type wireRequest struct {
	SystemInstruction struct {
		Parts []struct{ Text string } `json:"parts"`
	} `json:"systemInstruction"`
	Contents []struct {
		Parts []struct{ Text string } `json:"parts"`
	} `json:"contents"`
	GenerationConfig map[string]any `json:"generationConfig"`
	ServiceTier      string         `json:"serviceTier"`
}

func (wr wireRequest) request(model, key, batch string) GeminiRequest {
	req := GeminiRequest{Model: model, Key: key, Config: wr.GenerationConfig, ServiceTier: wr.ServiceTier, Batch: batch}
	for _, p := range wr.SystemInstruction.Parts {
		req.System += p.Text
	}
	for _, c := range wr.Contents {
		for _, p := range c.Parts {
			req.User += p.Text
		}
	}
	return req
}

// fakeThinking is how the fake's known models take thinking.
var fakeThinking = map[string]struct {
	level   bool
	minimal bool
}{
	"gemini-3.5-flash-lite": {level: true, minimal: true},
	"gemini-2.5-flash":      {level: true, minimal: true}, // re-routed to 3.5 Flash-Lite, under its rules
	"gemini-3.8-flash":      {level: true},
	"gemini-3.6-flash":      {level: true, minimal: true},
	"gemini-3.1-flash-lite": {level: true, minimal: true},
	"gemini-2.5-flash-lite": {},
}

// thinkingProblem is the 400 message the real API gives for a thinking
// configuration the model does not take, or "".
func thinkingProblem(model string, cfg map[string]any) string {
	tc, _ := cfg["thinkingConfig"].(map[string]any)
	if tc == nil {
		return ""
	}
	_, hasBudget := tc["thinkingBudget"]
	level, hasLevel := tc["thinkingLevel"].(string)
	if hasBudget && hasLevel {
		return "thinking_budget and thinking_level are not supported together"
	}
	m, known := fakeThinking[model]
	switch {
	case !known:
	case hasLevel && !m.level:
		return "Thinking level is not supported for this model."
	case hasLevel && strings.EqualFold(level, "MINIMAL") && !m.minimal:
		return "Thinking level MINIMAL is not supported for this model."
	}
	return ""
}

func (g *Gemini) generate(w http.ResponseWriter, r *http.Request, model string) {
	var body wireRequest
	raw, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(raw, &body); err != nil {
		writeJSON(w, 400, rpcError(400, "INVALID_ARGUMENT", "bad body"))
		return
	}
	req := body.request(model, r.Header.Get("x-goog-api-key"), "")
	status, resp := g.answer(req)
	if status == 0 {
		writeJSON(w, 200, resp)
		return
	}
	if html, ok := resp["html"].(string); ok {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(status)
		fmt.Fprint(w, html)
		return
	}
	writeJSON(w, status, resp)
}

// answer records one request and builds its answer: status 0 and a
// GenerateContentResponse, or an error status and an RPC status body (or
// {"html": page} for a raw error page).
func (g *Gemini) answer(req GeminiRequest) (int, map[string]any) {
	g.mu.Lock()
	g.requests = append(g.requests, req)
	n := len(g.requests)
	reply := g.Reply
	g.mu.Unlock()
	if p := thinkingProblem(req.Model, req.Config); p != "" {
		return 400, rpcError(400, "INVALID_ARGUMENT", p)
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
			return rep.Status, map[string]any{"html": rep.ErrorBody}
		}
		var details []any
		if rep.RetryDelay != "" {
			details = append(details, map[string]any{"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": []any{map[string]any{"quotaId": "GenerateRequestsPerMinutePerProjectPerModel-FreeTier"}}},
				map[string]any{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": rep.RetryDelay})
		}
		if rep.Reason != "" {
			details = append(details, map[string]any{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": rep.Reason})
		}
		return rep.Status, rpcError(rep.Status, rep.ErrStatus, "fake error "+rep.ErrStatus, details...)
	}
	if rep.Text == "" && rep.BlockReason == "" && rep.FinishReason == "" {
		rep.Text = ValidAnswer("TRUE_POSITIVE", 90)
	}
	if rep.PromptTokens == 0 && rep.OutputTokens == 0 {
		rep.PromptTokens, rep.OutputTokens, rep.ThoughtTokens = 400, 60, 20
	}
	if rep.ModelVersion == "" {
		rep.ModelVersion = req.Model
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
	return 0, resp
}

// modelGet answers models.get: a trimmed Model resource, or an error.
func (g *Gemini) modelGet(w http.ResponseWriter, model string) {
	g.mu.Lock()
	g.modelGets = append(g.modelGets, model)
	status := g.ModelStatus
	g.mu.Unlock()
	code := 200
	if status != nil {
		code = status(model)
	}
	if code == 404 {
		writeJSON(w, 404, rpcError(404, "NOT_FOUND", "models/"+model+" is not found for API version v1beta, or is not supported for generateContent. Call ListModels to see the list of available models and their supported methods."))
		return
	}
	if code >= 400 {
		writeJSON(w, code, rpcError(code, http.StatusText(code), "fake error"))
		return
	}
	writeJSON(w, 200, map[string]any{
		"name": "models/" + model, "version": "001", "displayName": model, "description": "fake " + model,
		"inputTokenLimit": 1048576, "outputTokenLimit": 65536,
		"temperature": 1, "maxTemperature": 2, "topP": 0.95, "topK": 64, "thinking": true,
		"supportedGenerationMethods": []string{"generateContent", "countTokens", "createCachedContent", "batchGenerateContent"},
	})
}

// batchCreate answers batchGenerateContent: each inline request is answered
// at once (as Reply says) and kept until the job ends.
func (g *Gemini) batchCreate(w http.ResponseWriter, r *http.Request, model string) {
	var body struct {
		Batch struct {
			DisplayName string `json:"displayName"`
			InputConfig struct {
				Requests struct {
					Requests []struct {
						Request  wireRequest       `json:"request"`
						Metadata map[string]string `json:"metadata"`
					} `json:"requests"`
				} `json:"requests"`
			} `json:"inputConfig"`
		} `json:"batch"`
	}
	raw, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(raw, &body); err != nil || len(body.Batch.InputConfig.Requests.Requests) == 0 {
		writeJSON(w, 400, rpcError(400, "INVALID_ARGUMENT", "batch has no inline requests"))
		return
	}
	g.mu.Lock()
	name := fmt.Sprintf("batches/fake%d", len(g.jobs)+1)
	job := &fakeBatch{name: name, model: "models/" + model, display: body.Batch.DisplayName, state: "BATCH_STATE_PENDING", created: time.Now().UTC()}
	g.jobs[name] = job
	g.batchLog = append(g.batchLog, fmt.Sprintf("create %s (%d requests)", name, len(body.Batch.InputConfig.Requests.Requests)))
	g.mu.Unlock()
	for _, ir := range body.Batch.InputConfig.Requests.Requests {
		status, resp := g.answer(ir.Request.request(model, r.Header.Get("x-goog-api-key"), name))
		out := map[string]any{"metadata": ir.Metadata}
		if status == 0 {
			out["response"] = resp
		} else {
			msg := "fake error"
			if e, ok := resp["error"].(map[string]any); ok {
				msg, _ = e["message"].(string)
			}
			out["error"] = map[string]any{"code": status, "message": msg}
		}
		job.output = append(job.output, out)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.BatchDoneAtCreate {
		job.state = "BATCH_STATE_SUCCEEDED"
	}
	writeJSON(w, 200, job.wire(job.state == "BATCH_STATE_SUCCEEDED"))
}

// wire is the long-running operation the API returns for a batch: the
// job's state and, once it has succeeded, its inline responses under
// metadata.output.
func (b *fakeBatch) wire(withOutput bool) map[string]any {
	meta := map[string]any{
		"@type": "type.googleapis.com/google.ai.generativelanguage.v1main.GenerateContentBatch",
		"name":  b.name, "model": b.model, "displayName": b.display, "state": b.state,
		"createTime": b.created.Format(time.RFC3339Nano), "updateTime": time.Now().UTC().Format(time.RFC3339Nano),
		"batchStats": map[string]any{"requestCount": fmt.Sprint(len(b.output))},
	}
	op := map[string]any{"name": b.name, "metadata": meta}
	if withOutput {
		meta["output"] = map[string]any{"inlinedResponses": map[string]any{"inlinedResponses": b.output}}
		op["done"] = true
	}
	return op
}

func (g *Gemini) batchGet(w http.ResponseWriter, name string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	job, ok := g.jobs[name]
	g.batchLog = append(g.batchLog, "get "+name)
	if !ok {
		writeJSON(w, 404, rpcError(404, "NOT_FOUND", "batch not found"))
		return
	}
	polls := g.BatchPolls
	if polls <= 0 {
		polls = 1
	}
	end := g.BatchEnd
	if end == "" {
		end = "BATCH_STATE_SUCCEEDED"
	}
	if job.state == "BATCH_STATE_PENDING" || job.state == "BATCH_STATE_RUNNING" {
		job.polls++
		job.state = "BATCH_STATE_RUNNING"
		if job.polls > polls {
			job.state = end
		}
	}
	writeJSON(w, 200, job.wire(job.state == "BATCH_STATE_SUCCEEDED"))
}

func (g *Gemini) batchCancel(w http.ResponseWriter, name string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.batchLog = append(g.batchLog, "cancel "+name)
	if job, ok := g.jobs[name]; ok {
		job.state = "BATCH_STATE_CANCELLED"
	}
	writeJSON(w, 200, map[string]any{})
}
