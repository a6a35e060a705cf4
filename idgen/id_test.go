package idgen

import (
	"database/sql"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestFormsKnownValues(t *testing.T) {
	for _, tc := range []struct {
		id                 ID
		dec, b32, b58, b36 string
	}{
		{0, "0", "0000000000000", "11111111111", "0"},
		{1, "1", "0000000000001", "11111111112", "1"},
		{31, "31", "000000000000Z", "1111111111Y", "v"},
		{58, "58", "000000000001T", "11111111121", "1m"},
		{math.MaxInt64, "9223372036854775807", "7ZZZZZZZZZZZZ", "NQm6nKp8qFC", "1y2p0ij32e8e7"},
	} {
		if got := tc.id.String(); got != tc.dec {
			t.Errorf("ID(%d).String() = %q; want %q", int64(tc.id), got, tc.dec)
		}
		if got := tc.id.Base32(); got != tc.b32 {
			t.Errorf("ID(%d).Base32() = %q; want %q", int64(tc.id), got, tc.b32)
		}
		if got := tc.id.Base58(); got != tc.b58 {
			t.Errorf("ID(%d).Base58() = %q; want %q", int64(tc.id), got, tc.b58)
		}
		if got := tc.id.Base36(); got != tc.b36 {
			t.Errorf("ID(%d).Base36() = %q; want %q", int64(tc.id), got, tc.b36)
		}
		if got := string(tc.id.AppendBase36([]byte("x"))); got != "x"+tc.b36 {
			t.Errorf("ID(%d).AppendBase36(x) = %q; want %q", int64(tc.id), got, "x"+tc.b36)
		}
		for _, p := range []struct {
			in    string
			parse func(string) (ID, error)
		}{
			{tc.dec, ParseID}, {tc.b32, ParseBase32}, {tc.b58, ParseBase58},
			{tc.b36, ParseBase36}, {strings.ToUpper(tc.b36), ParseBase36},
		} {
			name, parse := p.in, p.parse
			if got, err := parse(name); err != nil || got != tc.id {
				t.Errorf("parse %q = %v, %v; want %v", name, got, err, tc.id)
			}
		}
	}
}

func TestFormsSortLikeIDs(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	ids := make([]ID, 1000)
	for i := range ids {
		ids[i] = ID(r.Int64() >> uint(r.IntN(63)))
	}
	slices.Sort(ids)
	for i := 1; i < len(ids); i++ {
		a, b := ids[i-1], ids[i]
		if a == b {
			continue
		}
		if a.Base32() >= b.Base32() || a.Base58() >= b.Base58() {
			t.Fatalf("%v < %v but Base32 %q, %q and Base58 %q, %q do not sort so", a, b, a.Base32(), b.Base32(), a.Base58(), b.Base58())
		}
	}
}

func TestParsersRejectBadInput(t *testing.T) {
	for _, tc := range []struct {
		parse func(string) (ID, error)
		in    string
		msg   string
	}{
		{ParseID, "", "empty"},
		{ParseID, "-1", "invalid decimal character '-' at offset 0"},
		{ParseID, "+1", "invalid decimal character '+'"},
		{ParseID, "12a", "'a' at offset 2"},
		{ParseID, "9223372036854775808", "out of range"},
		{ParseID, "99999999999999999999", "out of range"},
		{ParseBase32, "", "length 0"},
		{ParseBase32, "00000000000000", "length 14"},
		{ParseBase32, "0000U", "invalid character 'U' at offset 4"},
		{ParseBase32, "8000000000000", "out of range"},
		{ParseBase58, "", "length 0"},
		{ParseBase58, "111111111111", "length 12"},
		{ParseBase58, "10", "invalid character '0' at offset 1"},
		{ParseBase58, "11l", "invalid character 'l'"},
		{ParseBase58, "NQm6nKp8qFD", "out of range"},
		{ParseBase58, "zzzzzzzzzzz", "out of range"},
		{ParseBase36, "", "length 0"},
		{ParseBase36, "00000000000000", "length 14"},
		{ParseBase36, "-1", "invalid character '-' at offset 0"},
		{ParseBase36, "+1", "invalid character '+'"},
		{ParseBase36, "1_0", "invalid character '_' at offset 1"},
		{ParseBase36, "1y2p0ij32e8e8", "out of range"},
		{ParseBase36, "zzzzzzzzzzzzz", "out of range"},
	} {
		id, err := tc.parse(tc.in)
		if !errors.Is(err, ErrInvalidID) || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("parse %q = %v, %v; want ErrInvalidID saying %q", tc.in, id, err, tc.msg)
		}
	}
}

