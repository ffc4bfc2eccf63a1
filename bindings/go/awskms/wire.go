package awskms

import (
	"encoding/json"
	"errors"
	"reflect"
	"strconv"
	"unicode/utf8"
)

// The hot operations' AWS JSON, by hand: encoding/json scans every byte of a 4 KiB blob's
// base64 twice (validation, then decoding) and the generic path round-trips the input
// through a map, which made the adapter ~20× slower than the call it wraps. Requests are
// built member by member into one buffer; responses of these operations are flat objects,
// read by a small scanner that slices the members out and base64-decodes blobs straight into
// the output. Anything unexpected (a nested member) falls back to encoding/json.

// body builds a JSON object.
type body struct {
	b []byte
}

func newBody(capacity int) *body {
	w := &body{b: make([]byte, 1, capacity)}
	w.b[0] = '{'
	return w
}

func (w *body) key(name string) {
	if len(w.b) > 1 {
		w.b = append(w.b, ',')
	}
	w.b = append(w.b, '"')
	w.b = append(w.b, name...)
	w.b = append(w.b, '"', ':')
}

// appendString appends s as a JSON string.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= utf8.RuneSelf {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

func (w *body) str(name string, v *string) {
	if v != nil {
		w.key(name)
		w.b = appendString(w.b, *v)
	}
}

func (w *body) enum(name, v string) {
	if v != "" {
		w.key(name)
		w.b = appendString(w.b, v)
	}
}

func (w *body) blob(name string, v []byte) {
	if v != nil {
		w.key(name)
		w.b = append(w.b, '"')
		w.b = b64.AppendEncode(w.b, v)
		w.b = append(w.b, '"')
	}
}

func (w *body) context(name string, m map[string]string) {
	if m != nil {
		w.key(name)
		w.b = append(w.b, '{')
		first := true
		for k, v := range m {
			if !first {
				w.b = append(w.b, ',')
			}
			first = false
			w.b = appendString(w.b, k)
			w.b = append(w.b, ':')
			w.b = appendString(w.b, v)
		}
		w.b = append(w.b, '}')
	}
}

func (w *body) strs(name string, v []string) {
	if v != nil {
		w.key(name)
		w.b = append(w.b, '[')
		for i, s := range v {
			if i > 0 {
				w.b = append(w.b, ',')
			}
			w.b = appendString(w.b, s)
		}
		w.b = append(w.b, ']')
	}
}

func (w *body) boolean(name string, v *bool) {
	if v != nil {
		w.key(name)
		w.b = strconv.AppendBool(w.b, *v)
	}
}

func (w *body) int32(name string, v *int32) {
	if v != nil {
		w.key(name)
		w.b = strconv.AppendInt(w.b, int64(*v), 10)
	}
}

// secretBlob appends the last member, a plaintext, after making room for it and the closing
// brace in one step, so the buffer is never reallocated with plaintext in it; the caller
// clears w.b after the call.
func (w *body) secretBlob(name string, v []byte) {
	if v == nil {
		return
	}
	need := len(name) + 6 + b64.EncodedLen(len(v)) + 1
	if cap(w.b)-len(w.b) < need {
		nb := make([]byte, len(w.b), len(w.b)+need)
		copy(nb, w.b) // no plaintext yet: nothing to clear in the old buffer
		w.b = nb
	}
	w.blob(name, v)
}

func (w *body) done() []byte { return append(w.b, '}') }

// member is one member of a flat response object: its name and raw value (a string's
// contents without the quotes, or a literal).
type member struct {
	name    []byte
	value   []byte
	escaped bool // a string with backslash escapes
	quoted  bool // a string (else a literal: number, true, false, null)
}

