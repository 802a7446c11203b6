package capped

import (
	"io"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
)

func TestReadAll(t *testing.T) {
	b, err := ReadAll(strings.NewReader("12345"), 5)
	assert.NilError(t, err)
	assert.Equal(t, string(b), "12345")

	_, err = ReadAll(strings.NewReader("123456"), 5)
	assert.Check(t, IsTooLarge(err))
	assert.Error(t, err, "larger than 5 bytes")
}

func TestReader(t *testing.T) {
	r := &Reader{R: strings.NewReader("123456"), Left: 5}
	_, err := io.ReadAll(r)
	assert.ErrorContains(t, err, "size limit exceeded")
	assert.Check(t, r.Exceeded)

	r = &Reader{R: strings.NewReader("1234"), Left: 5}
	b, err := io.ReadAll(r)
	assert.NilError(t, err)
	assert.Equal(t, string(b), "1234")
	assert.Check(t, !r.Exceeded)
}
