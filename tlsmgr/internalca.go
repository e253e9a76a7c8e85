package tlsmgr

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Lifetimes of the internal CA's certificates.
const (
	rootLifetime  = 10 * 365 * 24 * time.Hour
	leafLifetime  = 7 * 24 * time.Hour
	leafRenewLeft = 2 * 24 * time.Hour // renew when less than this is left
)

// InternalCA is edge's own local certificate authority, kept in
// {state_dir}/ca (root.pem 0644, root.key 0600, directory 0700). It issues
// short-lived leaf certificates for localhost and the configured names and
// renews them before they expire. Browsers trust it only once the operator
// adds root.pem to their trust store.
type InternalCA struct {
	dir   string
	names []string
	cert  *x509.Certificate
	key   crypto.Signer

	mu   sync.Mutex
	leaf *tls.Certificate
}

// RootPath is where the root certificate lives, to be trusted by clients.
func (ca *InternalCA) RootPath() string { return filepath.Join(ca.dir, "root.pem") }

// OpenInternalCA loads the CA in dir, creating it on first use.
func OpenInternalCA(dir string, names []string) (*InternalCA, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create CA dir %s: %w", dir, err)
	}
	ca := &InternalCA{dir: dir, names: names}
	certPEM, errC := os.ReadFile(filepath.Join(dir, "root.pem"))
	keyPEM, errK := os.ReadFile(filepath.Join(dir, "root.key"))
	if errors.Is(errC, os.ErrNotExist) && errors.Is(errK, os.ErrNotExist) {
		return ca, ca.create()
	}
	if errC != nil || errK != nil {
		return nil, fmt.Errorf("read internal CA in %s: %w", dir, errors.Join(errC, errK))
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("load internal CA in %s: %w (fix: move the ca directory away to make a new one)", dir, err)
	}
	ca.cert, ca.key = pair.Leaf, pair.PrivateKey.(crypto.Signer)
	return ca, nil
}

func (ca *InternalCA) create() error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("generate CA key: %w", err)
	}
	host, _ := os.Hostname()
	tmpl := &x509.Certificate{
		SerialNumber:          randSerial(),
		Subject:               pkix.Name{CommonName: "edge local CA (" + host + ")", Organization: []string{"edge"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(rootLifetime),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return fmt.Errorf("create CA certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("encode CA key: %w", err)
	}
	if err := writePEM(filepath.Join(ca.dir, "root.key"), "PRIVATE KEY", keyDER, 0o600); err != nil {
		return err
	}
	if err := writePEM(filepath.Join(ca.dir, "root.pem"), "CERTIFICATE", der, 0o644); err != nil {
		return err
	}
	ca.cert, _ = x509.ParseCertificate(der)
	ca.key = key
	return nil
}

func writePEM(path, typ string, der []byte, mode os.FileMode) error {
	tmp := path + ".tmp"
	data := pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
	if err := os.WriteFile(tmp, data, mode); err != nil {
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("rename %s: %w", path, err)
	}
	return nil
}

func randSerial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	return n
}

// Leaf returns a certificate for the CA's names, issuing a new one when
// the current one has less than two days left.
func (ca *InternalCA) Leaf() (*tls.Certificate, error) {
	ca.mu.Lock()
	defer ca.mu.Unlock()
	if ca.leaf != nil && time.Until(ca.leaf.Leaf.NotAfter) > leafRenewLeft {
		return ca.leaf, nil
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate leaf key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: randSerial(),
		Subject:      pkix.Name{CommonName: ca.names[0]},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(leafLifetime),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, n := range ca.names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		return nil, fmt.Errorf("issue leaf certificate: %w", err)
	}
	leaf, _ := x509.ParseCertificate(der)
	ca.leaf = &tls.Certificate{Certificate: [][]byte{der, ca.cert.Raw}, PrivateKey: key, Leaf: leaf}
	return ca.leaf, nil
}
