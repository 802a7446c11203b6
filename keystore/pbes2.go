package keystore

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/pbkdf2"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"hash"
)

// Encrypted PKCS#8 (RFC 8018 PBES2) as OpenSSL writes it.
//
// Notary decrypts only the PBES2 variant it writes itself (PBKDF2 with
// HMAC-SHA1, AES-256-CBC) and reads any other one, such as the
// HMAC-SHA256 that OpenSSL 3 uses by default ("openssl pkcs8 -topk8",
// "openssl genpkey -aes256"), with SHA1 anyway, reporting "incorrect
// password" for the right passphrase. For those variants this file derives
// the key with the PRF the file names and decrypts with the standard
// library, then hands the plain PKCS#8 to notary's parser. Nothing here
// encrypts: keys are always stored by notary's own code.

var (
	oidPBES2      = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 13}
	oidPBKDF2     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 12}
	oidHMACSHA1   = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 7}
	oidHMACSHA224 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 8}
	oidHMACSHA256 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 9}
	oidHMACSHA384 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 10}
	oidHMACSHA512 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 11}
	oidAES128CBC  = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 2}
	oidAES192CBC  = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 22}
	oidAES256CBC  = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 42}
)

// maxPBKDF2Iterations bounds the work a crafted file can ask for.
const maxPBKDF2Iterations = 10_000_000

type encryptedPrivateKeyInfo struct {
	Algo          pkix.AlgorithmIdentifier
	EncryptedData []byte
}

type pbes2Params struct {
	KeyDerivationFunc pkix.AlgorithmIdentifier
	EncryptionScheme  pkix.AlgorithmIdentifier
}

type pbkdf2Params struct {
	Salt           []byte
	IterationCount int
	KeyLength      int                      `asn1:"optional"`
	PRF            pkix.AlgorithmIdentifier `asn1:"optional"`
}

// pbes2Scheme is what an encrypted PKCS#8 file asks for.
type pbes2Scheme struct {
	prf     func() hash.Hash
	prfSHA1 bool
	keyLen  int
	aes256  bool
	salt    []byte
	iter    int
	iv      []byte
	data    []byte
}

// errUnsupportedEncryption: the file is encrypted in a way we cannot read.
var errUnsupportedEncryption = errors.New("unsupported encryption (PBES2 with PBKDF2 and AES-CBC is supported; convert with `openssl pkcs8 -topk8 -v2 aes256`)")

func parsePBES2(der []byte) (*pbes2Scheme, error) {
	var info encryptedPrivateKeyInfo
	if rest, err := asn1.Unmarshal(der, &info); err != nil || len(rest) != 0 {
		return nil, errors.New("malformed encrypted private key")
	}
	if !info.Algo.Algorithm.Equal(oidPBES2) {
		return nil, errUnsupportedEncryption
	}
	var params pbes2Params
	if _, err := asn1.Unmarshal(info.Algo.Parameters.FullBytes, &params); err != nil {
		return nil, errors.New("malformed PBES2 parameters")
	}
	if !params.KeyDerivationFunc.Algorithm.Equal(oidPBKDF2) {
		return nil, errUnsupportedEncryption
	}
	var kdf pbkdf2Params
	if _, err := asn1.Unmarshal(params.KeyDerivationFunc.Parameters.FullBytes, &kdf); err != nil {
		return nil, errors.New("malformed PBKDF2 parameters")
	}
	if kdf.IterationCount < 1 || kdf.IterationCount > maxPBKDF2Iterations {
		return nil, fmt.Errorf("PBKDF2 iteration count %d out of range", kdf.IterationCount)
	}
	s := &pbes2Scheme{salt: kdf.Salt, iter: kdf.IterationCount, data: info.EncryptedData}
	switch prf := kdf.PRF.Algorithm; {
	case len(prf) == 0 || prf.Equal(oidHMACSHA1):
		s.prf, s.prfSHA1 = sha1.New, true
	case prf.Equal(oidHMACSHA224):
		s.prf = sha256.New224
	case prf.Equal(oidHMACSHA256):
		s.prf = sha256.New
	case prf.Equal(oidHMACSHA384):
		s.prf = sha512.New384
	case prf.Equal(oidHMACSHA512):
		s.prf = sha512.New
	default:
		return nil, errUnsupportedEncryption
	}
	switch enc := params.EncryptionScheme.Algorithm; {
	case enc.Equal(oidAES128CBC):
		s.keyLen = 16
	case enc.Equal(oidAES192CBC):
		s.keyLen = 24
	case enc.Equal(oidAES256CBC):
		s.keyLen, s.aes256 = 32, true
	default:
		return nil, errUnsupportedEncryption
	}
	if kdf.KeyLength != 0 && kdf.KeyLength != s.keyLen {
		return nil, errors.New("PBKDF2 key length does not match the cipher")
	}
	if _, err := asn1.Unmarshal(params.EncryptionScheme.Parameters.FullBytes, &s.iv); err != nil || len(s.iv) != aes.BlockSize {
		return nil, errors.New("malformed AES-CBC parameters")
	}
	if len(s.data) == 0 || len(s.data)%aes.BlockSize != 0 {
		return nil, errors.New("malformed encrypted private key")
	}
	return s, nil
}

// notaryReadable reports whether notary's own parser decrypts this scheme.
func (s *pbes2Scheme) notaryReadable() bool { return s.prfSHA1 && s.aes256 }

// decrypt returns the plain PKCS#8 DER, or errWrongPassphrase.
func (s *pbes2Scheme) decrypt(passphrase string) ([]byte, error) {
	key, err := pbkdf2.Key(s.prf, passphrase, s.salt, s.iter, s.keyLen)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	plain := make([]byte, len(s.data))
	cipher.NewCBCDecrypter(block, s.iv).CryptBlocks(plain, s.data)
	// PKCS#7 padding; a wrong passphrase almost always breaks it, and the
	// DER parse that follows catches the rest.
	pad := int(plain[len(plain)-1])
	if pad < 1 || pad > aes.BlockSize {
		return nil, errWrongPassphrase
	}
	for _, b := range plain[len(plain)-pad:] {
		if int(b) != pad {
			return nil, errWrongPassphrase
		}
	}
	return plain[:len(plain)-pad], nil
}

// errWrongPassphrase: the passphrase does not decrypt the key.
var errWrongPassphrase = errors.New("wrong passphrase")
