package idempotency

import (
	"bytes"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

func TestParseKey(t *testing.T) {
	tests := []struct {
		in   string
		want string
		ok   bool
	}{
		{`"8e03978e-40d5-43e8-bc93-6894a57f9324"`, "8e03978e-40d5-43e8-bc93-6894a57f9324", true},
		{`8e03978e-40d5-43e8-bc93-6894a57f9324`, "8e03978e-40d5-43e8-bc93-6894a57f9324", true},
		{` "a b" `, "a b", true},
		{`"a\"b\\c"`, `a"b\c`, true},
		{`"a\x"`, "", false},
		{`"abc`, "", false},
		{`"abc\`, "", false},
		{`""`, "", false},
		{``, "", false},
		{`   `, "", false},
		{`"a";p=1`, "", false},
		{`a b`, "", false},
		{"\"caf\xc3\xa9\"", "", false},
		{"caf\xc3\xa9", "", false},
		{"\"a\tb\"", "", false},
	}
	for _, tt := range tests {
		got, ok := parseKey(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseKey(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

// quoteKey encodes k as a Structured Field String.
func quoteKey(k string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(k) + `"`
}

func FuzzParseKey(f *testing.F) {
	for _, s := range []string{`"8e03978e-40d5-43e8-bc93-6894a57f9324"`, `abc`, `"a\"b"`, `"a\`, `""`, ` "x" `, "\"\x7f\""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		k, ok := parseKey(in)
		if !ok {
			if k != "" {
				t.Fatalf("parseKey(%q) = %q, false; want an empty key on failure", in, k)
			}
			return
		}
		if k == "" {
			t.Fatalf("parseKey(%q) = \"\", true; want a non-empty key", in)
		}
		for i := 0; i < len(k); i++ {
			if k[i] < ' ' || k[i] > '~' {
				t.Fatalf("parseKey(%q) = %q holds byte %#x; want visible ASCII", in, k, k[i])
			}
		}
		// Quoting the key and parsing it again gives the key back.
		if k2, ok := parseKey(quoteKey(k)); !ok || k2 != k {
			t.Fatalf("parseKey(quote(%q)) = %q, %v; want it back", k, k2, ok)
		}
	})
}

func TestResponseRoundTrip(t *testing.T) {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Add("Cache-Control", "a")
	h.Add("Cache-Control", "b")
	h.Set("X-Other", "not kept")
	data := appendResponse(nil, 201, false, h, []string{"Content-Type", "Cache-Control", "Location"}, []byte("body"))
	r, err := decodeResponse(data)
	if err != nil {
		t.Fatal(err)
	}
	want := [][2]string{{"Content-Type", "application/json"}, {"Cache-Control", "a"}, {"Cache-Control", "b"}}
	if r.status != 201 || r.tooLarge || string(r.body) != "body" || len(r.headers()) != len(want) {
		t.Fatalf("decodeResponse = %+v; want 201, %v, body", r, want)
	}
	for i := range want {
		if got := r.headers()[i]; got != want[i] {
			t.Errorf("header[%d] = %q; want %q", i, got, want[i])
		}
	}
	for _, bad := range [][]byte{nil, {1, 0, 0}, {2, 0, 0, 200, 0}, {1, 2, 0, 200, 0}, {1, 0, 0, 99, 0}, {1, 0, 0, 200, 5}, {1, 0, 0, 200, 1, 3, 'a'}, {1, 1, 0, 200, 0, 'x'}} {
		if _, err := decodeResponse(bad); err == nil {
			t.Errorf("decodeResponse(%v) = nil error; want errBadResponse", bad)
		}
	}
}

func FuzzDecodeResponse(f *testing.F) {
	h := http.Header{"Content-Type": {"text/plain"}, "Location": {"/x"}}
	f.Add(appendResponse(nil, 200, false, h, []string{"Content-Type", "Location"}, []byte("hello")))
	f.Add(appendResponse(nil, 500, true, nil, nil, nil))
	f.Add([]byte{1, 0, 0, 200, 0})
	f.Add([]byte{1, 0, 1, 0, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := decodeResponse(data)
		if err != nil {
			return
		}
		if r.status < 200 || r.status > 999 {
			t.Fatalf("decoded status %d; want 200..999", r.status)
		}
		// Encoding what was decoded gives the same bytes back.
		hdr := http.Header{}
		var names []string
		for _, kv := range r.headers() {
			if _, seen := hdr[kv[0]]; !seen {
				names = append(names, kv[0])
			}
			hdr[kv[0]] = append(hdr[kv[0]], kv[1])
		}
		again := appendResponse(nil, r.status, r.tooLarge, hdr, names, r.body)
		// Names repeated apart (a, b, a) come back grouped, so compare
		// decoded forms rather than bytes.
		r2, err := decodeResponse(again)
		if err != nil || r2.status != r.status || r2.tooLarge != r.tooLarge || !bytes.Equal(r2.body, r.body) || r2.nheader != r.nheader {
			t.Fatalf("re-encoding %+v gave %+v, %v", r, r2, err)
		}
	})
}

func BenchmarkParseKey(b *testing.B) {
	in := strconv.Quote("8e03978e-40d5-43e8-bc93-6894a57f9324")
	b.ReportAllocs()
	for b.Loop() {
		parseKey(in)
	}
}
