package proxy

import (
	"bufio"
	"io"
	"net/http"
	"net/textproto"
	"strings"
)

// framingError is a response edge refuses to pass on because its framing
// is malformed or ambiguous; the client gets 502, or a cut connection when
// the response has already started.
type framingError string

// Error implements error.
func (e framingError) Error() string { return "malformed upstream response: " + string(e) }

func errFraming(reason string) error { return framingError(reason) }

// scanHead looks for the empty line that ends a response head in buf,
// from index from on. It returns the length of the head with its empty
// line, or 0 when more bytes are needed, and refuses a bare LF, a bare CR
// and NUL anywhere in the head.
func scanHead(buf []byte, from int) (int, error) {
	for i := from; i < len(buf); i++ {
		switch buf[i] {
		case '\n':
			if i == 0 || buf[i-1] != '\r' {
				return 0, errFraming("bare LF in response head")
			}
			if i >= 3 && buf[i-2] == '\n' {
				return i + 1, nil
			}
			if i == 1 {
				return 0, errFraming("empty status line")
			}
		case '\r':
			if i+1 < len(buf) && buf[i+1] != '\n' {
				return 0, errFraming("bare CR in response head")
			}
		case 0:
			return 0, errFraming("NUL in response head")
		}
	}
	return 0, nil
}

// chunkedTE is the TransferEncoding of a chunked response.
var chunkedTE = []string{"chunked"}

// parseHead parses a response head (as scanHead delimited it) to req. It
// reports whether the connection may be reused after the body.
func parseHead(block string, req *http.Request) (*http.Response, bool, error) {
	line, rest, _ := strings.Cut(block, "\r\n")
	res := &http.Response{ProtoMajor: 1}
	if err := parseStatusLine(line, res); err != nil {
		return nil, false, err
	}
	n := strings.Count(rest, "\r\n")
	h := make(http.Header, n)
	vals := make([]string, n)
	for i := 0; ; i++ {
		line, rest, _ = strings.Cut(rest, "\r\n")
		if line == "" {
			break
		}
		k, v, err := parseField(line)
		if err != nil {
			return nil, false, err
		}
		vals[i] = v
		if prior, ok := h[k]; ok {
			h[k] = append(prior, v)
		} else {
			h[k] = vals[i : i+1 : i+1]
		}
	}
	res.Header = h
	if err := framing(res, req); err != nil {
		return nil, false, err
	}
	keep := res.ProtoMinor == 1 && !hasToken(h["Connection"], "close")
	if (res.StatusCode == http.StatusNoContent || res.StatusCode == http.StatusNotModified) &&
		(res.ContentLength > 0 || res.TransferEncoding != nil) {
		keep = false // a body may follow that must not be read as the next response
	}
	return res, keep, nil
}

// parseStatusLine parses "HTTP/1.x DDD reason".
func parseStatusLine(line string, res *http.Response) error {
	if len(line) < 12 || line[:7] != "HTTP/1." || (line[7] != '0' && line[7] != '1') || line[8] != ' ' {
		return errFraming("bad status line")
	}
	code := 0
	for _, c := range []byte(line[9:12]) {
		if c < '0' || c > '9' {
			return errFraming("bad status code")
		}
		code = code*10 + int(c-'0')
	}
	if code < 100 {
		return errFraming("bad status code")
	}
	if len(line) > 12 && (line[12] != ' ' || !validValue(line[13:])) {
		return errFraming("bad reason phrase")
	}
	res.Proto, res.ProtoMinor, res.StatusCode, res.Status = line[:8], int(line[7]-'0'), code, line[9:]
	return nil
}

// parseField parses one "name: value" line: the name a token directly
// followed by the colon, the value without surrounding whitespace and
// without control characters other than HTAB.
func parseField(line string) (string, string, error) {
	if line[0] == ' ' || line[0] == '\t' {
		return "", "", errFraming("obs-fold (line folding)")
	}
	colon := strings.IndexByte(line, ':')
	if colon <= 0 {
		return "", "", errFraming("field line without a name and colon")
	}
	name := line[:colon]
	for i := 0; i < len(name); i++ {
		if !isTokenChar(name[i]) {
			return "", "", errFraming("invalid field name " + quoteShort(name) + " (whitespace before the colon?)")
		}
	}
	v := strings.Trim(line[colon+1:], " \t")
	if !validValue(v) {
		return "", "", errFraming("control character in field " + quoteShort(name))
	}
	return canonicalKey(name), v, nil
}

