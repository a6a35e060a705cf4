package idgen

import (
	"encoding/json"
	"errors"
	"testing"
)

func fuzzParser(f *testing.F, parse func(string) (ID, error), format func(ID) string, seeds ...string) {
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := parse(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidID) {
				t.Fatalf("parse(%q) = %v; want an error wrapping ErrInvalidID", s, err)
			}
			return
		}
		if id < 0 {
			t.Fatalf("parse(%q) = %d; want non-negative", s, id)
		}
		back, err := parse(format(id))
		if err != nil || back != id {
			t.Fatalf("parse(format(parse(%q))) = %v, %v; want %v", s, back, err, id)
		}
	})
}

func FuzzParseID(f *testing.F) {
	fuzzParser(f, ParseID, ID.String, "0", "9223372036854775807", "9223372036854775808", "-1", "+1", "007", "")
}

func FuzzParseBase32(f *testing.F) {
	fuzzParser(f, ParseBase32, ID.Base32, "0000000000000", "7ZZZZZZZZZZZZ", "8000000000000", "oIl", "u", "")
}

func FuzzParseBase58(f *testing.F) {
	fuzzParser(f, ParseBase58, ID.Base58, "11111111111", "NQm6nKp8qFC", "NQm6nKp8qFD", "0OIl", "")
}

func FuzzParseBase36(f *testing.F) {
	fuzzParser(f, ParseBase36, ID.Base36, "0", "1y2p0ij32e8e7", "1Y2P0IJ32E8E8", "0000000000000", "-1", "+1", "z_", "")
}

func FuzzUnmarshalJSON(f *testing.F) {
	for _, s := range []string{`"1"`, `1`, `"9223372036854775807"`, `null`, `"`, `""`, `"1`, `1.0`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var id ID
		if err := id.UnmarshalJSON(b); err != nil {
			if !errors.Is(err, ErrInvalidID) {
				t.Fatalf("UnmarshalJSON(%q) = %v; want an error wrapping ErrInvalidID", b, err)
			}
			return
		}
		out, _ := json.Marshal(id)
		var back ID
		if err := json.Unmarshal(out, &back); err != nil || back != id {
			t.Fatalf("round trip of %q via %s = %v, %v", b, out, back, err)
		}
		var n NumericID
		if err := n.UnmarshalJSON(b); err != nil || ID(n) != id {
			t.Fatalf("NumericID.UnmarshalJSON(%q) = %v, %v; want %v", b, n, err, id)
		}
	})
}
