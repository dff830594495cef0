package virustotal_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/verdict-dev/verdict/pkg/intel/virustotal"
	"github.com/verdict-dev/verdict/pkg/ioc"
)

// A file answer names the file's MD5, SHA-1 and SHA-256, whichever of them
// was asked: that is what links the hashes of one file into one artifact.
func TestLookup_FileNamesItsHashes(t *testing.T) {
	t.Parallel()
	body, err := os.ReadFile(filepath.Join("testdata", "file-eicar.json"))
	require.NoError(t, err)
	bad, err := os.ReadFile(filepath.Join("testdata", "file-odd-hashes.json"))
	require.NoError(t, err)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("x-apikey") != key {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/api/v3/files/0cc175b9c0f1b6a831c399e269772661" {
			_, _ = w.Write(bad)
			return
		}
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)
	c := virustotal.New(key, virustotal.WithBaseURL(srv.URL+"/api/v3"))
	const (
		md5    = "44d88612fea8a8f36de82e1278abb02f"
		sha1   = "3395856ce81f2b7382dee72602f798b642f14140"
		sha256 = "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f"
	)
	for _, q := range []ioc.IOC{{Type: ioc.MD5, Value: md5}, {Type: ioc.SHA1, Value: sha1}, {Type: ioc.SHA256, Value: sha256}} {
		r, err := c.Lookup(context.Background(), q)
		require.NoError(t, err, q)
		assert.Equal(t, [3]string{md5, sha1, sha256}, [3]string{r.MD5, r.SHA1, r.SHA256}, q)
		assert.Equal(t, 62, *r.Malicious)
	}
	// Hashes of the wrong length or case in an answer are not taken on trust.
	r, err := c.Lookup(context.Background(), ioc.IOC{Type: ioc.MD5, Value: "0cc175b9c0f1b6a831c399e269772661"})
	require.NoError(t, err)
	assert.Equal(t, [3]string{"", "", "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb"}, [3]string{r.MD5, r.SHA1, r.SHA256})
	// Only file answers name hashes.
	r, err = c.Lookup(context.Background(), ioc.IOC{Type: ioc.Domain, Value: "eicar.org"})
	require.NoError(t, err)
	assert.Empty(t, r.MD5+r.SHA1+r.SHA256)
}