// framing applies RFC 9112 6 to res: one Transfer-Encoding, "chunked", in
// HTTP/1.1 only and never with Content-Length; Content-Length a plain
// decimal, repeated only with the same value.
func framing(res *http.Response, req *http.Request) error {
	h := res.Header
	cl := h["Content-Length"]
	if te, ok := h["Transfer-Encoding"]; ok {
		switch {
		case len(te) != 1 || !strings.EqualFold(te[0], "chunked"):
			return errFraming("Transfer-Encoding other than a single \"chunked\"")
		case res.ProtoMinor == 0:
			return errFraming("Transfer-Encoding in an HTTP/1.0 response")
		case cl != nil:
			return errFraming("both Content-Length and Transfer-Encoding")
		}
		delete(h, "Transfer-Encoding")
		res.TransferEncoding = chunkedTE
		res.ContentLength = -1
		return announcedTrailers(res)
	}
	res.ContentLength = -1
	if cl == nil {
		return nil
	}
	for _, v := range cl[1:] {
		if v != cl[0] {
			return errFraming("different Content-Length values")
		}
	}
	n, ok := parseDecimal(cl[0])
	if !ok {
		return errFraming("Content-Length " + quoteShort(cl[0]) + " is not a plain decimal")
	}
	h["Content-Length"] = cl[:1]
	res.ContentLength = n
	return nil
}

// announcedTrailers fills res.Trailer with the keys of the Trailer field,
// as net/http does, for ReverseProxy to announce them.
func announcedTrailers(res *http.Response) error {
	for _, v := range res.Header["Trailer"] {
		for _, k := range strings.Split(v, ",") {
			k = strings.Trim(k, " \t")
			if k == "" {
				continue
			}
			if res.Trailer == nil {
				res.Trailer = http.Header{}
			}
			res.Trailer[canonicalKey(k)] = nil
		}
	}
	return nil
}

// parseDecimal parses 1*DIGIT up to 18 digits.
func parseDecimal(s string) (int64, bool) {
	if s == "" || len(s) > 18 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// hasToken reports whether a comma-separated field holds token.
func hasToken(vals []string, token string) bool {
	for _, v := range vals {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.Trim(t, " \t"), token) {
				return true
			}
		}
	}
	return false
}

// isTokenChar reports whether c may appear in a token (RFC 9110 5.6.2).
func isTokenChar(c byte) bool {
	return c < 0x80 && tokenChars[c]
}

var tokenChars = func() (t [128]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-32] = true, true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return t
}()

