package history

import (
	"errors"
	"fmt"
	"hash/crc32"
	"strconv"
	"strings"
	"time"
)

// The file format: one record per line, "PAYLOAD CRC\n", where CRC is the
// CRC-32 (IEEE) of PAYLOAD in 8 hex digits and PAYLOAD is one of
//
//	m UNIX u|d             a minute sample: the check was up or down
//	h UNIX UP TOTAL        an hour compacted: UP of TOTAL sampled minutes were up
//	t UNIX u|d "ERROR"     a transition, with the check's error (Go-quoted)
//
// UNIX is the start of the minute or hour, or the transition's time, in
// seconds. A line that does not end in "\n" or whose CRC does not match
// (a torn write) is skipped.

// record is one decoded line.
type record struct {
	kind  byte // 'm', 'h' or 't'
	at    int64
	up    bool
	upN   int // 'h'
	total int // 'h'
	err   string
}

var errBadLine = errors.New("malformed history line")

func encode(r record) string {
	var p string
	switch r.kind {
	case 'm':
		p = fmt.Sprintf("m %d %s", r.at, upChar(r.up))
	case 'h':
		p = fmt.Sprintf("h %d %d %d", r.at, r.upN, r.total)
	case 't':
		p = fmt.Sprintf("t %d %s %s", r.at, upChar(r.up), strconv.Quote(r.err))
	}
	return fmt.Sprintf("%s %08x\n", p, crc32.ChecksumIEEE([]byte(p)))
}

func upChar(up bool) string {
	if up {
		return "u"
	}
	return "d"
}

// decode parses one line without its "\n".
func decode(line string) (record, error) {
	i := strings.LastIndexByte(line, ' ')
	if i < 0 {
		return record{}, errBadLine
	}
	payload, sum := line[:i], line[i+1:]
	want, err := strconv.ParseUint(sum, 16, 32)
	if err != nil || len(sum) != 8 || uint32(want) != crc32.ChecksumIEEE([]byte(payload)) {
		return record{}, errBadLine
	}
	f := strings.SplitN(payload, " ", 4)
	if len(f) < 3 || len(f[0]) != 1 {
		return record{}, errBadLine
	}
	r := record{kind: f[0][0]}
	if r.at, err = strconv.ParseInt(f[1], 10, 64); err != nil {
		return record{}, errBadLine
	}
	switch {
	case r.kind == 'm' && len(f) == 3:
		return r, parseUp(f[2], &r.up)
	case r.kind == 'h' && len(f) == 4:
		r.upN, err = strconv.Atoi(f[2])
		if err == nil {
			r.total, err = strconv.Atoi(f[3])
		}
		if err != nil || r.upN < 0 || r.total < r.upN {
			return record{}, errBadLine
		}
		return r, nil
	case r.kind == 't' && len(f) == 4:
		if err := parseUp(f[2], &r.up); err != nil {
			return record{}, err
		}
		r.err, err = strconv.Unquote(f[3])
		if err != nil {
			return record{}, errBadLine
		}
		return r, nil
	}
	return record{}, errBadLine
}

func parseUp(s string, up *bool) error {
	switch s {
	case "u":
		*up = true
	case "d":
		*up = false
	default:
		return errBadLine
	}
	return nil
}

// unixTime is t in seconds, as written.
func unixTime(t time.Time) int64 { return t.Unix() }
