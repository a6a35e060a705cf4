package idempotency

// parseKey returns the key carried by an Idempotency-Key field value: a
// Structured Field String (RFC 8941, "..." with \" and \\ escapes) as the
// draft specifies, or, as many clients send, a bare run of visible ASCII
// characters. It reports false for anything else, and for an empty key.
func parseKey(v string) (string, bool) {
	v = trimOWS(v)
	if v == "" {
		return "", false
	}
	if v[0] != '"' {
		for i := 0; i < len(v); i++ {
			if v[i] <= ' ' || v[i] > '~' {
				return "", false
			}
		}
		return v, true
	}
	// Without escapes the key is a substring of v and costs no allocation.
	var buf []byte
	for i := 1; i < len(v); i++ {
		switch ch := v[i]; {
		case ch == '"':
			if i != len(v)-1 || i == 1 {
				return "", false // trailing data, parameters, or an empty key
			}
			if buf == nil {
				return v[1:i], true
			}
			return string(buf), true
		case ch == '\\':
			if i+1 >= len(v) || (v[i+1] != '"' && v[i+1] != '\\') {
				return "", false
			}
			if buf == nil {
				buf = append(make([]byte, 0, len(v)), v[1:i]...)
			}
			i++
			buf = append(buf, v[i])
		case ch < ' ' || ch > '~':
			return "", false
		default:
			if buf != nil {
				buf = append(buf, ch)
			}
		}
	}
	return "", false // no closing quote
}

func trimOWS(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}
