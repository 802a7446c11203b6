package notationbridge

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/notaryproject/notation-go/config"
	"github.com/notaryproject/notation-go/dir"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

func TestKeySpecSource(t *testing.T) {
	for _, tc := range []struct {
		name    string
		spec    KeySpec
		want    string
		wantErr error
	}{
		{name: "nothing: notation's default", spec: KeySpec{}, want: KeyConfig},
		{name: "a name in notation's configuration", spec: KeySpec{Name: "release"}, want: KeyConfig},
		{name: "files", spec: KeySpec{KeyFile: "k", CertFile: "c"}, want: KeyFiles},
		{name: "a plugin", spec: KeySpec{Plugin: "azure-kv", KeyID: "https://v/keys/k"}, want: KeyPlugin},
		{name: "a key without its certificate", spec: KeySpec{KeyFile: "k"}, wantErr: ErrIncompleteKey},
		{name: "a plugin without a key ID", spec: KeySpec{Plugin: "azure-kv"}, wantErr: ErrIncompleteKey},
		{name: "plugin configuration alone", spec: KeySpec{PluginConfig: map[string]string{"a": "b"}}, wantErr: ErrIncompleteKey},
		{name: "files and a plugin", spec: KeySpec{KeyFile: "k", CertFile: "c", Plugin: "p", KeyID: "i"}, wantErr: ErrKeyConflict},
		{name: "files and a name", spec: KeySpec{KeyFile: "k", CertFile: "c", Name: "n"}, wantErr: ErrKeyConflict},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.spec.Source()
			if tc.wantErr != nil {
				assert.Check(t, errors.Is(err, tc.wantErr), "%v", err)
				return
			}
			assert.NilError(t, err)
			assert.Check(t, is.Equal(got, tc.want))
		})
	}
}

func TestConfigDirFollowsNotation(t *testing.T) {
	assert.Check(t, is.Equal(ConfigDir("/x", "/home/u"), filepath.Join("/x", "notation")))
	assert.Check(t, is.Equal(ConfigDir("", "/home/u"), filepath.Join("/home/u", ".config", "notation")))
}

func TestOpenSignerFromNotationConfig(t *testing.T) {
	ctx := context.Background()
	c := newNotationConfig(t, "release")

	t.Run("no signingkeys.json", func(t *testing.T) {
		_, err := OpenSigner(ctx, KeySpec{ConfigDir: t.TempDir()})
		assert.Check(t, errors.Is(err, ErrNoSigningKey), "%v", err)
	})
	t.Run("keys but no default", func(t *testing.T) {
		keys := config.NewSigningKeys()
		assert.NilError(t, keys.Add("release", c.key, c.cert, false))
		c.writeSigningKeys(t, keys)
		_, err := OpenSigner(ctx, KeySpec{ConfigDir: c.dir})
		assert.Check(t, errors.Is(err, ErrNoSigningKey), "%v", err)
		assert.Check(t, is.ErrorContains(err, filepath.Join(c.dir, dir.PathSigningKeys)+" names no default key"))

		s, err := OpenSigner(ctx, KeySpec{ConfigDir: c.dir, Name: "release"})
		assert.NilError(t, err, "a key by name")
		assert.Check(t, is.Equal(s.Key, `notation key "release": `+c.key))
	})
	t.Run("an unknown name", func(t *testing.T) {
		_, err := OpenSigner(ctx, KeySpec{ConfigDir: c.dir, Name: "nope"})
		var nf config.KeyNotFoundError
		assert.Check(t, errors.As(err, &nf), "%v", err)
	})
	t.Run("the default key", func(t *testing.T) {
		keys := config.NewSigningKeys()
		assert.NilError(t, keys.Add("release", c.key, c.cert, true))
		c.writeSigningKeys(t, keys)
		s, err := OpenSigner(ctx, KeySpec{ConfigDir: c.dir})
		assert.NilError(t, err)
		assert.Check(t, is.Equal(s.Leaf().Subject.CommonName, "release"))
	})
	t.Run("a symbolic link is refused, as notation refuses it", func(t *testing.T) {
		other := t.TempDir()
		assert.NilError(t, os.Symlink(filepath.Join(c.dir, dir.PathSigningKeys), filepath.Join(other, dir.PathSigningKeys)))
		_, err := OpenSigner(ctx, KeySpec{ConfigDir: other})
		assert.Check(t, is.ErrorContains(err, "is not a regular file"))
	})
	t.Run("a malformed entry", func(t *testing.T) {
		d := t.TempDir()
		bad := `{"default":"x","keys":[{"name":"x"}]}`
		assert.NilError(t, os.WriteFile(filepath.Join(d, dir.PathSigningKeys), []byte(bad), 0o600))
		_, err := OpenSigner(ctx, KeySpec{ConfigDir: d})
		assert.Check(t, is.ErrorContains(err, `key "x" in `+filepath.Join(d, dir.PathSigningKeys)+": malformed"))
	})
}
