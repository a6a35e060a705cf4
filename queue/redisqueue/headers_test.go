package redisqueue

import (
	"maps"
	"strconv"
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

func TestPackMessageRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		h    map[string]string
		body string
	}{{nil, ""}, {nil, "body"}, {map[string]string{"a": "1"}, ""}, {map[string]string{"k": "v", "": ""}, "x:y"}} {
		enq, h, body, err := unpackMessage("1700000000123:" + string(packMessage(tc.h, []byte(tc.body))))
		if err != nil || enq != 1700000000123 || !maps.Equal(h, tc.h) || string(body) != tc.body {
			t.Errorf("unpack(pack(%q, %q)) = %d, %q, %q, %v", tc.h, tc.body, enq, h, body, err)
		}
	}
	for _, bad := range []string{"", "12", "x:\x00", "12:\x05ab", "12:\x02\x00"} {
		if _, _, _, err := unpackMessage(bad); err == nil {
			t.Errorf("unpackMessage(%q) = nil error; want errHeaders", bad)
		}
	}
}

func FuzzUnpackMessage(f *testing.F) {
	f.Add("1:" + string(packMessage(map[string]string{"a": "1"}, []byte("body"))))
	f.Add("0:\x00")
	f.Add("12:\x05ab")
	f.Fuzz(func(t *testing.T, s string) {
		enq, h, body, err := unpackMessage(s)
		if err != nil {
			return
		}
		again := strconv.FormatInt(enq, 10) + ":" + string(packMessage(h, body))
		enq2, h2, body2, err := unpackMessage(again)
		if err != nil || enq2 != enq || !maps.Equal(h2, h) || string(body2) != string(body) {
			t.Errorf("repacking %q gave %d %q %q, %v", s, enq2, h2, body2, err)
		}
	})
}
