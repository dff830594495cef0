package classify

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/verdict-dev/verdict/pkg/model"
)

// Classifier labels one alert with a model. The Runner around it does
// everything that is not about one model (grouping, cache, rate, retries,
// budget, guard, the heuristic fallback), so a Classifier only renders its
// prompt, makes one call, prices it and validates the answer.
type Classifier interface {
	// Name is a stable id ("gemini"): the cache's provider and the
	// classification's source.
	Name() string
	// Model is the model asked for, as configured.
	Model() string
	// CacheParams names everything besides the alert that changes an
	// answer (model, prompt version, thinking, redaction); classifications
	// are cached under it, never under anything secret.
	CacheParams() string
	// Classify asks the model once. The returned classification carries the
	// tokens and cost that call billed, also when err is not nil (an
	// answer that does not validate was still paid for). Errors are
	// ErrKeyRejected, *RateLimitError, *TransientError or *AnswerError when
	// the Runner can act on them.
	Classify(ctx context.Context, c Case) (model.Classification, error)
}

// Checker is a Classifier that can tell, before anything is spent, whether
// it can work at all (for Gemini: whether the model exists). The Runner
// calls Check once, before its first request. An error wrapping
// ErrModelNotFound stops the run; ErrKeyRejected stops the model for the
// run; anything else is only a warning.
type Checker interface {
	Check(ctx context.Context) error
}

// Estimator is a Classifier that can price a case without asking, for
// --dry-run: the classification holds only estimated tokens and cost.
type Estimator interface {
	Estimate(c Case, batch bool) model.Classification
}

// Noter is a Classifier with run-level facts for the report (the model that
// answered was not the one asked for, a retired model, ...).
type Noter interface {
	Notes() []string
}

// BatchClassifier is a Classifier that can classify many cases as one job
// (Gemini's Batch API: half price, answers within hours). Outcomes are in
// the order of the cases. The error is for the job as a whole (it could not
// be created, it failed or expired); then outcomes are nil.
type BatchClassifier interface {
	ClassifyBatch(ctx context.Context, cs []Case) ([]Outcome, error)
}

// Outcome is one case's result in a batch: what Classify would have
// returned for it.
type Outcome struct {
	Classification model.Classification
	Err            error
}

// Errors a Classifier returns.
var (
	// ErrKeyRejected: the API key is invalid; no request can succeed.
	ErrKeyRejected = errors.New("API key rejected")
	// ErrModelNotFound: the configured model does not exist (any more);
	// nothing is sent and the run stops.
	ErrModelNotFound = errors.New("model not found")
)

// RateLimitError is a 429; RetryAfter comes from RetryInfo (0 if absent).
type RateLimitError struct {
	RetryAfter time.Duration
	Detail     string
}

func (e *RateLimitError) Error() string {
	return fmt.Sprintf("gemini: rate limited (429), retry after %s: %s", e.RetryAfter, e.Detail)
}

// TransientError is a 5xx (500 internal, 503 overloaded, 504 deadline).
type TransientError struct {
	Code   int
	Detail string
}

func (e *TransientError) Error() string { return fmt.Sprintf("gemini: HTTP %d %s", e.Code, e.Detail) }

// AnswerError is a model answer that cannot be used: it did not validate
// (the Runner asks once more), or the prompt was refused (Final: asking
// again would only be refused again). Problem says what was wrong, in
// words that go into the heuristic's why.
type AnswerError struct {
	Problem string
	Final   bool
}

func (e *AnswerError) Error() string { return e.Problem }
