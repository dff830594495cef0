package root

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
)

// The final "verdict: ..." line quotes file names and server text: no
// escape sequence may reach the terminal through it (OSC 52 writes the
// clipboard, CSI 2J clears the screen).
func TestErrorLineIsEscaped(t *testing.T) {
	_, out := sandbox(t)
	bad := filepath.Join(out, "x\x1b]52;c;cm0gLXJmIH4=\x07\x1b[2J.json")
	res := run(t, "", "report", bad)
	assert.Equal(t, 2, res.code)
	assert.NotContains(t, res.stderr, "\x1b")
	assert.NotContains(t, res.stderr, "\x07")
	assert.Contains(t, res.stderr, `verdict: open report: open `)
	assert.Contains(t, res.stderr, `x\u001b]52;c;cm0gLXJmIH4=\u0007\u001b[2J.json`)

	res = run(t, "", "report", "--output-name", "../../x", bad)
	assert.Equal(t, 2, res.code, "verdict report validates --output-name like enrich")
	assert.Contains(t, res.stderr, "--output-name must be a file name without directories")
}
