package redisqueue

import (
	"encoding/binary"
	"errors"
	"strconv"
	"strings"
)

// errHeaders is returned by decodeHeaders and unpackMessage for bytes
// encodeHeaders and packMessage did not write.
var errHeaders = errors.New("redisqueue: malformed message")

// encodeHeaders writes h as a count followed by length-prefixed keys and
// values, all uvarints. Nil and empty headers encode as "".
func encodeHeaders(h map[string]string) string {
	if len(h) == 0 {
		return ""
	}
	n := binary.MaxVarintLen64
	for k, v := range h {
		n += 2*binary.MaxVarintLen64 + len(k) + len(v)
	}
	b := make([]byte, 0, n)
	b = binary.AppendUvarint(b, uint64(len(h)))
	for k, v := range h {
		b = binary.AppendUvarint(b, uint64(len(k)))
		b = append(b, k...)
		b = binary.AppendUvarint(b, uint64(len(v)))
		b = append(b, v...)
	}
	return string(b)
}

// decodeHeaders parses what encodeHeaders wrote. It returns nil for "".
func decodeHeaders(s string) (map[string]string, error) {
	if s == "" {
		return nil, nil
	}
	n, s, err := uvarint(s)
	if err != nil || n == 0 || n > uint64(len(s)) {
		return nil, errHeaders
	}
	h := make(map[string]string, n)
	for range n {
		var k, v string
		if k, s, err = lenString(s); err != nil {
			return nil, err
		}
		if v, s, err = lenString(s); err != nil {
			return nil, err
		}
		h[k] = v
	}
	if s != "" {
		return nil, errHeaders
	}
	return h, nil
}

func uvarint(s string) (uint64, string, error) {
	var x uint64
	for i := 0; i < len(s) && i < binary.MaxVarintLen64; i++ {
		c := s[i]
		if c < 0x80 {
			if i == binary.MaxVarintLen64-1 && c > 1 {
				return 0, "", errHeaders
			}
			return x | uint64(c)<<(7*i), s[i+1:], nil
		}
		x |= uint64(c&0x7f) << (7 * i)
	}
	return 0, "", errHeaders
}

func lenString(s string) (string, string, error) {
	n, s, err := uvarint(s)
	if err != nil || n > uint64(len(s)) {
		return "", "", errHeaders
	}
	return s[:n], s[n:], nil
}

// packMessage returns what Enqueue stores of a message: its encoded headers,
// length first, then its body. The script prefixes the enqueue time.
func packMessage(h map[string]string, body []byte) []byte {
	hs := encodeHeaders(h)
	b := make([]byte, 0, binary.MaxVarintLen64+len(hs)+len(body))
	b = binary.AppendUvarint(b, uint64(len(hs)))
	b = append(b, hs...)
	return append(b, body...)
}

// unpackMessage parses "ENQUEUED_MS:" followed by what packMessage wrote.
func unpackMessage(s string) (enqueued int64, h map[string]string, body []byte, err error) {
	stamp, rest, ok := strings.Cut(s, ":")
	if !ok {
		return 0, nil, nil, errHeaders
	}
	enqueued, err = strconv.ParseInt(stamp, 10, 64)
	if err != nil {
		return 0, nil, nil, errHeaders
	}
	hs, rest, err := lenString(rest)
	if err != nil {
		return 0, nil, nil, err
	}
	if h, err = decodeHeaders(hs); err != nil {
		return 0, nil, nil, err
	}
	return enqueued, h, []byte(rest), nil
}
