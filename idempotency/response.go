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
	header   [][2]string // in order, a name once per value
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

// decodeResponse decodes a response encoded by appendResponse. The body of
// the result shares data.
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
	if n > 0 {
		r.header = make([][2]string, 0, n)
	}
	for range n {
		var kv [2]string
		for j := range kv {
			l, k := binary.Uvarint(data)
			if k <= 0 || l > uint64(len(data)-k) {
				return r, errBadResponse
			}
			kv[j] = string(data[k : k+int(l)])
			data = data[k+int(l):]
		}
		r.header = append(r.header, kv)
	}
	if r.tooLarge && len(data) > 0 {
		return r, errBadResponse
	}
	r.body = data
	return r, nil
}
