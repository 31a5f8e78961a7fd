package pluginhost_test

import (
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/server/internal/pluginhost"
	"github.com/gatehouse-dev/gatehouse/server/internal/pluginhost/pluginfixture"
)

// These tests resolve a real plugin over https:// and oci:// into a cache
// dir, then verify and serve it in the verifier process, as gatehouse does
// at start.

// emptyPluginDir returns a plugin dir with an empty manifest: the remote
// plugin is the only one.
func emptyPluginDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, (&pluginhost.Manifest{}).Write(dir))
	return dir
}

func TestVerifyResolvesHTTPSPlugin(t *testing.T) {
	b := fixtures(t)
	artifact, err := os.ReadFile(b.plugins[pluginfixture.Good])
	require.NoError(t, err)
	sum := sha256Hex(artifact)
	srv := newArtifactServer(t, map[string][]byte{"/dl/good.so": artifact})
	ca := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600))
	cache := filepath.Join(t.TempDir(), "plugins")
	dir := emptyPluginDir(t)
	address := srv.URL + "/dl/good.so#sha256=" + sum

	r := b.run(t, "verify", "-dir", dir, "-cache", cache, "-ca", ca, "-want-required", "good="+address)
	require.Equal(t, 0, r.code, "stdout %s stderr %s", r.stdout, r.stderr)
	out := r.output(t)
	good := result(t, out, "good")
	require.Equal(t, pluginhost.StatusVerified, good.Status)
	require.Equal(t, address, good.Address)
	require.Equal(t, filepath.Join(cache, sum+".so"), good.Path, "downloaded into the cache, named by its digest")
	require.Equal(t, sum, good.SHA256)
	require.Equal(t, "1.0.0", good.Version)
	require.Equal(t, map[string]string{"good": "good"}, out.Served, "the downloaded plugin serves requests")
	require.EqualValues(t, 1, srv.hits["/dl/good.so"].Load())

	// The next start finds it in the cache: no download, same result.
	r = b.run(t, "verify", "-dir", dir, "-cache", cache, "-ca", ca, "-want-required", "good="+address)
	require.Equal(t, 0, r.code, r.stderr)
	require.Equal(t, pluginhost.StatusVerified, result(t, r.output(t), "good").Status)
	require.EqualValues(t, 1, srv.hits["/dl/good.so"].Load())

	// A wrong pin stops the start with one line, and keeps nothing.
	pin := strings.Repeat("0", 64)
	fresh := t.TempDir()
	r = b.run(t, "verify", "-dir", dir, "-cache", fresh, "-ca", ca, "-want-required", "good="+srv.URL+"/dl/good.so#sha256="+pin)
	require.Equal(t, 3, r.code, r.stdout)
	res := result(t, r.output(t), "good")
	require.Equal(t, pluginhost.StepSHA256, res.Step)
	require.Equal(t, pin, res.Expected)
	require.Equal(t, sum, res.Actual)
	line := strings.TrimSpace(r.stderr)
	require.Equal(t, res.Error, line)
	require.Equal(t, `plugin "good" failed verification at step sha256: `+srv.URL+"/dl/good.so#sha256="+pin+
		": expected sha256 "+pin+", got "+sum+" — "+res.Fix, line)
	require.Empty(t, cacheFiles(t, fresh))
}

func TestVerifyResolvesOCIPlugin(t *testing.T) {
	b := fixtures(t)
	artifact, err := os.ReadFile(b.plugins[pluginfixture.Good])
	require.NoError(t, err)
	sum := sha256Hex(artifact)
	reg := newOCIRegistry(t)
	manifest := reg.pushArtifact(t, "gatehouse/plugins/good", "1.0.0", soLayer("good.so", artifact))
	cache := filepath.Join(t.TempDir(), "plugins")
	dir := emptyPluginDir(t)
	address := "oci://" + reg.host + "/gatehouse/plugins/good:1.0.0"

	r := b.run(t, "verify", "-dir", dir, "-cache", cache, "-want-required", "good="+address)
	require.Equal(t, 0, r.code, "stdout %s stderr %s", r.stdout, r.stderr)
	out := r.output(t)
	good := result(t, out, "good")
	require.Equal(t, pluginhost.StatusVerified, good.Status)
	require.Equal(t, address, good.Address)
	require.Equal(t, "oci://"+reg.host+"/gatehouse/plugins/good@"+manifest, good.Pinned, "the tag's digest is recorded")
	require.Equal(t, filepath.Join(cache, sum+".so"), good.Path)
	require.Equal(t, sum, good.SHA256)
	require.Equal(t, map[string]string{"good": "good"}, out.Served, "the pulled plugin serves requests")

	// Pinned by digest, it starts without the registry.
	reg.srv.Close()
	r = b.run(t, "verify", "-dir", dir, "-cache", cache, "-want-required", "good="+good.Pinned)
	require.Equal(t, 0, r.code, r.stderr)
	require.Equal(t, map[string]string{"good": "good"}, r.output(t).Served)
}

func TestVerifyRefusesOCIPluginOfAnotherName(t *testing.T) {
	b := fixtures(t)
	artifact, err := os.ReadFile(b.plugins[pluginfixture.Good])
	require.NoError(t, err)
	reg := newOCIRegistry(t)
	reg.pushArtifact(t, "other", "1", layer{mediaType: pluginhost.MediaTypePlugin, data: artifact})

	r := b.run(t, "verify", "-dir", emptyPluginDir(t), "-cache", t.TempDir(), "-want-required", "other=oci://"+reg.host+"/other:1")
	require.Equal(t, 3, r.code, r.stdout)
	res := result(t, r.output(t), "other")
	require.Equal(t, pluginhost.StepSymbol, res.Step, "a pulled artifact is opened and checked like a bundled one")
	require.Equal(t, `"good"`, res.Actual)
	require.Contains(t, res.Fix, `this file holds plugin "good"`)
}