func TestParseBase32Aliases(t *testing.T) {
	want, _ := ParseBase32("01ABZ")
	for _, s := range []string{"o1abz", "OiAbZ", "0LABz", "0lABZ"} {
		if got, err := ParseBase32(s); err != nil || got != want {
			t.Errorf("ParseBase32(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
}

func TestJSON(t *testing.T) {
	type doc struct {
		ID  ID        `json:"id"`
		Num NumericID `json:"num"`
	}
	in := doc{ID: math.MaxInt64, Num: 1 << 60}
	b, err := json.Marshal(in)
	if want := `{"id":"9223372036854775807","num":1152921504606846976}`; err != nil || string(b) != want {
		t.Fatalf("Marshal = %s, %v; want %s", b, err, want)
	}
	var out doc
	if err := json.Unmarshal(b, &out); err != nil || out != in {
		t.Fatalf("Unmarshal(%s) = %+v, %v; want %+v", b, out, err, in)
	}
	// Numbers and strings are both accepted on input.
	if err := json.Unmarshal([]byte(`{"id":42,"num":"43"}`), &out); err != nil || out.ID != 42 || out.Num != 43 {
		t.Fatalf("Unmarshal of swapped forms = %+v, %v", out, err)
	}
	for _, bad := range []string{`{"id":null}`, `{"id":"-1"}`, `{"id":1.5}`, `{"id":"0x10"}`, `{"id":"1e3"}`, `{"num":true}`} {
		err := json.Unmarshal([]byte(bad), &out)
		if !errors.Is(err, ErrInvalidID) {
			var te *json.UnmarshalTypeError
			if !errors.As(err, &te) {
				t.Errorf("Unmarshal(%s) = %v; want ErrInvalidID", bad, err)
			}
		}
	}
	if s := NumericID(5).String(); s != "5" {
		t.Errorf("NumericID(5).String() = %q", s)
	}
}

func TestText(t *testing.T) {
	id := ID(1234567890123)
	b, err := id.MarshalText()
	if err != nil || string(b) != "1234567890123" {
		t.Fatalf("MarshalText = %s, %v", b, err)
	}
	if b, _ := id.AppendText([]byte("x=")); string(b) != "x=1234567890123" {
		t.Fatalf("AppendText = %s", b)
	}
	var got ID
	if err := got.UnmarshalText(b); err != nil || got != id {
		t.Fatalf("UnmarshalText = %v, %v", got, err)
	}
	if err := got.UnmarshalText([]byte("1 ")); !errors.Is(err, ErrInvalidID) || got != id {
		t.Fatalf("UnmarshalText(%q) = %v and left %v; want ErrInvalidID, unchanged", "1 ", err, got)
	}
	if id.Int64() != 1234567890123 {
		t.Fatal("Int64")
	}
}

func TestSQL(t *testing.T) {
	id := ID(99)
	v, err := id.Value()
	if err != nil || v != int64(99) {
		t.Fatalf("Value = %#v, %v; want int64(99)", v, err)
	}
	for _, src := range []any{int64(99), "99", []byte("99")} {
		var got ID
		if err := got.Scan(src); err != nil || got != id {
			t.Errorf("Scan(%#v) = %v, %v; want 99", src, got, err)
		}
	}
	for _, src := range []any{nil, int64(-1), "x", 1.5} {
		var got ID
		if err := got.Scan(src); !errors.Is(err, ErrInvalidID) {
			t.Errorf("Scan(%#v) = %v; want ErrInvalidID", src, err)
		}
	}
	var n sql.Null[ID]
	if err := n.Scan(nil); err != nil || n.Valid {
		t.Errorf("sql.Null[ID].Scan(nil) = %v, valid %v", err, n.Valid)
	}
}

func TestFormsDoNotAllocate(t *testing.T) {
	id := ID(math.MaxInt64)
	buf := make([]byte, 0, 32)
	for name, f := range map[string]func(){
		"AppendBase32": func() { id.AppendBase32(buf[:0]) },
		"AppendBase58": func() { id.AppendBase58(buf[:0]) },
		"AppendText":   func() { id.AppendText(buf[:0]) },
		"ParseBase32":  func() { ParseBase32("7ZZZZZZZZZZZZ") },
		"ParseBase58":  func() { ParseBase58("NQm6nKp8qFC") },
		"ParseID":      func() { ParseID("9223372036854775807") },
		"Decode":       func() { DefaultLayout().Decode(id) },
	} {
		if n := testing.AllocsPerRun(100, f); n != 0 {
			t.Errorf("%s allocates %v times per call; want 0", name, n)
		}
	}
}

func TestLayoutDecodeCompose(t *testing.T) {
	for _, l := range []Layout{DefaultLayout(), SonyflakeLayout(), tinyLayout()} {
		at := t0.Add(1234 * l.Tick)
		id, err := l.Compose(at.Add(l.Tick/2), 5, 3)
		if err != nil {
			t.Fatal(err)
		}
		p := l.Decode(id)
		if !p.Time.Equal(at) || p.Worker != 5 || p.Sequence != 3 {
			t.Errorf("Decode(Compose(%v, 5, 3)) = %+v under %+v", at, p, l)
		}
	}
	l := DefaultLayout()
	for _, tc := range []struct {
		at          time.Time
		worker, seq int64
		want        error
	}{
		{l.Epoch.Add(-1), 0, 0, ErrLayoutExpired},
		{l.Epoch.Add(l.Lifetime()), 0, 0, ErrLayoutExpired},
		{t0, 1024, 0, ErrWorkerRange},
		{t0, 0, 4096, ErrInvalidID},
		{t0, 0, -1, ErrInvalidID},
	} {
		if _, err := l.Compose(tc.at, tc.worker, tc.seq); !errors.Is(err, tc.want) {
			t.Errorf("Compose(%v, %d, %d) = %v; want %v", tc.at, tc.worker, tc.seq, err, tc.want)
		}
	}
	long := Layout{TimeBits: 50, WorkerBits: 1, SequenceBits: 12, Epoch: DefaultEpoch, Tick: time.Second}
	if id, err := long.Compose(DefaultEpoch.AddDate(300, 0, 0), 0, 0); !errors.Is(err, ErrLayoutExpired) {
		t.Errorf("Compose 300 years after the epoch = %v, %v; want ErrLayoutExpired (nanoseconds since the epoch overflow)", id, err)
	}
	if _, err := (Layout{}).Compose(t0, 0, 0); !errors.Is(err, ErrInvalidLayout) {
		t.Errorf("Compose with the zero Layout = %v; want ErrInvalidLayout", err)
	}
	if l.MaxWorker() != 1023 || l.MaxSequence() != 4095 {
		t.Errorf("MaxWorker, MaxSequence = %d, %d", l.MaxWorker(), l.MaxSequence())
	}
}

func TestWorkerFromIP(t *testing.T) {
	for _, tc := range []struct {
		ip   string
		bits int
		want int64
	}{
		{"10.0.1.5", 10, 1<<8 | 5},
		{"10.0.1.5", 16, 1<<8 | 5},
		{"192.168.255.255", 10, 1023},
		{"::ffff:10.0.0.7", 8, 7},
		{"10.1.2.3", 0, 0},
	} {
		got, err := WorkerFromIP(netip.MustParseAddr(tc.ip), tc.bits)
		if err != nil || got != tc.want {
			t.Errorf("WorkerFromIP(%s, %d) = %d, %v; want %d", tc.ip, tc.bits, got, err, tc.want)
		}
	}
	if _, err := WorkerFromIP(netip.MustParseAddr("fd00::1"), 10); !errors.Is(err, ErrWorkerRange) {
		t.Errorf("WorkerFromIP(IPv6) = %v; want ErrWorkerRange", err)
	}
	if _, err := WorkerFromIP(netip.MustParseAddr("10.0.0.1"), 33); !errors.Is(err, ErrWorkerRange) {
		t.Errorf("WorkerFromIP(33 bits) = %v; want ErrWorkerRange", err)
	}
}

func TestPrivateIPv4(t *testing.T) {
	mk := func(s ...string) []net.Addr {
		var a []net.Addr
		for _, x := range s {
			ip, n, _ := net.ParseCIDR(x)
			n.IP = ip
			a = append(a, n)
		}
		return a
	}
	if ip, ok := privateIPv4(mk("127.0.0.1/8", "8.8.8.8/24", "fd00::1/64", "172.16.3.4/16")); !ok || ip.String() != "172.16.3.4" {
		t.Errorf("privateIPv4 = %v, %v; want 172.16.3.4", ip, ok)
	}
	if ip, ok := privateIPv4(append(mk("100.64.0.9/10"), &net.IPAddr{IP: net.ParseIP("10.0.0.1")})); !ok || ip.String() != "100.64.0.9" {
		t.Errorf("privateIPv4 = %v, %v; want the shared address 100.64.0.9", ip, ok)
	}
	if ip, ok := privateIPv4(mk("127.0.0.1/8", "8.8.8.8/24")); ok {
		t.Errorf("privateIPv4 of public addresses = %v; want none", ip)
	}
	w, err := HostWorker(10)
	if err == nil && (w < 0 || w > 1023) {
		t.Errorf("HostWorker(10) = %d; want 0..1023", w)
	} else if err != nil && !errors.Is(err, ErrNoPrivateIP) {
		t.Errorf("HostWorker(10) = %v; want a worker or ErrNoPrivateIP", err)
	}
}
