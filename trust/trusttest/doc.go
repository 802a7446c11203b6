// Package trusttest has fakes of trust.Repository for tests, in the spirit
// of docker/cli's internal/test/notary: small fakes of notary's repository,
// each for one situation, shared by every test package:
//   - Repo: fixed trust data; reads answered, writes recorded;
//   - NoTrustData: a repository the server has no trust data for;
//   - Rotating: base roles whose keys RotateKey replaces.
//
// Each embeds notary's client.Repository: a method a fake does not
// implement panics through the nil interface, so a test learns at once that
// the code reached further than the fake.
//
// It is imported only from _test.go files (deps_test.go checks that no
// other package reaches it). It does not import trust, so that trust's own
// tests can use it too.
package trusttest
