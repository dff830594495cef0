package gemini

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"google.golang.org/genai"

	"github.com/verdict-dev/verdict/pkg/classify"
)

// maxBatchBytes caps the inline requests of one batch job. The Batch API
// takes at most 20 MB of inline requests per job; a run that needs more
// is split into several jobs, polled together.
const maxBatchBytes = 16 << 20

// maxPollFailures is how many polls in a row may fail (network, 5xx, 429)
// before the jobs are given up.
const maxPollFailures = 5

// batchJob is one submitted job and the cases it carries.
type batchJob struct {
	name    string
	indexes []int // the cases of its requests, in order
	state   genai.JobState
	job     *genai.BatchJob
}

func (j *batchJob) done() bool {
	switch j.state {
	case genai.JobStateSucceeded, genai.JobStatePartiallySucceeded, genai.JobStateFailed,
		genai.JobStateCancelled, genai.JobStateExpired:
		return true
	}
	return false
}

// ClassifyBatch implements classify.BatchClassifier with the Gemini Batch
// API: every case becomes one inline request of a job (batchGenerateContent),
// the jobs are polled (batches.get) every BatchPoll until they end, and each
// answer is priced at the batch rate (half the list price, by the date the
// job was created) and validated as Classify would. Ctrl-C cancels the
// jobs. The outcomes are in the order of the cases.
func (c *Classifier) ClassifyBatch(ctx context.Context, cs []classify.Case) ([]classify.Outcome, error) {
	outs := make([]classify.Outcome, len(cs))
	reds := make([]*classify.Redactor, len(cs))
	var chunks [][]*genai.InlinedRequest
	var chunkIdx [][]int
	var reqs []*genai.InlinedRequest
	var idx []int
	size := 0
	for i, x := range cs {
		p, red, err := c.prompt(x)
		if err != nil {
			outs[i].Err = &classify.AnswerError{Problem: err.Error(), Final: true}
			continue
		}
		reds[i] = red
		n := len(p.System) + len(p.User) + 2048 // schema and envelope
		if len(reqs) > 0 && size+n > maxBatchBytes {
			chunks, chunkIdx = append(chunks, reqs), append(chunkIdx, idx)
			reqs, idx, size = nil, nil, 0
		}
		gc := c.config(p.System)
		gc.ServiceTier = "" // the batch is its own tier
		reqs = append(reqs, &genai.InlinedRequest{Contents: genai.Text(p.User), Config: gc, Metadata: map[string]string{"key": strconv.Itoa(i)}})
		idx = append(idx, i)
		size += n
	}
	if len(reqs) > 0 {
		chunks, chunkIdx = append(chunks, reqs), append(chunkIdx, idx)
	}
	at := c.opts.Now()
	var jobs []*batchJob
	for k, chunk := range chunks {
		name := fmt.Sprintf("verdict classify %s (%d/%d)", at.UTC().Format(time.RFC3339), k+1, len(chunks))
		job, err := c.c.Batches.Create(ctx, c.opts.Model, &genai.BatchJobSource{InlinedRequests: chunk}, &genai.CreateBatchJobConfig{DisplayName: name})
		if err != nil {
			c.cancel(jobs)
			return nil, fmt.Errorf("create batch job: %w", mapError(err))
		}
		c.log.Info("gemini batch job created", "job", job.Name, "requests", len(chunk), "state", string(job.State))
		jobs = append(jobs, &batchJob{name: job.Name, indexes: chunkIdx[k], state: job.State, job: job})
	}
	if err := c.wait(ctx, jobs); err != nil {
		return nil, err
	}
	for _, j := range jobs {
		if j.state != genai.JobStateSucceeded && j.state != genai.JobStatePartiallySucceeded {
			msg := string(j.state)
			if j.job.Error != nil && j.job.Error.Message != "" {
				msg += ": " + j.job.Error.Message
			}
			return nil, fmt.Errorf("batch job %s ended %s", j.name, msg)
		}
		var resps []*genai.InlinedResponse
		if j.job.Dest != nil {
			resps = j.job.Dest.InlinedResponses
		}
		for pos, ir := range resps {
			i, ok := caseIndex(ir, j.indexes, pos, len(cs))
			if !ok || ir == nil {
				continue
			}
			switch {
			case ir.Error != nil:
				code := ""
				if ir.Error.Code != nil {
					code = fmt.Sprintf(" (code %d)", *ir.Error.Code)
				}
				outs[i].Err = fmt.Errorf("batch request failed%s: %s", code, classify.Clip(ir.Error.Message, 200))
			case ir.Response == nil:
				outs[i].Err = errors.New("batch answer is empty")
			default:
				outs[i].Classification, outs[i].Err = c.answer(cs[i], ir.Response, reds[i], at, TierBatch)
			}
		}
	}
	for i := range outs {
		if outs[i].Err == nil && outs[i].Classification.Label == "" {
			outs[i].Err = errors.New("no answer for it in the batch output")
		}
	}
	return outs, nil
}

// caseIndex maps an inline response to its case: by the metadata key it
// was sent with, otherwise by position (responses come in request order).
func caseIndex(ir *genai.InlinedResponse, indexes []int, pos, n int) (int, bool) {
	if ir != nil {
		if k, ok := ir.Metadata["key"]; ok {
			i, err := strconv.Atoi(k)
			return i, err == nil && i >= 0 && i < n
		}
	}
	if pos < len(indexes) {
		return indexes[pos], true
	}
	return 0, false
}

// wait polls the jobs until every one has ended. Ctrl-C (or the run's
// deadline) cancels them: their answers would be lost anyway.
func (c *Classifier) wait(ctx context.Context, jobs []*batchJob) error {
	failures := 0
	for {
		pending := 0
		for _, j := range jobs {
			if !j.done() {
				pending++
			}
		}
		if pending == 0 {
			return nil
		}
		t := time.NewTimer(c.opts.BatchPoll)
		select {
		case <-ctx.Done():
			t.Stop()
			c.cancel(jobs)
			return ctx.Err()
		case <-t.C:
		}
		for _, j := range jobs {
			if j.done() {
				continue
			}
			got, err := c.c.Batches.Get(ctx, j.name, nil)
			if err != nil {
				if ctx.Err() != nil {
					c.cancel(jobs)
					return ctx.Err()
				}
				err = mapError(err)
				failures++
				if errors.Is(err, classify.ErrKeyRejected) || failures >= maxPollFailures {
					c.cancel(jobs)
					return fmt.Errorf("poll batch job %s: %w", j.name, err)
				}
				c.log.Warn("polling the batch job failed; trying again", "job", j.name, "error", err.Error())
				continue
			}
			failures = 0
			if got.State != j.state {
				c.log.Info("gemini batch job", "job", j.name, "state", string(got.State))
			}
			j.state, j.job = got.State, got
		}
	}
}

// cancel asks Google to stop jobs that have not ended, on a fresh context:
// the run's own is usually what was cancelled.
func (c *Classifier) cancel(jobs []*batchJob) {
	ctx, stop := context.WithTimeout(context.Background(), 10*time.Second)
	defer stop()
	for _, j := range jobs {
		if j.done() {
			continue
		}
		if err := c.c.Batches.Cancel(ctx, j.name, nil); err != nil {
			c.log.Warn("could not cancel the batch job; cancel it in AI Studio", "job", j.name, "error", mapError(err).Error())
			continue
		}
		c.log.Info("gemini batch job cancelled", "job", j.name)
	}
}
