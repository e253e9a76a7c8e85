package logship

import (
	"time"
)

// take returns the next batch in order: the oldest spool segment while
// the spool holds any, else everything queued in memory.
func (s *Shipper) take() (recs []byte, seg segment, fromSpool bool, lines int) {
	s.mu.Lock()
	if sg, ok := s.sp.take(); ok {
		s.mu.Unlock()
		b, err := s.sp.read(sg)
		if err != nil {
			s.mu.Lock()
			s.failedSegment(sg, err)
			s.mu.Unlock()
			return nil, segment{}, false, 0
		}
		return b, sg, true, sg.lines
	}
	defer s.mu.Unlock()
	if s.memLines == 0 {
		return nil, segment{}, false, 0
	}
	recs, lines = s.mem, s.memLines
	s.mem, s.memLines = s.spare[:0], 0
	s.spare = nil
	return recs, segment{}, false, lines
}

// spill moves the queue to the spool.
func (s *Shipper) spill() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.spillLocked()
}

// queuedBytes is the size of the in-memory queue.
func (s *Shipper) queuedBytes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.mem)
}

// failedSegment drops a segment that cannot be read, counting its lines.
func (s *Shipper) failedSegment(sg segment, err error) {
	s.spillErr = err.Error()
	s.dropped.Add(uint64(sg.lines))
	_ = s.sp.done(sg.seq, nil, 0)
	s.spoolBytes.Store(s.sp.bytes)
}

// send writes the records of a batch as octet-counted frames. It returns
// how many lines the connection took and the records it did not (rest,
// restLines of them). A record that does not decode (a corrupt spool) is
// dropped with the rest of its batch, and counted.
func (s *Shipper) send(cn *conn, recs []byte, verify bool, by time.Time) (sent int, rest []byte, restLines int, err error) {
	out := s.frames[:0]
	ends := s.ends[:0] // per frame: end in out, end in recs
	read := readRecord
	if !verify {
		read = readTrusted // the queue in memory, encoded by Write just now
	}
	for off := 0; off < len(recs); {
		msg, n, err := read(recs[off:])
		if err != nil {
			s.dropped.Add(1)
			s.noteTrouble("unreadable spool record dropped with the rest of its segment: " + err.Error())
			break
		}
		out = appendFrame(out, msg)
		off += n
		ends = append(ends, [2]int{len(out), off})
	}
	s.frames, s.ends = out, ends
	if cn.isDead() {
		return 0, recs, len(ends), cn.err
	}
	_ = cn.c.SetWriteDeadline(by)
	n, err := cn.c.Write(out)
	for sent < len(ends) && ends[sent][0] <= n {
		sent++
	}
	s.shipped.Add(uint64(sent))
	if sent == len(ends) {
		return sent, nil, 0, err
	}
	from := 0
	if sent > 0 {
		from = ends[sent-1][1]
	}
	return sent, recs[from:], len(ends) - sent, err
}

// finish commits a batch: a sent spool segment is removed (or cut to what
// was not sent); unsent lines taken from memory go back in front of the
// spool, older than anything in it.
func (s *Shipper) finish(recs []byte, seg segment, fromSpool bool, rest []byte, restLines int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var err error
	switch {
	case fromSpool:
		err = s.sp.done(seg.seq, rest, restLines)
	case restLines > 0:
		var dropped int
		dropped, err = s.sp.prepend(rest, restLines)
		s.dropped.Add(uint64(dropped))
	}
	if err != nil {
		s.spillErr = err.Error()
		if !fromSpool {
			s.dropped.Add(uint64(restLines))
		}
	}
	if !fromSpool && cap(recs) <= 2*memCap {
		s.spare = recs[:0]
	}
	s.spoolBytes.Store(s.sp.bytes)
}

// noteTrouble keeps a problem for logTrouble (which must not run under
// s.mu: the log may feed back into Write).
func (s *Shipper) noteTrouble(msg string) {
	s.mu.Lock()
	s.spillErr = msg
	s.mu.Unlock()
}

// logTrouble logs spool failures and drops, at most every logEvery.
func (s *Shipper) logTrouble() {
	now := s.opts.Now()
	if now.Sub(s.lastTrouble) < logEvery {
		return
	}
	s.mu.Lock()
	msg := s.spillErr
	s.spillErr = ""
	s.mu.Unlock()
	if msg != "" {
		s.lastTrouble = now
		s.log.Error("log spool: "+msg, "dir", s.sp.dir)
	}
	if d, l := s.dropped.Load(), s.logged.Load(); d > l {
		s.lastTrouble = now
		s.logged.Store(d)
		s.log.Warn("log lines dropped: the spool is full (oldest first) or unwritable", "dropped", d-l, "dropped_total", d,
			"spool_max_bytes", s.sp.max)
	}
}
