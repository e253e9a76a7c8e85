package logship

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// A spool record is one RFC 5424 message, framed for the disk:
//
//	length  uint32, big endian: bytes of message
//	crc     uint32, big endian: CRC-32C (Castagnoli) of message
//	message
//
// The same encoding holds the in-memory queue, so spilling it to disk is
// one write.
const (
	recordHeader = 8
	// maxMessage bounds one message; longer log lines are cut (RFC 5425
	// receivers must accept 2048 octets and should accept 8192; rsyslog's
	// default limit is 8k).
	maxMessage = 64 << 10
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// errTorn reports a record that was cut short (a crash while writing).
var errTorn = errors.New("record cut short")

// errCorrupt reports a record whose length or checksum is wrong.
var errCorrupt = errors.New("record corrupt")

// beginRecord appends room for a record header and returns where it
// starts; finishRecord fills it once the message has been appended.
func beginRecord(dst []byte) ([]byte, int) {
	return append(dst, 0, 0, 0, 0, 0, 0, 0, 0), len(dst)
}

// finishRecord writes the header of the record that starts at start,
// cutting the message to maxMessage.
func finishRecord(dst []byte, start int) []byte {
	if len(dst)-start-recordHeader > maxMessage {
		dst = dst[:start+recordHeader+maxMessage]
	}
	msg := dst[start+recordHeader:]
	binary.BigEndian.PutUint32(dst[start:], uint32(len(msg)))
	binary.BigEndian.PutUint32(dst[start+4:], crc32.Checksum(msg, castagnoli))
	return dst
}

// appendRecord appends msg as one record.
func appendRecord(dst, msg []byte) []byte {
	dst, start := beginRecord(dst)
	dst = append(dst, msg...)
	return finishRecord(dst, start)
}

// readRecord decodes the record at the start of b: its message and the
// bytes it takes. An incomplete record is errTorn, a bad length or
// checksum errCorrupt.
func readRecord(b []byte) (msg []byte, n int, err error) {
	if len(b) < recordHeader {
		return nil, 0, errTorn
	}
	size := binary.BigEndian.Uint32(b)
	if size == 0 || size > maxMessage {
		return nil, 0, fmt.Errorf("%w: length %d", errCorrupt, size)
	}
	if uint64(len(b)-recordHeader) < uint64(size) {
		return nil, 0, errTorn
	}
	msg = b[recordHeader : recordHeader+int(size)]
	if crc32.Checksum(msg, castagnoli) != binary.BigEndian.Uint32(b[4:]) {
		return nil, 0, fmt.Errorf("%w: checksum mismatch", errCorrupt)
	}
	return msg, recordHeader + int(size), nil
}

// readTrusted is readRecord without the checksum, for records that never
// left memory.
func readTrusted(b []byte) (msg []byte, n int, err error) {
	if len(b) < recordHeader {
		return nil, 0, errTorn
	}
	size := binary.BigEndian.Uint32(b)
	if size == 0 || size > maxMessage || uint64(len(b)-recordHeader) < uint64(size) {
		return nil, 0, fmt.Errorf("%w: length %d", errCorrupt, size)
	}
	return b[recordHeader : recordHeader+int(size)], recordHeader + int(size), nil
}

// scanRecords counts the whole, valid records at the start of b and
// returns how many bytes they take; err says why the rest (if any) is
// unreadable.
func scanRecords(b []byte) (lines, good int, err error) {
	for good < len(b) {
		_, n, err := readRecord(b[good:])
		if err != nil {
			return lines, good, err
		}
		lines++
		good += n
	}
	return lines, good, nil
}
