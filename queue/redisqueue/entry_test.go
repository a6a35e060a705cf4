package redisqueue

import (
	"strconv"
	"strings"
	"testing"
)

func TestParseEntry(t *testing.T) {
	for _, tc := range []struct {
		e    string
		id   string
		n, r uint64
	}{{"17", "17", 0, 0}, {"17:3:0", "17", 3, 0}, {"17:9:5", "17", 9, 5}} {
		id, n, r, err := parseEntry(tc.e)
		if err != nil || id != tc.id || n != tc.n || r != tc.r {
			t.Errorf("parseEntry(%q) = %q, %d, %d, %v; want %q, %d, %d", tc.e, id, n, r, err, tc.id, tc.n, tc.r)
		}
	}
	for _, bad := range []string{"17:", "17:3", "17:x:0", "17:3:x", "17:3:4", "17:3:0:1", "17:-1:0"} {
		if _, _, _, err := parseEntry(bad); err == nil {
			t.Errorf("parseEntry(%q) = nil error; want errHeaders", bad)
		}
	}
}

func FuzzParseEntry(f *testing.F) {
	f.Add("17")
	f.Add("17:3:0")
	f.Add("17:9:5")
	f.Add("17:3:4")
	f.Fuzz(func(t *testing.T, e string) {
		id, n, r, err := parseEntry(e)
		if err != nil {
			return
		}
		if strings.Contains(id, ":") || r > n {
			t.Fatalf("parseEntry(%q) = %q, %d, %d", e, id, n, r)
		}
		again := id + ":" + strconv.FormatUint(n, 10) + ":" + strconv.FormatUint(r, 10)
		id2, n2, r2, err := parseEntry(again)
		if err != nil || id2 != id || n2 != n || r2 != r {
			t.Errorf("parseEntry(%q) = %q, %d, %d, %v; want %q, %d, %d", again, id2, n2, r2, err, id, n, r)
		}
	})
}
