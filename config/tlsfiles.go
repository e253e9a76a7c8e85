package config

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
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
	v.keyPair(key+".cert", key+".key", c.Cert, c.Key)
}

// keyPair loads a certificate chain and its private key as
// tls.LoadX509KeyPair does at start. A missing file is reported at its
// key, a cert file without a certificate at certKey, anything else at
// keyKey.
func (v *validator) keyPair(certKey, keyKey, cert, key string) {
	_, keyErr := os.Stat(key)
	if keyErr != nil {
		v.failf(keyKey, ErrNotExist, "%s", key)
	}
	pemBytes, err := os.ReadFile(cert)
	if err != nil {
		v.failf(certKey, ErrNotExist, "%s", cert)
		return
	}
	if keyErr != nil {
		return
	}
	if !hasCertificate(pemBytes) {
		v.failf(certKey, ErrInvalidValue, "%s has no PEM certificate in it (fix: the certificate chain, \"-----BEGIN CERTIFICATE-----\")", cert)
		return
	}
	if _, err := tls.LoadX509KeyPair(cert, key); err != nil {
		v.failf(keyKey, ErrInvalidValue, "%s with %s: %v (fix: the key must be the PEM private key of the first certificate in cert)", cert, key, err)
	}
}

// hasCertificate reports whether data holds a parsable PEM certificate.
func hasCertificate(data []byte) bool {
	for {
		var b *pem.Block
		if b, data = pem.Decode(data); b == nil {
			return false
		}
		if b.Type == "CERTIFICATE" {
			_, err := x509.ParseCertificate(b.Bytes)
			return err == nil
		}
	}
}

// rootFile checks a CA file (tls.acme_ca_root, logs.ca_file,
// backup.remote.ca_file): a PEM file with at least one certificate.
func (v *validator) rootFile(key, path string) {
	data, err := os.ReadFile(path)
	if err != nil {
		v.failf(key, ErrNotExist, "%s: %v", path, err)
		return
	}
	if !x509.NewCertPool().AppendCertsFromPEM(data) {
		v.failf(key, ErrInvalidValue, "%s has no PEM certificate in it (fix: the CA's root certificate, \"-----BEGIN CERTIFICATE-----\")", path)
	}
}
