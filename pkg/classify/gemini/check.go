package gemini

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"google.golang.org/genai"

	"github.com/verdict-dev/verdict/pkg/cache"
	"github.com/verdict-dev/verdict/pkg/classify"
)

// ModelCheckTTL is how long a models.get answer is trusted: the check costs
// one request a day, and a model Google shuts down is noticed the day after.
const ModelCheckTTL = 24 * time.Hour

// modelInfo is what verdict keeps of a models.get answer.
type modelInfo struct {
	Name    string   `json:"name"`
	Version string   `json:"version,omitempty"`
	Methods []string `json:"methods,omitempty"`
}

// Check implements classify.Checker: models.get for the configured model,
// answered from the cache when it was checked within a day. A 404 is an
// error wrapping classify.ErrModelNotFound whose message names the current
// models; a rejected key wraps classify.ErrKeyRejected.
func (c *Classifier) Check(ctx context.Context) error {
	key := cache.Key{Provider: classify.SourceGemini, Params: "models.get|" + c.endpointID(), Type: "model", Value: c.opts.Model}
	if e, ok, err := c.opts.Cache.Get(ctx, key); err == nil && ok {
		var mi modelInfo
		if json.Unmarshal(e.Data, &mi) == nil {
			return c.usable(mi)
		}
	}
	m, err := c.c.Models.Get(ctx, c.opts.Model, nil)
	if err != nil {
		var ae genai.APIError
		if errors.As(err, &ae) && ae.Code == http.StatusNotFound {
			return c.notFound()
		}
		return fmt.Errorf("check model %s: %w", c.opts.Model, mapError(err))
	}
	mi := modelInfo{Name: m.Name, Version: m.Version, Methods: m.SupportedActions}
	if err := c.usable(mi); err != nil {
		return err
	}
	if data, err := json.Marshal(mi); err == nil {
		if err := c.opts.Cache.Put(context.WithoutCancel(ctx), key, cache.Entry{Status: "found", Data: data}, ModelCheckTTL); err != nil {
			c.log.Warn("cannot cache the model check", "error", err.Error())
		}
	}
	c.log.Debug("gemini model checked", "model", c.opts.Model, "version", mi.Version)
	return nil
}

// usable says whether a model that exists can classify at all.
func (c *Classifier) usable(mi modelInfo) error {
	if len(mi.Methods) > 0 && !slices.Contains(mi.Methods, "generateContent") {
		return fmt.Errorf("%w: gemini model %q does not support generateContent (it supports %s); set gemini.model to one of %s",
			classify.ErrModelNotFound, c.opts.Model, strings.Join(mi.Methods, ", "), strings.Join(CurrentModels(), ", "))
	}
	return nil
}

// notFound is the message for a model models.get does not know.
func (c *Classifier) notFound() error {
	why := ""
	if c.known && c.row.Status == StatusRetired {
		why = fmt.Sprintf(" (it was shut down on %s)", c.row.Shutdown)
	}
	return fmt.Errorf("%w: gemini model %q does not exist%s: models.get answered 404 NOT_FOUND, so nothing was sent; set gemini.model to a current model: %s (the default), %s",
		classify.ErrModelNotFound, c.opts.Model, why, DefaultModel, strings.Join(CurrentModels()[1:], ", "))
}

// endpointID names the API endpoint in cache keys without putting a URL,
// which could hold credentials, into the cache.
func (c *Classifier) endpointID() string {
	sum := sha256.Sum256([]byte(c.opts.BaseURL))
	return hex.EncodeToString(sum[:6])
}
