package proxy

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"time"
)

// h1Conn is one connection to an upstream.
type h1Conn struct {
	nc        net.Conn
	br        *bufio.Reader
	bw        *bufio.Writer
	pool      *connPool
	client    *h1Client
	idleSince time.Time
	reused    bool

	ctx      context.Context
	stopCtx  func() bool // unregisters the cancellation hook; nil when none
	canceled atomic.Bool
}

// exchange tells RoundTrip how far a failed exchange got.
type exchange struct {
	bodyRead bool // the request body was read from (it cannot be sent again)
	gotBytes bool // some of the response arrived
}

// aLongTimeAgo is a deadline in the past: it wakes a blocked read or write.
var aLongTimeAgo = time.Unix(1, 0)

// roundTrip writes req and reads the response head. On error the caller
// closes the connection.
func (pc *h1Conn) roundTrip(req *http.Request, target string) (*http.Response, exchange, error) {
	var x exchange
	pc.watch(req.Context())
	werr := pc.writeRequest(req, target, &x)
	var cbe *clientBodyError
	if werr != nil && (errors.As(werr, &cbe) || !x.bodyRead) {
		pc.unwatch()
		return nil, x, pc.ctxErr(werr)
	}
	// The upstream may have answered early and stopped reading the body:
	// prefer its response to the write error, as net/http does.
	res, err := pc.readResponse(req, &x)
	if err != nil {
		pc.unwatch()
		if werr != nil {
			err = werr
		}
		return nil, x, pc.ctxErr(err)
	}
	if werr != nil {
		if b, ok := res.Body.(*h1Body); ok {
			b.keep = false
		}
	}
	return res, x, nil
}

// watch makes a cancellation of ctx wake a blocked read or write.
func (pc *h1Conn) watch(ctx context.Context) {
	pc.ctx = ctx
	pc.canceled.Store(false)
	if ctx.Done() == nil {
		pc.stopCtx = nil
		return
	}
	pc.stopCtx = context.AfterFunc(ctx, func() {
		pc.canceled.Store(true)
		_ = pc.nc.SetDeadline(aLongTimeAgo)
	})
}

// unwatch removes the hook of watch; it reports false when the hook ran
// (the connection's deadline was moved and it must not be reused).
func (pc *h1Conn) unwatch() bool {
	if pc.stopCtx == nil {
		return true
	}
	ok := pc.stopCtx()
	pc.stopCtx = nil
	return ok
}

// ctxErr turns the error of an operation woken by a cancellation into the
// context's error, so that classify sees a client that went away.
func (pc *h1Conn) ctxErr(err error) error {
	if err != nil && pc.ctx != nil && pc.ctx.Err() != nil {
		return fmt.Errorf("%w (%v)", pc.ctx.Err(), err)
	}
	return err
}

// close closes the connection for good.
func (pc *h1Conn) close() { pc.nc.Close() }

// release ends an exchange whose response was read to its end: the
// connection goes back to the pool when keep is set and nothing else
// stands in the way.
func (pc *h1Conn) release(keep bool) {
	if !pc.unwatch() || !keep || pc.br.Buffered() > 0 {
		pc.close()
		return
	}
	pc.pool.put(pc, pc.client.idleTimeout)
}

// readResponse reads the response head, skipping 1xx other than 101,
// within the response-header timeout.
func (pc *h1Conn) readResponse(req *http.Request, x *exchange) (*http.Response, error) {
	if t := pc.client.headerTimeout; t > 0 {
		_ = pc.nc.SetReadDeadline(time.Now().Add(t))
	}
	var res *http.Response
	var keep bool
	for informational := 0; ; informational++ {
		block, err := readHead(pc.br, x)
		if err != nil {
			return nil, err
		}
		res, keep, err = parseHead(block, req)
		if err != nil {
			return nil, fmt.Errorf("read response from %s: %w", req.URL.Host, err)
		}
		if res.StatusCode >= 200 || res.StatusCode == http.StatusSwitchingProtocols {
			break
		}
		if informational == 8 {
			return nil, fmt.Errorf("read response from %s: %w", req.URL.Host, errFraming("too many 1xx responses"))
		}
	}
	if pc.client.headerTimeout > 0 && !pc.canceled.Load() {
		_ = pc.nc.SetReadDeadline(time.Time{})
	}
	res.Request = req
	pc.attachBody(res, req, keep)
	return res, nil
}

