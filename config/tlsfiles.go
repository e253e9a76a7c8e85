package config

import (
	"crypto/tls"
	"crypto/x509"
	"os"
)

// The TLS files are read here as tlsmgr reads them at start, so that
// "edge validate" refuses what "edge run" would: a key that does not
// match its certificate, a root file with no certificate in it.

// certFiles checks one tls.certificates entry: both files named, and a
// certificate chain with its matching private key.
func (v *validator) certFiles(key string, c CertFile) {
	if c.Cert == "" {
		v.failf(key+".cert", ErrRequired, "a PEM file with the certificate chain")
	}
	if c.Key == "" {
		v.failf(key+".key", ErrRequired, "the PEM private key of the certificate")
	}
	if c.Cert == "" || c.Key == "" {
		return
	}
	_, certErr := os.Stat(c.Cert)
	_, keyErr := os.Stat(c.Key)
	if certErr != nil {
		v.failf(key+".cert", ErrNotExist, "%s", c.Cert)
	}
	if keyErr != nil {
		v.failf(key+".key", ErrNotExist, "%s", c.Key)
	}
	if certErr != nil || keyErr != nil {
		return
	}
	if _, err := tls.LoadX509KeyPair(c.Cert, c.Key); err != nil {
		v.failf(key+".key", ErrInvalidValue, "%s with %s: %v (fix: the key must be the PEM private key of the first certificate in cert)", c.Cert, c.Key, err)
	}
}

// rootFile checks tls.acme_ca_root: a PEM file with at least one
// certificate.
func (v *validator) rootFile(key, path string) {
	pem, err := os.ReadFile(path)
	if err != nil {
		v.failf(key, ErrNotExist, "%s: %v", path, err)
		return
	}
	if !x509.NewCertPool().AppendCertsFromPEM(pem) {
		v.failf(key, ErrInvalidValue, "%s has no PEM certificate in it (fix: the CA's root certificate, \"-----BEGIN CERTIFICATE-----\")", path)
	}
}
