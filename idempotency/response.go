package idempotency

import (
	"encoding/binary"
	"errors"
	"net/http"
)

// A stored response is encoded as
//
//	version (1 byte) | flags (1 byte) | status (2 bytes, big endian) |
//	header count (uvarint) | per header line: name length (uvarint), name,
//	value length (uvarint), value | body (the rest)
const (
	responseVersion = 1
	flagTooLarge    = 1 // the body exceeded the limit and was not kept
)

var errBadResponse = errors.New("idempotency: malformed stored response")

// storedResponse is a response captured for replay.
type storedResponse struct {
	status   int
	tooLarge bool
	nheader  int
	header   []byte // nheader encoded header lines, validated
	body     []byte
}

// appendResponse appends the encoding of the response to dst, with the
// values of h under names, which must be in canonical form.
func appendResponse(dst []byte, status int, tooLarge bool, h http.Header, names []string, body []byte) []byte {
	var flags byte
	if tooLarge {
		flags |= flagTooLarge
		body = nil
	}
	dst = append(dst, responseVersion, flags, byte(status>>8), byte(status))
	n := 0
	for _, name := range names {
		n += len(h[name])
	}
	dst = binary.AppendUvarint(dst, uint64(n))
	for _, name := range names {
		for _, v := range h[name] {
			dst = binary.AppendUvarint(dst, uint64(len(name)))
			dst = append(dst, name...)
			dst = binary.AppendUvarint(dst, uint64(len(v)))
			dst = append(dst, v...)
		}
	}
	return append(dst, body...)
}

// decodeResponse decodes a response encoded by appendResponse. The result
// shares data.
func decodeResponse(data []byte) (storedResponse, error) {
	var r storedResponse
	if len(data) < 4 || data[0] != responseVersion || data[1]&^flagTooLarge != 0 {
		return r, errBadResponse
	}
	r.tooLarge = data[1]&flagTooLarge != 0
	r.status = int(data[2])<<8 | int(data[3])
	if r.status < 200 || r.status > 999 {
		return r, errBadResponse
	}
	data = data[4:]
	n, k := binary.Uvarint(data)
	if k <= 0 || n > uint64(len(data)) {
		return r, errBadResponse
	}
	data = data[k:]
	rest := data
	for range n {
		var ok bool
		if _, _, rest, ok = nextHeader(rest); !ok {
			return r, errBadResponse
		}
	}
	r.nheader = int(n)
	r.header = data[:len(data)-len(rest)]
	if r.tooLarge && len(rest) > 0 {
		return r, errBadResponse
	}
	r.body = rest
	return r, nil
}

// nextHeader splits the first header line off data.
func nextHeader(data []byte) (name, value, rest []byte, ok bool) {
	var kv [2][]byte
	for j := range kv {
		l, k := binary.Uvarint(data)
		if k <= 0 || l > uint64(len(data)-k) {
			return nil, nil, nil, false
		}
		kv[j] = data[k : k+int(l)]
		data = data[k+int(l):]
	}
	return kv[0], kv[1], data, true
}

// headers returns the header lines of r in order, a name once per value.
func (r storedResponse) headers() [][2]string {
	var hs [][2]string
	rest := r.header
	for range r.nheader {
		var name, value []byte
		name, value, rest, _ = nextHeader(rest)
		hs = append(hs, [2]string{string(name), string(value)})
	}
	return hs
}
