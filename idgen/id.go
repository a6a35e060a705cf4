package idgen

import (
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"strconv"
)

// An ID is a 63-bit snowflake ID; the sign bit is always zero. IDs of one
// generator increase with time; IDs of different workers interleave by tick.
// Its fields depend on the Layout it was made with: decode it with
// Layout.Decode or Snowflake.Decode. The zero ID is never issued under the
// default layout after its epoch, and is handy as "no ID".
//
// An ID marshals to JSON as a decimal string ("1234"), because JavaScript
// numbers lose integers above 2^53; use NumericID for a JSON number. As text
// and in SQL it is its decimal value.
type ID int64

// Int64 returns id as an int64.
func (id ID) Int64() int64 { return int64(id) }

// String returns id in decimal.
func (id ID) String() string { return strconv.FormatInt(int64(id), 10) }

// ParseID parses the decimal form of an ID, as String writes it: digits only,
// no sign, at most 2^63-1. Its error wraps ErrInvalidID.
func ParseID(s string) (ID, error) {
	if s == "" {
		return 0, fmt.Errorf("%w: empty decimal string", ErrInvalidID)
	}
	var v uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("%w: %q: invalid decimal character %q at offset %d", ErrInvalidID, s, c, i)
		}
		if v > (1<<63-1)/10 || (v == (1<<63-1)/10 && c-'0' > 7) {
			return 0, fmt.Errorf("%w: %q: out of range (max 9223372036854775807)", ErrInvalidID, s)
		}
		v = v*10 + uint64(c-'0')
	}
	return ID(v), nil
}

// crockford is Crockford's base32 alphabet, in ASCII order.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// Base32Len is the length of every ID's base32 form.
const Base32Len = 13

// Base32 returns id in Crockford's base32, upper case, zero-padded to
// Base32Len characters, so that the strings sort as the IDs do.
func (id ID) Base32() string {
	var b [Base32Len]byte
	return string(id.AppendBase32(b[:0]))
}

// AppendBase32 appends the Base32 form of id to dst and returns the result.
func (id ID) AppendBase32(dst []byte) []byte {
	v := uint64(id)
	var b [Base32Len]byte
	for i := Base32Len - 1; i >= 0; i-- {
		b[i] = crockford[v&31]
		v >>= 5
	}
	return append(dst, b[:]...)
}

var crockfordDec = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for i := 0; i < len(crockford); i++ {
		t[crockford[i]] = byte(i)
		t[crockford[i]|0x20] = byte(i) // lower case; digits are unchanged
	}
	// Crockford's aliases for characters easily misread.
	for _, c := range "oO" {
		t[c] = 0
	}
	for _, c := range "iIlL" {
		t[c] = 1
	}
	return t
}()

// ParseBase32 parses Crockford base32 of 1 to Base32Len characters, case
// insensitive, reading O as 0 and I and L as 1 as Crockford specifies. Its
// error wraps ErrInvalidID and names the offending character.
func ParseBase32(s string) (ID, error) {
	if s == "" || len(s) > Base32Len {
		return 0, fmt.Errorf("%w: base32 %q: length %d; want 1 to %d", ErrInvalidID, s, len(s), Base32Len)
	}
	var v uint64
	for i := 0; i < len(s); i++ {
		d := crockfordDec[s[i]]
		if d == 0xff {
			return 0, fmt.Errorf("%w: base32 %q: invalid character %q at offset %d", ErrInvalidID, s, s[i], i)
		}
		if v>>58 != 0 {
			return 0, fmt.Errorf("%w: base32 %q: out of range", ErrInvalidID, s)
		}
		v = v<<5 | uint64(d)
	}
	if v>>63 != 0 {
		return 0, fmt.Errorf("%w: base32 %q: out of range", ErrInvalidID, s)
	}
	return ID(v), nil
}

// base58 is the Bitcoin base58 alphabet, in ASCII order.
const base58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

// Base58Len is the length of every ID's base58 form.
const Base58Len = 11

// Base58 returns id in base58 with the Bitcoin alphabet, padded with '1' (the
// zero digit) to Base58Len characters, so that the strings sort as the IDs
// do. It is the shortest of the forms.
func (id ID) Base58() string {
	var b [Base58Len]byte
	return string(id.AppendBase58(b[:0]))
}

// AppendBase58 appends the Base58 form of id to dst and returns the result.
func (id ID) AppendBase58(dst []byte) []byte {
	v := uint64(id)
	var b [Base58Len]byte
	for i := Base58Len - 1; i >= 0; i-- {
		b[i] = base58[v%58]
		v /= 58
	}
	return append(dst, b[:]...)
}

var base58Dec = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for i := 0; i < len(base58); i++ {
		t[base58[i]] = byte(i)
	}
	return t
}()

// ParseBase58 parses base58 (Bitcoin alphabet, case sensitive) of 1 to
// Base58Len characters. Its error wraps ErrInvalidID and names the offending
// character.
func ParseBase58(s string) (ID, error) {
	if s == "" || len(s) > Base58Len {
		return 0, fmt.Errorf("%w: base58 %q: length %d; want 1 to %d", ErrInvalidID, s, len(s), Base58Len)
	}
	var v uint64
	for i := 0; i < len(s); i++ {
		d := base58Dec[s[i]]
		if d == 0xff {
			return 0, fmt.Errorf("%w: base58 %q: invalid character %q at offset %d", ErrInvalidID, s, s[i], i)
		}
		if v > (1<<63-1-uint64(d))/58 {
			return 0, fmt.Errorf("%w: base58 %q: out of range", ErrInvalidID, s)
		}
		v = v*58 + uint64(d)
	}
	return ID(v), nil
}

