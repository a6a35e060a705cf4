package redislock

import (
	"strconv"
	"strings"
	"testing"
)

func FuzzParseValue(f *testing.F) {
	f.Add("30000:0123456789abcdef1:node-1")
	f.Add("10::")
	f.Add("-5:a:b")
	f.Add("x:y:z")
	f.Add("100:id:owner:with:colons")
	f.Fuzz(func(t *testing.T, v string) {
		ttl, id, owner, ok := parseValue(v)
		if !ok {
			return
		}
		if ttl < 0 || strings.Contains(id, ":") {
			t.Fatalf("parseValue(%q) = %d, %q, %q, true", v, ttl, id, owner)
		}
		// A value in the canonical form round-trips.
		canon := strconv.FormatInt(ttl, 10) + ":" + id + ":" + owner
		if t2, id2, o2, ok2 := parseValue(canon); !ok2 || t2 != ttl || id2 != id || o2 != owner {
			t.Fatalf("parseValue(%q) = %d, %q, %q, %v; want %d, %q, %q", canon, t2, id2, o2, ok2, ttl, id, owner)
		}
	})
}

func FuzzParseHeld(f *testing.F) {
	f.Add("1764300000000001:30000:0123456789abcdef1:node-1")
	f.Add("+17:10:a:b")
	f.Add("+:x")
	f.Add("18446744073709551616:1:a:b")
	f.Add("-1:1:a:b")
	f.Fuzz(func(t *testing.T, v string) {
		tok, value, ok := parseHeld(v)
		if !ok {
			return
		}
		// What the lock holds for that lease, marked or not, parses back.
		for _, h := range []string{held(tok, value), "+" + held(tok, value)} {
			if t2, v2, ok2 := parseHeld(h); !ok2 || t2 != tok || v2 != value {
				t.Fatalf("parseHeld(%q) = %d, %q, %v; want %d, %q", h, t2, v2, ok2, tok, value)
			}
		}
	})
}
