package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/term"
)

// hashCost is the bcrypt cost of printed hashes: about 0.25 s per check,
// the cost caddy hash-password and current guidance use.
const hashCost = 12

// errEmptyPassword refuses an empty password.
var errEmptyPassword = errors.New("empty password (fix: type a password, or pipe one on standard input)")

// stdinFile is the standard input hash-password reads; a variable so that
// tests can hand it a pipe.
var stdinFile = os.Stdin

func hashPasswordCmd(_ context.Context, args []string, out, errOut io.Writer) error {
	fs := newFlags("hash-password", "", out)
	if err := helpOrParse(fs, args, out); err != nil {
		return err
	}
	if err := noArgs(fs); err != nil {
		return err
	}
	pw, err := readPassword(stdinFile, errOut)
	if err != nil {
		return err
	}
	hash, err := bcrypt.GenerateFromPassword(pw, hashCost)
	if err != nil {
		return fmt.Errorf("hash password: %w", err)
	}
	fmt.Fprintln(out, string(hash))
	return nil
}

// readPassword asks twice without echo on a terminal, or reads the first
// line of standard input otherwise.
func readPassword(in *os.File, prompt io.Writer) ([]byte, error) {
	fd := int(in.Fd())
	if !term.IsTerminal(fd) {
		line, err := bufio.NewReader(in).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("read password from standard input: %w", err)
		}
		return nonEmpty(strings.TrimRight(line, "\r\n"))
	}
	fmt.Fprint(prompt, "Password: ")
	first, err := term.ReadPassword(fd)
	fmt.Fprintln(prompt)
	if err != nil {
		return nil, fmt.Errorf("read password: %w", err)
	}
	fmt.Fprint(prompt, "Again: ")
	second, err := term.ReadPassword(fd)
	fmt.Fprintln(prompt)
	if err != nil {
		return nil, fmt.Errorf("read password: %w", err)
	}
	if string(first) != string(second) {
		return nil, errors.New("the two passwords differ (fix: run edge hash-password again)")
	}
	return nonEmpty(string(first))
}

func nonEmpty(pw string) ([]byte, error) {
	if pw == "" {
		return nil, errEmptyPassword
	}
	if len(pw) > 72 {
		return nil, errors.New("password longer than 72 bytes, bcrypt's limit (fix: use a shorter one)")
	}
	return []byte(pw), nil
}