// readHead returns the response head up to and including its empty line,
// after checking that every line ends in CRLF and no CR stands alone.
func readHead(br *bufio.Reader, x *exchange) (string, error) {
	scanned := 0
	for {
		buf, _ := br.Peek(br.Buffered())
		end, err := scanHead(buf, scanned)
		if err != nil {
			return "", err
		}
		if end > 0 {
			block := string(buf[:end])
			_, _ = br.Discard(end)
			return block, nil
		}
		scanned = max(0, len(buf)-1)
		if len(buf) == br.Size() {
			return "", errFraming("response head larger than 16 KiB")
		}
		if _, err := br.Peek(len(buf) + 1); err != nil {
			if len(buf) > 0 {
				x.gotBytes = true
				if err == io.EOF {
					err = io.ErrUnexpectedEOF
				}
			}
			return "", err
		}
		x.gotBytes = true
	}
}

// attachBody sets res.Body from the framing parseHead found.
func (pc *h1Conn) attachBody(res *http.Response, req *http.Request, keep bool) {
	switch {
	case res.StatusCode == http.StatusSwitchingProtocols:
		pc.unwatch()
		_ = pc.nc.SetDeadline(time.Time{})
		res.Body = &upgradeBody{pc}
	case !bodyAllowed(res.StatusCode, req.Method) || res.ContentLength == 0:
		res.Body = http.NoBody
		pc.release(keep)
	case len(res.TransferEncoding) > 0:
		res.Body = &h1Body{pc: pc, keep: keep, chunked: true, remaining: 0, res: res}
	default: // Content-Length, or until close (-1)
		res.Body = &h1Body{pc: pc, keep: keep && res.ContentLength > 0, remaining: res.ContentLength}
	}
}

// bodyAllowed reports whether a response with status code to method has a
// body (RFC 9112 6.3).
func bodyAllowed(code int, method string) bool {
	return method != http.MethodHead && code >= 200 && code != http.StatusNoContent && code != http.StatusNotModified
}

// upgradeBody is the connection after a 101: ReverseProxy copies both ways.
type upgradeBody struct{ pc *h1Conn }

// Read implements io.Reader, starting with what the head read left.
func (u *upgradeBody) Read(p []byte) (int, error) { return u.pc.br.Read(p) }

// Write implements io.Writer.
func (u *upgradeBody) Write(p []byte) (int, error) { return u.pc.nc.Write(p) }

// Close implements io.Closer.
func (u *upgradeBody) Close() error { return u.pc.nc.Close() }

// h1Body is a response body of a known length (remaining >= 0), chunked,
// or delimited by the close of the connection (remaining -1).
type h1Body struct {
	pc        *h1Conn
	res       *http.Response // for the trailers of a chunked body
	keep      bool
	chunked   bool
	remaining int64 // bytes left of the body, or of the current chunk
	chunkSeen bool  // chunked: at least one size line read
	done      bool
	err       error
}

// Read implements io.Reader.
func (b *h1Body) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if b.done {
		return 0, io.EOF
	}
	var n int
	var err error
	if b.chunked {
		n, err = b.readChunked(p)
	} else {
		n, err = b.readPlain(p)
	}
	switch {
	case err == io.EOF:
		b.done = true
		b.pc.release(b.keep)
	case err != nil:
		b.err = b.pc.ctxErr(err)
		b.pc.unwatch()
		b.pc.close()
		return n, b.err
	}
	return n, err
}

// readPlain reads a body of known length or one delimited by the close.
func (b *h1Body) readPlain(p []byte) (int, error) {
	if b.remaining < 0 {
		n, err := b.pc.br.Read(p)
		if err == io.EOF {
			b.keep = false
		}
		return n, err
	}
	if int64(len(p)) > b.remaining {
		p = p[:b.remaining]
	}
	n, err := b.pc.br.Read(p)
	b.remaining -= int64(n)
	if b.remaining == 0 {
		return n, io.EOF
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF // the upstream stopped half-way
	}
	return n, err
}

// Close implements io.Closer: a body not read to its end takes its
// connection with it.
func (b *h1Body) Close() error {
	if !b.done && b.err == nil {
		b.err = errors.New("read on closed response body")
		b.pc.unwatch()
		b.pc.close()
	}
	return nil
}
