package report

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/verdict-dev/verdict/pkg/model"
)

// feedsReport is uncheckedReport with two feeds in its summary: a fresh
// one, and a two-year-old one with a hostile name (a JSON report is
// untrusted input).
func feedsReport() *model.Report {
	rep := uncheckedReport()
	rep.Summary.Feeds = []model.FeedStatus{
		{Name: "abusech-feodo-ipblocklist.csv", Category: "c2", Entries: 28, Updated: "2024-04-04T07:03:03Z",
			UpdatedFrom: model.FeedUpdatedFromHeader, AgeSeconds: int64((973*24*time.Hour + 3*time.Hour) / time.Second), Stale: true},
		{Name: "tor\x1b]52;c;aGk=\x07<b>exits</b>|*.txt", Category: "anonymizer <x>", Entries: 1200, Updated: "2026-12-03T01:00:00Z",
			UpdatedFrom: model.FeedUpdatedFromFetch, AgeSeconds: 3600},
	}
	rep.Summary.Notes = []string{"1 feed is older than feeds.max_age (7d), so its listings may be out of date: abusech-feodo-ipblocklist.csv (2y 243d); refresh it with `verdict feeds update`"}
	return rep
}

func feedsView(t *testing.T, rep *model.Report) *View {
	vb := NewViewBuilder(ViewOptions{})
	require.NoError(t, vb.Begin(rep))
	for _, a := range rep.Alerts {
		require.NoError(t, vb.Alert(a))
	}
	require.NoError(t, vb.End(rep))
	return vb.Build()
}

// Every human format shows each feed's age and marks the stale ones; the
// JSON summary carries them as they are.
func TestFeedsInEveryFormat(t *testing.T) {
	t.Parallel()
	rep := feedsReport()
	v := feedsView(t, rep)
	require.Len(t, v.Feeds, 2)
	assert.Equal(t, FeedRow{Name: "abusech-feodo-ipblocklist.csv", Category: "c2", Entries: 28, Updated: "2024-04-04 07:03 UTC",
		UpdatedFrom: "header", Age: "2y 243d", Stale: true}, v.Feeds[0])
	assert.Equal(t, "anonymizerx", v.Feeds[1].Category, "a category is a token")
	assert.Nil(t, v.Summary.Feeds, "shown only through the sanitised rows")
	render := func(f Format) string {
		var b strings.Builder
		require.NoError(t, RenderView(&b, f, v))
		return b.String()
	}
	t.Run("txt", func(t *testing.T) {
		out := render(FormatTXT)
		flat := strings.Join(strings.Fields(strings.ReplaceAll(out, "|", " ")), " ") // unwrapped, without the box
		assert.Contains(t, out, "| Feeds     : abusech-feodo-ipblocklist.csv (c2, 28 entries)")
		assert.Contains(t, flat, "abusech-feodo-ipblocklist.csv (c2, 28 entries): 2y 243d old - STALE, older than feeds.max_age")
		assert.Contains(t, flat, "(anonymizerx, 1200 entries): 1h old")
		assert.Contains(t, flat, "refresh it with `verdict feeds update`")
		assert.NotContains(t, out, "\x1b")
		assert.NotContains(t, out, "\x07")
	})
	t.Run("md", func(t *testing.T) {
		out := render(FormatMarkdown)
		assert.Contains(t, out, "**Feeds:** abusech-feodo-ipblocklist.csv (c2, 28 entries) 2y 243d old **(stale)**;")
		assert.NotContains(t, out, "<b>")
		assert.NotContains(t, out, "|*.txt", "markdown in a feed name is escaped")
	})
	t.Run("html", func(t *testing.T) {
		out := render(FormatHTML)
		assert.Contains(t, out, "<h2>Feeds</h2>")
		assert.Contains(t, out, "<tr><td>abusech-feodo-ipblocklist.csv</td><td>c2</td><td class=\"num\">28</td><td>2024-04-04 07:03 UTC (header)</td><td>2y 243d <strong>stale: older than feeds.max_age</strong></td></tr>")
		assert.Contains(t, out, "&lt;b&gt;exits&lt;/b&gt;")
		assert.NotContains(t, out, "<b>exits")
	})
	t.Run("json", func(t *testing.T) {
		var b bytes.Buffer
		jw := NewJSONWriter(&b)
		require.NoError(t, jw.Begin(rep))
		require.NoError(t, jw.End(rep))
		assert.Contains(t, b.String(), `"age_seconds": 84078000`)
		got, err := ReadAll(&b)
		require.NoError(t, err)
		assert.Equal(t, rep.Summary.Feeds, got.Summary.Feeds, "additive: the summary's feeds round-trip")
	})
	t.Run("no feeds, no section", func(t *testing.T) {
		v := feedsView(t, uncheckedReport())
		var b strings.Builder
		require.NoError(t, RenderView(&b, FormatHTML, v))
		assert.NotContains(t, b.String(), "<h2>Feeds</h2>")
		b.Reset()
		require.NoError(t, RenderView(&b, FormatTXT, v))
		assert.NotContains(t, b.String(), "Feeds")
	})
}

func TestFormatAge(t *testing.T) {
	t.Parallel()
	const day = 24 * time.Hour
	for d, want := range map[time.Duration]string{
		0: "0m", 59 * time.Minute: "59m", 5 * time.Hour: "5h", 47 * time.Hour: "47h", 2 * day: "2d", 365 * day: "1y", 973 * day: "2y 243d",
	} {
		assert.Equal(t, want, formatAge(d), "%v", d)
	}
}