// scanFlat reads a flat JSON object (string, number, true/false/null members) and calls f
// for each member; ok is false for anything else (the caller falls back to encoding/json).
func scanFlat(b []byte, f func(m member) bool) (ok bool) {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return false
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return skipSpace(b, i+1) == len(b)
	}
	for {
		var m member
		var esc bool
		m.name, i, esc = scanString(b, i)
		if m.name == nil || esc {
			return false
		}
		i = skipSpace(b, i)
		if i >= len(b) || b[i] != ':' {
			return false
		}
		i = skipSpace(b, i+1)
		if i >= len(b) {
			return false
		}
		switch c := b[i]; {
		case c == '"':
			m.value, i, m.escaped = scanString(b, i)
			if m.value == nil {
				return false
			}
			m.quoted = true
		case c == '{' || c == '[':
			return false
		default:
			start := i
			for i < len(b) && b[i] != ',' && b[i] != '}' && b[i] != ' ' && b[i] != '\n' && b[i] != '\t' && b[i] != '\r' {
				i++
			}
			m.value = b[start:i]
		}
		if !f(m) {
			return false
		}
		i = skipSpace(b, i)
		if i >= len(b) {
			return false
		}
		if b[i] == '}' {
			return skipSpace(b, i+1) == len(b)
		}
		if b[i] != ',' {
			return false
		}
		i = skipSpace(b, i+1)
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\t' || b[i] == '\r') {
		i++
	}
	return i
}

// scanString reads the string starting at b[i] == '"': its contents (non-nil, possibly
// empty), the index after the closing quote, and whether it has escapes.
func scanString(b []byte, i int) ([]byte, int, bool) {
	if i >= len(b) || b[i] != '"' {
		return nil, i, false
	}
	start := i + 1
	esc := false
	for j := start; j < len(b); j++ {
		switch b[j] {
		case '\\':
			esc = true
			j++
		case '"':
			return b[start:j:j], j + 1, esc
		}
	}
	return nil, i, false
}

// text is a string member's value.
func (m member) text() (*string, error) {
	if m.escaped {
		var s string
		q := make([]byte, 0, len(m.value)+2)
		q = append(append(append(q, '"'), m.value...), '"')
		if err := json.Unmarshal(q, &s); err != nil {
			return nil, err
		}
		return &s, nil
	}
	s := string(m.value)
	return &s, nil
}

// bytes is a blob member's value, base64-decoded straight into a new slice.
func (m member) bytes() ([]byte, error) {
	if m.escaped {
		return nil, errEscaped
	}
	out := make([]byte, b64.DecodedLen(len(m.value)))
	n, err := b64.Decode(out, m.value)
	if err != nil {
		clear(out)
		return nil, err
	}
	return out[:n:n], nil
}

func (m member) is(name string) bool { return string(m.name) == name }

var errEscaped = errors.New("escaped blob")

// setField stores a member into the field of the same name of out (an SDK output struct):
// a blob into a []byte field, a string into a *string field or an enum (a string type).
// Members the struct lacks, and literals such as null, leave it unchanged; a member of any
// other kind is an error (the caller falls back to encoding/json).
func setField(out reflect.Value, m member) error {
	f := out.FieldByName(string(m.name))
	if !f.IsValid() || !m.quoted {
		return nil
	}
	switch t := f.Type(); {
	case !f.CanSet():
		return errNotFlat
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8:
		b, err := m.bytes()
		if err != nil {
			return err
		}
		f.SetBytes(b)
	case t.Kind() == reflect.Pointer && t.Elem().Kind() == reflect.String:
		s, err := m.text()
		if err != nil {
			return err
		}
		f.Set(reflect.ValueOf(s))
	case t.Kind() == reflect.String:
		s, err := m.text()
		if err != nil {
			return err
		}
		f.SetString(*s)
	default:
		return errNotFlat
	}
	return nil
}

var errNotFlat = errors.New("member of a kind the flat decoder does not set")

// decodeFlat fills an SDK output struct from a flat response, member by member (setField),
// or, when the response is not flat or a member does not decode, with encoding/json;
// clearSecrets zeroes any plaintext a failed first attempt decoded.
func decodeFlat[O any](resp []byte, clearSecrets func(out *O)) (*O, error) {
	out := new(O)
	v := reflect.ValueOf(out).Elem()
	ok := scanFlat(resp, func(m member) bool { return setField(v, m) == nil })
	if ok {
		return out, nil
	}
	if clearSecrets != nil {
		clearSecrets(out)
	}
	out = new(O)
	if err := json.Unmarshal(resp, out); err != nil {
		return nil, err
	}
	return out, nil
}
