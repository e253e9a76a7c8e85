package config

import (
	"errors"
	"fmt"
	"strings"

	"filippo.io/age"
	"filippo.io/age/agessh"
)

// ErrRecipient reports a value of backup.encrypt_to that is not an age
// recipient.
var ErrRecipient = errors.New(`not an age recipient (fix: a public key from "age-keygen -y KEYFILE", "age1...", or an SSH public key "ssh-ed25519 AAAA..." / "ssh-rsa AAAA...")`)

// Recipient is one backup.encrypt_to entry, parsed: a native age
// recipient ("age1...") or an SSH public key ("ssh-ed25519 ...",
// "ssh-rsa ..."). Like Duration, a bad value is kept for Validate.
type Recipient struct {
	r    age.Recipient
	text string
	err  error
}

// ParseRecipient parses one age recipient.
func ParseRecipient(text string) (Recipient, error) {
	s := strings.TrimSpace(text)
	var r age.Recipient
	var err error
	if strings.HasPrefix(s, "ssh-") {
		r, err = agessh.ParseRecipient(s)
	} else {
		// The recipients-file parser knows every native kind (X25519,
		// post-quantum hybrid); one entry must hold exactly one.
		var rs []age.Recipient
		if rs, err = age.ParseRecipients(strings.NewReader(s)); err == nil && len(rs) != 1 {
			err = fmt.Errorf("%d recipients in one entry", len(rs))
		}
		if err == nil {
			r = rs[0]
		}
	}
	if err != nil {
		return Recipient{}, fmt.Errorf("%q: %v: %w", text, err, ErrRecipient)
	}
	return Recipient{r: r, text: text}, nil
}

// UnmarshalText parses a recipient; it never fails (see Recipient).
func (r *Recipient) UnmarshalText(b []byte) error {
	p, err := ParseRecipient(string(b))
	if err != nil {
		*r = Recipient{text: string(b), err: err}
		return nil
	}
	*r = p
	return nil
}

// MarshalText writes the recipient as written.
func (r Recipient) MarshalText() ([]byte, error) { return []byte(r.text), nil }

// String returns the recipient as written.
func (r Recipient) String() string { return r.text }

// Age returns the parsed recipient, nil when it did not parse.
func (r Recipient) Age() age.Recipient { return r.r }

// Err is nil for a parsed recipient, else why it is not one.
func (r Recipient) Err() error {
	if r.err == nil && r.r == nil {
		return fmt.Errorf(`"": %w`, ErrRecipient)
	}
	return r.err
}

// AgeRecipients returns the parsed recipients of list, or the first error
// (Validate reports every one with its line).
func AgeRecipients(list []Recipient) ([]age.Recipient, error) {
	out := make([]age.Recipient, 0, len(list))
	for i, r := range list {
		if err := r.Err(); err != nil {
			return nil, fmt.Errorf("recipient %d: %w", i+1, err)
		}
		out = append(out, r.r)
	}
	return out, nil
}