// Base36 returns id in base36, lower case and without padding, as
// strconv.FormatInt(id, 36) and bwmarrin/snowflake's Base36 write it. Unlike
// Base32 and Base58, its strings do not sort as the IDs do.
func (id ID) Base36() string { return strconv.FormatInt(int64(id), 36) }

// AppendBase36 appends the Base36 form of id to dst and returns the result.
func (id ID) AppendBase36(dst []byte) []byte { return strconv.AppendInt(dst, int64(id), 36) }

// Base36MaxLen is the length of the longest base36 form of an ID.
const Base36MaxLen = 13

// ParseBase36 parses base36 of 1 to Base36MaxLen characters, digits and
// letters of either case, leading zeros allowed, no sign: what Base36 and
// bwmarrin/snowflake's Base36 write. Its error wraps ErrInvalidID and names
// the offending character.
func ParseBase36(s string) (ID, error) {
	if s == "" || len(s) > Base36MaxLen {
		return 0, fmt.Errorf("%w: base36 %q: length %d; want 1 to %d", ErrInvalidID, s, len(s), Base36MaxLen)
	}
	var v uint64
	for i := 0; i < len(s); i++ {
		var d uint64
		switch c := s[i] | 0x20; { // lower case; digits are unchanged
		case '0' <= s[i] && s[i] <= '9':
			d = uint64(s[i] - '0')
		case 'a' <= c && c <= 'z':
			d = uint64(c-'a') + 10
		default:
			return 0, fmt.Errorf("%w: base36 %q: invalid character %q at offset %d", ErrInvalidID, s, s[i], i)
		}
		if v > (1<<63-1-d)/36 {
			return 0, fmt.Errorf("%w: base36 %q: out of range", ErrInvalidID, s)
		}
		v = v*36 + d
	}
	return ID(v), nil
}

// MarshalText returns id in decimal. It implements encoding.TextMarshaler.
func (id ID) MarshalText() ([]byte, error) { return strconv.AppendInt(nil, int64(id), 10), nil }

// AppendText appends id in decimal to b. It implements encoding.TextAppender.
func (id ID) AppendText(b []byte) ([]byte, error) { return strconv.AppendInt(b, int64(id), 10), nil }

// UnmarshalText parses id from decimal as ParseID does. It implements
// encoding.TextUnmarshaler.
func (id *ID) UnmarshalText(b []byte) error {
	v, err := ParseID(string(b))
	if err != nil {
		return err
	}
	*id = v
	return nil
}

// MarshalJSON returns id as a JSON string of its decimal form.
func (id ID) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 21)
	b = append(b, '"')
	b = strconv.AppendInt(b, int64(id), 10)
	return append(b, '"'), nil
}

// UnmarshalJSON reads id from a JSON string of its decimal form, or from a
// JSON number (integer) for peers that send numbers. Its error wraps
// ErrInvalidID.
func (id *ID) UnmarshalJSON(b []byte) error {
	s := string(b)
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		s = s[1 : len(s)-1]
	} else if s == "null" {
		return fmt.Errorf("%w: JSON null", ErrInvalidID)
	}
	v, err := ParseID(s)
	if err != nil {
		return err
	}
	*id = v
	return nil
}

// Value returns id as an int64. It implements driver.Valuer.
func (id ID) Value() (driver.Value, error) { return int64(id), nil }

// Scan reads id from an int64, or from decimal text as string or []byte. It
// implements sql.Scanner. NULL and negative numbers are errors wrapping
// ErrInvalidID; scan into sql.Null[ID] for a nullable column.
func (id *ID) Scan(src any) error {
	switch v := src.(type) {
	case int64:
		if v < 0 {
			return fmt.Errorf("%w: negative %d", ErrInvalidID, v)
		}
		*id = ID(v)
		return nil
	case string:
		return id.UnmarshalText([]byte(v))
	case []byte:
		return id.UnmarshalText(v)
	case nil:
		return fmt.Errorf("%w: NULL", ErrInvalidID)
	}
	return fmt.Errorf("%w: cannot scan %T", ErrInvalidID, src)
}

// A NumericID is an ID that marshals to JSON as a number, for consumers that
// read 64-bit integers exactly (Go, Java); JavaScript's JSON.parse does not.
// Convert with NumericID(id) and ID(n).
type NumericID ID

// MarshalJSON returns n as a JSON number.
func (n NumericID) MarshalJSON() ([]byte, error) { return strconv.AppendInt(nil, int64(n), 10), nil }

// UnmarshalJSON reads n from a JSON number or a JSON string of decimal
// digits. Its error wraps ErrInvalidID.
func (n *NumericID) UnmarshalJSON(b []byte) error { return (*ID)(n).UnmarshalJSON(b) }

// String returns n in decimal.
func (n NumericID) String() string { return ID(n).String() }

var (
	_ json.Marshaler   = ID(0)
	_ json.Unmarshaler = (*ID)(nil)
	_ driver.Valuer    = ID(0)
)
