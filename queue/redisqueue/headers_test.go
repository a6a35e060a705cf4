package redisqueue

import (
	"maps"
	"testing"
)

func TestHeadersRoundTrip(t *testing.T) {
	for _, h := range []map[string]string{
		nil,
		{"": ""},
		{"a": "1", "content-type": "application/json", "empty": ""},
		{"k": string(make([]byte, 300))},
	} {
		got, err := decodeHeaders(encodeHeaders(h))
		if err != nil || !maps.Equal(got, h) {
			t.Errorf("decode(encode(%q)) = %q, %v", h, got, err)
		}
	}
	for _, bad := range []string{"\x00", "\x01", "\x01\x05ab", "\x01\x01a\x01", "\x01\x01a\x00x", "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", "\x80"} {
		if _, err := decodeHeaders(bad); err == nil {
			t.Errorf("decodeHeaders(%q) = nil error; want errHeaders", bad)
		}
	}
}

func FuzzDecodeHeaders(f *testing.F) {
	f.Add("")
	f.Add(encodeHeaders(map[string]string{"a": "1", "b": ""}))
	f.Add("\x01\x05ab")
	f.Fuzz(func(t *testing.T, s string) {
		h, err := decodeHeaders(s)
		if err != nil {
			return
		}
		again, err := decodeHeaders(encodeHeaders(h))
		if err != nil || !maps.Equal(again, h) {
			t.Errorf("re-encoding %q gave %q, %v", h, again, err)
		}
	})
}