// validValue reports whether v holds only HTAB, SP, visible characters and
// obs-text.
func validValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; (c < 0x20 && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

// quoteShort quotes s for an error message, cut to 40 bytes.
func quoteShort(s string) string {
	if len(s) > 40 {
		s = s[:40] + "..."
	}
	return `"` + strings.ToValidUTF8(s, "?") + `"`
}

// commonKeys interns the canonical form of frequent field names, so that a
// lower-case head (uvicorn's) costs no allocation per name.
var commonKeys = func() map[string]string {
	m := map[string]string{}
	for _, k := range []string{
		"Accept-Ranges", "Access-Control-Allow-Credentials", "Access-Control-Allow-Headers",
		"Access-Control-Allow-Methods", "Access-Control-Allow-Origin", "Access-Control-Expose-Headers",
		"Access-Control-Max-Age", "Age", "Cache-Control", "Connection", "Content-Disposition",
		"Content-Encoding", "Content-Language", "Content-Length", "Content-Location", "Content-Range",
		"Content-Security-Policy", "Content-Type", "Date", "Etag", "Expires", "Keep-Alive",
		"Last-Modified", "Link", "Location", "Permissions-Policy", "Referrer-Policy", "Retry-After",
		"Server", "Set-Cookie", "Strict-Transport-Security", "Trailer", "Transfer-Encoding", "Upgrade",
		"Vary", "Www-Authenticate", "X-Content-Type-Options", "X-Frame-Options", "X-Request-Id",
		"Sec-Websocket-Accept", "Sec-Websocket-Protocol", "Sec-Websocket-Extensions",
	} {
		m[k] = k
	}
	return m
}()

// canonicalKey is textproto.CanonicalMIMEHeaderKey for a valid token,
// without allocating for names already canonical or in commonKeys.
func canonicalKey(name string) string {
	upper, canonical := true, true
	for i := 0; i < len(name) && canonical; i++ {
		c := name[i]
		canonical = !(upper && 'a' <= c && c <= 'z') && !(!upper && 'A' <= c && c <= 'Z')
		upper = c == '-'
	}
	if canonical {
		return name
	}
	if len(name) > 64 {
		return textproto.CanonicalMIMEHeaderKey(name)
	}
	var buf [64]byte
	b := buf[:len(name)]
	upper = true
	for i := 0; i < len(name); i++ {
		c := name[i]
		if upper && 'a' <= c && c <= 'z' {
			c -= 32
		} else if !upper && 'A' <= c && c <= 'Z' {
			c += 32
		}
		b[i] = c
		upper = c == '-'
	}
	if k, ok := commonKeys[string(b)]; ok {
		return k
	}
	return string(b)
}

// readChunked reads chunked data (RFC 9112 7.1): a size line of 1 to 16
// hex digits with optional extensions, the data, CRLF; after the last
// chunk the trailer fields, which go to res.Trailer.
func (b *h1Body) readChunked(p []byte) (int, error) {
	br := b.pc.br
	if b.remaining == 0 {
		if b.chunkSeen {
			if err := expectCRLF(br); err != nil {
				return 0, err
			}
		}
		line, err := br.ReadSlice('\n')
		if err != nil {
			return 0, lineErr(err, "chunk size line too long")
		}
		size, err := parseChunkSize(line)
		if err != nil {
			return 0, err
		}
		if size == 0 {
			return 0, readTrailers(br, b.res)
		}
		b.remaining, b.chunkSeen = size, true
	}
	if int64(len(p)) > b.remaining {
		p = p[:b.remaining]
	}
	n, err := br.Read(p)
	b.remaining -= int64(n)
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

// lineErr maps the error of ReadSlice: a line longer than the buffer is a
// framing error, an end of stream a cut response.
func lineErr(err error, tooLong string) error {
	switch err {
	case bufio.ErrBufferFull:
		return errFraming(tooLong)
	case io.EOF:
		return io.ErrUnexpectedEOF
	}
	return err
}

// expectCRLF consumes the CRLF that ends chunk data.
func expectCRLF(br *bufio.Reader) error {
	cr, err := br.ReadByte()
	if err == nil {
		var lf byte
		if lf, err = br.ReadByte(); err == nil && (cr != '\r' || lf != '\n') {
			return errFraming("chunk data not followed by CRLF")
		}
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return err
}

// parseChunkSize parses a chunk size line with its CRLF.
func parseChunkSize(line []byte) (int64, error) {
	if len(line) < 3 || line[len(line)-2] != '\r' {
		return 0, errFraming("chunk size line not ended by CRLF")
	}
	line = line[:len(line)-2]
	var n int64
	i := 0
	for ; i < len(line); i++ {
		d := unhex(line[i])
		if d < 0 {
			break
		}
		if i == 16 || n>>58 != 0 {
			return 0, errFraming("chunk size too large")
		}
		n = n<<4 | int64(d)
	}
	if i == 0 {
		return 0, errFraming("bad chunk size")
	}
	ext := strings.TrimLeft(string(line[i:]), " \t")
	if len(ext) == 0 && i < len(line) {
		return 0, errFraming("whitespace after chunk size")
	}
	if len(ext) > 0 && (ext[0] != ';' || !validValue(ext)) {
		return 0, errFraming("bad chunk size")
	}
	return n, nil
}

func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// readTrailers reads the trailer section into res.Trailer; it returns
// io.EOF at its end. Framing fields among the trailers are dropped.
func readTrailers(br *bufio.Reader, res *http.Response) error {
	for total := 0; ; {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return lineErr(err, "trailer line too long")
		}
		total += len(line)
		if total > headBufSize {
			return errFraming("trailer section larger than 16 KiB")
		}
		if string(line) == "\r\n" {
			return io.EOF
		}
		if _, err := scanHead(line, 0); err != nil || len(line) < 3 || line[len(line)-2] != '\r' {
			return errFraming("trailer line not ended by CRLF")
		}
		k, v, err := parseField(string(line[:len(line)-2]))
		if err != nil {
			return err
		}
		switch k {
		case "Content-Length", "Transfer-Encoding", "Trailer", "Host":
			continue
		}
		if res.Trailer == nil {
			res.Trailer = http.Header{}
		}
		res.Trailer[k] = append(res.Trailer[k], v)
	}
}
