package graphql

import (
	"sync"

	"github.com/knogin/argus-sandbox/internal/jsonwrite"
)

// response is one GraphQL response (spec §7.1). hasData distinguishes a
// request error (no "data" entry at all) from an execution whose data
// became null through non-null propagation. data is the JSON of the data
// entry, written by the executor.
type response struct {
	errors  []*gqlError
	data    []byte
	hasData bool
}

// dataBuffers recycles the buffers the executor writes results into.
var dataBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

func getDataBuffer() *[]byte { return dataBuffers.Get().(*[]byte) }

// putDataBuffer gives b back to dataBuffers, unless it grew beyond
// maxPooledBuffer.
func putDataBuffer(b *[]byte) {
	if cap(*b) <= maxPooledBuffer {
		*b = (*b)[:0]
		dataBuffers.Put(b)
	}
}

// appendString appends s as a JSON string as encoding/json writes it,
// HTML-sensitive characters escaped.
func appendString(dst []byte, s string) []byte { return jsonwrite.AppendString(dst, s, true) }
