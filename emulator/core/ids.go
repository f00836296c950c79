package core

import (
	"crypto/rand"
	"encoding/base32"
	"io"
	"strings"
	"sync"
)

// IDs mints prefixed, unguessable identifiers and secrets. Randomness is
// injected so a seeded source makes runs reproducible; the default is
// crypto/rand.
type IDs struct {
	mu  sync.Mutex
	src io.Reader
}

// NewIDs returns an ID source reading randomness from src (crypto/rand when
// nil).
func NewIDs(src io.Reader) *IDs {
	return &IDs{src: src}
}

var idEncoding = base32.NewEncoding("0123456789abcdefghjkmnpqrstvwxyz").WithPadding(base32.NoPadding)

// New returns prefix + "_" + 128 random bits, e.g. "app_3k9…".
func (g *IDs) New(prefix string) string {
	return g.Token(prefix, 16)
}

// Token returns prefix + "_" + n random bytes in lower-case base32. Use at
// least 16 bytes (128 bits) for anything that must not be guessed.
func (g *IDs) Token(prefix string, n int) string {
	// Request IDs and token IDs are minted on every request: the random
	// bytes and their encoding stay on the stack, the string is the one
	// allocation. A seeded source goes through Bytes, since reading from
	// an io.Reader would move the array to the heap anyway.
	var raw [32]byte
	var enc [52]byte // idEncoding.EncodedLen(32)
	var b []byte
	if (g == nil || g.src == nil) && n <= len(raw) {
		b = raw[:n]
		_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	} else {
		b = g.Bytes(n)
	}
	m := idEncoding.EncodedLen(n)
	var e []byte
	if m <= len(enc) {
		e = enc[:m]
	} else {
		e = make([]byte, m)
	}
	idEncoding.Encode(e, b)
	var sb strings.Builder
	sb.Grow(len(prefix) + 1 + m)
	if prefix != "" {
		sb.WriteString(prefix)
		sb.WriteByte('_')
	}
	sb.Write(e)
	return sb.String()
}

// Bytes returns n random bytes.
func (g *IDs) Bytes(n int) []byte {
	b := make([]byte, n)
	if g == nil || g.src == nil {
		_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
		return b
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if _, err := io.ReadFull(g.src, b); err != nil {
		_, _ = rand.Read(b)
	}
	return b
}
