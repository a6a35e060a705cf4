package redisqueue

import (
	"encoding/binary"
	"errors"
)

// errHeaders is returned by decodeHeaders for bytes encodeHeaders did not
// write.
var errHeaders = errors.New("redisqueue: malformed headers")

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
