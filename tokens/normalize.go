package tokens

import "strings"

// Normalising a value the way a vendor's checker reads it. A TXT value
// reaches ClassifyAt as miekg/dns presents it: character-strings with
// presentation escapes ("\"" for a quote, "\\" for a backslash, "\DDD" for
// a byte outside printable ASCII; records read from a zone file keep the
// escapes of the file, "\=" or "\077" included). Vendors' checkers read the
// bytes, trim them and often forgive quotes and blanks an operator's
// copy-and-paste left behind, so "google-site-verification =abc",
// " MS=ms123" and "\"MS=ms123\"" verify as well as the plain forms and must
// be recognised as well. The normal form is: the character-strings
// concatenated, escapes resolved, surrounding blanks trimmed, one layer of
// surrounding quotes (" or ') removed, the blanks around the first key
// delimiter ('=' or ':') removed.

// normalizer builds the normal form of a value byte by byte.
type normalizer struct {
	buf     []byte // the normal form so far is buf[:len]; never grown, so that a buffer on the caller's stack stays there
	len     int
	limit   int  // stop once len reaches this (at most len(buf))
	tail    int  // how far beyond the key delimiter the head reaches; < 0: no bound
	lower   bool // fold ASCII letters to lower case
	state   uint8
	quote   byte // the opening quote removed, 0 if none
	blankAt int  // where the blanks held in the key start, -1 if none
	delim   int  // index of the key delimiter in dst, -1 if none yet
	changed bool // the normal form differs from the plain concatenation
}

const (
	nLead  = iota // before the value: blanks and one opening quote are dropped
	nKey          // in the key, before the first delimiter
	nAfter        // just after the delimiter: blanks are dropped
	nRest
)

func isBlank(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

func isQuote(c byte) bool { return c == '"' || c == '\'' }

// push adds one byte of the resolved value; it reports whether more are
// wanted.
func (n *normalizer) push(c byte) bool {
	if n.lower && 'A' <= c && c <= 'Z' {
		c += 'a' - 'A'
	}
	switch n.state {
	case nLead:
		if isBlank(c) {
			n.changed = true
			return true
		}
		if isQuote(c) && n.quote == 0 {
			n.quote, n.changed = c, true
			return true
		}
		n.state = nKey
		fallthrough
	case nKey:
		switch {
		case isBlank(c):
			if n.blankAt < 0 {
				n.blankAt = n.len
			}
		case c == '=' || c == ':':
			if n.blankAt >= 0 {
				n.len, n.changed = n.blankAt, true
			}
			n.delim, n.state = n.len, nAfter
			if n.tail >= 0 {
				n.limit = min(n.limit, n.delim+1+n.tail)
			}
		default:
			n.blankAt = -1
		}
	case nAfter:
		if isBlank(c) {
			n.changed = true
			return true
		}
		n.state = nRest
	}
	n.buf[n.len] = c
	n.len++
	return n.len < n.limit
}

// add pushes the bytes of one character-string, resolving its escapes; it
// reports whether more are wanted.
func (n *normalizer) add(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\\' && i+1 < len(s) {
			n.changed = true
			if i+3 < len(s) && isDigit(s[i+1]) && isDigit(s[i+2]) && isDigit(s[i+3]) {
				if d := int(s[i+1]-'0')*100 + int(s[i+2]-'0')*10 + int(s[i+3]-'0'); d <= 255 {
					c, i = byte(d), i+3
					if !n.push(c) {
						return false
					}
					continue
				}
			}
			c, i = s[i+1], i+1
		}
		if !n.push(c) {
			return false
		}
	}
	return true
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// normHead appends to dst the lower-cased head of the normal form of txt:
// up to the first key delimiter and tail bytes beyond it, at most headLen
// bytes. It returns the head, the delimiter's index in it or -1, and
// whether the normal form differs from the plain concatenation in the head.
func normHead(dst []byte, txt []string, tail int) ([]byte, int, bool) {
	if len(txt) == 1 {
		if h, d, ok := lowerHeadOne(dst, txt[0], tail); ok {
			return h, d, false
		}
	}
	n := normalizer{buf: dst[len(dst):cap(dst)], limit: min(headLen, cap(dst)-len(dst)), tail: tail, lower: true, blankAt: -1, delim: -1}
	for _, s := range txt {
		if !n.add(s) {
			break
		}
	}
	if n.state == nKey && n.blankAt >= 0 && n.len < n.limit {
		n.len = n.blankAt // trailing blanks of a value without a key
	}
	return dst[:len(dst)+n.len], n.delim, n.changed
}

// needsNorm reports whether the whole value differs from its normal form
// somewhere the head does not show: an escape, or a blank or quote at its
// end.
func needsNorm(txt []string) bool {
	for _, s := range txt {
		if strings.IndexByte(s, '\\') >= 0 {
			return true
		}
	}
	for i := len(txt) - 1; i >= 0; i-- {
		if s := txt[i]; s != "" {
			return isBlank(s[len(s)-1]) || isQuote(s[len(s)-1])
		}
	}
	return false
}

// normalize returns the normal form of the value with character-strings
// txt, in its own case: what regular-expression rules are matched against.
func normalize(txt []string) string {
	size := 0
	for _, s := range txt {
		size += len(s)
	}
	if size == 0 {
		return ""
	}
	// Escapes only shrink and the rest only drops bytes: the normal form
	// is never longer than the concatenation.
	n := normalizer{buf: make([]byte, size), limit: size, tail: -1, blankAt: -1, delim: -1}
	for _, s := range txt {
		n.add(s)
	}
	v := n.buf[:n.len]
	for len(v) > 0 && isBlank(v[len(v)-1]) {
		v = v[:len(v)-1]
	}
	if n.quote != 0 && len(v) > 0 && v[len(v)-1] == n.quote {
		v = v[:len(v)-1]
		for len(v) > 0 && isBlank(v[len(v)-1]) {
			v = v[:len(v)-1]
		}
	}
	return string(v)
}
