package greynoise

import "time"

// SetClock sets the clock a 429 without Retry-After counts from.
func SetClock(c *Client, now func() time.Time) { c.now = now }
