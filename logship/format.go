package logship

import (
	"bytes"
	"strconv"
	"time"
)

// Syslog facilities (RFC 5424 §6.2.1): events are "daemon", access lines
// "local7", the facility nginx uses for its syslog access log.
const (
	facilityDaemon = 3
	facilityLocal7 = 23
)

// sdID is the structured-data element that carries the request id. 32473
// is the private enterprise number RFC 5612 reserves for documentation and
// examples; rsyslog and journald accept any well-formed SD-ID.
const sdID = "edge@32473"

// Kind tells an access line from an event.
type Kind uint8

// Kinds of lines.
const (
	Event Kind = iota
	Access
)

// msgID is the MSGID field: "access" or "event".
func (k Kind) msgID() string {
	if k == Access {
		return "access"
	}
	return "event"
}

func (k Kind) facility() int {
	if k == Access {
		return facilityLocal7
	}
	return facilityDaemon
}

// header holds the fixed fields of every message.
type header struct {
	hostname string // RFC 5424 HOSTNAME: printable US-ASCII, at most 255
	procID   string
}

// newHeader cleans hostname into a valid HOSTNAME ("-" when empty).
func newHeader(hostname string, pid int) header {
	return header{hostname: printable(hostname, 255), procID: strconv.Itoa(pid)}
}

// printable keeps the printable US-ASCII characters but space (RFC 5424
// PRINTUSASCII), at most max of them; "-" (the NILVALUE) when none.
func printable(s string, max int) string {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s) && len(b) < max; i++ {
		if c := s[i]; c > 32 && c < 127 {
			b = append(b, c)
		}
	}
	if len(b) == 0 {
		return "-"
	}
	return string(b)
}

// appendMessage appends the RFC 5424 message for one JSON log line:
//
//	<PRI>1 TIMESTAMP HOSTNAME edge PROCID MSGID [edge@32473 request_id="..."] JSON
//
// The severity comes from the line's "level", the request id from its
// "request_id" (no structured data without one). A trailing newline of
// line is left out.
func (h header) appendMessage(dst []byte, k Kind, t time.Time, line []byte) []byte {
	line = bytes.TrimRight(line, "\n")
	dst = append(dst, '<')
	dst = strconv.AppendInt(dst, int64(k.facility()*8+severity(line)), 10)
	dst = append(dst, ">1 "...)
	dst = t.UTC().AppendFormat(dst, "2006-01-02T15:04:05.000000Z07:00")
	dst = append(dst, ' ')
	dst = append(dst, h.hostname...)
	dst = append(dst, " edge "...)
	dst = append(dst, h.procID...)
	dst = append(dst, ' ')
	dst = append(dst, k.msgID()...)
	dst = append(dst, ' ')
	if id := jsonString(line, `"request_id":"`); len(id) > 0 {
		dst = append(dst, "["+sdID+` request_id="`...)
		dst = appendParamValue(dst, id)
		dst = append(dst, `"] `...)
	} else {
		dst = append(dst, "- "...)
	}
	return append(dst, line...)
}

// severity maps the line's "level" to a syslog severity: ERROR 3,
// WARN 4, INFO 6, DEBUG 7 (as journald's PRIORITY); info when absent.
// slog writes level names with an offset ("ERROR+2") above the four.
func severity(line []byte) int {
	lv := jsonString(line, `"level":"`)
	switch {
	case bytes.HasPrefix(lv, []byte("ERROR")):
		return 3
	case bytes.HasPrefix(lv, []byte("WARN")):
		return 4
	case bytes.HasPrefix(lv, []byte("DEBUG")):
		return 7
	}
	return 6
}

// jsonString returns the raw (still escaped) string value that follows
// key (`"name":"`) in a JSON line, or nil.
func jsonString(line []byte, key string) []byte {
	i := bytes.Index(line, []byte(key))
	if i < 0 {
		return nil
	}
	v := line[i+len(key):]
	for j := 0; j < len(v); j++ {
		switch v[j] {
		case '\\':
			j++
		case '"':
			return v[:j]
		}
	}
	return nil
}

// appendParamValue escapes '"', '\' and ']' as RFC 5424 §6.3.3 requires.
func appendParamValue(dst, v []byte) []byte {
	for _, c := range v {
		if c == '"' || c == '\\' || c == ']' {
			dst = append(dst, '\\')
		}
		dst = append(dst, c)
	}
	return dst
}

// appendFrame appends msg with RFC 5425 octet-counting: "LEN SP MSG".
func appendFrame(dst, msg []byte) []byte {
	dst = strconv.AppendInt(dst, int64(len(msg)), 10)
	dst = append(dst, ' ')
	return append(dst, msg...)
}
